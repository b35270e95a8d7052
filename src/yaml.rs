//! YAML for files a user (or a cloned repository) hands us: profiles and rules files.
//!
//! One parser (serde-saphyr, pure Rust) with one set of limits, so a hostile file costs little:
//! nesting, anchors, aliases, nodes and the text that aliases replay are bounded (a "billion
//! laughs" file is refused after a few MiB, not after the machine's memory); tags such as
//! `!include` are errors, never features; a key given twice is an error; `<<` is an ordinary
//! key; only `true` and `false` are booleans (YAML 1.2). Errors carry `line:col` and the path of
//! keys to the bad node, and never a value from the file: messages are built here from the
//! error's parts (names shown only when `scrub::showable`); the library's own text is used for
//! syntax errors alone, with any quoted part masked, and its source snippets are off.

use serde::de::DeserializeOwned;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Error as E, MessageFormatter};
use std::fmt;

/// Deepest nesting of mappings and sequences accepted (profiles use 3 levels, rules 4).
pub(crate) const MAX_DEPTH: usize = 32;
/// Most scalar text a document may produce, aliases replayed included.
pub(crate) const MAX_SCALAR_BYTES: usize = 16 << 20;
/// Most events that aliases may replay in one document.
pub(crate) const MAX_REPLAYED_EVENTS: usize = 100_000;

/// The parser options shared by every user-supplied YAML file.
pub(crate) fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: 250_000,
            max_anchors: 1_000,
            max_aliases: 10_000,
            max_total_scalar_bytes: MAX_SCALAR_BYTES,
            max_recorded_anchor_bytes: 4 << 20,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED_EVENTS,
        },
        // The snippet would quote the file's lines, values and all.
        with_snippet: false,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        merge_keys: serde_saphyr::MergeKeyPolicy::AsOrdinary,
        reject_unsupported_tags: true,
        ignore_binary_tag_for_string: true,
        strict_booleans: true,
    }
}

/// Why a document was refused, without any value from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Keys to the bad node (`network.listen[0]`), empty at the top; a key that is not
    /// `scrub::showable` is `(key not shown)`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Parses one YAML document into `T` with [`options`].
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    let mut path = None;
    serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = Some(e.path().clone());
            e.into_inner()
        })
    })
    .map_err(|e| describe(&e, path.as_ref()))
}

/// The error behind alias and snippet wrappers.
fn original(e: &E) -> &E {
    match e.without_snippet() {
        E::AliasError { error, .. } => original(error),
        other => other,
    }
}

fn describe(e: &E, path: Option<&serde_path_to_error::Path>) -> Error {
    use serde_path_to_error::Segment;
    let loc = e.location();
    let inner = original(e);
    let mut segments: Vec<&Segment> = path.map(|p| p.iter().collect()).unwrap_or_default();
    // The path runs to the node being read; drop what is not a place of the document: an
    // unknown key itself (the message names it) and keys not read yet (`?`).
    while matches!(segments.last(), Some(Segment::Unknown)) {
        segments.pop();
    }
    if let E::SerdeUnknownField { field, .. } = inner {
        if matches!(segments.last(), Some(Segment::Map { key }) if key == field) {
            segments.pop();
        }
    }
    let mut shown = String::new();
    for s in segments {
        match s {
            Segment::Seq { index } => shown.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !shown.is_empty() {
                    shown.push('.');
                }
                shown.push_str(if crate::scrub::showable(key) {
                    key
                } else {
                    "(key not shown)"
                });
            }
            Segment::Unknown => shown.push_str(".?"),
        }
    }
    Error {
        line: loc.map(|l| l.line() as usize),
        column: loc.map(|l| l.column() as usize),
        path: shown,
        message: message(inner),
    }
}

/// `` `name` `` when `scrub::showable`, else `(the name is not shown)`.
fn name(n: &str) -> String {
    if crate::scrub::showable(n) {
        format!("`{n}`")
    } else {
        "(the name is not shown)".into()
    }
}

/// serde's wording for the names expected instead: `` expected `a` or `b` ``.
fn one_of(what: &str, names: &[&str]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match q.as_slice() {
        [] => format!("there are no {what}s"),
        [a] => format!("expected {a}"),
        [a, b] => format!("expected {a} or {b}"),
        all => format!("expected one of {}", all.join(", ")),
    }
}

/// serde's names for what a value was (`invalid type: string "...", expected ...`).
const VALUE_KINDS: &[&str] = &[
    "string",
    "integer",
    "floating point",
    "character",
    "boolean",
    "map",
    "sequence",
    "unit value",
    "null",
    "byte array",
    "Option value",
    "newtype struct",
    "enum",
    "unit variant",
];

/// The kind of value serde's `unexpected` text names, without the value it quotes.
fn kind_of(unexpected: &str) -> &str {
    let kind = unexpected
        .split(['`', '"'])
        .next()
        .unwrap_or_default()
        .trim_end();
    if VALUE_KINDS.contains(&kind) {
        kind
    } else {
        "a value"
    }
}

/// `a boolean` for the parser's `boolean`, and so on; type names stay as they are.
fn expected_phrase(what: &str) -> String {
    match what {
        "boolean" => "`true` or `false`".into(),
        "floating point" => "a number".into(),
        "mapping start" => "a mapping".into(),
        "sequence start" => "a sequence".into(),
        "string scalar" | "scalar" => "a string".into(),
        other => other.into(),
    }
}

const HIDDEN: &str = " (the value is not shown)";

/// The message of one error, built from its parts; no value from the document is in it.
fn message(e: &E) -> String {
    match e {
        E::SerdeUnknownField {
            field, expected, ..
        } => format!(
            "unknown field {}, {}",
            name(field),
            one_of("field", expected)
        ),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => format!(
            "unknown variant {}, {}",
            name(variant),
            one_of("variant", expected)
        ),
        E::SerdeMissingField { field, .. } => format!("missing field `{field}`"),
        E::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => {
            let kind = kind_of(unexpected);
            let note = if kind.len() < unexpected.len() {
                HIDDEN
            } else {
                ""
            };
            format!("invalid type: {kind}, expected {expected}{note}")
        }
        E::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => format!(
            "invalid value: {}, expected {expected}{HIDDEN}",
            kind_of(unexpected)
        ),
        E::SerdeInvalidLength { len, expected, .. } => {
            format!("invalid length {len}, expected {expected}")
        }
        E::InvalidScalar { ty, .. } => {
            format!("invalid value, expected {}{HIDDEN}", expected_phrase(ty))
        }
        E::InvalidBooleanStrict { .. } => {
            format!(
                "invalid value, expected {}{HIDDEN}",
                expected_phrase("boolean")
            )
        }
        E::NullIntoString { .. } => "invalid type: null, expected a string".into(),
        E::Unexpected { expected, .. } => {
            format!("invalid type, expected {}", expected_phrase(expected))
        }
        E::DuplicateMappingKey { key, .. } => match key {
            Some(k) => format!("duplicate key {}", name(k)),
            None => "duplicate key".into(),
        },
        E::UnsupportedTag { tag, .. } => match name(tag.trim_start_matches('!')) {
            n if n.starts_with('`') => {
                format!("unsupported tag `{tag}` (YAML tags are not supported)")
            }
            n => format!("unsupported tag {n} (YAML tags are not supported)"),
        },
        E::UnknownAnchor { .. } => "alias to an unknown anchor".into(),
        E::MultipleDocuments { .. } => "more than one YAML document".into(),
        E::Eof { .. } => "unexpected end of the document".into(),
        E::Budget { breach, .. } => budget(breach),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => format!(
            "aliases expand to more than {MAX_REPLAYED_EVENTS} nodes (refused as a YAML bomb)"
        ),
        // Parser errors ("unclosed quote", "tabs disallowed ...") and the rest: the library's
        // text without location, with any quoted part that may be a value masked.
        other => mask_quoted(
            &serde_saphyr::DefaultMessageFormatter
                .format_message(other)
                .replace(char::is_control, " "),
        ),
    }
}

fn budget(b: &BudgetBreach) -> String {
    match b {
        BudgetBreach::Depth { .. } => {
            format!("nested deeper than {MAX_DEPTH} levels")
        }
        BudgetBreach::ScalarBytes { .. } => format!(
            "more than {} MiB of text, aliases expanded (refused as a YAML bomb)",
            MAX_SCALAR_BYTES >> 20
        ),
        BudgetBreach::Aliases { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => {
            "too many aliases or anchors (refused as a YAML bomb)".into()
        }
        BudgetBreach::Anchors { .. } => "too many anchors".into(),
        BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
            "too many nodes (refused as a YAML bomb)".into()
        }
        BudgetBreach::Documents { .. } => "more than one YAML document".into(),
        // Each other breach holds counts only.
        other => format!("YAML limit exceeded: {other:?}"),
    }
}

/// Replaces each `` `...` `` or `"..."` span whose content is not `scrub::showable`; an
/// unbalanced quote masks the rest.
fn mask_quoted(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(i) = rest.find(['`', '"']) {
        let q = &rest[i..i + 1];
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(j) = after.find(q) else {
            if crate::scrub::showable(after) {
                out.push_str(&rest[i..]);
            } else {
                out.push_str(crate::scrub::NOT_SHOWN);
            }
            return out;
        };
        let inner = &after[..j];
        if crate::scrub::showable(inner) {
            out.push_str(&rest[i..i + j + 2]);
        } else {
            out.push_str(crate::scrub::NOT_SHOWN);
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IgnoredAny;
    use std::time::{Duration, Instant};

    /// A token-shaped value, assembled at run time.
    fn token() -> String {
        let body: String = "Zr8Qm3Xv7Lp2Wn6Kt1Hy5Bd9Fs4Gj0Ca3E"
            .chars()
            .cycle()
            .take(36)
            .collect();
        format!("{}{}", "gh", format_args!("p_{body}"))
    }

    /// The classic exponential alias bomb: 9 levels of 9 aliases, ~387 million strings.
    fn bomb(levels: usize) -> String {
        let mut s = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        let names: Vec<char> = ('a'..='z').take(levels).collect();
        for w in names.windows(2) {
            let (p, n) = (w[0], w[1]);
            s.push_str(&format!(
                "{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            ));
        }
        s
    }

    /// Runs `f` and returns its result with the time it took.
    fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
        let t = Instant::now();
        let r = f();
        (r, t.elapsed())
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        // IgnoredAny reads every node, the worst case: nothing stops at a type error first.
        let (r, took) = timed(|| from_str::<IgnoredAny>(&bomb(9)));
        let e = r.unwrap_err();
        assert!(e.message.contains("YAML bomb"), "{e}");
        assert!(e.line.is_some() && e.column.is_some(), "{e:?}");
        assert!(took < Duration::from_secs(2), "took {took:?}");
        // A value type too (what build.rs converts).
        let e = from_str::<serde_json::Value>(&bomb(9)).unwrap_err();
        assert!(e.message.contains("YAML bomb"), "{e}");
        // A few aliases are fine.
        let v: serde_json::Value = from_str("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(v["b"], serde_json::json!([1, 2]));
    }

    #[test]
    fn alias_text_amplification_is_bounded() {
        // 400 KB of text replayed 100,000 times (40 GB) fits a `Vec<String>`, so no type error
        // stops it: the scalar-byte budget does.
        let mut s = format!("big: &a \"{}\"\nlist: [", "x".repeat(400_000));
        s.push_str(&"*a, ".repeat(100_000));
        s.push_str("]\n");
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            big: String,
            list: Vec<String>,
        }
        let (r, took) = timed(|| from_str::<Doc>(&s));
        let e = r.err().expect("refused");
        assert!(e.message.contains("MiB of text"), "{e}");
        assert_eq!(e.path, "list");
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        for text in [
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!("{}{}", "{a: ".repeat(1_000), "}".repeat(1_000)),
            (0..1_000)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect(),
            (0..1_000)
                .map(|i| format!("{}-\n", " ".repeat(i)))
                .collect(),
        ] {
            let (r, took) = timed(|| from_str::<IgnoredAny>(&text));
            let e = r.unwrap_err();
            assert!(
                e.message.contains("nested deeper than 32")
                    || e.message.contains("recursion limit"),
                "{e}"
            );
            assert!(e.line.is_some(), "{e:?}");
            assert!(took < Duration::from_secs(1), "took {took:?}");
        }
        // 32 levels are fine.
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        from_str::<IgnoredAny>(&ok).unwrap();
    }

    #[test]
    fn tabs_duplicates_tags_and_documents() {
        let e = from_str::<IgnoredAny>("a:\n\tb: 1\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(2)), "{e}");
        assert!(e.message.contains("tab"), "{e}");
        let e = from_str::<IgnoredAny>("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(3), Some(1)), "{e}");
        assert_eq!(e.message, "duplicate key `a`");
        let e = from_str::<serde_json::Value>("a: !include /etc/passwd\n").unwrap_err();
        assert!(e.message.starts_with("unsupported tag `!include`"), "{e}");
        let e = from_str::<IgnoredAny>("a: 1\n---\na: 2\n").unwrap_err();
        assert_eq!(e.message, "more than one YAML document");
        // `<<` is a key like any other; YAML 1.1 spellings of booleans are strings.
        let v: serde_json::Value = from_str("<<: {a: 1}\nb: yes\nc: on\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"<<": {"a": 1}, "b": "yes", "c": "on"})
        );
    }

    #[test]
    fn messages_never_quote_values() {
        let t = token();
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Doc {
            #[serde(default)]
            n: Option<u16>,
            #[serde(default)]
            b: Option<bool>,
            #[serde(default)]
            s: Option<String>,
            #[serde(default)]
            m: std::collections::BTreeMap<String, Vec<String>>,
        }
        let cases = [
            format!("n: {t}\n"),
            format!("n: \"{t}\"\n"),
            format!("b: {t}\n"),
            format!("s: [{t}]\n"),
            format!("s: {{{t}: 1}}\n"),
            format!("{t}: 1\n"),
            format!("m: {{{t}: {t}}}\n"),
            format!("m:\n  {t}: [a]\n  {t}: [b]\n"),
            format!("s: &{t} x\nn: *{t}\n"),
            format!("s: &a {t}\nn: *a\n"),
            format!("s: *{t}\n"),
            format!("s: !{t} x\n"),
            format!("s: !!{t} x\n"),
            format!("s: \"{t}\n"),
            format!("s: '{t}\n"),
            format!("s: [{t}\n"),
            format!("s: {{{t}\n"),
            format!("s: {t}\n\t- x\n"),
            format!("s: |\n  {t}\n n: 1\n"),
            format!("s: \"\\q{t}\"\n"),
            format!("{t}\n"),
            format!("- {t}\n"),
            format!("s: x\n---\n{t}\n"),
            format!("%YAML 9.9 {t}\n---\ns: x\n"),
            format!("%TAG !{t}! tag:x\n---\ns: !{t}!y x\n"),
            format!("%TAG !t! tag:{t}\n---\ns: !t!y x\n"),
        ];
        for (i, text) in cases.iter().enumerate() {
            let e = from_str::<Doc>(text).expect_err(&format!("case {i} parsed"));
            let shown = e.to_string();
            assert!(
                !shown.contains(&t[4..16]),
                "case {i}: token in {:?}",
                e.path
            );
            assert!(!shown.is_empty(), "case {i}");
        }
    }

    #[test]
    fn paths_name_keys_and_mask_user_chosen_ones() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Net {
            #[serde(default)]
            listen: Vec<u16>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Doc {
            #[serde(default)]
            network: Option<Net>,
            #[serde(default)]
            m: std::collections::BTreeMap<String, Vec<String>>,
        }
        let e = from_str::<Doc>("network:\n  listen: [1, x]\n").unwrap_err();
        assert_eq!(e.path, "network.listen[1]");
        assert_eq!((e.line, e.column), (Some(2), Some(15)));
        assert_eq!(
            e.message,
            "invalid value, expected u16 (the value is not shown)"
        );
        let e = from_str::<Doc>("network:\n  lisen: []\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "network: unknown field `lisen`, expected `listen`"
        );
        let t = token();
        let e = from_str::<Doc>(&format!("m:\n  {t}: 3\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.(key not shown): invalid type, expected a sequence"
        );
        let e = from_str::<Doc>(&format!("{t}: 3\n")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown field (the name is not shown), expected"),
            "{e}"
        );
    }
}
