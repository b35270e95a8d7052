//! The loop that carries one intercepted connection: both sockets non-blocking under poll(2),
//! TLS on either side through rustls' connection state (or clear text), and the plaintext of
//! each direction through the [`Exchange`]. One thread, full duplex: a request body and its
//! response can flow at once (`Expect: 100-continue`, streamed uploads), and after an upgrade
//! the loop is a plain relay of the decrypted bytes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use rustls::AlertDescription;

use super::filter::{Exchange, Refused};
use super::CredentialUse;
use crate::net::http;

/// Plaintext waiting for one side before the other side is read no more (backpressure).
const CAP: usize = 1024 * 1024;
/// Read buffer.
const BUF: usize = 64 * 1024;
/// How long a closed connection waits for the box to close its side.
const LINGER: Duration = Duration::from_secs(1);
/// The box's client left during agentbox's TLS handshake.
const HANDSHAKE_CLOSED: &str = "the client closed the connection during the TLS handshake (it \
                                pins certificates or does not trust the per-run CA)";

/// What the TLS layer of an intercepted connection came to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum TlsNote {
    /// Terminated here with the run's CA; a new TLS connection to the real host.
    Intercepted,
    /// The box's client refused agentbox's certificate: it pins certificates, or does not
    /// trust the per-run CA.
    ClientRefused(String),
    /// TLS with the real host failed (answered 502).
    UpstreamFailed(String),
}

/// How an intercepted connection went.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Wire bytes to the upstream.
    pub up: u64,
    /// Wire bytes to the box.
    pub down: u64,
    /// Requests seen.
    pub requests: u64,
    /// Per credential.
    pub uses: Vec<CredentialUse>,
    /// The TLS side, when intercepted.
    pub tls: Option<TlsNote>,
    /// A refusal or failure, for the decision's reason.
    pub error: Option<String>,
}

/// One side: its socket, its TLS state (none in clear text), plaintext to send.
struct End<'a> {
    sock: &'a TcpStream,
    tls: Option<rustls::Connection>,
    out: Vec<u8>,
    /// The peer's data ended (close_notify, or the TCP stream).
    eof: bool,
    /// We are done sending: close once `out` is flushed.
    closing: bool,
    shut: bool,
    wire_out: u64,
}

enum Failure {
    Tls(rustls::Error),
    Io(io::Error),
}

impl<'a> End<'a> {
    fn new(sock: &'a TcpStream, tls: Option<rustls::Connection>) -> End<'a> {
        End {
            sock,
            tls,
            out: Vec::new(),
            eof: false,
            closing: false,
            shut: false,
            wire_out: 0,
        }
    }

    fn handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    /// Feeds bytes already read from the socket (a ClientHello read for the SNI check).
    fn feed_early(&mut self, mut early: &[u8]) -> Result<(), Failure> {
        if let Some(t) = &mut self.tls {
            while !early.is_empty() {
                t.read_tls(&mut early).map_err(Failure::Io)?;
                t.process_new_packets().map_err(Failure::Tls)?;
            }
        }
        Ok(())
    }

    /// Reads what is there; plaintext goes to `plain`.
    fn read(&mut self, plain: &mut Vec<u8>, scratch: &mut [u8]) -> Result<(), Failure> {
        let mut sock = self.sock;
        let Some(t) = &mut self.tls else {
            loop {
                match sock.read(scratch) {
                    Ok(0) => {
                        self.eof = true;
                        return Ok(());
                    }
                    Ok(n) => plain.extend_from_slice(&scratch[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Failure::Io(e)),
                }
                if plain.len() >= CAP {
                    return Ok(());
                }
            }
        };
        let mut tcp_eof = false;
        loop {
            match t.read_tls(&mut sock) {
                Ok(0) => {
                    tcp_eof = true;
                    break;
                }
                Ok(_) => {
                    t.process_new_packets().map_err(Failure::Tls)?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Failure::Io(e)),
            }
            if plain.len() >= CAP {
                break;
            }
            // Hand over what is decrypted before reading more: the buffer in rustls is bounded.
            drain_plain(t, plain, scratch, &mut self.eof)?;
        }
        drain_plain(t, plain, scratch, &mut self.eof)?;
        if tcp_eof {
            self.eof = true;
        }
        Ok(())
    }

    /// Sends what it can of `out`, the TLS records, and the close when due.
    fn flush(&mut self) -> io::Result<()> {
        let mut sock = self.sock;
        match &mut self.tls {
            None => {
                while !self.out.is_empty() {
                    match sock.write(&self.out) {
                        Ok(n) => {
                            self.out.drain(..n);
                            self.wire_out += n as u64;
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Some(t) => loop {
                if !self.out.is_empty() && !t.is_handshaking() {
                    let n = t.writer().write(&self.out)?;
                    self.out.drain(..n);
                }
                if !t.wants_write() {
                    break;
                }
                match t.write_tls(&mut sock) {
                    Ok(n) => self.wire_out += n as u64,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            },
        }
        if self.closing && !self.shut && self.out.is_empty() && !self.wants_tls_write() {
            if let Some(t) = &mut self.tls {
                t.send_close_notify();
                while t.wants_write() {
                    match t.write_tls(&mut sock) {
                        Ok(n) => self.wire_out += n as u64,
                        Err(_) => break,
                    }
                }
            }
            let _ = self.sock.shutdown(Shutdown::Write);
            self.shut = true;
        }
        Ok(())
    }

    fn wants_tls_write(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    fn events(&self, room: bool) -> PollFlags {
        let mut f = PollFlags::empty();
        if !self.eof && room {
            f |= PollFlags::POLLIN;
        }
        if !self.out.is_empty() || self.wants_tls_write() {
            f |= PollFlags::POLLOUT;
        }
        f
    }
}

fn drain_plain(
    t: &mut rustls::Connection,
    plain: &mut Vec<u8>,
    scratch: &mut [u8],
    eof: &mut bool,
) -> Result<(), Failure> {
    loop {
        match t.reader().read(scratch) {
            Ok(0) => {
                *eof = true;
                return Ok(());
            }
            Ok(n) => plain.extend_from_slice(&scratch[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // The peer closed without close_notify: the end of its data all the same.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                *eof = true;
                return Ok(());
            }
            Err(e) => return Err(Failure::Io(e)),
        }
    }
}

/// Why the box's client ended the TLS handshake, in words for the summary.
fn client_refusal(e: &rustls::Error) -> Option<String> {
    match e {
        rustls::Error::AlertReceived(a)
            if matches!(
                a,
                AlertDescription::BadCertificate
                    | AlertDescription::UnknownCA
                    | AlertDescription::CertificateUnknown
                    | AlertDescription::UnsupportedCertificate
                    | AlertDescription::CertificateExpired
                    | AlertDescription::AccessDenied
            ) =>
        {
            Some(format!("the client refused agentbox's certificate ({a:?})"))
        }
        _ => None,
    }
}

/// Runs `ex` between `client` (TLS server side when `client_tls`) and `upstream` until both
/// are done, one fails, or nothing moves for `idle`.
pub(crate) fn run(
    client: &TcpStream,
    client_tls: Option<rustls::ServerConnection>,
    early: &[u8],
    upstream: &TcpStream,
    upstream_tls: Result<Option<rustls::ClientConnection>, String>,
    mut ex: Exchange,
    idle: Duration,
) -> Outcome {
    let intercepted = client_tls.is_some();
    let mut c = End::new(client, client_tls.map(rustls::Connection::from));
    let (upstream_tls, upstream_failed) = match upstream_tls {
        Ok(t) => (t, None),
        Err(why) => (None, Some(format!("TLS with the upstream failed: {why}"))),
    };
    let mut u = End::new(upstream, upstream_tls.map(rustls::Connection::from));
    let mut o = Outcome {
        up: 0,
        down: 0,
        requests: 0,
        uses: Vec::new(),
        tls: intercepted.then_some(TlsNote::Intercepted),
        error: None,
    };
    let r = (|| -> io::Result<()> {
        client.set_nonblocking(true)?;
        upstream.set_nonblocking(true)
    })();
    if let Err(e) = r {
        o.error = Some(format!("socket set-up: {e}"));
        return o;
    }
    if let Err(f) = c.feed_early(early) {
        note_client_failure(&mut o, f, true);
        return o;
    }
    if let Some(why) = &upstream_failed {
        o.tls = Some(TlsNote::UpstreamFailed(why.clone()));
    }
    let mut state = Loop {
        upstream_failed,
        scratch: vec![0u8; BUF],
        // In clear text the bytes read before are plaintext already.
        cplain: if intercepted {
            Vec::new()
        } else {
            early.to_vec()
        },
        uplain: Vec::new(),
        deferred: None,
    };
    let timeout = PollTimeout::try_from(idle).unwrap_or(PollTimeout::MAX);
    loop {
        if let Some(done) = state.step(&mut c, &mut u, &mut ex, &mut o) {
            if done {
                break;
            }
        }
        if let Err(e) = c.flush().and_then(|_| u.flush()) {
            o.error.get_or_insert_with(|| format!("write failed: {e}"));
            break;
        }
        // Over when what the upstream sent is delivered and the box's side closed, when the box
        // left and nothing is owed to it, or when both sides were closed here.
        let delivered = u.eof && c.shut;
        let left = c.eof && u.shut && ex.idle();
        if delivered || left || (c.shut && (u.shut || state.upstream_failed.is_some())) {
            break;
        }
        let room_c = u.out.len() < CAP;
        let room_u = c.out.len() < CAP;
        let (ec, eu) = (
            c.events(room_c),
            u.events(room_u && state.upstream_failed.is_none()),
        );
        let mut fds = Vec::with_capacity(2);
        if !ec.is_empty() {
            fds.push(PollFd::new(client.as_fd(), ec));
        }
        if !eu.is_empty() {
            fds.push(PollFd::new(upstream.as_fd(), eu));
        }
        if fds.is_empty() {
            break;
        }
        match poll(&mut fds, timeout) {
            Ok(0) => {
                o.error.get_or_insert_with(|| "idle, closed".into());
                break;
            }
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                o.error.get_or_insert_with(|| format!("poll: {e}"));
                break;
            }
        }
    }
    state.settle_handshake(&mut c, &mut o);
    let _ = c.flush();
    if c.shut && !c.eof {
        linger(client);
    }
    o.up = u.wire_out;
    o.down = c.wire_out;
    o.requests = ex.requests;
    o.uses = ex.uses();
    o
}

/// Reads what the box still sends after the proxy closed its side, until it closes too
/// (bounded): closing with unread data would reset the connection, and the box could lose the
/// last response before reading it.
fn linger(client: &TcpStream) {
    let mut sock = client;
    if client.set_nonblocking(false).is_err() || client.set_read_timeout(Some(LINGER)).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    let mut left = CAP;
    while left > 0 {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

fn note_client_failure(o: &mut Outcome, f: Failure, handshaking: bool) {
    match f {
        Failure::Tls(e) => match client_refusal(&e) {
            Some(why) => o.tls = Some(TlsNote::ClientRefused(why)),
            None if handshaking => {
                o.tls = Some(TlsNote::ClientRefused(format!(
                    "TLS with the client failed: {e}"
                )))
            }
            None => o.error = Some(format!("TLS with the client failed: {e}")),
        },
        // A client that drops the connection over the certificate often resets it instead of
        // sending an alert (unread records on its side): during the handshake that is a refusal.
        Failure::Io(_) if handshaking => {
            o.tls = Some(TlsNote::ClientRefused(HANDSHAKE_CLOSED.into()))
        }
        Failure::Io(e) => o.error = Some(format!("client: {e}")),
    }
}

struct Loop {
    upstream_failed: Option<String>,
    scratch: Vec<u8>,
    cplain: Vec<u8>,
    uplain: Vec<u8>,
    /// The answer to a refused request that came after others still owed a response: sent
    /// once those are delivered, then the connection ends.
    deferred: Option<Vec<u8>>,
}

impl Loop {
    /// Reads both sides once and runs the exchange; `Some(true)` when the connection is over.
    fn step(
        &mut self,
        c: &mut End,
        u: &mut End,
        ex: &mut Exchange,
        o: &mut Outcome,
    ) -> Option<bool> {
        if !c.eof && u.out.len() < CAP {
            let hs = c.handshaking();
            if let Err(f) = c.read(&mut self.cplain, &mut self.scratch) {
                note_client_failure(o, f, hs);
                return Some(true);
            }
            if c.eof && hs && c.handshaking() {
                o.tls = Some(TlsNote::ClientRefused(HANDSHAKE_CLOSED.into()));
                return Some(true);
            }
        }
        if self.deferred.is_some() {
            // After a refused request what the box sends is dropped: nothing more goes up.
            self.cplain.clear();
        }
        if !self.cplain.is_empty() {
            if let Some(why) = &self.upstream_failed {
                // The box's request gets the reason, then the connection ends.
                c.out
                    .extend_from_slice(&http::error_response(502, why, &[]));
                c.closing = true;
                self.cplain.clear();
                return Some(false);
            }
            let data = std::mem::take(&mut self.cplain);
            if let Err(r) = ex.client_bytes(&data, &mut u.out) {
                self.refuse(c, u, ex, o, r);
                return Some(false);
            }
        }
        if c.eof && !u.closing {
            u.closing = true;
        }
        if !u.eof && self.upstream_failed.is_none() && c.out.len() < CAP {
            let hs = u.handshaking();
            match u.read(&mut self.uplain, &mut self.scratch) {
                Err(Failure::Tls(e)) => return self.upstream_tls_failed(c, ex, o, e.to_string()),
                Err(Failure::Io(e)) if hs => {
                    return self.upstream_tls_failed(c, ex, o, e.to_string())
                }
                Err(Failure::Io(e)) => {
                    o.error = Some(format!("upstream: {e}"));
                    return Some(true);
                }
                Ok(()) if u.eof && hs && u.handshaking() => {
                    return self.upstream_tls_failed(
                        c,
                        ex,
                        o,
                        "the host closed the connection".into(),
                    );
                }
                Ok(()) => {}
            }
        }
        if !self.uplain.is_empty() {
            let data = std::mem::take(&mut self.uplain);
            if let Err(r) = ex.upstream_bytes(&data, &mut c.out, &mut u.out) {
                o.error = Some(r.reason);
                c.closing = true;
                u.closing = true;
                return Some(false);
            }
        }
        if u.eof && self.upstream_failed.is_none() {
            ex.upstream_closed(&mut c.out);
            c.closing = true;
        }
        if ex.finished() {
            c.closing = true;
            u.closing = true;
        }
        if ex.idle() {
            if let Some(answer) = self.deferred.take() {
                c.out.extend_from_slice(&answer);
                c.closing = true;
                u.closing = true;
            }
        }
        None
    }

    /// The exchange refused a request: the box gets the status once nothing else is owed to it
    /// (the responses to the requests before it first), then the connection ends.
    fn refuse(&mut self, c: &mut End, u: &mut End, ex: &Exchange, o: &mut Outcome, r: Refused) {
        let answer = http::error_response(r.status, &r.reason, &[]);
        o.error = Some(r.reason);
        if ex.idle() {
            c.out.extend_from_slice(&answer);
            c.closing = true;
            u.closing = true;
        } else {
            self.deferred = Some(answer);
        }
    }

    /// The loop can end on something other than the box's client (a write that failed, an
    /// upstream shut by `stop` once the box is gone) after the client already gave up on
    /// agentbox's certificate: its alert or close is still in the socket buffer, readable even
    /// after a shutdown. Read it, so that the refusal is what gets recorded.
    fn settle_handshake(&mut self, c: &mut End, o: &mut Outcome) {
        if c.eof || !c.handshaking() {
            return;
        }
        match c.read(&mut self.cplain, &mut self.scratch) {
            Err(f) => note_client_failure(o, f, true),
            Ok(()) if c.eof && c.handshaking() => {
                o.tls = Some(TlsNote::ClientRefused(HANDSHAKE_CLOSED.into()));
            }
            Ok(()) => {}
        }
    }

    fn upstream_tls_failed(
        &mut self,
        c: &mut End,
        ex: &Exchange,
        o: &mut Outcome,
        why: String,
    ) -> Option<bool> {
        let reason = format!("TLS with the upstream failed: {why}");
        o.tls = Some(TlsNote::UpstreamFailed(reason.clone()));
        // The box hears the reason on its first request (its own handshake is agentbox's). A
        // request already taken while the upstream handshake was under way gets it now: its
        // bytes went to a connection that will never carry them.
        if ex.requests > 0 && !c.closing {
            c.out
                .extend_from_slice(&http::error_response(502, &reason, &[]));
            c.closing = true;
            self.cplain.clear();
        }
        self.upstream_failed = Some(reason);
        if c.eof {
            return Some(true);
        }
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::inject::tls::Interceptor;
    use std::net::TcpListener;
    use std::sync::Arc;

    /// Waits (bounded) until `s` has something to read.
    fn readable(s: &TcpStream) {
        let mut fds = [PollFd::new(s.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(10_000u16)).unwrap();
    }

    /// A box's client refused agentbox's certificate and left, and the run stopped (sockets
    /// shut) before the loop read its alert: the refusal is still what the outcome says, not
    /// the failure that ended the loop.
    #[test]
    fn a_refusal_sent_before_the_end_is_recorded() {
        let i = Interceptor::new(vec![]).unwrap();
        let server = rustls::ServerConnection::new(i.server_config("127.0.0.1").unwrap()).unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client_sock = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (proxy_side, _) = l.accept().unwrap();
        proxy_side.set_nonblocking(true).unwrap();
        // A client that trusts no CA: it answers agentbox's certificate with an alert.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
        let mut hello = Vec::new();
        client.write_tls(&mut hello).unwrap();
        let mut c = End::new(&proxy_side, Some(server.into()));
        assert!(c.feed_early(&hello).is_ok());
        c.flush().unwrap();
        let mut refused = false;
        for _ in 0..16 {
            if client.read_tls(&mut client_sock).unwrap() == 0 {
                break;
            }
            if client.process_new_packets().is_err() {
                refused = true;
                break;
            }
        }
        assert!(
            refused,
            "the client accepted a certificate of an unknown CA"
        );
        while client.wants_write() {
            client.write_tls(&mut client_sock).unwrap();
        }
        drop(client_sock);
        readable(&proxy_side);
        // What `stop` does at the end of the run.
        proxy_side.shutdown(Shutdown::Both).unwrap();
        let mut state = Loop {
            upstream_failed: None,
            scratch: vec![0u8; BUF],
            cplain: Vec::new(),
            uplain: Vec::new(),
            deferred: None,
        };
        let mut o = Outcome {
            up: 0,
            down: 0,
            requests: 0,
            uses: Vec::new(),
            tls: Some(TlsNote::Intercepted),
            error: Some("write failed: Broken pipe".into()),
        };
        state.settle_handshake(&mut c, &mut o);
        assert!(
            matches!(&o.tls, Some(TlsNote::ClientRefused(why)) if why.contains("refused agentbox's certificate")),
            "{o:?}"
        );
    }
}
