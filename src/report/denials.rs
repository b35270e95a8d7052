//! Naming denials: for each refused filesystem access the directory to allow and the setting
//! that would allow it, or why it is never allowed.

use crate::report::FsDenial;
use crate::supervise::observe::Observer;
use std::path::{Path, PathBuf};

/// The directory to suggest for a denied path: two levels under ~/.config, ~/.local and
/// ~/.cache, one level under $HOME, else the parent directory.
pub fn suggest_dir(path: &Path, home: &Path) -> PathBuf {
    if let Ok(rel) = path.strip_prefix(home) {
        let comps: Vec<_> = rel.components().collect();
        let depth = match comps
            .first()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
        {
            Some(f) if [".config", ".local", ".cache"].contains(&f.as_str()) => 2,
            _ => 1,
        };
        if comps.len() > depth {
            return home.join(comps[..depth].iter().collect::<PathBuf>());
        }
        return path.to_path_buf();
    }
    path.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| path.to_path_buf())
}

/// Paths that are never suggested: credentials and sockets that hand out authority.
pub fn never_allowed(path: &Path, home: &Path) -> Option<&'static str> {
    let rel = path.strip_prefix(home).ok();
    let cred = [
        ".ssh",
        ".gnupg",
        ".aws",
        ".azure",
        ".config/gcloud",
        ".kube",
        ".docker",
        ".config/gh",
        ".netrc",
        ".git-credentials",
        ".npmrc",
        ".pypirc",
        ".cargo/credentials",
        ".cargo/credentials.toml",
        ".password-store",
        ".vault-token",
        ".config/hub",
        ".local/share/keyrings",
        ".mozilla",
        ".config/google-chrome",
        ".config/chromium",
    ];
    if let Some(rel) = rel {
        if cred.iter().any(|c| rel.starts_with(c)) {
            return Some("never allowed by default: a credential");
        }
        let name = rel.to_string_lossy();
        if name.ends_with("_history") || name == ".histfile" {
            return Some("never allowed by default: shell history");
        }
    }
    if rel.is_none()
        && ["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/root"]
            .iter()
            .any(|p| path.starts_with(p))
    {
        return Some("never allowed by default: system credentials");
    }
    if path.starts_with("/run") || path.starts_with("/var/run") {
        return Some("never allowed by default: authority sockets live there");
    }
    None
}

/// Turn raw denials into named ones with the line that would allow each; not-found paths
/// count when a mask hid something that exists on the host.
pub fn named(obs: &Observer, plan: &crate::plan::Plan, home: &Path) -> Vec<FsDenial> {
    let masked_hits = obs.missing.iter().filter(|((_, path), _)| {
        let p = Path::new(path);
        plan.namespaces
            .masked
            .iter()
            .any(|m| p.starts_with(m) && p != m)
            && std::fs::symlink_metadata(p).is_ok()
    });
    let mut out = Vec::new();
    for ((access, path), count) in obs.denials.iter().chain(masked_hits) {
        let p = Path::new(path);
        let remedy = if let Some(why) = never_allowed(p, home) {
            why.to_string()
        } else if let Some(d) = plan.filesystem.deny.iter().find(|d| p.starts_with(d)) {
            format!("hidden by the profile's filesystem.deny `{}`", d.display())
        } else if let Some(d) = plan
            .filesystem
            .protect
            .iter()
            .chain(&plan.filesystem.protect_missing)
            .find(|d| p.starts_with(d))
        {
            format!(
                "protected by filesystem.protect `{}`: runs later outside the box",
                d.display()
            )
        } else {
            let dir = suggest_dir(p, home);
            let shown = match dir.strip_prefix(home) {
                Ok(r) => format!("~/{}", r.display()),
                Err(_) => dir.display().to_string(),
            };
            match access.as_str() {
                "write" => format!("--allow-write {shown} or `filesystem.write: [{shown}]`"),
                "exec" => format!("`filesystem.exec: [{shown}]`"),
                _ => format!("--allow-read {shown} or `filesystem.read: [{shown}]`"),
            }
        };
        out.push(FsDenial {
            access: access.clone(),
            path: path.clone(),
            count: *count,
            remedy,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let h = Path::new("/home/u");
        assert_eq!(
            suggest_dir(Path::new("/home/u/.config/foo/bar.toml"), h),
            PathBuf::from("/home/u/.config/foo")
        );
        assert_eq!(
            suggest_dir(Path::new("/home/u/data/x/y"), h),
            PathBuf::from("/home/u/data")
        );
        assert_eq!(
            suggest_dir(Path::new("/srv/a/b"), h),
            PathBuf::from("/srv/a")
        );
        assert!(never_allowed(Path::new("/home/u/.aws/credentials"), h).is_some());
        assert!(never_allowed(Path::new("/home/u/.bash_history"), h).is_some());
        assert!(never_allowed(Path::new("/home/u/data"), h).is_none());
    }
}
