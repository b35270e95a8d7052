//! Python probes: a script that makes raw system calls (numbers from the build's own table) and
//! prints `key=result` lines (`OK`, an errno name, `LEAK` when a marker was read), run in the
//! box and, as the control, on the host.

use super::{as_who, run_box, spawn_wait, stderr, stdout, variant_name, As, Fixture, PATH};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The system python (a pyenv one may not be readable by the unprivileged user).
pub fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
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

pub fn py_script(body: &str) -> String {
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
pub fn py_box(f: &Fixture, extra: &[&str], body: &str, args: &[&str]) -> (Output, Vals) {
    let script = py_script(body);
    let mut cmd = vec![python(), "-c", &script];
    cmd.extend_from_slice(args);
    let out = run_box(f, extra, &cmd);
    let v = vals(&out);
    (out, v)
}

/// Run the python `body` on the host (the control), as `who`.
pub fn py_host(who: As, cwd: &Path, body: &str, args: &[&str]) -> (Output, Vals) {
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

pub type Vals = BTreeMap<String, String>;

pub fn vals(out: &Output) -> Vals {
    stdout(out)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `key` must be one of `allowed`.
#[track_caller]
pub fn want(ctx: &str, out: &Output, v: &Vals, key: &str, allowed: &[&str]) {
    let got = v.get(key).map(String::as_str).unwrap_or("<missing>");
    assert!(
        allowed.contains(&got),
        "{ctx}: {key}={got}, expected one of {allowed:?}\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Probe in the box under each variant: `key` must be one of the allowed values.
#[track_caller]
pub fn expect_box(
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
#[track_caller]
pub fn expect_host(
    who: As,
    cwd: &Path,
    name: &str,
    body: &str,
    args: &[&str],
    key: &str,
    ok: &[&str],
) {
    let (out, v) = py_host(who, cwd, body, args);
    want(&format!("[{who:?}/host control] {name}"), &out, &v, key, ok);
}
