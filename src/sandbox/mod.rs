//! The sandbox: applies a launch spec in the child, in a fixed order (descriptors and
//! environment, namespaces and mounts, Landlock, capabilities, seccomp last), and nothing else.
//! It decides nothing: every decision is in the plan (`crate::plan`), which produces the spec.

pub mod channel;
pub mod child;
pub mod harden;
pub mod landlock;
pub mod mounts;
pub mod namespaces;
pub mod seccomp;
pub mod spec;

/// Exit status for agentbox's own failures (bad profile, missing layer, set-up failure).
pub const EXIT_SETUP: u8 = 125;
/// The command exists but cannot be executed.
pub const EXIT_NOEXEC: u8 = 126;
/// The command was not found.
pub const EXIT_NOTFOUND: u8 = 127;

/// A step of the child's set-up, named when it fails (the supervisor tells them apart: a
/// refused fork into new namespaces means planning again without user namespaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum Stage {
    /// Moving into the box's cgroup.
    Cgroup = 1,
    /// PR_SET_PDEATHSIG.
    ParentDeath,
    /// Marking inherited descriptors close-on-exec.
    Descriptors,
    /// Waiting for the denial observer to attach.
    Observer,
    /// The fork into new namespaces (clone(2) with the namespace flags).
    Unshare,
    /// Writing the uid and gid maps.
    IdMaps,
    /// The mount view.
    Mounts,
    /// Handing the git views to the supervisor.
    GitViews,
    /// Loopback in the network namespace.
    Loopback,
    /// Listening inside the network namespace.
    Listen,
    /// Handing the listening sockets to the supervisor.
    HandOver,
    /// Mounting /proc for the pid namespace.
    Proc,
    /// PR_SET_NO_NEW_PRIVS.
    NoNewPrivs,
    /// The Landlock ruleset.
    Landlock,
    /// Dropping capabilities.
    Capabilities,
    /// The seccomp filter.
    Seccomp,
    /// The denial observer's filter.
    TraceFilter,
    /// The connect broker's filter.
    Broker,
    /// Forking the agent.
    ForkAgent,
    /// Writing the box's CA bundle into its temp dir.
    BoxFiles,
}

impl Stage {
    const ALL: [Stage; 20] = [
        Stage::Cgroup,
        Stage::ParentDeath,
        Stage::Descriptors,
        Stage::Observer,
        Stage::Unshare,
        Stage::IdMaps,
        Stage::Mounts,
        Stage::GitViews,
        Stage::Loopback,
        Stage::Listen,
        Stage::HandOver,
        Stage::Proc,
        Stage::NoNewPrivs,
        Stage::Landlock,
        Stage::Capabilities,
        Stage::Seccomp,
        Stage::TraceFilter,
        Stage::Broker,
        Stage::ForkAgent,
        Stage::BoxFiles,
    ];

    /// The stage from its wire byte.
    pub fn from_u8(b: u8) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| *s as u8 == b)
    }

    /// Words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Cgroup => "enter the box's cgroup",
            Stage::ParentDeath => "parent-death signal",
            Stage::Descriptors => "close inherited descriptors",
            Stage::Observer => "denial observer",
            Stage::Unshare => "namespaces: fork into new namespaces",
            Stage::IdMaps => "namespaces: uid and gid maps",
            Stage::Mounts => "mounts",
            Stage::GitViews => "git views",
            Stage::Loopback => "network namespace",
            Stage::Listen => "listen in the box",
            Stage::HandOver => "hand the proxy socket to the supervisor",
            Stage::Proc => "pid namespace",
            Stage::NoNewPrivs => "no-new-privs",
            Stage::Landlock => "landlock",
            Stage::Capabilities => "drop capabilities",
            Stage::Seccomp => "seccomp",
            Stage::TraceFilter => "denial observer filter",
            Stage::Broker => "connect broker (seccomp user notification)",
            Stage::ForkAgent => "fork the agent",
            Stage::BoxFiles => "write the box's CA bundle",
        }
    }
}

/// A failure of the child's set-up: the step and what the kernel said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    /// The step.
    pub stage: Stage,
    /// The error (never a secret: paths and errno text).
    pub detail: String,
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.stage.describe(), self.detail)
    }
}

/// Map a wait status to an exit code: the child's, or 128+N for death by signal N.
pub fn exit_code(wstatus: i32) -> u8 {
    if libc::WIFEXITED(wstatus) {
        libc::WEXITSTATUS(wstatus) as u8
    } else if libc::WIFSIGNALED(wstatus) {
        (128 + libc::WTERMSIG(wstatus)).min(255) as u8
    } else {
        EXIT_SETUP
    }
}
