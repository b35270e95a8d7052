//! Credential injection: the box holds a placeholder, the proxy puts the real value in on the
//! way out, only in requests to that credential's hosts and only where the credential says (the
//! usual auth headers, the query string when asked), and takes it out of what those hosts send
//! back.
//!
//! - [`filter`]: the HTTP/1.1 exchange on one connection, both directions as push parsers
//!   (every request of a keep-alive connection, streamed bodies unbuffered, upgrades);
//! - [`tls`]: the per-run CA (its key only in memory), leaf certificates per host, and the
//!   upstream TLS configuration (system roots plus the caller's `SSL_CERT_FILE`);
//! - [`session`]: the poll(2) loop that runs an exchange between the box and the upstream, over
//!   TLS on both sides or in clear text (loopback, or a host declared `http://`).

pub(crate) mod chunks;
pub(crate) mod filter;
pub(crate) mod replace;
pub(crate) mod session;
pub mod tls;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Headers where a placeholder is replaced unless the credential names others too.
pub const AUTH_HEADERS: &[&str] = &["authorization", "x-api-key", "x-goog-api-key"];

/// A real credential value: kept in this process only, zeroed when dropped, never printed.
pub struct Secret(zeroize::Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps a value.
    pub fn new(v: Vec<u8>) -> Secret {
        Secret(zeroize::Zeroizing::new(v))
    }

    /// The bytes (for the substitution only).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// A host that receives a credential's real value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Normalized host name or IP literal.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Declared `http://`: substituted in clear text too.
    pub cleartext: bool,
}

/// One credential as the proxy uses it.
pub struct Credential {
    /// The variable name the box sees.
    pub name: String,
    /// The per-run placeholder the box holds (not a secret); exactly as long as the real value,
    /// which responses get replaced by it in place (`cred::placeholder` makes it so).
    pub placeholder: String,
    /// The real value.
    pub real: Secret,
    /// Hosts that get the real value.
    pub targets: Vec<Target>,
    /// Lower-case header names where the placeholder is replaced.
    pub headers: Vec<String>,
    /// Also in the query string.
    pub query: bool,
}

impl Credential {
    /// The real value (the run masks it in the box's output).
    pub fn real_bytes(&self) -> &[u8] {
        self.real.bytes()
    }
}

impl fmt::Debug for Credential {
    // By hand: the real value must never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("name", &self.name)
            .field("targets", &self.targets)
            .field("headers", &self.headers)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

/// How a connection to a host reached the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carrier {
    /// Inside TLS the proxy terminates.
    Tls,
    /// Clear text: absolute-form requests, or clear bytes in a CONNECT tunnel.
    Clear,
}

/// What the proxy needs for credential injection in one run.
pub struct Injector {
    creds: Vec<Arc<Credential>>,
    tls: Option<Arc<tls::Interceptor>>,
}

impl fmt::Debug for Injector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Injector")
            .field("credentials", &self.creds)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Loopback hosts get substitution in clear text: the traffic never leaves the machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Injector {
    /// The run's credentials; `tls` when any of them goes to an https host.
    pub fn new(creds: Vec<Credential>, tls: Option<tls::Interceptor>) -> Injector {
        Injector {
            creds: creds.into_iter().map(Arc::new).collect(),
            tls: tls.map(Arc::new),
        }
    }

    /// The TLS side (per-run CA), if any.
    pub fn tls(&self) -> Option<&Arc<tls::Interceptor>> {
        self.tls.as_ref()
    }

    /// Every placeholder of the run (the detector must never flag them).
    pub fn placeholders(&self) -> Vec<String> {
        self.creds.iter().map(|c| c.placeholder.clone()).collect()
    }

    /// The credentials injected for `host:port` carried by `how`, and the others (only
    /// noticed when their placeholder shows up there). Empty when nothing is injected.
    pub(crate) fn rules(&self, host: &str, port: u16, how: Carrier) -> HostRules {
        let mut inject = Vec::new();
        let mut others = Vec::new();
        for c in &self.creds {
            let here = c.targets.iter().any(|t| {
                t.host == host
                    && t.port == port
                    && match how {
                        Carrier::Tls => !t.cleartext && self.tls.is_some(),
                        Carrier::Clear => t.cleartext || is_loopback(host),
                    }
            });
            if here {
                inject.push(Arc::clone(c));
            } else {
                others.push(Arc::clone(c));
            }
        }
        HostRules { inject, others }
    }

    /// Whether a CONNECT to `host:port` is for a credential's host (then its first bytes
    /// decide: TLS is terminated here, clear text is read when allowed).
    pub(crate) fn wants(&self, host: &str, port: u16) -> bool {
        self.creds
            .iter()
            .any(|c| c.targets.iter().any(|t| t.host == host && t.port == port))
    }

    /// Whether a CONNECT to `host:port` is intercepted (TLS terminated here).
    pub(crate) fn intercepts(&self, host: &str, port: u16) -> bool {
        self.tls.is_some()
            && self.creds.iter().any(|c| {
                c.targets
                    .iter()
                    .any(|t| t.host == host && t.port == port && !t.cleartext)
            })
    }

    /// Whether any placeholder occurs in `bytes` (for traffic that is not intercepted).
    pub(crate) fn placeholders_in(&self, bytes: &[u8]) -> Vec<String> {
        self.creds
            .iter()
            .filter(|c| contains(bytes, c.placeholder.as_bytes()))
            .map(|c| c.name.clone())
            .collect()
    }
}

/// The credentials of one connection.
pub(crate) struct HostRules {
    /// Injected here.
    pub inject: Vec<Arc<Credential>>,
    /// Not injected here: their placeholder is only counted when seen.
    pub others: Vec<Arc<Credential>>,
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// What happened to one credential on one connection (names and counts only).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CredentialUse {
    /// The variable name.
    pub name: String,
    /// Requests it was injected into.
    #[serde(skip_serializing_if = "is_zero")]
    pub injected: u64,
    /// Requests where its placeholder went out unchanged (a host or a place it is not for).
    #[serde(skip_serializing_if = "is_zero")]
    pub unchanged: u64,
    /// Times its real value came back from the host and was replaced by the placeholder.
    #[serde(skip_serializing_if = "is_zero")]
    pub masked: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Adds `u` into `list` by name.
pub(crate) fn add_use(list: &mut Vec<CredentialUse>, u: CredentialUse) {
    if u.injected == 0 && u.unchanged == 0 && u.masked == 0 {
        return;
    }
    match list.iter_mut().find(|x| x.name == u.name) {
        Some(x) => {
            x.injected += u.injected;
            x.unchanged += u.unchanged;
            x.masked += u.masked;
        }
        None => list.push(u),
    }
}
