//! The credentials part of the plan: which variables the box gets as a placeholder, which
//! hosts get the real value and where in the request, where that value comes from, and the
//! TLS interception it takes. Names, hosts and shapes only: the plan never holds a value
//! (the supervisor reads them at launch, `crate::cred::load`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::net::inject::AUTH_HEADERS;
use crate::net::policy::{Allowlist, NetMode};
use crate::profile::expand::Vars;
use crate::profile::model::{Credential, CredentialWhen};

/// File name of the box's CA bundle in its temp dir.
pub const CA_BUNDLE: &str = "agentbox-ca.pem";

/// Variables that name the box's CA bundle (OpenSSL, Node, Python requests, curl, git, cargo,
/// pip).
pub const TRUST_VARS: &[&str] = &[
    "SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "CARGO_HTTP_CAINFO",
    "PIP_CERT",
];

/// Shortest real value accepted: a placeholder as long as the value must still be random.
pub const MIN_VALUE: usize = 16;

/// The credentials of the run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CredentialPlan {
    /// Each credential, in name order.
    pub credentials: Vec<CredPlan>,
    /// TLS interception, when an injected credential goes to an https host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interception: Option<Interception>,
}

/// One credential.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CredPlan {
    /// The variable the box sees.
    pub name: String,
    /// Hosts that get the real value.
    pub hosts: Vec<CredHost>,
    /// Where in a request the placeholder is replaced.
    pub substitute: Substitute,
    /// What the placeholder looks like.
    pub placeholder: Shape,
    /// Where the real value comes from.
    pub source: ValueSource,
    /// Who declared it.
    pub origin: CredOrigin,
    /// What happens to it in this run.
    pub state: CredState,
    /// git in the box gets the placeholder from a credential helper for its https hosts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub git: bool,
}

/// A host of a credential.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CredHost {
    /// Normalized name or IP literal.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `https`, or `http` when declared so (clear text allowed).
    pub scheme: Scheme,
}

/// How a host is reached.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// TLS, intercepted with the run's CA.
    Https,
    /// Clear text, declared `http://`.
    Http,
}

impl fmt::Display for CredHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.scheme, self.port) {
            (Scheme::Https, 443) => write!(f, "{host}"),
            (Scheme::Https, p) => write!(f, "{host}:{p}"),
            (Scheme::Http, 80) => write!(f, "http://{host}"),
            (Scheme::Http, p) => write!(f, "http://{host}:{p}"),
        }
    }
}

/// Where the placeholder is replaced.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Substitute {
    /// Header names (lower case); `Authorization: Basic` values are decoded for it.
    pub headers: Vec<String>,
    /// The query string too.
    pub query: bool,
}

/// The placeholder's shape: a key of this kind's prefix, agentbox's marker, random letters and
/// digits, as long as the real value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Shape {
    /// The kind of key it imitates.
    pub kind: &'static str,
    /// Its prefix.
    pub prefix: &'static str,
}

/// Where a real value comes from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum ValueSource {
    /// A variable of agentbox's own environment.
    Env(String),
    /// A file (hidden from the box).
    File(PathBuf),
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSource::Env(n) => write!(f, "${n}"),
            ValueSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Who declared a credential.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CredOrigin {
    /// The profile's `credentials:`.
    Profile,
    /// `--credential` (alone, or adding hosts to the profile's).
    Flag,
}

/// What happens to a credential in this run.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "why")]
pub enum CredState {
    /// The box gets the placeholder; the proxy injects the real value.
    Injected,
    /// `if-set` and not set: reported, nothing injected (a login in a file is used as is).
    Absent(String),
    /// `named` and not named for this run.
    NotNamed,
    /// `--allow-env NAME`: the real value is passed into the box, as asked.
    PassedThrough,
}

/// The TLS interception of the run.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Interception {
    /// The hosts intercepted (every other TLS connection stays an end-to-end tunnel).
    pub hosts: Vec<String>,
    /// The CA bundle the box trusts (the caller's trust plus the run's CA), in its temp dir.
    pub ca_bundle: PathBuf,
    /// What the bundle starts from: the caller's `SSL_CERT_FILE`, else the system bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_trust: Option<PathBuf>,
    /// The variables that name it.
    pub trust_variables: Vec<&'static str>,
    /// What upstream certificates are checked against.
    pub upstream_roots: Vec<PathBuf>,
}

/// Why the credentials refuse the launch; each names the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredError {
    /// `--credential` without `=HOST` for a name the profile does not declare.
    Undeclared(String),
    /// A host entry that cannot be used.
    BadHost {
        /// Credential.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// A host the allowlist does not admit.
    HostNotAllowed {
        /// Credential.
        name: String,
        /// `host:port`.
        host: String,
    },
    /// No value where the credential says it comes from.
    Missing {
        /// Credential.
        name: String,
        /// Where it was looked for.
        source: String,
    },
    /// A value too short to stand behind a random placeholder of its length.
    TooShort(String),
    /// A `source:` that is neither `env`, `env:NAME` nor `file:PATH`.
    BadSource(String),
    /// A name that is no variable name.
    BadName(String),
}

impl fmt::Display for CredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredError::Undeclared(n) => write!(
                f,
                "--credential {n}: the profile declares no credential {n}; name its hosts: --credential {n}=HOST"
            ),
            CredError::BadHost { name, why } => write!(f, "credential {name}: {why}"),
            CredError::HostNotAllowed { name, host } => write!(
                f,
                "credential {name}: host {host} is not allowed; allow it with --allow-host {host} or `network.allow: [\"{host}\"]`"
            ),
            CredError::Missing { name, source } => write!(
                f,
                "credential {name}: no value in {source}; set it in agentbox's environment (or the file), or leave the credential out of this run"
            ),
            CredError::TooShort(n) => write!(
                f,
                "credential {n}: the value is shorter than {MIN_VALUE} bytes, too short for a placeholder of its length; use a real token"
            ),
            CredError::BadSource(n) => write!(
                f,
                "credential {n}: source must be `env`, `env:NAME` or `file:PATH`"
            ),
            CredError::BadName(n) => write!(
                f,
                "credential {}: not a variable name (letters, digits, `_`)",
                crate::scrub::shown(n)
            ),
        }
    }
}

impl std::error::Error for CredError {}

/// Known key shapes: a variable name, the kind of key, its prefix.
const SHAPES: &[(&str, &str, &str)] = &[
    ("ANTHROPIC_API_KEY", "anthropic-api-key", "sk-ant-api03-"),
    (
        "CLAUDE_CODE_OAUTH_TOKEN",
        "anthropic-oauth-token",
        "sk-ant-oat01-",
    ),
    ("OPENAI_API_KEY", "openai-project-key", "sk-proj-"),
    ("CODEX_API_KEY", "openai-project-key", "sk-proj-"),
    ("GEMINI_API_KEY", "google-api-key", "AIza"),
    ("GOOGLE_API_KEY", "google-api-key", "AIza"),
    ("GH_TOKEN", "github-token", "ghp_"),
    ("GITHUB_TOKEN", "github-token", "ghp_"),
    ("GITLAB_TOKEN", "gitlab-token", "glpat-"),
];

/// Prefixes recognised in a real value (longest first), so the placeholder has its shape.
const VALUE_PREFIXES: &[(&str, &str)] = &[
    ("sk-ant-api03-", "anthropic-api-key"),
    ("sk-ant-oat01-", "anthropic-oauth-token"),
    ("github_pat_", "github-fine-grained-token"),
    ("sk-proj-", "openai-project-key"),
    ("sk-svcacct-", "openai-service-key"),
    ("glpat-", "gitlab-token"),
    ("ghp_", "github-token"),
    ("gho_", "github-oauth-token"),
    ("ghu_", "github-user-token"),
    ("ghs_", "github-app-token"),
    ("AIza", "google-api-key"),
    ("sk-", "openai-key"),
];

/// The shape for `name`, refined by the real value's prefix when it has a known one.
pub fn shape(name: &str, value: Option<&str>) -> Shape {
    if let Some((p, k)) = value.and_then(|v| VALUE_PREFIXES.iter().find(|(p, _)| v.starts_with(p)))
    {
        return Shape { kind: k, prefix: p };
    }
    match SHAPES.iter().find(|(n, _, _)| *n == name) {
        Some((_, k, p)) => Shape { kind: k, prefix: p },
        None => Shape {
            kind: "generic",
            prefix: "",
        },
    }
}

/// Everything planning the credentials needs.
pub struct CredInputs<'a> {
    /// `--credential` values.
    pub flags: &'a [String],
    /// `--allow-env` names.
    pub allow_env: &'a [String],
    /// The allowlist in force (empty when the network is not `allowlist`).
    pub allow: &'a Allowlist,
    /// The network mode.
    pub mode: NetMode,
    /// A variable of agentbox's environment (presence and shape only).
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// Path expansion for `file:` sources.
    pub vars: &'a Vars,
    /// The box's temp dir as the box sees it.
    pub tmpdir: &'a Path,
    /// The caller's `SSL_CERT_FILE`.
    pub caller_ca: Option<PathBuf>,
    /// The system CA bundle, if any.
    pub system_ca: Option<PathBuf>,
}

/// Plans the credentials of the profile and the flags.
pub fn plan(
    declared: &std::collections::BTreeMap<String, Credential>,
    inp: &CredInputs,
) -> Result<CredentialPlan, CredError> {
    let mut specs: Vec<(String, Credential, CredOrigin, bool)> = declared
        .iter()
        .map(|(n, c)| (n.clone(), c.clone(), CredOrigin::Profile, false))
        .collect();
    for f in inp.flags {
        let (name, hosts) = match f.split_once('=') {
            Some((n, h)) => (n.trim(), Some(h)),
            None => (f.trim(), None),
        };
        if !valid_name(name) {
            return Err(CredError::BadName(name.to_string()));
        }
        let extra = Credential {
            hosts: hosts
                .map(|h| {
                    h.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            ..Default::default()
        };
        match specs.iter_mut().find(|s| s.0 == name) {
            Some(s) => {
                s.1.merge(extra);
                s.3 = true;
            }
            None if hosts.is_none() => return Err(CredError::Undeclared(name.to_string())),
            None => specs.push((name.to_string(), extra, CredOrigin::Flag, true)),
        }
    }
    specs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = CredentialPlan::default();
    for (name, spec, origin, named) in specs {
        out.credentials.push(one(&name, &spec, origin, named, inp)?);
    }
    out.interception = interception(&out.credentials, inp);
    Ok(out)
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && !n.starts_with(|c: char| c.is_ascii_digit())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn one(
    name: &str,
    spec: &Credential,
    origin: CredOrigin,
    named: bool,
    inp: &CredInputs,
) -> Result<CredPlan, CredError> {
    if !valid_name(name) {
        return Err(CredError::BadName(name.to_string()));
    }
    let when = spec.when.unwrap_or_default();
    let hosts = spec
        .hosts
        .iter()
        .map(|h| host(name, h))
        .collect::<Result<Vec<_>, _>>()?;
    let source = source(name, spec.source.as_deref(), inp.vars)?;
    let value = match &source {
        ValueSource::Env(v) => (inp.var)(v).filter(|v| !v.is_empty()),
        ValueSource::File(_) => None,
    };
    let present = match &source {
        ValueSource::Env(_) => value.is_some(),
        ValueSource::File(p) => p.is_file(),
    };
    let mut headers: Vec<String> = AUTH_HEADERS.iter().map(|s| s.to_string()).collect();
    for h in &spec.headers {
        let h = h.to_ascii_lowercase();
        if !headers.contains(&h) {
            headers.push(h);
        }
    }
    let passed = origin == CredOrigin::Profile
        && inp
            .allow_env
            .iter()
            .any(|a| crate::plan::fs::glob_match(a, name));
    let state = match (when, named, present) {
        (_, _, _) if passed => CredState::PassedThrough,
        (CredentialWhen::Named, false, _) => CredState::NotNamed,
        (CredentialWhen::IfSet, false, false) => CredState::Absent(format!(
            "{source} is not set: nothing injected (a login kept in a file is used as it is)"
        )),
        (_, _, false) => {
            return Err(CredError::Missing {
                name: name.to_string(),
                source: source.to_string(),
            })
        }
        (_, _, true) => CredState::Injected,
    };
    if state == CredState::Injected {
        if hosts.is_empty() {
            return Err(CredError::BadHost {
                name: name.to_string(),
                why: format!("no hosts; name them: --credential {name}=HOST"),
            });
        }
        for h in &hosts {
            let hp = if h.host.contains(':') {
                format!("[{}]:{}", h.host, h.port)
            } else {
                format!("{}:{}", h.host, h.port)
            };
            if inp.mode != NetMode::Allowlist || inp.allow.matches(&h.host, h.port).is_none() {
                return Err(CredError::HostNotAllowed {
                    name: name.to_string(),
                    host: hp,
                });
            }
        }
        if value.as_ref().is_some_and(|v| v.len() < MIN_VALUE) {
            return Err(CredError::TooShort(name.to_string()));
        }
    }
    Ok(CredPlan {
        name: name.to_string(),
        hosts,
        substitute: Substitute {
            headers,
            query: spec.query.unwrap_or(false),
        },
        placeholder: shape(name, value.as_deref()),
        source,
        origin,
        state,
        git: spec.git.unwrap_or(false),
    })
}

/// `HOST[:PORT]` (https) or `http://HOST[:PORT]`; names and IP literals, no wildcards.
fn host(name: &str, raw: &str) -> Result<CredHost, CredError> {
    let bad = |why: String| CredError::BadHost {
        name: name.to_string(),
        why,
    };
    let shown = crate::scrub::quote(raw);
    let (scheme, rest) = if let Some(r) = raw.strip_prefix("http://") {
        (Scheme::Http, r)
    } else if let Some(r) = raw.strip_prefix("https://") {
        (Scheme::Https, r)
    } else {
        (Scheme::Https, raw)
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('*') {
        return Err(bad(format!(
            "host {shown}: wildcards are not allowed for credentials"
        )));
    }
    if rest.contains('/') {
        return Err(bad(format!("host {shown}: a host, not a URL path")));
    }
    let default = if scheme == Scheme::Http { 80 } else { 443 };
    let a = crate::net::http::parse_authority(rest, Some(default))
        .map_err(|e| bad(format!("host {shown}: {e}")))?;
    Ok(CredHost {
        host: a.host,
        port: a.port,
        scheme,
    })
}

fn source(name: &str, raw: Option<&str>, vars: &Vars) -> Result<ValueSource, CredError> {
    match raw {
        None | Some("env") => Ok(ValueSource::Env(name.to_string())),
        Some(s) => {
            if let Some(v) = s.strip_prefix("env:") {
                if valid_name(v) {
                    return Ok(ValueSource::Env(v.to_string()));
                }
            } else if let Some(p) = s.strip_prefix("file:") {
                if let Ok(Some(path)) = vars.expand(p) {
                    return Ok(ValueSource::File(path));
                }
            }
            Err(CredError::BadSource(name.to_string()))
        }
    }
}

fn interception(creds: &[CredPlan], inp: &CredInputs) -> Option<Interception> {
    let mut hosts = Vec::new();
    for c in creds.iter().filter(|c| c.state == CredState::Injected) {
        for h in c.hosts.iter().filter(|h| h.scheme == Scheme::Https) {
            let s = h.to_string();
            if !hosts.contains(&s) {
                hosts.push(s);
            }
        }
    }
    if hosts.is_empty() {
        return None;
    }
    let own_trust = inp.caller_ca.clone().or_else(|| inp.system_ca.clone());
    let upstream_roots = inp
        .system_ca
        .iter()
        .chain(inp.caller_ca.iter())
        .cloned()
        .collect();
    Some(Interception {
        hosts,
        ca_bundle: inp.tmpdir.join(CA_BUNDLE),
        own_trust,
        trust_variables: TRUST_VARS.to_vec(),
        upstream_roots,
    })
}

impl CredentialPlan {
    /// No credential at all (left out of the printed plan).
    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty()
    }

    /// Variables the box gets besides the placeholders: the trust variables naming the CA
    /// bundle, and git's credential helper for `git: true` credentials.
    pub fn env(&self, existing_git_count: Option<&str>) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if let Some(i) = &self.interception {
            let p = i.ca_bundle.to_string_lossy().into_owned();
            for v in &i.trust_variables {
                env.push((v.to_string(), p.clone()));
            }
        }
        let mut n: usize = existing_git_count.and_then(|c| c.parse().ok()).unwrap_or(0);
        let start = n;
        for c in self.injected().filter(|c| c.git) {
            for h in c.hosts.iter().filter(|h| h.scheme == Scheme::Https) {
                let key = format!("credential.https://{h}.helper");
                // The empty value first: git then asks no other helper for this host.
                for value in [
                    String::new(),
                    format!(
                        "!f() {{ test \"$1\" = get && printf 'username=x-access-token\\npassword=%s\\n' \"${}\"; }}; f",
                        c.name
                    ),
                ] {
                    env.push((format!("GIT_CONFIG_KEY_{n}"), key.clone()));
                    env.push((format!("GIT_CONFIG_VALUE_{n}"), value));
                    n += 1;
                }
            }
        }
        if n > start {
            env.push(("GIT_CONFIG_COUNT".into(), n.to_string()));
        }
        env
    }

    /// The credentials injected in this run.
    pub fn injected(&self) -> impl Iterator<Item = &CredPlan> {
        self.credentials
            .iter()
            .filter(|c| c.state == CredState::Injected)
    }

    /// Files that hold real values: hidden from the box.
    pub fn source_files(&self) -> Vec<PathBuf> {
        self.credentials
            .iter()
            .filter_map(|c| match &c.source {
                ValueSource::File(p) => Some(p.clone()),
                ValueSource::Env(_) => None,
            })
            .collect()
    }

    /// For the status line: `NAME: placeholder, injected for host, host` per credential.
    pub fn status(&self) -> Vec<String> {
        self.credentials
            .iter()
            .filter_map(|c| {
                let hosts: Vec<String> = c.hosts.iter().map(|h| h.to_string()).collect();
                match &c.state {
                    CredState::Injected => Some(format!(
                        "{}: placeholder, injected for {}",
                        c.name,
                        hosts.join(", ")
                    )),
                    CredState::Absent(_) => Some(format!("{}: not set, nothing injected", c.name)),
                    CredState::PassedThrough => {
                        Some(format!("{}: REAL VALUE passed (--allow-env)", c.name))
                    }
                    CredState::NotNamed => None,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
