//! Streaming replacement of the real values by their placeholders in what a credential's host
//! sends back: nothing is buffered but the few bytes at the end of a read that could be the
//! start of a value (so a server-sent event ending in `\n\n` goes out at once).
//!
//! Every replacement has the length of what it replaces (placeholders are made as long as their
//! real values), so a `Content-Length` stays right without buffering the body.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Replaces every occurrence of a set of needles by an equally long replacement.
pub(crate) struct Replacer {
    ac: Option<AhoCorasick>,
    needles: Vec<Vec<u8>>,
    with: Vec<Vec<u8>>,
    /// Bytes held back: a proper prefix of some needle, at the end of the input so far.
    carry: Vec<u8>,
    /// Replacements made.
    pub hits: Vec<u64>,
}

impl Replacer {
    /// `pairs`: (needle, replacement), each replacement as long as its needle.
    pub fn new(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Replacer {
        let pairs: Vec<_> = pairs
            .into_iter()
            .filter(|(n, w)| !n.is_empty() && n.len() == w.len())
            .collect();
        let (needles, with): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        let ac = if needles.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&needles)
                .ok()
        };
        let hits = vec![0; needles.len()];
        Replacer {
            ac,
            needles,
            with,
            carry: Vec::new(),
            hits,
        }
    }

    /// Replaces in `data`, appending to `out` all but a held-back partial match.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let Some(ac) = &self.ac else {
            out.extend_from_slice(data);
            return;
        };
        let joined;
        let hay: &[u8] = if self.carry.is_empty() {
            data
        } else {
            let mut j = std::mem::take(&mut self.carry);
            j.extend_from_slice(data);
            joined = j;
            &joined
        };
        let mut last = 0;
        for m in ac.find_iter(hay) {
            out.extend_from_slice(&hay[last..m.start()]);
            out.extend_from_slice(&self.with[m.pattern().as_usize()]);
            self.hits[m.pattern().as_usize()] += 1;
            last = m.end();
        }
        let tail = &hay[last..];
        let hold = partial_suffix(tail, &self.needles);
        out.extend_from_slice(&tail[..tail.len() - hold]);
        self.carry = tail[tail.len() - hold..].to_vec();
    }

    /// Replaces in a complete piece (a head) without holding anything back.
    pub fn replace_all(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        self.push(data, &mut out);
        self.flush(&mut out);
        out
    }

    /// The held-back bytes: the stream ended, they were no value.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.carry);
    }
}

/// Length of the longest suffix of `tail` that is a proper prefix of a needle.
fn partial_suffix(tail: &[u8], needles: &[Vec<u8>]) -> usize {
    let mut best = 0;
    for n in needles {
        let start = tail.len().saturating_sub(n.len() - 1);
        // The first position that starts a prefix is the longest one for this needle.
        if let Some(p) = (start..tail.len()).find(|&p| n.starts_with(&tail[p..])) {
            best = best.max(tail.len() - p);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Replacer {
        Replacer::new(vec![(b"REALVALUE1".to_vec(), b"PLACEHLD01".to_vec())])
    }

    #[test]
    fn replaces_across_any_split() {
        let text = b"a REALVALUE1 b REALVALUE1REALVALUE1 REALVALU c";
        let want = b"a PLACEHLD01 b PLACEHLD01PLACEHLD01 REALVALU c".to_vec();
        for split in 0..text.len() {
            for split2 in split..text.len() {
                let mut x = r();
                let mut out = Vec::new();
                x.push(&text[..split], &mut out);
                x.push(&text[split..split2], &mut out);
                x.push(&text[split2..], &mut out);
                x.flush(&mut out);
                assert_eq!(out, want, "split at {split}/{split2}");
                assert_eq!(x.hits[0], 3);
            }
        }
    }

    #[test]
    fn holds_back_only_a_possible_start() {
        let mut x = r();
        let mut out = Vec::new();
        x.push(b"data: {}\n\n", &mut out);
        assert_eq!(out, b"data: {}\n\n");
        x.push(b"xx REAL", &mut out);
        assert_eq!(out, b"data: {}\n\nxx ");
        x.flush(&mut out);
        assert_eq!(out, b"data: {}\n\nxx REAL");
    }

    #[test]
    fn inactive_passes_through() {
        let mut x = Replacer::new(vec![]);
        assert!(x.ac.is_none());
        let mut out = Vec::new();
        x.push(b"anything", &mut out);
        assert_eq!(out, b"anything");
    }
}
