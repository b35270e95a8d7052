//! Network policy and agentbox's own filtering egress proxy.
//!
//! - [`policy`]: the mode, the host allowlist and the address rules;
//! - [`proxy`]: the HTTP/CONNECT proxy that enforces them and records every decision;
//! - [`forward`]: plain TCP relays from the sandbox to named services on the host;
//! - [`broker`]: without a network namespace, the supervisor makes every TCP connect of the box;
//! - [`dns`]: the stub resolver inside the box's network namespace, which names what was looked up.
//!
//! No async runtime: a thread per connection with a cap, blocking I/O with timeouts for
//! request heads, and a poll(2)+splice(2) loop for tunnels (`relay`).

pub mod broker;
pub mod dns;
pub mod forward;
pub mod http;
pub mod inject;
pub mod policy;
pub mod proxy;
pub mod relay;
pub(crate) mod server;
pub mod sni;
