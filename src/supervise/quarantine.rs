//! The quarantine: agentbox never deletes what it finds at a protected path (it cannot know who
//! wrote it: the box, or the person's own editor on the host), it moves it aside into
//! `$XDG_STATE_HOME/agentbox/quarantine/<run-id>/`, with a manifest saying how to put it back.

use crate::safefs::{Dir, Kind};
use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Where items from outside the workspace go, below an item's slot (never a workspace name
/// clash: each item has a slot of its own).
const OUTSIDE: &str = "_outside_workspace";

/// The quarantine of one run; nothing exists on disk until the first item arrives.
#[derive(Debug)]
pub struct Quarantine {
    base: PathBuf,
    run_id: String,
    workspace: PathBuf,
    dir: Option<Dir>,
    next: u32,
    used: bool,
}

/// One line of `MANIFEST.jsonl`.
#[derive(serde::Serialize)]
struct ManifestLine<'a> {
    original: String,
    quarantined: String,
    reason: &'a str,
    time: String,
    /// A shell command that puts the item back.
    put_back: String,
    /// Special files (fifos, sockets, devices) that a copy across filesystems could not carry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_copied: Vec<String>,
}

impl Quarantine {
    /// The quarantine of run `run_id` under `state_dir` (`$XDG_STATE_HOME/agentbox`); items keep
    /// their path relative to `workspace`.
    pub fn new(state_dir: &Path, run_id: &str, workspace: &Path) -> Quarantine {
        Quarantine {
            base: state_dir.join("quarantine"),
            run_id: run_id.to_string(),
            workspace: workspace.to_path_buf(),
            dir: None,
            next: 1,
            used: false,
        }
    }

    /// The run's quarantine directory, once anything was put there.
    pub fn root(&self) -> Option<&Path> {
        self.dir.as_ref().filter(|_| self.used).map(|d| d.path())
    }

    /// Moves `name` out of `dir` into the quarantine (`original` is its absolute path, for the
    /// manifest). Same filesystem: one rename. Across filesystems: copy, fsync, verify byte for
    /// byte, and only then remove the original. Returns where it went.
    pub fn take(
        &mut self,
        dir: &Dir,
        name: &OsStr,
        original: &Path,
        reason: &str,
    ) -> io::Result<PathBuf> {
        let (slot, qdir, leaf, qpath) = self.slot(original)?;
        let mut skipped = Vec::new();
        match dir.rename(name, &qdir, &leaf, true) {
            Ok(()) => {
                // The item has moved: a failed flush must not undo that.
                let _ = qdir.sync();
                let _ = dir.sync();
            }
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
                let copied = copy_tree(dir, name, &qdir, &leaf, original, &mut skipped)
                    .and_then(|_| qdir.sync())
                    .and_then(|_| verify_tree(dir, name, &qdir, &leaf));
                if let Err(e) = copied {
                    // The original is untouched: drop the partial copy.
                    self.drop_slot(&slot, &qdir, &leaf);
                    return Err(e);
                }
                if let Err(e) = dir.remove_tree(name) {
                    // The verified copy stays: it may be all that is left of what was removed.
                    self.record(original, &qpath, reason, &skipped);
                    return Err(io::Error::other(format!(
                        "copied to {} but the original could not be removed: {e}",
                        qpath.display()
                    )));
                }
                let _ = dir.sync();
            }
            Err(e) => {
                self.drop_slot(&slot, &qdir, &leaf);
                return Err(e);
            }
        }
        self.record(original, &qpath, reason, &skipped);
        Ok(qpath)
    }

    /// Copies (does not remove) `name` from `dir` into the quarantine, verified, for content that
    /// lives somewhere about to vanish (the box's private tmpfs). Returns where it went.
    #[allow(dead_code)] // for the box's private tmpfs: wired into run.rs by the lead engineer.
    pub fn copy_in(
        &mut self,
        dir: &Dir,
        name: &OsStr,
        original: &Path,
        reason: &str,
    ) -> io::Result<PathBuf> {
        let (slot, qdir, leaf, qpath) = self.slot(original)?;
        let mut skipped = Vec::new();
        let r = copy_tree(dir, name, &qdir, &leaf, original, &mut skipped)
            .and_then(|_| qdir.sync())
            .and_then(|_| verify_tree(dir, name, &qdir, &leaf));
        if let Err(e) = r {
            self.drop_slot(&slot, &qdir, &leaf);
            return Err(e);
        }
        self.record(original, &qpath, reason, &skipped);
        Ok(qpath)
    }

    /// The run's directory, created (0700) on first use.
    fn run_dir(&mut self) -> io::Result<&Dir> {
        if self.dir.is_none() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.base)?;
            let base = Dir::open(&self.base)?;
            let id = OsStr::new(&self.run_id);
            match base.mkdir(id, 0o700) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            self.dir = Some(base.open_beneath(Path::new(id))?);
        }
        Ok(self.dir.as_ref().expect("just set"))
    }

    /// A fresh numbered slot for one item, with the directories of its relative path inside:
    /// (slot name, parent directory in the quarantine, leaf name, full quarantine path).
    fn slot(&mut self, original: &Path) -> io::Result<(OsString, Dir, OsString, PathBuf)> {
        let rel: Vec<OsString> = match original.strip_prefix(&self.workspace) {
            Ok(r) if r.components().next().is_some() => normal(r),
            _ => std::iter::once(OsString::from(OUTSIDE))
                .chain(normal(original))
                .collect(),
        };
        let Some((leaf, dirs)) = rel.split_last() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"));
        };
        let mut n = self.next;
        let run = self.run_dir()?;
        let slot = loop {
            let s = OsString::from(format!("{n:03}"));
            match run.mkdir(&s, 0o700) {
                Ok(()) => break s,
                // Another Quarantine of the same run (a retried launch) took this number.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1_000_000 => n += 1,
                Err(e) => return Err(e),
            }
        };
        let mut cur = run.open_beneath(Path::new(&slot))?;
        let mut qpath = cur.path().to_path_buf();
        for d in dirs {
            cur.mkdir(d, 0o700)?;
            cur = cur.open_beneath(Path::new(d))?;
            qpath.push(d);
        }
        qpath.push(leaf);
        self.next = n + 1;
        Ok((slot, cur, leaf.clone(), qpath))
    }

    /// Removes a slot whose item did not arrive (only agentbox's own directories and copies).
    fn drop_slot(&self, slot: &OsStr, qdir: &Dir, leaf: &OsStr) {
        // The leaf may be a partial copy; an original renamed in is never dropped (it arrived).
        if let Ok(Some(_)) = qdir.stat(leaf) {
            let _ = qdir.remove_tree(leaf);
        }
        if let Some(run) = &self.dir {
            let _ = run.remove_tree(slot);
        }
    }

    /// Appends the manifest line; a failure is a warning (the item did move).
    fn record(&mut self, original: &Path, qpath: &Path, reason: &str, skipped: &[PathBuf]) {
        self.used = true;
        let line = ManifestLine {
            original: original.to_string_lossy().into_owned(),
            quarantined: qpath.to_string_lossy().into_owned(),
            reason,
            time: crate::report::rfc3339(std::time::SystemTime::now()),
            put_back: format!("mv -T {} {}", shell_quote(qpath), shell_quote(original)),
            not_copied: skipped
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
        };
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        let r = self
            .dir
            .as_ref()
            .map(|d| d.append(OsStr::new("MANIFEST.jsonl"), text.as_bytes(), 0o600));
        if let Some(Err(e)) = r {
            tracing::warn!("cannot write the quarantine manifest: {e}");
        }
    }
}

/// The plain components of `p` (no root, `.` or `..`).
fn normal(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            _ => None,
        })
        .collect()
}

/// `p` quoted for a POSIX shell: single quotes, or bash's `$'...'` when it holds bytes that
/// are not printable UTF-8 (so the line stays exact and valid JSON).
pub fn shell_quote(p: &Path) -> String {
    let b = p.as_os_str().as_bytes();
    match std::str::from_utf8(b) {
        Ok(s) if !s.chars().any(|c| c.is_control()) => format!("'{}'", s.replace('\'', r"'\''")),
        _ => {
            let mut out = String::from("$'");
            for &c in b {
                match c {
                    b'\'' | b'\\' => {
                        out.push('\\');
                        out.push(c as char);
                    }
                    0x20..=0x7e => out.push(c as char),
                    _ => out.push_str(&format!("\\x{c:02x}")),
                }
            }
            out.push('\'');
            out
        }
    }
}

/// Copies `name` from `src` to `to_name` in `dst`: files with their permission bits (never
/// setuid/setgid: the copy is owned by agentbox), directories, symlinks as symlinks. Special
/// files are not copied; their paths go to `skipped`.
pub fn copy_tree(
    src: &Dir,
    name: &OsStr,
    dst: &Dir,
    to_name: &OsStr,
    shown: &Path,
    skipped: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let Some(m) = src.stat(name)? else {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    };
    match m.kind {
        Kind::File => {
            let (mut f, fm) = src.open_file(name)?;
            let mut out = dst.create(to_name, fm.mode & 0o1777)?;
            io::copy(&mut f, &mut out)?;
            out.sync_all()
        }
        Kind::Symlink => dst.symlink(to_name, &src.read_link(name)?),
        Kind::Dir => {
            if src.is_mount_point(name)? {
                return Err(io::Error::from_raw_os_error(libc::EXDEV));
            }
            let s = src.open_beneath(Path::new(name))?;
            dst.mkdir(to_name, 0o700)?;
            let d = dst.open_beneath(Path::new(to_name))?;
            for (n, _) in s.list()? {
                copy_tree(&s, &n, &d, &n, &shown.join(&n), skipped)?;
            }
            d.sync()?;
            // Last: a read-only directory must still take its entries first.
            d.chmod(m.mode & 0o1777)
        }
        Kind::Other => {
            skipped.push(shown.to_path_buf());
            Ok(())
        }
    }
}

/// Checks that `to_name` in `dst` holds exactly what `name` in `src` holds (every file byte for
/// byte, every symlink target, every directory's entries; special files absent).
fn verify_tree(src: &Dir, name: &OsStr, dst: &Dir, to_name: &OsStr) -> io::Result<()> {
    let differs = || io::Error::other("the copy in the quarantine differs from the original");
    let a = src.stat(name)?.ok_or_else(differs)?;
    let b = dst.stat(to_name)?;
    match (a.kind, b.map(|m| m.kind)) {
        (Kind::Other, None) => Ok(()),
        (Kind::File, Some(Kind::File)) => {
            let (fa, _) = src.open_file(name)?;
            let (fb, _) = dst.open_file(to_name)?;
            if same_bytes(fa, fb)? {
                Ok(())
            } else {
                Err(differs())
            }
        }
        (Kind::Symlink, Some(Kind::Symlink)) => {
            if src.read_link(name)? == dst.read_link(to_name)? {
                Ok(())
            } else {
                Err(differs())
            }
        }
        (Kind::Dir, Some(Kind::Dir)) => {
            let s = src.open_beneath(Path::new(name))?;
            let d = dst.open_beneath(Path::new(to_name))?;
            let want: Vec<OsString> = s
                .list()?
                .into_iter()
                .filter(|(_, k)| *k != Kind::Other)
                .map(|(n, _)| n)
                .collect();
            let got: Vec<OsString> = d.list()?.into_iter().map(|(n, _)| n).collect();
            if want != got {
                return Err(differs());
            }
            for n in &want {
                verify_tree(&s, n, &d, n)?;
            }
            Ok(())
        }
        _ => Err(differs()),
    }
}

/// True when both readers yield the same bytes.
fn same_bytes(mut a: impl Read, mut b: impl Read) -> io::Result<bool> {
    let (mut x, mut y) = (vec![0u8; 64 << 10], vec![0u8; 64 << 10]);
    loop {
        let n = read_full(&mut a, &mut x)?;
        let m = read_full(&mut b, &mut y)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Fills `buf` as far as the reader goes; returns how much it holds.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::safefs::tests::tmp;
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// A temp dir on another filesystem than /var/tmp (tmpfs), when there is one.
    pub(crate) fn other_fs() -> Option<tempfile::TempDir> {
        let base = std::fs::metadata("/var/tmp").ok()?.dev();
        for cand in ["/dev/shm", "/tmp"] {
            if std::fs::metadata(cand).is_ok_and(|m| m.dev() != base) {
                if let Ok(t) = tempfile::Builder::new()
                    .prefix("agentbox-q-")
                    .tempdir_in(cand)
                {
                    return Some(t);
                }
            }
        }
        None
    }

    fn manifest(q: &Quarantine) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(q.root().unwrap().join("MANIFEST.jsonl")).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn nothing_on_disk_until_used() {
        let state = tmp();
        let q = Quarantine::new(&state.path().join("agentbox"), "r1", Path::new("/x"));
        assert!(q.root().is_none());
        assert!(!state.path().join("agentbox").exists());
    }

    #[test]
    fn take_on_the_same_filesystem_renames() {
        let ws = tmp();
        let state = tmp();
        std::fs::create_dir_all(ws.path().join(".vscode")).unwrap();
        std::fs::write(ws.path().join(".vscode/settings.json"), "{}").unwrap();
        let ino = std::fs::metadata(ws.path().join(".vscode/settings.json"))
            .unwrap()
            .ino();
        let mut q = Quarantine::new(&state.path().join("agentbox"), "run1", ws.path());
        let d = Dir::open(&ws.path().join(".vscode")).unwrap();
        let orig = ws.path().join(".vscode/settings.json");
        let to = q
            .take(&d, OsStr::new("settings.json"), &orig, "test")
            .unwrap();
        let root = state.path().join("agentbox/quarantine/run1");
        assert_eq!(q.root(), Some(root.as_path()));
        assert_eq!(to, root.join("001/.vscode/settings.json"));
        assert!(!orig.exists());
        assert_eq!(std::fs::read(&to).unwrap(), b"{}");
        assert_eq!(
            std::fs::metadata(&to).unwrap().ino(),
            ino,
            "moved, not copied"
        );
        assert_eq!(
            std::fs::metadata(&root).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let m = manifest(&q);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0]["original"], orig.to_str().unwrap());
        assert_eq!(m[0]["quarantined"], to.to_str().unwrap());
        assert_eq!(m[0]["reason"], "test");
        assert!(m[0]["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(
            m[0]["put_back"],
            format!("mv -T '{}' '{}'", to.display(), orig.display())
        );
        // A second item of the same path gets its own slot; paths outside the workspace too.
        std::fs::write(&orig, "again").unwrap();
        let to2 = q
            .take(&d, OsStr::new("settings.json"), &orig, "test")
            .unwrap();
        assert_eq!(to2, root.join("002/.vscode/settings.json"));
        let other = tmp();
        std::fs::write(other.path().join("f"), "o").unwrap();
        let od = Dir::open(other.path()).unwrap();
        let to3 = q
            .take(&od, OsStr::new("f"), &other.path().join("f"), "test")
            .unwrap();
        let rel = other.path().strip_prefix("/").unwrap().join("f");
        assert_eq!(to3, root.join("003").join(OUTSIDE).join(rel));
        assert_eq!(manifest(&q).len(), 3);
        // The put-back line works.
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(manifest(&q)[2]["put_back"].as_str().unwrap())
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(std::fs::read(other.path().join("f")).unwrap(), b"o");
    }

    #[test]
    fn take_across_filesystems_copies_verifies_then_removes() {
        let Some(ws) = other_fs() else {
            eprintln!("no second filesystem: skipped");
            return;
        };
        let state = tmp();
        assert_ne!(
            std::fs::metadata(ws.path()).unwrap().dev(),
            std::fs::metadata(state.path()).unwrap().dev()
        );
        let top = ws.path().join(".vscode");
        std::fs::create_dir_all(top.join("sub/deeper")).unwrap();
        std::fs::write(top.join("settings.json"), "{\"a\":1}").unwrap();
        std::fs::write(top.join("sub/run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            top.join("sub/run.sh"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(top.join("sub/deeper/big"), &big).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", top.join("link")).unwrap();
        let fifo = std::ffi::CString::new(top.join("pipe").as_os_str().as_bytes()).unwrap();
        // SAFETY: valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let mut q = Quarantine::new(&state.path().join("agentbox"), "x", ws.path());
        let d = Dir::open(ws.path()).unwrap();
        let to = q.take(&d, OsStr::new(".vscode"), &top, "cross").unwrap();
        assert!(std::fs::symlink_metadata(&top).is_err(), "original removed");
        assert_eq!(
            std::fs::read(to.join("settings.json")).unwrap(),
            b"{\"a\":1}"
        );
        assert_eq!(std::fs::read(to.join("sub/deeper/big")).unwrap(), big);
        let m = std::fs::metadata(to.join("sub/run.sh")).unwrap();
        assert_eq!(
            m.permissions().mode() & 0o7777,
            0o755,
            "no setuid on copies"
        );
        assert_eq!(
            std::fs::read_link(to.join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert!(std::fs::symlink_metadata(to.join("pipe")).is_err());
        let line = &manifest(&q)[0];
        assert_eq!(line["not_copied"][0], top.join("pipe").to_str().unwrap());
    }

    #[test]
    fn copy_in_keeps_the_original() {
        let src = other_fs().unwrap_or_else(tmp);
        let state = tmp();
        std::fs::create_dir(src.path().join("out")).unwrap();
        std::fs::write(src.path().join("out/result.txt"), "r").unwrap();
        let mut q = Quarantine::new(&state.path().join("agentbox"), "c", Path::new("/nowhere"));
        let d = Dir::open(src.path()).unwrap();
        let to = q
            .copy_in(&d, OsStr::new("out"), &src.path().join("out"), "tmpfs")
            .unwrap();
        assert_eq!(std::fs::read(to.join("result.txt")).unwrap(), b"r");
        assert_eq!(
            std::fs::read(src.path().join("out/result.txt")).unwrap(),
            b"r"
        );
        assert!(q
            .take(&d, OsStr::new("missing"), Path::new("/m"), "x")
            .is_err());
        assert_eq!(manifest(&q).len(), 1, "a failed take leaves no line");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote(Path::new("/a b/c")), "'/a b/c'");
        assert_eq!(shell_quote(Path::new("/it's")), r"'/it'\''s'");
        let odd = PathBuf::from(OsString::from_vec(b"/x\xff\n'y".to_vec()));
        assert_eq!(shell_quote(&odd), r"$'/x\xff\x0a\'y'");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote(&odd)))
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"/x\xff\n'y");
    }
}
