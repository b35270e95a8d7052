//! The `run` and `profile` subcommands: profile -> plan -> launch -> exit status.

use crate::cli::{die, say, ProfileCmd, RunArgs};
use crate::plan::{self, Inputs, Plan};
use crate::profile::{self, ProfileError};
use crate::sandbox::child::{Outcome, Prepared, EXIT_SETUP};
use crate::sandbox::mounts::NsSpec;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

fn home() -> String {
    std::env::var("HOME")
        .ok()
        .filter(|h| h.starts_with('/'))
        .or_else(|| crate::user::lookup(nix::unistd::getuid().as_raw()).map(|u| u.1))
        .unwrap_or_else(|| "/nonexistent".into())
}

/// The box's temp dir on the host (used without the namespace layer): `agentbox-<pid>-<hex>`,
/// the shape the next agentbox sweeps when this one is killed.
fn host_tmpdir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    let tag = crate::supervise::journal::run_id()
        .map_err(|e| anyhow::anyhow!("no random bytes from getrandom: {e}"))?;
    Ok(base.join(format!("agentbox-{}-{}", std::process::id(), &tag[..12])))
}

fn abs(p: &Path, cwd: &Path) -> PathBuf {
    let s = crate::profile::expand::tilde(&p.to_string_lossy());
    let p = PathBuf::from(s);
    let p = if p.is_absolute() { p } else { cwd.join(p) };
    std::fs::canonicalize(&p)
        .unwrap_or_else(|_| crate::profile::expand::normalize(&p.to_string_lossy()))
}

/// `agentbox run`.
pub fn run(args: &RunArgs, verbose: u8, quiet: bool) -> ExitCode {
    // First: a SIGTERM during start-up must neither kill agentbox (skipping the restore) nor be
    // lost; the forwarder hands it to the box once the box exists.
    crate::supervise::signals::block();
    match run_inner(args, verbose, quiet) {
        Ok(c) => c,
        Err(e) => die(format!("{e:#}")),
    }
}

fn run_inner(args: &RunArgs, verbose: u8, quiet: bool) -> anyhow::Result<ExitCode> {
    // Our own environment still holds the secrets: nothing in the box may read our memory.
    crate::sandbox::harden::make_undumpable()?;
    let t0 = std::time::Instant::now();
    let started = std::time::SystemTime::now();
    let resolved = match profile::resolve(&args.profile) {
        Ok(r) => r,
        Err(e) => return Ok(die(e)),
    };
    let cwd = std::env::current_dir()?;
    let workspace = match &args.workspace {
        Some(w) => {
            let w = abs(w, &cwd);
            if !w.is_dir() {
                return Ok(die(format!("workspace {} is not a directory", w.display())));
            }
            w
        }
        None => {
            let ws = default_workspace(&std::fs::canonicalize(&cwd).unwrap_or(cwd.clone()));
            let h = std::fs::canonicalize(home()).unwrap_or_else(|_| PathBuf::from(home()));
            if let Some(why) = unsafe_default_workspace(&ws, &h) {
                return Ok(die(format!("refusing to start: {why}")));
            }
            ws
        }
    };
    let sim: crate::plan::host::Simulation = match &args.simulate_kernel {
        Some(s) => match s.parse() {
            Ok(x) => x,
            Err(e) => return Ok(die(format!("--simulate-kernel: {e}"))),
        },
        None => Default::default(),
    };
    tracing::debug!("profile resolved in {:?}", t0.elapsed());
    // What a killed agentbox left undone in this workspace is finished first.
    let recovered = crate::supervise::after::recover(&workspace, Path::new(&home()));
    if !quiet || !recovered.is_empty() {
        crate::supervise::after::print_recovered(&recovered);
    }
    let mut kernel = crate::plan::host::probe(&sim, args.dry_run);
    tracing::debug!("kernel probed at {:?}", t0.elapsed());
    // A profile may add arguments after a program's name (an agent's own sandbox off).
    let mut argv: Vec<std::ffi::OsString> = args.command.clone();
    let prog = Path::new(&argv[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let added: Vec<String> = resolved
        .profile
        .command_args
        .get(&prog)
        .cloned()
        .unwrap_or_default();
    if !added.is_empty() {
        argv.splice(1..1, added.iter().map(std::ffi::OsString::from));
    }
    let command: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let inputs = Inputs {
        workspace: workspace.clone(),
        home: home(),
        // The plan is printed and reported: arguments that look like secrets are redacted
        // there (the command still runs with the real ones).
        command: crate::report::redact_args(&command),
        allow_read: args.allow_read.iter().map(|p| abs(p, &cwd)).collect(),
        allow_write: args.allow_write.iter().map(|p| abs(p, &cwd)).collect(),
        allow_env: args.allow_env.clone(),
        best_effort: args.best_effort,
        host_tmpdir: host_tmpdir()?,
        allow_host: args.allow_host.clone(),
        host_proxy: None,
    };
    let mut inputs = inputs;
    // A profile inside the workspace is writable by the agent: it may only narrow.
    let widened = profile::load::workspace_widening(&resolved, &workspace);
    if !widened.is_empty() {
        say("refusing a profile inside the workspace that widens access (the agent could have written it):");
        for w in &widened {
            say(format_args!("  {w}"));
        }
        return Ok(ExitCode::from(EXIT_SETUP));
    }
    let mut host_listener: Option<std::net::TcpListener> = None;
    let mut retried = false;
    loop {
        let (mut plan, child_env) = match plan::build(&resolved, &kernel, &inputs) {
            Ok(x) => x,
            Err(e) => {
                let name = crate::scrub::shown(&resolved.name);
                return Ok(die(format!("profile {name}: {e}")));
            }
        };
        if plan.network.mode == "allowlist"
            && !plan.namespaces.enabled
            && !args.dry_run
            && host_listener.is_none()
        {
            // No namespace to hide the proxy in: listen on the host's loopback and demand a
            // per-run credential, since other local processes can reach the port too.
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            let port = l.local_addr()?.port();
            inputs.host_proxy = Some((port, random_token()?));
            host_listener = Some(l);
            continue;
        }
        tracing::debug!("plan built at {:?}", t0.elapsed());
        let resolved_cmd =
            crate::sandbox::child::resolve_command(&command[0], child_env.get("PATH"), &cwd);
        if !added.is_empty() {
            plan.widened.push(format!(
                "arguments added by the profile after `{prog}`: {}",
                // Shown in the plan and kept in the report: redacted like the command.
                crate::report::redact_args(&added).join(" ")
            ));
        }
        if let Ok(p) = &resolved_cmd {
            plan.executable = Some(p.clone());
            // The command must be runnable however it was installed: grant read+exec on its
            // installation root (and its interpreter's) unless a rule already covers it.
            let home = PathBuf::from(&inputs.home);
            for r in crate::plan::command::install_roots(p, child_env.get("PATH"), &home) {
                let covered = plan.filesystem.rules.iter().any(|x| {
                    r.path.starts_with(&x.path) && x.access >= crate::plan::fs::Grant::Exec
                });
                let denied = plan
                    .filesystem
                    .deny
                    .iter()
                    .any(|d| r.path.starts_with(d) || d.starts_with(&r.path));
                if !covered && !denied {
                    plan.filesystem.rules.push(crate::plan::fs::Rule {
                        path: r.path.clone(),
                        access: crate::plan::fs::Grant::Exec,
                        origin: format!("command: {}", r.why),
                    });
                }
            }
        }
        if args.dry_run {
            if plan.applied("seccomp") {
                plan.describe_seccomp(&crate::sandbox::seccomp::build(&plan.seccomp)?);
            }
            // The plan quotes the profile's values (paths, hosts): masked like any output.
            if args.json {
                let json = serde_json::to_string_pretty(&plan)?;
                outln!("{}", crate::scrub::text(&json));
            } else {
                out!("{}", crate::scrub::text(&plan.render(verbose)));
            }
            return Ok(ExitCode::from(if plan.refusals.is_empty() {
                0
            } else {
                EXIT_SETUP
            }));
        }
        if !plan.refusals.is_empty() {
            for r in &plan.refusals {
                say(format_args!("refusing to launch: {r}"));
            }
            let rep = crate::report::build(
                &plan,
                crate::report::profile_hash(&resolved.profile),
                started,
                t0.elapsed(),
                &[],
                false,
                &[],
                &[],
                crate::report::ExitInfo {
                    code: EXIT_SETUP,
                    signal: None,
                    outcome: "refused",
                },
            );
            write_records(
                &rep,
                args.report.as_deref(),
                resolved.profile.audit.as_deref(),
                &inputs.home,
            );
            return Ok(ExitCode::from(EXIT_SETUP));
        }
        let exec_path = match resolved_cmd {
            Ok(p) => p,
            Err(e) => {
                say(&e.message);
                return Ok(ExitCode::from(e.code));
            }
        };
        if verbose > 0 {
            for m in &plan.filesystem.missing {
                tracing::info!("skipped (does not exist): {m}");
            }
        }
        if !quiet {
            errln!("{}", crate::scrub::text(&plan.status_line()));
        }
        for d in &plan.filesystem.create {
            use std::os::unix::fs::DirBuilderExt;
            if let Err(e) = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(d)
            {
                tracing::warn!("cannot create {}: {e}", d.display());
            }
        }
        let host_tmp = (!plan.namespaces.enabled).then(|| plan.tmpdir.clone());
        if let Some(t) = &host_tmp {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().mode(0o700).create(t)?;
        }
        // Everything the run must undo afterwards, prepared now: the snapshot of protected
        // paths, the git views' launch state, the box's cgroup, the crash journal.
        let mut after = crate::supervise::after::AfterRun::begin(
            &plan,
            Path::new(&inputs.home),
            host_tmp.clone(),
        )?;
        let mut prep_slot = prepare(
            !args.no_report_denials,
            &plan,
            &child_env,
            &exec_path,
            &argv,
            &cwd,
        );
        if let Ok(Prepared {
            seccomp: Some(f), ..
        }) = &prep_slot
        {
            plan.describe_seccomp(f);
        }
        tracing::debug!("prepared at {:?}", t0.elapsed());
        let rules =
            plan::net_rules(&resolved.profile, &args.allow_host).map_err(anyhow::Error::msg)?;
        // --- connect broker (net::broker): the box's TCP connects, made by the supervisor ---
        let mut broker_pending = None;
        if plan.network.connect_broker {
            if let Ok(p) = &mut prep_slot {
                let (install, pending) = crate::net::broker::prepare(crate::net::broker::Policy {
                    proxy_port: inputs.host_proxy.as_ref().map(|x| x.0),
                    local: rules.local.clone(),
                });
                p.broker = Some(install);
                broker_pending = Some(pending);
            }
        }
        let mut broker: Option<crate::net::broker::Handle> = None;
        // --- end connect broker ---
        let mut proxy: Option<crate::net::proxy::ProxyHandle> = None;
        let mut proxy_ns: Option<crate::net::proxy::ProxyHandle> = None;
        let mut forwards = Vec::new();
        let mk_cfg = |token: Option<String>| {
            let mut cfg = crate::net::proxy::ProxyConfig::new(crate::net::policy::Allowlist::new(
                rules.hosts.clone(),
            ));
            cfg.token = token;
            cfg
        };
        let token = inputs.host_proxy.as_ref().map(|x| x.1.clone());
        let has_proxy = plan.network.mode == "allowlist";
        let mut pumps: Vec<std::thread::JoinHandle<()>> = Vec::new();
        let mut pump_ends = if args.redact_output {
            Some((pipe()?, pipe()?))
        } else {
            None
        };
        if let (Ok(p), Some(((_, ow), (_, ew)))) = (&mut prep_slot, &pump_ends) {
            p.stdio = Some((ow.as_raw_fd(), ew.as_raw_fd()));
        }
        let removed_values = child_env.removed_values.clone();
        let mut after_fork = || {
            if let Some(((or, ow), (er, ew))) = pump_ends.take() {
                drop((ow, ew));
                for (r, to_stderr) in [(or, false), (er, true)] {
                    let red = crate::redact::Redactor::new(
                        crate::detect::Engine::builtin(),
                        removed_values.clone(),
                    );
                    pumps.push(std::thread::spawn(move || {
                        let reader = std::fs::File::from(r);
                        let res = if to_stderr {
                            crate::redact::pump(reader, std::io::stderr(), red)
                        } else {
                            crate::redact::pump(reader, std::io::stdout(), red)
                        };
                        if let Err(e) = res {
                            tracing::debug!("output redaction: {e}");
                        }
                    }));
                }
            }
            // Threads only after fork: the child must not inherit half-held locks.
            if let Some(p) = broker_pending.take() {
                match p.start() {
                    Ok(h) => broker = Some(h),
                    // The box's listener is then dropped on arrival: its TCP connects fail.
                    Err(e) => tracing::error!("connect broker: {e}"),
                }
            }
            if let Some(l) = host_listener.take() {
                match crate::net::proxy::serve(l, mk_cfg(token.clone())) {
                    Ok(h) => proxy = Some(h),
                    Err(e) => tracing::error!("proxy: {e}"),
                }
            }
        };
        if let Ok(p) = &mut prep_slot {
            p.cgroup_procs = after.cgroup_procs();
        }
        let git_session = after.git();
        let mut on_views = |fds: Vec<std::os::fd::OwnedFd>| git_session.on_views(fds);
        let mut on_listeners = |fds: Vec<std::os::fd::OwnedFd>| {
            let mut it = fds.into_iter();
            if let Some(fd) = if has_proxy { it.next() } else { None } {
                match crate::net::proxy::serve(std::net::TcpListener::from(fd), mk_cfg(None)) {
                    Ok(h) => proxy_ns = Some(h),
                    Err(e) => tracing::error!("proxy: {e}"),
                }
            }
            for (fd, target) in it.zip(rules.local.iter()) {
                match crate::net::forward::forward(std::net::TcpListener::from(fd), *target) {
                    Ok(h) => forwards.push(h),
                    Err(e) => tracing::error!("forward to {target}: {e}"),
                }
            }
        };
        let (outcome, observer) = match prep_slot {
            Ok(p) => match crate::sandbox::child::launch(
                &p,
                &mut after_fork,
                &mut on_listeners,
                &mut on_views,
            ) {
                Ok((o, obs)) => (Ok(o), obs),
                Err(e) => (Err(e), None),
            },
            Err(e) => (Err(e), None),
        };
        tracing::debug!("box exited at {:?}", t0.elapsed());
        crate::supervise::failpoint("after-launch");
        for p in pumps {
            let _ = p.join();
        }
        let brokered = broker.map(|b| b.finish()).unwrap_or_default();
        let decisions: Vec<crate::net::proxy::Decision> = proxy
            .into_iter()
            .chain(proxy_ns)
            .flat_map(|h| h.finish())
            .collect();
        for f in forwards {
            let st = f.stats();
            tracing::debug!(
                "local service forward: {} connections, {} failed",
                st.connections,
                st.failed
            );
            f.shutdown();
        }
        let mut net_denials = crate::report::net_denials(&decisions);
        net_denials.extend(crate::report::broker_denials(&brokered.refused, has_proxy));
        let fs_denials: Vec<crate::report::FsDenial> = observer
            .as_ref()
            .map(|o| crate::supervise::observe::named(o, &plan, Path::new(&inputs.home)))
            .unwrap_or_default();
        let mut connect_failures: Vec<String> = observer
            .as_ref()
            .map(|o| o.connects.keys().map(|a| a.to_string()).collect())
            .unwrap_or_default();
        // The broker's refusals: the observer no longer sees connects (USER_NOTIF wins over
        // its TRACE), and `learn` finds local services among these.
        connect_failures.extend(brokered.refused.keys().map(|a| a.to_string()));
        if !quiet {
            crate::report::print_summary(&fs_denials, &net_denials);
        }
        // Every process of the box is dead (launch returns only then): undo, merge, audit.
        let summary = after.finish();
        crate::supervise::after::print(&summary, quiet);
        let outcome = outcome?;
        if let Outcome::SetupFailed(s) = &outcome {
            // A container or security policy refused the user namespace the cheap probe allowed:
            // plan again without it (the profile decides whether that is acceptable).
            if s.starts_with("namespaces: unshare") && !retried && kernel.user_namespaces {
                retried = true;
                kernel.user_namespaces = false;
                kernel.user_namespaces_reason = Some(format!("the kernel refused: {s}"));
                if !quiet {
                    say(format_args!(
                        "user namespaces unavailable ({s}); planning without them"
                    ));
                }
                continue;
            }
        }
        let (code, outcome_name, signal) = match outcome {
            Outcome::Exited(ws) => {
                let sig = libc::WIFSIGNALED(ws).then(|| libc::WTERMSIG(ws));
                (
                    crate::sandbox::child::exit_code(ws),
                    if sig.is_some() { "killed" } else { "exited" },
                    sig,
                )
            }
            Outcome::SetupFailed(s) => {
                say(format_args!("sandbox set-up failed: {s}"));
                (EXIT_SETUP, "setup_failed", None)
            }
            Outcome::ExecFailed(errno) => {
                let (c, m) = crate::sandbox::child::exec_error(errno, &command[0]);
                say(m);
                (c, "exec_failed", None)
            }
        };
        let mut rep = crate::report::build(
            &plan,
            crate::report::profile_hash(&resolved.profile),
            started,
            t0.elapsed(),
            &fs_denials,
            !args.no_report_denials,
            &net_denials,
            &decisions,
            crate::report::ExitInfo {
                code,
                signal,
                outcome: outcome_name,
            },
        );
        rep.connect_failures = connect_failures;
        tracing::debug!("report built at {:?}", t0.elapsed());
        write_records(
            &rep,
            args.report.as_deref(),
            resolved.profile.audit.as_deref(),
            &inputs.home,
        );
        tracing::debug!("records written at {:?}", t0.elapsed());
        return Ok(ExitCode::from(code));
    }
}

/// 128 bits from getrandom(2), hex: the per-run proxy credential (a failure refuses the launch,
/// never an all-zero token).
fn random_token() -> anyhow::Result<String> {
    crate::supervise::journal::run_id()
        .map_err(|e| anyhow::anyhow!("no random bytes from getrandom: {e}"))
}

/// A close-on-exec pipe (read end, write end).
fn pipe() -> anyhow::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid two-element array; both ends are owned right away.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        anyhow::bail!("pipe: {}", std::io::Error::last_os_error());
    }
    use std::os::fd::FromRawFd;
    // SAFETY: fresh descriptors from pipe2.
    Ok(unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    })
}

/// The directories between the workspace and each protected path (`.git` for `.git/hooks`):
/// a mount point cannot be renamed, so the read-only mounts below cannot be swapped away.
fn pinned_dirs(protect: &[PathBuf], workspace: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for p in protect {
        let Ok(rel) = p.strip_prefix(workspace) else {
            continue;
        };
        let mut cur = workspace.to_path_buf();
        let comps: Vec<_> = rel.components().collect();
        for c in comps.iter().take(comps.len().saturating_sub(1)) {
            cur.push(c);
            if !out.contains(&cur) {
                out.push(cur.clone());
            }
        }
    }
    out
}

/// Write `--report FILE` and append to the audit trail; failures are warnings, never fatal.
fn write_records(
    rep: &crate::report::RunReport,
    report: Option<&Path>,
    audit: Option<&str>,
    home: &str,
) {
    if let Some(path) = report {
        let r = serde_json::to_string_pretty(rep)
            .map_err(std::io::Error::other)
            .and_then(|s| std::fs::write(path, s + "\n"));
        if let Err(e) = r {
            say(format_args!("cannot write report {}: {e}", path.display()));
        }
    }
    if let Some(path) = crate::report::audit_path(audit, home) {
        if let Err(e) = crate::report::append_audit(&path, rep) {
            tracing::warn!("audit trail {}: {e}", path.display());
        }
    }
}

fn prepare(
    observe: bool,
    plan: &Plan,
    env: &crate::plan::env::ChildEnv,
    exec_path: &Path,
    argv: &[std::ffi::OsString],
    cwd: &Path,
) -> anyhow::Result<Prepared> {
    let argv = argv
        .iter()
        .map(|a| crate::sandbox::child::cstr(a.as_bytes(), "an argument"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ns = plan.namespaces.enabled.then(|| {
        let mut keep = Vec::new();
        // /etc/resolv.conf often points into /run, which the box masks.
        if let Ok(t) = std::fs::canonicalize("/etc/resolv.conf") {
            keep.push(t);
        }
        // Granted paths under a masked tree (a workspace in /tmp) are bound back over the mask.
        for r in &plan.filesystem.rules {
            if !r.origin.starts_with("split of") {
                keep.push(r.path.clone());
            }
        }
        keep.push(plan.workspace.clone());
        keep.retain(|k| {
            plan.namespaces
                .masked
                .iter()
                .any(|m| k.starts_with(m) && k != m)
        });
        keep.sort();
        keep.dedup();
        // A path inside another kept path comes along with it.
        let all = keep.clone();
        keep.retain(|k| !all.iter().any(|o| o != k && k.starts_with(o)));
        NsSpec {
            net: plan.namespaces.net,
            masked: plan.namespaces.masked.clone(),
            private_writable: if plan.tmpdir == Path::new("/tmp") {
                vec![PathBuf::from("/tmp"), PathBuf::from("/dev/shm")]
            } else {
                vec![PathBuf::from("/dev/shm")]
            },
            extra_tmpfs: if plan.tmpdir == Path::new("/tmp") {
                vec![]
            } else {
                vec![plan.tmpdir.clone()]
            },
            hidden: plan.filesystem.hidden.clone(),
            read_only: plan.filesystem.protect.clone(),
            pinned: pinned_dirs(&plan.filesystem.protect, &plan.workspace),
            private_pts: plan
                .filesystem
                .rules
                .iter()
                .any(|r| r.path == Path::new("/dev/pts")),
            keep,
            skeleton: plan.namespaces.skeleton.clone(),
            shadows: plan.git.views.clone(),
        }
    });
    let local: Vec<std::net::SocketAddr> = plan
        .network
        .local
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
    let host_proxy_port: Option<u16> = plan
        .network
        .proxy
        .as_ref()
        .filter(|_| !plan.namespaces.enabled)
        .and_then(|p| p.rsplit(':').next())
        .and_then(|p| p.parse().ok());
    // Inside the box's network namespace: the proxy (allowlist mode) first, then one listener
    // per local service at its usual address.
    let listen_inside: Vec<std::net::SocketAddr> = if plan.namespaces.net {
        let proxy = (plan.network.mode == "allowlist")
            .then(|| std::net::SocketAddr::from(([127, 0, 0, 1], plan::PROXY_PORT_IN_NS)));
        proxy.into_iter().chain(local.iter().copied()).collect()
    } else {
        vec![]
    };
    let landlock = plan.applied("landlock").then(|| {
        let mut rules = plan.filesystem.rules.clone();
        let fallback_net = !plan.namespaces.enabled
            && plan.network.mode != "unrestricted"
            && plan.kernel.landlock_abi >= 4;
        if plan.namespaces.enabled {
            rules.push(crate::plan::fs::Rule {
                path: PathBuf::from("/dev/shm"),
                access: crate::plan::fs::Grant::Write,
                origin: "private /dev/shm".into(),
            });
        }
        (
            rules,
            plan.kernel.landlock_abi,
            crate::plan::fs::LandlockOpts {
                scopes: plan.applied("landlock-scopes"),
                // Without a network namespace Landlock restricts TCP to the proxy and the
                // listed services (ports only); `off` then allows no TCP at all. With the
                // connect broker it allows no TCP connect at all: the broker makes them.
                net_connect: fallback_net.then(|| {
                    let mut ports: Vec<u16> = host_proxy_port.into_iter().collect();
                    ports.extend(local.iter().map(|a| a.port()));
                    if plan.network.connect_broker {
                        ports.clear();
                    }
                    ports
                }),
                net_bind: plan.network.listen.clone(),
            },
        )
    });
    Ok(Prepared {
        exec_path: crate::sandbox::child::cstr(
            exec_path.as_os_str().as_bytes(),
            "the command path",
        )?,
        argv,
        envp: crate::sandbox::child::envp(&env.vars)?,
        cwd: cwd.to_path_buf(),
        ns,
        landlock,
        stdio: None,
        trace: if observe {
            Some(crate::supervise::observe::trace_filter()?)
        } else {
            None
        },
        seccomp: if plan.applied("seccomp") {
            Some(crate::sandbox::seccomp::build(&plan.seccomp)?)
        } else {
            None
        },
        listen_inside,
        cgroup_procs: None,
        // Matches the plan's capabilities layer text.
        require_empty_bounding: plan.namespaces.enabled || nix::unistd::geteuid().is_root(),
        uid: nix::unistd::getuid().as_raw(),
        gid: nix::unistd::getgid().as_raw(),
        // Set by run_inner, which keeps the supervisor's half.
        broker: None,
    })
}

/// `agentbox profile ...`.
pub fn profile_cmd(cmd: ProfileCmd) -> ExitCode {
    match cmd {
        ProfileCmd::Init { name, force } => {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                || name.starts_with('.')
            {
                return die(format!(
                    "profile name {}: use letters, digits, `-`, `_`, `.`",
                    crate::scrub::quote(&name)
                ));
            }
            let Some(dir) = profile::load::user_dir() else {
                return die("no HOME or XDG_CONFIG_HOME to put user profiles in");
            };
            let path = dir.join(format!("{name}.yaml"));
            if path.exists() && !force {
                return die(format!(
                    "{} exists; pass --force to overwrite",
                    path.display()
                ));
            }
            if let Err(e) = std::fs::create_dir_all(&dir)
                .and_then(|_| std::fs::write(&path, profile::load::starter(&name)))
            {
                return die(format!("cannot write {}: {e}", path.display()));
            }
            outln!("{}", crate::scrub::text(&path.display().to_string()));
            ExitCode::SUCCESS
        }
        ProfileCmd::List => {
            for name in profile::load::available() {
                let desc = profile::resolve(&name)
                    .map(|r| r.profile.description.unwrap_or_default())
                    .unwrap_or_else(|e| format!("(error: {e})"));
                outln!("{}", crate::scrub::text(&format!("{name:<14} {desc}")));
            }
            ExitCode::SUCCESS
        }
        ProfileCmd::Show { name } => match profile::resolve(&name) {
            Ok(r) => {
                let chain: Vec<String> = r.chain.iter().map(|s| s.to_string()).collect();
                // Names and values of a profile may be anything: printed masked.
                let head = format!("# resolved profile {} ({})", r.name, chain.join(" -> "));
                outln!("{}", crate::scrub::text(&head));
                let mut p = r.profile.clone();
                p.name = Some(r.name.clone());
                // Names only: `env.set` holds (test) credentials.
                for v in p.env.set.values_mut() {
                    *v = "[value not shown]".into();
                }
                match serde_yaml::to_string(&p) {
                    Ok(s) => {
                        out!("{}", crate::scrub::text(&s));
                        ExitCode::SUCCESS
                    }
                    Err(e) => die(e),
                }
            }
            Err(e) => die(e),
        },
        ProfileCmd::Validate { file } => {
            let f = file.to_string_lossy().into_owned();
            let name = if profile::load::looks_like_path(&f) {
                f
            } else {
                format!("./{f}")
            };
            match profile::resolve(&name) {
                Ok(r) => {
                    let ok = format!("{}: ok ({} in chain)", file.display(), r.chain.len());
                    outln!("{}", crate::scrub::text(&ok));
                    ExitCode::SUCCESS
                }
                Err(e) => die(match e {
                    ProfileError::Io { .. } | ProfileError::Parse { .. } => e.to_string(),
                    other => other.to_string(),
                }),
            }
        }
    }
}
