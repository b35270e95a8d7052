//! The connect broker: without a network namespace, every `connect(2)` of the box stops in a
//! seccomp user notification and the supervisor decides it, race-free.
//!
//! Landlock's TCP rules name a port, never an address, so a port rule for the host proxy would
//! open that port number on every address (127.0.0.2:PORT, a LAN host, the internet). Instead:
//!
//! - the box installs, as its last seccomp filter, [`Program`]: `connect` returns
//!   `SECCOMP_RET_USER_NOTIF`, everything else is allowed; the listener descriptor goes to the
//!   supervisor over the parent/child channel before exec ([`install`]);
//! - the supervisor's broker threads ([`Pending::start`]) receive each connect, take the box's
//!   socket with `pidfd_getfd`, and ask the socket itself what it is (`SO_DOMAIN`, `SO_TYPE`,
//!   `SO_PROTOCOL`), never the box's memory;
//! - a non-inet socket (AF_UNIX, netlink) is answered `SECCOMP_USER_NOTIF_FLAG_CONTINUE`: the
//!   kernel then runs the box's own connect, governed by the filesystem layers;
//! - an inet TCP socket is never continued (the box could change the address in its memory
//!   after the check): the broker reads the address, checks that the notification is still
//!   live, and itself connects the box's socket to the address *it* chose: the proxy at
//!   127.0.0.1:PORT, or a listed local service at its address. Anything else is refused with
//!   `EACCES` and recorded for the report. The result of the broker's connect (0, `EINPROGRESS`
//!   for a non-blocking socket, `EISCONN`...) is the box's result.
//!
//! Landlock meanwhile handles `ConnectTcp` with no port rule at all (see `run::prepare`): a
//! connect the broker continued on a descriptor the box swapped for a TCP socket in between
//! (a second thread's `dup2`) is refused by the kernel. TCP Fast Open through `sendto` /
//! `sendmsg` with `MSG_FASTOPEN`, which connects without the connect hook, is denied by the
//! seccomp deny table; `TCP_FASTOPEN_CONNECT` still goes through `connect(2)` and so through
//! the broker, which fixes the destination.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use seccompiler::sock_filter;

/// The errno of a refused connect.
///
/// `EACCES` rather than `ECONNREFUSED`: it is what Landlock itself answers for a TCP connect it
/// denies, so the box sees one error for one policy; it reads as a permission problem (which
/// it is) instead of "nothing listens there", which would send a person or `agentbox learn`
/// looking for a service that is not down; and clients try their next address on it all the
/// same.
pub const REFUSED_ERRNO: i32 = libc::EACCES;

// ---------------------------------------------------------------------------------------------
// The box side.
// ---------------------------------------------------------------------------------------------

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_NATIVE: u32 = 0xC000_003E; // EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH_NATIVE: u32 = 0xC000_00B7; // EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE

/// The notification filter, compiled before fork so that installing it allocates nothing.
#[derive(Debug, Clone)]
pub struct Program {
    filter: Vec<sock_filter>,
}

impl Program {
    /// `connect` -> `SECCOMP_RET_USER_NOTIF`, every other native call allowed, foreign ABIs killed.
    pub fn new() -> Program {
        // Classic BPF opcodes (linux/bpf_common.h).
        const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
        const JMP_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
        const JMP_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
        const RET_K: u16 = 0x06; // BPF_RET | BPF_K
        const ARCH_OFFSET: u32 = 4; // struct seccomp_data.arch
        const NR_OFFSET: u32 = 0; // struct seccomp_data.nr
        const X32_SYSCALL_BIT: u32 = 0x4000_0000; // x32: the x86_64 arch, this bit in nr
        let ins = |code, jt, jf, k| sock_filter { code, jt, jf, k };
        // The deny filter kills foreign ABIs too, but this program must not let another ABI's
        // `connect` number through on its own.
        let filter = vec![
            ins(LD_W_ABS, 0, 0, ARCH_OFFSET),
            ins(JMP_JEQ_K, 1, 0, AUDIT_ARCH_NATIVE),
            ins(RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
            ins(LD_W_ABS, 0, 0, NR_OFFSET),
            ins(JMP_JGE_K, 0, 1, X32_SYSCALL_BIT),
            ins(RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
            ins(JMP_JEQ_K, 0, 1, libc::SYS_connect as u32),
            ins(RET_K, 0, 0, libc::SECCOMP_RET_USER_NOTIF),
            ins(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
        ];
        Program { filter }
    }

    /// Number of BPF instructions.
    pub fn instructions(&self) -> usize {
        self.filter.len()
    }

    /// Install on the calling thread and return the listener (no_new_privs must be set).
    /// Allocation-free: the program lives in `self`, the `sock_fprog` on the stack.
    pub fn install_listener(&self) -> io::Result<OwnedFd> {
        let prog = libc::sock_fprog {
            len: self.filter.len() as u16,
            filter: self.filter.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: seccomp(2) reads `prog`, which points at `self.filter` (seccompiler's
        // sock_filter has the kernel's layout: u16, u8, u8, u32) for the duration of the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
                &prog as *const libc::sock_fprog,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor (close-on-exec, set by the kernel) that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
}

impl Default for Program {
    fn default() -> Self {
        Program::new()
    }
}

/// What the box needs (the program) and how the supervisor's broker receives the listener.
pub struct Install {
    program: Program,
    handoff: mpsc::Sender<OwnedFd>,
}

impl std::fmt::Debug for Install {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Install")
            .field("instructions", &self.program.instructions())
            .finish()
    }
}

/// In the box, last before exec: install the notification filter, `send` its listener to the
/// supervisor (`crate::sandbox::channel::send_fd` with `Msg::Broker`), then close the box's copy (a box holding
/// it could answer its own connects). Allocation-free if `send` is.
pub fn install(inst: &Install, send: impl FnOnce(RawFd) -> io::Result<()>) -> io::Result<()> {
    let listener = inst.program.install_listener()?;
    send(listener.as_raw_fd())?;
    drop(listener);
    Ok(())
}

impl Install {
    /// Supervisor, on `Msg::Broker`: pass the listener to the broker thread. If the broker is
    /// gone the listener is dropped here, and every connect of the box fails (`ENOSYS`).
    pub fn hand_over(&self, fds: Vec<OwnedFd>) {
        let Some(fd) = fds.into_iter().next() else {
            tracing::error!("connect broker: the box sent no listener");
            return;
        };
        if self.handoff.send(fd).is_err() {
            tracing::error!("connect broker: not running; TCP connects from the box will fail");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The policy.
// ---------------------------------------------------------------------------------------------

/// Where the broker may connect the box's TCP sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The supervisor's proxy on the host's 127.0.0.1 (allowlist mode).
    pub proxy_port: Option<u16>,
    /// Listed local services (`network.local`), reachable at their own address only.
    pub local: Vec<SocketAddr>,
}

impl Policy {
    /// The address to connect a TCP socket of `family` (AF_INET or AF_INET6) to when the box
    /// asked for `want`, or `None` to refuse. The answer is always one of the policy's own
    /// addresses (in the socket's family), never the box's bytes.
    pub fn target(&self, family: i32, want: SocketAddr) -> Option<SocketAddr> {
        let want = normalize(want);
        let chosen = if let Some(p) = self.proxy_port.filter(|p| {
            let proxy = SocketAddr::from((Ipv4Addr::LOCALHOST, *p));
            // The proxy listens on 127.0.0.1 only; a v6 socket asking for [::1]:PORT is
            // taken to it through the mapped address rather than refused.
            want == proxy || (family == libc::AF_INET6 && want == (Ipv6Addr::LOCALHOST, *p).into())
        }) {
            SocketAddr::from((Ipv4Addr::LOCALHOST, p))
        } else {
            *self.local.iter().find(|l| **l == want)?
        };
        match (family, chosen) {
            (libc::AF_INET, SocketAddr::V4(_)) => Some(chosen),
            (libc::AF_INET6, SocketAddr::V4(a)) => Some(SocketAddr::V6(SocketAddrV6::new(
                a.ip().to_ipv6_mapped(),
                a.port(),
                0,
                0,
            ))),
            (libc::AF_INET6, SocketAddr::V6(a)) => {
                Some(SocketAddr::V6(SocketAddrV6::new(*a.ip(), a.port(), 0, 0)))
            }
            _ => None,
        }
    }
}

/// The destination a v6 address means: a v4-mapped one is its v4 address (how a v6 socket
/// reaches a v4 service); flow label and scope id name no other loopback service.
fn normalize(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, a.port())),
            None => SocketAddr::V6(SocketAddrV6::new(*a.ip(), a.port(), 0, 0)),
        },
        v4 => v4,
    }
}

// ---------------------------------------------------------------------------------------------
// The supervisor side.
// ---------------------------------------------------------------------------------------------

/// What the broker saw, for the run's report.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Inet connects refused, by the address the box asked for.
    pub refused: BTreeMap<SocketAddr, usize>,
    /// Connects the broker made itself (to the proxy or a listed service).
    pub brokered: usize,
    /// Non-inet connects handed back to the kernel.
    pub continued: usize,
    /// Connects that could not be inspected (the box's socket or memory out of reach).
    pub failed: usize,
}

/// The supervisor's half before the box exists: start it from `after_fork`.
pub struct Pending {
    policy: Policy,
    rx: mpsc::Receiver<OwnedFd>,
}

/// The two halves: [`Install`] goes into the launch, [`Pending`] is started after fork.
pub fn prepare(policy: Policy) -> (Install, Pending) {
    let (handoff, rx) = mpsc::channel();
    (
        Install {
            program: Program::new(),
            handoff,
        },
        Pending { policy, rx },
    )
}

/// The running broker.
pub struct Handle {
    shared: Arc<Shared>,
}

/// State shared by the broker's threads.
///
/// Leader/follower: the thread holding `token` is the only one that polls and receives (so
/// RECV never blocks on a notification another thread took), and decides each notification
/// while holding it. A connect on a blocking socket may take long (a local service with a full
/// accept queue): that thread then hands the token to a follower and makes the connect
/// itself, so no other connect of the box waits behind it and none pays a hand-off to
/// another thread.
struct Shared {
    policy: Policy,
    listener: std::sync::OnceLock<OwnedFd>,
    wake: OwnedFd,
    stop: AtomicBool,
    token: Mutex<()>,
    stats: Mutex<Stats>,
    /// Broker threads, and how many of them wait for the token.
    threads: AtomicUsize,
    waiting: AtomicUsize,
    notif_size: usize,
    resp_size: usize,
}

impl Pending {
    /// Start the broker thread; it waits for the listener, then serves until the box's last
    /// process is gone or [`Handle::finish`].
    pub fn start(self) -> io::Result<Handle> {
        // SAFETY: eventfd with valid flags; the descriptor is owned right away.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        let (notif_size, resp_size) = notif_sizes();
        let shared = Arc::new(Shared {
            policy: self.policy,
            listener: std::sync::OnceLock::new(),
            // SAFETY: fresh descriptor from eventfd.
            wake: unsafe { OwnedFd::from_raw_fd(efd) },
            stop: AtomicBool::new(false),
            token: Mutex::new(()),
            stats: Mutex::new(Stats::default()),
            threads: AtomicUsize::new(1),
            waiting: AtomicUsize::new(0),
            notif_size,
            resp_size,
        });
        let sh = shared.clone();
        let rx = self.rx;
        std::thread::Builder::new()
            .name("connect-broker".into())
            .spawn(move || {
                block_signals();
                loop {
                    match rx.recv_timeout(Duration::from_millis(100)) {
                        Ok(l) => {
                            let _ = sh.listener.set(l);
                            serve(&sh);
                            return;
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) if !sh.stop.load(Ordering::SeqCst) => {
                        }
                        Err(_) => return,
                    }
                }
            })?;
        Ok(Handle { shared })
    }
}

impl Handle {
    /// Stop serving (the box has exited; processes it left behind lose TCP) and return what
    /// the broker saw. Waits for no handshake in progress.
    pub fn finish(self) -> Stats {
        self.shared.stop.store(true, Ordering::SeqCst);
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.shared.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
        // Decisions are made and counted under the token: once we hold it, none is half done.
        let _token = lock(&self.shared.token);
        let stats = lock(&self.shared.stats).clone();
        tracing::debug!(
            brokered = stats.brokered,
            continued = stats.continued,
            refused = stats.refused.values().sum::<usize>(),
            failed = stats.failed,
            "connect broker finished"
        );
        stats
    }
}

/// Threads that may wait in a connect at once: beyond that the leader connects while still
/// leading (slow handshakes then hold the others up, but threads stay bounded).
const MAX_THREADS: usize = 8;

/// A poisoned lock only means another broker thread panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Broker threads leave every signal to the main thread: the supervisor's forwarding handlers
/// run there, and a blocking connect of the broker is never interrupted.
fn block_signals() {
    // SAFETY: a full signal set, applied to this thread only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// One broker thread: lead (poll, receive, decide) until a blocking connect is to be made,
/// then make it and queue for the token again.
fn serve(shared: &Arc<Shared>) {
    let Some(listener) = shared.listener.get() else {
        return;
    };
    // The kernel's seccomp_notif may be larger than libc's: receive into a buffer of its size.
    let words = shared
        .notif_size
        .div_ceil(8)
        .max(std::mem::size_of::<libc::seccomp_notif>().div_ceil(8));
    let mut buf: Vec<u64> = vec![0; words];
    'token: loop {
        shared.waiting.fetch_add(1, Ordering::SeqCst);
        let token = lock(&shared.token);
        shared.waiting.fetch_sub(1, Ordering::SeqCst);
        loop {
            if shared.stop.load(Ordering::SeqCst) {
                break 'token;
            }
            let Some(req) = next(shared, listener, &mut buf) else {
                // Stopped, or every process under the filter is gone.
                shared.stop.store(true, Ordering::SeqCst);
                break 'token;
            };
            let verdict = decide(shared, &req);
            let mut st = lock(&shared.stats);
            match verdict {
                Verdict::Continue => {
                    st.continued += 1;
                    drop(st);
                    respond(
                        shared,
                        req.id,
                        0,
                        libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
                    );
                }
                Verdict::Errno(e) => {
                    drop(st);
                    respond(shared, req.id, -e, 0);
                }
                Verdict::Failed(e) => {
                    st.failed += 1;
                    drop(st);
                    respond(shared, req.id, -e, 0);
                }
                Verdict::Refuse(addr) => {
                    *st.refused.entry(addr).or_default() += 1;
                    drop(st);
                    respond(shared, req.id, -REFUSED_ERRNO, 0);
                }
                Verdict::Gone => {}
                Verdict::Disconnect { sock } => {
                    drop(st);
                    let rc = connect_to(&sock, None);
                    respond(shared, req.id, rc, 0);
                }
                Verdict::Connect { sock, to, slow } => {
                    st.brokered += 1;
                    drop(st);
                    // A fast connect is made while leading; a slow one after handing over.
                    if slow && follower(shared) {
                        drop(token);
                        let rc = connect_to(&sock, Some(to));
                        respond(shared, req.id, rc, 0);
                        continue 'token;
                    }
                    let rc = connect_to(&sock, Some(to));
                    respond(shared, req.id, rc, 0);
                }
            }
        }
    }
    // Wake the others: each takes the token in turn, sees `stop` and leaves. A thread still in
    // a connect finishes it first (it holds the listener); nobody waits for it.
    shared.threads.fetch_sub(1, Ordering::SeqCst);
}

/// Is (or will there be) a thread to take the token? Starts one when none waits.
fn follower(shared: &Arc<Shared>) -> bool {
    if shared.waiting.load(Ordering::SeqCst) > 0 {
        return true;
    }
    if shared.threads.fetch_add(1, Ordering::SeqCst) >= MAX_THREADS {
        shared.threads.fetch_sub(1, Ordering::SeqCst);
        return false;
    }
    let sh = shared.clone();
    let r = std::thread::Builder::new()
        .name("connect-broker".into())
        .spawn(move || {
            block_signals();
            serve(&sh);
        });
    if let Err(e) = r {
        shared.threads.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!("connect broker: cannot start a thread: {e}");
        return false;
    }
    true
}

/// Wait for the next notification (as the leader); `None` when stopped or the box is gone.
fn next(shared: &Shared, listener: &OwnedFd, buf: &mut [u64]) -> Option<libc::seccomp_notif> {
    loop {
        let mut fds = [
            libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: shared.wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfd entries.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            tracing::error!("connect broker: poll: {}", io::Error::last_os_error());
            return None;
        }
        if fds[1].revents != 0 {
            return None;
        }
        let ev = fds[0].revents;
        if ev & libc::POLLIN == 0 {
            // POLLHUP: every process under the filter is gone.
            if ev & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
                return None;
            }
            continue;
        }
        // Only the leader receives, and POLLIN said a notification is pending: RECV does not
        // block (one withdrawn in between makes it return ENOENT).
        buf.iter_mut().for_each(|w| *w = 0);
        // SAFETY: the kernel writes at most notif_size bytes into the zeroed buffer, which is
        // at least that large and 8-byte aligned.
        let r = unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV as _,
                buf.as_mut_ptr(),
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) | Some(libc::ENOENT) => continue,
                _ => {
                    tracing::error!("connect broker: receive: {e}");
                    return None;
                }
            }
        }
        // SAFETY: the buffer starts with a seccomp_notif the kernel filled in (u64-aligned).
        return Some(unsafe { std::ptr::read(buf.as_ptr().cast()) });
    }
}

enum Verdict {
    /// Not an inet socket: the kernel performs the box's own connect.
    Continue,
    /// The broker connects the box's socket to `to`; `slow` when that may block for long.
    Connect {
        sock: OwnedFd,
        to: SocketAddr,
        slow: bool,
    },
    /// AF_UNSPEC on a TCP socket: a disconnect, which reaches nobody; done by the broker too.
    Disconnect { sock: OwnedFd },
    /// Refused by the policy.
    Refuse(SocketAddr),
    /// What the kernel would have answered (EBADF, ENOTSOCK, EINVAL, EFAULT, EAFNOSUPPORT).
    Errno(i32),
    /// The broker could not inspect the call (pidfd_getfd or memory refused): fail closed.
    Failed(i32),
    /// The notification is no longer valid (the caller was interrupted or died).
    Gone,
}

fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

fn decide(shared: &Shared, req: &libc::seccomp_notif) -> Verdict {
    // connect(int fd, const struct sockaddr *addr, socklen_t len): the kernel reads the int
    // arguments on their low 32 bits, and so does the broker.
    let fd = req.data.args[0] as u32 as i32;
    let addr_ptr = req.data.args[1];
    let len = req.data.args[2] as u32 as i32;
    let pid = req.pid as i32;
    let pidfd = match pidfd_for(pid) {
        Ok(p) => p,
        Err(_) if !id_valid(shared, req.id) => return Verdict::Gone,
        Err(e) => {
            tracing::warn!("connect broker: pidfd_open({pid}): {e}");
            return Verdict::Failed(libc::EPERM);
        }
    };
    let sock = match getfd(&pidfd, fd) {
        Ok(s) => s,
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => return Verdict::Errno(libc::EBADF),
        Err(_) if !id_valid(shared, req.id) => return Verdict::Gone,
        Err(e) => {
            tracing::warn!("connect broker: pidfd_getfd on pid {pid}: {e}");
            return Verdict::Failed(libc::EPERM);
        }
    };
    drop(pidfd);
    let domain = match sockopt(&sock, libc::SO_DOMAIN) {
        Ok(d) => d,
        Err(e) => return Verdict::Errno(errno_of(&e)),
    };
    if domain != libc::AF_INET && domain != libc::AF_INET6 {
        // AF_UNIX and netlink are the filesystem layers' business. Should the box swap the
        // descriptor for a TCP socket before the kernel resumes, Landlock (no TCP connect
        // rule) refuses that connect.
        return Verdict::Continue;
    }
    let (ty, proto) = match (
        sockopt(&sock, libc::SO_TYPE),
        sockopt(&sock, libc::SO_PROTOCOL),
    ) {
        (Ok(t), Ok(p)) => (t, p),
        (Err(e), _) | (_, Err(e)) => return Verdict::Errno(errno_of(&e)),
    };
    // The kernel's own checks, in its order (move_addr_to_kernel, then the protocol).
    if !(0..=std::mem::size_of::<libc::sockaddr_storage>() as i32).contains(&len) {
        return Verdict::Errno(libc::EINVAL);
    }
    let mut raw = [0u8; std::mem::size_of::<libc::sockaddr_storage>()];
    let raw = &mut raw[..len as usize];
    if let Err(e) = read_mem(pid, addr_ptr, raw) {
        if !id_valid(shared, req.id) {
            return Verdict::Gone;
        }
        return match e.raw_os_error() {
            Some(libc::EFAULT) | Some(libc::EIO) => Verdict::Errno(libc::EFAULT),
            _ => {
                tracing::warn!("connect broker: reading pid {pid}'s memory: {e}");
                Verdict::Failed(libc::EPERM)
            }
        };
    }
    // From here on the pid (and so the socket and the bytes just read) are known to have been
    // the caller's: it is still blocked in this very connect.
    if !id_valid(shared, req.id) {
        return Verdict::Gone;
    }
    let want = match parse_sockaddr(domain, raw) {
        Ok(Some(a)) => normalize(a),
        Ok(None) => return Verdict::Disconnect { sock },
        Err(e) => return Verdict::Errno(e),
    };
    if ty != libc::SOCK_STREAM || proto != libc::IPPROTO_TCP {
        // seccomp lets only TCP inet sockets be created; one received from outside the box
        // (SCM_RIGHTS) goes nowhere either.
        return Verdict::Refuse(want);
    }
    match shared.policy.target(domain, want) {
        Some(to) => {
            // A non-blocking socket returns at once (0 or EINPROGRESS). So does a loopback
            // handshake with agentbox's own proxy, which never stops accepting (beyond its cap
            // connections go to its busy handler). A listed service is another program.
            let blocking = fcntl_flags(&sock) & libc::O_NONBLOCK == 0;
            let proxy = shared.policy.proxy_port == Some(to.port())
                && normalize(to).ip() == std::net::IpAddr::V4(Ipv4Addr::LOCALHOST);
            Verdict::Connect {
                sock,
                to,
                slow: blocking && !proxy,
            }
        }
        None => Verdict::Refuse(want),
    }
}

/// The address in a connect of a `domain` socket: `Ok(None)` for AF_UNSPEC (a disconnect),
/// `Err(errno)` where the kernel refuses it before any permission check.
fn parse_sockaddr(domain: i32, raw: &[u8]) -> Result<Option<SocketAddr>, i32> {
    if raw.len() < 2 {
        return Err(libc::EINVAL);
    }
    let family = i32::from(u16::from_ne_bytes([raw[0], raw[1]]));
    if family == libc::AF_UNSPEC {
        return Ok(None);
    }
    let port = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
    match domain {
        libc::AF_INET => {
            if raw.len() < std::mem::size_of::<libc::sockaddr_in>() {
                return Err(libc::EINVAL);
            }
            if family != libc::AF_INET {
                return Err(libc::EAFNOSUPPORT);
            }
            let ip = Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]);
            Ok(Some(SocketAddr::from((ip, port(raw)))))
        }
        _ => {
            // SIN6_LEN_RFC2133: sin6_scope_id is optional.
            if raw.len() < 24 {
                return Err(libc::EINVAL);
            }
            if family != libc::AF_INET6 {
                return Err(libc::EAFNOSUPPORT);
            }
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&raw[8..24]);
            let scope = if raw.len() >= 28 {
                u32::from_ne_bytes([raw[24], raw[25], raw[26], raw[27]])
            } else {
                0
            };
            Ok(Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port(raw),
                0,
                scope,
            ))))
        }
    }
}

/// `connect(2)` on the box's socket to the broker's choice (`None`: AF_UNSPEC); 0 or -errno.
fn connect_to(sock: &OwnedFd, to: Option<SocketAddr>) -> i32 {
    // SAFETY: a zeroed sockaddr_storage is a valid AF_UNSPEC address of any length.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match to {
        None => std::mem::size_of::<libc::sockaddr>(),
        Some(SocketAddr::V4(a)) => {
            // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in.
            let sin = unsafe {
                &mut *(&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            std::mem::size_of::<libc::sockaddr_in>()
        }
        Some(SocketAddr::V6(a)) => {
            // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in6.
            let sin6 = unsafe {
                &mut *(&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    // SAFETY: `ss` holds a valid address of `len` bytes; `sock` is a socket we hold.
    let r = unsafe {
        libc::connect(
            sock.as_raw_fd(),
            (&ss as *const libc::sockaddr_storage).cast(),
            len as libc::socklen_t,
        )
    };
    if r == 0 {
        0
    } else {
        -errno_of(&io::Error::last_os_error())
    }
}

/// Answer one notification: `error` is 0 or -errno; `flags` may ask the kernel to continue.
fn respond(shared: &Shared, id: u64, error: i32, flags: u32) {
    let words = shared
        .resp_size
        .div_ceil(8)
        .max(std::mem::size_of::<libc::seccomp_notif_resp>() / 8);
    let mut buf = [0u64; 8];
    let mut big;
    let b: &mut [u64] = if words <= buf.len() {
        &mut buf[..]
    } else {
        big = vec![0u64; words];
        &mut big[..]
    };
    let resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error,
        flags,
    };
    // SAFETY: the buffer is u64-aligned and at least as large as seccomp_notif_resp.
    unsafe { std::ptr::write(b.as_mut_ptr().cast(), resp) };
    let Some(listener) = shared.listener.get() else {
        return;
    };
    // SAFETY: the kernel reads resp_size bytes from the buffer, which is at least that large.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND as _,
            b.as_mut_ptr(),
        )
    };
    if r < 0 {
        // ENOENT: the caller was interrupted by a signal meanwhile; a restarted connect then
        // finds the socket connecting or connected (EALREADY, EISCONN), as after EINTR.
        tracing::debug!("connect broker: answer: {}", io::Error::last_os_error());
    }
}

/// Is notification `id` still pending (its caller alive and blocked in it)?
fn id_valid(shared: &Shared, id: u64) -> bool {
    let Some(listener) = shared.listener.get() else {
        return false;
    };
    let mut id = id;
    // SAFETY: the ioctl reads one u64.
    unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID as _,
            &mut id as *mut u64,
        ) == 0
    }
}

/// The kernel's sizes of seccomp_notif and seccomp_notif_resp.
fn notif_sizes() -> (usize, usize) {
    let mut s = libc::seccomp_notif_sizes {
        seccomp_notif: 0,
        seccomp_notif_resp: 0,
        seccomp_data: 0,
    };
    // SAFETY: SECCOMP_GET_NOTIF_SIZES writes one seccomp_notif_sizes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_NOTIF_SIZES,
            0,
            &mut s as *mut libc::seccomp_notif_sizes,
        )
    };
    if r != 0 {
        return (
            std::mem::size_of::<libc::seccomp_notif>(),
            std::mem::size_of::<libc::seccomp_notif_resp>(),
        );
    }
    (
        usize::from(s.seccomp_notif),
        usize::from(s.seccomp_notif_resp),
    )
}

fn pidfd_open(pid: i32, flags: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor (close-on-exec by the kernel).
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// A pidfd for the thread `tid` that made the call. `pidfd_open` takes thread-group leaders
/// only, unless PIDFD_THREAD (Linux 6.9); before that, a thread's pidfd is its leader's, whose
/// descriptor table is the thread's unless the thread unshared it (then the broker connects or
/// refuses another socket of the box, and Landlock still refuses every TCP connect of its own).
fn pidfd_for(tid: i32) -> io::Result<OwnedFd> {
    match pidfd_open(tid, 0) {
        // Not a leader: EINVAL before 6.9, ENOENT since.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) => {}
        r => return r,
    }
    match pidfd_open(tid, libc::PIDFD_THREAD) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
        r => return r,
    }
    pidfd_open(leader_of(tid)?, 0)
}

/// The thread group (process) of thread `tid`.
fn leader_of(tid: i32) -> io::Result<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse::<i32>().ok())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))
}

fn getfd(pidfd: &OwnedFd, fd: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_getfd duplicates the target's descriptor into ours (close-on-exec) or fails.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

fn sockopt(sock: &OwnedFd, opt: i32) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes one int and its length.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v)
}

fn fcntl_flags(sock: &OwnedFd) -> i32 {
    // SAFETY: F_GETFL on a descriptor we hold.
    unsafe { libc::fcntl(sock.as_raw_fd(), libc::F_GETFL) }.max(0)
}

/// Read the box's memory at `addr` (process_vm_readv, else /proc/PID/mem where a container
/// policy forbids the former).
fn read_mem(pid: i32, addr: u64, out: &mut [u8]) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: out.as_mut_ptr().cast(),
        iov_len: out.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as usize as *mut libc::c_void,
        iov_len: out.len(),
    };
    // SAFETY: writes at most out.len() bytes into `out`; the remote side is only read.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n == out.len() as isize {
        return Ok(());
    }
    let e = if n < 0 {
        io::Error::last_os_error()
    } else {
        io::Error::from_raw_os_error(libc::EFAULT)
    };
    if !matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) {
        return Err(e);
    }
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(format!("/proc/{pid}/mem"))?;
    f.read_exact_at(out, addr)
}

// ---------------------------------------------------------------------------------------------
// Can it work here?
// ---------------------------------------------------------------------------------------------

/// Whether the broker can run on this host, else what is missing and why. Checks the kernel
/// (seccomp user notification, pidfd_getfd on this process) and Yama's ptrace scope, which
/// decides whether pidfd_getfd may take the box's sockets.
pub fn probe() -> Result<(), String> {
    let action = libc::SECCOMP_RET_USER_NOTIF;
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    };
    if r != 0 {
        return Err(format!(
            "this kernel has no seccomp user notification (Linux 5.0+): {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let pidfd =
        pidfd_open(me, 0).map_err(|e| format!("pidfd_open is unavailable (Linux 5.3+): {e}"))?;
    match getfd(&pidfd, pidfd.as_raw_fd()) {
        Ok(_) => {}
        Err(e) => {
            return Err(format!(
                "pidfd_getfd is unavailable (Linux 5.6+, or refused by a container's seccomp policy): {e}"
            ))
        }
    }
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok())
        .unwrap_or(0);
    let ptrace_cap = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_PTRACE,
    )
    .unwrap_or(false);
    match scope {
        3 => Err("kernel.yama.ptrace_scope is 3: pidfd_getfd may not take the box's sockets (the setting cannot be lowered without a reboot)".into()),
        2 if !ptrace_cap => Err("kernel.yama.ptrace_scope is 2: pidfd_getfd on the box's processes needs CAP_SYS_PTRACE (sysctl kernel.yama.ptrace_scope=1 allows it for agentbox's own children)".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn policy_chooses_its_own_addresses() {
        let p = Policy {
            proxy_port: Some(4000),
            local: vec![v4("127.0.0.1:5432"), v4("[::1]:6379")],
        };
        let inet = libc::AF_INET;
        let inet6 = libc::AF_INET6;
        assert_eq!(
            p.target(inet, v4("127.0.0.1:4000")),
            Some(v4("127.0.0.1:4000"))
        );
        // The same port elsewhere on loopback, or anywhere else, is refused.
        assert_eq!(p.target(inet, v4("127.0.0.2:4000")), None);
        assert_eq!(p.target(inet, v4("10.0.0.1:4000")), None);
        assert_eq!(p.target(inet, v4("127.0.0.1:4001")), None);
        // v6 sockets: mapped and ::1 reach the v4 proxy through the mapped address.
        let mapped = v4("[::ffff:127.0.0.1]:4000");
        assert_eq!(p.target(inet6, mapped), Some(mapped));
        assert_eq!(p.target(inet6, v4("[::1]:4000")), Some(mapped));
        assert_eq!(p.target(inet6, v4("[::ffff:127.0.0.2]:4000")), None);
        // Local services at their address only.
        assert_eq!(
            p.target(inet, v4("127.0.0.1:5432")),
            Some(v4("127.0.0.1:5432"))
        );
        assert_eq!(p.target(inet, v4("127.0.0.3:5432")), None);
        assert_eq!(
            p.target(inet6, v4("[::ffff:127.0.0.1]:5432")),
            Some(v4("[::ffff:127.0.0.1]:5432"))
        );
        assert_eq!(p.target(inet6, v4("[::1]:6379")), Some(v4("[::1]:6379")));
        assert_eq!(p.target(inet6, v4("[::1]:5432")), None);
        // A scope id from the box is not carried over.
        let scoped = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 6379, 7, 3));
        assert_eq!(p.target(inet6, scoped), Some(v4("[::1]:6379")));
        // No proxy (network off with local services): only the services.
        let q = Policy {
            proxy_port: None,
            local: vec![v4("127.0.0.1:5432")],
        };
        assert_eq!(q.target(inet, v4("127.0.0.1:4000")), None);
    }

    #[test]
    fn sockaddrs_parse_like_the_kernel() {
        let mut sin = vec![0u8; 16];
        sin[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        sin[2..4].copy_from_slice(&8080u16.to_be_bytes());
        sin[4..8].copy_from_slice(&[127, 0, 0, 2]);
        assert_eq!(
            parse_sockaddr(libc::AF_INET, &sin),
            Ok(Some(v4("127.0.0.2:8080")))
        );
        assert_eq!(parse_sockaddr(libc::AF_INET, &sin[..15]), Err(libc::EINVAL));
        assert_eq!(parse_sockaddr(libc::AF_INET6, &sin), Err(libc::EINVAL));
        let mut unspec = sin.clone();
        unspec[..2].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(parse_sockaddr(libc::AF_INET, &unspec), Ok(None));
        let mut sin6 = vec![0u8; 24];
        sin6[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        sin6[2..4].copy_from_slice(&443u16.to_be_bytes());
        sin6[23] = 1;
        assert_eq!(
            parse_sockaddr(libc::AF_INET6, &sin6),
            Ok(Some(v4("[::1]:443")))
        );
        assert_eq!(
            parse_sockaddr(libc::AF_INET, &sin6[..16]),
            Err(libc::EAFNOSUPPORT)
        );
    }

    #[test]
    fn program_notifies_connect_only() {
        let p = Program::new();
        assert!(p.instructions() < 16);
        assert_eq!(p.filter.last().map(|i| i.k), Some(libc::SECCOMP_RET_ALLOW));
        assert!(p.filter.iter().any(|i| i.k == libc::SECCOMP_RET_USER_NOTIF));
    }

    #[test]
    fn pidfds_reach_other_threads_descriptors() {
        let (tx, rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            // SAFETY: gettid cannot fail.
            tx.send(unsafe { libc::gettid() }).unwrap();
            let _ = done_rx.recv();
        });
        let tid = rx.recv().unwrap();
        // SAFETY: getpid cannot fail.
        let me = unsafe { libc::getpid() };
        assert_ne!(tid, me);
        assert_eq!(leader_of(tid).unwrap(), me);
        let probe = std::fs::File::open("/proc/self/status").unwrap();
        let ino = |fd: RawFd| {
            // SAFETY: fstat into a zeroed stat of a descriptor we hold.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
            (st.st_dev, st.st_ino)
        };
        let dup = getfd(&pidfd_for(tid).unwrap(), probe.as_raw_fd()).unwrap();
        assert_eq!(ino(dup.as_raw_fd()), ino(probe.as_raw_fd()));
        done_tx.send(()).unwrap();
        t.join().unwrap();
    }

    /// Connect probes, one `key=result` line each: `OK`, an errno name, or `EINPROGRESS`.
    const CONNECT_PROBES: &str = r#"
import ctypes, errno, os, socket, sys, tempfile
P, OTHER = int(sys.argv[1]), int(sys.argv[2])
def name(e):
    return "OK" if e == 0 else errno.errorcode.get(e, str(e))
def probe(key, fn):
    try:
        r = fn()
        print("%s=%s" % (key, name(r or 0)), flush=True)
    except OSError as e:
        print("%s=%s" % (key, name(e.errno)), flush=True)
def tcp(fam, addr, blocking=True):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setblocking(blocking)
    return s.connect_ex(addr)
probe("proxy", lambda: tcp(socket.AF_INET, ("127.0.0.1", P)))
probe("proxy_nonblocking", lambda: tcp(socket.AF_INET, ("127.0.0.1", P), False))
probe("proxy_v6_mapped", lambda: tcp(socket.AF_INET6, ("::ffff:127.0.0.1", P)))
probe("twin", lambda: tcp(socket.AF_INET, ("127.0.0.2", P)))
probe("twin_v6_mapped", lambda: tcp(socket.AF_INET6, ("::ffff:127.0.0.2", P)))
probe("other_port", lambda: tcp(socket.AF_INET, ("127.0.0.1", OTHER)))
d = tempfile.mkdtemp()
srv = socket.socket(socket.AF_UNIX)
srv.bind(os.path.join(d, "s"))
srv.listen(1)
probe("unix", lambda: socket.socket(socket.AF_UNIX).connect_ex(os.path.join(d, "s")))
probe("unix_missing", lambda: socket.socket(socket.AF_UNIX).connect_ex(os.path.join(d, "x")))
# The kernel's own answers, which the broker must give alike.
libc = ctypes.CDLL(None, use_errno=True)
def raw(fd, buf, n):
    ctypes.set_errno(0)
    return 0 if libc.connect(fd, buf, n) == 0 else ctypes.get_errno()
sin = ctypes.create_string_buffer(b"\x02\x00" + P.to_bytes(2, "big") + bytes([127, 0, 0, 1]) + bytes(8), 16)
r, w = os.pipe()
probe("bad_fd", lambda: raw(999, sin, 16))
probe("not_a_socket", lambda: raw(r, sin, 16))
t = socket.socket()
probe("short_addr", lambda: raw(t.fileno(), sin, 8))
probe("long_addr", lambda: raw(t.fileno(), sin, 4096))
probe("bad_pointer", lambda: raw(t.fileno(), ctypes.c_void_p(8), 16))
t6 = socket.socket(socket.AF_INET6)
sin_28 = ctypes.create_string_buffer(sin.raw + bytes(12), 28)
probe("family_mismatch", lambda: raw(t6.fileno(), sin_28, 28))
print("DONE=1", flush=True)
"#;

    /// Sends one descriptor over a unix socket without allocating (in `pre_exec`). The test is
    /// also compiled into the proxy bench, which has `net` but not `channel`.
    fn pass_fd(sock: RawFd, fd: RawFd) -> io::Result<()> {
        #[repr(C, align(8))]
        struct Space([u8; 32]);
        let mut space = Space([0; 32]);
        let mut byte = [b'B'];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        // SAFETY: every pointer in the msghdr outlives the call; the control buffer is large
        // enough and aligned for one SCM_RIGHTS header with one int.
        unsafe {
            let mut mh: libc::msghdr = std::mem::zeroed();
            mh.msg_iov = &mut iov;
            mh.msg_iovlen = 1;
            mh.msg_control = space.0.as_mut_ptr().cast();
            mh.msg_controllen = libc::CMSG_SPACE(4) as _;
            let c = libc::CMSG_FIRSTHDR(&mh);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(4) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
            if libc::sendmsg(sock, &mh, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    fn receive_fd(sock: &OwnedFd) -> OwnedFd {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        let mut buf = [0u8; 1];
        let mut iov = [io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .unwrap();
        for c in msg.cmsgs().unwrap() {
            if let ControlMessageOwned::ScmRights(v) = c {
                // SAFETY: the kernel just installed this descriptor for us.
                return unsafe { OwnedFd::from_raw_fd(v[0]) };
            }
        }
        panic!("no descriptor from the probe");
    }

    /// Runs the probes with the notification filter served by a broker in this process (or
    /// without a filter); returns the results and the broker's stats.
    fn probe_connects(
        filter: bool,
        policy: Policy,
        ports: (u16, u16),
    ) -> (BTreeMap<String, String>, Stats) {
        use std::os::unix::process::CommandExt;
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let theirs_fd = theirs.as_raw_fd();
        let (install, pending) = prepare(policy);
        let handle = pending.start().unwrap();
        let mut cmd = std::process::Command::new("python3");
        cmd.args([
            "-c",
            CONNECT_PROBES,
            &ports.0.to_string(),
            &ports.1.to_string(),
        ])
        .stdin(std::process::Stdio::null());
        if filter {
            let inst = &install;
            let program = inst.program.clone();
            // SAFETY: runs between fork and exec of a multi-threaded test harness; prctl,
            // seccomp, sendmsg and close neither allocate nor lock.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    let l = program.install_listener()?;
                    pass_fd(theirs_fd, l.as_raw_fd())
                });
            }
        }
        let child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
        drop(theirs);
        if filter {
            install.hand_over(vec![receive_fd(&OwnedFd::from(ours))]);
        }
        let out = child.wait_with_output().unwrap();
        let stats = handle.finish();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let results: BTreeMap<String, String> = stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(
            results.contains_key("DONE"),
            "probe did not finish: {stdout}"
        );
        (results, stats)
    }

    #[test]
    fn broker_connects_only_where_the_policy_says_and_answers_like_the_kernel() {
        let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = proxy.local_addr().unwrap().port();
        let twin = std::net::TcpListener::bind(("127.0.0.2", port)).unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other_port = other.local_addr().unwrap().port();
        let policy = Policy {
            proxy_port: Some(port),
            local: vec![],
        };
        let (off, _) = probe_connects(false, policy.clone(), (port, other_port));
        let (on, stats) = probe_connects(true, policy, (port, other_port));
        let get = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
        // Without the broker every listener is reachable: the test sees the hole.
        for k in ["twin", "twin_v6_mapped", "other_port"] {
            assert_eq!(get(&off, k), "OK", "{k} without the broker");
            assert_eq!(get(&on, k), "EACCES", "{k} with the broker");
        }
        assert_eq!(get(&on, "proxy"), "OK");
        assert_eq!(get(&on, "proxy_v6_mapped"), "OK");
        assert_eq!(get(&on, "proxy_nonblocking"), "EINPROGRESS");
        for k in [
            "unix",
            "unix_missing",
            "bad_fd",
            "not_a_socket",
            "short_addr",
            "long_addr",
            "bad_pointer",
            "family_mismatch",
        ] {
            assert_eq!(
                get(&on, k),
                get(&off, k),
                "{k}: the broker answers otherwise"
            );
        }
        assert_eq!(get(&on, "unix"), "OK");
        let twin_addr: SocketAddr = ("127.0.0.2".parse::<Ipv4Addr>().unwrap(), port).into();
        assert_eq!(stats.refused.get(&twin_addr), Some(&2), "{stats:?}");
        assert_eq!(stats.brokered, 3, "{stats:?}");
        // The two unix connects at least; a `python3` that is a shim (pyenv) makes more of its
        // own (nscd, for one) before the probe starts.
        assert!(stats.continued >= 2, "{stats:?}");
        drop((proxy, twin, other));
    }

    #[test]
    fn probe_answers() {
        // On the test machines the broker can run (Linux 6.x, root or Yama <= 1).
        if let Err(e) = probe() {
            assert!(e.contains("ptrace_scope") || e.contains("Linux"), "{e}");
        }
    }
}
