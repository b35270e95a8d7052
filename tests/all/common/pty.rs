//! Pseudo-terminals the test drives as the terminal emulator: a pair, a program started as the
//! session leader with the pty as its controlling terminal, reading what it shows, typing,
//! resizing. The callers bound every wait (`tui.rs`, `tty.rs`, `escape/terminal.rs`).

use super::{as_who, secrets, test_user, As, Fixture, PATH};
use std::ffi::OsStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// A pseudo-terminal pair created by the test (master, slave), both close-on-exec, the window
/// `rows` x `cols`.
pub fn openpty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let (mut m, mut s) = (0, 0);
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty fills two descriptors; NULL name and termios are allowed.
    let r = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: fresh descriptors we own.
    unsafe {
        libc::fcntl(m, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(s, libc::F_SETFD, libc::FD_CLOEXEC);
        (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s))
    }
}

/// The terminal `slave` belongs to `who`, as the person's own terminal does.
pub fn give_terminal(slave: &OwnedFd, who: As) {
    if who == As::User {
        if let Some((uid, gid)) = test_user() {
            // SAFETY: fchown on our own descriptor.
            unsafe { libc::fchown(slave.as_raw_fd(), uid, gid) };
        }
    }
}

/// `program` as the person would start it in a terminal: as the fixture's owner, in its
/// workspace, with its HOME, `TERM=xterm` and the fake secrets in an otherwise clean
/// environment; not started.
pub fn terminal_command(f: &Fixture, program: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new(program);
    c.current_dir(&f.ws)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", &f.home)
        .env("TERM", "xterm")
        .env("LANG", "C.UTF-8");
    for (k, v) in secrets() {
        c.env(k, v);
    }
    as_who(&mut c, f.owner);
    c
}

/// A program on a fresh pty: the master side (non-blocking) and the child.
pub struct Pty {
    pub master: OwnedFd,
    pub child: Child,
}

impl Pty {
    /// Start `c` as the session leader of a new `rows` x `cols` pty, its controlling terminal,
    /// which belongs to `owner`.
    pub fn spawn(mut c: Command, rows: u16, cols: u16, owner: As) -> Pty {
        let (master, slave) = openpty(rows, cols);
        // SAFETY: fcntl on our own descriptor.
        unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        give_terminal(&slave, owner);
        c.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()));
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = c.spawn().expect("spawn on the pty");
        // Only the child holds the slave now (the Command's copies too), so the master sees
        // EIO once the child and its descendants have closed it.
        drop(c);
        drop(slave);
        Pty { master, child }
    }

    /// Wait up to `ms` for output, then hand each chunk there is to `seen` until none is left;
    /// true when every slave is closed (EIO).
    pub fn read(&self, ms: i32, mut seen: impl FnMut(&[u8])) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd.
        unsafe { libc::poll(&mut pfd, 1, ms) };
        loop {
            let mut buf = [0u8; 8192];
            // SAFETY: reading into our buffer from a non-blocking descriptor.
            let n =
                unsafe { libc::read(self.master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                seen(&buf[..n as usize]);
                continue;
            }
            return n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EIO);
        }
    }

    /// Type `data`; the number of bytes written (negative on error).
    pub fn write(&self, data: &[u8]) -> isize {
        // SAFETY: writing our buffer to our descriptor.
        unsafe { libc::write(self.master.as_raw_fd(), data.as_ptr().cast(), data.len()) }
    }

    /// Resize the window (the kernel sends SIGWINCH to the foreground process group); 0 when
    /// done.
    pub fn resize(&self, rows: u16, cols: u16) -> i32 {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ with a winsize we own.
        unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) }
    }

    /// The terminal's foreground process group, if it has one.
    pub fn foreground(&self) -> Option<libc::pid_t> {
        let mut pg: libc::pid_t = 0;
        // SAFETY: TIOCGPGRP into an int we own.
        let r = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCGPGRP, &mut pg) };
        (r == 0 && pg > 0).then_some(pg)
    }
}
