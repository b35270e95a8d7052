//! The namespace layer, run in the child before Landlock: user, mount, pid, ipc and net
//! namespaces; private /tmp; masked /run; hidden and read-only paths inside writable trees.
//! Nothing here touches the host: every mount lives in the child's own mount namespace.

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What the child must set up.
#[derive(Debug, Clone, Default)]
pub struct NsSpec {
    /// Also a network namespace with only loopback.
    pub net: bool,
    /// Paths masked by an empty, writable tmpfs (private /tmp, /run, ...).
    pub masked: Vec<PathBuf>,
    /// Paths that are writable tmpfs (`/tmp`, `/dev/shm`) rather than masked read-only.
    pub private_writable: Vec<PathBuf>,
    /// Writable tmpfs mounted after masking (the box's temp dir when /tmp itself is a mask).
    pub extra_tmpfs: Vec<PathBuf>,
    /// Paths made empty and unreadable.
    pub hidden: Vec<PathBuf>,
    /// Paths made read-only.
    pub read_only: Vec<PathBuf>,
    /// Directories bound onto themselves so they cannot be renamed away from the read-only
    /// mounts inside them (`.git` around `.git/hooks`).
    pub pinned: Vec<PathBuf>,
    /// A private devpts on /dev/pts, so the person's other terminals are not there.
    pub private_pts: bool,
    /// Paths under masked trees that must stay visible: granted paths such as a workspace in
    /// /tmp, or /etc/resolv.conf's target in /run. Their parents inside the mask are read-only.
    pub keep: Vec<PathBuf>,
    /// Empty directories to make inside the masks (standard directories of a home).
    pub skeleton: Vec<PathBuf>,
    /// Git directories the box sees through a private view (see gitmeta::shadow).
    pub shadows: Vec<crate::gitmeta::shadow::Shadow>,
}

fn err(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// Enter new namespaces and map the caller's own uid/gid inside, so files keep their owner.
pub fn enter(uid: u32, gid: u32, net: bool) -> io::Result<()> {
    let mut flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC;
    if net {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(|e| err("unshare", e))?;
    // /proc/self of a non-dumpable process belongs to root: become dumpable just long enough to
    // write the maps, then non-dumpable again before anything of the box runs.
    // SAFETY: plain prctl calls.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    let r = write_maps(uid, gid);
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    r
}

fn write_maps(uid: u32, gid: u32) -> io::Result<()> {
    std::fs::write("/proc/self/setgroups", "deny").map_err(|e| err("setgroups", e))?;
    std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))
        .map_err(|e| err("uid_map", e))?;
    std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))
        .map_err(|e| err("gid_map", e))?;
    Ok(())
}

/// Flags of the mount holding `p` that a bind remount must keep (the kernel locks them in a user namespace).
fn locked_flags(p: &Path) -> MsFlags {
    let mut f = MsFlags::empty();
    if let Ok(st) = nix::sys::statvfs::statvfs(p) {
        use nix::sys::statvfs::FsFlags;
        let fl = st.flags();
        if fl.contains(FsFlags::ST_NOSUID) {
            f |= MsFlags::MS_NOSUID;
        }
        if fl.contains(FsFlags::ST_NODEV) {
            f |= MsFlags::MS_NODEV;
        }
        if fl.contains(FsFlags::ST_NOEXEC) {
            f |= MsFlags::MS_NOEXEC;
        }
        if fl.contains(FsFlags::ST_NOATIME) {
            f |= MsFlags::MS_NOATIME;
        }
        if fl.contains(FsFlags::ST_NODIRATIME) {
            f |= MsFlags::MS_NODIRATIME;
        }
        if fl.contains(FsFlags::ST_RELATIME) {
            f |= MsFlags::MS_RELATIME;
        }
    }
    f
}

fn bind(src: &Path, dst: &Path, read_only: bool) -> io::Result<()> {
    mount(
        Some(src),
        dst,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| err(&format!("bind {}", dst.display()), e))?;
    if read_only {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked_flags(dst);
        mount(None::<&str>, dst, None::<&str>, flags, None::<&str>)
            .map_err(|e| err(&format!("read-only remount {}", dst.display()), e))?;
    }
    Ok(())
}

fn tmpfs(dst: &Path, mode: &str) -> io::Result<()> {
    mount(
        Some("tmpfs"),
        dst,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(format!("mode={mode}").as_str()),
    )
    .map_err(|e| err(&format!("tmpfs on {}", dst.display()), e))
}

/// Build the mount view. Must run after `enter` and before Landlock (which forbids mounts).
/// Returns a descriptor on the private directory of each git view, in `spec.shadows` order, for
/// the supervisor to merge from after the run.
pub fn setup_mounts(spec: &NsSpec) -> io::Result<Vec<std::os::fd::OwnedFd>> {
    // Nothing we mount may propagate back to the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| err("make / a slave mount", e))?;
    // Open what must survive masking before the masks hide it.
    let mut kept: Vec<(PathBuf, std::fs::File, bool)> = Vec::new();
    for k in &spec.keep {
        let Ok(meta) = std::fs::metadata(k) else {
            continue;
        };
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(k);
        if let Ok(f) = f {
            kept.push((k.clone(), f, meta.is_dir()));
        }
    }
    for m in &spec.masked {
        let writable = spec.private_writable.contains(m);
        tmpfs(m, if writable { "1777" } else { "0755" })?;
    }
    if spec.private_pts {
        private_pts()?;
    }
    // Staging for the empty placeholders lives only in this namespace, under the masked /run.
    let stage = PathBuf::from("/run/.agentbox");
    if !spec.hidden.is_empty() || !spec.shadows.is_empty() {
        if !spec.masked.iter().any(|m| m == Path::new("/run")) {
            tmpfs(Path::new("/run"), "0755")?;
        }
        // One mount point per git view, made now: /run turns read-only below.
        for k in 0..spec.shadows.len() {
            std::fs::create_dir_all(stage.join("git").join(k.to_string()))
                .map_err(|e| err("stage dir", e))?;
        }
        std::fs::create_dir_all(stage.join("emptydir")).map_err(|e| err("stage dir", e))?;
        std::fs::write(stage.join("empty"), b"").map_err(|e| err("stage file", e))?;
        use std::os::unix::fs::PermissionsExt;
        let _ =
            std::fs::set_permissions(stage.join("empty"), std::fs::Permissions::from_mode(0o000));
        let _ = std::fs::set_permissions(
            stage.join("emptydir"),
            std::fs::Permissions::from_mode(0o000),
        );
    }
    for d in &spec.skeleton {
        std::fs::create_dir_all(d).map_err(|e| err("mask skeleton", e))?;
    }
    for (path, f, is_dir) in &kept {
        let created = if *is_dir {
            std::fs::create_dir_all(path).is_ok()
        } else {
            path.parent().map(std::fs::create_dir_all);
            std::fs::write(path, b"").is_ok()
        };
        if !created {
            continue;
        }
        let src = PathBuf::from(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(f)
        ));
        bind(&src, path, false)?;
    }
    for t in &spec.extra_tmpfs {
        std::fs::create_dir_all(t).map_err(|e| err(&format!("create {}", t.display()), e))?;
        tmpfs(t, "1777")?;
    }
    // Masks are read-only once their mount points exist: the directories created to reach a
    // kept path must not be writable (submounts keep their own flags).
    for m in &spec.masked {
        if !spec.private_writable.contains(m) {
            let flags =
                MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
            mount(None::<&str>, m.as_path(), None::<&str>, flags, None::<&str>)
                .map_err(|e| err(&format!("read-only {}", m.display()), e))?;
        }
    }
    let views = git_views(&spec.shadows, &stage.join("git"))?;
    for h in &spec.hidden {
        // A hidden symlink hides what it points to (mount follows it): skipping it would leave
        // the target readable through the link. A dangling link shows nothing anyway.
        let Ok(meta) = std::fs::metadata(h) else {
            continue;
        };
        let src = if meta.is_dir() {
            stage.join("emptydir")
        } else {
            stage.join("empty")
        };
        bind(&src, h, true)?;
    }
    for p in &spec.pinned {
        if std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()) {
            bind(p, p, false)?;
        }
    }
    for r in &spec.read_only {
        if std::fs::symlink_metadata(r).is_err() {
            continue;
        }
        bind(r, r, true)?;
    }
    Ok(views)
}

/// Most bytes copied into the git views (index and packed-refs of a very large repository fit).
const VIEW_MAX_BYTES: u64 = 1 << 30;
/// Most entries copied into the git views.
const VIEW_MAX_ENTRIES: usize = 100_000;

/// An entry of a real git directory to bind into its view once the view covers it: opened
/// before, since the view hides the original.
struct PendingBind {
    src: std::fs::File,
    dst: PathBuf,
    read_only: bool,
}

/// Mount the private view of each git directory (see gitmeta::shadow) and return a descriptor
/// on each view's own tmpfs root.
fn git_views(
    shadows: &[crate::gitmeta::shadow::Shadow],
    stage: &Path,
) -> io::Result<Vec<std::os::fd::OwnedFd>> {
    let mut out = Vec::new();
    for (k, sh) in shadows.iter().enumerate() {
        let s = stage.join(k.to_string());
        tmpfs(&s, "0700")?;
        let mut budget = (VIEW_MAX_BYTES, VIEW_MAX_ENTRIES);
        let mut binds = Vec::new();
        populate(sh, &sh.path, &s, &mut binds, &mut budget)?;
        let root = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(&s)
            .map_err(|e| err("open git view", e))?;
        bind(&s, &sh.path, false)?;
        for b in &binds {
            let src = PathBuf::from(format!(
                "/proc/self/fd/{}",
                std::os::fd::AsRawFd::as_raw_fd(&b.src)
            ));
            bind(&src, &b.dst, b.read_only)?;
        }
        // Only the bind at the git directory remains; the staging mount point goes, and the
        // descriptor keeps the tmpfs alive for the supervisor.
        nix::mount::umount2(&s, nix::mount::MntFlags::MNT_DETACH)
            .map_err(|e| err("detach git view stage", e))?;
        out.push(std::os::fd::OwnedFd::from(root));
    }
    Ok(out)
}

/// Fill the view `s` of the real git directory `real` (described by `sh`) and collect the binds
/// to make once the view is in place at `at` (the real path, covered by then).
fn populate(
    sh: &crate::gitmeta::shadow::Shadow,
    at: &Path,
    s: &Path,
    binds: &mut Vec<PendingBind>,
    budget: &mut (u64, usize),
) -> io::Result<()> {
    use crate::gitmeta::shadow::Treatment;
    let real = &sh.path;
    for it in &sh.items {
        let src = real.join(&it.name);
        let dst = s.join(&it.name);
        let Ok(meta) = std::fs::symlink_metadata(&src) else {
            continue;
        };
        match it.treatment {
            Treatment::Copied => copy_tree(&src, &dst, budget)?,
            Treatment::Modules => {
                std::fs::create_dir(&dst).map_err(|e| err("git view modules", e))?;
            }
            Treatment::WriteThrough | Treatment::ReadOnly => {
                let f = std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_PATH)
                    .open(&src)
                    .map_err(|e| err(&format!("open {}", src.display()), e))?;
                // Through a symlink (hooks -> ../.githooks), the target is what git uses.
                let is_dir = std::fs::metadata(&src)
                    .map(|m| m.is_dir())
                    .unwrap_or(meta.is_dir());
                if is_dir {
                    std::fs::create_dir(&dst)
                } else {
                    std::fs::write(&dst, b"")
                }
                .map_err(|e| err("git view mount point", e))?;
                binds.push(PendingBind {
                    src: f,
                    dst: at.join(&it.name),
                    read_only: it.treatment == Treatment::ReadOnly,
                });
            }
        }
    }
    // packed-refs: the copy (or an empty one), bound read-only onto itself (see shadow).
    let packed = s.join(crate::gitmeta::shadow::PACKED_REFS);
    if std::fs::symlink_metadata(&packed).is_err() {
        std::fs::write(&packed, b"").map_err(|e| err("git view packed-refs", e))?;
    }
    binds.push(PendingBind {
        src: std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
            .open(&packed)
            .map_err(|e| err("git view packed-refs", e))?,
        dst: at.join(crate::gitmeta::shadow::PACKED_REFS),
        read_only: true,
    });
    for (rel, m) in &sh.modules {
        let ms = s.join(rel);
        std::fs::create_dir_all(&ms).map_err(|e| err("git view module", e))?;
        populate(m, &at.join(rel), &ms, binds, budget)?;
    }
    Ok(())
}

/// Copy a file, symlink or directory tree into the view, keeping modes and times.
fn copy_tree(src: &Path, dst: &Path, budget: &mut (u64, usize)) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(src).map_err(|e| err("git view copy", e))?;
    if budget.1 == 0 {
        return Err(err("git view", "too many entries to copy"));
    }
    budget.1 -= 1;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let t = std::fs::read_link(src).map_err(|e| err("git view copy", e))?;
        std::os::unix::fs::symlink(t, dst).map_err(|e| err("git view copy", e))?;
        return Ok(());
    }
    if ft.is_dir() {
        std::fs::create_dir(dst).map_err(|e| err("git view copy", e))?;
        let mut kids: Vec<_> = std::fs::read_dir(src)
            .map_err(|e| err("git view copy", e))?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        kids.sort();
        for k in kids {
            copy_tree(&src.join(&k), &dst.join(&k), budget)?;
        }
    } else if ft.is_file() {
        if meta.len() > budget.0 {
            return Err(err("git view", "git metadata too large to copy"));
        }
        budget.0 -= meta.len();
        std::fs::copy(src, dst).map_err(|e| err(&format!("copy {}", src.display()), e))?;
    } else {
        return Ok(());
    }
    let _ = std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777));
    // Same times as the original: git's racy-index checks compare the index's mtime.
    let times = [
        nix::sys::time::TimeSpec::new(meta.atime(), meta.atime_nsec()),
        nix::sys::time::TimeSpec::new(meta.mtime(), meta.mtime_nsec()),
    ];
    let _ = nix::sys::stat::utimensat(
        None,
        dst,
        &times[0],
        &times[1],
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    );
    Ok(())
}

/// A fresh devpts instance on /dev/pts behind /dev/ptmx: the box sees only the ptys it creates,
/// never the person's other terminals. Its own terminal stays usable through descriptors 0-2
/// and /dev/tty (the kernel finds the instance through `/dev/pts`, so it must sit right there).
fn private_pts() -> io::Result<()> {
    let pts = Path::new("/dev/pts");
    mount(
        Some("devpts"),
        pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )
    .map_err(|e| err("mount a private devpts", e))?;
    bind(&pts.join("ptmx"), Path::new("/dev/ptmx"), false)
}

/// Mount a fresh /proc for the new pid namespace (call in the namespace's first process).
pub fn mount_proc() -> io::Result<()> {
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| err("mount /proc", e))
}

/// Bring the loopback interface up in a fresh network namespace.
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket/ioctl calls on a struct we own and zero-initialise.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(err("socket for lo", io::Error::last_os_error()));
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) < 0 {
            let e = io::Error::last_os_error();
            libc::close(fd);
            return Err(err("SIOCGIFFLAGS lo", e));
        }
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        let r = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        let e = io::Error::last_os_error();
        libc::close(fd);
        if r < 0 {
            return Err(err("SIOCSIFFLAGS lo", e));
        }
    }
    Ok(())
}

/// Follow a `.git` file (worktrees, submodules) to the real git directory and its common dir.
pub fn real_git_dirs(workspace: &Path) -> Vec<PathBuf> {
    let dotgit = workspace.join(".git");
    let Ok(meta) = std::fs::symlink_metadata(&dotgit) else {
        return vec![];
    };
    if meta.is_dir() {
        return vec![dotgit];
    }
    let Ok(text) = std::fs::read_to_string(&dotgit) else {
        return vec![];
    };
    let Some(rest) = text.lines().find_map(|l| l.strip_prefix("gitdir:")) else {
        return vec![];
    };
    let mut gitdir = PathBuf::from(rest.trim());
    if gitdir.is_relative() {
        gitdir = workspace.join(gitdir);
    }
    let gitdir = crate::profile::expand::normalize(&gitdir.to_string_lossy());
    let mut out = vec![gitdir.clone()];
    if let Ok(c) = std::fs::read_to_string(gitdir.join("commondir")) {
        let mut common = PathBuf::from(c.trim());
        if common.is_relative() {
            common = gitdir.join(common);
        }
        out.push(crate::profile::expand::normalize(&common.to_string_lossy()));
    }
    out
}
