//! Git metadata as one protected unit. Everything git reads configuration, hooks or
//! redirections from (`config`, `config.worktree`, `hooks/` and wherever `core.hooksPath`
//! points, `commondir`, `gitdir`, `info/`, `objects/info/alternates`, `include.path` targets,
//! `.git` files), in the workspace's repository, its linked worktree's common directory, its
//! submodules' git directories and repositories nested in it. With the namespace layer each git
//! directory is seen through a private view merged back by rule after the run (`shadow`,
//! `merge`); without it, the same paths are snapshotted and restored (the post-run guard). After
//! every run the audit (`audit`) examines every other repository in the workspace.

pub mod audit;
pub mod config;
pub mod discover;
pub mod merge;
pub mod shadow;

use serde::Serialize;
use std::path::{Path, PathBuf};

/// How git metadata is protected in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GitMode {
    /// The box cannot write any git directory (or there is none): nothing to do but the audit.
    None,
    /// Private views, merged back by rule after the run (namespace layer).
    Views,
    /// Snapshot before, restore after (no namespace layer); the audit covers the rest.
    Snapshot,
}

/// The git part of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct GitPlan {
    /// The workspace is a git repository (or a linked worktree).
    pub repository: bool,
    /// How its metadata is protected.
    pub mode: GitMode,
    /// The git directories found, outermost first.
    pub dirs: Vec<discover::GitDir>,
    /// The private views (namespace layer), one per writable top-level git directory.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<shadow::Shadow>,
    /// Paths added to `filesystem.protect` for git (existing).
    pub protect: Vec<PathBuf>,
    /// Paths added to `filesystem.protect_missing` for git (not existing at launch).
    pub protect_missing: Vec<PathBuf>,
    /// The launch-time search for nested repositories stopped early.
    pub walk_truncated: bool,
    /// What this protection does not cover.
    pub limits: Vec<String>,
}

/// Files and directories of a git directory git reads configuration, hooks or redirections
/// from (the snapshot mode's list).
const SENSITIVE: &[&str] = &[
    "config",
    "config.worktree",
    "commondir",
    "hooks",
    "info",
    "branches",
    "remotes",
    "objects/info/alternates",
    "objects/info/http-alternates",
];

/// Is `p` inside a tree the box may write?
fn writable(p: &Path, rules: &[crate::plan::fs::Rule]) -> bool {
    rules
        .iter()
        .any(|r| r.access == crate::plan::fs::Grant::Write && p.starts_with(&r.path))
}

fn flatten<'a>(v: &'a [discover::GitDir], out: &mut Vec<&'a discover::GitDir>) {
    for g in v {
        out.push(g);
        flatten(&g.modules, out);
    }
}

/// Decide the git protection for this run from what `discover` found.
pub fn plan(d: discover::Discovery, rules: &[crate::plan::fs::Rule], namespaces: bool) -> GitPlan {
    let mut all = Vec::new();
    flatten(&d.dirs, &mut all);
    let any_writable =
        all.iter().any(|g| writable(&g.path, rules)) || d.links.iter().any(|l| writable(l, rules));
    let mode = match (any_writable, namespaces) {
        (false, _) => GitMode::None,
        (true, true) => GitMode::Views,
        (true, false) => GitMode::Snapshot,
    };
    let mut protect = Vec::new();
    let mut protect_missing = Vec::new();
    let mut add = |p: PathBuf| {
        if std::fs::symlink_metadata(&p).is_ok() {
            if !protect.contains(&p) {
                protect.push(p);
            }
        } else if !protect_missing.contains(&p) {
            protect_missing.push(p);
        }
    };
    // Links (a worktree's or submodule's `.git` file) and the code paths the person's config
    // points into the workspace are protected in both modes.
    for l in &d.links {
        if writable(l, rules) {
            add(l.clone());
        }
    }
    for c in &d.code_paths {
        add(c.clone());
    }
    let mut views = Vec::new();
    let mut limits = Vec::new();
    match mode {
        GitMode::Views => {
            for g in d.dirs.iter().filter(|g| writable(&g.path, rules)) {
                views.push(shadow::plan(&g.path, &g.modules));
            }
            limits.push(
                "a repository created in the workspace during the run is examined after it; while \
                 the box runs, a git command you start inside that new repository reads what the \
                 box wrote there"
                    .into(),
            );
        }
        GitMode::Snapshot => {
            for g in all.iter().filter(|g| writable(&g.path, rules)) {
                for s in SENSITIVE {
                    add(g.path.join(s));
                }
                if let Ok(rd) = std::fs::read_dir(g.path.join("worktrees")) {
                    for e in rd.flatten() {
                        for s in ["gitdir", "commondir", "config.worktree"] {
                            add(e.path().join(s));
                        }
                    }
                }
            }
            limits.push(
                "without namespaces, git metadata is checked and restored only after the run: \
                 while the box runs, a git command you start in the workspace (your editor's \
                 `git status`) reads what the box wrote in .git"
                    .into(),
            );
        }
        GitMode::None => {}
    }
    if d.walk_truncated {
        limits.push(
            "the launch-time search for nested repositories stopped early: those beyond it are \
             only examined after the run"
                .into(),
        );
    }
    GitPlan {
        repository: d.repository,
        mode,
        dirs: d.dirs,
        views,
        protect,
        protect_missing,
        walk_truncated: d.walk_truncated,
        limits,
    }
}

impl GitPlan {
    /// Every git directory the views or snapshots cover (the audit skips them).
    pub fn covered(&self) -> Vec<PathBuf> {
        let mut all = Vec::new();
        flatten(&self.dirs, &mut all);
        all.into_iter().map(|g| g.path.clone()).collect()
    }

    /// Is `p` inside one of the views (a protect entry there is the view's business)?
    pub fn in_view(&self, p: &Path) -> bool {
        self.views.iter().any(|v| p.starts_with(&v.path))
    }
}
