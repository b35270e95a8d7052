//! Signals: blocked in agentbox from the start of `run`, so that none kills agentbox before the
//! box exists (which would skip the post-run restore) and none is lost: after fork a thread takes
//! them from a signalfd and forwards them to the box (its pid 1, known from the fork on).

use std::sync::Arc;

/// Signals the supervisor forwards to the box.
pub const FORWARDED: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2];
/// Terminal signals: the terminal sends them to the box's process group itself, so agentbox only
/// forwards those that arrived before the box existed.
pub const TERMINAL: [libc::c_int; 2] = [libc::SIGINT, libc::SIGQUIT];

fn set_of(sigs: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, *s);
        }
        set
    }
}

/// Everything the signal thread takes: the forwarded and terminal signals, and SIGCONT (which
/// continues agentbox whether blocked or not; the thread then hands the terminal to the box,
/// see `supervise::job`).
fn all() -> libc::sigset_t {
    let v: Vec<libc::c_int> = FORWARDED
        .iter()
        .chain(&TERMINAL)
        .chain(&[libc::SIGCONT])
        .copied()
        .collect();
    set_of(&v)
}

/// Block the forwarded and terminal signals in the calling thread (call first, while
/// single-threaded, so every thread started later inherits the mask).
pub fn block() {
    let set = all();
    // SAFETY: a valid set; blocking signals cannot fail with valid arguments.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// An empty signal mask: in a child right before exec (the program must not start with signals
/// blocked; pending ones are delivered now, with their default action).
pub fn unblock_all() {
    // SAFETY: an empty, initialised set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Unblock the forwarded signals, and SIGCONT when `cont` (pid 1 of the box, once its
/// handlers are in place).
pub fn unblock_forwarded(cont: bool) {
    let mut v = FORWARDED.to_vec();
    if cont {
        v.push(libc::SIGCONT);
    }
    let set = set_of(&v);
    // SAFETY: a valid set.
    unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
}

/// Take the terminal signals that are pending now (they arrived during start-up), so they can
/// be handed to the box once it exists.
pub fn drain_terminal() -> Vec<libc::c_int> {
    let set = set_of(&TERMINAL);
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut out = Vec::new();
    for _ in 0..8 {
        // SAFETY: valid set and timeout; no siginfo wanted.
        let s = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) };
        if s <= 0 {
            break;
        }
        out.push(s);
    }
    out
}

/// The forwarding thread: reads the blocked signals from a signalfd and sends them to the
/// box; a pipe wakes it when the run is over (no polling interval to wait out).
pub struct Forwarder {
    job: Arc<std::sync::OnceLock<Arc<crate::supervise::job::Job>>>,
    stop_w: Option<std::os::fd::OwnedFd>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Forwarder {
    /// Start forwarding to `target` (the box's pid 1, or the agent without namespaces).
    /// `early` are terminal signals that arrived before the box existed.
    pub fn start(target: i32, early: Vec<libc::c_int>) -> std::io::Result<Forwarder> {
        use std::os::fd::FromRawFd;
        let set = all();
        // SAFETY: a valid, initialised set; a new descriptor owned right below.
        let sfd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
        if sfd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor from signalfd.
        let sfd = unsafe { std::os::fd::OwnedFd::from_raw_fd(sfd) };
        let (stop_r, stop_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
        let job = Arc::new(std::sync::OnceLock::new());
        let j = job.clone();
        let handle = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || forward_loop(&sfd, &stop_r, target, &j, early))?;
        Ok(Forwarder {
            job,
            stop_w: Some(stop_w),
            handle: Some(handle),
        })
    }

    /// The box's terminal job control, told when agentbox is continued.
    pub fn set_job(&self, job: Arc<crate::supervise::job::Job>) {
        let _ = self.job.set(job);
    }

    /// Stop forwarding; signals arriving later stay blocked (agentbox finishes its restore).
    pub fn stop(mut self) {
        // Closing the pipe's write end wakes the thread.
        self.stop_w.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop_w.take();
    }
}

fn forward_loop(
    sfd: &std::os::fd::OwnedFd,
    stop: &std::os::fd::OwnedFd,
    pid: i32,
    job: &std::sync::OnceLock<Arc<crate::supervise::job::Job>>,
    early: Vec<libc::c_int>,
) {
    use std::os::fd::AsRawFd;
    let mut queue: Vec<libc::c_int> = early;
    loop {
        if !queue.is_empty() {
            for s in queue.drain(..) {
                // SAFETY: signalling the box's own process.
                unsafe { libc::kill(pid, s) };
            }
        }
        let mut fds = [
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: stop.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // A box running while agentbox is in the background waits for agentbox to get the
        // terminal back; otherwise sleep until woken.
        let background = job.get().is_some_and(|j| j.in_background());
        let timeout = if background { 50 } else { -1 };
        // SAFETY: two valid pollfd entries.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        if r < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if fds[1].revents != 0 {
            return;
        }
        if background {
            if let Some(j) = job.get() {
                j.continued();
            }
        }
        if fds[0].revents & libc::POLLIN != 0 {
            // SAFETY: reading one siginfo record into a buffer of its size.
            let mut si: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            // SAFETY: `si` is a writable buffer of exactly the size passed.
            let n = unsafe {
                libc::read(
                    sfd.as_raw_fd(),
                    (&mut si as *mut libc::signalfd_siginfo).cast(),
                    std::mem::size_of::<libc::signalfd_siginfo>(),
                )
            };
            if n as usize == std::mem::size_of::<libc::signalfd_siginfo>() {
                let s = si.ssi_signo as libc::c_int;
                if s == libc::SIGCONT {
                    if let Some(j) = job.get() {
                        j.continued();
                    }
                // Terminal signals reach the box's process group from the terminal itself.
                } else if !TERMINAL.contains(&s) {
                    queue.push(s);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_hold_what_they_say() {
        let s = all();
        for sig in FORWARDED.iter().chain(&TERMINAL) {
            // SAFETY: a valid, initialised set.
            assert_eq!(unsafe { libc::sigismember(&s, *sig) }, 1);
        }
        // SAFETY: as above.
        assert_eq!(unsafe { libc::sigismember(&s, libc::SIGCHLD) }, 0);
    }
}
