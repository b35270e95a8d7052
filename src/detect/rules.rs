//! Rules file: YAML with gitleaks-compatible field names, parsed and validated into
//! compiled [`Rule`]s. Every error names the source and the line of the offending rule.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use anyhow::{anyhow, bail, Context, Result};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;
use std::sync::OnceLock;

use super::detectors::DetectorKind;

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
    /// The pattern; a rule has either this or `detector`.
    #[serde(default)]
    regex: Option<String>,
    /// A detector written in code (`command-line`, `assignment`, `encoded`, `invisible`)
    /// instead of a regex; its keywords come from the code unless given here.
    #[serde(default)]
    detector: Option<DetectorKind>,
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
    /// Whether the global fake-value allowlist applies.
    #[serde(default)]
    fakes: Fakes,
    /// Whether the rule's keywords are also looked for in base64 and hex.
    #[serde(default)]
    encoded: Encoded,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default, rename = "negative_examples")]
    negative_examples: Vec<String>,
}

/// Whether the global fake-value allowlist (placeholders, filler, stopwords such as
/// `example`) may discard a rule's match: `fakes: never` for a rule whose match carries its
/// own mark of being real (a private key's BEGIN line, whatever filler follows it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Fakes {
    /// Matches that look like placeholders or fakes are dropped (the default).
    #[default]
    Checked,
    /// Every match counts, placeholder-looking or not.
    Never,
}

/// Whether the encoded detector looks for a rule's keywords in base64 and hex: `encoded:
/// never` for context rules (a command's words, an XML element, prose), whose keywords would
/// only grow the encoded table (slower on every base64 run) for text nobody encodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Encoded {
    /// The keywords' base64 and hex forms are keywords of the encoded detector (the default).
    #[default]
    Searched,
    /// Only the keywords as written.
    Never,
}

/// `requires: {anyOf: "=:", within: 32}`: one of the bytes within 32 bytes after the keyword;
/// `from: N` skips the first N (a token whose separator stands at a fixed place after its
/// prefix says so exactly, and its prefix in ordinary words costs no regex).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RequiresSpec {
    any_of: String,
    #[serde(default)]
    from: usize,
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

    /// Whether the regex has been compiled (tests: the launch pays for none it does not use).
    #[cfg(test)]
    pub fn is_compiled(&self) -> bool {
        self.cell.get().is_some()
    }

    /// The compiled regex; `None` only for a pattern that does not compile, which the unit
    /// tests rule out for the built-in file and `parse` rejects for user files.
    pub fn get(&self) -> Option<&Regex> {
        self.cell
            .get_or_init(|| compile(&self.pattern).ok())
            .as_ref()
    }
}

/// How a rule finds its matches.
pub(crate) enum Matcher {
    /// An ASCII-mode regex.
    Regex(LazyRegex),
    /// A detector written in code.
    Detector(DetectorKind),
}

/// A compiled rule.
pub(crate) struct Rule {
    /// Rule id, shown in `[REDACTED:id]` and findings.
    pub id: String,
    /// One-line description.
    pub description: String,
    /// The regex or detector.
    pub matcher: Matcher,
    /// Lowercase keywords; the matcher runs only near one of them.
    pub keywords: Vec<String>,
    /// The keywords as written (their case matters once encoded, see `detectors::encoded`).
    pub keywords_raw: Vec<String>,
    /// Minimum Shannon entropy of the secret (exclusive).
    pub entropy: Option<f64>,
    /// Capture group holding the secret.
    pub secret_group: Option<usize>,
    /// Multi-line rule: bytes scanned after the keyword.
    pub window: Option<usize>,
    /// Low-confidence keyword+entropy rule.
    pub generic: bool,
    /// Whether the global fake-value allowlist may discard a match.
    pub fakes: Fakes,
    /// Whether the keywords are looked for in base64 and hex too.
    pub encoded: Encoded,
    /// Byte set (as a table) of which one must occur from `.1` to `.2` bytes after the hit.
    pub requires: Option<(Box<[bool; 256]>, usize, usize)>,
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
pub(crate) fn compile(pattern: &str) -> std::result::Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(1 << 24)
        .build()
}

/// A built-in rule as static data, written by build.rs from rules.yaml (fields as in
/// [`RuleSpec`]; `requires` is `(anyOf, from, within)`).
pub(crate) struct StaticRule {
    pub id: &'static str,
    pub description: &'static str,
    pub regex: Option<&'static str>,
    pub detector: Option<&'static str>,
    pub keywords: &'static [&'static str],
    pub entropy: Option<f64>,
    pub secret_group: Option<usize>,
    pub stopwords: &'static [&'static str],
    pub allow_regexes: &'static [&'static str],
    pub allow_match_regexes: &'static [&'static str],
    pub window: Option<usize>,
    pub generic: bool,
    pub requires: Option<(&'static str, usize, usize)>,
    pub fakes: Fakes,
    pub encoded: Encoded,
    pub examples: &'static [&'static str],
    pub negative_examples: &'static [&'static str],
}

/// The built-in rules (src/detect/rules.yaml), converted at build time: no parsing at launch.
pub(crate) const BUILTIN: &[StaticRule] = include!(concat!(env!("OUT_DIR"), "/rules.rs"));

/// Name of the built-in rules in messages.
pub(crate) const BUILTIN_SOURCE: &str = "built-in rules.yaml";

/// The built-in rules, ready for the engine; regexes compile on first use. Examples are not
/// expanded here: a unit test checks them (and parses rules.yaml itself, every check on).
pub(crate) fn builtin() -> Result<Vec<Rule>> {
    BUILTIN.iter().map(from_static).collect()
}

fn from_static(r: &StaticRule) -> Result<Rule> {
    let owned = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let detector = match r.detector {
        Some(name) => Some(
            DetectorKind::from_name(name)
                .ok_or_else(|| anyhow!("{BUILTIN_SOURCE}: rule {:?}: unknown detector", r.id))?,
        ),
        None => None,
    };
    let lists = [r.stopwords, r.allow_regexes, r.allow_match_regexes];
    let allowlist = lists.iter().any(|l| !l.is_empty()).then(|| AllowSpec {
        stopwords: owned(r.stopwords),
        regexes: owned(r.allow_regexes),
        match_regexes: owned(r.allow_match_regexes),
    });
    let spec = RuleSpec {
        id: r.id.to_string(),
        description: r.description.to_string(),
        regex: r.regex.map(str::to_string),
        detector,
        keywords: owned(r.keywords),
        entropy: r.entropy,
        secret_group: r.secret_group,
        allowlist,
        window: r.window,
        generic: r.generic,
        requires: r.requires.map(|(any_of, from, within)| RequiresSpec {
            any_of: any_of.to_string(),
            from,
            within,
        }),
        fakes: r.fakes,
        encoded: r.encoded,
        examples: owned(r.examples),
        negative_examples: owned(r.negative_examples),
    };
    build(&spec, format!("{BUILTIN_SOURCE} rule {}", r.id), false)
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

/// The regex (compiled now when `eager`) or the detector of a rule: exactly one is given.
fn matcher(spec: &RuleSpec, eager: bool, ctx: &dyn Fn() -> String) -> Result<Matcher> {
    let pattern = match (&spec.regex, spec.detector) {
        (Some(_), Some(_)) => bail!("{}: has both a regex and a detector", ctx()),
        (None, Some(d)) => {
            if spec.secret_group.is_some() {
                bail!("{}: secretGroup needs a regex", ctx());
            }
            return Ok(Matcher::Detector(d));
        }
        (None, None) => bail!("{}: needs a regex or a detector", ctx()),
        (Some(p), None) => p,
    };
    if !eager {
        return Ok(Matcher::Regex(LazyRegex::new(pattern.clone())));
    }
    let re = compile(pattern)
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
    Ok(Matcher::Regex(LazyRegex::compiled(re, pattern.clone())))
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
    let matcher = matcher(spec, eager, &ctx)?;
    let mut written = spec.keywords.clone();
    if let Some(d) = spec.detector {
        written.extend(d.keywords().iter().map(|k| k.to_string()));
    }
    if written.is_empty() && spec.detector != Some(DetectorKind::Encoded) {
        bail!(
            "{}: needs at least one keyword (the regex only runs near a keyword hit)",
            ctx()
        );
    }
    let mut keywords = Vec::with_capacity(written.len());
    for k in &spec.keywords {
        if k.len() < MIN_KEYWORD_LEN {
            bail!(
                "{}: keyword {k:?} is shorter than {MIN_KEYWORD_LEN} bytes and would fire everywhere",
                ctx()
            );
        }
        keywords.push(k.to_ascii_lowercase());
    }
    // A detector's own keywords are checked by its unit tests (some are invisible characters
    // of two bytes, which no log line holds by chance).
    keywords.extend(
        written[spec.keywords.len()..]
            .iter()
            .map(|k| k.to_ascii_lowercase()),
    );
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
        Some(r) if r.any_of.is_empty() || r.within > MAX_WINDOW || r.from >= r.within => {
            bail!(
                "{}: requires needs non-empty anyOf and 0 <= from < within <= {MAX_WINDOW}",
                ctx()
            )
        }
        Some(r) => {
            let mut table = Box::new([false; 256]);
            for &b in r.any_of.as_bytes() {
                table[usize::from(b)] = true;
            }
            Some((table, r.from, r.within))
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
    if eager {
        for ex in spec.examples.iter().chain(&spec.negative_examples) {
            expand_template(ex, 0).with_context(|| format!("{}: bad example", ctx()))?;
        }
    }
    Ok(Rule {
        id: spec.id.clone(),
        description: spec.description.clone(),
        matcher,
        keywords,
        keywords_raw: written,
        entropy: spec.entropy,
        secret_group: spec.secret_group,
        window: spec.window,
        generic: spec.generic,
        fakes: spec.fakes,
        encoded: spec.encoded,
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
    let mut rng = SplitMix(seed ^ 0x9e37_79b9_7f4a_7c15);
    expand_with(text, &mut rng)
}

/// Encodings an example can apply to the expansion of what it encloses:
/// `@{base64}...@{/base64}` and `@{hex}...@{/hex}` (an encoded token, without writing one).
const ENCODINGS: &[&str] = &["base64", "hex"];

fn expand_with(text: &str, rng: &mut SplitMix) -> Result<String> {
    for enc in ENCODINGS {
        let open = format!("@{{{enc}}}");
        let close = format!("@{{/{enc}}}");
        if let Some(a) = text.find(&open) {
            let inner_start = a + open.len();
            let b = text[inner_start..]
                .find(&close)
                .ok_or_else(|| anyhow!("{open} without {close}"))?
                + inner_start;
            let head = expand_with(&text[..a], rng)?;
            let inner = expand_with(&text[inner_start..b], rng)?;
            let tail = expand_with(&text[b + close.len()..], rng)?;
            let encoded = if *enc == "hex" {
                inner.bytes().map(|b| format!("{b:02x}")).collect()
            } else {
                base64_std(inner.as_bytes())
            };
            return Ok(format!("{head}{encoded}{tail}"));
        }
    }
    let mut out = String::with_capacity(text.len() + 64);
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

/// Standard base64 with padding (for examples only).
fn base64_std(data: &[u8]) -> String {
    let table: Vec<u8> = alphabet("b64").unwrap_or_default();
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(table[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
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
        assert_eq!(
            expand_template("<@{base64}ab@{/base64}>", 0).unwrap(),
            "<YWI=>"
        );
        assert_eq!(expand_template("@{hex}ab@{/hex}", 0).unwrap(), "6162");
        assert!(expand_template("@{hex}ab", 0).is_err());
        assert_eq!(alphabet("bech32").map(|a| a.len()), Some(32));
        assert_eq!(alphabet("b64").map(|a| a.len()), Some(64));
    }

    /// What the engine uses of a rule, as text (rules hold compiled parts without `PartialEq`).
    fn summary(r: &Rule) -> String {
        let pattern = |l: &Option<LazyRegex>| l.as_ref().map(|l| l.pattern.clone());
        let matcher = match &r.matcher {
            Matcher::Regex(re) => format!("regex {}", re.pattern),
            Matcher::Detector(d) => format!("detector {d:?}"),
        };
        format!(
            "{} {:?} {matcher} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            r.id,
            r.description,
            r.keywords,
            r.keywords_raw,
            r.entropy,
            r.secret_group,
            r.window,
            r.generic,
            r.fakes,
            r.encoded,
            r.requires.as_ref().map(|(t, f, n)| (t.to_vec(), *f, *n)),
            r.stopwords.as_ref().map(|a| a.patterns_len()),
            pattern(&r.allow_secret),
            pattern(&r.allow_match),
            r.examples,
            r.negative_examples,
        )
    }

    #[test]
    fn static_rules_are_rules_yaml_with_every_check() {
        // The launch path skips parsing and checking (build.rs wrote the rules as data): here
        // rules.yaml is parsed as a user file is, every regex compiled and example expanded.
        let parsed = parse(include_str!("rules.yaml"), "rules.yaml", true).unwrap();
        let built = builtin().unwrap();
        assert_eq!(parsed.len(), built.len());
        for (p, b) in parsed.iter().zip(&built) {
            assert_eq!(summary(p), summary(b));
            for ex in p.examples.iter().chain(&p.negative_examples) {
                expand_template(ex, 0).unwrap();
            }
        }
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
