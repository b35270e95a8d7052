//! A cgroup for the box, where agentbox may create one (root, or a cgroup delegated to the
//! person such as a systemd user session's scope). Without namespaces this is what lets agentbox
//! kill every process of the box at once, and lets the next agentbox kill what a killed
//! agentbox left running. Without one, daemons of the box are still killed at the end of a
//! normal run (see the reaper) but survive a `kill -9` of agentbox: the plan says so.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

/// Name prefix of the cgroups agentbox creates.
pub const PREFIX: &str = "agentbox-";

/// The cgroup v2 mount point, from /proc/self/mountinfo.
fn cgroup2_mount() -> Option<PathBuf> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mi.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        (post.split_whitespace().next()? == "cgroup2")
            .then(|| pre.split_whitespace().nth(4).map(PathBuf::from))?
    })
}

/// This process's cgroup v2 directory.
pub fn current() -> Option<PathBuf> {
    let mount = cgroup2_mount()?;
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = cg.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = mount.join(rel.trim_start_matches('/'));
    dir.is_dir().then_some(dir)
}

/// The box's cgroup: created empty; the child moves itself in before exec.
#[derive(Debug)]
pub struct BoxCgroup {
    dir: PathBuf,
    procs: std::fs::File,
}

impl BoxCgroup {
    /// Create `agentbox-<run_id>` below agentbox's own cgroup, or say why not.
    pub fn create(run_id: &str) -> Result<BoxCgroup, String> {
        let parent = current().ok_or("no cgroup v2 hierarchy")?;
        let dir = parent.join(format!("{PREFIX}{run_id}"));
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create a cgroup: {e}"))?;
        // (The root cgroup has no cgroup.kill; a child of it does, from Linux 5.14.)
        if !dir.join("cgroup.kill").exists() {
            let _ = std::fs::remove_dir(&dir);
            return Err("cgroup.kill needs Linux 5.14".into());
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
        {
            Ok(procs) => Ok(BoxCgroup { dir, procs }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(format!("cannot open the new cgroup: {e}"))
            }
        }
    }

    /// The cgroup's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Descriptor of its `cgroup.procs` (open for writing): the child writes `0` to it to move
    /// itself in before exec, so nothing it starts is ever outside.
    pub fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }

    /// Kill everything in it and remove it.
    pub fn kill_and_remove(self) -> io::Result<()> {
        kill_and_remove(&self.dir)
    }
}

/// Move the calling process into the cgroup whose `cgroup.procs` is `fd` (after fork, before
/// exec: a single write, no allocation).
pub fn enter(fd: RawFd) -> io::Result<()> {
    // SAFETY: writing two bytes from a static buffer to a descriptor we own.
    let r = unsafe { libc::write(fd, b"0\n".as_ptr().cast(), 2) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `cgroup.kill` a cgroup (every process in it, atomically, forks included), wait until it is
/// empty, and remove it.
pub fn kill_and_remove(dir: &Path) -> io::Result<()> {
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"))
        .and_then(|mut f| f.write_all(b"1"));
    for _ in 0..200 {
        let events = std::fs::read_to_string(dir.join("cgroup.events")).unwrap_or_default();
        if events.lines().any(|l| l.trim() == "populated 0") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::fs::remove_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_hierarchy_or_says_why() {
        // Either a cgroup v2 directory that exists, or None: never a panic.
        if let Some(d) = current() {
            assert!(d.is_dir());
        }
    }
}
