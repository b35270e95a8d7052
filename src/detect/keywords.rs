//! The keyword prefilter: which rules run where. Two tables, so a launch builds only what it
//! needs: the keywords as written (ASCII case-insensitive), which every environment scrub
//! needs, and their base64 and hex forms, which only text holding such a run needs (they are
//! most of the patterns).
//!
//! Short inputs are searched by a trigram index, which builds in microseconds (an
//! Aho-Corasick automaton of the same keywords costs about a millisecond to build, most of a
//! launch's detection); bulk input by a DFA, dear to build and fastest to search. A DFA step
//! waits for the previous one (a load from its table), so the DFA walks four parts of the
//! input at once: four independent chains of loads keep the core busy.
//!
//! The DFA's rows are as wide as its alphabet rounded up to a power of two, so it reads a
//! compact one: each byte of an ASCII keyword, case folded, is a symbol of its own and every
//! other byte one more (about 60 in all, rows of 64). Bytes above ASCII would each widen it:
//! the few keywords that hold them (invisible characters, words in other scripts) are found
//! by their own trigram index, only in text that is not all ASCII. With them in, the rows
//! were 256 wide: a 10 MB table that took 17 ms to build, for every `redact` of a log.

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
#[cfg(test)]
use aho_corasick::{AhoCorasickBuilder, AhoCorasickKind};
use aho_corasick::{Anchored, MatchKind};
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
    /// For bulk input, built on first use: the ASCII keywords.
    dfa: OnceLock<Option<Walker>>,
    /// The other keywords (bytes above ASCII), by their own index, for bulk input beside
    /// the DFA: their ids in `patterns`, and the index of those patterns.
    wide: Option<(Vec<usize>, Vec<String>, Trigrams)>,
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
        let wide_ids: Vec<usize> = (0..patterns.len())
            .filter(|&k| !patterns[k].is_ascii())
            .collect();
        let wide = (!wide_ids.is_empty()).then(|| {
            let words: Vec<String> = wide_ids.iter().map(|&k| patterns[k].clone()).collect();
            let index = Trigrams::new(&words, case_insensitive);
            (wide_ids, words, index)
        });
        Ok(Table {
            patterns,
            rules,
            case_insensitive,
            index,
            dfa: OnceLock::new(),
            wide,
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
                let mut hits = dfa.hits(hay);
                if let Some((ids, words, index)) = self.wide.as_ref().filter(|_| !hay.is_ascii()) {
                    let before = hits.len();
                    let wide = index.hits(words, hay);
                    hits.extend(wide.into_iter().map(|(k, s, e)| (ids[k], s, e)));
                    if hits.len() > before {
                        // Text order, as the DFA gives it (by end): a rule's hits must come
                        // in order for its windows to merge.
                        hits.sort_by_key(|h| h.2);
                    }
                }
                return Box::new(hits.into_iter());
            }
        }
        Box::new(self.index.hits(&self.patterns, hay).into_iter())
    }

    /// The DFA for bulk input, built on first use; `None` should it not build (the trigram
    /// index then serves: slower, never blind).
    fn dfa(&self) -> Option<&Walker> {
        self.dfa
            .get_or_init(|| {
                let ascii = (0..self.patterns.len()).filter(|&k| self.patterns[k].is_ascii());
                Walker::new(&self.patterns, ascii.collect(), self.case_insensitive)
            })
            .as_ref()
    }

    /// The rules that listed keyword `pattern`.
    pub(crate) fn rules_of(&self, pattern: usize) -> &[usize] {
        &self.rules[pattern]
    }
}

#[cfg(test)]
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

/// A keyword DFA walked over four parts of its input at once (see the module's doc).
struct Walker {
    dfa: DFA,
    /// The DFA's symbol for each byte (see the module's doc).
    symbols: [u8; 256],
    /// The id in the table of each of the DFA's keywords.
    ids: Vec<usize>,
    /// Each keyword's length, to turn a match's end into its start.
    lens: Vec<usize>,
    /// The longest keyword: a part is walked this far past its end, so a keyword that
    /// starts in it and ends in the next part is found once, by it.
    max_len: usize,
    start: aho_corasick::automaton::StateID,
}

/// Parts walked at once.
const LANES: usize = 4;

impl Walker {
    /// The DFA of `patterns[k]` for each `k` in `ids`, all ASCII.
    fn new(patterns: &[String], ids: Vec<usize>, case_insensitive: bool) -> Option<Walker> {
        let fold = |b: u8| {
            if case_insensitive {
                b.to_ascii_lowercase()
            } else {
                b
            }
        };
        // Symbol 0 is every byte no keyword holds; the others are numbered in byte order.
        let mut symbols = [0u8; 256];
        for &k in &ids {
            for b in patterns[k].bytes() {
                symbols[usize::from(fold(b))] = 1;
            }
        }
        let mut next = 0u8;
        for s in symbols.iter_mut().filter(|s| **s != 0) {
            next += 1;
            *s = next;
        }
        if case_insensitive {
            for b in b'A'..=b'Z' {
                symbols[usize::from(b)] = symbols[usize::from(b.to_ascii_lowercase())];
            }
        }
        let words: Vec<Vec<u8>> = (ids.iter())
            .map(|&k| {
                patterns[k]
                    .bytes()
                    .map(|b| symbols[usize::from(b)])
                    .collect()
            })
            .collect();
        // Standard semantics report every keyword ending at each position (overlapping
        // ones included); no prefilter, so only match states are special.
        let dfa = aho_corasick::dfa::Builder::new()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .start_kind(aho_corasick::StartKind::Unanchored)
            .build(&words)
            .ok()?;
        let start = dfa.start_state(Anchored::No).ok()?;
        let lens: Vec<usize> = words.iter().map(Vec::len).collect();
        let max_len = lens.iter().copied().max().unwrap_or(0);
        Some(Walker {
            dfa,
            symbols,
            ids,
            lens,
            max_len,
            start,
        })
    }

    /// Every keyword occurrence in `hay`, overlapping ones included, by part and within a
    /// part by end. Not inlined: the walk needs every register it can get.
    #[inline(never)]
    fn hits(&self, hay: &[u8]) -> Vec<Hit> {
        let d = &self.dfa;
        let part = hay.len() / LANES;
        // Part l covers the starts in bounds[l]..bounds[l + 1].
        let bounds: [usize; LANES + 1] =
            std::array::from_fn(|l| if l == LANES { hay.len() } else { l * part });
        let mut out: [Vec<Hit>; LANES] = Default::default();
        let report = |l: usize, sid, end: usize, out: &mut [Vec<Hit>; LANES]| {
            for i in 0..d.match_len(sid) {
                let k = d.match_pattern(sid, i).as_usize();
                let start = end - self.lens[k];
                if start < bounds[l + 1] {
                    out[l].push((self.ids[k], start, end));
                }
            }
        };
        let mut sids = [self.start; LANES];
        // The common length, all parts in step.
        let (h0, h1, h2, h3) = (
            &hay[bounds[0]..bounds[0] + part],
            &hay[bounds[1]..bounds[1] + part],
            &hay[bounds[2]..bounds[2] + part],
            &hay[bounds[3]..bounds[3] + part],
        );
        let parts = [h0, h1, h2, h3];
        let mut j = 0;
        while j < part {
            j = walk(d, &self.symbols, parts, j, &mut sids);
            for (l, &sid) in sids.iter().enumerate() {
                if d.is_match(sid) {
                    report(l, sid, bounds[l] + j, &mut out);
                }
            }
        }
        // Then each part alone: the rest of the last one, and past the end of the others.
        for (l, sid) in sids.iter_mut().enumerate() {
            let end = if l == LANES - 1 {
                hay.len()
            } else {
                hay.len()
                    .min(bounds[l + 1] + self.max_len.saturating_sub(1))
            };
            let from = bounds[l] + part;
            for (at, &b) in (from..).zip(&hay[from..end]) {
                *sid = d.next_state(Anchored::No, *sid, self.symbols[usize::from(b)]);
                if d.is_match(*sid) {
                    report(l, *sid, at + 1, &mut out);
                }
            }
        }
        out.concat()
    }
}

/// Steps the four parts from `j` until one of them enters a match state (or the common length
/// ends); returns the position after that byte. Apart from its caller, so that the four
/// states and parts stay in registers.
#[inline(never)]
fn walk(
    d: &DFA,
    sym: &[u8; 256],
    [h0, h1, h2, h3]: [&[u8]; LANES],
    mut j: usize,
    sids: &mut [aho_corasick::automaton::StateID; LANES],
) -> usize {
    let [mut s0, mut s1, mut s2, mut s3] = *sids;
    let n = h0.len().min(h1.len()).min(h2.len()).min(h3.len());
    let at = |b: u8| sym[usize::from(b)];
    while j < n {
        s0 = d.next_state(Anchored::No, s0, at(h0[j]));
        s1 = d.next_state(Anchored::No, s1, at(h1[j]));
        s2 = d.next_state(Anchored::No, s2, at(h2[j]));
        s3 = d.next_state(Anchored::No, s3, at(h3[j]));
        j += 1;
        if d.is_special(s0) | d.is_special(s1) | d.is_special(s2) | d.is_special(s3) {
            break;
        }
    }
    *sids = [s0, s1, s2, s3];
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_part_walk_finds_what_one_walk_finds() {
        // Keywords that overlap each other, planted across the parts' bounds and at both
        // ends: the walk must report each occurrence once, as the automaton's own
        // overlapping search does.
        let words: Vec<String> = [
            "pass",
            "password",
            "sword",
            "key",
            "api_key",
            "://",
            "Пароль",
            "\u{200b}",
        ]
        .map(String::from)
        .to_vec();
        let table =
            Table::new(words.iter().enumerate().map(|(i, w)| (i, w.as_str())), true).unwrap();
        let mut hay = vec![b'x'; BULK + 123];
        let n = hay.len();
        for at in [0, 7, n / 4 - 3, n / 4 - 1, n / 2 - 5, 3 * n / 4 - 2, n - 8] {
            hay[at..at + 8].copy_from_slice(b"PassWord");
        }
        for at in [n / 4 - 4, n / 2 - 1, 3 * n / 4 - 6] {
            hay[at..at + 7].copy_from_slice(b"api_key");
        }
        hay[n - 3..].copy_from_slice(b"://");
        // The keywords above ASCII, which the DFA leaves to their own index.
        let wide = "Пароль\u{200b}".as_bytes();
        for at in [20, n / 4 + 40, n / 2 + 30] {
            hay[at..at + wide.len()].copy_from_slice(wide);
        }
        let mut walked: Vec<Hit> = table.hits(&hay).collect();
        let ac = builder(true, AhoCorasickKind::DFA).build(&words).unwrap();
        let mut want: Vec<Hit> = ac
            .find_overlapping_iter(&hay)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect();
        walked.sort_unstable();
        want.sort_unstable();
        assert!(want.len() >= 18, "{}", want.len());
        assert_eq!(walked, want);
    }
}
