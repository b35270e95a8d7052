//! Process hardening: no new privileges, no capabilities, parent-death signal, descriptor hygiene.

use caps::CapSet;
use std::io;

/// Make agentbox itself non-dumpable: its environment still holds the secrets, so
/// /proc/<pid>/environ and ptrace must stay closed to the box.
pub fn make_undumpable() -> io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// How a child tells that its parent is still there, after asking to die with it.
pub enum Parent<'a> {
    /// The pid the child expects from getppid.
    Pid(libc::pid_t),
    /// The child's end of a socket whose other end only the parent holds (in a new pid
    /// namespace, where getppid is 0).
    Channel(&'a std::os::fd::OwnedFd),
}

/// Kill this (child) process when its parent dies, and leave at once if it already has (the
/// race where the parent died before the prctl).
pub fn die_with_parent(parent: Parent) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let gone = match parent {
        // SAFETY: getppid cannot fail.
        Parent::Pid(p) => (unsafe { libc::getppid() }) != p,
        Parent::Channel(fd) => {
            let mut p = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: 0,
                revents: 0,
            };
            // SAFETY: one pollfd of ours, no wait; POLLHUP is reported whatever `events` asks.
            let n = unsafe { libc::poll(&mut p, 1, 0) };
            n < 0 || p.revents & (libc::POLLHUP | libc::POLLERR) != 0
        }
    };
    if gone {
        // SAFETY: _exit is always safe.
        unsafe { libc::_exit(125) };
    }
    Ok(())
}

/// Set PR_SET_NO_NEW_PRIVS.
pub fn no_new_privs() -> io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Mark every descriptor from 3 up close-on-exec, so nothing the caller leaked reaches the agent.
pub fn cloexec_from_3() -> io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return Ok(());
    }
    // Older kernels: walk the descriptor table.
    let max = match nix::unistd::sysconf(nix::unistd::SysconfVar::OPEN_MAX) {
        Ok(Some(n)) => n.min(65536) as i32,
        _ => 4096,
    };
    for fd in 3..max {
        // SAFETY: F_SETFD on a possibly-closed fd only fails with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Drop every capability from every set: bounding (needs CAP_SETPCAP, which root and a fresh
/// user namespace have), ambient, inheritable, permitted, effective. Returns whether the
/// bounding set could be cleared.
pub fn drop_capabilities() -> io::Result<bool> {
    let map = |e: caps::errors::CapsError| io::Error::other(e.to_string());
    let mut bounding_cleared = true;
    for cap in caps::all() {
        if caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false)
            && caps::drop(None, CapSet::Bounding, cap).is_err()
        {
            bounding_cleared = false;
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(map)?;
    caps::clear(None, CapSet::Inheritable).map_err(map)?;
    caps::clear(None, CapSet::Effective).map_err(map)?;
    caps::clear(None, CapSet::Permitted).map_err(map)?;
    Ok(bounding_cleared)
}

/// Restore default dispositions for the signals the supervisor changes (the mask is left as is).
pub fn reset_signals() {
    for sig in [
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGPIPE,
        libc::SIGCHLD,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
    ] {
        // SAFETY: resetting to SIG_DFL is always valid.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // The mask stays as inherited (agentbox's forwarded signals blocked) until right before
    // exec, so a signal sent during set-up is not lost: see supervise::signals.
}
