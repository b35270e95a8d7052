//! Terminals: TIOCSTI / TIOCLINUX on the terminal shared with the person, and the person's
//! other terminals.

use crate::common::*;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

// Other terminals of the same person (/dev/pts/N of another tab or an ssh session, owned by the
// person, mode 620): the box may use the terminal it was given, but opening another one would
// let it read keystrokes typed there (passwords) and write forged output and escape sequences.
#[test]
fn other_terminals_of_the_person_unreachable() {
    let body = r#"
def steal():
    fd = os.open(A[0], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    os.write(fd, b'forged-output ')
    time.sleep(0.3)
    try:
        return 'STOLE-' + os.read(fd, 100).decode(errors='replace').strip()
    except BlockingIOError:
        return 'OPENED'
report('r', steal)
"#;
    for who in who() {
        let f = Fixture::new(who);
        let (master, slave) = openpty(24, 80);
        let name = {
            let mut buf = [0u8; 128];
            // SAFETY: ttyname_r into our buffer.
            let r =
                unsafe { libc::ttyname_r(slave.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            assert_eq!(r, 0);
            let end = buf.iter().position(|&b| b == 0).unwrap();
            String::from_utf8_lossy(&buf[..end]).into_owned()
        };
        // The terminal belongs to the person running agentbox, as a login terminal would.
        if who == As::User {
            if let Some((uid, _)) = test_user() {
                // SAFETY: fchown/fchmod on our descriptor.
                unsafe {
                    libc::fchown(slave.as_raw_fd(), uid, u32::MAX);
                    libc::fchmod(slave.as_raw_fd(), 0o620);
                }
            }
        }
        let typer = {
            let m = master.try_clone().unwrap();
            std::thread::spawn(move || {
                // The person types a password in the other terminal while the box runs.
                for _ in 0..10 {
                    std::thread::sleep(Duration::from_millis(50));
                    // SAFETY: writing to our master.
                    unsafe { libc::write(m.as_raw_fd(), b"hunter2\n".as_ptr().cast(), 8) };
                }
            })
        };
        let (hout, hv) = py_host(who, &f.ws, body, &[&name]);
        let (out, v) = py_box(&f, FULL, body, &[&name]);
        typer.join().unwrap();
        want(
            &format!("[{who:?}] host control: other terminal"),
            &hout,
            &hv,
            "r",
            &["OPENED", "STOLE-hunter2"],
        );
        let _ = hv;
        let got = v.get("r").cloned().unwrap_or_default();
        check(
            got == "EACCES" || got == "ENOENT" || got == "EPERM",
            &format!("[{who:?}] box opened another terminal of the person ({name}): r={got}"),
            &out,
        );
        drop(slave);
    }
}

/// Session leader on the pty: runs its arguments (agentbox, or the probe directly for the
/// control), then drains whatever was queued as terminal input and reports it.
const TTY_WRAPPER: &str = r#"
import os, subprocess, sys, termios, time, tty
rc = subprocess.call(sys.argv[1:])
time.sleep(0.05)
tty.setraw(0, termios.TCSANOW)
os.set_blocking(0, False)
try:
    q = os.read(0, 4096)
except BlockingIOError:
    q = b''
sys.stdout.write('\r\nQUEUE=' + q.hex() + '\r\nRC=' + str(rc) + '\r\n')
sys.stdout.flush()
"#;

const TIOCSTI_PROBE: &str = r#"
import fcntl
def sti(fd, req, text):
    for ch in text:
        c = ctypes.c_char(ch.encode())
        r = sc('ioctl', fd, req, ctypes.byref(c))
        if r != 'OK':
            return r
    return 'OK'
TIOCSTI = int(A[0]); TIOCLINUX = int(A[1])
report('sti', lambda: sti(0, TIOCSTI, 'echo INJ' + 'ECTED\n'))
report('sti_hi', lambda: sti(0, TIOCSTI | (1 << 32), 'echo INJ' + 'ECTED\n'))
report('sti_devtty', lambda: sti(os.open('/dev/tty', os.O_RDWR), TIOCSTI, 'echo INJ' + 'ECTED\n'))
report('sti_stderr', lambda: sti(2, TIOCSTI, 'echo INJ' + 'ECTED\n'))
sub = ctypes.c_char(b'\x06')  # TIOCL_GETSHIFTSTATE
report('linux', lambda: sc('ioctl', 0, TIOCLINUX, ctypes.byref(sub)))
report('linux_hi', lambda: sc('ioctl', 0, TIOCLINUX | (1 << 32), ctypes.byref(sub)))
"#;

/// Run `argv` under the wrapper on a fresh pty as its controlling terminal; returns everything
/// the terminal showed.
fn run_on_pty(f: &Fixture, argv: &[String]) -> String {
    let mut c = terminal_command(f, python());
    c.arg("-c").arg(TTY_WRAPPER).args(argv);
    let mut pty = Pty::spawn(c, 24, 80, f.owner);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut exited_at = None;
    loop {
        let before = seen.len();
        // EIO: every slave closed.
        let eio = pty.read(20, |d| seen.extend_from_slice(d));
        if seen.len() > before && !eio {
            continue;
        }
        if exited_at.is_none() && pty.child.try_wait().unwrap().is_some() {
            exited_at = Some(Instant::now());
        }
        // Otherwise give late output a moment after the exit.
        if eio || exited_at.is_some_and(|t| t.elapsed() > Duration::from_millis(300)) {
            break;
        }
        if Instant::now() > deadline {
            let _ = pty.child.kill();
            let _ = pty.child.wait();
            panic!(
                "pty run timed out; output so far:\n{}",
                String::from_utf8_lossy(&seen)
            );
        }
    }
    let _ = pty.child.wait();
    String::from_utf8_lossy(&seen).into_owned()
}

fn queue_of(text: &str) -> String {
    let hex = text
        .split("QUEUE=")
        .nth(1)
        .map(|r| r.split(|c: char| c.is_whitespace()).next().unwrap_or(""))
        .unwrap_or("<missing>");
    if hex == "<missing>" {
        return hex.into();
    }
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(b'?') as char)
        .collect()
}

fn term_val(text: &str, key: &str) -> String {
    text.split(&format!("{key}="))
        .nth(1)
        .map(|r| {
            r.split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_else(|| "<missing>".into())
}

// TIOCSTI on the terminal the box shares with the person (here a real pty that is the
// controlling terminal of agentbox's session): typed-in commands would run in the person's
// shell after the agent exits. Also the high-bits request (CVE-2019-10063), /dev/tty and
// stderr, and TIOCLINUX.
#[test]
fn tiocsti_and_tioclinux_on_the_shared_terminal() {
    #[allow(clippy::unnecessary_cast)] // c_ulong is u64 on x86_64 and aarch64 gnu, not everywhere
    let sti = (libc::TIOCSTI as u64).to_string();
    #[allow(clippy::unnecessary_cast)]
    let linux = (libc::TIOCLINUX as u64).to_string();
    for who in who() {
        let f = Fixture::new(who);
        let script = py_script(TIOCSTI_PROBE);
        let probe: Vec<String> = [python(), "-c", &script, &sti, &linux]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // Control: the same probe straight on the terminal injects.
        let text = run_on_pty(&f, &probe);
        assert_eq!(
            term_val(&text, "sti"),
            "OK",
            "[{who:?}] control: TIOCSTI works on the host\n{text}"
        );
        assert!(
            queue_of(&text).contains("echo INJECTED"),
            "[{who:?}] control: input queued\n{text}"
        );
        // In the box.
        let mut argv: Vec<String> = vec![bin().to_str().unwrap().into(), "run".into(), "-q".into()];
        argv.extend(FULL.iter().map(|s| s.to_string()));
        argv.push("--".into());
        argv.extend(probe.iter().cloned());
        let text = run_on_pty(&f, &argv);
        let ctx = format!("[{who:?}] TIOCSTI in the box");
        for k in [
            "sti",
            "sti_hi",
            "sti_devtty",
            "sti_stderr",
            "linux",
            "linux_hi",
        ] {
            assert_eq!(term_val(&text, k), "EPERM", "{ctx}: {k}\n{text}");
        }
        assert_eq!(term_val(&text, "DONE"), "1", "{ctx}\n{text}");
        assert!(
            !text.contains("INJECTED"),
            "{ctx}: injected text echoed\n{text}"
        );
        assert_eq!(queue_of(&text), "", "{ctx}: injected input queued\n{text}");
        assert_eq!(term_val(&text, "RC"), "0", "{ctx}\n{text}");
    }
}
