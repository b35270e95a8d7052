//! Secret detector: a rules file (gitleaks field names, noseyparker-style examples)
//! compiled into one case-insensitive Aho-Corasick keyword pass, after which a rule's
//! ASCII-mode regex runs only in a window around its keyword hits.
//!
//! Also decides which environment variables must be removed ([`classify_env`]), from the
//! name rules in [`names`] and the value rules of the built-in engine.

pub(crate) mod allow;
pub(crate) mod bytes;
mod decode;
pub(crate) mod detectors;
mod keywords;
pub mod names;
pub mod personal;
mod rules;

use std::sync::{OnceLock, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};
use anyhow::{Context, Result};
use serde::Serialize;

pub use allow::allow_exact;
pub(crate) use decode::normalize;
use detectors::{encoded, invisible, DetectorKind, Scope};
pub use names::{classify_name, NameClass};
pub use personal::{Location, PersonalAllow};
use rules::{Matcher, Rule, LINE_WINDOW};

/// Rule id of PEM private key blocks (the streaming redactor treats them specially).
pub const PRIVATE_KEY_RULE: &str = "private-key";

/// Rule id of URL userinfo passwords.
pub const URL_PASSWORD_RULE: &str = "url-password";

/// How many times encoded text is decoded and checked again (base64 of base64 is two).
const MAX_DECODE_DEPTH: u8 = 2;

/// A compiled rule set.
pub struct Engine {
    rules: Vec<Rule>,
    /// The keywords of every rule but the encoded detector's, as written (ASCII
    /// case-insensitive).
    plain: keywords::Table,
    /// The rules of the `encoded` detector.
    encoded_rules: Vec<usize>,
    /// Their keywords, the base64 and hex forms of the token prefixes (case-sensitive): built
    /// on first use, by text holding a run they could be in (an environment rarely does).
    encoded: OnceLock<Option<keywords::Table>>,
    /// Both, as one table (encoded forms case-insensitive), for bulk input: one DFA pass
    /// instead of two. Built on first bulk use.
    all: OnceLock<Option<keywords::Table>>,
    /// Values and patterns never reported (agentbox's placeholders, the person's allow list).
    allow: RwLock<allow::UserAllow>,
    /// Multi-line rules other than private keys (the redactor follows those itself), whose
    /// match may start in a chunk of a stream and end in a later one; see `find_continued`.
    continued: Vec<usize>,
    /// For each rule, whether it is in `continued`.
    is_continued: Vec<bool>,
    /// Their keywords and the rule of each, built on first use (only streams need them).
    continued_keywords: OnceLock<Option<(AhoCorasick, Vec<usize>)>>,
    /// How far past the start of their keyword their match can end.
    continued_reach: usize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.len())
            .field("keywords", &self.plain.len())
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

/// What made an environment value a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueMatch<'a> {
    /// The rule that matched.
    pub rule: &'a str,
    /// It matched what the value decodes to (base64 or hex), not the value itself.
    pub decoded: bool,
}

/// The keywords of the `encoded` detector's rules: the base64 and hex forms of the other
/// rules' keywords (the prefixes of token families) and of the words of secret names, plus any
/// written on the rule. A base64 or hex run is decoded only where one of them appears.
fn encoded_words(rules: &[Rule], encoded_rules: &[usize]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for r in rules
        .iter()
        .filter(|r| !r.generic && r.encoded == rules::Encoded::Searched)
    {
        if matches!(r.matcher, Matcher::Regex(_)) {
            for k in r.keywords_raw.iter().filter(|k| k.len() >= 4) {
                words.extend(encoded::encoded_keywords(k.as_bytes()));
            }
        }
    }
    for w in detectors::ENCODED_WORDS {
        words.extend(encoded::encoded_keywords(w.as_bytes()));
    }
    for &r in encoded_rules {
        words.extend(rules[r].keywords_raw.iter().cloned());
    }
    words
}

/// A candidate before overlap resolution.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    start: usize,
    end: usize,
    rule: usize,
}

/// A window still to scan for one rule, and the span of the keyword hits merged into it (from
/// the first start to the last end).
#[derive(Clone, Copy)]
struct Window {
    start: usize,
    end: usize,
    keywords: (usize, usize),
}

/// The rules a scan runs.
#[derive(Clone, Copy)]
enum Only<'a> {
    All,
    /// One rule (example checks, before overlap resolution hides its match behind another's).
    Rule(usize),
    /// Those marked (a stream's look back: the multi-line rules a keyword can carry on).
    Rules(&'a [bool]),
}

impl Only<'_> {
    fn admits(self, r: usize) -> bool {
        match self {
            Only::All => true,
            Only::Rule(o) => o == r,
            Only::Rules(m) => m[r],
        }
    }
}

impl Engine {
    /// The embedded rules, compiled once per process.
    pub fn builtin() -> &'static Engine {
        static ENGINE: OnceLock<Engine> = OnceLock::new();
        ENGINE.get_or_init(|| {
            // The embedded file is checked by unit tests; failing here is a build defect.
            rules::builtin()
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
        let mut all = rules::builtin()?;
        let user_ids: Vec<String> = user.iter().map(|r| r.id.clone()).collect();
        all.retain(|r| !user_ids.contains(&r.id));
        // Built-in order first: earlier rules win overlaps. User rules go after the token
        // rules, before the context detectors and any generic rule (those lose to shapes).
        let generic_at = all
            .iter()
            .position(|r| r.generic || matches!(r.matcher, Matcher::Detector(_)))
            .unwrap_or(all.len());
        let tail = all.split_off(generic_at);
        all.extend(user);
        all.extend(tail);
        let engine = Engine::new(all)?;
        if !engine.encoded_rules.is_empty() && engine.encoded_table().is_none() {
            anyhow::bail!("{source}: the encoded keywords do not build into an automaton");
        }
        engine
            .check_examples(|r| user_ids.contains(&r.id))
            .with_context(|| format!("checking examples of {source}"))?;
        Ok(engine)
    }

    fn new(rules: Vec<Rule>) -> Result<Engine> {
        let is_encoded = |r: &Rule| matches!(r.matcher, Matcher::Detector(DetectorKind::Encoded));
        let encoded_rules: Vec<usize> = (0..rules.len())
            .filter(|&i| is_encoded(&rules[i]))
            .collect();
        let plain = keywords::Table::new(
            rules
                .iter()
                .enumerate()
                .filter(|(_, r)| !is_encoded(r))
                .flat_map(|(i, r)| r.keywords.iter().map(move |k| (i, k.as_str()))),
            true,
        )?;
        let continued: Vec<usize> = (0..rules.len())
            .filter(|&i| rules[i].window.is_some() && rules[i].id != PRIVATE_KEY_RULE)
            .collect();
        let continued_reach = continued
            .iter()
            .map(|&i| rules[i].window.unwrap_or(0))
            .max()
            .unwrap_or(0)
            + continued
                .iter()
                .flat_map(|&i| &rules[i].keywords)
                .map(|w| w.len())
                .max()
                .unwrap_or(0);
        let is_continued = (0..rules.len()).map(|i| continued.contains(&i)).collect();
        Ok(Engine {
            rules,
            plain,
            encoded_rules,
            encoded: OnceLock::new(),
            all: OnceLock::new(),
            allow: RwLock::new(allow::UserAllow::default()),
            continued,
            is_continued,
            continued_keywords: OnceLock::new(),
            continued_reach,
        })
    }

    /// Never reports these exact values, nor any finding inside one of them: agentbox's own
    /// credential placeholders, or a person's false positives (`allow-secrets`).
    pub fn allow_values<I, S>(&self, values: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        // A poisoned lock only means another thread panicked while adding: the list is whole.
        let mut a = self.allow.write().unwrap_or_else(|e| e.into_inner());
        a.add_values(values);
    }

    /// Never reports a finding that one of these patterns (ASCII regexes) matches whole.
    pub fn allow_patterns(&self, patterns: &[String]) -> Result<()> {
        let mut a = self.allow.write().unwrap_or_else(|e| e.into_inner());
        a.add_patterns(patterns)
    }

    /// How many values and patterns are allowed.
    pub fn allowed_count(&self) -> usize {
        self.allow.read().map_or(0, |a| a.len())
    }

    /// Drops the candidates the allow list covers.
    fn without_allowed(&self, hay: &[u8], mut cands: Vec<Candidate>) -> Vec<Candidate> {
        if cands.is_empty() {
            return cands;
        }
        let a = self.allow.read().unwrap_or_else(|e| e.into_inner());
        if a.len() > 0 {
            cands.retain(|c| !a.allows(hay, c.start, c.end));
        }
        cands
    }

    /// Findings in `hay` of the multi-line rules (private keys aside) whose keyword is in
    /// `before`, the text just before `hay` in a stream: a netrc `machine` line written
    /// before its `password` line. Spans are relative to `hay`, cut at its start. Only the
    /// last [`Engine::continued_reach`] bytes of `before` can matter.
    pub(crate) fn find_continued(&self, before: &[u8], hay: &[u8]) -> Vec<Finding> {
        let Some((ac, rule_of)) = self.continued_automaton() else {
            return Vec::new();
        };
        if hay.is_empty() {
            return Vec::new();
        }
        // The rules whose keyword in `before` is near enough its end for their match to go
        // on into `hay`, each by its own window (a JSON object's name reaches 1 KB, a
        // Terraform state's type 64 KB): one pass for them all, over just what they reach.
        let mut live = vec![false; self.rules.len()];
        let (mut from, mut reach) = (before.len(), 0);
        for m in ac.find_overlapping_iter(before) {
            let r = rule_of[m.pattern().as_usize()];
            let ends_by = m.end() + self.rules[r].window.unwrap_or(0);
            if ends_by > before.len() {
                live[r] = true;
                from = from.min(m.start());
                reach = reach.max(ends_by - before.len());
            }
        }
        if reach == 0 {
            return Vec::new();
        }
        // A match may start on its keyword's line, before the keyword (see `keyword_pass`).
        let from = from.saturating_sub(LINE_WINDOW);
        let back = before.len() - from;
        let joined = [&before[from..], &hay[..hay.len().min(reach)]].concat();
        let mut out = Vec::new();
        for c in self.candidates(&joined, Only::Rules(&live), 0) {
            // A match from a keyword in `before` ends within the reach; matches starting
            // later are `find`'s (a cut one here is part of the whole one there).
            if c.end > back {
                out.push(Finding {
                    rule_id: self.rules[c.rule].id.clone(),
                    start: c.start.saturating_sub(back),
                    end: c.end - back,
                });
            }
        }
        out
    }

    /// The keywords of the multi-line rules `find_continued` follows, and the rule of each,
    /// built on first use; `None` when there are none. Should their DFA not build, an NFA
    /// stands in (slower, never blind).
    fn continued_automaton(&self) -> Option<&(AhoCorasick, Vec<usize>)> {
        self.continued_keywords
            .get_or_init(|| {
                let (rule_of, words): (Vec<usize>, Vec<&String>) = (self.continued.iter())
                    .flat_map(|&i| self.rules[i].keywords.iter().map(move |k| (i, k)))
                    .unzip();
                if words.is_empty() {
                    return None;
                }
                // A DFA: a handful of keywords build in microseconds, and every chunk of a
                // stream searches its context (16 KiB and more) with it; an NFA stepped
                // through that context cost a fifth of `redact`'s time.
                let build = |kind| {
                    AhoCorasickBuilder::new()
                        .ascii_case_insensitive(true)
                        .kind(Some(kind))
                        .build(&words)
                };
                let ac = build(AhoCorasickKind::DFA)
                    .or_else(|_| build(AhoCorasickKind::NoncontiguousNFA))
                    .map_err(|e| tracing::error!("multi-line rules not continued: {e}"))
                    .ok()?;
                Some((ac, rule_of))
            })
            .as_ref()
    }

    /// Every keyword in one table, for bulk input (see `all`); `None` when there is no
    /// encoded rule, or the table does not build (the two tables then serve).
    fn bulk_table(&self) -> Option<&keywords::Table> {
        self.all
            .get_or_init(|| {
                if self.encoded_rules.is_empty() {
                    return None;
                }
                let mut words: Vec<String> = encoded_words(&self.rules, &self.encoded_rules)
                    .iter()
                    .map(|w| w.to_ascii_lowercase())
                    .collect();
                // Case-insensitive here: hex in either case is one keyword.
                words.sort();
                words.dedup();
                let plain = (self.rules.iter().enumerate())
                    .filter(|(i, _)| !self.encoded_rules.contains(i))
                    .flat_map(|(i, r)| r.keywords.iter().map(move |k| (i, k.as_str())));
                let encoded = (self.encoded_rules.iter())
                    .flat_map(|&r| words.iter().map(move |w| (r, w.as_str())));
                keywords::Table::new(plain.chain(encoded), true).ok()
            })
            .as_ref()
    }

    /// The encoded detector's keyword table, built on first use; `None` when no rule is that
    /// detector. Should it not build (it always does for the built-in rules, which a unit test
    /// checks; `builtin_with` builds it for user rules), encoded secrets are not looked for,
    /// and the log says so.
    fn encoded_table(&self) -> Option<&keywords::Table> {
        self.encoded
            .get_or_init(|| {
                if self.encoded_rules.is_empty() {
                    return None;
                }
                let words = encoded_words(&self.rules, &self.encoded_rules);
                let pairs = (self.encoded_rules.iter())
                    .flat_map(|&r| words.iter().map(move |w| (r, w.as_str())));
                match keywords::Table::new(pairs, false) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        tracing::error!("encoded secrets are not looked for: {e:#}");
                        None
                    }
                }
            })
            .as_ref()
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
        self.find_noting_continued(haystack).0
    }

    /// [`Engine::find`], and where the last keyword of a multi-line rule starts in
    /// `haystack` (see [`Engine::find_continued`]): a stream's next chunk needs that rule's
    /// look back only when one is near the end. The keyword pass sees those keywords anyway;
    /// searching the stream's context for them again cost a tenth of `redact`'s time.
    pub(crate) fn find_noting_continued(&self, haystack: &[u8]) -> (Vec<Finding>, Option<usize>) {
        let mut last = None;
        let cands = self.candidates_noting(haystack, Only::All, 0, &mut last);
        let cands = self.without_allowed(haystack, cands);
        if cands.is_empty() {
            return (Vec::new(), last);
        }
        let found = self
            .resolve(cands)
            .into_iter()
            .map(|c| Finding {
                rule_id: self.rules[c.rule].id.clone(),
                start: c.start,
                end: c.end,
            })
            .collect();
        (found, last)
    }

    /// For an environment VALUE: the id of a specific rule (token shape, URL password,
    /// private key, header, secret assignment...) that matches it. Generic rules are not
    /// used: they are noisy on values that are not logs.
    pub fn value_rule(&self, value: &str) -> Option<&str> {
        self.value_match(value, true).map(|m| m.rule)
    }

    /// What makes `value` a secret: a rule matching it, or matching what it decodes to when
    /// it is wholly base64 or hex (twice at most). `apply_allow: false` ignores the allow
    /// list (to tell what it kept).
    pub fn value_match(&self, value: &str, apply_allow: bool) -> Option<ValueMatch<'_>> {
        self.value_match_with(value, apply_allow, None)
    }

    /// [`Engine::value_match`], also dropping what a person's allow-list covers.
    fn value_match_with(
        &self,
        value: &str,
        apply_allow: bool,
        extra: Option<&allow::UserAllow>,
    ) -> Option<ValueMatch<'_>> {
        let hay = value.as_bytes();
        let best = |hay: &[u8], depth: u8| {
            let mut cands = self.candidates(hay, Only::All, depth);
            if apply_allow {
                cands = self.without_allowed(hay, cands);
            }
            if let Some(a) = extra {
                cands.retain(|c| !a.allows(hay, c.start, c.end));
            }
            self.best_specific(&cands)
        };
        if let Some(rule) = best(hay, 0) {
            return Some(ValueMatch {
                rule,
                decoded: false,
            });
        }
        let mut cur = hay.to_vec();
        for depth in 1..=MAX_DECODE_DEPTH {
            cur = encoded::whole_value(&cur)?;
            if let Some(rule) = best(&cur, depth) {
                return Some(ValueMatch {
                    rule,
                    decoded: true,
                });
            }
        }
        None
    }

    /// The first non-generic rule (in file order) that finds something in `hay`.
    fn best_specific(&self, cands: &[Candidate]) -> Option<&str> {
        cands
            .iter()
            .filter(|c| !self.rules[c.rule].generic)
            .map(|c| c.rule)
            .min()
            .map(|r| self.rules[r].id.as_str())
    }

    /// Runs keyword prefilter and rule regexes, for the rules `only` admits.
    fn candidates(&self, hay: &[u8], only: Only, depth: u8) -> Vec<Candidate> {
        self.candidates_noting(hay, only, depth, &mut None)
    }

    /// [`Engine::candidates`], noting in `last_continued` the start of the last keyword of a
    /// `continued` rule.
    fn candidates_noting(
        &self,
        hay: &[u8],
        only: Only,
        depth: u8,
        last_continued: &mut Option<usize>,
    ) -> Vec<Candidate> {
        let mut out = Vec::new();
        // Per rule, the window still to scan: see `keyword_pass`.
        let mut pending: Vec<Option<Window>> = Vec::new();
        let mut pass = |table: &keywords::Table, out: &mut Vec<Candidate>| {
            let state = (&mut pending, &mut *last_continued);
            self.keyword_pass(table, hay, only, depth, state, out)
        };
        if hay.len() >= keywords::BULK && !matches!(only, Only::Rule(_)) {
            if let Some(table) = self.bulk_table() {
                pass(table, &mut out);
                for (r, slot) in pending.iter().enumerate() {
                    if let Some(w) = *slot {
                        self.run_rule(r, hay, (w.start, w.end), Some(w.keywords), depth, &mut out);
                    }
                }
                return out;
            }
        }
        pass(&self.plain, &mut out);
        let encoded_wanted = !self.encoded_rules.is_empty()
            && self.encoded_rules.iter().any(|&r| only.admits(r))
            && (hay.len() >= keywords::BULK
                || decode::needs_normalizing(hay)
                || encoded::may_hold_encoded(hay));
        if encoded_wanted && hay.len() < keywords::DIRECT {
            // Short text (an environment value, an rc file, a line): decoding its runs costs
            // less than building the encoded keywords' automaton, and finds what it would.
            for &r in self.encoded_rules.iter().filter(|&&r| only.admits(r)) {
                self.run_rule(r, hay, (0, hay.len()), None, depth, &mut out);
            }
        } else if encoded_wanted {
            if let Some(table) = self.encoded_table() {
                pass(table, &mut out);
            }
        }
        for (r, slot) in pending.iter().enumerate() {
            if let Some(w) = *slot {
                self.run_rule(r, hay, (w.start, w.end), Some(w.keywords), depth, &mut out);
            }
        }
        out
    }

    /// Finds the keywords of `table` in `hay` and schedules the windows of their rules. Each
    /// rule's keywords are in one table, so its hits arrive in text order: a new hit either
    /// extends its pending window (same line, overlapping) or the old one is scanned and
    /// replaced.
    fn keyword_pass(
        &self,
        table: &keywords::Table,
        hay: &[u8],
        only: Only,
        depth: u8,
        (pending, last_continued): (&mut Vec<Option<Window>>, &mut Option<usize>),
        out: &mut Vec<Candidate>,
    ) {
        // Line of the previous hit, when short enough to be scanned whole: most lines
        // with one keyword have several, and finding line ends is not free.
        let mut line = (usize::MAX, 0usize);
        for (k, start, end) in table.hits(hay) {
            for &r in table.rules_of(k) {
                if self.is_continued[r] {
                    *last_continued = Some(last_continued.map_or(start, |l| l.max(start)));
                }
                if !only.admits(r) {
                    continue;
                }
                let (ws, we) = match self.rules[r].window {
                    Some(after) => (
                        start.saturating_sub(LINE_WINDOW),
                        hay.len().min(end + after),
                    ),
                    None if start >= line.0 && end <= line.1 => line,
                    None => {
                        let (ws, we, whole) = line_window(hay, start, end);
                        if whole {
                            line = (ws, we);
                        }
                        (ws, we)
                    }
                };
                if let Some((t, from, within)) = &self.rules[r].requires {
                    let stop = we.max(end).min(end + within);
                    let after = &hay[(end + from).min(stop)..stop];
                    if !after.iter().any(|&b| t[usize::from(b)]) {
                        continue;
                    }
                }
                if pending.is_empty() {
                    pending.resize(self.rules.len(), None);
                }
                match &mut pending[r] {
                    Some(cur) if ws <= cur.end && we >= cur.start => {
                        cur.start = cur.start.min(ws);
                        cur.end = cur.end.max(we);
                        cur.keywords = (cur.keywords.0.min(start), cur.keywords.1.max(end));
                    }
                    slot => {
                        let new = Window {
                            start: ws,
                            end: we,
                            keywords: (start, end),
                        };
                        if let Some(w) = slot.replace(new) {
                            let span = Some(w.keywords);
                            self.run_rule(r, hay, (w.start, w.end), span, depth, out);
                        }
                    }
                }
            }
        }
    }

    fn run_rule(
        &self,
        ri: usize,
        hay: &[u8],
        (ws, we): (usize, usize),
        win_keywords: Option<(usize, usize)>,
        depth: u8,
        out: &mut Vec<Candidate>,
    ) {
        let rule = &self.rules[ri];
        let win = &hay[ws..we];
        if decode::needs_normalizing(win) {
            // JSON-escaped or colored text: match on the decoded view, mask the raw bytes.
            let norm = decode::normalize(win);
            let mut found = Vec::new();
            let scope = Scope {
                hay: &norm.text,
                start: 0,
                end: norm.text.len(),
                keywords: None,
            };
            self.run_matcher(ri, &scope, depth, &mut found);
            for c in found {
                let (os, oe) = norm.input_span(c.start, c.end);
                out.push(Candidate {
                    start: ws + os,
                    end: ws + oe,
                    rule: c.rule,
                });
            }
            return;
        }
        if let Matcher::Regex(re) = &rule.matcher {
            // Most windows hold no match: is_match is much cheaper than captures.
            if !re.get().is_some_and(|re| re.is_match(win)) {
                return;
            }
        }
        let scope = Scope {
            hay,
            start: ws,
            end: we,
            keywords: win_keywords,
        };
        self.run_matcher(ri, &scope, depth, out);
    }

    /// Runs rule `ri`'s regex or detector on the scope's window; candidates are in haystack
    /// offsets.
    fn run_matcher(&self, ri: usize, scope: &Scope, depth: u8, out: &mut Vec<Candidate>) {
        let rule = &self.rules[ri];
        let mut push = |s: usize, e: usize| {
            out.push(Candidate {
                start: s,
                end: e,
                rule: ri,
            })
        };
        let win = &scope.hay[scope.start..scope.end];
        match &rule.matcher {
            Matcher::Regex(_) => {
                matches(rule, win, |s, e| push(scope.start + s, scope.start + e));
            }
            Matcher::Detector(kind) => {
                let mut emit = |s: usize, e: usize| {
                    if accept(rule, &scope.hay[s..e], &scope.hay[s..e]) {
                        push(s, e);
                    }
                };
                match kind {
                    DetectorKind::CommandLine => detectors::cmdline::scan(scope, &mut emit),
                    DetectorKind::Assignment => detectors::assign::scan(scope, &mut emit),
                    DetectorKind::Encoded => self.scan_encoded(scope, depth, &mut emit),
                    DetectorKind::Invisible => {
                        self.scan_invisible(scope, depth, out);
                    }
                }
            }
        }
    }

    /// Base64 and hex runs in the window that decode to text in which a specific rule finds a
    /// secret: the whole run is reported.
    fn scan_encoded(&self, scope: &Scope, depth: u8, emit: &mut dyn FnMut(usize, usize)) {
        if depth >= MAX_DECODE_DEPTH {
            return;
        }
        let win = &scope.hay[scope.start..scope.end];
        for (rs, re) in encoded::runs(win) {
            let hit = encoded::decodings(&win[rs..re]).iter().any(|text| {
                let cands = self.without_allowed(text, self.candidates(text, Only::All, depth + 1));
                cands.iter().any(|c| !self.rules[c.rule].generic)
            });
            if hit {
                emit(scope.start + rs, scope.start + re);
            }
        }
    }

    /// The window without invisible characters, checked again; findings keep their rule and
    /// cover the original bytes (the invisible ones included).
    fn scan_invisible(&self, scope: &Scope, depth: u8, out: &mut Vec<Candidate>) {
        if depth >= MAX_DECODE_DEPTH {
            return;
        }
        let win = &scope.hay[scope.start..scope.end];
        let Some((text, pos)) = invisible::strip(win) else {
            return;
        };
        for c in self.candidates(&text, Only::All, depth + 1) {
            if c.start < c.end && !self.rules[c.rule].generic {
                out.push(Candidate {
                    start: scope.start + pos[c.start],
                    end: scope.start + pos[c.end - 1] + 1,
                    rule: c.rule,
                });
            }
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
                if self
                    .candidates(text.as_bytes(), Only::Rule(ri), 0)
                    .is_empty()
                {
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
                if !self
                    .candidates(text.as_bytes(), Only::Rule(ri), 0)
                    .is_empty()
                {
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
    let Matcher::Regex(re) = &rule.matcher else {
        return;
    };
    let Some(re) = re.get() else { return };
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
    // A rule with `fakes: never` (a private key: its BEGIN line is its own mark) keeps matches
    // that filler or a placeholder word would make a fake (`xxxxxx`, found by the redact fuzz
    // target).
    let checked = rule.fakes == rules::Fakes::Checked;
    if checked && allow::globally_allowed(secret) || allow::exactly_allowed(secret) {
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
    classify_env_allowing(name, value, None)
}

/// [`classify_env`], where a value that a person's allow-list covers is not a secret (a secret
/// name still is: the list's `names` are the caller's to apply, and to show).
pub fn classify_env_allowing(
    name: &str,
    value: &str,
    personal: Option<&PersonalAllow>,
) -> Option<RemovalReason> {
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
            let rule = Engine::builtin()
                .value_match_with(value, true, personal.map(PersonalAllow::compiled))?
                .rule;
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
