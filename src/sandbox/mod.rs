//! The sandbox: applies a launch spec in the child, in a fixed order (descriptors and
//! environment, namespaces and mounts, Landlock, capabilities, seccomp last), and nothing else.
//! It decides nothing: every decision is in the plan (`crate::plan`), which produces the spec.

pub mod channel;
pub mod child;
pub mod harden;
pub mod mounts;
pub mod seccomp;
