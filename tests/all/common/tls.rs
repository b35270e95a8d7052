//! Servers on 127.0.0.1 that record what they receive, in clear text or over TLS with a test CA
//! made by the test (rcgen), for the credential tests: a server must see the real value, and
//! the box only the placeholder. Bounded: a few hundred connections, read timeouts.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// A CA made for one test, its certificate in a world-readable PEM file.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate (PEM file).
    pub pem: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCa {
    /// A new CA; `name` goes into its subject.
    pub fn new(name: &str) -> TestCa {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("agentbox-ca-")
            .tempdir_in("/var/tmp")
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let pem = dir.path().join("ca.pem");
        std::fs::write(&pem, pem_of(cert.der())).unwrap();
        std::fs::set_permissions(&pem, std::fs::Permissions::from_mode(0o644)).unwrap();
        TestCa {
            issuer: Issuer::new(p, key),
            pem,
            _dir: dir,
        }
    }

    /// A TLS server configuration for 127.0.0.1 and localhost signed by this CA.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let p =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], der)
            .unwrap();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(cfg)
    }
}

fn pem_of(der: &[u8]) -> String {
    use std::fmt::Write as _;
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for c in der.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            b64.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        let _ = writeln!(s, "{}", std::str::from_utf8(line).unwrap());
    }
    s.push_str("-----END CERTIFICATE-----\n");
    s
}

/// One request a server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Request line and headers.
    pub head: String,
    /// Body.
    pub body: Vec<u8>,
}

impl Received {
    /// The request path.
    pub fn path(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or_default()
    }

    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }
}

/// What a server answers: status line and headers (without the length) and the body; the
/// body may be sent as chunks (a list) to test streaming.
pub struct Reply {
    pub head: String,
    pub chunks: Vec<Vec<u8>>,
}

impl Reply {
    /// `200 OK` with a plain body.
    pub fn ok(body: &str) -> Reply {
        Reply {
            head: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n".into(),
            chunks: vec![body.as_bytes().to_vec()],
        }
    }
}

/// The handler of a recording server.
pub type Handler = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// A recording server on 127.0.0.1.
pub struct Recorder {
    /// Its port.
    pub port: u16,
    /// Every request, in order.
    pub seen: Arc<Mutex<Vec<Received>>>,
}

impl Recorder {
    /// Starts one; with `tls`, HTTPS.
    pub fn start(tls: Option<Arc<rustls::ServerConfig>>, handler: Handler) -> Recorder {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        std::thread::spawn(move || {
            for s in l.incoming().take(300) {
                let Ok(s) = s else { continue };
                let (tls, seen, h) = (tls.clone(), s2.clone(), handler.clone());
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                    match tls {
                        Some(cfg) => {
                            let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(conn, s), &seen, &h);
                        }
                        None => serve(s, &seen, &h),
                    }
                });
            }
        });
        Recorder { port, seen }
    }

    /// Plain text OK for every request.
    pub fn ok(tls: Option<Arc<rustls::ServerConfig>>) -> Recorder {
        Recorder::start(tls, Arc::new(|_| Reply::ok("ok-recorded")))
    }

    /// Everything received, as one text (heads and bodies).
    pub fn all(&self) -> String {
        let v = self.seen.lock().unwrap();
        v.iter()
            .map(|s| format!("{}{}", s.head, String::from_utf8_lossy(&s.body)))
            .collect()
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

/// Keep-alive HTTP/1.1: requests until the client closes.
fn serve<S: Read + Write>(mut s: S, seen: &Mutex<Vec<Received>>, h: &Handler) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 16384];
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match s.read(&mut tmp) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let mut r = Received {
            head,
            body: Vec::new(),
        };
        let len: usize = r
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if r.header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked"))
        {
            r.body = read_chunked(&mut s, &mut buf);
        } else {
            while buf.len() < len {
                match s.read(&mut tmp) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&tmp[..n]),
                }
            }
            r.body = buf.drain(..len).collect();
        }
        seen.lock().unwrap().push(r.clone());
        let reply = h(&r);
        let mut out = reply.head.into_bytes();
        if reply.chunks.len() == 1 {
            out.extend_from_slice(
                format!("Content-Length: {}\r\n\r\n", reply.chunks[0].len()).as_bytes(),
            );
            out.extend_from_slice(&reply.chunks[0]);
            if s.write_all(&out).and_then(|_| s.flush()).is_err() {
                return;
            }
        } else {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            if s.write_all(&out).and_then(|_| s.flush()).is_err() {
                return;
            }
            for c in &reply.chunks {
                let mut part = format!("{:x}\r\n", c.len()).into_bytes();
                part.extend_from_slice(c);
                part.extend_from_slice(b"\r\n");
                if s.write_all(&part).and_then(|_| s.flush()).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if s.write_all(b"0\r\n\r\n").and_then(|_| s.flush()).is_err() {
                return;
            }
        }
    }
}

fn read_chunked<S: Read>(s: &mut S, buf: &mut Vec<u8>) -> Vec<u8> {
    let mut body = Vec::new();
    let mut tmp = [0u8; 16384];
    let mut fill = |buf: &mut Vec<u8>| match s.read(&mut tmp) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&tmp[..n]);
            true
        }
    };
    loop {
        let line_end = loop {
            if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                break i;
            }
            if !fill(buf) {
                return body;
            }
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&buf[..line_end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        buf.drain(..line_end + 2);
        while buf.len() < size + 2 {
            if !fill(buf) {
                return body;
            }
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
        if size == 0 {
            return body;
        }
    }
}

/// A world-readable copy of `text` in a temporary directory (for the unprivileged user).
pub fn readable_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    p
}
