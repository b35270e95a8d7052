//! Global allowlist (placeholders, templates, obvious fakes) and Shannon entropy.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

/// Substrings (lowercase) that mark a candidate as a placeholder or a fake, whatever the rule.
/// Each is long enough that a real random token contains it by chance with negligible odds.
const STOPWORDS: &[&[u8]] = &[
    b"example",
    b"changeme",
    b"changeit",
    b"xxxxxx",
    b"******",
    b"your_",
    b"your-",
    b"<your",
    b"redacted",
    b"placeholder",
    b"abcdefghij",
    b"0123456789",
];

fn stopwords() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(STOPWORDS)
            .expect("static stopwords")
    })
}

/// Words that are values, not secrets.
const LITERALS: &[&[u8]] = &[b"true", b"false", b"null", b"none", b"nil", b"undefined"];

/// Shannon entropy in bits per byte. Capped at log2(len): a 3.5 threshold needs 12+
/// distinct characters, which is why it is only used next to a keyword or a known prefix.
pub(crate) fn shannon(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    // H = log2(n) - (1/n) * sum(c * log2(c)), with c*log2(c) from a table for small c.
    let n = bytes.len() as f64;
    let sum: f64 = counts
        .iter()
        .filter(|&&c| c > 1)
        .map(|&c| c_log2_c(c))
        .sum();
    n.log2() - sum / n
}

fn c_log2_c(c: u32) -> f64 {
    static TABLE: OnceLock<[f64; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0.0; 256];
        for (i, v) in t.iter_mut().enumerate().skip(1) {
            let c = i as f64;
            *v = c * c.log2();
        }
        t
    });
    match table.get(c as usize) {
        Some(v) => *v,
        None => f64::from(c) * f64::from(c).log2(),
    }
}

/// True when a candidate secret is a placeholder, template or obvious fake.
pub(crate) fn globally_allowed(secret: &[u8]) -> bool {
    if secret.is_empty() {
        return true;
    }
    if LITERALS.iter().any(|l| secret.eq_ignore_ascii_case(l)) {
        return true;
    }
    if is_template(secret) {
        return true;
    }
    if stopwords().is_match(secret) {
        return true;
    }
    repeated_filler(secret)
}

/// A value that reads as an identifier or words (`access_token_expires_at`, `AssertionError`,
/// `my-tls-secret`): letters and `_.-` only, mostly in one case. Random letters-only tokens
/// mix cases about evenly, so they still count as secrets (used by generic rules).
pub(crate) fn reads_as_identifier(s: &[u8]) -> bool {
    if !s
        .iter()
        .all(|&b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'.' | b'-'))
    {
        return false;
    }
    let upper = s.iter().filter(|b| b.is_ascii_uppercase()).count();
    let lower = s.iter().filter(|b| b.is_ascii_lowercase()).count();
    upper.min(lower) * 4 <= upper + lower
}

/// `$VAR`, `${VAR}`, `$(cmd)`, `$1`, `{{ x }}`, `${{ secrets.X }}`, `%VAR%`, `<your-token>`,
/// and format-string placeholders such as `{password}` or `{}`.
fn is_template(s: &[u8]) -> bool {
    let first = s[0];
    let last = s[s.len() - 1];
    if first == b'$' {
        return true;
    }
    if s.windows(2).any(|w| w == b"{{" || w == b"${") {
        return true;
    }
    if s.len() >= 3 && first == b'%' && last == b'%' {
        return true;
    }
    if first == b'{' && last == b'}' {
        return true;
    }
    first == b'<' && last == b'>'
}

/// One character repeated (`AAAA…`, `****`), judged on the longest alphanumeric run so a
/// prefix such as `ghp_` does not hide it. Very short secrets (a one-letter URL password)
/// are not fillers.
fn repeated_filler(s: &[u8]) -> bool {
    let longest = s
        .split(|b| !b.is_ascii_alphanumeric())
        .max_by_key(|run| run.len())
        .unwrap_or(s);
    let run = if longest.is_empty() { s } else { longest };
    run.len() >= 3 && run.iter().all(|&b| b == run[0])
}

/// Exact values never flagged: agentbox's own per-run credential placeholders (registered by
/// the run that made them; nothing else is allowed by value).
static EXACT: std::sync::RwLock<Vec<Vec<u8>>> = std::sync::RwLock::new(Vec::new());

/// Registers values the detector must never flag or remove (agentbox's placeholders).
pub fn allow_exact(values: &[String]) {
    let mut v = EXACT
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    v.extend(
        values
            .iter()
            .filter(|s| s.len() >= 16)
            .map(|s| s.as_bytes().to_vec()),
    );
}

/// Whether `secret` is one of them, or a part of one a rule matched.
pub(crate) fn exactly_allowed(secret: &[u8]) -> bool {
    let v = EXACT
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    secret.len() >= 8
        && v.iter()
            .any(|p| p.windows(secret.len()).any(|w| w == secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_values() {
        assert_eq!(shannon(b""), 0.0);
        assert_eq!(shannon(b"aaaa"), 0.0);
        assert!((shannon(b"abcd") - 2.0).abs() < 1e-9);
        assert!((shannon(b"0123456789abcdef") - 4.0).abs() < 1e-9);
        assert!((shannon(b"aabb") - 1.0).abs() < 1e-9);
        let long: Vec<u8> = (0..2000u32).map(|i| (i % 7) as u8).collect();
        assert!((shannon(&long) - 7f64.log2()).abs() < 1e-3);
    }

    #[test]
    fn identifiers_versus_random_letters() {
        for s in [
            "access_token_expires_at",
            "AssertionError",
            "my-tls-secret",
            "TOKENIZERS_PARALLELISM",
            "tokenizersparallelism",
        ] {
            assert!(reads_as_identifier(s.as_bytes()), "{s}");
        }
        let random = crate::detect::rules::expand_template("@{alpha:32}", 3).unwrap();
        assert!(!reads_as_identifier(random.as_bytes()));
        assert!(!reads_as_identifier(b"abc123"));
    }

    #[test]
    fn placeholders_are_allowed() {
        // Built at run time: literal token shapes here would trip scanners run on the repo.
        let x36 = "x".repeat(36);
        let a36 = "A".repeat(36);
        let cases = [
            "${GITHUB_TOKEN}".to_string(),
            "$TOKEN".into(),
            "$(cat /run/secrets/x)".into(),
            "{{ .Values.token }}".into(),
            "${{ secrets.NPM_TOKEN }}".into(),
            "%API_KEY%".into(),
            "<your-token>".into(),
            "{password}".into(),
            "{}".into(),
            format!("AKIA{}", "IOSFODNN7EXAMPLE"),
            "changeme".into(),
            format!("ghp_{x36}"),
            format!("ghp_{a36}"),
            "****".into(),
            "true".into(),
            "NULL".into(),
            "YOUR_API_KEY_HERE".into(),
            "[REDACTED:github-pat]".into(),
        ];
        for s in &cases {
            assert!(globally_allowed(s.as_bytes()), "{s}");
        }
        let expand = |t: &str| crate::detect::rules::expand_template(t, 1).unwrap();
        let (short, token) = (expand("@{alnum:16}"), expand("ghp_@{alnum:36}"));
        for s in ["p", "hunter2", short.as_str(), token.as_str()] {
            assert!(
                !globally_allowed(s.as_bytes()),
                "case {} not allowed",
                s.len()
            );
        }
    }
}
