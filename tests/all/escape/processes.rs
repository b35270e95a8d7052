//! Other processes: ptrace, process_vm_readv, pidfd, signals, /proc.

use super::*;
use crate::common::*;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

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
        if ptrace_control_possible() {
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
        if ptrace_control_possible() {
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
        if ptrace_control_possible() {
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
        if ptrace_control_possible() {
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
