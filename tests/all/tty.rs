//! Interactive behaviour through a real pseudo-terminal: the test is the terminal emulator,
//! an interactive bash is the session leader on the pty with job control, and the person types
//! `agentbox run -q -- python3 prog.py` into it. Ctrl-C, Ctrl-Z/fg and window resizes must
//! reach the boxed program as they would reach it unboxed, and agentbox must survive them.

use crate::common::*;

use std::time::{Duration, Instant};

const PROMPT: &str = "ABXPROMPT$ ";

/// The terminal emulator: an interactive bash on a pty.
struct Term {
    pty: Pty,
    seen: Vec<u8>,
    /// Offset in `seen` up to which `expect` has consumed.
    pos: usize,
    /// Process groups that held the foreground, to clean up after a failure.
    pgrps: Vec<i32>,
}

impl Term {
    fn start(f: &Fixture) -> Term {
        let mut c = terminal_command(f, "bash");
        c.args(["--norc", "--noprofile", "-i"])
            .env("PS1", PROMPT)
            .env("HISTFILE", "/dev/null")
            .env("AGENTBOX_BIN", bin());
        let mut t = Term {
            pty: Pty::spawn(c, 24, 80, f.owner),
            seen: Vec::new(),
            pos: 0,
            pgrps: Vec::new(),
        };
        t.expect(PROMPT, 5);
        t
    }

    fn pump(&mut self, wait_ms: i32) {
        self.pty.read(wait_ms, |d| self.seen.extend_from_slice(d));
        if let Some(pg) = self.pty.foreground() {
            if !self.pgrps.contains(&pg) {
                self.pgrps.push(pg);
            }
        }
    }

    fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Wait for `pat` after the current position; returns the text up to and including it.
    fn expect(&mut self, pat: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let rest = String::from_utf8_lossy(&self.seen[self.pos..]).into_owned();
            if let Some(i) = rest.find(pat) {
                let upto = &rest[..i + pat.len()];
                self.pos += upto.len();
                return upto.to_string();
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {pat:?}; terminal transcript:\n{}",
                    self.transcript()
                );
            }
            self.pump(20);
        }
    }

    /// Everything that arrives during `ms`, consumed.
    fn drain(&mut self, ms: u64) -> String {
        let deadline = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < deadline {
            self.pump(10);
        }
        let rest = String::from_utf8_lossy(&self.seen[self.pos..]).into_owned();
        self.pos = self.seen.len();
        rest
    }

    fn send(&mut self, data: &[u8]) {
        let n = self.pty.write(data);
        assert_eq!(n as usize, data.len());
    }

    fn resize(&mut self, rows: u16, cols: u16) {
        // The kernel signals the foreground group.
        let r = self.pty.resize(rows, cols);
        assert_eq!(r, 0);
    }

    /// Type the command that runs `prog` (a file in the workspace) in the box.
    fn run_boxed(&mut self, prog: &str) {
        self.send(format!("\"$AGENTBOX_BIN\" run -q -- {} {prog}\n", python()).as_bytes());
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        self.pump(0);
        // Hang up like a closing terminal window: bash forwards SIGHUP to its jobs (and
        // continues stopped ones); then make sure nothing is left.
        // SAFETY: signalling our own child and process groups it created on our pty.
        unsafe {
            libc::kill(self.pty.child.id() as i32, libc::SIGHUP);
        }
        std::thread::sleep(Duration::from_millis(50));
        for pg in &self.pgrps {
            // SAFETY: as above.
            unsafe {
                libc::kill(-pg, libc::SIGKILL);
            }
        }
        let _ = self.pty.child.kill();
        let _ = self.pty.child.wait();
    }
}

fn write_prog(f: &Fixture, name: &str, src: &str) {
    std::fs::write(f.ws.join(name), src).unwrap();
}

/// Exit status of the last command, as bash reports it.
fn last_status(t: &mut Term) -> i32 {
    t.send(b"echo \"status:$?:\"\n");
    let text = t.expect(":\r\n", 5);
    let tail = text.rsplit("status:").next().unwrap();
    tail.trim_end_matches([':', '\r', '\n'])
        .parse()
        .unwrap_or_else(|_| panic!("no status in {text:?}; transcript:\n{}", t.transcript()))
}

const PROG_INT: &str = r#"
import signal, sys, time
signal.alarm(15)
got = []
signal.signal(signal.SIGINT, lambda s, f: got.append(s))
print("READY" + "-A", flush=True)
t = time.time()
while not got and time.time() - t < 8:
    time.sleep(0.02)
print("GOT" + "-INT" if got else "NO" + "-INT", flush=True)
time.sleep(0.2)
print("STILL" + "-HERE", flush=True)
sys.exit(42)
"#;

// (a) Ctrl-C reaches the boxed program (which traps SIGINT), and agentbox, which gets the same
// SIGINT as part of the foreground job, survives and passes the program's exit status through.
#[test]
fn ctrl_c_reaches_the_boxed_program_and_agentbox_survives() {
    for who in who() {
        let f = Fixture::new(who);
        write_prog(&f, "prog_int.py", PROG_INT);
        let mut t = Term::start(&f);
        t.run_boxed("prog_int.py");
        t.expect("READY-A", 8);
        t.send(b"\x03");
        t.expect("GOT-INT", 5);
        t.expect("STILL-HERE", 5);
        t.expect(PROMPT, 5);
        let st = last_status(&mut t);
        assert_eq!(
            st,
            42,
            "[{who:?}] exit status through agentbox\n{}",
            t.transcript()
        );
    }
}

const PROG_TICK: &str = r#"
import signal, sys, time
signal.alarm(20)
for i in range(1, 400):
    print("tick %d" % i, flush=True)
    time.sleep(0.05)
"#;

fn ticks(text: &str) -> Vec<u32> {
    text.split("tick ")
        .skip(1)
        .filter_map(|r| {
            let d: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
            d.parse().ok()
        })
        .collect()
}

// (b) Ctrl-Z stops the boxed program together with agentbox (bash reports the job stopped and
// no output arrives while stopped); `fg` resumes it and the counter continues.
#[test]
fn ctrl_z_stops_and_fg_resumes_the_boxed_program() {
    for who in who() {
        let f = Fixture::new(who);
        write_prog(&f, "prog_tick.py", PROG_TICK);
        let mut t = Term::start(&f);
        t.run_boxed("prog_tick.py");
        t.expect("tick 3\r\n", 8);
        t.send(b"\x1a");
        t.expect("Stopped", 5);
        t.expect(PROMPT, 5);
        // Anything printed between Ctrl-Z and the stop has arrived by now.
        let settle = t.drain(200);
        let before = t.transcript();
        let last = *ticks(&before).iter().max().unwrap();
        let during = t.drain(500);
        assert!(
            ticks(&during).is_empty(),
            "[{who:?}] the boxed program kept running while stopped: {during:?}\n{}",
            t.transcript()
        );
        let _ = settle;
        t.send(b"fg\n");
        t.expect(&format!("tick {}\r\n", last + 2), 5);
        // Finish: Ctrl-C ends the program (KeyboardInterrupt) and the prompt returns.
        t.send(b"\x03");
        t.expect(PROMPT, 5);
        let st = last_status(&mut t);
        assert_ne!(st, 0, "[{who:?}] after Ctrl-C\n{}", t.transcript());
    }
}

// (b2) After Ctrl-Z, `bg` lets the boxed program run on in the background (its output still
// arrives) and a later `fg` gives it the terminal again: Ctrl-C then reaches it.
#[test]
fn bg_then_fg_hands_the_terminal_back_to_the_boxed_program() {
    for who in who() {
        let f = Fixture::new(who);
        write_prog(&f, "prog_tick.py", PROG_TICK);
        let mut t = Term::start(&f);
        t.run_boxed("prog_tick.py");
        t.expect("tick 3\r\n", 8);
        t.send(b"\x1a");
        t.expect("Stopped", 5);
        t.expect(PROMPT, 5);
        let _ = t.drain(200);
        let last = *ticks(&t.transcript()).iter().max().unwrap();
        t.send(b"bg\n");
        t.expect(&format!("tick {}\r\n", last + 3), 5);
        t.send(b"fg\n");
        let _ = t.drain(300);
        let last = *ticks(&t.transcript()).iter().max().unwrap();
        t.expect(&format!("tick {}\r\n", last + 2), 5);
        t.send(b"\x03");
        t.expect(PROMPT, 5);
        let st = last_status(&mut t);
        assert_ne!(st, 0, "[{who:?}] Ctrl-C after fg\n{}", t.transcript());
        assert!(
            !t.transcript().contains("tick 399"),
            "[{who:?}] the program ran to its end: Ctrl-C did not reach it\n{}",
            t.transcript()
        );
    }
}

const PROG_WINCH: &str = r#"
import os, signal, sys, time
signal.alarm(15)
got = []
signal.signal(signal.SIGWINCH, lambda s, f: got.append(s))
sz = os.get_terminal_size(1)
print("START-SIZE=%dx%d" % (sz.lines, sz.columns), flush=True)
print("READY" + "-C", flush=True)
t = time.time()
while not got and time.time() - t < 8:
    time.sleep(0.02)
sz = os.get_terminal_size(1)
print("NEW-SIZE=%dx%d" % (sz.lines, sz.columns) if got else "NO-WINCH", flush=True)
sys.exit(0)
"#;

// (c) A window resize (TIOCSWINSZ on the master) reaches the boxed program as SIGWINCH and it
// reads the new size.
#[test]
fn window_resize_reaches_the_boxed_program() {
    for who in who() {
        let f = Fixture::new(who);
        write_prog(&f, "prog_winch.py", PROG_WINCH);
        let mut t = Term::start(&f);
        t.run_boxed("prog_winch.py");
        t.expect("START-SIZE=24x80", 8);
        t.expect("READY-C", 5);
        t.resize(33, 101);
        t.expect("NEW-SIZE=33x101", 5);
        t.expect(PROMPT, 5);
        let st = last_status(&mut t);
        assert_eq!(st, 0, "[{who:?}]\n{}", t.transcript());
    }
}

// (d) A shell in the box finds its process group as a shell expects: `sh` (dash) restores the
// terminal's process group at exit, which needs the group it started in to have a number in
// the box's pid namespace ("sh: 2: Cannot set tty process group (No such process)" and exit 2
// otherwise); Ctrl-Z on a job inside it stops that job only, and `fg` there resumes it.
#[test]
fn a_shell_in_the_box_keeps_job_control_and_exits_cleanly() {
    const BOX_PROMPT: &str = "BOXPROMPT> ";
    for who in who() {
        let f = Fixture::new(who);
        let mut t = Term::start(&f);
        t.send(format!("\"$AGENTBOX_BIN\" run -q -- env PS1='{BOX_PROMPT}' sh\n").as_bytes());
        t.expect(BOX_PROMPT, 8);
        t.send(b"sleep 30\n");
        std::thread::sleep(Duration::from_millis(300));
        t.send(b"\x1a");
        t.expect("Stopped", 5);
        t.expect(BOX_PROMPT, 5);
        t.send(b"echo still-$((6*7))-here\n");
        t.expect("still-42-here", 5);
        t.send(b"fg\n");
        t.expect("sleep 30", 5);
        std::thread::sleep(Duration::from_millis(200));
        t.send(b"\x03");
        t.expect(BOX_PROMPT, 5);
        t.send(b"true; exit\n");
        t.expect(PROMPT, 8);
        let st = last_status(&mut t);
        let text = t.transcript();
        assert!(
            !text.contains("Cannot set tty process group"),
            "[{who:?}] {text}"
        );
        assert_eq!(st, 0, "[{who:?}] sh's exit status\n{text}");
    }
}

/// A token-shaped value made at run time, different every run (the repository holds none).
fn random_token() -> String {
    let b = random_bytes(36);
    let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = b.iter().map(|x| alnum[*x as usize % 62] as char).collect();
    format!("gh{}_{tail}", "p")
}

/// Reads every file of the box it can (bounded), every process's environment, command line
/// and open files, and prints the paths holding the token (given in hex, so that no command
/// line holds it). System trees the host lends read-only, where agentbox mounts nothing, are
/// left out (they take minutes to read and hold nothing of the person's).
const SCAN: &str = r#"
import glob, os, stat, sys
tok = bytes.fromhex(sys.argv[1])
hits, files = [], 0
SKIP = {'/proc', '/sys', '/dev', '/usr', '/opt', '/nix', '/snap', '/boot', '/bin', '/sbin',
        '/lib', '/lib32', '/lib64', '/libx32'}
def check(p, limit=1 << 20):
    global files
    try:
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode):
            return
        with open(p, 'rb') as fh:
            data = fh.read(limit)
        files += 1
        if tok in data:
            hits.append(p)
    except OSError:
        pass
# Where to start: / itself may not be listable in the box, so every mount point, every
# top-level directory, the home and the working directory (and /proc's views below).
roots = ['/' + n for n in ('etc', 'var', 'tmp', 'run', 'home', 'root', 'srv', 'mnt', 'media',
                           'dev/shm', 'dev/pts', 'workspace', 'work')]
for line in open('/proc/self/mountinfo'):
    roots.append(line.split()[4].replace('\\040', ' '))
roots += [os.environ.get('HOME', '/'), os.getcwd()]
stack, seen, done = sys.argv[2:] or roots, 0, set()
while stack and seen < 200000:
    d = stack.pop()
    if d in done or any(d == k or d.startswith(k + '/') for k in SKIP):
        continue
    done.add(d)
    if os.path.isfile(d):
        check(d)
        continue
    try:
        it = list(os.scandir(d))
    except OSError:
        continue
    for e in it:
        seen += 1
        if e.path in SKIP:
            continue
        try:
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            elif e.path in done:
                pass
            elif e.is_file(follow_symlinks=False) and e.stat(follow_symlinks=False).st_size <= 4 << 20:
                done.add(e.path)
                check(e.path)
        except OSError:
            pass
for p in glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline') + glob.glob('/proc/[0-9]*/fd/*'):
    check(p, 1 << 16)
print('SCAN-DONE files=%d hits=%s' % (files, hits), flush=True)
"#;

// (e) Issue 14: an interactive bash in the box reads a redacted copy of ~/.bashrc: its alias,
// function, completion and prompt work, and the token the file exports cannot be read anywhere
// in the box (files, environments, command lines, open descriptors). The copy is read-only.
#[test]
fn bash_in_the_box_has_the_rc_aliases_and_completion_but_not_its_token() {
    for who in who() {
        bash_with_a_token_in_its_rc(who, true);
    }
}

// (f) The same without namespaces (the fallback): nothing can be put in place of a file, so
// ~/.bashrc stays hidden (Landlock). bash says so once ("Permission denied") and starts without
// the aliases; the token is still nowhere in the box.
#[test]
fn without_namespaces_bash_starts_without_the_rc_and_the_token_stays_out() {
    for who in who() {
        bash_with_a_token_in_its_rc(who, false);
    }
}

fn bash_with_a_token_in_its_rc(who: As, namespaces: bool) {
    let f = Fixture::new(who);
    let tok = random_token();
    let hex: String = tok.bytes().map(|b| format!("{b:02x}")).collect();
    std::fs::write(
        f.home.join(".bashrc"),
        format!(
            "alias hello='echo hello-from-$((6*7))-alias'\nmycmd() {{ echo \"mycmd:$1\"; }}\ncomplete -W \"alpha-choice beta-choice\" mycmd\nexport GITHUB_TOKEN={tok}\nPS1='RCBOX$ '\n"
        ),
    )
    .unwrap();
    std::fs::write(f.ws.join("scan.py"), SCAN).unwrap();
    chown_to(f.dir.path(), who);
    let mut t = Term::start(&f);
    let hide = |s: String| s.replace(&tok, "<the token>");
    let ctx = format!(
        "[{who:?}/{}]",
        if namespaces { "namespaces" } else { "fallback" }
    );
    if namespaces {
        t.send(b"\"$AGENTBOX_BIN\" run -q -- bash -i\n");
        t.expect("RCBOX$ ", 10);
        t.send(b"hello\n");
        t.expect("hello-from-42-alias", 5);
        t.send(b"mycmd al\t\n");
        t.expect("mycmd:alpha-choice", 5);
    } else {
        t.send(b"\"$AGENTBOX_BIN\" run -q --simulate-kernel userns=off -- bash -i\n");
        let start = hide(t.expect(".bashrc: Permission denied", 10));
        assert!(!start.contains("hello-from"), "{ctx} {start}");
        // Markers split by quotes, so that the terminal's echo of the line is not taken for
        // them.
        t.send(
            b"hello || echo no-\"\"alias; cat ~/.bashrc >/dev/null 2>&1 || echo rc-\"\"hidden\n",
        );
        t.expect("no-alias", 5);
        t.expect("rc-hidden", 5);
    }
    t.send(format!("{} scan.py {hex}\n", python()).as_bytes());
    let scan = hide(t.expect("SCAN-DONE", 120));
    let tail = hide(t.expect("\n", 5));
    // Said without the value, so that a failure shows none.
    t.send(b"[ -z \"${GITHUB_TOKEN-}\" ] && echo env-\"\"unset; echo x >> ~/.bashrc || echo rc-read\"\"-only\n");
    t.expect("env-unset", 5);
    t.expect("rc-read-only", 5);
    t.send(b"exit\n");
    t.expect(PROMPT, 8);
    let files: usize = tail
        .split("files=")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        tail.contains("hits=[]") && files > 100,
        "{ctx} the token was readable in the box: {tail}\n{scan}"
    );
    let host = std::fs::read_to_string(f.home.join(".bashrc")).unwrap();
    assert!(
        host.ends_with("PS1='RCBOX$ '\n"),
        "{ctx} the person's ~/.bashrc changed"
    );
    // The control: the same scan on the host finds the token in the person's file.
    let home = f.home.to_str().unwrap();
    let out = sh_host(who, &f.ws, &format!("{} scan.py {hex} {home}", python()));
    let found = hide(stdout(&out));
    assert!(
        found.contains(".bashrc"),
        "{ctx} the scan finds nothing even on the host: {found}"
    );
}
