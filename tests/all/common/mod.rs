//! What every integration test shares, in one place: fixtures (a git workspace and a fake HOME
//! full of credentials, outside /tmp), runners (agentbox as root and as the unprivileged user
//! `agentbox-test`, with and without namespaces), output checks that never print a secret,
//! spawn-with-timeout, python probes, a mock of the agents' model APIs and the real agents'
//! set-up against it, pseudo-terminals and a driver for the agents' TUIs on them, and
//! [`require`], the only way a test may skip part of itself.

mod agents;
mod fixture;
mod mock_api;
mod net;
mod output;
mod probe;
mod pty;
mod require;
mod run;
mod sys;
mod tls;
mod tui;

pub use agents::*;
pub use fixture::*;
pub use mock_api::*;
pub use net::*;
pub use output::*;
pub use probe::*;
pub use pty::*;
pub use require::*;
pub use run::*;
pub use sys::*;
pub use tls::*;
pub use tui::*;
