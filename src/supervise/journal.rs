//! Crash safety: before a launch agentbox writes a journal entry naming what it must undo after
//! the run (guard snapshot, host temp dir); the entry goes when the run is finished. An entry
//! whose agentbox is gone (`kill -9`, a crash, a reboot) tells the next run what was left undone.

// Not called yet: the lead engineer wires the journal into `run.rs` (begin before the launch,
// finish after the restore, `interrupted` and `sweep_tmp` at start-up).
#![allow(dead_code)]

use crate::safefs::{Dir, Kind};
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

/// Format of the journal entries this build writes.
pub const VERSION: u32 = 1;

/// One run in progress, as written to `runs/<run-id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalEntry {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// The run's id (also the quarantine's directory name).
    pub run_id: String,
    /// agentbox's pid.
    pub pid: u32,
    /// That pid's start time (field 22 of /proc/<pid>/stat), so a reused pid is not mistaken
    /// for the run.
    pub pid_start: u64,
    /// Who ran it.
    pub uid: u32,
    /// The workspace.
    pub workspace: PathBuf,
    /// The run's temp dir on the host (without the namespace layer), if any.
    pub host_tmp: Option<PathBuf>,
    /// The persisted guard snapshot, if any.
    pub snapshot: Option<PathBuf>,
    /// When the run started (RFC 3339).
    pub started: String,
    /// The same, in nanoseconds of the coarse real-time clock the kernel stamps inode changes
    /// with: a file whose ctime is later changed during the run (for the git audit).
    #[serde(default)]
    pub since_ns: i128,
    /// The box's cgroup, without namespaces, where one could be made (killed and removed by
    /// the next agentbox if this one was killed).
    #[serde(default)]
    pub cgroup: Option<PathBuf>,
    /// Git directories the run's views or snapshot covered (the audit skips them).
    #[serde(default)]
    pub git_covered: Vec<PathBuf>,
}

impl JournalEntry {
    /// An entry for a run of this process, starting now.
    pub fn for_this_process(
        run_id: &str,
        workspace: &Path,
        host_tmp: Option<&Path>,
        snapshot: Option<&Path>,
    ) -> io::Result<JournalEntry> {
        let pid = std::process::id();
        let pid_start = process_start(pid)
            .ok_or_else(|| io::Error::other("cannot read this process's start time"))?;
        Ok(JournalEntry {
            version: VERSION,
            run_id: run_id.to_string(),
            pid,
            pid_start,
            uid: nix::unistd::getuid().as_raw(),
            workspace: workspace.to_path_buf(),
            host_tmp: host_tmp.map(Path::to_path_buf),
            snapshot: snapshot.map(Path::to_path_buf),
            started: crate::report::rfc3339(std::time::SystemTime::now()),
            since_ns: coarse_now_ns(),
            cgroup: None,
            git_covered: Vec::new(),
        })
    }
}

/// Now, on the clock the kernel stamps inode times with (CLOCK_REALTIME_COARSE), in ns: any
/// inode changed after this call has a ctime at or after it.
pub fn coarse_now_ns() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// A journal entry on disk for the run in progress.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    entry: JournalEntry,
}

/// `$XDG_STATE_HOME/agentbox`, with the XDG fallback `~/.local/state` when the variable is unset,
/// empty or relative.
pub fn state_dir(home: &Path) -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.join(".local/state"))
        .join("agentbox")
}

/// Where a run's guard snapshot is persisted (next to its journal entry).
pub fn snapshot_path(state_dir: &Path, run_id: &str) -> PathBuf {
    state_dir.join("runs").join(format!("{run_id}.guard"))
}

/// 128 random bits from `getrandom(2)`, hex; an error rather than a weak id.
pub fn run_id() -> io::Result<String> {
    let mut b = [0u8; 16];
    crate::cred::random(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The start time of `pid` (clock ticks after boot, field 22 of /proc/<pid>/stat).
pub fn process_start(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last `)`.
    let rest = &s[s.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The runs directory, created 0700.
fn runs_dir(state_dir: &Path) -> io::Result<Dir> {
    use std::os::unix::fs::DirBuilderExt;
    let p = state_dir.join("runs");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&p)?;
    Dir::open(&p)
}

impl Journal {
    /// Writes the entry for a run about to launch.
    pub fn begin(state_dir: &Path, entry: JournalEntry) -> io::Result<Journal> {
        let dir = runs_dir(state_dir)?;
        let name = format!("{}.json", entry.run_id);
        let text = serde_json::to_vec_pretty(&entry).map_err(io::Error::other)?;
        dir.replace_file(OsStr::new(&name), &text)?;
        Ok(Journal {
            path: dir.path().join(name),
            entry,
        })
    }

    /// What was written.
    pub fn entry(&self) -> &JournalEntry {
        &self.entry
    }

    /// The entry's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run is over and everything was undone: remove the entry and the run's snapshot.
    pub fn finish(self) -> io::Result<()> {
        remove_entry(&self.path, &self.entry)
    }
}

/// Removes a journal entry and its snapshot file (the snapshot first: an entry without its
/// snapshot is still reported, a snapshot without an entry would be forgotten litter).
pub fn remove_entry(path: &Path, entry: &JournalEntry) -> io::Result<()> {
    // Only a snapshot next to the entry is agentbox's to remove, whatever the entry says.
    if let Some(s) = entry
        .snapshot
        .as_ref()
        .filter(|s| s.parent() == path.parent())
    {
        match std::fs::remove_file(s) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    std::fs::remove_file(path)
}

/// Every journal file of `state_dir`, parsed.
fn scan(state_dir: &Path) -> Vec<(PathBuf, Result<JournalEntry, String>)> {
    let p = state_dir.join("runs");
    let Ok(dir) = Dir::open(&p) else {
        return Vec::new();
    };
    let Ok(list) = dir.list() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, kind) in list {
        let n = name.to_string_lossy();
        if kind != Kind::File || n.starts_with('.') || !n.ends_with(".json") {
            continue;
        }
        let path = p.join(&name);
        let parsed = dir
            .read(&name, 1 << 20)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                serde_json::from_slice::<JournalEntry>(&b).map_err(|e| format!("unparsable: {e}"))
            });
        out.push((path, parsed));
    }
    out
}

/// True when the agentbox of `e` is gone: its pid is dead, or alive with another start time.
pub fn is_gone(e: &JournalEntry) -> bool {
    process_start(e.pid) != Some(e.pid_start)
}

/// Journal entries of this uid whose agentbox is gone: runs whose undo never happened.
/// Unreadable entries are logged here and listed by [`unreadable`], never removed.
pub fn interrupted(state_dir: &Path) -> Vec<(PathBuf, JournalEntry)> {
    let uid = nix::unistd::getuid().as_raw();
    let mut out = Vec::new();
    for (path, e) in scan(state_dir) {
        match e {
            Ok(e) if e.uid == uid && is_gone(&e) => out.push((path, e)),
            Ok(_) => {}
            Err(why) => tracing::warn!("journal entry {}: {why}", path.display()),
        }
    }
    out
}

/// Journal files that cannot be read or parsed (left in place for the person to look at).
pub fn unreadable(state_dir: &Path) -> Vec<(PathBuf, String)> {
    scan(state_dir)
        .into_iter()
        .filter_map(|(p, e)| e.err().map(|why| (p, why)))
        .collect()
}

/// Removes the `agentbox-<pid>-<hex>` directories directly under `base` that belong to this uid
/// and whose agentbox is gone (never a live pid's, never through a symlink); returns them.
pub fn sweep_tmp(base: &Path) -> Vec<PathBuf> {
    // Without /proc every pid would look dead.
    if process_start(std::process::id()).is_none() {
        return Vec::new();
    }
    let uid = nix::unistd::getuid().as_raw();
    let Ok(dir) = Dir::open(base) else {
        return Vec::new();
    };
    let Ok(list) = dir.list() else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for (name, _) in list {
        let Some(pid) = tmp_dir_pid(&name.to_string_lossy()) else {
            continue;
        };
        // lstat: a symlink of that name is not ours to follow.
        match dir.stat(&name) {
            Ok(Some(m)) if m.kind == Kind::Dir && m.uid == uid => {}
            _ => continue,
        }
        if process_start(pid).is_some() {
            continue;
        }
        match dir.remove_tree(&name) {
            Ok(()) => removed.push(base.join(&name)),
            Err(e) => tracing::warn!("cannot remove {}: {e}", base.join(&name).display()),
        }
    }
    removed
}

/// The pid in a name `agentbox-<pid>-<hex>`.
fn tmp_dir_pid(name: &str) -> Option<u32> {
    let (pid, hex) = name.strip_prefix("agentbox-")?.split_once('-')?;
    let ok = !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| pid.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safefs::tests::tmp;
    use std::os::unix::fs::PermissionsExt;

    /// A pid that is certainly dead now: a child that was reaped.
    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    fn entry(run_id: &str, pid: u32, pid_start: u64) -> JournalEntry {
        JournalEntry {
            version: VERSION,
            run_id: run_id.into(),
            pid,
            pid_start,
            uid: nix::unistd::getuid().as_raw(),
            workspace: "/ws".into(),
            host_tmp: None,
            snapshot: None,
            started: "2024-01-01T00:00:00Z".into(),
            since_ns: 0,
            cgroup: None,
            git_covered: Vec::new(),
        }
    }

    fn write_raw(state: &Path, name: &str, text: &str) -> PathBuf {
        let p = state.join("runs").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn run_ids_are_random_hex() {
        let (a, b) = (run_id().unwrap(), run_id().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_ne!(a, "0".repeat(32));
    }

    #[test]
    fn state_dir_follows_xdg() {
        // Only the fallback is checked: tests run in parallel and must not set variables.
        let home = Path::new("/home/u");
        let s = state_dir(home);
        match std::env::var_os("XDG_STATE_HOME").map(PathBuf::from) {
            Some(x) if x.is_absolute() => assert_eq!(s, x.join("agentbox")),
            _ => assert_eq!(s, home.join(".local/state/agentbox")),
        }
    }

    #[test]
    fn begin_interrupted_finish() {
        let t = tmp();
        let state = t.path().join("agentbox");
        let id = run_id().unwrap();
        let snap = snapshot_path(&state, &id);
        let e = JournalEntry::for_this_process(&id, Path::new("/ws"), None, Some(&snap)).unwrap();
        assert_eq!(e.pid_start, process_start(std::process::id()).unwrap());
        let j = Journal::begin(&state, e.clone()).unwrap();
        assert_eq!(j.path(), state.join("runs").join(format!("{id}.json")));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(j.path()), 0o600);
        assert_eq!(mode(&state.join("runs")), 0o700);
        let back: JournalEntry = serde_json::from_slice(&std::fs::read(j.path()).unwrap()).unwrap();
        assert_eq!(&back, j.entry());
        std::fs::write(&snap, "{}").unwrap();
        // Our own run is alive: not interrupted.
        assert!(interrupted(&state).is_empty());
        // Same pid, another start time: the pid was reused, the run is gone.
        let reused = entry("reused", std::process::id(), e.pid_start + 1);
        let p1 = write_raw(
            &state,
            "reused.json",
            &serde_json::to_string(&reused).unwrap(),
        );
        let dead = entry("dead", dead_pid(), 1);
        let p2 = write_raw(&state, "dead.json", &serde_json::to_string(&dead).unwrap());
        // Another user's entry is not ours to report.
        let mut theirs = entry("theirs", dead_pid(), 1);
        theirs.uid += 1;
        write_raw(
            &state,
            "theirs.json",
            &serde_json::to_string(&theirs).unwrap(),
        );
        let bad = write_raw(&state, "bad.json", "{not json");
        let mut got = interrupted(&state);
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, vec![(p2, dead), (p1, reused)]);
        let u = unreadable(&state);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].0, bad);
        assert!(bad.exists(), "never deleted silently");
        j.finish().unwrap();
        assert!(!state.join("runs").join(format!("{id}.json")).exists());
        assert!(!snap.exists());
    }

    /// The whole crash path as the caller will run it: journal and snapshot before the launch,
    /// agentbox killed (its pid reused), then the next run finds the entry, restores from the
    /// snapshot into the interrupted run's quarantine and removes the entry.
    #[test]
    fn an_interrupted_run_is_found_and_undone() {
        let t = tmp();
        let state = t.path().join("agentbox");
        let ws = t.path().join("ws");
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        std::fs::write(ws.join(".git/config"), "[core]\n").unwrap();
        let id = run_id().unwrap();
        let snap = snapshot_path(&state, &id);
        let mut e = JournalEntry::for_this_process(&id, &ws, None, Some(&snap)).unwrap();
        // As if written by an agentbox that was killed and whose pid now runs something else.
        e.pid_start += 1;
        let j = Journal::begin(&state, e).unwrap();
        let g =
            crate::supervise::guard::Guard::take(&ws, &[ws.join(".git/config"), ws.join(".envrc")])
                .unwrap();
        g.persist(&snap).unwrap();
        drop(g);
        drop(j);
        std::fs::write(ws.join(".git/config"), "evil").unwrap();
        std::fs::write(ws.join(".envrc"), "evil").unwrap();
        let found = interrupted(&state);
        assert_eq!(found.len(), 1);
        let (path, entry) = &found[0];
        let g = crate::supervise::guard::Guard::load(entry.snapshot.as_ref().unwrap()).unwrap();
        let mut q =
            crate::supervise::quarantine::Quarantine::new(&state, &entry.run_id, &entry.workspace);
        let acts = g.restore(&mut q);
        assert_eq!(acts.len(), 3, "{acts:?}");
        assert_eq!(std::fs::read(ws.join(".git/config")).unwrap(), b"[core]\n");
        assert!(!ws.join(".envrc").exists());
        assert!(q.root().unwrap().ends_with(&entry.run_id));
        remove_entry(path, entry).unwrap();
        assert!(interrupted(&state).is_empty());
        assert!(!snap.exists());
    }

    #[test]
    fn remove_entry_leaves_a_snapshot_elsewhere() {
        let t = tmp();
        let state = t.path().join("agentbox");
        let elsewhere = t.path().join("precious");
        std::fs::write(&elsewhere, "x").unwrap();
        let mut e = entry("e", dead_pid(), 1);
        e.snapshot = Some(elsewhere.clone());
        let p = write_raw(&state, "e.json", &serde_json::to_string(&e).unwrap());
        remove_entry(&p, &e).unwrap();
        assert!(!p.exists());
        assert!(elsewhere.exists());
    }

    #[test]
    fn sweep_tmp_removes_only_dead_runs_dirs() {
        let base = tmp();
        let outside = tmp();
        std::fs::write(outside.path().join("keep"), "x").unwrap();
        let dead = dead_pid();
        let me = std::process::id();
        let gone = base.path().join(format!("agentbox-{dead}-a1b2c3"));
        std::fs::create_dir_all(gone.join("d")).unwrap();
        std::fs::write(gone.join("d/f"), "junk").unwrap();
        std::os::unix::fs::symlink(outside.path(), gone.join("link")).unwrap();
        let live = base.path().join(format!("agentbox-{me}-a1b2c3"));
        std::fs::create_dir(&live).unwrap();
        let link = base.path().join(format!("agentbox-{dead}-ffff"));
        std::os::unix::fs::symlink(outside.path(), &link).unwrap();
        let file = base.path().join(format!("agentbox-{dead}-eeee"));
        std::fs::write(&file, "").unwrap();
        let odd = base.path().join(format!("agentbox-{dead}-nothex"));
        std::fs::create_dir(&odd).unwrap();
        let removed = sweep_tmp(base.path());
        assert_eq!(removed, vec![gone.clone()]);
        assert!(!gone.exists());
        assert!(live.exists() && odd.exists() && file.exists());
        assert!(std::fs::symlink_metadata(&link).is_ok());
        assert!(outside.path().join("keep").exists());
    }

    #[test]
    fn tmp_dir_names() {
        assert_eq!(tmp_dir_pid("agentbox-12-0af"), Some(12));
        for n in [
            "agentbox-12-",
            "agentbox--0af",
            "agentbox-1x-0a",
            "x-12-0a",
            "agentbox-12",
        ] {
            assert_eq!(tmp_dir_pid(n), None, "{n}");
        }
    }
}
