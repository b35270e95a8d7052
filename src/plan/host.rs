//! Facts about this kernel that decide which layers can apply, with an explicit simulation knob for tests.

use serde::Serialize;

/// What this kernel offers agentbox.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Kernel {
    /// Landlock ABI version (0 = none).
    pub landlock_abi: i32,
    /// The Landlock ABI the kernel really has, before any simulation.
    pub real_landlock_abi: i32,
    /// Whether this process may create a user namespace.
    pub user_namespaces: bool,
    /// Why not, when it may not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_namespaces_reason: Option<String>,
    /// Whether seccomp filters are available.
    pub seccomp: bool,
    /// Whether the connect broker can run: seccomp user notification, and pidfd_getfd on the
    /// box's processes (`net::broker::probe`).
    pub seccomp_notify: bool,
    /// Why not, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp_notify_reason: Option<String>,
    /// Text of the simulation in force, shown in every plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulated: Option<String>,
}

/// A request to behave as an older or more restricted kernel (`--simulate-kernel`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simulation {
    /// Cap the Landlock ABI at this version.
    pub landlock_abi: Option<i32>,
    /// Pretend user namespaces are unavailable.
    pub no_user_namespaces: bool,
    /// Pretend seccomp is unavailable.
    pub no_seccomp: bool,
    /// Pretend seccomp user notification (the connect broker) is unavailable.
    pub no_seccomp_notify: bool,
}

impl std::str::FromStr for Simulation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut sim = Simulation::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some(("landlock", v)) => {
                    let n: i32 = v.parse().map_err(|_| {
                        let v = crate::scrub::quote(v);
                        format!("landlock ABI must be a number, got {v}")
                    })?;
                    if !(0..=64).contains(&n) {
                        return Err(format!("landlock ABI {n} out of range"));
                    }
                    sim.landlock_abi = Some(n);
                }
                Some(("userns", "off")) | Some(("userns", "no")) => sim.no_user_namespaces = true,
                Some(("seccomp", "off")) | Some(("seccomp", "no")) => sim.no_seccomp = true,
                Some(("unotify", "off")) | Some(("unotify", "no")) => sim.no_seccomp_notify = true,
                _ => {
                    return Err(format!(
                    "unknown simulation {}; use landlock=N, userns=off, seccomp=off, unotify=off",
                    crate::scrub::quote(part)
                ))
                }
            }
        }
        Ok(sim)
    }
}

/// The kernel's Landlock ABI version, 0 when Landlock is absent or disabled.
pub fn landlock_abi() -> i32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only returns a number.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    if r < 0 {
        0
    } else {
        r as i32
    }
}

/// Try to create a user namespace in a throw-away child: the only reliable test
/// (sysctls, AppArmor and container seccomp profiles all get a say).
fn probe_user_namespaces() -> Result<(), String> {
    crate::supervise::reaper::ensure_single_threaded("user namespace probe")
        .map_err(|e| e.to_string())?;
    // SAFETY: single-threaded (checked above); the child only calls unshare and _exit.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let ok = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER).is_ok();
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            match nix::sys::wait::waitpid(child, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
                _ => Err(userns_reason()),
            }
        }
        Err(e) => Err(format!("cannot fork to probe user namespaces: {e}")),
    }
}

fn userns_reason() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)".into();
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)"
            .into();
    }
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return "user.max_user_namespaces is 0".into();
    }
    "the kernel refused to create a user namespace (container or seccomp policy)".into()
}

fn seccomp_available() -> bool {
    // SAFETY: PR_GET_SECCOMP has no side effects.
    let r = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    r >= 0
}

/// Cheap check for launches: the sysctls that forbid user namespaces. A container policy can
/// still refuse at `unshare`; the launcher then falls back and re-plans (see `run`).
fn sysctls_allow_user_namespaces() -> Result<(), String> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let blocked = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref()
        == Some("1")
        && !nix::unistd::geteuid().is_root();
    if blocked
        || read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0")
        || read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0")
    {
        return Err(userns_reason());
    }
    Ok(())
}

/// Probe this kernel, applying `sim` on top; the simulation is recorded in the result.
/// `thorough` forks a throw-away child to try a user namespace (for plans and checks); launches
/// use the cheap sysctl test and recover if `unshare` is refused.
pub fn probe(sim: &Simulation, thorough: bool) -> Kernel {
    let real = landlock_abi();
    let mut abi = real;
    let mut notes = Vec::new();
    if let Some(cap) = sim.landlock_abi {
        abi = abi.min(cap);
        notes.push(format!("landlock ABI capped at {cap}"));
    }
    let r = if thorough {
        probe_user_namespaces()
    } else {
        sysctls_allow_user_namespaces()
    };
    let (mut userns, mut reason) = match r {
        Ok(()) => (true, None),
        Err(r) => (false, Some(r)),
    };
    if sim.no_user_namespaces {
        userns = false;
        reason = Some("simulated: no user namespaces".into());
        notes.push("no user namespaces".into());
    }
    let mut seccomp = seccomp_available();
    if sim.no_seccomp {
        seccomp = false;
        notes.push("no seccomp".into());
    }
    let (mut notify, mut notify_reason) = match crate::net::broker::probe() {
        Ok(()) => (
            seccomp,
            (!seccomp).then(|| "seccomp is unavailable".to_string()),
        ),
        Err(r) => (false, Some(r)),
    };
    if sim.no_seccomp_notify {
        notify = false;
        notify_reason = Some("simulated: no seccomp user notification".into());
        notes.push("no seccomp user notification".into());
    }
    Kernel {
        landlock_abi: abi,
        real_landlock_abi: real,
        user_namespaces: userns,
        user_namespaces_reason: reason,
        seccomp,
        seccomp_notify: notify,
        seccomp_notify_reason: notify_reason,
        simulated: if notes.is_empty() {
            None
        } else {
            Some(format!("SIMULATED KERNEL: {}", notes.join(", ")))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_simulation() {
        let s: Simulation = "landlock=3,userns=off".parse().unwrap();
        assert_eq!(s.landlock_abi, Some(3));
        assert!(s.no_user_namespaces);
        assert!(
            "unotify=off"
                .parse::<Simulation>()
                .unwrap()
                .no_seccomp_notify
        );
        assert!("landlock=x".parse::<Simulation>().is_err());
        assert!("bogus".parse::<Simulation>().is_err());
    }

    #[test]
    fn probe_reports_simulation() {
        let k = probe(&"landlock=2".parse().unwrap(), true);
        assert!(k.landlock_abi <= 2);
        assert!(k.simulated.unwrap().contains("capped at 2"));
    }
}
