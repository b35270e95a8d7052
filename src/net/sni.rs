//! A small, bounds-checked TLS ClientHello reader: just enough to find the SNI host name.
//!
//! Works on the bytes a client sent into a CONNECT tunnel, possibly split over several TLS
//! records. Every read goes through [`Reader`], which returns `None` instead of indexing past
//! the end, so truncated or hostile input yields `Incomplete`/`Malformed`, never a panic.

/// Most bytes the proxy buffers while waiting for a complete ClientHello.
pub const MAX_HELLO: usize = 64 * 1024;

/// Largest TLS plaintext record body (RFC 8446 §5.1).
const MAX_RECORD: usize = 1 << 14;

/// What the first bytes of a tunnel say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientHello {
    /// Looks like TLS so far; more bytes are needed.
    Incomplete,
    /// Not a TLS handshake record at all.
    NotTls,
    /// Starts like TLS but breaks the format.
    Malformed(&'static str),
    /// A complete ClientHello; `sni` is the lower-case host name without trailing dot.
    Parsed {
        /// The `server_name` host name, if the client sent one.
        sni: Option<String>,
    },
}

/// Looks for a complete ClientHello at the start of `buf`.
pub fn parse_client_hello(buf: &[u8]) -> ClientHello {
    match buf.first() {
        None => return ClientHello::Incomplete,
        Some(22) => {}
        Some(_) => return ClientHello::NotTls,
    }
    if buf.len() >= 2 && buf[1] != 3 {
        return ClientHello::NotTls;
    }
    // Reassemble the handshake message from consecutive handshake records.
    let mut hs: Vec<u8> = Vec::new();
    let mut rest = buf;
    loop {
        let mut r = Reader::new(rest);
        let (Some(ctype), Some(major), Some(_minor), Some(len)) = (r.u8(), r.u8(), r.u8(), r.u16())
        else {
            return ClientHello::Incomplete;
        };
        if ctype != 22 {
            return ClientHello::Malformed("non-handshake record inside the ClientHello");
        }
        if major != 3 {
            return ClientHello::Malformed("bad record version");
        }
        let len = usize::from(len);
        if len == 0 || len > MAX_RECORD {
            return ClientHello::Malformed("bad record length");
        }
        let Some(fragment) = r.take(len) else {
            return ClientHello::Incomplete;
        };
        hs.extend_from_slice(fragment);
        rest = r.remaining();

        let mut h = Reader::new(&hs);
        let (Some(msg_type), Some(msg_len)) = (h.u8(), h.u24()) else {
            continue;
        };
        if msg_type != 1 {
            return ClientHello::Malformed("first handshake message is not a ClientHello");
        }
        if msg_len > MAX_HELLO {
            return ClientHello::Malformed("ClientHello too large");
        }
        if let Some(body) = h.take(msg_len) {
            return parse_body(body);
        }
    }
}

fn parse_body(body: &[u8]) -> ClientHello {
    match client_hello_sni(body) {
        Ok(sni) => ClientHello::Parsed { sni },
        Err(m) => ClientHello::Malformed(m),
    }
}

fn client_hello_sni(body: &[u8]) -> Result<Option<String>, &'static str> {
    const TRUNC: &str = "truncated ClientHello";
    let mut r = Reader::new(body);
    r.take(2 + 32).ok_or(TRUNC)?; // legacy_version, random
    let sid = usize::from(r.u8().ok_or(TRUNC)?);
    if sid > 32 {
        return Err("session id longer than 32 bytes");
    }
    r.take(sid).ok_or(TRUNC)?;
    let suites = usize::from(r.u16().ok_or(TRUNC)?);
    if suites < 2 || suites % 2 != 0 {
        return Err("bad cipher suite list");
    }
    r.take(suites).ok_or(TRUNC)?;
    let comp = usize::from(r.u8().ok_or(TRUNC)?);
    if comp < 1 {
        return Err("empty compression method list");
    }
    r.take(comp).ok_or(TRUNC)?;
    if r.is_empty() {
        return Ok(None); // no extensions at all (TLS 1.0-style hello)
    }
    let ext_len = usize::from(r.u16().ok_or(TRUNC)?);
    let mut exts = Reader::new(r.take(ext_len).ok_or(TRUNC)?);
    if !r.is_empty() {
        return Err("bytes after the extensions");
    }
    let mut sni: Option<Option<String>> = None;
    while !exts.is_empty() {
        let ty = exts.u16().ok_or(TRUNC)?;
        let len = usize::from(exts.u16().ok_or(TRUNC)?);
        let data = exts.take(len).ok_or(TRUNC)?;
        if ty == 0 {
            if sni.is_some() {
                return Err("duplicate server_name extension");
            }
            sni = Some(server_name(data)?);
        }
    }
    Ok(sni.flatten())
}

fn server_name(data: &[u8]) -> Result<Option<String>, &'static str> {
    const BAD: &str = "malformed server_name extension";
    let mut r = Reader::new(data);
    let list_len = usize::from(r.u16().ok_or(BAD)?);
    let mut list = Reader::new(r.take(list_len).ok_or(BAD)?);
    if !r.is_empty() || list.is_empty() {
        return Err(BAD);
    }
    let mut host = None;
    while !list.is_empty() {
        let name_type = list.u8().ok_or(BAD)?;
        let len = usize::from(list.u16().ok_or(BAD)?);
        let name = list.take(len).ok_or(BAD)?;
        if name_type != 0 {
            continue; // unknown name types are skipped, as RFC 6066 allows
        }
        if host.is_some() {
            return Err("more than one host_name in server_name");
        }
        host = Some(host_name(name)?);
    }
    Ok(host)
}

fn host_name(name: &[u8]) -> Result<String, &'static str> {
    const BAD: &str = "invalid host name in server_name";
    if name.is_empty() || name.len() > 254 {
        return Err(BAD);
    }
    if !name
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Err(BAD);
    }
    // All bytes are ASCII here, so this conversion cannot fail; map the impossible error anyway.
    let s = std::str::from_utf8(name).map_err(|_| BAD)?;
    let s = s.strip_suffix('.').unwrap_or(s);
    // Every label non-empty: `a..` would otherwise come out as `a.`, with a trailing dot.
    if s.split('.').any(str::is_empty) {
        return Err(BAD);
    }
    Ok(s.to_ascii_lowercase())
}

/// A cursor over a byte slice whose reads fail with `None` instead of panicking.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Builds a minimal TLS 1.2/1.3-shaped ClientHello record, for tests.
#[cfg(test)]
pub(crate) fn build_client_hello(sni: Option<&str>) -> Vec<u8> {
    let mut exts = Vec::new();
    if let Some(name) = sni {
        let n = name.as_bytes();
        let mut list = vec![0u8];
        list.extend_from_slice(&(n.len() as u16).to_be_bytes());
        list.extend_from_slice(n);
        let mut data = (list.len() as u16).to_be_bytes().to_vec();
        data.extend_from_slice(&list);
        exts.extend_from_slice(&0u16.to_be_bytes());
        exts.extend_from_slice(&(data.len() as u16).to_be_bytes());
        exts.extend_from_slice(&data);
    }
    // supported_versions: TLS 1.3, so the hello looks like a modern one.
    exts.extend_from_slice(&[0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[7u8; 32]);
    body.push(0); // session id
    body.extend_from_slice(&[0x00, 0x02, 0x13, 0x01]); // one cipher suite
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![1u8];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sni: Option<&str>) -> ClientHello {
        ClientHello::Parsed {
            sni: sni.map(str::to_string),
        }
    }

    #[test]
    fn finds_sni() {
        let h = build_client_hello(Some("Example.COM."));
        assert_eq!(parse_client_hello(&h), parsed(Some("example.com")));
    }

    #[test]
    fn hello_without_sni() {
        assert_eq!(parse_client_hello(&build_client_hello(None)), parsed(None));
    }

    #[test]
    fn every_truncation_is_incomplete_never_a_panic() {
        let h = build_client_hello(Some("api.example.com"));
        for n in 0..h.len() {
            assert_eq!(
                parse_client_hello(&h[..n]),
                ClientHello::Incomplete,
                "len {n}"
            );
        }
    }

    #[test]
    fn hello_split_over_two_records() {
        let h = build_client_hello(Some("split.example.com"));
        let hs = &h[5..];
        let (a, b) = hs.split_at(10);
        let mut two = Vec::new();
        for part in [a, b] {
            two.extend_from_slice(&[22, 3, 1]);
            two.extend_from_slice(&(part.len() as u16).to_be_bytes());
            two.extend_from_slice(part);
        }
        assert_eq!(parse_client_hello(&two), parsed(Some("split.example.com")));
        assert_eq!(parse_client_hello(&two[..20]), ClientHello::Incomplete);
    }

    #[test]
    fn not_tls() {
        assert_eq!(
            parse_client_hello(b"GET / HTTP/1.1\r\n"),
            ClientHello::NotTls
        );
        assert_eq!(parse_client_hello(b"SSH-2.0-OpenSSH"), ClientHello::NotTls);
        assert_eq!(parse_client_hello(&[22, 0x7f]), ClientHello::NotTls);
    }

    #[test]
    fn malformed_inputs() {
        // Record announcing more than 2^14 bytes.
        assert!(matches!(
            parse_client_hello(&[22, 3, 1, 0xff, 0xff]),
            ClientHello::Malformed(_)
        ));
        // ServerHello instead of ClientHello.
        let mut h = build_client_hello(Some("a.com"));
        h[5] = 2;
        assert!(matches!(parse_client_hello(&h), ClientHello::Malformed(_)));
        // Bad host name bytes.
        let mut h = build_client_hello(Some("a.com"));
        let at = h.windows(5).position(|w| w == b"a.com").unwrap();
        h[at] = b'\n';
        assert!(matches!(parse_client_hello(&h), ClientHello::Malformed(_)));
        // Extension length pointing past the end of the hello.
        let mut h = build_client_hello(Some("a.com"));
        let ext_len_at = 5 + 4 + 2 + 32 + 1 + 4 + 2;
        h[ext_len_at] = 0xff;
        assert!(matches!(parse_client_hello(&h), ClientHello::Malformed(_)));
    }

    #[test]
    fn empty_labels_are_malformed() {
        // Found by fuzzing (fuzz/ sni): `ExampleCOM..` came out as `examplecom.`. Minimized:
        // one record, one cipher suite, a server_name extension holding `a..`.
        let hello = [
            &[22, 3, 1, 0, 0x3b, 1, 0, 0, 0x37, 3, 3][..],
            &[0; 32],
            &[
                0, 0, 2, 0x13, 1, 1, 0, 0, 12, 0, 0, 0, 8, 0, 6, 0, 0, 3, b'a', b'.', b'.',
            ],
        ]
        .concat();
        assert!(matches!(
            parse_client_hello(&hello),
            ClientHello::Malformed(_)
        ));
        for bad in ["a..", ".a", "a..b", "."] {
            assert!(host_name(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(host_name(b"A.b.").unwrap(), "a.b");
    }

    #[test]
    fn duplicate_sni_extension_is_malformed() {
        let h = build_client_hello(Some("a.com"));
        let body_start = 5 + 4;
        let ext_len_at = body_start + 2 + 32 + 1 + 4 + 2;
        let ext_len = usize::from(u16::from_be_bytes([h[ext_len_at], h[ext_len_at + 1]]));
        let exts = &h[ext_len_at + 2..ext_len_at + 2 + ext_len];
        let sni_ext_len = 4 + usize::from(u16::from_be_bytes([exts[2], exts[3]]));
        let mut new_exts = exts.to_vec();
        new_exts.extend_from_slice(&exts[..sni_ext_len]);
        let mut body = h[body_start..ext_len_at].to_vec();
        body.extend_from_slice(&(new_exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&new_exts);
        let mut hs = vec![1u8];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        assert_eq!(
            parse_client_hello(&rec),
            ClientHello::Malformed("duplicate server_name extension")
        );
    }

    #[test]
    fn garbage_never_panics() {
        // A fixed xorshift stream: deterministic, no extra dependency.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let base = build_client_hello(Some("fuzz.example.com"));
        for _ in 0..20_000 {
            let mut b = base.clone();
            let flips = (next() % 8) as usize + 1;
            for _ in 0..flips {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            let cut = (next() as usize) % (b.len() + 1);
            let _ = parse_client_hello(&b[..cut]);
            let len = (next() % 300) as usize;
            let random: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = parse_client_hello(&random);
            let mut tls_like = vec![22, 3, 1];
            tls_like.extend_from_slice(&random);
            let _ = parse_client_hello(&tls_like);
        }
    }
}
