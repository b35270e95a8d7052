//! Credential injection benchmark, loopback only, bounded loops. An HTTPS server with a test CA
//! on two ports; one of them carries a credential (the proxy terminates TLS with its per-run CA,
//! puts the real value in, re-encrypts), the other is a plain CONNECT tunnel. Side by side in
//! one run:
//! - tunnel, no injector: a proxy without credentials (the baseline);
//! - tunnel, injector on: the same CONNECT through a proxy that has a credential for another
//!   host (must be unchanged);
//! - intercepted: the credential's host.
//!
//! Each gets: download and upload throughput (AGENTBOX_BENCH_MIB, default 256 MiB, one
//! keep-alive request, best of 5) and first-request latency (AGENTBOX_BENCH_N, default 200,
//! sequential: TCP connect, CONNECT, TLS handshake, one GET and its response, on a new
//! connection each time; median and p99). The intercepted first request also pays the
//! proxy's own TLS handshake with the host; the leaf certificate is made once per host and
//! cached (its one-off cost is printed apart).
//!
//! Run with `cargo bench --bench credentials` (benches/credentials.sh formats it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use agentbox::net::http::base64;
use agentbox::net::inject::tls::Interceptor;
use agentbox::net::inject::{Credential, Injector, Secret, Target, AUTH_HEADERS};
use agentbox::net::policy::{Allowlist, HostRule};
use agentbox::net::proxy::{serve, ProxyConfig, ProxyHandle};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

const CHUNK: usize = 256 * 1024;
const RUNS: usize = 5;
// Equal lengths, as the run makes them (responses are masked in place).
const REAL: &str = "sk-ant-api03-bench-real-value-0123456789abcdefghijklmnopqrstuv";
const PLACEHOLDER: &str = "sk-ant-api03-agentbox-bench-placeholder-0123456789abcdefghijkl";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// PEM text of a DER certificate.
fn pem(der: &[u8]) -> String {
    let b = base64(der);
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap_or_default());
        s.push('\n');
    }
    s + "-----END CERTIFICATE-----\n"
}

/// A test CA, its certificate in a file, and a server configuration for 127.0.0.1.
fn test_ca(dir: &std::path::Path) -> (PathBuf, Arc<rustls::ServerConfig>) {
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "bench test CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    let cert = p.self_signed(&key).expect("CA");
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem(cert.der())).expect("write CA");
    let issuer = Issuer::new(p, key);
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("leaf params");
    let lkey = KeyPair::generate().expect("leaf key");
    let lcert = leaf.signed_by(&lkey, &issuer).expect("leaf");
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![lcert.der().clone()],
            PrivateKeyDer::Pkcs8(lkey.serialize_der().into()),
        )
        .expect("server config");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    (path, Arc::new(cfg))
}

/// Keep-alive HTTPS: `GET /down?N` answers N bytes; `POST` reads its body and answers `ok`;
/// any other `GET` answers `ok`. The `Authorization` header must be `Bearer {expect}`: the real
/// value on the credential's host, the placeholder as it was on the other.
fn https_server(cfg: Arc<rustls::ServerConfig>, expect: &'static str) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind server");
    let addr = l.local_addr().expect("server addr");
    thread::spawn(move || {
        for s in l.incoming().take(100_000) {
            let Ok(s) = s else { continue };
            let cfg = Arc::clone(&cfg);
            thread::spawn(move || {
                let _ = s.set_nodelay(true);
                let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                    return;
                };
                serve_conn(rustls::StreamOwned::new(conn, s), expect);
            });
        }
    });
    addr
}

fn serve_conn<S: Read + Write>(s: S, expect: &str) {
    let mut r = BufReader::with_capacity(CHUNK, s);
    let data = vec![0x5au8; CHUNK];
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).map(|n| n == 0).unwrap_or(true) {
            return;
        }
        let (mut len, mut auth) = (0u64, None::<String>);
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).map(|n| n == 0).unwrap_or(true) {
                return;
            }
            if h == "\r\n" {
                break;
            }
            let (n, v) = h.split_once(':').unwrap_or_default();
            if n.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            } else if n.eq_ignore_ascii_case("authorization") {
                auth = Some(v.trim().to_string());
            }
        }
        if let Some(a) = auth {
            assert_eq!(
                a,
                format!("Bearer {expect}"),
                "injected where it must be, only there"
            );
        }
        let mut left = len;
        while left > 0 {
            let buf = match r.fill_buf() {
                Ok(b) if !b.is_empty() => b.len().min(left as usize),
                _ => return,
            };
            r.consume(buf);
            left -= buf as u64;
        }
        let want: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|t| t.strip_prefix("/down?"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let w = r.get_mut();
        if want == 0 {
            if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .and_then(|_| w.flush())
                .is_err()
            {
                return;
            }
            continue;
        }
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {want}\r\n\r\n");
        if w.write_all(head.as_bytes()).is_err() {
            return;
        }
        let mut left = want;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            if w.write_all(&data[..n]).is_err() {
                return;
            }
            left -= n as u64;
        }
        if w.flush().is_err() {
            return;
        }
    }
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// CONNECT through `proxy` to `target`, then TLS trusting `roots`.
fn open(proxy: SocketAddr, target: SocketAddr, client: &Arc<rustls::ClientConfig>) -> Tls {
    let mut s = TcpStream::connect(proxy).expect("connect proxy");
    let _ = s.set_nodelay(true);
    write!(s, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").expect("CONNECT");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).expect("CONNECT reply");
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "CONNECT refused");
    let name = ServerName::IpAddress(target.ip().into());
    let c = rustls::ClientConnection::new(Arc::clone(client), name).expect("client");
    rustls::StreamOwned::new(c, s)
}

/// Reads one response head and returns its Content-Length.
fn read_head(r: &mut BufReader<&mut Tls>) -> u64 {
    let mut len = 0;
    let mut first = true;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("response head");
        if first {
            assert!(h.starts_with("HTTP/1.1 200"), "response: {h}");
            first = false;
        }
        if h == "\r\n" {
            return len;
        }
        if let Some((n, v)) = h.split_once(':') {
            if n.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().expect("length");
            }
        }
    }
}

fn request(host: SocketAddr, path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {PLACEHOLDER}\r\n{extra}\r\n"
    )
}

/// One request for `total` bytes down, timed from the request to the last byte.
fn download(mut s: Tls, host: SocketAddr, total: u64) -> Duration {
    let start = Instant::now();
    s.write_all(request(host, &format!("/down?{total}"), "").as_bytes())
        .expect("request");
    let mut r = BufReader::with_capacity(CHUNK, &mut s);
    let len = read_head(&mut r);
    assert_eq!(len, total);
    let mut left = len;
    while left > 0 {
        let n = {
            let b = r.fill_buf().expect("body");
            assert!(!b.is_empty(), "body cut short");
            b.len().min(left as usize)
        };
        r.consume(n);
        left -= n as u64;
    }
    start.elapsed()
}

/// One request with `total` bytes up, timed to its answer.
fn upload(mut s: Tls, host: SocketAddr, total: u64) -> Duration {
    let buf = vec![0x5au8; CHUNK];
    let start = Instant::now();
    let head = format!(
        "POST /up HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {PLACEHOLDER}\r\nContent-Length: {total}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("head");
    let mut left = total;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        s.write_all(&buf[..n]).expect("body");
        left -= n as u64;
    }
    s.flush().expect("flush");
    let mut r = BufReader::new(&mut s);
    let len = read_head(&mut r);
    let mut ok = vec![0u8; len as usize];
    r.read_exact(&mut ok).expect("answer");
    start.elapsed()
}

/// A new connection, its TLS handshake, one small request and its answer.
fn first_request(proxy: SocketAddr, target: SocketAddr, c: &Arc<rustls::ClientConfig>) -> Duration {
    let start = Instant::now();
    let mut s = open(proxy, target, c);
    s.write_all(request(target, "/", "Connection: close\r\n").as_bytes())
        .expect("request");
    let mut r = BufReader::new(&mut s);
    let len = read_head(&mut r);
    let mut ok = vec![0u8; len as usize];
    r.read_exact(&mut ok).expect("answer");
    start.elapsed()
}

fn start_proxy(targets: &[SocketAddr], inject: Option<Arc<Injector>>) -> (ProxyHandle, SocketAddr) {
    let rules: Vec<HostRule> = targets
        .iter()
        .map(|t| t.to_string().parse().expect("rule"))
        .collect();
    let l = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let addr = l.local_addr().expect("proxy addr");
    let mut cfg = ProxyConfig::new(Allowlist::new(rules));
    cfg.inject = inject;
    (serve(l, cfg).expect("serve"), addr)
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

fn percentile(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or_default().as_secs_f64() * 1e3
}

fn main() {
    let mib = env_usize("AGENTBOX_BENCH_MIB", 256) as u64;
    let n = env_usize("AGENTBOX_BENCH_N", 200);
    let total = mib << 20;
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, server_cfg) = test_ca(dir.path());
    let cred_host = https_server(Arc::clone(&server_cfg), REAL);
    let plain_host = https_server(server_cfg, PLACEHOLDER);

    let icpt = Interceptor::new(vec![ca.clone()]).expect("per-run CA");
    let mut roots = rustls::RootCertStore::empty();
    for pem in [
        std::fs::read(&ca).expect("CA file"),
        icpt.ca_pem().into_bytes(),
    ] {
        roots
            .add(CertificateDer::from_pem_slice(&pem).expect("CA PEM"))
            .expect("root");
    }
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let cred = Credential {
        name: "ANTHROPIC_API_KEY".into(),
        placeholder: PLACEHOLDER.into(),
        real: Secret::new(REAL.as_bytes().to_vec()),
        targets: vec![Target {
            host: cred_host.ip().to_string(),
            port: cred_host.port(),
            cleartext: false,
        }],
        headers: AUTH_HEADERS.iter().map(|h| h.to_string()).collect(),
        query: false,
    };
    let inj = Arc::new(Injector::new(vec![cred], Some(icpt)));
    let (bare, bare_addr) = start_proxy(&[cred_host, plain_host], None);
    let (with, with_addr) = start_proxy(&[cred_host, plain_host], Some(inj));

    // The one-off: the first connection to the credential's host makes its leaf certificate.
    let leaf = first_request(with_addr, cred_host, &client);
    println!(
        "first ever intercepted request (leaf certificate made): {:.2} ms",
        leaf.as_secs_f64() * 1e3
    );

    let cases = [
        ("tunnel, no injector", bare_addr, plain_host),
        ("tunnel, injector on", with_addr, plain_host),
        ("intercepted", with_addr, cred_host),
    ];
    // Interleaved: every round measures each case once, so the machine's load (2 shared
    // cores) falls on all of them alike; the best round of each is kept.
    println!(
        "throughput, {mib} MiB, best of {RUNS} interleaved rounds; first request, {n} new connections each, interleaved:"
    );
    let mut down = [Duration::MAX; 3];
    let mut up = [Duration::MAX; 3];
    for _ in 0..RUNS {
        for (i, (_, proxy, target)) in cases.iter().enumerate() {
            down[i] = down[i].min(download(open(*proxy, *target, &client), *target, total));
            up[i] = up[i].min(upload(open(*proxy, *target, &client), *target, total));
        }
    }
    let mut lat: [Vec<Duration>; 3] = Default::default();
    for _ in 0..n {
        for (i, (_, proxy, target)) in cases.iter().enumerate() {
            lat[i].push(first_request(*proxy, *target, &client));
        }
    }
    let base_med = percentile(&mut lat[0], 0.5);
    for (i, (name, _, _)) in cases.iter().enumerate() {
        let (d, u) = (mbps(total, down[i]), mbps(total, up[i]));
        let (med, p99) = (percentile(&mut lat[i], 0.5), percentile(&mut lat[i], 0.99));
        println!(
            "  {name:<20} down {d:6.0} MB/s ({:3.0}%)  up {u:6.0} MB/s ({:3.0}%)  first request median {med:6.2} ms (+{:5.2} ms)  p99 {p99:6.2} ms",
            100.0 * d / mbps(total, down[0]),
            100.0 * u / mbps(total, up[0]),
            med - base_med
        );
    }
    let d = with.finish();
    let injected = d
        .iter()
        .flat_map(|d| &d.credentials)
        .map(|u| u.injected)
        .sum::<u64>();
    bare.shutdown();
    println!("requests injected: {injected}");
}
