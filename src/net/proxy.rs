//! agentbox's filtering egress proxy: HTTP/1.1 absolute-form forwarding and CONNECT tunnels.
//!
//! Order of checks for every request, each refusal recorded as a [`Decision`]:
//! 1. head read within the size cap (431) and parsed strictly (400);
//! 2. proxy credential, when a token is configured (407);
//! 3. the requested NAME against the allowlist (403); IP literals are matched as names too;
//! 4. resolution, then EVERY resolved address through [`check_addr`] (403): one forbidden
//!    address refuses the whole name, since a mix of public and private answers is what DNS
//!    rebinding looks like;
//! 5. connection by `SocketAddr` to an address checked in step 4, never by name again, so a
//!    second resolution cannot swap in another address (502 if none answers);
//! 6. plain HTTP: the Host header must agree with the URI (403); CONNECT to port 443: the TLS
//!    ClientHello's SNI must equal the requested host.
//!
//! Port-443 tunnels answer `200` *before* connecting upstream, because the ClientHello only
//! arrives after it: the SNI is checked before any byte or even a TCP handshake reaches the
//! upstream. The price: an unreachable upstream shows up as a closed tunnel, not a 502. A
//! ClientHello without SNI is accepted only for an IP-literal host (clients omit SNI exactly
//! then, RFC 6066); for a name it would hide which host the TLS session is really for.
//! Encrypted ClientHello is refused in effect: its outer SNI is a provider's public name.
//!
//! Plain HTTP is one request per client connection: the request goes upstream with
//! `Connection: close` and the response comes back with `Connection: close`, bodies framed
//! exactly (Content-Length or chunked; anything ambiguous is refused) so nothing after the
//! first request reaches the upstream unchecked. Upgrades are not carried (use CONNECT).

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::net::http::{
    self, base64, constant_time_eq, copy_body, headers_named, parse_absolute, parse_authority,
    parse_request, parse_response, read_head, request_body, response_body, Authority, BodyLen,
    Counting, HeadError, Header, Request, MAX_HEAD,
};
use crate::net::inject::session::TlsNote;
use crate::net::inject::{self, Carrier, CredentialUse, Injector};
use crate::net::policy::{check_addr, Allowlist};
use crate::net::relay::{relay, Outcome};
use crate::net::server::{self, lock, Server, Slot};
use crate::net::sni::{parse_client_hello, ClientHello, MAX_HELLO};

/// Read buffer per connection side.
const IO_BUF: usize = 64 * 1024;
/// Decisions kept for the report; past that one last entry counts the rest, so memory stays
/// bounded and the report still says that something is missing.
const MAX_DECISIONS: usize = 100_000;
/// How long `shutdown` waits for connection threads.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// Connections waiting for their 503 when the proxy is full.
const BUSY_QUEUE: usize = 64;
/// Addresses tried per request before giving up with 502.
const MAX_CONNECT_ATTEMPTS: usize = 4;
/// Upper bound for receiving a request head or a ClientHello, whatever the idle timeout.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Informational (1xx) responses accepted before the final one.
const MAX_INTERIM: usize = 16;
/// Bytes drained from a refused client before closing, so the refusal is not lost to a RST.
const LINGER_BYTES: usize = 256 * 1024;
const LINGER_TIME: Duration = Duration::from_millis(500);

/// Settings of one proxy instance.
#[derive(Clone)]
pub struct ProxyConfig {
    /// Hosts the agent may reach.
    pub allow: Allowlist,
    /// If set, every request needs `Proxy-Authorization: Basic base64("agentbox:" + token)`.
    pub token: Option<String>,
    /// Limit for each upstream TCP connect.
    pub connect_timeout: Duration,
    /// A connection with no traffic for this long is closed (also bounds head reading).
    pub idle_timeout: Duration,
    /// Most client connections handled at once; more get 503.
    pub max_tunnels: usize,
    /// Credentials to inject: their hosts' connections are intercepted (`net::inject`).
    pub inject: Option<Arc<Injector>>,
}

impl ProxyConfig {
    /// Defaults: no token, 10 s connect timeout, 5 min idle timeout, 256 connections.
    pub fn new(allow: Allowlist) -> Self {
        ProxyConfig {
            allow,
            token: None,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_tunnels: 256,
            inject: None,
        }
    }
}

impl fmt::Debug for ProxyConfig {
    // Hand-written so the token never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("allow", &self.allow)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_tunnels", &self.max_tunnels)
            .field("inject", &self.inject)
            .finish()
    }
}

/// What the proxy decided about one connection, by kind (`Decision::reason` says it in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Traffic went through.
    Allowed,
    /// The host is not in the allowlist.
    NotListed,
    /// The host is listed, for other ports.
    PortNotListed,
    /// Listed, but the name did not resolve (or resolved to nothing).
    Unresolved,
    /// Listed, but it resolved to an address that is never allowed (link-local, metadata, a
    /// private range for a wildcard entry).
    AddressRefused,
    /// Listed and resolved, but no address accepted the connection.
    Unreachable,
    /// The request broke the proxy's rules (malformed, a Host or SNI that does not match).
    BadRequest,
    /// The per-run proxy credential was missing or wrong.
    Credential,
    /// Over the cap of concurrent connections.
    Busy,
    /// The client went away before a decision (or the decision log was full).
    Incomplete,
}

/// What the proxy did with one request, for the run report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Decision {
    /// Requested host (normalized; empty if the request was unreadable).
    pub host: String,
    /// Requested port (0 if unknown).
    pub port: u16,
    /// `CONNECT`, `GET`, ... (empty if unknown).
    pub method: String,
    /// True if traffic went through to the upstream.
    pub allowed: bool,
    /// The decision by kind.
    pub verdict: Verdict,
    /// The rule that admitted it, or why it was refused.
    pub reason: String,
    /// Bytes sent toward the upstream (request heads included).
    pub bytes_up: u64,
    /// Bytes sent back to the client (response heads included).
    pub bytes_down: u64,
    /// Credentials on this connection: injected, placeholders sent unchanged, real values
    /// masked in responses (names and counts, never values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<CredentialUse>,
    /// TLS interception of a credential's host, and how it went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsNote>,
    /// Order of arrival: decisions are recorded when a connection ends, and listed by arrival.
    #[serde(skip)]
    seq: u64,
}

/// Arrival counter for [`Decision::seq`].
static ARRIVAL: AtomicU64 = AtomicU64::new(0);

impl Decision {
    fn new() -> Self {
        Decision {
            seq: ARRIVAL.fetch_add(1, Ordering::Relaxed),
            host: String::new(),
            port: 0,
            method: String::new(),
            allowed: false,
            verdict: Verdict::Incomplete,
            reason: String::new(),
            bytes_up: 0,
            bytes_down: 0,
            credentials: Vec::new(),
            tls: None,
        }
    }
}

struct Shared {
    cfg: ProxyConfig,
    /// base64("agentbox:" + token), computed once.
    expected_auth: Option<String>,
    log: Mutex<Log>,
    dropped: AtomicU64,
}

/// The decisions recorded, and the connections whose decision is still to come. One lock for
/// both: a connection is in exactly one of them whenever the proxy's report is drawn.
#[derive(Default)]
struct Log {
    decisions: Vec<Decision>,
    /// What is known of each connection past its request head, until its decision is recorded
    /// (at most `max_tunnels` entries).
    open: HashMap<u64, Decision>,
}

/// A connection listed as open in the log while its handler runs; dropped after the decision
/// is recorded, or without one (the connection is then unlisted, with nothing to report).
struct Open<'a> {
    sh: &'a Shared,
    seq: u64,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        lock(&self.sh.log).open.remove(&self.seq);
    }
}

impl Shared {
    /// Lists `d`'s connection as open until its decision is recorded: if the handler is still
    /// running when the proxy stops (a name still resolving, a connect under way, a thread the
    /// loaded machine has not run yet), the report says so instead of missing the connection.
    fn open(&self, d: &Decision) -> Open<'_> {
        lock(&self.log).open.insert(d.seq, d.clone());
        Open {
            sh: self,
            seq: d.seq,
        }
    }

    /// Every decision in order of arrival, then the connections still open, as undecided.
    fn collect(&self) -> Vec<Decision> {
        let log = lock(&self.log);
        let mut v = log.decisions.clone();
        v.extend(log.open.values().map(|o| {
            let mut d = o.clone();
            d.allowed = false;
            d.verdict = Verdict::Incomplete;
            d.reason = "still being handled when the run ended: no decision recorded".into();
            d
        }));
        drop(log);
        v.sort_by_key(|x| x.seq);
        v
    }

    fn record(&self, d: Decision) {
        tracing::debug!(
            host = %d.host,
            port = d.port,
            method = %d.method,
            allowed = d.allowed,
            reason = %d.reason,
            bytes_up = d.bytes_up,
            bytes_down = d.bytes_down,
            "proxy decision"
        );
        let mut log = lock(&self.log);
        log.open.remove(&d.seq);
        let v = &mut log.decisions;
        if v.len() < MAX_DECISIONS {
            v.push(d);
            return;
        }
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let reason = format!("decision log full: {dropped} later decisions not kept");
        if v.len() == MAX_DECISIONS {
            let mut marker = Decision::new();
            marker.reason = reason;
            v.push(marker);
        } else if let Some(last) = v.last_mut() {
            last.reason = reason;
        }
    }
}

/// A running proxy.
pub struct ProxyHandle {
    shared: Arc<Shared>,
    server: Server,
    busy: Option<JoinHandle<()>>,
}

impl ProxyHandle {
    /// Snapshot of the decisions so far, for the run report.
    pub fn decisions(&self) -> Vec<Decision> {
        let mut d = lock(&self.shared.log).decisions.clone();
        d.sort_by_key(|x| x.seq);
        d
    }

    /// Connections being handled now.
    #[cfg(test)]
    fn active_connections(&self) -> usize {
        self.server.active()
    }

    /// Stops accepting and closes live connections, then returns every decision, including those of
    /// connections that were still open (taking `decisions()` before `shutdown()` misses them);
    /// a connection whose handler outlived the wait is listed as undecided.
    pub fn finish(mut self) -> Vec<Decision> {
        self.stop();
        self.shared.collect()
    }

    /// Stops accepting, closes live connections and waits (bounded) for their threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.server.stop(SHUTDOWN_WAIT);
        if let Some(b) = self.busy.take() {
            // The busy thread ends once the accept thread (holding its sender) is gone; it
            // handles at most BUSY_QUEUE connections with short timeouts, so wait a little.
            let deadline = Instant::now() + SHUTDOWN_WAIT;
            while !b.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            if b.is_finished() {
                let _ = b.join();
            }
        }
    }
}

/// Serve on an already-bound listening socket (the launcher creates it INSIDE the sandbox's
/// network namespace and passes the fd to the supervisor, so the proxy listens there but
/// connects out from the host namespace). Spawns threads; returns immediately.
pub fn serve(listener: TcpListener, cfg: ProxyConfig) -> io::Result<ProxyHandle> {
    let expected_auth = cfg
        .token
        .as_ref()
        .map(|t| base64(format!("agentbox:{t}").as_bytes()));
    let max = cfg.max_tunnels;
    let shared = Arc::new(Shared {
        cfg,
        expected_auth,
        log: Mutex::new(Log::default()),
        dropped: AtomicU64::new(0),
    });
    let (busy_tx, busy_rx) = mpsc::sync_channel::<TcpStream>(BUSY_QUEUE);
    let busy_shared = Arc::clone(&shared);
    let busy = thread::Builder::new()
        .name("agentbox-proxy-busy".into())
        .spawn(move || busy_loop(&busy_shared, &busy_rx))?;
    let conn_shared = Arc::clone(&shared);
    let server = server::start(
        listener,
        max,
        "agentbox-proxy",
        move |slot, stream| handle_conn(&conn_shared, &slot, stream),
        move |stream| {
            // Queue full: closing without an answer is the only bounded option left.
            let _ = busy_tx.try_send(stream);
        },
    )?;
    Ok(ProxyHandle {
        shared,
        server,
        busy: Some(busy),
    })
}

/// Answers connections over the cap with 503, one at a time, with short timeouts.
fn busy_loop(sh: &Shared, rx: &Receiver<TcpStream>) {
    while let Ok(stream) = rx.recv() {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
        let mut d = Decision::new();
        if let Ok(read_half) = stream.try_clone() {
            let mut r = BufReader::with_capacity(8 * 1024, read_half);
            if let Ok(req) = read_head(&mut r, MAX_HEAD)
                .ok()
                .as_deref()
                .map(parse_request)
                .unwrap_or(Err(""))
            {
                describe_target(&req, &mut d);
            }
        }
        let reason = format!(
            "too many concurrent connections (limit {})",
            sh.cfg.max_tunnels
        );
        refuse(&stream, &mut d, (503, Verdict::Busy), &reason, &[]);
        sh.record(d);
    }
}

/// Fills host/port/method of `d` from a request, as far as it parses.
fn describe_target(req: &Request, d: &mut Decision) {
    d.method = req.method.clone();
    let auth = if req.method == "CONNECT" {
        parse_authority(&req.target, None).ok()
    } else {
        parse_absolute(&req.target).ok().map(|(a, _)| a)
    };
    if let Some(a) = auth {
        d.host = a.host;
        d.port = a.port;
    }
}

/// Sends the proxy's own error response, records the reason and closes gently.
fn refuse(
    client: &TcpStream,
    d: &mut Decision,
    (status, verdict): (u16, Verdict),
    reason: &str,
    extra: &[(&str, &str)],
) {
    d.allowed = false;
    d.verdict = verdict;
    d.reason = http::one_line(reason);
    let _ = (&*client).write_all(&http::error_response(status, &d.reason, extra));
    linger_close(client);
}

/// Half-closes, then reads (bounded) what the client still sends: closing with unread bytes
/// makes the kernel send RST, and the client may lose our response with it.
fn linger_close(client: &TcpStream) {
    let _ = client.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER_TIME;
    let mut buf = [0u8; 4096];
    let mut total = 0;
    while total < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || client.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match (&*client).read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

fn handle_conn(sh: &Shared, slot: &Slot, client: TcpStream) {
    crate::supervise::failpoint("proxy");
    let cfg = &sh.cfg;
    let _ = client.set_nodelay(true);
    // A slow or silent client holds a slot: heads get at most HEAD_TIMEOUT. The relay and
    // body copies below run under the idle timeout.
    let head_timeout = cfg.idle_timeout.min(HEAD_TIMEOUT);
    if client.set_read_timeout(Some(head_timeout)).is_err()
        || client.set_write_timeout(Some(cfg.idle_timeout)).is_err()
    {
        return;
    }
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(IO_BUF, read_half);
    let mut d = Decision::new();
    let head = match read_head(&mut reader, MAX_HEAD) {
        Ok(h) => h,
        Err(HeadError::Closed) => return,
        Err(HeadError::Io(e)) => {
            tracing::debug!(error = %e, "no request head from client");
            return;
        }
        Err(HeadError::Truncated) => {
            refuse(
                &client,
                &mut d,
                (400, Verdict::BadRequest),
                "incomplete request head",
                &[],
            );
            return sh.record(d);
        }
        Err(HeadError::TooLarge) => {
            let reason = format!("request head larger than {MAX_HEAD} bytes");
            refuse(&client, &mut d, (431, Verdict::BadRequest), &reason, &[]);
            return sh.record(d);
        }
    };
    let req = match parse_request(&head) {
        Ok(r) => r,
        Err(m) => {
            refuse(
                &client,
                &mut d,
                (400, Verdict::BadRequest),
                &format!("malformed request: {m}"),
                &[],
            );
            return sh.record(d);
        }
    };
    describe_target(&req, &mut d);
    let _open = sh.open(&d);
    if req.method != "CONNECT" && client.set_read_timeout(Some(cfg.idle_timeout)).is_err() {
        return;
    }
    if let Some(expected) = &sh.expected_auth {
        if let Err(reason) = check_credential(&req.headers, expected) {
            let challenge = [("Proxy-Authenticate", "Basic realm=\"agentbox\"")];
            refuse(
                &client,
                &mut d,
                (407, Verdict::Credential),
                reason,
                &challenge,
            );
            return sh.record(d);
        }
    }
    if req.method == "CONNECT" {
        handle_connect(sh, slot, &client, reader, &req, &mut d);
    } else {
        handle_http(sh, slot, &client, reader, (&req, &head), &mut d);
    }
    sh.record(d);
}

fn check_credential(headers: &[Header], expected: &str) -> Result<(), &'static str> {
    let mut it = headers_named(headers, "proxy-authorization");
    let Some(h) = it.next() else {
        return Err("missing proxy credential");
    };
    if it.next().is_some() {
        return Err("more than one Proxy-Authorization header");
    }
    let ok = h
        .value_str()
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, cred)| {
            scheme.eq_ignore_ascii_case("basic")
                && constant_time_eq(cred.trim().as_bytes(), expected.as_bytes())
        });
    if ok {
        Ok(())
    } else {
        Err("wrong proxy credential")
    }
}

/// A refusal before anything was sent to the client: status, kind and reason.
struct Deny(u16, Verdict, String);

/// Steps 3 and 4: the name against the allowlist, then every resolved address.
fn admit(cfg: &ProxyConfig, auth: &Authority) -> Result<(Vec<SocketAddr>, String), Deny> {
    let Some(rule) = cfg.allow.matches(&auth.host, auth.port) else {
        let (verdict, reason) = if cfg.allow.knows_host(&auth.host) {
            let r = format!("port {} not allowed for {}", auth.port, auth.host);
            (Verdict::PortNotListed, r)
        } else {
            (Verdict::NotListed, "host not in allowlist".to_string())
        };
        return Err(Deny(403, verdict, reason));
    };
    let explicit = !rule.is_wildcard();
    let allowed_by = format!("allowed by {}", rule.display_with_port(auth.port));
    let mut addrs: Vec<SocketAddr> = match auth.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, auth.port)],
        Err(_) => match (auth.host.as_str(), auth.port).to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(e) => {
                let r = format!("cannot resolve {}: {e}", auth.host);
                return Err(Deny(502, Verdict::Unresolved, r));
            }
        },
    };
    // getaddrinfo's order is the preference order (RFC 6724): drop repeats, keep the order.
    let mut seen = Vec::with_capacity(addrs.len());
    addrs.retain(|a| {
        let new = !seen.contains(a);
        seen.push(*a);
        new
    });
    if addrs.is_empty() {
        let r = format!("no address for {}", auth.host);
        return Err(Deny(502, Verdict::Unresolved, r));
    }
    for a in &addrs {
        if let Err(r) = check_addr(a.ip(), explicit) {
            return Err(Deny(403, Verdict::AddressRefused, r.to_string()));
        }
    }
    Ok((addrs, allowed_by))
}

/// Step 5: the first checked address that accepts within the timeout (trying at most
/// [`MAX_CONNECT_ATTEMPTS`], so a long answer cannot multiply the wait).
fn connect(addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream, String> {
    let mut last = String::from("no address");
    for a in addrs.iter().take(MAX_CONNECT_ATTEMPTS) {
        match TcpStream::connect_timeout(a, timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = format!("{a}: {e}"),
        }
    }
    Err(format!("upstream unreachable ({last})"))
}

fn handle_connect(
    sh: &Shared,
    slot: &Slot,
    client: &TcpStream,
    reader: BufReader<TcpStream>,
    req: &Request,
    d: &mut Decision,
) {
    let cfg = &sh.cfg;
    let auth = match parse_authority(&req.target, None) {
        Ok(a) => a,
        Err(m) => {
            return refuse(
                client,
                d,
                (400, Verdict::BadRequest),
                &format!("bad CONNECT target: {m}"),
                &[],
            )
        }
    };
    let (addrs, allowed_by) = match admit(cfg, &auth) {
        Ok(x) => x,
        Err(Deny(status, verdict, reason)) => {
            return refuse(client, d, (status, verdict), &reason, &[])
        }
    };
    // Bytes the client sent after the CONNECT head (allowed, if unusual) belong to the tunnel.
    let mut early = reader.buffer().to_vec();
    drop(reader);
    if let Some(inj) = cfg
        .inject
        .as_ref()
        .filter(|i| i.wants(&auth.host, auth.port))
    {
        let target = intercept::Target {
            auth: &auth,
            addrs: &addrs,
            allowed_by,
        };
        return intercept::connect(sh, slot, client, inj, target, early, d);
    }
    let upstream = if auth.port == 443 {
        if (&*client).write_all(ESTABLISHED).is_err() {
            d.reason = "client went away".into();
            return;
        }
        d.bytes_down += ESTABLISHED.len() as u64;
        if let Err(reason) = check_sni(client, &auth, &mut early) {
            // Too late for an HTTP status: the 200 is out. Closing is the refusal.
            d.allowed = false;
            d.verdict = Verdict::BadRequest;
            d.reason = reason;
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        match connect(&addrs, cfg.connect_timeout) {
            Ok(u) => u,
            Err(reason) => {
                d.verdict = Verdict::Unreachable;
                d.reason = reason;
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
        }
    } else {
        let u = match connect(&addrs, cfg.connect_timeout) {
            Ok(u) => u,
            Err(reason) => return refuse(client, d, (502, Verdict::Unreachable), &reason, &[]),
        };
        if (&*client).write_all(ESTABLISHED).is_err() {
            d.reason = "client went away".into();
            return;
        }
        d.bytes_down += ESTABLISHED.len() as u64;
        u
    };
    slot.track(&upstream);
    d.allowed = true;
    d.verdict = Verdict::Allowed;
    d.reason = allowed_by;
    if !early.is_empty() {
        if let Err(e) = (&upstream).write_all(&early) {
            d.reason = format!("{} (upstream write failed: {e})", d.reason);
            return;
        }
        d.bytes_up += early.len() as u64;
    }
    let r = relay(client, &upstream, Some(cfg.idle_timeout));
    d.bytes_up += r.up;
    d.bytes_down += r.down;
    match r.outcome {
        Outcome::Closed => {}
        Outcome::IdleTimeout => tracing::debug!(host = %auth.host, "tunnel idle, closed"),
        Outcome::Failed(e) => tracing::debug!(host = %auth.host, error = %e, "tunnel ended"),
    }
}

const ESTABLISHED: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";

/// Reads the client's first bytes into `early` until they parse (bounded by `MAX_HELLO`): a
/// whole ClientHello, or bytes that are not TLS. `what` names the expected start in errors.
pub(super) fn read_hello(
    client: &TcpStream,
    early: &mut Vec<u8>,
    what: &str,
) -> Result<ClientHello, String> {
    let mut buf = [0u8; 4096];
    loop {
        match parse_client_hello(early) {
            ClientHello::Malformed(m) => return Err(format!("malformed TLS ClientHello: {m}")),
            ClientHello::Incomplete if early.len() >= MAX_HELLO => {
                return Err(format!("TLS ClientHello larger than {MAX_HELLO} bytes"))
            }
            ClientHello::Incomplete => {}
            done => return Ok(done),
        }
        let want = buf.len().min(MAX_HELLO - early.len());
        match (&*client).read(&mut buf[..want]) {
            Ok(0) => return Err(format!("client closed before sending {what}")),
            Ok(n) => early.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading {what} from the client: {e}")),
        }
    }
}

/// Reads the ClientHello (bounded) into `early` and checks its SNI against the CONNECT host.
fn check_sni(client: &TcpStream, auth: &Authority, early: &mut Vec<u8>) -> Result<(), String> {
    match read_hello(client, early, "a TLS ClientHello")? {
        ClientHello::Parsed { sni: Some(sni) } if sni == auth.host => Ok(()),
        ClientHello::Parsed { sni: Some(sni) } => {
            Err(format!("SNI {sni} does not match requested host"))
        }
        ClientHello::Parsed { sni: None } if auth.is_ip() => Ok(()),
        ClientHello::Parsed { sni: None } => {
            Err("TLS ClientHello without SNI for a named host".into())
        }
        ClientHello::NotTls if auth.is_ip() => Ok(()),
        _ => Err("port 443 tunnel did not start with a TLS ClientHello".into()),
    }
}

/// A plain-HTTP request's Host header, if any, must name its target.
fn check_host_header(req: &Request, auth: &Authority) -> Result<(), (u16, &'static str)> {
    let hosts: Vec<&Header> = headers_named(&req.headers, "host").collect();
    match hosts.as_slice() {
        [] => Ok(()),
        [h] => match h.value_str().map(|v| parse_authority(v, Some(80))) {
            Some(Ok(a)) if a == *auth => Ok(()),
            Some(Ok(_)) => Err((403, "Host header does not match target")),
            _ => Err((400, "malformed Host header")),
        },
        _ => Err((400, "more than one Host header")),
    }
}

fn handle_http(
    sh: &Shared,
    slot: &Slot,
    client: &TcpStream,
    mut reader: BufReader<TcpStream>,
    (req, raw_head): (&Request, &[u8]),
    d: &mut Decision,
) {
    let cfg = &sh.cfg;
    let (auth, origin) = match parse_absolute(&req.target) {
        Ok(x) => x,
        Err(m) => return refuse(client, d, (400, Verdict::BadRequest), m, &[]),
    };
    if let Err((status, why)) = check_host_header(req, &auth) {
        return refuse(client, d, (status, Verdict::BadRequest), why, &[]);
    }
    let body = match request_body(req) {
        Ok(b) => b,
        Err(m) => return refuse(client, d, (400, Verdict::BadRequest), m, &[]),
    };
    let (addrs, allowed_by) = match admit(cfg, &auth) {
        Ok(x) => x,
        Err(Deny(status, verdict, reason)) => {
            return refuse(client, d, (status, verdict), &reason, &[])
        }
    };
    let upstream = match connect(&addrs, cfg.connect_timeout) {
        Ok(u) => u,
        Err(reason) => return refuse(client, d, (502, Verdict::Unreachable), &reason, &[]),
    };
    slot.track(&upstream);
    let bytes = (raw_head, reader.buffer());
    let Some(allowed_by) =
        plain_credentials(sh, client, &upstream, (&auth, &addrs), bytes, allowed_by, d)
    else {
        return;
    };
    if upstream.set_read_timeout(Some(cfg.idle_timeout)).is_err()
        || upstream.set_write_timeout(Some(cfg.idle_timeout)).is_err()
    {
        return refuse(
            client,
            d,
            (502, Verdict::Unreachable),
            "cannot configure upstream socket",
            &[],
        );
    }
    d.allowed = true;
    d.verdict = Verdict::Allowed;
    d.reason = allowed_by;
    let head = upstream_request_head(req, &auth, &origin);
    if let Err(e) = (&upstream).write_all(&head) {
        return refuse(
            client,
            d,
            (502, Verdict::Unreachable),
            &format!("upstream write failed: {e}"),
            &[],
        );
    }
    d.bytes_up += head.len() as u64;

    // The body goes up on its own thread while this one waits for the response: a client
    // sending `Expect: 100-continue` waits for the upstream's 100 before its body.
    let (up_bytes, result) = thread::scope(|s| {
        let send_body = || {
            let mut w = Counting {
                inner: &upstream,
                count: 0,
            };
            if let Err(e) = copy_body(&mut reader, &mut w, body) {
                tracing::debug!(error = %e, "request body not forwarded completely");
                let _ = upstream.shutdown(Shutdown::Write);
            }
            w.count
        };
        let body_thread = if body == BodyLen::Empty {
            None
        } else {
            match thread::Builder::new()
                .name("agentbox-proxy-body".into())
                .stack_size(256 * 1024)
                .spawn_scoped(s, send_body)
            {
                Ok(t) => Some(t),
                Err(e) => {
                    let _ = upstream.shutdown(Shutdown::Both);
                    return (0, (0, Err(e)));
                }
            }
        };
        let mut cw = Counting {
            inner: client,
            count: 0,
        };
        let result = relay_response(&upstream, &mut cw, &req.method);
        // Unblock the body thread if the upstream answered before reading the whole body.
        let _ = upstream.shutdown(Shutdown::Both);
        let _ = client.shutdown(Shutdown::Read);
        let up = body_thread.map_or(0, |t| t.join().unwrap_or(0));
        (up, (cw.count, result))
    });
    d.bytes_up += up_bytes;
    let (down, result) = result;
    d.bytes_down += down;
    if let Err(e) = result {
        if down == 0 {
            let reason = format!("upstream error: {e}");
            let _ = (&*client).write_all(&http::error_response(502, &reason, &[]));
        }
        d.reason = format!("{} (upstream error: {e})", d.reason);
    }
}

/// A plain request to a credential's host goes to the injection exchange (`None`: handled
/// there); for any other host its placeholders are counted and `allowed_by` comes back.
fn plain_credentials(
    sh: &Shared,
    client: &TcpStream,
    upstream: &TcpStream,
    (auth, addrs): (&http::Authority, &[SocketAddr]),
    (raw_head, buffered): (&[u8], &[u8]),
    allowed_by: String,
    d: &mut Decision,
) -> Option<String> {
    let Some(inj) = &sh.cfg.inject else {
        return Some(allowed_by);
    };
    let rules = inj.rules(&auth.host, auth.port, Carrier::Clear);
    if !rules.inject.is_empty() {
        let mut early = raw_head.to_vec();
        early.extend_from_slice(buffered);
        let target = intercept::Target {
            auth,
            addrs,
            allowed_by,
        };
        intercept::clear(sh, client, upstream, rules, target, &early, d);
        return None;
    }
    for name in inj.placeholders_in(raw_head) {
        inject::add_use(&mut d.credentials, intercept::unchanged(name));
    }
    Some(allowed_by)
}

/// Hop-by-hop headers, never forwarded in either direction.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "upgrade",
];

/// Headers that `Connection: <name>` may not remove: they frame the message or name the host.
const FRAMING: &[&str] = &["host", "content-length", "transfer-encoding"];

/// Names listed in Connection headers (also hop-by-hop), minus the framing ones.
fn connection_listed(headers: &[Header]) -> Vec<String> {
    headers_named(headers, "connection")
        .filter_map(Header::value_str)
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty() && !FRAMING.contains(&t.as_str()))
        .collect()
}

fn forwardable<'a>(
    headers: &'a [Header],
    extra_drop: &'a [&'a str],
) -> impl Iterator<Item = &'a Header> {
    let listed = connection_listed(headers);
    headers.iter().filter(move |h| {
        let n = h.name.to_ascii_lowercase();
        !HOP_BY_HOP.contains(&n.as_str())
            && !listed.contains(&n)
            && !extra_drop.contains(&n.as_str())
    })
}

fn push_header(out: &mut Vec<u8>, h: &Header) {
    out.extend_from_slice(h.name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(&h.value);
    out.extend_from_slice(b"\r\n");
}

/// The request as the upstream sees it: origin-form, hop-by-hop headers gone, one request.
fn upstream_request_head(req: &Request, auth: &Authority, origin: &str) -> Vec<u8> {
    let mut out = format!("{} {} {}\r\n", req.method, origin, req.version).into_bytes();
    if headers_named(&req.headers, "host").next().is_none() {
        let host = match (auth.port, auth.host.contains(':')) {
            (80, true) => format!("[{}]", auth.host),
            (80, false) => auth.host.clone(),
            _ => auth.to_host_port(),
        };
        out.extend_from_slice(format!("Host: {host}\r\n").as_bytes());
    }
    for h in forwardable(&req.headers, &[]) {
        push_header(&mut out, h);
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

/// Reads the upstream's response and sends it to the client with `Connection: close`.
fn relay_response(
    upstream: &TcpStream,
    client: &mut Counting<&TcpStream>,
    method: &str,
) -> io::Result<()> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut ur = BufReader::with_capacity(IO_BUF, upstream);
    for _ in 0..=MAX_INTERIM {
        let head = match read_head(&mut ur, MAX_HEAD) {
            Ok(h) => h,
            Err(HeadError::Io(e)) => return Err(e),
            Err(HeadError::Closed | HeadError::Truncated) => {
                return Err(bad("upstream closed without a complete response"))
            }
            Err(HeadError::TooLarge) => return Err(bad("response head too large")),
        };
        let resp = parse_response(&head).map_err(|m| bad(&format!("malformed response: {m}")))?;
        if resp.status == 101 {
            return Err(bad("upstream switched protocols; upgrades need CONNECT"));
        }
        if (100..200).contains(&resp.status) {
            client.write_all(&head)?;
            continue;
        }
        let body = response_body(method, &resp).map_err(bad)?;
        // With both, Transfer-Encoding wins (RFC 9112 §6.3); drop the misleading length.
        let drop_cl: &[&str] = if body == BodyLen::Chunked {
            &["content-length"]
        } else {
            &[]
        };
        let status_end = head.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut out = head[..status_end].to_vec();
        for h in forwardable(&resp.headers, drop_cl) {
            push_header(&mut out, h);
        }
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        client.write_all(&out)?;
        return copy_body(&mut ur, client, body);
    }
    Err(bad("too many interim responses"))
}

mod intercept;
#[cfg(test)]
mod tests;
