//! Namespaces: user (the caller's uid and gid mapped to themselves), mount, pid, ipc and net,
//! entered by the child before the mounts; /proc and loopback of the new namespaces.

use super::mounts::err;
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::io;

/// Enter new user, mount, pid, ipc (and net) namespaces.
pub fn unshare_all(net: bool) -> io::Result<()> {
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC;
    if net {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(io::Error::from)
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
