//! One HTTP/1.1 exchange between the box and a credential's host, both directions as push
//! parsers: requests get the real value in their auth headers (and query string, when the
//! credential asks), responses get it replaced by the placeholder. Every request of a
//! keep-alive connection is handled, pipelined ones too; bodies pass as they arrive (chunked
//! response bodies are re-framed around what changed); after a `101` to an `Upgrade` request
//! both directions are passed through untouched (WebSocket).
//!
//! Parsing is the proxy's strict one (`net::http`): ambiguous framing is refused, so nothing
//! can ride inside a body past the substitution.

use std::collections::VecDeque;
use std::sync::Arc;

use super::chunks::{Chunks, Piece};
use super::replace::Replacer;
use super::{add_use, contains, Credential, CredentialUse, HostRules};
use crate::net::http::{
    base64, base64_decode, parse_absolute, parse_authority, parse_request, parse_response,
    request_body, response_body, BodyLen, Header, Request, MAX_HEAD,
};

/// How requests name their target on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Origin-form (`GET /path`), inside a tunnel to the host; `Host` must name it.
    Origin,
    /// Absolute-form (`GET http://host/path`) sent to the proxy in clear text: one request per
    /// connection, as on the proxy's other clear-text path.
    Absolute,
}

/// A request the proxy refuses, before it reaches the upstream.
#[derive(Debug)]
pub(crate) struct Refused {
    /// Status for the box.
    pub status: u16,
    /// Why (no value in it).
    pub reason: String,
}

fn refused(status: u16, reason: impl Into<String>) -> Refused {
    Refused {
        status,
        reason: reason.into(),
    }
}

#[derive(Debug)]
enum Req {
    Head,
    Length(u64),
    Chunked(Chunks),
    /// After an `Upgrade` request: the next bytes are a new protocol or the next request,
    /// depending on the response.
    AwaitUpgrade,
    Tunnel,
    /// Absolute form: the one request went up.
    Done,
}

#[derive(Debug)]
enum Resp {
    Head,
    Length(u64),
    Chunked(Chunks),
    UntilClose,
    Tunnel,
    Done,
}

/// A request waiting for its response.
#[derive(Debug, Clone, Copy)]
struct Pending {
    head: bool,
    upgrade: bool,
}

/// The exchange on one connection.
pub(crate) struct Exchange {
    host: String,
    port: u16,
    form: Form,
    inject: Vec<Arc<Credential>>,
    others: Vec<Arc<Credential>>,
    req: Req,
    req_buf: Vec<u8>,
    resp: Resp,
    resp_buf: Vec<u8>,
    pending: VecDeque<Pending>,
    heads: Replacer,
    body: Replacer,
    /// Per credential: injected, unchanged, masked.
    uses: Vec<CredentialUse>,
    /// Requests seen.
    pub requests: u64,
}

impl Exchange {
    /// An exchange with `host:port` (normalized), injecting `rules.inject`.
    pub fn new(host: &str, port: u16, form: Form, rules: HostRules) -> Exchange {
        let pairs = || {
            rules
                .inject
                .iter()
                .map(|c| (c.real.bytes().to_vec(), c.placeholder.as_bytes().to_vec()))
                .collect::<Vec<_>>()
        };
        Exchange {
            host: host.to_string(),
            port,
            form,
            heads: Replacer::new(pairs()),
            body: Replacer::new(pairs()),
            inject: rules.inject,
            others: rules.others,
            req: Req::Head,
            req_buf: Vec::new(),
            resp: Resp::Head,
            resp_buf: Vec::new(),
            pending: VecDeque::new(),
            uses: Vec::new(),
            requests: 0,
        }
    }

    /// Whether nothing is owed to the box: no response pending, none half sent (an error
    /// response may go out now).
    pub fn idle(&self) -> bool {
        self.pending.is_empty() && matches!(self.resp, Resp::Head) && self.resp_buf.is_empty()
    }

    /// Absolute form: the one response is complete.
    pub fn finished(&self) -> bool {
        matches!(self.resp, Resp::Done)
    }

    /// Names and counts, including the real values masked in responses.
    pub fn uses(&self) -> Vec<CredentialUse> {
        let mut out = self.uses.clone();
        for (i, c) in self.inject.iter().enumerate() {
            // A pair the replacers dropped (lengths differ) has no count: zero, never a panic.
            let hit = |r: &Replacer| r.hits.get(i).copied().unwrap_or(0);
            let masked = hit(&self.heads) + hit(&self.body);
            add_use(
                &mut out,
                CredentialUse {
                    name: c.name.clone(),
                    masked,
                    ..Default::default()
                },
            );
        }
        out
    }

    /// Bytes from the box; what goes upstream is appended to `up`.
    pub fn client_bytes(&mut self, mut data: &[u8], up: &mut Vec<u8>) -> Result<(), Refused> {
        while !data.is_empty() {
            match &mut self.req {
                Req::Head => {
                    let Some((head, rest)) = take_head(&mut self.req_buf, data)
                        .map_err(|_| refused(431, "request head too large"))?
                    else {
                        return Ok(());
                    };
                    data = rest;
                    self.on_request(&head, up)?;
                }
                Req::Length(n) => {
                    let take = data.len().min(usize::try_from(*n).unwrap_or(usize::MAX));
                    up.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    *n -= take as u64;
                    if *n == 0 {
                        self.after_request_body();
                    }
                }
                Req::Chunked(c) => {
                    let used = c
                        .feed(data, |p| up.extend_from_slice(raw(&p)))
                        .map_err(|m| refused(400, m))?;
                    let done = c.done();
                    data = &data[used..];
                    if done {
                        self.after_request_body();
                    }
                }
                Req::AwaitUpgrade => {
                    if self.req_buf.len() + data.len() > MAX_HEAD {
                        return Err(refused(400, "too much data before the upgrade's answer"));
                    }
                    self.req_buf.extend_from_slice(data);
                    return Ok(());
                }
                Req::Tunnel => {
                    up.extend_from_slice(data);
                    return Ok(());
                }
                // One request per connection in absolute form (the response says close).
                Req::Done => return Ok(()),
            }
        }
        Ok(())
    }

    fn after_request_body(&mut self) {
        let upgrade = self.pending.back().is_some_and(|p| p.upgrade);
        self.req = match (upgrade, self.form) {
            (_, Form::Absolute) => Req::Done,
            (true, _) => Req::AwaitUpgrade,
            (false, _) => Req::Head,
        };
    }

    fn on_request(&mut self, head: &[u8], up: &mut Vec<u8>) -> Result<(), Refused> {
        let req =
            parse_request(head).map_err(|m| refused(400, format!("malformed request: {m}")))?;
        if req.method.eq_ignore_ascii_case("CONNECT") {
            return Err(refused(405, "CONNECT inside a tunnel"));
        }
        let framing = request_body(&req).map_err(|m| refused(400, m))?;
        let target = self.origin_target(&req)?;
        let upgrade = self.form == Form::Origin
            && req
                .headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("upgrade"));
        let out = self.rewrite(&req, target);
        up.extend_from_slice(&out);
        self.requests += 1;
        self.pending.push_back(Pending {
            head: req.method.eq_ignore_ascii_case("HEAD"),
            upgrade,
        });
        self.req = match framing {
            BodyLen::Empty | BodyLen::UntilClose => Req::Head,
            BodyLen::Length(n) => Req::Length(n),
            BodyLen::Chunked => Req::Chunked(Chunks::new()),
        };
        if matches!(self.req, Req::Head) {
            self.after_request_body();
        }
        Ok(())
    }

    /// The target in origin form, after checking the request is for this connection's host.
    fn origin_target(&self, req: &Request) -> Result<String, Refused> {
        let default_port = if self.form == Form::Absolute {
            80
        } else {
            self.port
        };
        let hosts: Vec<&Header> = req
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("host"))
            .collect();
        let host_ok = |v: &Header| {
            v.value_str()
                .and_then(|s| parse_authority(s, Some(default_port)).ok())
                .is_some_and(|a| a.host == self.host && a.port == self.port)
        };
        match hosts.as_slice() {
            [] => {}
            [h] if host_ok(h) => {}
            [_] => {
                return Err(refused(
                    421,
                    "Host header names another host than the tunnel",
                ))
            }
            _ => return Err(refused(400, "more than one Host header")),
        }
        match self.form {
            Form::Origin if req.target.starts_with('/') || req.target == "*" => {
                Ok(req.target.clone())
            }
            Form::Origin => Err(refused(400, "absolute-form request inside a tunnel")),
            Form::Absolute => {
                let (a, origin) = parse_absolute(&req.target).map_err(|m| refused(400, m))?;
                if a.host != self.host || a.port != self.port {
                    return Err(refused(421, "request for another host on this connection"));
                }
                Ok(origin)
            }
        }
    }

    /// The request head as it goes upstream, with the real values in.
    fn rewrite(&mut self, req: &Request, mut target: String) -> Vec<u8> {
        let mut headers = req.headers.clone();
        let mut injected = vec![false; self.inject.len()];
        for (i, c) in self.inject.iter().enumerate() {
            for h in headers.iter_mut() {
                let name = h.name.to_ascii_lowercase();
                if c.headers.contains(&name) && substitute_header(&name, &mut h.value, c) {
                    injected[i] = true;
                }
            }
            if c.query {
                if let Some(q) = target.find('?') {
                    let encoded = pct_encode(c.real.bytes());
                    let (path, query) = target.split_at(q);
                    let replaced = replace_str(query, &c.placeholder, &encoded);
                    if replaced != query {
                        injected[i] = true;
                        target = format!("{path}{replaced}");
                    }
                }
            }
        }
        // A placeholder left anywhere in the head went out as it is: counted, never changed.
        for c in self.inject.iter().chain(&self.others) {
            let p = c.placeholder.as_bytes();
            let left =
                contains(target.as_bytes(), p) || headers.iter().any(|h| contains(&h.value, p));
            if left {
                add_use(&mut self.uses, use_of(c, 0, 1));
            }
        }
        for (i, c) in self.inject.iter().enumerate() {
            if injected[i] {
                add_use(&mut self.uses, use_of(c, 1, 0));
            }
        }
        self.serialize(req, &target, &headers)
    }

    fn serialize(&self, req: &Request, target: &str, headers: &[Header]) -> Vec<u8> {
        let mut out = format!("{} {} {}\r\n", req.method, target, req.version).into_bytes();
        // The real value must be seen in what comes back: no compression the proxy cannot read.
        let identity = !self.inject.is_empty();
        let drop = |n: &str| {
            let n = n.to_ascii_lowercase();
            (identity && n == "accept-encoding")
                || n == "proxy-authorization"
                || n == "proxy-connection"
                || (self.form == Form::Absolute
                    && matches!(n.as_str(), "connection" | "keep-alive" | "te" | "upgrade"))
        };
        for h in headers.iter().filter(|h| !drop(&h.name)) {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(&h.value);
            out.extend_from_slice(b"\r\n");
        }
        if identity {
            out.extend_from_slice(b"Accept-Encoding: identity\r\n");
        }
        if self.form == Form::Absolute {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Bytes from the upstream: what goes to the box is appended to `down`; requests held back
    /// for an upgrade that did not happen go to `up`.
    pub fn upstream_bytes(
        &mut self,
        mut data: &[u8],
        down: &mut Vec<u8>,
        up: &mut Vec<u8>,
    ) -> Result<(), Refused> {
        while !data.is_empty() {
            match &mut self.resp {
                Resp::Head => {
                    let Some((head, rest)) = take_head(&mut self.resp_buf, data)
                        .map_err(|_| refused(502, "response head too large"))?
                    else {
                        return Ok(());
                    };
                    data = rest;
                    self.on_response(&head, down, up)?;
                }
                Resp::Length(n) => {
                    let take = data.len().min(usize::try_from(*n).unwrap_or(usize::MAX));
                    self.body.push(&data[..take], down);
                    data = &data[take..];
                    *n -= take as u64;
                    if *n == 0 {
                        self.body.flush(down);
                        self.response_done();
                    }
                }
                Resp::Chunked(c) => {
                    let body = &mut self.body;
                    let used = c
                        .feed(data, |p| rechunk(p, body, down))
                        .map_err(|m| refused(502, m))?;
                    let done = c.done();
                    data = &data[used..];
                    if done {
                        self.response_done();
                    }
                }
                Resp::UntilClose => {
                    self.body.push(data, down);
                    return Ok(());
                }
                Resp::Tunnel => {
                    down.extend_from_slice(data);
                    return Ok(());
                }
                Resp::Done => return Ok(()),
            }
        }
        Ok(())
    }

    /// The upstream closed: a body that ran until then is complete.
    pub fn upstream_closed(&mut self, down: &mut Vec<u8>) {
        if matches!(self.resp, Resp::UntilClose) {
            self.body.flush(down);
            self.resp = Resp::Done;
        }
    }

    fn response_done(&mut self) {
        self.resp = if self.form == Form::Absolute {
            Resp::Done
        } else {
            Resp::Head
        };
    }

    fn on_response(
        &mut self,
        head: &[u8],
        down: &mut Vec<u8>,
        up: &mut Vec<u8>,
    ) -> Result<(), Refused> {
        let resp =
            parse_response(head).map_err(|m| refused(502, format!("malformed response: {m}")))?;
        let Some(p) = self.pending.front().copied() else {
            return Err(refused(502, "response without a request"));
        };
        if resp.status == 101 {
            if !p.upgrade {
                return Err(refused(
                    502,
                    "switching protocols without an upgrade request",
                ));
            }
            down.extend_from_slice(&self.heads.replace_all(head));
            self.resp = Resp::Tunnel;
            self.req = Req::Tunnel;
            up.append(&mut self.req_buf);
            return Ok(());
        }
        if (100..200).contains(&resp.status) {
            down.extend_from_slice(&self.heads.replace_all(head));
            return Ok(());
        }
        self.pending.pop_front();
        let framing = response_body(if p.head { "HEAD" } else { "GET" }, &resp)
            .map_err(|m| refused(502, m))?;
        let out = self.heads.replace_all(head);
        if self.form == Form::Absolute {
            down.extend_from_slice(&close_head(&out));
        } else {
            down.extend_from_slice(&out);
        }
        self.resp = match framing {
            BodyLen::Empty => Resp::Head,
            BodyLen::Length(n) => Resp::Length(n),
            BodyLen::Chunked => Resp::Chunked(Chunks::new()),
            BodyLen::UntilClose => Resp::UntilClose,
        };
        if matches!(self.resp, Resp::Head) {
            self.response_done();
        }
        if p.upgrade && matches!(self.req, Req::AwaitUpgrade) {
            // No upgrade: what the box sent meanwhile is its next request.
            self.req = Req::Head;
            let held = std::mem::take(&mut self.req_buf);
            self.client_bytes(&held, up)?;
        }
        Ok(())
    }
}

fn use_of(c: &Credential, injected: u64, unchanged: u64) -> CredentialUse {
    CredentialUse {
        name: c.name.clone(),
        injected,
        unchanged,
        masked: 0,
    }
}

/// The raw bytes of a chunked-body piece.
fn raw<'a>(p: &Piece<'a>) -> &'a [u8] {
    match *p {
        Piece::Size(b)
        | Piece::Data(b)
        | Piece::DataEnd(b)
        | Piece::Last(b)
        | Piece::Trailer(b) => b,
    }
}

/// Response chunks: the data through the replacer, framed anew (a value split across two
/// chunks is still found); trailers as they are.
fn rechunk(p: Piece<'_>, body: &mut Replacer, down: &mut Vec<u8>) {
    let mut data = Vec::new();
    match p {
        Piece::Size(_) | Piece::DataEnd(_) => return,
        Piece::Data(d) => body.push(d, &mut data),
        Piece::Last(_) => body.flush(&mut data),
        Piece::Trailer(t) => return down.extend_from_slice(t),
    }
    // An empty chunk would end the body.
    if !data.is_empty() {
        down.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        down.extend_from_slice(&data);
        down.extend_from_slice(b"\r\n");
    }
    if matches!(p, Piece::Last(_)) {
        down.extend_from_slice(b"0\r\n");
    }
}

/// A complete head, and the rest of the bytes that completed it.
type Head<'a> = (Vec<u8>, &'a [u8]);

/// Collects a head across reads: `Ok(Some((head, rest of data)))` once complete; `Err` when
/// it grows past [`MAX_HEAD`].
fn take_head<'a>(buf: &mut Vec<u8>, data: &'a [u8]) -> Result<Option<Head<'a>>, ()> {
    let old = buf.len();
    let take = data.len().min((MAX_HEAD + 4).saturating_sub(old));
    buf.extend_from_slice(&data[..take]);
    let from = old.saturating_sub(3);
    match buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => {
            let end = from + i + 4;
            let rest = &data[end - old..];
            let mut head = std::mem::take(buf);
            head.truncate(end);
            Ok(Some((head, rest)))
        }
        None if buf.len() >= MAX_HEAD => Err(()),
        None => Ok(None),
    }
}

/// A response head for the one-request clear-text path: `Connection: close`, no keep-alive.
fn close_head(head: &[u8]) -> Vec<u8> {
    let body = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    let mut out = Vec::with_capacity(head.len() + 20);
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let name = line.split(|&b| b == b':').next().unwrap_or_default();
        let drop = i > 0
            && (name.eq_ignore_ascii_case(b"connection")
                || name.eq_ignore_ascii_case(b"keep-alive"));
        if !drop {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

/// Replaces the placeholder in one header value; `Authorization: Basic` values are decoded,
/// replaced and encoded again (git over https sends the token as the password there).
fn substitute_header(name: &str, value: &mut Vec<u8>, c: &Credential) -> bool {
    let p = c.placeholder.as_bytes();
    if name == "authorization" {
        if let Some(b64) = value
            .strip_prefix(b"Basic ")
            .or_else(|| value.strip_prefix(b"basic "))
        {
            let decoded = std::str::from_utf8(b64)
                .ok()
                .and_then(|s| base64_decode(s.trim()));
            if let Some(d) = decoded.filter(|d| contains(d, p)) {
                let replaced = replace_bytes(&d, p, c.real.bytes());
                *value = format!("Basic {}", base64(&replaced)).into_bytes();
                return true;
            }
        }
    }
    if contains(value, p) {
        *value = replace_bytes(value, p, c.real.bytes());
        return true;
    }
    false
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len() + to.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

fn replace_str(hay: &str, from: &str, to: &str) -> String {
    hay.replace(from, to)
}

/// Percent-encodes all but the unreserved characters (RFC 3986 §2.3).
fn pct_encode(v: &[u8]) -> String {
    let mut s = String::with_capacity(v.len());
    for &b in v {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests;
