//! The stub resolver of a box with a network namespace: the box's resolv.conf points at
//! 127.0.0.1:53 inside the namespace, where a UDP socket and a TCP listener made there (and
//! handed to the supervisor, like the proxy's) are served by one thread of the supervisor. Every
//! query is answered at once with NXDOMAIN ("no such name": final, so resolvers and tools do not
//! retry as they would on a refusal or a timeout), and the names asked are recorded for the
//! summary (`--allow-host NAME`) and for `learn`.
//!
//! The bytes are the box's: parsed within bounds, never trusted (a name longer than 255 bytes, a
//! label over 63, a compression pointer in the question, or a truncated message is a format
//! error, answered as such or dropped), never a panic.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// Header length.
const HEADER: usize = 12;
/// Longest name on the wire (RFC 1035 2.3.4).
const MAX_NAME: usize = 255;
/// Most distinct names recorded.
pub const MAX_NAMES: usize = 256;
/// Most TCP connections served at once (a box holding more only delays itself).
const MAX_TCP: usize = 8;
/// How long a TCP connection may take to send its query.
const TCP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// Response codes used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    /// The message could not be parsed.
    FormErr = 1,
    /// The name does not exist (every well-formed query).
    NxDomain = 3,
    /// Not a standard query (opcode other than QUERY).
    NotImp = 4,
}

/// A parsed question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The name asked, lower-case, dotted, without the root's dot; bytes outside
    /// `[a-z0-9-_*]` shown as `\xNN`.
    pub name: String,
    /// Query type (1 A, 28 AAAA, 65 HTTPS...).
    pub qtype: u16,
    /// Where the question ends in the message.
    end: usize,
}

/// Why a message is not a query this resolver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// Too short to hold a header: dropped (no id to answer to).
    Short,
    /// A response, not a query: dropped (answering responses can loop).
    Response,
    /// Answer with this code.
    Reply(Rcode),
}

/// Parse the question of a query message.
pub fn parse(msg: &[u8]) -> Result<Query, Bad> {
    if msg.len() < HEADER {
        return Err(Bad::Short);
    }
    if msg[2] & 0x80 != 0 {
        return Err(Bad::Response);
    }
    if (msg[2] >> 3) & 0x0f != 0 {
        return Err(Bad::Reply(Rcode::NotImp));
    }
    let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
    if qdcount != 1 {
        return Err(Bad::Reply(Rcode::FormErr));
    }
    let form = Bad::Reply(Rcode::FormErr);
    let mut name = String::new();
    let mut pos = HEADER;
    let mut wire = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(form)? as usize;
        wire += len + 1;
        if len & 0xc0 != 0 || wire > MAX_NAME {
            // A pointer (0xc0) or a reserved label type, or too long.
            return Err(form);
        }
        pos += 1;
        if len == 0 {
            break;
        }
        let label = msg.get(pos..pos + len).ok_or(form)?;
        if !name.is_empty() {
            name.push('.');
        }
        for &b in label {
            let c = b.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'*') {
                name.push(c as char);
            } else {
                name.push_str(&format!("\\x{c:02x}"));
            }
        }
        pos += len;
    }
    let t = msg.get(pos..pos + 4).ok_or(form)?;
    Ok(Query {
        name,
        qtype: u16::from_be_bytes([t[0], t[1]]),
        end: pos + 4,
    })
}

/// The answer to `msg` (a query parsed as `q`, or one that failed with `rcode`): its id and
/// question echoed, recursion available, no records.
pub fn reply(msg: &[u8], question_end: Option<usize>, rcode: Rcode) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + MAX_NAME + 4);
    out.extend_from_slice(&msg[..2]);
    // QR, the opcode and RD as asked; RA; the code.
    out.push(0x80 | (msg[2] & 0x79));
    out.push(0x80 | rcode as u8);
    let qd: u16 = question_end.map_or(0, |_| 1);
    out.extend_from_slice(&qd.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    if let Some(end) = question_end {
        out.extend_from_slice(&msg[HEADER..end]);
    }
    out
}

/// The answer to one message, if it gets one; the name to record, if it is one.
pub fn answer(msg: &[u8]) -> (Option<Vec<u8>>, Option<Query>) {
    match parse(msg) {
        Ok(q) => (Some(reply(msg, Some(q.end), Rcode::NxDomain)), Some(q)),
        Err(Bad::Reply(code)) => (Some(reply(msg, None, code)), None),
        Err(Bad::Short | Bad::Response) => (None, None),
    }
}

/// Query types worth naming: addresses (A, AAAA), HTTPS/SVCB and ANY. Reverse lookups and
/// mail or service records are no host to allow.
fn worth_naming(q: &Query) -> bool {
    matches!(q.qtype, 1 | 28 | 64 | 65 | 255) && !q.name.is_empty() && !q.name.ends_with(".arpa")
}

/// The names asked (at most [`MAX_NAMES`]), with how often each type was asked.
#[derive(Debug, Default, Clone)]
pub struct Names(BTreeMap<String, BTreeMap<u16, usize>>);

impl Names {
    fn record(&mut self, q: &Query, skip: &dyn Fn(&str) -> bool) {
        if !worth_naming(q) || skip(&q.name) {
            return;
        }
        if self.0.len() >= MAX_NAMES && !self.0.contains_key(&q.name) {
            return;
        }
        *self
            .0
            .entry(q.name.clone())
            .or_default()
            .entry(q.qtype)
            .or_default() += 1;
    }

    /// Each name with the number of lookups (a lookup asks for A and AAAA at once: the
    /// most-asked type counts).
    pub fn lookups(&self) -> Vec<(String, usize)> {
        self.0
            .iter()
            .map(|(n, t)| (n.clone(), t.values().copied().max().unwrap_or(0)))
            .collect()
    }
}

/// A TCP client: what it sent so far, until its deadline.
struct Conn {
    s: std::net::TcpStream,
    buf: Vec<u8>,
    until: std::time::Instant,
}

impl Conn {
    /// Read what is there; answer every whole message (two-byte length, then the message).
    /// False when the connection is done.
    fn serve(&mut self, names: &mut Names, skip: &dyn Fn(&str) -> bool) -> bool {
        use std::io::{Read, Write};
        let mut chunk = [0u8; 2048];
        match self.s.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
        while self.buf.len() >= 2 {
            let len = u16::from_be_bytes([self.buf[0], self.buf[1]]) as usize;
            if self.buf.len() < 2 + len {
                // A query is small: a long one is not worth waiting for.
                return len <= 4096;
            }
            let msg: Vec<u8> = self.buf.drain(..2 + len).skip(2).collect();
            let (out, q) = answer(&msg);
            if let Some(q) = q {
                names.record(&q, skip);
            }
            let Some(out) = out else { return false };
            let mut framed = (out.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&out);
            // Blocking for the write: the reply is small and the socket buffer empty.
            let _ = self.s.set_nonblocking(false);
            let _ = self.s.set_write_timeout(Some(TCP_DEADLINE));
            if self.s.write_all(&framed).is_err() || self.s.set_nonblocking(true).is_err() {
                return false;
            }
        }
        true
    }
}

/// The running resolver.
pub struct Handle {
    stop: Option<OwnedFd>,
    thread: Option<std::thread::JoinHandle<Names>>,
}

impl Handle {
    /// Stop serving; the names asked.
    pub fn finish(mut self) -> Names {
        self.stop.take();
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

/// Serve `udp` and `tcp` (made inside the box's network namespace) on a thread until
/// [`Handle::finish`]; names for which `skip` holds (allowed by the allowlist) are not
/// recorded.
pub fn serve(
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    skip: Box<dyn Fn(&str) -> bool + Send>,
) -> io::Result<Handle> {
    udp.set_nonblocking(true)?;
    tcp.set_nonblocking(true)?;
    let (stop_r, stop_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    let thread = std::thread::Builder::new()
        .name("dns".into())
        .spawn(move || run(&udp, &tcp, &stop_r, &*skip))?;
    Ok(Handle {
        stop: Some(stop_w),
        thread: Some(thread),
    })
}

fn run(
    udp: &std::net::UdpSocket,
    tcp: &std::net::TcpListener,
    stop: &OwnedFd,
    skip: &dyn Fn(&str) -> bool,
) -> Names {
    let mut names = Names::default();
    let mut conns: Vec<Conn> = Vec::new();
    let pfd = |fd: i32| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        let mut fds = vec![pfd(stop.as_raw_fd()), pfd(udp.as_raw_fd())];
        if conns.len() < MAX_TCP {
            fds.push(pfd(tcp.as_raw_fd()));
        }
        let first_conn = fds.len();
        fds.extend(conns.iter().map(|c| pfd(c.s.as_raw_fd())));
        let timeout = if conns.is_empty() { -1 } else { 200 };
        // SAFETY: `fds` is a valid array of pollfd for its length.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return names;
        }
        if fds[0].revents != 0 {
            return names;
        }
        if fds[1].revents & libc::POLLIN != 0 {
            serve_udp(udp, &mut names, skip);
        }
        if first_conn == 3 && fds[2].revents & libc::POLLIN != 0 {
            if let Ok((s, _)) = tcp.accept() {
                if s.set_nonblocking(true).is_ok() {
                    conns.push(Conn {
                        s,
                        buf: Vec::new(),
                        until: std::time::Instant::now() + TCP_DEADLINE,
                    });
                }
            }
        }
        let now = std::time::Instant::now();
        let ready: Vec<bool> = fds[first_conn..].iter().map(|p| p.revents != 0).collect();
        let mut i = 0;
        conns.retain_mut(|c| {
            let keep = !ready.get(i).copied().unwrap_or(false) || c.serve(&mut names, skip);
            i += 1;
            keep && now < c.until
        });
    }
}

/// Answer every datagram waiting.
fn serve_udp(udp: &std::net::UdpSocket, names: &mut Names, skip: &dyn Fn(&str) -> bool) {
    let mut buf = [0u8; 1500];
    for _ in 0..64 {
        let Ok((n, from)) = udp.recv_from(&mut buf) else {
            return;
        };
        let (out, q) = answer(&buf[..n]);
        if let Some(q) = q {
            names.record(&q, skip);
        }
        if let Some(out) = out {
            let _ = udp.send_to(&out, from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `name` of type `qtype`, with id 0xbeef and RD set.
    pub fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut m = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.').filter(|l| !l.is_empty()) {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m
    }

    #[test]
    fn the_names_become_denials_with_their_allow_line_and_secrets_stay_masked() {
        let mut names = Names::default();
        let tok = format!("gh{}_{}", "p", "Q7xK9mP2vR4tW8zL3nB6cF1hJ5dG0sYQ7xK9");
        let allowed = |n: &str| n == "allowed.example";
        for (n, t) in [
            ("pypi.org", 1),
            ("pypi.org", 28),
            ("pypi.org", 1),
            ("allowed.example", 1),
            ("1.0.0.127.in-addr.arpa", 12),
            ("mail.example", 15),
            (&format!("{tok}.x.example"), 1),
            ("*.example", 1),
        ] {
            names.record(&parse(&query(n, t)).unwrap(), &allowed);
        }
        let d = crate::report::dns_denials(&names, crate::net::policy::NetMode::Off);
        let got: Vec<(String, usize, String)> =
            d.iter().map(|d| (d.target(), d.count, d.fix())).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got.iter().all(|g| !g.0.contains(&tok.to_lowercase())),
            "{got:?}"
        );
        assert!(got.contains(&(
            "pypi.org".into(),
            2,
            "--allow-host pypi.org or `network.allow: [\"pypi.org\"]`".into()
        )));
        assert!(got.iter().any(|g| g.0 == "[REDACTED:github-pat].x.example"
            && g.2 == "not a host name agentbox can allow"));
        assert!(got
            .iter()
            .any(|g| g.0 == "*.example" && g.2.starts_with("not a host")));
    }

    #[test]
    fn every_query_gets_nxdomain_with_its_question() {
        let q = query("Api.Example.COM.", 28);
        let (out, got) = answer(&q);
        let out = out.unwrap();
        let got = got.unwrap();
        assert_eq!(got.name, "api.example.com");
        assert_eq!(got.qtype, 28);
        assert_eq!(&out[..2], &[0xbe, 0xef]);
        assert_eq!(out[2] & 0x80, 0x80, "a response");
        assert_eq!(out[2] & 0x01, 0x01, "RD echoed");
        assert_eq!(out[3] & 0x0f, 3, "NXDOMAIN");
        assert_eq!(&out[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&out[12..], &q[12..]);
    }

    #[test]
    fn malformed_messages_get_format_errors_or_nothing() {
        assert_eq!(answer(&[1, 2, 3]), (None, None));
        let mut r = query("a.b", 1);
        r[2] |= 0x80;
        assert_eq!(answer(&r).0, None, "responses are not answered");
        let mut notimp = query("a.b", 1);
        notimp[2] |= 0x10;
        assert_eq!(answer(&notimp).0.unwrap()[3] & 0x0f, 4);
        let mut two = query("a.b", 1);
        two[5] = 2;
        assert_eq!(answer(&two).0.unwrap()[3] & 0x0f, 1);
        // A compression pointer in the question, a label running past the end, a name over
        // 255 bytes, a missing type.
        let mut ptr = query("", 1);
        ptr.splice(12..13, [0xc0, 0x0c]);
        let mut long = vec![0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.extend_from_slice(&[0, 0, 1, 0, 1]);
        let cut = query("abc.def", 1)[..15].to_vec();
        let notype = query("abc", 1)[..17].to_vec();
        for m in [ptr, long, cut, notype] {
            let (out, q) = answer(&m);
            assert!(q.is_none());
            assert_eq!(out.unwrap()[3] & 0x0f, 1, "{m:?}");
        }
    }

    #[test]
    fn odd_bytes_are_escaped_and_random_input_never_panics() {
        let q = parse(&query("a\u{7f}b.x", 1)).unwrap();
        assert_eq!(q.name, "a\\x7fb.x");
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for n in 0..20_000usize {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = n % 300;
            let mut m: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
            if m.len() > 5 && n % 2 == 0 {
                // Mostly well-formed headers, to reach the name parser.
                m[2] &= 0x01;
                m[4] = 0;
                m[5] = 1;
            }
            let _ = answer(&m);
        }
    }

    #[test]
    fn names_worth_an_allow_line_are_recorded_once_with_counts() {
        let mut n = Names::default();
        let skip = |h: &str| h == "allowed.example";
        for (name, t) in [
            ("x.example", 1),
            ("x.example", 28),
            ("allowed.example", 1),
            ("4.3.2.1.in-addr.arpa", 12),
            ("mail.example", 15),
        ] {
            n.record(&parse(&query(name, t)).unwrap(), &skip);
        }
        n.record(&parse(&query("x.example", 1)).unwrap(), &skip);
        assert_eq!(n.lookups(), [("x.example".to_string(), 2)]);
    }

    #[test]
    fn the_server_answers_udp_and_tcp_at_once() {
        use std::io::{Read, Write};
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (ua, ta) = (udp.local_addr().unwrap(), tcp.local_addr().unwrap());
        let h = serve(udp, tcp, Box::new(|_| false)).unwrap();
        let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        c.send_to(&query("one.example", 1), ua).unwrap();
        let mut buf = [0u8; 512];
        let n = c.recv(&mut buf).unwrap();
        assert_eq!(buf[3] & 0x0f, 3);
        assert!(n > 12);
        // An idle TCP client does not hold the resolver up.
        let _idle = std::net::TcpStream::connect(ta).unwrap();
        let mut s = std::net::TcpStream::connect(ta).unwrap();
        let q = query("two.example", 28);
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        s.write_all(&framed).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut body).unwrap();
        assert_eq!(body[3] & 0x0f, 3);
        let names = h.finish();
        assert_eq!(names.lookups().len(), 2, "{names:?}");
    }
}
