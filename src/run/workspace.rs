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
