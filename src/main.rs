//! agentbox: run AI code agents without production secrets.

mod channel;
mod check;
mod cli;
mod command;
mod detect;
mod envpolicy;
mod fsrules;
mod guard;
mod harden;
mod host;
mod launch;
mod learn;
mod namespace;
mod net;
mod observe;
mod plan;
mod profile;
mod redact;
mod report;
mod run;
mod scrub;
mod seccomp;
mod user;

/// Version with the build's git revision.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("AGENTBOX_GIT_REV"),
    ")"
);

fn main() -> std::process::ExitCode {
    cli::main()
}
