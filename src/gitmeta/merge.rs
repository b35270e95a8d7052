//! After the run, the private git views (see `shadow`) are merged back into the real git
//! directories, entry by entry, by rule: what git changes in ordinary work (HEAD, the index,
//! rebase and merge state, a new linked worktree or submodule that passes its checks, a tracking
//! branch in `config`) is applied; anything else (a `commondir`, a `config.worktree`, a hook, an
//! `info/attributes`, a config key that runs a command) is not applied and goes to the
//! quarantine, named in the summary. An entry the person changed on the host during the run
//! too wins over the box's version, which is quarantined (the index is the exception: the
//! box's matches the commits it made, the host's previous one is quarantined).
//!
//! Every change to the real git directory goes through descriptors (`safefs`) and git's own
//! lock protocol (`NAME.lock` created exclusively, then renamed), so it cannot be redirected by
//! a symlink and does not race a git command the person runs at the same moment.

use super::config;
use super::shadow::{Shadow, Treatment, PACKED_REFS};
use crate::safefs::{Dir, Kind, Meta};
use crate::supervise::quarantine::Quarantine;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

/// Top-level files git rewrites in ordinary work.
const STATE_FILES: &[&str] = &[
    "HEAD",
    "ORIG_HEAD",
    "FETCH_HEAD",
    "MERGE_HEAD",
    "MERGE_MSG",
    "MERGE_MODE",
    "MERGE_AUTOSTASH",
    "MERGE_RR",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "REBASE_HEAD",
    "AUTO_MERGE",
    "COMMIT_EDITMSG",
    "SQUASH_MSG",
    "TAG_EDITMSG",
    "NOTES_EDITMSG",
    "NOTES_MERGE_PARTIAL",
    "NOTES_MERGE_REF",
    "index",
    "shallow",
    "description",
    "gc.log",
    "gc.pid",
];
/// Name prefixes of state files (bisect state, split index parts).
const STATE_PREFIXES: &[&str] = &["BISECT_", "sharedindex."];

/// Files agents keep directly in the git directory that git itself never reads, so no git
/// command behaves differently for them: opencode's project id (`.git/opencode`, the root
/// commit's hash, written at every start).
const AGENT_FILES: &[&str] = &["opencode"];
/// Directories of operation state, changed freely by git.
const STATE_DIRS: &[&str] = &["rebase-merge", "rebase-apply", "sequencer"];
/// Files of `info/` git itself writes (sparse checkout, exclude rules, dumb-http refs).
const INFO_FILES: &[&str] = &["exclude", "sparse-checkout", "refs"];
/// What a linked worktree's administrative directory may change.
const WORKTREE_FILES: &[&str] = &[
    "HEAD",
    "ORIG_HEAD",
    "index",
    "AUTO_MERGE",
    "MERGE_HEAD",
    "MERGE_MSG",
    "MERGE_MODE",
    "MERGE_AUTOSTASH",
    "MERGE_RR",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "REBASE_HEAD",
    "COMMIT_EDITMSG",
    "SQUASH_MSG",
    "FETCH_HEAD",
    "locked",
];
/// Subdirectories of a worktree's administrative directory git changes freely.
const WORKTREE_DIRS: &[&str] = &["logs", "refs", "rebase-merge", "rebase-apply", "sequencer"];

/// How an entry of a git view is merged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Class {
    /// Not merged (a lock, a mount point of a real store, the read-only packed-refs).
    Ignore,
    /// Applied when changed.
    Allowed,
    /// `config`: applied when every change is one git makes for ordinary commands.
    Config,
    /// Never applied; quarantined when it appeared or changed.
    Forbidden(&'static str),
    /// Part of a linked worktree's administrative directory made during the run.
    NewWorktree(String),
    /// Part of a submodule git directory made during the run.
    NewModule,
}

/// Identity of an entry, to tell whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Id {
    kind: Kind,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Id {
    fn of(m: &Meta) -> Id {
        Id {
            kind: m.kind,
            ino: m.ino,
            size: m.size,
            mtime_ns: m.mtime_ns,
            ctime_ns: m.ctime_ns,
        }
    }

    /// Same entry, unchanged (directories: same kind is enough, their content is compared
    /// entry by entry).
    fn same(a: Option<&Id>, b: Option<&Id>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) if a.kind == Kind::Dir && b.kind == Kind::Dir => true,
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

type State = BTreeMap<PathBuf, Id>;

/// Most entries scanned in one view or one set of copied host entries.
const SCAN_LIMIT: usize = 200_000;

/// Every entry below `dir` (relative paths), not following symlinks, not entering mount points.
fn scan(dir: &Dir, prefix: &Path, out: &mut State, budget: &mut usize) {
    let Ok(list) = dir.list() else { return };
    for (name, kind) in list {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let rel = prefix.join(&name);
        let Ok(Some(m)) = dir.stat(&name) else {
            continue;
        };
        out.insert(rel.clone(), Id::of(&m));
        if kind == Kind::Dir && !dir.is_mount_point(&name).unwrap_or(true) {
            if let Ok(sub) = dir.open_beneath(Path::new(&name)) {
                scan(&sub, &rel, out, budget);
            }
        }
    }
}

/// The copied entries of a real git directory (and of its modules' views), relative to it.
fn scan_host(real: &Dir, sh: &Shadow, prefix: &Path, out: &mut State, budget: &mut usize) {
    for it in &sh.items {
        if it.treatment != Treatment::Copied {
            continue;
        }
        let name = OsStr::new(&it.name);
        let Ok(Some(m)) = real.stat(name) else {
            continue;
        };
        let rel = prefix.join(&it.name);
        out.insert(rel.clone(), Id::of(&m));
        if m.kind == Kind::Dir {
            if let Ok(sub) = real.open_beneath(Path::new(name)) {
                scan(&sub, &rel, out, budget);
            }
        }
    }
    for (mrel, m) in &sh.modules {
        if let Ok(sub) = real.open_beneath(mrel) {
            scan_host(&sub, m, &prefix.join(mrel), out, budget);
        }
    }
}

/// One git directory's merge state, from before the launch to after the run.
struct View {
    shadow: Shadow,
    real: Dir,
    launch: State,
    fd: Option<Dir>,
    baseline: State,
}

/// What the merge did with one entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GitAction {
    /// The path in the real git directory.
    pub path: PathBuf,
    /// What happened.
    pub what: GitActionKind,
}

/// The kinds of merge actions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GitActionKind {
    /// The box's change was applied.
    Applied,
    /// The box's version was not applied; it is in the quarantine.
    NotApplied {
        /// Why.
        why: String,
        /// Where the box's version is (None when it could not be copied).
        quarantined: Option<PathBuf>,
    },
    /// The host's previous version was replaced and kept in the quarantine.
    Replaced {
        /// Where the previous version is.
        quarantined: PathBuf,
    },
}

impl std::fmt::Display for GitAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.what {
            GitActionKind::Applied => write!(f, "applied {}", self.path.display()),
            GitActionKind::NotApplied { why, quarantined } => {
                write!(f, "not applied: {} ({why})", self.path.display())?;
                if let Some(q) = quarantined {
                    write!(f, "; the box's version is in {}", q.display())?;
                }
                Ok(())
            }
            GitActionKind::Replaced { quarantined } => write!(
                f,
                "replaced {}; your previous version is in {}",
                self.path.display(),
                quarantined.display()
            ),
        }
    }
}

/// What the merge needs to know about the workspace.
pub struct Context<'a> {
    /// The workspace.
    pub workspace: &'a Path,
    /// Paths the box may write outside the workspace (a new linked worktree must be in one).
    pub writable: &'a [PathBuf],
}

/// The git views of one run.
#[derive(Default)]
pub struct Session {
    views: Vec<View>,
}

impl Session {
    /// Record the state of the real git directories before the launch.
    pub fn before_launch(shadows: &[Shadow]) -> std::io::Result<Session> {
        let mut views = Vec::new();
        for sh in shadows {
            let real = Dir::open(&sh.path)?;
            let mut launch = State::new();
            let mut budget = SCAN_LIMIT;
            scan_host(&real, sh, Path::new(""), &mut launch, &mut budget);
            views.push(View {
                shadow: sh.clone(),
                real,
                launch,
                fd: None,
                baseline: State::new(),
            });
        }
        Ok(Session { views })
    }

    /// The box handed over its views (before anything of it ran): record their state.
    pub fn on_views(&mut self, fds: Vec<OwnedFd>) {
        for (v, fd) in self.views.iter_mut().zip(fds) {
            match Dir::from_owned(fd, v.shadow.path.clone()) {
                Ok(d) => {
                    let mut budget = SCAN_LIMIT;
                    scan(&d, Path::new(""), &mut v.baseline, &mut budget);
                    v.fd = Some(d);
                }
                Err(e) => tracing::warn!("git view of {}: {e}", v.shadow.path.display()),
            }
        }
    }

    /// Merge every view back (after every process of the box is dead).
    pub fn merge(&self, q: &mut Quarantine, ctx: &Context) -> Vec<GitAction> {
        let mut out = Vec::new();
        for v in &self.views {
            let Some(view) = &v.fd else { continue };
            merge_view(v, view, q, ctx, &mut out);
        }
        out
    }
}

/// The shadow (root or module) owning `rel` and the path relative to it.
fn owner<'a>(sh: &'a Shadow, rel: &'a Path) -> (&'a Shadow, PathBuf, PathBuf) {
    for (mrel, m) in &sh.modules {
        if let Ok(inner) = rel.strip_prefix(mrel) {
            let (o, base, r) = owner(m, inner);
            return (o, mrel.join(base), r);
        }
    }
    (sh, PathBuf::new(), rel.to_path_buf())
}

fn names(p: &Path) -> Vec<String> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

/// The rule for `rel` (relative to the git directory `sh`), given what existed at launch.
fn classify(sh: &Shadow, rel: &Path, launch_has: &dyn Fn(&Path) -> bool) -> Class {
    let c = names(rel);
    let Some(c0) = c.first().map(String::as_str) else {
        return Class::Ignore;
    };
    if c.iter().any(|n| n.ends_with(".lock")) || (c0 == PACKED_REFS && c.len() == 1) {
        return Class::Ignore;
    }
    if let Some(it) = sh.items.iter().find(|i| i.name == c0) {
        if matches!(it.treatment, Treatment::WriteThrough | Treatment::ReadOnly) {
            return Class::Ignore;
        }
    }
    match c0 {
        "config" if c.len() == 1 => Class::Config,
        "modules" => {
            if c.len() == 1 {
                Class::Ignore
            } else {
                Class::NewModule
            }
        }
        "info" => match c.get(1) {
            None => Class::Allowed,
            Some(n) if c.len() == 2 && INFO_FILES.contains(&n.as_str()) => Class::Allowed,
            _ => Class::Forbidden("git reads attributes, grafts and alternates from info/"),
        },
        "worktrees" => {
            let Some(id) = c.get(1) else {
                return Class::Allowed;
            };
            if !launch_has(&Path::new("worktrees").join(id)) {
                return Class::NewWorktree(id.clone());
            }
            match c.get(2).map(String::as_str) {
                None => Class::Allowed,
                Some(n) if c.len() == 3 && WORKTREE_FILES.contains(&n) => Class::Allowed,
                Some(n) if WORKTREE_DIRS.contains(&n) => Class::Allowed,
                Some("gitdir" | "commondir") => {
                    Class::Forbidden("it redirects where a worktree's git reads from")
                }
                Some("config.worktree") => Class::Forbidden("a worktree's own configuration"),
                _ => Class::Forbidden("not part of a worktree's state"),
            }
        }
        _ if STATE_DIRS.contains(&c0) => Class::Allowed,
        _ if c.len() == 1
            && (STATE_FILES.contains(&c0)
                || AGENT_FILES.contains(&c0)
                || STATE_PREFIXES.iter().any(|p| c0.starts_with(p))) =>
        {
            Class::Allowed
        }
        "commondir" => Class::Forbidden("it redirects where git reads config and hooks"),
        "config.worktree" => Class::Forbidden("configuration git reads for this worktree"),
        "hooks" => Class::Forbidden("a hook runs outside the box"),
        "branches" | "remotes" => Class::Forbidden("it defines where fetch and push go"),
        _ => Class::Forbidden("not something git changes in a run"),
    }
}

/// Open the directory holding `rel` below `root` (creating missing directories when `create`).
fn parent_dir(root: &Dir, rel: &Path, create: bool) -> std::io::Result<Dir> {
    let mut cur = root.try_clone()?;
    let comps = names(rel);
    for n in comps.iter().take(comps.len().saturating_sub(1)) {
        let name = OsStr::new(n);
        if create && cur.stat(name)?.is_none() {
            cur.mkdir(name, 0o755)?;
        }
        cur = cur.open_beneath(Path::new(name))?;
    }
    Ok(cur)
}

fn leaf(rel: &Path) -> &OsStr {
    rel.file_name().unwrap_or(OsStr::new(""))
}

/// Write `bytes` to `name` in `dir` the way git does: `NAME.lock` created exclusively (so a git
/// command running on the host at the same time is not raced), then renamed over.
fn install_file(dir: &Dir, name: &OsStr, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut lock = name.to_os_string();
    lock.push(".lock");
    let mut tries = 0;
    loop {
        match dir.create_file(&lock, bytes, mode) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 40 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
    if let Err(e) = dir.rename(&lock, dir, name, false) {
        let _ = dir.unlink(&lock);
        return Err(e);
    }
    Ok(())
}

/// Most bytes read from one view file.
const FILE_LIMIT: u64 = 1 << 30;

fn merge_view(v: &View, view: &Dir, q: &mut Quarantine, ctx: &Context, out: &mut Vec<GitAction>) {
    let mut now = State::new();
    let mut budget = SCAN_LIMIT;
    scan(view, Path::new(""), &mut now, &mut budget);
    let changed: BTreeSet<&PathBuf> = v
        .baseline
        .keys()
        .chain(now.keys())
        .filter(|r| !Id::same(v.baseline.get(*r), now.get(*r)))
        .collect();
    // New worktrees and modules are judged whole, once.
    let mut new_trees: BTreeSet<PathBuf> = BTreeSet::new();
    let mut removed_dirs: Vec<PathBuf> = Vec::new();
    for rel in changed {
        let (sh, base, inner) = owner(&v.shadow, rel);
        let launch_has = |p: &Path| v.launch.contains_key(&base.join(p));
        let class = classify(sh, &inner, &launch_has);
        let real_path = v.shadow.path.join(rel);
        match class {
            Class::Ignore => {}
            Class::NewWorktree(id) => {
                new_trees.insert(base.join("worktrees").join(id));
            }
            Class::NewModule => {
                if let Some(root) = new_module_root(&now, &base, &inner) {
                    new_trees.insert(root);
                }
            }
            Class::Forbidden(why) => {
                if now.get(rel).is_some_and(|i| i.kind != Kind::Dir) {
                    let quarantined = copy_out(view, rel, &real_path, why, q);
                    out.push(GitAction {
                        path: real_path,
                        what: GitActionKind::NotApplied {
                            why: why.to_string(),
                            quarantined,
                        },
                    });
                }
            }
            Class::Config => merge_config(v, view, rel, &real_path, ctx, q, out),
            Class::Allowed => {
                let host_now = host_id(&v.real, rel);
                let host_changed = !Id::same(v.launch.get(rel), host_now.as_ref());
                match now.get(rel) {
                    Some(id) if id.kind == Kind::Dir => {}
                    Some(_) => apply_file(v, view, rel, &real_path, host_changed, q, out),
                    None if v.baseline.get(rel).is_some_and(|i| i.kind == Kind::Dir) => {
                        removed_dirs.push(rel.clone());
                    }
                    None => {
                        // Removed inside the box: the host's copy moves to the quarantine
                        // (unless the person changed it meanwhile: then it stays).
                        if host_now.is_some() && !host_changed {
                            if let Ok(pd) = parent_dir(&v.real, rel, false) {
                                match q.take(&pd, leaf(rel), &real_path, "removed inside the box") {
                                    Ok(to) => out.push(GitAction {
                                        path: real_path,
                                        what: GitActionKind::Replaced { quarantined: to },
                                    }),
                                    Err(e) => tracing::warn!(
                                        "git merge: cannot move {} aside: {e}",
                                        real_path.display()
                                    ),
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    for t in new_trees {
        merge_new_tree(v, view, &now, &t, ctx, q, out);
    }
    // Directories git removed (a finished rebase's state): gone on the host once empty.
    removed_dirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for d in removed_dirs {
        if let Ok(pd) = parent_dir(&v.real, &d, false) {
            if let Ok(sub) = pd.open_beneath(Path::new(leaf(&d))) {
                if sub.list().is_ok_and(|l| l.is_empty()) {
                    let _ = pd.remove_tree(leaf(&d));
                }
            }
        }
    }
}

/// Identity of `rel` in the real git directory now.
fn host_id(real: &Dir, rel: &Path) -> Option<Id> {
    let pd = parent_dir(real, rel, false).ok()?;
    pd.stat(leaf(rel)).ok().flatten().map(|m| Id::of(&m))
}

/// Most bytes of one entry of a view copied into the quarantine: what lives only in the view
/// was written by the box (never the person's), and must not fill the person's disk.
const QUARANTINE_VIEW_LIMIT: u64 = 256 << 20;

/// Bytes below `rel` in the view, stopping past `limit`.
fn tree_size(view: &Dir, rel: &Path, limit: u64) -> u64 {
    fn walk(d: &Dir, total: &mut u64, limit: u64) {
        for (n, k) in d.list().unwrap_or_default() {
            if *total > limit {
                return;
            }
            match k {
                Kind::Dir => {
                    if let Ok(sub) = d.open_beneath(Path::new(&n)) {
                        walk(&sub, total, limit);
                    }
                }
                _ => *total += d.stat(&n).ok().flatten().map_or(0, |m| m.size),
            }
        }
    }
    let Ok(pd) = parent_dir(view, rel, false) else {
        return 0;
    };
    match pd.stat(leaf(rel)).ok().flatten() {
        Some(m) if m.kind == Kind::Dir => {
            let mut total = 0;
            if let Ok(d) = pd.open_beneath(Path::new(leaf(rel))) {
                walk(&d, &mut total, limit);
            }
            total
        }
        Some(m) => m.size,
        None => 0,
    }
}

/// Copy the view's `rel` into the quarantine; where it went, or None (logged).
fn copy_out(
    view: &Dir,
    rel: &Path,
    real_path: &Path,
    why: &str,
    q: &mut Quarantine,
) -> Option<PathBuf> {
    if tree_size(view, rel, QUARANTINE_VIEW_LIMIT) > QUARANTINE_VIEW_LIMIT {
        tracing::warn!(
            "git merge: {} is over {} MiB: not kept",
            real_path.display(),
            QUARANTINE_VIEW_LIMIT >> 20
        );
        return None;
    }
    let pd = parent_dir(view, rel, false).ok()?;
    match q.copy_in(&pd, leaf(rel), real_path, why) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!("git merge: cannot quarantine {}: {e}", real_path.display());
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_file(
    v: &View,
    view: &Dir,
    rel: &Path,
    real_path: &Path,
    host_changed: bool,
    q: &mut Quarantine,
    out: &mut Vec<GitAction>,
) {
    let is_index = rel.file_name() == Some(OsStr::new("index"));
    if host_changed && !is_index {
        let quarantined = copy_out(
            view,
            rel,
            real_path,
            "changed on the host during the run",
            q,
        );
        out.push(GitAction {
            path: real_path.to_path_buf(),
            what: GitActionKind::NotApplied {
                why: "you changed it on the host during the run; yours is kept".into(),
                quarantined,
            },
        });
        return;
    }
    let Ok(vd) = parent_dir(view, rel, false) else {
        return;
    };
    let Ok(Some(meta)) = vd.stat(leaf(rel)) else {
        return;
    };
    let Ok(rd) = parent_dir(&v.real, rel, true) else {
        tracing::warn!(
            "git merge: cannot open the directory of {}",
            real_path.display()
        );
        return;
    };
    let result = match meta.kind {
        Kind::File => vd.read(leaf(rel), FILE_LIMIT).and_then(|bytes| {
            if host_changed {
                // The index: the box's matches the commits it made; keep the host's aside.
                if let Ok(to) = q.take(&rd, leaf(rel), real_path, "replaced by the box's index") {
                    out.push(GitAction {
                        path: real_path.to_path_buf(),
                        what: GitActionKind::Replaced { quarantined: to },
                    });
                }
            }
            install_file(&rd, leaf(rel), &bytes, meta.mode)
        }),
        Kind::Symlink => vd.read_link(leaf(rel)).and_then(|t| {
            // A symlink in git's state (a symbolic HEAD of old gits): only to a relative ref.
            if t.is_absolute() || t.components().any(|c| c == Component::ParentDir) {
                return Err(std::io::Error::other("a symlink out of the git directory"));
            }
            let _ = rd.unlink(leaf(rel));
            rd.symlink(leaf(rel), &t)
        }),
        _ => Ok(()),
    };
    match result {
        Ok(()) => out.push(GitAction {
            path: real_path.to_path_buf(),
            what: GitActionKind::Applied,
        }),
        Err(e) => {
            let quarantined = copy_out(view, rel, real_path, "could not be applied", q);
            out.push(GitAction {
                path: real_path.to_path_buf(),
                what: GitActionKind::NotApplied {
                    why: format!("could not be applied: {e}"),
                    quarantined,
                },
            });
        }
    }
}

/// Config keys git writes for ordinary commands (tracking branches, `branch -m/-d`, submodule
/// init); every other change to `config` is left to the person.
fn allowed_key(name: &str) -> bool {
    let parts: Vec<&str> = name.splitn(2, '.').collect();
    let (section, rest) = match parts.as_slice() {
        [s, r] => (*s, *r),
        _ => return false,
    };
    let key = rest.rsplit('.').next().unwrap_or("");
    let has_sub = rest.contains('.');
    match section {
        "branch" if has_sub => matches!(
            key,
            "remote" | "merge" | "rebase" | "pushremote" | "description"
        ),
        "submodule" if has_sub => matches!(key, "active" | "url"),
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn merge_config(
    v: &View,
    view: &Dir,
    rel: &Path,
    real_path: &Path,
    ctx: &Context,
    q: &mut Quarantine,
    out: &mut Vec<GitAction>,
) {
    let host_now = host_id(&v.real, rel);
    if !Id::same(v.launch.get(rel), host_now.as_ref()) {
        let quarantined = copy_out(
            view,
            rel,
            real_path,
            "changed on the host during the run",
            q,
        );
        out.push(GitAction {
            path: real_path.to_path_buf(),
            what: GitActionKind::NotApplied {
                why: "you changed it on the host during the run; yours is kept".into(),
                quarantined,
            },
        });
        return;
    }
    let read = |d: &Dir| -> Option<(Vec<u8>, u32)> {
        let pd = parent_dir(d, rel, false).ok()?;
        let m = pd.stat(leaf(rel)).ok()??;
        Some((pd.read(leaf(rel), 64 << 20).ok()?, m.mode))
    };
    let before = read(&v.real).map(|x| x.0).unwrap_or_default();
    let Some((after, mode)) = read(view) else {
        // config removed inside the box: never applied.
        out.push(GitAction {
            path: real_path.to_path_buf(),
            what: GitActionKind::NotApplied {
                why: "the box removed it".into(),
                quarantined: None,
            },
        });
        return;
    };
    match config_verdict(&before, &after, ctx) {
        Ok(()) => {
            let r = parent_dir(&v.real, rel, false)
                .and_then(|rd| install_file(&rd, leaf(rel), &after, mode));
            out.push(GitAction {
                path: real_path.to_path_buf(),
                what: match r {
                    Ok(()) => GitActionKind::Applied,
                    Err(e) => GitActionKind::NotApplied {
                        why: format!("could not be applied: {e}"),
                        quarantined: copy_out(view, rel, real_path, "could not be applied", q),
                    },
                },
            });
        }
        Err(keys) => {
            let why = format!(
                "changes only you may make: {}; to keep one, run its `git config` outside the box",
                keys.join(", ")
            );
            let quarantined = copy_out(view, rel, real_path, "config changes not applied", q);
            out.push(GitAction {
                path: real_path.to_path_buf(),
                what: GitActionKind::NotApplied { why, quarantined },
            });
        }
    }
}

/// Are the changes from `before` to `after` (a git directory's `config`) only what git writes
/// for ordinary commands? Otherwise the names of the others (never values).
pub fn config_verdict(before: &[u8], after: &[u8], ctx: &Context) -> Result<(), Vec<String>> {
    let gitmodules = std::fs::read(ctx.workspace.join(".gitmodules"))
        .ok()
        .and_then(|b| config::parse(&b).ok());
    match (config::parse(before), config::parse(after)) {
        (Ok(b), Ok(a)) => {
            let bad: Vec<String> = config::diff(&b, &a)
                .into_iter()
                .filter(|c| {
                    let declared = c.name.starts_with("submodule.")
                        && c.name.ends_with(".url")
                        && submodule_url_declared(&c.name, &a, &b, gitmodules.as_ref(), ctx);
                    !declared && (c.risk.is_some() || !allowed_key(&c.name))
                })
                .map(|c| match c.risk {
                    Some(r) => format!("{} ({})", c.name, risk_text(r)),
                    None => c.name,
                })
                .collect();
            if bad.is_empty() {
                Ok(())
            } else {
                Err(bad)
            }
        }
        _ => Err(vec!["a configuration git cannot read".to_string()]),
    }
}

/// `git submodule init` copies each submodule's url from `.gitmodules` into the config
/// (resolving a relative one against the superproject's remote, or its directory): that value,
/// and only that, is what git writes there.
fn submodule_url_declared(
    name: &str,
    after: &config::ConfigFile,
    before: &config::ConfigFile,
    gitmodules: Option<&config::ConfigFile>,
    ctx: &Context,
) -> bool {
    let (Some(value), Some(gm)) = (after.last(name), gitmodules) else {
        return false;
    };
    let Some(declared) = gm.last(name) else {
        return false;
    };
    if value == declared {
        return true;
    }
    if !(declared.starts_with("./") || declared.starts_with("../")) {
        return false;
    }
    let base = before
        .last("remote.origin.url")
        .map(str::to_string)
        .unwrap_or_else(|| ctx.workspace.display().to_string());
    let mut parts: Vec<&str> = base.trim_end_matches('/').split('/').collect();
    for seg in declared.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/") == value.trim_end_matches('/')
}

/// Words for a config risk.
pub fn risk_text(r: config::Risk) -> &'static str {
    match r {
        config::Risk::RunsCommand => "runs a command",
        config::Risk::Redirects => "redirects git",
        config::Risk::Includes => "includes another file",
    }
}

/// The git directory made during the run that `inner` (below `modules/`) belongs to: the
/// shallowest directory on its path that has a `HEAD`.
fn new_module_root(now: &State, base: &Path, inner: &Path) -> Option<PathBuf> {
    let mut cur = base.to_path_buf();
    for (i, n) in names(inner).into_iter().enumerate() {
        cur.push(n);
        if i > 0 && now.contains_key(&cur.join("HEAD")) {
            return Some(cur);
        }
    }
    None
}

/// Check a linked worktree's or submodule's git directory made during the run, and copy it to
/// the host when it holds nothing but what git makes for it; quarantine it otherwise.
#[allow(clippy::too_many_arguments)]
fn merge_new_tree(
    v: &View,
    view: &Dir,
    now: &State,
    root: &Path,
    ctx: &Context,
    q: &mut Quarantine,
    out: &mut Vec<GitAction>,
) {
    let real_path = v.shadow.path.join(root);
    let verdict = if names(root).first().map(String::as_str) == Some("worktrees")
        || names(root).iter().rev().nth(1).map(String::as_str) == Some("worktrees")
    {
        check_new_worktree(view, now, root, &v.shadow.path, ctx)
    } else {
        check_new_module(view, now, root, &real_path, ctx)
    };
    if let Err(why) = verdict {
        let quarantined = copy_out(view, root, &real_path, &why, q);
        out.push(GitAction {
            path: real_path,
            what: GitActionKind::NotApplied { why, quarantined },
        });
        return;
    }
    let r = parent_dir(&v.real, root, true).and_then(|rd| {
        if rd.stat(leaf(root))?.is_some() {
            return Err(std::io::Error::other(
                "it appeared on the host during the run too",
            ));
        }
        let vd = parent_dir(view, root, false)?;
        let mut skipped = Vec::new();
        crate::supervise::quarantine::copy_tree(
            &vd,
            leaf(root),
            &rd,
            leaf(root),
            &real_path,
            &mut skipped,
        )
    });
    out.push(GitAction {
        path: real_path.clone(),
        what: match r {
            Ok(()) => GitActionKind::Applied,
            Err(e) => GitActionKind::NotApplied {
                why: format!("could not be applied: {e}"),
                quarantined: copy_out(view, root, &real_path, "could not be applied", q),
            },
        },
    });
}

fn read_small(view: &Dir, rel: &Path) -> Option<String> {
    let pd = parent_dir(view, rel, false).ok()?;
    let b = pd.read(leaf(rel), 1 << 20).ok()?;
    String::from_utf8(b).ok()
}

/// A new `worktrees/<id>`: `commondir` back to the common directory, `gitdir` naming the
/// worktree's `.git` file inside a path the box may write, and only worktree state besides.
fn check_new_worktree(
    view: &Dir,
    now: &State,
    root: &Path,
    common: &Path,
    ctx: &Context,
) -> Result<(), String> {
    let commondir = read_small(view, &root.join("commondir")).unwrap_or_default();
    if commondir.trim() != "../.." {
        return Err("a worktree whose commondir points elsewhere".into());
    }
    let gitdir = read_small(view, &root.join("gitdir")).unwrap_or_default();
    let link = PathBuf::from(gitdir.trim());
    let wt = link.parent().map(Path::to_path_buf).unwrap_or_default();
    let inside =
        |p: &Path| p.starts_with(ctx.workspace) || ctx.writable.iter().any(|w| p.starts_with(w));
    if !link.is_absolute() || link.file_name() != Some(OsStr::new(".git")) || !inside(&wt) {
        return Err("a worktree outside the paths the box may write".into());
    }
    let back = super::discover::read_gitfile(&link);
    if back.as_deref() != Some(&common.join(root)) {
        return Err("a worktree whose .git file does not point back to it".into());
    }
    for rel in now.keys().filter(|k| k.starts_with(root) && *k != root) {
        let inner = rel.strip_prefix(root).unwrap_or(rel);
        let first = names(inner).first().cloned().unwrap_or_default();
        let ok = WORKTREE_FILES.contains(&first.as_str())
            || WORKTREE_DIRS.contains(&first.as_str())
            || first == "gitdir"
            || first == "commondir"
            || first.ends_with(".lock");
        if !ok {
            return Err(format!("a worktree with an unexpected entry `{first}`"));
        }
    }
    Ok(())
}

/// Config keys a fresh clone writes for a submodule.
fn clone_key(name: &str) -> bool {
    matches!(
        name,
        "core.repositoryformatversion"
            | "core.filemode"
            | "core.bare"
            | "core.logallrefupdates"
            | "core.symlinks"
            | "core.ignorecase"
            | "core.precomposeunicode"
            | "core.worktree"
            | "remote.origin.url"
            | "remote.origin.fetch"
            | "extensions.objectformat"
    ) || (name.starts_with("branch.") && (name.ends_with(".remote") || name.ends_with(".merge")))
}

/// A new `modules/<name>`: a clone's config (its worktree inside the workspace), hooks that
/// are only git's `*.sample` files, no redirection of where git reads from.
fn check_new_module(
    view: &Dir,
    now: &State,
    root: &Path,
    real_gitdir: &Path,
    ctx: &Context,
) -> Result<(), String> {
    let text = read_small(view, &root.join("config")).unwrap_or_default();
    let cfg = config::parse(text.as_bytes()).map_err(|_| "a submodule config git cannot read")?;
    for e in &cfg.entries {
        let n = e.name();
        if !clone_key(&n) {
            return Err(format!("a submodule config with `{n}`"));
        }
    }
    if let Some(w) = cfg.last("core.worktree") {
        let wt = crate::profile::expand::normalize(&real_gitdir.join(w).to_string_lossy());
        if !wt.starts_with(ctx.workspace) {
            return Err("a submodule whose worktree is outside the workspace".into());
        }
    }
    for rel in now.keys().filter(|k| k.starts_with(root) && *k != root) {
        let inner = names(rel.strip_prefix(root).unwrap_or(rel));
        let first = inner.first().map(String::as_str).unwrap_or("");
        let bad = match first {
            "hooks" => inner.len() > 1 && !inner[1].ends_with(".sample"),
            "commondir" | "config.worktree" => true,
            // A clone's template makes an empty `branches/`; a remote defined in it is not.
            "branches" | "remotes" => inner.len() > 1,
            "info" => inner.len() > 1 && !INFO_FILES.contains(&inner[1].as_str()),
            "objects" => inner.len() > 2 && inner[1] == "info" && inner[2].contains("alternates"),
            _ => false,
        };
        if bad {
            return Err(format!("a submodule with `{}`", inner.join("/")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitmeta::shadow::{Item, Treatment};

    fn shadow() -> Shadow {
        let it = |n: &str, t| Item {
            name: n.into(),
            treatment: t,
        };
        Shadow {
            path: PathBuf::from("/ws/.git"),
            items: vec![
                it("HEAD", Treatment::Copied),
                it("config", Treatment::Copied),
                it("hooks", Treatment::ReadOnly),
                it("objects", Treatment::WriteThrough),
                it("refs", Treatment::WriteThrough),
                it("worktrees", Treatment::Copied),
            ],
            modules: vec![],
        }
    }

    #[test]
    fn classification() {
        let sh = shadow();
        let had = |p: &Path| p == Path::new("worktrees/old");
        let c = |p: &str| classify(&sh, Path::new(p), &had);
        assert_eq!(c("HEAD"), Class::Allowed);
        assert_eq!(c("index"), Class::Allowed);
        assert_eq!(c("BISECT_LOG"), Class::Allowed);
        assert_eq!(c("rebase-merge/done"), Class::Allowed);
        assert_eq!(c("config"), Class::Config);
        assert_eq!(c("index.lock"), Class::Ignore);
        assert_eq!(c("packed-refs"), Class::Ignore);
        assert_eq!(c("objects/info/alternates"), Class::Ignore);
        assert_eq!(c("hooks/pre-commit"), Class::Ignore);
        assert!(matches!(c("commondir"), Class::Forbidden(_)));
        assert!(matches!(c("config.worktree"), Class::Forbidden(_)));
        assert!(matches!(c("info/attributes"), Class::Forbidden(_)));
        assert_eq!(c("info/sparse-checkout"), Class::Allowed);
        assert!(matches!(c("branches/origin"), Class::Forbidden(_)));
        assert!(matches!(c("anything-else"), Class::Forbidden(_)));
        // opencode's project id, a file git never reads; not a directory of that name.
        assert_eq!(c("opencode"), Class::Allowed);
        assert!(matches!(c("opencode/x"), Class::Forbidden(_)));
        assert_eq!(c("worktrees/old/HEAD"), Class::Allowed);
        assert_eq!(c("worktrees/old/logs/HEAD"), Class::Allowed);
        assert!(matches!(c("worktrees/old/commondir"), Class::Forbidden(_)));
        assert!(matches!(c("worktrees/old/gitdir"), Class::Forbidden(_)));
        assert_eq!(c("worktrees/new/HEAD"), Class::NewWorktree("new".into()));
        assert_eq!(c("modules/lib/config"), Class::NewModule);
    }

    #[test]
    fn config_keys_git_writes_for_ordinary_commands() {
        let ctx = Context {
            workspace: Path::new("/nonexistent-ws"),
            writable: &[],
        };
        let before = b"[core]\n\tbare = false\n[remote \"origin\"]\n\turl = /r.git\n";
        let tracking = b"[core]\n\tbare = false\n[remote \"origin\"]\n\turl = /r.git\n[branch \"x\"]\n\tremote = origin\n\tmerge = refs/heads/x\n";
        assert!(config_verdict(before, tracking, &ctx).is_ok());
        let fsmonitor = b"[core]\n\tbare = false\n\tfsmonitor = touch /tmp/x\n[remote \"origin\"]\n\turl = /r.git\n";
        let bad = config_verdict(before, fsmonitor, &ctx).unwrap_err();
        assert_eq!(bad, vec!["core.fsmonitor (runs a command)".to_string()]);
        let user =
            b"[core]\n\tbare = false\n[remote \"origin\"]\n\turl = /r.git\n[user]\n\tname = X\n";
        assert_eq!(
            config_verdict(before, user, &ctx).unwrap_err(),
            vec!["user.name".to_string()]
        );
        let redirect = b"[core]\n\tbare = false\n[remote \"origin\"]\n\turl = /evil.git\n";
        assert!(config_verdict(before, redirect, &ctx).is_err());
        assert!(config_verdict(before, b"[core\n", &ctx).is_err());
    }

    #[test]
    fn submodule_urls_only_as_declared() {
        let gm = config::parse(b"[submodule \"lib\"]\n\tpath = lib\n\turl = ../lib.git\n").unwrap();
        let before =
            config::parse(b"[remote \"origin\"]\n\turl = https://h/org/app.git\n").unwrap();
        let ok = config::parse(b"[submodule \"lib\"]\n\turl = https://h/org/lib.git\n").unwrap();
        let evil = config::parse(b"[submodule \"lib\"]\n\turl = https://evil/lib.git\n").unwrap();
        let ctx = Context {
            workspace: Path::new("/ws"),
            writable: &[],
        };
        // `../lib.git` against `https://h/org/app.git`: git drops the last component first.
        let resolved = submodule_url_declared("submodule.lib.url", &ok, &before, Some(&gm), &ctx);
        let refused = submodule_url_declared("submodule.lib.url", &evil, &before, Some(&gm), &ctx);
        assert!(resolved);
        assert!(!refused);
    }

    #[test]
    fn allowed_keys() {
        assert!(allowed_key("branch.main.remote"));
        assert!(allowed_key("branch.feature/x.merge"));
        assert!(allowed_key("submodule.lib.active"));
        assert!(!allowed_key("branch.remote"));
        assert!(!allowed_key("core.hookspath"));
        assert!(!allowed_key("remote.origin.url"));
        assert!(!allowed_key("user.email"));
    }
}
