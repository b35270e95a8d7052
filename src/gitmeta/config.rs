//! Git's config file format, parsed exactly as git parses it.
//!
//! The parser is a port of git's own (`config.c`: `git_parse_source`, `get_base_var`,
//! `get_value`, `parse_value`; unchanged from git 2.39 to 2.55 except that since 2.45
//! whitespace inside a value is kept verbatim instead of turned into spaces). Following
//! git step by step, rather than a grammar of our own, is what makes "the audit sees every
//! entry git sees" hold for adversarial files too: what git rejects is a [`ParseError`]
//! (git refuses to run on it) and what git accepts yields the same names and values git
//! hands its callbacks, byte for byte.
//!
//! Two details of git matter for security and are reproduced on purpose:
//! - names and values reach git's callbacks as C strings, so a NUL byte ends them:
//!   `[core "fsmonitor\0x"] y = cmd` *is* `core.fsmonitor = cmd` to git;
//! - only ASCII counts as letters, digits and spaces (git's own ctype), and only
//!   space, tab, CR and LF are spaces.

// Used by the git audit (next commit).
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

/// One `key = value` entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// Section name, lowercased; empty for a key written before any section header.
    pub section: String,
    /// Subsection: case kept from `[s "Sub"]`, lowercased from the legacy `[s.Sub]` (as git).
    pub subsection: Option<String>,
    /// Variable name, lowercased.
    pub key: String,
    /// Value with quotes and escapes resolved as git does; `None` for a bare key (true).
    pub value: Option<String>,
    /// 1-based line where the entry starts.
    pub line: usize,
    /// Byte range of the entry in the source, from the start of its line (or just after a
    /// section header on the same line) to the end of its last line, newline included.
    pub span: Range<usize>,
    /// The exact bytes, kept only when the strings above had to replace invalid UTF-8.
    raw: Option<Box<RawEntry>>,
}

/// Exact name and value of an entry whose text is not valid UTF-8.
#[derive(Clone, PartialEq, Eq)]
struct RawEntry {
    name: Vec<u8>,
    value: Option<Vec<u8>>,
}

impl Entry {
    /// `section.subsection.key` the way `git config -l` prints it.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.name_bytes()).into_owned()
    }

    /// The exact bytes of [`Entry::name`] (subsections need not be UTF-8).
    pub fn name_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_name(&mut out);
        out
    }

    /// The exact bytes of the value (values need not be UTF-8).
    pub fn value_bytes(&self) -> Option<&[u8]> {
        match &self.raw {
            Some(raw) => raw.value.as_deref(),
            None => self.value.as_deref().map(str::as_bytes),
        }
    }

    fn write_name(&self, out: &mut Vec<u8>) {
        if let Some(raw) = &self.raw {
            out.extend_from_slice(&raw.name);
            return;
        }
        // A key before any section header has no dot at all; git keeps it as is.
        if self.section.is_empty() && self.subsection.is_none() && !self.key.is_empty() {
            out.extend_from_slice(self.key.as_bytes());
            return;
        }
        out.extend_from_slice(self.section.as_bytes());
        out.push(b'.');
        if let Some(sub) = &self.subsection {
            out.extend_from_slice(sub.as_bytes());
            out.push(b'.');
        }
        out.extend_from_slice(self.key.as_bytes());
    }
}

/// Values can be secrets (`http.extraHeader`, URLs with tokens): Debug shows only their size.
impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name())
            .field("value_len", &self.value_bytes().map(<[u8]>::len))
            .field("line", &self.line)
            .field("span", &self.span)
            .finish()
    }
}

/// A parsed config file: its entries in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    /// Every entry, in file order.
    pub entries: Vec<Entry>,
}

impl ConfigFile {
    /// Entries of a name such as `core.hooksPath`, in order (section and key compared
    /// case-insensitively, subsection exactly, as git's lookups do).
    pub fn entries_named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Entry> + 'a {
        let canon = canonical_name(name.as_bytes());
        let mut buf = Vec::new();
        self.entries.iter().filter(move |e| {
            let Some(canon) = &canon else { return false };
            buf.clear();
            e.write_name(&mut buf);
            buf == *canon
        })
    }

    /// Values of a name, in order; bare keys (no value) are skipped, and bytes that are
    /// not UTF-8 read as U+FFFD (see [`Entry::value_bytes`] for the exact bytes).
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.entries_named(name)
            .filter_map(|e| e.value.as_deref())
            .collect()
    }

    /// Value of the last entry of a name (git's last one wins); `None` if there is none or
    /// the last one is a bare key.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.entries_named(name).last()?.value.as_deref()
    }
}

/// Why git would refuse a config file. Never contains text from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line git reports ("bad config line N").
    pub line: usize,
    /// What is wrong, without any of the file's text.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

const BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

/// git's `isspace()`: ASCII space, tab, LF and CR only (not VT or FF).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// git's `iskeychar()`.
fn is_keychar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Input as git's `get_next_char()` sees it.
struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
    /// git's `linenr`, including its quirks (the end of input counts as a line end each
    /// time it is read), so errors name the line git names.
    line: usize,
    eof: bool,
}

impl Reader<'_> {
    /// Next byte; CRLF reads as LF and the end of input reads as LF.
    fn next(&mut self) -> u8 {
        let Some(&c) = self.src.get(self.pos) else {
            self.eof = true;
            self.line += 1;
            return b'\n';
        };
        self.pos += 1;
        if c == b'\r' && self.src.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
            self.line += 1;
            return b'\n';
        }
        if c == b'\n' {
            self.line += 1;
        }
        c
    }

    /// git steps back a line when the error is the newline it just read.
    fn unline(&mut self) {
        self.line = self.line.saturating_sub(1);
    }

    fn err(&self, message: &str) -> ParseError {
        ParseError {
            line: self.line,
            message: message.to_string(),
        }
    }
}

/// Parses a config file the way git does; whatever git rejects is an error.
pub fn parse(src: &[u8]) -> Result<ConfigFile, ParseError> {
    // git stops at INT_MAX bytes and reports the file as bad.
    if src.len() > i32::MAX as usize {
        return Err(ParseError {
            line: 1,
            message: "file too large".to_string(),
        });
    }
    let mut r = Reader {
        src,
        pos: 0,
        line: 1,
        eof: false,
    };
    let mut entries = Vec::new();
    // The current section as git builds it: "section." or "section.subsection.".
    let mut var: Vec<u8> = Vec::new();
    let mut baselen = 0;
    let mut value = Vec::new();
    let mut bom_seen = 0;
    let mut bom_done = false;
    let mut comment = false;
    // Where an entry starting now would start its span.
    let mut line_start = 0;
    loop {
        let c = r.next();
        if !bom_done {
            if BOM.get(bom_seen) == Some(&c) {
                bom_seen += 1;
                bom_done = bom_seen == BOM.len();
                line_start = r.pos;
                continue;
            }
            if bom_seen != 0 {
                return Err(r.err("incomplete byte order mark"));
            }
            bom_done = true;
        }
        if c == b'\n' {
            if r.eof {
                return Ok(ConfigFile { entries });
            }
            comment = false;
            line_start = r.pos;
            continue;
        }
        if comment || is_space(c) {
            continue;
        }
        if c == b'#' || c == b';' {
            comment = true;
            continue;
        }
        if c == b'[' {
            var.clear();
            section_header(&mut r, &mut var)?;
            if var.is_empty() {
                return Err(r.err("empty section name"));
            }
            var.push(b'.');
            baselen = var.len();
            line_start = r.pos;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            return Err(r.err("expected a section header, a key or a comment"));
        }
        let line = r.line;
        var.truncate(baselen);
        var.push(c.to_ascii_lowercase());
        let has_value = key_and_value(&mut r, &mut var, &mut value)?;
        let value = has_value.then_some(value.as_slice());
        entries.push(make_entry(&var, value, line, line_start..r.pos));
        line_start = r.pos;
    }
}

/// git's `get_base_var()`: after `[`, through `]`.
fn section_header(r: &mut Reader, var: &mut Vec<u8>) -> Result<(), ParseError> {
    loop {
        let c = r.next();
        if r.eof {
            return Err(r.err("unterminated section header"));
        }
        if c == b']' {
            return Ok(());
        }
        if is_space(c) {
            return subsection(r, var, c);
        }
        if !is_keychar(c) && c != b'.' {
            return Err(r.err("invalid character in section name"));
        }
        var.push(c.to_ascii_lowercase());
    }
}

/// git's `get_extended_base_var()`: ` "subsection"]`, with `c` the space already read.
fn subsection(r: &mut Reader, var: &mut Vec<u8>, mut c: u8) -> Result<(), ParseError> {
    loop {
        if c == b'\n' {
            r.unline();
            return Err(r.err("section header ends early"));
        }
        c = r.next();
        if !is_space(c) {
            break;
        }
    }
    if c != b'"' {
        return Err(r.err("expected a quoted subsection name"));
    }
    var.push(b'.');
    loop {
        let mut c = r.next();
        if c == b'\n' {
            r.unline();
            return Err(r.err("subsection name ends early"));
        }
        if c == b'"' {
            break;
        }
        // Any other escaped byte stands for itself: git drops the backslash.
        if c == b'\\' {
            c = r.next();
            if c == b'\n' {
                r.unline();
                return Err(r.err("subsection name ends early"));
            }
        }
        var.push(c);
    }
    if r.next() != b']' {
        return Err(r.err("expected ']' after the subsection name"));
    }
    Ok(())
}

/// git's `get_value()`: the rest of the key, then `= value` or nothing. Returns whether
/// there was a value (left in `value`).
fn key_and_value(
    r: &mut Reader,
    var: &mut Vec<u8>,
    value: &mut Vec<u8>,
) -> Result<bool, ParseError> {
    let mut c;
    loop {
        c = r.next();
        if r.eof || !is_keychar(c) {
            break;
        }
        var.push(c.to_ascii_lowercase());
    }
    while c == b' ' || c == b'\t' {
        c = r.next();
    }
    if c == b'\n' {
        return Ok(false);
    }
    if c != b'=' {
        return Err(r.err("invalid character in or after a key"));
    }
    parse_value(r, value)?;
    Ok(true)
}

/// git's `parse_value()` (2.45+): after `=`, through the end of the (last continued) line.
fn parse_value(r: &mut Reader, value: &mut Vec<u8>) -> Result<(), ParseError> {
    value.clear();
    let mut quote = false;
    let mut comment = false;
    // Length before trailing unquoted whitespace, 0 when there is none to trim.
    let mut trim_len = 0;
    loop {
        let c = r.next();
        if c == b'\n' {
            if quote {
                r.unline();
                return Err(r.err("unterminated quoted value"));
            }
            if trim_len != 0 {
                value.truncate(trim_len);
            }
            return Ok(());
        }
        if comment {
            continue;
        }
        if is_space(c) && !quote {
            if trim_len == 0 {
                trim_len = value.len();
            }
            if !value.is_empty() {
                value.push(c);
            }
            continue;
        }
        if !quote && (c == b';' || c == b'#') {
            comment = true;
            continue;
        }
        trim_len = 0;
        if c == b'\\' {
            let e = r.next();
            let unescaped = match e {
                b'\n' => continue,
                b't' => b'\t',
                b'b' => 0x08,
                b'n' => b'\n',
                b'\\' | b'"' => e,
                _ => return Err(r.err("invalid escape sequence in value")),
            };
            value.push(unescaped);
            continue;
        }
        if c == b'"' {
            quote = !quote;
            continue;
        }
        value.push(c);
    }
}

/// The part of a C string git would see.
fn until_nul(s: &[u8]) -> &[u8] {
    match s.iter().position(|&c| c == 0) {
        Some(n) => s.split_at(n).0,
        None => s,
    }
}

fn make_entry(var: &[u8], value: Option<&[u8]>, line: usize, span: Range<usize>) -> Entry {
    let name = until_nul(var);
    let value = value.map(until_nul);
    // Split as git's lookups do: section up to the first dot, key after the last one.
    let (section, subsection, key) = match (
        name.iter().position(|&c| c == b'.'),
        name.iter().rposition(|&c| c == b'.'),
    ) {
        (Some(first), Some(last)) => {
            let (head, tail) = name.split_at(last);
            let (section, middle) = head.split_at(first);
            let key = tail.get(1..).unwrap_or_default();
            let sub = (first != last).then(|| middle.get(1..).unwrap_or_default());
            (section, sub, key)
        }
        _ => (&[][..], None, name),
    };
    let section_s = String::from_utf8_lossy(section);
    let sub_s = subsection.map(String::from_utf8_lossy);
    let key_s = String::from_utf8_lossy(key);
    let value_s = value.map(String::from_utf8_lossy);
    let lossy = matches!(section_s, Cow::Owned(_))
        || matches!(sub_s, Some(Cow::Owned(_)))
        || matches!(key_s, Cow::Owned(_))
        || matches!(value_s, Some(Cow::Owned(_)));
    Entry {
        section: section_s.into_owned(),
        subsection: sub_s.map(Cow::into_owned),
        key: key_s.into_owned(),
        value: value_s.map(Cow::into_owned),
        line,
        span,
        raw: lossy.then(|| {
            Box::new(RawEntry {
                name: name.to_vec(),
                value: value.map(<[u8]>::to_vec),
            })
        }),
    }
}

/// git's `git_config_parse_key()`: the stored form of a name, or `None` if git would
/// reject it as a key.
fn canonical_name(name: &[u8]) -> Option<Vec<u8>> {
    if name.contains(&0) {
        return None;
    }
    let last = name.iter().rposition(|&c| c == b'.')?;
    if last == 0 || last + 1 >= name.len() {
        return None;
    }
    let mut out = Vec::with_capacity(name.len());
    let mut dot = false;
    for (i, &c) in name.iter().enumerate() {
        if c == b'.' {
            dot = true;
        }
        if !dot || i > last {
            if !is_keychar(c) || (i == last + 1 && !c.is_ascii_alphabetic()) {
                return None;
            }
            out.push(c.to_ascii_lowercase());
        } else if c == b'\n' {
            return None;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Why an entry matters for what runs outside the sandbox later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Risk {
    /// git (or a tool git runs) executes the value as a command or program.
    RunsCommand,
    /// Changes where git reads config, hooks or objects, where it writes, or where it
    /// connects.
    Redirects,
    /// Pulls in another config file.
    Includes,
}

/// Whether the subsection must be absent, present, or either.
#[derive(Debug, Clone, Copy)]
enum Sub {
    No,
    Yes,
    Any,
}

/// Which values of a matching key are risky.
#[derive(Debug, Clone, Copy)]
enum When {
    Always,
    /// Anything but a boolean (the booleans select git's built-in behaviour).
    NotBool,
    /// Anything but boolean true.
    NotTrue,
    /// Anything but boolean false.
    NotFalse,
    /// Anything but the empty value (which resets a list).
    NonEmpty,
    /// Starts with `!` (a shell command), leading whitespace ignored.
    Bang,
    /// An absolute or `~` path (a program instead of a host name).
    PathValue,
}

/// One row of [`RULES`].
#[derive(Debug)]
struct Rule {
    section: &'static str,
    sub: Sub,
    /// Lowercase key; `*` matches any key, `*suffix` any key ending so.
    key: &'static str,
    when: When,
    risk: Risk,
    /// Why, briefly (kept with the data so the table documents itself).
    why: &'static str,
}

const fn rule(
    section: &'static str,
    sub: Sub,
    key: &'static str,
    when: When,
    risk: Risk,
    why: &'static str,
) -> Rule {
    Rule {
        section,
        sub,
        key,
        when,
        risk,
        why,
    }
}

use Risk::{Includes, Redirects, RunsCommand};
use Sub::{Any, No, Yes};
use When::{Always, Bang, NonEmpty, NotBool, NotFalse, NotTrue, PathValue};

/// Keys that make git run something or look elsewhere, from git-config(1) (2.47 to 2.55),
/// git-archive(1), git-send-email(1), git-svn(1) and git-lfs-config(5). The first
/// matching row decides.
///
/// Deliberately not listed: `core.attributesFile` and `core.excludesFile` (they can only
/// pick among drivers already defined by keys listed here, or hide paths, which the
/// agent can do with an in-tree `.gitattributes` / `.gitignore` anyway); `ssh.variant`
/// (changes only how git words the arguments of the ssh it already runs); `diff.tool`,
/// `merge.tool` (pick a tool by name; custom tools need the `*.cmd` rows below).
#[rustfmt::skip]
const RULES: &[Rule] = &[
    // core
    rule("core", No, "fsmonitor", NotBool, RunsCommand, "hook program unless a boolean (true = built-in daemon)"),
    rule("core", No, "sshcommand", Always, RunsCommand, "ssh command for every ssh remote"),
    rule("core", No, "gitproxy", Always, RunsCommand, "proxy command for git:// connections"),
    rule("core", No, "alternaterefscommand", Always, RunsCommand, "lists alternate refs"),
    rule("core", No, "askpass", Always, RunsCommand, "asks for passwords"),
    rule("core", No, "editor", Always, RunsCommand, "commit message editor"),
    rule("core", No, "pager", Always, RunsCommand, "pager for all output"),
    rule("core", No, "hookspath", Always, Redirects, "where hooks are read from"),
    rule("core", No, "worktree", Always, Redirects, "where the work tree is"),
    rule("sequence", No, "editor", Always, RunsCommand, "rebase todo editor"),
    rule("pager", Any, "*", NotBool, RunsCommand, "pager.<cmd>: a pager command unless a boolean"),
    // `!` runs a shell; without it, leading options such as `-c core.pager=..` still set any
    // config, and subcommands like `rebase -x` or `difftool -x` run commands.
    rule("alias", Any, "*", Always, RunsCommand, "alias.<name> and alias.<name>.command"),
    rule("credential", Any, "helper", NonEmpty, RunsCommand, "credential helper (empty resets the list)"),
    // diff, merge, filter drivers and tools
    rule("diff", No, "external", Always, RunsCommand, "external diff program"),
    rule("diff", Yes, "command", Always, RunsCommand, "diff driver program"),
    rule("diff", Yes, "textconv", Always, RunsCommand, "diff driver text conversion"),
    rule("merge", Yes, "driver", Always, RunsCommand, "merge driver command"),
    rule("mergetool", Yes, "cmd", Always, RunsCommand, "merge tool command"),
    rule("mergetool", Yes, "path", Always, RunsCommand, "merge tool program"),
    rule("difftool", Yes, "cmd", Always, RunsCommand, "diff tool command"),
    rule("difftool", Yes, "path", Always, RunsCommand, "diff tool program"),
    rule("filter", Yes, "clean", Always, RunsCommand, "filter on add"),
    rule("filter", Yes, "smudge", Always, RunsCommand, "filter on checkout"),
    rule("filter", Yes, "process", Always, RunsCommand, "long-running filter"),
    rule("interactive", No, "difffilter", Always, RunsCommand, "filters `add -p` diffs"),
    // signing
    rule("gpg", Any, "program", Always, RunsCommand, "gpg.program, gpg.<format>.program"),
    rule("gpg", Any, "defaultkeycommand", Always, RunsCommand, "gpg.ssh.defaultKeyCommand"),
    // Decides whose ssh signatures verify as good, so agent-signed commits could pass.
    rule("gpg", Any, "allowedsignersfile", Always, Redirects, "gpg.ssh.allowedSignersFile"),
    // browsers, man, gui, instaweb: selecting a viewer selects a program
    rule("web", No, "browser", Always, RunsCommand, "browser program for git web--browse"),
    rule("help", No, "browser", Always, RunsCommand, "browser for git help -w"),
    rule("browser", Yes, "cmd", Always, RunsCommand, "browser command"),
    rule("browser", Yes, "path", Always, RunsCommand, "browser program"),
    rule("man", No, "viewer", Always, RunsCommand, "man viewer program"),
    rule("man", Yes, "cmd", Always, RunsCommand, "man viewer command"),
    rule("man", Yes, "path", Always, RunsCommand, "man viewer program"),
    rule("guitool", Yes, "cmd", Always, RunsCommand, "git gui tool command"),
    rule("instaweb", No, "browser", Always, RunsCommand, "browser for git instaweb"),
    rule("instaweb", No, "httpd", Always, RunsCommand, "web server command line"),
    rule("instaweb", No, "modulepath", Always, RunsCommand, "web server loads modules from it"),
    // remotes and transport
    rule("remote", Yes, "uploadpack", Always, RunsCommand, "program run for fetch"),
    rule("remote", Yes, "receivepack", Always, RunsCommand, "program run for push"),
    rule("remote", Yes, "vcs", Always, RunsCommand, "runs git-remote-<vcs>"),
    rule("remote", Yes, "url", Always, Redirects, "where fetch connects (`<helper>::` runs a helper)"),
    rule("remote", Yes, "pushurl", Always, Redirects, "where push connects"),
    rule("remote", Yes, "proxy", Always, Redirects, "proxy for the remote"),
    rule("remote", Yes, "lfsurl", Always, Redirects, "git-lfs server for the remote"),
    rule("remote", Yes, "lfspushurl", Always, Redirects, "git-lfs push server for the remote"),
    rule("url", Yes, "insteadof", Always, Redirects, "rewrites fetch URLs"),
    rule("url", Yes, "pushinsteadof", Always, Redirects, "rewrites push URLs"),
    rule("protocol", Any, "allow", Always, Redirects, "can allow ext:: (runs commands) and file://"),
    rule("http", Any, "proxy", Always, Redirects, "HTTP proxy"),
    rule("http", Any, "curloptresolve", Always, Redirects, "overrides DNS for HTTP"),
    rule("http", Any, "sslverify", NotTrue, Redirects, "turns off TLS certificate checks"),
    rule("http", Any, "sslcainfo", Always, Redirects, "trusted CA certificates"),
    rule("http", Any, "sslcapath", Always, Redirects, "trusted CA certificates"),
    rule("bundle", Yes, "uri", Always, Redirects, "bundle download location"),
    rule("fetch", No, "bundleuri", Always, Redirects, "bundle download location"),
    rule("promisor", No, "acceptfromserver", Always, Redirects, "accepts remotes the server names"),
    rule("promisor", No, "acceptfromserverurl", Always, Redirects, "accepts remotes the server names"),
    // submodules
    rule("submodule", Yes, "update", Bang, RunsCommand, "`!command` update strategy"),
    rule("submodule", Yes, "url", Always, Redirects, "where the submodule is cloned from"),
    rule("submodule", Yes, "gitdir", Always, Redirects, "where the submodule's repository is"),
    // hooks and other commands
    rule("hook", Yes, "command", Always, RunsCommand, "config-based hook (git 2.46+)"),
    rule("trailer", Yes, "command", Always, RunsCommand, "trailer value command"),
    rule("trailer", Yes, "cmd", Always, RunsCommand, "trailer value command"),
    rule("sendemail", Any, "*cmd", Always, RunsCommand, "toCmd, ccCmd, headerCmd, sendmailCmd"),
    rule("sendemail", Any, "smtpserver", PathValue, RunsCommand, "a path is a sendmail program"),
    rule("sendemail", Any, "smtpserver", Always, Redirects, "SMTP server (gets the password)"),
    rule("imap", No, "tunnel", Always, RunsCommand, "tunnel command for imap-send"),
    rule("imap", No, "host", Always, Redirects, "IMAP server (gets the password)"),
    rule("uploadpack", No, "packobjectshook", Always, RunsCommand, "wraps pack-objects"),
    rule("gc", No, "recentobjectshook", Always, RunsCommand, "runs during gc and repack"),
    rule("gc", No, "repackfilterto", Always, Redirects, "where filtered objects are written"),
    rule("tar", Yes, "command", Always, RunsCommand, "git archive output filter"),
    rule("svn", No, "authorsprog", Always, RunsCommand, "git svn author mapping program"),
    // git-lfs, which git runs as a filter
    rule("lfs", Any, "path", Always, RunsCommand, "lfs.customtransfer.<name>.path"),
    rule("lfs", Any, "clean", Always, RunsCommand, "lfs.extension.<name>.clean"),
    rule("lfs", Any, "smudge", Always, RunsCommand, "lfs.extension.<name>.smudge"),
    rule("lfs", Any, "url", Always, Redirects, "git-lfs server"),
    rule("lfs", Any, "pushurl", Always, Redirects, "git-lfs push server"),
    // where git reads config, hooks and repositories, or writes
    rule("extensions", No, "worktreeconfig", NotFalse, Redirects, "makes git read config.worktree"),
    rule("init", No, "templatedir", Always, Redirects, "hooks copied by init and clone"),
    rule("safe", No, "directory", Always, Redirects, "trusts the config of others' repositories"),
    rule("safe", No, "barerepository", Always, Redirects, "trusts embedded bare repositories"),
    rule("maintenance", No, "repo", Always, Redirects, "repositories scheduled maintenance runs git in"),
    rule("trace2", No, "normaltarget", Always, Redirects, "file or socket git writes traces to"),
    rule("trace2", No, "perftarget", Always, Redirects, "file or socket git writes traces to"),
    rule("trace2", No, "eventtarget", Always, Redirects, "file or socket git writes traces to"),
    rule("include", Any, "path", Always, Includes, "includes a config file"),
    rule("includeif", Any, "path", Always, Includes, "includes a config file"),
];

/// Boolean as git reads it, for the spellings we are sure of: a value git reads as a
/// boolean may be reported as not one (safe side), never the other way round.
fn git_bool(value: Option<&[u8]>) -> Option<bool> {
    let Some(v) = value else { return Some(true) };
    if v.is_empty() {
        return Some(false);
    }
    if ["true", "yes", "on"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t.as_bytes()))
    {
        return Some(true);
    }
    if ["false", "no", "off"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t.as_bytes()))
    {
        return Some(false);
    }
    // Short enough to fit git's int; a longer number is not a boolean to git but a path.
    if (1..=9).contains(&v.len()) && v.iter().all(u8::is_ascii_digit) {
        return Some(v.iter().any(|&d| d != b'0'));
    }
    None
}

fn value_matches(when: When, value: Option<&[u8]>) -> bool {
    match when {
        Always => true,
        NotBool => git_bool(value).is_none(),
        NotTrue => git_bool(value) != Some(true),
        NotFalse => git_bool(value) != Some(false),
        NonEmpty => value != Some(b""),
        // A bare key is no command or path, but it is odd enough to report.
        Bang => match value {
            Some(v) => v.trim_ascii_start().starts_with(b"!"),
            None => true,
        },
        PathValue => match value {
            Some(v) => v.starts_with(b"/") || v.starts_with(b"~"),
            None => true,
        },
    }
}

fn rule_matches(rule: &Rule, e: &Entry) -> bool {
    let sub_ok = match rule.sub {
        No => e.subsection.is_none(),
        Yes => e.subsection.is_some(),
        Any => true,
    };
    let key_ok = match rule.key.strip_prefix('*') {
        Some(suffix) => e
            .key
            .len()
            .checked_sub(suffix.len())
            .and_then(|start| e.key.as_bytes().get(start..))
            .is_some_and(|end| end.eq_ignore_ascii_case(suffix.as_bytes())),
        None => e.key.eq_ignore_ascii_case(rule.key),
    };
    e.section.eq_ignore_ascii_case(rule.section)
        && sub_ok
        && key_ok
        && value_matches(rule.when, e.value_bytes())
}

/// Index in [`RULES`] of the row that decides for `e`.
fn matching_rule(e: &Entry) -> Option<usize> {
    RULES.iter().position(|r| rule_matches(r, e))
}

/// Whether an entry makes git run something, look elsewhere, or include a file.
pub fn classify(e: &Entry) -> Option<Risk> {
    matching_rule(e).and_then(|i| RULES.get(i)).map(|r| r.risk)
}

/// How a name's entries differ between two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Only in the second file.
    Added,
    /// Only in the first file.
    Removed,
    /// In both, with different values (or order, or count).
    Changed,
}

/// A name whose entries differ. Holds no values (they can be secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The name as `git config -l` prints it.
    pub name: String,
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The risk of the name's first risky entry after the change, else before it.
    pub risk: Option<Risk>,
}

/// Names whose values differ, sorted by name. Values are compared per name as sequences,
/// since order matters to git (the last one wins; lists run in order).
pub fn diff(before: &ConfigFile, after: &ConfigFile) -> Vec<Change> {
    type Sides<'a> = (Vec<&'a Entry>, Vec<&'a Entry>);
    let mut names: BTreeMap<Vec<u8>, Sides> = BTreeMap::new();
    for e in &before.entries {
        names.entry(e.name_bytes()).or_default().0.push(e);
    }
    for e in &after.entries {
        names.entry(e.name_bytes()).or_default().1.push(e);
    }
    let mut changes = Vec::new();
    for (name, (old, new)) in names {
        let same = old.len() == new.len()
            && old
                .iter()
                .zip(&new)
                .all(|(a, b)| a.value_bytes() == b.value_bytes());
        if same {
            continue;
        }
        let kind = if old.is_empty() {
            ChangeKind::Added
        } else if new.is_empty() {
            ChangeKind::Removed
        } else {
            ChangeKind::Changed
        };
        let risk = new.iter().chain(&old).find_map(|e| classify(e));
        changes.push(Change {
            name: String::from_utf8_lossy(&name).into_owned(),
            kind,
            risk,
        });
    }
    changes
}

/// `src` without the entries `drop` selects, every other byte unchanged. `cfg` must be
/// `parse(src)`; spans reaching past `src` are cut at its end (removing more, never less).
pub fn sanitize(src: &[u8], cfg: &ConfigFile, drop: impl Fn(&Entry) -> bool) -> Vec<u8> {
    let mut spans: Vec<Range<usize>> = cfg
        .entries
        .iter()
        .filter(|e| drop(e))
        .map(|e| e.span.clone())
        .collect();
    // Already in order when `cfg` is `parse(src)`; sorting keeps "never less" true otherwise.
    spans.sort_by_key(|s| s.start);
    let mut out = Vec::with_capacity(src.len());
    let mut pos = 0;
    for span in spans {
        let end = span.end.min(src.len()).max(pos);
        let start = span.start.clamp(pos, end);
        out.extend_from_slice(src.get(pos..start).unwrap_or_default());
        pos = end;
    }
    out.extend_from_slice(src.get(pos..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    type Pairs = Vec<(String, Option<String>)>;

    fn pairs(src: &[u8]) -> Pairs {
        let cfg = parse(src).unwrap_or_else(|e| panic!("{e}"));
        cfg.entries
            .iter()
            .map(|e| (e.name(), e.value.clone()))
            .collect()
    }

    fn want(list: &[(&str, Option<&str>)]) -> Pairs {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
            .collect()
    }

    fn err_line(src: &[u8]) -> usize {
        match parse(src) {
            Ok(cfg) => panic!("parsed: {cfg:?}"),
            Err(e) => e.line,
        }
    }

    #[test]
    fn sections_subsections_and_legacy_form() {
        let src =
            b"[core]\n\tbare = false\n[remote \"Origin\"]\n\turl = x\n[Branch.Main]\n remote = o\n";
        assert_eq!(
            pairs(src),
            want(&[
                ("core.bare", Some("false")),
                ("remote.Origin.url", Some("x")),
                ("branch.main.remote", Some("o")),
            ])
        );
        let cfg = parse(src).unwrap();
        let e = &cfg.entries[1];
        assert_eq!(
            (e.section.as_str(), e.subsection.as_deref(), e.key.as_str()),
            ("remote", Some("Origin"), "url")
        );
        assert_eq!(cfg.entries[0].subsection, None);
        assert_eq!(cfg.entries[2].subsection.as_deref(), Some("main"));
        assert_eq!(
            pairs(b"[CoRe]\nFsMonitor = X\n"),
            want(&[("core.fsmonitor", Some("X"))])
        );
        // A dot in a subsection stays in it; a legacy name before a quoted one joins it.
        assert_eq!(pairs(b"[s \"a.B\"]\nk"), want(&[("s.a.B.k", None)]));
        assert_eq!(pairs(b"[S.X \"Y\"]\nk"), want(&[("s.x.Y.k", None)]));
        let cfg = parse(b"[S.X \"Y\"]\nk").unwrap();
        assert_eq!(cfg.entries[0].subsection.as_deref(), Some("x.Y"));
        assert_eq!(pairs(b"[a-b.c-1]\nk"), want(&[("a-b.c-1.k", None)]));
    }

    #[test]
    fn odd_but_valid_section_names() {
        assert_eq!(
            pairs(b"[core \"\"]\nfsmonitor = x\n"),
            want(&[("core..fsmonitor", Some("x"))])
        );
        assert_eq!(pairs(b"[ \"x\"]\nk = v\n"), want(&[(".x.k", Some("v"))]));
        assert_eq!(pairs(b"[.]\nk\n"), want(&[("..k", None)]));
        assert_eq!(pairs(b"[a.]\nk\n"), want(&[("a..k", None)]));
        assert_eq!(pairs(b"[s \t \"x\"]\nk\n"), want(&[("s.x.k", None)]));
        assert_eq!(pairs(b"[s \"a]b\"]\nk\n"), want(&[("s.a]b.k", None)]));
        // A key before any header has no section at all.
        assert_eq!(
            pairs(b"k = v\n[s]\nj\n"),
            want(&[("k", Some("v")), ("s.j", None)])
        );
        let cfg = parse(b"k = v\n").unwrap();
        assert_eq!(
            (cfg.entries[0].section.as_str(), cfg.entries[0].key.as_str()),
            ("", "k")
        );
    }

    #[test]
    fn subsection_escapes() {
        // \" and \\ escape; any other backslash is dropped, keeping the next byte.
        assert_eq!(
            pairs(b"[s \"a\\\"b\\\\c\\d\\tx\"]\nk\n"),
            want(&[("s.a\"b\\cdtx.k", None)])
        );
        assert_eq!(err_line(b"[s \"a\nb\"]\n"), 1);
        assert_eq!(err_line(b"[s \"a\\\nb\"]\n"), 1);
        assert_eq!(err_line(b"[s \"x\" ]\n"), 1);
        assert_eq!(err_line(b"[s \"x\"\n"), 2);
        assert_eq!(err_line(b"[s x]\n"), 1);
        assert_eq!(err_line(b"[s \"x"), 1);
        assert_eq!(err_line(b"[s \n\"x\"]"), 1);
    }

    #[test]
    fn bad_section_names() {
        assert_eq!(err_line(b"[]\n"), 1);
        assert_eq!(err_line(b"[a_b]\n"), 1);
        assert_eq!(err_line(b"[a/b]\n"), 1);
        assert_eq!(err_line(b"[s"), 2);
        assert_eq!(err_line(b"[s\n]\n"), 1);
        assert_eq!(err_line(b"\n\n[s \"x\""), 4);
    }

    #[test]
    fn assignment_forms() {
        let src = b"[s]\na = v\nb=v\nc\t=\tv\nd\ne =\nf = \"\"\ng   \n  h=v";
        assert_eq!(
            pairs(src),
            want(&[
                ("s.a", Some("v")),
                ("s.b", Some("v")),
                ("s.c", Some("v")),
                ("s.d", None),
                ("s.e", Some("")),
                ("s.f", Some("")),
                ("s.g", None),
                ("s.h", Some("v")),
            ])
        );
        assert_eq!(pairs(b"[s]k-1 = v"), want(&[("s.k-1", Some("v"))]));
    }

    #[test]
    fn bad_keys() {
        assert_eq!(err_line(b"[s]\n1k = v\n"), 2);
        assert_eq!(err_line(b"[s]\nk_x = v\n"), 2);
        assert_eq!(err_line(b"[s]\nk x\n"), 2);
        assert_eq!(err_line(b"[s]\nk.x = v\n"), 2);
        assert_eq!(err_line(b"[s]\nk\x0b= v\n"), 2);
        assert_eq!(err_line(b"[s]\n-k\n"), 2);
        assert_eq!(err_line(b"[s]\n\"k\" = v\n"), 2);
        assert_eq!(err_line(b"[s]\nk \r = v\n"), 2);
        assert_eq!(err_line(b"[s]\n=v\n"), 2);
    }

    #[test]
    fn whitespace_in_values() {
        let src =
            b"[s]\na =   x  \t\nb = x \t y\nc = \" x \"  \nd = \"\" x\ne = x\" \"\nf = x \\\n";
        assert_eq!(
            pairs(src),
            want(&[
                ("s.a", Some("x")),
                ("s.b", Some("x \t y")),
                ("s.c", Some(" x ")),
                ("s.d", Some("x")),
                ("s.e", Some("x ")),
                // git keeps whitespace before a line continuation that ends the value.
                ("s.f", Some("x ")),
            ])
        );
    }

    #[test]
    fn comments() {
        let src = b"# c\n; c\n[s] # c\na = v # c\nb = v;c\nc = \"a#b;c\" # d\nd = a\"#\"b\ne = a # \"unterminated\nf = x #\\q\n";
        assert_eq!(
            pairs(src),
            want(&[
                ("s.a", Some("v")),
                ("s.b", Some("v")),
                ("s.c", Some("a#b;c")),
                ("s.d", Some("a#b")),
                ("s.e", Some("a")),
                ("s.f", Some("x")),
            ])
        );
        assert_eq!(pairs(b"#only\n  ; comments\n\n"), want(&[]));
        assert_eq!(pairs(b""), want(&[]));
        assert_eq!(pairs(b" \t\r\n\n"), want(&[]));
    }

    #[test]
    fn escapes_and_quotes() {
        assert_eq!(
            pairs(b"[s]\nk = a\\tb\\nc\\bd\\\\e\\\"f\n"),
            want(&[("s.k", Some("a\tb\nc\x08d\\e\"f"))])
        );
        assert_eq!(
            pairs(b"[s]\nk = \"a\\\"b\"c\"d\"\n"),
            want(&[("s.k", Some("a\"bcd"))])
        );
        assert_eq!(err_line(b"[s]\nk = \\q\n"), 2);
        assert_eq!(err_line(b"[s]\n\n\nk = \\q\n"), 4);
        assert_eq!(err_line(b"[s]\nk = \"abc\n"), 2);
        assert_eq!(err_line(b"[s]\nk = \"abc"), 2);
        assert_eq!(err_line(b"[s]\nk = \\\r"), 2);
    }

    #[test]
    fn continuation_lines() {
        let src = b"[s]\na = x\\\n  y\nb = \"x\\\n  y\"\nc = 1\nd = z\\";
        assert_eq!(
            pairs(src),
            want(&[
                ("s.a", Some("x  y")),
                ("s.b", Some("x  y")),
                ("s.c", Some("1")),
                ("s.d", Some("z")),
            ])
        );
        let cfg = parse(src).unwrap();
        let lines: Vec<usize> = cfg.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 6, 7]);
    }

    #[test]
    fn crlf_and_lone_cr() {
        let src = b"[s]\r\nk = v\r\nj = \"a\\\r\nb\"\r\nl = x\ry\r\n\r\n[t]\rm\r\n";
        assert_eq!(
            pairs(src),
            want(&[
                ("s.k", Some("v")),
                ("s.j", Some("ab")),
                ("s.l", Some("x\ry")),
                ("t.m", None),
            ])
        );
        // A CR not before LF is a space in a value but not after a key.
        assert_eq!(err_line(b"[s]\nm\r"), 2);
        assert_eq!(err_line(b"[s]\nm\rx = 1\n"), 2);
    }

    #[test]
    fn byte_order_mark() {
        assert_eq!(
            pairs(b"\xef\xbb\xbf[s]\nk = v\n"),
            want(&[("s.k", Some("v"))])
        );
        assert_eq!(pairs(b"\xef\xbb\xbfk"), want(&[("k", None)]));
        assert_eq!(err_line(b"\xef\xbb[s]\n"), 1);
        assert_eq!(err_line(b"\xef"), 2);
        assert_eq!(err_line(b"[s]\n\xef\xbb\xbfk\n"), 2);
    }

    #[test]
    fn header_and_entry_on_one_line() {
        assert_eq!(
            pairs(b"[core] fsmonitor = x\n"),
            want(&[("core.fsmonitor", Some("x"))])
        );
        assert_eq!(
            pairs(b"[core]fsmonitor=x"),
            want(&[("core.fsmonitor", Some("x"))])
        );
        assert_eq!(pairs(b"[a][b]k=v"), want(&[("b.k", Some("v"))]));
        assert_eq!(pairs(b"[a] [b \"c\"] k"), want(&[("b.c.k", None)]));
    }

    #[test]
    fn nul_bytes_end_names_and_values_as_in_git() {
        // git passes names to its callbacks as C strings.
        let cfg = parse(b"[core \"fsmonitor\0junk\"] whatever = touch x\n").unwrap();
        let e = &cfg.entries[0];
        assert_eq!(e.name(), "core.fsmonitor");
        assert_eq!(
            (e.section.as_str(), e.subsection.as_deref(), e.key.as_str()),
            ("core", None, "fsmonitor")
        );
        assert_eq!(classify(e), Some(RunsCommand));
        assert_eq!(pairs(b"[s \"a\0\"]\nk\n"), want(&[("s.a", None)]));
        assert_eq!(pairs(b"[s \"\0\"]\nk\n"), want(&[("s.", None)]));
        assert_eq!(pairs(b"[ \"\0\"]\nk\n"), want(&[(".", None)]));
        assert_eq!(pairs(b"[s]\nk = \"a\0b\" c\n"), want(&[("s.k", Some("a"))]));
        assert_eq!(
            pairs(b"[s]\nk = v # \0\n#\0\n"),
            want(&[("s.k", Some("v"))])
        );
        assert_eq!(err_line(b"[s]\nk = \"a\0\n"), 2);
        assert_eq!(err_line(b"\0[s]\n"), 1);
        assert_eq!(err_line(b"[s\0]\n"), 1);
        assert_eq!(err_line(b"[s]\nk\0 = v\n"), 2);
    }

    #[test]
    fn invalid_utf8_is_kept_exactly() {
        let cfg = parse(b"[s \"\xff\"]\nk = a\xfeb\nj = ok\n").unwrap();
        let e = &cfg.entries[0];
        assert_eq!(e.value.as_deref(), Some("a\u{fffd}b"));
        assert_eq!(e.value_bytes(), Some(&b"a\xfeb"[..]));
        assert_eq!(e.name_bytes(), b"s.\xff.k");
        assert_eq!(e.name(), "s.\u{fffd}.k");
        assert_eq!(cfg.entries[1].name_bytes(), b"s.\xff.j");
        // Distinct invalid bytes stay distinct for diff.
        let other = parse(b"[s \"\xfe\"]\nk = a\xfeb\nj = ok\n").unwrap();
        assert_eq!(diff(&cfg, &other).len(), 4);
    }

    #[test]
    fn long_lines() {
        let mut src = b"[s]\nk = ".to_vec();
        src.extend(std::iter::repeat_n(b'a', 1 << 20));
        src.extend_from_slice(b"\nj = 1\n");
        let cfg = parse(&src).unwrap();
        assert_eq!(
            cfg.entries[0].value.as_ref().map(String::len),
            Some(1 << 20)
        );
        assert_eq!(cfg.last("s.j"), Some("1"));
    }

    #[test]
    fn errors_never_show_the_file() {
        let src = b"[s]\nk = \"sekrit-token-123\n";
        let err = parse(src).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.starts_with("line 2: "), "{shown}");
        assert!(!shown.contains("sekrit"), "{shown}");
        let cfg = parse(b"[http]\nextraHeader = sekrit\n").unwrap();
        assert!(!format!("{cfg:?}").contains("sekrit"));
    }

    #[test]
    fn spans_cover_whole_entries() {
        let src: &[u8] = b"[s]\n  a = 1\n b = \"x\\\ny\" # c\n\n[t] c = 2\r\nd";
        let cfg = parse(src).unwrap();
        let text: Vec<&[u8]> = cfg.entries.iter().map(|e| &src[e.span.clone()]).collect();
        assert_eq!(
            text,
            [
                &b"  a = 1\n"[..],
                &b" b = \"x\\\ny\" # c\n"[..],
                &b" c = 2\r\n"[..],
                &b"d"[..],
            ]
        );
        let lines: Vec<usize> = cfg.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 6, 7]);
        let bom = parse(b"\xef\xbb\xbfk = v\n").unwrap();
        assert_eq!(bom.entries[0].span, 3..9);
    }

    #[test]
    fn sanitize_removes_exactly_the_dropped_entries() {
        let src: &[u8] = b"# keep me\n[core]\n\tbare = false\n\tfsmonitor = \"touch \\\n /tmp/x\" ; hi\n\teditor = vi\n[alias] st = !evil\n[user]\n\tname = me";
        let cfg = parse(src).unwrap();
        let out = sanitize(src, &cfg, |e| classify(e) == Some(RunsCommand));
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "# keep me\n[core]\n\tbare = false\n[alias][user]\n\tname = me"
        );
        assert_eq!(
            pairs(&out),
            want(&[("core.bare", Some("false")), ("user.name", Some("me"))])
        );
        assert_eq!(sanitize(src, &cfg, |_| false), src);
        let all = sanitize(src, &cfg, |_| true);
        assert_eq!(all, b"# keep me\n[core]\n[alias][user]\n");
        // The last entry without a newline, and CRLF lines.
        let src: &[u8] = b"[s]\r\na = 1\r\nb = 2";
        let cfg = parse(src).unwrap();
        assert_eq!(sanitize(src, &cfg, |e| e.key == "b"), b"[s]\r\na = 1\r\n");
        assert_eq!(sanitize(src, &cfg, |e| e.key == "a"), b"[s]\r\nb = 2");
        // Spans from another file cannot make it panic or keep more.
        let other = parse(b"[s]\nkey = a very long value that goes past the end\n").unwrap();
        assert_eq!(sanitize(b"[s]\n", &other, |_| true), b"[s]\n");
    }

    #[test]
    fn get_all_and_last_follow_git_case_rules() {
        let src = b"[Core]\nEditor = a\n[core]\neditor = b\n[remote \"Origin\"]\nurl = u1\n[remote \"origin\"]\nurl = u2\n[remote.ORIGIN]\nurl = u3\n[s]\nflag\nflag = x\nflag\n";
        let cfg = parse(src).unwrap();
        assert_eq!(cfg.get_all("CORE.EDITOR"), ["a", "b"]);
        assert_eq!(cfg.last("core.Editor"), Some("b"));
        assert_eq!(cfg.get_all("remote.Origin.URL"), ["u1"]);
        assert_eq!(cfg.get_all("REMOTE.origin.url"), ["u2", "u3"]);
        assert!(cfg.get_all("remote.ORIGIN.url").is_empty());
        assert_eq!(cfg.get_all("s.flag"), ["x"]);
        assert_eq!(cfg.last("s.flag"), None);
        assert_eq!(cfg.entries_named("s.flag").count(), 3);
        assert_eq!(cfg.last("s.nothing"), None);
        for bad in [
            "core",
            ".editor",
            "core.",
            "core.1editor",
            "co_re.editor",
            "",
            "core.edi\0tor",
        ] {
            assert!(cfg.get_all(bad).is_empty(), "{bad}");
        }
        let top = parse(b"k = v\n[s \"\"]\nk = w\n").unwrap();
        assert!(top.get_all("k").is_empty());
        assert_eq!(top.get_all("s..k"), ["w"]);
    }

    #[test]
    fn canonical_names_match_git_config_parse_key() {
        let c = |s: &str| canonical_name(s.as_bytes()).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(c("Core.HooksPath").as_deref(), Some("core.hookspath"));
        assert_eq!(
            c("Remote.My Origin.URL").as_deref(),
            Some("remote.My Origin.url")
        );
        assert_eq!(c("a.B.c.D").as_deref(), Some("a.B.c.d"));
        assert_eq!(c(".x.k").as_deref(), Some(".x.k"));
        assert_eq!(c("s..k").as_deref(), Some("s..k"));
        assert_eq!(c("s.a\nb.k"), None);
        assert_eq!(c(".k"), None);
        assert_eq!(c("k"), None);
    }

    #[test]
    fn diff_compares_values_per_name() {
        let before =
            parse(b"[core]\neditor = vi\n[alias]\nst = status\n[s]\nk = 1\nk = 2\nb\n").unwrap();
        let after = parse(
            b"[CORE]\nEDITOR = vi\nfsmonitor = touch x\n[s]\nk = 2\nk = 1\nb =\n[user]\nname = x\n",
        )
        .unwrap();
        let changes = diff(&before, &after);
        let got: Vec<(&str, ChangeKind, Option<Risk>)> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.kind, c.risk))
            .collect();
        assert_eq!(
            got,
            [
                ("alias.st", ChangeKind::Removed, Some(RunsCommand)),
                ("core.fsmonitor", ChangeKind::Added, Some(RunsCommand)),
                ("s.b", ChangeKind::Changed, None),
                ("s.k", ChangeKind::Changed, None),
                ("user.name", ChangeKind::Added, None),
            ]
        );
        assert!(!format!("{changes:?}").contains("touch"));
        assert!(diff(&before, &before).is_empty());
        // Reformatting without changing values is no change.
        let same =
            parse(b"[core] editor=\"vi\"\n[alias]\n  st = status # x\n[s]k=1\nk=2\nb").unwrap();
        assert!(diff(&before, &same).is_empty());
        // A value changed to a harmless one still carries the name's risk.
        let a = parse(b"[core]\nfsmonitor = hook.sh\n").unwrap();
        let b = parse(b"[core]\nfsmonitor = true\n").unwrap();
        assert_eq!(diff(&a, &b)[0].risk, Some(RunsCommand));
        assert_eq!(diff(&b, &a)[0].kind, ChangeKind::Changed);
        let c = parse(b"[core]\nfsmonitor = true\nfsmonitor = hook.sh\n").unwrap();
        assert_eq!(diff(&b, &c)[0].kind, ChangeKind::Changed);
    }

    /// One config per row of RULES (in any order); the test checks every row is hit.
    const ROW_CASES: &[(&str, Risk)] = &[
        ("[core]\nfsmonitor = .git/fsmon.sh", RunsCommand),
        ("[core]\nsshCommand = ssh -i k", RunsCommand),
        ("[core]\ngitProxy = proxy for example.com", RunsCommand),
        ("[core]\nalternateRefsCommand = x", RunsCommand),
        ("[core]\naskPass = x", RunsCommand),
        ("[core]\neditor = vim", RunsCommand),
        ("[core]\npager = less", RunsCommand),
        ("[core]\nhooksPath = /tmp/h", Redirects),
        ("[core]\nworktree = /tmp/w", Redirects),
        ("[sequence]\neditor = x", RunsCommand),
        ("[pager]\nlog = less -R", RunsCommand),
        ("[alias]\nst = !evil", RunsCommand),
        ("[credential \"https://x\"]\nhelper = store", RunsCommand),
        ("[diff]\nexternal = x", RunsCommand),
        ("[diff \"d\"]\ncommand = x", RunsCommand),
        ("[diff \"d\"]\ntextconv = x", RunsCommand),
        ("[merge \"d\"]\ndriver = x", RunsCommand),
        ("[mergetool \"t\"]\ncmd = x", RunsCommand),
        ("[mergetool \"t\"]\npath = x", RunsCommand),
        ("[difftool \"t\"]\ncmd = x", RunsCommand),
        ("[difftool \"t\"]\npath = x", RunsCommand),
        ("[filter \"f\"]\nclean = x", RunsCommand),
        ("[filter \"f\"]\nsmudge = x", RunsCommand),
        ("[filter \"f\"]\nprocess = x", RunsCommand),
        ("[interactive]\ndiffFilter = x", RunsCommand),
        ("[gpg \"ssh\"]\nprogram = x", RunsCommand),
        ("[gpg \"ssh\"]\ndefaultKeyCommand = x", RunsCommand),
        ("[gpg \"ssh\"]\nallowedSignersFile = x", Redirects),
        ("[web]\nbrowser = x", RunsCommand),
        ("[help]\nbrowser = x", RunsCommand),
        ("[browser \"b\"]\ncmd = x", RunsCommand),
        ("[browser \"b\"]\npath = x", RunsCommand),
        ("[man]\nviewer = x", RunsCommand),
        ("[man \"m\"]\ncmd = x", RunsCommand),
        ("[man \"m\"]\npath = x", RunsCommand),
        ("[guitool \"g\"]\ncmd = x", RunsCommand),
        ("[instaweb]\nbrowser = x", RunsCommand),
        ("[instaweb]\nhttpd = x", RunsCommand),
        ("[instaweb]\nmodulePath = x", RunsCommand),
        ("[remote \"o\"]\nuploadpack = x", RunsCommand),
        ("[remote \"o\"]\nreceivepack = x", RunsCommand),
        ("[remote \"o\"]\nvcs = x", RunsCommand),
        ("[remote \"o\"]\nurl = x", Redirects),
        ("[remote \"o\"]\npushurl = x", Redirects),
        ("[remote \"o\"]\nproxy = x", Redirects),
        ("[remote \"o\"]\nlfsurl = x", Redirects),
        ("[remote \"o\"]\nlfspushurl = x", Redirects),
        (
            "[url \"https://evil/\"]\ninsteadOf = https://github.com/",
            Redirects,
        ),
        ("[url \"https://evil/\"]\npushInsteadOf = x", Redirects),
        ("[protocol \"ext\"]\nallow = always", Redirects),
        ("[http \"https://x\"]\nproxy = x", Redirects),
        ("[http]\ncurloptResolve = x", Redirects),
        ("[http]\nsslVerify = false", Redirects),
        ("[http]\nsslCAInfo = x", Redirects),
        ("[http]\nsslCAPath = x", Redirects),
        ("[bundle \"b\"]\nuri = x", Redirects),
        ("[fetch]\nbundleURI = x", Redirects),
        ("[promisor]\nacceptFromServer = all", Redirects),
        ("[promisor]\nacceptFromServerUrl = x", Redirects),
        ("[submodule \"s\"]\nupdate = !x", RunsCommand),
        ("[submodule \"s\"]\nurl = x", Redirects),
        ("[submodule \"s\"]\ngitdir = x", Redirects),
        ("[hook \"h\"]\ncommand = x", RunsCommand),
        ("[trailer \"t\"]\ncommand = x", RunsCommand),
        ("[trailer \"t\"]\ncmd = x", RunsCommand),
        ("[sendemail]\ntoCmd = x", RunsCommand),
        ("[sendemail]\nsmtpServer = /usr/bin/msmtp", RunsCommand),
        ("[sendemail]\nsmtpServer = smtp.example.com", Redirects),
        ("[imap]\ntunnel = x", RunsCommand),
        ("[imap]\nhost = x", Redirects),
        ("[uploadpack]\npackObjectsHook = x", RunsCommand),
        ("[gc]\nrecentObjectsHook = x", RunsCommand),
        ("[gc]\nrepackFilterTo = x", Redirects),
        ("[tar \"tgz\"]\ncommand = x", RunsCommand),
        ("[svn]\nauthorsProg = x", RunsCommand),
        ("[lfs \"customtransfer.t\"]\npath = x", RunsCommand),
        ("[lfs \"extension.e\"]\nclean = x", RunsCommand),
        ("[lfs \"extension.e\"]\nsmudge = x", RunsCommand),
        ("[lfs]\nurl = x", Redirects),
        ("[lfs]\npushurl = x", Redirects),
        ("[extensions]\nworktreeConfig = true", Redirects),
        ("[init]\ntemplateDir = x", Redirects),
        ("[safe]\ndirectory = *", Redirects),
        ("[safe]\nbareRepository = all", Redirects),
        ("[maintenance]\nrepo = /tmp/r", Redirects),
        ("[trace2]\nnormalTarget = x", Redirects),
        ("[trace2]\nperfTarget = x", Redirects),
        ("[trace2]\neventTarget = af_unix:/tmp/s", Redirects),
        ("[include]\npath = x", Includes),
        ("[includeIf \"gitdir:~/w/\"]\npath = x", Includes),
    ];

    #[test]
    fn every_rule_row_has_a_case() {
        let mut hit = vec![false; RULES.len()];
        for (src, risk) in ROW_CASES {
            let cfg = parse(src.as_bytes()).unwrap();
            assert_eq!(cfg.entries.len(), 1, "{src}");
            let e = &cfg.entries[0];
            assert_eq!(classify(e), Some(*risk), "{src}");
            hit[matching_rule(e).unwrap()] = true;
        }
        let missing: Vec<&Rule> = RULES
            .iter()
            .zip(&hit)
            .filter(|(_, h)| !**h)
            .map(|(r, _)| r)
            .collect();
        assert!(missing.is_empty(), "rows without a case: {missing:?}");
        for r in RULES {
            assert_eq!(r.section, r.section.to_ascii_lowercase(), "{r:?}");
            assert_eq!(r.key, r.key.to_ascii_lowercase(), "{r:?}");
            assert!(!r.why.is_empty());
        }
    }

    #[test]
    fn classify_value_rules_and_harmless_keys() {
        let c = |src: &str| classify(&parse(src.as_bytes()).unwrap().entries[0]);
        for v in [
            "true",
            "TRUE",
            "yes",
            "on",
            "1",
            "false",
            "no",
            "Off",
            "0",
            "\"\"",
            "000000007",
        ] {
            assert_eq!(c(&format!("[core]\nfsmonitor = {v}")), None, "{v}");
            assert_eq!(c(&format!("[pager]\nlog = {v}")), None, "{v}");
        }
        assert_eq!(c("[core]\nfsmonitor"), None);
        // Not booleans to git, so hook paths: too long for an int, or with a space.
        assert_eq!(c("[core]\nfsmonitor = 99999999999"), Some(RunsCommand));
        assert_eq!(c("[core]\nfsmonitor = \" true\""), Some(RunsCommand));
        assert_eq!(c("[core]\nfsmonitor = 0x1"), Some(RunsCommand));
        assert_eq!(c("[pager \"x\"]\nlog = evil"), Some(RunsCommand));
        assert_eq!(c("[alias]\nst = status"), Some(RunsCommand));
        assert_eq!(
            c("[alias \"st\"]\ncommand = -c core.pager=evil status"),
            Some(RunsCommand)
        );
        assert_eq!(c("[credential]\nhelper ="), None);
        assert_eq!(c("[credential]\nhelper = cache"), Some(RunsCommand));
        assert_eq!(c("[submodule \"s\"]\nupdate = checkout"), None);
        assert_eq!(c("[submodule \"s\"]\nupdate = \"  !x\""), Some(RunsCommand));
        assert_eq!(
            c("[sendemail \"work\"]\nsmtpServer = ~/bin/send"),
            Some(RunsCommand)
        );
        assert_eq!(
            c("[sendemail \"work\"]\nsendmailCmd = x"),
            Some(RunsCommand)
        );
        assert_eq!(c("[http]\nsslVerify = true"), None);
        assert_eq!(c("[http]\nsslVerify"), None);
        assert_eq!(c("[http \"https://x\"]\nsslVerify = 0"), Some(Redirects));
        assert_eq!(c("[extensions]\nworktreeConfig = false"), None);
        assert_eq!(c("[includeif \"onbranch:main\"]\npath = x"), Some(Includes));
        // Case of the section and key does not matter; an unknown subsection does.
        assert_eq!(c("[CORE]\nHOOKSPATH = x"), Some(Redirects));
        assert_eq!(c("[core \"x\"]\neditor = vim"), None);
        assert_eq!(c("[core \"\"]\nfsmonitor = x"), None);
        assert_eq!(c("[core.x]\nfsmonitor = x"), None);
        for harmless in [
            "[core]\nattributesFile = x",
            "[core]\nexcludesFile = x",
            "[core]\nbare = false",
            "[ssh]\nvariant = ssh",
            "[diff]\ntool = vimdiff",
            "[merge]\ntool = vimdiff",
            "[user]\nname = x",
            "[status]\nshowUntrackedFiles = no",
            "[log]\ndate = iso",
            "[remote \"o\"]\nfetch = +refs/heads/*:refs/remotes/o/*",
            "[branch \"main\"]\nremote = o",
            "[http]\nextraHeader = x",
            "[include \"x\"]\nfoo = y",
        ] {
            assert_eq!(c(harmless), None, "{harmless}");
        }
    }

    // ---- differential tests against the real git ----

    type Listing = Vec<(Vec<u8>, Option<Vec<u8>>)>;

    /// git with none of our environment (no GIT_* variables) but PATH, to find it.
    fn git_command(bin: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd
    }

    /// git, run on a scratch file with nothing else configured.
    struct Git {
        bin: PathBuf,
        dir: tempfile::TempDir,
    }

    impl Git {
        /// A git new enough to keep inner whitespace verbatim (2.45+), or `None` (tests skip).
        fn find() -> Option<Git> {
            let dir = tempfile::tempdir().ok()?;
            std::fs::create_dir(dir.path().join("home")).ok()?;
            for bin in ["/usr/local/bin/git", "git"] {
                let Ok(out) = git_command(bin).arg("--version").output() else {
                    continue;
                };
                let text = String::from_utf8_lossy(&out.stdout);
                let mut nums = text
                    .trim()
                    .trim_start_matches("git version ")
                    .split('.')
                    .map(|n| n.parse::<u32>().unwrap_or(0));
                let version = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
                if out.status.success() && version >= (2, 45) {
                    return Some(Git {
                        bin: PathBuf::from(bin),
                        dir,
                    });
                }
            }
            None
        }

        /// `git config --file F --list --null`: the entries, or the line git reports.
        fn list(&self, src: &[u8]) -> Result<Listing, Option<usize>> {
            let file = self.dir.path().join("config");
            std::fs::write(&file, src).unwrap();
            let out = git_command(&self.bin)
                .args(["config", "--file"])
                .arg(&file)
                .args(["--list", "--null"])
                .env("HOME", self.dir.path().join("home"))
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CEILING_DIRECTORIES", self.dir.path())
                .env("LC_ALL", "C")
                .current_dir(self.dir.path())
                .output()
                .unwrap();
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                let line = err
                    .split("bad config line ")
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|n| n.parse().ok());
                return Err(line);
            }
            let mut list = Vec::new();
            let mut records: Vec<&[u8]> = out.stdout.split(|&c| c == 0).collect();
            assert_eq!(records.pop(), Some(&b""[..]), "output ends with NUL");
            for rec in records {
                list.push(match rec.iter().position(|&c| c == b'\n') {
                    Some(n) => (rec[..n].to_vec(), Some(rec[n + 1..].to_vec())),
                    None => (rec.to_vec(), None),
                });
            }
            Ok(list)
        }

        /// Why our parse differs from git's, if it does.
        fn mismatch(&self, src: &[u8]) -> Option<String> {
            let ours = parse(src).map(|cfg| {
                cfg.entries
                    .iter()
                    .map(|e| (e.name_bytes(), e.value_bytes().map(<[u8]>::to_vec)))
                    .collect::<Listing>()
            });
            match (self.list(src), ours) {
                (Ok(git), Ok(ours)) if git == ours => None,
                (Err(None), Err(_)) => None,
                (Err(Some(line)), Err(e)) if e.line == line => None,
                (git, ours) => Some(format!(
                    "input {:?}\n git: {:?}\nours: {:?}",
                    String::from_utf8_lossy(src),
                    git.map(|l| show(&l)),
                    ours.map(|l| show(&l))
                )),
            }
        }
    }

    fn show(list: &Listing) -> Vec<String> {
        list.iter()
            .map(|(n, v)| match v {
                Some(v) => format!(
                    "{}={}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                ),
                None => String::from_utf8_lossy(n).into_owned(),
            })
            .collect()
    }

    /// Tricky and adversarial inputs, valid and not.
    fn tricky_inputs() -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = [
            &b"[core]fsmonitor=x"[..],
            b"[core]\n\tfsmonitor\t=\t\"a\tb\"\t# c\n",
            b"[core] fsmonitor = x\n",
            b"[CoRe]\nFsMonitor = X\n",
            b"[core \"\"]\nfsmonitor = x\n",
            b"[core.x]\nfsmonitor = x\n[Core.X]\nk",
            b"[core.]\nk\n[.]\nk\n[ \"x\"]\nk\n",
            b"[s \"a\\\"b\\\\c\\d\"]\nk=v\n",
            b"[s \"a\\\nb\"]\nk=v\n",
            b"[s \"x\" ]\nk\n",
            b"[s \t\"x\"]\nk\n",
            b"[s\n\"x\"]\nk\n",
            b"[s \"x\"",
            b"[s",
            b"[]\n",
            b"[a_b]\n",
            b"[a][b]k=v",
            b"[a] [b \"c\"] k",
            b"k = top level\n[s]\nj\n",
            b"[s]\nk = \"a ; b\" # c ; d\nl = a\";\"b\nm = a # \"x\n",
            b"[s]\nk = \"a\\\nb\"\nl = a \\\n  b\nm = x \\\n",
            b"[s]\nk = \\q\n",
            b"[s]\nk = \"abc\n",
            b"[s]\nk = \"abc",
            b"[s]\nk = a\\",
            b"[s]\nk = a\\tb\\nc\\bd\\\\e\\\"f\n",
            b"[s]\nk =   x  \t\nb = x \t y\nc = \" x \"  \nd = \"\" x\n",
            b"[s]\na = v\nb=v\nc\t=\tv\nd\ne =\nf = \"\"\ng   \n  h=v",
            b"[s]\n1k = v\n",
            b"[s]\nk_x = v\n",
            b"[s]\nk x\n",
            b"[s]\nk\x0b= v\n",
            b"[s]\x0b\nk\n",
            b"[s]\x0ck\n",
            b"\xef\xbb\xbf[core]\nk=v\n",
            b"\xef\xbb\xbfk",
            b"\xef\xbb[core]\n",
            b"\xef",
            b"[s]\n\xef\xbb\xbfk\n",
            b"[s]\r\nk = v\r\nj = \"a\\\r\nb\"\r\nl = x\ry\r\n\r\n[t]\rm\r",
            b"[s]\r",
            b"[s]\nk = a\r",
            b"[s]\nk = \\\r",
            b"[s]\nk = \\\r\n",
            b"[s \"x\r\"]\nk\n",
            b"[s \"x\\\r\n\"]\nk\n",
            b"[core \"fsmonitor\0junk\"] whatever = touch x\n",
            b"[s \"a\0\"]\nk\n[s \"\0\"]\nk\n[ \"\0\"]\nk\n",
            b"[s]\nk = \"a\0b\" c\nl = v # \0\n#\0\n",
            b"\0[s]\n",
            b"[s\0]\n",
            b"[s]\nk\0 = v\n",
            b"[s]\nk = \"a\0\n",
            b"[s \"\xff\"]\nk = a\xfeb\n",
            b"[s]\n# \xff\xfe\nk = \xc3\xa9\n",
            b"",
            b"\n\n\n",
            b"# only comment",
            b"[s] ; comment\n[t] # comment\nk",
            b"[include]\npath = x\n[includeIf \"gitdir:/tmp/\"]\npath = y\n",
            b"[alias]\n\tst = \"!f() { echo \\\"$1\\\"; }; f\"\n",
        ]
        .iter()
        .map(|s| s.to_vec())
        .collect();
        let mut long = b"[s]\nk = ".to_vec();
        long.extend(std::iter::repeat_n(b'a', 200_000));
        long.extend_from_slice(b" # trailing\n[t \"");
        long.extend(std::iter::repeat_n(b'b', 100_000));
        long.extend_from_slice(b"\"]\n");
        long.extend(std::iter::repeat_n(b'k', 100_000));
        long.extend_from_slice(b" = v\n");
        v.push(long);
        let mut many = Vec::new();
        for i in 0..2000 {
            many.extend_from_slice(format!("[s{i}]\nk = {i}\\\n  more\n").as_bytes());
        }
        v.push(many);
        v
    }

    #[test]
    fn differential_against_git() {
        let Some(git) = Git::find() else {
            println!("SKIP differential_against_git: no git 2.45+ installed");
            return;
        };
        let failures: Vec<String> = tricky_inputs()
            .iter()
            .filter_map(|src| git.mismatch(src))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// Structural checks that hold for every parse.
    fn check_invariants(src: &[u8], cfg: &ConfigFile) {
        let mut pos = 0;
        for e in &cfg.entries {
            assert!(e.span.start >= pos && e.span.start < e.span.end && e.span.end <= src.len());
            let before = src.get(..e.span.start).unwrap_or_default();
            assert!(
                before.is_empty()
                    || before.ends_with(b"\n")
                    || before.ends_with(b"]")
                    || before == &BOM[..],
                "span of {e:?} starts mid-line"
            );
            pos = e.span.end;
        }
        // Dropping the risky entries leaves a file with exactly the other entries.
        let kept = |c: &ConfigFile, keep: &dyn Fn(&Entry) -> bool| -> Listing {
            c.entries
                .iter()
                .filter(|e| keep(e))
                .map(|e| (e.name_bytes(), e.value_bytes().map(<[u8]>::to_vec)))
                .collect()
        };
        let clean = sanitize(src, cfg, |e| classify(e).is_some());
        let reparsed = parse(&clean).expect("sanitized file parses");
        assert_eq!(
            kept(&reparsed, &|_| true),
            kept(cfg, &|e| classify(e).is_none())
        );
        assert!(reparsed.entries.iter().all(|e| classify(e).is_none()));
    }

    #[test]
    fn mutations_never_panic_and_agree_with_git() {
        let git = Git::find();
        if git.is_none() {
            println!("SKIP comparison with git in mutations_never_panic_and_agree_with_git: no git 2.45+");
        }
        let seeds: Vec<Vec<u8>> = [
            &b"[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n[remote \"origin\"]\n\turl = https://github.com/x/y\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch \"main\"]\n\tremote = origin\n"[..],
            b"[alias]\n\tlg = \"log --graph \\\"--format=%h %s\\\"\" ; c\n[core] fsmonitor = \"x\\\n y\"\r\n[s.T \"u\\\"v\"]k\n",
            b"\xef\xbb\xbf# c\n[include]\n\tpath = ~/x\n[includeIf \"gitdir:~/w/\"]\n\tpath = y\n[http \"https://h\"]\n\tproxy = p\n",
        ]
        .iter()
        .map(|s| s.to_vec())
        .chain(tricky_inputs().into_iter().filter(|s| s.len() < 1000))
        .filter(|s| parse(s).is_ok())
        .collect();
        const ALPHABET: &[u8] = b"[]\"\\ \t\r\n#;=.\0aZ9-_\xef\xbb\xbf\x0b!";
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut failures = Vec::new();
        for _ in 0..2000 {
            let mut s = seeds[rng.below(seeds.len())].clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(s.len() + 1);
                let byte = if rng.below(4) == 0 {
                    rng.next() as u8
                } else {
                    ALPHABET[rng.below(ALPHABET.len())]
                };
                match rng.below(4) {
                    0 if at < s.len() => s[at] = byte,
                    1 => s.insert(at, byte),
                    2 if at < s.len() => {
                        s.remove(at);
                    }
                    _ => {
                        let other = &seeds[rng.below(seeds.len())];
                        let from = rng.below(other.len());
                        let len = rng.below(16).min(other.len() - from.min(other.len()));
                        let chunk = other.get(from..from + len).unwrap_or_default().to_vec();
                        s.splice(at..at, chunk);
                    }
                }
            }
            if let Ok(cfg) = parse(&s) {
                check_invariants(&s, &cfg);
            }
            if let Some(git) = &git {
                if let Some(why) = git.mismatch(&s) {
                    failures.push(why);
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
