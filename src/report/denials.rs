//! Naming denials: for each refused filesystem access the directory to allow and the setting
//! that would allow it, or why it is never allowed.

use crate::report::{Access, FsDenial};
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

/// What would allow a refused filesystem access, or why it is never allowed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Remedy {
    /// Never allowed by default (a credential, an authority socket, system secrets).
    Never {
        /// Why.
        why: String,
    },
    /// Hidden by a `filesystem.deny` entry of the profile.
    Hidden {
        /// The entry.
        by: PathBuf,
    },
    /// Read-only by a `filesystem.protect` entry (or the git layer).
    Protected {
        /// The entry.
        by: PathBuf,
    },
    /// Allowed by granting this directory (`~/`-relative where under home).
    Grant {
        /// What to grant.
        access: Access,
        /// The directory, as a profile writes it.
        dir: String,
    },
}

impl std::fmt::Display for Remedy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remedy::Never { why } => f.write_str(why),
            Remedy::Hidden { by } => {
                write!(
                    f,
                    "hidden by the profile's filesystem.deny `{}`",
                    by.display()
                )
            }
            Remedy::Protected { by } => write!(
                f,
                "protected by filesystem.protect `{}`: runs later outside the box",
                by.display()
            ),
            Remedy::Grant { access, dir } => match access {
                Access::Write => write!(f, "--allow-write {dir} or `filesystem.write: [{dir}]`"),
                Access::Exec => write!(f, "`filesystem.exec: [{dir}]`"),
                Access::Read => write!(f, "--allow-read {dir} or `filesystem.read: [{dir}]`"),
            },
        }
    }
}

/// The remedy for one refused path.
fn remedy(access: Access, p: &Path, plan: &crate::plan::Plan, home: &Path) -> Remedy {
    if let Some(why) = never_allowed(p, home) {
        return Remedy::Never { why: why.into() };
    }
    let fs = &plan.filesystem;
    if let Some(d) = fs.deny.iter().find(|d| p.starts_with(d)) {
        return Remedy::Hidden { by: d.clone() };
    }
    if let Some(d) = fs
        .protect
        .iter()
        .chain(&fs.protect_missing)
        .find(|d| p.starts_with(d))
    {
        return Remedy::Protected { by: d.clone() };
    }
    let dir = suggest_dir(p, home);
    let dir = match dir.strip_prefix(home) {
        Ok(r) => format!("~/{}", r.display()),
        Err(_) => dir.display().to_string(),
    };
    Remedy::Grant { access, dir }
}

/// Turn raw denials into named ones with what would allow each; not-found paths count when a
/// mask hid something that exists on the host.
pub fn named(obs: &Observer, plan: &crate::plan::Plan, home: &Path) -> Vec<FsDenial> {
    let masked_hits = obs.missing.iter().filter(|((_, path), _)| {
        let p = Path::new(path);
        plan.namespaces
            .masked
            .iter()
            .any(|m| p.starts_with(m) && p != m)
            && std::fs::symlink_metadata(p).is_ok()
    });
    obs.denials
        .iter()
        .chain(masked_hits)
        .map(|((access, path), count)| FsDenial {
            access: *access,
            path: path.clone(),
            count: *count,
            remedy: remedy(*access, Path::new(path), plan, home),
        })
        .collect()
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
