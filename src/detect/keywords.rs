//! The keyword prefilter: which rules run where. Two tables, so a launch builds only what it
//! needs: the keywords as written (ASCII case-insensitive), which every environment scrub
//! needs, and their base64 and hex forms, which only text holding such a run needs (they are
//! most of the patterns).
//!
//! Short inputs are searched by a trigram index, which builds in microseconds (an
//! Aho-Corasick automaton of the same keywords costs about a millisecond to build, most of a
//! launch's detection); bulk input by a DFA, dear to build and fastest to search.

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use anyhow::{bail, Result};

/// Inputs at least this long are searched with the DFA (dear to build, fastest to search).
pub(crate) const BULK: usize = 64 * 1024;
/// Inputs shorter than this have their encoded runs decoded directly, without the encoded
/// keywords' table (most of the patterns).
pub(crate) const DIRECT: usize = 16 * 1024;
/// Keywords are indexed by their first this many bytes (shorter ones by their first byte).
const TRIGRAM: usize = 3;

/// One keyword occurrence: `(keyword, start, end)`.
pub(crate) type Hit = (usize, usize, usize);

/// Keywords, the rules that listed each, and their automata.
pub(crate) struct Table {
    /// The distinct keywords.
    patterns: Vec<String>,
    /// For each keyword, the rules that listed it.
    rules: Vec<Vec<usize>>,
    case_insensitive: bool,
    /// For short inputs (and for bulk input should the DFA not build).
    index: Trigrams,
    /// For bulk input, built on first use.
    dfa: OnceLock<Option<AhoCorasick>>,
}

impl Table {
    /// A table of `(rule, keyword)` pairs; its trigram index is built now.
    pub(crate) fn new<'a>(
        words: impl IntoIterator<Item = (usize, &'a str)>,
        case_insensitive: bool,
    ) -> Result<Table> {
        let mut patterns: Vec<String> = Vec::new();
        let mut rules: Vec<Vec<usize>> = Vec::new();
        let mut index: HashMap<&'a str, usize> = HashMap::new();
        for (rule, k) in words {
            match index.get(k) {
                Some(&p) => {
                    if !rules[p].contains(&rule) {
                        rules[p].push(rule);
                    }
                }
                None => {
                    index.insert(k, patterns.len());
                    patterns.push(k.to_string());
                    rules.push(vec![rule]);
                }
            }
        }
        if patterns.iter().any(String::is_empty) {
            bail!("an empty keyword");
        }
        let index = Trigrams::new(&patterns, case_insensitive);
        Ok(Table {
            patterns,
            rules,
            case_insensitive,
            index,
            dfa: OnceLock::new(),
        })
    }

    /// Number of distinct keywords.
    pub(crate) fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Every occurrence of every keyword in `hay`, overlapping ones included, as
    /// `(keyword, start, end)`; in text order per keyword.
    pub(crate) fn hits<'a>(&'a self, hay: &'a [u8]) -> Box<dyn Iterator<Item = Hit> + 'a> {
        if hay.len() >= BULK {
            if let Some(dfa) = self.dfa() {
                return Box::new(
                    dfa.find_overlapping_iter(hay)
                        .map(|m| (m.pattern().as_usize(), m.start(), m.end())),
                );
            }
        }
        Box::new(self.index.hits(&self.patterns, hay).into_iter())
    }

    /// The DFA for bulk input, built on first use; `None` should it not build (the trigram
    /// index then serves: slower, never blind).
    fn dfa(&self) -> Option<&AhoCorasick> {
        self.dfa
            .get_or_init(|| {
                builder(self.case_insensitive, AhoCorasickKind::DFA)
                    .build(&self.patterns)
                    .ok()
            })
            .as_ref()
    }

    /// An automaton of these keywords (ASCII case-insensitive when the table is), built now.
    pub(crate) fn automaton(&self) -> Result<AhoCorasick> {
        Ok(
            builder(self.case_insensitive, AhoCorasickKind::NoncontiguousNFA)
                .build(&self.patterns)?,
        )
    }

    /// The rules that listed keyword `pattern`.
    pub(crate) fn rules_of(&self, pattern: usize) -> &[usize] {
        &self.rules[pattern]
    }
}

fn builder(case_insensitive: bool, kind: AhoCorasickKind) -> AhoCorasickBuilder {
    let mut b = AhoCorasickBuilder::new();
    b.ascii_case_insensitive(case_insensitive)
        .match_kind(MatchKind::Standard)
        .kind(Some(kind));
    b
}

/// Keywords indexed by their first three bytes: a bitmap of the trigrams' hashes rejects
/// almost every position of ordinary text at the cost of one load. The few shorter keywords
/// (invisible characters) are found by their first byte, which ordinary text rarely holds.
struct Trigrams {
    /// Bit `hash(t)` is set for each keyword trigram `t`.
    bits: Vec<u64>,
    /// The keywords starting with each trigram.
    starts: HashMap<u32, Vec<usize>>,
    /// Keywords shorter than a trigram, by first byte.
    short: Vec<Vec<usize>>,
    case_insensitive: bool,
}

/// Bits in the bitmap (a power of two).
const BITS: usize = 1 << 14;

impl Trigrams {
    fn new(patterns: &[String], case_insensitive: bool) -> Trigrams {
        let mut t = Trigrams {
            bits: vec![0; BITS / 64],
            starts: HashMap::new(),
            short: Vec::new(),
            case_insensitive,
        };
        for (i, p) in patterns.iter().enumerate() {
            if p.len() < TRIGRAM {
                t.short.resize(256, Vec::new());
                for b in [
                    p.as_bytes()[0],
                    t.fold(p.as_bytes()[0]),
                    p.as_bytes()[0].to_ascii_uppercase(),
                ] {
                    if !t.short[usize::from(b)].contains(&i) {
                        t.short[usize::from(b)].push(i);
                    }
                }
                continue;
            }
            let g = t.trigram(p.as_bytes(), 0);
            let h = hash(g);
            t.bits[h / 64] |= 1 << (h % 64);
            t.starts.entry(g).or_default().push(i);
        }
        t
    }

    fn fold(&self, c: u8) -> u8 {
        if self.case_insensitive {
            c.to_ascii_lowercase()
        } else {
            c
        }
    }

    fn trigram(&self, b: &[u8], i: usize) -> u32 {
        let f = |c: u8| u32::from(self.fold(c));
        (f(b[i]) << 16) | (f(b[i + 1]) << 8) | f(b[i + 2])
    }

    /// Every keyword occurrence, by start (for each start: the trigram's keywords, then the
    /// short ones). One tight pass: a rolling trigram and a bitmap test per byte.
    fn hits(&self, patterns: &[String], hay: &[u8]) -> Vec<Hit> {
        let mut out = Vec::new();
        let matches = |k: usize, i: usize| {
            let p = patterns[k].as_bytes();
            hay.get(i..i + p.len()).is_some_and(|w| {
                if self.case_insensitive {
                    w.eq_ignore_ascii_case(p)
                } else {
                    w == p
                }
            })
        };
        let push = |ks: &[usize], i: usize, out: &mut Vec<Hit>| {
            for &k in ks {
                if matches(k, i) {
                    out.push((k, i, i + patterns[k].len()));
                }
            }
        };
        let mut g = 0u32;
        for (i, &b) in hay.iter().enumerate() {
            // `g` holds the trigram of bytes i..i+3 once two more are read: shift in byte
            // i+2 (when there is one) and test.
            if let Some(&next) = hay.get(i + 2) {
                if i == 0 {
                    g = (u32::from(self.fold(hay[0])) << 8) | u32::from(self.fold(hay[1]));
                }
                g = ((g << 8) | u32::from(self.fold(next))) & 0x00FF_FFFF;
                let h = hash(g);
                if self.bits[h / 64] & (1 << (h % 64)) != 0 {
                    if let Some(ks) = self.starts.get(&g) {
                        push(ks, i, &mut out);
                    }
                }
            }
            if let Some(ks) = self.short.get(usize::from(b)) {
                push(ks, i, &mut out);
            }
        }
        out
    }
}

fn hash(trigram: u32) -> usize {
    (trigram.wrapping_mul(0x9E37_79B1) >> (32 - BITS.trailing_zeros())) as usize
}
