//! Runners: agentbox (or a control on the host) as root or as the unprivileged user, with and
//! without the namespace layer, with a deadline.

use super::{assert_no_secret, test_user, As, Fixture};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// PATH of every fixture and control.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Every layer on.
pub const FULL: &[&str] = &[];
/// Without the namespace layer (the fallback: Landlock, seccomp, the connect broker, the
/// post-run restore), refusing the launch if a required layer is missing.
pub const USERNS_OFF: &[&str] = &["--simulate-kernel", "userns=off"];
/// Without the namespace layer, best effort: Landlock, seccomp, capabilities and no-new-privs
/// only.
pub const NO_NS: &[&str] = &["--simulate-kernel", "userns=off", "--best-effort"];
/// Without seccomp: namespaces, Landlock, capabilities.
pub const NO_SECCOMP: &[&str] = &["--simulate-kernel", "seccomp=off", "--best-effort"];

/// With the namespace layer, and without it.
pub const MODES: [(&str, &[&str]); 2] = [("namespaces", FULL), ("no-namespaces", USERNS_OFF)];

pub fn variant_name(extra: &[&str]) -> &'static str {
    if extra == FULL {
        "full"
    } else if extra == NO_NS {
        "no-namespaces"
    } else if extra == NO_SECCOMP {
        "no-seccomp"
    } else {
        "custom"
    }
}

/// Run `c` as `who`.
pub fn as_who(c: &mut Command, who: As) {
    if who == As::User {
        if let Some((uid, gid)) = test_user() {
            c.uid(uid).gid(gid);
        }
    }
}

/// `agentbox run -q EXTRA -- CMD...` with the environment of [`Fixture::command`].
pub fn boxcmd(f: &Fixture, extra: &[&str], cmd: &[&str]) -> Command {
    let mut args = vec!["run", "-q"];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(cmd);
    f.command(&args)
}

/// A child's stdout and stderr, read to the end by two threads (so neither pipe fills up).
pub struct Pipes {
    out: JoinHandle<Vec<u8>>,
    err: JoinHandle<Vec<u8>>,
}

impl Pipes {
    /// Take both pipes of `child` (spawned with both piped).
    pub fn take(child: &mut Child) -> Pipes {
        let mut so = child.stdout.take().expect("stdout piped");
        let mut se = child.stderr.take().expect("stderr piped");
        let out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = so.read_to_end(&mut v);
            v
        });
        let err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = se.read_to_end(&mut v);
            v
        });
        Pipes { out, err }
    }

    /// Everything read, with the child's status.
    pub fn output(self, status: ExitStatus) -> Output {
        Output {
            status,
            stdout: self.out.join().unwrap_or_default(),
            stderr: self.err.join().unwrap_or_default(),
        }
    }
}

/// Spawn with stdout and stderr piped, collect them, kill after `secs`; returns the output and
/// the child's pid (agentbox's host pid when `c` runs agentbox).
pub fn spawn_wait(mut c: Command, secs: u64) -> (Output, u32) {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    collect(&mut child, secs)
}

/// Collect a child spawned with stdout and stderr piped; kill it and fail after `secs`.
pub fn collect(child: &mut Child, secs: u64) -> (Output, u32) {
    wait_deadline(child, secs, false)
}

/// `Command::output` with stdin from /dev/null and a deadline, in a process group of its own
/// that is killed whole on timeout (a wrapper calling itself loops through many processes).
pub fn within(mut c: Command, secs: u64) -> Output {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = c.spawn().expect("spawn");
    wait_deadline(&mut child, secs, true).0
}

fn wait_deadline(child: &mut Child, secs: u64, group: bool) -> (Output, u32) {
    let pid = child.id();
    let pipes = Pipes::take(child);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            if group {
                // SAFETY: signalling the process group `within` created.
                unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {secs}s: {child:?}");
        }
        std::thread::sleep(Duration::from_millis(3));
    };
    (pipes.output(status), pid)
}

/// Run a command in the box (stdin from /dev/null, 20 s at most); returns the output and
/// agentbox's pid.
pub fn run_box_pid(f: &Fixture, extra: &[&str], cmd: &[&str]) -> (Output, u32) {
    let mut c = boxcmd(f, extra, cmd);
    c.stdin(Stdio::null());
    let r = spawn_wait(c, 20);
    assert_no_secret(&r.0);
    r
}

pub fn run_box(f: &Fixture, extra: &[&str], cmd: &[&str]) -> Output {
    run_box_pid(f, extra, cmd).0
}

/// `sh -c SCRIPT` in the box.
pub fn sh_box(f: &Fixture, extra: &[&str], script: &str) -> Output {
    run_box(f, extra, &["sh", "-c", script])
}

/// The same shell script on the host (the control), as `who`, in `cwd`.
pub fn sh_host(who: As, cwd: &Path, script: &str) -> Output {
    let mut c = Command::new("sh");
    c.args(["-c", script])
        .current_dir(cwd)
        .env_clear()
        .env("PATH", PATH)
        .stdin(Stdio::null());
    as_who(&mut c, who);
    spawn_wait(c, 20).0
}

/// Absolute path of a program on the test's own PATH.
pub fn which(tool: &str) -> Option<String> {
    let out = Command::new("sh")
        .args(["-c", "command -v \"$1\"", "sh", tool])
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && p.starts_with('/')).then_some(p)
}
