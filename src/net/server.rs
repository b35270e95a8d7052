//! Accept loop shared by the proxy and the forwarder: poll(2) on the listener and a stop pipe,
//! one thread per connection up to a cap, and a registry of live sockets so that stopping can
//! interrupt every connection at once with shutdown(2) (which wakes blocked reads and polls
//! in other threads, unlike close).

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::pipe2;

/// Stack for connection threads: they keep their buffers on the heap.
const CONN_STACK: usize = 256 * 1024;

/// Locks a mutex, ignoring poisoning: the data guarded here (lists) stays valid even if a
/// thread panicked while holding the lock.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Core {
    max: usize,
    active: AtomicUsize,
    next_id: AtomicU64,
    stopping: AtomicBool,
    live: Mutex<HashMap<u64, Vec<TcpStream>>>,
}

/// A connection's place in the server: counts toward the cap while alive, and lets the
/// handler register more sockets (its upstream) for shutdown.
pub(crate) struct Slot {
    id: u64,
    core: Arc<Core>,
}

impl Slot {
    /// Registers a socket so that stopping the server shuts it down.
    pub fn track(&self, s: &TcpStream) {
        let Ok(dup) = s.try_clone() else { return };
        let mut live = lock(&self.core.live);
        // Checked under the lock that `stop` also takes, so a socket is either seen by
        // `stop`'s sweep or shut down here.
        if self.core.stopping.load(Ordering::SeqCst) {
            let _ = dup.shutdown(Shutdown::Both);
            return;
        }
        live.entry(self.id).or_default().push(dup);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.core.live).remove(&self.id);
        self.core.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running accept loop.
pub(crate) struct Server {
    core: Arc<Core>,
    stop_w: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

/// Starts accepting on `listener`: `handler` runs on its own thread for each connection while
/// fewer than `max` are active; beyond that the connection goes to `on_busy` (on the accept
/// thread, so it must not block).
pub(crate) fn start<H, B>(
    listener: TcpListener,
    max: usize,
    name: &str,
    handler: H,
    mut on_busy: B,
) -> io::Result<Server>
where
    H: Fn(Slot, TcpStream) + Send + Sync + 'static,
    B: FnMut(TcpStream) + Send + 'static,
{
    listener.set_nonblocking(true)?;
    let (stop_r, stop_w) = pipe2(OFlag::O_CLOEXEC)?;
    let core = Arc::new(Core {
        max: max.max(1),
        active: AtomicUsize::new(0),
        next_id: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
        live: Mutex::new(HashMap::new()),
    });
    let handler = Arc::new(handler);
    let conn_name = format!("{name}-conn");
    let thread_core = Arc::clone(&core);
    let thread = thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            accept_loop(&listener, &stop_r, &thread_core, |stream| {
                dispatch(&thread_core, &handler, &conn_name, stream, &mut on_busy)
            })
        })?;
    Ok(Server {
        core,
        stop_w: Some(stop_w),
        thread: Some(thread),
    })
}

fn accept_loop(
    listener: &TcpListener,
    stop_r: &OwnedFd,
    core: &Core,
    mut dispatch: impl FnMut(TcpStream),
) {
    loop {
        let mut fds = [
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop_r.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                tracing::debug!(error = %e, "poll on listener failed");
                thread::sleep(Duration::from_millis(50));
            }
        }
        // The write end is closed by `stop`: POLLHUP here.
        if fds[1].revents().is_some_and(|r| !r.is_empty()) || core.stopping.load(Ordering::SeqCst) {
            return;
        }
        loop {
            match listener.accept() {
                Ok((stream, _)) => dispatch(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    // EMFILE/ENFILE/ENOBUFS leave the connection queued: back off instead of
                    // spinning on a listener that stays readable.
                    thread::sleep(Duration::from_millis(50));
                    break;
                }
            }
        }
    }
}

fn dispatch<H, B>(
    core: &Arc<Core>,
    handler: &Arc<H>,
    name: &str,
    stream: TcpStream,
    on_busy: &mut B,
) where
    H: Fn(Slot, TcpStream) + Send + Sync + 'static,
    B: FnMut(TcpStream),
{
    // Accepted sockets do not inherit O_NONBLOCK on Linux; make sure anyway, handlers use
    // blocking I/O with timeouts.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    if core.active.load(Ordering::SeqCst) >= core.max {
        on_busy(stream);
        return;
    }
    core.active.fetch_add(1, Ordering::SeqCst);
    let slot = Slot {
        id: core.next_id.fetch_add(1, Ordering::Relaxed),
        core: Arc::clone(core),
    };
    slot.track(&stream);
    let handler = Arc::clone(handler);
    let spawned = thread::Builder::new()
        .name(name.to_string())
        .stack_size(CONN_STACK)
        .spawn(move || handler(slot, stream));
    if let Err(e) = spawned {
        // The closure (slot and stream) was dropped: the count is restored, the socket closed.
        tracing::debug!(error = %e, "cannot spawn connection thread");
    }
}

impl Server {
    /// Connections being handled now.
    pub fn active(&self) -> usize {
        self.core.active.load(Ordering::SeqCst)
    }

    /// Stops accepting, shuts down every live connection and waits up to `wait` for their
    /// threads to finish. Idempotent.
    pub fn stop(&mut self, wait: Duration) {
        self.core.stopping.store(true, Ordering::SeqCst);
        // Closing the write end wakes the accept thread's poll with POLLHUP.
        drop(self.stop_w.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for socks in lock(&self.core.live).values() {
            for s in socks {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        let deadline = Instant::now() + wait;
        while self.active() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}
