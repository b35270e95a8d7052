//! The detector against a corpus (`tests/corpus/`, format in its README): recall on true
//! positives generated here from shape templates, the false-positive rate on clean lines (real
//! logs made here by cargo, git, npm, pytest and go, plus synthetic lines written from the
//! documented formats of docker, kubectl, terraform and CI runners), and the environment scrub
//! on values under innocent names. The held-out part (frozen before the rules were tuned) and the
//! tuned part are reported separately: only the first can show that the rules generalise.
//! (`tuned/was-heldout/` is the first held-out part, moved into the tuned part once seen.)
//!
//! Secrets are generated at run time; no output of this file shows one (a missed positive is
//! named by file, line and category only).

use crate::common::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Recall target on the tuned part.
const RECALL_TARGET: f64 = 0.99;
/// False-positive target: at most this share of clean lines changed.
const FP_TARGET: f64 = 0.001;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Deterministic generator (SplitMix64): the same seed gives the same corpus, so a failure
/// reproduces; `CORPUS_SEED` picks another draw.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn seed() -> u64 {
    std::env::var("CORPUS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
}

/// Characters of a template class (built from ranges: literal alphabets look like secrets).
fn class_chars(class: &str) -> Option<Vec<u8>> {
    let up = || b'A'..=b'Z';
    let low = || b'a'..=b'z';
    let dig = || b'0'..=b'9';
    let v: Vec<u8> = match class {
        "alnum" => up().chain(low()).chain(dig()).collect(),
        "alpha" => up().chain(low()).collect(),
        "lower" => low().collect(),
        "upper" => up().collect(),
        "digit" => dig().collect(),
        "hex" => dig().chain(b'a'..=b'f').collect(),
        "HEX" => dig().chain(b'A'..=b'F').collect(),
        "b64" => up().chain(low()).chain(dig()).chain(*b"+/").collect(),
        "url" => up().chain(low()).chain(dig()).chain(*b"-_").collect(),
        "b32" => up().chain(b'2'..=b'7').collect(),
        "lowalnum" => low().chain(dig()).collect(),
        "upalnum" => up().chain(dig()).collect(),
        "bech32" => dig()
            .filter(|&c| c != b'1')
            .chain(up().filter(|&c| !matches!(c, b'B' | b'I' | b'O')))
            .collect(),
        "pw" => up()
            .chain(low())
            .chain(dig())
            .chain(*b"!#%+-.^_~*")
            .collect(),
        _ => return None,
    };
    Some(v)
}

/// Invisible characters a template can insert.
fn invisible(name: &str) -> Option<char> {
    Some(match name {
        "zwsp" => '\u{200B}',
        "zwnj" => '\u{200C}',
        "zwj" => '\u{200D}',
        "wj" => '\u{2060}',
        "bom" => '\u{FEFF}',
        "shy" => '\u{00AD}',
        _ => return None,
    })
}

/// An expanded template: the text, and the secrets marked in it.
#[derive(Default)]
struct Expanded {
    text: String,
    secrets: Vec<String>,
}

/// Expands a template (see tests/corpus/README.md).
fn expand(template: &str, rng: &mut Rng) -> Result<Expanded, String> {
    let chars: Vec<char> = template.chars().collect();
    let mut at = 0;
    let mut out = Expanded::default();
    expand_seq(&chars, &mut at, false, rng, &mut out)?;
    if at != chars.len() {
        return Err(format!("unbalanced ')' at {at}"));
    }
    Ok(out)
}

/// Expands until the end, or (inside a function) the `)` closing it.
fn expand_seq(
    c: &[char],
    at: &mut usize,
    in_call: bool,
    rng: &mut Rng,
    out: &mut Expanded,
) -> Result<(), String> {
    let mut secret_start: Option<usize> = None;
    let mut depth = 0usize;
    while *at < c.len() {
        let ch = c[*at];
        match ch {
            '«' => {
                secret_start = Some(out.text.len());
                *at += 1;
            }
            '»' => {
                let s = secret_start.take().ok_or("'»' without '«'")?;
                out.secrets.push(out.text[s..].to_string());
                *at += 1;
            }
            '(' if in_call => {
                depth += 1;
                out.text.push(ch);
                *at += 1;
            }
            ')' if in_call && depth == 0 => return Ok(()),
            ')' if in_call => {
                depth -= 1;
                out.text.push(ch);
                *at += 1;
            }
            '@' if c.get(*at + 1) == Some(&'{') => expand_placeholder(c, at, rng, &mut out.text)?,
            '@' if call_name(c, *at).is_some() => expand_call(c, at, rng, out)?,
            _ => {
                out.text.push(ch);
                *at += 1;
            }
        }
    }
    if secret_start.is_some() {
        return Err("'«' without '»'".into());
    }
    if in_call {
        return Err("unterminated @fn(".into());
    }
    Ok(())
}

const CALLS: &[&str] = &["b64url", "b64", "HEX", "hex", "json", "pct"];

/// The function called at `at` (`@b64(`...), if any.
fn call_name(c: &[char], at: usize) -> Option<&'static str> {
    CALLS.iter().copied().find(|name| {
        let n = name.len();
        c.len() > at + n + 1
            && c[at + 1..at + 1 + n].iter().copied().eq(name.chars())
            && c[at + 1 + n] == '('
    })
}

fn expand_call(
    c: &[char],
    at: &mut usize,
    rng: &mut Rng,
    out: &mut Expanded,
) -> Result<(), String> {
    let name = call_name(c, *at).ok_or("not a call")?;
    *at += name.len() + 2;
    let mut inner = Expanded::default();
    expand_seq(c, at, true, rng, &mut inner)?;
    *at += 1; // the closing ')'
    if !inner.secrets.is_empty() {
        return Err("mark the encoded text, not the text inside the call".into());
    }
    let bytes = inner.text.as_bytes();
    let encoded = match name {
        "b64" => base64(bytes, b"+/", true),
        "b64url" => base64(bytes, b"-_", false),
        "hex" => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        "HEX" => bytes.iter().map(|b| format!("{b:02X}")).collect(),
        "json" => {
            let j = serde_json::to_string(&inner.text).unwrap();
            j[1..j.len() - 1].to_string()
        }
        _ => bytes
            .iter()
            .map(|&b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    };
    out.text.push_str(&encoded);
    Ok(())
}

fn base64(data: &[u8], last: &[u8; 2], pad: bool) -> String {
    let table: Vec<u8> = (b'A'..=b'Z')
        .chain(b'a'..=b'z')
        .chain(b'0'..=b'9')
        .chain(last.iter().copied())
        .collect();
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(table[((n >> (18 - 6 * i)) & 63) as usize]));
            } else if pad {
                s.push('=');
            }
        }
    }
    s
}

fn expand_placeholder(
    c: &[char],
    at: &mut usize,
    rng: &mut Rng,
    out: &mut String,
) -> Result<(), String> {
    let close = c[*at..]
        .iter()
        .position(|&x| x == '}')
        .ok_or("unterminated @{")?;
    let body: String = c[*at + 2..*at + close].iter().collect();
    *at += close + 1;
    if body == "-" {
        return Ok(());
    }
    if let Some(ch) = invisible(&body) {
        out.push(ch);
        return Ok(());
    }
    let (class, count) = body.split_once(':').ok_or(format!("bad @{{{body}}}"))?;
    let (lo, hi) = match count.split_once('-') {
        Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
        None => (count.parse::<usize>(), count.parse::<usize>()),
    };
    let (lo, hi) = (
        lo.map_err(|_| format!("bad count in @{{{body}}}"))?,
        hi.map_err(|_| format!("bad count in @{{{body}}}"))?,
    );
    let n = lo + rng.below(hi - lo + 1);
    if let Some(rep) = class.strip_prefix('=') {
        out.extend(std::iter::repeat_n(rep, n));
        return Ok(());
    }
    let alphabet = class_chars(class).ok_or(format!("unknown class in @{{{body}}}"))?;
    for _ in 0..n {
        out.push(char::from(alphabet[rng.below(alphabet.len())]));
    }
    Ok(())
}

/// One case as written: where it is, its category and its template.
#[derive(Clone)]
struct RawCase {
    origin: String,
    category: String,
    template: String,
}

/// Reads the cases of a corpus file (comments, categories, `>>>` blocks, `%formats`).
fn read_cases(path: &Path, formats: &[String]) -> Vec<RawCase> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut cases = Vec::new();
    let mut category = "uncategorised".to_string();
    let mut block: Option<(usize, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let origin = format!("{name}:{}", i + 1);
        if let Some((start, lines)) = block.as_mut() {
            if line == "<<<" {
                cases.push(RawCase {
                    origin: format!("{name}:{start}"),
                    category: category.clone(),
                    template: lines.join("\n"),
                });
                block = None;
            } else {
                lines.push(line);
            }
            continue;
        }
        if let Some(c) = line.strip_prefix("## ") {
            category = c.trim().to_string();
        } else if line.is_empty() || line == "#" || line.starts_with("# ") {
        } else if line == ">>>" {
            block = Some((i + 1, Vec::new()));
        } else if let Some(rest) = line.strip_prefix("%formats ") {
            let (ident, secret) = rest.split_once(' ').expect("%formats IDENT TEMPLATE");
            for f in formats {
                let t = f
                    .replace("{i}", ident)
                    .replace("{I}", &ident.to_ascii_uppercase())
                    .replace("{s}", &format!("«{secret}»"));
                cases.push(RawCase {
                    origin: origin.clone(),
                    category: category.clone(),
                    template: t,
                });
            }
        } else {
            cases.push(RawCase {
                origin,
                category: category.clone(),
                template: line.to_string(),
            });
        }
    }
    assert!(block.is_none(), "{name}: '>>>' without '<<<'");
    cases
}

/// The formats of `formats.txt` in a part, each a (possibly multi-line) template.
fn read_formats(part: &Path) -> Vec<String> {
    let path = part.join("formats.txt");
    if !path.exists() {
        return Vec::new();
    }
    read_cases(&path, &[])
        .into_iter()
        .map(|c| c.template)
        .collect()
}

/// A case ready to run.
struct Case {
    origin: String,
    category: String,
    input: String,
    secrets: Vec<String>,
}

fn instantiate(raw: &[RawCase], rng: &mut Rng) -> Vec<Case> {
    raw.iter()
        .map(|r| {
            let e = expand(&r.template, rng).unwrap_or_else(|e| panic!("{}: {e}", r.origin));
            Case {
                origin: r.origin.clone(),
                category: r.category.clone(),
                input: e.text,
                secrets: e.secrets,
            }
        })
        .collect()
}

/// Separates cases in one `agentbox redact` stream (no rule may fire on it).
const SENTINEL: &str = "--8<-- corpus case";

/// Redacts every case in one run of `agentbox redact`; returns each case's output.
fn redact_all(inputs: &[&str]) -> Vec<String> {
    let mut stream = String::new();
    for (i, text) in inputs.iter().enumerate() {
        let _ = writeln!(stream, "{SENTINEL} {i}");
        stream.push_str(text);
        stream.push('\n');
    }
    let mut child = Command::new(bin())
        .arg("redact")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn agentbox redact");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(stream.as_bytes()));
    let out = child.wait_with_output().expect("agentbox redact");
    writer.join().unwrap().expect("write to agentbox redact");
    assert!(
        out.status.success(),
        "agentbox redact failed: {}",
        stderr(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut outputs: Vec<String> = Vec::with_capacity(inputs.len());
    for piece in text.split(&format!("{SENTINEL} ")).skip(1) {
        let body = piece.split_once('\n').map_or("", |(_, b)| b);
        outputs.push(body.strip_suffix('\n').unwrap_or(body).to_string());
    }
    assert_eq!(outputs.len(), inputs.len(), "sentinel lines were changed");
    outputs
}

/// Whether any piece of `secret` (8 bytes, or all of it when shorter) is in `out`, markers
/// aside (`[REDACTED:aws-bedrock-api-key]` shares a piece with a Bedrock key's prefix), and
/// pieces that the input also holds outside the secret (`https://` of a webhook URL written
/// next to another URL) aside.
fn leaks(input: &str, out: &str, secret: &str) -> bool {
    let mut rest = out;
    let mut text = String::with_capacity(out.len());
    while let Some(at) = rest.find("[REDACTED:") {
        text.push_str(&rest[..at]);
        text.push('\u{0}');
        rest = rest[at..].split_once(']').map_or("", |(_, r)| r);
    }
    text.push_str(rest);
    let out = text.as_str();
    let around = if secret.is_empty() {
        String::new()
    } else {
        input.replace(secret, "\u{0}")
    };
    let s = secret.as_bytes();
    let w = s.len().min(8);
    let has = |hay: &[u8], piece: &[u8]| hay.windows(w).any(|o| o == piece);
    w > 0
        && s.windows(w)
            .any(|piece| has(out.as_bytes(), piece) && !has(around.as_bytes(), piece))
}

/// Whether some object of `v` has `"name": name` and a string field equal to `value`.
fn names_value(v: &serde_json::Value, name: &str, value: &str) -> bool {
    match v {
        serde_json::Value::Object(m) => {
            (m.get("name").is_some_and(|n| n == name)
                && m.values().any(|f| f.as_str() == Some(value)))
                || m.values().any(|f| names_value(f, name, value))
        }
        serde_json::Value::Array(a) => a.iter().any(|f| names_value(f, name, value)),
        _ => false,
    }
}

/// Whether `CORPUS_DEBUG` names this case.
fn debug_case(origin: &str) -> bool {
    std::env::var("CORPUS_DEBUG").is_ok_and(|d| origin == d)
}

/// Tallies for one part.
#[derive(Default)]
struct Score {
    /// category -> (cases, passed)
    positives: BTreeMap<String, (usize, usize)>,
    clean: BTreeMap<String, (usize, usize)>,
    env_remove: (usize, usize),
    env_keep: (usize, usize),
    /// Where the failures are (never what the secret was).
    missed: Vec<String>,
    false_positives: Vec<String>,
}

fn totals(m: &BTreeMap<String, (usize, usize)>) -> (usize, usize) {
    m.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1))
}

impl Score {
    fn recall(&self) -> f64 {
        let (n, ok) = totals(&self.positives);
        ok as f64 / n.max(1) as f64
    }

    fn fp_rate(&self) -> f64 {
        let (n, ok) = totals(&self.clean);
        (n - ok) as f64 / n.max(1) as f64
    }
}

/// Scores positives and clean cases through `agentbox redact`.
fn score_stream(cases: &[Case], score: &mut Score) {
    let inputs: Vec<&str> = cases.iter().map(|c| c.input.as_str()).collect();
    let outputs = redact_all(&inputs);
    for (c, out) in cases.iter().zip(&outputs) {
        if c.secrets.is_empty() {
            let t = score.clean.entry(c.category.clone()).or_default();
            t.0 += c.input.lines().count().max(1);
            if *out == c.input {
                t.1 += c.input.lines().count().max(1);
            } else {
                let ids: Vec<&str> = out
                    .match_indices("[REDACTED:")
                    .map(|(i, _)| out[i + 10..].split(']').next().unwrap_or(""))
                    .collect();
                score.false_positives.push(format!(
                    "{} [{}] {ids:?}: {}",
                    c.origin, c.category, c.input
                ));
            }
        } else {
            let t = score.positives.entry(c.category.clone()).or_default();
            t.0 += 1;
            // CORPUS_DEBUG=FILE:LINE shows a tuned case's generated input and output (test
            // tokens made here, nothing real).
            if debug_case(&c.origin) {
                eprintln!("DEBUG IN  {:?}\nDEBUG OUT {:?}", c.input, out);
            }
            if c.secrets.iter().any(|s| leaks(&c.input, out, s)) {
                score.missed.push(format!("{} [{}]", c.origin, c.category));
            } else {
                t.1 += 1;
            }
        }
    }
}

/// Whether the tool a log script is named after is installed (`require` decides what then).
fn tool_available(tool: &str) -> bool {
    match tool {
        // A package, not a command: its script runs these.
        "coreutils" => ["sha256sum", "base32", "od", "tar", "gzip"]
            .iter()
            .all(|t| which(t).is_some()),
        _ => which(tool).is_some(),
    }
}

/// Runs each `logs/TOOL.sh` of a part in a fresh directory; every line it prints is a clean
/// case of category `real-TOOL`.
fn real_logs(part: &Path) -> Vec<Case> {
    let dir = part.join("logs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut scripts: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    scripts.sort();
    let mut cases = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for script in scripts
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
    {
        let stem = script.file_stem().unwrap().to_string_lossy().into_owned();
        // `synthetic-*.sh` generate lines from documented formats (with python3); the others
        // run the tool they are named after.
        let (tool, category) = match stem.strip_prefix("synthetic-") {
            Some(_) => ("python3".to_string(), stem.clone()),
            None => (stem.clone(), format!("real-{stem}")),
        };
        if !require(
            &format!("{tool} (logs for the corpus, {stem}.sh)"),
            tool_available(&tool),
        ) {
            continue;
        }
        let log = run_log_script(script);
        let name = script.file_name().unwrap().to_string_lossy().into_owned();
        assert!(log.lines().count() >= 20, "{name} printed almost nothing");
        // Blank lines and repeats say nothing about false positives: each distinct line of a
        // part's logs counts once.
        for (i, line) in log.lines().enumerate() {
            if line.trim().is_empty() || !seen.insert(line.to_string()) {
                continue;
            }
            cases.push(Case {
                origin: format!("{name} output line {}", i + 1),
                category: category.clone(),
                input: line.to_string(),
                secrets: Vec::new(),
            });
        }
    }
    cases
}

fn run_log_script(script: &Path) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let real_home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let keep = |k: &str, default: String| std::env::var(k).unwrap_or(default);
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg("exec bash \"$0\" \"$1\" 2>&1")
        .arg(script)
        .arg(&work)
        .env_clear()
        .env(
            "PATH",
            std::env::var("PATH").unwrap_or_else(|_| PATH.into()),
        )
        .env("HOME", &home)
        .env("LANG", "C.UTF-8")
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        // rustup's proxies find their toolchains through these, not through HOME.
        .env(
            "RUSTUP_HOME",
            keep("RUSTUP_HOME", format!("{real_home}/.rustup")),
        )
        .env(
            "CARGO_HOME",
            keep("CARGO_HOME", format!("{real_home}/.cargo")),
        )
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("CORPUS_SEED", seed().to_string())
        .stdin(Stdio::null());
    let out = within(c, 300);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Env cases: each marked variable must be removed, each unmarked one kept, by
/// `agentbox run --dry-run --json` (one run per case: names must not interfere).
fn score_env(part: &Path, prefix: &str, rng: &mut Rng, score: &mut Score) {
    let path = part.join("env.txt");
    if !path.exists() {
        return;
    }
    let f = Fixture::new(As::Me);
    for mut raw in read_cases(&path, &[]) {
        raw.origin = format!("{prefix}{}", raw.origin);
        let (name, value_t) = raw.template.split_once('=').expect("NAME=VALUE");
        let e = expand(value_t, rng).unwrap_or_else(|e| panic!("{}: {e}", raw.origin));
        let value = e.text.clone();
        if debug_case(&raw.origin) {
            eprintln!("DEBUG ENV {name}={value:?}");
        }
        let mut cmd = Command::new(bin());
        cmd.args(["run", "--dry-run", "--json", "--", "true"])
            .current_dir(&f.ws)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", &f.home)
            .env("LANG", "C.UTF-8")
            .env("XDG_CONFIG_HOME", f.home.join(".config"))
            .env(name, &value);
        let out = cmd.output().expect("agentbox run --dry-run");
        assert!(
            out.status.success(),
            "{}: dry-run failed: {}",
            raw.origin,
            stderr(&out)
        );
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
        let removed = plan["env"]["removed"]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["name"] == name));
        // A removed value is named, never shown (a kept one is part of the launch spec). A
        // short one (`vault`, `true`) is in other text of the plan (`~/.vault-token`, another
        // variable's `true`): it is looked for next to its name only.
        let shown = if value.len() >= 8 {
            all_output(&out).contains(&value)
        } else {
            all_output(&out).contains(&format!("{name}={value}"))
                || names_value(&plan, name, &value)
        };
        assert!(
            !removed || !shown,
            "{}: a removed value is in the plan",
            raw.origin
        );
        let t = if e.secrets.is_empty() {
            &mut score.env_keep
        } else {
            &mut score.env_remove
        };
        t.0 += 1;
        if removed != e.secrets.is_empty() {
            t.1 += 1;
        } else if e.secrets.is_empty() {
            score
                .false_positives
                .push(format!("{} [env] {name} removed", raw.origin));
        } else {
            score
                .missed
                .push(format!("{} [env] {name} kept", raw.origin));
        }
    }
}

/// Builds and scores one part of the corpus: its directory and, in `tuned/`, the first
/// held-out part, moved there once it had been seen (`was-heldout/`, README).
fn score_part(name: &str) -> Score {
    let part = corpus_dir().join(name);
    let mut rng = Rng(seed() ^ name.len() as u64);
    let mut score = Score::default();
    score_dir(&part, "", &mut rng, &mut score);
    let moved = part.join("was-heldout");
    if moved.is_dir() {
        score_dir(&moved, "was-heldout/", &mut rng, &mut score);
    }
    score
}

/// Scores the cases of one directory into `score`; `prefix` tells its failures apart.
fn score_dir(dir: &Path, prefix: &str, rng: &mut Rng, score: &mut Score) {
    let formats = read_formats(dir);
    let mut raw = read_cases(&dir.join("positives.txt"), &formats);
    raw.extend(read_cases(&dir.join("clean.txt"), &formats));
    for r in &mut raw {
        r.origin = format!("{prefix}{}", r.origin);
    }
    let mut cases = instantiate(&raw, rng);
    cases.extend(real_logs(dir));
    score_stream(&cases, score);
    score_env(dir, prefix, rng, score);
}

fn pct(ok: usize, n: usize) -> String {
    format!("{:.2} %", 100.0 * ok as f64 / n.max(1) as f64)
}

/// The report: per category, then totals; failures by location.
fn report(name: &str, s: &Score) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "== corpus part `{name}`");
    for (cat, (n, ok)) in &s.positives {
        let _ = writeln!(
            r,
            "  positives {cat:<28} {ok:>5}/{n:<5} recall {}",
            pct(*ok, *n)
        );
    }
    for (cat, (n, ok)) in &s.clean {
        let _ = writeln!(
            r,
            "  clean     {cat:<28} {:>5}/{n:<5} changed {}",
            n - ok,
            pct(n - ok, *n)
        );
    }
    let (pn, pok) = totals(&s.positives);
    let (cn, cok) = totals(&s.clean);
    let _ = writeln!(r, "  recall {} ({pok}/{pn} positives)", pct(pok, pn));
    let _ = writeln!(
        r,
        "  false positives {} of clean lines ({}/{cn})",
        pct(cn - cok, cn),
        cn - cok
    );
    let _ = writeln!(
        r,
        "  environment: {} removed ({}/{}), {} kept ({}/{})",
        pct(s.env_remove.1, s.env_remove.0),
        s.env_remove.1,
        s.env_remove.0,
        pct(s.env_keep.1, s.env_keep.0),
        s.env_keep.1,
        s.env_keep.0
    );
    // The held-out part's failures are where to tune: shown only on request, once the rules
    // are settled (CORPUS_HELDOUT_DETAIL=1), so that tuning cannot lean on them unawares.
    if name.starts_with("heldout") && std::env::var_os("CORPUS_HELDOUT_DETAIL").is_none() {
        let _ = writeln!(
            r,
            "  ({} misses, {} false positives: CORPUS_HELDOUT_DETAIL=1 shows where)",
            s.missed.len(),
            s.false_positives.len()
        );
        return r;
    }
    for m in &s.missed {
        let _ = writeln!(r, "  missed: {m}");
    }
    for f in &s.false_positives {
        let _ = writeln!(r, "  false positive: {f}");
    }
    r
}

/// Prints the report (stderr: `cargo test -- --nocapture` shows it) and keeps a copy in the
/// target directory.
fn publish(name: &str, text: &str) {
    eprint!("{text}");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("corpus-{name}.txt"));
    let _ = std::fs::write(&path, text);
    eprintln!("  (report kept in {})", path.display());
}

#[test]
fn tuned_part_meets_the_targets() {
    let s = score_part("tuned");
    let text = report("tuned", &s);
    publish("tuned", &text);
    assert!(s.recall() >= RECALL_TARGET, "recall below target\n{text}");
    assert!(
        s.fp_rate() <= FP_TARGET,
        "false positives above target\n{text}"
    );
    assert_eq!(s.env_remove.0, s.env_remove.1, "environment misses\n{text}");
    assert_eq!(
        s.env_keep.0, s.env_keep.1,
        "environment false positives\n{text}"
    );
}

/// Scores a held-out part, reports it on its own, and checks it is at least as large as it was
/// frozen (its recall and false positives are reported, not asserted: they show generalisation).
fn held_out(name: &str, min_positives: usize, min_clean: usize) {
    let s = score_part(name);
    let text = report(name, &s);
    publish(name, &text);
    let (pn, _) = totals(&s.positives);
    let (cn, _) = totals(&s.clean);
    assert!(
        pn >= min_positives && cn >= min_clean,
        "held-out part {name} too small\n{text}"
    );
}

#[test]
fn heldout2_part_is_reported_separately() {
    // Frozen after the first held-out part had been seen (its failures known): large enough
    // that 0.1 % of its clean lines is a few lines, not a fraction of one.
    held_out("heldout2", 50, 3000);
}

#[test]
fn heldout3_part_is_reported_separately() {
    // Frozen before any rule was changed for the failures of part 2 (the only way to fix those
    // and still have a part that shows generalisation).
    held_out("heldout3", 20, 800);
}

#[test]
fn heldout4_part_is_reported_separately() {
    // Frozen in its own commit before any rule was changed for it, by someone who had read
    // neither the rules nor the other parts (README).
    held_out("heldout4", 50, 300);
}

#[test]
fn heldout5_part_is_reported_separately() {
    // Frozen like part 4, by another hand (README).
    held_out("heldout5", 50, 300);
}

#[test]
fn heldout6_part_is_reported_separately() {
    // Frozen like parts 4 and 5, by another hand (README).
    held_out("heldout6", 100, 500);
}

#[test]
fn heldout7_part_is_reported_separately() {
    // Frozen like parts 4 to 6, by another hand (README).
    held_out("heldout7", 100, 500);
}

#[test]
fn heldout8_part_is_reported_separately() {
    // Frozen like parts 4 to 7, by another hand (README).
    held_out("heldout8", 100, 500);
}

#[test]
fn heldout9_part_is_reported_separately() {
    // Frozen like parts 4 to 8, by another hand (README).
    held_out("heldout9", 100, 500);
}

#[test]
fn heldout10_part_is_reported_separately() {
    // Frozen like parts 4 to 9, by another hand (README).
    held_out("heldout10", 100, 500);
}

#[test]
fn heldout11_part_is_reported_separately() {
    // Frozen like parts 4 to 10, by another hand (README).
    held_out("heldout11", 100, 500);
}

#[test]
fn heldout12_part_is_reported_separately() {
    // Frozen like parts 4 to 11, by another hand (README).
    held_out("heldout12", 100, 500);
}

#[test]
fn corpus_files_hold_nothing_the_detector_flags() {
    // The positives are templates, not secrets: their files must pass `redact --check` (the
    // clean files are scored line by line by the tests above).
    let mut files = Vec::new();
    for part in [
        "heldout2",
        "heldout3",
        "heldout4",
        "heldout5",
        "heldout6",
        "heldout7",
        "heldout8",
        "heldout9",
        "heldout10",
        "heldout11",
        "heldout12",
        "tuned",
        "tuned/was-heldout",
    ] {
        for name in ["positives.txt", "env.txt", "formats.txt"] {
            let path = corpus_dir().join(part).join(name);
            if path.exists() {
                files.push(path);
            }
        }
    }
    let args: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let out = Command::new(bin())
        .arg("redact")
        .arg("--check")
        .arg("--json")
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "corpus files have findings: {}",
        stdout(&out)
    );
}

#[test]
fn templates_expand_and_mark_secrets() {
    let mut rng = Rng(1);
    let e = expand("x=«ghp_@{alnum:36}» y=@{hex:4-6} @{-}z", &mut rng).unwrap();
    assert_eq!(e.secrets.len(), 1);
    assert_eq!(e.secrets[0].len(), 40);
    assert!(e.text.starts_with("x=ghp_") && e.text.ends_with(" z"));
    let e = expand(
        "«@b64(user:@{=a:3})» «@hex(ab)» @json(a\"b) @pct(a b) (p)",
        &mut rng,
    )
    .unwrap();
    assert_eq!(
        e.text,
        format!("{} 6162 a\\\"b a%20b (p)", base64(b"user:aaa", b"+/", true))
    );
    assert_eq!(e.secrets.len(), 2);
    assert!(expand("«a", &mut rng).is_err() && expand("@{nope:3}", &mut rng).is_err());
    assert!(expand("@b64(«a»)", &mut rng).is_err());
    assert!(leaks("", "abcdefghij", "xxcdefghijxx") && !leaks("", "abcdefg", "bcdefgh1"));
    // A piece the input holds outside the secret is not a leak of it.
    let input = "see https://a.org and https://hook/x1y2z3w4v5";
    let out = "see https://a.org and [REDACTED:hook]";
    assert!(!leaks(input, out, "https://hook/x1y2z3w4v5"));
    assert!(leaks(
        input,
        "see https://a.org and https://hook/x1y2[REDACTED:hook]",
        "https://hook/x1y2z3w4v5"
    ));
}
