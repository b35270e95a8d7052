//! Where a run happens: the workspace (refusing one that would expose the home directory or
//! the system), the person's home, the box's temp dir on the host, paths given on the
//! command line.

use std::path::{Path, PathBuf};

/// The git top level of `dir` (walking up to a `.git`), else `dir` itself.
pub fn default_workspace(dir: &Path) -> PathBuf {
    git_top(dir).unwrap_or_else(|| dir.to_path_buf())
}

/// The nearest directory at or above `dir` holding a `.git`.
pub fn git_top(dir: &Path) -> Option<PathBuf> {
    let mut d = Some(dir);
    while let Some(p) = d {
        if p.join(".git").exists() {
            return Some(p.to_path_buf());
        }
        d = p.parent();
    }
    None
}

/// System directories that are never a workspace by default.
const SYSTEM_DIRS: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc",
    "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/tmp", "/home", "/mnt",
    "/media", "/snap", "/nix",
];

/// Why `ws` must not be the workspace picked without `-w` (the whole home directory, `/`, an
/// ancestor of home or a system directory would become writable), or `None` when it may.
pub fn unsafe_default_workspace(ws: &Path, home: &Path) -> Option<String> {
    let what = if ws == Path::new("/") {
        "the root directory"
    } else if ws == home {
        "your home directory"
    } else if home.starts_with(ws) {
        "an ancestor of your home directory"
    } else if SYSTEM_DIRS.iter().any(|d| ws == Path::new(d)) {
        "a system directory"
    } else {
        return None;
    };
    Some(format!(
        "the workspace would be {} ({what}), and the box could write all of it (~/.bashrc, \
         ~/.cargo/bin, ...); run agentbox inside a project directory or a git repository, or \
         name the workspace with -w DIR",
        ws.display()
    ))
}

/// The person's home directory: `$HOME` when absolute, else the password database's.
pub fn home() -> String {
    std::env::var("HOME")
        .ok()
        .filter(|h| h.starts_with('/'))
        .or_else(|| crate::user::lookup(nix::unistd::getuid().as_raw()).map(|u| u.1))
        .unwrap_or_else(|| "/nonexistent".into())
}

/// The box's temp dir on the host (used without the namespace layer): `agentbox-<pid>-<hex>`,
/// the shape the next agentbox sweeps when this one is killed.
pub fn host_tmpdir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    let tag = crate::supervise::journal::run_id()
        .map_err(|e| anyhow::anyhow!("no random bytes from getrandom: {e}"))?;
    Ok(base.join(format!("agentbox-{}-{}", std::process::id(), &tag[..12])))
}

/// `--allow-read` and `--allow-write` paths as the plan takes them, absolute. A missing path is
/// refused with why (a grant that does nothing would be a silent surprise), except
/// `--allow-write DIR/`: with a trailing `/` and an existing parent, it is created for the run
/// as an empty directory (`git worktree add ../wt` needs `../wt` to exist to be granted) and
/// removed afterwards if still empty. Returns the grants and the directories to create.
pub fn extra_paths(
    paths: &[PathBuf],
    cwd: &Path,
    write: bool,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>), String> {
    let flag = if write {
        "--allow-write"
    } else {
        "--allow-read"
    };
    let (mut grants, mut create) = (Vec::new(), Vec::new());
    for p in paths {
        let a = abs(p, cwd);
        if std::fs::symlink_metadata(&a).is_ok() {
            grants.push(a);
            continue;
        }
        let shown = crate::scrub::quote(&p.to_string_lossy());
        let dir_form = p.as_os_str().as_encoded_bytes().ends_with(b"/");
        if !write {
            return Err(format!(
                "{flag} {shown}: {} does not exist, so there is nothing to read",
                a.display()
            ));
        }
        if !dir_form {
            return Err(format!(
                "{flag} {shown}: {} does not exist; a grant needs the path to exist. Create it \
                 first, or write it with a trailing / to have agentbox create it as an empty \
                 directory for this run (removed afterwards if left empty)",
                a.display()
            ));
        }
        if !a.parent().is_some_and(Path::is_dir) {
            return Err(format!(
                "{flag} {shown}: neither {} nor its parent directory exists",
                a.display()
            ));
        }
        grants.push(a.clone());
        create.push(a);
    }
    Ok((grants, create))
}

/// The `--allow-write DIR/` directories, created before the launch; returns each with its
/// identity, for [`remove_if_empty`].
pub fn create_for_run(dirs: &[PathBuf]) -> Vec<(PathBuf, (u64, u64))> {
    use std::os::unix::fs::MetadataExt;
    let mut made = Vec::new();
    for d in dirs {
        match std::fs::create_dir(d).and_then(|_| std::fs::symlink_metadata(d)) {
            Ok(m) => made.push((d.clone(), (m.dev(), m.ino()))),
            Err(e) => tracing::warn!("cannot create {}: {e}", d.display()),
        }
    }
    made
}

/// After the run: each directory made for it goes again if it is still the one made and empty
/// (a directory the box filled, or one swapped in, stays: nothing is ever deleted but that).
pub fn remove_if_empty(made: &[(PathBuf, (u64, u64))]) {
    use std::os::unix::fs::MetadataExt;
    for (d, id) in made {
        let same =
            std::fs::symlink_metadata(d).is_ok_and(|m| m.is_dir() && (m.dev(), m.ino()) == *id);
        let empty = std::fs::read_dir(d).is_ok_and(|mut rd| rd.next().is_none());
        if same && empty {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// A path from the command line, absolute and canonical where it exists.
pub fn abs(p: &Path, cwd: &Path) -> PathBuf {
    let s = crate::profile::expand::tilde(&p.to_string_lossy());
    let p = PathBuf::from(s);
    let p = if p.is_absolute() { p } else { cwd.join(p) };
    std::fs::canonicalize(&p)
        .unwrap_or_else(|_| crate::profile::expand::normalize(&p.to_string_lossy()))
}

/// The workspace for a run: `-w` (a directory), else the git top level of the current
/// directory, else the current directory, refused when that would expose too much.
pub fn choose(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf, String> {
    match explicit {
        Some(w) => {
            let w = abs(w, cwd);
            if !w.is_dir() {
                return Err(format!("workspace {} is not a directory", w.display()));
            }
            Ok(w)
        }
        None => {
            let ws = default_workspace(&std::fs::canonicalize(cwd).unwrap_or(cwd.to_path_buf()));
            let h = std::fs::canonicalize(home()).unwrap_or_else(|_| PathBuf::from(home()));
            match unsafe_default_workspace(&ws, &h) {
                Some(why) => Err(format!("refusing to start: {why}")),
                None => Ok(ws),
            }
        }
    }
}
