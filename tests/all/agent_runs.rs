//! Issue 14, acceptance: the real agents (installed globally from npm, aider from PyPI) run
//! twice in a row on a fresh home, in their preset, in their non-interactive mode, against the
//! local mock of their model API (loopback only). Both runs answer; the second asks no
//! first-run question (trust, onboarding, auth method); no state file the first run left is
//! removed or quarantined (config, history, sessions). In the second run the mock asks the
//! agent, through its shell tool, to plant an MCP server in its own configuration, as a
//! prompt injection would: that does not survive the run and the summary names it, while the
//! agent's own state stays. Codex's and Gemini CLI's TUIs are driven twice in a pty as well.
//! Run as the unprivileged user when the suite can make it (the person of the issue). A
//! missing agent is a `SKIP` (a failure under CI).

use crate::common::*;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

/// One agent (common::agents has its state and how it talks to the mock) and what its runs
/// leave: every file under its state that the first run left must still be there after the
/// second.
struct Real {
    /// Preset and command name.
    name: &'static str,
    /// Run 2's shell command (the mock's tool call) that plants an MCP server, the file it
    /// plants in (relative to HOME) and the key the summary names for it; `None` when there is
    /// nothing to judge (the agent's configuration is read-only in its preset).
    plant: Option<(&'static str, &'static str, &'static str)>,
    /// A state file (prefix, relative to HOME) the first run must have made.
    made: &'static str,
    /// Where each run adds a session file (prefix), when it does: run 2 must add one.
    sessions: Option<&'static str>,
    /// Files (relative to HOME) the person has before the first run, and their content.
    seed: &'static [(&'static str, &'static str)],
    /// Seconds per run.
    deadline: u64,
}

/// What a first-run question or a trust refusal looks like in any of the agents' output.
const FIRST_RUN: &[&str] = &[
    "trust this folder",
    "Do you trust",
    "not running in a trusted directory",
    "trusted folder",
    "Choose the text style",
    "Select login method",
    "Get started",
    "onboarding",
    "Allow analytics",
    "Add .aider",
];

const REAL: &[Real] = &[
    Real {
        name: "codex",
        plant: Some((
            "printf '\\n[mcp_servers.planted]\\ncommand = \"sh\"\\n' >> ~/.codex/config.toml",
            ".codex/config.toml",
            "mcp_servers (added)",
        )),
        made: ".codex/sessions/",
        sessions: Some(".codex/sessions/"),
        seed: &[],
        deadline: 60,
    },
    Real {
        name: "claude",
        plant: Some((
            "python3 -c 'import json,os; p=os.path.expanduser(\"~/.claude.json\"); d=json.load(open(p)); d[\"mcpServers\"]={\"planted\":{\"command\":\"sh\"}}; json.dump(d,open(p,\"w\"))'",
            ".claude.json",
            "mcpServers (added)",
        )),
        made: ".claude.json",
        sessions: Some(".claude/projects/"),
        seed: &[],
        deadline: 60,
    },
    Real {
        name: "gemini",
        plant: Some((
            "python3 -c 'import json,os; p=os.path.expanduser(\"~/.gemini/settings.json\"); d=json.load(open(p)) if os.path.exists(p) else {}; d[\"mcpServers\"]={\"planted\":{\"command\":\"sh\"}}; json.dump(d,open(p,\"w\"))'",
            ".gemini/settings.json",
            "mcpServers (added)",
        )),
        // With GOOGLE_GEMINI_BASE_URL set, Gemini CLI 0.61 picks its "gateway" auth from the
        // environment and then refuses it ("Invalid auth method selected"); a person with a
        // real key and no base URL gets the API-key method from GEMINI_API_KEY alone. So the
        // test starts from that answer, as `/auth` would have written it.
        made: ".gemini/projects.json",
        sessions: None,
        seed: &[(".gemini/settings.json", r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}}"#)],
        deadline: 60,
    },
    Real {
        name: "opencode",
        // Its configuration is read-only in the preset (nothing there to judge).
        plant: None,
        made: ".local/share/opencode/opencode.db",
        sessions: None,
        seed: &[],
        deadline: 60,
    },
    Real {
        name: "aider",
        plant: None,
        made: ".aider/analytics.json",
        sessions: None,
        seed: &[],
        deadline: 90,
    },
];

/// Every file under the agent's state roots (relative to HOME), without lock and temp files
/// that the agents remove themselves.
fn state_files(home: &Path, roots: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<std::path::PathBuf> = roots.iter().map(|r| home.join(r)).collect();
    let mut budget = 100_000;
    while let Some(p) = stack.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if md.is_dir() {
            stack.extend(
                std::fs::read_dir(&p)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path()),
            );
            continue;
        }
        let rel = p.strip_prefix(home).unwrap().to_string_lossy().into_owned();
        let transient = [".lock", "-shm", "-wal", "-journal", ".tmp"]
            .iter()
            .any(|s| rel.ends_with(s))
            || rel.contains("/tmp/")
            || rel.contains("thread-writer-locks");
        if !transient {
            out.insert(rel);
        }
    }
    out
}

/// `agentbox run -p NAME -- NAME ARGS` against `mock`, with the key and the agent's env.
fn run_once(f: &Fixture, a: &Real, mock: &MockApi, key: &str) -> Output {
    let m = real_agent(a.name);
    let url = mock.url();
    let c = m.command(
        f,
        &m.preset_flags(mock),
        &(m.args)(&url, "say hi"),
        &url,
        key,
    );
    let out = within(c, a.deadline);
    assert_no_secret(&out);
    out
}

/// Two runs on a fresh home (see the module's doc).
fn two_runs(name: &str) {
    let a = REAL.iter().find(|a| a.name == name).unwrap();
    if require_agent(name).is_none() {
        return;
    }
    let f = fresh_agent_home(a.seed);
    let who = f.owner;
    let key = fake_key(real_agent(name).key.1);
    let ctx =
        |run: &str, out: &Output| format!("[{who:?}] {name}, {run}\n{}", show_masked(out, &key));
    let m1 = MockApi::with(MockOptions::default().expect_secret("key", &key));
    let out = run_once(&f, a, &m1, &key);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    check(out.status.success(), &ctx("run 1 succeeds", &out), &out);
    check(
        all.contains(MOCK_REPLY),
        &ctx("run 1 answers from the mock", &out),
        &out,
    );
    assert!(
        m1.presence("key").in_auth,
        "{}",
        ctx("run 1: the key reached the mock", &out)
    );
    let kept = |out: &Output, allowed: Option<&str>| {
        let err = stderr(out);
        let bad: Vec<&str> = err
            .lines()
            .filter(|l| l.contains(": moved to ") || l.contains("not applied"))
            .filter(|l| allowed.is_none_or(|f| !l.contains(f)))
            .collect();
        let shown: Vec<String> = quarantined_files(&err)
            .iter()
            .map(|(p, t)| format!("{}: {t}", p.display()))
            .collect();
        assert!(
            bad.is_empty(),
            "{}\nquarantined: {shown:#?}",
            ctx("nothing of the agent's is quarantined", out)
        );
    };
    kept(&out, None);
    let after1 = state_files(&f.home, real_agent(a.name).state);
    assert!(
        after1.iter().any(|p| p.starts_with(a.made)),
        "{}: {after1:?}",
        ctx(&format!("run 1 made ~/{}", a.made), &out)
    );
    if name == "claude" {
        // Claude Code wrote its own state into the file agentbox created for it.
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f.home.join(".claude.json")).unwrap())
                .unwrap_or_default();
        assert!(
            v.as_object().is_some_and(|o| o.len() > 1),
            "{}",
            ctx("Claude Code wrote ~/.claude.json", &out)
        );
    }
    assert!(!after1.is_empty(), "{}", ctx("run 1 left no state", &out));

    let mut opts = MockOptions::default();
    if let Some((cmd, _, _)) = a.plant {
        opts = opts.tool_call(cmd);
    }
    let m2 = MockApi::with(opts);
    let out = run_once(&f, a, &m2, &key);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    check(out.status.success(), &ctx("run 2 succeeds", &out), &out);
    check(
        all.contains(MOCK_REPLY),
        &ctx("run 2 answers from the mock", &out),
        &out,
    );
    for q in FIRST_RUN {
        check(
            !all.contains(q),
            &ctx(&format!("run 2 asks no first-run question ({q})"), &out),
            &out,
        );
    }
    kept(&out, a.plant.map(|p| p.1));
    let after2 = state_files(&f.home, real_agent(a.name).state);
    let gone: Vec<&String> = after1.difference(&after2).collect();
    if let Some(pre) = a.sessions {
        let n = |set: &BTreeSet<String>| set.iter().filter(|p| p.starts_with(pre)).count();
        assert!(
            n(&after2) > n(&after1),
            "{}",
            ctx(&format!("run 2 adds a session under ~/{pre}"), &out)
        );
    }
    assert!(
        gone.is_empty(),
        "{}: removed {gone:?}",
        ctx("run 2 keeps run 1's state", &out)
    );
    if let Some((_, _, named)) = a.plant {
        assert!(
            m2.tool_results() > 0,
            "{}",
            ctx("run 2 ran the mock's tool call", &out)
        );
        let err = stderr(&out);
        check(
            err.contains(named),
            &ctx(&format!("the summary names {named}"), &out),
            &out,
        );
        for s in real_agent(a.name).state {
            let p = f.home.join(s);
            let text = if p.is_dir() {
                String::new()
            } else {
                std::fs::read_to_string(&p).unwrap_or_default()
            };
            assert!(
                !text.contains("planted"),
                "{}",
                ctx("the planted server is not kept", &out)
            );
        }
        for c in [".codex/config.toml", ".gemini/settings.json"] {
            let text = std::fs::read_to_string(f.home.join(c)).unwrap_or_default();
            assert!(
                !text.contains("planted"),
                "{}",
                ctx(&format!("~/{c} has no plant"), &out)
            );
        }
    }
}

#[test]
fn codex_twice_on_a_fresh_home() {
    two_runs("codex");
}

#[test]
fn claude_twice_on_a_fresh_home() {
    two_runs("claude");
}

#[test]
fn gemini_twice_on_a_fresh_home() {
    two_runs("gemini");
}

#[test]
fn opencode_twice_on_a_fresh_home() {
    two_runs("opencode");
}

#[test]
fn aider_twice_on_a_fresh_home() {
    two_runs("aider");
}

/// An agent's TUI and what it shows.
struct Screen {
    /// Preset and command name.
    name: &'static str,
    /// Arguments after the command (the mock's provider settings, no prompt).
    args: fn(url: &str) -> Vec<String>,
    /// On the screen when it is ready for a prompt.
    ready: &'static str,
    /// A first-run question: trust, sign-in, auth method.
    questions: &'static [&'static str],
    /// Where the TUI leaves one file per session (prefix, relative to HOME), if it does.
    sessions: Option<&'static str>,
}

const SCREENS: &[Screen] = &[
    Screen {
        name: "codex",
        // The provider settings of `codex exec` above, without `exec`, its flag and the prompt.
        args: |url| {
            let exec = (real_agent("codex").args)(url, "say hi");
            exec[2..exec.len() - 1].to_vec()
        },
        ready: "Ask Codex to do anything",
        questions: &["Trust this folder", "Sign in with ChatGPT"],
        sessions: Some(".codex/sessions/"),
    },
    Screen {
        name: "gemini",
        args: |_| vec![],
        ready: "Type your message",
        questions: &[
            "Do you trust",
            "How would you like to authenticate",
            "Select Theme",
        ],
        sessions: None,
    },
];

/// The agent's TUI in a pty, twice on a fresh home in its preset: it opens on its prompt with
/// no trust or onboarding question, and answers from the mock both times (Codex's trust prompt
/// at every launch was the issue's first complaint; checked to fail with the preset's
/// `projects` trust argument removed). Claude Code's TUI cannot be driven offline: its
/// onboarding checks that api.anthropic.com itself answers, whatever the base URL.
fn tui_twice(name: &str) {
    let sc = SCREENS.iter().find(|s| s.name == name).unwrap();
    let a = REAL.iter().find(|a| a.name == name).unwrap();
    let m = real_agent(name);
    if require_agent(name).is_none() {
        return;
    }
    let f = fresh_agent_home(a.seed);
    let who = f.owner;
    let key = fake_key(m.key.1);
    let mock = MockApi::start();
    // The mock as a listed local service, not an allowlisted host: `--allow-host 127.0.0.1:P`
    // sends all of 127.0.0.1 through the proxy, and Codex's TUI talks to its own app-server on
    // the box's loopback.
    let profile = f.dir.path().join(format!("{name}-mock.yaml"));
    std::fs::write(
        &profile,
        format!(
            "extends: {name}\nnetwork:\n  local: [\"{}\"]\n",
            mock.host()
        ),
    )
    .unwrap();
    chown_to(&profile, who);
    let profile = profile.to_string_lossy().into_owned();
    let mut waits = vec![sc.ready];
    waits.extend_from_slice(sc.questions);
    for run in 1..=2 {
        let url = mock.url();
        let before = ["run", "-p", &profile].map(String::from);
        let c = m.command(&f, &before, &(sc.args)(&url), &url, &key);
        let mut t = Tui::start(&f, c);
        let ready = t.wait_for(&waits, 60);
        assert_eq!(
            ready,
            Some(0),
            "[{who:?}] {name} run {run}: a question first, or never ready\n{}",
            t.screen().replace(&key, "<fake key>")
        );
        // Typed, then Enter on its own: a TUI takes text and Enter in one write for a paste.
        t.send("say hi");
        let _ = t.wait_for(&["say hi"], 10);
        std::thread::sleep(std::time::Duration::from_millis(500));
        t.send("\r");
        let mut after = vec![MOCK_REPLY];
        after.extend_from_slice(sc.questions);
        let answered = t.wait_for(&after, 60);
        let (_, screen) = t.stop(10);
        assert!(
            answered == Some(0),
            "[{who:?}] {name} run {run}: no answer from the mock, or a question (it saw {:?})\n{}",
            mock.seen(),
            screen.replace(&key, "<fake key>")
        );
    }
    assert!(mock.turns() >= 2, "{:?}", mock.seen());
    if let Some(pre) = sc.sessions {
        let sessions = state_files(&f.home, &[pre.trim_end_matches('/')]);
        assert!(sessions.len() >= 2, "both sessions kept: {sessions:?}");
    }
}

#[test]
fn codex_tui_twice_asks_nothing() {
    tui_twice("codex");
}

#[test]
fn gemini_tui_twice_asks_nothing() {
    tui_twice("gemini");
}
