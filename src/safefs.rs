//! Descriptor-based file operations for code that runs outside the box, as the person, on trees
//! the box could write: every operation goes through a directory descriptor, names are single
//! components opened without following symlinks, and deeper paths go through `openat2(2)` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, so nothing the box planted can redirect it.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

/// What a directory entry is, never following a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// A fifo, socket or device node.
    Other,
}

/// The `lstat` of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// What the entry is.
    pub kind: Kind,
    /// Permission bits (with setuid, setgid and sticky), without the file type.
    pub mode: u32,
    /// Device of the filesystem holding it.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Last content change, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Last inode change, nanoseconds since the epoch.
    pub ctime_ns: i128,
    /// Owner.
    pub uid: u32,
}

impl Meta {
    fn of(st: &libc::stat) -> Meta {
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => Kind::File,
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFLNK => Kind::Symlink,
            _ => Kind::Other,
        };
        Meta {
            kind,
            mode: st.st_mode & 0o7777,
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime_ns: i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec),
            ctime_ns: i128::from(st.st_ctime) * 1_000_000_000 + i128::from(st.st_ctime_nsec),
            uid: st.st_uid,
        }
    }

    /// (dev, ino): what identifies the entry while it exists.
    pub fn identity(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

/// One path component: never empty, `.`, `..`, nor containing `/` or NUL.
fn single(name: &OsStr) -> io::Result<CString> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') {
        return Err(invalid("not a single file name"));
    }
    CString::new(b).map_err(|_| invalid("NUL in a file name"))
}

fn fstat(fd: RawFd) -> io::Result<Meta> {
    // SAFETY: all-zero is a valid `stat`; fstat only writes into it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer for the duration of the call.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(Meta::of(&st))
}

/// `openat2(2)`'s argument (libc's `open_how` is non-exhaustive, so not constructible).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Takes ownership of a fresh descriptor returned by a syscall.
fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    let fd = cvt(fd)?;
    // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A directory held open by descriptor (`O_RDONLY`, not `O_PATH`, so `*at` calls and `getdents`
/// work). The path is only for messages: no operation goes through it.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
    dev: u64,
    ino: u64,
}

const DIR_FLAGS: libc::c_int = libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC;

impl Dir {
    fn from_fd(fd: OwnedFd, path: PathBuf) -> io::Result<Dir> {
        let m = fstat(fd.as_raw_fd())?;
        if m.kind != Kind::Dir {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        Ok(Dir {
            fd,
            path,
            dev: m.dev,
            ino: m.ino,
        })
    }

    /// A directory from a descriptor handed over (the box's private git views); `path` is for
    /// messages only.
    pub fn from_owned(fd: OwnedFd, path: PathBuf) -> io::Result<Dir> {
        Dir::from_fd(fd, path)
    }

    /// Opens a trusted path (chosen at launch; symlinks in it are followed).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| invalid("NUL in a path"))?;
        // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
        let fd = owned(unsafe { libc::open(c.as_ptr(), DIR_FLAGS) })?;
        Dir::from_fd(fd, path.to_path_buf())
    }

    /// Opens a directory below this one without following any symlink or leaving through `..`.
    pub fn open_beneath(&self, rel: &Path) -> io::Result<Dir> {
        let mut names = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(n) => names.push(n),
                Component::CurDir => {}
                _ => return Err(invalid("not a relative path below the directory")),
            }
        }
        let path = names.iter().fold(self.path.clone(), |p, n| p.join(n));
        let rel_c = if names.is_empty() {
            CString::new(".").unwrap()
        } else {
            let joined: PathBuf = names.iter().collect();
            CString::new(joined.into_os_string().into_vec())
                .map_err(|_| invalid("NUL in a path"))?
        };
        let how = OpenHow {
            flags: (DIR_FLAGS | libc::O_NOFOLLOW) as u64,
            mode: 0,
            resolve: libc::RESOLVE_BENEATH
                | libc::RESOLVE_NO_SYMLINKS
                | libc::RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: valid descriptor, NUL-terminated path and a correctly sized `open_how`.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.fd.as_raw_fd(),
                rel_c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match owned(r as libc::c_int) {
            Ok(fd) => Dir::from_fd(fd, path),
            // Kernels before 5.6, or a container filter that refuses openat2: one component at a
            // time with O_NOFOLLOW is just as strict (`..` was rejected above).
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) => {
                self.walk_beneath(&names)
            }
            Err(e) => Err(e),
        }
    }

    /// `open_beneath` without openat2: one plain component at a time, none followed.
    fn walk_beneath(&self, names: &[&OsStr]) -> io::Result<Dir> {
        let mut cur = self.try_clone()?;
        for n in names {
            cur = cur.open_dir(n)?;
        }
        Ok(cur)
    }

    /// Opens the subdirectory `name` (a single component; a symlink is refused).
    fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let c = single(name)?;
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd = owned(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                DIR_FLAGS | libc::O_NOFOLLOW,
            )
        })?;
        Dir::from_fd(fd, self.path.join(name))
    }

    /// Opens the directory that now contains this one (`..` is never a symlink); used to find
    /// where a directory was moved.
    pub fn open_parent(&self) -> io::Result<Dir> {
        // SAFETY: valid descriptor and a static NUL-terminated name.
        let fd = owned(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c"..".as_ptr(),
                DIR_FLAGS | libc::O_NOFOLLOW,
            )
        })?;
        let path = self.path.parent().unwrap_or(Path::new("/")).to_path_buf();
        Dir::from_fd(fd, path)
    }

    /// A second descriptor on the same directory (its own read offset).
    pub fn try_clone(&self) -> io::Result<Dir> {
        // SAFETY: valid descriptor and a static NUL-terminated name.
        let fd = owned(unsafe { libc::openat(self.fd.as_raw_fd(), c".".as_ptr(), DIR_FLAGS) })?;
        Dir::from_fd(fd, self.path.clone())
    }

    /// (dev, ino) of this directory, as opened.
    pub fn identity(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }

    /// The path it was opened as (for messages only).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Metadata of the directory itself, now.
    pub fn meta(&self) -> io::Result<Meta> {
        fstat(self.fd.as_raw_fd())
    }

    /// `lstat` of one entry; `None` when it does not exist.
    pub fn stat(&self, name: &OsStr) -> io::Result<Option<Meta>> {
        let c = single(name)?;
        // SAFETY: all-zero is a valid `stat`; fstatat only writes into it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, NUL-terminated name, valid out-pointer.
        let r = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        match cvt(r) {
            Ok(_) => Ok(Some(Meta::of(&st))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// True when the entry `name` is the root of a mount (something a tree walk must not enter).
    pub fn is_mount_point(&self, name: &OsStr) -> io::Result<bool> {
        let c = single(name)?;
        // SAFETY: all-zero is a valid `statx`; the kernel only writes into it.
        let mut stx: libc::statx = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, NUL-terminated name, valid out-pointer.
        let r = unsafe {
            libc::statx(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
                libc::STATX_INO,
                &mut stx,
            )
        };
        if r == 0 && stx.stx_attributes_mask & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0 {
            return Ok(stx.stx_attributes & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0);
        }
        // Older kernels: a different device at least means another filesystem.
        Ok(self.stat(name)?.is_some_and(|m| m.dev != self.dev))
    }

    /// Opens the regular file `name` for reading (a symlink, fifo or device is refused).
    pub fn open_file(&self, name: &OsStr) -> io::Result<(File, Meta)> {
        let c = single(name)?;
        // O_NONBLOCK: a fifo swapped in must not hang us before the type check below.
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd = owned(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY
                    | libc::O_NOFOLLOW
                    | libc::O_CLOEXEC
                    | libc::O_NONBLOCK
                    | libc::O_NOCTTY,
            )
        })?;
        let m = fstat(fd.as_raw_fd())?;
        if m.kind != Kind::File {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Ok((File::from(fd), m))
    }

    /// Reads the regular file `name` whole; fails when it is larger than `limit` bytes.
    pub fn read(&self, name: &OsStr, limit: u64) -> io::Result<Vec<u8>> {
        let (f, m) = self.open_file(name)?;
        if m.size > limit {
            return Err(too_large());
        }
        let mut buf = Vec::with_capacity(m.size as usize);
        f.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
        if buf.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(buf)
    }

    /// The target of the symlink `name`.
    pub fn read_link(&self, name: &OsStr) -> io::Result<PathBuf> {
        let c = single(name)?;
        let mut buf = vec![0u8; 256];
        loop {
            // SAFETY: valid descriptor, NUL-terminated name, `buf` writable for its length.
            let n = unsafe {
                libc::readlinkat(
                    self.fd.as_raw_fd(),
                    c.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = n as usize;
            if n < buf.len() {
                buf.truncate(n);
                return Ok(PathBuf::from(OsString::from_vec(buf)));
            }
            if buf.len() >= 1 << 16 {
                return Err(too_large());
            }
            buf.resize(buf.len() * 4, 0);
        }
    }

    /// The entries (without `.` and `..`), sorted by name.
    pub fn list(&self) -> io::Result<Vec<(OsString, Kind)>> {
        // A fresh open file description: its own offset, and closedir may close it.
        // SAFETY: valid descriptor and a static NUL-terminated name.
        let fd = cvt(unsafe { libc::openat(self.fd.as_raw_fd(), c".".as_ptr(), DIR_FLAGS) })?;
        // SAFETY: `fd` is a fresh directory descriptor; on success the stream owns it.
        let dirp = unsafe { libc::fdopendir(fd) };
        if dirp.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: fdopendir failed, so `fd` is still ours to close.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        let mut out = Vec::new();
        let res = loop {
            // SAFETY: errno is thread-local; clearing it tells end-of-stream from an error.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: `dirp` is a valid stream until closedir below.
            let ent = unsafe { libc::readdir(dirp) };
            if ent.is_null() {
                let e = io::Error::last_os_error();
                break if e.raw_os_error().unwrap_or(0) == 0 {
                    Ok(())
                } else {
                    Err(e)
                };
            }
            // SAFETY: readdir returned a valid entry whose d_name is NUL-terminated; it stays
            // valid until the next readdir call, and we copy it out before then.
            let (name, dtype) = unsafe {
                let e = &*ent;
                (
                    std::ffi::CStr::from_ptr(e.d_name.as_ptr())
                        .to_bytes()
                        .to_vec(),
                    e.d_type,
                )
            };
            if name == b"." || name == b".." {
                continue;
            }
            out.push((OsString::from_vec(name), dtype));
        };
        // SAFETY: `dirp` is valid and closed exactly once.
        unsafe { libc::closedir(dirp) };
        res?;
        let mut list = Vec::with_capacity(out.len());
        for (name, dtype) in out {
            let kind = match dtype {
                libc::DT_REG => Kind::File,
                libc::DT_DIR => Kind::Dir,
                libc::DT_LNK => Kind::Symlink,
                libc::DT_UNKNOWN => match self.stat(&name)? {
                    Some(m) => m.kind,
                    None => continue,
                },
                _ => Kind::Other,
            };
            list.push((name, kind));
        }
        list.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(list)
    }

    /// Creates the new file `name` (never an existing one, never through a symlink) with
    /// exactly `mode`, for the caller to write.
    pub fn create(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let c = single(name)?;
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd = owned(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        })?;
        let f = File::from(fd);
        // Exact mode: the umask must not change what is restored.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777))?;
        Ok(f)
    }

    /// Creates the new file `name` holding `bytes` with `mode`, and fsyncs it.
    pub fn create_file(&self, name: &OsStr, bytes: &[u8], mode: u32) -> io::Result<()> {
        let mut f = self.create(name, mode)?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    /// Replaces `name` with `bytes` atomically (temp file, fsync, rename, directory fsync), 0600.
    #[allow(dead_code)] // used by the journal and Guard::persist, which run.rs does not call yet.
    pub fn write_atomic(&self, name: &OsStr, bytes: &[u8]) -> io::Result<()> {
        let mut tmp = OsString::from(".");
        tmp.push(name);
        tmp.push(format!(".tmp-{}", std::process::id()));
        // A leftover of a crashed writer with this pid would block O_EXCL.
        if let Some(m) = self.stat(&tmp)? {
            if m.kind != Kind::Dir {
                self.unlink(&tmp)?;
            }
        }
        self.create_file(&tmp, bytes, 0o600)?;
        if let Err(e) = self.rename(&tmp, self, name, false) {
            let _ = self.unlink(&tmp);
            return Err(e);
        }
        self.sync()
    }

    /// Replaces `name` with `bytes` atomically (temp file, rename), 0600, without fsync: for
    /// records that must survive agentbox being killed, not the machine losing power (the
    /// crash journal, at every launch: a sync would cost about a millisecond).
    pub fn replace_file(&self, name: &OsStr, bytes: &[u8]) -> io::Result<()> {
        let mut tmp = OsString::from(".");
        tmp.push(name);
        tmp.push(format!(".tmp-{}", std::process::id()));
        if let Some(m) = self.stat(&tmp)? {
            if m.kind != Kind::Dir {
                self.unlink(&tmp)?;
            }
        }
        let mut f = self.create(&tmp, 0o600)?;
        if let Err(e) = f.write_all(bytes) {
            let _ = self.unlink(&tmp);
            return Err(e);
        }
        drop(f);
        if let Err(e) = self.rename(&tmp, self, name, false) {
            let _ = self.unlink(&tmp);
            return Err(e);
        }
        Ok(())
    }

    /// Appends `bytes` to `name` (created with `mode` if missing; never through a symlink) and
    /// fsyncs it.
    pub fn append(&self, name: &OsStr, bytes: &[u8], mode: u32) -> io::Result<()> {
        let c = single(name)?;
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd = owned(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                // O_NONBLOCK: a fifo in its place fails instead of blocking.
                libc::O_WRONLY
                    | libc::O_CREAT
                    | libc::O_APPEND
                    | libc::O_NOFOLLOW
                    | libc::O_CLOEXEC
                    | libc::O_NONBLOCK,
                mode as libc::c_uint,
            )
        })?;
        let mut f = File::from(fd);
        if f.metadata()?.file_type().is_file() {
            f.write_all(bytes)?;
            f.sync_all()
        } else {
            Err(invalid("not a regular file"))
        }
    }

    /// Creates the directory `name` with exactly `mode`.
    pub fn mkdir(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        let c = single(name)?;
        // SAFETY: valid descriptor and NUL-terminated name.
        cvt(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o700) })?;
        // Exact mode despite the umask, on the directory just made (not through a path).
        self.open_dir(name)?.chmod(mode)
    }

    /// Creates the symlink `name` pointing at `target` (which is not looked at).
    pub fn symlink(&self, name: &OsStr, target: &Path) -> io::Result<()> {
        let c = single(name)?;
        let t =
            CString::new(target.as_os_str().as_bytes()).map_err(|_| invalid("NUL in a path"))?;
        // SAFETY: NUL-terminated strings and a valid descriptor.
        cvt(unsafe { libc::symlinkat(t.as_ptr(), self.fd.as_raw_fd(), c.as_ptr()) })?;
        Ok(())
    }

    /// Renames `name` here to `to_name` in `to` (`renameat2`); with `noreplace`, fails rather than
    /// replace an existing entry. Symlinks are moved, never followed.
    pub fn rename(
        &self,
        name: &OsStr,
        to: &Dir,
        to_name: &OsStr,
        noreplace: bool,
    ) -> io::Result<()> {
        let a = single(name)?;
        let b = single(to_name)?;
        let flags = if noreplace { libc::RENAME_NOREPLACE } else { 0 };
        // SAFETY: valid descriptors and NUL-terminated names.
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                self.fd.as_raw_fd(),
                a.as_ptr(),
                to.fd.as_raw_fd(),
                b.as_ptr(),
                flags,
            )
        };
        cvt(r as libc::c_int).map(drop)
    }

    /// Removes the non-directory `name` (a symlink itself, never its target).
    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        let c = single(name)?;
        // SAFETY: valid descriptor and NUL-terminated name.
        cvt(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) }).map(drop)
    }

    /// Removes `name` and everything below it through descriptors: symlinks are removed, never
    /// followed, and no other filesystem (mount point) is entered.
    pub fn remove_tree(&self, name: &OsStr) -> io::Result<()> {
        let c = single(name)?;
        let Some(m) = self.stat(name)? else {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        if m.kind == Kind::Dir {
            if self.is_mount_point(name)? {
                return Err(io::Error::from_raw_os_error(libc::EXDEV));
            }
            let sub = self.open_dir(name)?;
            if sub.identity() != m.identity() {
                return Err(io::Error::other("replaced while being removed"));
            }
            for (n, _) in sub.list()? {
                sub.remove_tree(&n)?;
            }
            // SAFETY: valid descriptor and NUL-terminated name.
            cvt(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), libc::AT_REMOVEDIR) })?;
            Ok(())
        } else {
            self.unlink(name)
        }
    }

    /// Sets this directory's permission bits.
    pub fn chmod(&self, mode: u32) -> io::Result<()> {
        // SAFETY: valid descriptor.
        cvt(unsafe { libc::fchmod(self.fd.as_raw_fd(), (mode & 0o7777) as libc::mode_t) }).map(drop)
    }

    /// Flushes this directory's entries (after a create or rename) to disk.
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: valid descriptor.
        cvt(unsafe { libc::fsync(self.fd.as_raw_fd()) }).map(drop)
    }
}

fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "file too large")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A temp dir on the disk filesystem (like a real workspace).
    pub(crate) fn tmp() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("agentbox-safefs-")
            .tempdir_in("/var/tmp")
            .unwrap()
    }

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn open_beneath_refuses_symlinks_and_escapes() {
        let t = tmp();
        let outside = tmp();
        std::fs::create_dir_all(t.path().join("a/b")).unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("a/link")).unwrap();
        std::os::unix::fs::symlink("b", t.path().join("a/rel")).unwrap();
        let d = Dir::open(t.path()).unwrap();
        let b = d.open_beneath(Path::new("a/b")).unwrap();
        assert_eq!(b.path(), t.path().join("a/b"));
        let m = std::fs::metadata(t.path().join("a/b")).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(b.identity(), (m.dev(), m.ino()));
        for bad in [
            "a/link",
            "a/rel",
            "a/link/x",
            "a/../a",
            "/etc",
            "a/b/../../..",
        ] {
            assert!(d.open_beneath(Path::new(bad)).is_err(), "{bad}");
        }
        // The one-component-at-a-time fallback (no openat2) is just as strict.
        let cur = d.walk_beneath(&[os("a"), os("b")]).unwrap();
        assert_eq!(cur.identity(), b.identity());
        assert_eq!(cur.path(), t.path().join("a/b"));
        assert!(d.walk_beneath(&[os("a"), os("link")]).is_err());
        assert!(d.walk_beneath(&[os("a"), os("rel")]).is_err());
        assert!(d.walk_beneath(&[os("a"), os("..")]).is_err());
        let a = d.open_dir(os("a")).unwrap();
        assert!(a.open_dir(os("link")).is_err());
        assert!(a.open_dir(os("..")).is_err());
        assert_eq!(b.open_parent().unwrap().identity(), a.identity());
    }

    #[test]
    fn entry_operations_never_follow_symlinks() {
        let t = tmp();
        let outside = tmp();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let d = Dir::open(t.path()).unwrap();
        d.symlink(os("l"), &outside.path().join("secret")).unwrap();
        assert_eq!(d.stat(os("l")).unwrap().unwrap().kind, Kind::Symlink);
        assert_eq!(d.read_link(os("l")).unwrap(), outside.path().join("secret"));
        assert!(d.read(os("l"), 100).is_err());
        assert!(d.create_file(os("l"), b"y", 0o644).is_err());
        assert!(d.append(os("l"), b"y", 0o644).is_err());
        assert_eq!(std::fs::read(outside.path().join("secret")).unwrap(), b"x");
        assert!(d.stat(os("missing")).unwrap().is_none());
        for bad in ["", ".", "..", "a/b"] {
            assert!(d.stat(os(bad)).is_err(), "{bad:?}");
        }
        // A fifo is refused without blocking.
        let fifo = CString::new(t.path().join("p").as_os_str().as_bytes()).unwrap();
        // SAFETY: valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(d.read(os("p"), 100).is_err());
        assert_eq!(d.stat(os("p")).unwrap().unwrap().kind, Kind::Other);
    }

    #[test]
    fn files_directories_and_listing() {
        let t = tmp();
        let d = Dir::open(t.path()).unwrap();
        // Group/other write bits: what a usual umask (022) would strip; the mode is exact.
        d.create_file(os("f"), b"hello", 0o777).unwrap();
        d.mkdir(os("sub"), 0o773).unwrap();
        let m = d.stat(os("f")).unwrap().unwrap();
        assert_eq!((m.kind, m.mode, m.size), (Kind::File, 0o777, 5));
        assert_eq!(d.stat(os("sub")).unwrap().unwrap().mode, 0o773);
        assert!(d.create_file(os("f"), b"again", 0o644).is_err(), "O_EXCL");
        assert_eq!(d.read(os("f"), 5).unwrap(), b"hello");
        assert!(d.read(os("f"), 4).is_err());
        d.append(os("log"), b"a\n", 0o600).unwrap();
        d.append(os("log"), b"b\n", 0o600).unwrap();
        assert_eq!(d.read(os("log"), 100).unwrap(), b"a\nb\n");
        d.write_atomic(os("w"), b"1").unwrap();
        d.write_atomic(os("w"), b"2").unwrap();
        assert_eq!(d.read(os("w"), 10).unwrap(), b"2");
        assert_eq!(d.stat(os("w")).unwrap().unwrap().mode, 0o600);
        d.symlink(os("l"), Path::new("f")).unwrap();
        let names: Vec<(String, Kind)> = d
            .list()
            .unwrap()
            .into_iter()
            .map(|(n, k)| (n.to_string_lossy().into_owned(), k))
            .collect();
        let want = [
            ("f", Kind::File),
            ("l", Kind::Symlink),
            ("log", Kind::File),
            ("sub", Kind::Dir),
            ("w", Kind::File),
        ];
        assert_eq!(
            names,
            want.iter()
                .map(|(n, k)| (n.to_string(), *k))
                .collect::<Vec<_>>()
        );
        let sub = d.open_beneath(Path::new("sub")).unwrap();
        d.rename(os("f"), &sub, os("g"), true).unwrap();
        assert_eq!(sub.read(os("g"), 10).unwrap(), b"hello");
        sub.create_file(os("h"), b"", 0o600).unwrap();
        assert!(
            sub.rename(os("g"), &sub, os("h"), true).is_err(),
            "noreplace"
        );
        sub.rename(os("g"), &sub, os("h"), false).unwrap();
        assert_eq!(sub.read(os("h"), 10).unwrap(), b"hello");
        sub.chmod(0o700).unwrap();
        assert_eq!(
            std::fs::metadata(t.path().join("sub"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o700
        );
    }

    #[test]
    fn remove_tree_stays_inside() {
        let t = tmp();
        let outside = tmp();
        std::fs::create_dir_all(outside.path().join("keep")).unwrap();
        std::fs::write(outside.path().join("keep/file"), "precious").unwrap();
        let victim = t.path().join("victim");
        std::fs::create_dir_all(victim.join("a/b")).unwrap();
        std::fs::write(victim.join("a/b/f"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("keep"), victim.join("a/link")).unwrap();
        std::os::unix::fs::symlink(outside.path(), victim.join("top")).unwrap();
        let d = Dir::open(t.path()).unwrap();
        d.remove_tree(os("victim")).unwrap();
        assert!(!victim.exists());
        assert_eq!(
            std::fs::read(outside.path().join("keep/file")).unwrap(),
            b"precious"
        );
        // A symlink itself is removed, not its target.
        std::os::unix::fs::symlink(outside.path(), t.path().join("l")).unwrap();
        d.remove_tree(os("l")).unwrap();
        assert!(outside.path().join("keep/file").exists());
        assert!(d.remove_tree(os("l")).is_err());
    }

    #[test]
    fn a_mount_point_is_not_entered() {
        // /dev/shm is a mount point of its own under /dev.
        let dev = Dir::open(Path::new("/dev")).unwrap();
        if std::fs::metadata("/dev/shm").is_ok() {
            assert!(dev.is_mount_point(os("shm")).unwrap());
        }
        let t = tmp();
        std::fs::create_dir(t.path().join("d")).unwrap();
        assert!(!Dir::open(t.path())
            .unwrap()
            .is_mount_point(os("d"))
            .unwrap());
    }
}
