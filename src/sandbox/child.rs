//! The child: from fork to exec, every layer in a fixed order (descriptors, namespaces,
//! mounts, Landlock, capabilities, seccomp last). It never returns: it execs the agent or
//! reports a set-up failure to the supervisor and exits.

use super::channel::{self, Msg};
use super::spec::Prepared;
use super::{Stage, EXIT_NOTFOUND, EXIT_SETUP};
use crate::sandbox::{harden, mounts};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// Set in the box when the supervisor attached as tracer (only then may the trace filter go in).
static TRACED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn set_handler(sig: libc::c_int, h: libc::sighandler_t) {
    // SAFETY: installing a handler with SA_RESTART; the handlers used are async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = h;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

use crate::supervise::signals::FORWARDED;

fn fail(chan: &OwnedFd, stage: Stage, e: impl std::fmt::Display) -> ! {
    let err = super::SetupError {
        stage,
        detail: e.to_string(),
    };
    let _ = channel::send(chan, &Msg::SetupError(err));
    // SAFETY: _exit is always safe.
    unsafe { libc::_exit(EXIT_SETUP as i32) }
}

/// The child after fork: never returns. The steps, in order: cgroup, parent-death signal,
/// descriptors, signals, the observer's attach; then, with the namespace layer (the fork made
/// the namespaces, and this process is the box's pid 1), the id maps, mounts, git views,
/// loopback and the box's listeners, and pid 1's own work (`init_main`); Landlock,
/// capabilities and seccomp come last, in `confine`, right before exec.
/// `gate`: with the terminal, the supervisor's word that the box's process group holds it.
pub fn main(prep: &Prepared, chan: OwnedFd, parent_pid: libc::pid_t, gate: Option<OwnedFd>) -> ! {
    // A panic here must not unwind into the supervisor's frames copied by fork (they would run
    // the post-run restore from inside the box): end the child at once.
    std::panic::set_hook(Box::new(|_| {
        // SAFETY: _exit is always safe.
        unsafe { libc::_exit(EXIT_SETUP as i32) }
    }));
    process_setup(prep, &chan, parent_pid);
    crate::timing::mark("child: process set up");
    let Some(ns) = &prep.ns else {
        confine(prep, &chan);
        exec_agent(prep, &chan);
    };
    namespace_setup(prep, ns, &chan);
    init_main(prep, &chan, gate.as_ref())
}

/// The process itself: cgroup first (before it can start any other), parent-death signal,
/// redirected output, default signal dispositions, descriptors, and the denial observer.
fn process_setup(prep: &Prepared, chan: &OwnedFd, parent_pid: libc::pid_t) {
    if let Some(fd) = prep.cgroup_procs {
        if let Err(e) = crate::supervise::cgroup::enter(fd) {
            fail(chan, Stage::Cgroup, e);
        }
    }
    // In the box's pid namespace the parent has no pid (getppid is 0): the supervisor's end
    // of the channel tells whether it is still there.
    let parent = if prep.ns.is_some() {
        harden::Parent::Channel(chan)
    } else {
        harden::Parent::Pid(parent_pid)
    };
    if let Err(e) = harden::die_with_parent(parent) {
        fail(chan, Stage::ParentDeath, e);
    }
    if let Some((o, e)) = prep.stdio {
        // SAFETY: dup2 onto 1 and 2 of descriptors we own; the originals are close-on-exec.
        unsafe {
            libc::dup2(o, 1);
            libc::dup2(e, 2);
        }
    }
    harden::reset_signals();
    if let Err(e) = harden::cloexec_from_3() {
        fail(chan, Stage::Descriptors, e);
    }
    if prep.trace.is_some() {
        // Be traceable just long enough for the supervisor to attach, before any filter
        // (a SECCOMP_RET_TRACE without a tracer would fail every path call with ENOSYS).
        // SAFETY: plain prctl calls.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
        let _ = channel::send(chan, &Msg::TraceReady);
        let go = channel::recv(chan);
        // SAFETY: plain prctl.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        match go {
            Ok(Some((Msg::Go, _))) => TRACED.store(true, Ordering::Relaxed),
            Ok(Some((Msg::NoTrace, _))) => {}
            _ => fail(chan, Stage::Observer, "no answer from the supervisor"),
        }
    }
}

/// The namespace layer, in the namespaces the fork made: the id maps, the mount view, the git
/// views handed to the supervisor, loopback and the listeners inside the network namespace.
fn namespace_setup(prep: &Prepared, ns: &super::spec::NsSpec, chan: &OwnedFd) {
    if let Err(e) = super::namespaces::map_ids(prep.uid, prep.gid) {
        fail(chan, Stage::IdMaps, e);
    }
    crate::timing::mark("child: ids mapped");
    let views = match mounts::setup_mounts(ns) {
        Ok(v) => v,
        Err(e) => fail(chan, Stage::Mounts, e),
    };
    crate::timing::mark("child: mounted");
    if !views.is_empty() {
        let raw: Vec<i32> = views.iter().map(|f| f.as_raw_fd()).collect();
        if let Err(e) = channel::send_with_fds(chan, &Msg::GitViews, &raw) {
            fail(chan, Stage::GitViews, e);
        }
        drop(views);
        // Nothing of the box may run before the supervisor has recorded the views' state.
        match channel::recv(chan) {
            Ok(Some((Msg::Go, _))) => {}
            _ => fail(chan, Stage::GitViews, "no answer from the supervisor"),
        }
    }
    if !ns.net {
        return;
    }
    crate::timing::mark("child: views handed over");
    if let Err(e) = super::namespaces::loopback_up() {
        fail(chan, Stage::Loopback, e);
    }
    // The stub resolver listens on the namespace's own loopback, served from outside it.
    if let Some(a) = prep.resolver {
        let udp = std::net::UdpSocket::bind(a).unwrap_or_else(|e| fail(chan, Stage::Listen, e));
        let tcp = std::net::TcpListener::bind(a).unwrap_or_else(|e| fail(chan, Stage::Listen, e));
        let raw = [udp.as_raw_fd(), tcp.as_raw_fd()];
        if let Err(e) = channel::send_with_fds(chan, &Msg::Resolver, &raw) {
            fail(chan, Stage::HandOver, e);
        }
    }
    crate::timing::mark("child: loopback, resolver");
    // The proxy listens inside the namespace but runs in the supervisor, outside it: the only
    // way out of the box.
    if !prep.listen_inside.is_empty() {
        let mut socks = Vec::new();
        for a in &prep.listen_inside {
            match std::net::TcpListener::bind(a) {
                Ok(l) => socks.push(l),
                Err(e) => fail(chan, Stage::Listen, format_args!("{a}: {e}")),
            }
        }
        let raw: Vec<i32> = socks.iter().map(|l| l.as_raw_fd()).collect();
        if let Err(e) = channel::send_fds(chan, &raw) {
            fail(chan, Stage::HandOver, e);
        }
    }
}

/// Landlock, capabilities, seccomp: in that order, seccomp last before exec.
fn confine(prep: &Prepared, chan: &OwnedFd) {
    for (path, bytes) in &prep.box_files {
        if let Err(e) = write_box_file(path, bytes) {
            fail(chan, Stage::BoxFiles, e);
        }
    }
    if let Err(e) = harden::no_new_privs() {
        fail(chan, Stage::NoNewPrivs, e);
    }
    crate::timing::mark("pid1: box files, no_new_privs");
    if let Some(spec) = &prep.landlock {
        let (rs, skipped) = match super::landlock::build_ruleset(spec) {
            Ok(x) => x,
            Err(e) => fail(chan, Stage::Landlock, e),
        };
        for s in skipped {
            tracing::debug!(
                "landlock rule skipped: {} (errno {})",
                s.path.display(),
                s.errno
            );
        }
        match rs.restrict_self() {
            Ok(st) if st.ruleset == landlock::RulesetStatus::FullyEnforced => {}
            Ok(st) => fail(
                chan,
                Stage::Landlock,
                format_args!("not fully enforced: {:?}", st.ruleset),
            ),
            Err(e) => fail(chan, Stage::Landlock, e),
        }
    }
    crate::timing::mark("pid1: landlock");
    match harden::drop_capabilities() {
        Ok(true) => {}
        // The plan promised an empty bounding set (root, or a user namespace): say so.
        Ok(false) if prep.require_empty_bounding => fail(
            chan,
            Stage::Capabilities,
            "the bounding set could not be cleared",
        ),
        Ok(false) => {}
        Err(e) => fail(chan, Stage::Capabilities, e),
    }
    crate::timing::mark("pid1: capabilities");
    if let Some(f) = &prep.seccomp {
        if let Err(e) = f.apply() {
            fail(chan, Stage::Seccomp, e);
        }
    }
    if let Some(t) = prep
        .trace
        .as_ref()
        .filter(|_| TRACED.load(Ordering::Relaxed))
    {
        if let Err(e) =
            seccompiler::apply_filter(t).map_err(|e| std::io::Error::other(e.to_string()))
        {
            fail(chan, Stage::TraceFilter, e);
        }
    }
    crate::timing::mark("pid1: seccomp");
    // Last: every connect from here on (the agent's) is decided by the supervisor.
    if let Some(b) = &prep.broker {
        let send = |fd| channel::send_fd(chan, &Msg::Broker, fd);
        if let Err(e) = crate::net::broker::install(b, send) {
            fail(chan, Stage::Broker, e);
        }
    }
}

static AGENT: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_to_agent(sig: libc::c_int) {
    let pid = AGENT.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// SIGCONT from the supervisor (the person typed `fg` or `bg`): the agent's process group
/// continues, wherever the agent has moved itself (a shell leads a group of its own).
extern "C" fn continue_agent(_: libc::c_int) {
    let pid = AGENT.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: getpgid and kill are async-signal-safe.
        unsafe {
            let pg = libc::getpgid(pid);
            if pg > 0 {
                libc::kill(-pg, libc::SIGCONT);
            }
            libc::kill(pid, libc::SIGCONT);
        }
    }
}

/// pid 1 of the box: mount /proc, confine itself, start the agent, reap, report its status.
/// `gate`: the supervisor's word that the box's process group holds the terminal (then a stop
/// of the agent is reported, for agentbox to stop too, as the terminal would have stopped it).
/// Its parent-death signal is set (`process_setup`): the pid namespace dies with agentbox.
fn init_main(prep: &Prepared, chan: &OwnedFd, gate: Option<&OwnedFd>) -> ! {
    if let Err(e) = super::namespaces::mount_proc() {
        fail(chan, Stage::Proc, e);
    }
    if std::env::set_current_dir(&prep.cwd).is_err() {
        let _ = std::env::set_current_dir("/");
    }
    confine(prep, chan);
    crate::timing::mark("pid1: confined");
    let holds_terminal = gate.is_some_and(|g| {
        let mut b = 0u8;
        // SAFETY: reading one byte into our buffer from our pipe.
        let n = unsafe { libc::read(g.as_raw_fd(), (&mut b as *mut u8).cast(), 1) };
        n == 1 && b == 1
    });
    // SAFETY: single-threaded.
    let agent = unsafe { libc::fork() };
    if agent < 0 {
        fail(chan, Stage::ForkAgent, std::io::Error::last_os_error());
    }
    if agent == 0 {
        harden::reset_signals();
        // SAFETY: plain prctl.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        exec_agent(prep, chan);
    }
    AGENT.store(agent, Ordering::Relaxed);
    // As pid 1 we ignore signals without a handler; forward the ones the supervisor relays.
    // They stayed blocked until now, so one sent while the agent did not exist yet is pending
    // and reaches it here instead of being dropped.
    for s in FORWARDED {
        set_handler(s, forward_to_agent as *const () as libc::sighandler_t);
    }
    if holds_terminal {
        set_handler(
            libc::SIGCONT,
            continue_agent as *const () as libc::sighandler_t,
        );
    }
    crate::supervise::signals::unblock_forwarded(holds_terminal);
    let status = reap(chan, agent, holds_terminal);
    crate::timing::mark("pid1: agent reaped");
    let _ = channel::send(chan, &Msg::Status(status));
    // Leaving kills whatever the agent left running in the namespace.
    // SAFETY: _exit is always safe.
    unsafe { libc::_exit(0) }
}

/// Reap every child until the agent ends; its wait status. With the terminal, a stop of the
/// agent goes to the supervisor, which stops agentbox as the terminal would have.
fn reap(chan: &OwnedFd, agent: libc::pid_t, report_stops: bool) -> i32 {
    let flags = if report_stops { libc::WUNTRACED } else { 0 };
    loop {
        let mut ws = 0;
        // SAFETY: reaping any child of ours (orphans are re-parented to us).
        let r = unsafe { libc::waitpid(-1, &mut ws, flags) };
        if r == agent && libc::WIFSTOPPED(ws) {
            let _ = channel::send(chan, &Msg::Stopped(libc::WSTOPSIG(ws)));
            continue;
        }
        if r == agent {
            return ws;
        }
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return 0;
        }
    }
}

/// A new file in the box's own temp dir (never through a symlink planted there).
fn write_box_file(path: &std::ffi::CStr, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid C string; the descriptor is owned by the File right away.
    let fd = unsafe { libc::open(path.as_ptr(), flags, 0o644) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor from open.
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    f.write_all(bytes)
}

fn exec_agent(prep: &Prepared, chan: &OwnedFd) -> ! {
    let mut argv: Vec<*const libc::c_char> = prep.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = prep.envp.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // Signals blocked since agentbox started: a pending one is delivered now, to the agent.
    crate::supervise::signals::unblock_all();
    crate::timing::mark("agent: exec");
    // SAFETY: argv and envp are NULL-terminated arrays of valid C strings that outlive the call.
    unsafe { libc::execve(prep.exec_path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let errno = std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO);
    let _ = channel::send(chan, &Msg::ExecError(errno));
    // SAFETY: _exit is always safe.
    unsafe { libc::_exit(EXIT_NOTFOUND as i32) }
}
