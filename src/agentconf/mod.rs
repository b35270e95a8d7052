//! Agents' own configuration files, judged key by key after the run (like git's config).
//!
//! The agents keep their first-run answers (folder trust, onboarding, auth method, tips) in the
//! same files as what makes code run at their next start: MCP servers, hooks, permission rules,
//! helper commands, model providers. Read-only, these files make the agent ask its first-run
//! questions at every launch; writable and unjudged, an MCP server planted there runs at the
//! person's next unboxed `claude`. So a profile lists them under `filesystem.agent_config`: the
//! box may write them, and after the run (every process of the box dead) each change is judged
//! by the rules of the file's [`Kind`]: what only the agent's own answers touch stays; a change
//! to anything else is not kept, the box's version goes to the quarantine and the summary
//! names the keys (never values).

pub mod json;
mod rules;

use json::Value;
use rules::Class;
use std::path::Path;

/// Which agent file, and so which rules and format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Claude Code's `~/.claude.json` (onboarding, per-project trust and history; also MCP
    /// servers and allowed tools).
    ClaudeJson,
    /// Codex's `config.toml` (trust levels, notices; also MCP servers, notify, providers).
    CodexConfig,
    /// Gemini CLI's `settings.json` (auth method, theme; also MCP servers, hooks, tools).
    GeminiSettings,
    /// Gemini CLI's `trustedFolders.json`.
    GeminiTrustedFolders,
    /// opencode's `opencode.json(c)` (the `$schema` line it writes on a first run; also MCP
    /// servers, plugins, providers, permissions).
    OpencodeConfig,
}

/// How a file of some kind is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    /// JSON with comments (a rewrite would lose them: changes not kept revert the whole file).
    Jsonc,
    /// TOML (agentbox writes no TOML: changes not kept revert the whole file).
    Toml,
}

impl Kind {
    fn format(self) -> Format {
        match self {
            Kind::ClaudeJson | Kind::GeminiTrustedFolders => Format::Json,
            Kind::GeminiSettings | Kind::OpencodeConfig => Format::Jsonc,
            Kind::CodexConfig => Format::Toml,
        }
    }

    /// What agentbox writes when the file is missing at launch and must exist for the box to
    /// write it at all (a file directly in the home directory, which stays read-only).
    pub fn initial(self) -> Option<&'static [u8]> {
        match self {
            Kind::ClaudeJson => Some(b"{}\n"),
            _ => None,
        }
    }

    /// The kebab-case name (as in profiles).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ClaudeJson => "claude-json",
            Kind::CodexConfig => "codex-config",
            Kind::GeminiSettings => "gemini-settings",
            Kind::GeminiTrustedFolders => "gemini-trusted-folders",
            Kind::OpencodeConfig => "opencode-config",
        }
    }
}

/// One key whose change is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The key path, segments joined by `.` (a segment that is not plain is not shown).
    pub key: String,
    /// Added, changed or removed.
    pub what: ChangeKind,
}

/// How a key changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Not there at launch.
    Added,
    /// Another value.
    Changed,
    /// Gone.
    Removed,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = match self.what {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
        };
        write!(f, "{} ({w})", self.key)
    }
}

/// The verdict on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing that runs outside the box changed: the box's version stays.
    Keep,
    /// The box's version without the changes named, the rest of them kept.
    Rewrite {
        /// The new content.
        content: Vec<u8>,
        /// What is not kept.
        not_kept: Vec<Change>,
    },
    /// The launch version goes back whole (or the file goes, if it was not there).
    Revert {
        /// What is not kept (empty when the file could not be judged).
        not_kept: Vec<Change>,
        /// Why the whole file, when it is not a rewrite.
        why: &'static str,
    },
}

fn parse(kind: Kind, bytes: &[u8]) -> Option<(Value, bool)> {
    match kind.format() {
        Format::Json => json::parse_json(bytes).map(|v| (v, false)),
        Format::Jsonc => json::parse_jsonc(bytes),
        // As if commented: never rewritten.
        Format::Toml => json::parse_toml(bytes).map(|v| (v, true)),
    }
}

/// Judge the change from `before` (at launch; `None`: no file) to `after` (now; `None`: gone).
pub fn judge(kind: Kind, before: Option<&[u8]>, after: Option<&[u8]>, workspace: &Path) -> Verdict {
    if before == after {
        return Verdict::Keep;
    }
    let revert = |why| Verdict::Revert {
        not_kept: vec![],
        why,
    };
    let Some(after) = after else {
        return revert("removed during the run");
    };
    let (b, b_comments) = match before.map(|b| parse(kind, b)) {
        None => (None, false),
        Some(Some((v, c))) => (Some(v), c),
        Some(None) => {
            return revert("it could not be read at launch, so its change cannot be judged")
        }
    };
    let Some((a, a_comments)) = parse(kind, after) else {
        return revert("the box left it unreadable");
    };
    if b.as_ref().is_some_and(|b| b.as_obj().is_none()) || a.as_obj().is_none() {
        return revert("not a document of keys");
    }
    let mut not_kept = Vec::new();
    let merged = walk(
        kind,
        &mut Vec::new(),
        b.as_ref(),
        Some(&a),
        workspace,
        &mut not_kept,
    );
    if not_kept.is_empty() {
        return Verdict::Keep;
    }
    // Agentbox writes no TOML, and a rewrite would lose comments: the launch version then.
    let whole = a_comments || b_comments;
    let empty = merged
        .as_ref()
        .and_then(Value::as_obj)
        .is_none_or(<[_]>::is_empty);
    if whole || (b.is_none() && empty) {
        return Verdict::Revert {
            not_kept,
            why: "the whole file goes back to its launch state",
        };
    }
    let newline = after.ends_with(b"\n");
    Verdict::Rewrite {
        content: json::to_pretty(&merged.unwrap_or(Value::Obj(vec![])), newline),
        not_kept,
    }
}

/// The merged value at `path`: the box's where it may change, the launch one where not; each
/// change not kept goes to `out`.
fn walk(
    kind: Kind,
    path: &mut Vec<String>,
    b: Option<&Value>,
    a: Option<&Value>,
    ws: &Path,
    out: &mut Vec<Change>,
) -> Option<Value> {
    if b == a {
        return a.cloned();
    }
    let class = if path.is_empty() {
        Class::Descend
    } else {
        rules::classify(kind, path, a, ws)
    };
    let objs = (b.map(Value::as_obj), a.map(Value::as_obj));
    match (class, objs) {
        (Class::Keep, _) => a.cloned(),
        (Class::Guard, _) => {
            out.push(change(path, b, a));
            b.cloned()
        }
        // Both objects, or an object added or removed whole: member by member.
        (Class::Descend, (None | Some(Some(_)), None | Some(Some(_)))) => {
            let bo = b.and_then(Value::as_obj).unwrap_or_default();
            let ao = a.and_then(Value::as_obj).unwrap_or_default();
            let mut keys: Vec<&String> = ao.iter().map(|(k, _)| k).collect();
            keys.extend(
                bo.iter()
                    .map(|(k, _)| k)
                    .filter(|k| !ao.iter().any(|(x, _)| x == *k)),
            );
            let mut merged = Vec::new();
            for k in keys {
                path.push(k.clone());
                let bv = bo.iter().find(|(x, _)| x == k).map(|(_, v)| v);
                let av = ao.iter().find(|(x, _)| x == k).map(|(_, v)| v);
                if let Some(v) = walk(kind, path, bv, av, ws, out) {
                    merged.push((k.clone(), v));
                }
                path.pop();
            }
            (a.is_some() || !merged.is_empty()).then_some(Value::Obj(merged))
        }
        // An object turned into something else or back: judged as the object against nothing;
        // if any of it is not kept, the launch value stays whole.
        (Class::Descend, _) => {
            let before = out.len();
            let obj = [b, a].into_iter().flatten().find(|v| v.as_obj().is_some());
            if let Some(o) = obj {
                let (bb, aa) = if b == Some(o) {
                    (Some(o), None)
                } else {
                    (None, Some(o))
                };
                walk(kind, path, bb, aa, ws, out);
            }
            if obj.is_none() && !rules::leaves_kept(kind) {
                // A value where only listed keys may change: not one of them.
                out.push(change(path, b, a));
                return b.cloned();
            }
            if out.len() > before {
                b.cloned()
            } else {
                a.cloned()
            }
        }
    }
}

fn change(path: &[String], b: Option<&Value>, a: Option<&Value>) -> Change {
    let key = path
        .iter()
        .map(|s| crate::scrub::shown(s).into_owned())
        .collect::<Vec<_>>()
        .join(".");
    let what = match (b, a) {
        (None, _) => ChangeKind::Added,
        (_, None) => ChangeKind::Removed,
        _ => ChangeKind::Changed,
    };
    Change { key, what }
}

#[cfg(test)]
mod tests;
