//! The profile as written in YAML: typed, unknown keys rejected.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One permission profile, before `extends` is resolved.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile name; defaults to the file stem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One-line description shown by `profile list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Name or path of the profile this one builds on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Filesystem rules.
    #[serde(default)]
    pub filesystem: Filesystem,
    /// Environment policy.
    #[serde(default)]
    pub env: Env,
    /// Network policy.
    #[serde(default)]
    pub network: Network,
    /// Process hardening.
    #[serde(default)]
    pub hardening: Hardening,
    /// Which layers may be skipped on kernels that cannot apply them.
    #[serde(default)]
    pub sandbox: Sandbox,
    /// Arguments added right after a program's name when the command runs it (for agents whose
    /// own sandbox must be off inside agentbox: `codex: [--sandbox, danger-full-access]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub command_args: BTreeMap<String, Vec<String>>,
    /// The audit trail: `off`, or a path (default `$XDG_STATE_HOME/agentbox/audit.jsonl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<String>,
    /// Credentials the box gets as a placeholder, the real value added by the proxy on the way
    /// to their hosts (`NAME: {hosts: [...]}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<String, Credential>,
}

/// When a credential applies.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialWhen {
    /// Always: a missing value refuses the launch.
    #[default]
    Required,
    /// When its value is there; absent, it is reported (an agent logged in through a file).
    IfSet,
    /// Only when the person names it for the run (`--credential NAME`).
    Named,
}

/// One credential: its hosts, where its real value comes from, where it is substituted.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Hosts that receive the real value: `HOST[:PORT]` (https, port 443 by default) or
    /// `http://HOST[:PORT]` (clear text allowed, port 80 by default). Each must be allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Where the real value comes from: `env` (agentbox's variable of the same name, the
    /// default), `env:NAME`, or `file:PATH` (read at launch, hidden from the box).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Headers besides `Authorization`, `x-api-key` and `x-goog-api-key` where the
    /// placeholder is replaced (named ones only: an echoing server would hand a key back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// Also replace the placeholder in the query string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<bool>,
    /// `required` (default), `if-set` or `named`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<CredentialWhen>,
    /// Give git in the box the placeholder for these hosts (a credential helper that prints it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<bool>,
}

impl Credential {
    /// `other` over `self`: lists add up, scalars are overridden.
    pub fn merge(&mut self, other: Credential) {
        for h in other.hosts {
            if !self.hosts.contains(&h) {
                self.hosts.push(h);
            }
        }
        for h in other.headers {
            if !self.headers.contains(&h) {
                self.headers.push(h);
            }
        }
        self.source = other.source.or(self.source.take());
        self.query = other.query.or(self.query);
        self.when = other.when.or(self.when);
        self.git = other.git.or(self.git);
    }
}

/// What `layer`'s credentials add over `base`'s (a new name, host, source or header widens:
/// a real value would reach somewhere new).
pub fn credential_widening(
    base: &BTreeMap<String, Credential>,
    layer: &BTreeMap<String, Credential>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, c) in layer {
        let shown = crate::scrub::shown(name);
        let Some(b) = base.get(name) else {
            out.push(format!("credentials: {shown}"));
            continue;
        };
        for h in c.hosts.iter().filter(|h| !b.hosts.contains(h)) {
            out.push(format!(
                "credentials.{shown}.hosts: {}",
                crate::scrub::shown(h)
            ));
        }
        for h in c.headers.iter().filter(|h| !b.headers.contains(h)) {
            out.push(format!(
                "credentials.{shown}.headers: {}",
                crate::scrub::shown(h)
            ));
        }
        if c.source.is_some() && c.source != b.source {
            out.push(format!("credentials.{shown}.source"));
        }
        if c.query == Some(true) && b.query != Some(true) {
            out.push(format!("credentials.{shown}.query: true"));
        }
    }
    out
}

/// Filesystem access lists; paths accept `~` and `${VAR}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Filesystem {
    /// Readable trees (read files, list directories).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// Readable and executable trees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exec: Vec<String>,
    /// Readable, executable and writable trees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
    /// Paths hidden even inside an allowed tree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
    /// Paths kept read-only even inside a writable tree (needs the namespace layer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protect: Vec<String>,
    /// Device nodes readable and writable with ioctls (terminals, null, random).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// Agents' configuration files the box may write, judged key by key after the run by the
    /// rules of their kind (changes that would run code outside the box are not kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_config: Vec<AgentConfig>,
}

/// One agent configuration file (`filesystem.agent_config`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The file (`~` and `${VAR}` accepted).
    pub path: String,
    /// Whose rules judge it: `claude-json`, `codex-config`, `gemini-settings`,
    /// `gemini-trusted-folders`, `opencode-config`.
    pub kind: crate::agentconf::Kind,
}

/// How much of the caller's environment the child starts from.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Inherit {
    /// Every variable, minus the secret-like ones.
    #[default]
    All,
    /// Only a core set (HOME, PATH, USER, SHELL, TERM, LANG, ...).
    Core,
    /// Nothing but `set`, `files` and `allow`.
    None,
}

/// Environment policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Env {
    /// Starting set; the most derived profile that sets it wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherit: Option<Inherit>,
    /// Names (or `PREFIX_*` globs) kept even though they look secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Names (or globs) always removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
    /// Fixed values (test credentials); values are never printed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, String>,
    /// dotenv-format files loaded into the child (missing files are skipped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// Network policy (enforced by the network layer).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// `off`, `allowlist` or `unrestricted`; an allowed host implies `allowlist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<crate::net::policy::NetMode>,
    /// Hosts reachable through the proxy: `HOST[:PORT]` or `*.example.com[:PORT]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Services on the host's loopback the agent may reach at their usual address (`127.0.0.1:5432`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local: Vec<String>,
    /// Loopback ports the agent may listen on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<u16>,
}

/// Process hardening switches.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hardening {
    /// Let the agent create user namespaces (nested sandboxes such as bubblewrap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nested_sandbox: Option<bool>,
    /// Without the namespace layer: `read-only` keeps `.git` read-only, `restore` undoes changes to hooks and config after the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_fallback: Option<String>,
}

/// Layer requirements.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sandbox {
    /// Layers or features that may be skipped when the kernel lacks them (see `agentbox run --dry-run`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<String>,
    /// This profile grants production authority (cloud credentials, deploy hosts, an
    /// unrestricted network) on purpose; `agentbox check` then warns instead of failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<bool>,
}
