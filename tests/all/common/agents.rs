//! The real agents, as `.ci/run` installs them (globally from npm, aider from PyPI), pointed at
//! the local mock of their model API ([`MockApi`]): where they are, how each takes its key, its
//! arguments and environment for one prompt against the mock, the fresh home it runs in, and
//! the boxed command in its preset.

use super::{chown_to, require, who, Fixture, MockApi, PATH};
use std::path::PathBuf;
use std::process::Command;

/// One real agent: its key, its state, and how it talks to the mock.
pub struct RealAgent {
    /// Preset and command name.
    pub name: &'static str,
    /// Its API key variable and the key's prefix.
    pub key: (&'static str, &'static str),
    /// Its state, relative to HOME (directories, or a file for `.claude.json`).
    pub state: &'static [&'static str],
    /// The command's arguments for one run of `prompt` against the mock at `url`.
    pub args: fn(url: &str, prompt: &str) -> Vec<String>,
    /// Environment for the run (not secrets): base URLs and quieting switches.
    pub env: fn(url: &str) -> Vec<(&'static str, String)>,
}

/// Every agent with a preset.
pub const REAL_AGENTS: &[RealAgent] = &[
    RealAgent {
        name: "codex",
        key: ("OPENAI_API_KEY", "sk-proj-"),
        state: &[".codex"],
        args: |url, prompt| {
            [
                "exec",
                "--skip-git-repo-check",
                "-c",
                "model_provider=\"mock\"",
                "-c",
                &format!(
                    "model_providers.mock={{name=\"mock\",base_url=\"{url}/v1\",env_key=\"OPENAI_API_KEY\",wire_api=\"responses\"}}"
                ),
                "-c",
                "model=\"gpt-5\"",
                "-c",
                "analytics.enabled=false",
                "-c",
                "check_for_update_on_startup=false",
                prompt,
            ]
            .map(String::from)
            .to_vec()
        },
        env: |_| vec![],
    },
    RealAgent {
        name: "claude",
        key: ("ANTHROPIC_API_KEY", "sk-ant-api03-"),
        state: &[".claude", ".claude.json"],
        args: |_, prompt| {
            ["-p", "--dangerously-skip-permissions", prompt]
                .map(String::from)
                .to_vec()
        },
        env: |url| {
            vec![
                ("ANTHROPIC_BASE_URL", url.to_string()),
                ("CLAUDE_CODE_MAX_RETRIES", "1".to_string()),
            ]
        },
    },
    RealAgent {
        name: "gemini",
        key: ("GEMINI_API_KEY", "AIza"),
        state: &[".gemini"],
        args: |_, prompt| ["--yolo", "-p", prompt].map(String::from).to_vec(),
        env: |url| vec![("GOOGLE_GEMINI_BASE_URL", url.to_string())],
    },
    RealAgent {
        name: "opencode",
        key: ("ANTHROPIC_API_KEY", "sk-ant-api03-"),
        state: &[
            ".config/opencode",
            ".local/share/opencode",
            ".cache/opencode",
            ".local/state/opencode",
        ],
        args: |_, prompt| {
            ["run", "--model", "anthropic/claude-sonnet-4-5", prompt]
                .map(String::from)
                .to_vec()
        },
        // The AI SDK's Anthropic provider takes its base URL from here.
        env: |url| vec![("ANTHROPIC_BASE_URL", format!("{url}/v1"))],
    },
    RealAgent {
        name: "aider",
        key: ("OPENAI_API_KEY", "sk-proj-"),
        state: &[".aider"],
        args: |url, prompt| {
            [
                "--model",
                "openai/gpt-4o",
                "--openai-api-base",
                &format!("{url}/v1"),
                "--message",
                prompt,
                "--yes-always",
                "--no-gitignore",
                "--no-auto-commits",
                "--no-pretty",
                "--no-stream",
                "--analytics-disable",
                "--no-check-update",
                "--no-show-model-warnings",
            ]
            .map(String::from)
            .to_vec()
        },
        // litellm's model price list comes from the package, not from GitHub.
        env: |_| vec![("LITELLM_LOCAL_MODEL_COST_MAP", "True".to_string())],
    },
];

/// The agent called `name`.
pub fn real_agent(name: &str) -> &'static RealAgent {
    REAL_AGENTS
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no agent {name}"))
}

/// The agent's executable on the fixture's PATH (where the box looks for it); when it is not
/// installed, `None` after [`require`]'s `SKIP` (a failure under CI, where `.ci/run` installs
/// every agent).
#[track_caller]
pub fn require_agent(name: &str) -> Option<PathBuf> {
    let exe = std::env::split_paths(PATH)
        .map(|d| d.join(name))
        .find(|p| p.exists());
    let met = exe.is_some();
    require(
        &format!("{name} installed (.ci/run installs it; see profiles/SOURCES.md)"),
        met,
    )
    .then_some(exe)
    .flatten()
}

/// A fresh fixture for agent runs, as the unprivileged user where the suite can make it (the
/// person of issue 14), with `seed` (files relative to HOME, and their text) there first.
pub fn fresh_agent_home(seed: &[(&str, &str)]) -> Fixture {
    let who = *who().last().unwrap();
    let f = Fixture::new(who);
    for (rel, text) in seed {
        let p = f.home.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    chown_to(&f.home, who);
    f
}

impl RealAgent {
    /// `run -p NAME --allow-host MOCK --credential KEY=MOCK`: its preset, with the mock's host
    /// allowed and the key a placeholder in the box that the proxy replaces for the mock
    /// (issue 13).
    pub fn preset_flags(&self, mock: &MockApi) -> Vec<String> {
        let host = mock.host();
        let cred = format!("{}={host}", self.key.0);
        [
            "run",
            "-p",
            self.name,
            "--allow-host",
            &host,
            "--credential",
            &cred,
        ]
        .map(String::from)
        .to_vec()
    }

    /// `agentbox BEFORE -- NAME AFTER` in `f`, with `key` in the agent's key variable and its
    /// environment for the mock at `url`; not started.
    pub fn command(
        &self,
        f: &Fixture,
        before: &[String],
        after: &[String],
        url: &str,
        key: &str,
    ) -> Command {
        let mut args: Vec<&str> = before.iter().map(String::as_str).collect();
        args.extend(["--", self.name]);
        args.extend(after.iter().map(String::as_str));
        let mut c = f.command(&args);
        c.env(self.key.0, key);
        for (k, v) in (self.env)(url) {
            c.env(k, v);
        }
        c
    }
}
