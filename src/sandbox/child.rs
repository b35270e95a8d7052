//! The launcher: resolve the command, fork, and in the child apply every layer in a fixed order
//! (descriptors, namespaces, mounts, Landlock, capabilities, seccomp last) before exec.

use crate::plan::fs::{LandlockOpts, Rule};
use crate::sandbox::channel::Msg;
use crate::sandbox::mounts::NsSpec;
use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

/// Exit status for agentbox's own failures (bad profile, missing layer, set-up failure).
pub const EXIT_SETUP: u8 = 125;
/// The command exists but cannot be executed.
pub const EXIT_NOEXEC: u8 = 126;
/// The command was not found.
pub const EXIT_NOTFOUND: u8 = 127;

/// Why a command cannot be started.
#[derive(Debug)]
pub struct CommandError {
    /// 126 or 127.
    pub code: u8,
    /// Message for stderr.
    pub message: String,
}

/// Find `cmd` the way execvp would, using the child's PATH.
pub fn resolve_command(
    cmd: &str,
    path_var: Option<&OsStr>,
    cwd: &Path,
) -> Result<PathBuf, CommandError> {
    let is_exec = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if cmd.is_empty() {
        return Err(CommandError {
            code: EXIT_NOTFOUND,
            message: "empty command".into(),
        });
    }
    if cmd.contains('/') {
        let p = cwd.join(cmd);
        return match std::fs::metadata(&p) {
            Err(_) => Err(CommandError {
                code: EXIT_NOTFOUND,
                message: format!("{cmd}: no such file"),
            }),
            Ok(m) if m.is_dir() => Err(CommandError {
                code: EXIT_NOEXEC,
                message: format!("{cmd}: is a directory"),
            }),
            Ok(_) if !is_exec(&p) => Err(CommandError {
                code: EXIT_NOEXEC,
                message: format!("{cmd}: permission denied (not executable)"),
            }),
            Ok(_) => Ok(crate::profile::expand::normalize(&p.to_string_lossy())),
        };
    }
    let path_var = path_var
        .map(|p| p.to_os_string())
        .unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    let mut found_noexec = None;
    for dir in std::env::split_paths(&path_var) {
        let dir = if dir.as_os_str().is_empty() {
            cwd.to_path_buf()
        } else {
            dir
        };
        let p = dir.join(cmd);
        if is_exec(&p) {
            return Ok(p);
        }
        if found_noexec.is_none() && p.is_file() {
            found_noexec = Some(p);
        }
    }
    match found_noexec {
        Some(p) => Err(CommandError {
            code: EXIT_NOEXEC,
            message: format!("{}: permission denied (not executable)", p.display()),
        }),
        None => Err(CommandError {
            code: EXIT_NOTFOUND,
            message: format!("{cmd}: command not found"),
        }),
    }
}

/// Everything the child needs, built before fork so the child only makes system calls.
pub struct Prepared {
    /// Executable path.
    pub exec_path: CString,
    /// argv.
    pub argv: Vec<CString>,
    /// envp (`NAME=value`).
    pub envp: Vec<CString>,
    /// Working directory to return to after mounts.
    pub cwd: PathBuf,
    /// Namespace layer, when applied.
    pub ns: Option<NsSpec>,
    /// Landlock rules and ABI, when applied.
    pub landlock: Option<(Vec<Rule>, i32, LandlockOpts)>,
    /// Compiled seccomp filter, when applied.
    pub seccomp: Option<crate::sandbox::seccomp::Filter>,
    /// The denial observer's trace filter (`--report-denials`).
    pub trace: Option<seccompiler::BpfProgram>,
    /// Write ends of the pipes that replace stdout and stderr (`--redact-output`).
    pub stdio: Option<(i32, i32)>,
    /// Loopback addresses to listen on inside the box's network namespace (the proxy first,
    /// then forwarded local services); the sockets go to the supervisor.
    pub listen_inside: Vec<std::net::SocketAddr>,
    /// The plan says every capability set, bounding included, is emptied.
    pub require_empty_bounding: bool,
    /// `cgroup.procs` of the box's cgroup (without namespaces, where one could be made): the
    /// child moves itself in first.
    pub cgroup_procs: Option<i32>,
    /// The caller's uid and gid (mapped to themselves in the user namespace).
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// Connect broker (no network namespace, TCP allowed): installed last, see `net::broker`.
    pub broker: Option<crate::net::broker::Install>,
}

/// Build a CString, refusing interior NULs.
pub fn cstr(b: &[u8], what: &str) -> anyhow::Result<CString> {
    CString::new(b).map_err(|_| anyhow::anyhow!("{what} contains a NUL byte"))
}

/// Build envp from name/value pairs.
pub fn envp(vars: &std::collections::BTreeMap<OsString, OsString>) -> anyhow::Result<Vec<CString>> {
    vars.iter()
        .map(|(k, v)| {
            let mut b = k.as_bytes().to_vec();
            b.push(b'=');
            b.extend_from_slice(v.as_bytes());
            // The message names the variable, never its value.
            cstr(&b, &format!("environment variable {}", k.to_string_lossy()))
        })
        .collect()
}

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

/// How the run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The agent ran; this is its wait status.
    Exited(i32),
    /// Set-up failed in the box.
    SetupFailed(String),
    /// exec failed.
    ExecFailed(i32),
}

/// Fork, confine the child, exec the command, supervise it, and return how it ended.
/// `on_listeners` receives the sockets the box made for the supervisor (its proxy side).
/// `after_fork` runs in the supervisor right after fork (threads may start from there on).
/// When this returns, no process of the box is left alive (agentbox is their subreaper).
pub fn launch(
    prep: &Prepared,
    after_fork: &mut dyn FnMut(),
    on_listeners: &mut (dyn FnMut(Vec<OwnedFd>) + Send),
    on_views: &mut (dyn FnMut(Vec<OwnedFd>) + Send),
) -> anyhow::Result<(Outcome, Option<crate::supervise::observe::Observer>)> {
    let (parent_end, child_end) = crate::sandbox::channel::pair()?;
    // Orphans of the box (daemons) come back to us, not to init, so none outlives the run.
    crate::supervise::reaper::become_subreaper()?;
    // Terminal signals that arrived during start-up go to the box once it exists.
    let early = crate::supervise::signals::drain_terminal();
    crate::supervise::reaper::ensure_single_threaded("launch")?;
    // SAFETY: getpid cannot fail.
    let parent_pid = unsafe { libc::getpid() };
    // SAFETY: agentbox is single-threaded here (checked just above), so the child may
    // allocate and run ordinary code until exec.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        anyhow::bail!("fork: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        drop(parent_end);
        child_main(prep, child_end, parent_pid);
    }
    drop(child_end);
    // With the namespace layer the child only relays: signals go to the box's init, whose pid
    // arrives as a message; until then they wait in the forwarder.
    let first_target = if prep.ns.is_some() { 0 } else { pid };
    let forwarder = crate::supervise::signals::Forwarder::start(first_target, early)?;
    after_fork();

    let mut observer = None;
    if prep.trace.is_some() {
        // The box waits for us: attach before it installs any filter.
        match crate::sandbox::channel::recv(&parent_end) {
            Ok(Some((Msg::TraceReady, _))) => match crate::supervise::observe::Observer::seize(pid)
            {
                Ok(()) => observer = Some(crate::supervise::observe::Observer::new()),
                Err(e) => errln!(
                    "agentbox: filesystem denials will not be named: cannot trace the box ({e})"
                ),
            },
            other => tracing::warn!("denial observer: unexpected {other:?}"),
        }
        let answer = if observer.is_some() {
            Msg::Go
        } else {
            Msg::NoTrace
        };
        let _ = crate::sandbox::channel::send(&parent_end, &answer);
    }
    let mut msgs = Msgs::default();
    let mut wstatus = 0;
    let fw = &forwarder;
    match observer.as_mut() {
        None => {
            read_messages(
                &parent_end,
                &mut msgs,
                on_listeners,
                on_views,
                fw,
                prep.broker.as_ref(),
            );
            wstatus = wait_child(pid);
        }
        Some(obs) => {
            // ptrace belongs to the thread that attached: this one traces, another reads.
            std::thread::scope(|sc| {
                let pe = &parent_end;
                let m = &mut msgs;
                let b = prep.broker.as_ref();
                sc.spawn(move || read_messages(pe, m, on_listeners, on_views, fw, b));
                loop {
                    let mut st = 0;
                    // SAFETY: waiting for our child and the tracees it created.
                    let r = unsafe { libc::waitpid(-1, &mut st, libc::__WALL) };
                    if r < 0 {
                        if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                        {
                            continue;
                        }
                        break;
                    }
                    let alive = obs.handle(r, st);
                    if r == pid && !alive {
                        wstatus = st;
                        break;
                    }
                }
            });
        }
    }
    // Whatever the box left running (a daemon, a `clone(CLONE_UNTRACED)` child) dies now,
    // before anything is restored: nothing may write behind the restore.
    let killed = crate::supervise::reaper::kill_descendants();
    if killed > 0 {
        tracing::info!("{killed} leftover process(es) of the box killed");
    }
    forwarder.stop();
    let Msgs {
        setup_err,
        exec_err,
        status,
    } = msgs;
    let outcome = if let Some(s) = setup_err {
        Outcome::SetupFailed(s)
    } else if let Some(e) = exec_err {
        Outcome::ExecFailed(e)
    } else {
        Outcome::Exited(status.unwrap_or(wstatus))
    };
    Ok((outcome, observer))
}

#[derive(Default)]
struct Msgs {
    setup_err: Option<String>,
    exec_err: Option<i32>,
    status: Option<i32>,
}

fn read_messages(
    chan: &OwnedFd,
    m: &mut Msgs,
    on_listeners: &mut dyn FnMut(Vec<OwnedFd>),
    on_views: &mut dyn FnMut(Vec<OwnedFd>),
    fw: &crate::supervise::signals::Forwarder,
    broker: Option<&crate::net::broker::Install>,
) {
    loop {
        match crate::sandbox::channel::recv(chan) {
            Ok(Some((Msg::InitPid(p), _))) => fw.set_target(p),
            Ok(Some((Msg::SetupError(s), _))) => m.setup_err = Some(s),
            Ok(Some((Msg::ExecError(e), _))) => m.exec_err = Some(e),
            Ok(Some((Msg::Status(s), _))) => m.status = Some(s),
            Ok(Some((Msg::Listeners, fds))) => on_listeners(fds),
            Ok(Some((Msg::GitViews, fds))) => {
                on_views(fds);
                let _ = crate::sandbox::channel::send(chan, &Msg::Go);
            }
            // Without a broker the listener is dropped: the box's connects then fail (ENOSYS).
            Ok(Some((Msg::Broker, fds))) => {
                if let Some(b) = broker {
                    b.hand_over(fds)
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                tracing::warn!("channel: {e}");
                break;
            }
        }
    }
}

fn wait_child(pid: i32) -> i32 {
    let mut wstatus = 0;
    loop {
        // Any child: with the connect broker, agentbox is the subreaper of the box's orphans,
        // which are reaped here until the box's own process ends.
        let mut st = 0;
        // SAFETY: waiting for our own children.
        let r = unsafe { libc::waitpid(-1, &mut st, 0) };
        if r == pid {
            wstatus = st;
            break;
        }
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
    }
    wstatus
}

/// Map a wait status to an exit code: the child's, or 128+N for death by signal N.
pub fn exit_code(wstatus: i32) -> u8 {
    if libc::WIFEXITED(wstatus) {
        libc::WEXITSTATUS(wstatus) as u8
    } else if libc::WIFSIGNALED(wstatus) {
        (128 + libc::WTERMSIG(wstatus)).min(255) as u8
    } else {
        EXIT_SETUP
    }
}

fn fail(chan: &OwnedFd, stage: &str, e: impl std::fmt::Display) -> ! {
    let _ = crate::sandbox::channel::send(chan, &Msg::SetupError(format!("{stage}: {e}")));
    // SAFETY: _exit is always safe.
    unsafe { libc::_exit(EXIT_SETUP as i32) }
}

/// The child: never returns.
fn child_main(prep: &Prepared, chan: OwnedFd, parent_pid: libc::pid_t) -> ! {
    // A panic here must not unwind into the supervisor's frames copied by fork (they would run
    // the post-run restore from inside the box): end the child at once.
    std::panic::set_hook(Box::new(|_| {
        // SAFETY: _exit is always safe.
        unsafe { libc::_exit(EXIT_SETUP as i32) }
    }));
    // Into the box's cgroup first, before this process can start any other.
    if let Some(fd) = prep.cgroup_procs {
        if let Err(e) = crate::supervise::cgroup::enter(fd) {
            fail(&chan, "enter the box's cgroup", e);
        }
    }
    if let Err(e) = crate::sandbox::harden::die_with_parent(parent_pid) {
        fail(&chan, "parent-death signal", e);
    }
    if let Some((o, e)) = prep.stdio {
        // SAFETY: dup2 onto 1 and 2 of descriptors we own; the originals are close-on-exec.
        unsafe {
            libc::dup2(o, 1);
            libc::dup2(e, 2);
        }
    }
    crate::sandbox::harden::reset_signals();
    if let Err(e) = crate::sandbox::harden::cloexec_from_3() {
        fail(&chan, "close inherited descriptors", e);
    }
    if prep.trace.is_some() {
        // Be traceable just long enough for the supervisor to attach, before any filter
        // (a SECCOMP_RET_TRACE without a tracer would fail every path call with ENOSYS).
        // SAFETY: plain prctl calls.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
        let _ = crate::sandbox::channel::send(&chan, &Msg::TraceReady);
        let go = crate::sandbox::channel::recv(&chan);
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        match go {
            Ok(Some((Msg::Go, _))) => TRACED.store(true, Ordering::Relaxed),
            Ok(Some((Msg::NoTrace, _))) => {}
            _ => fail(&chan, "denial observer", "no answer from the supervisor"),
        }
    }
    let Some(ns) = &prep.ns else {
        confine(prep, &chan);
        exec_agent(prep, &chan);
    };
    if let Err(e) = crate::sandbox::mounts::enter(prep.uid, prep.gid, ns.net) {
        fail(&chan, "namespaces", e);
    }
    let views = match crate::sandbox::mounts::setup_mounts(ns) {
        Ok(v) => v,
        Err(e) => fail(&chan, "mounts", e),
    };
    if !views.is_empty() {
        let raw: Vec<i32> = views.iter().map(|f| f.as_raw_fd()).collect();
        if let Err(e) = crate::sandbox::channel::send_with_fds(&chan, &Msg::GitViews, &raw) {
            fail(&chan, "hand the git views to the supervisor", e);
        }
        drop(views);
        // Nothing of the box may run before the supervisor has recorded the views' state.
        match crate::sandbox::channel::recv(&chan) {
            Ok(Some((Msg::Go, _))) => {}
            _ => fail(&chan, "git views", "no answer from the supervisor"),
        }
    }
    if ns.net {
        if let Err(e) = crate::sandbox::mounts::loopback_up() {
            fail(&chan, "network namespace", e);
        }
        // The proxy listens inside the namespace but runs in the supervisor, outside it: the
        // only way out of the box.
        if !prep.listen_inside.is_empty() {
            let mut socks = Vec::new();
            for a in &prep.listen_inside {
                match std::net::TcpListener::bind(a) {
                    Ok(l) => socks.push(l),
                    Err(e) => fail(&chan, &format!("listen on {a} in the box"), e),
                }
            }
            let raw: Vec<i32> = socks.iter().map(|l| l.as_raw_fd()).collect();
            if let Err(e) = crate::sandbox::channel::send_fds(&chan, &raw) {
                fail(&chan, "hand the proxy socket to the supervisor", e);
            }
            drop(socks);
        }
    }
    // This process stays outside the new pid namespace and only relays its end; terminal
    // signals are for the agent, so it ignores them (its death would kill the box).
    for s in [
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGHUP,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        set_handler(s, libc::SIG_IGN);
    }
    // SAFETY: still single-threaded.
    let init = unsafe { libc::fork() };
    if init < 0 {
        fail(
            &chan,
            "fork into the pid namespace",
            std::io::Error::last_os_error(),
        );
    }
    if init == 0 {
        init_main(prep, &chan);
    }
    let _ = crate::sandbox::channel::send(&chan, &Msg::InitPid(init));
    drop(chan);
    let mut ws = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(init, &mut ws, 0) };
        if r == init
            || (r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted)
        {
            break;
        }
    }
    // SAFETY: _exit is always safe.
    unsafe { libc::_exit(exit_code(ws) as i32) }
}

/// Landlock, capabilities, seccomp: in that order, seccomp last before exec.
fn confine(prep: &Prepared, chan: &OwnedFd) {
    if let Err(e) = crate::sandbox::harden::no_new_privs() {
        fail(chan, "no-new-privs", e);
    }
    if let Some((rules, abi, opts)) = &prep.landlock {
        let (rs, skipped) = match crate::plan::fs::build_ruleset(rules, *abi, opts) {
            Ok(x) => x,
            Err(e) => fail(chan, "landlock", e),
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
                "landlock",
                format!("not fully enforced: {:?}", st.ruleset),
            ),
            Err(e) => fail(chan, "landlock", e),
        }
    }
    match crate::sandbox::harden::drop_capabilities() {
        Ok(true) => {}
        // The plan promised an empty bounding set (root, or a user namespace): say so.
        Ok(false) if prep.require_empty_bounding => fail(
            chan,
            "drop capabilities",
            "the bounding set could not be cleared",
        ),
        Ok(false) => {}
        Err(e) => fail(chan, "drop capabilities", e),
    }
    if let Some(f) = &prep.seccomp {
        if let Err(e) = f.apply() {
            fail(chan, "seccomp", e);
        }
    }
    if let Some(t) = prep
        .trace
        .as_ref()
        .filter(|_| TRACED.load(Ordering::Relaxed))
    {
        if let Err(e) = crate::supervise::observe::apply(t) {
            fail(chan, "denial observer filter", e);
        }
    }
    // Last: every connect from here on (the agent's) is decided by the supervisor.
    if let Some(b) = &prep.broker {
        let send = |fd| crate::sandbox::channel::send_fd(chan, &Msg::Broker, fd);
        if let Err(e) = crate::net::broker::install(b, send) {
            fail(chan, "connect broker (seccomp user notification)", e);
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

/// pid 1 of the box: mount /proc, confine itself, start the agent, reap, report its status.
fn init_main(prep: &Prepared, chan: &OwnedFd) -> ! {
    // SAFETY: plain prctl; the parent relays our end, and the pid namespace dies with us.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    crate::sandbox::harden::reset_signals();
    if let Err(e) = crate::sandbox::mounts::mount_proc() {
        fail(chan, "pid namespace", e);
    }
    if std::env::set_current_dir(&prep.cwd).is_err() {
        let _ = std::env::set_current_dir("/");
    }
    confine(prep, chan);
    // SAFETY: single-threaded.
    let agent = unsafe { libc::fork() };
    if agent < 0 {
        fail(chan, "fork the agent", std::io::Error::last_os_error());
    }
    if agent == 0 {
        crate::sandbox::harden::reset_signals();
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
    crate::supervise::signals::unblock_forwarded();
    let mut status = 0;
    loop {
        let mut ws = 0;
        // SAFETY: reaping any child of ours (orphans are re-parented to us).
        let r = unsafe { libc::waitpid(-1, &mut ws, 0) };
        if r == agent {
            status = ws;
            break;
        }
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
    }
    let _ = crate::sandbox::channel::send(chan, &Msg::Status(status));
    // Leaving kills whatever the agent left running in the namespace.
    // SAFETY: _exit is always safe.
    unsafe { libc::_exit(0) }
}

fn exec_agent(prep: &Prepared, chan: &OwnedFd) -> ! {
    let mut argv: Vec<*const libc::c_char> = prep.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = prep.envp.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // Signals blocked since agentbox started: a pending one is delivered now, to the agent.
    crate::supervise::signals::unblock_all();
    // SAFETY: argv and envp are NULL-terminated arrays of valid C strings that outlive the call.
    unsafe { libc::execve(prep.exec_path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let errno = std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO);
    let _ = crate::sandbox::channel::send(chan, &Msg::ExecError(errno));
    // SAFETY: _exit is always safe.
    unsafe { libc::_exit(EXIT_NOTFOUND as i32) }
}

/// Render an exec errno for the person.
pub fn exec_error(errno: i32, cmd: &str) -> (u8, String) {
    let e = std::io::Error::from_raw_os_error(errno);
    if errno == libc::ENOENT {
        (
            EXIT_NOTFOUND,
            format!("{cmd}: command not found inside the box ({e})"),
        )
    } else {
        (
            EXIT_NOEXEC,
            format!("{cmd}: cannot execute inside the box: {e} (is it outside the profile's exec paths? try --allow-read on its directory)"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_commands() {
        let cwd = Path::new("/");
        assert!(resolve_command("sh", Some(OsStr::new("/usr/bin:/bin")), cwd).is_ok());
        let e = resolve_command(
            "definitely-not-a-command-xyz",
            Some(OsStr::new("/usr/bin")),
            cwd,
        )
        .unwrap_err();
        assert_eq!(e.code, EXIT_NOTFOUND);
        let e = resolve_command("/etc/passwd", None, cwd).unwrap_err();
        assert_eq!(e.code, EXIT_NOEXEC);
        let e = resolve_command("/", None, cwd).unwrap_err();
        assert_eq!(e.code, EXIT_NOEXEC);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(libc::SIGTERM), 143);
    }
}
