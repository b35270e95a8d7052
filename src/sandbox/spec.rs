//! What the child applies: the launch spec, built before fork so the child only makes system
//! calls. The plan produces it (`crate::plan`); the sandbox imports nothing from the plan.

use serde::Serialize;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Everything the child needs, built before fork so the child only makes system calls.
pub struct Prepared {
    /// Executable path.
    pub exec_path: CString,
    /// argv.
    pub argv: Vec<CString>,
    /// envp (`NAME=value`).
    pub envp: Vec<CString>,
    /// Working directory to return to after mounts.
    pub cwd: PathBuf,
    /// Namespace layer, when applied.
    pub ns: Option<NsSpec>,
    /// Landlock rules and ABI, when applied.
    pub landlock: Option<LandlockSpec>,
    /// Compiled seccomp filter, when applied.
    pub seccomp: Option<crate::sandbox::seccomp::Filter>,
    /// The denial observer's trace filter (`--report-denials`).
    pub trace: Option<seccompiler::BpfProgram>,
    /// Write ends of the pipes that replace stdout and stderr (`--redact-output`).
    pub stdio: Option<(i32, i32)>,
    /// Loopback addresses to listen on inside the box's network namespace (the proxy first,
    /// then forwarded local services); the sockets go to the supervisor.
    pub listen_inside: Vec<std::net::SocketAddr>,
    /// The plan says every capability set, bounding included, is emptied.
    pub require_empty_bounding: bool,
    /// `cgroup.procs` of the box's cgroup (without namespaces, where one could be made): the
    /// child moves itself in first.
    pub cgroup_procs: Option<i32>,
    /// The caller's uid and gid (mapped to themselves in the user namespace).
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// Connect broker (no network namespace, TCP allowed): installed last, see `net::broker`.
    pub broker: Option<crate::net::broker::Install>,
    /// How the box shares agentbox's terminal.
    pub terminal: Terminal,
    /// Where the stub resolver listens inside the box's network namespace; its UDP socket and
    /// TCP listener go to the supervisor.
    pub resolver: Option<std::net::SocketAddr>,
    /// Files written into the box's temp dir before Landlock (the CA bundle it trusts).
    pub box_files: Vec<(CString, Vec<u8>)>,
}

/// The stub resolver of the box's network namespace (`net::dns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolverSpec {
    /// Its address inside the namespace (UDP and TCP).
    pub address: std::net::SocketAddr,
    /// The resolv.conf the box sees, pointing at it (one of the namespace layer's `files`);
    /// none when the host has none (the C library then asks 127.0.0.1 by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolv_conf: Option<PathBuf>,
}

/// How the box shares the terminal agentbox was started on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Terminal {
    /// The box stays in agentbox's process group, as a plain child would: no terminal whose
    /// foreground agentbox holds, or no pid namespace (where that group is visible anyway).
    #[default]
    Shared,
    /// The box's pid 1 leads a process group of its own, which holds the terminal's foreground
    /// while the box runs: inside the pid namespace agentbox's group has no number, so a shell
    /// there could not restore it at exit (`sh: Cannot set tty process group`). agentbox passes
    /// stops and continues between that group and the shell that started agentbox.
    ForegroundGroup {
        /// The terminal's descriptor (0, 1 or 2; the same in agentbox and in the box).
        fd: i32,
    },
}

/// Build a CString, refusing interior NULs.
pub fn cstr(b: &[u8], what: &str) -> anyhow::Result<CString> {
    CString::new(b).map_err(|_| anyhow::anyhow!("{what} contains a NUL byte"))
}

/// Build envp from name/value pairs.
pub fn envp(vars: &std::collections::BTreeMap<OsString, OsString>) -> anyhow::Result<Vec<CString>> {
    vars.iter()
        .map(|(k, v)| {
            let mut b = k.as_bytes().to_vec();
            b.push(b'=');
            b.extend_from_slice(v.as_bytes());
            // The message names the variable, never its value.
            cstr(&b, &format!("environment variable {}", k.to_string_lossy()))
        })
        .collect()
}

/// The access class a rule grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grant {
    /// List a directory only (the ancestors of a split-out path).
    List,
    /// Read files, list directories.
    Read,
    /// Read and execute.
    Exec,
    /// Read, execute, create, change and remove.
    Write,
    /// A device node: read, write, ioctl.
    Device,
}

/// One Landlock rule as the child adds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LandlockRule {
    /// Path the rule is anchored on (as the box sees it, after the mounts).
    pub path: PathBuf,
    /// What it grants.
    pub access: Grant,
    /// Open the path without following a final symlink (the entries of a split tree: a link
    /// there must not carry the grant to its target).
    pub nofollow: bool,
}

/// Options for the Landlock ruleset beyond the path rules.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LandlockOpts {
    /// Scope abstract unix sockets and signals (ABI 6).
    pub scopes: bool,
    /// TCP ports the box may connect to, when Landlock enforces the network (`None`: not handled;
    /// empty: no TCP connect at all, as under the connect broker, which connects for the box).
    pub net_connect: Option<Vec<u16>>,
    /// TCP ports the box may bind.
    pub net_bind: Vec<u16>,
}

/// What the child must set up.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NsSpec {
    /// Also a network namespace with only loopback.
    pub net: bool,
    /// Paths masked by an empty, writable tmpfs (private /tmp, /run, ...).
    pub masked: Vec<PathBuf>,
    /// Paths that are writable tmpfs (`/tmp`, `/dev/shm`) rather than masked read-only.
    pub private_writable: Vec<PathBuf>,
    /// Masks left writable at the mount level because Landlock refuses every write in them
    /// anyway (EACCES, as without namespaces, rather than EROFS): in the masked home agents try
    /// a temp file next to a granted file and fall back to writing it in place only on EACCES
    /// (Claude Code's `~/.claude.json`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub landlock_guarded: Vec<PathBuf>,
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
    /// Git directories the box sees through a private view (see `gitmeta::shadow`).
    pub shadows: Vec<GitView>,
    /// Files the box sees in place of the host's: redacted copies of configuration files, the
    /// stub resolver's resolv.conf. Bound read-only, after every other mount.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileView>,
    /// Empty writable directories private to the run (a tool's history that would otherwise
    /// complain it cannot be written), each a small tmpfs of its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub private_dirs: Vec<PathBuf>,
}

/// A read-only file the box sees at `path`: its bytes were made before fork; the child writes
/// them into a tmpfs of its own mount namespace (nothing on the host, even after a crash) and
/// binds that file read-only at `path` (created first when `path` lies in a mask).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileView {
    /// Where the box sees it.
    pub path: PathBuf,
    /// Its size.
    pub bytes: usize,
    /// Its content (not printed: the plan says what was removed, elsewhere).
    #[serde(skip)]
    pub content: std::sync::Arc<[u8]>,
}

/// The Landlock layer as the child applies it.
#[derive(Debug, Clone, Serialize)]
pub struct LandlockSpec {
    /// Path rules (everything else is denied).
    pub rules: Vec<LandlockRule>,
    /// The ABI the rules were computed for (all its rights are handled).
    pub abi: LandlockAbi,
    /// Scopes and network rules.
    pub opts: LandlockOpts,
}

/// A Landlock ABI version (0: no Landlock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LandlockAbi(pub u8);

/// How one entry of a git directory's top level appears in its view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Treatment {
    /// The real directory, bound writable.
    WriteThrough,
    /// The real entry, bound read-only.
    ReadOnly,
    /// A private copy, merged back after the run.
    Copied,
    /// A private directory holding submodule git directories (each with its own view).
    Modules,
}

/// One entry and its treatment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewItem {
    /// Name in the git directory's top level.
    pub name: String,
    /// How the box sees it.
    pub treatment: Treatment,
}

/// The private view of one git directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitView {
    /// The real git directory.
    pub path: PathBuf,
    /// Its top-level entries at launch.
    pub items: Vec<ViewItem>,
    /// Submodule git directories inside it, by path relative to it (`modules/lib`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<(PathBuf, GitView)>,
}

/// `packed-refs` in a view is always there (a copy, or empty) and read-only (see
/// `gitmeta::shadow`).
pub const PACKED_REFS: &str = "packed-refs";
