//! Messages to the person on stderr: masked (they may quote what a person typed, and that may
//! be a token) and never failing (a closed stderr must not stop agentbox).

use std::process::ExitCode;

/// Print `agentbox: MSG` on stderr with every secret masked.
pub fn say(msg: impl std::fmt::Display) {
    errln!("agentbox: {}", crate::scrub::text(&msg.to_string()));
}

/// Print an error the agentbox way and return exit 125.
pub fn die(msg: impl std::fmt::Display) -> ExitCode {
    say(msg);
    ExitCode::from(crate::sandbox::EXIT_SETUP)
}
