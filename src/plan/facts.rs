//! Host facts: everything the planner reads from this process and this host besides the
//! profile and the filesystem, gathered once before planning. Tests build them by hand, so the
//! policy is tested without root and without the process's own environment.

use super::host::Kernel;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// What the planner knows about this host.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// Kernel features (and any simulation in force).
    pub kernel: Kernel,
    /// agentbox runs as root (the bounding set can then be emptied without a user namespace).
    pub euid_root: bool,
    /// The caller's uid and gid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// The caller's user name (for `${USER}`).
    pub user: String,
    /// agentbox's pid (names of per-run paths).
    pub pid: u32,
    /// The caller's environment, in order.
    pub env: Vec<(OsString, OsString)>,
    /// The pseudo-terminals on stdin, stdout and stderr.
    pub terminals: Vec<PathBuf>,
    /// Where `/etc/resolv.conf` really is (often in `/run`, which the box masks).
    pub resolv_conf: Option<PathBuf>,
    /// `/var/run` is a directory of its own (usually it is a symlink to `/run`, which the
    /// mask of `/run` covers already).
    pub var_run_dir: bool,
    /// `/dev/shm` exists.
    pub dev_shm: bool,
    /// The descriptor (0, then 2, then 1) of the controlling terminal whose foreground
    /// process group is agentbox's own (agentbox is the terminal's foreground job).
    pub foreground_tty: Option<i32>,
}

impl HostFacts {
    /// Read the facts of this process and host.
    pub fn gather(kernel: Kernel) -> HostFacts {
        let mut terminals = Vec::new();
        for fd in 0..3 {
            if let Ok(p) = std::fs::read_link(format!("/proc/self/fd/{fd}")) {
                if p.starts_with("/dev/pts/") && !terminals.contains(&p) {
                    terminals.push(p);
                }
            }
        }
        HostFacts {
            kernel,
            euid_root: nix::unistd::geteuid().is_root(),
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            user: crate::user::name(),
            pid: std::process::id(),
            env: std::env::vars_os().collect(),
            terminals,
            resolv_conf: std::fs::canonicalize("/etc/resolv.conf").ok(),
            var_run_dir: std::fs::symlink_metadata("/var/run").is_ok_and(|m| m.is_dir()),
            dev_shm: std::path::Path::new("/dev/shm").is_dir(),
            foreground_tty: foreground_tty(),
        }
    }

    /// The environment as UTF-8 strings (for path expansion).
    pub fn env_map(&self) -> BTreeMap<String, String> {
        self.env
            .iter()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v.to_str()?.to_string())))
            .collect()
    }

    /// One variable, if set and UTF-8.
    pub fn var(&self, k: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.to_str())
    }
}

/// The first of stdin, stderr and stdout that is the controlling terminal with agentbox's
/// process group in its foreground.
fn foreground_tty() -> Option<i32> {
    // SAFETY: getpgrp cannot fail.
    let me = unsafe { libc::getpgrp() };
    // SAFETY: tcgetpgrp only reads the terminal's foreground group (ENOTTY when not ours).
    [0, 2, 1]
        .into_iter()
        .find(|&fd| unsafe { libc::tcgetpgrp(fd) } == me)
}
