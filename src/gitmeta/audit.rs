//! The git audit after every run: every repository in the workspace that no git view or
//! snapshot covered (one created during the run, a bare repository planted in `src/`, a nested
//! repository in a tree the launch-time search skipped, a submodule or worktree git directory
//! made during a run without namespaces) is examined for what makes git run a command when
//! the person later uses it there. What changed during the run is neutralised: a config's
//! dangerous entries are dropped (the original goes to the quarantine), hooks, `commondir`,
//! `config.worktree` and object alternates go to the quarantine. Nothing is deleted.

use super::config;
use crate::safefs::{Dir, Kind};
use crate::supervise::quarantine::Quarantine;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// One thing the audit neutralised.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The path.
    pub path: PathBuf,
    /// What was wrong (key names, never values).
    pub what: String,
    /// Where the original is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantined: Option<PathBuf>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.what)?;
        if let Some(q) = &self.quarantined {
            write!(f, "; the original is in {}", q.display())?;
        }
        Ok(())
    }
}

/// The result of one audit.
#[derive(Debug, Default)]
pub struct Report {
    /// What was neutralised.
    pub findings: Vec<Finding>,
    /// Git directories examined.
    pub repositories: usize,
    /// The walk stopped before seeing the whole workspace.
    pub truncated: bool,
}

/// Most directory entries the audit looks at.
pub const AUDIT_WALK_LIMIT: usize = 400_000;

/// What the audit needs besides the workspace.
pub struct Scope<'a> {
    /// Git directories already covered (views or snapshots): not examined, except for
    /// submodule and worktree git directories created inside them.
    pub covered: &'a [PathBuf],
    /// Launch time (ns since the epoch): a file whose inode changed since then changed during
    /// the run (ctime cannot be set from user space).
    pub since_ns: i128,
}

/// Redirections a clone or an `init` makes by itself: where the repository fetches from and
/// where its worktree is. Not code, so not neutralised.
fn ordinary_redirect(name: &str) -> bool {
    name == "core.worktree"
        || (name.starts_with("remote.") && (name.ends_with(".url") || name.ends_with(".pushurl")))
        || (name.starts_with("submodule.") && name.ends_with(".url"))
}

/// Should this entry go from a config written during the run?
fn dangerous(e: &config::Entry) -> Option<config::Risk> {
    let r = config::classify(e)?;
    (r != config::Risk::Redirects || !ordinary_redirect(&e.name())).then_some(r)
}

/// Walk the workspace and neutralise what changed during the run in repositories not covered.
pub fn run(workspace: &Path, scope: &Scope, q: &mut Quarantine) -> Report {
    let mut rep = Report::default();
    let Ok(root) = Dir::open(workspace) else {
        return rep;
    };
    let mut seen = 0usize;
    let mut stack: Vec<Dir> = vec![root];
    let mut gitdirs: Vec<Dir> = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(list) = d.list() else { continue };
        let names: Vec<&OsStr> = list.iter().map(|(n, _)| n.as_os_str()).collect();
        if looks_like_gitdir(&d, &names) && !is_covered(scope, d.path()) {
            gitdirs.push(d);
            continue;
        }
        if is_covered(scope, d.path()) {
            // A covered git directory: its object store is the real one even in a view, so
            // alternates set there are checked; and what may be new in it.
            alternates(&d, scope.since_ns, q, &mut rep.findings);
            for sub in ["modules", "worktrees"] {
                if let Ok(s) = d.open_beneath(Path::new(sub)) {
                    stack.push(s);
                }
            }
            continue;
        }
        for (name, kind) in list {
            seen += 1;
            if seen > AUDIT_WALK_LIMIT {
                rep.truncated = true;
                break;
            }
            if kind != Kind::Dir || d.is_mount_point(&name).unwrap_or(true) {
                continue;
            }
            if let Ok(s) = d.open_beneath(Path::new(&name)) {
                stack.push(s);
            }
        }
        if rep.truncated {
            break;
        }
    }
    rep.repositories = gitdirs.len();
    for g in gitdirs {
        audit_gitdir(&g, scope, q, &mut rep.findings);
    }
    rep
}

fn is_covered(scope: &Scope, p: &Path) -> bool {
    scope.covered.iter().any(|c| c == p)
}

/// What git itself accepts as a git directory: a `HEAD`, and `objects` and `refs` (or a
/// `commondir` file pointing to them).
fn looks_like_gitdir(d: &Dir, names: &[&OsStr]) -> bool {
    let has = |n: &str| names.contains(&OsStr::new(n));
    has("HEAD")
        && ((has("objects") && has("refs")) || has("commondir"))
        && d.stat(OsStr::new("HEAD"))
            .ok()
            .flatten()
            .is_some_and(|m| m.kind != Kind::Dir)
}

/// A linked worktree's administrative directory (`<common>/worktrees/<id>`) whose `commondir`
/// points back to that common directory: what `git worktree add` makes, no redirection.
fn is_worktree_admin(g: &Dir) -> bool {
    let in_worktrees = g
        .path()
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "worktrees");
    in_worktrees
        && g.read(OsStr::new("commondir"), 4096)
            .is_ok_and(|b| String::from_utf8_lossy(&b).trim() == "../..")
}

fn changed_since(d: &Dir, name: &OsStr, since: i128) -> bool {
    d.stat(name)
        .ok()
        .flatten()
        .is_some_and(|m| m.ctime_ns >= since)
}

fn audit_gitdir(g: &Dir, scope: &Scope, q: &mut Quarantine, out: &mut Vec<Finding>) {
    let since = scope.since_ns;
    let cfg = OsStr::new("config");
    if changed_since(g, cfg, since) {
        neutralise_config(g, cfg, q, out);
    }
    // config.worktree only matters with extensions.worktreeConfig, which a run could set in a
    // config the audit would then have neutralised; it goes anyway, like commondir (a redirect
    // of where git reads config and hooks) and alternates.
    for (name, what) in [
        (
            "config.worktree",
            "a worktree configuration written during the run",
        ),
        (
            "commondir",
            "a redirect of where git reads config and hooks, written during the run",
        ),
    ] {
        let n = OsStr::new(name);
        if changed_since(g, n, since) && !(name == "commondir" && is_worktree_admin(g)) {
            take(g, n, what, q, out);
        }
    }
    alternates(g, since, q, out);
    if let Ok(hooks) = g.open_beneath(Path::new("hooks")) {
        for (name, kind) in hooks.list().unwrap_or_default() {
            if name.to_string_lossy().ends_with(".sample") || kind == Kind::Dir {
                continue;
            }
            if changed_since(&hooks, &name, since) {
                take(&hooks, &name, "a hook written during the run", q, out);
            }
        }
    } else if changed_since(g, OsStr::new("hooks"), since) {
        // A hooks symlink planted during the run.
        take(
            g,
            OsStr::new("hooks"),
            "a hooks link made during the run",
            q,
            out,
        );
    }
}

/// `objects/info/alternates` makes git read objects from another directory.
fn alternates(g: &Dir, since: i128, q: &mut Quarantine, out: &mut Vec<Finding>) {
    if let Ok(info) = g.open_beneath(Path::new("objects/info")) {
        for name in ["alternates", "http-alternates"] {
            let n = OsStr::new(name);
            if changed_since(&info, n, since) {
                take(
                    &info,
                    n,
                    "objects borrowed from elsewhere, set during the run",
                    q,
                    out,
                );
            }
        }
    }
}

fn take(d: &Dir, name: &OsStr, what: &str, q: &mut Quarantine, out: &mut Vec<Finding>) {
    let path = d.path().join(name);
    let quarantined = match q.take(d, name, &path, what) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!("git audit: cannot move {} aside: {e}", path.display());
            None
        }
    };
    out.push(Finding {
        path,
        what: what.to_string(),
        quarantined,
    });
}

/// Drop the dangerous entries of a config written during the run: the original goes to the
/// quarantine, a copy without them takes its place.
fn neutralise_config(g: &Dir, name: &OsStr, q: &mut Quarantine, out: &mut Vec<Finding>) {
    let Ok(bytes) = g.read(name, 64 << 20) else {
        return;
    };
    let path = g.path().join(name);
    let mode = g.stat(name).ok().flatten().map(|m| m.mode).unwrap_or(0o644);
    let (keep, what) = match config::parse(&bytes) {
        Ok(cfg) => {
            let bad: Vec<String> = cfg
                .entries
                .iter()
                .filter_map(|e| {
                    dangerous(e).map(|r| format!("{} ({})", e.name(), super::merge::risk_text(r)))
                })
                .collect();
            if bad.is_empty() {
                return;
            }
            let clean = config::sanitize(&bytes, &cfg, |e| dangerous(e).is_some());
            (
                Some(clean),
                format!(
                    "config entries written during the run removed: {}",
                    bad.join(", ")
                ),
            )
        }
        // Git would refuse it; so does the audit: the whole file goes.
        Err(_) => (
            None,
            "a config git cannot read, written during the run".to_string(),
        ),
    };
    let quarantined = match q.take(g, name, &path, &what) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!("git audit: cannot move {} aside: {e}", path.display());
            return;
        }
    };
    if let Some(clean) = keep {
        if let Err(e) = g.create_file(name, &clean, mode) {
            tracing::warn!(
                "git audit: cannot write the cleaned {}: {e}",
                path.display()
            );
        }
    }
    out.push(Finding {
        path,
        what,
        quarantined,
    });
}
