//! Naming denials: for each refused filesystem access the directory to allow and the setting
//! that would allow it, or why it is never allowed.

use crate::report::{Access, FsDenial};
use crate::supervise::observe::Observer;
use std::path::{Path, PathBuf};

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
        if name.ends_with("_history")
            || [".histfile", ".history", ".lesshst", ".viminfo"].contains(&name.as_ref())
        {
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

/// What would allow a refused filesystem access, or why nothing is suggested.
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
    /// Allowed by granting this directory or file (`~/`-relative where under home; a trailing
    /// `/` when it does not exist yet and is created for the run).
    Grant {
        /// What to grant.
        access: Access,
        /// The directory, as a profile writes it.
        dir: String,
    },
    /// Writing there changes what runs outside the box later: never suggested.
    RunsOutside {
        /// The file or tree, as a profile writes it.
        path: String,
        /// What it is.
        what: Outside,
    },
    /// Git metadata, protected by agentbox's git layer.
    Git {
        /// Which part.
        part: GitPart,
    },
    /// Temporary files created directly in a directory that is never granted whole.
    TempFiles {
        /// The directory.
        dir: String,
    },
    /// A missing entry directly in a directory that is never granted whole: creating it needs
    /// that directory.
    CreateFirst {
        /// The entry.
        path: String,
        /// The directory it would be created in.
        parent: String,
    },
    /// `/`, the home directory or an ancestor of the workspace: never granted whole.
    Whole {
        /// The directory.
        dir: String,
    },
    /// A kernel interface no filesystem grant changes.
    Kernel {
        /// Which.
        what: Kernel,
    },
    /// A device node: `filesystem.devices`.
    Device {
        /// The node.
        path: String,
    },
}

/// What a path that runs outside the box is.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case", tag = "is")]
pub enum Outside {
    /// Read by the shell at start-up (rc files, `~/.cargo/env`, direnv, tmux).
    ShellStartup,
    /// Programs the shell finds on PATH (`~/.local/bin`, `~/.cargo/bin`, `~/bin`), or Python
    /// code it loads (`~/.local/lib`).
    OnPath,
    /// Configuration that names commands to run (`~/.gitconfig`, `~/.cargo/config.toml`...).
    Config,
    /// Started at login (autostart, systemd user units).
    Autostart,
    /// The editor's configuration and plugins.
    Editor,
    /// A toolchain the box runs but never changes.
    Toolchain,
    /// A system tree (`/etc`, `/usr`, ...).
    System,
    /// A directory holding one of the above: never granted whole.
    Holds {
        /// The first such path inside it.
        inside: String,
    },
}

/// The part of git metadata a refused path is in.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case", tag = "part")]
pub enum GitPart {
    /// `hooks/`.
    Hooks,
    /// `config`, `config.worktree`.
    Config,
    /// `packed-refs`.
    PackedRefs,
    /// `commondir`, `gitdir`, `info/`, alternates, legacy remotes: where git looks elsewhere.
    Redirect,
    /// A `.git` file (a worktree's or submodule's link).
    Link,
    /// The profile does not write the workspace, so git metadata is read-only too.
    ReadOnly,
    /// The repository around a workspace that is one of its subdirectories.
    OutsideWorkspace {
        /// The repository's top level.
        top: PathBuf,
    },
    /// Other git metadata (another repository's).
    Metadata,
}

/// A kernel interface a refused path belongs to.
#[derive(
    Debug, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// `/proc/PID/...`: the kernel's per-process files.
    ProcessFiles,
    /// `/proc` and `/sys` otherwise.
    Interface,
    /// `/dev` itself (listing it).
    DeviceList,
    /// `/dev/pts/N`: a terminal of the person's.
    Terminal,
}

impl std::fmt::Display for Outside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outside::ShellStartup => "is read by your shell at start-up, outside the box",
            Outside::OnPath => "holds programs or code your shell runs outside the box",
            Outside::Config => "configures a tool you run outside the box (it can name commands)",
            Outside::Autostart => "starts programs at login, outside the box",
            Outside::Editor => "configures or extends your editor, which runs outside the box",
            Outside::Toolchain => "is a toolchain the box runs but never changes",
            Outside::System => "is a system tree: its programs and configuration run outside the box",
            Outside::Holds { inside } => {
                return write!(
                    f,
                    "holds what runs outside the box ({inside}): grant the entries it needs, never it whole"
                )
            }
        })
    }
}

impl std::fmt::Display for GitPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitPart::Hooks => f.write_str("git hooks run on the host at your next git command: read-only in the box"),
            GitPart::Config => f.write_str("git config can make git run commands on the host: the box's changes are merged back by rule after the run"),
            GitPart::PackedRefs => f.write_str("packed refs are never rewritten in the box (git pack-refs, gc, deleting a packed ref): run that outside it"),
            GitPart::Redirect => f.write_str("it points git elsewhere (commondir, gitdir, info, alternates): read-only in the box"),
            GitPart::Link => f.write_str("a .git file points git to another directory: read-only in the box"),
            GitPart::ReadOnly => f.write_str("git metadata: this profile does not write the workspace; one that does (default) writes git through its protected view"),
            GitPart::OutsideWorkspace { top } => write!(f, "git metadata of the repository at {}, outside the workspace: run with `-w {}` so git works through its protected view", top.display(), top.display()),
            GitPart::Metadata => f.write_str("git metadata of another repository: its hooks and config run outside the box, never suggested"),
        }
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kernel::ProcessFiles => "a process's own files under /proc: the kernel decides (ptrace rules), no grant changes that",
            Kernel::Interface => "a kernel interface (/proc, /sys): the kernel decides, and the box never writes it",
            Kernel::DeviceList => "listing /dev: device nodes are granted one by one (`filesystem.devices: [/dev/NAME]`)",
            Kernel::Terminal => "another terminal of yours: only the box's own is reachable",
        })
    }
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
                "protected by filesystem.protect `{}`: read-only in the box, because it runs \
                 later outside it (a rename onto it fails with \"Device or resource busy\")",
                by.display()
            ),
            Remedy::Grant { access, dir } => match access {
                Access::Write => write!(f, "--allow-write {dir} or `filesystem.write: [{dir}]`"),
                Access::Exec => write!(f, "`filesystem.exec: [{dir}]`"),
                Access::Read => write!(f, "--allow-read {dir} or `filesystem.read: [{dir}]`"),
            },
            Remedy::RunsOutside { path, what } => write!(f, "never suggested: {path} {what}"),
            Remedy::Git { part } => part.fmt(f),
            Remedy::TempFiles { dir } => write!(
                f,
                "temporary files created directly in {dir}, which is never granted whole"
            ),
            Remedy::CreateFirst { path, parent } => write!(
                f,
                "{path} does not exist, and creating it needs write on {parent}, never granted \
                 whole: create it outside the box, then --allow-write {path} (a directory: \
                 --allow-write {path}/ makes it for the run)"
            ),
            Remedy::Whole { dir } => write!(
                f,
                "never granted whole: {dir} (/, the home directory, or a directory holding the \
                 workspace); grant what is needed inside it"
            ),
            Remedy::Kernel { what } => what.fmt(f),
            Remedy::Device { path } => write!(f, "`filesystem.devices: [{path}]`"),
        }
    }
}

/// The suggestion context of a plan: what it hides, protects and runs, and its git metadata.
pub fn context<'a>(
    plan: &'a crate::plan::Plan,
    home: &'a Path,
    host: &'a dyn super::suggest::Host,
) -> super::suggest::Context<'a> {
    let fs = &plan.filesystem;
    let toolchains = fs
        .rules
        .iter()
        .filter(|r| r.access == crate::plan::fs::Grant::Exec)
        .filter(|r| r.path.starts_with(home) && !plan.workspace.starts_with(&r.path))
        .filter(|r| !r.path.starts_with(&plan.workspace))
        .map(|r| r.path.clone())
        .collect();
    super::suggest::Context {
        home,
        workspace: &plan.workspace,
        deny: &fs.deny,
        protect: fs
            .protect
            .iter()
            .chain(&fs.protect_missing)
            .cloned()
            .collect(),
        git_dirs: plan.git.covered(),
        git_writable: plan.git.mode != crate::gitmeta::GitMode::None,
        toolchains,
        in_test_tier: plan
            .chain
            .iter()
            .any(|s| matches!(s, crate::profile::Source::Builtin { name } if name == "test")),
        host,
    }
}

/// Turn raw denials into named ones with what would allow each, grouped by the path as shown
/// (temporary names and process ids collapse); not-found paths count when a mask hid something
/// that exists on the host (not what the box could see through a kept path and created itself).
pub fn named(obs: &Observer, plan: &crate::plan::Plan, home: &Path) -> Vec<FsDenial> {
    let kept: &[PathBuf] = plan
        .launch
        .namespaces
        .as_ref()
        .map(|n| n.keep.as_slice())
        .unwrap_or(&[]);
    let masked_hits = obs.missing.iter().filter(|((_, path), _)| {
        let p = Path::new(path);
        plan.namespaces
            .masked
            .iter()
            .any(|m| p.starts_with(m) && p != m)
            && !kept.iter().any(|k| p.starts_with(k))
            && std::fs::symlink_metadata(p).is_ok()
    });
    let host = super::suggest::RealHost;
    let cx = context(plan, home, &host);
    let mut out: Vec<FsDenial> = Vec::new();
    for ((access, path), count) in obs.denials.iter().chain(masked_hits) {
        let s = cx.suggest(*access, Path::new(path));
        if let Some(d) = out
            .iter_mut()
            .find(|d| d.access == *access && d.path == s.shown && d.remedy == s.remedy)
        {
            d.count += count;
            continue;
        }
        out.push(FsDenial {
            access: *access,
            path: s.shown,
            count: *count,
            remedy: s.remedy,
            of: s.of,
            tier: s.tier,
        });
    }
    out
}
