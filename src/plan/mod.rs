//! The plan: a profile resolved against this host's facts into one value. The same value is
//! printed by `--dry-run` (and `--json`), kept for the report, and applied: every decision the
//! sandbox applies is in it (`launch`), and the sandbox decides nothing.
//!
//! Pure over its inputs: the profile, the [`HostFacts`] gathered once, the command-line
//! [`Inputs`], and the filesystem (paths that exist, trees to split, git metadata).

pub mod command;
pub mod cred;
pub mod env;
pub mod facts;
pub mod fs;
pub mod host;
pub mod launch;
pub mod layers;
pub mod net;
mod render;
pub mod views;

pub use facts::HostFacts;
pub use layers::{Layer, LayerId, Refusal, Status};
pub use net::{net_rules, NetPlan, NetRules, PROXY_PORT_IN_NS};

use crate::net::policy::NetMode;
use crate::plan::env::{ChildEnv, EnvInputs, EnvPlan};
use crate::plan::fs::{Extra, FsPlan, Grant, Origin, Rule};
use crate::plan::host::Kernel;
use crate::profile::expand::Vars;
use crate::profile::{Resolved, Source};
use layers::Layers;
use serde::Serialize;
use std::path::{Path, PathBuf};

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
    /// How it was chosen: `-p`, a known agent's preset, or `default` (and why).
    pub profile_choice: command::ProfileChoice,
    /// The `extends` chain, most derived first.
    pub chain: Vec<Source>,
    /// The workspace.
    pub workspace: PathBuf,
    /// The command as given (arguments that look like secrets redacted).
    pub command: Vec<String>,
    /// The executable it resolves to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<PathBuf>,
    /// Why it cannot be run (126 or 127), when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_error: Option<command::CommandError>,
    /// Kernel facts (and any simulation in force).
    pub kernel: Kernel,
    /// `--best-effort` in force.
    pub best_effort: bool,
    /// Layers, in the order they are applied.
    pub layers: Vec<Layer>,
    /// Why the launch would be refused (empty when it can go ahead).
    pub refusals: Vec<Refusal>,
    /// What this run adds to the profile (command-line grants, added arguments).
    pub widened: Vec<Widening>,
    /// Filesystem rules.
    pub filesystem: FsPlan,
    /// Environment (names only).
    pub env: EnvPlan,
    /// Network.
    pub network: NetPlan,
    /// Credentials: placeholders in the box, real values injected by the proxy (names only).
    #[serde(skip_serializing_if = "cred::CredentialPlan::is_empty")]
    pub credentials: cred::CredentialPlan,
    /// Namespaces.
    pub namespaces: NsPlan,
    /// The box's temporary directory as the child sees it.
    pub tmpdir: PathBuf,
    /// The seccomp filter to build (when the layer applies).
    pub seccomp: crate::sandbox::seccomp::SeccompSpec,
    /// Git metadata protection.
    pub git: crate::gitmeta::GitPlan,
    /// Redacted views of shell and tool configuration.
    pub views: views::ViewsPlan,
    /// What the sandbox applies, decided from all of the above.
    pub launch: launch::LaunchPlan,
}

/// Everything the planner needs besides the profile and the host facts.
pub struct Inputs {
    /// Workspace directory (absolute).
    pub workspace: PathBuf,
    /// The person's home.
    pub home: String,
    /// The command as shown (arguments that look like secrets redacted).
    pub command: Vec<String>,
    /// The program to run (the command's first word).
    pub program: String,
    /// The directory the command starts in.
    pub cwd: PathBuf,
    /// `--allow-read`.
    pub allow_read: Vec<PathBuf>,
    /// `--allow-write`.
    pub allow_write: Vec<PathBuf>,
    /// `--allow-write DIR/` entries missing at launch: created for the run (also in
    /// `allow_write`).
    pub create_for_run: Vec<PathBuf>,
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
    /// `--credential NAME[=HOST,...]`.
    pub credentials: Vec<String>,
    /// How the profile was chosen (`-p`, an agent's preset, `default`).
    pub profile_choice: command::ProfileChoice,
    /// The person's allow-list file of detector false positives, as found (never one in the
    /// workspace).
    pub personal_allow: crate::detect::personal::Source,
}

/// The box's temporary directory: the host's `host_tmpdir` without namespaces; a private /tmp
/// with them, unless a granted path lies under /tmp (a workspace there would inherit a write
/// rule on all of it: /tmp then stays a read-only mask and the box gets a sub-tmpfs).
fn tmpdir(inp: &Inputs, use_ns: bool, pid: u32) -> PathBuf {
    let granted_in_tmp = std::iter::once(&inp.workspace)
        .chain(&inp.allow_read)
        .chain(&inp.allow_write)
        .any(|p| p.starts_with("/tmp"));
    if !use_ns {
        inp.host_tmpdir.clone()
    } else if granted_in_tmp {
        PathBuf::from(format!("/tmp/.agentbox-tmp-{pid}"))
    } else {
        PathBuf::from("/tmp")
    }
}

/// Resolve the profile against this host.
pub fn build(
    resolved: &Resolved,
    facts: &HostFacts,
    inp: &Inputs,
) -> Result<(Plan, ChildEnv), String> {
    let p = &resolved.profile;
    let kernel = &facts.kernel;
    let use_ns = kernel.user_namespaces;
    let mut layers = Layers {
        optional: optional_layers(resolved, inp.best_effort)?,
        ..Default::default()
    };
    let tmpdir = tmpdir(inp, use_ns, facts.pid);
    let ws = inp.workspace.to_string_lossy().into_owned();
    let mut vars = Vars::with_env(
        &inp.home,
        &ws,
        &tmpdir.to_string_lossy(),
        facts.env_map(),
        facts.uid,
        &facts.user,
    );
    vars.set("WORKSPACE", &ws);
    let mode = net::effective_mode(resolved, &inp.allow_host);
    let creds = credentials(p, facts, inp, &vars, &tmpdir, mode)?;
    let mut fs = filesystem(p, &vars, inp, use_ns, &creds.source_files())?;
    crate::timing::mark("plan: filesystem");
    box_rules(&mut fs, facts, inp, &tmpdir, use_ns);
    let git = git(&mut fs, inp, use_ns);
    crate::timing::mark("plan: git");
    kernel_layers(&mut layers, kernel, &fs, use_ns, mode);
    let mut net = net::plan(
        resolved,
        kernel,
        facts.euid_root,
        &inp.allow_host,
        inp.host_proxy.as_ref(),
        use_ns,
        &mut layers,
    )?;
    net.plan.dns = resolver(&mut fs, &net, use_ns, facts);
    process_layers(&mut layers, kernel, use_ns, facts.euid_root);
    if !use_ns {
        fs.limits.push(
            "without namespaces, hidden paths can still be stat-ed and watched (inotify): Landlock \
             governs opening them, not whether they exist or when they are used"
                .into(),
        );
    }
    let mut extra = net.env;
    extra.extend(creds.env(facts.var("GIT_CONFIG_COUNT")));
    crate::timing::mark("plan: net");
    let personal = inp.personal_allow.load()?;
    let env_inputs = EnvInputs {
        cli_allow: &inp.allow_env,
        profile_name: &resolved.name,
        tmpdir: &tmpdir.to_string_lossy(),
        extra,
        personal: personal.as_ref(),
    };
    let (mut env, mut child_env) =
        crate::plan::env::compute(&p.env, &vars, &env_inputs, facts.env.iter().cloned())?;
    crate::timing::mark("plan: env");
    env.allow_list = env::AllowListPlan::new(&inp.personal_allow, personal.as_ref());
    env::hold_placeholders(&mut env, &mut child_env, &creds, facts);
    describe_env(&mut layers, &env);
    let seccomp = crate::sandbox::seccomp::SeccompSpec {
        sockets: net.plan.sockets,
        allow_user_namespaces: p.hardening.nested_sandbox.unwrap_or(false),
    };
    let namespaces = namespaces(facts, inp, &fs, use_ns, net.plan.mode);
    let views = config_views(
        &mut fs,
        &vars,
        inp,
        use_ns,
        &namespaces.masked,
        &child_env.removed_values,
    );
    crate::timing::mark("plan: views");
    let (executable, command_error) = command(&mut fs, &child_env, inp);
    crate::timing::mark("plan: command");
    let command_error = command_error.or_else(|| preset_mismatch(inp, executable.as_deref()));
    let mut plan = Plan {
        profile: resolved.name.clone(),
        profile_choice: inp.profile_choice.clone(),
        chain: resolved.chain.clone(),
        workspace: inp.workspace.clone(),
        command: inp.command.clone(),
        executable,
        command_error,
        kernel: kernel.clone(),
        best_effort: inp.best_effort,
        layers: layers.list,
        refusals: layers.refusals,
        widened: widened(inp, p),
        filesystem: fs,
        env,
        network: net.plan,
        credentials: creds,
        namespaces,
        tmpdir,
        seccomp,
        git,
        views,
        launch: launch::LaunchPlan {
            namespaces: None,
            landlock: None,
            seccomp: None,
            listen_inside: vec![],
            require_empty_bounding: false,
            terminal: Default::default(),
            resolver: None,
        },
    };
    plan.launch = launch::plan(&plan, facts);
    Ok((plan, child_env))
}

/// The environment layer's line: how many variables went, how many stayed on purpose.
fn describe_env(layers: &mut Layers, env: &EnvPlan) {
    if let Some(l) = layers
        .list
        .iter_mut()
        .find(|l| l.id == LayerId::Environment)
    {
        l.detail = format!(
            "{} removed, {} kept on purpose, inherit {}",
            env.removed.len(),
            env.kept_on_purpose.len(),
            env.inherit
        );
    }
}

/// How lookups are answered; with the stub, a read rule on the box's own resolv.conf wherever
/// the host's is (often in the masked /run).
fn resolver(fs: &mut FsPlan, net: &net::NetDecision, use_ns: bool, facts: &HostFacts) -> net::Dns {
    let dns = net::Dns::decide(
        net.plan.mode,
        use_ns,
        facts.resolv_conf.as_deref(),
        &net.rules.local,
        &net.plan.listen,
    );
    if let net::Dns::Stub {
        resolv_conf: Some(r),
        ..
    } = &dns
    {
        if !fs.rules.iter().any(|x| r.starts_with(&x.path)) {
            fs.rules.push(Rule {
                path: r.clone(),
                access: Grant::Read,
                origin: Origin::View,
            });
        }
    }
    dns
}

/// The redacted views of configuration files and the private directories.
fn config_views(
    fs: &mut FsPlan,
    vars: &Vars,
    inp: &Inputs,
    use_ns: bool,
    masked: &[PathBuf],
    removed_values: &[String],
) -> views::ViewsPlan {
    let cx = views::Context {
        vars,
        home: Path::new(&inp.home),
        workspace: &inp.workspace,
        namespaces: use_ns,
        removed_values,
    };
    let mut v = views::plan(&cx, fs);
    v.private_dirs = views::private_dirs(&cx, masked, fs);
    v
}

/// The credentials: the profile's and `--credential`'s, checked against the allowlist in force.
fn credentials(
    p: &crate::profile::Profile,
    facts: &HostFacts,
    inp: &Inputs,
    vars: &Vars,
    tmpdir: &Path,
    mode: NetMode,
) -> Result<cred::CredentialPlan, String> {
    if p.credentials.is_empty() && inp.credentials.is_empty() {
        return Ok(cred::CredentialPlan::default());
    }
    let rules = net::net_rules(p, &inp.allow_host)?;
    let allow = crate::net::policy::Allowlist::new(rules.hosts);
    let var = |n: &str| facts.var(n).map(String::from);
    let caller_ca = facts
        .var("SSL_CERT_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let ci = cred::CredInputs {
        flags: &inp.credentials,
        allow_env: &inp.allow_env,
        allow: &allow,
        mode,
        var: &var,
        vars,
        tmpdir,
        caller_ca,
        system_ca: crate::net::inject::tls::system_bundle(),
    };
    cred::plan(&p.credentials, &ci).map_err(|e| e.to_string())
}

/// The layers the profile (`sandbox.optional`) or `--best-effort` lets go; an unknown name is
/// an error rather than a silent no-op.
fn optional_layers(resolved: &Resolved, best_effort: bool) -> Result<Vec<LayerId>, String> {
    if best_effort {
        return Ok(LayerId::ALL.to_vec());
    }
    resolved
        .profile
        .sandbox
        .optional
        .iter()
        .map(|o| {
            o.parse::<LayerId>().map_err(|_| {
                let known: Vec<&str> = LayerId::ALL.iter().map(|l| l.as_str()).collect();
                format!(
                    "sandbox.optional: no layer named {}; layers: {}",
                    crate::scrub::quote(o),
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// The profile's filesystem rules, with agentbox's own configuration and state always hidden.
fn filesystem(
    p: &crate::profile::Profile,
    vars: &Vars,
    inp: &Inputs,
    use_ns: bool,
    secret_files: &[PathBuf],
) -> Result<FsPlan, String> {
    let extra = Extra {
        read: inp.allow_read.clone(),
        write: inp.allow_write.clone(),
        create: inp.create_for_run.clone(),
        exec: vec![],
    };
    // agentbox's own configuration (profiles) and state (audit trail, journal, quarantine)
    // stay out of reach whatever a profile grants: the agent must not rewrite its cage or its
    // record.
    let mut fsec = p.filesystem.clone();
    for own in ["${XDG_CONFIG_HOME}/agentbox", "${XDG_STATE_HOME}/agentbox"] {
        if !fsec.deny.iter().any(|d| d == own) {
            fsec.deny.push(own.to_string());
        }
    }
    // A file holding a credential's real value is hidden whatever is granted around it.
    for f in secret_files {
        let f = f.to_string_lossy().into_owned();
        if !fsec.deny.contains(&f) {
            fsec.deny.push(f);
        }
    }
    crate::plan::fs::plan(&fsec, vars, &extra, !use_ns)
}

/// Rules the box needs whatever the profile says: a worktree's git directory elsewhere, its own
/// terminal (without a private devpts), shared memory (without a private one), its temp dir.
fn box_rules(fs: &mut FsPlan, facts: &HostFacts, inp: &Inputs, tmpdir: &Path, use_ns: bool) {
    let rule = |path: PathBuf, access: Grant, origin: Origin| Rule {
        path,
        access,
        origin,
    };
    let workspace_writable = fs
        .rules
        .iter()
        .any(|r| r.access == Grant::Write && inp.workspace.starts_with(&r.path));
    if workspace_writable {
        for gd in crate::gitmeta::discover::real_git_dirs(&inp.workspace) {
            if !gd.starts_with(&inp.workspace) {
                fs.rules.push(rule(gd, Grant::Write, Origin::GitDir));
            }
        }
    }
    // /dev/pts holds every terminal of the person (other tabs, ssh sessions): the box gets only
    // the terminal it was started on; new ptys from /dev/ptmx reach their peer without a path
    // (TIOCGPTPEER). With the namespace layer /dev/pts is rebuilt to hold only those.
    if let Some(i) = fs
        .rules
        .iter()
        .position(|r| !use_ns && r.path == Path::new("/dev/pts"))
    {
        let r = fs.rules.remove(i);
        for t in &facts.terminals {
            if !fs.rules.iter().any(|x| &x.path == t) {
                fs.rules
                    .push(rule(t.clone(), r.access, Origin::OwnTerminal));
            }
        }
    }
    // Without a private /dev/shm, POSIX semaphores (Python's multiprocessing) need the host's.
    if !use_ns && facts.dev_shm {
        fs.rules.push(rule(
            PathBuf::from("/dev/shm"),
            Grant::Write,
            Origin::SharedMemory,
        ));
    }
    if !fs.rules.iter().any(|r| r.path == tmpdir) {
        fs.rules
            .push(rule(tmpdir.to_path_buf(), Grant::Write, Origin::BoxTmp));
    }
}

/// The git layer's plan, and what it protects added to the filesystem plan.
fn git(fs: &mut FsPlan, inp: &Inputs, use_ns: bool) -> crate::gitmeta::GitPlan {
    let git = crate::gitmeta::plan(
        crate::gitmeta::discover::discover(&inp.workspace, Path::new(&inp.home)),
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
    git
}

/// The layers that depend on the kernel: environment (always), namespaces, Landlock's
/// features, seccomp, no-new-privs and capabilities. (The network layer is `net::plan`'s.)
fn kernel_layers(layers: &mut Layers, kernel: &Kernel, fs: &FsPlan, use_ns: bool, mode: NetMode) {
    layers.push(
        LayerId::Environment,
        true,
        String::new(),
        String::new(),
        true,
    );
    let unrestricted = mode == NetMode::Unrestricted;
    layers.push(
        LayerId::Namespaces,
        use_ns,
        format!(
            "user, mount, pid, ipc{} namespaces; private /tmp, /run masked; {} hidden, {} read-only paths",
            if unrestricted { "" } else { ", net (loopback only)" },
            fs.hidden.len(),
            fs.protect.len()
        ),
        kernel
            .user_namespaces_reason
            .clone()
            .unwrap_or_else(|| "user namespaces unavailable".into()),
        true,
    );
    for (id, min, what) in layers::LANDLOCK_FEATURES {
        let abi = kernel.landlock_abi;
        layers.push(
            *id,
            abi >= *min,
            format!("{what} (Landlock ABI {abi})"),
            format!("{what} needs Landlock ABI {min}, this kernel has {abi}"),
            true,
        );
    }
    // The network layer comes next, in `net::plan`; `process_layers` follows it.
}

/// The layers after the network one: seccomp, no-new-privs, capabilities.
fn process_layers(layers: &mut Layers, kernel: &Kernel, use_ns: bool, euid_root: bool) {
    layers.push(
        LayerId::Seccomp,
        kernel.seccomp,
        "deny list: ptrace, io_uring, keyctl, bpf, mount family, new user namespaces, TIOCSTI/TIOCLINUX, AF_VSOCK, ...".into(),
        "seccomp filters are unavailable".into(),
        true,
    );
    layers.push(
        LayerId::NoNewPrivs,
        true,
        "PR_SET_NO_NEW_PRIVS".into(),
        String::new(),
        true,
    );
    layers.push(
        LayerId::Capabilities,
        true,
        if use_ns || euid_root {
            "every set dropped: effective, permitted, inheritable, bounding, ambient".into()
        } else {
            "effective, permitted, inheritable and ambient dropped; bounding set kept (no user namespace to drop it in, harmless under no-new-privs)".into()
        },
        String::new(),
        true,
    );
}

/// Masked trees with the namespace layer: /tmp, /dev/shm, /run (and a separate /var/run),
/// `$XDG_RUNTIME_DIR` outside /run, and the home directory when nothing grants it whole.
fn namespaces(facts: &HostFacts, inp: &Inputs, fs: &FsPlan, use_ns: bool, mode: NetMode) -> NsPlan {
    let mut masked = Vec::new();
    let mut skeleton = Vec::new();
    if use_ns {
        masked.extend(["/tmp", "/dev/shm", "/run"].map(PathBuf::from));
        if facts.var_run_dir {
            masked.push(PathBuf::from("/var/run"));
        }
        if let Some(x) = facts.var("XDG_RUNTIME_DIR").map(PathBuf::from) {
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
    NsPlan {
        enabled: use_ns,
        net: use_ns && mode != NetMode::Unrestricted,
        masked,
        skeleton,
    }
}

/// The home directory to mask with an empty tmpfs, so that the box sees only what is granted
/// below it (hidden credentials cannot be listed, `stat`-ed or watched): not when the workspace
/// is home or holds it, when a rule grants home itself or an ancestor (the profile wants it
/// visible), or when it lies under another mask already.
fn maskable_home(
    home: &str,
    workspace: &Path,
    rules: &[Rule],
    masked: &[PathBuf],
) -> Option<PathBuf> {
    let h = std::fs::canonicalize(home).ok()?;
    if h == Path::new("/")
        || !h.is_dir()
        || h.starts_with(workspace)
        || masked.iter().any(|m| h.starts_with(m))
        || rules.iter().any(|r| h.starts_with(&r.path))
    {
        return None;
    }
    Some(h)
}

/// Resolve the command with the box's PATH, and grant read and execute on its installation
/// root (and its interpreter's) unless a rule already covers it or a denied path is there: it
/// must run however it was installed.
fn command(
    fs: &mut FsPlan,
    child_env: &ChildEnv,
    inp: &Inputs,
) -> (Option<PathBuf>, Option<command::CommandError>) {
    let exe = match command::resolve_command(&inp.program, child_env.get("PATH"), &inp.cwd) {
        Ok(p) => p,
        Err(e) => return (None, Some(e)),
    };
    let home = PathBuf::from(&inp.home);
    for r in command::install_roots(&exe, child_env.get("PATH"), &home) {
        let covered = fs
            .rules
            .iter()
            .any(|x| r.path.starts_with(&x.path) && x.access >= Grant::Exec);
        let denied = fs
            .deny
            .iter()
            .any(|d| r.path.starts_with(d) || d.starts_with(&r.path));
        if !covered && !denied {
            fs.rules.push(Rule {
                path: r.path.clone(),
                access: Grant::Exec,
                origin: Origin::Command { why: r.why },
            });
        }
    }
    (Some(exe), None)
}

/// A preset chosen for an agent's command that, with the preset's own PATH, resolves to
/// another file: refused rather than give that file the preset (fail closed, and say so).
fn preset_mismatch(inp: &Inputs, exe: Option<&Path>) -> Option<command::CommandError> {
    let command::ProfileChoice::AgentPreset { agent, reach } = &inp.profile_choice else {
        return None;
    };
    let exe = exe.map(|e| crate::profile::expand::normalize(&inp.cwd.join(e).to_string_lossy()));
    (exe.as_ref() != Some(&reach.found)).then(|| command::CommandError {
        code: crate::sandbox::EXIT_SETUP,
        message: format!(
            "the {} preset was chosen for {}, but in the box the command resolves elsewhere; run with -p to choose the profile",
            agent.name(),
            reach.found.display()
        ),
    })
}

/// What this run widens by flags, and the arguments the profile adds after the program.
fn widened(inp: &Inputs, p: &crate::profile::Profile) -> Vec<Widening> {
    let mut w: Vec<Widening> = (inp.allow_read.iter().cloned().map(Widening::AllowRead))
        .chain(inp.allow_write.iter().cloned().map(Widening::AllowWrite))
        .chain(inp.allow_env.iter().cloned().map(Widening::AllowEnv))
        .collect();
    let added = command::added_args(p, &inp.program, &inp.workspace);
    if !added.args.is_empty() || !added.left_out.is_empty() {
        w.push(Widening::AddedArguments {
            program: command::program_name(&inp.program),
            args: crate::report::redact_args(&added.args),
            left_out: crate::report::redact_args(&added.left_out),
        });
    }
    w
}

/// What this run adds to the profile: a command-line grant, or arguments the profile adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Widening {
    /// `--allow-read PATH`.
    AllowRead(PathBuf),
    /// `--allow-write PATH`.
    AllowWrite(PathBuf),
    /// `--allow-env NAME`.
    AllowEnv(String),
    /// `command_args.<program>` (values redacted).
    AddedArguments {
        /// The program they follow.
        program: String,
        /// The arguments, redacted.
        args: Vec<String>,
        /// Entries left out: `${WORKSPACE}` would bring a quote, backslash or control
        /// character into them.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        left_out: Vec<String>,
    },
}

impl std::fmt::Display for Widening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Widening::AllowRead(p) => write!(f, "--allow-read {}", p.display()),
            Widening::AllowWrite(p) => write!(f, "--allow-write {}", p.display()),
            Widening::AllowEnv(n) => write!(f, "--allow-env {n}"),
            Widening::AddedArguments {
                program,
                args,
                left_out,
            } => {
                write!(
                    f,
                    "arguments added by the profile after `{program}`: {}",
                    args.join(" ")
                )?;
                if !left_out.is_empty() {
                    write!(
                        f,
                        " (left out, the workspace path holds a quote, backslash or control character: {})",
                        left_out.join(" ")
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl Plan {
    /// Name what the seccomp filter denies, from the filter actually built (the reasons live
    /// in the seccomp module's table).
    pub fn describe_seccomp(&mut self, f: &crate::sandbox::seccomp::Filter) {
        if let Some(l) = self
            .layers
            .iter_mut()
            .find(|l| l.id == LayerId::Seccomp && l.status == Status::Applied)
        {
            l.detail = f
                .summary()
                .iter()
                .map(|line| line.split(": ").next().unwrap_or(line).to_string())
                .collect::<Vec<_>>()
                .join("; ");
        }
    }

    /// Is this layer applied?
    pub fn applied(&self, id: LayerId) -> bool {
        self.layers
            .iter()
            .any(|l| l.id == id && l.status == Status::Applied)
    }
}

#[cfg(test)]
mod tests;
