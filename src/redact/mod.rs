//! `agentbox redact`: a streaming filter that replaces secrets with `[REDACTED:rule-id]`.
//!
//! Input is processed by whole lines and every complete line is written as soon as it is
//! pushed, so `tail -f log | agentbox redact` works. Known values (e.g. the environment
//! values agentbox removed) are masked exactly, with their common encodings, before the
//! rule engine's matches are added. Bytes that are not secrets pass through unchanged
//! (invalid UTF-8 and `\r` included).
//!
//! Exit codes of [`run`]: 0 success (or, with `--check`, nothing found), 1 `--check` found
//! a secret; errors are returned to the caller.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use anyhow::{Context, Result};
use regex::bytes::Regex;
use serde::Serialize;

use crate::detect::bytes::{count, find, rfind};
use crate::detect::{
    classify_env_allowing, Engine, Finding, PersonalAllow, ReasonKind, PRIVATE_KEY_RULE,
};

/// Longest "line" held in memory; past it the line is emitted in pieces.
const MAX_LINE: usize = 1 << 20;
/// Bytes kept back when a long line is cut, so a secret across the cut is seen whole.
const OVERLAP: usize = 4096;
/// Shorter exact values would mask ordinary text.
const MIN_EXACT_LEN: usize = 8;
/// Rule id reported for exact-value matches.
pub const EXACT_RULE: &str = "exact-value";
/// A private key body longer than this is not a key: stop swallowing lines.
const KEY_BODY_LIMIT: usize = 1 << 20;
/// Read size for files and pipes.
const READ_SIZE: usize = 128 * 1024;

/// Arguments of `agentbox redact`.
#[derive(Debug, Clone, Default)]
pub struct RedactOptions {
    /// Files to filter in turn; `-` is standard input (the default when none is given).
    pub files: Vec<PathBuf>,
    /// Also mask the exact values (and their base64/percent/JSON encodings) of the
    /// environment variables that `agentbox run` would remove (capability variables such
    /// as SSH_AUTH_SOCK excepted: their value is a path, the secret is what it points to).
    pub values_from_env: bool,
    /// Print no redacted output; exit 1 if any secret is found, 0 if none.
    pub check: bool,
    /// Print findings (rule_id, file, line, column; never values) as JSON: to stdout with
    /// --check, to stderr otherwise.
    pub json: bool,
    /// Extra rules file (YAML, same format as the built-in rules); a rule with a built-in id
    /// replaces the built-in one.
    pub rules: Option<PathBuf>,
}

/// Where a secret was found. Holds no part of the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct FindingRecord {
    /// Rule that matched (`exact-value` for known values).
    pub rule_id: String,
    /// Input name (`-` for standard input), if the redactor was given one.
    pub file: Option<String>,
    /// 1-based line number.
    pub line: u64,
    /// 1-based byte column of the first secret byte.
    pub column: u64,
}

/// Runs `agentbox redact`.
pub fn run(args: &RedactOptions) -> Result<ExitCode> {
    let engine: &'static Engine = match &args.rules {
        None => Engine::builtin(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading rules file {}", path.display()))?;
            let engine = Engine::builtin_with(&text, &path.display().to_string())?;
            // Built once per process and kept for its lifetime, like the built-in engine.
            Box::leak(Box::new(engine))
        }
    };
    let personal = personal_allow()?;
    if let Some(a) = &personal {
        engine.allow_values(a.values());
        engine.allow_patterns(a.patterns())?;
    }
    let values = if args.values_from_env {
        env_secret_values_allowing(personal.as_ref())
    } else {
        Vec::new()
    };
    tracing::debug!(
        rules = engine.rule_count(),
        exact_values = values.len(),
        "redact starting"
    );
    let inputs: Vec<PathBuf> = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    let stdout = io::stdout();

    if !args.check && !args.json {
        // Plain filter: the same path as `agentbox run --redact-output`.
        let mut out = stdout.lock();
        for path in &inputs {
            let reader = open(path)?;
            let result = pump(reader, &mut out, Redactor::new(engine, values.clone()));
            if let Err(e) = result {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return Ok(ExitCode::SUCCESS);
                }
                return Err(e).with_context(|| format!("filtering {}", path.display()));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    let mut redactor = Redactor::new(engine, values);
    let mut out: Box<dyn Write> = if args.check {
        Box::new(io::sink())
    } else {
        Box::new(stdout.lock())
    };
    let mut buf = vec![0u8; READ_SIZE];
    for path in &inputs {
        redactor.set_file(Some(path.display().to_string()));
        let reader = open(path)?;
        let step = copy_through(reader, &mut out, &mut redactor, &mut buf);
        match step {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break,
            Err(e) => return Err(e).with_context(|| format!("filtering {}", path.display())),
        }
    }
    drop(out);
    if args.json {
        #[derive(Serialize)]
        struct Report<'a> {
            findings: &'a [FindingRecord],
        }
        let json = serde_json::to_string(&Report {
            findings: redactor.findings(),
        })
        .context("encoding findings")?;
        if args.check {
            writeln!(stdout.lock(), "{json}").context("writing findings")?;
        } else {
            writeln!(io::stderr().lock(), "{json}").context("writing findings")?;
        }
    }
    if args.check && !redactor.findings().is_empty() {
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn open(path: &Path) -> Result<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(io::stdin().lock()))
    } else {
        let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Ok(Box::new(f))
    }
}

/// Values of the current environment variables that [`classify_env`] would remove, except
/// capabilities (a socket or file path is not the secret), as the launcher masks them.
pub(crate) fn env_secret_values() -> Vec<String> {
    env_secret_values_allowing(None)
}

/// [`env_secret_values`], less what the person's allow-list keeps.
fn env_secret_values_allowing(personal: Option<&PersonalAllow>) -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            // Non-UTF-8 names or values cannot be classified; they are rare in practice.
            let (k, v) = (k.into_string().ok()?, v.into_string().ok()?);
            if personal.is_some_and(|a| a.keeps_name(&k)) {
                return None;
            }
            match classify_env_allowing(&k, &v, personal)?.kind {
                ReasonKind::CapabilityName => None,
                _ => Some(v),
            }
        })
        .collect()
}

/// The person's allow-list (`detect::personal`), unless it lies in the repository around the
/// current directory (a repository cannot loosen its own redaction; said on stderr).
fn personal_allow() -> Result<Option<PersonalAllow>> {
    use crate::detect::personal::{locate, Location, Source};
    let cwd = std::env::current_dir().ok();
    // The work tree the current directory is in, or the directory itself outside one.
    let repo = cwd.as_deref().map(|c| {
        c.ancestors()
            .find(|a| a.join(".git").exists())
            .unwrap_or(c)
            .to_path_buf()
    });
    let writable: Vec<&Path> = repo.as_deref().into_iter().collect();
    let var = |k: &str| std::env::var(k).ok();
    let at = locate(
        var("XDG_CONFIG_HOME").as_deref(),
        var("HOME").as_deref(),
        &writable,
    );
    if let Location::InWorkspace(p) = &at {
        eprintln!(
            "agentbox: allow-list {} ignored: it is inside the repository or directory being worked in",
            p.display()
        );
    }
    Source::read(at).load().map_err(anyhow::Error::msg)
}

/// For `agentbox run --redact-output`: copies reader to writer through a redactor until
/// EOF, flushing after every read so each complete line is delivered at once.
pub fn pump(reader: impl Read, mut writer: impl Write, mut redactor: Redactor) -> io::Result<()> {
    let mut buf = vec![0u8; READ_SIZE];
    copy_through(reader, &mut writer, &mut redactor, &mut buf)
}

/// Copy `reader` to `writer` through `redactor` until EOF, flushing after every read so each
/// complete line goes out at once; then flush the redactor's tail.
fn copy_through(
    mut reader: impl Read,
    writer: &mut dyn Write,
    redactor: &mut Redactor,
    buf: &mut [u8],
) -> io::Result<()> {
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        redactor.push(&buf[..n], writer)?;
        writer.flush()?;
    }
    redactor.finish(writer)?;
    writer.flush()
}

/// State while inside a PEM private key block whose END has not been seen yet.
struct KeyBlock {
    /// Whitespace after the BEGIN match, written only if the block turns out to be cut short.
    held: Vec<u8>,
    /// Body bytes swallowed so far.
    swallowed: usize,
    /// Length of the last swallowed base64 line (a short final line follows a full one).
    last_body_len: usize,
    /// Armor headers (Proc-Type:, DEK-Info:, Version:) only come before the body.
    seen_body: bool,
}

/// What a line did while inside a private key block.
enum KeyStep {
    /// Part of the key: dropped.
    Swallowed,
    /// END marker found; the line continues normally from this offset.
    Ended(usize),
    /// Not key material: the block was truncated, the line is processed normally.
    Aborted,
}

/// Streaming redactor: push bytes in, get redacted bytes out, line by line.
pub struct Redactor {
    engine: &'static Engine,
    exact: Option<Arc<ExactMatcher>>,
    /// Incomplete last line.
    pending: Vec<u8>,
    /// 1-based number of the line `pending` (or the next chunk) starts on.
    line: u64,
    /// Bytes of the current line already emitted (long lines, text after a key's END).
    col_base: u64,
    file: Option<String>,
    findings: Vec<FindingRecord>,
    key: Option<KeyBlock>,
    /// The last bytes written (raw), for multi-line rules whose match ends in a later
    /// chunk: see [`Engine::find_continued`].
    context: Vec<u8>,
    /// How far before the end of `context` the last keyword of a multi-line rule starts,
    /// when within it: only then can the next chunk continue a match.
    context_keyword: Option<usize>,
    /// Where in the buffer last scanned such a keyword starts (noted by the scan, for
    /// `remember`: only the written part of a scan becomes context).
    scanned_keyword: Option<usize>,
}

impl std::fmt::Debug for Redactor {
    // Manual: the exact matcher and the pending bytes may hold secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("engine", self.engine)
            .field("exact_values", &self.exact.as_ref().map_or(0, |e| e.count))
            .field("line", &self.line)
            .field("findings", &self.findings.len())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor using `engine`; `exact_values` (each at least 8 bytes, shorter ones are
    /// ignored) are masked exactly, with their base64, percent and JSON encodings.
    pub fn new(engine: &'static Engine, exact_values: Vec<String>) -> Self {
        Self::with_exact(engine, ExactValues::new(&exact_values))
    }

    /// A redactor using `engine` and values compiled once by [`ExactValues::new`].
    pub fn with_exact(engine: &'static Engine, exact: ExactValues) -> Self {
        Redactor {
            engine,
            exact: exact.0,
            pending: Vec::new(),
            line: 1,
            col_base: 0,
            file: None,
            findings: Vec::new(),
            key: None,
            context: Vec::new(),
            context_keyword: None,
            scanned_keyword: None,
        }
    }

    /// Names the input for the findings that follow (call before the first push of a
    /// file; [`Redactor::finish`] ends the previous one and restarts line numbers).
    pub fn set_file(&mut self, file: Option<String>) {
        self.file = file;
    }

    /// Everything found so far (rule id, file, line, column; never the value).
    pub fn findings(&self) -> &[FindingRecord] {
        &self.findings
    }

    /// Feeds bytes; writes every complete line (redacted) at once and keeps the partial
    /// tail for the next call.
    pub fn push(&mut self, input: &[u8], out: &mut dyn Write) -> io::Result<()> {
        let mut input = input;
        if !self.pending.is_empty() {
            match find(b'\n', input) {
                None => {
                    self.pending.extend_from_slice(input);
                    return self.flush_long(out);
                }
                Some(nl) => {
                    let mut line = std::mem::take(&mut self.pending);
                    line.extend_from_slice(&input[..=nl]);
                    self.process(&line, out)?;
                    line.clear();
                    self.pending = line; // keep the allocation
                    input = &input[nl + 1..];
                }
            }
        }
        match rfind(b'\n', input) {
            Some(last) => {
                self.process(&input[..=last], out)?;
                self.pending.extend_from_slice(&input[last + 1..]);
            }
            None => self.pending.extend_from_slice(input),
        }
        self.flush_long(out)
    }

    /// Ends the input: writes the unterminated last line (redacted) and resets line
    /// numbering for a next file. Findings are kept.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.process(&rest, out)?;
        }
        if let Some(k) = self.key.take() {
            out.write_all(&k.held)?;
        }
        self.line = 1;
        self.col_base = 0;
        self.context.clear();
        self.context_keyword = None;
        Ok(())
    }

    /// Emits the head of an over-long line, keeping an overlap so a secret across the
    /// cut is scanned whole next time. Memory stays bounded by MAX_LINE + one read.
    fn flush_long(&mut self, out: &mut dyn Write) -> io::Result<()> {
        while self.pending.len() > MAX_LINE {
            // A megabyte line is not key body: the block was cut short.
            self.release_held(out)?;
            let buf = std::mem::take(&mut self.pending);
            let spans = self.scan(&buf);
            let mut cut = buf.len() - OVERLAP;
            if let Some(f) = spans.iter().find(|f| f.start < cut && f.end > cut) {
                // Never cut through a secret: stop before it, or (if it starts the buffer)
                // emit it whole.
                cut = if f.start > 0 { f.start } else { f.end };
            }
            let head: Vec<Finding> = spans.into_iter().filter(|f| f.end <= cut).collect();
            self.write_redacted(&buf[..cut], &head, out)?;
            self.pending = buf[cut..].to_vec();
        }
        Ok(())
    }

    /// Processes complete lines (the last may lack '\n' at finish).
    fn process(&mut self, mut region: &[u8], out: &mut dyn Write) -> io::Result<()> {
        while self.key.is_some() && !region.is_empty() {
            let end = find(b'\n', region).map_or(region.len(), |p| p + 1);
            let (line, rest) = region.split_at(end);
            region = rest;
            match self.key_line(line) {
                KeyStep::Swallowed => {
                    if line.ends_with(b"\n") {
                        self.line += 1;
                    }
                }
                KeyStep::Ended(at) => {
                    self.key = None;
                    self.col_base = at as u64;
                    self.process_chunk(&line[at..], out)?;
                }
                KeyStep::Aborted => {
                    self.release_held(out)?;
                    self.process_chunk(line, out)?;
                }
            }
        }
        if !region.is_empty() {
            self.process_chunk(region, out)?;
        }
        Ok(())
    }

    /// Classifies one line while inside a private key block.
    fn key_line(&mut self, line: &[u8]) -> KeyStep {
        static END: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let end = END.get_or_init(|| {
            Regex::new(r"(?-u)-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
                .expect("static regex")
        });
        let Some(k) = self.key.as_mut() else {
            return KeyStep::Aborted;
        };
        if let Some(m) = end.find(line) {
            if line[..m.start()]
                .iter()
                .all(|&b| is_b64(b) || b.is_ascii_whitespace())
            {
                return KeyStep::Ended(m.end());
            }
            return KeyStep::Aborted;
        }
        k.swallowed += line.len();
        if k.swallowed > KEY_BODY_LIMIT {
            return KeyStep::Aborted;
        }
        let body = line.trim_ascii();
        if body.is_empty() {
            return KeyStep::Swallowed;
        }
        if body.iter().all(|&b| is_b64(b)) {
            // Full-width lines, padded lines, or the short last line after a full one.
            if body.len() >= 16 || body.ends_with(b"=") || k.last_body_len >= 40 {
                k.seen_body = true;
                k.last_body_len = body.len();
                return KeyStep::Swallowed;
            }
            return KeyStep::Aborted;
        }
        if !k.seen_body && is_armor_header(body) {
            return KeyStep::Swallowed;
        }
        KeyStep::Aborted
    }

    /// Scans, redacts and writes a chunk of complete lines; starts a key block if the
    /// chunk ends inside one.
    fn process_chunk(&mut self, chunk: &[u8], out: &mut dyn Write) -> io::Result<()> {
        let spans = self.scan(chunk);
        let mut emit_end = chunk.len();
        if let Some(last) = spans.last() {
            let tail_blank = chunk[last.end..].iter().all(u8::is_ascii_whitespace);
            if last.rule_id == PRIVATE_KEY_RULE
                && tail_blank
                && !contains(&chunk[last.start..last.end], b"-----END")
            {
                // BEGIN seen, END not yet: the rest of the block is still to come.
                emit_end = last.end;
                self.key = Some(KeyBlock {
                    held: chunk[last.end..].to_vec(),
                    swallowed: 0,
                    last_body_len: 0,
                    seen_body: false,
                });
            }
        }
        self.write_redacted(&chunk[..emit_end], &spans, out)?;
        if emit_end < chunk.len() {
            // The held tail's newlines still count as lines.
            self.line += count(b'\n', &chunk[emit_end..]) as u64;
            self.col_base = 0;
        }
        Ok(())
    }

    /// Exact values and rule findings, merged (union of overlaps; exact values win ids).
    fn scan(&mut self, chunk: &[u8]) -> Vec<Finding> {
        let (found, keyword) = self.engine.find_noting_continued(chunk);
        self.scanned_keyword = keyword;
        let mut spans = match self.context_keyword {
            Some(_) => self.engine.find_continued(&self.context, chunk),
            None => Vec::new(),
        };
        if let Some(exact) = &self.exact {
            spans.extend(exact.find(chunk));
        }
        if spans.is_empty() {
            return found;
        }
        spans.extend(found);
        spans.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut merged: Vec<Finding> = Vec::with_capacity(spans.len());
        for s in spans {
            match merged.last_mut() {
                Some(last) if s.start < last.end => {
                    last.end = last.end.max(s.end);
                    if s.rule_id == EXACT_RULE {
                        last.rule_id = s.rule_id;
                    }
                }
                _ => merged.push(s),
            }
        }
        merged
    }

    /// Writes `chunk` with each span replaced by its marker, records findings with line
    /// and column, and advances the line counter.
    fn write_redacted(
        &mut self,
        chunk: &[u8],
        spans: &[Finding],
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let first_line = self.line;
        let mut line = self.line;
        let mut line_start = 0usize;
        let mut counted = 0usize;
        let mut pos = 0usize;
        for s in spans.iter().filter(|s| s.end <= chunk.len()) {
            for (i, &b) in chunk[counted..s.start].iter().enumerate() {
                if b == b'\n' {
                    line += 1;
                    line_start = counted + i + 1;
                }
            }
            counted = s.start;
            let base = if line == first_line { self.col_base } else { 0 };
            self.findings.push(FindingRecord {
                rule_id: s.rule_id.clone(),
                file: self.file.clone(),
                line,
                column: base + (s.start - line_start) as u64 + 1,
            });
            out.write_all(&chunk[pos..s.start])?;
            out.write_all(b"[REDACTED:")?;
            out.write_all(s.rule_id.as_bytes())?;
            out.write_all(b"]")?;
            pos = s.end;
        }
        out.write_all(&chunk[pos..])?;
        let keyword = self.scanned_keyword.take();
        self.remember(chunk, keyword);
        // Count the remaining newlines (vectorizes; most chunks have no span at all).
        let rest = &chunk[counted..];
        let newlines = count(b'\n', rest);
        if newlines > 0 {
            line += newlines as u64;
            let last_nl = rfind(b'\n', rest).unwrap_or(0);
            line_start = counted + last_nl + 1;
        }
        if line == first_line {
            self.col_base += chunk.len() as u64;
        } else {
            self.col_base = (chunk.len() - line_start) as u64;
        }
        self.line = line;
        Ok(())
    }

    /// Keeps the last bytes written (raw) as the context of the next scan, and where the
    /// last keyword of a multi-line rule in them starts (`keyword`, an offset in the buffer
    /// scanned, of which `written` is the head).
    fn remember(&mut self, written: &[u8], keyword: Option<usize>) {
        let reach = self.engine.continued_reach();
        let from_end = match keyword {
            Some(k) if k < written.len() => Some(written.len() - k),
            // The last one lies past what was written (a long line's head, a key block's
            // start): an earlier one may still be near the end, so the next chunk looks back.
            Some(_) => Some(0),
            None => self.context_keyword.map(|d| d + written.len()),
        };
        self.context_keyword = from_end.filter(|&d| d <= reach);
        if written.len() >= reach {
            self.context.clear();
            self.context
                .extend_from_slice(&written[written.len() - reach..]);
        } else {
            self.context.extend_from_slice(written);
            let excess = self.context.len().saturating_sub(reach);
            self.context.drain(..excess);
        }
    }

    /// Writes the whitespace held after a key block's BEGIN, the block cut short.
    fn release_held(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if let Some(k) = self.key.take() {
            out.write_all(&k.held)?;
            self.remember(&k.held, None);
        }
        Ok(())
    }
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// `Proc-Type: 4,ENCRYPTED`, `DEK-Info: ...`, `Version: ...`, `Comment: ...`.
fn is_armor_header(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    (2..=32).contains(&colon)
        && line[0].is_ascii_alphabetic()
        && line[..colon]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Known values compiled once and shared by many redactors (agentbox's own messages are
/// redacted one at a time; building the automaton for each would cost more than the scan).
#[derive(Clone, Default)]
pub struct ExactValues(Option<Arc<ExactMatcher>>);

impl ExactValues {
    /// Compiles `values` (shorter than 8 bytes are ignored) with their encodings.
    pub fn new(values: &[String]) -> Self {
        ExactValues(ExactMatcher::new(values, None).map(Arc::new))
    }

    /// The same, built for short texts: an NFA without prefilter costs about a third of
    /// the DFA chosen for streams to build, which a one-line message would pay.
    pub fn for_messages(values: &[String]) -> Self {
        let kind = Some(AhoCorasickKind::ContiguousNFA);
        ExactValues(ExactMatcher::new(values, kind).map(Arc::new))
    }
}

/// Every byte string an exact matcher for `values` looks for: each value (at least 8 bytes)
/// and its encodings, deduplicated.
pub(crate) fn exact_patterns(values: &[String]) -> Vec<Vec<u8>> {
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    for v in values.iter().filter(|v| v.len() >= MIN_EXACT_LEN) {
        variants(v, &mut patterns);
    }
    patterns.retain(|p| p.len() >= MIN_EXACT_LEN);
    patterns.sort_unstable();
    patterns.dedup();
    patterns
}

/// Matches known secret values and their encodings.
struct ExactMatcher {
    ac: AhoCorasick,
    /// Bytes that make a line worth decoding (JSON escapes, ANSI sequences).
    special: AhoCorasick,
    count: usize,
}

impl ExactMatcher {
    fn new(values: &[String], kind: Option<AhoCorasickKind>) -> Option<Self> {
        let patterns = exact_patterns(values);
        if patterns.is_empty() {
            return None;
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(kind)
            .prefilter(kind.is_none())
            .build(&patterns)
            .ok()?;
        let special = AhoCorasickBuilder::new()
            .kind(kind)
            .build([b"\\".as_slice(), b"\x1b".as_slice()])
            .ok()?;
        Some(ExactMatcher {
            ac,
            special,
            count: values.len(),
        })
    }

    /// Spans of exact values in `hay`, also looking through JSON escapes and ANSI codes.
    fn find(&self, hay: &[u8]) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .ac
            .find_iter(hay)
            .map(|m| exact_finding(m.start(), m.end()))
            .collect();
        let mut from = 0;
        while let Some(m) = self.special.find(&hay[from..]) {
            let at = from + m.start();
            let ls = rfind(b'\n', &hay[..at]).map_or(0, |p| p + 1);
            let le = find(b'\n', &hay[at..]).map_or(hay.len(), |p| at + p);
            let norm = crate::detect::normalize(&hay[ls..le]);
            for m in self.ac.find_iter(&norm.text) {
                let (s, e) = norm.input_span(m.start(), m.end());
                out.push(exact_finding(ls + s, ls + e));
            }
            from = le;
            if from >= hay.len() {
                break;
            }
        }
        out
    }
}

fn exact_finding(start: usize, end: usize) -> Finding {
    Finding {
        rule_id: EXACT_RULE.to_string(),
        start,
        end,
    }
}

/// The value, trimmed and unquoted forms, each line of a multi-line value, and for each
/// their base64 (3 byte offsets, standard and URL-safe), percent and JSON encodings.
fn variants(value: &str, out: &mut Vec<Vec<u8>>) {
    let mut bases: Vec<&str> = vec![value];
    let trimmed = value.trim();
    bases.push(trimmed);
    for q in ['"', '\''] {
        if let Some(inner) = trimmed.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            bases.push(inner);
        }
    }
    if value.contains('\n') {
        bases.extend(value.lines().map(|l| l.trim_end_matches('\r').trim()));
    }
    for b in bases.into_iter().filter(|b| b.len() >= MIN_EXACT_LEN) {
        let bytes = b.as_bytes();
        out.push(bytes.to_vec());
        for k in 0..3 {
            for alphabet in [B64_STD, B64_URL] {
                out.push(base64_fragment(bytes, k, alphabet));
            }
        }
        for upper in [true, false] {
            out.push(percent_encode(bytes, upper, false));
        }
        out.push(percent_encode(bytes, true, true));
        if let Ok(json) = serde_json::to_string(b) {
            let inner = json[1..json.len() - 1].to_string();
            out.push(inner.replace('/', "\\/").into_bytes());
            out.push(inner.into_bytes());
        }
    }
}

use crate::detect::detectors::encoded::{
    fragment as base64_fragment, STD as B64_STD, URL as B64_URL,
};

fn percent_encode(value: &[u8], upper: bool, form: bool) -> Vec<u8> {
    let hex: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = Vec::with_capacity(value.len() * 3);
    for &b in value {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else if form && b == b' ' {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', hex[usize::from(b >> 4)], hex[usize::from(b & 15)]]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Realistic-entropy fake built at runtime (no secret shapes in the source).
    fn fake(prefix: &str, n: usize, seed: u64) -> String {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let alphabet = &B64_STD[..62];
        let body: String = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                char::from(alphabet[(s % 62) as usize])
            })
            .collect();
        format!("{prefix}{body}")
    }

    fn redactor(values: Vec<String>) -> Redactor {
        Redactor::new(Engine::builtin(), values)
    }

    fn run_pushes(r: &mut Redactor, pieces: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in pieces {
            r.push(p, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        out
    }

    fn redact_all(input: &[u8]) -> Vec<u8> {
        run_pushes(&mut redactor(Vec::new()), &[input])
    }

    /// Compares without printing either side: outputs may hold a secret on failure.
    fn same(got: &[u8], want: &[u8], what: &str) {
        assert!(got == want, "{what}: output differs (not printed)");
    }

    fn has(hay: &[u8], needle: &str) -> bool {
        contains(hay, needle.as_bytes())
    }

    #[test]
    fn token_split_at_every_offset_is_caught() {
        let tok = fake("ghp_", 36, 1);
        let line = format!("export GITHUB_TOKEN={tok} # set\n");
        let want = b"export GITHUB_TOKEN=[REDACTED:github-pat] # set\n".to_vec();
        for i in 0..=line.len() {
            let (a, b) = line.as_bytes().split_at(i);
            let mut r = redactor(Vec::new());
            let out = run_pushes(&mut r, &[a, b]);
            same(&out, &want, &format!("split at {i}"));
            assert_eq!(r.findings().len(), 1);
        }
    }

    #[test]
    fn complete_lines_are_written_before_finish() {
        let tok = fake("ghp_", 36, 2);
        let mut r = redactor(Vec::new());
        let mut out = Vec::new();
        r.push(format!("first {tok}\nsecond par").as_bytes(), &mut out)
            .unwrap();
        same(&out, b"first [REDACTED:github-pat]\n", "first line");
        r.push(b"tial\n", &mut out).unwrap();
        same(
            &out,
            b"first [REDACTED:github-pat]\nsecond partial\n",
            "second line",
        );
        r.push(b"no newline", &mut out).unwrap();
        assert!(!has(&out, "no newline"));
        r.finish(&mut out).unwrap();
        assert!(out.ends_with(b"no newline"));
    }

    #[test]
    fn ordinary_bytes_pass_through_identically() {
        let mut input = Vec::new();
        input.extend_from_slice(b"plain line\r\n\xff\xfe invalid utf8 \xc3\x28\n");
        input.extend_from_slice(b"progress 10%\rprogress 20%\r\n\x1b[1;32mok\x1b[0m\n");
        input.extend_from_slice(b"no trailing newline");
        for step in [1, 3, 7, input.len()] {
            let pieces: Vec<&[u8]> = input.chunks(step).collect();
            assert_eq!(run_pushes(&mut redactor(Vec::new()), &pieces), input);
        }
        assert_eq!(redact_all(b""), b"");
    }

    fn pem(seed: u64) -> (String, Vec<String>) {
        let body: Vec<String> = (0..5)
            .map(|i| {
                let mut l = fake("", 64, seed + i);
                if i == 4 {
                    l.truncate(20);
                    l.push_str("==");
                }
                l
            })
            .collect();
        // Armor split in the source so scanners do not flag this file.
        let block = format!(
            "{}\n{}\n{}",
            concat!("-----BEGIN RSA PRIV", "ATE KEY-----"),
            body.join("\n"),
            concat!("-----END RSA PRIV", "ATE KEY-----"),
        );
        (block, body)
    }

    #[test]
    fn netrc_entry_over_several_pushes_is_masked() {
        // Found by fuzzing (fuzz/ redact): a netrc entry over three lines, its `machine`
        // line pushed before its `password` line, went out in clear.
        let pw = fake("", 24, 21);
        let input = format!(
            "HOME=/home/u\nmachine registry.example.org\n  login deploy\n  password {pw}\nok\n"
        );
        let bytes = input.as_bytes();
        let whole = redact_all(bytes);
        assert!(has(&whole, "password [REDACTED:netrc-password]\nok\n"));
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let mut r = redactor(Vec::new());
        same(&run_pushes(&mut r, &lines), &whole, "by lines");
        assert_eq!((r.findings()[0].line, r.findings()[0].column), (4, 12));
        for i in 0..=bytes.len() {
            let (a, b) = bytes.split_at(i);
            let out = run_pushes(&mut redactor(Vec::new()), &[a, b]);
            same(&out, &whole, &format!("split at {i}"));
        }
        // Past the rule's reach, an earlier `machine` no longer counts.
        let far = format!("machine m login l\n{}\npassword {pw}\n", "x".repeat(4096));
        let lines: Vec<&[u8]> = far.as_bytes().split_inclusive(|&b| b == b'\n').collect();
        let out = run_pushes(&mut redactor(Vec::new()), &lines);
        same(&out, &redact_all(far.as_bytes()), "far apart");
        // The keyword noted by a bulk scan (a chunk past the DFA's threshold), its password
        // in the next push.
        let filler = "   Compiling serde v1.0.0\n".repeat(4000);
        let bulk = [
            format!("{filler}machine registry.example.org\n"),
            format!("  login deploy\n  password {pw}\n"),
        ];
        let pieces: Vec<&[u8]> = bulk.iter().map(|p| p.as_bytes()).collect();
        let out = run_pushes(&mut redactor(Vec::new()), &pieces);
        assert!(has(&out, "  password [REDACTED:netrc-password]\n"), "bulk");
    }

    #[test]
    fn multi_line_examples_cut_at_any_line_stay_masked() {
        // Each rule's look back across a cut reaches as far as its own window, from the
        // keywords in the context: no line of what a multi-line example's whole scan masks
        // comes out of a stream cut at any of its lines, after a short chunk or a bulk one
        // (the DFA's pass). (The markers may differ: a match over a cut is masked in parts.)
        let filler = "   Compiling serde v1.0.0\n".repeat(4000);
        let mut cut = 0;
        for (id, text) in Engine::builtin().examples() {
            // Key blocks are held by the redactor itself (see the PEM tests).
            if id == PRIVATE_KEY_RULE || text.trim_end().lines().count() < 2 {
                continue;
            }
            let text = format!("{text}\n");
            let masked: Vec<&str> = (Engine::builtin().find(text.as_bytes()).iter())
                .flat_map(|f| text[f.start..f.end].split('\n'))
                .filter(|piece| piece.len() >= 8)
                .collect();
            assert!(!masked.is_empty(), "{id}");
            for (i, _) in text.match_indices('\n').filter(|(i, _)| i + 1 < text.len()) {
                let (a, b) = text.split_at(i + 1);
                let short = run_pushes(&mut redactor(Vec::new()), &[a.as_bytes(), b.as_bytes()]);
                let first = format!("{filler}{a}");
                let bulk = run_pushes(&mut redactor(Vec::new()), &[first.as_bytes(), b.as_bytes()]);
                for out in [&short, &bulk] {
                    let leak = masked.iter().any(|piece| has(out, piece));
                    assert!(
                        !leak,
                        "{id}: cut after byte {i}: a masked line is out (not printed)"
                    );
                }
                cut += 1;
            }
        }
        assert!(cut >= 20, "{cut}");
    }

    #[test]
    fn netrc_entry_after_a_cut_short_key_block_is_masked() {
        // Found by fuzzing (fuzz/ redact): a line ending in a BEGIN marker opens a key block,
        // the netrc lines after it close it, and the newline it had held back was missing
        // from the context of the next push, which then read `KDAmachine`: no `machine`.
        let pw = fake("", 24, 22);
        let begin = concat!("-----BEGIN PGP PRIV", "ATE KEY BLOCK-----");
        let pushes = [
            format!("x{begin}KDA\n"),
            "machine registry.example.org\n  login deploy\n".to_string(),
            format!("  password {pw}\n"),
        ];
        let pieces: Vec<&[u8]> = pushes.iter().map(|p| p.as_bytes()).collect();
        let out = run_pushes(&mut redactor(Vec::new()), &pieces);
        assert!(has(&out, "  password [REDACTED:netrc-password]\n"));
        assert!(!has(&out, &pw));
    }

    #[test]
    fn pem_block_is_removed_whole_however_it_arrives() {
        let (block, body) = pem(10);
        let input = format!("before\n  key: {block} trailer\nafter\n");
        let want = b"before\n  key: [REDACTED:private-key] trailer\nafter\n".to_vec();
        let bytes = input.as_bytes();
        let whole = run_pushes(&mut redactor(Vec::new()), &[bytes]);
        same(&whole, &want, "whole");
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let mut r = redactor(Vec::new());
        same(&run_pushes(&mut r, &lines), &want, "by lines");
        assert_eq!(r.findings().len(), 1);
        assert_eq!((r.findings()[0].line, r.findings()[0].column), (2, 8));
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        same(
            &run_pushes(&mut redactor(Vec::new()), &bytewise),
            &want,
            "bytewise",
        );
        for i in 0..bytes.len() {
            let (a, b) = bytes.split_at(i);
            let out = run_pushes(&mut redactor(Vec::new()), &[a, b]);
            same(&out, &want, &format!("split at {i}"));
        }
        for l in &body {
            assert!(!has(&whole, l));
        }
    }

    #[test]
    fn truncated_pem_block_does_not_swallow_the_log() {
        let (block, body) = pem(20);
        let cut: Vec<&str> = block.lines().take(3).collect();
        let input = format!("{}\nnext: ok\nDone\n", cut.join("\n"));
        let lines: Vec<&[u8]> = input.as_bytes().split_inclusive(|&b| b == b'\n').collect();
        let out = run_pushes(&mut redactor(Vec::new()), &lines);
        same(
            &out,
            b"[REDACTED:private-key]\nnext: ok\nDone\n",
            "truncated",
        );
        assert!(!has(&out, &body[0]));
    }

    #[test]
    fn url_password_and_authorization_header() {
        let pw = fake("", 16, 30);
        let tok = fake("", 40, 31);
        let input =
            format!("GET https://deploy:{pw}@git.internal/r.git\n> Authorization: Bearer {tok}\n");
        let out = redact_all(input.as_bytes());
        same(
            &out,
            b"GET https://deploy:[REDACTED:url-password]@git.internal/r.git\n\
              > Authorization: Bearer [REDACTED:authorization-header]\n",
            "url and header",
        );
    }

    #[test]
    fn json_escaped_secrets_in_a_streamed_json_log_are_caught() {
        let hook = fake("", 24, 35);
        let tok = fake("ghp_", 36, 36);
        let line = format!(
            "{{\"msg\":\"posting to https:\\/\\/hooks.slack.com\\/services\\/TABCD1234\\/BABCD123456\\/{hook}\",\"env\":\"GITHUB_TOKEN=\\\"{tok}\\\"\"}}\n"
        );
        let pieces: Vec<&[u8]> = line.as_bytes().chunks(7).collect();
        let mut r = redactor(Vec::new());
        let out = run_pushes(&mut r, &pieces);
        assert!(
            !has(&out, &hook) && !has(&out, &tok),
            "secret left in JSON line"
        );
        let ids: Vec<&str> = r.findings().iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, ["slack-webhook-url", "github-pat"]);
        assert!(out.ends_with(b"\\\"\"}\n"), "JSON tail changed");
    }

    #[test]
    fn exact_values_and_their_encodings_are_masked() {
        let value = format!("{}/x+y\"z {}", fake("", 10, 40), fake("", 6, 41));
        let mut r = redactor(vec![value.clone(), "short".into()]);
        let json = serde_json::to_string(&value).unwrap();
        let dotnet = json.replace('+', "\\u002B").replace('/', "\\/");
        let mut b64_input = b"user:".to_vec();
        b64_input.extend_from_slice(value.as_bytes());
        let b64 = String::from_utf8(base64_fragment(&b64_input, 0, B64_STD)).unwrap();
        let pct = String::from_utf8(percent_encode(value.as_bytes(), true, false)).unwrap();
        let input = format!(
            "raw {value}\n{{\"msg\":{json}}}\n{{\"msg\":{dotnet}}}\nAuthorization: Basic {b64}\n?p={pct}&q=1\nshort stays\n"
        );
        let out = run_pushes(&mut r, &[input.as_bytes()]);
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains(&value[..10]), "raw or encoded value left");
        assert!(!text.contains(&pct[..12]));
        assert!(text.contains("short stays"));
        assert_eq!(text.matches("[REDACTED:").count(), 5, "{}", text.len());
        assert!(r.findings().iter().any(|f| f.rule_id == EXACT_RULE));
    }

    #[test]
    fn base64_fragments_cover_all_offsets() {
        let v = b"s3cr3t-value-123";
        for prefix in ["", "a", "ab", "abc", "abcd"] {
            let mut data = prefix.as_bytes().to_vec();
            data.extend_from_slice(v);
            data.extend_from_slice(b"tail");
            let full = base64_fragment(&data, 0, B64_STD);
            let found = (0..3).any(|k| {
                let frag = base64_fragment(v, k, B64_STD);
                !frag.is_empty() && contains(&full, &frag)
            });
            assert!(found, "prefix {prefix:?}");
        }
    }

    #[test]
    fn long_lines_stay_bounded_and_secrets_across_the_cut_are_caught() {
        let tok = fake("ghp_", 36, 50);
        let mut line = vec![b'a'; MAX_LINE - 2000];
        line.push(b' ');
        let tok_at = line.len() + 1500; // lands in the overlap region of the first cut
        line.extend(std::iter::repeat_n(b'b', 1499));
        line.push(b' ');
        line.extend_from_slice(tok.as_bytes());
        line.push(b' ');
        line.extend(std::iter::repeat_n(b'c', 3 * MAX_LINE));
        line.push(b'\n');
        assert_eq!(&line[tok_at..tok_at + 4], b"ghp_");
        let mut r = redactor(Vec::new());
        let mut out = Vec::new();
        for piece in line.chunks(64 * 1024) {
            r.push(piece, &mut out).unwrap();
            assert!(r.pending.len() <= MAX_LINE + 64 * 1024);
        }
        r.finish(&mut out).unwrap();
        assert!(!contains(&out, tok.as_bytes()));
        assert_eq!(
            out.len(),
            line.len() - tok.len() + "[REDACTED:github-pat]".len()
        );
        assert_eq!(r.findings().len(), 1);
        assert_eq!(r.findings()[0].line, 1);
        assert_eq!(r.findings()[0].column, tok_at as u64 + 1);
    }

    #[test]
    fn findings_have_lines_columns_and_files_but_no_values() {
        let tok = fake("npm_", 36, 60);
        let mut r = redactor(Vec::new());
        r.set_file(Some("a.log".into()));
        let mut out = Vec::new();
        r.push(format!("x\ny\n  {tok}\n").as_bytes(), &mut out)
            .unwrap();
        r.finish(&mut out).unwrap();
        r.set_file(Some("b.log".into()));
        r.push(format!("{tok}\n").as_bytes(), &mut out).unwrap();
        r.finish(&mut out).unwrap();
        let got: Vec<_> = r
            .findings()
            .iter()
            .map(|f| (f.file.as_deref().unwrap(), f.line, f.column))
            .collect();
        assert_eq!(got, [("a.log", 3, 3), ("b.log", 1, 1)]);
        let json = serde_json::to_string(r.findings()).unwrap();
        assert!(json.contains(r#""rule_id":"npm-access-token","file":"a.log","line":3,"column":3"#));
        assert!(!json.contains(&tok) && !format!("{r:?}").contains(&tok));
    }

    #[test]
    fn debug_never_shows_exact_values() {
        let v = fake("", 24, 70);
        let r = redactor(vec![v.clone()]);
        assert!(!format!("{r:?}").contains(&v));
    }

    #[test]
    fn pump_filters_a_reader() {
        let tok = fake("glpat-", 20, 80);
        let input = format!("one\ntwo {tok}\nthree");
        let mut out = Vec::new();
        pump(input.as_bytes(), &mut out, redactor(Vec::new())).unwrap();
        same(&out, b"one\ntwo [REDACTED:gitlab-pat]\nthree", "pump");
    }
}
