//! Parent/child messages over a SOCK_SEQPACKET socketpair: one packet per message.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A message from the box to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Set-up failed in the box; the text names the step and the OS error.
    SetupError(String),
    /// execve failed with this errno.
    ExecError(i32),
    /// Host-namespace pid of the box's init (the process to forward signals to).
    InitPid(i32),
    /// The agent's raw wait status, sent by the box's init when the agent is gone.
    Status(i32),
}

/// Create the socketpair (both ends close-on-exec).
pub fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid two-element array.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn encode(m: &Msg) -> Vec<u8> {
    let (tag, body): (u8, Vec<u8>) = match m {
        Msg::SetupError(s) => (b'E', s.as_bytes().to_vec()),
        Msg::ExecError(e) => (b'X', e.to_le_bytes().to_vec()),
        Msg::InitPid(p) => (b'P', p.to_le_bytes().to_vec()),
        Msg::Status(s) => (b'S', s.to_le_bytes().to_vec()),
    };
    let mut v = Vec::with_capacity(body.len() + 1);
    v.push(tag);
    v.extend(body);
    v
}

fn decode(b: &[u8]) -> io::Result<Msg> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad message from the box");
    let (&tag, body) = b.split_first().ok_or_else(bad)?;
    let int = || -> io::Result<i32> { Ok(i32::from_le_bytes(body.try_into().map_err(|_| bad())?)) };
    Ok(match tag {
        b'E' => Msg::SetupError(String::from_utf8_lossy(body).into_owned()),
        b'X' => Msg::ExecError(int()?),
        b'P' => Msg::InitPid(int()?),
        b'S' => Msg::Status(int()?),
        _ => return Err(bad()),
    })
}

/// Send one message (blocking).
pub fn send(fd: &impl AsRawFd, m: &Msg) -> io::Result<()> {
    let buf = encode(m);
    loop {
        // SAFETY: buf is valid for its length.
        let r = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if r >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Receive one message; `Ok(None)` at end of stream (every holder of the other end is gone).
pub fn recv(fd: &impl AsRawFd) -> io::Result<Option<Msg>> {
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: buf is valid for its length.
        let r = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if r > 0 {
            return decode(&buf[..r as usize]).map(Some);
        }
        if r == 0 {
            return Ok(None);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let (a, b) = pair().unwrap();
        for m in [
            Msg::SetupError("mount: EPERM".into()),
            Msg::ExecError(2),
            Msg::InitPid(1234),
            Msg::Status(0x0f00),
        ] {
            send(&a, &m).unwrap();
            assert_eq!(recv(&b).unwrap(), Some(m));
        }
        drop(a);
        assert_eq!(recv(&b).unwrap(), None);
    }
}
