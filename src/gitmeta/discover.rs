//! Which git directories a run can reach: the workspace's own (a `.git` directory, or the git
//! directory and common directory a `.git` file points to), its submodules' under
//! `modules/`, repositories nested in the workspace, and the places outside `.git` that git
//! runs code from (`core.hooksPath`, `include.path` targets inside the workspace).

use super::config;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a git directory is to the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The workspace's own `.git` directory.
    Main,
    /// The common directory of a linked worktree (the workspace's `.git` is a file).
    Common,
    /// A submodule's git directory (`modules/<name>` of another git directory).
    Module,
    /// A repository nested somewhere in the workspace.
    Nested,
}

/// One git directory found at launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitDir {
    /// Its path (absolute, normalised).
    pub path: PathBuf,
    /// What it is.
    pub role: Role,
    /// Submodule git directories inside it (`modules/...`), in the same shape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<GitDir>,
}

/// Everything git-related the plan needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// The workspace is a git repository (or a linked worktree of one).
    pub repository: bool,
    /// Git directories, outermost first; modules are nested inside their parent.
    pub dirs: Vec<GitDir>,
    /// `.git` files in the workspace (worktree and submodule links), which redirect git.
    pub links: Vec<PathBuf>,
    /// Paths inside the workspace that git runs code from or reads config from: a
    /// `core.hooksPath` and `include.path` targets of the configs git reads here.
    pub code_paths: Vec<PathBuf>,
    /// The linked worktree's own administrative directory (`<common>/worktrees/<id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree_admin: Option<PathBuf>,
    /// Nested repositories not examined because the search stopped (bounded walk).
    pub walk_truncated: bool,
}

/// Most directory entries the launch-time search for nested repositories looks at.
const NESTED_WALK_LIMIT: usize = 20_000;
/// Most nested repositories given their own protection at launch (more are audited after).
const NESTED_MAX: usize = 16;
/// Directories the launch-time search skips (dependency and build trees): repositories in them
/// are still audited after the run.
const NESTED_SKIP: &[&str] = &[
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

fn norm(p: &Path) -> PathBuf {
    crate::profile::expand::normalize(&p.to_string_lossy())
}

/// Does `d` look like a git directory (what git's own check accepts: a `HEAD` file and an
/// `objects` and `refs` directory, or a `commondir` file)?
pub fn is_git_dir(d: &Path) -> bool {
    let f = |n: &str| std::fs::symlink_metadata(d.join(n));
    f("HEAD").is_ok_and(|m| m.is_file() || m.file_type().is_symlink())
        && (f("commondir").is_ok_and(|m| m.is_file())
            || (f("objects").is_ok_and(|m| m.is_dir()) && f("refs").is_ok_and(|m| m.is_dir())))
}

/// The git directory a `.git` file points to (`gitdir: PATH`, relative to the file's directory).
pub fn read_gitfile(dotgit: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dotgit).ok()?;
    let rest = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?;
    let mut g = PathBuf::from(rest.trim());
    if g.is_relative() {
        g = dotgit.parent()?.join(g);
    }
    Some(norm(&g))
}

/// The common directory of a git directory (its `commondir` file), or the directory itself.
pub fn common_dir(gitdir: &Path) -> PathBuf {
    match std::fs::read_to_string(gitdir.join("commondir")) {
        Ok(c) if !c.trim().is_empty() => {
            let mut p = PathBuf::from(c.trim());
            if p.is_relative() {
                p = gitdir.join(p);
            }
            norm(&p)
        }
        _ => gitdir.to_path_buf(),
    }
}

/// Submodule git directories below `modules/` of `gitdir` (names may contain slashes).
fn modules_of(gitdir: &Path, depth: usize) -> Vec<GitDir> {
    let mut out = Vec::new();
    if depth > 8 {
        return out;
    }
    let mut stack = vec![(gitdir.join("modules"), 0usize)];
    while let Some((dir, d)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut kids: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        kids.sort();
        for k in kids {
            if is_git_dir(&k) {
                out.push(GitDir {
                    modules: modules_of(&k, depth + 1),
                    path: k,
                    role: Role::Module,
                });
            } else if d < 8 {
                stack.push((k, d + 1));
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Look at the workspace: its repository, linked worktree, submodules, nested repositories,
/// and the code paths the person's git configuration points into it.
pub fn discover(workspace: &Path, home: &Path) -> Discovery {
    let mut d = Discovery::default();
    let dotgit = workspace.join(".git");
    let meta = std::fs::symlink_metadata(&dotgit);
    let mut repo_config: Option<PathBuf> = None;
    if meta.as_ref().is_ok_and(|m| m.is_dir()) && is_git_dir(&dotgit) {
        d.repository = true;
        d.dirs.push(GitDir {
            modules: modules_of(&dotgit, 0),
            path: norm(&dotgit),
            role: Role::Main,
        });
        repo_config = Some(dotgit.join("config"));
    } else if meta.as_ref().is_ok_and(|m| m.is_file()) {
        d.links.push(dotgit.clone());
        if let Some(gitdir) = read_gitfile(&dotgit).filter(|g| is_git_dir(g)) {
            d.repository = true;
            let common = common_dir(&gitdir);
            repo_config = Some(common.join("config"));
            // The git directory itself is a submodule's or a worktree's administrative
            // directory; the common directory holds config, hooks and the object store.
            let role = if common != gitdir {
                d.worktree_admin = Some(gitdir.clone());
                Role::Common
            } else if gitdir.starts_with(workspace) {
                Role::Main
            } else {
                Role::Module
            };
            d.dirs.push(GitDir {
                modules: modules_of(&common, 0),
                path: common,
                role,
            });
        }
    }
    nested(workspace, &mut d);
    d.code_paths = code_paths(workspace, home, repo_config.as_deref());
    d
}

/// Bounded search for repositories nested in the workspace (each gets its own protection).
fn nested(workspace: &Path, d: &mut Discovery) {
    let known = |d: &Discovery, p: &Path| {
        fn any(v: &[GitDir], p: &Path) -> bool {
            v.iter()
                .any(|g| p.starts_with(&g.path) || any(&g.modules, p))
        }
        any(&d.dirs, p)
    };
    let mut seen = 0usize;
    let mut stack = vec![(workspace.to_path_buf(), 0usize)];
    let mut found = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut subdirs = Vec::new();
        for e in rd.flatten() {
            seen += 1;
            if seen > NESTED_WALK_LIMIT {
                d.walk_truncated = true;
                return;
            }
            let name = e.file_name();
            let name = name.to_string_lossy();
            let Ok(ft) = e.file_type() else { continue };
            let path = e.path();
            if name == ".git" && dir != workspace {
                if ft.is_file() {
                    d.links.push(path.clone());
                    if let Some(g) = read_gitfile(&path) {
                        let c = common_dir(&g);
                        if g.starts_with(workspace)
                            && !known(d, &c)
                            && is_git_dir(&c)
                            && found < NESTED_MAX
                        {
                            found += 1;
                            d.dirs.push(GitDir {
                                modules: modules_of(&c, 0),
                                path: c,
                                role: Role::Nested,
                            });
                        }
                    }
                } else if ft.is_dir() && is_git_dir(&path) && !known(d, &path) {
                    if found < NESTED_MAX {
                        found += 1;
                        d.dirs.push(GitDir {
                            modules: modules_of(&path, 0),
                            path: norm(&path),
                            role: Role::Nested,
                        });
                    } else {
                        d.walk_truncated = true;
                    }
                }
                continue;
            }
            if ft.is_dir() && depth < 12 && !NESTED_SKIP.contains(&name.as_ref()) {
                subdirs.push(path);
            }
        }
        subdirs.sort();
        for s in subdirs.into_iter().rev() {
            stack.push((s, depth + 1));
        }
    }
}

/// The configuration files git reads for a repository, outermost first: system, global (both
/// locations), the repository's own.
fn config_files(home: &Path, repo_config: Option<&Path>) -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from("/etc/gitconfig")];
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.join(".config"));
    v.push(xdg.join("git/config"));
    v.push(home.join(".gitconfig"));
    if let Some(r) = repo_config {
        v.push(r.to_path_buf());
    }
    v
}

/// Expand `~/` the way git does for path values.
fn git_path(value: &str, base: &Path, home: &Path) -> PathBuf {
    let p = if let Some(rest) = value.strip_prefix("~/") {
        home.join(rest)
    } else if Path::new(value).is_absolute() {
        PathBuf::from(value)
    } else {
        base.join(value)
    };
    norm(&p)
}

/// Paths inside the workspace git takes code or configuration from: where `core.hooksPath`
/// points (relative values are relative to the worktree's top), and the files `include.path`
/// and `includeIf.*.path` name (relative to the including file), followed one level deep.
fn code_paths(workspace: &Path, home: &Path, repo_config: Option<&Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut files = config_files(home, repo_config);
    let mut i = 0;
    while i < files.len() && i < 64 {
        let f = files[i].clone();
        i += 1;
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let Ok(cfg) = config::parse(&bytes) else {
            continue;
        };
        let dir = f.parent().unwrap_or(Path::new("/")).to_path_buf();
        for e in &cfg.entries {
            let Some(v) = e.value.as_deref() else {
                continue;
            };
            let name = e.name();
            if name == "core.hookspath" {
                out.push(git_path(v, workspace, home));
            } else if e.key == "path" && (e.section == "include" || e.section == "includeif") {
                let p = git_path(v, &dir, home);
                if !files.contains(&p) {
                    files.push(p.clone());
                }
                out.push(p);
            }
        }
    }
    out.retain(|p| p.starts_with(workspace) && p != workspace);
    out.sort();
    out.dedup();
    out
}

/// Follow a `.git` file (worktrees, submodules) to the real git directory and its common dir.
pub fn real_git_dirs(workspace: &Path) -> Vec<PathBuf> {
    let dotgit = workspace.join(".git");
    let Ok(meta) = std::fs::symlink_metadata(&dotgit) else {
        return vec![];
    };
    if meta.is_dir() {
        return vec![dotgit];
    }
    let Ok(text) = std::fs::read_to_string(&dotgit) else {
        return vec![];
    };
    let Some(rest) = text.lines().find_map(|l| l.strip_prefix("gitdir:")) else {
        return vec![];
    };
    let mut gitdir = PathBuf::from(rest.trim());
    if gitdir.is_relative() {
        gitdir = workspace.join(gitdir);
    }
    let gitdir = crate::profile::expand::normalize(&gitdir.to_string_lossy());
    let mut out = vec![gitdir.clone()];
    if let Ok(c) = std::fs::read_to_string(gitdir.join("commondir")) {
        let mut common = PathBuf::from(c.trim());
        if common.is_relative() {
            common = gitdir.join(common);
        }
        out.push(crate::profile::expand::normalize(&common.to_string_lossy()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let st = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .output()
            .unwrap();
        assert!(st.status.success(), "git {args:?}");
    }

    fn have_git() -> bool {
        Command::new("git").arg("--version").output().is_ok()
    }

    #[test]
    fn plain_worktree_submodule_and_nested() {
        if !have_git() {
            eprintln!("SKIP: git not installed");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let sub = root.join("sub-origin");
        std::fs::create_dir(&sub).unwrap();
        git(&sub, &["init", "-q", "-b", "main"]);
        git(
            &sub,
            &[
                "-c",
                "user.name=a",
                "-c",
                "user.email=a@b",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "s",
            ],
        );
        let ws = root.join("ws");
        std::fs::create_dir(&ws).unwrap();
        git(&ws, &["init", "-q", "-b", "main"]);
        git(&ws, &["config", "core.hooksPath", ".githooks"]);
        git(
            &ws,
            &[
                "-c",
                "protocol.file.allow=always",
                "submodule",
                "add",
                "-q",
                sub.to_str().unwrap(),
                "lib",
            ],
        );
        git(
            &ws,
            &[
                "-c",
                "user.name=a",
                "-c",
                "user.email=a@b",
                "commit",
                "-q",
                "-m",
                "x",
            ],
        );
        std::fs::create_dir_all(ws.join("vendor/dep")).unwrap();
        git(&ws.join("vendor/dep"), &["init", "-q"]);
        let d = discover(&ws, root);
        assert!(d.repository);
        assert_eq!(d.dirs[0].role, Role::Main);
        assert_eq!(d.dirs[0].modules.len(), 1);
        assert!(d.dirs[0].modules[0].path.ends_with(".git/modules/lib"));
        assert!(d.links.iter().any(|l| l.ends_with("lib/.git")));
        assert!(d
            .dirs
            .iter()
            .any(|g| g.role == Role::Nested && g.path.ends_with("vendor/dep/.git")));
        assert_eq!(d.code_paths, vec![ws.join(".githooks")]);

        // A linked worktree: its .git is a file; the common directory is the main checkout's.
        git(&ws, &["worktree", "add", "-q", "../wt"]);
        let wt = root.join("wt");
        let d = discover(&wt, root);
        assert!(d.repository);
        assert_eq!(d.dirs[0].role, Role::Common);
        assert_eq!(d.dirs[0].path, norm(&ws.join(".git")));
        assert!(d
            .worktree_admin
            .as_ref()
            .unwrap()
            .starts_with(ws.join(".git/worktrees")));
        assert_eq!(d.links, vec![wt.join(".git")]);
    }

    #[test]
    fn not_a_repository() {
        let t = tempfile::tempdir().unwrap();
        let d = discover(t.path(), t.path());
        assert!(!d.repository);
        assert!(d.dirs.is_empty());
    }
}
