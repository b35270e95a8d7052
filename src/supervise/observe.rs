//! The denial observer: a seccomp filter returns SECCOMP_RET_TRACE for the path system calls
//! only, and the supervisor, as the box's ptrace tracer from outside it, reads each call's path
//! at entry and its result at exit, keeping the refused ones (EACCES, EPERM, EROFS, and EBUSY
//! for a write to a mount point). Everything else runs untraced, as `strace --seccomp-bpf` does.
//!
//! Each traced call costs two stops (about 10 µs here, tens of µs when the tracer must be woken
//! on another CPU), several times the cost of an `open` itself. No scheme that stops on each
//! write kept bulk writing within 10 % of the box without the observer (copying 4,000 files took
//! five times as long; README), so the default scope ([`Observe::Exec`]) traces only exec and
//! TCP connect, which are rare. [`Observe::WritesAndExec`] (`--report-denials=writes`) adds the
//! calls that create, change or remove files, decided in the filter on the call's flags (opens
//! for reading stay untraced), and [`Observe::All`] (`--report-denials`, `agentbox learn`) every
//! path call.

use std::collections::{BTreeMap, HashMap};

/// How a traced call uses its paths: (argument index of dirfd or -1, argument index of path, access).
#[derive(Clone, Copy)]
struct Spec {
    dirfd: i8,
    path: u8,
    access: Acc,
    /// A second path (rename/link targets).
    second: Option<(i8, u8)>,
    /// The call follows a symlink in the last component (opens decide by their flags).
    follows: bool,
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
        follows: access == Acc::Exec,
    };
    // truncate(2) and creat(2) write through a final symlink; mkdir, unlink, rename... do not.
    let through = |dirfd: i8, path: u8| Spec {
        follows: true,
        ..s(dirfd, path, Acc::Write)
    };
    let two = |dirfd: i8, path: u8, d2: i8, p2: u8| Spec {
        dirfd,
        path,
        access: Acc::Write,
        second: Some((d2, p2)),
        follows: false,
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
        (libc::SYS_truncate, through(-1, 0)),
        (libc::SYS_connect, s(-1, 1, Acc::Connect)),
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        (libc::SYS_open, s(-1, 0, Acc::OpenFlags(1))),
        (libc::SYS_creat, through(-1, 0)),
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

/// Which calls the denial observer stops on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Observe {
    /// No observer (`--no-report-denials`): filesystem denials are not named.
    Off,
    /// exec and TCP connect only (the default): a refused exec is named at no cost to file work.
    #[default]
    Exec,
    /// Calls that create, change or remove files (opens for writing, creating or truncating
    /// included), exec and TCP connect; opens for reading run untraced
    /// (`--report-denials=writes`).
    WritesAndExec,
    /// Every path call, opens for reading included (`--report-denials`, `agentbox learn`).
    All,
}

/// The argument conditions under which `nr` is traced in `scope` (empty: always).
fn conditions(nr: i64, scope: Observe) -> anyhow::Result<Vec<seccompiler::SeccompRule>> {
    use seccompiler::{SeccompCmpArgLen::Dword, SeccompCmpOp, SeccompCondition, SeccompRule};
    let one = |arg: u8, op: SeccompCmpOp, v: u64| -> anyhow::Result<SeccompRule> {
        Ok(SeccompRule::new(vec![SeccompCondition::new(
            arg, Dword, op, v,
        )?])?)
    };
    // connect: only an AF_INET or AF_INET6 address is read (16 to 128 bytes); unix sockets,
    // most of them 110 bytes (`sizeof(struct sockaddr_un)`, as glibc's nscd lookups pass),
    // run untraced.
    if nr == libc::SYS_connect {
        use SeccompCmpOp::{Ge, Le, Ne};
        return Ok(vec![SeccompRule::new(vec![
            SeccompCondition::new(2, Dword, Ge, 16)?,
            SeccompCondition::new(2, Dword, Le, 128)?,
            SeccompCondition::new(2, Dword, Ne, 110)?,
        ])?]);
    }
    let flags_arg = match specs().into_iter().find(|(n, _)| *n == nr) {
        Some((
            _,
            Spec {
                access: Acc::OpenFlags(i),
                ..
            },
        )) => i,
        _ => return Ok(vec![]),
    };
    if scope == Observe::All {
        return Ok(vec![]);
    }
    // An open that may write: O_WRONLY, O_RDWR (or the access mode 3), O_CREAT, O_TRUNC
    // (O_TMPFILE requires a writing mode). Any one of the bits is enough.
    let bits = [libc::O_WRONLY, libc::O_RDWR, libc::O_CREAT, libc::O_TRUNC];
    bits.iter()
        .map(|&b| one(flags_arg, SeccompCmpOp::MaskedEq(b as u64), b as u64))
        .collect()
}

/// The trace filter for `scope`: SECCOMP_RET_TRACE for the path calls it covers, allow
/// everything else; None when the observer is off.
pub fn trace_filter(scope: Observe) -> anyhow::Result<Option<seccompiler::BpfProgram>> {
    if scope == Observe::Off {
        return Ok(None);
    }
    let mut rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = BTreeMap::new();
    for (nr, spec) in specs() {
        if scope == Observe::Exec && !matches!(spec.access, Acc::Exec | Acc::Connect) {
            continue;
        }
        rules.insert(nr, conditions(nr, scope)?);
    }
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
    Ok(Some(f.try_into()?))
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

/// Read a NUL-terminated string (at most 4 KiB) from the tracee: the rest of its first page,
/// then the next page only when the string goes on (most paths are short, and a read that
/// stays within one page touches one page and cannot fail at the end of a mapping).
fn read_str(pid: i32, addr: u64) -> Option<String> {
    if addr == 0 {
        return None;
    }
    const MAX: usize = 4096;
    let mut buf = vec![0u8; MAX];
    let mut have = 0usize;
    while have < MAX {
        let at = addr + have as u64;
        let room = (4096 - (at as usize % 4096)).min(MAX - have);
        let local = libc::iovec {
            iov_base: buf[have..].as_mut_ptr().cast(),
            iov_len: room,
        };
        let remote = libc::iovec {
            iov_base: at as *mut libc::c_void,
            iov_len: room,
        };
        // SAFETY: reading at most `room` bytes into our own buffer, which has that much left
        // from `have`; the kernel checks the remote range.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n <= 0 {
            return None;
        }
        let got = &buf[have..have + n as usize];
        if let Some(end) = got.iter().position(|&c| c == 0) {
            let end = have + end;
            return Some(String::from_utf8_lossy(&buf[..end]).into_owned());
        }
        have += n as usize;
    }
    None
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

/// The path as the kernel resolved it in the box's view (through `/proc/<pid>/root`): symlinks
/// in its directories, and in its last component where the call follows one, replaced by their
/// targets, so a denial names the tree that refused it and not a link into it (granting the link
/// would grant its target). Components missing in the box are kept as written. Read at the
/// call's exit, for refused calls only.
fn real_path(pid: i32, path: &str, follow_last: bool) -> String {
    use std::collections::VecDeque;
    if !path.starts_with('/') {
        // Its directory could not be read: nothing to resolve against.
        return path.to_owned();
    }
    let root = format!("/proc/{pid}/root");
    let mut done = std::path::PathBuf::from("/");
    let mut todo: VecDeque<String> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_owned)
        .collect();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == ".." {
            done.pop();
            continue;
        }
        let next = done.join(&c);
        if todo.is_empty() && !follow_last {
            done = next;
            break;
        }
        // `done` holds no symlink, so the kernel follows none but the one looked at here.
        let target = std::fs::read_link(format!("{root}{}", next.display()));
        match target {
            // 40: the kernel's own limit (ELOOP).
            Ok(t) if links < 40 => {
                links += 1;
                let t = t.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    done = std::path::PathBuf::from("/");
                }
                for part in t.split('/').rev() {
                    if !part.is_empty() && part != "." {
                        todo.push_front(part.to_owned());
                    }
                }
            }
            _ => done = next,
        }
    }
    done.to_string_lossy().into_owned()
}

/// A call seen at entry, waiting for its result.
struct Pending {
    /// None for a connect.
    access: Option<crate::report::Access>,
    /// Each path as the call passed it, with the directory descriptor it is relative to:
    /// resolved to an absolute path only when the call fails (most succeed).
    paths: Vec<(Option<i32>, String)>,
    /// The call follows a symlink in the last component of its (first) path.
    follows: bool,
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

/// The tracer's wait for its next stop. A stop wakes the tracer, and the tracer's restart wakes
/// the tracee; when either sleeps on an idle virtual CPU, each wake-up costs tens of
/// microseconds, far more than handling the stop. While stops come close together (a burst of
/// file creations), the tracer polls for the next one for a short while instead of sleeping.
pub struct Waiter {
    /// How long to poll after a stop, when it came within that time of the one before.
    spin: std::time::Duration,
    /// The last stop came soon after the one before it.
    dense: bool,
    /// When the last stop arrived (its handling counts toward the next poll).
    last: std::time::Instant,
}

/// How long the tracer polls after a stop by default, in microseconds: about the time a tool
/// writing many small files spends between two of them (`cp -r`: 20 to 60 µs), so a burst is
/// followed without sleeping, and a sparse stream (a build's execs) costs nothing.
const POLL_US: u64 = 100;

impl Waiter {
    /// A waiter polling for at most `poll_us` microseconds after a stop (0: never polls).
    pub fn new(poll_us: u64) -> Self {
        Waiter {
            spin: std::time::Duration::from_micros(poll_us),
            dense: false,
            last: std::time::Instant::now(),
        }
    }

    /// The default waiter, or `AGENTBOX_TRACE_POLL_US` (0 turns polling off: benchmarks
    /// compare both in one run).
    pub fn from_env() -> Self {
        let v = std::env::var("AGENTBOX_TRACE_POLL_US").ok();
        Waiter::new(v.and_then(|v| v.parse().ok()).unwrap_or(POLL_US))
    }

    /// The next wait status of any tracee: `(pid, status)`, pid negative on error.
    pub fn wait(&mut self) -> (i32, i32) {
        let mut st = 0;
        let mut r = 0;
        if self.dense {
            while r == 0 && self.last.elapsed() < self.spin {
                // Whatever else is runnable on this CPU (the box itself) goes first.
                // SAFETY: sched_yield has no arguments and cannot fail.
                unsafe { libc::sched_yield() };
                // SAFETY: polling for our child and the tracees it created.
                r = unsafe { libc::waitpid(-1, &mut st, libc::__WALL | libc::WNOHANG) };
            }
        }
        if r == 0 {
            // SAFETY: waiting for our child and the tracees it created.
            r = unsafe { libc::waitpid(-1, &mut st, libc::__WALL) };
        }
        let now = std::time::Instant::now();
        self.dense = now.duration_since(self.last) < self.spin;
        self.last = now;
        (r, st)
    }
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
                // Stop again at the call's exit only when its result is wanted.
                let req = if self.entry(pid) {
                    libc::PTRACE_SYSCALL
                } else {
                    libc::PTRACE_CONT
                };
                resume(req, pid, 0);
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

    /// Record a call at its entry; true when its result is wanted (a stop at its exit).
    fn entry(&mut self, pid: i32) -> bool {
        let Some(r) = regs(pid) else { return false };
        let Some(spec) = self.specs.get(&r.nr).copied() else {
            return false;
        };
        if spec.access == Acc::Connect {
            let Some(addr) = read_sockaddr(pid, r.args[1], r.args[2]) else {
                return false;
            };
            self.pending.insert(
                pid,
                Pending {
                    access: None,
                    paths: vec![],
                    follows: false,
                    addr: Some(addr),
                },
            );
            return true;
        }
        let dir = |i: i8| (i >= 0).then(|| r.args[i as usize] as i32);
        let mut paths = Vec::new();
        if let Some(p) = read_str(pid, r.args[spec.path as usize]) {
            paths.push((dir(spec.dirfd), p));
        }
        if let Some((d2, p2)) = spec.second {
            if let Some(p) = read_str(pid, r.args[p2 as usize]) {
                paths.push((dir(d2), p));
            }
        }
        let flags = match spec.access {
            Acc::OpenFlags(i) => Some(r.args[i as usize]),
            Acc::OpenHow(i) => read_u64(pid, r.args[i as usize]),
            _ => None,
        };
        use crate::report::Access;
        // An open follows a final symlink unless O_NOFOLLOW, or O_CREAT with O_EXCL.
        let follows = match flags {
            Some(f) => {
                let f = f as i32;
                f & libc::O_NOFOLLOW == 0
                    && f & (libc::O_CREAT | libc::O_EXCL) != (libc::O_CREAT | libc::O_EXCL)
            }
            None => spec.follows,
        };
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
                follows,
                addr: None,
            },
        );
        true
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
        // The call is still in progress: its directory descriptor and working directory are
        // the ones it resolved against.
        let abs = |(dirfd, path): (Option<i32>, String)| resolve(pid, dirfd, &path);
        if matches!(errno, libc::EACCES | libc::EPERM | libc::EROFS) {
            for (i, path) in p.paths.into_iter().map(abs).enumerate() {
                let real = real_path(pid, &path, i == 0 && p.follows);
                *self.denials.entry((access, real)).or_default() += 1;
            }
        } else if errno == libc::EBUSY && access == crate::report::Access::Write {
            // A mount point refused: a protected path's read-only bind, renamed onto (git
            // config renames config.lock onto config) or removed. For a rename, the target.
            if let Some(path) = p.paths.into_iter().last().map(abs) {
                *self.denials.entry((access, path)).or_default() += 1;
            }
        } else if errno == libc::ENOENT && self.missing.len() < 20_000 {
            if let Some(path) = p.paths.into_iter().next().map(abs) {
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
        assert!(trace_filter(Observe::Off).unwrap().is_none());
        let all = trace_filter(Observe::All).unwrap().unwrap();
        let narrow = trace_filter(Observe::WritesAndExec).unwrap().unwrap();
        let exec = trace_filter(Observe::Exec).unwrap().unwrap();
        // The writes filter checks open flags: longer than the unconditional one; the default
        // names two calls and a connect's length.
        assert!(all.len() > 10 && narrow.len() > all.len() && exec.len() < all.len());
    }

    /// One probe call in the filtered child.
    enum Probe {
        Open(libc::c_int),
        Mkdir,
        Connect(libc::socklen_t),
    }

    /// Which of `probes` the filter for `scope` traces, found without a tracer: a traced call
    /// then fails with ENOSYS, an untraced one runs (each probe is harmless if it does).
    fn traced(scope: Observe, probes: &[Probe]) -> Vec<bool> {
        let prog = trace_filter(scope).unwrap().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = std::ffi::CString::new(dir.path().join("f").to_str().unwrap()).unwrap();
        let sub = std::ffi::CString::new(dir.path().join("d").to_str().unwrap()).unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        let mut out = Vec::new();
        for p in probes {
            // SAFETY: the child makes system calls only (everything was built before the fork)
            // and leaves with _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: prctl, seccomp and the probe's calls on memory built above; _exit.
                unsafe {
                    libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                    if libc::syscall(libc::SYS_seccomp, 1, 0, &fprog as *const _) != 0 {
                        libc::_exit(2);
                    }
                    let r = match p {
                        Probe::Open(flags) => libc::open(file.as_ptr(), *flags, 0o600),
                        Probe::Mkdir => libc::mkdir(sub.as_ptr(), 0o700),
                        Probe::Connect(len) => {
                            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
                            let addr: libc::sockaddr_storage = std::mem::zeroed();
                            libc::connect(fd, &addr as *const _ as *const libc::sockaddr, *len)
                        }
                    };
                    let enosys = r < 0 && *libc::__errno_location() == libc::ENOSYS;
                    libc::_exit(i32::from(enosys));
                }
            }
            let mut st = 0;
            // SAFETY: waiting for the child just forked.
            unsafe { libc::waitpid(pid, &mut st, 0) };
            assert!(
                libc::WIFEXITED(st) && libc::WEXITSTATUS(st) < 2,
                "probe child"
            );
            out.push(libc::WEXITSTATUS(st) == 1);
        }
        out
    }

    #[test]
    fn scopes_trace_what_they_name() {
        use libc::{O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};
        let probes = [
            Probe::Open(O_RDONLY),
            Probe::Open(O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW),
            Probe::Open(O_RDONLY | O_DIRECTORY),
            Probe::Open(O_WRONLY),
            Probe::Open(O_RDWR),
            Probe::Open(O_WRONLY | O_APPEND),
            Probe::Open(O_RDONLY | O_TRUNC),
            Probe::Open(O_RDONLY | O_CREAT),
            Probe::Open(O_WRONLY | O_CREAT | O_EXCL),
            Probe::Mkdir,
            // An AF_INET/AF_INET6-sized address, then a unix socket's 110 bytes and a short one.
            Probe::Connect(16),
            Probe::Connect(28),
            Probe::Connect(110),
            Probe::Connect(8),
        ];
        let want = [
            false, false, false, true, true, true, true, true, true, true, true, true, false, false,
        ];
        assert_eq!(traced(Observe::WritesAndExec, &probes), want);
        // The default traces no file call, only the connects.
        let exec = [
            false, false, false, false, false, false, false, false, false, false, true, true,
            false, false,
        ];
        assert_eq!(traced(Observe::Exec, &probes), exec);
        // The full observer traces every open too.
        let mut all = want;
        all[..3].copy_from_slice(&[true, true, true]);
        assert_eq!(traced(Observe::All, &probes), all);
    }

    #[test]
    fn denials_name_what_links_point_to() {
        let d = tempfile::tempdir().unwrap();
        let d = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir(d.join("real")).unwrap();
        std::fs::write(d.join("real/file"), "").unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("abs")).unwrap();
        std::os::unix::fs::symlink("real/file", d.join("rel")).unwrap();
        std::os::unix::fs::symlink("abs", d.join("chain")).unwrap();
        let me = std::process::id() as i32;
        let s = |p: &str| d.join(p).display().to_string();
        // A link in a directory is resolved, absolute or relative, chained.
        assert_eq!(real_path(me, &s("abs/new"), false), s("real/new"));
        assert_eq!(real_path(me, &s("chain/new"), true), s("real/new"));
        // The last component only where the call follows it (mkdir or unlink do not).
        assert_eq!(real_path(me, &s("rel"), true), s("real/file"));
        assert_eq!(real_path(me, &s("rel"), false), s("rel"));
        // Missing components are kept as written.
        assert_eq!(real_path(me, &s("abs/no/such"), true), s("real/no/such"));
        std::os::unix::fs::symlink("loop", d.join("loop")).unwrap();
        assert_eq!(real_path(me, &s("loop/x"), true), s("loop/x"));
    }
}
