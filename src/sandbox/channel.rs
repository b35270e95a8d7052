//! Parent/child messages over a SOCK_SEQPACKET socketpair: one packet per message.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A message from the box to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Set-up failed in the box: the step and the OS error.
    SetupError(super::SetupError),
    /// execve failed with this errno.
    ExecError(i32),
    /// The agent's raw wait status, sent by the box's init when the agent is gone.
    Status(i32),
    /// Listening sockets made inside the box's network namespace (descriptors attached).
    Listeners,
    /// The box waits to be traced (denial observer); the supervisor answers `Go`.
    TraceReady,
    /// Supervisor to box: carry on.
    Go,
    /// Supervisor to box: carry on, but the observer could not attach (skip its filter).
    NoTrace,
    /// Descriptors on the private git views (descriptors attached); the box waits for `Go`
    /// so the supervisor records their state before anything of the box runs.
    GitViews,
    /// The connect broker's seccomp listener (descriptor attached; see `net::broker`).
    Broker,
    /// The stub resolver's UDP socket and TCP listener, made inside the box's network
    /// namespace (descriptors attached, in that order).
    Resolver,
    /// The agent stopped with this signal while the box held the terminal (see
    /// `supervise::job`).
    Stopped(i32),
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

#[doc(hidden)]
pub fn encode(m: &Msg) -> Vec<u8> {
    let (tag, body): (u8, Vec<u8>) = match m {
        Msg::SetupError(e) => {
            let mut b = vec![e.stage as u8];
            b.extend_from_slice(e.detail.as_bytes());
            (b'E', b)
        }
        Msg::ExecError(e) => (b'X', e.to_le_bytes().to_vec()),
        Msg::Status(s) => (b'S', s.to_le_bytes().to_vec()),
        Msg::Listeners => (b'L', vec![]),
        Msg::TraceReady => (b'T', vec![]),
        Msg::Go => (b'G', vec![]),
        Msg::NoTrace => (b'N', vec![]),
        Msg::GitViews => (b'V', vec![]),
        Msg::Broker => (b'B', vec![]),
        Msg::Stopped(s) => (b'Z', s.to_le_bytes().to_vec()),
        Msg::Resolver => (b'R', vec![]),
    };
    let mut v = Vec::with_capacity(body.len() + 1);
    v.push(tag);
    v.extend(body);
    v
}

#[doc(hidden)]
pub fn decode(b: &[u8]) -> io::Result<Msg> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad message from the box");
    let (&tag, body) = b.split_first().ok_or_else(bad)?;
    let int = || -> io::Result<i32> { Ok(i32::from_le_bytes(body.try_into().map_err(|_| bad())?)) };
    // A message without a body is its tag alone: trailing bytes mean a garbled packet.
    if !body.is_empty() && !matches!(tag, b'E' | b'X' | b'S' | b'Z') {
        return Err(bad());
    }
    Ok(match tag {
        b'E' => {
            let (&stage, detail) = body.split_first().ok_or_else(bad)?;
            Msg::SetupError(super::SetupError {
                stage: super::Stage::from_u8(stage).ok_or_else(bad)?,
                detail: String::from_utf8_lossy(detail).into_owned(),
            })
        }
        b'X' => Msg::ExecError(int()?),
        b'S' => Msg::Status(int()?),
        b'L' => Msg::Listeners,
        b'T' => Msg::TraceReady,
        b'G' => Msg::Go,
        b'N' => Msg::NoTrace,
        b'V' => Msg::GitViews,
        b'B' => Msg::Broker,
        b'Z' => Msg::Stopped(int()?),
        b'R' => Msg::Resolver,
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

/// Receive one message and any descriptors sent with it; `Ok(None)` at end of stream
/// (every holder of the other end is gone).
pub fn recv(fd: &impl AsRawFd) -> io::Result<Option<(Msg, Vec<OwnedFd>)>> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buf = [0u8; 4096];
    loop {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 16]);
        let msg = match recvmsg::<()>(
            fd.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut fds = Vec::new();
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::ScmRights(v) = c {
                // SAFETY: the kernel just installed these descriptors for us.
                fds.extend(v.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
            }
        }
        let n = msg.bytes;
        if n == 0 {
            return Ok(None);
        }
        return decode(&buf[..n]).map(|m| Some((m, fds)));
    }
}

/// Send listening sockets created inside the box's network namespace (SCM_RIGHTS).
pub fn send_fds(fd: &impl AsRawFd, fds: &[RawFd]) -> io::Result<()> {
    send_with_fds(fd, &Msg::Listeners, fds)
}

/// Send a message with descriptors attached (SCM_RIGHTS).
pub fn send_with_fds(fd: &impl AsRawFd, m: &Msg, fds: &[RawFd]) -> io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let body = encode(m);
    let iov = [std::io::IoSlice::new(&body)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    sendmsg::<()>(fd.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None)
        .map(|_| ())
        .map_err(io::Error::from)
}

/// Send a body-less message with one descriptor attached, without allocating (the box calls it
/// between fork and exec).
pub fn send_fd(fd: &impl AsRawFd, m: &Msg, attached: RawFd) -> io::Result<()> {
    let tag = match m {
        Msg::Broker => b'B',
        Msg::Listeners => b'L',
        Msg::TraceReady => b'T',
        Msg::Go => b'G',
        Msg::NoTrace => b'N',
        _ => return Err(io::Error::from(io::ErrorKind::InvalidInput)),
    };
    let mut body = [tag];
    let mut iov = libc::iovec {
        iov_base: body.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // Room for one cmsghdr and one int, aligned for cmsghdr (CMSG_SPACE(4) is 24 on 64-bit).
    #[repr(C, align(8))]
    struct Space([u8; 32]);
    let mut space = Space([0; 32]);
    // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call, and the
    // control buffer is large enough and aligned for one SCM_RIGHTS header with one int.
    unsafe {
        let mut mh: libc::msghdr = std::mem::zeroed();
        mh.msg_iov = &mut iov;
        mh.msg_iovlen = 1;
        mh.msg_control = space.0.as_mut_ptr().cast();
        mh.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
        let c = libc::CMSG_FIRSTHDR(&mh);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), attached);
        loop {
            if libc::sendmsg(fd.as_raw_fd(), &mh, libc::MSG_NOSIGNAL) >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_bytes_are_refused() {
        // Found by fuzzing (fuzz/ channel): `GG` was taken for `Go`.
        assert!(decode(b"GG").is_err());
        assert!(decode(b"B\0").is_err());
        assert!(decode(b"X\x02\0\0\0\0").is_err());
        assert_eq!(decode(b"G").unwrap(), Msg::Go);
        // A set-up error names its stage: without one it is garbled too.
        assert!(decode(b"E").is_err());
        assert!(decode(b"E\xff").is_err());
    }

    #[test]
    fn roundtrip() {
        let (a, b) = pair().unwrap();
        for m in [
            Msg::SetupError(crate::sandbox::SetupError {
                stage: crate::sandbox::Stage::Mounts,
                detail: "EPERM".into(),
            }),
            Msg::ExecError(2),
            Msg::Status(0x0f00),
            Msg::Stopped(libc::SIGTSTP),
            Msg::Resolver,
        ] {
            send(&a, &m).unwrap();
            assert_eq!(recv(&b).unwrap().map(|x| x.0), Some(m));
        }
        let (x, _y) = pair().unwrap();
        send_fds(&a, &[x.as_raw_fd()]).unwrap();
        let (m, fds) = recv(&b).unwrap().unwrap();
        assert_eq!(m, Msg::Listeners);
        assert_eq!(fds.len(), 1);
        send_fd(&a, &Msg::Broker, x.as_raw_fd()).unwrap();
        let (m, fds) = recv(&b).unwrap().unwrap();
        assert_eq!(m, Msg::Broker);
        assert_eq!(fds.len(), 1);
        drop(a);
        assert!(recv(&b).unwrap().is_none());
    }
}
