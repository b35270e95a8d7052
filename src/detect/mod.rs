//! Secret detector: a rules file (gitleaks field names, noseyparker-style examples)
//! compiled into one case-insensitive Aho-Corasick keyword pass, after which a rule's
//! ASCII-mode regex runs only in a window around its keyword hits.
//!
//! Also decides which environment variables must be removed ([`classify_env`]), from the
//! name rules in [`names`] and the value rules of the built-in engine.

mod allow;
pub(crate) mod bytes;
mod decode;
pub mod names;
mod rules;

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use anyhow::{Context, Result};
use serde::Serialize;

pub use allow::allow_exact;
pub(crate) use decode::normalize;
pub use names::{classify_name, NameClass};
use rules::{Rule, LINE_WINDOW};

/// Rule id of PEM private key blocks (the streaming redactor treats them specially).
pub const PRIVATE_KEY_RULE: &str = "private-key";

/// Rule id of URL userinfo passwords.
pub const URL_PASSWORD_RULE: &str = "url-password";

/// The built-in rules, embedded in the binary.
/// The embedded rules, as JSON made from `rules.yaml` at build time (see build.rs).
const BUILTIN_RULES: &str = include_str!(concat!(env!("OUT_DIR"), "/rules.json"));

/// A compiled rule set.
pub struct Engine {
    rules: Vec<Rule>,
    /// All keywords of all rules, ASCII case-insensitive, as a DFA: built on the first bulk
    /// scan (it is the fastest to search but ~0.6 ms to build, paid by every launch otherwise).
    keywords: OnceLock<AhoCorasick>,
    /// The same keywords as a contiguous NFA, cheap to build, for short values (environment).
    keywords_small: AhoCorasick,
    /// The keyword strings, for building the DFA.
    patterns: Vec<String>,
    /// For each keyword pattern, the rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
    /// Multi-line rules other than private keys (the redactor follows those itself), whose
    /// match may start in a chunk of a stream and end in a later one; see `find_continued`.
    continued: Vec<usize>,
    /// Their keywords.
    continued_keywords: Option<AhoCorasick>,
    /// How far past the start of their keyword their match can end.
    continued_reach: usize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.len())
            .field("keywords", &self.keyword_rules.len())
            .finish()
    }
}

/// One secret found in a haystack: the byte span of the secret part only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct Finding {
    /// Id of the rule that matched.
    pub rule_id: String,
    /// Byte offset of the first secret byte.
    pub start: usize,
    /// Byte offset just past the secret.
    pub end: usize,
}

/// A candidate before overlap resolution.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    start: usize,
    end: usize,
    rule: usize,
}

impl Engine {
    /// The embedded rules, compiled once per process.
    pub fn builtin() -> &'static Engine {
        static ENGINE: OnceLock<Engine> = OnceLock::new();
        ENGINE.get_or_init(|| {
            // The embedded file is checked by unit tests; failing here is a build defect.
            rules::parse_json(BUILTIN_RULES, "built-in rules.yaml")
                .and_then(Engine::new)
                .expect("built-in rules.yaml is valid")
        })
    }

    /// Compiles a user rules file; errors name `source` and the line of the bad rule.
    #[cfg(test)]
    pub fn from_yaml(text: &str, source: &str) -> Result<Engine> {
        Engine::new(rules::parse(text, source, true)?)
    }

    /// Built-in rules plus a user rules file; a user rule with a built-in id replaces it.
    /// User examples are checked, so a rule that cannot find its own example is an error.
    pub fn builtin_with(text: &str, source: &str) -> Result<Engine> {
        let user = rules::parse(text, source, true)?;
        let mut all = rules::parse_json(BUILTIN_RULES, "built-in rules.yaml")?;
        let user_ids: Vec<String> = user.iter().map(|r| r.id.clone()).collect();
        all.retain(|r| !user_ids.contains(&r.id));
        // Built-in order first: earlier rules win overlaps, the generic rule stays last.
        let generic_at = all.iter().position(|r| r.generic).unwrap_or(all.len());
        let tail = all.split_off(generic_at);
        all.extend(user);
        all.extend(tail);
        let engine = Engine::new(all)?;
        engine
            .check_examples(|r| user_ids.contains(&r.id))
            .with_context(|| format!("checking examples of {source}"))?;
        Ok(engine)
    }

    fn new(rules: Vec<Rule>) -> Result<Engine> {
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            for k in &rule.keywords {
                match patterns.iter().position(|p| p == k) {
                    Some(p) => {
                        if !keyword_rules[p].contains(&i) {
                            keyword_rules[p].push(i);
                        }
                    }
                    None => {
                        patterns.push(k.clone());
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        let keywords_small = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&patterns)
            .context("building the keyword automaton")?;
        let continued: Vec<usize> = (0..rules.len())
            .filter(|&i| rules[i].window.is_some() && rules[i].id != PRIVATE_KEY_RULE)
            .collect();
        let words: Vec<&String> = continued.iter().flat_map(|&i| &rules[i].keywords).collect();
        let continued_reach = continued
            .iter()
            .map(|&i| rules[i].window.unwrap_or(0))
            .max()
            .unwrap_or(0)
            + words.iter().map(|w| w.len()).max().unwrap_or(0);
        let continued_keywords = (!words.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .build(&words)
                    .context("building the multi-line keyword automaton")
            })
            .transpose()?;
        Ok(Engine {
            rules,
            keywords: OnceLock::new(),
            keywords_small,
            patterns,
            keyword_rules,
            continued,
            continued_keywords,
            continued_reach,
        })
    }

    /// Findings in `hay` of the multi-line rules (private keys aside) whose keyword is in
    /// `before`, the text just before `hay` in a stream: a netrc `machine` line written
    /// before its `password` line. Spans are relative to `hay`, cut at its start. Only the
    /// last [`Engine::continued_reach`] bytes of `before` can matter.
    pub(crate) fn find_continued(&self, before: &[u8], hay: &[u8]) -> Vec<Finding> {
        let Some(ac) = &self.continued_keywords else {
            return Vec::new();
        };
        if hay.is_empty() || !ac.is_match(before) {
            return Vec::new();
        }
        // A match from a keyword in `before` ends within the reach; matches starting later
        // are `find`'s (a cut one here is part of the whole one there).
        let take = hay.len().min(self.continued_reach);
        let joined = [before, &hay[..take]].concat();
        let mut out = Vec::new();
        for &r in &self.continued {
            for c in self.candidates(&joined, Some(r)) {
                if c.end > before.len() {
                    out.push(Finding {
                        rule_id: self.rules[r].id.clone(),
                        start: c.start.saturating_sub(before.len()),
                        end: c.end - before.len(),
                    });
                }
            }
        }
        out
    }

    /// Bytes of a stream's past that [`Engine::find_continued`] needs.
    pub(crate) fn continued_reach(&self) -> usize {
        self.continued_reach
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Every rule's positive examples, expanded as the unit tests expand them: `(rule id,
    /// text)`. Test tokens made at run time, for the fuzz targets.
    #[doc(hidden)]
    pub fn examples(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for r in &self.rules {
            for (n, ex) in r.examples.iter().enumerate() {
                if let Ok(text) = rules::expand_template(ex, rules::example_seed(&r.id, n)) {
                    out.push((r.id.clone(), text));
                }
            }
        }
        out
    }

    /// All findings, non-overlapping (overlaps are merged), sorted by start.
    pub fn find(&self, haystack: &[u8]) -> Vec<Finding> {
        let cands = self.candidates(haystack, None);
        if cands.is_empty() {
            return Vec::new();
        }
        self.resolve(cands)
            .into_iter()
            .map(|c| Finding {
                rule_id: self.rules[c.rule].id.clone(),
                start: c.start,
                end: c.end,
            })
            .collect()
    }

    /// For an environment VALUE: the id of a specific rule (token shape, URL password,
    /// private key, header...) that matches it. The generic keyword+entropy rule is not
    /// used: it is noisy on values that are not logs.
    pub fn value_rule(&self, value: &str) -> Option<&str> {
        let hay = value.as_bytes();
        // Only rules whose keyword occurs in the value: the others cannot match it (their
        // regexes need the keyword), and leaving them alone keeps them uncompiled, which is
        // most of a launch's cost otherwise.
        let mut wanted = vec![false; self.rules.len()];
        for m in self.keywords_small.find_overlapping_iter(hay) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                wanted[r] = true;
            }
        }
        self.rules
            .iter()
            .enumerate()
            .filter(|(i, r)| wanted[*i] && !r.generic)
            .find(|(_, r)| {
                let mut hit = false;
                matches(r, hay, |_, _| hit = true);
                hit
            })
            .map(|(_, r)| r.id.as_str())
    }

    /// The keyword DFA, built on first use (the NFA if the DFA cannot be built).
    fn dfa(&self) -> &AhoCorasick {
        self.keywords.get_or_init(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&self.patterns)
                .unwrap_or_else(|_| self.keywords_small.clone())
        })
    }

    /// Runs keyword prefilter and rule regexes; `only` restricts to one rule (for example
    /// checks, before overlap resolution hides a rule's match behind another's).
    fn candidates(&self, hay: &[u8], only: Option<usize>) -> Vec<Candidate> {
        let mut out = Vec::new();
        // Per rule, the window still to scan; hits arrive in text order, so a new hit either
        // extends it (same line, overlapping) or the old window is scanned and replaced.
        let mut pending: Vec<Option<(usize, usize)>> = Vec::new();
        // Line of the previous hit, when short enough to be scanned whole: most lines
        // with one keyword have several, and finding line ends is not free.
        let mut line = (usize::MAX, 0usize);
        // Short inputs (arguments, values) do not pay for building the DFA.
        let ac = if hay.len() < 64 * 1024 {
            &self.keywords_small
        } else {
            self.dfa()
        };
        for m in ac.find_overlapping_iter(hay) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                if only.is_some_and(|o| o != r) {
                    continue;
                }
                let (ws, we) = match self.rules[r].window {
                    Some(after) => (
                        m.start().saturating_sub(LINE_WINDOW),
                        hay.len().min(m.end() + after),
                    ),
                    None if m.start() >= line.0 && m.end() <= line.1 => line,
                    None => {
                        let (ws, we, whole) = line_window(hay, m.start(), m.end());
                        if whole {
                            line = (ws, we);
                        }
                        (ws, we)
                    }
                };
                if let Some((table, within)) = &self.rules[r].requires {
                    let after = &hay[m.end()..we.max(m.end()).min(m.end() + within)];
                    if !after.iter().any(|&b| table[usize::from(b)]) {
                        continue;
                    }
                }
                if pending.is_empty() {
                    pending.resize(self.rules.len(), None);
                }
                match &mut pending[r] {
                    Some(cur) if ws <= cur.1 && we >= cur.0 => {
                        cur.0 = cur.0.min(ws);
                        cur.1 = cur.1.max(we);
                    }
                    slot => {
                        if let Some((s, e)) = slot.replace((ws, we)) {
                            self.run_rule(r, hay, s, e, &mut out);
                        }
                    }
                }
            }
        }
        for (r, slot) in pending.iter().enumerate() {
            if let Some((s, e)) = *slot {
                self.run_rule(r, hay, s, e, &mut out);
            }
        }
        out
    }

    fn run_rule(&self, ri: usize, hay: &[u8], ws: usize, we: usize, out: &mut Vec<Candidate>) {
        let rule = &self.rules[ri];
        let win = &hay[ws..we];
        if decode::needs_normalizing(win) {
            // JSON-escaped or colored text: match on the decoded view, mask the raw bytes.
            let norm = decode::normalize(win);
            matches(rule, &norm.text, |s, e| {
                let (os, oe) = norm.input_span(s, e);
                out.push(Candidate {
                    start: ws + os,
                    end: ws + oe,
                    rule: ri,
                });
            });
        } else if rule.regex.get().is_some_and(|re| re.is_match(win)) {
            // Most windows hold no match: is_match is much cheaper than captures.
            matches(rule, win, |s, e| {
                out.push(Candidate {
                    start: ws + s,
                    end: ws + e,
                    rule: ri,
                });
            });
        }
    }

    /// Merges overlapping candidates into their union (never leave part of a secret
    /// visible). The id kept is the non-generic rule that comes first in the file.
    fn resolve(&self, mut cands: Vec<Candidate>) -> Vec<Candidate> {
        cands.sort_unstable_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let rank = |c: &Candidate| (self.rules[c.rule].generic, c.rule);
        let mut merged: Vec<Candidate> = Vec::with_capacity(cands.len());
        for c in cands {
            match merged.last_mut() {
                Some(last) if c.start < last.end => {
                    if rank(&c) < rank(last) {
                        last.rule = c.rule;
                    }
                    last.end = last.end.max(c.end);
                }
                _ => merged.push(c),
            }
        }
        merged
    }

    /// Checks every example and negative example of the selected rules: each example
    /// must be found by its rule, no negative may be.
    fn check_examples(&self, select: impl Fn(&Rule) -> bool) -> Result<()> {
        let mut problems = Vec::new();
        for (ri, rule) in self.rules.iter().enumerate().filter(|(_, r)| select(r)) {
            for (n, ex) in rule.examples.iter().enumerate() {
                let text = rules::expand_template(ex, rules::example_seed(&rule.id, n))?;
                if self.candidates(text.as_bytes(), Some(ri)).is_empty() {
                    problems.push(format!(
                        "{}: rule {:?} does not find its example #{}",
                        rule.origin,
                        rule.id,
                        n + 1
                    ));
                }
            }
            for (n, ex) in rule.negative_examples.iter().enumerate() {
                let text = rules::expand_template(ex, rules::example_seed(&rule.id, 1000 + n))?;
                if !self.candidates(text.as_bytes(), Some(ri)).is_empty() {
                    problems.push(format!(
                        "{}: rule {:?} fires on its negative example #{}",
                        rule.origin,
                        rule.id,
                        n + 1
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("{}", problems.join("\n"))
        }
    }
}

/// Calls `emit(start, end)` for the secret part of every accepted match of `rule` in
/// `text`: `secretGroup`, else the first group that took part, else the whole match.
fn matches(rule: &Rule, text: &[u8], mut emit: impl FnMut(usize, usize)) {
    let Some(re) = rule.regex.get() else { return };
    let mut locs = re.capture_locations();
    let mut at = 0;
    while at <= text.len() {
        let Some(m) = re.captures_read_at(&mut locs, text, at) else {
            break;
        };
        at = if m.end() > m.start() {
            m.end()
        } else {
            m.end() + 1
        };
        let (s, e) = rule
            .secret_group
            .and_then(|g| locs.get(g))
            .or_else(|| (1..locs.len()).find_map(|i| locs.get(i)))
            .unwrap_or((m.start(), m.end()));
        if s >= e {
            continue;
        }
        // Allowlist regexes on the match also see the name the keyword is part of
        // (`monkey`, `public_key`): walk back over identifier characters.
        let mut ctx = m.start();
        let stop = ctx.saturating_sub(MAX_IDENT);
        while ctx > stop && is_ident(text[ctx - 1]) {
            ctx -= 1;
        }
        if accept(rule, &text[s..e], &text[ctx..m.end()]) {
            emit(s, e);
        }
    }
}

/// How far back `matches` looks for the start of an identifier.
const MAX_IDENT: usize = 48;

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Entropy, global allowlist and the rule's own allowlist.
fn accept(rule: &Rule, secret: &[u8], context: &[u8]) -> bool {
    if let Some(min) = rule.entropy {
        if allow::shannon(secret) <= min {
            return false;
        }
    }
    if allow::globally_allowed(secret) || allow::exactly_allowed(secret) {
        return false;
    }
    if rule.generic && allow::reads_as_identifier(secret) {
        return false;
    }
    if rule
        .stopwords
        .as_ref()
        .is_some_and(|ac| ac.is_match(secret))
    {
        return false;
    }
    if rule
        .allow_secret
        .as_ref()
        .and_then(|l| l.get())
        .is_some_and(|re| re.is_match(secret))
    {
        return false;
    }
    !rule
        .allow_match
        .as_ref()
        .and_then(|l| l.get())
        .is_some_and(|re| re.is_match(context))
}

/// Bytes that end a token when a window edge has to be moved off the middle of one.
fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'`' | b',' | b';'
    )
}

/// Window scanned for a keyword hit at `[s, e)` by a single-line rule: the line, clamped
/// to ±512 bytes (then moved outward to a delimiter so no token is cut). The flag says
/// whether the window is the whole line.
fn line_window(hay: &[u8], s: usize, e: usize) -> (usize, usize, bool) {
    let lo = s.saturating_sub(LINE_WINDOW);
    let hi = hay.len().min(e + LINE_WINDOW);
    let mut ws = match bytes::rfind(b'\n', &hay[lo..s]) {
        Some(p) => lo + p + 1,
        None => lo,
    };
    let mut we = match bytes::find(b'\n', &hay[e..hi]) {
        Some(p) => e + p,
        None => hi,
    };
    let mut whole = true;
    // Clamped inside a very long line: widen to the nearest delimiter (bounded).
    if ws == lo && ws > 0 && hay[ws - 1] != b'\n' {
        whole = false;
        let stop = ws.saturating_sub(LINE_WINDOW);
        while ws > stop && !is_delimiter(hay[ws - 1]) {
            ws -= 1;
        }
    }
    if we == hi && we < hay.len() {
        whole = false;
        let stop = hay.len().min(we + LINE_WINDOW);
        while we < stop && !is_delimiter(hay[we]) {
            we += 1;
        }
    }
    (ws, we, whole)
}

/// Why an environment variable is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// The name says it is a secret.
    SecretName,
    /// The value is a path/address granting access (agent socket, credentials file).
    CapabilityName,
    /// The value has the shape of a known token or key.
    SecretValue,
    /// The value is a URL with a password in it.
    UrlPassword,
}

/// Why an environment variable must be removed. Never holds any part of the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct RemovalReason {
    /// Which kind of rule fired.
    pub kind: ReasonKind,
    /// Human-readable detail, e.g. "name contains TOKEN" or "value looks like github-pat".
    pub detail: String,
}

/// Why an env var must be removed, or None to keep it. Name rules first (secret words,
/// capabilities, known-secret names); names that are known-safe or neutral still have their
/// value checked against the specific value rules, so `FOO=ghp_...` is removed.
pub fn classify_env(name: &str, value: &str) -> Option<RemovalReason> {
    match classify_name(name) {
        NameClass::Secret(why) => Some(RemovalReason {
            kind: ReasonKind::SecretName,
            detail: why.to_string(),
        }),
        NameClass::Capability(what) => Some(RemovalReason {
            kind: ReasonKind::CapabilityName,
            detail: format!("capability: {what}"),
        }),
        NameClass::KnownSafe | NameClass::Neutral => {
            let rule = Engine::builtin().value_rule(value)?;
            let kind = if rule == URL_PASSWORD_RULE {
                ReasonKind::UrlPassword
            } else {
                ReasonKind::SecretValue
            };
            Some(RemovalReason {
                kind,
                detail: format!("value looks like {rule}"),
            })
        }
    }
}

#[cfg(test)]
mod tests;
