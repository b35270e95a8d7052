//! Command-line definitions (clap) and dispatch to the subcommands: the only module that knows
//! clap, and nothing imports it back. Every flag is defined once here; help, the man page and
//! completions are generated from these definitions.

mod args;
mod docs;

use crate::report::out::die;
use crate::sandbox::EXIT_SETUP;
pub use args::{CheckArgs, LearnArgs, RedactArgs};
use clap::{ArgAction, Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Run AI code agents without production secrets.
#[derive(Parser, Debug)]
#[command(name = "agentbox", version = crate::VERSION, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v, -vv, -vvv); AGENTBOX_LOG takes a tracing filter.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// No status line or summary; errors only.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command inside the box: `agentbox run -- codex`.
    Run(RunArgs),
    /// List, show and validate profiles.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Mask secrets in logs: a streaming filter from FILEs or stdin to stdout (`--check`: exit 1 if any).
    Redact(RedactArgs),
    /// Preflight checklist: branch, shell secrets, .env files, tracked secrets, kernel, profile authority.
    Check(CheckArgs),
    /// Learn a profile: run a trusted command, record what is refused, write the narrowest grants.
    Learn(LearnArgs),
    /// Print shell completions for bash, zsh, fish, elvish or powershell (profile names after -p are those known when it runs).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff) on stdout: agentbox(1), or a command's (`agentbox man run` is agentbox-run(1)).
    Man {
        /// The command whose page to print (`run`, `profile list`, ...).
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
        /// Write every page (agentbox.1, agentbox-run.1, ...) into DIR instead.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        out_dir: Option<PathBuf>,
    },
}

/// `agentbox run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Profile name (built-in or in ~/.config/agentbox/profiles) or path to a YAML file [default: the agent's preset when COMMAND is codex, claude, gemini, aider or opencode installed outside the workspace, else default].
    #[arg(short, long, value_name = "NAME|PATH")]
    pub profile: Option<String>,
    /// Workspace directory [default: the git top level of the current directory, else the current directory].
    #[arg(short, long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Also allow reading PATH for this run (repeatable; shown in the plan).
    #[arg(long, value_name = "PATH")]
    pub allow_read: Vec<PathBuf>,
    /// Also allow writing PATH for this run (repeatable; shown in the plan).
    #[arg(long, value_name = "PATH")]
    pub allow_write: Vec<PathBuf>,
    /// Keep the variable NAME even though it looks secret (repeatable; `PREFIX_*` globs allowed).
    #[arg(long, value_name = "NAME")]
    pub allow_env: Vec<String>,
    /// Let the box reach HOST[:PORT] through agentbox's proxy (repeatable; `*.example.com` for subdomains; no port means 80 and 443).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub allow_host: Vec<String>,
    /// Give the box a placeholder for NAME; the proxy puts the real value (from agentbox's environment) into requests to these hosts only (repeatable; `http://HOST` for clear text; NAME alone turns on a credential the profile declares).
    #[arg(long, value_name = "NAME=HOST[:PORT][,HOST...]")]
    pub credential: Vec<String>,
    /// Pass the agent's stdout and stderr through the redactor: the values removed from the environment and every secret rule are masked. They become pipes, so the agent sees no terminal on them (stdin stays the terminal).
    #[arg(long)]
    pub redact_output: bool,
    /// Write a JSON report of the run to FILE: profile chain and hash, layers, removed variable names, denials, proxy decisions, exit status, duration.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Name the filesystem accesses the box is refused: `all` (the default of the flag: reads included) or `writes` (creations, changes, removals and execs). Without it only refused execs and connects are named: tracing each write costs up to five times the run time of bulk writing, every open more (see README).
    #[arg(long, value_name = "SCOPE", num_args = 0..=1, require_equals = true, default_missing_value = "all", overrides_with = "no_report_denials")]
    pub report_denials: Option<DenialScope>,
    /// Do not observe filesystem denials at all (network denials are still reported).
    #[arg(long, overrides_with = "report_denials")]
    pub no_report_denials: bool,
    /// Print the resolved plan and exit without running anything (exit 125 if the launch would be refused).
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print the plan as JSON.
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// Run even when a layer the profile asks for cannot apply on this kernel; every skipped layer is reported.
    #[arg(long)]
    pub best_effort: bool,
    /// Behave as a more limited kernel, for testing fallbacks: `landlock=N`, `userns=off`, `seccomp=off`, `unotify=off` (comma-separated; always shown in the plan and status line).
    #[arg(long, value_name = "SPEC")]
    pub simulate_kernel: Option<String>,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

/// `agentbox profile ...`.
#[derive(Subcommand, Debug)]
pub enum ProfileCmd {
    /// List the profiles with their descriptions.
    List,
    /// Print a profile with `extends` flattened, as YAML.
    Show {
        /// Name or path.
        name: String,
    },
    /// Check one profile file (and its `extends` chain).
    Validate {
        /// Path to the file.
        file: PathBuf,
    },
    /// Write a commented starter profile to ~/.config/agentbox/profiles/NAME.yaml.
    Init {
        /// Profile name.
        name: String,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// What `--report-denials` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DenialScope {
    /// Refused execs and connects (what runs without the flag).
    Exec,
    /// Refused writes, creations, removals and execs.
    Writes,
    /// Every refused access, reads included.
    All,
}

impl RunArgs {
    /// The run's options (the observer names refused execs by default; writes too with
    /// `--report-denials=writes`, reads too with `--report-denials`; nothing with
    /// `--no-report-denials`).
    pub fn into_options(self, verbose: u8, quiet: bool) -> crate::run::RunOptions {
        crate::run::RunOptions {
            profile: self.profile,
            workspace: self.workspace,
            allow_read: self.allow_read,
            allow_write: self.allow_write,
            allow_env: self.allow_env,
            allow_host: self.allow_host,
            credentials: self.credential,
            redact_output: self.redact_output,
            report: self.report,
            observe: {
                use crate::supervise::observe::Observe;
                match (self.no_report_denials, self.report_denials) {
                    (true, _) => Observe::Off,
                    (false, None | Some(DenialScope::Exec)) => Observe::Exec,
                    (false, Some(DenialScope::Writes)) => Observe::WritesAndExec,
                    (false, Some(DenialScope::All)) => Observe::All,
                }
            },
            dry_run: self.dry_run,
            json: self.json,
            best_effort: self.best_effort,
            simulate_kernel: self.simulate_kernel,
            command: self.command,
            verbose,
            quiet,
        }
    }
}

impl From<ProfileCmd> for crate::profile::cmd::ProfileAction {
    fn from(c: ProfileCmd) -> Self {
        use crate::profile::cmd::ProfileAction as A;
        match c {
            ProfileCmd::List => A::List,
            ProfileCmd::Show { name } => A::Show { name },
            ProfileCmd::Validate { file } => A::Validate { file },
            ProfileCmd::Init { name, force } => A::Init { name, force },
        }
    }
}

/// Stderr for tracing: each event is buffered whole and written masked when dropped, so no
/// log line can carry a secret (the formatter writes an event in one piece).
#[derive(Default)]
struct ScrubbedStderr(Vec<u8>);

impl std::io::Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbedStderr {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let text = crate::scrub::text(&String::from_utf8_lossy(&self.0));
            let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
        }
    }
}

/// Colour on stderr: only on a terminal, and never with `NO_COLOR` set and not empty
/// (no-color.org).
pub fn stderr_colour() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Set up tracing on stderr: quiet unless -v or AGENTBOX_LOG.
pub fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("AGENTBOX_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::try_new(f).unwrap_or_else(|_| EnvFilter::new("warn")),
        _ => EnvFilter::new(match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ScrubbedStderr::default)
        .with_ansi(stderr_colour())
        .with_target(false)
        .without_time()
        .try_init();
}

/// Entry point after parsing.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            // clap quotes the offending argument, which may be a token.
            let text = if stderr_colour() {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            err!("{}", crate::scrub::text(&text));
            return ExitCode::from(EXIT_SETUP);
        }
        Err(e) => {
            // --help and --version: our own text on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    init_logging(cli.verbose);
    match cli.command {
        Command::Run(args) => crate::run::run(&args.into_options(cli.verbose, cli.quiet)),
        Command::Profile(p) => crate::profile::cmd::run(p.into()),
        Command::Learn(a) => crate::learn::run(&a.into(), cli.quiet),
        Command::Check(a) => crate::check::run(&a.into()),
        Command::Redact(a) => match crate::redact::run(&a.into()) {
            Ok(c) => c,
            // 1 means "found" with --check, so errors use agentbox's own status.
            Err(e) => die(format!("{e:#}")),
        },
        Command::Completions { shell } => {
            use std::io::Write;
            let _ = std::io::stdout().write_all(&docs::completions(shell));
            ExitCode::SUCCESS
        }
        Command::Man { command, out_dir } => man(&command, out_dir.as_deref()),
    }
}

/// `agentbox man [COMMAND...]`, or every page into `--out-dir`.
fn man(command: &[String], out_dir: Option<&std::path::Path>) -> ExitCode {
    let r = match out_dir {
        Some(dir) => docs::man_pages_to(dir).map(|files| {
            for f in files {
                outln!("{}", f.display());
            }
        }),
        None => docs::man_page(command).map(|p| out!("{p}")),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => die(e),
    }
}

/// The binary's entry point: the CLI inside a panic guard.
pub fn entry() -> std::process::ExitCode {
    crate::timing::init();
    // A panic must never abort past the post-run restore: agentbox unwinds (release builds
    // too), `supervise::after` restores from its Drop, threads die alone, and the message
    // printed names no secret.
    std::panic::set_hook(Box::new(|info| {
        use std::io::Write;
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let shown = if crate::detect::Engine::builtin()
            .find(msg.as_bytes())
            .is_empty()
        {
            msg
        } else {
            "[message not shown: it may hold a secret]".to_string()
        };
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("?");
        let _ = writeln!(
            std::io::stderr(),
            "agentbox: internal error in thread {name}{at}: {shown}"
        );
    }));
    let code = match std::panic::catch_unwind(main) {
        Ok(code) => code,
        Err(_) => std::process::ExitCode::from(EXIT_SETUP),
    };
    crate::timing::mark("exit");
    code
}
