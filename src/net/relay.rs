//! Bidirectional byte relay between two TCP sockets.
//!
//! One thread drives both directions with poll(2) on non-blocking sockets, so an idle timeout
//! covers the whole tunnel (not each direction separately) and half-closes propagate. Bytes
//! move socket → pipe → socket with splice(2): the payload never enters user space, which is
//! what keeps a proxied tunnel close to a direct loopback copy. A plain buffer engine is kept
//! as the fallback when no pipe can be had (EMFILE) and for comparison in the benchmark.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::pipe2;

/// Pipe capacity asked for (F_SETPIPE_SZ) once a direction has moved [`GROW_AFTER`] bytes.
/// Measured with benches/proxy.rs: relay CPU per GiB was about 390 ms with the default 64 KiB
/// pipe, 300 ms with 256 KiB and 220 ms with 1 MiB (1 MiB is also the unprivileged maximum).
pub(crate) const PIPE_SIZE: usize = 1024 * 1024;

/// Bytes after which a direction counts as bulk and gets the big pipe. Small exchanges (most
/// API calls) keep the default pipe and so do not eat into the per-user pipe quota
/// (pipe-user-pages-soft); when that quota is spent the kernel refuses and 64 KiB stays.
const GROW_AFTER: u64 = 1024 * 1024;

/// Buffer per direction for the fallback engine.
pub(crate) const BUF_SIZE: usize = 256 * 1024;

/// How bytes are moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// splice(2) through a pipe (zero-copy).
    Splice,
    /// read(2)/write(2) through a user-space buffer.
    // Chosen explicitly only by tests and benches/proxy.rs; the fallback builds the store
    // directly.
    #[cfg_attr(not(test), allow(dead_code))]
    Buffer,
}

/// How a relay ended.
#[derive(Debug)]
pub enum Outcome {
    /// Both directions reached end of stream.
    Closed,
    /// Nothing moved for the idle timeout.
    IdleTimeout,
    /// A socket failed (reset, broken pipe...).
    Failed(io::Error),
}

/// Bytes moved by a relay: `up` from the first socket to the second, `down` back.
#[derive(Debug)]
pub struct Relayed {
    /// Bytes from `a` to `b`.
    pub up: u64,
    /// Bytes from `b` to `a`.
    pub down: u64,
    /// How the relay ended.
    pub outcome: Outcome,
}

/// Relays `a` ⇄ `b` until both sides are closed, one fails, or nothing moves for `idle`.
/// Uses splice(2), falling back to a buffer if no pipe can be created.
pub(crate) fn relay(a: &TcpStream, b: &TcpStream, idle: Option<Duration>) -> Relayed {
    relay_with(a, b, idle, Engine::Splice)
}

/// [`relay`] with a chosen engine.
pub fn relay_with(a: &TcpStream, b: &TcpStream, idle: Option<Duration>, engine: Engine) -> Relayed {
    let mut up = Dir::new(engine);
    let mut down = Dir::new(engine);
    let outcome = match run(a, b, idle, &mut up, &mut down) {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e),
    };
    Relayed {
        up: up.bytes,
        down: down.bytes,
        outcome,
    }
}

fn run(
    a: &TcpStream,
    b: &TcpStream,
    idle: Option<Duration>,
    up: &mut Dir,
    down: &mut Dir,
) -> io::Result<Outcome> {
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    let timeout = match idle {
        None => PollTimeout::NONE,
        Some(d) => PollTimeout::try_from(d).unwrap_or(PollTimeout::MAX),
    };
    loop {
        up.pump(a, b)?;
        down.pump(b, a)?;
        if up.finished && down.finished {
            return Ok(Outcome::Closed);
        }
        let ev_a = flags(up.want_read(), down.want_write());
        let ev_b = flags(down.want_read(), up.want_write());
        let mut fds = Vec::with_capacity(2);
        // A socket with nothing to wait for stays out of the set: poll would still report
        // its POLLHUP and turn this loop into a busy wait.
        if !ev_a.is_empty() {
            fds.push((true, PollFd::new(a.as_fd(), ev_a)));
        }
        if !ev_b.is_empty() {
            fds.push((false, PollFd::new(b.as_fd(), ev_b)));
        }
        if fds.is_empty() {
            // Unreachable by construction (an unfinished direction always waits for
            // something); ending beats spinning.
            return Ok(Outcome::Closed);
        }
        let mut pfds: Vec<PollFd> = fds.iter().map(|(_, p)| *p).collect();
        match poll(&mut pfds, timeout) {
            Ok(0) => return Ok(Outcome::IdleTimeout),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        // Only sockets poll called ready are tried again: in a bulk transfer this saves the
        // splice calls that would just return EAGAIN on the idle direction.
        let any = PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL;
        for ((is_a, _), p) in fds.iter().zip(&pfds) {
            let r = p.revents().unwrap_or(PollFlags::empty());
            let (src_of, dst_of) = if *is_a {
                (&mut *up, &mut *down)
            } else {
                (&mut *down, &mut *up)
            };
            if r.intersects(PollFlags::POLLIN | any) {
                src_of.src_ready = true;
            }
            if r.intersects(PollFlags::POLLOUT | any) {
                dst_of.dst_ready = true;
            }
        }
    }
}

fn flags(read: bool, write: bool) -> PollFlags {
    let mut f = PollFlags::empty();
    if read {
        f |= PollFlags::POLLIN;
    }
    if write {
        f |= PollFlags::POLLOUT;
    }
    f
}

enum Store {
    Pipe {
        r: OwnedFd,
        w: OwnedFd,
        grown: bool,
    },
    Buf {
        buf: Box<[u8]>,
        start: usize,
        end: usize,
    },
}

/// One direction: source socket → store → destination socket.
struct Dir {
    store: Store,
    /// Bytes in the store not yet written to the destination.
    pending: usize,
    src_eof: bool,
    /// The store could not take more; wait for the destination before reading again.
    full: bool,
    /// Source drained and destination shut down for writing.
    finished: bool,
    /// Not known to be empty (no EAGAIN since poll last said readable).
    src_ready: bool,
    /// Not known to be full (no EAGAIN since poll last said writable).
    dst_ready: bool,
    bytes: u64,
}

impl Dir {
    fn new(engine: Engine) -> Dir {
        let store = match engine {
            Engine::Splice => match new_pipe() {
                Ok((r, w)) => Some(Store::Pipe { r, w, grown: false }),
                Err(e) => {
                    tracing::debug!(error = %e, "no pipe for splice; relaying through a buffer");
                    None
                }
            },
            Engine::Buffer => None,
        };
        Dir {
            store: store.unwrap_or_else(|| Store::Buf {
                buf: vec![0u8; BUF_SIZE].into_boxed_slice(),
                start: 0,
                end: 0,
            }),
            pending: 0,
            src_eof: false,
            full: false,
            finished: false,
            src_ready: true,
            dst_ready: true,
            bytes: 0,
        }
    }

    fn want_read(&self) -> bool {
        !self.src_eof && !self.full
    }

    fn want_write(&self) -> bool {
        self.pending > 0
    }

    /// Moves as much as possible without blocking.
    fn pump(&mut self, src: &TcpStream, dst: &TcpStream) -> io::Result<()> {
        loop {
            let mut moved = false;
            if self.want_read() && self.src_ready {
                match self.fill(src) {
                    Ok(0) => {
                        self.src_eof = true;
                        moved = true;
                    }
                    Ok(n) => {
                        self.pending += n;
                        moved = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // Either the source is empty or the store is full; in the second
                        // case only the destination can unblock us (see want_read).
                        self.src_ready = false;
                        self.full = self.pending > 0;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => moved = true,
                    Err(e) => return Err(e),
                }
            }
            if self.pending > 0 && self.dst_ready {
                match self.drain(dst) {
                    Ok(n) if n > 0 => {
                        self.pending -= n;
                        self.bytes += n as u64;
                        self.maybe_grow();
                        if self.full {
                            // Room again: the source may well have data waiting.
                            self.full = false;
                            self.src_ready = true;
                        }
                        moved = true;
                    }
                    // Nothing taken although bytes are pending: never expected, and retrying
                    // on every writable event could spin.
                    Ok(_) => return Err(io::ErrorKind::WriteZero.into()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.dst_ready = false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => moved = true,
                    Err(e) => return Err(e),
                }
            }
            if self.src_eof && self.pending == 0 && !self.finished {
                // Pass the half-close on; ENOTCONN here only means the peer is gone already.
                let _ = dst.shutdown(Shutdown::Write);
                self.finished = true;
            }
            if !moved {
                return Ok(());
            }
        }
    }

    fn maybe_grow(&mut self) {
        if let Store::Pipe { w, grown, .. } = &mut self.store {
            if !*grown && self.bytes >= GROW_AFTER {
                *grown = true;
                // Best effort: refused over the pipe quota, and the default still works.
                let size = i32::try_from(PIPE_SIZE).unwrap_or(i32::MAX);
                let _ = fcntl(w.as_raw_fd(), FcntlArg::F_SETPIPE_SZ(size));
            }
        }
    }

    fn fill(&mut self, src: &TcpStream) -> io::Result<usize> {
        match &mut self.store {
            // The kernel caps the length at the room left in the pipe.
            Store::Pipe { w, .. } => splice(src.as_raw_fd(), w.as_raw_fd(), PIPE_SIZE),
            Store::Buf { buf, start, end } => {
                if *start == *end {
                    *start = 0;
                    *end = 0;
                }
                if *end == buf.len() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = (&*src).read(&mut buf[*end..])?;
                *end += n;
                Ok(n)
            }
        }
    }

    fn drain(&mut self, dst: &TcpStream) -> io::Result<usize> {
        match &mut self.store {
            Store::Pipe { r, .. } => splice(r.as_raw_fd(), dst.as_raw_fd(), self.pending),
            Store::Buf { buf, start, end } => {
                let n = (&*dst).write(&buf[*start..*end])?;
                *start += n;
                Ok(n)
            }
        }
    }
}

fn new_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?)
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: both descriptors are open for the duration of the call (borrowed from live
    // TcpStream/OwnedFd values); null offsets are required for sockets and pipes; splice
    // touches no user memory.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// Two connected socket pairs: (client end, proxy's client side), (proxy's upstream side,
    /// server end).
    fn pairs() -> (TcpStream, TcpStream, TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (pc, _) = l.accept().unwrap();
        let pu = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (c, pc, pu, s)
    }

    fn echo_through(engine: Engine) {
        let (mut c, pc, pu, mut s) = pairs();
        let relay =
            thread::spawn(move || relay_with(&pc, &pu, Some(Duration::from_secs(10)), engine));
        let server = thread::spawn(move || {
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            s.write_all(&got).unwrap();
            got.len()
        });
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let writer = {
            let mut c2 = c.try_clone().unwrap();
            let data = data.clone();
            thread::spawn(move || {
                c2.write_all(&data).unwrap();
                c2.shutdown(Shutdown::Write).unwrap();
            })
        };
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        writer.join().unwrap();
        assert_eq!(server.join().unwrap(), data.len());
        assert!(back == data, "echo differs");
        let r = relay.join().unwrap();
        assert_eq!((r.up, r.down), (data.len() as u64, data.len() as u64));
        assert!(matches!(r.outcome, Outcome::Closed), "{:?}", r.outcome);
    }

    #[test]
    fn splice_relay_moves_every_byte_both_ways() {
        echo_through(Engine::Splice);
    }

    #[test]
    fn buffer_relay_moves_every_byte_both_ways() {
        echo_through(Engine::Buffer);
    }

    #[test]
    fn idle_timeout_ends_relay() {
        let (_c, pc, pu, _s) = pairs();
        let r = relay(&pc, &pu, Some(Duration::from_millis(100)));
        assert!(matches!(r.outcome, Outcome::IdleTimeout), "{:?}", r.outcome);
    }
}
