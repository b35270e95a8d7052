//! Devices, /proc/sys, /sys and cgroup control files.

use crate::common::*;
use std::path::Path;

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
    if !require("a block or memory device to open", !args.is_empty()) {
        return;
    }
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me && is_root() {
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
    if !require("one of the host devices", !devs.is_empty()) {
        return;
    }
    let body = r#"
for d in A:
    report('r:' + d, lambda d=d: os.close(os.open(d, os.O_RDONLY | os.O_NONBLOCK)))
    report('w:' + d, lambda d=d: os.close(os.open(d, os.O_WRONLY | os.O_NONBLOCK)))
"#;
    for who in who() {
        let f = Fixture::new(who);
        if who == As::Me
            && is_root()
            && require(
                "/dev/kmsg, for the host control",
                devs.contains(&"/dev/kmsg"),
            )
        {
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
    // Host-dependent: /proc/sysrq-trigger exists only in kernels built with CONFIG_MAGIC_SYSRQ.
    require_host(
        "/proc/sysrq-trigger (the host kernel has no CONFIG_MAGIC_SYSRQ)",
        Path::new("/proc/sysrq-trigger").exists(),
    );
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
    let cur = std::fs::read_to_string(p);
    if !require(
        &format!("{p} (a writable /sys file to write back)"),
        cur.is_ok(),
    ) {
        return;
    }
    let cur = cur.unwrap();
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
    if !require(
        "cgroup control files under /sys/fs/cgroup (v1 release_agent or v2 cgroup.procs)",
        !files.is_empty(),
    ) {
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
