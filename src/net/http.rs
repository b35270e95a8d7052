//! Just enough HTTP/1.x for a forward proxy: bounded head reading, strict parsing, body framing.
//!
//! Strictness is deliberate: anything a server might frame differently from us (both
//! `Transfer-Encoding` and `Content-Length`, folded headers, bare CR or LF) is refused, so a
//! client cannot smuggle a second request past the policy check inside the first one's body.

use std::io::{self, BufRead, Write};
use std::net::Ipv6Addr;

use crate::net::policy::normalize_host;

/// Largest request or response head accepted (request line + headers).
pub const MAX_HEAD: usize = 64 * 1024;

/// Largest chunk-size or trailer line accepted in a chunked body.
const MAX_LINE: usize = 4096;

/// Why a head could not be read.
#[derive(Debug)]
#[doc(hidden)]
pub enum HeadError {
    /// The peer closed before sending a byte.
    Closed,
    /// The peer closed in the middle of the head.
    Truncated,
    /// The head exceeded the size cap.
    TooLarge,
    /// A read failed (including read timeouts).
    Io(io::Error),
}

/// Reads bytes up to and including the blank line that ends a head, consuming nothing after it.
#[doc(hidden)]
pub fn read_head<R: BufRead>(r: &mut R, max: usize) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(HeadError::Io(e)),
        };
        if avail.is_empty() {
            return Err(if head.is_empty() {
                HeadError::Closed
            } else {
                HeadError::Truncated
            });
        }
        let before = head.len();
        let take = avail.len().min(max.saturating_sub(before));
        head.extend_from_slice(&avail[..take]);
        let search_from = before.saturating_sub(3);
        if let Some(i) = find(&head[search_from..], b"\r\n\r\n") {
            let end = search_from + i + 4;
            r.consume(end - before);
            head.truncate(end);
            return Ok(head);
        }
        r.consume(take);
        if head.len() >= max {
            return Err(HeadError::TooLarge);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One header line; the value is kept as bytes because HTTP allows non-UTF-8 (obs-text).
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(hidden)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

impl Header {
    /// The value as text, if it is UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }
}

/// A parsed request head.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// "HTTP/1.0" or "HTTP/1.1".
    pub version: String,
    pub headers: Vec<Header>,
}

/// A parsed response head.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<Header>,
}

/// Headers called `name` (case-insensitive).
pub(crate) fn headers_named<'a>(
    headers: &'a [Header],
    name: &'a str,
) -> impl Iterator<Item = &'a Header> + 'a {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits a head (ending in CRLF CRLF) into its start line and header lines, refusing bare
/// CR/LF, folded lines and control bytes.
fn split_head(head: &[u8]) -> Result<(&[u8], Vec<Header>), &'static str> {
    let body = head
        .strip_suffix(b"\r\n\r\n")
        .ok_or("head does not end with an empty line")?;
    let mut out = Vec::new();
    let mut first: Option<&[u8]> = None;
    let parts: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.into_iter().enumerate() {
        let line = if i < last {
            part.strip_suffix(b"\r").ok_or("bare LF in head")?
        } else {
            part
        };
        if line.contains(&b'\r') {
            return Err("bare CR in head");
        }
        if first.is_none() {
            first = Some(line);
            continue;
        }
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            return Err("folded header line");
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or("header line without ':'")?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err("invalid header name");
        }
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err("control character in header value");
        }
        let value = trim_ows(value);
        out.push(Header {
            // The name is all tchar bytes, hence ASCII.
            name: String::from_utf8_lossy(name).into_owned(),
            value: value.to_vec(),
        });
    }
    Ok((first.unwrap_or_default(), out))
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn parse_version(v: &[u8]) -> Result<&'static str, &'static str> {
    match v {
        b"HTTP/1.1" => Ok("HTTP/1.1"),
        b"HTTP/1.0" => Ok("HTTP/1.0"),
        _ => Err("unsupported HTTP version"),
    }
}

/// Parses a request head.
#[doc(hidden)]
pub fn parse_request(head: &[u8]) -> Result<Request, &'static str> {
    let (line, headers) = split_head(head)?;
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed request line");
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err("invalid method");
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Err("invalid request target");
    }
    let version = parse_version(version)?;
    Ok(Request {
        // Both are printable ASCII, checked above.
        method: String::from_utf8_lossy(method).into_owned(),
        target: String::from_utf8_lossy(target).into_owned(),
        version: version.to_string(),
        headers,
    })
}

/// Parses a response head.
#[doc(hidden)]
pub fn parse_response(head: &[u8]) -> Result<Response, &'static str> {
    let (line, headers) = split_head(head)?;
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err("malformed status line");
    };
    parse_version(version)?;
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err("malformed status code");
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Ok(Response { status, headers })
}

/// Host and port of a request target, the host normalized (see [`normalize_host`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(hidden)]
pub struct Authority {
    pub host: String,
    pub port: u16,
}

impl Authority {
    /// True if the host is an IP literal rather than a name.
    pub fn is_ip(&self) -> bool {
        self.host.parse::<std::net::IpAddr>().is_ok()
    }

    /// `host:port` with brackets around IPv6 literals.
    pub fn to_host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Parses `host[:port]` / `[v6][:port]`. Without `default_port` the port is required (CONNECT).
#[doc(hidden)]
pub fn parse_authority(s: &str, default_port: Option<u16>) -> Result<Authority, &'static str> {
    if s.is_empty() {
        return Err("empty host");
    }
    if s.contains('@') {
        return Err("user information in the target is not supported");
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("missing ']' in IPv6 host")?;
        if h.parse::<Ipv6Addr>().is_err() {
            return Err("invalid IPv6 address in brackets");
        }
        match after {
            "" => (h, None),
            _ => (h, Some(after.strip_prefix(':').ok_or("garbage after ']'")?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => return Err("IPv6 host must be in brackets"),
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() => {
            if p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err("invalid port");
            }
            match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err("invalid port"),
            }
        }
        _ => default_port.ok_or("port required (host:port)")?,
    };
    let host = normalize_host(host).ok_or("invalid host name")?;
    Ok(Authority { host, port })
}

/// Splits an absolute-form `http://` target into its authority and origin-form path.
#[doc(hidden)]
pub fn parse_absolute(target: &str) -> Result<(Authority, String), &'static str> {
    let scheme_is = |s: &str| {
        target
            .get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    };
    let rest = if scheme_is("http://") {
        &target[7..]
    } else if scheme_is("https://") {
        return Err("https:// URLs must be requested with CONNECT");
    } else if target.starts_with('/') {
        return Err("origin-form request: a proxy needs an absolute URI (http://host/path)");
    } else {
        return Err("unsupported request target");
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (auth, path) = rest.split_at(end);
    if path.contains('#') {
        return Err("fragment in request target");
    }
    let authority = parse_authority(auth, Some(80))?;
    let origin = match path.as_bytes().first() {
        None => "/".to_string(),
        Some(b'?') => format!("/{path}"),
        Some(_) => path.to_string(),
    };
    Ok((authority, origin))
}

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum BodyLen {
    Empty,
    Length(u64),
    Chunked,
    /// Until the sender closes (responses only).
    UntilClose,
}

/// Framing of a request body; ambiguous framing is an error (request smuggling).
#[doc(hidden)]
pub fn request_body(req: &Request) -> Result<BodyLen, &'static str> {
    let te: Vec<&Header> = headers_named(&req.headers, "transfer-encoding").collect();
    let cl: Vec<&Header> = headers_named(&req.headers, "content-length").collect();
    if !te.is_empty() {
        if !cl.is_empty() {
            return Err("both Transfer-Encoding and Content-Length");
        }
        if req.version == "HTTP/1.0" {
            return Err("Transfer-Encoding in an HTTP/1.0 request");
        }
        let chunked_only = te.len() == 1
            && te[0]
                .value_str()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
        if !chunked_only {
            return Err("unsupported Transfer-Encoding (only chunked)");
        }
        return Ok(BodyLen::Chunked);
    }
    match content_length(&cl)? {
        None | Some(0) => Ok(BodyLen::Empty),
        Some(n) => Ok(BodyLen::Length(n)),
    }
}

/// Framing of a response body to a request with `method`.
#[doc(hidden)]
pub fn response_body(method: &str, resp: &Response) -> Result<BodyLen, &'static str> {
    if method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&resp.status)
        || resp.status == 204
        || resp.status == 304
    {
        return Ok(BodyLen::Empty);
    }
    let mut last_coding = None;
    for h in headers_named(&resp.headers, "transfer-encoding") {
        let v = h.value_str().ok_or("non-text Transfer-Encoding")?;
        if let Some(c) = v.split(',').map(str::trim).rfind(|c| !c.is_empty()) {
            last_coding = Some(c.to_ascii_lowercase());
        }
    }
    if let Some(c) = last_coding {
        // RFC 9112 §6.3: chunked last means chunked; any other coding means "until close".
        return Ok(if c == "chunked" {
            BodyLen::Chunked
        } else {
            BodyLen::UntilClose
        });
    }
    let cl: Vec<&Header> = headers_named(&resp.headers, "content-length").collect();
    match content_length(&cl)? {
        None => Ok(BodyLen::UntilClose),
        Some(0) => Ok(BodyLen::Empty),
        Some(n) => Ok(BodyLen::Length(n)),
    }
}

fn content_length(headers: &[&Header]) -> Result<Option<u64>, &'static str> {
    let mut found: Option<u64> = None;
    for h in headers {
        let v = h.value_str().ok_or("invalid Content-Length")?;
        for part in v.split(',') {
            let part = part.trim();
            if part.is_empty() || part.len() > 18 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err("invalid Content-Length");
            }
            let n: u64 = part.parse().map_err(|_| "invalid Content-Length")?;
            if found.is_some_and(|f| f != n) {
                return Err("conflicting Content-Length values");
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// A writer that counts the bytes it accepted, so a failed copy still reports what went out.
pub(crate) struct Counting<W> {
    pub inner: W,
    pub count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Copies one body delimited by `len` from `r` to `w`, verbatim (chunk framing included).
#[doc(hidden)]
pub fn copy_body<R: BufRead, W: Write>(r: &mut R, w: &mut W, len: BodyLen) -> io::Result<()> {
    match len {
        BodyLen::Empty => Ok(()),
        BodyLen::Length(n) => copy_exact(r, w, n),
        BodyLen::Chunked => copy_chunked(r, w),
        BodyLen::UntilClose => copy_until_close(r, w),
    }
}

fn copy_exact<R: BufRead, W: Write>(r: &mut R, w: &mut W, mut n: u64) -> io::Result<()> {
    while n > 0 {
        let avail = fill(r)?;
        if avail.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body shorter than announced",
            ));
        }
        let take = avail.len().min(usize::try_from(n).unwrap_or(usize::MAX));
        w.write_all(&avail[..take])?;
        r.consume(take);
        n -= take as u64;
    }
    Ok(())
}

fn copy_until_close<R: BufRead, W: Write>(r: &mut R, w: &mut W) -> io::Result<()> {
    loop {
        let avail = fill(r)?;
        if avail.is_empty() {
            return Ok(());
        }
        let n = avail.len();
        w.write_all(avail)?;
        r.consume(n);
    }
}

/// `fill_buf` retried on EINTR.
fn fill<R: BufRead>(r: &mut R) -> io::Result<&[u8]> {
    loop {
        match r.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Returning the slice from inside the loop does not borrow-check (NLL case #3);
            // the second fill_buf() below returns the same buffered bytes without reading.
            Ok(_) => break,
            Err(e) => return Err(e),
        }
    }
    r.fill_buf()
}

fn copy_chunked<R: BufRead, W: Write>(r: &mut R, w: &mut W) -> io::Result<()> {
    loop {
        let line = read_line(r)?;
        let size = chunk_size(&line)?;
        w.write_all(&line)?;
        if size == 0 {
            let mut trailer_bytes = 0usize;
            loop {
                let line = read_line(r)?;
                trailer_bytes += line.len();
                if trailer_bytes > MAX_HEAD {
                    return Err(invalid("chunked trailers too large"));
                }
                w.write_all(&line)?;
                if line == b"\r\n" {
                    return Ok(());
                }
            }
        }
        copy_exact(r, w, size)?;
        let crlf = read_line(r)?;
        if crlf != b"\r\n" {
            return Err(invalid("chunk data not followed by CRLF"));
        }
        w.write_all(&crlf)?;
    }
}

/// Reads one CRLF-terminated line of at most [`MAX_LINE`] bytes (CRLF included).
fn read_line<R: BufRead>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    loop {
        let avail = fill(r)?;
        if avail.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunked body",
            ));
        }
        let (take, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        if line.len() + take > MAX_LINE {
            return Err(invalid("chunk line too long"));
        }
        line.extend_from_slice(&avail[..take]);
        r.consume(take);
        if done {
            let content = line
                .strip_suffix(b"\r\n")
                .ok_or(invalid("bare LF in chunked body"))?;
            if content
                .iter()
                .any(|&b| b == b'\r' || (b < 0x20 && b != b'\t'))
            {
                return Err(invalid("control character in chunk line"));
            }
            return Ok(line);
        }
    }
}

fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let content = line.strip_suffix(b"\r\n").unwrap_or(line);
    let size = match content.iter().position(|&b| b == b';') {
        Some(i) => &content[..i],
        None => content,
    };
    let size = trim_ows(size);
    if size.is_empty() || size.len() > 15 || !size.iter().all(u8::is_ascii_hexdigit) {
        return Err(invalid("invalid chunk size"));
    }
    Ok(size.iter().fold(0u64, |n, &d| {
        // Hex digits only (checked above); 15 digits cannot overflow u64.
        n * 16 + u64::from((d as char).to_digit(16).unwrap_or(0))
    }))
}

/// Reason phrase for the statuses the proxy itself sends.
fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// A reason safe for one header line: printable ASCII only, bounded length.
pub(crate) fn one_line(reason: &str) -> String {
    reason
        .chars()
        .take(300)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The proxy's own error response: status, `X-Agentbox-Denied: <reason>`, a one-line body
/// `agentbox: <reason>` and `Connection: close`.
pub(crate) fn error_response(status: u16, reason: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let reason = one_line(reason);
    let body = format!("agentbox: {reason}\n");
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nX-Agentbox-Denied: {reason}\r\n",
        status_text(status)
    );
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    out.into_bytes()
}

/// Standard base64 with padding (RFC 4648), for the Basic proxy credential.
#[doc(hidden)]
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 with padding (what [`base64`] writes); `None` when malformed.
#[doc(hidden)]
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let b = text.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, q) in b.chunks(4).enumerate() {
        let last = i == b.len() / 4 - 1;
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// Compares secrets without an early exit on the first differing byte.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn head(s: &str) -> Vec<u8> {
        read_head(&mut BufReader::new(s.as_bytes()), MAX_HEAD).unwrap()
    }

    #[test]
    fn reads_head_and_leaves_body() {
        let mut r = BufReader::with_capacity(7, &b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY"[..]);
        let h = read_head(&mut r, MAX_HEAD).unwrap();
        assert_eq!(h, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut rest = Vec::new();
        io::Read::read_to_end(&mut r, &mut rest).unwrap();
        assert_eq!(rest, b"BODY");
    }

    #[test]
    fn head_limits_and_eof() {
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(200));
        let mut r = BufReader::new(big.as_bytes());
        assert!(matches!(read_head(&mut r, 100), Err(HeadError::TooLarge)));
        let mut r = BufReader::new(&b""[..]);
        assert!(matches!(read_head(&mut r, 100), Err(HeadError::Closed)));
        let mut r = BufReader::new(&b"GET / HT"[..]);
        assert!(matches!(read_head(&mut r, 100), Err(HeadError::Truncated)));
    }

    #[test]
    fn parses_requests_strictly() {
        let r = parse_request(&head(
            "GET http://a.com/x?y HTTP/1.1\r\nHost:  a.com \r\nX-E:\r\n\r\n",
        ))
        .unwrap();
        assert_eq!(
            (r.method.as_str(), r.target.as_str(), r.version.as_str()),
            ("GET", "http://a.com/x?y", "HTTP/1.1")
        );
        assert_eq!(r.headers[0].value, b"a.com");
        assert_eq!(r.headers[1].value, b"");
        for bad in [
            "GET  / HTTP/1.1\r\n\r\n",
            "GET / HTTP/2\r\n\r\n",
            "GET / HTTP/1.1 x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            "GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n",
            "GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n",
            "GET / HTTP/1.1\r\nA: b\x00\r\n\r\n",
            "\r\n\r\n",
        ] {
            assert!(parse_request(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parses_responses() {
        let r = parse_response(b"HTTP/1.1 204 No Content\r\nA: b\r\n\r\n").unwrap();
        assert_eq!(r.status, 204);
        assert_eq!(parse_response(b"HTTP/1.0 200\r\n\r\n").unwrap().status, 200);
        assert!(parse_response(b"HTTP/1.1 2000 OK\r\n\r\n").is_err());
        assert!(parse_response(b"SSH-2.0\r\n\r\n").is_err());
    }

    #[test]
    fn authorities() {
        let a = parse_authority("Example.COM.:8080", None).unwrap();
        assert_eq!((a.host.as_str(), a.port), ("example.com", 8080));
        let a = parse_authority("[::1]:443", None).unwrap();
        assert_eq!((a.host.as_str(), a.port), ("::1", 443));
        assert_eq!(a.to_host_port(), "[::1]:443");
        assert_eq!(parse_authority("a.com", Some(80)).unwrap().port, 80);
        assert_eq!(parse_authority("a.com:", Some(80)).unwrap().port, 80);
        for bad in [
            "a.com",
            "",
            "::1:80",
            "[::1",
            "[a.com]:80",
            "a.com:0",
            "a.com:+80",
            "a.com:65536",
            "u@a.com:80",
            "a b:80",
            "127.1:80",
            "[::1]x",
        ] {
            assert!(parse_authority(bad, None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn absolute_uris() {
        let (a, p) = parse_absolute("http://a.com:81/x/y?q=1").unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, p.as_str()),
            ("a.com", 81, "/x/y?q=1")
        );
        let (a, p) = parse_absolute("HTTP://[::1]").unwrap();
        assert_eq!((a.host.as_str(), a.port, p.as_str()), ("::1", 80, "/"));
        assert_eq!(parse_absolute("http://a.com?q").unwrap().1, "/?q");
        assert!(parse_absolute("https://a.com/")
            .unwrap_err()
            .contains("CONNECT"));
        assert!(parse_absolute("/x").unwrap_err().contains("absolute"));
        assert!(parse_absolute("http://a.com/#f").is_err());
        assert!(parse_absolute("http://u:p@a.com/").is_err());
        assert!(parse_absolute("ftp://a.com/").is_err());
    }

    fn req(h: &str) -> Request {
        parse_request(&head(&format!("POST http://a/ HTTP/1.1\r\n{h}\r\n"))).unwrap()
    }

    #[test]
    fn request_framing() {
        assert_eq!(request_body(&req("")).unwrap(), BodyLen::Empty);
        assert_eq!(
            request_body(&req("Content-Length: 5\r\n")).unwrap(),
            BodyLen::Length(5)
        );
        assert_eq!(
            request_body(&req("Content-Length: 5, 5\r\n")).unwrap(),
            BodyLen::Length(5)
        );
        assert_eq!(
            request_body(&req("Transfer-Encoding: Chunked\r\n")).unwrap(),
            BodyLen::Chunked
        );
        for bad in [
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: -1\r\n",
            "Content-Length: 0x10\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            "Transfer-Encoding: gzip, chunked\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        ] {
            assert!(request_body(&req(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn response_framing() {
        let r = |s: &str| parse_response(s.as_bytes()).unwrap();
        assert_eq!(
            response_body("GET", &r("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")).unwrap(),
            BodyLen::Length(3)
        );
        assert_eq!(
            response_body("HEAD", &r("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")).unwrap(),
            BodyLen::Empty
        );
        assert_eq!(
            response_body("GET", &r("HTTP/1.1 304 NM\r\nContent-Length: 3\r\n\r\n")).unwrap(),
            BodyLen::Empty
        );
        assert_eq!(
            response_body(
                "GET",
                &r("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
            )
            .unwrap(),
            BodyLen::Chunked
        );
        assert_eq!(
            response_body(
                "GET",
                &r("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")
            )
            .unwrap(),
            BodyLen::UntilClose
        );
        assert_eq!(
            response_body("GET", &r("HTTP/1.1 200 OK\r\n\r\n")).unwrap(),
            BodyLen::UntilClose
        );
    }

    #[test]
    fn chunked_copy_is_verbatim_and_stops_at_the_end() {
        let body = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nGET http://evil/ HTTP/1.1\r\n";
        let mut r = BufReader::with_capacity(3, &body[..]);
        let mut out = Vec::new();
        copy_body(&mut r, &mut out, BodyLen::Chunked).unwrap();
        assert_eq!(out, &body[..body.len() - 27]);
        for bad in [
            &b"zz\r\n"[..],
            b"4\r\nWikiXX\r\n0\r\n\r\n",
            b"4\nWiki\r\n0\r\n\r\n",
            b"4\r\nWi",
            b"fffffffffffffffff\r\n",
        ] {
            let mut out = Vec::new();
            assert!(copy_body(&mut BufReader::new(bad), &mut out, BodyLen::Chunked).is_err());
        }
        let long = format!("1{}\r\n", " ".repeat(5000));
        assert!(copy_body(
            &mut BufReader::new(long.as_bytes()),
            &mut Vec::new(),
            BodyLen::Chunked
        )
        .is_err());
    }

    #[test]
    fn exact_copy_and_short_body() {
        let mut out = Counting {
            inner: Vec::new(),
            count: 0,
        };
        copy_body(
            &mut BufReader::new(&b"hello world"[..]),
            &mut out,
            BodyLen::Length(5),
        )
        .unwrap();
        assert_eq!((out.inner.as_slice(), out.count), (&b"hello"[..], 5));
        assert!(copy_body(
            &mut BufReader::new(&b"hi"[..]),
            &mut Vec::new(),
            BodyLen::Length(5)
        )
        .is_err());
    }

    #[test]
    fn error_response_shape() {
        let r = String::from_utf8(error_response(
            403,
            "host not in allowlist\r\nX-Evil: 1",
            &[],
        ))
        .unwrap();
        assert!(r.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert!(r.contains("X-Agentbox-Denied: host not in allowlist??X-Evil: 1\r\n"));
        assert!(r.contains("Connection: close\r\n"));
        assert!(r.ends_with("\r\n\r\nagentbox: host not in allowlist??X-Evil: 1\n"));
    }

    #[test]
    fn base64_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("agentbox:s3cret", "YWdlbnRib3g6czNjcmV0"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
            assert_eq!(base64_decode(o).as_deref(), Some(i.as_bytes()));
        }
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
