//! No process of the box outlives the run: agentbox is a child subreaper, so every orphan of
//! the box (a daemon after `setsid` and a double fork, a `clone(CLONE_UNTRACED)` child) is
//! re-parented to agentbox rather than to init, and is killed and reaped before the restore.

use std::io;

/// Make agentbox the reaper of its descendants' orphans.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Number of threads of this process (from /proc/self/status).
pub fn threads() -> io::Result<usize> {
    let s = std::fs::read_to_string("/proc/self/status")?;
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no Threads: line in /proc/self/status"))
}

/// Refuse to fork when another thread exists: the child would inherit its locks half-held.
pub fn ensure_single_threaded(what: &str) -> io::Result<()> {
    match threads()? {
        1 => Ok(()),
        n => Err(io::Error::other(format!(
            "{what}: agentbox has {n} threads; it forks only while single-threaded"
        ))),
    }
}

/// The direct children of this process, from every thread's `children` list, or by scanning
/// /proc where that file does not exist (CONFIG_PROC_CHILDREN off).
fn children() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let mut have_list = false;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                have_list = true;
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    if !have_list {
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                    continue;
                };
                if parent_of(pid) == Some(me) {
                    out.push(pid);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The parent pid from /proc/PID/stat (the field after the parenthesised command name).
fn parent_of(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Kill and reap every remaining descendant. Children killed here hand their own children to
/// agentbox (the subreaper), so the loop repeats until none is left. Returns how many died.
pub fn kill_descendants() -> usize {
    let mut killed = 0;
    for _ in 0..10_000 {
        let kids = children();
        if kids.is_empty() {
            break;
        }
        for k in &kids {
            // SAFETY: `k` is our own child: its pid cannot be reused before we reap it.
            unsafe { libc::kill(*k, libc::SIGKILL) };
        }
        for k in &kids {
            let mut st = 0;
            loop {
                // SAFETY: waiting for our own (killed) child; __WALL includes traced and clone children.
                let r = unsafe { libc::waitpid(*k, &mut st, libc::__WALL) };
                if r >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    break;
                }
            }
            killed += 1;
        }
    }
    // Zombies of children that exited on their own before the list was read.
    loop {
        let mut st = 0;
        // SAFETY: non-blocking reap of any child.
        let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG | libc::__WALL) };
        if r <= 0 {
            break;
        }
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_of_self_is_our_parent() {
        let me = std::process::id() as i32;
        // SAFETY: getppid cannot fail.
        let pp = unsafe { libc::getppid() };
        assert_eq!(parent_of(me), Some(pp));
        assert!(threads().unwrap() >= 1);
    }
}
