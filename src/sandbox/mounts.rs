//! The namespace layer, run in the child before Landlock: user, mount, pid, ipc and net
//! namespaces; private /tmp; masked /run; hidden and read-only paths inside writable trees.
//! Nothing here touches the host: every mount lives in the child's own mount namespace.

use nix::mount::{mount, MsFlags};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub(super) fn err(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// Flags of the mount holding `p` that a bind remount must keep (the kernel locks them in a
/// user namespace), or None when that mount is read-only already.
fn locked_flags(p: &Path) -> Option<MsFlags> {
    let mut f = MsFlags::empty();
    if let Ok(st) = nix::sys::statvfs::statvfs(p) {
        use nix::sys::statvfs::FsFlags;
        let fl = st.flags();
        if fl.contains(FsFlags::ST_RDONLY) {
            return None;
        }
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
    Some(f)
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
    // A bind keeps the flags of its source's mount: one from the read-only staging area (the
    // empty placeholders that hide paths) is read-only already and needs no remount.
    if let Some(kept) = read_only.then(|| locked_flags(dst)).flatten() {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | kept;
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
pub fn setup_mounts(spec: &super::spec::NsSpec) -> io::Result<Vec<std::os::fd::OwnedFd>> {
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
    if !spec.hidden.is_empty() || !spec.shadows.is_empty() || !spec.files.is_empty() {
        staging(spec, &stage)?;
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
    // Mount points of the copies and private directories that lie in a mask, made while the
    // masks are still writable.
    for f in &spec.files {
        mount_point_in_mask(&f.path, &spec.masked, false)?;
    }
    for d in &spec.private_dirs {
        mount_point_in_mask(d, &spec.masked, true)?;
    }
    // Masks are read-only once their mount points exist: the directories created to reach a
    // kept path must not be writable (submounts keep their own flags). The masked home is left
    // to Landlock, which refuses those writes with EACCES.
    for m in &spec.masked {
        if !spec.private_writable.contains(m) && !spec.landlock_guarded.contains(m) {
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
            stage.join("ro/emptydir")
        } else {
            stage.join("ro/empty")
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
    file_views(&spec.files, &stage.join("ro"))?;
    for d in &spec.private_dirs {
        if std::fs::metadata(d).is_ok_and(|m| m.is_dir()) {
            private_dir(d)?;
        }
    }
    Ok(views)
}

/// The staging directory and what it holds: mount points for the git views; a read-only tmpfs
/// with the empty placeholders of hidden paths and the file copies. Made now: /run turns
/// read-only below. A bind keeps its source mount's flags, so each hidden path and each copy
/// is read-only with one mount, instead of a bind and a remount.
fn staging(spec: &super::spec::NsSpec, stage: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if !spec.masked.iter().any(|m| m == Path::new("/run")) {
        tmpfs(Path::new("/run"), "0755")?;
    }
    for k in 0..spec.shadows.len() {
        std::fs::create_dir_all(stage.join("git").join(k.to_string()))
            .map_err(|e| err("stage dir", e))?;
    }
    if spec.hidden.is_empty() && spec.files.is_empty() {
        return Ok(());
    }
    let ro = stage.join("ro");
    std::fs::create_dir_all(&ro).map_err(|e| err("stage dir", e))?;
    tmpfs(&ro, "0755")?;
    std::fs::create_dir(ro.join("emptydir")).map_err(|e| err("stage dir", e))?;
    std::fs::write(ro.join("empty"), b"").map_err(|e| err("stage file", e))?;
    let _ = std::fs::set_permissions(ro.join("empty"), std::fs::Permissions::from_mode(0o000));
    let _ = std::fs::set_permissions(ro.join("emptydir"), std::fs::Permissions::from_mode(0o000));
    for (k, f) in spec.files.iter().enumerate() {
        let src = ro.join(k.to_string());
        std::fs::write(&src, &f.content[..]).map_err(|e| err("write a file view", e))?;
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o444))
            .map_err(|e| err("file view mode", e))?;
    }
    // It stays mounted (a detach waits for an RCU grace period), read-only, showing what the
    // binds show.
    read_only_remount(&ro)
}

/// Makes the tmpfs at `dst` read-only (it keeps nosuid and nodev).
fn read_only_remount(dst: &Path) -> io::Result<()> {
    let flags = MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(None::<&str>, dst, None::<&str>, flags, None::<&str>)
        .map_err(|e| err(&format!("read-only {}", dst.display()), e))
}

/// Create `p` (a file, or a directory) and its missing parents when they fall inside one of
/// `masked` itself: never on a host filesystem (a path below a tree bound back into a mask is
/// the host's). A target outside the masks is used only if it exists.
fn mount_point_in_mask(p: &Path, masked: &[PathBuf], dir: bool) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if std::fs::symlink_metadata(p).is_ok() {
        return Ok(());
    }
    let Some(mask) = masked.iter().find(|m| p.starts_with(m) && p != *m) else {
        return Ok(());
    };
    let Ok(mask_dev) = std::fs::metadata(mask).map(|m| m.dev()) else {
        return Ok(());
    };
    // The nearest existing ancestor must be on the mask's own tmpfs.
    let mut anc = p.parent();
    while let Some(a) = anc {
        match std::fs::symlink_metadata(a) {
            Ok(m) if m.is_dir() && m.dev() == mask_dev => break,
            Ok(_) => return Ok(()),
            Err(_) => anc = a.parent(),
        }
    }
    if dir {
        std::fs::create_dir_all(p)
    } else {
        p.parent().map(std::fs::create_dir_all).transpose()?;
        std::fs::write(p, b"")
    }
    .map_err(|e| err(&format!("mount point {}", p.display()), e))
}

/// Bind each copy (written by `staging`) read-only at its path.
fn file_views(files: &[super::spec::FileView], ro: &Path) -> io::Result<()> {
    for (k, f) in files.iter().enumerate() {
        // A target that is missing (outside a mask, gone since the plan) gets no copy: absent
        // is what the box would see without one.
        if std::fs::metadata(&f.path).is_err() {
            continue;
        }
        bind(&ro.join(k.to_string()), &f.path, true)?;
    }
    Ok(())
}

/// A small empty tmpfs at `d`, writable by the box, gone with it.
fn private_dir(d: &Path) -> io::Result<()> {
    mount(
        Some("tmpfs"),
        d,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=0700,size=8m"),
    )
    .map_err(|e| err(&format!("tmpfs on {}", d.display()), e))
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
    shadows: &[crate::sandbox::spec::GitView],
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
        // Moved, not bound then detached: a detach waits for an RCU grace period.
        mount(
            Some(&s),
            &sh.path,
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .map_err(|e| err(&format!("move the git view to {}", sh.path.display()), e))?;
        for b in &binds {
            let src = PathBuf::from(format!(
                "/proc/self/fd/{}",
                std::os::fd::AsRawFd::as_raw_fd(&b.src)
            ));
            bind(&src, &b.dst, b.read_only)?;
        }
        out.push(std::os::fd::OwnedFd::from(root));
    }
    Ok(out)
}

/// Fill the view `s` of the real git directory `real` (described by `sh`) and collect the binds
/// to make once the view is in place at `at` (the real path, covered by then).
fn populate(
    sh: &crate::sandbox::spec::GitView,
    at: &Path,
    s: &Path,
    binds: &mut Vec<PendingBind>,
    budget: &mut (u64, usize),
) -> io::Result<()> {
    use crate::sandbox::spec::Treatment;
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
    let packed = s.join(crate::sandbox::spec::PACKED_REFS);
    if std::fs::symlink_metadata(&packed).is_err() {
        std::fs::write(&packed, b"").map_err(|e| err("git view packed-refs", e))?;
    }
    binds.push(PendingBind {
        src: std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
            .open(&packed)
            .map_err(|e| err("git view packed-refs", e))?,
        dst: at.join(crate::sandbox::spec::PACKED_REFS),
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
