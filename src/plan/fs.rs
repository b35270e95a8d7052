//! Filesystem rules: expand the profile's paths and split trees around denied paths (what
//! Landlock grants; `crate::sandbox::landlock` applies it).

use crate::profile::expand::Vars;
use crate::profile::model::Filesystem;
pub use crate::sandbox::spec::Grant;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One Landlock rule to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Path the rule is anchored on.
    pub path: PathBuf,
    /// What it grants.
    pub access: Grant,
    /// Where it came from.
    pub origin: Origin,
}

/// Why a rule is there: the decision behind it, shown in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// A profile entry.
    Profile,
    /// A profile's state directory, missing at launch: created then.
    ProfileCreated,
    /// `--allow-read`.
    AllowRead,
    /// `--allow-write`.
    AllowWrite,
    /// `--allow-write DIR/`, missing at launch: created for the run.
    AllowWriteCreated,
    /// The command's installation root.
    Command {
        /// How it was found (`codex -> /home/u/.nvm/.../cli.js`).
        why: String,
    },
    /// One entry of a tree split around a denied path (opened without following a symlink).
    Split {
        /// The granted tree.
        tree: PathBuf,
    },
    /// The git directory of a linked worktree or submodule (commits need it).
    GitDir,
    /// The terminal agentbox was started on (without a private devpts).
    OwnTerminal,
    /// The host's /dev/shm (without a private one).
    SharedMemory,
    /// The box's own temp dir.
    BoxTmp,
    /// The box's private /dev/shm (with the namespace layer).
    PrivateShm,
    /// An agent's configuration file (`filesystem.agent_config`), judged after the run.
    AgentConfig,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Profile => write!(f, "profile"),
            Origin::ProfileCreated => write!(f, "profile (created at launch)"),
            Origin::AllowRead => write!(f, "--allow-read"),
            Origin::AllowWrite => write!(f, "--allow-write"),
            Origin::AllowWriteCreated => write!(f, "--allow-write (created for this run)"),
            Origin::Command { why } => write!(f, "command: {why}"),
            Origin::Split { tree } => write!(f, "split of {}", tree.display()),
            Origin::GitDir => write!(f, "git directory of this worktree"),
            Origin::OwnTerminal => write!(f, "the box's own terminal"),
            Origin::SharedMemory => {
                write!(f, "shared memory (no private /dev/shm without namespaces)")
            }
            Origin::BoxTmp => write!(f, "box temp dir"),
            Origin::PrivateShm => write!(f, "private /dev/shm"),
            Origin::AgentConfig => write!(f, "agent configuration, judged after the run"),
        }
    }
}

/// A tree whose rule was replaced by rules on its entries to leave a denied path out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    /// The granted tree.
    pub tree: PathBuf,
    /// The paths left out of it: denied ones, and toolchains that keep their own rule.
    pub denied: Vec<PathBuf>,
    /// How many rules replaced it.
    pub rules: usize,
}

/// The filesystem part of the plan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FsPlan {
    /// Rules to add, after splitting.
    pub rules: Vec<Rule>,
    /// Trees split around denied paths (read-only trees, done by Landlock).
    pub splits: Vec<Split>,
    /// Denied paths that exist.
    pub deny: Vec<PathBuf>,
    /// Denied paths inside granted trees that the namespace layer hides with empty mounts
    /// (all of them when it applies; without it only those in writable trees, which Landlock
    /// then splits).
    pub hidden: Vec<PathBuf>,
    /// Paths kept read-only inside writable trees (namespace layer).
    pub protect: Vec<PathBuf>,
    /// Protected paths that do not exist yet and must not be creatable.
    pub protect_missing: Vec<PathBuf>,
    /// Toolchains (profile `exec` entries outside the workspace) inside a writable tree: kept
    /// read-only, by read-only mounts with the namespace layer, by a Landlock split of the tree
    /// without it (`~/.cargo/bin` in the `test` tier's writable `~/.cargo`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub toolchains_read_only: Vec<PathBuf>,
    /// Entries skipped because they do not exist here (shown at -v).
    pub missing: Vec<String>,
    /// Writable state directories (entries ending in `/` under $HOME) created at launch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub create: Vec<PathBuf>,
    /// Agents' configuration files the box may write, judged key by key after the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agent_config: Vec<AgentConfigFile>,
    /// `--allow-write DIR/` directories created at launch and removed after the run when left
    /// empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub create_for_run: Vec<PathBuf>,
    /// What these rules cannot stop here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<String>,
}

/// One agent configuration file of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentConfigFile {
    /// The file.
    pub path: PathBuf,
    /// The rules that judge it.
    pub kind: crate::agentconf::Kind,
    /// Missing, in a directory the box cannot write: created at launch (the kind's empty
    /// document) so the box can write it.
    pub create: bool,
}

/// Extra grants from the command line.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// `--allow-read`.
    pub read: Vec<PathBuf>,
    /// `--allow-write`.
    pub write: Vec<PathBuf>,
    /// The `--allow-write` directories missing at launch, created for the run.
    pub create: Vec<PathBuf>,
    /// Read and execute on a command's installation root.
    pub exec: Vec<(PathBuf, String)>,
}

/// Expand a list of profile paths; a last component may hold `*` globs.
fn expand_list(
    vars: &Vars,
    list: &[String],
    what: &str,
    missing: &mut Vec<String>,
) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for raw in list {
        let p = vars
            .expand(raw)
            .map_err(|e| format!("filesystem.{what}: {e}"))?;
        let Some(p) = p else {
            missing.push(format!("{what} {raw} (variable unset)"));
            continue;
        };
        let ps = p.to_string_lossy().into_owned();
        if let Some((base, rest)) = ps.split_once("/**/") {
            // `DIR/**/NAME`: NAME (a last-component glob) anywhere below DIR, found by a
            // bounded walk that skips trees that never hold such files.
            let mut hits = Vec::new();
            let truncated = walk_glob(Path::new(base), rest, &mut hits);
            if truncated {
                missing.push(format!(
                    "{what} {raw}: search stopped after {WALK_LIMIT} entries"
                ));
            }
            hits.sort();
            out.extend(hits);
            continue;
        }
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        match name {
            Some(n) if n.contains('*') => {
                let parent = p.parent().unwrap_or(Path::new("/"));
                let mut found = false;
                if let Ok(rd) = std::fs::read_dir(parent) {
                    let mut hits: Vec<PathBuf> = rd
                        .flatten()
                        .filter(|e| glob_match(&n, &e.file_name().to_string_lossy()))
                        .map(|e| e.path())
                        .collect();
                    hits.sort();
                    found = !hits.is_empty();
                    out.extend(hits);
                }
                if !found {
                    missing.push(format!("{what} {}", p.display()));
                }
            }
            _ => {
                if std::fs::symlink_metadata(&p).is_ok() {
                    out.push(p);
                } else {
                    missing.push(format!("{what} {}", p.display()));
                }
            }
        }
    }
    Ok(out)
}

/// Most directory entries a `**` search looks at.
pub const WALK_LIMIT: usize = 50_000;
const WALK_DEPTH: usize = 12;
const WALK_SKIP: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".cache",
    ".next",
    "dist",
    "build",
];

/// Collect paths below `base` whose last component matches `pat`; true when cut short.
fn walk_glob(base: &Path, pat: &str, out: &mut Vec<PathBuf>) -> bool {
    let mut seen = 0usize;
    let mut stack = vec![(base.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            seen += 1;
            if seen > WALK_LIMIT {
                return true;
            }
            let name = e.file_name();
            let name = name.to_string_lossy();
            if glob_match(pat, &name) {
                out.push(e.path());
            }
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && depth < WALK_DEPTH && !WALK_SKIP.contains(&name.as_ref()) {
                stack.push((e.path(), depth + 1));
            }
        }
    }
    false
}

/// `*` matches any run of characters (including none); nothing else is special.
pub fn glob_match(pat: &str, s: &str) -> bool {
    let (p, s) = (pat.as_bytes(), s.as_bytes());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = si;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// A grant before merging: path, access, why.
type Grants = Vec<(PathBuf, Grant, Origin)>;

/// Build the filesystem plan from a profile section, the variables and this run's extras.
/// `split`: no mount namespace, so Landlock must split every tree around its denied paths
/// (new entries cannot then be created in the split directories themselves); otherwise the
/// namespace layer hides them with empty mounts and the trees keep one rule each.
pub fn plan(fs: &Filesystem, vars: &Vars, extra: &Extra, split: bool) -> Result<FsPlan, String> {
    let mut missing = Vec::new();
    let (mut grants, create) = grants(fs, vars, extra, &mut missing)?;
    let deny = expand_list(vars, &fs.deny, "deny", &mut missing)?;
    let (mut protect, mut protect_missing) = protected(fs, vars, &mut missing)?;
    // Merge grants per path: the widest access wins.
    grants.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    grants.dedup_by(|a, b| a.0 == b.0);
    let writable: Vec<&PathBuf> = grants
        .iter()
        .filter(|g| g.1 == Grant::Write)
        .map(|g| &g.0)
        .collect();
    let mut hidden = Vec::new();
    for d in &deny {
        let granted = grants.iter().any(|g| d.starts_with(&g.0) && *d != g.0);
        if writable.iter().any(|w| d.starts_with(w)) || (!split && granted) {
            hidden.push(d.clone());
        }
    }
    let mut limits = Vec::new();
    let agent_config = agent_configs(fs, vars, &deny, &mut grants, &mut missing, &mut limits)?;
    // Judged after the run instead of read-only.
    for c in &agent_config {
        protect.retain(|p| *p != c.path);
        protect_missing.retain(|p| *p != c.path);
    }
    let toolchains = nested_toolchains(&grants, vars);
    let (rules, splits) = rules(grants, &deny, &toolchains, split);
    Ok(FsPlan {
        rules,
        splits,
        deny,
        hidden,
        protect,
        protect_missing,
        toolchains_read_only: toolchains,
        create_for_run: extra.create.clone(),
        missing,
        create,
        agent_config,
        limits,
    })
}

/// The profile's agent configuration files: each writable (a rule of its own unless a
/// writable tree holds it; created when its kind says so and nothing else would let the box
/// make it), unless denied or not a regular file.
fn agent_configs(
    fs: &Filesystem,
    vars: &Vars,
    deny: &[PathBuf],
    grants: &mut Grants,
    missing: &mut Vec<String>,
    limits: &mut Vec<String>,
) -> Result<Vec<AgentConfigFile>, String> {
    let mut out: Vec<AgentConfigFile> = Vec::new();
    for c in &fs.agent_config {
        let Some(path) = vars
            .expand(&c.path)
            .map_err(|e| format!("filesystem.agent_config: {e}"))?
        else {
            missing.push(format!("agent_config {} (variable unset)", c.path));
            continue;
        };
        if deny.iter().any(|d| path.starts_with(d)) || out.iter().any(|o| o.path == path) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).ok();
        if meta.as_ref().is_some_and(|m| !m.file_type().is_file()) {
            // A symlink would let the box write its target, which agentbox does not judge.
            limits.push(format!(
                "{} is not a regular file: not writable in the box (agentbox judges only regular files)",
                path.display()
            ));
            continue;
        }
        let covered = grants
            .iter()
            .any(|g| g.1 == Grant::Write && path.starts_with(&g.0));
        let create = meta.is_none() && !covered && c.kind.initial().is_some();
        if meta.is_none() && !covered && !create {
            missing.push(format!("agent_config {}", path.display()));
        } else if !covered {
            grants.push((path.clone(), Grant::Write, Origin::AgentConfig));
        }
        out.push(AgentConfigFile {
            path,
            kind: c.kind,
            create,
        });
    }
    Ok(out)
}

/// Every grant of the profile and the command line; state directories to create.
fn grants(
    fs: &Filesystem,
    vars: &Vars,
    extra: &Extra,
    missing: &mut Vec<String>,
) -> Result<(Grants, Vec<PathBuf>), String> {
    let mut grants: Grants = Vec::new();
    // A writable entry ending in `/` under $HOME is the agent's own state directory: created
    // at launch when missing (the agent would create it, and Landlock needs it to exist).
    let mut create = Vec::new();
    let home = vars.expand("~").ok().flatten();
    for raw in &fs.write {
        if !raw.ends_with('/') {
            continue;
        }
        if let (Ok(Some(p)), Some(h)) = (vars.expand(raw), &home) {
            if p.starts_with(h) && p != *h && std::fs::symlink_metadata(&p).is_err() {
                create.push(p.clone());
                grants.push((p, Grant::Write, Origin::ProfileCreated));
            }
        }
    }
    for (list, acc, what) in [
        (&fs.read, Grant::Read, "read"),
        (&fs.exec, Grant::Exec, "exec"),
        (&fs.write, Grant::Write, "write"),
        (&fs.devices, Grant::Device, "devices"),
    ] {
        for p in expand_list(vars, list, what, missing)? {
            grants.push((p, acc, Origin::Profile));
        }
    }
    missing.retain(|m| !create.iter().any(|c| m.ends_with(&c.display().to_string())));
    for p in &extra.read {
        grants.push((p.clone(), Grant::Read, Origin::AllowRead));
    }
    for p in &extra.write {
        let origin = if extra.create.contains(p) {
            Origin::AllowWriteCreated
        } else {
            Origin::AllowWrite
        };
        grants.push((p.clone(), Grant::Write, origin));
    }
    for (p, why) in &extra.exec {
        grants.push((p.clone(), Grant::Exec, Origin::Command { why: why.clone() }));
    }
    Ok((grants, create))
}

/// Protected paths: those that exist, and those that do not (yet).
fn protected(
    fs: &Filesystem,
    vars: &Vars,
    missing: &mut Vec<String>,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>), String> {
    let mut protect_missing = Vec::new();
    let mut protect = Vec::new();
    for raw in &fs.protect {
        match vars
            .expand(raw)
            .map_err(|e| format!("filesystem.protect: {e}"))?
        {
            Some(p)
                if p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains('*')) =>
            {
                protect.extend(expand_list(
                    vars,
                    std::slice::from_ref(raw),
                    "protect",
                    &mut Vec::new(),
                )?)
            }
            Some(p) if std::fs::symlink_metadata(&p).is_ok() => protect.push(p),
            Some(p) => protect_missing.push(p),
            None => missing.push(format!("protect {raw} (variable unset)")),
        }
    }
    Ok((protect, protect_missing))
}

/// Profile `exec` entries (toolchains: read and execute, never written) strictly inside a
/// writable tree, outside the workspace (which is the agent's to write): Landlock rights are
/// inherited down a tree, so the write grant above would make them writable.
fn nested_toolchains(grants: &Grants, vars: &Vars) -> Vec<PathBuf> {
    let ws = vars.expand("${WORKSPACE}").ok().flatten();
    grants
        .iter()
        .filter(|(_, a, o)| *a == Grant::Exec && *o == Origin::Profile)
        .filter(|(p, _, _)| ws.as_ref().is_none_or(|w| !p.starts_with(w)))
        .filter(|(p, _, _)| {
            grants
                .iter()
                .any(|(w, a, _)| *a == Grant::Write && p.starts_with(w) && p != w)
        })
        .map(|(p, _, _)| p.clone())
        .collect()
}

/// Landlock rules from the merged grants: whole trees, except trees holding a denied path,
/// which are split around it when `split` (no namespace layer to hide it), and, then too,
/// writable trees holding a toolchain, split around it so that it keeps only its own rule.
fn rules(
    grants: Grants,
    deny: &[PathBuf],
    toolchains: &[PathBuf],
    split: bool,
) -> (Vec<Rule>, Vec<Split>) {
    let mut rules = Vec::new();
    let mut splits = Vec::new();
    for (path, access, origin) in grants {
        let inside: Vec<PathBuf> = deny
            .iter()
            .filter(|d| d.starts_with(&path))
            .cloned()
            .collect();
        if inside.contains(&path) {
            // The whole tree is denied.
            continue;
        }
        let tools: Vec<PathBuf> = toolchains
            .iter()
            .filter(|t| access == Grant::Write && t.starts_with(&path) && **t != path)
            .cloned()
            .collect();
        // Without a denied path or a toolchain inside, or with the namespace layer to hide
        // and mount them read-only, the rule stays whole.
        if (inside.is_empty() && tools.is_empty()) || !split {
            rules.push(Rule {
                path,
                access,
                origin,
            });
            continue;
        }
        let before = rules.len();
        let origin = Origin::Split { tree: path.clone() };
        let left_out: Vec<PathBuf> = inside.iter().chain(&tools).cloned().collect();
        if inside.is_empty() {
            // Only toolchains to leave out: the tree itself stays listable (they are readable).
            rules.push(Rule {
                path: path.clone(),
                access: Grant::List,
                origin: origin.clone(),
            });
            split_entries(&path, access, &tools, &origin, &mut rules);
        } else {
            split_tree(&path, access, &left_out, &origin, &mut rules);
        }
        splits.push(Split {
            tree: path,
            denied: left_out,
            rules: rules.len() - before,
        });
    }
    (rules, splits)
}

/// Replace a rule on `dir` by rules on each entry except the denied ones, recursing along their paths.
fn split_tree(dir: &Path, acc: Grant, denied: &[PathBuf], origin: &Origin, out: &mut Vec<Rule>) {
    // Listing a directory is inherited by everything below it: withhold it on the
    // ancestors of a denied directory so its content cannot be listed.
    let hides_dir = denied
        .iter()
        .any(|d| std::fs::symlink_metadata(d).is_ok_and(|m| m.is_dir()));
    // Only listing on the directory itself: any file right here would be inherited by the
    // denied path below it.
    if !hides_dir {
        out.push(Rule {
            path: dir.to_path_buf(),
            access: Grant::List,
            origin: origin.clone(),
        });
    }
    split_entries(dir, acc, denied, origin, out);
}

/// Rules on each entry of `dir` except the `denied` ones, recursing along their paths.
fn split_entries(dir: &Path, acc: Grant, denied: &[PathBuf], origin: &Origin, out: &mut Vec<Rule>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for e in entries {
        if denied.contains(&e) {
            continue;
        }
        let below: Vec<PathBuf> = denied
            .iter()
            .filter(|d| d.starts_with(&e))
            .cloned()
            .collect();
        let meta = std::fs::symlink_metadata(&e);
        if meta.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
            // A symlink entry gets no rule of its own: its target is covered (or not) by the
            // target's own rule, so a link in /etc to /etc/shadow grants nothing.
            continue;
        }
        if below.is_empty() {
            out.push(Rule {
                path: e,
                access: acc,
                origin: origin.clone(),
            });
        } else {
            split_tree(&e, acc, &below, origin, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(".env.*", ".env.local"));
        assert!(!glob_match(".env.*", ".env"));
        assert!(glob_match("*_history", ".bash_history"));
        assert!(glob_match("ssh_host_*", "ssh_host_rsa_key"));
        assert!(!glob_match("*.pem", "a.pem.txt"));
        assert!(glob_match("*", ""));
    }

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("etc/ssh")).unwrap();
        std::fs::create_dir_all(r.join("etc/apt")).unwrap();
        std::fs::write(r.join("etc/shadow"), "x").unwrap();
        std::fs::write(r.join("etc/passwd"), "x").unwrap();
        std::fs::write(r.join("etc/ssh/ssh_host_ed25519_key"), "x").unwrap();
        std::fs::write(r.join("etc/ssh/ssh_config"), "x").unwrap();
        std::os::unix::fs::symlink(r.join("etc/shadow"), r.join("etc/decoy")).unwrap();
        t
    }

    #[test]
    fn deny_splits_read_only_tree() {
        let t = tree();
        let root = t.path().to_str().unwrap();
        let mut vars = Vars::default();
        vars.set("ROOT", root);
        let fs = Filesystem {
            exec: vec!["${ROOT}/etc".into()],
            deny: vec![
                "${ROOT}/etc/shadow".into(),
                "${ROOT}/etc/ssh/ssh_host_*".into(),
            ],
            ..Default::default()
        };
        let p = plan(&fs, &vars, &Extra::default(), true).unwrap();
        let paths: Vec<String> = p
            .rules
            .iter()
            .map(|r| r.path.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert!(paths.contains(&"etc/passwd".to_string()));
        assert!(paths.contains(&"etc/apt".to_string()));
        assert!(paths.contains(&"etc/ssh/ssh_config".to_string()));
        assert!(!paths
            .iter()
            .any(|p| p.contains("shadow") || p.contains("ssh_host")));
        assert!(
            !paths.contains(&"etc/decoy".to_string()),
            "symlinks get no rule"
        );
        assert_eq!(p.splits.len(), 1);
        assert_eq!(p.splits[0].denied.len(), 2);
    }

    #[test]
    fn deny_of_whole_tree_and_missing() {
        let t = tree();
        let mut vars = Vars::default();
        vars.set("ROOT", t.path().to_str().unwrap());
        let fs = Filesystem {
            read: vec!["${ROOT}/etc/ssh".into(), "${ROOT}/nope".into()],
            deny: vec!["${ROOT}/etc/ssh".into()],
            ..Default::default()
        };
        let p = plan(&fs, &vars, &Extra::default(), true).unwrap();
        assert!(p.rules.is_empty());
        assert_eq!(p.missing.len(), 1);
    }

    #[test]
    fn hidden_tree_goes_to_namespace_layer() {
        let t = tree();
        let mut vars = Vars::default();
        vars.set("ROOT", t.path().to_str().unwrap());
        let fs = Filesystem {
            write: vec!["${ROOT}/etc".into()],
            deny: vec!["${ROOT}/etc/shadow".into()],
            ..Default::default()
        };
        let p = plan(&fs, &vars, &Extra::default(), false).unwrap();
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.hidden.len(), 1);
    }

    #[test]
    fn widest_grant_wins() {
        let t = tree();
        let mut vars = Vars::default();
        vars.set("ROOT", t.path().to_str().unwrap());
        let fs = Filesystem {
            read: vec!["${ROOT}/etc".into()],
            write: vec!["${ROOT}/etc".into()],
            ..Default::default()
        };
        let p = plan(&fs, &vars, &Extra::default(), true).unwrap();
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.rules[0].access, Grant::Write);
    }
}
