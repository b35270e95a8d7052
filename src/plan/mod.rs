//! The plan: a profile resolved against this host into one value, used for `--dry-run`, JSON and the launch.

pub mod command;
pub mod env;
pub mod fs;
pub mod host;

use crate::plan::env::{ChildEnv, EnvInputs, EnvPlan};
use crate::plan::fs::{Extra, FsPlan};
use crate::plan::host::Kernel;
use crate::profile::expand::Vars;
use crate::profile::{Resolved, Source};
use serde::Serialize;
use std::path::PathBuf;

/// Whether a layer is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It will be applied.
    Applied,
    /// It will not be applied; the reason says why.
    Skipped,
}

/// One protection layer and whether it applies here.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    /// Stable identifier, also the name used in `sandbox.optional`.
    pub id: &'static str,
    /// Applied or skipped.
    pub status: Status,
    /// What it does here, or why it is skipped.
    pub detail: String,
    /// Whether the profile requires it (a required layer that is skipped refuses the launch).
    pub required: bool,
}

/// Network part of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct NetPlan {
    /// off, allowlist or unrestricted.
    pub mode: String,
    /// How it is enforced.
    pub enforcement: String,
    /// Allowed hosts (allowlist mode).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Local services reachable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub local: Vec<String>,
    /// Loopback ports the box may listen on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<u16>,
    /// The proxy's address as the box sees it (allowlist mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// What this enforcement cannot stop.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<String>,
    /// Without a network namespace, TCP connects are made by the supervisor's connect broker
    /// (`net::broker`); Landlock then allows no TCP connect of the box's own.
    pub connect_broker: bool,
}

/// Port the proxy listens on inside a fresh network namespace (free there by construction).
pub const PROXY_PORT_IN_NS: u16 = 3128;

/// Namespace part of the plan.
#[derive(Debug, Clone, Serialize, Default)]
pub struct NsPlan {
    /// Whether the namespace layer is used.
    pub enabled: bool,
    /// A network namespace with only loopback.
    pub net: bool,
    /// Paths masked with an empty tmpfs (private /tmp, /run, the home directory...).
    pub masked: Vec<PathBuf>,
    /// Empty directories made inside the masks: the standard ones every home has (`~/.cache`,
    /// `~/.config`, ...), so a tool creating `~/.cache/tool` is refused at that path (and the
    /// denial names it) rather than at `~/.cache`; they reveal nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skeleton: Vec<PathBuf>,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Profile name.
    pub profile: String,
    /// The `extends` chain, most derived first.
    pub chain: Vec<Source>,
    /// The workspace.
    pub workspace: PathBuf,
    /// The command as given.
    pub command: Vec<String>,
    /// The executable it resolves to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<PathBuf>,
    /// Kernel facts (and any simulation in force).
    pub kernel: Kernel,
    /// `--best-effort` in force.
    pub best_effort: bool,
    /// Layers, in the order they are applied.
    pub layers: Vec<Layer>,
    /// Why the launch would be refused (empty when it can go ahead).
    pub refusals: Vec<String>,
    /// Access widened for this run only by command-line flags.
    pub widened: Vec<String>,
    /// Filesystem rules.
    pub filesystem: FsPlan,
    /// Environment (names only).
    pub env: EnvPlan,
    /// Network.
    pub network: NetPlan,
    /// Namespaces.
    pub namespaces: NsPlan,
    /// The box's temporary directory as the child sees it.
    pub tmpdir: PathBuf,
    /// The seccomp filter to build (when the layer applies).
    pub seccomp: crate::sandbox::seccomp::SeccompSpec,
    /// Git metadata protection.
    pub git: crate::gitmeta::GitPlan,
}

/// Everything the planner needs besides the profile.
pub struct Inputs {
    /// Workspace directory (absolute).
    pub workspace: PathBuf,
    /// The person's home.
    pub home: String,
    /// The command.
    pub command: Vec<String>,
    /// `--allow-read`.
    pub allow_read: Vec<PathBuf>,
    /// `--allow-write`.
    pub allow_write: Vec<PathBuf>,
    /// `--allow-env`.
    pub allow_env: Vec<String>,
    /// `--best-effort`.
    pub best_effort: bool,
    /// Host tmp dir to use when no namespace gives a private /tmp.
    pub host_tmpdir: PathBuf,
    /// `--allow-host`.
    pub allow_host: Vec<String>,
    /// Without a network namespace: the host loopback port the supervisor's proxy listens on,
    /// and the per-run credential it demands.
    pub host_proxy: Option<(u16, String)>,
}

/// Parsed network policy.
#[derive(Debug, Clone, Default)]
pub struct NetRules {
    /// Hosts reachable through the proxy.
    pub hosts: Vec<crate::net::policy::HostRule>,
    /// Local services on the host's loopback.
    pub local: Vec<std::net::SocketAddr>,
}

/// Parse `network.allow`, `--allow-host` and `network.local`.
pub fn net_rules(p: &crate::profile::Profile, cli_hosts: &[String]) -> Result<NetRules, String> {
    let mut r = NetRules::default();
    let from = |i: usize| {
        if i < p.network.allow.len() {
            "network.allow"
        } else {
            "--allow-host"
        }
    };
    for (i, h) in p.network.allow.iter().chain(cli_hosts).enumerate() {
        // A token is never a host name (`ghp_...` is a valid label): refuse it, unquoted.
        if let Some(f) = crate::detect::Engine::builtin().find(h.as_bytes()).first() {
            return Err(format!(
                "{}: an entry looks like a secret ({}), not a host; the value is not shown",
                from(i),
                f.rule_id
            ));
        }
        let q = crate::scrub::quote(h);
        let rule: crate::net::policy::HostRule =
            h.parse().map_err(|e| format!("{} {q}: {e}", from(i)))?;
        r.hosts.push(rule);
    }
    for l in &p.network.local {
        let q = crate::scrub::quote(l);
        let a: std::net::SocketAddr = l
            .parse()
            .map_err(|_| format!("network.local {q}: expected 127.0.0.1:PORT or [::1]:PORT"))?;
        if !a.ip().is_loopback() {
            return Err(format!(
                "network.local {q}: only services on the host's loopback can be listed"
            ));
        }
        r.local.push(a);
    }
    Ok(r)
}

/// Feature of Landlock by minimum ABI, with the `sandbox.optional` name that relaxes it.
const LANDLOCK_FEATURES: &[(&str, i32, &str)] = &[
    ("landlock", 1, "filesystem access control"),
    (
        "landlock-truncate",
        3,
        "truncation of files outside writable trees",
    ),
    ("landlock-ioctl-dev", 5, "ioctl on device files"),
    (
        "landlock-scopes",
        6,
        "abstract unix sockets and signals to processes outside the box",
    ),
];

/// The pseudo-terminals on stdin, stdout and stderr.
fn own_terminals() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for fd in 0..3 {
        if let Ok(p) = std::fs::read_link(format!("/proc/self/fd/{fd}")) {
            if p.starts_with("/dev/pts/") && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The home directory to mask with an empty tmpfs, so that the box sees only what is granted
/// below it (hidden credentials cannot be listed, `stat`-ed or watched): not when the workspace
/// is home or holds it, when a rule grants home itself or an ancestor (the profile wants it
/// visible), or when it lies under another mask already.
fn maskable_home(
    home: &str,
    workspace: &std::path::Path,
    rules: &[crate::plan::fs::Rule],
    masked: &[PathBuf],
) -> Option<PathBuf> {
    let h = std::fs::canonicalize(home).ok()?;
    if h == std::path::Path::new("/")
        || !h.is_dir()
        || h.starts_with(workspace)
        || masked.iter().any(|m| h.starts_with(m))
        || rules.iter().any(|r| h.starts_with(&r.path))
    {
        return None;
    }
    Some(h)
}

/// Resolve the profile against this host.
pub fn build(
    resolved: &Resolved,
    kernel: &Kernel,
    inp: &Inputs,
) -> Result<(Plan, ChildEnv), String> {
    let p = &resolved.profile;
    let t0 = std::time::Instant::now();
    let optional = |id: &str| inp.best_effort || p.sandbox.optional.iter().any(|o| o == id);
    let use_ns = kernel.user_namespaces;
    // A granted path under /tmp (a workspace there) would inherit a write rule on a private
    // /tmp; then /tmp stays a read-only mask and the box writes to a sub-tmpfs of its own.
    let granted_in_tmp = std::iter::once(&inp.workspace)
        .chain(&inp.allow_read)
        .chain(&inp.allow_write)
        .any(|p| p.starts_with("/tmp"));
    let tmpdir = if !use_ns {
        inp.host_tmpdir.clone()
    } else if granted_in_tmp {
        PathBuf::from(format!("/tmp/.agentbox-tmp-{}", std::process::id()))
    } else {
        PathBuf::from("/tmp")
    };
    let ws = inp.workspace.to_string_lossy().into_owned();
    let mut vars = Vars::standard(&inp.home, &ws, &tmpdir.to_string_lossy());
    vars.set("WORKSPACE", &ws);
    let extra = Extra {
        read: inp.allow_read.clone(),
        write: inp.allow_write.clone(),
        exec: vec![],
    };
    // agentbox's own configuration (profiles) and state (audit trail) stay out of reach
    // whatever a profile grants: the agent must not rewrite its cage or its record.
    let mut fsec = p.filesystem.clone();
    for own in ["${XDG_CONFIG_HOME}/agentbox", "${XDG_STATE_HOME}/agentbox"] {
        if !fsec.deny.iter().any(|d| d == own) {
            fsec.deny.push(own.to_string());
        }
    }
    let mut fs = crate::plan::fs::plan(&fsec, &vars, &extra, !use_ns)?;
    tracing::debug!("filesystem planned in {:?}", t0.elapsed());
    // A worktree or submodule keeps its git directory elsewhere (`.git` is a file): commits
    // need it writable; the git layer below protects it like a plain `.git`.
    let workspace_writable = fs
        .rules
        .iter()
        .any(|r| r.access == crate::plan::fs::Grant::Write && inp.workspace.starts_with(&r.path));
    if workspace_writable {
        for gd in crate::sandbox::mounts::real_git_dirs(&inp.workspace) {
            if gd.starts_with(&inp.workspace) {
                continue;
            }
            fs.rules.push(crate::plan::fs::Rule {
                path: gd.clone(),
                access: crate::plan::fs::Grant::Write,
                origin: "git directory of this worktree".into(),
            });
        }
    }
    let git = crate::gitmeta::plan(
        crate::gitmeta::discover::discover(&inp.workspace, std::path::Path::new(&inp.home)),
        &fs.rules,
        use_ns,
    );
    // Inside a view, git metadata is the view's business (a read-only bind there would only
    // break `git config`); everything git protects is added.
    fs.protect.retain(|p| !git.in_view(p));
    fs.protect_missing.retain(|p| !git.in_view(p));
    for p in &git.protect {
        if !fs.protect.contains(p) {
            fs.protect.push(p.clone());
        }
    }
    for p in &git.protect_missing {
        if !fs.protect_missing.contains(p) {
            fs.protect_missing.push(p.clone());
        }
    }
    // /dev/pts holds every terminal of the person (other tabs, ssh sessions): the box gets only
    // the terminal it was started on; new ptys from /dev/ptmx reach their peer without a path
    // (TIOCGPTPEER).
    // With the namespace layer /dev/pts is rebuilt to hold only those (see namespace.rs).
    if let Some(i) = fs
        .rules
        .iter()
        .position(|r| !use_ns && r.path == std::path::Path::new("/dev/pts"))
    {
        let r = fs.rules.remove(i);
        for t in own_terminals() {
            if !fs.rules.iter().any(|x| x.path == t) {
                fs.rules.push(crate::plan::fs::Rule {
                    path: t,
                    access: r.access,
                    origin: "the box's own terminal".into(),
                });
            }
        }
    }
    // Without a private /dev/shm, POSIX semaphores (Python's multiprocessing) need the host's.
    if !use_ns && std::path::Path::new("/dev/shm").is_dir() {
        fs.rules.push(crate::plan::fs::Rule {
            path: PathBuf::from("/dev/shm"),
            access: crate::plan::fs::Grant::Write,
            origin: "shared memory (no private /dev/shm without namespaces)".into(),
        });
    }
    // The box's own temp dir is always writable.
    if !fs.rules.iter().any(|r| r.path == tmpdir) {
        fs.rules.push(crate::plan::fs::Rule {
            path: tmpdir.clone(),
            access: crate::plan::fs::Grant::Write,
            origin: "box temp dir".into(),
        });
    }
    let mut widened = Vec::new();
    for r in &inp.allow_read {
        widened.push(format!("--allow-read {}", r.display()));
    }
    for r in &inp.allow_write {
        widened.push(format!("--allow-write {}", r.display()));
    }
    for r in &inp.allow_env {
        widened.push(format!("--allow-env {r}"));
    }

    // Network: this session supports off and unrestricted; allowlist needs the proxy.
    let nets = net_rules(p, &inp.allow_host)?;
    use crate::net::policy::NetMode;
    // The mode set by the most derived profile that sets one, unless a more derived profile
    // adds hosts or services below it (`extends: read-only` plus `network.allow` means
    // allowlist, not an inherited `off`).
    let layers = &resolved.layers;
    let mode_at = layers.iter().position(|l| l.network.mode.is_some());
    let hosts_at = layers
        .iter()
        .position(|l| !l.network.allow.is_empty() || !l.network.local.is_empty());
    let effective = match (mode_at, hosts_at) {
        (Some(m), Some(h)) if h < m && layers[m].network.mode == Some(NetMode::Off) => None,
        (Some(m), _) => layers[m].network.mode,
        (None, _) => None,
    };
    let mode = match effective {
        Some(NetMode::Unrestricted) => "unrestricted",
        _ if !inp.allow_host.is_empty() => "allowlist",
        None if !p.network.allow.is_empty() || !p.network.local.is_empty() => "allowlist",
        None | Some(NetMode::Off) => "off",
        Some(NetMode::Allowlist) => "allowlist",
    }
    .to_string();

    let mut layers = Vec::new();
    let mut refusals = Vec::new();
    let mut push = |id: &'static str, ok: bool, detail: String, why_not: String, required: bool| {
        let required = required && !optional(id);
        if !ok && required {
            refusals.push(format!(
                "{id}: {why_not}; relax with --best-effort or `sandbox.optional: [{id}]` in the profile"
            ));
        }
        layers.push(Layer {
            id,
            status: if ok { Status::Applied } else { Status::Skipped },
            detail: if ok { detail } else { why_not },
            required,
        });
    };

    let env_layer_detail = String::new();
    push("environment", true, env_layer_detail, String::new(), true);
    push(
        "namespaces",
        use_ns,
        format!(
            "user, mount, pid, ipc{} namespaces; private /tmp, /run masked; {} hidden, {} read-only paths",
            if mode != "unrestricted" { ", net (loopback only)" } else { "" },
            fs.hidden.len(),
            fs.protect.len()
        ),
        kernel
            .user_namespaces_reason
            .clone()
            .unwrap_or_else(|| "user namespaces unavailable".into()),
        !p.sandbox.optional.iter().any(|o| o == "namespaces"),
    );
    for (id, min, what) in LANDLOCK_FEATURES {
        let ok = kernel.landlock_abi >= *min;
        push(
            id,
            ok,
            format!("{what} (Landlock ABI {})", kernel.landlock_abi),
            format!(
                "{what} needs Landlock ABI {min}, this kernel has {}",
                kernel.landlock_abi
            ),
            true,
        );
    }
    let mut extra_refusals: Vec<String> = Vec::new();
    // --- connect broker (net::broker) ---
    // Without a network namespace, TCP sockets exist in allowlist mode and for listed local
    // services; each connect is then made by the supervisor, to an address it chose, because
    // Landlock's TCP rules name ports, not addresses.
    let tcp_fallback =
        !use_ns && mode != "unrestricted" && (mode == "allowlist" || !nets.local.is_empty());
    let broker_ok = kernel.seccomp && kernel.seccomp_notify;
    let targets = if mode == "allowlist" {
        "the proxy at 127.0.0.1:PORT (per-run credential) or a listed local service at its address"
    } else {
        "a listed local service at its address"
    };
    let broker_text = format!(
        "seccomp: AF_UNIX and TCP sockets only, no TCP Fast Open; connect broker (seccomp user \
         notification): agentbox itself connects the box's TCP sockets, only to {targets}; any \
         other address refused (EACCES){}",
        if kernel.landlock_abi >= 4 {
            "; Landlock refuses every TCP connect of the box's own"
        } else {
            ""
        }
    );
    let ports_text = format!(
        "seccomp + Landlock TCP ports only (no connect broker): {}",
        if mode == "allowlist" {
            "the proxy's port and listed ports, on any address; proxy with a per-run credential"
        } else {
            "listed ports, on any address"
        }
    );
    // --- end connect broker ---
    let net_enforcement = match (mode.as_str(), use_ns) {
        ("unrestricted", _) => "none: the network is unrestricted".to_string(),
        ("off", true) => "network namespace with only loopback".to_string(),
        ("off", false) if !tcp_fallback => "seccomp: only AF_UNIX sockets".to_string(),
        (_, true) => "network namespace; proxy is the only way out".to_string(),
        (_, false) if broker_ok => broker_text,
        (_, false) => ports_text,
    };
    let net_ok = match (mode.as_str(), use_ns) {
        ("unrestricted", _) | (_, true) => true,
        (_, false) => kernel.seccomp && (!tcp_fallback || kernel.seccomp_notify),
    };
    let net_why_not = if kernel.seccomp {
        format!(
            "{mode}: without a network namespace every TCP connect must go through agentbox's \
             connect broker, which needs seccomp user notification and pidfd_getfd on the box's \
             processes (Linux 5.6+, kernel.yama.ptrace_scope <= 1 or CAP_SYS_PTRACE): {}",
            kernel
                .seccomp_notify_reason
                .as_deref()
                .unwrap_or("unavailable")
        )
    } else {
        format!("{mode}: no network namespace and no seccomp to enforce it")
    };
    push(
        "network",
        net_ok,
        format!("{mode}: {net_enforcement}"),
        net_why_not,
        mode != "unrestricted",
    );
    push(
        "seccomp",
        kernel.seccomp,
        "deny list: ptrace, io_uring, keyctl, bpf, mount family, new user namespaces, TIOCSTI/TIOCLINUX, AF_VSOCK, ...".into(),
        "seccomp filters are unavailable".into(),
        true,
    );
    push(
        "no-new-privs",
        true,
        "PR_SET_NO_NEW_PRIVS".into(),
        String::new(),
        true,
    );
    push(
        "capabilities",
        true,
        if use_ns || nix::unistd::geteuid().is_root() {
            "every set dropped: effective, permitted, inheritable, bounding, ambient".into()
        } else {
            "effective, permitted, inheritable and ambient dropped; bounding set kept (no user namespace to drop it in, harmless under no-new-privs)".into()
        },
        String::new(),
        true,
    );
    let mut limits = Vec::new();
    let mut proxy = None;
    let mut extra_env: Vec<(String, String)> = Vec::new();
    if mode == "allowlist" {
        let url = if use_ns {
            format!("http://127.0.0.1:{PROXY_PORT_IN_NS}")
        } else {
            match &inp.host_proxy {
                Some((port, token)) => format!("http://agentbox:{token}@127.0.0.1:{port}"),
                None => "http://agentbox:<per-run credential>@127.0.0.1:<port>".into(),
            }
        };
        proxy = Some(if use_ns {
            url.clone()
        } else {
            url.split('@')
                .next_back()
                .map(|h| format!("http://{h}"))
                .unwrap_or_default()
        });
        // Box-local traffic (test servers inside the box) goes direct; a loopback host the
        // allowlist names on purpose goes through the proxy, so it leaves NO_PROXY.
        let named = |h: &str| {
            nets.hosts
                .iter()
                .any(|r| r.pattern.trim_matches(['[', ']']) == h)
        };
        let mut no_proxy: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .filter(|h| !named(h))
            .map(String::from)
            .collect();
        for l in &nets.local {
            no_proxy.push(l.ip().to_string());
        }
        no_proxy.dedup();
        for k in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "npm_config_proxy",
            "npm_config_https_proxy",
        ] {
            extra_env.push((k.into(), url.clone()));
        }
        extra_env.push(("NO_PROXY".into(), no_proxy.join(",")));
        extra_env.push(("no_proxy".into(), no_proxy.join(",")));
        extra_env.push(("NODE_USE_ENV_PROXY".into(), "1".into()));
        if !use_ns {
            if kernel.landlock_abi < 4 && !optional("network") {
                extra_refusals.push(format!(
                    "network: allowlist without a network namespace needs Landlock ABI 4 (TCP ports), this kernel has {}; relax with --best-effort or `sandbox.optional: [network]`",
                    kernel.landlock_abi
                ));
            }
            limits.push("without a network namespace, the proxy port is reachable by other local processes (they need the per-run credential)".into());
        }
    }
    if !use_ns {
        fs.limits.push(
            "without namespaces, hidden paths can still be stat-ed and watched (inotify): Landlock \
             governs opening them, not whether they exist or when they are used"
                .into(),
        );
    }
    if tcp_fallback && broker_ok {
        if !nix::unistd::geteuid().is_root() {
            limits.push("a box process that makes itself non-dumpable (PR_SET_DUMPABLE 0) gets no TCP connection: the connect broker may not take its socket".into());
        }
        if kernel.landlock_abi < 4 {
            limits.push(format!("without Landlock ABI 4 (this kernel has {}), a connect on a descriptor swapped for a TCP socket after the broker's check is not refused", kernel.landlock_abi));
        }
    } else if tcp_fallback {
        limits.push("no connect broker: Landlock filters TCP by port only, so the proxy's port and listed local ports are reachable on any address, past the proxy".into());
    }
    if mode == "off" && !use_ns && !kernel.seccomp {
        limits.push("no network namespace and no seccomp: nothing stops the network".into());
    }

    refusals.extend(extra_refusals);
    let inputs = EnvInputs {
        cli_allow: &inp.allow_env,
        profile_name: &resolved.name,
        tmpdir: &tmpdir.to_string_lossy(),
        extra: extra_env,
    };
    tracing::debug!("layers planned at {:?}", t0.elapsed());
    let (env, child_env) = crate::plan::env::compute(&p.env, &vars, &inputs, std::env::vars_os())?;
    tracing::debug!("environment planned at {:?}", t0.elapsed());
    if let Some(l) = layers.iter_mut().find(|l| l.id == "environment") {
        l.detail = format!(
            "{} removed, {} kept on purpose, inherit {}",
            env.removed.len(),
            env.kept_on_purpose.len(),
            env.inherit
        );
    }
    use crate::sandbox::seccomp::{SeccompSpec, SocketPolicy};
    let seccomp_spec = SeccompSpec {
        sockets: match (mode.as_str(), use_ns) {
            ("unrestricted", _) | (_, true) => SocketPolicy::Contained,
            ("off", false) if nets.local.is_empty() => SocketPolicy::UnixOnly,
            (_, false) => SocketPolicy::UnixAndTcp,
        },
        allow_user_namespaces: p.hardening.nested_sandbox.unwrap_or(false),
    };
    let mut masked = Vec::new();
    let mut skeleton = Vec::new();
    if use_ns {
        masked.push(PathBuf::from("/tmp"));
        masked.push(PathBuf::from("/dev/shm"));
        masked.push(PathBuf::from("/run"));
        if let Ok(m) = std::fs::symlink_metadata("/var/run") {
            if !m.file_type().is_symlink() {
                masked.push(PathBuf::from("/var/run"));
            }
        }
        if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR") {
            let x = PathBuf::from(x);
            if x.is_absolute() && !x.starts_with("/run") && x.is_dir() {
                masked.push(x);
            }
        }
        if let Some(h) = maskable_home(&inp.home, &inp.workspace, &fs.rules, &masked) {
            for d in [
                ".cache",
                ".config",
                ".local",
                ".local/share",
                ".local/state",
            ] {
                if h.join(d).is_dir() {
                    skeleton.push(h.join(d));
                }
            }
            masked.push(h);
        }
    }
    let plan = Plan {
        profile: resolved.name.clone(),
        chain: resolved.chain.clone(),
        workspace: inp.workspace.clone(),
        command: inp.command.clone(),
        executable: None,
        kernel: kernel.clone(),
        best_effort: inp.best_effort,
        layers,
        refusals,
        widened,
        filesystem: fs,
        env,
        network: NetPlan {
            mode: mode.clone(),
            enforcement: net_enforcement,
            allow: nets.hosts.iter().map(|h| h.to_string()).collect(),
            local: p.network.local.clone(),
            listen: p.network.listen.clone(),
            proxy,
            limits,
            connect_broker: tcp_fallback && broker_ok,
        },
        namespaces: NsPlan {
            enabled: use_ns,
            net: use_ns && mode != "unrestricted",
            masked,
            skeleton,
        },
        tmpdir,
        seccomp: seccomp_spec,
        git,
    };
    Ok((plan, child_env))
}

impl Plan {
    /// Name what the seccomp filter denies, from the filter actually built (the reasons live
    /// in the seccomp module's table).
    pub fn describe_seccomp(&mut self, f: &crate::sandbox::seccomp::Filter) {
        if let Some(l) = self
            .layers
            .iter_mut()
            .find(|l| l.id == "seccomp" && l.status == Status::Applied)
        {
            l.detail = f
                .summary()
                .iter()
                .map(|line| line.split(": ").next().unwrap_or(line).to_string())
                .collect::<Vec<_>>()
                .join("; ");
        }
    }

    /// Is the layer with this id applied?
    pub fn applied(&self, id: &str) -> bool {
        self.layers
            .iter()
            .any(|l| l.id == id && l.status == Status::Applied)
    }

    /// One line for stderr at launch: profile, layers, removed count.
    pub fn status_line(&self) -> String {
        let on: Vec<&str> = self
            .layers
            .iter()
            .filter(|l| l.status == Status::Applied)
            .map(|l| l.id)
            .collect();
        let off: Vec<&str> = self
            .layers
            .iter()
            .filter(|l| l.status == Status::Skipped)
            .map(|l| l.id)
            .collect();
        let mut s = format!(
            "agentbox: profile {} | network {} | layers: {} | {} variable{} removed",
            self.profile,
            self.network.mode,
            on.join(", "),
            self.env.removed.len(),
            if self.env.removed.len() == 1 { "" } else { "s" }
        );
        if !off.is_empty() {
            s.push_str(&format!(" | SKIPPED: {}", off.join(", ")));
        }
        if !self.git.repository {
            s.push_str(" | workspace not a git repository");
        }
        if let Some(sim) = &self.kernel.simulated {
            s.push_str(&format!(" | {sim}"));
        }
        s
    }

    /// The git part of `--dry-run`.
    fn render_git(&self, o: &mut String) {
        use crate::gitmeta::GitMode;
        use std::fmt::Write;
        let g = &self.git;
        let how = match (g.repository, g.mode) {
            (false, _) => "the workspace is not a git repository; every repository found in it after the run is examined",
            (true, GitMode::None) => "repository, not writable by the box",
            (true, GitMode::Views) => "private views of git metadata (config, HEAD, index, hooks...), merged back by rule after the run; objects and refs shared",
            (true, GitMode::Snapshot) => "git metadata snapshotted and restored after the run (no namespaces)",
        };
        let _ = writeln!(o, "git:       {how}");
        for v in &g.views {
            let _ = writeln!(o, "  view    {}", v.path.display());
            for (rel, _) in &v.modules {
                let _ = writeln!(o, "  view    {}", v.path.join(rel).display());
            }
        }
        for l in &g.limits {
            let _ = writeln!(o, "  limit: {l}");
        }
    }

    /// The human-readable plan for `--dry-run`.
    pub fn render(&self, verbose: u8) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let _ = writeln!(o, "profile:   {}", self.profile);
        let chain: Vec<String> = self.chain.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(o, "chain:     {}", chain.join(" -> "));
        let _ = writeln!(o, "workspace: {}", self.workspace.display());
        let _ = writeln!(o, "command:   {}", self.command.join(" "));
        if let Some(e) = &self.executable {
            let _ = writeln!(o, "resolves:  {}", e.display());
        }
        let _ = writeln!(
            o,
            "tmpdir:    {} (private, removed afterwards)",
            self.tmpdir.display()
        );
        let _ = writeln!(
            o,
            "kernel:    Landlock ABI {}, user namespaces {}, seccomp {}, seccomp user notification {}",
            self.kernel.landlock_abi,
            if self.kernel.user_namespaces {
                "yes"
            } else {
                "no"
            },
            if self.kernel.seccomp { "yes" } else { "no" },
            if self.kernel.seccomp_notify {
                "yes"
            } else {
                "no"
            }
        );
        if let Some(sim) = &self.kernel.simulated {
            let _ = writeln!(
                o,
                "WARNING:   {sim} (real Landlock ABI {})",
                self.kernel.real_landlock_abi
            );
        }
        if self.best_effort {
            let _ = writeln!(
                o,
                "mode:      --best-effort: skipped layers do not refuse the launch"
            );
        }
        let _ = writeln!(o, "layers:");
        for l in &self.layers {
            let st = match l.status {
                Status::Applied => "applied",
                Status::Skipped if l.required => "MISSING",
                Status::Skipped => "skipped",
            };
            let _ = writeln!(o, "  {:<20} {:<8} {}", l.id, st, l.detail);
        }
        let _ = writeln!(
            o,
            "network:   {} ({})",
            self.network.mode, self.network.enforcement
        );
        if let Some(p) = &self.network.proxy {
            let _ = writeln!(o, "  proxy {p}");
        }
        for h in &self.network.allow {
            let _ = writeln!(o, "  allow {h}");
        }
        for l in &self.network.local {
            let _ = writeln!(o, "  local service {l}");
        }
        for l in &self.network.listen {
            let _ = writeln!(o, "  listen 127.0.0.1:{l}");
        }
        for l in &self.network.limits {
            let _ = writeln!(o, "  limit: {l}");
        }
        let _ = writeln!(o, "filesystem:");
        for r in &self.filesystem.rules {
            if r.origin.starts_with("split of") && verbose == 0 {
                continue;
            }
            let _ = writeln!(
                o,
                "  {:<7} {}{}",
                format!("{:?}", r.access).to_lowercase(),
                r.path.display(),
                if r.origin == "profile" {
                    String::new()
                } else {
                    format!("  ({})", r.origin)
                }
            );
        }
        for s in &self.filesystem.splits {
            let denied: Vec<String> = s.denied.iter().map(|d| d.display().to_string()).collect();
            let _ = writeln!(
                o,
                "  split   {} into {} rules to leave out {}",
                s.tree.display(),
                s.rules,
                denied.join(", ")
            );
        }
        for d in &self.filesystem.create {
            let _ = writeln!(
                o,
                "  create  {} (the agent's state directory, missing: created at launch)",
                d.display()
            );
        }
        for d in &self.filesystem.hidden {
            let how = if self.namespaces.enabled {
                "namespace layer"
            } else {
                "Landlock split: no new entries in its directory"
            };
            let _ = writeln!(o, "  hidden  {} ({how})", d.display());
        }
        for d in &self.filesystem.protect {
            let how = if self.namespaces.enabled {
                "namespace layer"
            } else {
                "restored after the run if changed"
            };
            let _ = writeln!(o, "  ro      {} ({how})", d.display());
        }
        for d in &self.filesystem.protect_missing {
            let _ = writeln!(
                o,
                "  ro      {} (does not exist; removed after the run if created)",
                d.display()
            );
        }
        for m in &self.namespaces.masked {
            let _ = writeln!(o, "  masked  {} (empty tmpfs)", m.display());
        }
        for l in &self.filesystem.limits {
            let _ = writeln!(o, "  limit: {l}");
        }
        if verbose > 0 {
            for m in &self.filesystem.missing {
                let _ = writeln!(o, "  missing {m} (skipped)");
            }
        }
        self.render_git(&mut o);
        let _ = writeln!(o, "environment: inherit {}", self.env.inherit);
        for r in &self.env.removed {
            let _ = writeln!(o, "  removed {} ({})", r.name, r.reason);
        }
        for k in &self.env.kept_on_purpose {
            let _ = writeln!(
                o,
                "  kept    {} (flagged: {}; kept by {})",
                k.name, k.flagged, k.by
            );
        }
        for k in &self.env.set {
            let _ = writeln!(o, "  set     {k}");
        }
        for f in &self.env.files {
            let _ = writeln!(
                o,
                "  file    {}{}",
                f.path,
                if f.missing {
                    " (missing, skipped)".to_string()
                } else {
                    format!(": {}", f.names.join(", "))
                }
            );
        }
        if self.env.not_inherited > 0 {
            let _ = writeln!(o, "  {} variables not inherited", self.env.not_inherited);
        }
        for w in &self.widened {
            if w.starts_with("arguments added") {
                let _ = writeln!(o, "{w}");
            } else {
                let _ = writeln!(o, "widened for this run: {w}");
            }
        }
        for r in &self.refusals {
            let _ = writeln!(o, "REFUSED: {r}");
        }
        o
    }
}
