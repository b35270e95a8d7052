//! The denial observer (`--report-denials`): a seccomp filter returns SECCOMP_RET_TRACE for the
//! path system calls only, and the supervisor, as the box's ptrace tracer from outside it,
//! reads each call's path at entry and its result at exit, keeping the refused ones (EACCES,
//! EPERM, EROFS, and EBUSY for a write to a mount point). Everything else runs untraced, as
//! `strace --seccomp-bpf` does.

use std::collections::{BTreeMap, HashMap};

/// How a traced call uses its paths: (argument index of dirfd or -1, argument index of path, access).
#[derive(Clone, Copy)]
struct Spec {
    dirfd: i8,
    path: u8,
    access: Acc,
    /// A second path (rename/link targets).
    second: Option<(i8, u8)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Acc {
    /// connect(2): the sockaddr in argument 1.
    Connect,
    /// read or write depending on open flags in this argument.
    OpenFlags(u8),
    /// openat2: flags in the struct pointed to by this argument.
    OpenHow(u8),
    Write,
    Exec,
}

fn specs() -> Vec<(i64, Spec)> {
    let s = |dirfd: i8, path: u8, access: Acc| Spec {
        dirfd,
        path,
        access,
        second: None,
    };
    let two = |dirfd: i8, path: u8, d2: i8, p2: u8| Spec {
        dirfd,
        path,
        access: Acc::Write,
        second: Some((d2, p2)),
    };
    let mut v = vec![
        (libc::SYS_openat, s(0, 1, Acc::OpenFlags(2))),
        (libc::SYS_openat2, s(0, 1, Acc::OpenHow(2))),
        (libc::SYS_execve, s(-1, 0, Acc::Exec)),
        (libc::SYS_execveat, s(0, 1, Acc::Exec)),
        (libc::SYS_mkdirat, s(0, 1, Acc::Write)),
        (libc::SYS_mknodat, s(0, 1, Acc::Write)),
        (libc::SYS_unlinkat, s(0, 1, Acc::Write)),
        (libc::SYS_renameat, two(0, 1, 2, 3)),
        (libc::SYS_renameat2, two(0, 1, 2, 3)),
        (libc::SYS_linkat, two(0, 1, 2, 3)),
        (libc::SYS_symlinkat, s(1, 2, Acc::Write)),
        (libc::SYS_truncate, s(-1, 0, Acc::Write)),
        (libc::SYS_connect, s(-1, 1, Acc::Connect)),
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        (libc::SYS_open, s(-1, 0, Acc::OpenFlags(1))),
        (libc::SYS_creat, s(-1, 0, Acc::Write)),
        (libc::SYS_mkdir, s(-1, 0, Acc::Write)),
        (libc::SYS_mknod, s(-1, 0, Acc::Write)),
        (libc::SYS_unlink, s(-1, 0, Acc::Write)),
        (libc::SYS_rmdir, s(-1, 0, Acc::Write)),
        (libc::SYS_rename, two(-1, 0, -1, 1)),
        (libc::SYS_link, two(-1, 0, -1, 1)),
        (libc::SYS_symlink, s(-1, 1, Acc::Write)),
    ]);
    v
}

/// The trace filter: SECCOMP_RET_TRACE for the path calls, allow everything else.
pub fn trace_filter() -> anyhow::Result<seccompiler::BpfProgram> {
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        specs().into_iter().map(|(nr, _)| (nr, vec![])).collect();
    let arch = if cfg!(target_arch = "aarch64") {
        seccompiler::TargetArch::aarch64
    } else {
        seccompiler::TargetArch::x86_64
    };
    let f = seccompiler::SeccompFilter::new(
        rules,
        seccompiler::SeccompAction::Allow,
        seccompiler::SeccompAction::Trace(0),
        arch,
    )?;
    Ok(f.try_into()?)
}

struct Regs {
    nr: i64,
    args: [u64; 6],
    ret: i64,
}

#[cfg(target_arch = "x86_64")]
fn regs(pid: i32) -> Option<Regs> {
    // SAFETY: PTRACE_GETREGS into a zeroed struct of the right type for a stopped tracee.
    let mut r: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: as above: the kernel fills `r`, which outlives the call.
    let ok = unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid, 0, &mut r as *mut _) } == 0;
    ok.then_some(Regs {
        nr: r.orig_rax as i64,
        args: [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9],
        ret: r.rax as i64,
    })
}

#[cfg(target_arch = "aarch64")]
fn regs(pid: i32) -> Option<Regs> {
    // SAFETY: PTRACE_GETREGSET NT_PRSTATUS into a zeroed struct described by an iovec.
    let mut r: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: &mut r as *mut _ as *mut libc::c_void,
        iov_len: std::mem::size_of::<libc::user_regs_struct>(),
    };
    let ok = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGSET,
            pid,
            libc::NT_PRSTATUS,
            &mut iov as *mut _,
        )
    } == 0;
    ok.then_some(Regs {
        nr: r.regs[8] as i64,
        args: [
            r.regs[0], r.regs[1], r.regs[2], r.regs[3], r.regs[4], r.regs[5],
        ],
        ret: r.regs[0] as i64,
    })
}

/// Restart a tracee in a ptrace stop with `req` (PTRACE_CONT, PTRACE_SYSCALL, PTRACE_LISTEN),
/// delivering signal `data` (0 for none).
fn resume(req: libc::c_uint, pid: i32, data: libc::c_long) {
    // SAFETY: a restart request on a tracee that is in a ptrace stop; no pointer is passed.
    unsafe { libc::ptrace(req, pid, 0, data) };
}

/// Read a NUL-terminated string (at most 4 KiB) from the tracee.
fn read_str(pid: i32, addr: u64) -> Option<String> {
    if addr == 0 {
        return None;
    }
    let mut buf = vec![0u8; 4096];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: reading into our own buffer; the kernel checks the remote range.
    let mut n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n <= 0 {
        // The string may end near the end of a mapping: retry within the page.
        let room = 4096 - (addr as usize % 4096);
        let remote = libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: room,
        };
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: room,
        };
        // SAFETY: as above.
        n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n <= 0 {
            return None;
        }
    }
    let b = &buf[..n as usize];
    let end = b.iter().position(|&c| c == 0)?;
    Some(String::from_utf8_lossy(&b[..end]).into_owned())
}

fn read_u64(pid: i32, addr: u64) -> Option<u64> {
    let mut v = [0u8; 8];
    let local = libc::iovec {
        iov_base: v.as_mut_ptr().cast(),
        iov_len: 8,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: 8,
    };
    // SAFETY: reading 8 bytes into our own buffer.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    (n == 8).then(|| u64::from_ne_bytes(v))
}

fn resolve(pid: i32, dirfd: Option<i32>, p: &str) -> String {
    if p.starts_with('/') {
        return crate::profile::expand::normalize(p)
            .to_string_lossy()
            .into_owned();
    }
    let base = match dirfd {
        Some(fd) if fd != libc::AT_FDCWD => std::fs::read_link(format!("/proc/{pid}/fd/{fd}")),
        _ => std::fs::read_link(format!("/proc/{pid}/cwd")),
    };
    match base {
        Ok(b) => crate::profile::expand::normalize(&b.join(p).to_string_lossy())
            .to_string_lossy()
            .into_owned(),
        Err(_) => p.to_string(),
    }
}

/// A call seen at entry, waiting for its result.
struct Pending {
    /// None for a connect.
    access: Option<crate::report::Access>,
    paths: Vec<String>,
    addr: Option<std::net::SocketAddr>,
}

/// Decode an AF_INET/AF_INET6 sockaddr from the tracee.
fn read_sockaddr(pid: i32, addr: u64, len: u64) -> Option<std::net::SocketAddr> {
    if addr == 0 || !(16..=128).contains(&len) {
        return None;
    }
    let mut b = [0u8; 28];
    let n = (len as usize).min(28);
    let local = libc::iovec {
        iov_base: b.as_mut_ptr().cast(),
        iov_len: n,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: n,
    };
    // SAFETY: reading at most 28 bytes into our own buffer.
    if unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) } != n as isize {
        return None;
    }
    let family = u16::from_ne_bytes([b[0], b[1]]) as i32;
    let port = u16::from_be_bytes([b[2], b[3]]);
    match family {
        libc::AF_INET => Some(std::net::SocketAddr::from(([b[4], b[5], b[6], b[7]], port))),
        libc::AF_INET6 if n >= 24 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&b[8..24]);
            Some(std::net::SocketAddr::from((ip, port)))
        }
        _ => None,
    }
}

/// Collected denials: (access, path) -> count.
#[derive(Default)]
pub struct Observer {
    specs: HashMap<i64, Spec>,
    pending: HashMap<i32, Pending>,
    /// Denials seen.
    pub denials: BTreeMap<(crate::report::Access, String), usize>,
    /// TCP connections the box could not make (refused, unreachable or denied; loopback ones
    /// still in progress), with counts.
    pub connects: BTreeMap<std::net::SocketAddr, usize>,
    /// Paths that were not found (bounded): a path under a masked tree that exists on the host
    /// was hidden by the mask, which is a denial too.
    pub missing: BTreeMap<(crate::report::Access, String), usize>,
}

const EVENT_SECCOMP: i32 = 7;
const EVENT_STOP: i32 = 128;

impl Observer {
    /// A fresh observer.
    pub fn new() -> Self {
        Observer {
            specs: specs().into_iter().collect(),
            ..Default::default()
        }
    }

    /// Attach to `pid` (the box's first process, before it installs any filter), following
    /// every process it creates.
    pub fn seize(pid: i32) -> std::io::Result<()> {
        let opts = libc::PTRACE_O_TRACESECCOMP
            | libc::PTRACE_O_TRACEFORK
            | libc::PTRACE_O_TRACEVFORK
            | libc::PTRACE_O_TRACECLONE
            | libc::PTRACE_O_TRACESYSGOOD
            | libc::PTRACE_O_EXITKILL;
        // SAFETY: PTRACE_SEIZE with option flags on our own child.
        if unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, opts as libc::c_long) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Handle one wait status of a tracee; returns false when `pid` is gone.
    pub fn handle(&mut self, pid: i32, status: i32) -> bool {
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            self.pending.remove(&pid);
            return false;
        }
        if !libc::WIFSTOPPED(status) {
            return true;
        }
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        match event {
            EVENT_SECCOMP => {
                self.entry(pid);
                resume(libc::PTRACE_SYSCALL, pid, 0);
            }
            EVENT_STOP => {
                if matches!(
                    sig,
                    libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
                ) {
                    // A group stop (job control): stay stopped until SIGCONT.
                    resume(libc::PTRACE_LISTEN, pid, 0);
                } else {
                    resume(libc::PTRACE_CONT, pid, 0);
                }
            }
            0 if sig == (libc::SIGTRAP | 0x80) => {
                self.exit(pid);
                resume(libc::PTRACE_CONT, pid, 0);
            }
            0 => {
                // Signal-delivery stop: deliver the signal.
                resume(libc::PTRACE_CONT, pid, sig as libc::c_long);
            }
            _ => {
                resume(libc::PTRACE_CONT, pid, 0);
            }
        }
        true
    }

    fn entry(&mut self, pid: i32) {
        let Some(r) = regs(pid) else { return };
        let Some(spec) = self.specs.get(&r.nr).copied() else {
            return;
        };
        if spec.access == Acc::Connect {
            let addr = read_sockaddr(pid, r.args[1], r.args[2]);
            if addr.is_some() {
                self.pending.insert(
                    pid,
                    Pending {
                        access: None,
                        paths: vec![],
                        addr,
                    },
                );
            }
            return;
        }
        let dir = |i: i8| (i >= 0).then(|| r.args[i as usize] as i32);
        let mut paths = Vec::new();
        if let Some(p) = read_str(pid, r.args[spec.path as usize]) {
            paths.push(resolve(pid, dir(spec.dirfd), &p));
        }
        if let Some((d2, p2)) = spec.second {
            if let Some(p) = read_str(pid, r.args[p2 as usize]) {
                paths.push(resolve(pid, dir(d2), &p));
            }
        }
        let flags = match spec.access {
            Acc::OpenFlags(i) => Some(r.args[i as usize]),
            Acc::OpenHow(i) => read_u64(pid, r.args[i as usize]),
            _ => None,
        };
        use crate::report::Access;
        let access = match (spec.access, flags) {
            (Acc::Exec, _) => Access::Exec,
            (Acc::Write, _) => Access::Write,
            (_, Some(f)) => {
                let f = f as i32;
                if f & libc::O_ACCMODE != libc::O_RDONLY || f & (libc::O_CREAT | libc::O_TRUNC) != 0
                {
                    Access::Write
                } else {
                    Access::Read
                }
            }
            _ => Access::Read,
        };

        self.pending.insert(
            pid,
            Pending {
                access: Some(access),
                paths,
                addr: None,
            },
        );
    }

    fn exit(&mut self, pid: i32) {
        let Some(p) = self.pending.remove(&pid) else {
            return;
        };
        let Some(r) = regs(pid) else { return };
        if let Some(a) = p.addr {
            // A non-blocking connect learns its fate later: keep loopback ones left in progress
            // too (learn checks whether the host really has that service).
            let e = -r.ret as i32;
            let pending_loopback = e == libc::EINPROGRESS && a.ip().is_loopback();
            if pending_loopback
                || matches!(
                    e,
                    libc::ECONNREFUSED | libc::ENETUNREACH | libc::EACCES | libc::EPERM
                )
            {
                *self.connects.entry(a).or_default() += 1;
            }
            return;
        }
        let errno = -r.ret as i32;
        let Some(access) = p.access else { return };
        if matches!(errno, libc::EACCES | libc::EPERM | libc::EROFS) {
            for path in p.paths {
                *self.denials.entry((access, path)).or_default() += 1;
            }
        } else if errno == libc::EBUSY && access == crate::report::Access::Write {
            // A mount point refused: a protected path's read-only bind, renamed onto (git
            // config renames config.lock onto config) or removed. For a rename, the target.
            if let Some(path) = p.paths.into_iter().last() {
                *self.denials.entry((access, path)).or_default() += 1;
            }
        } else if errno == libc::ENOENT && self.missing.len() < 20_000 {
            if let Some(path) = p.paths.into_iter().next() {
                *self.missing.entry((access, path)).or_default() += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_builds() {
        assert!(trace_filter().unwrap().len() > 10);
    }
}
