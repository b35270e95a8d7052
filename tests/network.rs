//! Issue 3: network policy, in the namespace mode and in the forced no-namespace mode.
//! Every server here binds loopback; request loops are bounded.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A tiny HTTP server answering `200 ok-<tag>` to every request, on `addr` (port 0 = any).
fn http_server(addr: &str, tag: &'static str) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind(addr).unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().take(500) {
            let Ok(mut s) = s else { continue };
            h.fetch_add(1, Ordering::SeqCst);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = format!("ok-{tag}");
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, hits)
}

/// A UDP sink counting datagrams.
fn udp_sink() -> (u16, Arc<AtomicUsize>) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        for _ in 0..300 {
            if s.recv_from(&mut buf).is_ok() {
                n2.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (port, n)
}

const MODES: [&[&str]; 2] = [&[], &["--simulate-kernel", "userns=off"]];

fn run(f: &Fixture, mode: &[&str], extra: &[&str], script: &str) -> std::process::Output {
    let mut args = vec!["run", "-q"];
    args.extend_from_slice(mode);
    args.extend_from_slice(extra);
    args.extend(["--", "bash", "-c", script]);
    f.agentbox(&args)
}

#[test]
fn off_blocks_every_way_out() {
    let (port, hits) = http_server("127.0.0.1:0", "v4");
    let (port6, hits6) = http_server("[::1]:0", "v6");
    let (uport, udp) = udp_sink();
    for who in who() {
        for mode in MODES {
            let f = Fixture::new(who);
            let script = format!(
                r#"
curl -s -m 3 http://127.0.0.1:{port}/ && echo LEAK-curl
curl -s -m 3 'http://[::1]:{port6}/' && echo LEAK-ipv6
(exec 3<>/dev/tcp/127.0.0.1/{port} && echo -e 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3) 2>/dev/null | grep -q ok- && echo LEAK-devtcp
python3 - <<'PY'
import socket
for fam, typ, proto, addr, name in [
    (socket.AF_INET, socket.SOCK_DGRAM, 0, ("127.0.0.1", {uport}), "udp"),
    (socket.AF_INET, socket.SOCK_STREAM, 262, ("127.0.0.1", {port}), "mptcp"),
    (socket.AF_INET6, socket.SOCK_STREAM, 0, ("::1", {port6}), "tcp6"),
]:
    try:
        s = socket.socket(fam, typ, proto)
        s.settimeout(2)
        if typ == socket.SOCK_DGRAM:
            for _ in range(5):
                s.sendto(b"x", addr)
        else:
            s.connect(addr)
            print("LEAK-" + name)
    except OSError:
        pass
PY
timeout 5 getent hosts example.com && echo LEAK-dns
python3 - <<'PY'
import socket
names = [n for _, n in socket.if_nameindex()]
# With the namespace layer only loopback exists; without it, ICMP (ping) sockets are refused.
if names != ["lo"]:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        print("LEAK-ping", names)
    except OSError:
        pass
PY
echo done
"#
            );
            let out = run(&f, mode, &[], &script);
            let s = stdout(&out);
            assert!(s.contains("done"), "[{who:?} {mode:?}] {}", stderr(&out));
            assert!(!s.contains("LEAK"), "[{who:?} {mode:?}] {s}");
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the v4 server was reached");
    assert_eq!(hits6.load(Ordering::SeqCst), 0, "the v6 server was reached");
    assert_eq!(udp.load(Ordering::SeqCst), 0, "a datagram left the box");
}

#[test]
fn allowlist_lets_one_target_through_the_proxy_only() {
    let (port, hits) = http_server("127.0.0.1:0", "allowed");
    let (other, other_hits) = http_server("127.0.0.1:0", "other");
    let (uport, udp) = udp_sink();
    for mode in MODES {
        let f = Fixture::new(As::Me);
        let allow = format!("127.0.0.1:{port}");
        let script = format!(
            r#"
echo "via-proxy: $(curl -s -m 5 http://127.0.0.1:{port}/)"
echo "via-connect: $(curl -s -m 5 -p http://127.0.0.1:{port}/)"
echo "other-port: $(curl -s -m 5 -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{other}/)"
echo "other-host: $(curl -s -m 5 -D - -o /dev/null http://other.example.invalid/ | tr -d '\r' | grep -i x-agentbox-denied)"
echo "metadata: $(curl -s -m 5 -o /dev/null -w '%{{http_code}}' http://169.254.169.254/latest/meta-data/)"
curl -s -m 3 --noproxy '*' http://127.0.0.1:{port}/ && echo LEAK-direct
python3 - <<'PY'
import socket
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("127.0.0.1", {uport})); s.sendto(b"x", ("127.0.0.1", {uport}))
except OSError: pass
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262); s.settimeout(2); s.connect(("127.0.0.1", {port})); print("LEAK-mptcp")
except OSError: pass
PY
echo done
"#
        );
        let out = run(&f, mode, &["--allow-host", &allow], &script);
        let s = stdout(&out);
        assert!(s.contains("done"), "[{mode:?}] {}", stderr(&out));
        assert!(s.contains("via-proxy: ok-allowed"), "[{mode:?}] {s}");
        assert!(s.contains("via-connect: ok-allowed"), "[{mode:?}] {s}");
        assert!(s.contains("other-port: 403"), "[{mode:?}] {s}");
        assert!(
            s.to_lowercase().contains("x-agentbox-denied"),
            "[{mode:?}] {s}"
        );
        assert!(s.contains("metadata: 403"), "[{mode:?}] {s}");
        assert!(!s.contains("LEAK"), "[{mode:?}] {s}");
        // The summary names the refused hosts and how to allow them.
        let out = f.agentbox(
            &[
                &["run"][..],
                mode,
                &[
                    "--allow-host",
                    &allow,
                    "--",
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    &format!("http://127.0.0.1:{other}/"),
                ],
            ]
            .concat(),
        );
        let e = stderr(&out);
        assert!(
            e.contains(&format!("network 127.0.0.1:{other}")) && e.contains("--allow-host"),
            "{e}"
        );
    }
    // Even when listed, link-local metadata is refused by address.
    let f = Fixture::new(As::Me);
    let out = run(
        &f,
        &[],
        &["--allow-host", "169.254.169.254:80"],
        "curl -s -m 5 -D - -o /dev/null http://169.254.169.254/ | tr -d '\\r'",
    );
    assert!(stdout(&out).contains("403"), "{}", stdout(&out));
    assert!(hits.load(Ordering::SeqCst) >= 4);
    assert_eq!(other_hits.load(Ordering::SeqCst), 0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(udp.load(Ordering::SeqCst), 0);
}

#[test]
fn local_ipc_keeps_working() {
    for mode in MODES {
        for net in [&[][..], &["--allow-host", "127.0.0.1:9"][..]] {
            let f = Fixture::new(As::Me);
            let script = r#"
echo hi | cat | grep -q hi && echo pipe-ok
python3 - <<'PY'
import socket, os, asyncio, multiprocessing, tempfile
a, b = socket.socketpair(); a.send(b"x"); assert b.recv(1) == b"x"; print("socketpair-ok")
p = os.path.join(os.environ.get("TMPDIR", "/tmp"), "agentbox-test.sock")
srv = socket.socket(socket.AF_UNIX); srv.bind(p); srv.listen(1)
c = socket.socket(socket.AF_UNIX); c.connect(p); s, _ = srv.accept(); c.send(b"y"); assert s.recv(1) == b"y"; print("unix-ok")
async def main():
    await asyncio.sleep(0.01)
    return 42
assert asyncio.run(main()) == 42; print("asyncio-ok")
def sq(x): return x * x
if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        assert pool.map(sq, [1, 2, 3]) == [1, 4, 9]
    print("multiprocessing-ok")
PY
"#;
            let out = run(&f, mode, net, script);
            let s = stdout(&out);
            for ok in [
                "pipe-ok",
                "socketpair-ok",
                "unix-ok",
                "asyncio-ok",
                "multiprocessing-ok",
            ] {
                assert!(
                    s.contains(ok),
                    "[{mode:?} {net:?}] {ok}: {s}\n{}",
                    stderr(&out)
                );
            }
        }
    }
}

#[test]
fn listed_local_service_is_reachable_at_its_address() {
    let (port, hits) = http_server("127.0.0.1:0", "db");
    let (other, other_hits) = http_server("127.0.0.1:0", "other");
    for mode in MODES {
        let f = Fixture::new(As::Me);
        let p = f.dir.path().join("local.yaml");
        std::fs::write(
            &p,
            format!("extends: default\nnetwork:\n  local: ['127.0.0.1:{port}']\n"),
        )
        .unwrap();
        let script = format!(
            "echo \"svc: $(curl -s -m 5 --noproxy '*' http://127.0.0.1:{port}/)\"; curl -s -m 3 --noproxy '*' http://127.0.0.1:{other}/ && echo LEAK-other; echo done"
        );
        let out = f.agentbox(
            &[
                &["run", "-q", "-p", p.to_str().unwrap()][..],
                mode,
                &["--", "bash", "-c", &script],
            ]
            .concat(),
        );
        let s = stdout(&out);
        assert!(s.contains("svc: ok-db"), "[{mode:?}] {s}\n{}", stderr(&out));
        assert!(!s.contains("LEAK"), "[{mode:?}] {s}");
    }
    assert!(hits.load(Ordering::SeqCst) >= 2);
    assert_eq!(other_hits.load(Ordering::SeqCst), 0);
}

#[test]
fn host_rules_are_validated() {
    let f = Fixture::new(As::Me);
    for bad in ["*", "*.com", "", "host:0", "host:99999"] {
        let out = f.agentbox(&["run", "--allow-host", bad, "--", "true"]);
        assert_eq!(out.status.code(), Some(125), "{bad:?}: {}", stderr(&out));
    }
    let out = f.agentbox(&[
        "run",
        "--dry-run",
        "--allow-host",
        "*.example.com",
        "--",
        "true",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("allowlist"));
}
