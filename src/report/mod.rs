//! The run report (`--report FILE`), the audit trail (one JSON line per launch) and the
//! summary of denials printed at exit. Names and reasons only: never a secret value.

pub mod denials;
pub mod out;
pub mod suggest;

use crate::plan::env::Removed;
use crate::plan::{Layer, Plan, Status};
use crate::profile::Source;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What the box tried to do with a path.
#[derive(
    Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Open for reading, list.
    Read,
    /// Create, write, remove, rename.
    Write,
    /// Execute.
    Exec,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Exec => "exec",
        })
    }
}

/// A filesystem access the box was refused.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct FsDenial {
    /// What it tried.
    pub access: Access,
    /// The path (absolute where it could be resolved).
    pub path: String,
    /// How many times.
    pub count: usize,
    /// What would allow it, or why it is never allowed by default.
    pub remedy: denials::Remedy,
    /// The file a temporary name belongs to (`~/.lesshst` for `~/.lesshs*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// A built-in profile that allows it already (`test` for the toolchains' caches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

/// A network connection the box was refused.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct NetDenial {
    /// Host as requested.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Why.
    pub reason: String,
    /// How many times.
    pub count: usize,
    /// What would allow it, or why not.
    pub remedy: NetRemedy,
}

/// What would allow a refused connection.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum NetRemedy {
    /// Allow the host (`--allow-host`, `network.allow`).
    AllowHost,
    /// A direct connect to loopback: `network.local` if it is a service on this host.
    LocalService,
    /// A name looked up inside the box (the stub resolver saw it; no port is known): allow
    /// the host by name, which means ports 80 and 443.
    AllowName,
    /// Never allowed.
    Never {
        /// Why.
        why: String,
    },
    /// Already allowed, but the name did not resolve: no setting changes that.
    Unresolved,
    /// Already allowed and resolved, but no address accepted the connection.
    Unreachable,
}

impl NetDenial {
    /// The remedy in words, with the setting to use.
    pub fn fix(&self) -> String {
        let (h, p) = (&self.host, self.port);
        match &self.remedy {
            NetRemedy::AllowHost => {
                format!("--allow-host {h}:{p} or `network.allow: [\"{h}:{p}\"]`")
            }
            NetRemedy::LocalService => {
                let addr = if h.contains(':') {
                    format!("[{h}]:{p}")
                } else {
                    format!("{h}:{p}")
                };
                format!("`network.local: [\"{addr}\"]` if it is a service on this host")
            }
            NetRemedy::AllowName => format!("--allow-host {h} or `network.allow: [\"{h}\"]`"),
            NetRemedy::Never { why } => why.clone(),
            NetRemedy::Unresolved => format!(
                "{h}:{p} is already allowed; its name did not resolve here (a typo, the host's \
                 DNS, or offline): no setting changes that"
            ),
            NetRemedy::Unreachable => {
                format!("{h}:{p} is already allowed; no address of it accepted the connection")
            }
        }
    }

    /// What was refused: `host:port`, or the name alone for a lookup (which has no port: 0).
    pub fn target(&self) -> String {
        if self.port == 0 || self.remedy == NetRemedy::AllowName {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// How the run ended.
#[derive(Debug, Clone, Serialize)]
pub struct ExitInfo {
    /// agentbox's exit status.
    pub code: u8,
    /// The signal that killed the agent, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// exited, killed, setup_failed, exec_failed or refused.
    pub outcome: &'static str,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct RunReport<'a> {
    /// agentbox version.
    pub agentbox: &'static str,
    /// Start time, UTC, RFC 3339.
    pub started_at: String,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// Who ran it.
    pub user: String,
    /// Workspace.
    pub workspace: &'a Path,
    /// The command, with secret-looking arguments redacted.
    pub command: Vec<String>,
    /// Profile name.
    pub profile: &'a str,
    /// `extends` chain.
    pub chain: &'a [Source],
    /// sha256 of the resolved profile.
    pub profile_hash: String,
    /// Layers applied or skipped, with reasons.
    pub layers: &'a [Layer],
    /// Environment variables removed, with reasons (names only).
    pub env_removed: &'a [Removed],
    /// Filesystem denials (when the observer ran).
    pub filesystem_denials: &'a [FsDenial],
    /// Which filesystem denials were observed: `off`, `writes_and_exec` (the default) or `all`
    /// (`--report-denials`).
    pub filesystem_observed: crate::supervise::observe::Observe,
    /// Network denials.
    pub network_denials: &'a [NetDenial],
    /// How the box's lookups were answered (whether the names asked could be recorded).
    pub lookups: &'a crate::plan::net::Dns,
    /// TCP connections that failed inside the box (refused or unreachable), when observed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_failures: Vec<String>,
    /// Every proxy decision with byte counts.
    pub proxy_decisions: &'a [crate::net::proxy::Decision],
    /// How it ended.
    pub exit: ExitInfo,
}

/// sha256 of the resolved profile (its JSON form: stable field order, fast to produce).
pub fn profile_hash(p: &crate::profile::Profile) -> String {
    use sha2::Digest;
    let y = serde_json::to_string(p).unwrap_or_default();
    let d = sha2::Sha256::digest(y.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Redact secret-looking parts of command-line arguments with the detector engine.
pub fn redact_args(args: &[String]) -> Vec<String> {
    let engine = crate::detect::Engine::builtin();
    args.iter()
        .map(|a| {
            let f = engine.find(a.as_bytes());
            if f.is_empty() {
                return a.clone();
            }
            let mut out = String::new();
            let mut last = 0;
            for x in f {
                if x.start < last
                    || x.end > a.len()
                    || !a.is_char_boundary(x.start)
                    || !a.is_char_boundary(x.end)
                {
                    return "[REDACTED]".into();
                }
                out.push_str(&a[last..x.start]);
                out.push_str(&format!("[REDACTED:{}]", x.rule_id));
                last = x.end;
            }
            out.push_str(&a[last..]);
            out
        })
        .collect()
}

/// UTC time as RFC 3339 without a date crate.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Group proxy refusals by host, port and reason, with what would allow each, judged by the
/// proxy's verdict: a host already allowed that did not resolve is reported as exactly that.
pub fn net_denials(decisions: &[crate::net::proxy::Decision]) -> Vec<NetDenial> {
    use crate::net::proxy::Verdict;
    let mut out: Vec<NetDenial> = Vec::new();
    for d in decisions.iter().filter(|d| !d.allowed) {
        if let Some(x) = out
            .iter_mut()
            .find(|x| x.host == d.host && x.port == d.port && x.reason == d.reason)
        {
            x.count += 1;
            continue;
        }
        let meta = d.host.starts_with("169.254.")
            || d.host.eq_ignore_ascii_case("metadata.google.internal")
            || d.host.contains("fd00:ec2::254");
        use crate::net::inject::session::TlsNote;
        let never = |why: &str| NetRemedy::Never { why: why.into() };
        let remedy = match (&d.tls, d.verdict) {
            (Some(TlsNote::ClientRefused(_)), _) => never(
                "the host is allowed, but a client that pins certificates (or ignores \
                 SSL_CERT_FILE/NODE_EXTRA_CA_CERTS) cannot be given a placeholder; see README, \
                 Credentials",
            ),
            (Some(TlsNote::UpstreamFailed(_)), _) => never(
                "the host's certificate must verify against the system roots or the CA file in \
                 agentbox's SSL_CERT_FILE",
            ),
            _ if meta => never("never allowed: cloud metadata endpoints hand out credentials"),
            (_, Verdict::NotListed | Verdict::PortNotListed) => NetRemedy::AllowHost,
            (_, Verdict::Unresolved) => NetRemedy::Unresolved,
            (_, Verdict::Unreachable) => NetRemedy::Unreachable,
            (_, Verdict::AddressRefused) => never(
                "never allowed: it resolves to a link-local, metadata or private address (name \
                 a private host exactly to reach it)",
            ),
            (_, Verdict::BadRequest) => never(
                "refused by the proxy's checks (a malformed request, or a Host or TLS SNI that \
                 is not the host asked for)",
            ),
            (_, Verdict::Credential) => {
                never("the proxy's per-run credential was missing or wrong")
            }
            (_, Verdict::Busy) => never("too many concurrent connections through the proxy"),
            (_, Verdict::Incomplete | Verdict::Allowed) => {
                never("no decision: the client went away")
            }
        };
        out.push(NetDenial {
            host: d.host.clone(),
            port: d.port,
            reason: d.reason.clone(),
            count: 1,
            remedy,
        });
    }
    out
}

/// The connect broker's refusals (direct TCP connects, by the address the box asked for), with
/// what would allow each; `proxy`: allowlist mode, where the proxy is the way out.
pub fn broker_denials(
    refused: &std::collections::BTreeMap<std::net::SocketAddr, usize>,
    proxy: bool,
) -> Vec<NetDenial> {
    refused
        .iter()
        .map(|(addr, count)| {
            let remedy = if addr.ip().is_loopback() {
                // `learn` judges these from connect_failures (is a service listening there?).
                NetRemedy::LocalService
            } else if proxy {
                NetRemedy::Never {
                    why: "never allowed directly: connect through the proxy (HTTPS_PROXY), \
                          where --allow-host admits a host"
                        .into(),
                }
            } else {
                NetRemedy::Never {
                    why: "never allowed directly: the network is off".into(),
                }
            };
            NetDenial {
                host: addr.ip().to_string(),
                port: addr.port(),
                reason: if proxy {
                    "direct TCP connect, not through the proxy".into()
                } else {
                    "direct TCP connect".into()
                },
                count: *count,
                remedy,
            }
        })
        .collect()
}

/// The names the box looked up through the stub resolver, each with the line that allows the
/// host; a name that is no host name agentbox can allow is said so.
pub fn dns_denials(
    names: &crate::net::dns::Names,
    mode: crate::net::policy::NetMode,
) -> Vec<NetDenial> {
    let reason = if mode == crate::net::policy::NetMode::Allowlist {
        "looked up by name (not in the allowlist; tools reach allowed hosts through the proxy)"
    } else {
        "looked up by name (the network is off)"
    };
    names
        .lookups()
        .into_iter()
        .map(|(name, count)| {
            let finding = !crate::detect::Engine::builtin()
                .find(name.as_bytes())
                .is_empty();
            let host = name.parse::<crate::net::policy::HostRule>().is_ok()
                && !name.contains('*')
                && !finding;
            NetDenial {
                // A name that carries a secret (a lookup used to smuggle it out) is kept
                // masked, in the report too.
                host: if finding {
                    crate::scrub::text(&name)
                } else {
                    name
                },
                port: 0,
                reason: reason.into(),
                count,
                remedy: if host {
                    NetRemedy::AllowName
                } else {
                    NetRemedy::Never {
                        why: "not a host name agentbox can allow".into(),
                    }
                },
            }
        })
        .collect()
}

/// Print the summary of denials to stderr (unless quiet).
pub fn print_summary(fs: &[FsDenial], net: &[NetDenial]) {
    if fs.is_empty() && net.is_empty() {
        return;
    }
    errln!("agentbox: denied during this run:");
    for d in fs {
        let n = if d.count > 1 {
            format!(" ({}x)", d.count)
        } else {
            String::new()
        };
        let of =
            d.of.as_ref()
                .map(|o| format!(" (temporary files of {o})"))
                .unwrap_or_default();
        let tier = d
            .tier
            .as_ref()
            .map(|t| format!("; the `{t}` profile allows it"))
            .unwrap_or_default();
        // Paths and hosts come from the agent: masked like agentbox's other messages.
        crate::report::out::say(format_args!(
            "  {} {}{n}{of} -> {}{tier}",
            d.access, d.path, d.remedy
        ));
    }
    for d in net {
        let n = if d.count > 1 {
            format!(" ({}x)", d.count)
        } else {
            String::new()
        };
        crate::report::out::say(format_args!(
            "  network {}{n}: {} -> {}",
            d.target(),
            d.reason,
            d.fix()
        ));
    }
}

/// What the proxy did with the credentials: a placeholder sent where it is not injected (always
/// said), and with `verbose` every injection, per credential and host (names and counts only).
pub fn print_credentials(decisions: &[crate::net::proxy::Decision], verbose: bool) {
    // (name, host:port) -> (injected, unchanged, masked)
    let mut seen: Vec<(String, String, u64, u64, u64)> = Vec::new();
    for d in decisions {
        let hp = if d.host.contains(':') {
            format!("[{}]:{}", d.host, d.port)
        } else {
            format!("{}:{}", d.host, d.port)
        };
        for u in &d.credentials {
            match seen.iter_mut().find(|x| x.0 == u.name && x.1 == hp) {
                Some(x) => {
                    x.2 += u.injected;
                    x.3 += u.unchanged;
                    x.4 += u.masked;
                }
                None => seen.push((
                    u.name.clone(),
                    hp.clone(),
                    u.injected,
                    u.unchanged,
                    u.masked,
                )),
            }
        }
    }
    for (name, hp, injected, unchanged, masked) in &seen {
        if *unchanged > 0 {
            crate::report::out::say(format_args!(
                "credential {name}: its placeholder went to {hp} unchanged ({unchanged}x): not a host or a place it is injected in, the real value was not sent"
            ));
        }
        if *masked > 0 {
            crate::report::out::say(format_args!(
                "credential {name}: {hp} sent the real value back ({masked}x): replaced by the placeholder"
            ));
        }
        if verbose && *injected > 0 {
            crate::report::out::say(format_args!(
                "credential {name}: injected into {injected} request(s) to {hp}"
            ));
        }
    }
}

/// After a failed run whose observer did not trace every call: what was not traced, and how to
/// have it named.
pub fn print_untraced_hint(observed: crate::supervise::observe::Observe) {
    use crate::supervise::observe::Observe;
    match observed {
        // Off: the person turned the observer off, nothing to tell; All: everything was traced.
        Observe::Off | Observe::All => {}
        Observe::Exec => errln!(
            "agentbox: refused reads and writes are not traced by default (it slows file-heavy \
             work); `agentbox run --report-denials=writes ...` names refused writes, \
             `--report-denials` or `agentbox learn -- ...` every refusal"
        ),
        Observe::WritesAndExec => errln!(
            "agentbox: refused reads are not traced with --report-denials=writes; \
             `agentbox run --report-denials ...` or `agentbox learn -- ...` names them"
        ),
    }
}

/// Where the audit trail goes: `audit:` in the profile (`off` or a path), else
/// `$XDG_STATE_HOME/agentbox/audit.jsonl`.
pub fn audit_path(setting: Option<&str>, home: &str) -> Option<PathBuf> {
    match setting {
        Some("off") | Some("false") | Some("none") => None,
        Some(p) => Some(PathBuf::from(crate::profile::expand::tilde(p))),
        None => {
            let base = std::env::var_os("XDG_STATE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(home).join(".local/state"));
            Some(base.join("agentbox/audit.jsonl"))
        }
    }
}

/// Append one line to the audit trail.
pub fn append_audit(path: &Path, r: &RunReport) -> std::io::Result<()> {
    use std::io::Write;
    let applied: Vec<&str> = r
        .layers
        .iter()
        .filter(|l| l.status == Status::Applied)
        .map(|l| l.id.as_str())
        .collect();
    let skipped: Vec<&str> = r
        .layers
        .iter()
        .filter(|l| l.status == Status::Skipped)
        .map(|l| l.id.as_str())
        .collect();
    let removed: Vec<&str> = r.env_removed.iter().map(|x| x.name.as_str()).collect();
    let line = serde_json::json!({
        "time": r.started_at,
        "user": r.user,
        "workspace": r.workspace,
        "command": r.command,
        "profile": r.profile,
        "profile_hash": r.profile_hash,
        "layers": applied,
        "skipped": skipped,
        "removed": removed,
        "denials": {
            "filesystem": r.filesystem_denials.iter().map(|d| d.count).sum::<usize>(),
            "network": r.network_denials.iter().map(|d| d.count).sum::<usize>(),
        },
        "exit": r.exit.code,
        "outcome": r.exit.outcome,
        "duration_ms": r.duration_ms,
    });
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write per line so concurrent launches do not interleave.
    let mut s = line.to_string();
    s.push('\n');
    f.write_all(s.as_bytes())
}

/// Build the report from the plan and the outcome.
#[allow(clippy::too_many_arguments)]
pub fn build<'a>(
    plan: &'a Plan,
    hash: String,
    started: std::time::SystemTime,
    duration: std::time::Duration,
    fs: &'a [FsDenial],
    observed: crate::supervise::observe::Observe,
    net: &'a [NetDenial],
    decisions: &'a [crate::net::proxy::Decision],
    exit: ExitInfo,
) -> RunReport<'a> {
    let user = crate::user::name();
    RunReport {
        agentbox: crate::VERSION,
        started_at: rfc3339(started),
        duration_ms: duration.as_millis() as u64,
        user,
        workspace: &plan.workspace,
        command: plan.command.clone(),
        profile: &plan.profile,
        chain: &plan.chain,
        profile_hash: hash,
        layers: &plan.layers,
        env_removed: &plan.env.removed,
        filesystem_denials: fs,
        filesystem_observed: observed,
        network_denials: net,
        lookups: &plan.network.dns,
        connect_failures: Vec::new(),
        proxy_decisions: decisions,
        exit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_895_758);
        assert_eq!(rfc3339(t), "2026-11-28T19:55:58Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn audit_locations() {
        assert_eq!(audit_path(Some("off"), "/h"), None);
        assert_eq!(
            audit_path(Some("/x/a.jsonl"), "/h"),
            Some(PathBuf::from("/x/a.jsonl"))
        );
    }
}
