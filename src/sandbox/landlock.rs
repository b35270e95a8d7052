//! The Landlock layer: the ruleset for a launch spec's rules at the kernel's ABI, built in the
//! child after the mounts (so rules name the paths as the box sees them).

use super::spec::{Grant, LandlockSpec};
use landlock::{
    Access, AccessFs, BitFlags, CompatLevel, Compatible, PathBeneath, Ruleset, RulesetAttr,
    RulesetCreated, RulesetCreatedAttr, Scope, ABI,
};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Landlock rights for an access class at an ABI.
pub fn rights(acc: Grant, abi: ABI, is_dir: bool) -> BitFlags<AccessFs> {
    let all = AccessFs::from_all(abi);
    let mut r = match acc {
        Grant::List => BitFlags::from(AccessFs::ReadDir),
        Grant::Read => AccessFs::ReadFile | AccessFs::ReadDir,
        Grant::Exec => AccessFs::ReadFile | AccessFs::ReadDir | AccessFs::Execute,
        Grant::Write => {
            AccessFs::from_all(abi)
                & !(AccessFs::MakeChar | AccessFs::MakeBlock | AccessFs::IoctlDev)
        }
        Grant::Device => {
            AccessFs::ReadFile
                | AccessFs::WriteFile
                | AccessFs::ReadDir
                | AccessFs::IoctlDev
                | AccessFs::Truncate
        }
    };
    r &= all;
    if !is_dir {
        r &= AccessFs::from_file(abi);
    }
    r
}

/// The ABI enum for a version number (0 = unsupported).
pub fn abi_of(v: i32) -> ABI {
    ABI::from(v)
}

/// A rule that could not be added in the child (the path vanished or cannot be opened).
#[derive(Debug)]
pub struct SkippedRule {
    /// The path.
    pub path: PathBuf,
    /// errno.
    pub errno: i32,
}

/// Open `path` as an O_PATH descriptor without following a final symlink where `nofollow`.
fn open_path(path: &Path, nofollow: bool) -> Result<(OwnedFd, bool), i32> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| libc::EINVAL)?;
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if nofollow {
        flags |= libc::O_NOFOLLOW;
    }
    // SAFETY: c is a valid NUL-terminated string; the fd is owned immediately.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    // SAFETY: fd is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid `stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on a valid fd into a zeroed stat buffer.
    let is_dir = unsafe { libc::fstat(std::os::fd::AsRawFd::as_raw_fd(&fd), &mut st) } == 0
        && (st.st_mode & libc::S_IFMT) == libc::S_IFDIR;
    Ok((fd, is_dir))
}

/// Build the ruleset for `rules` at `abi` (call in the child, after mounts). Every right the ABI
/// knows is handled, so anything not granted is denied.
pub fn build_ruleset(spec: &LandlockSpec) -> Result<(RulesetCreated, Vec<SkippedRule>), String> {
    let (rules, opts) = (&spec.rules, &spec.opts);
    let abi = abi_of(i32::from(spec.abi.0));
    let mut rs = Ruleset::default();
    // HardRequirement: what we ask for was computed for this ABI, anything less is a bug.
    rs = rs.set_compatibility(CompatLevel::HardRequirement);
    let mut rs = rs
        .handle_access(AccessFs::from_all(abi))
        .map_err(|e| format!("landlock: {e}"))?;
    if let Some(_ports) = &opts.net_connect {
        rs = rs
            .handle_access(landlock::AccessNet::from_all(abi))
            .map_err(|e| format!("landlock network: {e}"))?;
    }
    if opts.scopes {
        rs = rs
            .scope(Scope::AbstractUnixSocket | Scope::Signal)
            .map_err(|e| format!("landlock scopes: {e}"))?;
    }
    let mut created = rs.create().map_err(|e| format!("landlock: {e}"))?;
    let mut skipped = Vec::new();
    for r in rules {
        let nofollow = r.nofollow;
        let (fd, is_dir) = match open_path(&r.path, nofollow) {
            Ok(x) => x,
            Err(errno) => {
                skipped.push(SkippedRule {
                    path: r.path.clone(),
                    errno,
                });
                continue;
            }
        };
        let acc = rights(r.access, abi, is_dir);
        if acc.is_empty() {
            continue;
        }
        created = created
            .add_rule(PathBeneath::new(fd, acc))
            .map_err(|e| format!("landlock rule on {}: {e}", r.path.display()))?;
    }
    if let Some(ports) = &opts.net_connect {
        for p in ports {
            created = created
                .add_rule(landlock::NetPort::new(*p, landlock::AccessNet::ConnectTcp))
                .map_err(|e| format!("landlock port {p}: {e}"))?;
        }
        for p in &opts.net_bind {
            created = created
                .add_rule(landlock::NetPort::new(*p, landlock::AccessNet::BindTcp))
                .map_err(|e| format!("landlock port {p}: {e}"))?;
        }
    }
    Ok((created, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_per_abi() {
        let r = rights(Grant::Write, ABI::V1, true);
        assert!(!r.contains(AccessFs::Truncate));
        let r = rights(Grant::Write, ABI::V3, true);
        assert!(r.contains(AccessFs::Truncate));
        assert!(!r.contains(AccessFs::MakeChar));
        let r = rights(Grant::Exec, ABI::V5, false);
        assert!(!r.contains(AccessFs::ReadDir));
        assert!(r.contains(AccessFs::Execute));
    }
}
