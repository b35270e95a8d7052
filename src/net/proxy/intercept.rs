//! The proxy's side of credential injection. A CONNECT to a credential's host is answered,
//! then its first bytes decide: a TLS ClientHello (whose SNI must name the host) is terminated
//! here with a leaf certificate of the run's CA and a new TLS connection goes to the real host;
//! clear text is read as HTTP where the credential allows it (loopback, or a host declared
//! `http://`). A plain absolute-form request to such a host takes the same exchange. Anything
//! else is the usual tunnel.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;

use super::{Decision, Shared, Verdict, ESTABLISHED};
use crate::net::http::Authority;
use crate::net::inject::filter::{Exchange, Form};
use crate::net::inject::session::{self, Outcome, TlsNote};
use crate::net::inject::{Carrier, CredentialUse, HostRules, Injector};
use crate::net::relay::relay;
use crate::net::server::Slot;
use crate::net::sni::ClientHello;

/// The admitted target of a request.
pub(super) struct Target<'a> {
    pub auth: &'a Authority,
    pub addrs: &'a [SocketAddr],
    pub allowed_by: String,
}

/// A placeholder seen where it is not injected.
pub(super) fn unchanged(name: String) -> CredentialUse {
    CredentialUse {
        name,
        unchanged: 1,
        ..Default::default()
    }
}

/// What the client started the tunnel with.
enum Hello {
    Tls,
    Clear,
}

/// Reads the first bytes (bounded): a ClientHello whose SNI names the host, or clear text.
fn first_bytes(client: &TcpStream, auth: &Authority, early: &mut Vec<u8>) -> Result<Hello, String> {
    match super::read_hello(client, early, "anything")? {
        ClientHello::Parsed { sni: Some(sni) } if sni == auth.host => Ok(Hello::Tls),
        ClientHello::Parsed { sni: Some(sni) } => {
            Err(format!("SNI {sni} does not match requested host"))
        }
        ClientHello::Parsed { sni: None } if auth.is_ip() => Ok(Hello::Tls),
        ClientHello::Parsed { sni: None } => {
            Err("TLS ClientHello without SNI for a named host".into())
        }
        _ => Ok(Hello::Clear),
    }
}

/// A CONNECT to a credential's host.
pub(super) fn connect(
    sh: &Shared,
    slot: &Slot,
    client: &TcpStream,
    inj: &Arc<Injector>,
    t: Target<'_>,
    mut early: Vec<u8>,
    d: &mut Decision,
) {
    if (&*client).write_all(ESTABLISHED).is_err() {
        d.reason = "client went away".into();
        return;
    }
    d.bytes_down += ESTABLISHED.len() as u64;
    let (host, port) = (&t.auth.host, t.auth.port);
    let hello = match first_bytes(client, t.auth, &mut early) {
        Ok(h) => h,
        Err(reason) => {
            // Too late for an HTTP status: the 200 is out. Closing is the refusal.
            d.allowed = false;
            d.verdict = Verdict::BadRequest;
            d.reason = reason;
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    let upstream = match super::connect(t.addrs, sh.cfg.connect_timeout) {
        Ok(u) => u,
        Err(reason) => {
            d.verdict = Verdict::Unreachable;
            d.reason = reason;
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    slot.track(&upstream);
    match hello {
        Hello::Tls if inj.intercepts(host, port) => tls(sh, client, &upstream, inj, t, &early, d),
        Hello::Clear => {
            let rules = inj.rules(host, port, Carrier::Clear);
            if rules.inject.is_empty() {
                tunnel(sh, client, &upstream, t, &early, d);
            } else {
                let ex = Exchange::new(host, port, Form::Origin, rules);
                let o = session::run(
                    client,
                    None,
                    &early,
                    &upstream,
                    Ok(None),
                    ex,
                    sh.cfg.idle_timeout,
                );
                record(d, o, t.allowed_by);
            }
        }
        Hello::Tls => tunnel(sh, client, &upstream, t, &early, d),
    }
}

/// TLS terminated here: the box's client gets a leaf of the run's CA, the real host a new
/// TLS connection checked against the roots.
fn tls(
    sh: &Shared,
    client: &TcpStream,
    upstream: &TcpStream,
    inj: &Injector,
    t: Target<'_>,
    early: &[u8],
    d: &mut Decision,
) {
    let (host, port) = (&t.auth.host, t.auth.port);
    let Some(i) = inj.tls() else { return };
    let server = i
        .server_config(host)
        .and_then(|c| rustls::ServerConnection::new(c).map_err(|e| e.to_string()));
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            d.reason = format!("no certificate for {host}: {e}");
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    let up = i.client_config().and_then(|c| {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| format!("{host}: {e}"))?;
        rustls::ClientConnection::new(c, name)
            .map(Some)
            .map_err(|e| e.to_string())
    });
    let ex = Exchange::new(
        host,
        port,
        Form::Origin,
        inj.rules(host, port, Carrier::Tls),
    );
    let o = session::run(
        client,
        Some(server),
        early,
        upstream,
        up,
        ex,
        sh.cfg.idle_timeout,
    );
    record(d, o, t.allowed_by);
}

/// A plain absolute-form request to a credential's host that may have it in clear text.
pub(super) fn clear(
    sh: &Shared,
    client: &TcpStream,
    upstream: &TcpStream,
    rules: HostRules,
    t: Target<'_>,
    early: &[u8],
    d: &mut Decision,
) {
    let ex = Exchange::new(&t.auth.host, t.auth.port, Form::Absolute, rules);
    let o = session::run(
        client,
        None,
        early,
        upstream,
        Ok(None),
        ex,
        sh.cfg.idle_timeout,
    );
    record(d, o, t.allowed_by);
}

/// The usual tunnel, for what is not intercepted.
fn tunnel(
    sh: &Shared,
    client: &TcpStream,
    upstream: &TcpStream,
    t: Target<'_>,
    early: &[u8],
    d: &mut Decision,
) {
    d.allowed = true;
    d.verdict = Verdict::Allowed;
    d.reason = t.allowed_by;
    if let Err(e) = (&*upstream).write_all(early) {
        d.reason = format!("{} (upstream write failed: {e})", d.reason);
        return;
    }
    d.bytes_up += early.len() as u64;
    let r = relay(client, upstream, Some(sh.cfg.idle_timeout));
    d.bytes_up += r.up;
    d.bytes_down += r.down;
}

fn record(d: &mut Decision, o: Outcome, allowed_by: String) {
    d.bytes_up += o.up;
    d.bytes_down += o.down;
    d.credentials = o.uses;
    let names: Vec<&str> = d
        .credentials
        .iter()
        .filter(|u| u.injected > 0)
        .map(|u| u.name.as_str())
        .collect();
    match &o.tls {
        Some(TlsNote::ClientRefused(why)) => {
            d.allowed = false;
            d.verdict = Verdict::Incomplete;
            d.reason = format!("{why}: nothing was injected");
        }
        Some(TlsNote::UpstreamFailed(why)) => {
            d.allowed = false;
            d.verdict = Verdict::Unreachable;
            d.reason = format!("{why} (answered 502)");
        }
        _ => {
            d.allowed = true;
            d.verdict = Verdict::Allowed;
            d.reason = if names.is_empty() {
                format!("{allowed_by}; {} request(s), nothing injected", o.requests)
            } else {
                format!("{allowed_by}; injected {}", names.join(", "))
            };
            if let Some(e) = &o.error {
                d.reason = format!("{} ({e})", d.reason);
            }
        }
    }
    d.tls = o.tls;
}
