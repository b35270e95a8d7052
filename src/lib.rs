//! agentbox: run AI code agents without production secrets.
//!
//! The library behind the `agentbox` binary; see the README's Architecture section.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

// Printing that never panics: a closed or broken stdout or stderr (`agentbox ... | head`) must
// not stop agentbox, least of all before its post-run restore.
macro_rules! outln { ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stdout(), $($t)*); }}; }
macro_rules! out { ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(std::io::stdout(), $($t)*); }}; }
macro_rules! errln { ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stderr(), $($t)*); }}; }
macro_rules! err { ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(std::io::stderr(), $($t)*); }}; }

pub mod agentconf;
pub mod check;
pub mod cli;
pub mod cred;
pub mod detect;
pub mod gitmeta;
pub mod learn;
pub mod net;
pub mod plan;
pub mod profile;
pub mod redact;
pub mod report;
pub mod run;
pub mod safefs;
pub mod sandbox;
pub mod scrub;
pub mod supervise;
pub mod timing;
pub mod user;
pub mod yaml;

/// Version with the build's git revision.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("AGENTBOX_GIT_REV"),
    ")"
);
