//! Egress proxy benchmark, loopback only, bounded loops:
//! - bulk: AGENTBOX_BENCH_MIB (default 1024) MiB through a CONNECT tunnel vs a direct copy;
//! - relay engine: splice(2) vs a user-space buffer, same socket setup, no proxy logic;
//! - latency: median/p99 of AGENTBOX_BENCH_N (default 1000) sequential connect + request +
//!   response round trips, through the proxy (absolute-form GET) vs direct.
//!
//! Run with `cargo bench --bench proxy`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use agentbox::net::policy::{Allowlist, HostRule};
use agentbox::net::proxy::{serve, ProxyConfig, ProxyHandle};
use agentbox::net::relay::{relay_with, Engine};

const CHUNK: usize = 256 * 1024;
const RUNS: usize = 5;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Reads every connection to EOF and answers with the byte count (8 bytes, big-endian).
fn sink_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind sink");
    let addr = l.local_addr().expect("sink addr");
    thread::spawn(move || {
        for s in l.incoming().take(64) {
            let Ok(mut s) = s else { continue };
            thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 20];
                let mut n = 0u64;
                while let Ok(k) = s.read(&mut buf) {
                    if k == 0 {
                        break;
                    }
                    n += k as u64;
                }
                let _ = s.write_all(&n.to_be_bytes());
            });
        }
    });
    addr
}

/// A tiny HTTP server: one `ok` response per connection, then close.
fn http_server(max_conns: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind http");
    let addr = l.local_addr().expect("http addr");
    thread::spawn(move || {
        for s in l.incoming().take(max_conns) {
            let Ok(s) = s else { continue };
            let _ = s.set_nodelay(true);
            thread::spawn(move || {
                let mut r = BufReader::new(&s);
                let mut line = String::new();
                while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                    line.clear();
                }
                let _ = (&s).write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    addr
}

/// Writes `total` bytes into `s`, half-closes, and checks the sink's count.
fn push(mut s: TcpStream, total: u64) -> Duration {
    let buf = vec![0x5au8; CHUNK];
    let start = Instant::now();
    let mut left = total;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        s.write_all(&buf[..n]).expect("write");
        left -= n as u64;
    }
    s.shutdown(Shutdown::Write).expect("shutdown");
    let mut count = [0u8; 8];
    s.read_exact(&mut count).expect("count");
    let el = start.elapsed();
    assert_eq!(
        u64::from_be_bytes(count),
        total,
        "sink saw a different byte count"
    );
    el
}

fn open_tunnel(proxy: SocketAddr, target: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(proxy).expect("connect proxy");
    write!(s, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").expect("CONNECT");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).expect("CONNECT reply");
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "CONNECT refused");
    s
}

fn start_proxy(targets: &[SocketAddr]) -> (ProxyHandle, SocketAddr) {
    let rules: Vec<HostRule> = targets
        .iter()
        .map(|t| t.to_string().parse().expect("rule"))
        .collect();
    let l = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let addr = l.local_addr().expect("proxy addr");
    let h = serve(l, ProxyConfig::new(Allowlist::new(rules))).expect("serve");
    (h, addr)
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

/// CPU time (user + system) of the whole process so far.
fn cpu_time() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

fn rusage(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a rusage struct; RUSAGE_SELF/RUSAGE_THREAD are accepted.
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Best wall time of RUNS, and the process CPU time (all threads) per run. CPU time is the
/// figure to trust on a shared machine: wall time there depends on everybody else's load.
fn best(mut f: impl FnMut() -> Duration) -> (Duration, Duration) {
    let cpu0 = cpu_time();
    let min = (0..RUNS).map(|_| f()).min().unwrap_or_default();
    (min, (cpu_time() - cpu0) / RUNS as u32)
}

/// Milliseconds per GiB moved.
fn ms_per_gib(d: Duration, bytes: u64) -> f64 {
    d.as_secs_f64() * 1e3 * (1u64 << 30) as f64 / bytes as f64
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

fn round_trip(connect_to: SocketAddr, request: &[u8]) -> Duration {
    let start = Instant::now();
    let mut s = TcpStream::connect(connect_to).expect("connect");
    let _ = s.set_nodelay(true);
    s.write_all(request).expect("request");
    let mut out = Vec::with_capacity(256);
    s.read_to_end(&mut out).expect("response");
    let el = start.elapsed();
    assert!(
        out.starts_with(b"HTTP/1.1 200") && out.ends_with(b"ok"),
        "bad response"
    );
    el
}

fn main() {
    let mib = env_usize("AGENTBOX_BENCH_MIB", 1024) as u64;
    let n = env_usize("AGENTBOX_BENCH_N", 1000);
    let total = mib << 20;

    let sink = sink_server();
    let web = http_server(2 * n + 8);
    let (proxy, paddr) = start_proxy(&[sink, web]);

    println!("bulk, {mib} MiB, best of {RUNS}:");
    let (direct, dcpu) = best(|| push(TcpStream::connect(sink).expect("connect sink"), total));
    let (tunnel, tcpu) = best(|| push(open_tunnel(paddr, sink), total));
    let (d, t) = (mbps(total, direct), mbps(total, tunnel));
    println!(
        "  direct loopback     {d:6.0} MB/s   CPU {:4.0} ms/GiB (writer + reader)",
        ms_per_gib(dcpu, total)
    );
    println!(
        "  CONNECT tunnel      {t:6.0} MB/s   CPU {:4.0} ms/GiB (writer + proxy + reader)   {:.0}% of direct",
        ms_per_gib(tcpu, total),
        100.0 * t / d
    );

    println!("relay engine only, {mib} MiB, best of {RUNS}:");
    for engine in [Engine::Splice, Engine::Buffer] {
        let mut relay_cpu = Duration::ZERO;
        let (el, _) = best(|| {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind relay");
            let client = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
            let (inner, _) = l.accept().expect("accept");
            let upstream = TcpStream::connect(sink).expect("connect sink");
            let r = thread::spawn(move || {
                let t0 = rusage(libc::RUSAGE_THREAD);
                relay_with(&inner, &upstream, None, engine);
                rusage(libc::RUSAGE_THREAD) - t0
            });
            let el = push(client, total);
            relay_cpu += r.join().unwrap_or_default() / RUNS as u32;
            el
        });
        println!(
            "  {engine:<18?}  {:6.0} MB/s   relay thread CPU {:4.0} ms/GiB",
            mbps(total, el),
            ms_per_gib(relay_cpu, total)
        );
    }

    println!("latency, {n} sequential connect+GET+response round trips:");
    let direct_req = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let proxy_req = format!("GET http://{web}/ HTTP/1.1\r\nHost: {web}\r\n\r\n");
    let mut dv: Vec<Duration> = (0..n).map(|_| round_trip(web, direct_req)).collect();
    let mut pv: Vec<Duration> = (0..n)
        .map(|_| round_trip(paddr, proxy_req.as_bytes()))
        .collect();
    for (name, v) in [("direct", &mut dv), ("proxy", &mut pv)] {
        println!(
            "  {name:<8} median {:7.1} us   p99 {:7.1} us",
            percentile(v, 0.5).as_secs_f64() * 1e6,
            percentile(v, 0.99).as_secs_f64() * 1e6
        );
    }
    let recorded = proxy.decisions().len();
    proxy.shutdown();
    println!("proxy decisions recorded: {recorded}");
}
