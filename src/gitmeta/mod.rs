//! Git metadata: reading and auditing what an agent can leave in git's configuration.
pub mod config;
