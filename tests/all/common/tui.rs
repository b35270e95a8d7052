//! A full-screen program (an agent's TUI inside agentbox) driven through a pseudo-terminal:
//! the test is the terminal. It answers the queries TUIs make at start (cursor position,
//! device attributes), waits for text on the screen, types keys, and stops the program with a
//! deadline (Ctrl-C, then SIGTERM to the process group, then SIGKILL).

use super::{Fixture, Pty};
use std::process::Command;
use std::time::{Duration, Instant};

/// A program on a pty.
pub struct Tui {
    pty: Pty,
    raw: Vec<u8>,
    /// Offset in the screen text up to which [`Tui::wait_for`] has consumed.
    pos: usize,
}

impl Tui {
    /// Start `c` (from [`Fixture::command`]) as the session leader of a new 40x120 pty.
    pub fn start(f: &Fixture, c: Command) -> Tui {
        Tui {
            pty: Pty::spawn(c, 40, 120, f.owner),
            raw: Vec::new(),
            pos: 0,
        }
    }

    /// Read what is there (waiting up to `ms` for something), answering terminal queries.
    fn pump(&mut self, ms: i32) {
        let (pty, raw) = (&self.pty, &mut self.raw);
        pty.read(ms, |d| {
            let has = |q: &[u8]| d.windows(q.len()).any(|w| w == q);
            if has(b"\x1b[6n") {
                pty.write(b"\x1b[1;1R");
            }
            if has(b"\x1b[c") {
                pty.write(b"\x1b[?62;c");
            }
            raw.extend_from_slice(d);
        });
    }

    /// Type `s`.
    pub fn send(&mut self, s: &str) {
        self.pty.write(s.as_bytes());
    }

    /// Everything shown so far, escape sequences removed and runs of blanks squeezed.
    pub fn screen(&self) -> String {
        screen_text(&self.raw)
    }

    /// Wait until one of `pats` shows after what earlier waits consumed; its index, or `None`
    /// after `secs` or when the program ended.
    pub fn wait_for(&mut self, pats: &[&str], secs: u64) -> Option<usize> {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            self.pump(100);
            let s = self.screen();
            let rest = s.get(self.pos..).unwrap_or_default();
            let hit = pats
                .iter()
                .enumerate()
                .filter_map(|(i, p)| rest.find(p).map(|at| (at, i, p.len())))
                .min();
            if let Some((at, i, len)) = hit {
                self.pos += at + len;
                return Some(i);
            }
            if Instant::now() > end || matches!(self.pty.child.try_wait(), Ok(Some(_))) {
                return None;
            }
        }
    }

    /// Stop it: Ctrl-C twice, then SIGTERM and SIGKILL to its process group; the exit status
    /// and the screen.
    pub fn stop(mut self, secs: u64) -> (Option<std::process::ExitStatus>, String) {
        let pid = self.pty.child.id() as i32;
        let start = Instant::now();
        let mut stage = 0;
        let status = loop {
            self.pump(100);
            if let Ok(Some(s)) = self.pty.child.try_wait() {
                break Some(s);
            }
            let t = start.elapsed().as_secs();
            if stage < 2 && t >= stage {
                self.send("\x03");
                stage += 1;
            } else if stage == 2 && t >= secs {
                // SAFETY: signalling the process group this test created (setsid).
                unsafe { libc::kill(-pid, libc::SIGTERM) };
                stage = 3;
            } else if t >= secs + 10 {
                // SAFETY: as above.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                let _ = self.pty.child.wait();
                break None;
            }
        };
        self.pump(50);
        let screen = self.screen();
        (status, screen)
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if matches!(self.pty.child.try_wait(), Ok(None)) {
            // SAFETY: the process group this test created.
            unsafe { libc::kill(-(self.pty.child.id() as i32), libc::SIGKILL) };
            let _ = self.pty.child.wait();
        }
    }
}

/// Terminal output as text: CSI, OSC and other escapes removed, blanks squeezed.
pub fn screen_text(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\x1b' {
            if c.is_whitespace() || c.is_control() {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
            continue;
        }
        match it.next() {
            Some('[') => {
                // Parameters, then one final byte in @..~.
                for x in it.by_ref() {
                    if ('@'..='~').contains(&x) {
                        break;
                    }
                }
            }
            Some(']') => {
                // Until BEL or ST.
                while let Some(x) = it.next() {
                    if x == '\x07' || (x == '\x1b' && it.peek() == Some(&'\\')) {
                        if x == '\x1b' {
                            it.next();
                        }
                        break;
                    }
                }
            }
            Some('(' | ')') => {
                it.next();
            }
            _ => {}
        }
        // An escape separates words, but never starts the text.
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out
}

#[test]
fn screen_text_drops_escapes() {
    let t = screen_text(b"\x1b[1mTrust\x1b[0m this\x1b]0;title\x07 folder?\r\n\x1b(B>");
    assert_eq!(t, "Trust this folder? >");
}
