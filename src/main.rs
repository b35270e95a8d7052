//! agentbox: run AI code agents without production secrets.

// Printing that never panics: a closed or broken stdout or stderr (`agentbox ... | head`) must
// not stop agentbox, least of all before its post-run restore.
macro_rules! outln { ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stdout(), $($t)*); }}; }
macro_rules! out { ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(std::io::stdout(), $($t)*); }}; }
macro_rules! errln { ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stderr(), $($t)*); }}; }
macro_rules! err { ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(std::io::stderr(), $($t)*); }}; }

mod channel;
mod check;
mod cli;
mod command;
mod detect;
mod envpolicy;
mod fsrules;
mod gitmeta;
mod guard;
mod harden;
mod host;
mod journal;
mod launch;
mod learn;
mod namespace;
mod net;
mod observe;
mod plan;
mod profile;
mod quarantine;
mod redact;
mod report;
mod run;
mod safefs;
mod scrub;
mod seccomp;
mod supervise;
mod user;
mod yaml;

/// Version with the build's git revision.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("AGENTBOX_GIT_REV"),
    ")"
);

fn main() -> std::process::ExitCode {
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
        let shown = if detect::Engine::builtin().find(msg.as_bytes()).is_empty() {
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
    match std::panic::catch_unwind(cli::main) {
        Ok(code) => code,
        Err(_) => std::process::ExitCode::from(launch::EXIT_SETUP),
    }
}
