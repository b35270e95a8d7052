//! Proxy tests against tiny HTTP servers on loopback (127.0.0.1 and ::1 only).

use super::*;
use crate::net::policy::HostRule;
use crate::net::sni::build_client_hello;
use std::io::BufRead;

const T: Duration = Duration::from_secs(10);

/// Requests seen by a test server: "METHOD path body_len proxy-auth? proxy-conn? conn".
type Seen = Arc<Mutex<Vec<String>>>;

/// A keep-alive HTTP/1.1 server answering every request with a description of it.
fn http_server(bind: &str) -> Option<(SocketAddr, Seen)> {
    let l = TcpListener::bind(bind).ok()?;
    let addr = l.local_addr().ok()?;
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    thread::spawn(move || {
        for s in l.incoming().take(200) {
            let Ok(s) = s else { continue };
            let log = Arc::clone(&log);
            thread::spawn(move || serve_client(s, &log));
        }
    });
    Some((addr, seen))
}

fn serve_client(s: TcpStream, log: &Seen) {
    s.set_read_timeout(Some(T)).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    loop {
        let Ok(head) = read_head(&mut r, MAX_HEAD) else {
            return;
        };
        let req = parse_request(&head).unwrap();
        let hv = |n: &str| {
            headers_named(&req.headers, n)
                .next()
                .and_then(|h| h.value_str().map(str::to_string))
                .unwrap_or_else(|| "-".into())
        };
        if hv("expect").eq_ignore_ascii_case("100-continue") {
            w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
        }
        let mut body = Vec::new();
        copy_body(&mut r, &mut body, request_body(&req).unwrap()).unwrap();
        let line = format!(
            "{} {} {} auth={} pconn={} conn={} host={}",
            req.method,
            req.target,
            body.len(),
            hv("proxy-authorization"),
            hv("proxy-connection"),
            hv("connection"),
            hv("host"),
        );
        log.lock().unwrap().push(line.clone());
        let close = hv("connection").eq_ignore_ascii_case("close");
        if req.target == "/chunked" {
            w.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
                .unwrap();
        } else {
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nKeep-Alive: timeout=5\r\n\r\n{line}",
                line.len()
            );
            w.write_all(resp.as_bytes()).unwrap();
        }
        if close {
            return;
        }
    }
}

fn proxy(rules: &[&str], tweak: impl FnOnce(&mut ProxyConfig)) -> (ProxyHandle, SocketAddr) {
    let rules: Vec<HostRule> = rules.iter().map(|r| r.parse().unwrap()).collect();
    let mut cfg = ProxyConfig::new(Allowlist::new(rules));
    cfg.connect_timeout = Duration::from_secs(2);
    cfg.idle_timeout = T;
    tweak(&mut cfg);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (serve(l, cfg).unwrap(), addr)
}

struct Reply {
    status: u16,
    head: String,
    body: String,
    raw_len: usize,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
        raw_len: raw.len(),
    }
}

/// Sends raw bytes to the proxy and reads until it closes.
fn send(proxy: SocketAddr, raw: &[u8]) -> Reply {
    let mut s = TcpStream::connect(proxy).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse_reply(&out)
}

fn get(proxy: SocketAddr, url: &str, extra: &str) -> Reply {
    send(
        proxy,
        format!("GET {url} HTTP/1.1\r\n{extra}\r\n").as_bytes(),
    )
}

/// Waits until `n` decisions are recorded (they are written when a connection ends).
fn decisions(h: &ProxyHandle, n: usize) -> Vec<Decision> {
    let deadline = Instant::now() + T;
    loop {
        let d = h.decisions();
        if d.len() >= n || Instant::now() > deadline {
            return d;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Opens a CONNECT tunnel and returns the stream after the 200.
fn connect_tunnel(proxy: SocketAddr, target: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(proxy).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    write!(s, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let mut line = String::new();
    while r.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
        line.clear();
    }
    assert!(r.buffer().is_empty());
    (s, status)
}

#[test]
fn get_is_forwarded_in_origin_form_and_recorded() {
    let (up, seen) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let r = get(
        p,
        &format!("http://127.0.0.1:{}/hello?x=1", up.port()),
        &format!("Host: 127.0.0.1:{}\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\n", up.port()),
    );
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert_eq!(r.header("keep-alive"), None);
    assert!(
        r.body
            .starts_with("GET /hello?x=1 0 auth=- pconn=- conn=close"),
        "{}",
        r.body
    );
    let d = decisions(&h, 1);
    assert_eq!(d.len(), 1);
    let d = &d[0];
    assert!(d.allowed, "{d:?}");
    assert_eq!(
        (d.host.as_str(), d.port, d.method.as_str()),
        ("127.0.0.1", up.port(), "GET")
    );
    assert_eq!(d.reason, format!("allowed by 127.0.0.1:{}", up.port()));
    assert_eq!(d.bytes_down, r.raw_len as u64);
    assert!(d.bytes_up > 40, "{d:?}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    h.shutdown();
}

#[test]
fn host_header_is_added_when_missing() {
    let (up, seen) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let r = send(
        p,
        format!("GET http://127.0.0.1:{}/ HTTP/1.0\r\n\r\n", up.port()).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.head);
    let line = seen.lock().unwrap()[0].clone();
    assert!(
        line.ends_with(&format!("host=127.0.0.1:{}", up.port())),
        "{line}"
    );
    h.shutdown();
}

#[test]
fn request_bodies_content_length_and_chunked() {
    let (up, seen) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let url = format!("http://127.0.0.1:{}/post", up.port());
    let r = send(
        p,
        format!("POST {url} HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world").as_bytes(),
    );
    assert!(r.body.starts_with("POST /post 11 "), "{}", r.body);
    let r = send(
        p,
        format!("POST {url} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").as_bytes(),
    );
    // The test server counts the chunk framing too: 5+6 payload bytes, 26 on the wire.
    assert!(r.body.starts_with("POST /post 26 "), "{}", r.body);
    assert_eq!(seen.lock().unwrap().len(), 2);
    h.shutdown();
}

#[test]
fn expect_100_continue_round_trip() {
    let (up, _) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let mut s = TcpStream::connect(p).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    write!(
        s,
        "PUT http://127.0.0.1:{}/up HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
        up.port()
    )
    .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
    s.write_all(b"abc").unwrap();
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.contains("200 OK") && rest.contains("PUT /up 3 "),
        "{rest}"
    );
    h.shutdown();
}

#[test]
fn smuggled_second_request_never_reaches_upstream() {
    let (up, seen) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let port = up.port();
    let raw = format!(
        "POST http://127.0.0.1:{port}/a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /evil HTTP/1.1\r\nHost: evil.com\r\n\r\n"
    );
    let r = send(p, raw.as_bytes());
    assert_eq!(r.status, 200);
    // "Connection: content-length" must not strip the framing header.
    let raw = format!(
        "POST http://127.0.0.1:{port}/b HTTP/1.1\r\nConnection: content-length\r\nContent-Length: 2\r\n\r\nhiGET /evil2 HTTP/1.1\r\n\r\n"
    );
    assert_eq!(send(p, raw.as_bytes()).status, 200);
    thread::sleep(Duration::from_millis(100));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|l| !l.contains("evil")), "{seen:?}");
    let r = send(
        p,
        format!("POST http://127.0.0.1:{port}/c HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes(),
    );
    assert_eq!(r.status, 400);
    h.shutdown();
}

#[test]
fn chunked_response_is_relayed() {
    let (up, _) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let r = get(p, &format!("http://127.0.0.1:{}/chunked", up.port()), "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    h.shutdown();
}

#[test]
fn connect_tunnel_carries_raw_http() {
    let (up, seen) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let (mut s, status) = connect_tunnel(p, &format!("127.0.0.1:{}", up.port()));
    assert_eq!(status, "HTTP/1.1 200 Connection established\r\n");
    let req = b"GET /in-tunnel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    s.write_all(req).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    drop(s);
    let r = parse_reply(&out);
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("GET /in-tunnel 0 "), "{}", r.body);
    let d = decisions(&h, 1);
    assert!(d[0].allowed, "{:?}", d[0]);
    assert_eq!(d[0].method, "CONNECT");
    assert_eq!(d[0].bytes_up, req.len() as u64);
    assert_eq!(d[0].bytes_down, (out.len() + status.len() + 2) as u64);
    assert_eq!(seen.lock().unwrap().len(), 1);
    h.shutdown();
}

#[test]
fn ipv6_get_and_connect() {
    let Some((up, _)) = http_server("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback");
        return;
    };
    let (h, p) = proxy(&[&format!("[::1]:{}", up.port())], |_| {});
    let r = get(
        p,
        &format!("http://[::1]:{}/six", up.port()),
        &format!("Host: [::1]:{}\r\n", up.port()),
    );
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.body.starts_with("GET /six 0 "), "{}", r.body);
    let (mut s, status) = connect_tunnel(p, &format!("[::1]:{}", up.port()));
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    s.write_all(b"GET /t6 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    drop(s); // the tunnel (and its decision) ends when both sides have closed
    assert!(parse_reply(&out).body.starts_with("GET /t6 0 "));
    let d = decisions(&h, 2);
    assert!(d.iter().all(|d| d.allowed && d.host == "::1"), "{d:?}");
    h.shutdown();
}

fn assert_denied(r: &Reply, status: u16, reason: &str) {
    assert_eq!(r.status, status, "{}", r.head);
    assert_eq!(
        r.header("x-agentbox-denied").as_deref(),
        Some(reason),
        "{}",
        r.head
    );
    assert_eq!(r.body, format!("agentbox: {reason}\n"));
    assert_eq!(r.header("connection").as_deref(), Some("close"));
}

#[test]
fn other_port_and_other_host_refused() {
    let (up, seen) = http_server("127.0.0.1:0").unwrap();
    let (other, other_seen) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let why = format!("port {} not allowed for 127.0.0.1", other.port());
    assert_denied(
        &get(p, &format!("http://127.0.0.1:{}/", other.port()), ""),
        403,
        &why,
    );
    let r = send(
        p,
        format!("CONNECT 127.0.0.1:{} HTTP/1.1\r\n\r\n", other.port()).as_bytes(),
    );
    assert_denied(&r, 403, &why);
    assert_denied(
        &get(p, "http://example.com/", ""),
        403,
        "host not in allowlist",
    );
    let r = send(p, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n");
    assert_denied(&r, 403, "host not in allowlist");
    // "localhost" names the same machine but is not the listed name.
    let r = get(p, &format!("http://localhost:{}/", up.port()), "");
    assert_denied(&r, 403, "host not in allowlist");
    let d = decisions(&h, 5);
    assert_eq!(d.len(), 5);
    assert!(d.iter().all(|d| !d.allowed && d.bytes_up == 0));
    assert_eq!((d[2].host.as_str(), d[2].port), ("example.com", 80));
    let kinds: Vec<Verdict> = d.iter().map(|d| d.verdict).collect();
    use Verdict::{NotListed, PortNotListed};
    assert_eq!(
        kinds,
        [
            PortNotListed,
            PortNotListed,
            NotListed,
            NotListed,
            NotListed
        ]
    );
    assert!(seen.lock().unwrap().is_empty() && other_seen.lock().unwrap().is_empty());
    h.shutdown();
}

#[test]
fn metadata_refused_even_if_listed() {
    let (h, p) = proxy(
        &[
            "169.254.169.254:80",
            "[::ffff:169.254.169.254]:80",
            "[fe80::1]:80",
        ],
        |_| {},
    );
    let r = get(
        p,
        "http://169.254.169.254/latest/meta-data/",
        "Host: 169.254.169.254\r\n",
    );
    assert_denied(&r, 403, "address 169.254.169.254 is link-local/metadata");
    let r = get(p, "http://[::ffff:169.254.169.254]/", "");
    assert_denied(
        &r,
        403,
        "address ::ffff:169.254.169.254 is link-local/metadata",
    );
    let r = send(p, b"CONNECT [fe80::1]:80 HTTP/1.1\r\n\r\n");
    assert_denied(&r, 403, "address fe80::1 is link-local/metadata");
    assert!(decisions(&h, 3)
        .iter()
        .all(|d| !d.allowed && d.verdict == Verdict::AddressRefused));
    h.shutdown();
}

#[test]
fn allowed_host_that_does_not_resolve_is_recorded_as_such() {
    // `.invalid` never resolves (RFC 2606).
    let (h, p) = proxy(&["nowhere.invalid:80", "nowhere.invalid:443"], |_| {});
    let r = get(p, "http://nowhere.invalid/", "");
    assert_eq!(r.status, 502, "{}", r.head);
    let r = send(p, b"CONNECT nowhere.invalid:443 HTTP/1.1\r\n\r\n");
    assert_eq!(r.status, 502, "{}", r.head);
    let d = decisions(&h, 2);
    assert!(
        d.iter()
            .all(|d| !d.allowed && d.verdict == Verdict::Unresolved),
        "{d:?}"
    );
    // The report says it is allowed already, and suggests nothing.
    let n = crate::report::net_denials(&d);
    assert_eq!(n.len(), 2);
    assert!(n
        .iter()
        .all(|x| x.remedy == crate::report::NetRemedy::Unresolved));
    assert!(n[0].fix().contains("already allowed"), "{}", n[0].fix());
    h.shutdown();
}

#[test]
fn host_header_mismatch_refused() {
    let (up, seen) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let url = format!("http://127.0.0.1:{}/", up.port());
    let r = get(p, &url, "Host: evil.com\r\n");
    assert_denied(&r, 403, "Host header does not match target");
    let r = get(p, &url, "Host: 127.0.0.1\r\n"); // port 80 implied: differs
    assert_denied(&r, 403, "Host header does not match target");
    let r = get(p, &url, "Host: a\r\nHost: b\r\n");
    assert_denied(&r, 400, "more than one Host header");
    assert!(seen.lock().unwrap().is_empty());
    h.shutdown();
}

#[test]
fn sni_is_checked_before_connecting_upstream() {
    // Nothing needs to listen on localhost:443: the SNI refusal happens after the ClientHello
    // peek and before any connect; a matching SNI gets as far as the connect.
    let (h, p) = proxy(&["localhost:443"], |_| {});
    let hello_to = |sni: Option<&str>| {
        let (mut s, status) = connect_tunnel(p, "localhost:443");
        assert_eq!(status, "HTTP/1.1 200 Connection established\r\n");
        s.write_all(&build_client_hello(sni)).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        out
    };
    assert!(hello_to(Some("other.com")).is_empty());
    let d = decisions(&h, 1);
    assert!(!d[0].allowed);
    assert_eq!(d[0].reason, "SNI other.com does not match requested host");
    assert_eq!((d[0].host.as_str(), d[0].port), ("localhost", 443));
    assert_eq!(d[0].bytes_up, 0);

    hello_to(None);
    let d = decisions(&h, 2);
    assert_eq!(d[1].reason, "TLS ClientHello without SNI for a named host");

    hello_to(Some("LOCALHOST."));
    let d = decisions(&h, 3);
    // Either something answers on 443 here (allowed) or the connect fails: both prove the
    // SNI check passed.
    assert!(
        d[2].allowed || d[2].reason.starts_with("upstream unreachable"),
        "{:?}",
        d[2]
    );

    let (mut s, _) = connect_tunnel(p, "localhost:443");
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let _ = s.read_to_end(&mut Vec::new());
    let d = decisions(&h, 4);
    assert_eq!(
        d[3].reason,
        "port 443 tunnel did not start with a TLS ClientHello"
    );
    h.shutdown();
}

#[test]
fn token_required() {
    let (up, seen) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |c| {
        c.token = Some("s3cret".into());
    });
    let url = format!("http://127.0.0.1:{}/", up.port());
    let r = get(p, &url, "");
    assert_denied(&r, 407, "missing proxy credential");
    assert_eq!(
        r.header("proxy-authenticate").as_deref(),
        Some("Basic realm=\"agentbox\"")
    );
    let bad = format!(
        "Proxy-Authorization: Basic {}\r\n",
        base64(b"agentbox:nope")
    );
    assert_denied(&get(p, &url, &bad), 407, "wrong proxy credential");
    let good = format!(
        "Proxy-Authorization: basic {}\r\n",
        base64(b"agentbox:s3cret")
    );
    let r = get(p, &url, &good);
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.body.contains("auth=-"),
        "credential leaked upstream: {}",
        r.body
    );
    let r = send(
        p,
        format!("CONNECT 127.0.0.1:{} HTTP/1.1\r\n\r\n", up.port()).as_bytes(),
    );
    assert_denied(&r, 407, "missing proxy credential");
    let d = decisions(&h, 4);
    assert_eq!(d[0].reason, "missing proxy credential");
    assert!(d[2].allowed);
    assert_eq!(seen.lock().unwrap().len(), 1);
    h.shutdown();
}

#[test]
fn malformed_requests_get_400_and_big_heads_431() {
    let (h, p) = proxy(&["127.0.0.1:9"], |_| {});
    assert_eq!(send(p, b"GARBAGE\r\n\r\n").status, 400);
    assert_eq!(send(p, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").status, 400);
    assert_eq!(send(p, b"GET https://a.com/ HTTP/1.1\r\n\r\n").status, 400);
    assert_eq!(send(p, b"CONNECT a.com HTTP/1.1\r\n\r\n").status, 400);
    assert_eq!(
        send(p, b"GET http://a.com/ HTTP/1.1\nHost: a\n\n\r\n\r\n").status,
        400
    );
    let big = format!(
        "GET http://a.com/ HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(MAX_HEAD)
    );
    let r = send(p, big.as_bytes());
    assert_eq!(r.status, 431, "{}", r.head);
    assert_eq!(decisions(&h, 6).len(), 6);
    h.shutdown();
}

#[test]
fn unreachable_upstream_is_502() {
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", dead.port())], |_| {});
    let r = get(p, &format!("http://127.0.0.1:{}/", dead.port()), "");
    assert_eq!(r.status, 502, "{}", r.head);
    let why = r.header("x-agentbox-denied").unwrap();
    assert!(why.starts_with("upstream unreachable"), "{why}");
    assert!(!decisions(&h, 1)[0].allowed);
    h.shutdown();
}

#[test]
fn concurrency_cap_answers_503() {
    let (up, _) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |c| {
        c.max_tunnels = 1
    });
    let target = format!("127.0.0.1:{}", up.port());
    let (tunnel, _) = connect_tunnel(p, &target);
    let url = format!("http://{target}/");
    assert_denied(
        &get(p, &url, ""),
        503,
        "too many concurrent connections (limit 1)",
    );
    drop(tunnel);
    let deadline = Instant::now() + T;
    while h.active_connections() > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(get(p, &url, "").status, 200);
    let d = decisions(&h, 3);
    let busy: Vec<&Decision> = d
        .iter()
        .filter(|d| d.reason.starts_with("too many"))
        .collect();
    assert_eq!(busy.len(), 1);
    assert_eq!(
        (busy[0].host.as_str(), busy[0].method.as_str()),
        ("127.0.0.1", "GET")
    );
    h.shutdown();
}

#[test]
fn shutdown_closes_live_tunnels_and_records_them() {
    let (up, _) = http_server("127.0.0.1:0").unwrap();
    let (mut h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let (mut s, _) = connect_tunnel(p, &format!("127.0.0.1:{}", up.port()));
    let started = Instant::now();
    h.server.stop(SHUTDOWN_WAIT);
    assert!(started.elapsed() < SHUTDOWN_WAIT);
    assert_eq!(h.decisions().len(), 1);
    assert!(matches!(s.read(&mut [0u8; 1]), Ok(0) | Err(_)));
    assert!(TcpStream::connect(p).is_err());
    h.shutdown();
}

#[test]
fn finish_includes_connections_open_at_shutdown() {
    let (up, _) = http_server("127.0.0.1:0").unwrap();
    let (h, p) = proxy(&[&format!("127.0.0.1:{}", up.port())], |_| {});
    let (_tunnel, _) = connect_tunnel(p, &format!("127.0.0.1:{}", up.port()));
    assert!(h.decisions().is_empty());
    let d = h.finish();
    assert_eq!(d.len(), 1);
    assert!(d[0].allowed && d[0].method == "CONNECT", "{:?}", d[0]);
}

#[test]
fn config_debug_hides_token() {
    let mut c = ProxyConfig::new(Allowlist::default());
    c.token = Some("s3cret".into());
    let s = format!("{c:?}");
    assert!(!s.contains("s3cret"), "Debug shows the token (not printed)");
    assert!(s.contains("redacted"), "{s}");
}

#[test]
fn decision_serializes_for_the_report() {
    let mut d = Decision::new();
    d.host = "a.com".into();
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["host"], "a.com");
    assert_eq!(v["allowed"], false);
}

#[test]
fn decision_log_is_bounded_and_says_so() {
    let sh = Shared {
        cfg: ProxyConfig::new(Allowlist::default()),
        expected_auth: None,
        log: Mutex::new(Log::default()),
        dropped: AtomicU64::new(0),
    };
    for _ in 0..MAX_DECISIONS + 3 {
        sh.record(Decision::new());
    }
    let v = &lock(&sh.log).decisions;
    assert_eq!(v.len(), MAX_DECISIONS + 1);
    assert_eq!(
        v[MAX_DECISIONS].reason,
        "decision log full: 3 later decisions not kept"
    );
}

/// A connection whose handler is still running when the report is drawn is listed as
/// undecided, once; recorded, it is listed with its decision only.
#[test]
fn connections_still_open_are_listed_as_undecided() {
    let sh = Shared {
        cfg: ProxyConfig::new(Allowlist::default()),
        expected_auth: None,
        log: Mutex::new(Log::default()),
        dropped: AtomicU64::new(0),
    };
    let mut d = Decision::new();
    d.host = "slow.example".into();
    d.port = 443;
    d.method = "CONNECT".into();
    let open = sh.open(&d);
    let v = sh.collect();
    assert_eq!(v.len(), 1);
    assert!(
        !v[0].allowed && v[0].verdict == Verdict::Incomplete && v[0].host == "slow.example",
        "{:?}",
        v[0]
    );
    assert!(
        v[0].reason.contains("still being handled"),
        "{}",
        v[0].reason
    );
    d.allowed = true;
    d.verdict = Verdict::Allowed;
    sh.record(d);
    drop(open);
    let v = sh.collect();
    assert_eq!(v.len(), 1);
    assert!(v[0].allowed, "{:?}", v[0]);
    // A handler that ends without a decision (client gone before anything was decided) leaves
    // nothing behind.
    let gone = sh.open(&Decision::new());
    drop(gone);
    assert_eq!(sh.collect().len(), 1);
}

/// A listener whose accept queue is full: a connect to it gets no answer (its SYNs are
/// dropped) until the connect times out. Returned with the connections that filled it.
fn unanswering_listener() -> (TcpListener, Vec<TcpStream>) {
    use nix::sys::socket::{listen, Backlog};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    // Linux takes a second listen(2) as a new backlog: none beyond the first queued connection.
    listen(&l, Backlog::new(0).unwrap()).unwrap();
    let addr = l.local_addr().unwrap();
    let mut filled = Vec::new();
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => filled.push(s),
            Err(_) => break,
        }
    }
    (l, filled)
}

/// A connection whose handler is still connecting upstream when the proxy stops (past the
/// shutdown wait) is in the report as undecided, not missing.
#[test]
fn finish_lists_a_connection_still_connecting_upstream() {
    let (up, _filled) = unanswering_listener();
    let port = up.local_addr().unwrap().port();
    let (h, p) = proxy(&[&format!("127.0.0.1:{port}")], |c| {
        c.connect_timeout = SHUTDOWN_WAIT * 3;
    });
    let mut s = TcpStream::connect(p).unwrap();
    write!(
        s,
        "CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .unwrap();
    let deadline = Instant::now() + T;
    while lock(&h.shared.log).open.is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    let d = h.finish();
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        !d[0].allowed && d[0].verdict == Verdict::Incomplete && d[0].port == port,
        "{:?}",
        d[0]
    );
}
