//! Signals: blocked in agentbox from the start of `run`, so that none kills agentbox before the
//! box exists (which would skip the post-run restore) and none is lost: after fork a thread takes
//! them with `sigtimedwait` and forwards them to the box once it knows the box's pid.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
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

fn all() -> libc::sigset_t {
    let v: Vec<libc::c_int> = FORWARDED.iter().chain(&TERMINAL).copied().collect();
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

/// Unblock only the forwarded signals (pid 1 of the box, once its handlers are in place).
pub fn unblock_forwarded() {
    let set = set_of(&FORWARDED);
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

/// The forwarding thread.
pub struct Forwarder {
    stop: Arc<AtomicBool>,
    target: Arc<AtomicI32>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Forwarder {
    /// Start forwarding to `target` (0: not known yet; signals wait until [`Forwarder::set_target`]).
    /// `early` are terminal signals that arrived before the box existed.
    pub fn start(target: i32, early: Vec<libc::c_int>) -> std::io::Result<Forwarder> {
        let stop = Arc::new(AtomicBool::new(false));
        let tgt = Arc::new(AtomicI32::new(target));
        let (s, t) = (stop.clone(), tgt.clone());
        let handle = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || forward_loop(&s, &t, early))?;
        Ok(Forwarder {
            stop,
            target: tgt,
            handle: Some(handle),
        })
    }

    /// The box's pid to forward to (its init, in the namespace mode).
    pub fn set_target(&self, pid: i32) {
        self.target.store(pid, Ordering::SeqCst);
    }

    /// Stop forwarding; signals arriving later stay blocked (agentbox finishes its restore).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn forward_loop(stop: &AtomicBool, target: &AtomicI32, early: Vec<libc::c_int>) {
    let set = all();
    let tick = libc::timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    let mut queue: Vec<libc::c_int> = early;
    while !stop.load(Ordering::SeqCst) {
        let pid = target.load(Ordering::SeqCst);
        if pid > 0 && !queue.is_empty() {
            for s in queue.drain(..) {
                // SAFETY: signalling the box's own process.
                unsafe { libc::kill(pid, s) };
            }
        }
        // SAFETY: valid set and timeout; no siginfo wanted.
        let s = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &tick) };
        if s <= 0 || TERMINAL.contains(&s) {
            // Terminal signals reach the box's process group from the terminal itself.
            continue;
        }
        queue.push(s);
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
