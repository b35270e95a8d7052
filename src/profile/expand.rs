//! Path expansion: `~`, `${VAR}` and `${VAR:-fallback}` against a fixed variable set.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Variables available to profile paths.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    map: BTreeMap<String, String>,
    /// The caller's environment, consulted after `map`.
    env: BTreeMap<String, String>,
}

impl Vars {
    /// The standard set: HOME, WORKSPACE, TMPDIR (the box's), XDG_*, USER, UID; then the caller's environment.
    pub fn standard(home: &str, workspace: &str, box_tmp: &str) -> Self {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::with_env(
            home,
            workspace,
            box_tmp,
            env,
            nix::unistd::getuid().as_raw(),
            &crate::user::name(),
        )
    }

    /// The standard set over a given environment, uid and user name (the planner's host facts).
    pub fn with_env(
        home: &str,
        workspace: &str,
        box_tmp: &str,
        env: BTreeMap<String, String>,
        uid: u32,
        user: &str,
    ) -> Self {
        let mut map = BTreeMap::new();
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        map.insert("HOME".into(), home.to_string());
        map.insert("WORKSPACE".into(), workspace.to_string());
        map.insert("TMPDIR".into(), box_tmp.to_string());
        let xdg = [
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_CACHE_HOME", ".cache"),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_STATE_HOME", ".local/state"),
        ];
        for (k, d) in xdg {
            map.insert(k.into(), get(k).unwrap_or_else(|| format!("{home}/{d}")));
        }
        map.insert("UID".into(), uid.to_string());
        map.insert(
            "XDG_RUNTIME_DIR".into(),
            get("XDG_RUNTIME_DIR").unwrap_or_else(|| format!("/run/user/{uid}")),
        );
        map.insert("USER".into(), user.to_string());
        Vars { map, env }
    }

    /// Set one variable.
    pub fn set(&mut self, k: &str, v: &str) {
        self.map.insert(k.to_string(), v.to_string());
    }

    fn get(&self, k: &str) -> Option<String> {
        self.map
            .get(k)
            .or_else(|| self.env.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    }

    /// Expand one path; `Ok(None)` when a variable without fallback is unset (the entry is skipped).
    pub fn expand(&self, raw: &str) -> Result<Option<PathBuf>, String> {
        // Errors quote the path as written (when showable), never the expansion: a
        // variable's value may be a secret.
        let path = || crate::scrub::quote(raw);
        let out = match self.substitute(raw, false) {
            Ok(Sub::Value(v)) => v,
            Ok(Sub::Unset(_)) => return Ok(None),
            Err(e) => return Err(format!("path {}: {e}", path())),
        };
        if !out.starts_with('/') {
            return Err(format!("path {} is not absolute after expansion", path()));
        }
        Ok(Some(normalize(&out)))
    }

    /// Expand a value (`env.set`) the same way, with `$$` for a literal `$`; an unset variable
    /// without fallback is an error (a silently empty value would be a surprise).
    pub fn expand_value(&self, raw: &str) -> Result<String, String> {
        // The value is a (test) credential: errors name the variable, never the value.
        match self.substitute(raw, true)? {
            Sub::Value(v) => Ok(v),
            Sub::Unset(name) => Err(format!(
                "variable {} is not set",
                crate::scrub::quote(&name)
            )),
        }
    }

    /// `~` at the start, then `${VAR}`, `$VAR` and `${VAR:-fallback}` (`$$` is `$` when
    /// `escapes`); [`Sub::Unset`] when a variable without fallback is unset. Errors never
    /// quote `raw` (it may be a credential); callers add what it is.
    fn substitute(&self, raw: &str, escapes: bool) -> Result<Sub, String> {
        let s = if raw == "~" || raw.starts_with("~/") {
            match self.get("HOME") {
                Some(h) => format!("{h}{}", &raw[1..]),
                None => return Ok(Sub::Unset("HOME".into())),
            }
        } else {
            raw.to_string()
        };
        let mut out = String::new();
        let mut rest = s.as_str();
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('$').filter(|_| escapes) {
                out.push('$');
                rest = r;
                continue;
            }
            let (name, fallback, next) = if let Some(body) = after.strip_prefix('{') {
                let end = body.find('}').ok_or_else(|| "unclosed `${`".to_string())?;
                let inner = &body[..end];
                let (name, fallback) = match inner.find(":-") {
                    Some(j) => (&inner[..j], Some(&inner[j + 2..])),
                    None => (inner, None),
                };
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!("bad variable name {}", crate::scrub::quote(name)));
                }
                (name, fallback, &body[end + 1..])
            } else {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                if n == 0 {
                    out.push('$');
                    rest = after;
                    continue;
                }
                (&after[..n], None, &after[n..])
            };
            match (self.get(name), fallback) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(fb)) => match self.substitute(fb, escapes)? {
                    Sub::Value(v) => out.push_str(&v),
                    unset => return Ok(unset),
                },
                (None, None) => return Ok(Sub::Unset(name.to_string())),
            }
            rest = next;
        }
        out.push_str(rest);
        Ok(Sub::Value(out))
    }
}

/// Result of a substitution.
enum Sub {
    /// Every variable was set.
    Value(String),
    /// This variable (without fallback) is not set.
    Unset(String),
}

/// Replace a leading `~` with $HOME (for command-line paths).
pub fn tilde(p: &str) -> String {
    if p == "~" || p.starts_with("~/") {
        if let Ok(h) = std::env::var("HOME") {
            return format!("{h}{}", &p[1..]);
        }
    }
    p.to_string()
}

/// Lexical normalization: drop `.`, resolve `..`, collapse slashes (no symlink resolution).
pub fn normalize(p: &str) -> PathBuf {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    PathBuf::from(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.set("HOME", "/home/u");
        v.set("WORKSPACE", "/w/repo");
        v.set("XDG_CACHE_HOME", "/home/u/.cache");
        v
    }

    #[test]
    fn tilde_and_vars() {
        let v = vars();
        assert_eq!(v.expand("~/.ssh").unwrap(), Some("/home/u/.ssh".into()));
        assert_eq!(
            v.expand("${WORKSPACE}/x").unwrap(),
            Some("/w/repo/x".into())
        );
        assert_eq!(v.expand("$HOME/a/../b").unwrap(), Some("/home/u/b".into()));
        assert_eq!(
            v.expand("${XDG_CACHE_HOME}/cargo").unwrap(),
            Some("/home/u/.cache/cargo".into())
        );
    }

    #[test]
    fn fallback_and_unset() {
        let v = vars();
        assert_eq!(
            v.expand("${AGENTBOX_TEST_UNSET_VAR:-~/.cargo}").unwrap(),
            Some("/home/u/.cargo".into())
        );
        assert_eq!(v.expand("${AGENTBOX_TEST_UNSET_VAR}/x").unwrap(), None);
    }

    #[test]
    fn values() {
        let v = vars();
        assert_eq!(v.expand_value("~/.claude").unwrap(), "/home/u/.claude");
        assert_eq!(
            v.expand_value("${WORKSPACE}/x:$HOME").unwrap(),
            "/w/repo/x:/home/u"
        );
        assert_eq!(v.expand_value("cost $$5").unwrap(), "cost $5");
        assert_eq!(v.expand_value("plain").unwrap(), "plain");
        assert!(v.expand_value("${AGENTBOX_TEST_UNSET_VAR}").is_err());
        assert_eq!(
            v.expand_value("${AGENTBOX_TEST_UNSET_VAR:-d}").unwrap(),
            "d"
        );
    }

    #[test]
    fn errors() {
        let v = vars();
        assert!(v.expand("relative/path").is_err());
        assert!(v.expand("${HOME").is_err());
        assert!(v.expand("${B@D}").is_err());
    }

    #[test]
    fn errors_never_quote_values_or_expansions() {
        let mut v = vars();
        let tok = format!(
            "{}{}",
            "gh",
            format_args!("p_{}", "Zr8Qm3Xv7Lp2Wn6Kt1Hy".repeat(2))
        );
        v.set("NOTE", &tok);
        // An env.set value is a credential: named by the unset variable only.
        let e = v
            .expand_value(&format!("{tok}${{AGENTBOX_TEST_UNSET_VAR}}"))
            .unwrap_err();
        assert_eq!(e, "variable `AGENTBOX_TEST_UNSET_VAR` is not set");
        let e = v.expand_value(&format!("{tok}${{")).unwrap_err();
        assert_eq!(e, "unclosed `${`");
        // A path is quoted as written, never expanded.
        let e = v.expand("${NOTE}/x").unwrap_err();
        assert_eq!(e, "path `${NOTE}/x` is not absolute after expansion");
        let e = v.expand(&format!("/{tok}/${{X")).unwrap_err();
        assert_eq!(e, "path (value not shown): unclosed `${`");
    }
}
