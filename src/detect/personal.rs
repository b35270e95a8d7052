//! A person's own allow-list of detector false positives: `$XDG_CONFIG_HOME/agentbox/allow.yaml`
//! (default `~/.config/agentbox/allow.yaml`), never a file in the workspace (a repository
//! cannot loosen its own cage). Its values and patterns may themselves be secrets: nothing here
//! shows them, errors name a line and an item number only.
//!
//! ```yaml
//! values:   [...]   # exact values never flagged (nor any finding inside one)
//! patterns: [...]   # ASCII regexes; a finding one of them matches whole is not flagged
//! names:    [...]   # environment variables kept even when flagged
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::allow::UserAllow;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowFile {
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    names: Vec<String>,
}

/// Where the person's allow-list is, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Neither `XDG_CONFIG_HOME` nor `HOME` is set.
    Nowhere,
    /// The file to read (it may not exist).
    At(PathBuf),
    /// The file lies inside the workspace: never read.
    InWorkspace(PathBuf),
}

/// Where the allow-list is for this environment (`xdg`: `XDG_CONFIG_HOME`, `home`: `HOME`),
/// given the directories the box may write to (the workspace, `--allow-write` ones): a file
/// under one of them is never read, the box could have written it.
pub fn locate(xdg: Option<&str>, home: Option<&str>, writable: &[&Path]) -> Location {
    let base = match (
        xdg.filter(|x| !x.is_empty()),
        home.filter(|h| !h.is_empty()),
    ) {
        (Some(x), _) => PathBuf::from(x),
        (None, Some(h)) => Path::new(h).join(".config"),
        (None, None) => return Location::Nowhere,
    };
    let path = base.join("agentbox/allow.yaml");
    // Compared lexically and, where they exist, resolved: a symlink must not hide the workspace.
    let inside = |ws: &Path| {
        let real = |p: &Path| std::fs::canonicalize(p).ok();
        path.starts_with(ws)
            || match (real(&base), real(ws)) {
                (Some(b), Some(w)) => b.starts_with(w),
                _ => false,
            }
    };
    if writable.iter().any(|w| inside(w)) {
        Location::InWorkspace(path)
    } else {
        Location::At(path)
    }
}

/// The allow-list file as the command layer found it, for the planner (which reads nothing).
#[derive(Debug, Clone, Default)]
pub enum Source {
    /// Neither `XDG_CONFIG_HOME` nor `HOME` is set.
    #[default]
    Nowhere,
    /// There is no file there.
    Missing(PathBuf),
    /// The file would lie inside the workspace: not read.
    InWorkspace(PathBuf),
    /// It could not be read (the reason, from the system).
    Unreadable(PathBuf, String),
    /// Its text.
    Text(PathBuf, String),
}

impl Source {
    /// Reads the file at `location` (a file in the workspace is never opened).
    pub fn read(location: Location) -> Source {
        match location {
            Location::Nowhere => Source::Nowhere,
            Location::InWorkspace(p) => Source::InWorkspace(p),
            Location::At(p) => match std::fs::read_to_string(&p) {
                Ok(text) => Source::Text(p, text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Source::Missing(p),
                Err(e) => {
                    let why = e.to_string();
                    Source::Unreadable(p, why)
                }
            },
        }
    }

    /// The allow-list it holds (`None` when there is none to apply); a broken or unreadable
    /// file is an error naming the file (and the line), never its content.
    pub fn load(&self) -> Result<Option<PersonalAllow>, String> {
        match self {
            Source::Nowhere | Source::Missing(_) | Source::InWorkspace(_) => Ok(None),
            Source::Unreadable(p, why) => Err(format!("{}: cannot read: {why}", p.display())),
            Source::Text(p, text) => PersonalAllow::parse(text, p).map(Some),
        }
    }
}

/// A loaded allow-list.
#[derive(Default)]
pub struct PersonalAllow {
    /// The file it came from.
    pub source: Option<PathBuf>,
    values: Vec<String>,
    patterns: Vec<String>,
    names: Vec<String>,
    compiled: UserAllow,
}

impl std::fmt::Debug for PersonalAllow {
    // Counts only: the values and patterns may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonalAllow")
            .field("source", &self.source)
            .field("values", &self.values.len())
            .field("patterns", &self.patterns.len())
            .field("names", &self.names.len())
            .finish()
    }
}

impl PersonalAllow {
    /// Parses the file's text; an error names `source`, the line and what is wrong (never a
    /// value or a pattern).
    pub fn parse(text: &str, source: &Path) -> Result<PersonalAllow, String> {
        let shown = source.display();
        let file: AllowFile = if text.trim().is_empty() {
            AllowFile::default()
        } else {
            crate::yaml::from_str(text).map_err(|e| match (e.line, e.column) {
                (Some(l), Some(c)) => format!("{shown}:{l}:{c}: {e}"),
                _ => format!("{shown}: {e}"),
            })?
        };
        for (i, n) in file.names.iter().enumerate() {
            let ok = n.bytes().next().is_some_and(|b| !b.is_ascii_digit())
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                let line = item_line(text, "names", i).map_or(String::new(), |l| format!("{l}:"));
                return Err(format!(
                    "{shown}:{line} names item #{} is not an environment variable name",
                    i + 1
                ));
            }
        }
        if let Some(i) = file.values.iter().position(|v| v.is_empty()) {
            let line = item_line(text, "values", i).map_or(String::new(), |l| format!("{l}:"));
            return Err(format!("{shown}:{line} values item #{} is empty", i + 1));
        }
        let mut compiled = UserAllow::default();
        compiled.add_values(&file.values);
        for (i, p) in file.patterns.iter().enumerate() {
            if compiled.add_patterns(std::slice::from_ref(p)).is_err() {
                let line =
                    item_line(text, "patterns", i).map_or(String::new(), |l| format!("{l}:"));
                return Err(format!(
                    "{shown}:{line} patterns item #{} is not a valid regex",
                    i + 1
                ));
            }
        }
        Ok(PersonalAllow {
            source: Some(source.to_path_buf()),
            values: file.values,
            patterns: file.patterns,
            names: file.names,
            compiled,
        })
    }

    /// Number of exact values.
    pub fn value_count(&self) -> usize {
        self.values.len()
    }

    /// Number of patterns.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Number of variable names.
    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// Whether the variable `name` is kept even when flagged.
    pub fn keeps_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The exact values, for an engine's allow list.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The patterns, for an engine's allow list.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub(crate) fn compiled(&self) -> &UserAllow {
        &self.compiled
    }
}

/// The 1-based line of item `index` of the top-level list `key` (block or flow style), found
/// in the text: the parsed file keeps no positions.
fn item_line(text: &str, key: &str, index: usize) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| {
        l.strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with(':'))
    })?;
    let rest = lines[at].split_once(':').map_or("", |(_, r)| r).trim();
    if rest.starts_with('[') {
        return Some(at + 1);
    }
    lines[at + 1..]
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with('-'))
        .nth(index)
        .map(|(i, _)| at + 2 + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_follows_xdg_then_home_and_refuses_the_workspace() {
        let ws = Path::new("/work/repo");
        assert_eq!(
            locate(Some("/h/cfg"), Some("/h"), &[ws]),
            Location::At(PathBuf::from("/h/cfg/agentbox/allow.yaml"))
        );
        assert_eq!(
            locate(None, Some("/h"), &[ws]),
            Location::At(PathBuf::from("/h/.config/agentbox/allow.yaml"))
        );
        assert_eq!(
            locate(
                Some("/work/repo/.config"),
                Some("/h"),
                &[Path::new("/x"), ws]
            ),
            Location::InWorkspace(PathBuf::from("/work/repo/.config/agentbox/allow.yaml"))
        );
        assert_eq!(
            locate(None, Some("/work"), &[Path::new("/work")]),
            Location::InWorkspace(PathBuf::from("/work/.config/agentbox/allow.yaml"))
        );
        assert_eq!(locate(Some(""), None, &[]), Location::Nowhere);
    }

    #[test]
    fn parse_counts_and_errors_without_content() {
        let p = Path::new("/h/allow.yaml");
        let a = PersonalAllow::parse(
            "values:\n  - not-a-secret-1234\npatterns:\n  - 'build-[0-9]+'\n  - 'x{3}'\nnames: [CI_JOB_TOKEN_NAME]\n",
            p,
        )
        .unwrap();
        assert_eq!(
            (a.value_count(), a.pattern_count(), a.name_count()),
            (1, 2, 1)
        );
        assert!(a.keeps_name("CI_JOB_TOKEN_NAME") && !a.keeps_name("OTHER"));
        assert!(format!("{a:?}").contains("values: 1"));
        assert_eq!(PersonalAllow::parse("", p).unwrap().value_count(), 0);

        let e = PersonalAllow::parse("patterns:\n  - 'ok'\n  - 'hunter2(['\n", p).unwrap_err();
        assert_eq!(e, "/h/allow.yaml:3: patterns item #2 is not a valid regex");
        let e = PersonalAllow::parse("values: [a]\nextra: 1\n", p).unwrap_err();
        assert!(e.starts_with("/h/allow.yaml:2:"), "{e}");
        let e = PersonalAllow::parse("values:\n  - ok\n  - ''\n", p).unwrap_err();
        assert_eq!(e, "/h/allow.yaml:3: values item #2 is empty");
        let e = PersonalAllow::parse("names:\n  - 'has space'\n", p).unwrap_err();
        assert!(
            e.contains(":2: names item #1") && !e.contains("has space"),
            "{e}"
        );
        let e = PersonalAllow::parse("values: {a: 1}\n", p).unwrap_err();
        assert!(e.starts_with("/h/allow.yaml:1:"), "{e}");
    }
}
