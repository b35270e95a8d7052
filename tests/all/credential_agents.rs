//! Issue 13 with the real agents: Codex and Claude Code (installed globally from npm), each in
//! its preset, driven by a local mock of its model API on 127.0.0.1 (common::mock_api, one
//! tool-call turn then the final text) to run a shell command that prints `env` and every
//! readable `/proc/*/environ`. The mock must get the real key in the auth header, no request
//! body (the transcript the model sees) may hold it, and the agent must complete; once over
//! plain HTTP to loopback, once over HTTPS with a test CA the caller trusts through
//! SSL_CERT_FILE (so the interception runs with the real clients). A missing agent is a SKIP
//! (a failure under CI).

use crate::common::*;

use std::process::Output;
use std::sync::Arc;

/// What the mock asks the agent to run: every environment the box can read.
const DUMP: &str = "env; for e in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$e\"; done 2>/dev/null; echo ENV-DUMPED";

/// A TLS acceptor for the mock, with a leaf of `ca`.
fn tls_acceptor(ca: &TestCa) -> MockOptions {
    let cfg = ca.server_config();
    MockOptions::default().tls(move |s| {
        let conn =
            rustls::ServerConnection::new(Arc::clone(&cfg)).map_err(std::io::Error::other)?;
        Ok(Box::new(rustls::StreamOwned::new(conn, s)))
    })
}

/// One run of `a` against a mock (HTTPS when `ca`), checked.
fn run_agent(a: &RealAgent, ca: Option<&TestCa>) {
    let f = fresh_agent_home(&[]);
    let who = f.owner;
    let key = fake_key(a.key.1);
    let opts = match ca {
        Some(ca) => tls_acceptor(ca),
        None => MockOptions::default(),
    };
    let mock = MockApi::with(opts.tool_call(DUMP).expect_secret("key", &key));
    let url = mock.url();
    // Loopback over plain HTTP gets the key in clear text; an https mock is intercepted.
    let report = f.dir.path().join("report.json");
    let mut before = a.preset_flags(&mock);
    before.extend(["--report".into(), report.to_string_lossy().into_owned()]);
    let mut c = a.command(&f, &before, &(a.args)(&url, "run the command"), &url, &key);
    if let Some(ca) = ca {
        c.env("SSL_CERT_FILE", &ca.pem);
    }
    let out: Output = within(c, 120);
    let scheme = if ca.is_some() { "https" } else { "http" };
    let ctx = format!(
        "[{who:?}] {} over {scheme}\n{}",
        a.name,
        show_masked(&out, &key)
    );
    let all = all_output(&out);
    assert!(
        !all.contains(&key),
        "the real key appeared in agentbox's or the agent's output: {ctx}"
    );
    assert!(
        !f.records(&report).contains(&key),
        "the real key is in the report or the audit trail: {ctx}"
    );
    let p = mock.presence("key");
    assert!(
        p.in_auth,
        "the mock did not get the real key in the auth header: {ctx}"
    );
    assert!(
        !p.body_unchecked,
        "a compressed body could not be checked: {ctx}"
    );
    assert!(
        !p.in_body,
        "a request body (the transcript) held the real key: {ctx}"
    );
    assert!(
        !p.in_other_header,
        "another header held the real key: {ctx}"
    );
    assert!(
        mock.tool_results() >= 1,
        "the shell command's result never came back: {ctx}"
    );
    assert!(
        all.contains(MOCK_REPLY),
        "the agent did not complete: {ctx}"
    );
    assert!(out.status.success(), "{ctx}");
    assert!(
        stderr(&out).contains(&format!("{}: placeholder, injected for", a.key.0)),
        "status line: {ctx}"
    );
}

fn both(name: &str) {
    let a = real_agent(name);
    if require_agent(name).is_none() {
        return;
    }
    run_agent(a, None);
    let ca = TestCa::new("agentbox agent test CA");
    run_agent(a, Some(&ca));
}

/// Codex (Responses API, its shell tool) never holds the key; the mock gets it.
#[test]
fn codex_holds_a_placeholder_and_the_mock_gets_the_key() {
    both("codex");
}

/// Claude Code (Messages API, its Bash tool) never holds the key; the mock gets it.
#[test]
fn claude_holds_a_placeholder_and_the_mock_gets_the_key() {
    both("claude");
}
