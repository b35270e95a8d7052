//! Local service forwarding: a port inside the sandbox's network namespace relayed to a
//! service on the host (a database on 127.0.0.1:5432, say), without opening the host's
//! loopback to the agent as a whole.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::net::policy::check_addr;
use crate::net::relay::{relay, Outcome};
use crate::net::server::{self, Server, Slot};

/// Most forwarded connections at once; more are closed on accept.
pub const MAX_FORWARD_CONNECTIONS: usize = 128;
/// Limit for each connect to the target.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `shutdown` waits for connection threads.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// Counters of a forwarder, for the run report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ForwardStats {
    /// Connections relayed to the target.
    pub connections: u64,
    /// Connections closed because the target did not accept.
    pub failed: u64,
    /// Connections closed because the cap was reached.
    pub refused_busy: u64,
    /// Bytes from the sandbox to the target.
    pub bytes_up: u64,
    /// Bytes from the target back into the sandbox.
    pub bytes_down: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    failed: AtomicU64,
    refused_busy: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

/// A running forwarder.
pub struct ForwardHandle {
    counters: Arc<Counters>,
    server: Server,
}

impl ForwardHandle {
    /// Counters so far.
    pub fn stats(&self) -> ForwardStats {
        let c = &self.counters;
        ForwardStats {
            connections: c.connections.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            refused_busy: c.refused_busy.load(Ordering::Relaxed),
            bytes_up: c.bytes_up.load(Ordering::Relaxed),
            bytes_down: c.bytes_down.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting, closes live connections and waits (bounded) for their threads.
    pub fn shutdown(mut self) {
        self.server.stop(SHUTDOWN_WAIT);
    }
}

/// Relay every connection accepted on `listener` (created inside the sandbox namespace, e.g.
/// 127.0.0.1:5432) to `target` on the host (e.g. 127.0.0.1:5432). Threads, bounded. A
/// link-local/metadata target is refused (`InvalidInput`) even here, where the user named it.
pub fn forward(listener: TcpListener, target: SocketAddr) -> io::Result<ForwardHandle> {
    if let Err(r) = check_addr(target.ip(), true) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, r.to_string()));
    }
    let counters = Arc::new(Counters::default());
    let conn_counters = Arc::clone(&counters);
    let busy_counters = Arc::clone(&counters);
    let server = server::start(
        listener,
        MAX_FORWARD_CONNECTIONS,
        "agentbox-fwd",
        move |slot, client| relay_one(&slot, client, target, &conn_counters),
        move |_client| {
            // Raw TCP has no way to say "busy": closing is the answer.
            busy_counters.refused_busy.fetch_add(1, Ordering::Relaxed);
        },
    )?;
    Ok(ForwardHandle { counters, server })
}

fn relay_one(slot: &Slot, client: TcpStream, target: SocketAddr, c: &Counters) {
    let upstream = match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
        Ok(u) => u,
        Err(e) => {
            tracing::debug!(%target, error = %e, "forward target unreachable");
            c.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    slot.track(&upstream);
    c.connections.fetch_add(1, Ordering::Relaxed);
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    // No idle timeout: database and similar connections legitimately sit idle for long; the
    // connection cap bounds what idle connections can hold.
    let r = relay(&client, &upstream, None);
    c.bytes_up.fetch_add(r.up, Ordering::Relaxed);
    c.bytes_down.fetch_add(r.down, Ordering::Relaxed);
    if let Outcome::Failed(e) = r.outcome {
        tracing::debug!(%target, error = %e, "forwarded connection ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::Shutdown;
    use std::thread;
    use std::time::Instant;

    fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        thread::spawn(move || {
            for s in l.incoming().take(8) {
                let Ok(mut s) = s else { continue };
                thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    #[test]
    fn forwards_both_ways_and_counts() {
        let target = echo_server();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = forward(l, target).unwrap();
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"ping").unwrap();
        let mut got = [0u8; 4];
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        c.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while h.stats().bytes_down < 4 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let s = h.stats();
        assert_eq!((s.connections, s.bytes_up, s.bytes_down), (1, 4, 4));
        h.shutdown();
    }

    #[test]
    fn unreachable_target_closes_the_client() {
        // A port that was just free: nothing listens there.
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = forward(l, dead).unwrap();
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1];
        assert!(matches!(c.read(&mut buf), Ok(0) | Err(_)));
        h.shutdown();
    }

    #[test]
    fn shutdown_interrupts_live_connections() {
        let target = echo_server();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = forward(l, target).unwrap();
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
        let t = Instant::now();
        h.shutdown();
        assert!(t.elapsed() < Duration::from_secs(2));
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(matches!(c.read(&mut b), Ok(0) | Err(_)));
        // The listener is gone with the handle.
        assert!(TcpStream::connect(addr).is_err());
    }

    #[test]
    fn metadata_target_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let e = forward(l, "169.254.169.254:80".parse().unwrap())
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
