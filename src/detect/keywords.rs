//! The keyword prefilter: which rules run where. Two tables, so a launch builds only what it
//! needs: the keywords as written (ASCII case-insensitive), whose automaton every environment
//! scrub needs, and their base64 and hex forms, which only text holding such a run needs (they
//! are most of the patterns, and building an automaton costs in proportion to them).

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use anyhow::{Context, Result};

/// Inputs at least this long are searched with the DFA (dear to build, fastest to search).
pub(crate) const BULK: usize = 64 * 1024;

/// Keywords, the rules that listed each, and their automata.
pub(crate) struct Table {
    /// The distinct keywords.
    patterns: Vec<String>,
    /// For each keyword, the rules that listed it.
    rules: Vec<Vec<usize>>,
    case_insensitive: bool,
    /// For short inputs: a noncontiguous NFA, the cheapest kind to build.
    nfa: AhoCorasick,
    /// For bulk input, built on first use.
    dfa: OnceLock<AhoCorasick>,
}

impl Table {
    /// A table of `(rule, keyword)` pairs; its NFA is built now.
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
        let nfa = builder(case_insensitive, AhoCorasickKind::NoncontiguousNFA)
            .build(&patterns)
            .context("building the keyword automaton")?;
        Ok(Table {
            patterns,
            rules,
            case_insensitive,
            nfa,
            dfa: OnceLock::new(),
        })
    }

    /// Number of distinct keywords.
    pub(crate) fn len(&self) -> usize {
        self.patterns.len()
    }

    /// The automaton for an input of `len` bytes (the DFA is built on first bulk use; the NFA
    /// stands in should it not build).
    pub(crate) fn automaton(&self, len: usize) -> &AhoCorasick {
        if len < BULK {
            return &self.nfa;
        }
        self.dfa.get_or_init(|| {
            builder(self.case_insensitive, AhoCorasickKind::DFA)
                .build(&self.patterns)
                .unwrap_or_else(|_| self.nfa.clone())
        })
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
