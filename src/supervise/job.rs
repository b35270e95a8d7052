//! Job control across the pid namespace. Inside it agentbox's process group has no number, so
//! the box's pid 1 leads a group of its own that holds the terminal while the box runs
//! (`sandbox::spec::Terminal`). The terminal then stops only the box on Ctrl-Z: agentbox takes
//! the terminal back and stops itself with the same signal, so the shell that started agentbox
//! sees its job stopped; on `fg` it gives the terminal back to the box's foreground group and
//! continues the box; on `bg` it only continues it (a later `fg` comes without a signal: the
//! signal thread then checks the terminal every 50 ms until it is agentbox's, and hands it
//! over). At the end the terminal is agentbox's again.

use std::sync::Mutex;

/// The supervisor's side of the box's terminal.
pub struct Job {
    fd: i32,
    /// agentbox's own process group (the shell's job).
    me: libc::pid_t,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The box's pid 1 (host pid), once known.
    init: libc::pid_t,
    /// The box's group to give the terminal back to (its pid 1's, or one a shell in the box
    /// put in the foreground).
    fg: libc::pid_t,
    /// The box holds the terminal now.
    held: bool,
    /// The agent stopped and was not continued yet.
    box_stopped: bool,
}

/// Run `f` with SIGTTOU blocked in this thread: a process outside the terminal's foreground
/// group may then move the foreground (`tcsetpgrp`), as a shell does.
fn without_ttou<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: sigset manipulation on sets we own; pthread_sigmask with valid pointers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        let r = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        r
    }
}

impl Job {
    /// For a box that gets its own foreground group on terminal `fd`.
    pub fn new(terminal: crate::sandbox::spec::Terminal) -> Option<Job> {
        match terminal {
            crate::sandbox::spec::Terminal::ForegroundGroup { fd } => Some(Job {
                fd,
                // SAFETY: getpgrp cannot fail.
                me: unsafe { libc::getpgrp() },
                state: Mutex::new(State::default()),
            }),
            crate::sandbox::spec::Terminal::Shared => None,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn foreground(&self) -> libc::pid_t {
        // SAFETY: tcgetpgrp only reads.
        unsafe { libc::tcgetpgrp(self.fd) }
    }

    /// The box's pid 1 exists: agentbox has given it the terminal, unless it had lost
    /// the foreground meanwhile.
    pub fn started(&self, init: libc::pid_t) {
        let held = self.foreground() == init;
        let mut st = self.state();
        st.init = init;
        st.fg = init;
        st.held = held;
    }

    /// The agent stopped with `sig`: take the terminal back, stop agentbox with the same
    /// signal (its shell reports the job stopped); once continued, [`Job::continued`].
    pub fn stopped(&self, sig: i32) {
        if !matches!(
            sig,
            libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU | libc::SIGSTOP
        ) {
            return;
        }
        {
            let mut st = self.state();
            st.box_stopped = true;
            if st.held {
                let fg = self.foreground();
                if fg > 0 && fg != self.me {
                    st.fg = fg;
                }
                // SAFETY: moving our terminal's foreground to our own group.
                without_ttou(|| unsafe { libc::tcsetpgrp(self.fd, self.me) });
                st.held = false;
            }
        }
        // A signal to this thread is acted on before tgkill returns: agentbox is stopped and
        // continued by then (or not stopped at all: an orphaned group, an ignored signal).
        // SAFETY: signalling our own thread.
        unsafe {
            libc::syscall(
                libc::SYS_tgkill,
                libc::getpid(),
                libc::syscall(libc::SYS_gettid),
                sig,
            )
        };
        self.continued();
    }

    /// agentbox was continued (`fg`, `bg`): in the foreground the terminal goes back to the
    /// box's foreground group; a stopped box continues.
    pub fn continued(&self) {
        let mut st = self.state();
        if st.init <= 0 {
            return;
        }
        if !st.held && self.foreground() == self.me {
            let fg = st.fg;
            // SAFETY: moving our terminal's foreground to the box's group (or its pid 1's
            // when that one is gone).
            let ok = without_ttou(|| unsafe { libc::tcsetpgrp(self.fd, fg) } == 0);
            if !ok {
                // SAFETY: as above.
                without_ttou(|| unsafe { libc::tcsetpgrp(self.fd, st.init) });
            }
            st.held = true;
        }
        if st.box_stopped {
            st.box_stopped = false;
            // SAFETY: continuing the box's own processes: its foreground group and its pid 1,
            // which continues the agent's group wherever the agent moved.
            unsafe {
                libc::kill(-st.fg, libc::SIGCONT);
                libc::kill(st.init, libc::SIGCONT);
            }
        }
    }

    /// The box runs while agentbox is in the background (`bg`): a shell's later `fg` gives
    /// agentbox the terminal without a signal when the job was not stopped, so the signal
    /// thread looks again soon ([`Job::continued`]) while this holds.
    pub fn in_background(&self) -> bool {
        let st = self.state();
        st.init > 0 && !st.held && !st.box_stopped
    }

    /// The box is gone: the terminal is agentbox's again (unless its shell holds it).
    pub fn finish(&self) {
        let mut st = self.state();
        if st.held {
            // SAFETY: moving our terminal's foreground back to our own group.
            without_ttou(|| unsafe { libc::tcsetpgrp(self.fd, self.me) });
            st.held = false;
        }
    }
}

/// Make the box's pid 1 `init` (not started on anything yet) lead a process group of its own
/// and give it the terminal `fd`, if agentbox's group still holds it; false leaves everything
/// as it was.
pub fn hand_terminal(fd: i32, init: libc::pid_t) -> bool {
    // SAFETY: plain calls on our own child and terminal.
    let me = unsafe { libc::getpgrp() };
    // SAFETY: as above.
    if unsafe { libc::tcgetpgrp(fd) != me || libc::setpgid(init, init) != 0 } {
        return false;
    }
    // SIGTTOU blocked: a group that is not in the foreground may then move it, as a shell does.
    // SAFETY: as above.
    let ok = without_ttou(|| unsafe { libc::tcsetpgrp(fd, init) }) == 0;
    if !ok {
        // SAFETY: as above.
        unsafe { libc::setpgid(init, me) };
    }
    ok
}
