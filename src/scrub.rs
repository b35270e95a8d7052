//! Text for the terminal: agentbox's own errors, warnings and printouts quote what a person
//! typed (a profile name, a host, a path), and must never carry a secret doing so.
//!
//! Two tools, both on the one detector engine:
//! - [`text`] masks every secret in a finished message: the engine's findings and the exact
//!   values of the secret variables in agentbox's own environment become
//!   `[REDACTED:rule-id]`, as `agentbox redact` does. Every top-level printer uses it.
//! - [`showable`] decides whether a user-supplied value may be quoted at all; [`quote`] and
//!   [`shown`] apply it. Messages name the key and what is wrong, and add the value only
//!   when it passes.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::detect::Engine;
use crate::redact::{ExactValues, Redactor};

/// Longest value that may be quoted: names, hosts and short paths fit; blobs do not.
const MAX_SHOWN: usize = 160;
/// A run of letters and digits this long that mixes digits with letters, or both cases, reads
/// as random: the body of a token, a key or a hash.
const RANDOM_RUN: usize = 12;
/// Secret values shorter than this are not looked for (they would match ordinary words).
const MIN_EXACT: usize = 8;

/// The values of the secret variables in agentbox's environment (read once per process).
fn env_values() -> &'static [String] {
    static V: OnceLock<Vec<String>> = OnceLock::new();
    V.get_or_init(|| {
        let mut v = crate::redact::env_secret_values();
        v.retain(|s| s.len() >= MIN_EXACT);
        v
    })
}

/// What the exact matcher looks for, indexed by first byte.
fn env_patterns() -> &'static [Vec<Vec<u8>>] {
    static P: OnceLock<Vec<Vec<Vec<u8>>>> = OnceLock::new();
    P.get_or_init(|| {
        let mut by_first = vec![Vec::new(); 256];
        for p in crate::redact::exact_patterns(env_values()) {
            by_first[usize::from(p[0])].push(p);
        }
        by_first
    })
}

/// The exact matcher, when `msg` may hold one of the values: building it costs more than
/// most messages take to print, and most messages hold none (a quick scan decides; JSON
/// escapes and terminal colours need the matcher's decoding, so they always get it).
fn exact_for(msg: &[u8]) -> ExactValues {
    if env_values().is_empty() {
        return ExactValues::default();
    }
    let by_first = env_patterns();
    let maybe = msg.iter().enumerate().any(|(i, &b)| {
        b == b'\\'
            || b == 0x1b
            || by_first[usize::from(b)]
                .iter()
                .any(|p| msg[i..].starts_with(p))
    });
    if !maybe {
        return ExactValues::default();
    }
    static E: OnceLock<ExactValues> = OnceLock::new();
    E.get_or_init(|| ExactValues::for_messages(env_values()))
        .clone()
}

/// `msg` with every secret the engine finds, and every secret value of agentbox's own
/// environment (with its common encodings), replaced by `[REDACTED:rule-id]`.
pub fn text(msg: &str) -> String {
    let mut r = Redactor::with_exact(Engine::builtin(), exact_for(msg.as_bytes()));
    let mut out = Vec::with_capacity(msg.len());
    // Writing to a Vec cannot fail.
    let _ = r.push(msg.as_bytes(), &mut out);
    let _ = r.finish(&mut out);
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Whether a user-supplied value may appear in a message. The rule: at most 160 bytes;
/// only ASCII letters, digits and `._-/~:*@+$={}[],` (no spaces, quotes or control
/// characters, so it cannot pass for message text); no run of 12+ letters and digits that
/// mixes digits with letters or both cases (token bodies are such runs; names and words are
/// not); no finding of the detector engine; no secret value of agentbox's environment in it.
/// So `defualt`, `api.exmaple.com:443` or `${HOME}/.cache` are shown, and a short
/// random-looking value that is none of those is indistinguishable from a name and shown too.
pub fn showable(v: &str) -> bool {
    if v.is_empty() || v.len() > MAX_SHOWN {
        return false;
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-/~:*@+$={}[],".contains(&b))
    {
        return false;
    }
    if v.split(|c: char| !c.is_ascii_alphanumeric())
        .any(looks_random)
    {
        return false;
    }
    if !Engine::builtin().find(v.as_bytes()).is_empty() {
        return false;
    }
    !env_values()
        .iter()
        .any(|s| v.contains(s.as_str()) || (v.len() >= MIN_EXACT && s.contains(v)))
}

fn looks_random(run: &str) -> bool {
    if run.len() < RANDOM_RUN {
        return false;
    }
    let digits = run.bytes().filter(u8::is_ascii_digit).count();
    if digits > 0 && digits < run.len() {
        return true;
    }
    let upper = run.bytes().filter(u8::is_ascii_uppercase).count();
    let lower = run.bytes().filter(u8::is_ascii_lowercase).count();
    upper.min(lower) * 4 > upper + lower
}

/// Said in place of a value that is not shown.
pub const NOT_SHOWN: &str = "(value not shown)";

/// `` `v` `` when [`showable`], else [`NOT_SHOWN`].
pub fn quote(v: &str) -> String {
    if showable(v) {
        format!("`{v}`")
    } else {
        NOT_SHOWN.to_string()
    }
}

/// `v` itself when [`showable`], else [`NOT_SHOWN`].
pub fn shown(v: &str) -> Cow<'_, str> {
    if showable(v) {
        Cow::Borrowed(v)
    } else {
        Cow::Borrowed(NOT_SHOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Token-shaped test values, assembled at run time.
    fn token() -> String {
        let body: String = "Zr8Qm3Xv7Lp2Wn6Kt1Hy5Bd9Fs4Gj0Ca3E"
            .chars()
            .cycle()
            .take(36)
            .collect();
        format!("{}{}", "gh", format_args!("p_{body}"))
    }

    #[test]
    fn names_are_shown_and_tokens_are_not() {
        for ok in [
            "defualt",
            "rust-dev",
            "./team.yaml",
            "api.exmaple.com:443",
            "*.example.org:8443",
            "${HOME}/.cache",
            "landlock=x",
            "CamelCaseProfileName",
            "AWS_SECRET_ACCESS_KEY",
            "127.0.0.1:5432",
        ] {
            assert!(showable(ok), "{ok}");
        }
        let t = token();
        for bad in [
            t.as_str(),
            &format!("./{t}.yaml"),
            "Q7xK9mP2vR4tW8zL3nB6",
            "pw-Q7xK9mP2vR4tW",
            "has space",
            "quote`d",
            "",
            &"a".repeat(200),
        ] {
            assert!(!showable(bad), "value #{} shown", bad.len());
        }
        assert_eq!(quote("defualt"), "`defualt`");
        assert_eq!(quote(&t), NOT_SHOWN);
    }

    #[test]
    fn text_masks_findings() {
        let t = token();
        let out = text(&format!("no profile named `{t}`\nsecond line"));
        assert!(!out.contains(&t), "token left in message");
        assert_eq!(out, "no profile named `[REDACTED:github-pat]`\nsecond line");
        assert_eq!(text("plain words"), "plain words");
    }
}
