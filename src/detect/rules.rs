//! Rules file: YAML with gitleaks-compatible field names, parsed and validated into
//! compiled [`Rule`]s. Every error names the source and the line of the offending rule.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use anyhow::{anyhow, bail, Context, Result};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;
use std::sync::OnceLock;

/// Keywords shorter than this would make the prefilter fire on nearly every line.
pub(crate) const MIN_KEYWORD_LEN: usize = 3;

/// Default window (bytes each side of a keyword hit) for single-line rules.
pub(crate) const LINE_WINDOW: usize = 512;

/// Largest window a multi-line rule may ask for; keeps a scan bounded.
const MAX_WINDOW: usize = 1 << 20;

/// Top level of a rules file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    /// Accepted (and ignored) so gitleaks-style files with a title load.
    #[serde(default, rename = "title")]
    _title: Option<String>,
    rules: Vec<RuleSpec>,
}

/// One rule as written in YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleSpec {
    id: String,
    #[serde(default)]
    description: String,
    regex: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    secret_group: Option<usize>,
    #[serde(default)]
    allowlist: Option<AllowSpec>,
    /// Multi-line rule: scan this many bytes after the keyword, across lines.
    #[serde(default)]
    window: Option<usize>,
    /// Low-confidence keyword+entropy rule: loses overlaps, never used for env values.
    #[serde(default)]
    generic: bool,
    /// Cheap pre-check: run the regex only if one of these bytes follows the keyword.
    #[serde(default)]
    requires: Option<RequiresSpec>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default, rename = "negative_examples")]
    negative_examples: Vec<String>,
}

/// `requires: {anyOf: "=:", within: 32}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RequiresSpec {
    any_of: String,
    within: usize,
}

/// Per-rule allowlist (gitleaks `[[rules.allowlists]]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AllowSpec {
    /// Case-insensitive substrings of the secret that mark it as not a secret.
    #[serde(default)]
    stopwords: Vec<String>,
    /// Regexes run against the secret.
    #[serde(default)]
    regexes: Vec<String>,
    /// Regexes run against the whole match (gitleaks `regexTarget = "match"`).
    #[serde(default)]
    match_regexes: Vec<String>,
}

/// A regex compiled on first use: compiling every rule at start-up costs ~9 ms, paid by every
/// `agentbox run` (environment scrubbing needs only the rules whose keywords appear).
pub(crate) struct LazyRegex {
    pattern: String,
    cell: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    fn new(pattern: String) -> Self {
        LazyRegex {
            pattern,
            cell: OnceLock::new(),
        }
    }

    fn compiled(re: Regex, pattern: String) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(Some(re));
        LazyRegex { pattern, cell }
    }

    /// The compiled regex; `None` only for a pattern that does not compile, which the unit
    /// tests rule out for the built-in file and `parse` rejects for user files.
    pub fn get(&self) -> Option<&Regex> {
        self.cell
            .get_or_init(|| compile(&self.pattern).ok())
            .as_ref()
    }
}

/// A compiled rule.
pub(crate) struct Rule {
    /// Rule id, shown in `[REDACTED:id]` and findings.
    pub id: String,
    /// One-line description.
    pub description: String,
    /// ASCII-mode regex.
    pub regex: LazyRegex,
    /// Lowercase keywords; the regex runs only near one of them.
    pub keywords: Vec<String>,
    /// Minimum Shannon entropy of the secret (exclusive).
    pub entropy: Option<f64>,
    /// Capture group holding the secret.
    pub secret_group: Option<usize>,
    /// Multi-line rule: bytes scanned after the keyword.
    pub window: Option<usize>,
    /// Low-confidence keyword+entropy rule.
    pub generic: bool,
    /// Byte set (as a table) of which one must occur within `.1` bytes after the hit.
    pub requires: Option<(Box<[bool; 256]>, usize)>,
    /// Case-insensitive stopwords (substrings of the secret).
    pub stopwords: Option<AhoCorasick>,
    /// Allowlist regexes on the secret, joined into one alternation (one search, not N).
    pub allow_secret: Option<LazyRegex>,
    /// Allowlist regexes on the match and its identifier, joined likewise.
    pub allow_match: Option<LazyRegex>,
    /// Texts (with placeholders) the rule must find.
    pub examples: Vec<String>,
    /// Texts (with placeholders) the rule must not find.
    pub negative_examples: Vec<String>,
    /// Where the rule was defined, for error messages: `source:line`.
    pub origin: String,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("description", &self.description)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// ASCII-only regex: Unicode classes make compilation ~100x and matching ~20x slower.
fn compile(pattern: &str) -> std::result::Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(1 << 24)
        .build()
}

/// Parses the embedded rules (JSON made from rules.yaml at build time); regexes compile on
/// first use.
pub(crate) fn parse_json(text: &str, source: &str) -> Result<Vec<Rule>> {
    let file: RulesFile = serde_json::from_str(text).map_err(|e| anyhow!("{source}: {e}"))?;
    file.rules
        .iter()
        .map(|spec| build(spec, format!("{source} rule {}", spec.id), false))
        .collect()
}

/// Parses every rule of a rules file; `eager` compiles and checks every regex now (user files,
/// so errors carry their location), otherwise they compile on first use (the built-in file).
pub(crate) fn parse(text: &str, source: &str, eager: bool) -> Result<Vec<Rule>> {
    let file: RulesFile = crate::yaml::from_str(text).map_err(|e| match (e.line, e.column) {
        (Some(l), Some(c)) => anyhow!("{source}:{l}:{c}: {e}"),
        _ => anyhow!("{source}: {e}"),
    })?;
    let mut rules = Vec::with_capacity(file.rules.len());
    let mut seen: Vec<&str> = Vec::new();
    for spec in &file.rules {
        let line = rule_line(text, &spec.id);
        let origin = match line {
            Some(l) => format!("{source}:{l}"),
            None => source.to_string(),
        };
        if seen.contains(&spec.id.as_str()) {
            bail!("{origin}: rule {:?} is defined twice", spec.id);
        }
        seen.push(&spec.id);
        rules.push(build(spec, origin, eager)?);
    }
    Ok(rules)
}

/// One regex for a rule's allowlist patterns (each compiled alone first when `eager`, so an
/// error names the bad one); `None` when there are none.
fn allowlist_regex(
    list: Option<&Vec<String>>,
    what: &str,
    eager: bool,
    ctx: &dyn Fn() -> String,
) -> Result<Option<LazyRegex>> {
    let list = list.map(|v| v.as_slice()).unwrap_or_default();
    if eager {
        for p in list {
            compile(p)
                .map_err(|e| anyhow!("{e}"))
                .with_context(|| format!("{}: invalid allowlist {what}", ctx()))?;
        }
    }
    if list.is_empty() {
        return Ok(None);
    }
    // Flags set inside a group, like `(?i)`, stay inside it.
    let joined: Vec<String> = list.iter().map(|p| format!("(?:{p})")).collect();
    let joined = joined.join("|");
    if eager {
        let re = compile(&joined)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("{}: invalid allowlist {what}s", ctx()))?;
        return Ok(Some(LazyRegex::compiled(re, joined)));
    }
    Ok(Some(LazyRegex::new(joined)))
}

fn build(spec: &RuleSpec, origin: String, eager: bool) -> Result<Rule> {
    let id = &spec.id;
    let ctx = || format!("{origin}: rule {id:?}");
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        bail!(
            "{}: id must be non-empty lowercase letters, digits and '-'",
            ctx()
        );
    }
    let regex = if eager {
        let re = compile(&spec.regex)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("{}: invalid regex", ctx()))?;
        if let Some(g) = spec.secret_group {
            if g >= re.captures_len() {
                bail!(
                    "{}: secretGroup {g} but the regex has only {} groups",
                    ctx(),
                    re.captures_len() - 1
                );
            }
        }
        LazyRegex::compiled(re, spec.regex.clone())
    } else {
        LazyRegex::new(spec.regex.clone())
    };
    if spec.keywords.is_empty() {
        bail!(
            "{}: needs at least one keyword (the regex only runs near a keyword hit)",
            ctx()
        );
    }
    let mut keywords = Vec::with_capacity(spec.keywords.len());
    for k in &spec.keywords {
        if k.len() < MIN_KEYWORD_LEN {
            bail!(
                "{}: keyword {k:?} is shorter than {MIN_KEYWORD_LEN} bytes and would fire everywhere",
                ctx()
            );
        }
        keywords.push(k.to_ascii_lowercase());
    }
    if let Some(e) = spec.entropy {
        if !(0.0..=8.0).contains(&e) {
            bail!("{}: entropy {e} is outside 0..=8", ctx());
        }
    }
    if let Some(w) = spec.window {
        if w == 0 || w > MAX_WINDOW {
            bail!("{}: window {w} is outside 1..={MAX_WINDOW}", ctx());
        }
    }
    let requires = match &spec.requires {
        Some(r) if r.any_of.is_empty() || r.within == 0 || r.within > MAX_WINDOW => {
            bail!(
                "{}: requires needs non-empty anyOf and within in 1..={MAX_WINDOW}",
                ctx()
            )
        }
        Some(r) => {
            let mut table = Box::new([false; 256]);
            for &b in r.any_of.as_bytes() {
                table[usize::from(b)] = true;
            }
            Some((table, r.within))
        }
        None => None,
    };
    let allow = spec.allowlist.as_ref();
    let stopwords = match allow.map(|a| &a.stopwords) {
        Some(words) if !words.is_empty() => Some(
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(words)
                .with_context(|| format!("{}: bad stopwords", ctx()))?,
        ),
        _ => None,
    };
    let allow_secret = allowlist_regex(allow.map(|a| &a.regexes), "regex", eager, &ctx)?;
    let allow_match = allowlist_regex(allow.map(|a| &a.match_regexes), "matchRegex", eager, &ctx)?;
    for ex in spec.examples.iter().chain(&spec.negative_examples) {
        expand_template(ex, 0).with_context(|| format!("{}: bad example", ctx()))?;
    }
    Ok(Rule {
        id: spec.id.clone(),
        description: spec.description.clone(),
        regex,
        keywords,
        entropy: spec.entropy,
        secret_group: spec.secret_group,
        window: spec.window,
        generic: spec.generic,
        requires,
        stopwords,
        allow_secret,
        allow_match,
        examples: spec.examples.clone(),
        negative_examples: spec.negative_examples.clone(),
        origin,
    })
}

/// 1-based line of the `id:` entry of a rule (the deserialized rule keeps no position, so
/// find it textually; ids are unique, which `parse` checks).
fn rule_line(text: &str, id: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let t = line.trim_start().trim_start_matches('-').trim_start();
            t.strip_prefix("id:")
                .map(|rest| rest.trim().trim_matches(|c| c == '"' || c == '\'') == id)
                .unwrap_or(false)
        })
        .map(|i| i + 1)
}

/// Expands `@{class:N}` placeholders in a rule example into N deterministic pseudo-random
/// characters, so the rules file holds no literal secret-shaped strings (which would trip
/// scanners run on this repository and on the binary that embeds it).
pub(crate) fn expand_template(text: &str, seed: u64) -> Result<String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rng = SplitMix(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut rest = text;
    while let Some(pos) = rest.find("@{") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let close = after
            .find('}')
            .ok_or_else(|| anyhow!("unterminated placeholder in example"))?;
        let body = &after[..close];
        rest = &after[close + 1..];
        if body == "-" {
            // `@{-}` expands to nothing: it splits literals that scanners would flag.
            continue;
        }
        let (class, count) = body
            .split_once(':')
            .ok_or_else(|| anyhow!("placeholder {body:?} is not class:count"))?;
        let count: usize = count
            .parse()
            .map_err(|_| anyhow!("placeholder {body:?} has a bad count"))?;
        if let Some(c) = class.strip_prefix('=') {
            // `@{=x:36}`: one character repeated (placeholder-style negatives).
            let mut chars = c.chars();
            match (chars.next(), chars.next()) {
                (Some(ch), None) => out.extend(std::iter::repeat_n(ch, count)),
                _ => bail!("placeholder {body:?} must repeat exactly one character"),
            }
            continue;
        }
        let alphabet =
            alphabet(class).ok_or_else(|| anyhow!("unknown placeholder class {class:?}"))?;
        for _ in 0..count {
            let i = (rng.next() % alphabet.len() as u64) as usize;
            out.push(char::from(alphabet[i]));
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Characters of a placeholder class. Built from ranges: alphabet literals in the source
/// look like high-entropy strings to scanners.
fn alphabet(class: &str) -> Option<Vec<u8>> {
    let upper = || b'A'..=b'Z';
    let lower = || b'a'..=b'z';
    let digit = || b'0'..=b'9';
    let v: Vec<u8> = match class {
        "alnum" => upper().chain(lower()).chain(digit()).collect(),
        "alpha" => upper().chain(lower()).collect(),
        "lower" => lower().collect(),
        "upper" => upper().collect(),
        "digit" => digit().collect(),
        "hex" => digit().chain(b'a'..=b'f').collect(),
        "HEX" => digit().chain(b'A'..=b'F').collect(),
        "lowalnum" => lower().chain(digit()).collect(),
        "upalnum" => upper().chain(digit()).collect(),
        "b64" => upper()
            .chain(lower())
            .chain(digit())
            .chain(*b"+/")
            .collect(),
        "url" => upper()
            .chain(lower())
            .chain(digit())
            .chain(*b"-_")
            .collect(),
        "b32" => upper().chain(b'2'..=b'7').collect(),
        // age's bech32 alphabet: digits and lowercase letters except 1, b, i, o (uppercased).
        "bech32" => digit()
            .filter(|&c| c != b'1')
            .chain(upper().filter(|&c| !matches!(c, b'B' | b'I' | b'O')))
            .collect(),
        _ => return None,
    };
    Some(v)
}

/// Tiny deterministic generator for example expansion (not for anything secret).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Seed for the n-th example of a rule: stable across runs so failures reproduce.
pub(crate) fn example_seed(rule_id: &str, index: usize) -> u64 {
    // FNV-1a: std's hasher is randomly keyed per process.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rule_id.bytes().chain(index.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_expands_deterministically() {
        let a = expand_template("ghp_@{alnum:36}!", 7).unwrap();
        let b = expand_template("ghp_@{alnum:36}!", 7).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 4 + 36 + 1);
        assert!(a.starts_with("ghp_") && a.ends_with('!'));
        assert!(expand_template("@{nope:3}", 0).is_err());
        assert!(expand_template("@{hex:x}", 0).is_err());
        assert!(expand_template("@{hex:3", 0).is_err());
        assert_eq!(expand_template("plain", 0).unwrap(), "plain");
        assert_eq!(expand_template("a@{-}b@{=x:3}", 0).unwrap(), "abxxx");
        assert!(expand_template("@{=xy:3}", 0).is_err());
        assert_eq!(alphabet("bech32").map(|a| a.len()), Some(32));
        assert_eq!(alphabet("b64").map(|a| a.len()), Some(64));
    }

    #[test]
    fn errors_name_source_and_line() {
        let text = "rules:\n  - id: ok-rule\n    regex: 'abc'\n    keywords: [abc]\n  - id: bad-rule\n    regex: '(unclosed'\n    keywords: [abc]\n";
        let err = format!("{:#}", parse(text, "my.yaml", true).unwrap_err());
        assert!(err.contains("my.yaml:5"), "{err}");
        assert!(err.contains("bad-rule"), "{err}");

        let text = "rules:\n  - id: short\n    regex: 'ab'\n    keywords: [ab]\n";
        let err = format!("{:#}", parse(text, "f.yaml", true).unwrap_err());
        assert!(err.contains("f.yaml:2") && err.contains("shorter"), "{err}");

        let text = "rules:\n  - id: x\n    regex: 'abc'\n    keywords: [abc]\n    bogus: 1\n";
        let err = format!("{:#}", parse(text, "g.yaml", true).unwrap_err());
        assert!(err.contains("g.yaml:") && err.contains("bogus"), "{err}");

        let text = "rules:\n  - id: nokw\n    regex: 'abc'\n";
        let err = format!("{:#}", parse(text, "h.yaml", true).unwrap_err());
        assert!(err.contains("h.yaml:2") && err.contains("keyword"), "{err}");

        let text = "rules:\n  - id: dup\n    regex: 'abc'\n    keywords: [abc]\n  - id: dup\n    regex: 'abd'\n    keywords: [abd]\n";
        let err = format!("{:#}", parse(text, "d.yaml", true).unwrap_err());
        assert!(err.contains("twice"), "{err}");

        let text =
            "rules:\n  - id: grp\n    regex: 'a(b)c'\n    secretGroup: 2\n    keywords: [abc]\n";
        let err = format!("{:#}", parse(text, "s.yaml", true).unwrap_err());
        assert!(
            err.contains("s.yaml:2") && err.contains("secretGroup"),
            "{err}"
        );
    }
}
