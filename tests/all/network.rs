//! Issue 3: network policy, in the namespace mode and in the forced no-namespace mode.
//! Every server here binds loopback; request loops are bounded.

use crate::common::*;
use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
        for (_, mode) in MODES {
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
    for (_, mode) in MODES {
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
    for (_, mode) in MODES {
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
    for (_, mode) in MODES {
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

// ---------------------------------------------------------------------------------------------
// Without user namespaces: the connect broker (src/net/broker.rs).
// ---------------------------------------------------------------------------------------------

/// Counts connections to `addr` until `stop` is set (bounded by 60 s).
fn counting_server(l: TcpListener, stop: Arc<std::sync::atomic::AtomicBool>) -> Arc<AtomicUsize> {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let t0 = std::time::Instant::now();
        while !stop.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(60) {
            match l.accept() {
                Ok(_) => {
                    h.fetch_add(1, Ordering::SeqCst);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    hits
}

/// Landlock's TCP rule names a port: a server on 127.0.0.2 at the host proxy's port number
/// would be reachable past the proxy. The broker connects only to 127.0.0.1:PORT itself.
#[test]
fn fallback_proxy_port_is_reachable_only_as_the_proxy() {
    let (allowed, allowed_hits) = http_server("127.0.0.1:0", "allowed");
    for who in who() {
        let f = Fixture::new(who);
        let ws = f.ws.clone();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        // The proxy's port is only known inside the box: it writes it, we listen on
        // 127.0.0.2 at that port, then tell it to go on.
        let attacker = std::thread::spawn(move || {
            let t0 = std::time::Instant::now();
            let port: u16 = loop {
                if let Some(p) = std::fs::read_to_string(ws.join("port"))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                {
                    break p;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(30),
                    "no port from the box"
                );
                std::thread::sleep(Duration::from_millis(20));
            };
            let l = TcpListener::bind(("127.0.0.2", port)).expect("listen on 127.0.0.2");
            let hits = counting_server(l, stop2);
            std::fs::write(ws.join("ready"), "").unwrap();
            hits
        });
        let report = f.dir.path().join("report.json");
        let script = format!(
            r#"
port=${{HTTPS_PROXY##*:}}
echo "$port" > port.tmp && mv port.tmp port
for i in $(seq 1 300); do [ -e ready ] && break; sleep 0.1; done
[ -e ready ] || echo NOT-READY
echo "via-proxy: $(curl -s -m 5 http://127.0.0.1:{allowed}/)"
python3 - "$port" <<'PY'
import ctypes, errno, os, socket, struct, sys, threading
port = int(sys.argv[1])
for name, fam, addr in [
    ("v4", socket.AF_INET, ("127.0.0.2", port)),
    ("v6-mapped", socket.AF_INET6, ("::ffff:127.0.0.2", port)),
]:
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(addr)
        print("LEAK-" + name)
    except OSError as e:
        print("refused-%s: %s" % (name, errno.errorcode.get(e.errno, e.errno)))
# The descriptor-table race: a second thread swaps descriptor N between a unix and a TCP socket
# while connects to 127.0.0.2 go to N; a unix socket the broker hands back to the kernel may be
# a TCP socket when the kernel resumes, and Landlock (no TCP connect rule) must refuse it then.
libc = ctypes.CDLL(None, use_errno=True)
raw = struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_aton("127.0.0.2") + bytes(8)
buf = ctypes.create_string_buffer(raw, len(raw))
N, stop = 200, []
def swap():
    while not stop:
        u, t = socket.socket(socket.AF_UNIX), socket.socket()
        os.dup2(u.fileno(), N)
        os.dup2(t.fileno(), N)
        u.close()
        t.close()
th = threading.Thread(target=swap)
th.start()
won = 0
for _ in range(2000):
    if libc.connect(N, buf, len(raw)) == 0:
        won += 1
stop.append(1)
th.join()
print("race-connected: %d" % won)
PY
echo done
"#
        );
        let out = run(
            &f,
            USERNS_OFF,
            &[
                "--allow-host",
                &format!("127.0.0.1:{allowed}"),
                "--report",
                report.to_str().unwrap(),
            ],
            &script,
        );
        let hits = attacker.join().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::SeqCst);
        let s = stdout(&out);
        assert!(s.contains("done"), "[{who:?}] {s}\n{}", stderr(&out));
        assert!(!s.contains("NOT-READY"), "[{who:?}] {s}");
        assert!(s.contains("via-proxy: ok-allowed"), "[{who:?}] {s}");
        assert!(s.contains("refused-v4: EACCES"), "[{who:?}] {s}");
        assert!(s.contains("refused-v6-mapped: EACCES"), "[{who:?}] {s}");
        assert!(s.contains("race-connected: 0"), "[{who:?}] {s}");
        assert!(!s.contains("LEAK"), "[{who:?}] {s}");
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "[{who:?}] the server on 127.0.0.2 was reached"
        );
        // The refusal is in the run's report, with the address the box asked for.
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let denied = rep["network_denials"].as_array().unwrap();
        assert!(
            denied.iter().any(|d| d["host"] == "127.0.0.2"
                && d["reason"]
                    .as_str()
                    .unwrap()
                    .contains("not through the proxy")),
            "{denied:?}"
        );
        assert!(
            rep["connect_failures"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str().unwrap().starts_with("127.0.0.2:")),
            "{rep}"
        );
    }
    assert!(allowed_hits.load(Ordering::SeqCst) >= 1);
}

/// TCP Fast Open connects from inside sendto/sendmsg, where neither Landlock's connect hook nor
/// the broker sees it: seccomp denies the flag.
#[test]
fn fallback_denies_tcp_fast_open() {
    let (port, hits) = http_server("127.0.0.1:0", "tfo");
    for who in who() {
        let f = Fixture::new(who);
        let script = format!(
            r#"
python3 - <<'PY'
import errno, socket
MSG_FASTOPEN = 0x20000000
req = b"GET / HTTP/1.0\r\n\r\n"
for name in ("sendto", "sendmsg"):
    s = socket.socket()
    s.settimeout(3)
    try:
        if name == "sendto":
            s.sendto(req, MSG_FASTOPEN, ("127.0.0.1", {port}))
        else:
            s.sendmsg([req], [], MSG_FASTOPEN, ("127.0.0.1", {port}))
        print("LEAK-" + name, s.recv(100))
    except OSError as e:
        print("tfo-%s: %s" % (name, errno.errorcode.get(e.errno, e.errno)))
PY
echo done
"#
        );
        let out = run(&f, USERNS_OFF, &["--allow-host", "127.0.0.1:9"], &script);
        let s = stdout(&out);
        assert!(s.contains("done"), "[{who:?}] {}", stderr(&out));
        assert!(s.contains("tfo-sendto: EPERM"), "[{who:?}] {s}");
        assert!(s.contains("tfo-sendmsg: EPERM"), "[{who:?}] {s}");
        assert!(!s.contains("LEAK"), "[{who:?}] {s}");
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "Fast Open reached the server"
    );
}

/// Under the broker, unix sockets (handed back to the kernel) and non-blocking connects to the
/// proxy (EINPROGRESS, then writable) behave as without it.
#[test]
fn fallback_broker_keeps_unix_and_nonblocking_connects() {
    let (allowed, _) = http_server("127.0.0.1:0", "allowed");
    for who in who() {
        let f = Fixture::new(who);
        let script = format!(
            r#"
python3 - <<'PY'
import base64, errno, os, select, socket, threading, urllib.parse
# A unix socket in the workspace, connected from another thread too.
p = os.path.join(os.getcwd(), "ws.sock")
srv = socket.socket(socket.AF_UNIX)
srv.bind(p)
srv.listen(4)
srv.settimeout(5)
def client(out):
    c = socket.socket(socket.AF_UNIX)
    c.connect(p)
    c.send(b"u")
    out.append(1)
got = []
t = threading.Thread(target=client, args=(got,))
t.start()
conn, _ = srv.accept()
t.join()
print("unix: " + ("ok" if conn.recv(1) == b"u" and got else "BAD"))
# Non-blocking connect to the proxy: EINPROGRESS or 0, then writable with SO_ERROR 0.
u = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
s = socket.socket()
s.setblocking(False)
r = s.connect_ex(("127.0.0.1", u.port))
print("nb-connect: " + errno.errorcode.get(r, "0"))
_, w, _ = select.select([], [s], [], 5)
print("nb-writable: %s %d" % (bool(w), s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
# Repeats as the kernel answers them: the first after completion marks the socket connected.
print("nb-again: " + errno.errorcode.get(s.connect_ex(("127.0.0.1", u.port)), "0"))
print("nb-third: " + errno.errorcode.get(s.connect_ex(("127.0.0.1", u.port)), "0"))
s.setblocking(True)
s.settimeout(5)
cred = base64.b64encode(("%s:%s" % (u.username, u.password)).encode()).decode()
s.sendall(("GET http://127.0.0.1:{allowed}/ HTTP/1.1\r\nHost: 127.0.0.1:{allowed}\r\n"
           "Proxy-Authorization: Basic %s\r\nConnection: close\r\n\r\n" % cred).encode())
body = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    body += d
print("nb-body: " + body.decode(errors="replace").split("\r\n\r\n")[-1])
# A refused address fails at once, non-blocking or not.
x = socket.socket()
x.setblocking(False)
print("nb-refused: " + errno.errorcode.get(x.connect_ex(("127.0.0.2", u.port)), "0"))
PY
echo done
"#
        );
        let out = run(
            &f,
            USERNS_OFF,
            &["--allow-host", &format!("127.0.0.1:{allowed}")],
            &script,
        );
        let s = stdout(&out);
        assert!(s.contains("done"), "[{who:?}] {s}\n{}", stderr(&out));
        assert!(s.contains("unix: ok"), "[{who:?}] {s}");
        assert!(
            s.contains("nb-connect: EINPROGRESS") || s.contains("nb-connect: 0"),
            "[{who:?}] {s}"
        );
        assert!(s.contains("nb-writable: True 0"), "[{who:?}] {s}");
        assert!(
            s.contains("nb-again: 0") || s.contains("nb-again: EISCONN"),
            "[{who:?}] {s}"
        );
        assert!(s.contains("nb-third: EISCONN"), "[{who:?}] {s}");
        assert!(s.contains("nb-body: ok-allowed"), "[{who:?}] {s}");
        assert!(s.contains("nb-refused: EACCES"), "[{who:?}] {s}");
    }
}

/// A listed local service is reachable at its address, and only there: the same port on
/// another loopback address is not (Landlock alone would allow the port everywhere).
#[test]
fn fallback_local_service_only_at_its_address() {
    let (port, hits) = http_server("127.0.0.1:0", "db");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let twin = counting_server(
        TcpListener::bind(("127.0.0.2", port)).unwrap(),
        stop.clone(),
    );
    for who in who() {
        let f = Fixture::new(who);
        let p = f.dir.path().join("local.yaml");
        std::fs::write(
            &p,
            format!("extends: default\nnetwork:\n  local: ['127.0.0.1:{port}']\n"),
        )
        .unwrap();
        let script = format!(
            r#"
echo "svc: $(curl -s -m 5 --noproxy '*' http://127.0.0.1:{port}/)"
curl -s -m 3 --noproxy '*' http://127.0.0.2:{port}/ && echo LEAK-twin
python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET6)
s.settimeout(3)
s.connect(("::ffff:127.0.0.1", {port}))
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
body = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    body += d
print("svc6: " + body.decode().split("\r\n\r\n")[-1])
PY
echo done
"#
        );
        let out = f.agentbox(
            &[
                &["run", "-q", "-p", p.to_str().unwrap()][..],
                USERNS_OFF,
                &["--", "bash", "-c", &script],
            ]
            .concat(),
        );
        let s = stdout(&out);
        assert!(s.contains("done"), "[{who:?}] {s}\n{}", stderr(&out));
        assert!(s.contains("svc: ok-db"), "[{who:?}] {s}");
        assert!(s.contains("svc6: ok-db"), "[{who:?}] {s}");
        assert!(!s.contains("LEAK"), "[{who:?}] {s}");
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    assert!(hits.load(Ordering::SeqCst) >= 2);
    assert_eq!(twin.load(Ordering::SeqCst), 0, "127.0.0.2 was reached");
}

/// No seccomp user notification: allowlist without namespaces cannot be enforced, so the
/// launch is refused (125) naming what is missing and what relaxes it; relaxed, the plan says
/// the proxy port is then open on every address. Network off needs no broker.
#[test]
fn fallback_without_broker_refuses_or_says_so() {
    let f = Fixture::new(As::Me);
    let sim = ["--simulate-kernel", "userns=off,unotify=off"];
    let out = f.agentbox(
        &[
            &["run"][..],
            &sim,
            &["--allow-host", "127.0.0.1:9", "--", "true"],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains("network:") && e.contains("seccomp user notification"),
        "{e}"
    );
    assert!(e.contains("sandbox.optional: [network]"), "{e}");
    let out = f.agentbox(
        &[
            &["run", "--dry-run", "--json", "--best-effort"][..],
            &sim,
            &["--allow-host", "127.0.0.1:9", "--", "true"],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["network"]["connect_broker"], false);
    assert!(
        v["network"]["limits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("reachable on any address")),
        "{v}"
    );
    let out = f.agentbox(
        &[
            &["run", "--dry-run", "--json"][..],
            USERNS_OFF,
            &["--allow-host", "127.0.0.1:9", "--", "true"],
        ]
        .concat(),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["network"]["connect_broker"], true);
    assert!(v["network"]["enforcement"]
        .as_str()
        .unwrap()
        .contains("connect broker"));
    let out = f.agentbox(&[&["run", "-q"][..], &sim, &["--", "true"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
