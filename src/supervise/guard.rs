//! Post-run guard for protected paths the mount namespace cannot cover: paths that did not
//! exist at launch (nothing to bind read-only, and no placeholder may be left on the host), and
//! every protected path when no user namespace is available. Snapshot before, undo after, warn.
//!
//! The guard runs outside the box, as the person, on trees the box could write, so: it acts only
//! through directory descriptors and never follows a symlink ([`crate::safefs`]); it checks the
//! (dev, ino) of every directory it descends through against the snapshot; it never deletes
//! (whatever it finds at a protected path may be the person's own work, written on the host
//! while the box ran), it moves it to the [`Quarantine`]; and it restores by putting a NEW file
//! in place, so a descriptor the box kept open points at the quarantined inode, never at the
//! restored one.

use crate::safefs::{Dir, Kind, Meta};
use crate::supervise::quarantine::Quarantine;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

const MAX_FILES: usize = 4096;
const MAX_BYTES: u64 = 32 << 20;
/// Format of the persisted snapshot.
#[allow(dead_code)] // persist/load: wired into run.rs with the journal by the lead engineer.
const FORMAT: u32 = 1;

type Id = (u64, u64);

/// A directory between an anchor and a protected path, as it was at launch.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Step {
    Dir {
        id: Id,
        mode: u32,
    },
    Missing,
    /// A file or symlink stood there at launch: the protected path was unreachable.
    NotDir {
        kind: Kind,
        target: Option<Name>,
    },
}

/// A protected entry (and, for a directory, everything below it), as it was at launch.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Node {
    Missing,
    File {
        mode: u32,
        size: u64,
        mtime_ns: i128,
        /// `None` beyond the size bounds: then a change is only reported.
        #[serde(with = "b64")]
        data: Option<Vec<u8>>,
    },
    Link {
        target: Name,
    },
    Dir {
        mode: u32,
        id: Id,
        mtime_ns: i128,
        /// `None` beyond the entry bound: then a change is only reported.
        children: Option<Vec<(Name, Node)>>,
    },
    Other {
        id: Id,
    },
    Unreadable {
        why: String,
    },
}

/// File contents as base64 in the persisted snapshot.
mod b64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&crate::net::http::base64(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| {
                crate::net::http::base64_decode(&t)
                    .ok_or_else(|| serde::de::Error::custom("bad base64"))
            })
            .transpose()
    }
}

/// A file name or path in the persisted snapshot: a JSON string when it is UTF-8, else its bytes
/// as base64 (nothing is lost, and the file stays readable).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name(OsString);

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum NameRepr {
    Text(String),
    Bytes { base64: String },
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use std::os::unix::ffi::OsStrExt;
        match self.0.to_str() {
            Some(t) => NameRepr::Text(t.to_string()),
            None => NameRepr::Bytes {
                base64: crate::net::http::base64(self.0.as_bytes()),
            },
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        use std::os::unix::ffi::OsStringExt;
        Ok(Name(match NameRepr::deserialize(d)? {
            NameRepr::Text(t) => OsString::from(t),
            NameRepr::Bytes { base64 } => OsString::from_vec(
                crate::net::http::base64_decode(&base64)
                    .ok_or_else(|| serde::de::Error::custom("bad base64"))?,
            ),
        }))
    }
}

impl std::ops::Deref for Name {
    type Target = OsStr;
    fn deref(&self) -> &OsStr {
        &self.0
    }
}

impl AsRef<OsStr> for Name {
    fn as_ref(&self) -> &OsStr {
        &self.0
    }
}

impl AsRef<Path> for Name {
    fn as_ref(&self) -> &Path {
        Path::new(&self.0)
    }
}

impl<T: AsRef<OsStr> + ?Sized> From<&T> for Name {
    fn from(n: &T) -> Name {
        Name(n.as_ref().to_os_string())
    }
}

/// One protected path: its anchor, the directories on the way, and what it was.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Root {
    path: Name,
    anchor: Name,
    anchor_id: Id,
    steps: Vec<(Name, Step)>,
    name: Name,
    node: Node,
    /// The launch state was replaced by content a judge wrote (an agent's configuration
    /// without the changes not kept): the restore then says "rewritten", not "put back".
    #[serde(default)]
    rewritten: bool,
}

/// A guarded file as it was at launch, for a caller that judges its change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchState<'a> {
    /// Nothing there.
    Missing,
    /// A regular file within the snapshot's bounds.
    File {
        /// Its content.
        data: &'a [u8],
        /// Its permission bits.
        mode: u32,
    },
    /// Anything else (a directory, a symlink, too large, unreadable): only the restore may
    /// touch it.
    Other,
}

/// A guarded file now, read through the directory held since launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CurrentState {
    /// Nothing there.
    Missing,
    /// A regular file.
    File {
        /// Its content.
        data: Vec<u8>,
        /// Its permission bits.
        mode: u32,
    },
    /// Anything else, or unreadable.
    Other,
}

/// Descriptors held since launch (none after [`Guard::load`]).
#[derive(Debug)]
struct Held {
    anchor: Result<Dir, String>,
    steps: Vec<Option<Dir>>,
    root: Option<Dir>,
}

/// The persisted form.
#[allow(dead_code)] // persist/load: wired into run.rs with the journal by the lead engineer.
#[derive(serde::Serialize, serde::Deserialize)]
struct Persisted {
    format: u32,
    workspace: Name,
    roots: Vec<Root>,
}

/// The state of the protected paths at launch, with descriptors on their directories.
#[derive(Debug)]
pub struct Guard {
    #[allow(dead_code)] // read by persist, which the lead engineer wires into run.rs.
    workspace: PathBuf,
    roots: Vec<Root>,
    held: Vec<Held>,
    /// Directories a restore put in place (moved back or recreated) and their identity, so a
    /// later pass takes them for the ones of launch.
    accepted: RefCell<HashMap<PathBuf, Id>>,
}

/// Why something was moved to the quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// It was not there at launch; agentbox cannot know who wrote it (the box or the person).
    AppearedDuringRun,
    /// It differed from the snapshot taken at launch.
    ChangedDuringRun,
}

/// What the guard did about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// Moved to the quarantine, at `to`.
    Quarantined {
        /// Where it is now.
        to: PathBuf,
        /// Why.
        cause: Cause,
    },
    /// Put back from the snapshot.
    Recreated,
    /// Written from content a judge gave (the box's version without what is not kept).
    Rewritten,
    /// A directory on the way to a protected path was replaced; the replacement is at `to`.
    Replaced {
        /// Where the replacement is now.
        to: PathBuf,
    },
    /// The directory seen at launch was found at `from` (inside the anchor) and moved back.
    MovedBack {
        /// Where it had been moved.
        from: PathBuf,
    },
    /// Permission bits put back.
    ModeRestored,
    /// Not restored; the person must look.
    NotRestored {
        /// Why (never file content).
        why: String,
    },
}

/// One thing the guard did, for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The path concerned.
    pub path: PathBuf,
    /// What was done.
    pub what: ActionKind,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.what {
            ActionKind::Quarantined {
                to,
                cause: Cause::AppearedDuringRun,
            } => write!(
                f,
                "{p} appeared during the run (agentbox cannot tell who wrote it): moved to {}",
                to.display()
            ),
            ActionKind::Quarantined {
                to,
                cause: Cause::ChangedDuringRun,
            } => write!(f, "{p} changed during the run: moved to {}", to.display()),
            ActionKind::Recreated => write!(f, "{p} put back as it was at launch"),
            ActionKind::Rewritten => write!(
                f,
                "{p} written anew with the run's other changes, without those named"
            ),
            ActionKind::Replaced { to } => write!(
                f,
                "{p} was replaced during the run (a directory on the way to protected paths): \
                 the replacement was moved to {}",
                to.display()
            ),
            ActionKind::MovedBack { from } => write!(
                f,
                "{p}: the directory seen at launch was found at {} and moved back",
                from.display()
            ),
            ActionKind::ModeRestored => write!(f, "{p}: permissions put back as they were"),
            ActionKind::NotRestored { why } => {
                write!(f, "{p} NOT restored: {why} (check it by hand)")
            }
        }
    }
}

/// How much of the snapshot budget is used.
#[derive(Default)]
struct Budget {
    entries: usize,
    bytes: u64,
}

/// Snapshot of the entry `name` of `dir`.
fn snap(dir: &Dir, name: &OsStr, b: &mut Budget) -> Node {
    let m = match dir.stat(name) {
        Ok(Some(m)) => m,
        Ok(None) => return Node::Missing,
        Err(e) => return unreadable(e),
    };
    b.entries += 1;
    match m.kind {
        Kind::File => {
            let mut data = None;
            if b.entries <= MAX_FILES && b.bytes + m.size <= MAX_BYTES {
                match dir.read(name, MAX_BYTES - b.bytes) {
                    Ok(d) => {
                        b.bytes += d.len() as u64;
                        data = Some(d);
                    }
                    // Grew past the bound while read: only reported then.
                    Err(e) if e.kind() == io::ErrorKind::InvalidData => {}
                    Err(e) => return unreadable(e),
                }
            }
            Node::File {
                mode: m.mode,
                size: data.as_ref().map_or(m.size, |d| d.len() as u64),
                mtime_ns: m.mtime_ns,
                data,
            }
        }
        Kind::Symlink => match dir.read_link(name) {
            Ok(t) => Node::Link {
                target: Name(t.into_os_string()),
            },
            Err(e) => unreadable(e),
        },
        Kind::Dir => {
            let d = match dir.open_beneath(Path::new(name)) {
                Ok(d) if d.identity() == m.identity() => d,
                Ok(_) => return unreadable(io::Error::other("replaced while read")),
                Err(e) => return unreadable(e),
            };
            let children = match d.list() {
                // All or nothing: a partial list would make the rest look new at restore.
                Ok(l) if b.entries + l.len() <= MAX_FILES => Some(
                    l.into_iter()
                        .map(|(n, _)| {
                            let k = snap(&d, &n, b);
                            (Name(n), k)
                        })
                        .collect(),
                ),
                Ok(_) => None,
                Err(e) => return unreadable(e),
            };
            Node::Dir {
                mode: m.mode,
                id: m.identity(),
                mtime_ns: m.mtime_ns,
                children,
            }
        }
        Kind::Other => Node::Other { id: m.identity() },
    }
}

fn unreadable(e: io::Error) -> Node {
    Node::Unreadable { why: e.to_string() }
}

/// The plain components of `p`, or `None` when it has `..` (not a path the plan produces).
fn plain(p: &Path) -> Option<Vec<OsString>> {
    let mut out = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n.to_os_string()),
            Component::RootDir | Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// The nearest existing ancestor of `p` that is a real directory (not a symlink), opened now.
fn outside_anchor(p: &Path) -> Option<(PathBuf, Dir)> {
    for a in p.ancestors().skip(1) {
        if std::fs::symlink_metadata(a).is_ok_and(|m| m.is_dir()) {
            if let Ok(d) = Dir::open(a) {
                return Some((a.to_path_buf(), d));
            }
        }
    }
    None
}

impl Guard {
    /// Records `paths` (absolute, existing or not) before the run. Paths inside `workspace`
    /// are anchored on it; others on their nearest existing ancestor directory.
    pub fn take(workspace: &Path, paths: &[PathBuf]) -> io::Result<Guard> {
        let ws = Dir::open(workspace)?;
        let mut g = Guard {
            workspace: workspace.to_path_buf(),
            roots: Vec::new(),
            held: Vec::new(),
            accepted: RefCell::default(),
        };
        let mut budget = Budget::default();
        for p in paths {
            let inside = p
                .strip_prefix(workspace)
                .is_ok_and(|r| r.components().next().is_some());
            let (anchor_path, anchor) = if inside {
                (workspace.to_path_buf(), ws.try_clone()?)
            } else {
                match outside_anchor(p) {
                    Some(a) => a,
                    None => {
                        tracing::warn!("guard: no directory to anchor {}", p.display());
                        continue;
                    }
                }
            };
            let comps = match p.strip_prefix(&anchor_path).ok().and_then(plain) {
                Some(c) if p.is_absolute() && !c.is_empty() => c,
                _ => {
                    tracing::warn!("guard: {} is not a path it can guard", p.display());
                    continue;
                }
            };
            let (root, held) = Self::take_one(p, &anchor_path, anchor, &comps, &mut budget);
            g.roots.push(root);
            g.held.push(held);
        }
        Ok(g)
    }

    fn take_one(
        p: &Path,
        anchor_path: &Path,
        anchor: Dir,
        comps: &[OsString],
        budget: &mut Budget,
    ) -> (Root, Held) {
        let (name, dirs) = comps.split_last().expect("non-empty");
        let mut steps = Vec::new();
        let mut held_steps = Vec::new();
        let mut cur = anchor.try_clone();
        let mut node = None;
        for d in dirs {
            let step = match (&cur, &node) {
                (Ok(c), None) => match c.stat(d) {
                    Ok(Some(m)) if m.kind == Kind::Dir => match c.open_beneath(Path::new(d)) {
                        Ok(sub) if sub.identity() == m.identity() => {
                            held_steps.push(sub.try_clone().ok());
                            cur = Ok(sub);
                            steps.push((
                                d.into(),
                                Step::Dir {
                                    id: m.identity(),
                                    mode: m.mode,
                                },
                            ));
                            continue;
                        }
                        Ok(_) => {
                            node = Some(unreadable(io::Error::other("replaced while read")));
                            Step::Missing
                        }
                        Err(e) => {
                            node = Some(unreadable(e));
                            Step::Missing
                        }
                    },
                    Ok(Some(m)) => {
                        node = Some(Node::Missing);
                        Step::NotDir {
                            kind: m.kind,
                            target: (m.kind == Kind::Symlink)
                                .then(|| c.read_link(d).ok().map(|t| Name::from(&t)))
                                .flatten(),
                        }
                    }
                    Ok(None) => {
                        node = Some(Node::Missing);
                        Step::Missing
                    }
                    Err(e) => {
                        node = Some(unreadable(e));
                        Step::Missing
                    }
                },
                (Err(e), None) => {
                    node = Some(unreadable(io::Error::new(e.kind(), e.to_string())));
                    Step::Missing
                }
                (_, Some(_)) => Step::Missing,
            };
            held_steps.push(None);
            steps.push((d.into(), step));
        }
        let mut held_root = None;
        let node = match (node, &cur) {
            (Some(n), _) => n,
            (None, Ok(c)) => {
                let n = snap(c, name, budget);
                if let Node::Dir { id, .. } = &n {
                    held_root = c
                        .open_beneath(Path::new(name))
                        .ok()
                        .filter(|d| d.identity() == *id);
                }
                n
            }
            (None, Err(e)) => unreadable(io::Error::new(e.kind(), e.to_string())),
        };
        let root = Root {
            path: p.into(),
            anchor: anchor_path.into(),
            anchor_id: anchor.identity(),
            steps,
            name: name.into(),
            node,
            rewritten: false,
        };
        let held = Held {
            anchor: Ok(anchor),
            steps: held_steps,
            root: held_root,
        };
        (root, held)
    }

    /// The protected file `path` and the directory holding it, as held since launch.
    fn file_root(&self, path: &Path) -> Option<(usize, &Dir)> {
        let i = self
            .roots
            .iter()
            .position(|r| r.path.0 == path.as_os_str())?;
        let h = &self.held[i];
        let dir = match h.steps.last() {
            Some(Some(d)) => d,
            Some(None) => return None,
            None => h.anchor.as_ref().ok()?,
        };
        Some((i, dir))
    }

    /// The content of the protected file `path` at launch (a regular file within the bounds).
    pub fn launch_file(&self, path: &Path) -> Option<&[u8]> {
        let r = self.roots.iter().find(|r| r.path.0 == path.as_os_str())?;
        match &r.node {
            Node::File { data: Some(d), .. } => Some(d),
            _ => None,
        }
    }

    /// The content of the protected file `path` now, read through the directory descriptor held
    /// since launch (never through a symlink).
    pub fn current_file(&self, path: &Path) -> Option<Vec<u8>> {
        let (i, dir) = self.file_root(path)?;
        dir.read(&self.roots[i].name.0, MAX_BYTES).ok()
    }

    /// Take the protected file `path` as it is now for its launch state, so the restore leaves
    /// it: for a change the caller judged legitimate (the config keys git writes for
    /// `push -u`, `branch -m` or `submodule init`). False when it is not a regular file.
    pub fn accept_current(&mut self, path: &Path) -> bool {
        let Some((i, dir)) = self.file_root(path) else {
            return false;
        };
        let name = self.roots[i].name.0.clone();
        let (Ok(Some(m)), Ok(data)) = (dir.stat(&name), dir.read(&name, MAX_BYTES)) else {
            return false;
        };
        if m.kind != Kind::File {
            return false;
        }
        self.roots[i].node = Node::File {
            mode: m.mode,
            size: m.size,
            mtime_ns: m.mtime_ns,
            data: Some(data),
        };
        true
    }

    /// How the guarded `path` was at launch.
    pub fn launch_state(&self, path: &Path) -> LaunchState<'_> {
        let Some(r) = self.roots.iter().find(|r| r.path.0 == path.as_os_str()) else {
            return LaunchState::Other;
        };
        match &r.node {
            Node::Missing => LaunchState::Missing,
            Node::File {
                data: Some(d),
                mode,
                ..
            } => LaunchState::File {
                data: d,
                mode: *mode,
            },
            _ => LaunchState::Other,
        }
    }

    /// How the guarded `path` is now (never through a symlink).
    pub fn current_state(&self, path: &Path) -> CurrentState {
        let Some((i, dir)) = self.file_root(path) else {
            return CurrentState::Other;
        };
        let name = &self.roots[i].name.0;
        match dir.stat(name) {
            Ok(None) => CurrentState::Missing,
            Ok(Some(m)) if m.kind == Kind::File => {
                dir.read(name, MAX_BYTES)
                    .map_or(CurrentState::Other, |data| CurrentState::File {
                        data,
                        mode: m.mode,
                    })
            }
            _ => CurrentState::Other,
        }
    }

    /// Make `data` (mode `mode`) the state the restore puts at the guarded file `path`: what
    /// is there now goes to the quarantine and a new file with `data` takes its place. False
    /// when `path` is not guarded.
    pub fn accept_content(&mut self, path: &Path, data: Vec<u8>, mode: u32) -> bool {
        let Some(r) = self.roots.iter_mut().find(|r| r.path.0 == path.as_os_str()) else {
            return false;
        };
        r.node = Node::File {
            mode,
            size: data.len() as u64,
            mtime_ns: 0,
            data: Some(data),
        };
        r.rewritten = true;
        true
    }

    /// Writes what [`Guard::restore`] needs to `path` (atomically, mode 0600: it holds file
    /// contents), for the restore after a crash.
    #[allow(dead_code)] // wired into run.rs with the journal by the lead engineer.
    pub fn persist(&self, path: &Path) -> io::Result<()> {
        let p = Persisted {
            format: FORMAT,
            workspace: (&self.workspace).into(),
            roots: self.roots.clone(),
        };
        let text = serde_json::to_vec(&p).map_err(io::Error::other)?;
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file path",
            ));
        };
        Dir::open(dir)?.replace_file(name, &text)
    }

    /// Reads a snapshot written by [`Guard::persist`] and re-opens its anchors by path (no
    /// descriptor survived the crash; each anchor must still be the directory seen at launch).
    #[allow(dead_code)] // the crash path: wired into run.rs with the journal by the lead.
    pub fn load(path: &Path) -> io::Result<Guard> {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file path",
            ));
        };
        let d = Dir::open(dir)?;
        let m = d
            .stat(name)?
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        // What it holds is written back by the person's authority: only their own, private file.
        if m.uid != nix::unistd::getuid().as_raw() || m.mode & 0o022 != 0 {
            return Err(io::Error::other(
                "the snapshot is not a private file of this user",
            ));
        }
        let bytes = d.read(name, 4 * MAX_BYTES + (64 << 20))?;
        let p: Persisted = serde_json::from_slice(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if p.format != FORMAT {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "snapshot format {} (this agentbox reads {FORMAT})",
                    p.format
                ),
            ));
        }
        let held = p
            .roots
            .iter()
            .map(|r| {
                let anchor = match Dir::open(Path::new(&r.anchor)) {
                    Ok(a) if a.identity() == r.anchor_id => Ok(a),
                    Ok(_) => Err("it is no longer the directory seen at launch".to_string()),
                    Err(e) => Err(e.to_string()),
                };
                Held {
                    anchor,
                    steps: Vec::new(),
                    root: None,
                }
            })
            .collect();
        Ok(Guard {
            workspace: PathBuf::from(p.workspace.0),
            roots: p.roots,
            held,
            accepted: RefCell::default(),
        })
    }

    /// Compares with the current state and undoes every change, moving whatever is found in the
    /// way to `q`; returns what was done, one action per path.
    pub fn restore(&self, q: &mut Quarantine) -> Vec<Action> {
        let mut accepted = self.accepted.borrow_mut();
        let mut r = Restorer {
            q,
            acts: Vec::new(),
            accepted: &mut accepted,
            reported: HashSet::new(),
            rewriting: false,
        };
        for (root, held) in self.roots.iter().zip(&self.held) {
            r.rewriting = root.rewritten;
            r.root(root, held);
        }
        r.acts
    }
}

/// One restore pass.
struct Restorer<'a> {
    q: &'a mut Quarantine,
    acts: Vec<Action>,
    /// Directories a restore put back or recreated (their new identity).
    accepted: &'a mut HashMap<PathBuf, Id>,
    /// Paths already reported as not restorable (several roots share directories).
    reported: HashSet<PathBuf>,
    /// The root being restored was rewritten by a judge ([`Guard::accept_content`]).
    rewriting: bool,
}

impl Restorer<'_> {
    fn act(&mut self, path: &Path, what: ActionKind) {
        self.acts.push(Action {
            path: path.to_path_buf(),
            what,
        });
    }

    /// True when `now` is the directory of launch at `path` (or the one a restore put there).
    fn known(&self, path: &Path, launch: Id, now: Id) -> bool {
        now == launch || self.accepted.get(path) == Some(&now)
    }

    fn not_restored(&mut self, path: &Path, why: impl Into<String>) {
        if self.reported.insert(path.to_path_buf()) {
            self.act(path, ActionKind::NotRestored { why: why.into() });
        }
    }

    fn root(&mut self, root: &Root, held: &Held) {
        let path = PathBuf::from(&root.path);
        let needed = !matches!(root.node, Node::Missing);
        let anchor = match &held.anchor {
            Ok(a) => a,
            Err(why) => {
                let anchor = PathBuf::from(&root.anchor);
                self.not_restored(&anchor, format!("cannot open it ({why})"));
                return;
            }
        };
        let mut cur = match anchor.try_clone() {
            Ok(c) => c,
            Err(e) => return self.not_restored(&path, e.to_string()),
        };
        let mut here = PathBuf::from(&root.anchor);
        for (k, (name, step)) in root.steps.iter().enumerate() {
            here.push(name);
            let now = match cur.stat(name) {
                Ok(n) => n,
                Err(e) => return self.not_restored(&here, e.to_string()),
            };
            match step {
                Step::Dir { id, mode } => {
                    if let Some(m) =
                        now.filter(|m| m.kind == Kind::Dir && self.known(&here, *id, m.identity()))
                    {
                        match cur.open_beneath(Path::new(name)) {
                            Ok(d) if d.identity() == m.identity() => {
                                cur = d;
                                continue;
                            }
                            _ => return self.not_restored(&here, "it changed while checked"),
                        }
                    }
                    let h = held.steps.get(k).and_then(Option::as_ref);
                    match self.put_back_dir(&cur, name, &here, now, h, anchor, *mode, needed) {
                        Some(d) => {
                            self.accepted.insert(here.clone(), d.identity());
                            cur = d;
                        }
                        None => return,
                    }
                }
                Step::Missing | Step::NotDir { .. } => match now {
                    // Created during the run (or in place of a file): the protected path may
                    // have appeared below it. No identity to check; no symlink is followed.
                    Some(m) if m.kind == Kind::Dir => match cur.open_beneath(Path::new(name)) {
                        Ok(d) => cur = d,
                        Err(e) => return self.not_restored(&here, e.to_string()),
                    },
                    // A new symlink here makes the protected path resolve somewhere (git follows
                    // a `.git` symlink to its hooks): it goes, unless it is the one of launch.
                    Some(m) if m.kind == Kind::Symlink => {
                        let same = match step {
                            Step::NotDir {
                                target: Some(t), ..
                            } => cur.read_link(name).is_ok_and(|n| n.as_os_str() == t.0),
                            _ => false,
                        };
                        if !same {
                            let cause = match step {
                                Step::Missing => Cause::AppearedDuringRun,
                                _ => Cause::ChangedDuringRun,
                            };
                            self.quarantine(&cur, name, &here, cause);
                        }
                        return;
                    }
                    // Nothing can be at the protected path.
                    _ => return,
                },
            }
        }
        self.node(
            &cur,
            &root.name,
            &root.node,
            &path,
            held.root.as_ref(),
            anchor,
        );
    }

    /// The directory `name` on the way is not the one of launch: move aside what stands there,
    /// move the original back when it is still inside the anchor, else recreate it (only when
    /// something below it must be restored). Returns the directory now in place.
    #[allow(clippy::too_many_arguments)]
    fn put_back_dir(
        &mut self,
        cur: &Dir,
        name: &OsStr,
        here: &Path,
        now: Option<Meta>,
        held: Option<&Dir>,
        anchor: &Dir,
        mode: u32,
        needed: bool,
    ) -> Option<Dir> {
        // Found before the replacement moves: the original may be inside it.
        let original = held.and_then(|h| locate(h, anchor).map(|l| (h.identity(), l)));
        if now.is_some() {
            let why = "stood in place of a directory on the way to a protected path";
            match self.q.take(cur, name, here, why) {
                Ok(to) => self.act(here, ActionKind::Replaced { to }),
                Err(e) => {
                    self.not_restored(
                        here,
                        format!("it was replaced, and the replacement could not be moved to the quarantine: {e}"),
                    );
                    return None;
                }
            }
        }
        if let Some((id, (parent, n, from))) = original {
            if parent.rename(&n, cur, name, true).is_ok() {
                self.act(here, ActionKind::MovedBack { from });
                return match cur.open_beneath(Path::new(name)) {
                    Ok(d) if d.identity() == id => Some(d),
                    _ => {
                        self.not_restored(here, "it changed while moved back");
                        None
                    }
                };
            }
        }
        let gone = format!(
            "the directory seen at launch is gone (not found inside {})",
            anchor.path().display()
        );
        if !needed {
            self.not_restored(here, gone);
            return None;
        }
        match cur
            .mkdir(name, mode)
            .and_then(|_| cur.open_beneath(Path::new(name)))
        {
            Ok(d) => {
                // Only the protected paths below it can be put back: say so.
                self.not_restored(
                    here,
                    format!("{gone}; recreated empty, with only the protected paths below it"),
                );
                Some(d)
            }
            Err(e) => {
                self.not_restored(here, format!("cannot recreate it: {e}"));
                None
            }
        }
    }

    /// Moves `name` to the quarantine; false (reported) when it could not be moved.
    fn quarantine(&mut self, dir: &Dir, name: &OsStr, path: &Path, cause: Cause) -> bool {
        let reason = match cause {
            Cause::AppearedDuringRun => "appeared during the run at a protected path",
            Cause::ChangedDuringRun => "changed during the run at a protected path",
        };
        match self.q.take(dir, name, path, reason) {
            Ok(to) => {
                self.act(path, ActionKind::Quarantined { to, cause });
                true
            }
            Err(e) => {
                self.not_restored(path, format!("could not be moved to the quarantine: {e}"));
                false
            }
        }
    }

    /// Makes the entry `name` of `parent` what `node` recorded.
    fn node(
        &mut self,
        parent: &Dir,
        name: &OsStr,
        node: &Node,
        path: &Path,
        held: Option<&Dir>,
        anchor: &Dir,
    ) {
        let now = match parent.stat(name) {
            Ok(n) => n,
            Err(e) => return self.not_restored(path, e.to_string()),
        };
        match node {
            Node::Missing => {
                if now.is_some() {
                    self.quarantine(parent, name, path, Cause::AppearedDuringRun);
                }
            }
            Node::Unreadable { why } => self.not_restored(
                path,
                format!("it could not be read at launch ({why}), so it was not checked"),
            ),
            Node::Other { id } => {
                if !now.is_some_and(|m| m.kind == Kind::Other && m.identity() == *id) {
                    self.not_restored(path, "a special file (fifo, socket, device) changed");
                }
            }
            Node::File {
                mode,
                size,
                mtime_ns,
                data,
            } => {
                // Content and mode, not the inode: a file put back is a new inode, and a later
                // pass must not take it for a change.
                let same = now.is_some_and(|m| {
                    m.kind == Kind::File
                        && m.mode == *mode
                        && match data {
                            Some(d) => {
                                m.size == d.len() as u64
                                    && parent.read(name, d.len() as u64).is_ok_and(|b| b == *d)
                            }
                            None => m.size == *size && m.mtime_ns == *mtime_ns,
                        }
                });
                if same {
                    return;
                }
                if data.is_none() {
                    return self.not_restored(
                        path,
                        "it changed, and it was too large to snapshot, so it was left as it is",
                    );
                }
                if now.is_some() && !self.quarantine(parent, name, path, Cause::ChangedDuringRun) {
                    return;
                }
                self.rebuild(parent, name, node, path);
            }
            Node::Link { target } => {
                let same = now.is_some_and(|m| m.kind == Kind::Symlink)
                    && parent
                        .read_link(name)
                        .is_ok_and(|t| t.as_os_str() == target.0);
                if same {
                    return;
                }
                if now.is_some() && !self.quarantine(parent, name, path, Cause::ChangedDuringRun) {
                    return;
                }
                self.rebuild(parent, name, node, path);
            }
            Node::Dir { id, .. } => {
                if now.is_some_and(|m| m.kind == Kind::Dir) {
                    match parent.open_beneath(Path::new(name)) {
                        Ok(d) if self.known(path, *id, d.identity()) => {
                            return self.contents(&d, node, path, anchor)
                        }
                        Ok(_) => {}
                        Err(e) => return self.not_restored(path, e.to_string()),
                    }
                }
                // Another directory, something else, or nothing: the one of launch was moved
                // (find it before what stands here moves: it may be inside) or removed.
                let original = held.and_then(|h| locate(h, anchor));
                if now.is_some() && !self.quarantine(parent, name, path, Cause::ChangedDuringRun) {
                    return;
                }
                if let Some((p, n, from)) = original {
                    if p.rename(&n, parent, name, true).is_ok() {
                        self.act(path, ActionKind::MovedBack { from });
                        match parent.open_beneath(Path::new(name)) {
                            Ok(d) if d.identity() == *id => self.contents(&d, node, path, anchor),
                            _ => self.not_restored(path, "it changed while moved back"),
                        }
                        return;
                    }
                }
                self.rebuild(parent, name, node, path);
            }
        }
    }

    /// The directory of launch is in place: put its mode and entries back.
    fn contents(&mut self, d: &Dir, node: &Node, path: &Path, anchor: &Dir) {
        let Node::Dir {
            mode,
            mtime_ns,
            children,
            ..
        } = node
        else {
            return;
        };
        let now = match d.meta() {
            Ok(m) => m,
            Err(e) => return self.not_restored(path, e.to_string()),
        };
        // Entries first (with access for agentbox), the exact mode last.
        let mode_changed = now.mode != *mode;
        if mode_changed {
            let _ = d.chmod(*mode | 0o700);
        }
        match children {
            None => {
                if now.mtime_ns != *mtime_ns {
                    self.not_restored(
                        path,
                        "its entries changed, and it had too many to snapshot, so they were left as they are",
                    );
                }
            }
            Some(kids) => {
                let listed = match d.list() {
                    Ok(l) => l,
                    Err(e) => return self.not_restored(path, e.to_string()),
                };
                let mut all: BTreeMap<&OsStr, &Node> =
                    kids.iter().map(|(n, k)| (n.0.as_os_str(), k)).collect();
                for (n, _) in &listed {
                    all.entry(n.as_os_str()).or_insert(&Node::Missing);
                }
                for (n, k) in all {
                    self.node(d, n, k, &path.join(n), None, anchor);
                }
            }
        }
        if mode_changed {
            match d.chmod(*mode) {
                Ok(()) => self.act(path, ActionKind::ModeRestored),
                Err(e) => self.not_restored(path, format!("cannot reset its permissions: {e}")),
            }
        }
    }

    /// Recreates `name` from the snapshot (nothing is in the way); one action for the tree.
    fn rebuild(&mut self, parent: &Dir, name: &OsStr, node: &Node, path: &Path) {
        match build(parent, name, node, path, self.accepted) {
            Ok(()) if self.rewriting => self.act(path, ActionKind::Rewritten),
            Ok(()) => self.act(path, ActionKind::Recreated),
            Err(e) => self.not_restored(path, format!("cannot put it back: {e}")),
        }
    }
}

/// Creates `name` in `parent` as `node` recorded it, as new entries (O_EXCL): a descriptor the
/// box kept on a previous inode never reaches these.
fn build(
    parent: &Dir,
    name: &OsStr,
    node: &Node,
    path: &Path,
    made: &mut HashMap<PathBuf, Id>,
) -> io::Result<()> {
    match node {
        Node::Missing => Ok(()),
        Node::Unreadable { .. } | Node::Other { .. } => Err(io::Error::other(
            "it was not snapshotted (unreadable or a special file)",
        )),
        Node::File { data: None, .. } => Err(io::Error::other("it was too large to snapshot")),
        Node::File {
            data: Some(d),
            mode,
            ..
        } => parent.create_file(name, d, *mode),
        Node::Link { target } => parent.symlink(name, Path::new(target)),
        Node::Dir { mode, children, .. } => {
            parent.mkdir(name, 0o700)?;
            let d = parent.open_beneath(Path::new(name))?;
            made.insert(path.to_path_buf(), d.identity());
            let mut first_err = None;
            for (n, k) in children.iter().flatten() {
                if let Err(e) = build(&d, n, k, &path.join(n), made) {
                    first_err.get_or_insert(e);
                }
            }
            d.sync()?;
            d.chmod(*mode)?;
            match (first_err, children) {
                (Some(e), _) => Err(e),
                (None, None) => Err(io::Error::other(
                    "only the directory: it had too many entries to snapshot",
                )),
                (None, Some(_)) => Ok(()),
            }
        }
    }
}

/// Where the directory `held` (open since launch) is now, when that is inside `anchor`: its
/// parent, its name there, and its path (for messages).
fn locate(held: &Dir, anchor: &Dir) -> Option<(Dir, OsString, PathBuf)> {
    let mut child = held.identity();
    let mut d = held.open_parent().ok()?;
    let mut names: Vec<OsString> = Vec::new();
    let mut parent = None;
    for _ in 0..256 {
        names.push(entry_with_identity(&d, child)?);
        if parent.is_none() {
            parent = Some(d.try_clone().ok()?);
        }
        if d.identity() == anchor.identity() {
            let from = names
                .iter()
                .rev()
                .fold(anchor.path().to_path_buf(), |p, n| p.join(n));
            return Some((parent?, names.swap_remove(0), from));
        }
        let up = d.open_parent().ok()?;
        // `/` is its own parent: the directory is not below the anchor.
        if up.identity() == d.identity() {
            return None;
        }
        child = d.identity();
        d = up;
    }
    None
}

/// The name of the subdirectory of `d` whose identity is `id`.
fn entry_with_identity(d: &Dir, id: Id) -> Option<OsString> {
    d.list()
        .ok()?
        .into_iter()
        .find_map(|(n, k)| (k == Kind::Dir && d.stat(&n).ok()??.identity() == id).then_some(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safefs::tests::tmp;
    use crate::supervise::quarantine::tests::other_fs;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    /// A workspace with a `.git`, a directory outside it, and a state dir elsewhere.
    struct Env {
        _t: tempfile::TempDir,
        _s: tempfile::TempDir,
        ws: PathBuf,
        outside: PathBuf,
        state: PathBuf,
    }

    fn env_in(t: tempfile::TempDir) -> Env {
        let ws = t.path().join("ws");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
        std::fs::create_dir_all(ws.join(".git/objects/ab")).unwrap();
        std::fs::write(ws.join(".git/objects/ab/cdef"), "object").unwrap();
        std::fs::write(ws.join(".git/config"), "[core]\n").unwrap();
        std::fs::write(ws.join(".git/hooks/pre-commit.sample"), "sample").unwrap();
        std::fs::create_dir_all(outside.join("hooks")).unwrap();
        std::fs::write(outside.join("hooks/keep-me"), "precious").unwrap();
        let s = tmp();
        let state = s.path().join("agentbox");
        Env {
            _t: t,
            _s: s,
            ws,
            outside,
            state,
        }
    }

    fn env() -> Env {
        env_in(tmp())
    }

    impl Env {
        fn q(&self) -> Quarantine {
            Quarantine::new(&self.state, "run", &self.ws)
        }
        fn p(&self, rel: &str) -> PathBuf {
            self.ws.join(rel)
        }
        fn paths(&self, rels: &[&str]) -> Vec<PathBuf> {
            rels.iter().map(|r| self.p(r)).collect()
        }
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    /// Every path and content below `p` (symlinks not followed), to prove nothing changed.
    fn tree(p: &Path) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let m = std::fs::symlink_metadata(p).unwrap();
        let what = if m.file_type().is_symlink() {
            format!("-> {}", std::fs::read_link(p).unwrap().display())
        } else if m.is_dir() {
            let mut kids: Vec<PathBuf> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            kids.sort();
            for k in kids {
                out.extend(tree(&k));
            }
            format!("dir {:o}", m.mode())
        } else {
            format!("{:o} {}", m.mode(), read(p))
        };
        out.push((p.to_path_buf(), what));
        out
    }

    fn kinds(acts: &[Action]) -> Vec<(PathBuf, &'static str)> {
        acts.iter()
            .map(|a| {
                let k = match &a.what {
                    ActionKind::Quarantined {
                        cause: Cause::AppearedDuringRun,
                        ..
                    } => "appeared",
                    ActionKind::Quarantined {
                        cause: Cause::ChangedDuringRun,
                        ..
                    } => "changed",
                    ActionKind::Recreated => "recreated",
                    ActionKind::Rewritten => "rewritten",
                    ActionKind::Replaced { .. } => "replaced",
                    ActionKind::MovedBack { .. } => "moved back",
                    ActionKind::ModeRestored => "mode",
                    ActionKind::NotRestored { .. } => "not restored",
                };
                (a.path.clone(), k)
            })
            .collect()
    }

    fn quarantined_to(acts: &[Action], path: &Path) -> PathBuf {
        acts.iter()
            .find_map(|a| match &a.what {
                ActionKind::Quarantined { to, .. } | ActionKind::Replaced { to }
                    if a.path == path =>
                {
                    Some(to.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{} not quarantined: {acts:?}", path.display()))
    }

    #[test]
    fn undoes_changes_and_moves_creations_aside() {
        let e = env();
        let roots = e.paths(&[".git/hooks", ".git/config", ".envrc"]);
        let g = Guard::take(&e.ws, &roots).unwrap();
        std::fs::write(e.p(".git/hooks/pre-commit"), "evil").unwrap();
        std::fs::write(e.p(".git/hooks/pre-commit.sample"), "changed").unwrap();
        std::fs::write(e.p(".git/config"), "[core]\n\thooksPath = /x\n").unwrap();
        std::fs::create_dir(e.p(".envrc")).unwrap();
        std::fs::write(e.p(".envrc/x"), "y").unwrap();
        let mut q = e.q();
        let acts = g.restore(&mut q);
        let k = kinds(&acts);
        assert!(
            k.contains(&(e.p(".git/hooks/pre-commit"), "appeared")),
            "{k:?}"
        );
        assert!(k.contains(&(e.p(".git/hooks/pre-commit.sample"), "changed")));
        assert!(k.contains(&(e.p(".git/hooks/pre-commit.sample"), "recreated")));
        assert!(k.contains(&(e.p(".git/config"), "changed")));
        assert!(k.contains(&(e.p(".envrc"), "appeared")));
        assert!(!e.p(".git/hooks/pre-commit").exists());
        assert_eq!(read(&e.p(".git/hooks/pre-commit.sample")), "sample");
        assert_eq!(read(&e.p(".git/config")), "[core]\n");
        assert!(!e.p(".envrc").exists());
        // Nothing deleted: all of it is in the quarantine.
        let evil = quarantined_to(&acts, &e.p(".git/hooks/pre-commit"));
        assert_eq!(read(&evil), "evil");
        assert_eq!(read(&quarantined_to(&acts, &e.p(".envrc")).join("x")), "y");
        assert_eq!(
            read(&quarantined_to(&acts, &e.p(".git/config"))),
            "[core]\n\thooksPath = /x\n"
        );
        let manifest = read(&q.root().unwrap().join("MANIFEST.jsonl"));
        assert_eq!(manifest.lines().count(), 4);
        // No content in any message.
        for a in &acts {
            let line = a.to_string();
            assert!(
                !line.contains("evil") && !line.contains("hooksPath"),
                "{line}"
            );
        }
        assert!(g.restore(&mut e.q()).is_empty());
    }

    #[test]
    fn appeared_file_is_quarantined_not_deleted() {
        let e = env();
        let g = Guard::take(&e.ws, &e.paths(&[".vscode/settings.json", ".mcp.json"])).unwrap();
        std::fs::create_dir(e.p(".vscode")).unwrap();
        std::fs::write(e.p(".vscode/settings.json"), "{\"editor\":1}").unwrap();
        let mut q = e.q();
        let acts = g.restore(&mut q);
        assert_eq!(
            kinds(&acts),
            vec![(e.p(".vscode/settings.json"), "appeared")]
        );
        assert!(!e.p(".vscode/settings.json").exists());
        // The directory on the way is not protected itself: it stays.
        assert!(e.p(".vscode").is_dir());
        let to = quarantined_to(&acts, &e.p(".vscode/settings.json"));
        assert_eq!(read(&to), "{\"editor\":1}");
        assert!(to.starts_with(e.state.join("quarantine/run")));
        assert!(to.ends_with(".vscode/settings.json"));
        let line: serde_json::Value =
            serde_json::from_str(read(&q.root().unwrap().join("MANIFEST.jsonl")).trim()).unwrap();
        assert_eq!(
            line["original"],
            e.p(".vscode/settings.json").to_str().unwrap()
        );
        assert_eq!(line["quarantined"], to.to_str().unwrap());
        let shown = acts[0].to_string();
        assert!(
            shown.contains("agentbox cannot tell who wrote it"),
            "{shown}"
        );
    }

    #[test]
    fn symlink_swapped_for_git_touches_nothing_outside() {
        let e = env();
        std::fs::remove_dir_all(e.p(".git/hooks")).unwrap();
        let g = Guard::take(&e.ws, &e.paths(&[".git/config", ".git/hooks"])).unwrap();
        let git_id = std::fs::metadata(e.p(".git")).unwrap().ino();
        let before = tree(&e.outside);
        std::fs::rename(e.p(".git"), e.p(".git-real")).unwrap();
        symlink(&e.outside, e.p(".git")).unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(tree(&e.outside), before, "outside the workspace changed");
        let k = kinds(&acts);
        assert_eq!(
            k,
            vec![(e.p(".git"), "replaced"), (e.p(".git"), "moved back")],
            "{acts:?}"
        );
        let to = quarantined_to(&acts, &e.p(".git"));
        assert_eq!(std::fs::read_link(&to).unwrap(), e.outside);
        assert_eq!(
            std::fs::symlink_metadata(e.p(".git")).unwrap().ino(),
            git_id
        );
        assert!(!e.p(".git-real").exists());
        assert_eq!(read(&e.p(".git/config")), "[core]\n");
    }

    #[test]
    fn git_moved_out_of_the_workspace_is_reported() {
        let e = env();
        std::fs::remove_dir_all(e.p(".git/hooks")).unwrap();
        let g = Guard::take(&e.ws, &e.paths(&[".git/hooks"])).unwrap();
        let before = tree(&e.outside);
        // Moved outside the anchor (same filesystem) and replaced by a symlink to it.
        std::fs::rename(e.p(".git"), e.outside.join("stolen-git")).unwrap();
        symlink(&e.outside, e.p(".git")).unwrap();
        let acts = g.restore(&mut e.q());
        let k = kinds(&acts);
        assert_eq!(
            k,
            vec![(e.p(".git"), "replaced"), (e.p(".git"), "not restored")],
            "{acts:?}"
        );
        let mut after = tree(&e.outside);
        after.retain(|(p, _)| !p.starts_with(e.outside.join("stolen-git")));
        assert_eq!(after, before);
        assert!(
            !e.p(".git").exists(),
            "not recreated: nothing below it to restore"
        );
    }

    #[test]
    fn a_symlink_created_on_the_way_is_moved_aside() {
        let e = env();
        std::fs::remove_dir_all(e.p(".git")).unwrap();
        let g = Guard::take(&e.ws, &e.paths(&[".git/hooks", ".git/config"])).unwrap();
        // No repository at launch; the box makes `.git` a symlink to a crafted git dir.
        std::fs::create_dir_all(e.p("sub/fake/hooks")).unwrap();
        std::fs::write(e.p("sub/fake/hooks/pre-commit"), "evil").unwrap();
        symlink("sub/fake", e.p(".git")).unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(kinds(&acts), vec![(e.p(".git"), "appeared")], "{acts:?}");
        assert!(std::fs::symlink_metadata(e.p(".git")).is_err());
        // What it pointed to is not protected and is not touched.
        assert_eq!(read(&e.p("sub/fake/hooks/pre-commit")), "evil");
        assert!(g.restore(&mut e.q()).is_empty());
    }

    #[test]
    fn a_git_dir_gone_for_good_is_recreated_and_said_so() {
        let e = env();
        let g = Guard::take(&e.ws, &e.paths(&[".git/config"])).unwrap();
        std::fs::rename(e.p(".git"), e.outside.join("elsewhere")).unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(
            kinds(&acts),
            vec![
                (e.p(".git"), "not restored"),
                (e.p(".git/config"), "recreated")
            ],
            "{acts:?}"
        );
        assert_eq!(read(&e.p(".git/config")), "[core]\n");
        assert!(acts[0].to_string().contains("recreated empty"));
        assert!(g.restore(&mut e.q()).is_empty());
    }

    #[test]
    fn symlink_swapped_for_hooks_touches_nothing_outside() {
        let e = env();
        let g = Guard::take(&e.ws, &e.paths(&[".git/hooks", ".git/config"])).unwrap();
        let before = tree(&e.outside);
        std::fs::rename(e.p(".git/hooks"), e.p(".git/hooks-real")).unwrap();
        symlink(e.outside.join("hooks"), e.p(".git/hooks")).unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(tree(&e.outside), before);
        let k = kinds(&acts);
        assert_eq!(
            k,
            vec![
                (e.p(".git/hooks"), "changed"),
                (e.p(".git/hooks"), "moved back")
            ],
            "{acts:?}"
        );
        assert!(!std::fs::symlink_metadata(e.p(".git/hooks"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(read(&e.p(".git/hooks/pre-commit.sample")), "sample");
        assert!(!e.p(".git/hooks-real").exists());
    }

    #[test]
    fn hooks_swapped_without_original_is_recreated_from_the_snapshot() {
        let e = env();
        let g = Guard::take(&e.ws, &e.paths(&[".git/hooks"])).unwrap();
        std::fs::rename(e.p(".git/hooks"), e.outside.join("moved-hooks")).unwrap();
        symlink(e.outside.join("hooks"), e.p(".git/hooks")).unwrap();
        let before = tree(&e.outside);
        let acts = g.restore(&mut e.q());
        assert_eq!(tree(&e.outside), before);
        assert_eq!(
            kinds(&acts),
            vec![
                (e.p(".git/hooks"), "changed"),
                (e.p(".git/hooks"), "recreated")
            ]
        );
        assert_eq!(read(&e.p(".git/hooks/pre-commit.sample")), "sample");
        assert!(
            g.restore(&mut e.q()).is_empty(),
            "the recreated directory is accepted"
        );
    }

    #[test]
    fn git_replaced_by_a_copy_with_a_planted_hook() {
        let e = env();
        let g = Guard::take(&e.ws, &e.paths(&[".git/config", ".git/hooks"])).unwrap();
        let git_id = std::fs::metadata(e.p(".git")).unwrap().ino();
        let st = std::process::Command::new("cp")
            .args(["-a", ".git", ".git-copy"])
            .current_dir(&e.ws)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::write(e.p(".git-copy/hooks/pre-commit"), "evil").unwrap();
        std::fs::rename(e.p(".git"), e.p(".git-orig")).unwrap();
        std::fs::rename(e.p(".git-copy"), e.p(".git")).unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(
            kinds(&acts),
            vec![(e.p(".git"), "replaced"), (e.p(".git"), "moved back")],
            "{acts:?}"
        );
        let to = quarantined_to(&acts, &e.p(".git"));
        assert_eq!(read(&to.join("hooks/pre-commit")), "evil");
        assert_eq!(std::fs::metadata(e.p(".git")).unwrap().ino(), git_id);
        assert!(!e.p(".git/hooks/pre-commit").exists());
        assert_eq!(read(&e.p(".git/objects/ab/cdef")), "object");
        assert!(!e.p(".git-orig").exists());
        let shown = acts[1].to_string();
        assert!(shown.contains(".git-orig"), "{shown}");
    }

    #[test]
    fn git_moved_into_its_replacement_is_still_moved_back() {
        let e = env();
        let g = Guard::take(&e.ws, &e.paths(&[".git/config"])).unwrap();
        std::fs::create_dir(e.p("fake")).unwrap();
        std::fs::rename(e.p(".git"), e.p("fake/inner")).unwrap();
        std::fs::rename(e.p("fake"), e.p(".git")).unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(
            kinds(&acts),
            vec![(e.p(".git"), "replaced"), (e.p(".git"), "moved back")],
            "{acts:?}"
        );
        assert_eq!(read(&e.p(".git/objects/ab/cdef")), "object");
    }

    #[test]
    fn a_descriptor_kept_open_cannot_reach_the_restored_file() {
        let e = env();
        let g = Guard::take(&e.ws, &e.paths(&[".git/config"])).unwrap();
        let mut fd = std::fs::OpenOptions::new()
            .write(true)
            .open(e.p(".git/config"))
            .unwrap();
        use std::io::Write;
        fd.write_all(b"[core]\n\tfsmonitor = evil\n").unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(
            kinds(&acts),
            vec![
                (e.p(".git/config"), "changed"),
                (e.p(".git/config"), "recreated")
            ]
        );
        // The box writes through its old descriptor after the restore.
        fd.write_all(b"\tpager = evil\n").unwrap();
        fd.sync_all().unwrap();
        assert_eq!(read(&e.p(".git/config")), "[core]\n");
        let to = quarantined_to(&acts, &e.p(".git/config"));
        assert!(read(&to).contains("pager"));
    }

    #[test]
    fn directory_entries_and_modes_are_put_back() {
        let e = env();
        std::fs::create_dir_all(e.p(".idea/sub")).unwrap();
        std::fs::write(e.p(".idea/sub/a.xml"), "a").unwrap();
        std::fs::write(e.p(".idea/b.xml"), "b").unwrap();
        symlink("sub/a.xml", e.p(".idea/link")).unwrap();
        std::fs::set_permissions(e.p(".idea/b.xml"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
        let g = Guard::take(&e.ws, &e.paths(&[".idea"])).unwrap();
        let before = tree(&e.p(".idea"));
        std::fs::remove_file(e.p(".idea/sub/a.xml")).unwrap();
        std::fs::set_permissions(e.p(".idea/b.xml"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
        std::fs::set_permissions(e.p(".idea/sub"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::remove_file(e.p(".idea/link")).unwrap();
        symlink("/etc/passwd", e.p(".idea/link")).unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(tree(&e.p(".idea")), before, "{acts:?}");
        let k = kinds(&acts);
        assert!(k.contains(&(e.p(".idea/sub/a.xml"), "recreated")), "{k:?}");
        assert!(k.contains(&(e.p(".idea/sub"), "mode")));
        assert!(k.contains(&(e.p(".idea/b.xml"), "changed")));
        assert!(k.contains(&(e.p(".idea/link"), "changed")));
    }

    #[test]
    fn paths_outside_the_workspace_are_anchored_on_an_existing_ancestor() {
        let e = env();
        let gitdir = e.outside.join("gitdir");
        std::fs::create_dir(&gitdir).unwrap();
        std::fs::write(gitdir.join("config"), "[core]\n").unwrap();
        let roots = vec![
            gitdir.join("config"),
            gitdir.join("hooks"),
            e.outside.join("a/b/c"),
        ];
        let g = Guard::take(&e.ws, &roots).unwrap();
        std::fs::write(gitdir.join("config"), "changed").unwrap();
        std::fs::create_dir(gitdir.join("hooks")).unwrap();
        std::fs::create_dir_all(e.outside.join("a/b")).unwrap();
        std::fs::write(e.outside.join("a/b/c"), "new").unwrap();
        let acts = g.restore(&mut e.q());
        let k = kinds(&acts);
        assert_eq!(
            k,
            vec![
                (gitdir.join("config"), "changed"),
                (gitdir.join("config"), "recreated"),
                (gitdir.join("hooks"), "appeared"),
                (e.outside.join("a/b/c"), "appeared"),
            ]
        );
        assert_eq!(read(&gitdir.join("config")), "[core]\n");
        let to = quarantined_to(&acts, &e.outside.join("a/b/c"));
        assert!(
            to.to_string_lossy().contains("_outside_workspace"),
            "{to:?}"
        );
        assert_eq!(read(&to), "new");
    }

    #[test]
    fn persisted_snapshot_restores_after_a_crash() {
        let e = env();
        let snap = e.state.join("runs/run.guard");
        std::fs::create_dir_all(snap.parent().unwrap()).unwrap();
        // A name that is not UTF-8 survives the round trip.
        use std::os::unix::ffi::OsStringExt;
        let odd = e
            .p(".git/hooks")
            .join(OsString::from_vec(b"h\xff".to_vec()));
        std::fs::write(&odd, "odd").unwrap();
        {
            let g = Guard::take(&e.ws, &e.paths(&[".git/config", ".git/hooks", ".envrc"])).unwrap();
            g.persist(&snap).unwrap();
            // agentbox dies here: no descriptor survives.
        }
        assert_eq!(
            std::fs::metadata(&snap).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::write(e.p(".git/config"), "evil").unwrap();
        std::fs::remove_file(e.p(".git/hooks/pre-commit.sample")).unwrap();
        std::fs::remove_file(&odd).unwrap();
        std::fs::write(e.p(".git/hooks/post-checkout"), "evil").unwrap();
        std::fs::write(e.p(".envrc"), "evil").unwrap();
        let g = Guard::load(&snap).unwrap();
        let acts = g.restore(&mut e.q());
        let k = kinds(&acts);
        assert!(
            k.contains(&(e.p(".git/hooks/pre-commit.sample"), "recreated")),
            "{k:?}"
        );
        assert!(k.contains(&(e.p(".git/hooks/post-checkout"), "appeared")));
        assert!(k.contains(&(e.p(".envrc"), "appeared")));
        assert_eq!(read(&e.p(".git/config")), "[core]\n");
        assert_eq!(read(&e.p(".git/hooks/pre-commit.sample")), "sample");
        assert_eq!(read(&odd), "odd");
        assert!(!e.p(".git/hooks/post-checkout").exists() && !e.p(".envrc").exists());
        let text = read(&snap);
        assert!(
            text.contains("\"name\":\"config\""),
            "names are readable strings"
        );
        assert!(g.restore(&mut e.q()).is_empty());
        // A snapshot others could have written is refused.
        std::fs::set_permissions(&snap, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(Guard::load(&snap).is_err());
    }

    #[test]
    fn a_replaced_workspace_is_not_restored_after_a_crash() {
        let e = env();
        let snap = e.state.join("run.guard");
        std::fs::create_dir_all(&e.state).unwrap();
        Guard::take(&e.ws, &e.paths(&[".git/config"]))
            .unwrap()
            .persist(&snap)
            .unwrap();
        std::fs::rename(&e.ws, e.outside.join("old-ws")).unwrap();
        std::fs::create_dir_all(e.p(".git")).unwrap();
        std::fs::write(e.p(".git/config"), "other repo").unwrap();
        let acts = Guard::load(&snap).unwrap().restore(&mut e.q());
        assert_eq!(kinds(&acts), vec![(e.ws.clone(), "not restored")]);
        assert_eq!(read(&e.p(".git/config")), "other repo");
    }

    #[test]
    fn beyond_the_bounds_changes_are_only_reported() {
        let e = env();
        std::fs::create_dir(e.p("big")).unwrap();
        let f = std::fs::File::create(e.p("big/blob")).unwrap();
        f.set_len(MAX_BYTES + 1).unwrap();
        std::fs::create_dir(e.p("many")).unwrap();
        for i in 0..MAX_FILES {
            std::fs::write(e.p(&format!("many/{i}")), "").unwrap();
        }
        let g = Guard::take(&e.ws, &e.paths(&["big", "many"])).unwrap();
        f.set_len(MAX_BYTES + 2).unwrap();
        std::fs::write(e.p("many/new"), "x").unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(
            kinds(&acts),
            vec![
                (e.p("big/blob"), "not restored"),
                (e.p("many"), "not restored")
            ]
        );
        assert_eq!(
            std::fs::metadata(e.p("big/blob")).unwrap().len(),
            MAX_BYTES + 2
        );
        assert!(e.p("many/new").exists());
    }

    #[test]
    fn quarantine_across_filesystems_through_the_guard() {
        let Some(t) = other_fs() else {
            eprintln!("no second filesystem: skipped");
            return;
        };
        let e = env_in(t);
        assert_ne!(
            std::fs::metadata(&e.ws).unwrap().dev(),
            std::fs::metadata(e.state.parent().unwrap()).unwrap().dev()
        );
        let g = Guard::take(&e.ws, &e.paths(&[".vscode", ".git/config"])).unwrap();
        std::fs::create_dir_all(e.p(".vscode")).unwrap();
        std::fs::write(e.p(".vscode/settings.json"), "{\"x\":2}").unwrap();
        std::fs::write(e.p(".git/config"), "evil").unwrap();
        let acts = g.restore(&mut e.q());
        assert_eq!(
            kinds(&acts),
            vec![
                (e.p(".vscode"), "appeared"),
                (e.p(".git/config"), "changed"),
                (e.p(".git/config"), "recreated")
            ]
        );
        let to = quarantined_to(&acts, &e.p(".vscode"));
        assert_eq!(read(&to.join("settings.json")), "{\"x\":2}");
        assert!(!e.p(".vscode").exists());
        assert_eq!(read(&e.p(".git/config")), "[core]\n");
    }
}
