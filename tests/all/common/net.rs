//! Servers on the host's loopback for the network tests (bounded: they stop accepting after a
//! few hundred connections).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A tiny HTTP server answering `200 ok-<tag>` to every request, on `addr` (port 0 = any);
/// returns its port and the number of connections it accepted.
pub fn http_server(addr: &str, tag: &'static str) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind(addr).unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().take(500) {
            let Ok(mut s) = s else { continue };
            h.fetch_add(1, Ordering::SeqCst);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = format!("ok-{tag}");
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, hits)
}

/// A DNS server on the host's loopback that answers `name` (lower case, no final dot) with an
/// A record for 127.0.0.1, other types of it with no records, and anything else with
/// NXDOMAIN; bounded like the other servers. Returns the number of questions it answered.
pub fn dns_server(sock: std::net::UdpSocket, name: String) -> Arc<AtomicUsize> {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        for _ in 0..2000 {
            let Ok((len, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let q = &buf[..len];
            if len < 17 {
                continue;
            }
            // The question's name, then its type.
            let (mut pos, mut labels) = (12usize, Vec::new());
            while pos < len && q[pos] != 0 && q[pos] < 64 {
                let l = q[pos] as usize;
                labels.push(
                    String::from_utf8_lossy(q.get(pos + 1..pos + 1 + l).unwrap_or(&[]))
                        .to_lowercase(),
                );
                pos += 1 + l;
            }
            let end = pos + 5;
            if end > len {
                continue;
            }
            let qtype = u16::from_be_bytes([q[pos + 1], q[pos + 2]]);
            let ours = labels.join(".") == name;
            let mut r = q[..2].to_vec();
            r.extend_from_slice(&[0x81, if ours { 0x80 } else { 0x83 }, 0, 1]);
            let answers = u16::from(ours && qtype == 1);
            r.extend_from_slice(&answers.to_be_bytes());
            r.extend_from_slice(&[0, 0, 0, 0]);
            r.extend_from_slice(&q[12..end]);
            if answers == 1 {
                // A pointer to the question's name, A, IN, TTL 5, 127.0.0.1.
                r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 127, 0, 0, 1]);
            }
            let _ = sock.send_to(&r, from);
            n2.fetch_add(1, Ordering::SeqCst);
        }
    });
    n
}
