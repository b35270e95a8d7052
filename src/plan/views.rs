//! Redacted views of shell and tool configuration. With the namespace layer the box reads
//! read-only copies of `~/.bashrc`, `~/.gitconfig`, `~/.npmrc` and the like in which every line
//! holding a secret is removed: a value the detector engine finds, a value removed from the
//! environment, an assignment to a variable or key with a secret's name. A line whose purpose
//! is a credential goes whole (`//host/:_authToken=...`, `export GITHUB_TOKEN=...`), so no tool
//! sends a marker as a token. The copies are made here, before fork; the sandbox writes them
//! into a tmpfs of the box's own and binds them read-only (`sandbox::spec::FileView`), so the
//! box can change neither them nor the person's files, and nothing is left on the host.
//!
//! Without namespaces nothing can be put in place of a file: the listed files stay hidden, and
//! one a profile grants (`~/.gitconfig`, or a directory above it) is hidden too when it holds
//! anything a view would remove (its rule dropped, or split out of the directory's). Files a listed one includes (`source ~/.bash_secrets`, git's
//! `include.path`) are not listed, and stay hidden.

use crate::detect::{classify_name, Engine, NameClass};
use crate::profile::expand::Vars;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a file is read, which decides how a line holding a secret is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// sh, bash, zsh start-up files: the line becomes `:` (a no-op command, so an `if` or a
    /// function around it still parses); assignments to secret-named variables go too.
    Shell,
    /// `key = value` files with `[sections]` (git, npm, pip, PyPI): the line becomes a
    /// comment; keys with a secret's name go too; a section whose header holds a secret goes
    /// whole (its keys would otherwise fall into the section before it).
    Ini,
    /// readline's `~/.inputrc`, nano's rc: `#` comments.
    Hash,
    /// vim's rc: `"` comments.
    Vim,
}

/// The files that get a view, and how each is read.
pub const LIST: &[(&str, Format)] = &[
    ("~/.profile", Format::Shell),
    ("~/.bashrc", Format::Shell),
    ("~/.bash_profile", Format::Shell),
    ("~/.bash_login", Format::Shell),
    ("~/.bash_logout", Format::Shell),
    ("~/.bash_aliases", Format::Shell),
    ("~/.bash_completion", Format::Shell),
    ("~/.zshenv", Format::Shell),
    ("~/.zprofile", Format::Shell),
    ("~/.zshrc", Format::Shell),
    ("~/.zlogin", Format::Shell),
    ("~/.zlogout", Format::Shell),
    ("~/.inputrc", Format::Hash),
    ("~/.tmux.conf", Format::Hash),
    ("${XDG_CONFIG_HOME}/starship.toml", Format::Ini),
    ("~/.nanorc", Format::Hash),
    ("${XDG_CONFIG_HOME}/nano/nanorc", Format::Hash),
    ("~/.vimrc", Format::Vim),
    ("~/.gitconfig", Format::Ini),
    ("${XDG_CONFIG_HOME}/git/config", Format::Ini),
    ("~/.npmrc", Format::Ini),
    ("~/.pypirc", Format::Ini),
    ("${XDG_CONFIG_HOME}/pip/pip.conf", Format::Ini),
    ("~/.pip/pip.conf", Format::Ini),
];

/// Directories private to the run, writable, empty at start: a tool's state that it complains
/// about when it cannot write it (nano's search history and cursor positions, with Debian's
/// default `set historylog`).
pub const PRIVATE_DIRS: &[&str] = &["${XDG_DATA_HOME}/nano"];

/// Largest file that gets a view (a start-up file is a few KiB).
pub const MAX_BYTES: u64 = 1 << 20;

/// Why a line was removed (names and rule ids only, never a value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Why {
    /// The detector engine found a secret there.
    Finding {
        /// The rule's id.
        rule: String,
    },
    /// A value agentbox removes from the box's environment.
    EnvironmentValue,
    /// An assignment to a variable, or a key, with a secret's name.
    SecretName {
        /// The name.
        name: String,
    },
    /// In a section whose header held a secret.
    Section,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Finding { rule } => write!(f, "{rule}"),
            Why::EnvironmentValue => f.write_str("a value removed from the environment"),
            Why::SecretName { name } => write!(f, "sets {name}"),
            Why::Section => f.write_str("in a section whose header held a secret"),
        }
    }
}

/// One removed line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// Its number (from 1).
    pub line: usize,
    /// Why.
    pub why: Why,
}

/// One file the box sees as a redacted, read-only copy.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigView {
    /// Where the box sees it (the person's path).
    pub path: PathBuf,
    /// How it was read.
    pub format: Format,
    /// Size of the copy.
    pub bytes: usize,
    /// What was taken out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removal>,
    /// The copy.
    #[serde(skip)]
    pub content: Arc<[u8]>,
}

/// Why a listed file that exists gets no view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Skip {
    /// No namespace layer: nothing can be bound over it; it stays hidden.
    NoNamespaces,
    /// No namespace layer, and a profile grants it, but it holds what a view would remove:
    /// hidden (its rule dropped).
    HiddenHoldsSecrets,
    /// No namespace layer: granted by a profile and holding nothing to remove, readable as is.
    ReadableAsIs,
    /// No namespace layer, and a granted directory reaches it, but it holds what a view
    /// would remove: hidden, split out of that grant (as a `deny` would be).
    SplitOut {
        /// The granted directory.
        by: PathBuf,
    },
    /// In the workspace, which the box reads and writes as it is.
    InWorkspace,
    /// Larger than [`MAX_BYTES`], or not a regular file, or unreadable: hidden.
    NotCopied {
        /// What was wrong.
        why: String,
    },
}

/// A listed file without a view, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub why: Skip,
}

/// The views part of the plan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ViewsPlan {
    /// Redacted copies the box sees (namespace layer).
    pub files: Vec<ConfigView>,
    /// Listed files that exist and get no view.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// Writable directories private to the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub private_dirs: Vec<PathBuf>,
}

/// Where line `i` (from 0) of `text` starts, for every line, and the end.
fn line_starts(text: &[u8]) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(
        text.iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .map(|(i, _)| i + 1)
            .filter(|&i| i < text.len()),
    );
    v
}

/// The line (from 0) holding byte `pos`.
fn line_of(starts: &[usize], pos: usize) -> usize {
    starts.partition_point(|&s| s <= pos).saturating_sub(1)
}

/// The names a shell line assigns (`NAME=`, `export NAME=`, `local NAME=`...).
fn shell_assignments(line: &[u8]) -> Vec<&str> {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    for (eq, _) in line.iter().enumerate().filter(|(_, &b)| b == b'=') {
        let start = line[..eq]
            .iter()
            .rposition(|&b| !ident(b))
            .map_or(0, |p| p + 1);
        let name = &line[start..eq];
        let before_ok = start == 0
            || matches!(
                line[start - 1],
                b' ' | b'\t' | b';' | b'&' | b'|' | b'(' | b'`' | b'\'' | b'"'
            );
        if !name.is_empty() && !name[0].is_ascii_digit() && before_ok {
            if let Ok(n) = std::str::from_utf8(name) {
                out.push(n);
            }
        }
    }
    out
}

/// An INI line's key (the part of `key = value` naming the setting; npm's
/// `//host/:_authToken` gives `_authToken`), when the line is a setting.
fn ini_key(line: &[u8]) -> Option<String> {
    let t = std::str::from_utf8(line).ok()?.trim_start();
    if t.is_empty() || t.starts_with(['#', ';', '[']) {
        return None;
    }
    let k = match t.find('=') {
        Some(i) => &t[..i],
        None => &t[..t.find(':')?],
    };
    let k = k.trim().rsplit([':', '/']).next()?.trim();
    (!k.is_empty()).then(|| k.replace(['-', '.'], "_"))
}

/// The secret-like name a line assigns, by the environment scrubber's name rules.
fn secret_name(format: Format, line: &[u8]) -> Option<String> {
    let secret = |n: &str| {
        matches!(
            classify_name(n),
            NameClass::Secret(_) | NameClass::Capability(_)
        )
    };
    match format {
        Format::Shell => shell_assignments(line)
            .into_iter()
            .find(|n| secret(n))
            .map(str::to_string),
        Format::Ini => ini_key(line).filter(|k| secret(k)),
        Format::Hash | Format::Vim => None,
    }
}

/// Mark each line holding a finding or a known value; the first reason wins.
fn mark_values(text: &[u8], starts: &[usize], exact: &[String], why: &mut [Option<Why>]) {
    let mut mark = |s: usize, e: usize, w: Why| {
        for slot in &mut why[line_of(starts, s)..=line_of(starts, e.saturating_sub(1).max(s))] {
            slot.get_or_insert_with(|| w.clone());
        }
    };
    // A value found once is removed wherever it recurs, also where no rule's context (a
    // keyword before it) would find it again: `password=V` then `echo V`.
    let mut found: Vec<(Vec<u8>, Why)> = Vec::new();
    for f in Engine::builtin().find(text) {
        let why = Why::Finding { rule: f.rule_id };
        if f.end - f.start >= 8 {
            found.push((text[f.start..f.end].to_vec(), why.clone()));
        }
        mark(f.start, f.end, why);
    }
    found.extend(
        exact
            .iter()
            .filter(|v| v.len() >= 8)
            .map(|v| (v.as_bytes().to_vec(), Why::EnvironmentValue)),
    );
    // Once per value: a file repeating one token thousands of times stays one pass.
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.dedup_by(|a, b| a.0 == b.0);
    if found.is_empty() {
        return;
    }
    if let Ok(ac) = aho_corasick::AhoCorasick::new(found.iter().map(|(v, _)| v)) {
        for m in ac.find_overlapping_iter(text) {
            mark(m.start(), m.end(), found[m.pattern().as_usize()].1.clone());
        }
    }
}

/// The copy of `text` with every line holding a secret replaced (see [`Format`]), and what
/// was removed. `exact`: values removed from the box's environment.
pub fn redact(format: Format, text: &[u8], exact: &[String]) -> (Vec<u8>, Vec<Removal>) {
    let starts = line_starts(text);
    let line = |i: usize| {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        &text[starts[i]..end]
    };
    let mut why: Vec<Option<Why>> = vec![None; starts.len()];
    mark_values(text, &starts, exact, &mut why);
    let mut in_dropped_section = false;
    for (i, w) in why.iter_mut().enumerate() {
        let l = line(i);
        if format == Format::Ini && l.trim_ascii_start().starts_with(b"[") {
            in_dropped_section = w.is_some();
        } else if in_dropped_section {
            w.get_or_insert(Why::Section);
        }
        if w.is_none() {
            *w = secret_name(format, l).map(|name| Why::SecretName { name });
        }
    }
    let marker: &[u8] = match format {
        Format::Shell => b": # agentbox: line removed (it held a secret)",
        Format::Ini | Format::Hash => b"# agentbox: line removed (it held a secret)",
        Format::Vim => b"\" agentbox: line removed (it held a secret)",
    };
    let mut out = Vec::with_capacity(text.len());
    let mut removed = Vec::new();
    for (i, w) in why.into_iter().enumerate() {
        let l = line(i);
        // The indent and the line ending stay (none on an unterminated last line); a blank
        // line holds nothing to remove (found by fuzzing: its newline was counted as both).
        let start = l
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t'))
            .unwrap_or(l.len());
        let end = l
            .iter()
            .rposition(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(0, |p| p + 1)
            .max(start);
        let Some(w) = w.filter(|_| !l[start..end].trim_ascii().is_empty()) else {
            out.extend_from_slice(l);
            continue;
        };
        out.extend_from_slice(&l[..start]);
        out.extend_from_slice(marker);
        out.extend_from_slice(&l[end..]);
        removed.push(Removal {
            line: i + 1,
            why: w,
        });
    }
    (out, removed)
}

/// Read a listed file for its copy: a regular file (through symlinks: dotfiles repositories)
/// of at most [`MAX_BYTES`].
fn read_source(p: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = std::fs::metadata(p).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_BYTES {
        return Err(format!("larger than {MAX_BYTES} bytes"));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(p)
        .map_err(|e| e.to_string())?;
    // What was opened, not what the path named a moment before (swapped for a FIFO or a
    // device in between: the non-blocking open returned at once, nothing is read from it).
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err("not a regular file".into());
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    f.take(MAX_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    if buf.len() as u64 > MAX_BYTES {
        return Err(format!("larger than {MAX_BYTES} bytes"));
    }
    Ok(buf)
}

use std::os::unix::fs::OpenOptionsExt;

/// `p` with the person's home as the mask has it (canonical): the copy goes where the box
/// finds it, whatever spelling of the home `$HOME` uses.
fn at_home(p: PathBuf, home: &Path, canonical: &Path) -> PathBuf {
    match p.strip_prefix(home) {
        Ok(rel) => canonical.join(rel),
        Err(_) => p,
    }
}

/// The listed files that exist here, expanded, with their formats.
fn listed(cx: &Context) -> Vec<(PathBuf, Format)> {
    let canonical = std::fs::canonicalize(cx.home).unwrap_or_else(|_| cx.home.to_path_buf());
    let mut out: Vec<(PathBuf, Format)> = Vec::new();
    for (raw, format) in LIST {
        if let Ok(Some(p)) = cx.vars.expand(raw) {
            let p = at_home(p, cx.home, &canonical);
            if std::fs::symlink_metadata(&p).is_ok() && !out.iter().any(|(q, _)| *q == p) {
                out.push((p, *format));
            }
        }
    }
    out
}

/// What the views plan needs from the rest of the plan.
pub struct Context<'a> {
    /// Path variables (`~`, `${XDG_CONFIG_HOME}`...).
    pub vars: &'a Vars,
    /// The person's home (`$HOME`).
    pub home: &'a Path,
    /// The workspace.
    pub workspace: &'a Path,
    /// The namespace layer applies.
    pub namespaces: bool,
    /// Values removed from the box's environment.
    pub removed_values: &'a [String],
}

/// Decide the views: a redacted copy of each listed file that exists (namespace layer), or
/// why not; the filesystem plan gets their rules (a read rule on each copy; without
/// namespaces, a profile's rule on a file holding secrets is dropped).
pub fn plan(cx: &Context, fs: &mut super::fs::FsPlan) -> ViewsPlan {
    let mut v = ViewsPlan::default();
    for (path, format) in listed(cx) {
        if path.starts_with(cx.workspace) {
            v.skipped.push(Skipped {
                path,
                why: Skip::InWorkspace,
            });
            continue;
        }
        let text = match read_source(&path) {
            Ok(t) => t,
            Err(why) => {
                v.skipped.push(Skipped {
                    path,
                    why: Skip::NotCopied { why },
                });
                continue;
            }
        };
        let (content, removed) = redact(format, &text, cx.removed_values);
        if !cx.namespaces {
            let why = without_namespaces(&path, !removed.is_empty(), fs);
            v.skipped.push(Skipped { path, why });
            continue;
        }
        add_rule(fs, &path, super::fs::Grant::Read);
        fs.hidden.retain(|h| *h != path);
        v.files.push(ConfigView {
            path,
            format,
            bytes: content.len(),
            removed,
            content: content.into(),
        });
    }
    v
}

/// Without namespaces: a file holding nothing to remove stays as the profile has it; one
/// holding a secret loses a rule of its own and is split out of a granted directory that
/// reaches it, so Landlock hides it.
fn without_namespaces(path: &Path, dirty: bool, fs: &mut super::fs::FsPlan) -> Skip {
    let own = fs.rules.iter().position(|r| r.path == path);
    let through = fs
        .rules
        .iter()
        .any(|r| path.starts_with(&r.path) && r.path != path && r.access > super::fs::Grant::List);
    match (own, through, dirty) {
        (None, false, _) => Skip::NoNamespaces,
        (_, _, false) => Skip::ReadableAsIs,
        (own, _, true) => {
            if let Some(i) = own {
                fs.rules.remove(i);
            }
            match super::fs::split_out(fs, path).into_iter().next() {
                Some(by) => Skip::SplitOut { by },
                None => Skip::HiddenHoldsSecrets,
            }
        }
    }
}

/// A Landlock rule for a path the box must reach, unless one already covers it.
fn add_rule(fs: &mut super::fs::FsPlan, path: &Path, access: super::fs::Grant) {
    let covered = fs
        .rules
        .iter()
        .any(|r| path.starts_with(&r.path) && r.access >= access);
    if !covered {
        fs.rules.push(super::fs::Rule {
            path: path.to_path_buf(),
            access,
            origin: super::fs::Origin::View,
        });
    }
}

/// The private directories, with the namespace layer and a masked home only (nothing is ever
/// made on the host), where no rule reaches them already.
pub fn private_dirs(cx: &Context, masked: &[PathBuf], fs: &mut super::fs::FsPlan) -> Vec<PathBuf> {
    let Ok(home) = std::fs::canonicalize(cx.home) else {
        return Vec::new();
    };
    if !cx.namespaces || !masked.contains(&home) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for raw in PRIVATE_DIRS {
        let Ok(Some(p)) = cx.vars.expand(raw) else {
            continue;
        };
        let p = at_home(p, cx.home, &home);
        let reached = fs
            .rules
            .iter()
            .any(|r| p.starts_with(&r.path) || r.path.starts_with(&p));
        if p.starts_with(&home) && p != home && !reached {
            fs.rules.push(super::fs::Rule {
                path: p.clone(),
                access: super::fs::Grant::Write,
                origin: super::fs::Origin::PrivateDir,
            });
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token-shaped value assembled at run time (the repository holds none).
    fn token() -> String {
        format!("gh{}_{}", "p", "Q7xK9mP2vR4tW8zL3nB6cF1hJ5dG0sYQ7xK9")
    }

    fn text(out: &[u8]) -> String {
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn shell_lines_with_secrets_become_no_ops() {
        let tok = token();
        let src = format!(
            "alias ll='ls -l'\nexport GITHUB_TOKEN={tok}\nif true; then\n  export DEPLOY_PASSWORD=$(pass show x)\nfi\nexport PATH=$HOME/bin:$PATH\n[ \"$A\" = b ] && echo\nSSH_AUTH_SOCK=/run/x; export SSH_AUTH_SOCK\nnote={tok}"
        );
        let (out, removed) = redact(Format::Shell, src.as_bytes(), &[]);
        let out = text(&out);
        assert!(!out.contains(&tok), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "alias ll='ls -l'");
        assert!(lines[1].starts_with(": #"));
        assert!(lines[3].starts_with("  : #"), "indent kept: {out}");
        assert_eq!(lines[5], "export PATH=$HOME/bin:$PATH");
        assert_eq!(lines[6], "[ \"$A\" = b ] && echo");
        assert!(
            lines[7].starts_with(": #"),
            "a capability's variable: {out}"
        );
        assert!(!out.ends_with('\n'), "no line end added to the last line");
        let lines: Vec<usize> = removed.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 8, 9]);
        assert_eq!(
            removed[1].why,
            Why::SecretName {
                name: "DEPLOY_PASSWORD".into()
            }
        );
        // Nothing in a reason is a value.
        assert!(!format!("{removed:?}").contains(&tok));
    }

    #[test]
    fn ini_keys_and_sections_holding_secrets_go_whole() {
        let tok = token();
        let src = format!(
            "[user]\n\tname = T\n[url \"https://x:{tok}@github.com/\"]\n\tinsteadOf = https://github.com/\n[alias]\n\tst = status\n[github]\n\ttoken = abc\n"
        );
        let (out, removed) = redact(Format::Ini, src.as_bytes(), &[]);
        let out = text(&out);
        assert!(!out.contains(&tok) && !out.contains("insteadOf"), "{out}");
        assert!(out.contains("[alias]\n\tst = status\n"), "{out}");
        assert!(!out.contains("abc"), "{out}");
        assert_eq!(removed[1].why, Why::Section);
        let npm = "registry=https://r.example/\n//r.example/:_authToken=${NPM_TOKEN}\n//r.example/:username=me\nalways-auth=false\n";
        let (out, removed) = redact(Format::Ini, npm.as_bytes(), &[]);
        let out = text(&out);
        assert!(
            out.starts_with("registry=https://r.example/\n# agentbox"),
            "{out}"
        );
        assert!(out.contains("username=me"), "{out}");
        assert_eq!(removed.len(), 2, "{removed:?}");
        let pypi = "[pypi]\nusername = __token__\npassword: pypi-x\n";
        let (out, _) = redact(Format::Ini, pypi.as_bytes(), &[]);
        assert!(!text(&out).contains("pypi-x"));
    }

    #[test]
    fn known_environment_values_and_multi_line_secrets_are_removed() {
        let secret = "an-opaque-deploy-credential-9f8e7d";
        let src = format!("set bell-style none\n# {secret}\r\n$include /etc/inputrc\n");
        let (out, removed) = redact(Format::Hash, src.as_bytes(), &[secret.to_string()]);
        let out = text(&out);
        assert!(!out.contains(secret));
        assert!(out.contains("# agentbox: line removed (it held a secret)\r\n"));
        assert_eq!(removed[0].why, Why::EnvironmentValue);
        let key = format!(
            "let x = 1\nlet k = \"-----BEGIN {} KEY-----\n{}\n-----END {} KEY-----\"\nlet y = 2\n",
            "OPENSSH PRIVATE",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
            "OPENSSH PRIVATE"
        );
        let (out, removed) = redact(Format::Vim, key.as_bytes(), &[]);
        let out = text(&out);
        assert!(out.starts_with("let x = 1\n\" agentbox"), "{out}");
        assert!(out.ends_with("let y = 2\n"), "{out}");
        assert_eq!(removed.len(), 3, "{out}");
    }

    #[test]
    fn secrets_in_unusual_shell_syntax_are_removed() {
        let tok = token();
        // A value the detector does not know, removed from the environment by its name.
        let opaque = "opaque-9f8e7d6c5b4a";
        let src = format!(
            "export X=\"{tok}\"\nY={tok}; export Y\nZ='{tok}'\nexport Z\n\
             cat > /dev/null <<EOF\n{tok}\nEOF\n\
             declare -x DEPLOY_TOKEN={opaque}\ntypeset -x API_KEY={opaque}\n\
             export A=1 GITHUB_TOKEN={opaque} B=2\nalias ok='echo ok'\n"
        );
        let (out, removed) = redact(Format::Shell, src.as_bytes(), &[]);
        let out = text(&out);
        assert!(!out.contains(&tok) && !out.contains(opaque), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        // The heredoc keeps its shape (a removed line inside it is text), the rest runs.
        assert_eq!(lines[4], "cat > /dev/null <<EOF");
        assert_eq!(lines[6], "EOF");
        assert_eq!(lines[10], "alias ok='echo ok'");
        let gone: Vec<usize> = removed.iter().map(|r| r.line).collect();
        assert_eq!(gone, [1, 2, 3, 6, 8, 9, 10], "{out}");
        // CRLF, no final newline, a NUL byte, invalid UTF-8: no panic, the token still goes.
        let mut odd = format!("a=1\r\nexport T={tok}\r\n\0").into_bytes();
        odd.push(0xff);
        odd.extend_from_slice(tok.as_bytes());
        let (out, _) = redact(Format::Shell, &odd, &[]);
        assert!(!out.windows(tok.len()).any(|w| w == tok.as_bytes()));
    }

    #[test]
    fn a_found_value_goes_wherever_it_recurs() {
        let tok = token();
        // The value after `password=` is found by its keyword; alone on a later line it is not.
        let v = "Xq7Lw2Rt9Zk4Vb8N";
        let src = format!(
            "password={v}\nalias a='echo {v}'\nok=1\nexport GITHUB_TOKEN={tok}\necho '{tok}'\n"
        );
        let (out, removed) = redact(Format::Shell, src.as_bytes(), &[]);
        let out = text(&out);
        assert!(!out.contains(v) && !out.contains(&tok), "{out}");
        assert_eq!(out.lines().nth(2), Some("ok=1"));
        assert_eq!(removed.len(), 4, "{removed:?}");
    }

    #[test]
    fn blank_lines_in_a_dropped_section_keep_the_line_count() {
        // Found by fuzzing (fuzz/ views): a blank line in a section whose header held a
        // secret came out as two lines.
        let tok = token();
        let src =
            format!("[user]\n\tname = T\n[url \"https://x:{tok}@h/\"]\n\n  \r\n\tname = T\n\n");
        let (out, removed) = redact(Format::Ini, src.as_bytes(), &[]);
        let out = text(&out);
        assert_eq!(out.split('\n').count(), src.split('\n').count(), "{out}");
        assert!(out.contains("\n\n  \r\n"), "{out}");
        assert_eq!(removed.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 6]);
        let crash = b"[user]\n\tn\xee\xee\xeeame = T\n[usYQ7xK9\xc0github://x:ghp_Q7xK9@g2vR4P2vtd\xee\xeeame = T\n\n";
        let (out, _) = redact(Format::Ini, crash, &[]);
        assert_eq!(out.split(|&b| b == b'\n').count(), 5);
    }

    #[test]
    fn without_namespaces_a_granted_file_holding_secrets_is_hidden() {
        let mut fs = super::super::fs::FsPlan::default();
        let p = PathBuf::from("/h/.gitconfig");
        fs.rules.push(super::super::fs::Rule {
            path: p.clone(),
            access: super::super::fs::Grant::Read,
            origin: super::super::fs::Origin::Profile,
        });
        assert_eq!(without_namespaces(&p, false, &mut fs), Skip::ReadableAsIs);
        assert_eq!(
            without_namespaces(&p, true, &mut fs),
            Skip::HiddenHoldsSecrets
        );
        assert!(fs.rules.is_empty() && fs.deny == [p.clone()]);
        assert_eq!(without_namespaces(&p, true, &mut fs), Skip::NoNamespaces);

        // Reached through a granted directory: split out of it, its siblings keep the grant.
        let d = tempfile::tempdir().unwrap();
        let cfg = d.path().join(".config");
        std::fs::create_dir_all(cfg.join("git")).unwrap();
        std::fs::write(cfg.join("git/config"), "x").unwrap();
        std::fs::write(cfg.join("git/ignore"), "x").unwrap();
        std::fs::create_dir_all(cfg.join("tool")).unwrap();
        let mut fs = super::super::fs::FsPlan::default();
        fs.rules.push(super::super::fs::Rule {
            path: cfg.clone(),
            access: super::super::fs::Grant::Read,
            origin: super::super::fs::Origin::Profile,
        });
        let p = cfg.join("git/config");
        assert_eq!(
            without_namespaces(&p, true, &mut fs),
            Skip::SplitOut { by: cfg.clone() }
        );
        let reads = |q: &Path| {
            fs.rules
                .iter()
                .any(|r| q.starts_with(&r.path) && r.access > super::super::fs::Grant::List)
        };
        assert!(!reads(&p) && reads(&cfg.join("git/ignore")) && reads(&cfg.join("tool")));
        assert_eq!(fs.deny, [p]);
    }
}
