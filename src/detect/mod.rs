//! TEMPORARY STUB: replaced by the real detector engine.
use serde::Serialize;

/// Why a variable is removed.
#[derive(Debug, Clone, Serialize)]
pub struct RemovalReason {
    /// Kind.
    pub kind: ReasonKind,
    /// Detail, never a value.
    pub detail: String,
}
/// Kinds of reasons.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// Name.
    SecretName,
    /// Capability.
    CapabilityName,
    /// Value.
    SecretValue,
}
/// Stub.
pub fn classify_env(name: &str, value: &str) -> Option<RemovalReason> {
    let n = name.to_ascii_uppercase();
    for w in [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "APIKEY",
        "ACCESSKEY",
    ] {
        if n.contains(w) && n != "TOKENIZERS_PARALLELISM" && !n.contains("MAX_") {
            return Some(RemovalReason {
                kind: ReasonKind::SecretName,
                detail: format!("name contains {w}"),
            });
        }
    }
    if n.split('_').any(|s| s == "KEY" || s == "PASS") {
        return Some(RemovalReason {
            kind: ReasonKind::SecretName,
            detail: "name has KEY".into(),
        });
    }
    if [
        "SSH_AUTH_SOCK",
        "KUBECONFIG",
        "GPG_AGENT_INFO",
        "DBUS_SESSION_BUS_ADDRESS",
    ]
    .contains(&n.as_str())
    {
        return Some(RemovalReason {
            kind: ReasonKind::CapabilityName,
            detail: "capability".into(),
        });
    }
    if value.starts_with("ghp_")
        || value.starts_with("sk_live_")
        || (value.contains("://")
            && value.contains('@')
            && value
                .split("://")
                .nth(1)
                .is_some_and(|r| r.split('@').next().is_some_and(|u| u.contains(':'))))
    {
        return Some(RemovalReason {
            kind: ReasonKind::SecretValue,
            detail: "value shape".into(),
        });
    }
    None
}
/// Stub engine.
pub struct Engine;
/// Stub finding.
pub struct Finding {
    /// Rule.
    pub rule_id: String,
    /// Start.
    pub start: usize,
    /// End.
    pub end: usize,
}
impl Engine {
    /// Stub.
    pub fn builtin() -> &'static Engine {
        &Engine
    }
    /// Stub.
    pub fn find(&self, _h: &[u8]) -> Vec<Finding> {
        vec![]
    }
}
