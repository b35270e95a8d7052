//! TLS for intercepted hosts: a CA made in memory for this run (its private key never leaves
//! this process; only its certificate is written, for the box to trust), a leaf certificate
//! per host made on first use and kept for the run, and the upstream side, which checks the
//! real host's certificate against the system roots plus the caller's `SSL_CERT_FILE`.
//! rustls with the ring provider and rcgen: no cryptography of agentbox's own.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::net::server::lock;

/// The one protocol offered on both sides: the exchange filter speaks HTTP/1.1.
const ALPN: &[u8] = b"http/1.1";

/// How long the CA and leaf certificates are valid (a run longer than this gets new leaves
/// refused by clients; a day of clock skew is tolerated).
const VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);
const SKEW: Duration = Duration::from_secs(24 * 3600);

/// Where Linux distributions keep their CA bundle (Debian/Ubuntu first).
pub const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
];

/// Why the interception could not be set up.
#[derive(Debug)]
pub struct TlsError(pub String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// The run's CA, its leaf certificates and the upstream configuration.
pub struct Interceptor {
    ca_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    leaves: Mutex<HashMap<String, Arc<rustls::ServerConfig>>>,
    roots: Vec<PathBuf>,
    client: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl fmt::Debug for Interceptor {
    // By hand: the CA's key stays out of every log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interceptor")
            .field("roots", &self.roots)
            .finish_non_exhaustive()
    }
}

fn validity(p: &mut CertificateParams) -> Result<(), TlsError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| TlsError("the clock is before 1970".into()))?;
    let at = |d: Duration| {
        time::OffsetDateTime::from_unix_timestamp(d.as_secs() as i64)
            .map_err(|_| TlsError("the clock is out of range".into()))
    };
    p.not_before = at(now.saturating_sub(SKEW))?;
    p.not_after = at(now + VALIDITY)?;
    let mut serial = [0u8; 16];
    crate::cred::random(&mut serial).map_err(|e| TlsError(format!("getrandom: {e}")))?;
    serial[0] &= 0x7f;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(())
}

fn rc(e: rcgen::Error) -> TlsError {
    TlsError(format!("certificate: {e}"))
}

impl Interceptor {
    /// A fresh CA; `roots`: the PEM files upstream certificates are checked against.
    pub fn new(roots: Vec<PathBuf>) -> Result<Interceptor, TlsError> {
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "agentbox");
        dn.push(
            DnType::CommonName,
            "agentbox per-run CA (credential injection)",
        );
        p.distinguished_name = dn;
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut p)?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(rc)?;
        let cert = p.self_signed(&key).map_err(rc)?;
        Ok(Interceptor {
            ca_der: cert.der().clone(),
            issuer: Issuer::new(p, key),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            leaves: Mutex::new(HashMap::new()),
            roots,
            client: OnceLock::new(),
        })
    }

    /// The CA certificate, PEM (public: the box trusts it).
    pub fn ca_pem(&self) -> String {
        pem("CERTIFICATE", &self.ca_der)
    }

    /// Loads the upstream roots on a thread of its own (after the fork), so the first
    /// intercepted request does not wait for the parsing.
    pub fn warm(self: &Arc<Self>) {
        let me = Arc::clone(self);
        let _ = std::thread::Builder::new()
            .name("agentbox-tls-roots".into())
            .spawn(move || {
                let _ = me.client_config();
            });
    }

    /// The server side for `host`: a leaf certificate signed by the run's CA, made once.
    pub(crate) fn server_config(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, String> {
        if let Some(c) = lock(&self.leaves).get(host) {
            return Ok(Arc::clone(c));
        }
        let cfg = Arc::new(self.leaf(host).map_err(|e| e.0)?);
        lock(&self.leaves).insert(host.to_string(), Arc::clone(&cfg));
        Ok(cfg)
    }

    fn leaf(&self, host: &str) -> Result<rustls::ServerConfig, TlsError> {
        let mut p = CertificateParams::new(vec![host.to_string()]).map_err(rc)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, host);
        p.distinguished_name = dn;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.use_authority_key_identifier_extension = true;
        validity(&mut p)?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(rc)?;
        let cert = p.signed_by(&key, &self.issuer).map_err(rc)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], der)
            .map_err(|e| TlsError(e.to_string()))?;
        cfg.alpn_protocols = vec![ALPN.to_vec()];
        Ok(cfg)
    }

    /// The upstream side: the real host's certificate checked against the roots.
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.client
            .get_or_init(|| {
                let roots = load_roots(&self.roots)?;
                let mut cfg =
                    rustls::ClientConfig::builder_with_provider(Arc::clone(&self.provider))
                        .with_safe_default_protocol_versions()
                        .map_err(|e| e.to_string())?
                        .with_root_certificates(roots)
                        .with_no_client_auth();
                cfg.alpn_protocols = vec![ALPN.to_vec()];
                Ok(Arc::new(cfg))
            })
            .clone()
    }
}

/// Every certificate of the PEM files, as trust anchors.
fn load_roots(files: &[PathBuf]) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    for f in files {
        let Ok(it) = CertificateDer::pem_file_iter(f) else {
            tracing::debug!("cannot read CA file {}", f.display());
            continue;
        };
        let certs: Vec<_> = it.flatten().collect();
        let (added, ignored) = store.add_parsable_certificates(certs);
        tracing::debug!("{}: {added} roots, {ignored} ignored", f.display());
    }
    if store.is_empty() {
        return Err(
            "no trusted root certificates: no system CA bundle (install ca-certificates) and no SSL_CERT_FILE"
                .into(),
        );
    }
    Ok(store)
}

/// The system CA bundle, if this machine has one of the usual ones.
pub fn system_bundle() -> Option<PathBuf> {
    SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// What the box trusts: the caller's own trust (its `SSL_CERT_FILE` when set, else the system
/// bundle) plus the run's CA, so every other TLS connection keeps working.
pub fn box_bundle(caller: Option<&Path>, ca_pem: &str) -> Vec<u8> {
    let own = caller
        .map(Path::to_path_buf)
        .or_else(system_bundle)
        .and_then(|p| std::fs::read(p).ok())
        .unwrap_or_default();
    let mut out = own;
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(b"# agentbox per-run CA (credential injection)\n");
    out.extend_from_slice(ca_pem.as_bytes());
    out
}

/// PEM armour (RFC 7468) around DER.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = crate::net::http::base64(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(line));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_and_leaves() {
        let i = Interceptor::new(vec![]).unwrap();
        let pem = i.ca_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let back = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(back, i.ca_der);
        let a = i.server_config("api.example.com").unwrap();
        let b = i.server_config("api.example.com").unwrap();
        assert!(Arc::ptr_eq(&a, &b), "leaf cached for the run");
        i.server_config("127.0.0.1").unwrap();
        assert!(format!("{i:?}").contains("Interceptor"));
    }

    #[test]
    fn no_roots_is_an_error() {
        let i = Interceptor::new(vec![PathBuf::from("/nonexistent")]).unwrap();
        assert!(i.client_config().unwrap_err().contains("no trusted root"));
    }
}
