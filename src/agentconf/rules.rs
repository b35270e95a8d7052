//! Which keys of each agent's configuration the box may change. Why each list is what it is:
//! profiles/SOURCES.md ("Agent state").
//!
//! Claude Code rewrites `~/.claude.json` all the time with keys that come and go between
//! versions (tips, counters, caches, per-project history), so it is judged by a deny list of the
//! keys that make code run or widen what runs unasked (at any depth: the same names nest under
//! `projects`). Codex's `config.toml` and Gemini's `settings.json` are written rarely and hold
//! many code-running keys (MCP servers, hooks, providers, editors, discovery commands, sandbox
//! and approval modes), so they are judged by an allow list: only the answers the agents write
//! by themselves pass; anything else, known or not, is not kept.

use super::json::Value;
use super::Kind;
use std::path::{Component, Path, PathBuf};

/// What to do with one key (and everything below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// The box's change stays.
    Keep,
    /// The launch value stays: this runs code outside the box, or widens what runs unasked.
    Guard,
    /// Judge each member (anything that is not an object is kept).
    Descend,
}

/// Claude Code keys that run code, reach servers or approve tools, wherever they appear.
const CLAUDE_DENY: &[&str] = &[
    "mcpServers",
    "enabledMcpjsonServers",
    "disabledMcpjsonServers",
    "enableAllProjectMcpServers",
    "mcpContextUris",
    "hooks",
    "disableAllHooks",
    "permissions",
    "allowedTools",
    "bypassPermissionsModeAccepted",
    "env",
    "apiKeyHelper",
    "awsAuthRefresh",
    "awsCredentialExport",
    "gcpAuthRefresh",
    "otelHeadersHelper",
    "statusLine",
    "enabledPlugins",
    "extraKnownMarketplaces",
    "sandbox",
];

/// The answers Codex writes by itself (`a.b` is that key and everything below it).
const CODEX_ALLOW: &[&[&str]] = &[
    &["notice"],
    &["tui", "screen_reader_detection_done"],
    &["tui", "model_availability_nux"],
    &["tui", "theme"],
    &["model"],
    &["model_reasoning_effort"],
    &["personality"],
    &["windows_wsl_setup_acknowledged"],
];

/// The answers Gemini CLI writes by itself to `settings.json`.
const GEMINI_ALLOW: &[&[&str]] = &[
    &["$schema"],
    &["ui"],
    &["accessibility"],
    &["ide", "hasSeenNudge"],
    &["security", "auth", "selectedType"],
    &["model", "name"],
    &["privacy", "usageStatisticsEnabled"],
    &["general", "vimMode"],
    &["general", "previewFeatures"],
    &["general", "sessionRetention"],
    &["extensions", "workspacesWithMigrationNudge"],
];

/// What opencode writes by itself to its global config on a first run: only the schema line.
/// Everything else there (MCP servers, plugins, providers and their base URLs, permissions,
/// formatters and LSP commands) is the person's to write.
const OPENCODE_ALLOW: &[&[&str]] = &[&["$schema"]];

/// `key` is an absolute directory at or below the workspace: a trust answer for it trusts only
/// what the box could see anyway.
fn in_workspace(key: &str, workspace: &Path) -> bool {
    let p = Path::new(key);
    if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
        return false;
    }
    let norm: PathBuf = p.components().collect();
    norm.starts_with(workspace)
}

/// The class of `path` under an allow list: kept when listed (or below), looked into when on
/// the way to a listed key, not kept otherwise.
fn allow_list(list: &[&[&str]], path: &[String]) -> Class {
    let mut on_the_way = false;
    for a in list {
        let n = a.len().min(path.len());
        if a[..n].iter().zip(&path[..n]).all(|(x, y)| *x == y) {
            if path.len() >= a.len() {
                return Class::Keep;
            }
            on_the_way = true;
        }
    }
    if on_the_way {
        Class::Descend
    } else {
        Class::Guard
    }
}

/// `now` is one of the answers an agent writes (or the answer was removed).
fn answer(now: Option<&Value>, answers: &[&str]) -> bool {
    match now {
        None => true,
        Some(v) => v.as_str().is_some_and(|s| answers.contains(&s)),
    }
}

/// Whether a value that is not an object, at a key judged member by member, may change: yes
/// under a deny list (only the listed names are guarded), no under an allow list.
pub(super) fn leaves_kept(kind: Kind) -> bool {
    kind == Kind::ClaudeJson
}

/// The class of the key at `path` (from the document's root), whose new value is `now`.
pub(super) fn classify(kind: Kind, path: &[String], now: Option<&Value>, ws: &Path) -> Class {
    let depth = path.len();
    match kind {
        Kind::ClaudeJson => {
            let last = path.last().map(String::as_str).unwrap_or_default();
            if CLAUDE_DENY.contains(&last) {
                return Class::Guard;
            }
            // A trust answer for a directory outside the workspace: the box cannot vouch for
            // what is there.
            let trust = last.starts_with("hasTrustDialog")
                || last.starts_with("hasClaudeMdExternalIncludes");
            if depth == 3 && path[0] == "projects" && trust && !in_workspace(&path[1], ws) {
                return Class::Guard;
            }
            Class::Descend
        }
        Kind::CodexConfig => {
            if depth >= 1 && path[0] == "projects" {
                return match depth {
                    1 => Class::Descend,
                    2 if in_workspace(&path[1], ws) => Class::Descend,
                    3 if path[2] == "trust_level"
                        && in_workspace(&path[1], ws)
                        && answer(now, &["trusted", "untrusted"]) =>
                    {
                        Class::Keep
                    }
                    _ => Class::Guard,
                };
            }
            allow_list(CODEX_ALLOW, path)
        }
        Kind::GeminiSettings => allow_list(GEMINI_ALLOW, path),
        Kind::OpencodeConfig => allow_list(OPENCODE_ALLOW, path),
        Kind::GeminiTrustedFolders => match depth {
            0 => Class::Descend,
            // TRUST_PARENT would trust the directory above the workspace.
            1 if in_workspace(&path[0], ws) && answer(now, &["TRUST_FOLDER", "DO_NOT_TRUST"]) => {
                Class::Keep
            }
            _ => Class::Guard,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn classes() {
        let ws = Path::new("/w/repo");
        let c = |k, path: &[&str], v: Option<&Value>| classify(k, &p(path), v, ws);
        let trusted = Value::Str("trusted".into());
        assert_eq!(c(Kind::ClaudeJson, &["numStartups"], None), Class::Descend);
        assert_eq!(c(Kind::ClaudeJson, &["mcpServers"], None), Class::Guard);
        assert_eq!(
            c(
                Kind::ClaudeJson,
                &["projects", "/w/repo", "allowedTools"],
                None
            ),
            Class::Guard
        );
        assert_eq!(
            c(
                Kind::ClaudeJson,
                &["projects", "/w/repo/sub", "hasTrustDialogAccepted"],
                None
            ),
            Class::Descend
        );
        assert_eq!(
            c(
                Kind::ClaudeJson,
                &["projects", "/w/other", "hasTrustDialogAccepted"],
                None
            ),
            Class::Guard
        );
        assert_eq!(
            c(
                Kind::ClaudeJson,
                &["projects", "/w/repo/../x", "hasTrustDialogAccepted"],
                None
            ),
            Class::Guard
        );
        assert_eq!(c(Kind::OpencodeConfig, &["$schema"], None), Class::Keep);
        for k in [
            "mcp",
            "plugin",
            "provider",
            "permission",
            "formatter",
            "lsp",
        ] {
            assert_eq!(c(Kind::OpencodeConfig, &[k], None), Class::Guard, "{k}");
        }
        assert_eq!(c(Kind::CodexConfig, &["tui"], None), Class::Descend);
        assert_eq!(
            c(Kind::CodexConfig, &["tui", "status_line_provider"], None),
            Class::Guard
        );
        assert_eq!(
            c(Kind::CodexConfig, &["notice", "x", "y"], None),
            Class::Keep
        );
        assert_eq!(c(Kind::CodexConfig, &["mcp_servers"], None), Class::Guard);
        assert_eq!(
            c(
                Kind::CodexConfig,
                &["projects", "/w/repo", "trust_level"],
                Some(&trusted)
            ),
            Class::Keep
        );
        assert_eq!(
            c(
                Kind::CodexConfig,
                &["projects", "/elsewhere", "trust_level"],
                Some(&trusted)
            ),
            Class::Guard
        );
        assert_eq!(
            c(
                Kind::CodexConfig,
                &["projects", "/w/repo", "trust_level"],
                Some(&Value::Bool(true))
            ),
            Class::Guard
        );
        assert_eq!(c(Kind::GeminiSettings, &["security"], None), Class::Descend);
        assert_eq!(
            c(
                Kind::GeminiSettings,
                &["security", "folderTrust", "enabled"],
                None
            ),
            Class::Guard
        );
        assert_eq!(c(Kind::GeminiSettings, &["ui", "theme"], None), Class::Keep);
        let tf = Value::Str("TRUST_FOLDER".into());
        let tp = Value::Str("TRUST_PARENT".into());
        assert_eq!(
            c(Kind::GeminiTrustedFolders, &["/w/repo"], Some(&tf)),
            Class::Keep
        );
        assert_eq!(
            c(Kind::GeminiTrustedFolders, &["/w/repo"], Some(&tp)),
            Class::Guard
        );
        assert_eq!(
            c(Kind::GeminiTrustedFolders, &["/"], Some(&tf)),
            Class::Guard
        );
    }
}
