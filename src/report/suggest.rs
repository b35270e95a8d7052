//! The narrowest setting that would allow a refused path, or why none is suggested. Pure over a
//! [`Context`] (what the plan decided, and a [`Host`] view of the filesystem after the run), so
//! every case is unit-tested with a made-up home. Never suggested: `/`, the home directory or an
//! ancestor of it, an ancestor of the workspace, a per-process `/proc` path, a directory that
//! holds what runs outside the box (`~/.cargo` holds `bin` and `config.toml`: its caches are
//! suggested one by one), and any write to what runs outside (rc files, `~/.local/bin`, git
//! hooks, toolchains, system trees). Temporary file names collapse into a glob of their stable
//! part, and a temporary file next to a protected one is judged as that file.

use super::denials::{never_allowed, GitPart, Kernel, Outside, Remedy};
use super::Access;
use std::path::{Component, Path, PathBuf};

/// The filesystem as a suggestion sees it: the host after the run, or a fake in tests.
pub trait Host {
    /// Does `p` exist (a final symlink is not followed)?
    fn exists(&self, p: &Path) -> bool;
    /// Is `p` a directory (a final symlink is not followed)?
    fn is_dir(&self, p: &Path) -> bool;
    /// The names in directory `dir` (bounded; empty when it cannot be read).
    fn names(&self, dir: &Path) -> Vec<String>;
}

/// The real filesystem.
pub struct RealHost;

/// Most names read from one directory when looking for the file a temporary name belongs to.
const MAX_NAMES: usize = 10_000;

impl Host for RealHost {
    fn exists(&self, p: &Path) -> bool {
        std::fs::symlink_metadata(p).is_ok()
    }
    fn is_dir(&self, p: &Path) -> bool {
        std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
    }
    fn names(&self, dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .take(MAX_NAMES)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What the plan decided that bears on a suggestion.
pub struct Context<'a> {
    /// The person's home directory.
    pub home: &'a Path,
    /// The workspace.
    pub workspace: &'a Path,
    /// `filesystem.deny` entries that exist.
    pub deny: &'a [PathBuf],
    /// Protected paths (existing and missing).
    pub protect: Vec<PathBuf>,
    /// The git directories the git layer knows.
    pub git_dirs: Vec<PathBuf>,
    /// The box can write git metadata (through views or snapshots).
    pub git_writable: bool,
    /// Toolchain trees the box may run (exec rules): never writable.
    pub toolchains: Vec<PathBuf>,
    /// The run's profile extends the `test` tier already (its hint would say nothing new).
    pub in_test_tier: bool,
    /// The filesystem.
    pub host: &'a dyn Host,
}

/// One suggestion: the path as shown and what would allow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The path as the summary shows it: a glob for temporary names (`~/.lesshs*`), `*` for a
    /// process id (`/proc/*/environ`); absolute.
    pub shown: String,
    /// The file a temporary name belongs to, when it exists (`~/.lesshst` for `~/.lesshsQ`).
    pub of: Option<String>,
    /// What would allow it, or why nothing is suggested.
    pub remedy: Remedy,
    /// A built-in profile that allows it already, when one does (`test` for the caches).
    pub tier: Option<String>,
}

/// Paths under the home directory that run outside the box, or configure what does: writes to
/// them (or inside them) are never suggested, and a directory holding one is never suggested
/// whole.
const RUNS_OUTSIDE: &[(&str, Outside)] = &[
    (".bashrc", Outside::ShellStartup),
    (".bash_profile", Outside::ShellStartup),
    (".bash_login", Outside::ShellStartup),
    (".bash_logout", Outside::ShellStartup),
    (".bashrc.d", Outside::ShellStartup),
    (".profile", Outside::ShellStartup),
    (".zshrc", Outside::ShellStartup),
    (".zshenv", Outside::ShellStartup),
    (".zprofile", Outside::ShellStartup),
    (".zlogin", Outside::ShellStartup),
    (".zlogout", Outside::ShellStartup),
    (".oh-my-zsh", Outside::ShellStartup),
    (".cshrc", Outside::ShellStartup),
    (".tcshrc", Outside::ShellStartup),
    (".kshrc", Outside::ShellStartup),
    (".mkshrc", Outside::ShellStartup),
    (".pam_environment", Outside::ShellStartup),
    (".xprofile", Outside::ShellStartup),
    (".xsession", Outside::ShellStartup),
    (".xsessionrc", Outside::ShellStartup),
    (".xinitrc", Outside::ShellStartup),
    (".envrc", Outside::ShellStartup),
    (".direnvrc", Outside::ShellStartup),
    (".config/direnv", Outside::ShellStartup),
    (".config/fish", Outside::ShellStartup),
    (".config/environment.d", Outside::ShellStartup),
    (".tmux.conf", Outside::ShellStartup),
    (".config/tmux", Outside::ShellStartup),
    (".cargo/env", Outside::ShellStartup),
    (".cargo/env.fish", Outside::ShellStartup),
    (".cargo/env.nu", Outside::ShellStartup),
    ("bin", Outside::OnPath),
    (".local/bin", Outside::OnPath),
    (".cargo/bin", Outside::OnPath),
    ("go/bin", Outside::OnPath),
    (".local/lib", Outside::OnPath),
    (".gitconfig", Outside::Config),
    (".config/git", Outside::Config),
    (".cargo/config", Outside::Config),
    (".cargo/config.toml", Outside::Config),
    (".gdbinit", Outside::Config),
    (".config/gdb", Outside::Config),
    (".lldbinit", Outside::Config),
    (".psqlrc", Outside::Config),
    (".sqliterc", Outside::Config),
    (".irbrc", Outside::Config),
    (".pryrc", Outside::Config),
    (".Rprofile", Outside::Config),
    (".ipython", Outside::Config),
    (".jupyter", Outside::Config),
    (".mailcap", Outside::Config),
    (".config/mimeapps.list", Outside::Config),
    (".local/share/applications", Outside::Config),
    (".config/autostart", Outside::Autostart),
    (".config/systemd", Outside::Autostart),
    (".local/share/systemd", Outside::Autostart),
    (".vimrc", Outside::Editor),
    (".vim", Outside::Editor),
    (".config/nvim", Outside::Editor),
    (".local/share/nvim", Outside::Editor),
    (".emacs", Outside::Editor),
    (".emacs.d", Outside::Editor),
    (".config/emacs", Outside::Editor),
    (".config/Code", Outside::Editor),
    (".vscode", Outside::Editor),
    (".vscode-server", Outside::Editor),
    (".config/JetBrains", Outside::Editor),
];

/// System trees: their programs and configuration run outside the box.
const SYSTEM: &[&str] = &[
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/opt",
    "/snap",
    "/nix",
    "/var/lib",
    "/var/spool",
];

/// Home-relative trees the `test` profile makes writable (its caches and cargo's lock files).
const TEST_TIER: &[&str] = &[
    ".cargo/registry",
    ".cargo/git",
    ".cargo/.package-cache",
    ".cargo/.package-cache-mutate",
    ".cargo/.global-cache",
    ".npm",
    ".cache/yarn",
    ".yarn/berry",
    ".cache/node/corepack",
    ".local/share/pnpm/store",
    ".cache/pnpm",
    ".cache/pip",
    ".cache/uv",
    ".cache/pypoetry",
    "go/pkg/mod",
    ".cache/go-build",
];

impl Context<'_> {
    /// The suggestion for one refused access.
    pub fn suggest(&self, access: Access, path: &Path) -> Suggestion {
        let mut s = self.judge(access, path);
        s.tier = self.tier(access, path, &s);
        s
    }

    /// Everything but the tier hint.
    fn judge(&self, access: Access, p: &Path) -> Suggestion {
        if let Some(r) = self.fixed(p) {
            return self.plain_suggestion(p, r);
        }
        if let Some(s) = self.kernel(p) {
            return s;
        }
        if let Some(s) = self.temporary(access, p) {
            return s;
        }
        self.plain_suggestion(p, self.grant(access, p))
    }

    fn plain_suggestion(&self, p: &Path, remedy: Remedy) -> Suggestion {
        Suggestion {
            shown: p.display().to_string(),
            of: None,
            remedy,
            tier: None,
        }
    }

    /// What the profile or agentbox decided about this path, whatever the access.
    fn fixed(&self, p: &Path) -> Option<Remedy> {
        if let Some(why) = never_allowed(p, self.home) {
            return Some(Remedy::Never { why: why.into() });
        }
        if let Some(d) = self.deny.iter().find(|d| p.starts_with(d)) {
            return Some(Remedy::Hidden { by: d.clone() });
        }
        if let Some(d) = self.protect.iter().find(|d| p.starts_with(d)) {
            return Some(Remedy::Protected { by: d.clone() });
        }
        self.git(p).map(|part| Remedy::Git { part })
    }

    /// Git metadata: the part of a git directory the path is in, or the repository around the
    /// workspace when the path is in a `.git` the plan does not know.
    fn git(&self, p: &Path) -> Option<GitPart> {
        let mut dirs: Vec<&PathBuf> = self.git_dirs.iter().filter(|g| p.starts_with(g)).collect();
        // The innermost (a submodule's git directory lies inside its superproject's).
        dirs.sort_by_key(|g| std::cmp::Reverse(g.components().count()));
        if let Some(g) = dirs.first() {
            let rel = p.strip_prefix(g).unwrap_or(p);
            return Some(git_part(rel, self.git_writable));
        }
        let comps: Vec<Component> = p.components().collect();
        let i = comps.iter().position(|c| c.as_os_str() == ".git")?;
        let top: PathBuf = comps[..i].iter().collect();
        if i + 1 == comps.len() && p.starts_with(self.workspace) && !self.host.is_dir(p) {
            return Some(GitPart::Link);
        }
        if self.workspace.starts_with(&top) && top != self.workspace {
            return Some(GitPart::OutsideWorkspace { top });
        }
        Some(GitPart::Metadata)
    }

    /// Kernel interfaces and device nodes, which no directory grant changes.
    fn kernel(&self, p: &Path) -> Option<Suggestion> {
        let s = |shown: String, remedy: Remedy| Suggestion {
            shown,
            of: None,
            remedy,
            tier: None,
        };
        if let Ok(rel) = p.strip_prefix("/proc") {
            let mut comps = rel.components();
            let first = comps
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            let per_process = first.as_deref().is_some_and(|f| {
                f == "self"
                    || f == "thread-self"
                    || (!f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
            });
            if per_process {
                let rest: PathBuf = comps.collect();
                let shown = Path::new("/proc/*").join(rest).display().to_string();
                let shown = shown.trim_end_matches('/').to_string();
                return Some(s(
                    shown,
                    Remedy::Kernel {
                        what: Kernel::ProcessFiles,
                    },
                ));
            }
            return Some(s(
                p.display().to_string(),
                Remedy::Kernel {
                    what: Kernel::Interface,
                },
            ));
        }
        if p.starts_with("/sys") {
            return Some(s(
                p.display().to_string(),
                Remedy::Kernel {
                    what: Kernel::Interface,
                },
            ));
        }
        if p == Path::new("/dev") {
            return Some(s(
                "/dev".into(),
                Remedy::Kernel {
                    what: Kernel::DeviceList,
                },
            ));
        }
        if p.starts_with("/dev/pts") && p != Path::new("/dev/pts") {
            return Some(s(
                "/dev/pts/*".into(),
                Remedy::Kernel {
                    what: Kernel::Terminal,
                },
            ));
        }
        if p.starts_with("/dev") && !p.starts_with("/dev/shm") {
            if !self.host.exists(p) {
                return Some(s(
                    p.display().to_string(),
                    Remedy::Kernel {
                        what: Kernel::DeviceList,
                    },
                ));
            }
            let path = p.display().to_string();
            return Some(s(path.clone(), Remedy::Device { path }));
        }
        None
    }

    /// A temporary or companion file (`X.lock`, `X.tmp.123`, `.lesshsQ`): judged as the file it
    /// belongs to when that one is protected, hidden or runs outside; else the directory it is
    /// created in must be writable, which is suggested only when that directory may be granted.
    fn temporary(&self, access: Access, p: &Path) -> Option<Suggestion> {
        let name = p.file_name()?.to_string_lossy().into_owned();
        let dir = p.parent()?;
        let siblings = self.host.names(dir);
        let shape = shape(&name, &siblings, self.host.exists(p))?;
        let shown = dir.join(&shape.pattern).display().to_string();
        let of = shape.base.as_ref().map(|b| dir.join(b));
        if let Some(of) = &of {
            let r = self.fixed(of).or_else(|| {
                (access == Access::Write)
                    .then(|| self.runs_outside(of))
                    .flatten()
            });
            if let Some(remedy) = r {
                return Some(Suggestion {
                    shown,
                    of: Some(of.display().to_string()),
                    remedy,
                    tier: None,
                });
            }
        }
        let remedy = if self.too_broad(dir) || self.runs_outside(dir).is_some() {
            Remedy::TempFiles {
                dir: self.tilde(dir),
            }
        } else {
            Remedy::Grant {
                access: Access::Write,
                dir: self.tilde(dir),
            }
        };
        Some(Suggestion {
            shown,
            of: of
                .filter(|o| self.host.exists(o))
                .map(|o| o.display().to_string()),
            remedy,
            tier: None,
        })
    }

    /// A plain path: the narrowest directory to grant, or why none is suggested.
    fn grant(&self, access: Access, p: &Path) -> Remedy {
        if access == Access::Write {
            if let Some(r) = self.runs_outside(p) {
                return r;
            }
        }
        if self.home.starts_with(p) || (self.workspace.starts_with(p) && p != self.workspace) {
            return Remedy::Whole { dir: self.tilde(p) };
        }
        let mut cand = self.collapse(p);
        // Narrow along the path while the candidate would grant too much.
        while cand != p && self.too_broad(&cand) {
            let Ok(rest) = p.strip_prefix(&cand) else {
                break;
            };
            match rest.components().next() {
                Some(c) => cand.push(c),
                None => break,
            }
        }
        if cand == p && access == Access::Write {
            if let Some(inside) = self.holds(p) {
                return Remedy::RunsOutside {
                    path: self.tilde(p),
                    what: Outside::Holds { inside },
                };
            }
        }
        if cand == p && !self.host.exists(p) {
            // A missing leaf directly in a directory never granted whole: a file or a
            // directory, only the person knows, and creating it needs that directory.
            if let Some(parent) = p.parent().filter(|d| self.too_broad(d)) {
                return Remedy::CreateFirst {
                    path: self.tilde(p),
                    parent: self.tilde(parent),
                };
            }
        }
        let mut dir = self.tilde(&cand);
        if cand != p && !self.host.exists(&cand) {
            // A directory (something lies below it) that does not exist yet: `DIR/` is
            // created for the run (and, under ~, by a profile's state-directory entry).
            dir.push('/');
        }
        Remedy::Grant { access, dir }
    }

    /// The first cut: two levels under ~/.config, ~/.local and ~/.cache, one under $HOME, the
    /// parent directory inside the workspace and elsewhere.
    fn collapse(&self, p: &Path) -> PathBuf {
        if p.starts_with(self.workspace) {
            return p
                .parent()
                .filter(|d| d.starts_with(self.workspace))
                .map(Path::to_path_buf)
                .unwrap_or_else(|| self.workspace.to_path_buf());
        }
        if let Ok(rel) = p.strip_prefix(self.home) {
            let comps: Vec<_> = rel.components().collect();
            let first = comps.first().map(|c| c.as_os_str().to_string_lossy());
            let depth = match first.as_deref() {
                Some(".config" | ".local" | ".cache") => 2,
                _ => 1,
            };
            if comps.len() > depth {
                return self.home.join(comps[..depth].iter().collect::<PathBuf>());
            }
            return p.to_path_buf();
        }
        p.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| p.to_path_buf())
    }

    /// Would granting `d` whole grant too much: `/`, a top-level directory, the home directory
    /// or an ancestor, a strict ancestor of the workspace, or a directory holding what runs
    /// outside the box?
    fn too_broad(&self, d: &Path) -> bool {
        let top_level = d.components().count() <= 2 && !d.starts_with(self.home);
        top_level
            || self.home.starts_with(d)
            || (self.workspace.starts_with(d) && d != self.workspace)
            || self.holds(d).is_some()
    }

    /// The first thing that runs outside the box strictly inside `d`, home-relative.
    fn holds(&self, d: &Path) -> Option<String> {
        let inside = RUNS_OUTSIDE
            .iter()
            .map(|(r, _)| self.home.join(r))
            .chain(self.toolchains.iter().cloned())
            .chain(SYSTEM.iter().map(PathBuf::from))
            .find(|r| r.starts_with(d) && r != d)?;
        Some(self.tilde(&inside))
    }

    /// A write there changes what runs outside the box later.
    fn runs_outside(&self, p: &Path) -> Option<Remedy> {
        let hit = |root: &Path, what: Outside| {
            p.starts_with(root).then(|| Remedy::RunsOutside {
                path: self.tilde(root),
                what,
            })
        };
        RUNS_OUTSIDE
            .iter()
            .find_map(|(r, what)| hit(&self.home.join(r), what.clone()))
            .or_else(|| {
                self.toolchains
                    .iter()
                    .find_map(|t| hit(t, Outside::Toolchain))
            })
            .or_else(|| {
                SYSTEM
                    .iter()
                    .find_map(|s| hit(Path::new(s), Outside::System))
            })
    }

    /// `test` when that built-in profile allows this write already.
    fn tier(&self, access: Access, p: &Path, s: &Suggestion) -> Option<String> {
        let helps = matches!(
            s.remedy,
            Remedy::Grant { .. } | Remedy::TempFiles { .. } | Remedy::CreateFirst { .. }
        ) || matches!(
            &s.remedy,
            Remedy::RunsOutside {
                what: Outside::Holds { .. },
                ..
            }
        );
        let rel = p.strip_prefix(self.home).ok()?;
        let cargo_lock = rel.starts_with(".cargo")
            && rel.components().count() == 2
            && rel
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".global-cache"));
        let in_tier = TEST_TIER.iter().any(|t| rel.starts_with(t)) || cargo_lock;
        let useful = access == Access::Write && helps && !self.in_test_tier;
        (useful && (in_tier || rel == Path::new(".cargo"))).then(|| "test".to_string())
    }

    /// `~/...` under the home directory, else the absolute path.
    fn tilde(&self, p: &Path) -> String {
        match p.strip_prefix(self.home) {
            Ok(r) if r.as_os_str().is_empty() => "~".into(),
            Ok(r) => format!("~/{}", r.display()),
            Err(_) => p.display().to_string(),
        }
    }
}

/// The part of a git directory `rel` (relative to it) is in.
fn git_part(rel: &Path, writable: bool) -> GitPart {
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = first.strip_suffix(".lock").unwrap_or(&first);
    match base {
        "hooks" => GitPart::Hooks,
        "commondir" | "gitdir" | "info" | "branches" | "remotes" => GitPart::Redirect,
        "objects" if rel.starts_with("objects/info") => GitPart::Redirect,
        "worktrees"
            if rel
                .file_name()
                .is_some_and(|n| n == "gitdir" || n == "commondir") =>
        {
            GitPart::Redirect
        }
        _ if !writable => GitPart::ReadOnly,
        "packed-refs" => GitPart::PackedRefs,
        "config" | "config.worktree" => GitPart::Config,
        _ => GitPart::Metadata,
    }
}

/// A file name that changes between runs, or accompanies another file.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    /// The name, or a glob of its stable part.
    pattern: String,
    /// The file it belongs to.
    base: Option<String>,
}

/// Suffixes of files that accompany another one: locks, journals, editor and atomic-write
/// temporaries.
const COMPANIONS: &[&str] = &[
    ".lock", ".LOCK", ".tmp", ".temp", "~", ".swp", ".swx", ".new", ".part", "-journal", "-wal",
    "-shm",
];

/// How a name is temporary: a fixed companion suffix, a temp marker followed by anything, a
/// random-looking part (a mkstemp suffix, a process id, a time, a hash), or a one-character
/// variant of an existing sibling (less writes `~/.lesshsQ` for `~/.lesshst`). Random names are
/// recognised only when the file is gone.
fn shape(name: &str, siblings: &[String], exists: bool) -> Option<Shape> {
    for suf in COMPANIONS {
        let Some(base) = name.strip_suffix(suf).filter(|b| !b.is_empty()) else {
            continue;
        };
        // A lock is a companion only of a file that is there (`Cargo.lock` is not).
        let known = siblings.iter().any(|s| s == base);
        let base = if known {
            Some(base.to_string())
        } else {
            variant_of(base, siblings)
        };
        if base.is_some() || !suf.contains("lock") {
            return Some(Shape {
                pattern: name.to_string(),
                base,
            });
        }
    }
    if exists {
        return None;
    }
    let tokens = tokens(name);
    for (i, &(start, end)) in tokens.iter().enumerate() {
        let t = &name[start..end];
        let marker = t.eq_ignore_ascii_case("tmp") || t.eq_ignore_ascii_case("temp");
        if marker && i + 1 < tokens.len() {
            // `.claude.json.tmp.2.891749179185`: everything after the marker changes.
            let stable = &name[..tokens[i + 1].0];
            let base = name[..start].trim_end_matches(['.', '-', '_']);
            return Some(Shape {
                pattern: format!("{stable}*"),
                base: (!base.is_empty()).then(|| base.to_string()),
            });
        }
        if random(t) {
            let stable = &name[..start];
            let base = stable.trim_end_matches(['.', '-', '_']);
            return Some(Shape {
                pattern: format!("{stable}*"),
                base: (!base.is_empty() && base != ".").then(|| base.to_string()),
            });
        }
    }
    variant_of(name, siblings).map(|base| Shape {
        pattern: format!("{}*", &name[..name.len() - 1]),
        base: Some(base),
    })
}

/// An existing sibling `name` differs from in its last character only.
fn variant_of(name: &str, siblings: &[String]) -> Option<String> {
    if name.len() < 5 || !name.is_ascii() {
        return None;
    }
    let stem = &name[..name.len() - 1];
    siblings
        .iter()
        .find(|s| s.len() == name.len() && s.starts_with(stem) && *s != name)
        .cloned()
}

/// Byte ranges of the parts of a name between `.`, `-` and `_`.
fn tokens(name: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in name.char_indices() {
        if matches!(c, '.' | '-' | '_') {
            if i > start {
                out.push((start, i));
            }
            start = i + 1;
        }
    }
    if name.len() > start {
        out.push((start, name.len()));
    }
    out
}

/// A part that looks generated: five digits or more (a process id, a time), or an alphanumeric
/// run of six or more mixing cases and digits or alternating letters and digits (mkstemp, a
/// hash). `python3`, `sha256sum` or `x86` are not.
fn random(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() >= 5 && b.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if b.len() < 6 || !b.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let lower = b.iter().any(u8::is_ascii_lowercase);
    let upper = b.iter().any(u8::is_ascii_uppercase);
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let changes = b
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    (lower && upper && digits > 0)
        || changes >= 3
        || (b.len() >= 8 && digits >= 2 && b.iter().all(u8::is_ascii_hexdigit) && digits < b.len())
}

#[cfg(test)]
mod tests;
