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

/// What a person, or agentbox itself, says is not a secret: exact values (agentbox's own
/// credential placeholders, a false positive of the person's) and patterns that must match a
/// finding whole.
#[derive(Default)]
pub(crate) struct UserAllow {
    values: Vec<Vec<u8>>,
    /// All values, for finding them around a finding.
    ac: Option<AhoCorasick>,
    patterns: Vec<String>,
    /// All patterns, anchored, as one regex.
    re: Option<regex::bytes::Regex>,
}

impl UserAllow {
    /// Adds exact values (empty ones are ignored).
    pub(crate) fn add_values<I, S>(&mut self, values: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        for v in values {
            let v = v.as_ref();
            if !v.is_empty() && !self.values.iter().any(|x| x == v) {
                self.values.push(v.to_vec());
            }
        }
        self.ac = AhoCorasickBuilder::new().build(&self.values).ok();
    }

    /// Adds patterns (ASCII regexes matched against a whole finding); an invalid one is an
    /// error naming it by position, never by content (it may quote a secret).
    pub(crate) fn add_patterns(&mut self, patterns: &[String]) -> anyhow::Result<()> {
        for (i, p) in patterns.iter().enumerate() {
            crate::detect::rules::compile(&format!("^(?:{p})$"))
                .map_err(|_| anyhow::anyhow!("allow pattern #{} is not a valid regex", i + 1))?;
        }
        self.patterns.extend(patterns.iter().cloned());
        let joined: Vec<String> = self.patterns.iter().map(|p| format!("(?:{p})")).collect();
        let re = crate::detect::rules::compile(&format!("^(?:{})$", joined.join("|")))
            .map_err(|_| anyhow::anyhow!("allow patterns do not compile together"))?;
        self.re = Some(re);
        Ok(())
    }

    /// Number of values and patterns.
    pub(crate) fn len(&self) -> usize {
        self.values.len() + self.patterns.len()
    }

    /// Whether the finding `[s, e)` of `hay` is allowed: a pattern matches it whole, or it
    /// lies inside an occurrence of an allowed value.
    pub(crate) fn allows(&self, hay: &[u8], s: usize, e: usize) -> bool {
        if self.re.as_ref().is_some_and(|re| re.is_match(&hay[s..e])) {
            return true;
        }
        let Some(ac) = &self.ac else { return false };
        let longest = self.values.iter().map(Vec::len).max().unwrap_or(0);
        let lo = s.saturating_sub(longest);
        let hi = hay.len().min(e + longest);
        ac.find_overlapping_iter(&hay[lo..hi])
            .any(|m| lo + m.start() <= s && lo + m.end() >= e)
    }
}

/// Words that are values, not secrets.
const LITERALS: &[&[u8]] = &[
    b"true",
    b"false",
    b"null",
    b"none",
    b"nil",
    b"undefined",
    // pydantic's types (`db_password: SecretStr`).
    b"SecretStr",
    b"SecretBytes",
];

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
    if is_template(secret) || sample_value(secret) {
        return true;
    }
    if stopwords().is_match(secret) {
        return true;
    }
    repeated_filler(secret) || masked(secret)
}

/// Values that documentation and references write where a secret goes: connection-string
/// samples (`Password=myPassword`), upper-case names of the secret (`token OAUTH-TOKEN`),
/// Vault paths (`secret/data/prod/db`) and Mapbox's public `pk.` tokens.
fn sample_value(s: &[u8]) -> bool {
    let my_word = s.len() <= 24
        && s.starts_with(b"my")
        && s.get(2).is_some_and(u8::is_ascii_uppercase)
        && s.iter().all(u8::is_ascii_alphabetic);
    let named = s
        .iter()
        .all(|b| b.is_ascii_uppercase() || matches!(b, b'_' | b'-'))
        && s.iter().any(|b| matches!(b, b'_' | b'-'))
        && [&b"TOKEN"[..], b"KEY", b"SECRET", b"PASSWORD"]
            .iter()
            .any(|w| s.windows(w.len()).any(|x| x == *w));
    my_word
        || named
        || s.starts_with(b"secret/data/")
        || s.starts_with(b"kv/data/")
        || s.starts_with(b"pk.eyJ")
}

/// Marks of a value shown in part (`Cz8Q~••••`, `ghs_...rlI3`, `••••••`): bullets or an
/// ellipsis, which tokens never hold and a password only by rare chance.
fn masked(s: &[u8]) -> bool {
    const MARKS: [&[u8]; 5] = [
        b"...",
        b"***",
        "\u{2026}".as_bytes(),
        "\u{2022}".as_bytes(),
        "\u{25cf}".as_bytes(),
    ];
    MARKS.iter().any(|m| s.windows(m.len()).any(|w| w == *m))
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
/// `#{x}`, `%(x)s`, `@x@`, `__X__`,
/// format-string placeholders such as `{password}` or `{}`, and the `@{class:N}` templates of
/// agentbox's own rule examples and corpus.
fn is_template(s: &[u8]) -> bool {
    let first = s[0];
    let last = s[s.len() - 1];
    if first == b'$' {
        return true;
    }
    if s.windows(2)
        .any(|w| w == b"{{" || w == b"${" || w == b"@{" || w == b"#{" || w == b"%(")
    {
        return true;
    }
    // Build-time substitutions: Maven's `@db.password@`, token replacers' `__DB_PASSWORD__`.
    let ident = |t: &[u8]| {
        !t.is_empty()
            && t.iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    };
    if s.len() >= 3 && first == b'@' && last == b'@' && ident(&s[1..s.len() - 1]) {
        return true;
    }
    if s.len() >= 5 && s.starts_with(b"__") && s.ends_with(b"__") && ident(&s[2..s.len() - 2]) {
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
    if run.len() >= 3 && run.iter().all(|&b| b == run[0]) {
        return true;
    }
    // `AIzaaaaa…`, `AKIAXXXX…`: a prefix, then one character over and over.
    let mut counts = [0usize; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let most = counts.iter().max().copied().unwrap_or(0);
    s.len() >= 12 && (most * 10 >= s.len() * 8 || mostly_runs(run))
}

/// Runs of four or more of one character make up most of `run` (`5555555dAAAAA7777777Cccc…`,
/// a hand-made fake): random text of any alphabet used by tokens almost never has one.
fn mostly_runs(run: &[u8]) -> bool {
    let mut in_runs = 0;
    let mut i = 0;
    while i < run.len() {
        let n = run[i..].iter().take_while(|&&b| b == run[i]).count();
        if n >= 4 {
            in_runs += n;
        }
        i += n;
    }
    run.len() >= 12 && in_runs * 2 > run.len()
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
            "#{password}".into(),
            "%(password)s".into(),
            "@db.password@".into(),
            "__DB_PASSWORD__".into(),
            "\u{2022}".repeat(12),
            format!("Cz8Q~{}", "\u{2022}".repeat(30)),
            format!("ghs_...{}", "rlI3"),
            "sk-\u{2026}Zq9".into(),
            "myPassword".into(),
            "OAUTH-TOKEN".into(),
            "secret/data/prod/db:password".into(),
            "SecretStr".into(),
            format!("pk.eyJ{}", "1IjoiYWNtZSJ9.x"),
            format!(
                "sgp_{}d{}7777777Cccc{}",
                "5".repeat(7),
                "A".repeat(5),
                "a".repeat(14)
            ),
        ];
        for s in &cases {
            assert!(globally_allowed(s.as_bytes()), "{s}");
        }
        let expand = |t: &str| crate::detect::rules::expand_template(t, 1).unwrap();
        let (short, token) = (expand("@{alnum:16}"), expand("ghp_@{alnum:36}"));
        for s in [
            "p",
            "hunter2",
            "a.b.c-d..e",
            "@x",
            "a@b@",
            "__",
            "myX9pQ7zLm2k",
            "OAUTH-K9PQ7ZLM",
            short.as_str(),
            token.as_str(),
        ] {
            assert!(
                !globally_allowed(s.as_bytes()),
                "case {} not allowed",
                s.len()
            );
        }
    }
}
