//! Host-side plumbing: pipes, descriptors handed to a child, cleanup.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A pipe (read end, write end), both close-on-exec, holding `data`.
pub fn pipe_with(data: &[u8]) -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: writing a small buffer into our pipe.
    let n = unsafe { libc::write(w.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    assert_eq!(n as usize, data.len());
    (r, w)
}

/// Leak `fds` into `c`: close-on-exec is cleared in the child only, so the descriptors reach no
/// other test's children (the tests share one process).
pub fn leak_fds(c: &mut Command, fds: Vec<i32>) {
    // SAFETY: fcntl only, async-signal-safe.
    unsafe {
        c.pre_exec(move || {
            for fd in &fds {
                if libc::fcntl(*fd, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// A host file removed when the test ends, even when it fails.
pub struct RemoveOnDrop(pub PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Wait up to `secs` for `p` to exist (a signal from the box through the workspace).
pub fn wait_for(p: &Path, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if p.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
