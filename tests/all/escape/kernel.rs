//! The kernel surface: io_uring, keyrings, namespaces, mounts, chroot, setns, bpf, modules,
//! foreign ABIs, capabilities...

use super::*;
use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

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

// The placeholder that hides .env is read-only: a write to it neither succeeds nor shows up in
// the other hidden paths (they share one empty file), and the real file is untouched. The bind
// takes its read-only flag from the read-only staging area, without a remount of its own.
#[test]
fn hidden_placeholder_is_read_only() {
    for who in who() {
        let f = Fixture::new(who);
        std::fs::write(f.ws.join(".env"), "dotenv-secret-value=1\n").unwrap();
        std::fs::write(f.ws.join(".env.local"), "dotenv-local-value=1\n").unwrap();
        chown_to(&f.ws.join(".env"), who);
        chown_to(&f.ws.join(".env.local"), who);
        let out = sh_box(
            &f,
            FULL,
            "echo planted > .env && echo wrote; cat .env .env.local; true",
        );
        let s = stdout(&out);
        let e = stderr(&out);
        check(
            !s.contains("wrote") && !s.contains("planted") && e.contains("Read-only file system"),
            &format!("[{who:?}] write to the hidden .env"),
            &out,
        );
        let host = std::fs::read_to_string(f.ws.join(".env")).unwrap();
        assert_eq!(
            host, "dotenv-secret-value=1\n",
            "[{who:?}] the real .env changed"
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
    if !require(
        "root and the unprivileged user (a setuid-root binary the user runs)",
        is_root() && test_user().is_some(),
    ) {
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
