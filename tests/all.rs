//! The integration tests, in one test binary (one build and link, one harness, the shared
//! helpers compiled once): one module per area under `tests/all/`, the helpers in
//! `tests/all/common/`. Every test runs the built binary; as root it also creates the
//! unprivileged user `agentbox-test` and runs the security tests a second time as that user.
//! A test whose prerequisite is missing says `SKIP <test>: <what>` on stderr, and fails under
//! `CI=true` (see `common::require`).
//!
//! (A crate root looks for its modules next to itself, hence the `#[path]`s: `tests/all.rs`
//! keeps the binary's name and is the one file in `tests/` cargo builds as a test target.)

#[path = "all/common/mod.rs"]
mod common;

#[path = "all/agent_runs.rs"]
mod agent_runs;
#[path = "all/agent_state.rs"]
mod agent_state;
#[path = "all/agents.rs"]
mod agents;
#[path = "all/boundary.rs"]
mod boundary;
#[path = "all/corpus.rs"]
mod corpus;
#[path = "all/credential_agents.rs"]
mod credential_agents;
#[path = "all/credentials.rs"]
mod credentials;
#[path = "all/dns.rs"]
mod dns;
#[path = "all/errors.rs"]
mod errors;
#[path = "all/escape/mod.rs"]
mod escape;
#[path = "all/examples.rs"]
mod examples;
#[path = "all/launcher.rs"]
mod launcher;
#[path = "all/network.rs"]
mod network;
#[path = "all/plan_applied.rs"]
mod plan_applied;
#[path = "all/preflight.rs"]
mod preflight;
#[path = "all/redact.rs"]
mod redact;
#[path = "all/report.rs"]
mod report;
#[path = "all/simulated_kernels.rs"]
mod simulated_kernels;
#[path = "all/tiers.rs"]
mod tiers;
#[path = "all/tty.rs"]
mod tty;
#[path = "all/views.rs"]
mod views;

/// New integration tests go in a module here: another file in `tests/` would be a second test
/// binary, with its own copy of the helpers.
#[test]
fn integration_tests_are_one_binary() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut top: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs") || dir.join(n).join("main.rs").exists())
        .collect();
    top.sort();
    assert_eq!(top, ["all.rs"], "test targets in tests/");
}
