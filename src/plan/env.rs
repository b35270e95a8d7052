//! Environment policy: which variables the child gets, which are removed and why (names only).

use crate::detect;
use crate::plan::fs::glob_match;
use crate::profile::expand::Vars;
use crate::profile::model::{Env, Inherit};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Variables kept under `inherit: core`.
pub const CORE: &[&str] = &[
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "USER",
    "USERNAME",
    "TERM",
    "COLORTERM",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "COLUMNS",
    "LINES",
];

/// A removed variable: the name and why, never the value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Removed {
    /// Variable name.
    pub name: String,
    /// Why it was removed.
    pub reason: String,
}

/// A flagged variable kept on purpose.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Kept {
    /// Variable name.
    pub name: String,
    /// What would have removed it.
    pub flagged: String,
    /// What kept it.
    pub by: String,
}

/// A dotenv file loaded into the child.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileLoad {
    /// Path.
    pub path: String,
    /// Names it set (values never shown).
    pub names: Vec<String>,
    /// It did not exist and was skipped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
}

/// What the person's allow-list (`~/.config/agentbox/allow.yaml`) holds, by count only: its
/// values and patterns may be secrets.
#[derive(Debug, Clone, Serialize, Default)]
pub struct AllowListPlan {
    /// The file looked for (none without HOME and XDG_CONFIG_HOME).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<std::path::PathBuf>,
    /// Whether it was applied.
    pub state: AllowListState,
    /// Exact values never flagged.
    pub values: usize,
    /// Patterns a finding may match whole.
    pub patterns: usize,
    /// Variables kept even when flagged.
    pub names: usize,
}

/// Whether the allow-list applies.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AllowListState {
    /// No file (or nowhere to look).
    #[default]
    Absent,
    /// Loaded and applied.
    Applied,
    /// It lies inside the workspace: a repository cannot loosen its own cage, so it was not
    /// read.
    IgnoredInWorkspace,
}

impl AllowListPlan {
    /// The plan's view of a source and what loaded from it.
    pub fn new(source: &detect::personal::Source, loaded: Option<&detect::PersonalAllow>) -> Self {
        use detect::personal::Source as S;
        let (file, state) = match source {
            S::Nowhere => (None, AllowListState::Absent),
            S::Missing(p) | S::Unreadable(p, _) => (Some(p.clone()), AllowListState::Absent),
            S::InWorkspace(p) => (Some(p.clone()), AllowListState::IgnoredInWorkspace),
            S::Text(p, _) => (Some(p.clone()), AllowListState::Applied),
        };
        AllowListPlan {
            file,
            state,
            values: loaded.map_or(0, |a| a.value_count()),
            patterns: loaded.map_or(0, |a| a.pattern_count()),
            names: loaded.map_or(0, |a| a.name_count()),
        }
    }
}

/// The environment part of the plan (names only).
#[derive(Debug, Clone, Serialize, Default)]
pub struct EnvPlan {
    /// Starting set.
    pub inherit: String,
    /// Variables removed, with reasons.
    pub removed: Vec<Removed>,
    /// Flagged variables kept on purpose.
    pub kept_on_purpose: Vec<Kept>,
    /// Variables not inherited because of `inherit: core|none` (count only).
    pub not_inherited: usize,
    /// Names set by the profile.
    pub set: Vec<String>,
    /// dotenv files.
    pub files: Vec<FileLoad>,
    /// Names agentbox adds itself.
    pub added: Vec<String>,
    /// Credentials the box holds as a placeholder (the real value stays with agentbox).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placeholders: Vec<String>,
    /// The person's allow-list of false positives (counts only).
    pub allow_list: AllowListPlan,
}

/// The child's environment. Deliberately no Debug: it holds values.
pub struct ChildEnv {
    /// Name/value pairs, in order.
    pub vars: BTreeMap<OsString, OsString>,
    /// Values that were removed because they are secrets (for output masking only).
    #[allow(dead_code)] // read by output masking
    pub removed_values: Vec<String>,
}

/// Parse dotenv text: `KEY=VALUE`, optional `export `, quotes, `#` comments.
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            v[1..v.len() - 1].to_string()
        } else {
            // Unquoted: a ` #` starts a comment.
            match v.find(" #") {
                Some(i) => v[..i].trim_end().to_string(),
                None => v.to_string(),
            }
        };
        out.push((k.to_string(), v));
    }
    out
}

fn matches_any(name: &str, pats: &[String]) -> Option<String> {
    pats.iter().find(|p| glob_match(p, name)).cloned()
}

/// Inputs beyond the profile.
pub struct EnvInputs<'a> {
    /// `--allow-env` names.
    pub cli_allow: &'a [String],
    /// Profile name for AGENTBOX_PROFILE.
    pub profile_name: &'a str,
    /// The box's temporary directory.
    pub tmpdir: &'a str,
    /// Extra variables agentbox sets (proxy settings).
    pub extra: Vec<(String, String)>,
    /// The person's allow-list, if one applies.
    pub personal: Option<&'a detect::PersonalAllow>,
}

/// Compute the child's environment from the caller's and the policy.
pub fn compute(
    policy: &Env,
    vars: &Vars,
    inputs: &EnvInputs,
    caller: impl Iterator<Item = (OsString, OsString)>,
) -> Result<(EnvPlan, ChildEnv), String> {
    let inherit = policy.inherit.unwrap_or_default();
    let mut plan = EnvPlan {
        inherit: format!("{inherit:?}").to_lowercase(),
        ..Default::default()
    };
    let mut out: BTreeMap<OsString, OsString> = BTreeMap::new();
    let mut removed_values = Vec::new();
    let core: Vec<String> = CORE.iter().map(|s| s.to_string()).collect();
    for (k, v) in caller {
        let name = match k.to_str() {
            Some(n) => n.to_string(),
            None => {
                plan.removed.push(Removed {
                    name: String::from_utf8_lossy(k.as_bytes()).into_owned(),
                    reason: "name is not valid UTF-8".into(),
                });
                continue;
            }
        };
        let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
        let allowed_by = matches_any(&name, &policy.allow)
            .map(|p| format!("env.allow `{p}`"))
            .or_else(|| matches_any(&name, inputs.cli_allow).map(|p| format!("--allow-env {p}")));
        let inherited = match inherit {
            Inherit::All => true,
            Inherit::Core => matches_any(&name, &core).is_some(),
            Inherit::None => false,
        };
        if !inherited && allowed_by.is_none() {
            plan.not_inherited += 1;
            continue;
        }
        if let Some(p) = matches_any(&name, &policy.deny) {
            plan.removed.push(Removed {
                name,
                reason: format!("denied by env.deny `{p}`"),
            });
            if value.len() >= 8 {
                removed_values.push(value);
            }
            continue;
        }
        if let Some(r) = detect::classify_env_allowing(&name, &value, inputs.personal) {
            let by_person =
                inputs
                    .personal
                    .filter(|a| a.keeps_name(&name))
                    .map(|a| match &a.source {
                        Some(p) => format!("names in {}", p.display()),
                        None => "the allow-list's names".to_string(),
                    });
            if let Some(by) = allowed_by.or(by_person) {
                plan.kept_on_purpose.push(Kept {
                    name: name.clone(),
                    flagged: r.detail,
                    by,
                });
            } else {
                // A capability variable's value is a path; the secret is what it points to.
                let mask = !matches!(r.kind, detect::ReasonKind::CapabilityName);
                plan.removed.push(Removed {
                    name,
                    reason: r.detail,
                });
                if mask && value.len() >= 8 {
                    removed_values.push(value);
                }
                continue;
            }
        }
        out.insert(k, v);
    }
    load_files(policy, vars, &mut plan, &mut out)?;
    for (k, v) in &policy.set {
        plan.set.push(k.clone());
        let v = vars
            .expand_value(v)
            .map_err(|e| format!("env.set {}: {e}", crate::scrub::shown(k)))?;
        out.insert(k.into(), v.into());
    }
    let mut add = |k: &str, v: &str, plan: &mut EnvPlan| {
        plan.added.push(k.to_string());
        out.insert(k.into(), v.into());
    };
    for k in ["TMPDIR", "TMP", "TEMP"] {
        add(k, inputs.tmpdir, &mut plan);
    }
    add("AGENTBOX", "1", &mut plan);
    add("AGENTBOX_PROFILE", inputs.profile_name, &mut plan);
    for (k, v) in &inputs.extra {
        add(k, v, &mut plan);
    }
    plan.removed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((
        plan,
        ChildEnv {
            vars: out,
            removed_values,
        },
    ))
}

/// `env.files`: dotenv files of test credentials, loaded by name (a missing one is noted).
fn load_files(
    policy: &Env,
    vars: &Vars,
    plan: &mut EnvPlan,
    out: &mut BTreeMap<OsString, OsString>,
) -> Result<(), String> {
    for raw in &policy.files {
        let Some(path) = vars.expand(raw).map_err(|e| format!("env.files: {e}"))? else {
            continue;
        };
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut names = Vec::new();
                for (k, v) in parse_dotenv(&text) {
                    names.push(k.clone());
                    out.insert(k.into(), v.into());
                }
                plan.files.push(FileLoad {
                    path: shown,
                    names,
                    missing: false,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => plan.files.push(FileLoad {
                path: shown,
                names: vec![],
                missing: true,
            }),
            // The entry as written: its expansion may hold a variable's (secret) value.
            Err(e) => {
                return Err(format!(
                    "env.files {}: cannot read: {e}",
                    crate::scrub::quote(raw)
                ))
            }
        }
    }
    Ok(())
}

/// Credentials the box holds as a placeholder: the variable's real value leaves the child's
/// environment (the run puts the placeholder there), its value is masked in the output, and
/// the plan lists the name as a placeholder rather than as removed or kept.
pub fn hold_placeholders(
    plan: &mut EnvPlan,
    child: &mut ChildEnv,
    creds: &crate::plan::cred::CredentialPlan,
    facts: &crate::plan::HostFacts,
) {
    use crate::plan::cred::ValueSource;
    for c in creds.injected() {
        if let Some(v) = child.vars.remove(OsStr::new(&c.name)) {
            drop(v);
        }
        let src = match &c.source {
            ValueSource::Env(v) => v.as_str(),
            ValueSource::File(_) => c.name.as_str(),
        };
        for n in [c.name.as_str(), src] {
            if let Some(v) = facts.var(n).filter(|v| v.len() >= 8) {
                if !child.removed_values.iter().any(|x| x == v) {
                    child.removed_values.push(v.to_string());
                }
            }
        }
        child.vars.remove(OsStr::new(src));
        plan.removed.retain(|r| r.name != c.name);
        plan.kept_on_purpose.retain(|k| k.name != c.name);
        plan.placeholders.push(c.name.clone());
    }
}

impl ChildEnv {
    /// Look a variable up.
    pub fn get(&self, k: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(k)).map(|v| v.as_os_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(policy: &Env, caller: &[(&str, &str)], allow: &[String]) -> (EnvPlan, ChildEnv) {
        let vars = Vars::default();
        let inputs = EnvInputs {
            cli_allow: allow,
            profile_name: "t",
            tmpdir: "/tmp/x",
            extra: vec![],
            personal: None,
        };
        compute(
            policy,
            &vars,
            &inputs,
            caller
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
        .unwrap()
    }

    #[test]
    fn removes_and_keeps() {
        let (plan, env) = run(
            &Env::default(),
            &[
                ("PATH", "/usr/bin"),
                ("GITHUB_TOKEN", "abcdefgh12345678"),
                ("TOKENIZERS_PARALLELISM", "false"),
                ("SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1"),
            ],
            &[],
        );
        let names: Vec<&str> = plan.removed.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["GITHUB_TOKEN", "SSH_AUTH_SOCK"]);
        assert!(env.get("PATH").is_some());
        assert!(env.get("TOKENIZERS_PARALLELISM").is_some());
        assert_eq!(env.get("AGENTBOX").unwrap(), "1");
        assert_eq!(env.get("TMPDIR").unwrap(), "/tmp/x");
        // Compared without assert_eq!, which would print the value on failure.
        assert!(
            env.removed_values == ["abcdefgh12345678"],
            "{} removed values, not the expected one (not printed)",
            env.removed_values.len()
        );
    }

    #[test]
    fn allow_keeps_flagged_and_says_so() {
        let policy = Env {
            allow: vec!["OPENAI_API_KEY".into()],
            ..Default::default()
        };
        let (plan, env) = run(
            &policy,
            &[("OPENAI_API_KEY", "k"), ("GH_TOKEN", "t")],
            &["GH_TOKEN".into()],
        );
        assert!(env.get("OPENAI_API_KEY").is_some());
        assert!(env.get("GH_TOKEN").is_some());
        assert_eq!(plan.kept_on_purpose.len(), 2);
        assert!(plan
            .kept_on_purpose
            .iter()
            .any(|k| k.by.contains("--allow-env")));
    }

    #[test]
    fn inherit_core_and_none() {
        let policy = Env {
            inherit: Some(Inherit::Core),
            ..Default::default()
        };
        let (plan, env) = run(
            &policy,
            &[("PATH", "/bin"), ("LC_ALL", "C"), ("RANDOM_THING", "1")],
            &[],
        );
        assert!(env.get("PATH").is_some() && env.get("LC_ALL").is_some());
        assert!(env.get("RANDOM_THING").is_none());
        assert_eq!(plan.not_inherited, 1);
        let policy = Env {
            inherit: Some(Inherit::None),
            set: [("FOO".to_string(), "bar".to_string())].into(),
            ..Default::default()
        };
        let (_, env) = run(&policy, &[("PATH", "/bin")], &[]);
        assert!(env.get("PATH").is_none());
        assert_eq!(env.get("FOO").unwrap(), "bar");
    }

    #[test]
    fn deny_globs() {
        let policy = Env {
            deny: vec!["MY_*".into()],
            ..Default::default()
        };
        let (plan, env) = run(&policy, &[("MY_THING", "x"), ("OTHER", "y")], &[]);
        assert!(env.get("MY_THING").is_none());
        assert!(plan.removed[0].reason.contains("env.deny"));
    }

    #[test]
    fn dotenv() {
        let v = parse_dotenv(
            "# c\nexport A=1\nB=\"two words\"\nC='x' \nD=plain # comment\nbad line\n1X=\n",
        );
        assert_eq!(
            v,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x".into()),
                ("D".into(), "plain".into()),
                ("1X".into(), "".into()),
            ]
        );
    }
}
