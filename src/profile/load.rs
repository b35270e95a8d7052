//! Finding profiles (built-in, user, file), parsing them with locations, and flattening `extends`.

use super::model::Profile;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Built-in profiles, embedded in the binary (every `profiles/*.yaml`, as JSON: see build.rs).
pub const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_profiles.rs"));

/// Where a profile in the chain came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// Embedded in the binary.
    Builtin {
        /// Built-in name.
        name: String,
    },
    /// A file on disk.
    File {
        /// Absolute path.
        path: PathBuf,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Builtin { name } => write!(f, "builtin:{name}"),
            Source::File { path } => write!(f, "{}", path.display()),
        }
    }
}

/// A profile error the caller must tell apart from a launch failure (exit 125 either way).
#[derive(Debug)]
pub enum ProfileError {
    /// YAML that does not parse or does not fit the schema, with its location.
    Parse {
        /// File or built-in name.
        source: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// No profile of that name.
    NotFound {
        /// The name asked for.
        name: String,
        /// Every name that exists.
        available: Vec<String>,
    },
    /// A file that cannot be read.
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// `extends` loops back.
    Cycle {
        /// The chain, in order, ending at the repeated profile.
        chain: Vec<String>,
    },
    /// A value that parses but is not valid.
    Invalid {
        /// File or built-in name.
        source: String,
        /// What is wrong.
        message: String,
    },
    /// The profile that `extends` names cannot be loaded.
    Extends {
        /// The file whose `extends` it is.
        source: String,
        /// 1-based line of the `extends` key, when found.
        line: Option<usize>,
        /// Why the named profile cannot be loaded.
        error: Box<ProfileError>,
    },
}

// Messages never quote a profile's values: they name the key and what is wrong. Names (a
// profile name, an unknown key, an enum variant) are shown when `scrub::showable` passes, so
// typos stay easy to spot; file paths are shown with secrets masked (`scrub::text`), since
// `file:line:col` is what makes a message useful.
impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::scrub;
        match self {
            ProfileError::Parse {
                source,
                line,
                column,
                message,
            } => {
                let source = scrub::text(source);
                match (line, column) {
                    (Some(l), Some(c)) => write!(f, "{source}:{l}:{c}: {message}"),
                    (Some(l), None) => write!(f, "{source}:{l}: {message}"),
                    _ => write!(f, "{source}: {message}"),
                }
            }
            ProfileError::NotFound { name, available } => {
                if scrub::showable(name) {
                    write!(f, "no profile named `{name}`")?;
                } else {
                    write!(f, "no profile of that name (the value is not shown)")?;
                }
                let (shown, hidden): (Vec<&String>, Vec<&String>) =
                    available.iter().partition(|n| scrub::showable(n));
                let shown: Vec<&str> = shown.iter().map(|n| n.as_str()).collect();
                write!(f, "; available: {}", shown.join(", "))?;
                if !hidden.is_empty() {
                    write!(f, " (and {} not shown)", hidden.len())?;
                }
                Ok(())
            }
            ProfileError::Io { path, error } => {
                let p = path.to_string_lossy();
                if scrub::showable(&p) {
                    write!(f, "cannot read profile {p}: {error}")
                } else {
                    write!(f, "cannot read profile (path not shown): {error}")
                }
            }
            ProfileError::Cycle { chain } => {
                let chain: Vec<String> = chain.iter().map(|c| scrub::text(c)).collect();
                write!(f, "`extends` forms a cycle: {}", chain.join(" -> "))
            }
            ProfileError::Invalid { source, message } => {
                write!(f, "{}: {message}", scrub::text(source))
            }
            ProfileError::Extends {
                source,
                line,
                error,
            } => {
                let source = scrub::text(source);
                match line {
                    Some(l) => write!(f, "{source}:{l}:1: extends: {error}"),
                    None => write!(f, "{source}: extends: {error}"),
                }
            }
        }
    }
}

impl std::error::Error for ProfileError {}

/// Parse one profile text; `source` names it in errors.
pub fn parse(text: &str, source: &str) -> Result<Profile, ProfileError> {
    if text.len() > 1 << 20 {
        return Err(ProfileError::Invalid {
            source: source.to_string(),
            message: "profile larger than 1 MiB".into(),
        });
    }
    // An empty document is an empty profile, not an error.
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Profile::default());
    }
    // Messages name keys, never values: see `crate::yaml`.
    crate::yaml::from_str::<Profile>(text).map_err(|e| ProfileError::Parse {
        source: source.to_string(),
        line: e.line,
        column: e.column,
        message: e.to_string(),
    })
}

/// Parse an embedded profile (JSON made from the YAML at build time).
fn parse_builtin(json: &str, source: &str) -> Result<Profile, ProfileError> {
    serde_json::from_str(json).map_err(|e| ProfileError::Invalid {
        source: source.to_string(),
        message: e.to_string(),
    })
}

/// 1-based line of the top-level `key:` in a profile text (for errors about its value).
fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l
                .strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
                .or_else(|| l.strip_prefix(&format!("'{key}'")));
            l.is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// Where user profiles live: `$XDG_CONFIG_HOME/agentbox/profiles`.
pub fn user_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("agentbox/profiles"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".config/agentbox/profiles"))
}

/// Every profile name known: user ones and built-in ones, sorted, deduplicated.
pub fn available() -> Vec<String> {
    let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(dir) = user_dir() {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                    if let Some(s) = p.file_stem().and_then(|s| s.to_str()) {
                        names.push(s.to_string());
                    }
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// True when the argument names a file rather than a profile name.
pub fn looks_like_path(s: &str) -> bool {
    s.contains('/') || s.ends_with(".yaml") || s.ends_with(".yml")
}

/// Locate and read one profile. `from_dir` resolves relative `extends` paths; `extended` says
/// the name comes from an `extends` key (a file anyone, the agent included, may have written).
fn locate(
    name: &str,
    from_dir: Option<&Path>,
    extended: bool,
) -> Result<(Source, String), ProfileError> {
    if let Some(b) = name.strip_prefix("builtin:") {
        return builtin(b);
    }
    if looks_like_path(name) {
        let mut p = PathBuf::from(crate::profile::expand::tilde(name));
        if p.is_relative() {
            if let Some(d) = from_dir {
                p = d.join(p);
            }
        }
        let p = std::path::absolute(&p).unwrap_or(p);
        let text = read_profile(&p, !extended)?;
        return Ok((Source::File { path: p }, text));
    }
    if let Some(dir) = user_dir() {
        for ext in ["yaml", "yml"] {
            let p = dir.join(format!("{name}.{ext}"));
            if p.is_file() {
                let text = read_profile(&p, false)?;
                return Ok((Source::File { path: p }, text));
            }
        }
    }
    builtin(name)
}

/// Reads a profile file: a regular file, at most 1 MiB of it. A profile the agent wrote can
/// say `extends: /dev/zero` (endless) or name a FIFO (blocks): both are refused, not read. The
/// person's own `-p` may also be a pipe (`-p <(generate)`), still capped.
fn read_profile(p: &Path, pipe_ok: bool) -> Result<String, ProfileError> {
    use std::io::Read;
    const MAX: u64 = 1 << 20;
    let io = |error| ProfileError::Io {
        path: p.to_path_buf(),
        error,
    };
    let ft = std::fs::metadata(p).map_err(io)?.file_type();
    if !(ft.is_file() || pipe_ok && std::os::unix::fs::FileTypeExt::is_fifo(&ft)) {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
        return Err(io(e));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(p)
        .and_then(|f| f.take(MAX + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() as u64 > MAX {
        return Err(ProfileError::Invalid {
            source: p.display().to_string(),
            message: "profile larger than 1 MiB".into(),
        });
    }
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8");
    String::from_utf8(bytes).map_err(|_| io(bad()))
}

fn builtin(name: &str) -> Result<(Source, String), ProfileError> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, t)| {
            (
                Source::Builtin {
                    name: n.to_string(),
                },
                t.to_string(),
            )
        })
        .ok_or_else(|| ProfileError::NotFound {
            name: name.to_string(),
            available: available(),
        })
}

/// A profile with `extends` flattened.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The profile's name (the most derived one).
    pub name: String,
    /// Sources from the most derived to the root.
    pub chain: Vec<Source>,
    /// Each profile of the chain as parsed, same order as `chain`.
    pub layers: Vec<Profile>,
    /// The merged result.
    pub profile: Profile,
}

/// Load a profile by name or path and flatten its `extends` chain.
pub fn resolve(name: &str) -> Result<Resolved, ProfileError> {
    let mut chain = Vec::new();
    let mut layers = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some(name.to_string());
    let mut from_dir: Option<PathBuf> = None;
    let mut display_name: Option<String> = None;
    // The file whose `extends` named `next`, and the line of that key.
    let mut extended_by: Option<(String, Option<usize>)> = None;
    while let Some(n) = next.take() {
        let (src, text) =
            locate(&n, from_dir.as_deref(), extended_by.is_some()).map_err(
                |e| match &extended_by {
                    Some((source, line)) => ProfileError::Extends {
                        source: source.clone(),
                        line: *line,
                        error: Box::new(e),
                    },
                    None => e,
                },
            )?;
        let key = src.to_string();
        if seen.contains(&key) {
            seen.push(key);
            return Err(ProfileError::Cycle { chain: seen });
        }
        seen.push(key.clone());
        if seen.len() > 32 {
            return Err(ProfileError::Invalid {
                source: key,
                message: "`extends` chain deeper than 32".into(),
            });
        }
        let p = match &src {
            Source::Builtin { .. } => parse_builtin(&text, &key)?,
            Source::File { .. } => parse(&text, &key)?,
        };
        if display_name.is_none() {
            display_name = Some(p.name.clone().unwrap_or_else(|| {
                match &src {
                    Source::Builtin { name } => name.clone(),
                    Source::File { path } => path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| key.clone()),
                }
            }));
        }
        if let Source::File { path } = &src {
            from_dir = path.parent().map(Path::to_path_buf);
            extended_by = Some((key.clone(), key_line(&text, "extends")));
        } else {
            extended_by = None;
        }
        next = p.extends.clone().map(|e| {
            // A user file named like a built-in extends the built-in, not itself.
            if !looks_like_path(&e) && matches!(&src, Source::File{path} if path.file_stem().is_some_and(|s| s == e.as_str())) {
                format!("builtin:{e}")
            } else {
                e
            }
        });
        chain.push(src);
        layers.push(p);
    }
    let profile = layers
        .iter()
        .rev()
        .fold(Profile::default(), |acc, p| merge(acc, p.clone()));
    Ok(Resolved {
        name: display_name.unwrap_or_else(|| name.to_string()),
        chain,
        layers,
        profile,
    })
}

fn extend_unique(dst: &mut Vec<String>, src: Vec<String>) {
    for s in src {
        if !dst.contains(&s) {
            dst.push(s);
        }
    }
}

/// Merge `child` over `base`: lists add up, scalars and maps are overridden by the child.
pub fn merge(mut base: Profile, child: Profile) -> Profile {
    base.name = child.name.or(base.name);
    base.description = child.description.or(base.description);
    base.extends = None;
    let (bf, cf) = (&mut base.filesystem, child.filesystem);
    extend_unique(&mut bf.read, cf.read);
    extend_unique(&mut bf.exec, cf.exec);
    extend_unique(&mut bf.write, cf.write);
    extend_unique(&mut bf.deny, cf.deny);
    extend_unique(&mut bf.protect, cf.protect);
    extend_unique(&mut bf.devices, cf.devices);
    for c in cf.agent_config {
        if !bf.agent_config.contains(&c) {
            bf.agent_config.push(c);
        }
    }
    let (be, ce) = (&mut base.env, child.env);
    be.inherit = ce.inherit.or(be.inherit);
    extend_unique(&mut be.allow, ce.allow);
    extend_unique(&mut be.deny, ce.deny);
    be.set.extend(ce.set);
    extend_unique(&mut be.files, ce.files);
    let (bn, cn) = (&mut base.network, child.network);
    bn.mode = cn.mode.or(bn.mode);
    extend_unique(&mut bn.allow, cn.allow);
    extend_unique(&mut bn.local, cn.local);
    for p in cn.listen {
        if !bn.listen.contains(&p) {
            bn.listen.push(p);
        }
    }
    let (bh, ch) = (&mut base.hardening, child.hardening);
    bh.nested_sandbox = ch.nested_sandbox.or(bh.nested_sandbox);
    bh.git_fallback = ch.git_fallback.or(bh.git_fallback.take());
    extend_unique(&mut base.sandbox.optional, child.sandbox.optional);
    base.sandbox.production = child.sandbox.production.or(base.sandbox.production);
    base.audit = child.audit.or(base.audit);
    base.command_args.extend(child.command_args);
    for (name, c) in child.credentials {
        base.credentials.entry(name).or_default().merge(c);
    }
    base
}

/// What `layer` adds over `base` that widens access (used for profiles inside the workspace,
/// which may only narrow). Each entry names the key, and the value when `scrub::showable`.
pub fn widening(base: &Profile, layer: &Profile) -> Vec<String> {
    let mut out = Vec::new();
    let mut added = |key: &str, new: &[String], old: &[String]| {
        for n in new {
            if !old.contains(n) {
                out.push(format!("{key}: {}", crate::scrub::shown(n)));
            }
        }
    };
    let (f, b) = (&layer.filesystem, &base.filesystem);
    added(
        "filesystem.read",
        &f.read,
        &[b.read.clone(), b.exec.clone(), b.write.clone()].concat(),
    );
    added(
        "filesystem.exec",
        &f.exec,
        &[b.exec.clone(), b.write.clone()].concat(),
    );
    added("filesystem.write", &f.write, &b.write);
    added("filesystem.devices", &f.devices, &b.devices);
    // An agent configuration file is writable in the box.
    let configs = |p: &Profile| -> Vec<String> {
        p.filesystem
            .agent_config
            .iter()
            .map(|c| c.path.clone())
            .collect()
    };
    added("filesystem.agent_config", &configs(layer), &configs(base));
    added("env.allow", &layer.env.allow, &base.env.allow);
    added("env.files", &layer.env.files, &base.env.files);
    added("network.allow", &layer.network.allow, &base.network.allow);
    added("network.local", &layer.network.local, &base.network.local);
    added(
        "sandbox.optional",
        &layer.sandbox.optional,
        &base.sandbox.optional,
    );
    for p in &layer.network.listen {
        if !base.network.listen.contains(p) {
            out.push(format!("network.listen: {p}"));
        }
    }
    use crate::net::policy::NetMode;
    let rank = |m: Option<NetMode>| match m {
        Some(NetMode::Unrestricted) => 2,
        Some(NetMode::Allowlist) => 1,
        _ => 0,
    };
    if rank(layer.network.mode) > rank(base.network.mode) {
        let m = layer.network.mode.unwrap_or(NetMode::Off);
        out.push(format!("network.mode: {m:?}").to_lowercase());
    }
    use super::model::Inherit;
    let irank = |i: Option<Inherit>| match i.unwrap_or_default() {
        Inherit::All => 2,
        Inherit::Core => 1,
        Inherit::None => 0,
    };
    if layer.env.inherit.is_some() && irank(layer.env.inherit) > irank(base.env.inherit) {
        out.push("env.inherit widened".into());
    }
    if layer.audit.is_some() && layer.audit != base.audit {
        out.push(format!(
            "audit: {}",
            crate::scrub::shown(layer.audit.as_deref().unwrap_or_default())
        ));
    }
    if layer.hardening.nested_sandbox == Some(true) && base.hardening.nested_sandbox != Some(true) {
        out.push("hardening.nested_sandbox: true".into());
    }
    out.extend(super::model::credential_widening(
        &base.credentials,
        &layer.credentials,
    ));
    out
}

/// The profiles of a chain that live inside `workspace` and widen what they extend.
pub fn workspace_widening(r: &Resolved, workspace: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (i, src) in r.chain.iter().enumerate() {
        let Source::File { path } = src else { continue };
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        if !real.starts_with(workspace) {
            continue;
        }
        // Everything this file extends, merged.
        let base = r.layers[i + 1..]
            .iter()
            .rev()
            .fold(Profile::default(), |acc, p| merge(acc, p.clone()));
        for w in widening(&base, &r.layers[i]) {
            out.push(format!("{}: {w}", path.display()));
        }
    }
    out
}

/// A commented starter profile for `agentbox profile init NAME`.
pub fn starter(name: &str) -> String {
    format!(
        r#"# agentbox profile `{name}`: run with `agentbox run -p {name} -- COMMAND`.
# Lists add to the profile it extends; see `agentbox profile show default`.
description: My profile
extends: default
filesystem:
  # read: [~/src/shared-docs]          # readable trees
  # exec: [~/.local/share/mytool]      # readable and executable
  # write: [${{XDG_CACHE_HOME}}/mytool] # writable
  # deny: [~/src/shared-docs/private]  # hidden even inside an allowed tree
  # protect: [${{WORKSPACE}}/Makefile]  # read-only inside the workspace
env:
  # inherit: all                       # all | core | none
  # allow: [MY_AGENT_API_KEY]          # keep a secret-looking variable on purpose
  # set: {{ DATABASE_URL: "postgres://test:test@127.0.0.1:5432/test" }}
  # files: [${{WORKSPACE}}/.env.agent]  # dotenv file of test credentials (git-ignored)
network:
  # mode: off                          # off | allowlist | unrestricted
  # allow: [api.example.com, "*.example.org:8443"]
  # local: ["127.0.0.1:5432"]          # services on the host's loopback
  # listen: [3000]                     # loopback ports the agent may listen on
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_resolve() {
        // The YAML sources themselves parse, with the strict schema.
        for (name, _) in BUILTIN {
            let path = format!("{}/profiles/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
            parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
        }
        for (name, _) in BUILTIN {
            let r = resolve(&format!("builtin:{name}")).unwrap();
            assert!(
                r.profile.description.is_some(),
                "{name} needs a description"
            );
        }
    }

    #[test]
    fn extends_of_a_device_or_a_huge_file_is_refused_unread() {
        // Found writing the `profile` fuzz target (fuzz/, which resolves the files it writes):
        // `extends: /dev/zero` read without end, filling the memory.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        for target in ["/dev/zero", "/dev/null", "/dev/stdin"] {
            std::fs::write(&p, format!("extends: {target}\n")).unwrap();
            let e = resolve(&p.to_string_lossy()).unwrap_err();
            assert!(
                e.to_string().contains("not a regular file"),
                "{target}: {e}"
            );
        }
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, vec![b'#'; (1 << 20) + 10]).unwrap();
        std::fs::write(&p, "extends: big.yaml\n").unwrap();
        let e = resolve(&p.to_string_lossy()).unwrap_err();
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
    }

    #[test]
    fn errors_carry_locations() {
        let e = parse("filesystem:\n  reed: [/usr]\n", "p.yaml").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("p.yaml:2:") && s.contains("reed"), "{s}");
        let e = parse("env: [", "q.yaml").unwrap_err().to_string();
        assert!(e.starts_with("q.yaml:"), "{e}");
    }

    #[test]
    fn merge_adds_lists_and_overrides_scalars() {
        let a = parse(
            "env:\n  inherit: core\n  allow: [A]\nnetwork:\n  mode: off\n",
            "a",
        )
        .unwrap();
        let b = parse(
            "env:\n  allow: [B]\nnetwork:\n  allow: [x.example.com]\n",
            "b",
        )
        .unwrap();
        let m = merge(a, b);
        assert_eq!(m.env.allow, vec!["A", "B"]);
        assert_eq!(m.env.inherit, Some(super::super::model::Inherit::Core));
        assert_eq!(m.network.mode, Some(crate::net::policy::NetMode::Off));
    }

    #[test]
    fn widening_is_detected_and_narrowing_is_not() {
        let base = parse("filesystem:\n  read: [/usr]\nnetwork:\n  mode: off\n", "b").unwrap();
        let narrow = parse("filesystem:\n  read: [/usr]\n  deny: [/usr/secret]\n", "n").unwrap();
        assert!(widening(&base, &narrow).is_empty());
        let wide = parse(
            "filesystem:\n  read: [~/.ssh]\nnetwork:\n  allow: [evil.example.com]\nenv:\n  allow: [AWS_SECRET_ACCESS_KEY]\n  files: [~/.aws/credentials]\n",
            "w",
        )
        .unwrap();
        let w = widening(&base, &wide);
        assert_eq!(w.len(), 4, "{w:?}");
    }

    /// A token-shaped value, assembled at run time.
    fn token() -> String {
        let body: String = "Zr8Qm3Xv7Lp2Wn6Kt1Hy5Bd9Fs4Gj0Ca3E"
            .chars()
            .cycle()
            .take(36)
            .collect();
        format!("{}{}", "gh", format_args!("p_{body}"))
    }

    #[test]
    fn parse_errors_name_keys_not_values() {
        let t = token();
        let cases = [
            (format!("{t}: 1\n"), "p.yaml:1:1: unknown field (the name is not shown), expected one of `name`"),
            (format!("env:\n  inherit: {t}\n"), "p.yaml:2:12: env.inherit: unknown variant (the name is not shown), expected one of `all`"),
            (format!("network:\n  listen: [\"{t}\"]\n"), "p.yaml:2:12: network.listen[0]: invalid value, expected u16 (the value is not shown)"),
            (format!("command_args:\n  {t}: [x]\n  codex: {t}\n"), "p.yaml:3:10: command_args.codex: invalid type, expected a sequence"),
            (format!("command_args:\n  {t}: 3\n"), "p.yaml:2:45: command_args.(key not shown): invalid type, expected a sequence"),
            (format!("env:\n  set: {{{t}: [1]}}\n"), "env.set.(key not shown): invalid type, expected a string"),
            (format!("{t}\n"), "p.yaml:1:1: invalid type, expected a mapping"),
            ("env:\n  inherit: cor\n".into(), "unknown variant `cor`, expected one of `all`, `core`, `none`"),
            ("filesystem:\n  reed: [/usr]\n".into(), "p.yaml:2:3: filesystem: unknown field `reed`"),
            ("network:\n  listen: [70000]\n".into(), "p.yaml:2:12: network.listen[0]: invalid value, expected u16 (the value is not shown)"),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let e = parse(text, "p.yaml").unwrap_err().to_string();
            assert!(!e.contains(&t[4..20]), "case {i}: token in the message");
            assert!(e.contains(want), "case {i}: {e}");
        }
    }

    /// Runs `parse` and returns its error with the time it took.
    fn timed_err(text: &str) -> (String, std::time::Duration) {
        let t = std::time::Instant::now();
        let e = parse(text, "p.yaml").unwrap_err().to_string();
        (e, t.elapsed())
    }

    #[test]
    fn yaml_bombs_are_refused_quickly() {
        let quick = std::time::Duration::from_secs(2);
        // Nested aliases (9 levels of 9): refused at the first alias that does not fit.
        let mut bomb =
            String::from("command_args:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (p, n) in ('a'..'i').zip('b'..='i') {
            bomb.push_str(&format!(
                "  {n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            ));
        }
        let (e, took) = timed_err(&bomb);
        assert!(e.starts_with("p.yaml:3:"), "{e}");
        assert!(took < quick, "{took:?}");
        // Aliases of a long string fit `Vec<String>`: 800 KB of profile would expand to 40 GB
        // (serde_yaml ran out of memory on it); the text budget refuses it.
        let mut amp = format!(
            "description: &a \"{}\"\nfilesystem:\n  read: [",
            "x".repeat(400_000)
        );
        amp.push_str(&"*a, ".repeat(100_000));
        amp.push_str("]\n");
        assert!(amp.len() < 1 << 20);
        let (e, took) = timed_err(&amp);
        assert!(
            e.starts_with("p.yaml:3:") && e.contains("filesystem.read: more than 16 MiB of text, aliases expanded (refused as a YAML bomb)"),
            "{e}"
        );
        assert!(took < quick, "{took:?}");
    }

    #[test]
    fn deep_nesting_is_refused_quickly() {
        // serde_yaml took 46 s on this one (100,000 levels; the size cap allows 500,000).
        let deep = format!(
            "description: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let (e, took) = timed_err(&deep);
        assert!(
            e.starts_with("p.yaml:1:14: description: invalid type"),
            "{e}"
        );
        assert!(took < std::time::Duration::from_secs(1), "{took:?}");
        // The typed schema refuses nesting at its first wrong level; the depth budget (see
        // `crate::yaml`) bounds the rest, rules files and build.rs included.
    }

    #[test]
    fn tabs_and_duplicate_keys_are_errors_with_locations() {
        let e = parse("filesystem:\n\tread: [/usr]\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.yaml:2:2: ") && e.contains("tab"), "{e}");
        let e = parse("filesystem:\n  read:\n\t- /usr\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.yaml:3:") && e.contains("tab"), "{e}");
        // A key given twice is an error, not "the last one wins": a repeated `write:` or
        // `env.set` entry is more likely a mistake than a wish.
        let e = parse("description: a\ndescription: b\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "p.yaml:2:1: duplicate key `description`");
        let e = parse("env:\n  set:\n    A: x\n    A: y\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "p.yaml:4:5: env.set: duplicate key `A`");
        let t = token();
        let e = parse(&format!("env:\n  set:\n    {t}: x\n    {t}: y\n"), "p.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "p.yaml:4:5: env.set: duplicate key (the name is not shown)"
        );
    }

    #[test]
    fn adversarial_profiles_never_echo_a_value() {
        let t = token();
        let cases = [
            format!("hardening:\n  nested_sandbox: {t}\n"),
            format!("network:\n  listen: [1, '{t}']\n"),
            format!("network:\n  mode: {{{t}: 1}}\n"),
            format!("env:\n  inherit: [{t}]\n"),
            format!("filesystem:\n  reed: {t}\n"),
            format!("filesystem:\n  reed: [{t}]\n"),
            format!("filesystem:\n  {t}: {t}\n"),
            format!("sandbox:\n  production: \"{t}\"\n"),
            format!("description: &{t} x\nhardening:\n  nested_sandbox: *{t}\n"),
            format!("description: &a {t}\nnetwork:\n  listen: [*a]\n"),
            format!("description: &a [{t}]\nname: *a\n"),
            format!("description: *{t}\n"),
            format!("description: !{t} x\n"),
            format!("description: !!{t} x\n"),
            format!("description: \"{t}\n"),
            format!("description: '{t}\n"),
            format!("description: {t}\n  bad: indent\n"),
            format!("description: \"\\q{t}\"\n"),
            format!("env:\n  set: {{{t}: [1]}}\n"),
            format!("env:\n  set:\n    K: {{{t}: 1}}\n"),
            format!("command_args:\n  {t}: {t}\n"),
            format!("{t}:\n  {t}: 1\n"),
            format!("- {t}\n"),
            format!("description: x\n---\n{t}\n"),
        ];
        for (i, text) in cases.iter().enumerate() {
            let e = parse(text, "p.yaml").expect_err(&format!("case {i} parsed"));
            let e = e.to_string();
            assert!(!e.contains(&t[4..16]), "case {i}: token in the message");
            assert!(e.starts_with("p.yaml:"), "case {i}: {e}");
        }
    }

    #[test]
    fn shown_profiles_parse_back_to_the_same_profile() {
        // `profile show` prints serde-saphyr's YAML: it must read back as it was.
        for (name, _) in BUILTIN {
            let p = resolve(&format!("builtin:{name}")).unwrap().profile;
            let text = serde_saphyr::to_string(&p).unwrap();
            assert_eq!(parse(&text, name).unwrap(), p, "{name}:\n{text}");
        }
        let mut p = Profile {
            description: Some("x: y # z".into()),
            ..Default::default()
        };
        p.filesystem.read = vec!["yes".into(), "0123".into(), "~/a b".into(), "*".into()];
        p.env.set.insert("on".into(), "null".into());
        let text = serde_saphyr::to_string(&p).unwrap();
        assert_eq!(parse(&text, "x").unwrap(), p, "{text}");
    }

    #[test]
    fn extends_errors_point_at_the_key_and_hide_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.yaml");
        let t = token();
        std::fs::write(&p, format!("# x\ndescription: d\nextends: {t}\n")).unwrap();
        let e = resolve(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(!e.contains(&t), "token in the message");
        assert!(
            e.contains("p.yaml:3:1: extends: no profile of that name (the value is not shown); available: ")
                && e.contains("default"),
            "{e}"
        );
        std::fs::write(&p, "extends: defualt\n").unwrap();
        let e = resolve(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(
            e.contains("p.yaml:1:1: extends: no profile named `defualt`"),
            "{e}"
        );
        std::fs::write(&p, format!("extends: ./{t}.yaml\n")).unwrap();
        let e = resolve(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(!e.contains(&t), "token in the message");
        assert!(
            e.contains("p.yaml:1:1: extends: cannot read profile (path not shown)"),
            "{e}"
        );
        let e = resolve(&t).unwrap_err().to_string();
        assert!(
            !e.contains(&t) && e.starts_with("no profile of that name"),
            "{e}"
        );
    }

    #[test]
    fn widening_names_keys_and_hides_tokens() {
        let base = Profile::default();
        let t = token();
        let wide = parse(
            &format!("network:\n  allow: [\"{t}\", api.example.com]\naudit: /x/{t}\n"),
            "w",
        )
        .unwrap();
        let w = widening(&base, &wide);
        assert_eq!(
            w,
            [
                "network.allow: (value not shown)",
                "network.allow: api.example.com",
                "audit: (value not shown)"
            ]
        );
    }

    /// Property test: random mutations of real profiles never panic, and every parse error
    /// names its source (with a line where the YAML parser knows one).
    #[test]
    fn mutated_profiles_never_panic() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b" :-[]{}#&*!|>'\"%@`\n\tabcxyz019~${}/.";
        for (name, _) in BUILTIN {
            let path = format!("{}/profiles/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            for _ in 0..400 {
                let mut b = text.as_bytes().to_vec();
                for _ in 0..(1 + next() % 6) {
                    let i = (next() as usize) % b.len().max(1);
                    match next() % 3 {
                        0 => b[i] = alphabet[(next() as usize) % alphabet.len()],
                        1 => {
                            b.insert(i, alphabet[(next() as usize) % alphabet.len()]);
                        }
                        _ => {
                            b.remove(i);
                        }
                    }
                }
                let t = String::from_utf8_lossy(&b);
                if let Err(e) = parse(&t, name) {
                    let s = e.to_string();
                    assert!(s.starts_with(name), "{s}");
                }
            }
        }
    }
}
