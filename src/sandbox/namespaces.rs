//! Namespaces: user (the caller's uid and gid mapped to themselves), mount, pid, ipc and net,
//! made by the fork of the box's pid 1; /proc and loopback of the new namespaces.

use super::mounts::err;
use nix::mount::{mount, MsFlags};
use std::io;

/// Fork into new user, mount, pid, ipc (and net) namespaces: the child is the box's pid 1 at
/// once, so no process has to stay outside the pid namespace to fork it. Returns the child's
/// pid in the parent and 0 in the child, as fork does.
///
/// # Safety
/// As for fork: the caller is single-threaded. The child does not run glibc's fork handlers
/// (none matter to a single-threaded process) and its thread descriptor keeps the parent's
/// thread id, which the child never uses: it makes no pthread call on itself, and glibc's
/// `raise` (from `abort`) asks the kernel for the caller's own thread id, as after vfork.
pub unsafe fn fork_into_namespaces(net: bool) -> io::Result<libc::pid_t> {
    let mut flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWIPC
        | libc::SIGCHLD;
    if net {
        flags |= libc::CLONE_NEWNET;
    }
    // SAFETY: clone without CLONE_VM and with no new stack behaves as fork (the child goes on
    // with a copy of the caller's memory, on the same stack); every pointer argument is null.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as libc::pid_t)
}

/// Map the caller's own uid/gid inside the new user namespace, so files keep their owner.
pub fn map_ids(uid: u32, gid: u32) -> io::Result<()> {
    // /proc/self of a non-dumpable process belongs to root: become dumpable just long enough to
    // write the maps, then non-dumpable again before anything of the box runs.
    // SAFETY: plain prctl calls.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    let r = write_maps(uid, gid);
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    r
}

fn write_maps(uid: u32, gid: u32) -> io::Result<()> {
    std::fs::write("/proc/self/setgroups", "deny").map_err(|e| err("setgroups", e))?;
    std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))
        .map_err(|e| err("uid_map", e))?;
    std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))
        .map_err(|e| err("gid_map", e))?;
    Ok(())
}

/// Mount a fresh /proc for the new pid namespace (call in the namespace's first process).
pub fn mount_proc() -> io::Result<()> {
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| err("mount /proc", e))
}

/// Bring the loopback interface up in a fresh network namespace.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket/ioctl calls on a struct we own and zero-initialise.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(err("socket for lo", io::Error::last_os_error()));
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) < 0 {
            let e = io::Error::last_os_error();
            libc::close(fd);
            return Err(err("SIOCGIFFLAGS lo", e));
        }
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        let r = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        let e = io::Error::last_os_error();
        libc::close(fd);
        if r < 0 {
            return Err(err("SIOCSIFFLAGS lo", e));
        }
    }
    Ok(())
}
