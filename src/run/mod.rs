//! `agentbox run`: profile -> plan -> launch -> post-run work -> report. The driver of the
//! pipeline; every decision is the plan's (`crate::plan`), every application the sandbox's
//! (`crate::sandbox`), and what happens around the box the supervisor's (`crate::supervise`).

mod creds;
mod services;
pub mod workspace;

use crate::net::policy::NetMode;
use crate::plan::{self, HostFacts, Inputs, LayerId, Plan};
use crate::profile::{self, Resolved};
use crate::report::out::{die, say};
use crate::sandbox::spec::Prepared;
use crate::sandbox::{Stage, EXIT_SETUP};
use crate::supervise::launch::Outcome;
use services::Services;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use workspace::{default_workspace, git_top, unsafe_default_workspace};

/// What `agentbox run` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `-p`: profile name or path (without it: the agent's preset or `default`).
    pub profile: Option<String>,
    /// `-w`.
    pub workspace: Option<PathBuf>,
    /// `--allow-read`.
    pub allow_read: Vec<PathBuf>,
    /// `--allow-write`.
    pub allow_write: Vec<PathBuf>,
    /// `--allow-env`.
    pub allow_env: Vec<String>,
    /// `--allow-host`.
    pub allow_host: Vec<String>,
    /// `--credential NAME[=HOST,...]`.
    pub credentials: Vec<String>,
    /// `--redact-output`.
    pub redact_output: bool,
    /// `--report FILE`.
    pub report: Option<PathBuf>,
    /// Which refused filesystem accesses the denial observer names (writes and exec by default,
    /// everything with `--report-denials`, nothing with `--no-report-denials`).
    pub observe: crate::supervise::observe::Observe,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--json` (with `--dry-run`).
    pub json: bool,
    /// `--best-effort`.
    pub best_effort: bool,
    /// `--simulate-kernel`.
    pub simulate_kernel: Option<String>,
    /// The command and its arguments.
    pub command: Vec<OsString>,
    /// `-v` count.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
}

/// `agentbox run`.
pub fn run(o: &RunOptions) -> ExitCode {
    // First: a SIGTERM during start-up must neither kill agentbox (skipping the restore) nor be
    // lost; the forwarder hands it to the box once the box exists.
    crate::supervise::signals::block();
    match run_inner(o) {
        Ok(c) => c,
        Err(e) => die(format!("{e:#}")),
    }
}

/// One run's fixed context.
struct Ctx<'a> {
    o: &'a RunOptions,
    resolved: Resolved,
    cwd: PathBuf,
    /// The command with the profile's `command_args` in place.
    argv: Vec<OsString>,
    t0: std::time::Instant,
    started: std::time::SystemTime,
}

/// What one launch attempt ended in.
enum Step {
    Done(ExitCode),
    /// A container or security policy refused the user namespace the cheap probe allowed.
    RetryWithoutUserNamespaces(crate::sandbox::SetupError),
}

fn run_inner(o: &RunOptions) -> anyhow::Result<ExitCode> {
    // Our own environment still holds the secrets: nothing in the box may read our memory.
    crate::sandbox::harden::make_undumpable()?;
    let t0 = std::time::Instant::now();
    crate::timing::mark("run");
    let started = std::time::SystemTime::now();
    let cwd = std::env::current_dir()?;
    let ws = match workspace::choose(o.workspace.as_deref(), &cwd) {
        Ok(w) => w,
        Err(e) => return Ok(die(e)),
    };
    // Without -p a known agent gets its preset, unless the repository provides it.
    let program = o.command.first().map(|a| a.to_string_lossy().into_owned());
    let path_var = std::env::var_os("PATH");
    let choice = plan::command::choose_profile(
        o.profile.is_some(),
        program.as_deref().unwrap_or_default(),
        path_var.as_deref(),
        &cwd,
        &ws,
    );
    crate::timing::mark("profile chosen");
    let resolved = match profile::resolve(&choice.profile_name(o.profile.as_deref())) {
        Ok(r) => r,
        Err(e) => return Ok(die(e)),
    };
    let sim: plan::host::Simulation = match &o.simulate_kernel {
        Some(s) => match s.parse() {
            Ok(x) => x,
            Err(e) => return Ok(die(format!("--simulate-kernel: {e}"))),
        },
        None => Default::default(),
    };
    crate::timing::mark("profile resolved");
    // What a killed agentbox left undone in this workspace is finished first.
    let recovered = crate::supervise::after::recover(&ws, Path::new(&workspace::home()));
    crate::supervise::after::print_recovered(&recovered);
    crate::timing::mark("recovered");
    // A profile inside the workspace is writable by the agent: it may only narrow.
    let widened = profile::load::workspace_widening(&resolved, &ws);
    if !widened.is_empty() {
        say("refusing a profile inside the workspace that widens access (the agent could have written it):");
        for w in &widened {
            say(format_args!("  {w}"));
        }
        return Ok(ExitCode::from(EXIT_SETUP));
    }
    let mut kernel = plan::host::probe(&sim, o.dry_run);
    crate::timing::mark("probed");
    let argv = with_profile_args(&resolved, &o.command, &ws);
    let mut inputs = inputs(o, &ws, &cwd, &argv, choice)?;
    crate::timing::mark("inputs");
    let ctx = Ctx {
        o,
        resolved,
        cwd,
        argv,
        t0,
        started,
    };
    let mut host_listener: Option<std::net::TcpListener> = None;
    let mut retried = false;
    loop {
        let facts = HostFacts::gather(kernel.clone());
        crate::timing::mark("facts");
        let (mut plan, mut child_env) = match plan::build(&ctx.resolved, &facts, &inputs) {
            Ok(x) => x,
            Err(e) => {
                let name = crate::scrub::shown(&ctx.resolved.name);
                return Ok(die(format!("profile {name}: {e}")));
            }
        };
        crate::timing::mark("planned");
        if plan.network.mode == NetMode::Allowlist
            && !plan.namespaces.enabled
            && !o.dry_run
            && host_listener.is_none()
        {
            // No namespace to hide the proxy in: listen on the host's loopback and demand a
            // per-run credential, since other local processes can reach the port too.
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            inputs.host_proxy = Some((l.local_addr()?.port(), random_token()?));
            host_listener = Some(l);
            continue;
        }
        if o.dry_run {
            return print_plan(&mut plan, o);
        }
        if let Some(code) = refused(&ctx, &plan, &inputs) {
            return Ok(code);
        }
        let creds = match creds::prepare(&plan, &mut child_env) {
            Ok(c) => c,
            Err(e) => return Ok(die(format!("{e:#}"))),
        };
        let host_proxy = host_listener
            .take()
            .zip(inputs.host_proxy.as_ref().map(|x| x.1.clone()));
        match launch_once(&ctx, &mut plan, &child_env, &inputs, (host_proxy, creds))? {
            Step::Done(code) => return Ok(code),
            Step::RetryWithoutUserNamespaces(e) if !retried && kernel.user_namespaces => {
                retried = true;
                kernel.user_namespaces = false;
                kernel.user_namespaces_reason = Some(format!("the kernel refused: {e}"));
                if !o.quiet {
                    say(format_args!(
                        "user namespaces unavailable ({e}); planning without them"
                    ));
                }
            }
            Step::RetryWithoutUserNamespaces(e) => {
                say(format_args!("sandbox set-up failed: {e}"));
                return Ok(ExitCode::from(EXIT_SETUP));
            }
        }
    }
}

/// The command with the arguments the profile adds after the program's name (an agent's own
/// sandbox off, `command_args`).
fn with_profile_args(resolved: &Resolved, command: &[OsString], ws: &Path) -> Vec<OsString> {
    let mut argv = command.to_vec();
    let program = argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let added = plan::command::added_args(&resolved.profile, &program, ws);
    if !added.args.is_empty() {
        argv.splice(1..1, added.args.iter().map(OsString::from));
    }
    argv
}

/// The planner's inputs from the options.
fn inputs(
    o: &RunOptions,
    ws: &Path,
    cwd: &Path,
    argv: &[OsString],
    profile_choice: plan::command::ProfileChoice,
) -> anyhow::Result<Inputs> {
    let command: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (allow_read, _) =
        workspace::extra_paths(&o.allow_read, cwd, false).map_err(anyhow::Error::msg)?;
    let (allow_write, create_for_run) =
        workspace::extra_paths(&o.allow_write, cwd, true).map_err(anyhow::Error::msg)?;
    let personal_allow = personal_allow(ws, &allow_write);
    Ok(Inputs {
        workspace: ws.to_path_buf(),
        home: workspace::home(),
        // The plan is printed and reported: arguments that look like secrets are redacted
        // there (the command still runs with the real ones).
        command: crate::report::redact_args(&command),
        program: o
            .command
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default(),
        cwd: cwd.to_path_buf(),
        allow_read,
        allow_write,
        create_for_run,
        allow_env: o.allow_env.clone(),
        best_effort: o.best_effort,
        host_tmpdir: workspace::host_tmpdir()?,
        allow_host: o.allow_host.clone(),
        host_proxy: None,
        credentials: o.credentials.clone(),
        profile_choice,
        personal_allow,
    })
}

/// The person's allow-list file (`detect::personal`), read here for the planner; never one
/// the box could write (in the workspace or an `--allow-write` directory).
fn personal_allow(ws: &Path, allow_write: &[PathBuf]) -> crate::detect::personal::Source {
    use crate::detect::personal;
    let var = |k: &str| std::env::var(k).ok();
    let writable: Vec<&Path> = std::iter::once(ws)
        .chain(allow_write.iter().map(PathBuf::as_path))
        .collect();
    let at = personal::locate(
        var("XDG_CONFIG_HOME").as_deref(),
        var("HOME").as_deref(),
        &writable,
    );
    personal::Source::read(at)
}

/// `--dry-run`: the plan, as text or JSON (masked like any output); 125 when it would be refused.
fn print_plan(plan: &mut Plan, o: &RunOptions) -> anyhow::Result<ExitCode> {
    if plan.applied(LayerId::Seccomp) {
        plan.describe_seccomp(&crate::sandbox::seccomp::build(&plan.seccomp)?);
    }
    if o.json {
        let json = serde_json::to_string_pretty(&plan)?;
        outln!("{}", crate::scrub::text(&json));
    } else {
        out!("{}", crate::scrub::text(&plan.render(o.verbose)));
    }
    Ok(ExitCode::from(if plan.refusals.is_empty() {
        0
    } else {
        EXIT_SETUP
    }))
}

/// A launch the plan refuses, or a command that cannot run: said, recorded, its exit status.
fn refused(ctx: &Ctx, plan: &Plan, inputs: &Inputs) -> Option<ExitCode> {
    if !plan.refusals.is_empty() {
        for r in &plan.refusals {
            say(format_args!("refusing to launch: {r}"));
        }
        let exit = crate::report::ExitInfo {
            code: EXIT_SETUP,
            signal: None,
            outcome: "refused",
        };
        let rep = crate::report::build(
            plan,
            crate::report::profile_hash(&ctx.resolved.profile),
            ctx.started,
            ctx.t0.elapsed(),
            &[],
            crate::supervise::observe::Observe::Off,
            &[],
            &[],
            exit,
        );
        write_records(&rep, ctx, inputs);
        return Some(ExitCode::from(EXIT_SETUP));
    }
    if let Some(e) = &plan.command_error {
        say(&e.message);
        return Some(ExitCode::from(e.code));
    }
    None
}

/// One launch: the post-run work prepared, the box run with its services, undone and merged
/// after it, reported.
fn launch_once(
    ctx: &Ctx,
    plan: &mut Plan,
    child_env: &plan::env::ChildEnv,
    inputs: &Inputs,
    (host_proxy, creds): (Option<(std::net::TcpListener, String)>, creds::Creds),
) -> anyhow::Result<Step> {
    let o = ctx.o;
    if o.verbose > 0 {
        for m in &plan.filesystem.missing {
            tracing::info!("skipped (does not exist): {m}");
        }
    }
    if !o.quiet {
        errln!("{}", crate::scrub::text(&plan.status_line()));
    }
    create_state_dirs(plan);
    let made = workspace::create_for_run(&plan.filesystem.create_for_run);
    let host_tmp = (!plan.namespaces.enabled).then(|| plan.tmpdir.clone());
    if host_tmp.is_some() {
        crate::supervise::after::print_recovered(&crate::supervise::after::sweep_tmp_litter());
    }
    // Everything the run must undo afterwards, prepared now: the snapshot of protected
    // paths, the git views' launch state, the box's cgroup, the crash journal (which names
    // the host temp dir before it exists: a kill in between leaves nothing behind).
    let mut after =
        crate::supervise::after::AfterRun::begin(plan, Path::new(&inputs.home), host_tmp.clone())?;
    if let Some(t) = &host_tmp {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(t)?;
    }
    crate::timing::mark("after-run state");
    let rules =
        plan::net_rules(&ctx.resolved.profile, &o.allow_host).map_err(anyhow::Error::msg)?;
    let broker = plan.network.connect_broker.then(|| {
        crate::net::broker::prepare(crate::net::broker::Policy {
            proxy_port: plan.network.host_proxy_port,
            local: rules.local.clone(),
        })
    });
    let (install, pending) = match broker {
        Some((i, p)) => (Some(i), Some(p)),
        None => (None, None),
    };
    let has_proxy = plan.network.mode == NetMode::Allowlist;
    if o.redact_output {
        // The person's false positives stay visible in the box's output too (the plan read
        // and checked the file already).
        if let Ok(Some(a)) = inputs.personal_allow.load() {
            let engine = crate::detect::Engine::builtin();
            engine.allow_values(a.values());
            engine.allow_patterns(a.patterns())?;
        }
    }
    let mut services = Services::new(
        rules,
        has_proxy,
        host_proxy,
        pending,
        o.redact_output,
        child_env.removed_values.clone(),
        creds.injector,
    )?;
    crate::timing::mark("services");
    let mut prep = prepare(o.observe, plan, child_env, &ctx.argv, &ctx.cwd)?;
    crate::timing::mark("prepared");
    for (path, bytes) in creds.box_files {
        prep.box_files.push((
            crate::sandbox::spec::cstr(path.as_os_str().as_bytes(), "the CA bundle path")?,
            bytes,
        ));
    }
    if let Some(f) = &prep.seccomp {
        plan.describe_seccomp(f);
    }
    prep.broker = install;
    prep.stdio = services.stdio();
    prep.cgroup_procs = after.cgroup_procs();
    let result = {
        let git_session = after.git();
        let mut on_views = |fds: Vec<std::os::fd::OwnedFd>| git_session.on_views(fds);
        let services = std::sync::Mutex::new(&mut services);
        let mut after_fork = || services.lock().map(|mut s| s.after_fork()).unwrap_or(());
        let mut on_listeners = |fds: Vec<std::os::fd::OwnedFd>| {
            if let Ok(mut s) = services.lock() {
                s.on_listeners(fds);
            }
        };
        let mut on_resolver = |fds: Vec<std::os::fd::OwnedFd>| {
            if let Ok(mut s) = services.lock() {
                s.on_resolver(fds);
            }
        };
        crate::supervise::launch::launch(
            &prep,
            &mut after_fork,
            &mut on_listeners,
            &mut on_views,
            &mut on_resolver,
        )
    };
    crate::supervise::failpoint("after-launch");
    crate::timing::mark("box ended");
    let stopped = services.stop();
    crate::timing::mark("services stopped");
    let step = finish(ctx, plan, inputs, after, result, stopped);
    crate::timing::mark("finished");
    workspace::remove_if_empty(&made);
    step
}

/// The agents' state directories a profile names, and the configuration files that must exist
/// for the box to write them, created before the launch (Landlock needs them to exist; the
/// files hold their kind's empty document, and are never created through a symlink).
fn create_state_dirs(plan: &Plan) {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    for d in &plan.filesystem.create {
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(d)
        {
            tracing::warn!("cannot create {}: {e}", d.display());
        }
    }
    for c in plan.filesystem.agent_config.iter().filter(|c| c.create) {
        let made = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&c.path)
            .and_then(|mut f| {
                use std::io::Write;
                f.write_all(c.kind.initial().unwrap_or_default())
            });
        if let Err(e) = made {
            tracing::warn!("cannot create {}: {e}", c.path.display());
        }
    }
}

/// After the box: the denial summary, the post-run work, the exit status, the report.
fn finish(
    ctx: &Ctx,
    plan: &Plan,
    inputs: &Inputs,
    after: crate::supervise::after::AfterRun,
    result: anyhow::Result<(Outcome, Option<crate::supervise::observe::Observer>)>,
    stopped: services::Stopped,
) -> anyhow::Result<Step> {
    let o = ctx.o;
    let has_proxy = plan.network.mode == NetMode::Allowlist;
    let (outcome, observer) = match result {
        Ok((out, obs)) => (Ok(out), obs),
        Err(e) => (Err(e), None),
    };
    let mut net_denials = crate::report::net_denials(&stopped.decisions);
    net_denials.extend(crate::report::broker_denials(
        &stopped.brokered.refused,
        has_proxy,
    ));
    net_denials.extend(crate::report::dns_denials(
        &stopped.looked_up,
        plan.network.mode,
    ));
    let fs_denials: Vec<crate::report::FsDenial> = observer
        .as_ref()
        .map(|ob| crate::report::denials::named(ob, plan, Path::new(&inputs.home)))
        .unwrap_or_default();
    let mut connect_failures: Vec<String> = observer
        .as_ref()
        .map(|ob| ob.connects.keys().map(|a| a.to_string()).collect())
        .unwrap_or_default();
    // The broker's refusals: the observer no longer sees connects (USER_NOTIF wins over its
    // TRACE), and `learn` finds local services among these.
    connect_failures.extend(stopped.brokered.refused.keys().map(|a| a.to_string()));
    if !o.quiet {
        crate::report::print_summary(&fs_denials, &net_denials);
        crate::report::print_credentials(&stopped.decisions, o.verbose > 0);
        let failed = matches!(&outcome, Ok(Outcome::Exited(ws))
            if crate::supervise::launch::exit_code(*ws) != 0);
        if failed {
            crate::report::print_untraced_hint(o.observe);
        }
    }
    // Every process of the box is dead (launch returns only then): undo, merge, audit.
    let summary = after.finish();
    crate::supervise::after::print(&summary, o.quiet);
    let outcome = outcome?;
    if let Outcome::SetupFailed(e) = &outcome {
        if e.stage == Stage::Unshare {
            return Ok(Step::RetryWithoutUserNamespaces(e.clone()));
        }
    }
    let program = ctx.argv[0].to_string_lossy().into_owned();
    let (code, outcome_name, signal) = match outcome {
        Outcome::Exited(ws) => {
            let sig = libc::WIFSIGNALED(ws).then(|| libc::WTERMSIG(ws));
            let name = if sig.is_some() { "killed" } else { "exited" };
            (crate::supervise::launch::exit_code(ws), name, sig)
        }
        Outcome::SetupFailed(e) => {
            say(format_args!("sandbox set-up failed: {e}"));
            (EXIT_SETUP, "setup_failed", None)
        }
        Outcome::ExecFailed(errno) => {
            let (c, m) = crate::supervise::launch::exec_error(errno, &program);
            say(m);
            (c, "exec_failed", None)
        }
    };
    let mut rep = crate::report::build(
        plan,
        crate::report::profile_hash(&ctx.resolved.profile),
        ctx.started,
        ctx.t0.elapsed(),
        &fs_denials,
        o.observe,
        &net_denials,
        &stopped.decisions,
        crate::report::ExitInfo {
            code,
            signal,
            outcome: outcome_name,
        },
    );
    rep.connect_failures = connect_failures;
    write_records(&rep, ctx, inputs);
    Ok(Step::Done(ExitCode::from(code)))
}

/// 128 bits from getrandom(2), hex: the per-run proxy credential (a failure refuses the launch,
/// never an all-zero token).
fn random_token() -> anyhow::Result<String> {
    crate::supervise::journal::run_id()
        .map_err(|e| anyhow::anyhow!("no random bytes from getrandom: {e}"))
}

/// Write `--report FILE` and append to the audit trail; failures are warnings, never fatal.
fn write_records(rep: &crate::report::RunReport, ctx: &Ctx, inputs: &Inputs) {
    if let Some(path) = &ctx.o.report {
        let r = serde_json::to_string_pretty(rep)
            .map_err(std::io::Error::other)
            .and_then(|s| std::fs::write(path, s + "\n"));
        if let Err(e) = r {
            say(format_args!("cannot write report {}: {e}", path.display()));
        }
    }
    let audit = ctx.resolved.profile.audit.as_deref();
    if let Some(path) = crate::report::audit_path(audit, &inputs.home) {
        if let Err(e) = crate::report::append_audit(&path, rep) {
            tracing::warn!("audit trail {}: {e}", path.display());
        }
    }
}

/// The child's inputs from the plan's launch spec: C strings and compiled filters, built
/// before fork so the child only makes system calls. Nothing is decided here.
fn prepare(
    observe: crate::supervise::observe::Observe,
    plan: &Plan,
    env: &plan::env::ChildEnv,
    argv: &[OsString],
    cwd: &Path,
) -> anyhow::Result<Prepared> {
    use crate::sandbox::spec::cstr;
    let exec_path = plan
        .executable
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no executable to run"))?;
    let argv = argv
        .iter()
        .map(|a| cstr(a.as_bytes(), "an argument"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let l = &plan.launch;
    Ok(Prepared {
        exec_path: cstr(exec_path.as_os_str().as_bytes(), "the command path")?,
        argv,
        envp: crate::sandbox::spec::envp(&env.vars)?,
        cwd: cwd.to_path_buf(),
        ns: l.namespaces.clone(),
        landlock: l.landlock.clone(),
        stdio: None,
        trace: crate::supervise::observe::trace_filter(observe)?,
        seccomp: match &l.seccomp {
            Some(s) => Some(crate::sandbox::seccomp::build(s)?),
            None => None,
        },
        listen_inside: l.listen_inside.clone(),
        cgroup_procs: None,
        require_empty_bounding: l.require_empty_bounding,
        uid: nix::unistd::getuid().as_raw(),
        gid: nix::unistd::getgid().as_raw(),
        broker: None,
        terminal: l.terminal,
        resolver: l.resolver.as_ref().map(|r| r.address),
        box_files: Vec::new(),
    })
}
