//! The supervisor's side of a launch: fork, forward signals, trace (the denial observer), read
//! the box's messages, wait, and leave no process of the box alive.

use crate::sandbox::channel::Msg;
use crate::sandbox::spec::{Prepared, Terminal};
use crate::sandbox::{EXIT_NOEXEC, EXIT_NOTFOUND};
use std::os::fd::{AsRawFd, OwnedFd};

/// How the run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The agent ran; this is its wait status.
    Exited(i32),
    /// Set-up failed in the box.
    SetupFailed(crate::sandbox::SetupError),
    /// exec failed.
    ExecFailed(i32),
}

/// Fork, confine the child, exec the command, supervise it, and return how it ended.
/// `on_listeners` receives the sockets the box made for the supervisor (its proxy side),
/// `on_resolver` the stub resolver's (UDP, then TCP).
/// `after_fork` runs in the supervisor right after fork (threads may start from there on).
/// When this returns, no process of the box is left alive (agentbox is their subreaper).
pub fn launch(
    prep: &Prepared,
    after_fork: &mut dyn FnMut(),
    on_listeners: &mut (dyn FnMut(Vec<OwnedFd>) + Send),
    on_views: &mut (dyn FnMut(Vec<OwnedFd>) + Send),
    on_resolver: &mut (dyn FnMut(Vec<OwnedFd>) + Send),
) -> anyhow::Result<(Outcome, Option<crate::supervise::observe::Observer>)> {
    let (parent_end, child_end) = crate::sandbox::channel::pair()?;
    // Orphans of the box (daemons) come back to us, not to init, so none outlives the run.
    crate::supervise::reaper::become_subreaper()?;
    // Terminal signals that arrived during start-up go to the box once it exists.
    let early = crate::supervise::signals::drain_terminal();
    crate::supervise::reaper::ensure_single_threaded("launch")?;
    let (pid, gate) = match spawn(prep, parent_end.as_raw_fd(), child_end)? {
        Spawned::Child(pid, gate) => (pid, gate),
        Spawned::Refused(err) => return Ok((Outcome::SetupFailed(err), None)),
    };
    // The child is the box's pid 1 (with the namespace layer) or the agent itself.
    let forwarder = crate::supervise::signals::Forwarder::start(pid, early)?;
    after_fork();
    let mut observer = if prep.trace.is_some() {
        attach_observer(&parent_end, pid)
    } else {
        None
    };
    let mut msgs = Msgs::default();
    let mut wstatus = 0;
    let job = crate::supervise::job::Job::new(prep.terminal).map(std::sync::Arc::new);
    if let (Terminal::ForegroundGroup { fd }, Some(w)) = (prep.terminal, &gate) {
        // pid 1 leads a process group of its own and gets the terminal, if agentbox's group
        // still holds it; before `started`, which reads the terminal's state.
        let held = u8::from(crate::supervise::job::hand_terminal(fd, pid));
        // SAFETY: writing one byte from our buffer to our pipe.
        unsafe { libc::write(w.as_raw_fd(), (&held as *const u8).cast(), 1) };
    }
    drop(gate);
    if let Some(j) = &job {
        if prep.ns.is_some() {
            j.started(pid);
        }
        forwarder.set_job(j.clone());
    }
    let fw = &Relays {
        job: job.as_deref(),
    };
    match observer.as_mut() {
        None => {
            let hooks = Hooks {
                on_listeners,
                on_views,
                on_resolver,
            };
            read_messages(&parent_end, &mut msgs, hooks, fw, prep.broker.as_ref());
            wstatus = wait_child(pid);
        }
        Some(obs) => {
            // ptrace belongs to the thread that attached: this one traces, another reads.
            std::thread::scope(|sc| {
                let pe = &parent_end;
                let m = &mut msgs;
                let b = prep.broker.as_ref();
                let hooks = Hooks {
                    on_listeners,
                    on_views,
                    on_resolver,
                };
                sc.spawn(move || read_messages(pe, m, hooks, fw, b));
                let mut wait = crate::supervise::observe::Waiter::from_env();
                loop {
                    let (r, st) = wait.wait();
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
    crate::timing::mark("supervisor: box reaped");
    // Whatever the box left running (a daemon, a `clone(CLONE_UNTRACED)` child) dies now,
    // before anything is restored: nothing may write behind the restore.
    let killed = crate::supervise::reaper::kill_descendants();
    if killed > 0 {
        tracing::info!("{killed} leftover process(es) of the box killed");
    }
    if let Some(j) = &job {
        j.finish();
    }
    forwarder.stop();
    crate::timing::mark("supervisor: leftovers killed, forwarder stopped");
    Ok((msgs.outcome(wstatus), observer))
}

/// What the fork gave: the child (and, with the terminal, the write end of its gate), or the
/// kernel's refusal of new namespaces.
enum Spawned {
    Child(libc::pid_t, Option<OwnedFd>),
    Refused(crate::sandbox::SetupError),
}

/// Fork the box: into new namespaces as its pid 1 with the namespace layer, else as the agent.
/// The child never returns from here; `parent_end` is closed in it.
fn spawn(prep: &Prepared, parent_end: i32, child_end: OwnedFd) -> anyhow::Result<Spawned> {
    // SAFETY: getpid cannot fail.
    let parent_pid = unsafe { libc::getpid() };
    // With the terminal, the box's pid 1 waits on this before it starts the agent: the
    // terminal is the box's by then.
    let gate = match (&prep.ns, prep.terminal) {
        (Some(_), Terminal::ForegroundGroup { .. }) => {
            Some(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
        }
        _ => None,
    };
    let pid = match &prep.ns {
        // SAFETY: agentbox is single-threaded here (the caller checked), so the child may
        // allocate and run ordinary code until exec.
        Some(ns) => match unsafe { crate::sandbox::namespaces::fork_into_namespaces(ns.net) } {
            Ok(p) => p,
            // Out of processes or memory: a failed fork, not namespaces the kernel refuses
            // (which make the run plan again without user namespaces).
            Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::ENOMEM)) => {
                anyhow::bail!("fork: {e}")
            }
            Err(e) => {
                return Ok(Spawned::Refused(crate::sandbox::SetupError {
                    stage: crate::sandbox::Stage::Unshare,
                    detail: e.to_string(),
                }))
            }
        },
        // SAFETY: as above.
        None => unsafe { libc::fork() },
    };
    if pid < 0 {
        anyhow::bail!("fork: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: the supervisor's end, which the child must not hold (its closing tells the
        // child that agentbox is gone); the child never returns, so the caller's OwnedFd of it
        // is never dropped here.
        unsafe { libc::close(parent_end) };
        let gate = gate.map(|(r, _)| r);
        crate::sandbox::child::main(prep, child_end, parent_pid, gate);
    }
    drop(child_end);
    Ok(Spawned::Child(pid, gate.map(|(_, w)| w)))
}

/// The box waits for us: attach the denial observer before it installs any filter, and tell
/// the box whether its trace filter may go in.
fn attach_observer(
    parent_end: &OwnedFd,
    pid: libc::pid_t,
) -> Option<crate::supervise::observe::Observer> {
    let mut observer = None;
    match crate::sandbox::channel::recv(parent_end) {
        Ok(Some((Msg::TraceReady, _))) => match crate::supervise::observe::Observer::seize(pid) {
            Ok(()) => observer = Some(crate::supervise::observe::Observer::new()),
            Err(e) => {
                errln!("agentbox: filesystem denials will not be named: cannot trace the box ({e})")
            }
        },
        other => tracing::warn!("denial observer: unexpected {other:?}"),
    }
    let answer = if observer.is_some() {
        Msg::Go
    } else {
        Msg::NoTrace
    };
    let _ = crate::sandbox::channel::send(parent_end, &answer);
    observer
}

#[derive(Default)]
struct Msgs {
    setup_err: Option<crate::sandbox::SetupError>,
    exec_err: Option<i32>,
    status: Option<i32>,
}

impl Msgs {
    /// How the run ended, from the box's messages and the child's own wait status.
    fn outcome(self, wstatus: i32) -> Outcome {
        if let Some(s) = self.setup_err {
            Outcome::SetupFailed(s)
        } else if let Some(e) = self.exec_err {
            Outcome::ExecFailed(e)
        } else {
            Outcome::Exited(self.status.unwrap_or(wstatus))
        }
    }
}

/// Where the box's stops go: the terminal's job control.
struct Relays<'a> {
    job: Option<&'a crate::supervise::job::Job>,
}

/// Where the descriptors the box hands over go.
struct Hooks<'a> {
    on_listeners: &'a mut (dyn FnMut(Vec<OwnedFd>) + Send),
    on_views: &'a mut (dyn FnMut(Vec<OwnedFd>) + Send),
    on_resolver: &'a mut (dyn FnMut(Vec<OwnedFd>) + Send),
}

fn read_messages(
    chan: &OwnedFd,
    m: &mut Msgs,
    hooks: Hooks,
    fw: &Relays,
    broker: Option<&crate::net::broker::Install>,
) {
    loop {
        match crate::sandbox::channel::recv(chan) {
            Ok(Some((Msg::Stopped(sig), _))) => {
                if let Some(j) = fw.job {
                    j.stopped(sig);
                }
            }
            Ok(Some((Msg::SetupError(s), _))) => m.setup_err = Some(s),
            Ok(Some((Msg::ExecError(e), _))) => m.exec_err = Some(e),
            Ok(Some((Msg::Status(s), _))) => m.status = Some(s),
            Ok(Some((Msg::Listeners, fds))) => (hooks.on_listeners)(fds),
            Ok(Some((Msg::Resolver, fds))) => (hooks.on_resolver)(fds),
            Ok(Some((Msg::GitViews, fds))) => {
                (hooks.on_views)(fds);
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

pub use crate::sandbox::exit_code;

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
    fn exit_codes() {
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(libc::SIGTERM), 143);
    }
}
