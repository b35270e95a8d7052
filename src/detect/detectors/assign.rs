//! Values of secret-sounding names: `key=value` (shell, dotenv, properties, query strings,
//! logfmt), `key: value` (YAML, headers), JSON and language literals (`"key": "v"`,
//! `key := "v"`, `var key string = "v"`, `$key .= "v"`, `("KEY", "v")`), command-line flags
//! (`--db-password v`, `-storepass v`), XML elements (`<password>v</password>`, also over three
//! lines), .NET settings (`<add key="ApiKey" value="v"/>`) and Kubernetes-style pairs (`name:
//! DB_PASSWORD` then `value: v`).
//!
//! The name decides whether the value is a secret ([`keys`]), the value's shape whether it is
//! one ([`value`]). Only the value is reported.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::keys::{classify_key, is_key_byte, Key, KeyClass};
use super::value::{plausible, random_looking, Written};
use super::Scope;

/// Words every secret name contains one of (the engine's keywords for this detector too).
pub(crate) const TRIGGERS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "cred",
    "session",
    "sessid",
    "psk",
    "pw=",
    "pw:",
    "_pw",
    "_pat",
    "otp_seed",
    "otpseed",
    "mfa_seed",
    "preshared",
    "default_signer",
];

/// How far past the window a value may be looked for (the next lines of an XML element or of
/// a `name:`/`value:` pair).
const LOOK_AHEAD: usize = 512;

/// Longest quoted value read.
const MAX_QUOTED: usize = 4096;

fn triggers() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(TRIGGERS)
            .expect("static triggers")
    })
}

/// The text before a name ends with a digest's word and a slash (`checksum/`, `sha256/`).
fn digest_of(before: &[u8]) -> bool {
    let Some(rest) = before.strip_suffix(b"/") else {
        return false;
    };
    let word = rest
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let word = &rest[rest.len() - word..];
    ["checksum", "sha256", "sha1", "md5", "hash", "digest"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

/// A value found: its span in the haystack and how it was written.
struct Value {
    start: usize,
    end: usize,
    how: Written,
}

impl Value {
    /// A value read between quotes (or as an element's text), to its end.
    fn quoted(start: usize, end: usize) -> Value {
        Value {
            start,
            end,
            how: Written {
                quoted: true,
                ended: true,
                certain: false,
            },
        }
    }
}

/// Reports the value of every secret name in the window.
pub(crate) fn scan(s: &Scope, emit: &mut dyn FnMut(usize, usize)) {
    // The names were found once already: search only where (most windows are whole lines
    // around one name).
    let (a, b) = s.keywords.unwrap_or((s.start, s.end));
    let mut done = 0usize;
    for m in triggers().find_iter(&s.hay[a..b]) {
        let hit = a + m.start();
        if hit < done {
            continue;
        }
        let (ks, ke) = key_around(s, hit, a + m.end());
        done = ke;
        let raw = &s.hay[ks..ke];
        let flag = raw.starts_with(b"-");
        // Most names in logs are followed by no value at all (`auth::tests`, `PASSED`):
        // reading the name's words costs more than looking at what follows it.
        if !may_have_value(s, ks, ke, flag) {
            continue;
        }
        // `checksum/secret: <sha256>` (Helm's annotation): a digest of the secret, named by it.
        if digest_of(&s.hay[..ks]) {
            continue;
        }
        let name = trim_key(raw);
        let Some(key) = classify_key(name).or_else(|| section_key(s, ks, name)) else {
            continue;
        };
        // `--secret-id prod/db` (AWS) names a secret; Vault's `secret_id=v` is one.
        if key.id && flag {
            continue;
        }
        let found = if let Some(v) = xml_element(s, ks, ke) {
            Some(v)
        } else if let Some(v) = paired_value(s, ks, ke) {
            Some(v)
        } else if let Some(v) = call_argument(s, ks, ke) {
            Some(v)
        } else {
            assigned_value(s, ks, ke, key, flag)
        };
        let Some(mut v) = found else { continue };
        // `Authorization: Bearer v`, unquoted: the credential is the next word (after a
        // scheme of any name: `Splunk v`, `GenieKey v`), without a parameter name
        // (`Token token=v`).
        if key.class == KeyClass::Authorization
            && !v.how.quoted
            && scheme_shaped(&s.hay[v.start..v.end])
            && matches!(s.hay.get(v.end), Some(b' ' | b'\t'))
        {
            match value_at(s, v.end) {
                Some(next) => v = next,
                None => continue,
            }
            let param = param_name(&s.hay[v.start..v.end]);
            if param > 0
                && s.hay
                    .get(v.start + param)
                    .is_some_and(|b| !b.is_ascii_whitespace())
            {
                match value_at(s, v.start + param) {
                    Some(next) => v = next,
                    None => continue,
                }
            }
        }
        if key.id && !random_id(&s.hay[v.start..v.end]) {
            continue;
        }
        if is_code(s, &v) || echoes_name(name, &s.hay[v.start..v.end]) {
            continue;
        }
        // A value that is no secret may hold the next name (`"username": "token", "password":
        // "v"` read as a pair): only a reported one is skipped.
        let end = v.end;
        if report(s, v, key.class, emit) {
            done = done.max(end);
        }
    }
}

/// A credential id's value: no path or name (`prod/db/password`, `MyDatabaseSecret`).
fn random_id(v: &[u8]) -> bool {
    !v.contains(&b'/') && v.iter().any(u8::is_ascii_digit)
}

/// Sections whose `key` is a secret (zuliprc's `[api]`, `[auth]`): the section's name
/// qualifies the key as a word before it would (`api_key`).
fn section_key(s: &Scope, ks: usize, name: &[u8]) -> Option<Key> {
    if !name.eq_ignore_ascii_case(b"key") || (ks > 0 && s.hay[ks - 1] != b'\n') {
        return None;
    }
    // The nearest line above that opens a section, within a few lines.
    let lo = ks.saturating_sub(LOOK_AHEAD);
    let above = &s.hay[lo..ks];
    let mut lines = above.split(|&b| b == b'\n').rev().skip(1);
    let header = lines.by_ref().take(8).find(|l| l.first() == Some(&b'['))?;
    let header = header.trim_ascii_end();
    let section = header.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let qualified = [&b"api"[..], b"auth", b"secret", b"credentials"]
        .iter()
        .any(|w| section.eq_ignore_ascii_case(w));
    qualified.then(|| classify_key(b"api_key")).flatten()
}

/// Checks the value for its class and reports it (after an `Authorization` scheme); whether
/// it was.
fn report(s: &Scope, v: Value, class: KeyClass, emit: &mut dyn FnMut(usize, usize)) -> bool {
    let (mut start, mut end) = (v.start, v.end);
    if class == KeyClass::Authorization {
        let text = &s.hay[start..end];
        let first = text
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(text.len());
        if first < text.len() && scheme_shaped(&text[..first]) {
            start += first;
            while start < end && s.hay[start].is_ascii_whitespace() {
                start += 1;
            }
            start += param_name(&s.hay[start..end]);
            if end - start >= 2
                && matches!(s.hay[start], b'"' | b'\'')
                && s.hay[end - 1] == s.hay[start]
            {
                start += 1;
                end -= 1;
            }
        }
        let rest = &s.hay[start..end];
        let tok = Written {
            quoted: true,
            ended: true,
            certain: false,
        };
        if !rest.iter().any(u8::is_ascii_whitespace) && plausible(rest, KeyClass::Token, tok) {
            emit(start, end);
            return true;
        }
        return false;
    }
    let ok = plausible(&s.hay[start..end], class, v.how);
    if ok {
        emit(start, end);
    }
    ok
}

/// An expression, not a literal: an unquoted member path that goes on as a call or a
/// generic (`api_key = config.get::<String>(...)`).
fn is_code(s: &Scope, v: &Value) -> bool {
    let text = &s.hay[v.start..v.end];
    !v.how.quoted
        && matches!(s.hay.get(v.end), Some(b'(' | b'<'))
        && (text.contains(&b'.') || text.windows(2).any(|w| w == b"::"))
}

/// A value that repeats a word of its own name: the default of an image or a sample
/// (`POSTGRES_PASSWORD=postgres`, `admin_password: admin`).
fn echoes_name(name: &[u8], v: &[u8]) -> bool {
    let v = v
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(v);
    v.len() >= 3
        && name
            .split(|b| !b.is_ascii_alphanumeric())
            .any(|w| w.eq_ignore_ascii_case(v))
}

/// Callees that take a secret's name or ask for one, not its value (`get_password("db")`,
/// `prompt_password("Password: ")`).
const ASKING_CALLS: &[&str] = &[
    "GET", "READ", "FETCH", "LOAD", "FIND", "HAS", "IS", "CHECK", "VALIDATE", "VERIFY", "PROMPT",
    "ASK", "INPUT", "LOOKUP", "RESOLVE", "DELETE", "REMOVE", "RESET", "ROTATE", "GENERATE",
    "CREATE", "NEW", "CLEAR", "REVOKE", "REFRESH", "HASH", "ENCRYPT", "DECRYPT",
];

/// The one literal argument of a call named for a secret (`.password("v")`,
/// `.bearer_auth("v")`, `setApiKey('v')`): it must look random, as such calls also take
/// labels and names.
fn call_argument(s: &Scope, ks: usize, ke: usize) -> Option<Value> {
    let hay = s.hay;
    if hay.get(ke) != Some(&b'(') || ke >= s.end {
        return None;
    }
    let name = &hay[ks..ke];
    let segment = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
    // The callee's first word: up to `_`, `-` or a capital (`getPassword`, `get_password`).
    let first = segment
        .iter()
        .enumerate()
        .position(|(i, &b)| matches!(b, b'_' | b'-') || (i > 0 && b.is_ascii_uppercase()))
        .map_or(segment, |p| &segment[..p]);
    if ASKING_CALLS
        .iter()
        .any(|w| first.eq_ignore_ascii_case(w.as_bytes()))
    {
        return None;
    }
    let v = value_at(s, ke + 1)?;
    let close = skip_blanks(hay, v.end + 1, s.end);
    let single = v.how.quoted && hay.get(close) == Some(&b')');
    (single && random_looking(&hay[v.start..v.end])).then_some(v)
}

fn is_scheme(word: &[u8]) -> bool {
    SCHEMES.iter().any(|w| word.eq_ignore_ascii_case(w))
}

/// A known scheme, or one word of letters (`Splunk`, `GenieKey`, `SSWS`): what an
/// `Authorization` value starts with before its credential. The credential after it must
/// still look random, so a word of prose here costs nothing.
fn scheme_shaped(word: &[u8]) -> bool {
    is_scheme(word)
        || ((2..=24).contains(&word.len())
            && word[0].is_ascii_alphabetic()
            && word.iter().all(|b| b.is_ascii_alphabetic() || *b == b'-'))
}

/// The length of a parameter name and its `=` at the start of a credential (`token=` of
/// `Token token=v`), or 0.
fn param_name(v: &[u8]) -> usize {
    let n = v
        .iter()
        .take_while(|b| b.is_ascii_alphabetic() || **b == b'_')
        .count();
    if (1..=16).contains(&n) && v.get(n) == Some(&b'=') {
        n + 1
    } else {
        0
    }
}

/// Authorization schemes that come before the credential.
const SCHEMES: &[&[u8]] = &[
    b"bearer",
    b"basic",
    b"token",
    b"bot",
    b"apikey",
    b"api-key",
    b"api-token",
    b"digest",
    b"negotiate",
    b"ssws",
    b"ntlm",
    b"sso-key",
    b"key",
    b"jwt",
    b"oauth",
];

/// The name around a trigger hit: identifier characters both ways (bounded), and a leading
/// `$` (PHP) or `-`s (flags) kept for the caller to see.
fn key_around(s: &Scope, hit: usize, hit_end: usize) -> (usize, usize) {
    let lo = s.start.saturating_sub(0).max(hit.saturating_sub(64));
    let mut ks = hit;
    while ks > lo && (is_key_byte(s.hay[ks - 1]) || s.hay[ks - 1] == b'$') {
        ks -= 1;
    }
    let hi = s.end.min(hit_end + 64);
    let mut ke = hit_end;
    while ke < hi && is_key_byte(s.hay[ke]) {
        ke += 1;
    }
    // A key ends before a trailing dot (`password.` in prose).
    while ke > hit_end && s.hay[ke - 1] == b'.' {
        ke -= 1;
    }
    (ks, ke)
}

/// Whether the name at `[ks, ke)` can have a value that [`xml_element`], [`paired_value`]
/// or [`assigned_value`] would read: a necessary condition of each, checked before the name.
fn may_have_value(s: &Scope, ks: usize, ke: usize, flag: bool) -> bool {
    let hay = s.hay;
    if ks > 0 && hay[ks - 1] == b'<' && hay.get(ke) == Some(&b'>') {
        return true;
    }
    if hay.get(ke) == Some(&b'(') {
        return true;
    }
    if has_pair_lead(s, ks) {
        return true;
    }
    let (_, quoted_key, i, gap) = after_name(hay, ks, ke, s.end);
    let Some(&c) = hay.get(gap).filter(|_| gap < s.end) else {
        return false;
    };
    // An operator (or a typed name's `:`); a quoted name's comma; after a blank: a quoted
    // value (SQL), a flag's value, or a type (`string =`).
    matches!(c, b'=' | b':' | b'?' | b'.' | b'|' | b'<')
        || (quoted_key && c == b',')
        || (gap > i && c == b'-' && value_flag(hay, gap, s.end).is_some())
        || (gap > i && (flag || matches!(c, b'"' | b'\'' | b's' | b'S')))
        || (gap > i && (line_start(hay, ks) || namespaced_key(hay, ks)))
}

/// The name without `$`, leading dashes, `-D` of Java properties or a leading `_`.
fn trim_key(raw: &[u8]) -> &[u8] {
    let mut k = raw;
    k = k.strip_prefix(b"$").unwrap_or(k);
    if let Some(rest) = k.strip_prefix(b"-D").filter(|r| r.contains(&b'.')) {
        k = rest;
    }
    while let Some(rest) = k.strip_prefix(b"-") {
        k = rest;
    }
    k
}

fn skip_blanks(hay: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && matches!(hay[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// The operator at `i` (`=`, `:`, `:=`, `::=`, `:::=`, `?=`, `=>`, `.=`), its length and
/// whether it is a bare colon.
fn operator(hay: &[u8], i: usize, end: usize) -> Option<(usize, bool)> {
    let at = |k: usize| hay.get(i + k).copied().filter(|_| i + k < end);
    match at(0)? {
        b'=' => match at(1) {
            Some(b'>') => Some((2, false)),
            Some(b'=') => None,
            // `=~` matches a regex (`$x =~ /re/`), but `password=~Xy…` assigns `~Xy…`.
            // (`=~ ^re` only after a blank: bash's `[[ $x =~ ^re ]]`; `PW=~^x` assigns.)
            Some(b'~')
                if matches!(
                    at(2),
                    None | Some(b' ' | b'\t' | b'/' | b'"' | b'\'' | b'(' | b'[' | b'm')
                ) || (at(2) == Some(b'^') && i > 0 && matches!(hay[i - 1], b' ' | b'\t')) =>
            {
                None
            }
            _ => Some((1, false)),
        },
        b':' => {
            let colons = (0..3).take_while(|&k| at(k) == Some(b':')).count();
            if at(colons) == Some(b'=') {
                Some((colons + 1, false))
            } else if colons == 1 && at(1) != Some(b'/') {
                Some((1, true))
            } else {
                None
            }
        }
        b'?' | b'.' if at(1) == Some(b'=') => Some((2, false)),
        // Ruby's and JavaScript's `||=`, `??=`.
        b'|' | b'?' if at(1) == at(0) && at(2) == Some(b'=') => Some((3, false)),
        // R's `<-`, after a blank (`x<-1` is a comparison in C).
        b'<' if at(1) == Some(b'-') && i > 0 && matches!(hay[i - 1], b' ' | b'\t') => {
            Some((2, false))
        }
        _ => None,
    }
}

/// What surrounds the name at `[ks, ke)`: the quote before it, whether the name is quoted
/// (that quote also follows it), where the name and its closing quote end, and where the
/// blanks after them end.
fn after_name(hay: &[u8], ks: usize, ke: usize, end: usize) -> (Option<u8>, bool, usize, usize) {
    let quote = ks
        .checked_sub(1)
        .map(|p| hay[p])
        .filter(|q| matches!(q, b'"' | b'\''));
    let quoted_key = quote.is_some_and(|q| hay.get(ke) == Some(&q));
    let mut i = ke + usize::from(quoted_key);
    // A subscript: `config["SECRET_KEY"] = v`, `$_ENV['DB_PASSWORD'] = v`.
    if quoted_key && ks >= 2 && hay[ks - 2] == b'[' && hay.get(i) == Some(&b']') {
        i += 1;
    }
    // C's array: `static const char WIFI_PASSWORD[] = "v"`, `char key[33] = "v"`.
    if !quoted_key && hay.get(i) == Some(&b'[') {
        let digits = hay[i + 1..end.max(i + 1)]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if hay.get(i + 1 + digits) == Some(&b']') {
            i += digits + 2;
        }
    }
    // Perl's hash subscript, unquoted: `$ENV{AWS_SECRET_ACCESS_KEY} = v`.
    if !quoted_key && ks >= 1 && hay[ks - 1] == b'{' && hay.get(i) == Some(&b'}') {
        i += 1;
    }
    (quote, quoted_key, i, skip_blanks(hay, i, end))
}

/// The value assigned to the name at `[ks, ke)`.
fn assigned_value(s: &Scope, ks: usize, ke: usize, key: Key, flag: bool) -> Option<Value> {
    let hay = s.hay;
    let end = s.end;
    let (quote, quoted_key, i, gap) = after_name(hay, ks, ke, end);
    // `var key string = "v"`, `key: String = "v"`: a type between the name and `=`.
    let mut j = gap;
    if hay.get(j) == Some(&b':') && !quoted_key {
        j = skip_blanks(hay, j + 1, end);
    }
    for ty in [&b"string"[..], b"String", b"str", b"&str", b"&'static str"] {
        if hay[j..end].starts_with(ty) && hay.get(j + ty.len()).is_some_and(|b| *b == b' ') {
            let after = skip_blanks(hay, j + ty.len(), end);
            if hay.get(after) == Some(&b'=') && (j > gap || hay[i..gap].contains(&b' ')) {
                let at = skip_blanks(hay, after + 1, end);
                return field_default(s, at).or_else(|| value_at(s, after + 1));
            }
        }
    }
    // Rust's byte arrays: `static SECRET: &[u8] = b"v"`, `const KEY: [u8; 32] = hex!("v")`.
    if j > gap && matches!(hay.get(j), Some(b'&' | b'[')) {
        let ty = hay[j..end.min(j + 48)]
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b"&'[]; _".contains(&b))
            .count();
        let after = j + ty;
        if hay[j..after].contains(&b']') && hay.get(after) == Some(&b'=') {
            return value_at(s, after + 1);
        }
    }
    if let Some((len, bare_colon)) = operator(hay, gap, end) {
        // A weak word after a bare colon is a name only when its value is quoted (YAML's
        // `psk: "v"`; `auth: required` is prose).
        let quoted_value = matches!(
            hay.get(skip_blanks(hay, gap + len, end)),
            Some(b'"' | b'\'')
        );
        if bare_colon && key.weak && !quoted_key && !quoted_value {
            return None;
        }
        // `arn:aws:secretsmanager:…:secret:prod/api-key`: a segment of a colon-separated
        // name (an ARN, a URN), not a key and its value.
        // (Ruby's `:password: v` has nothing before its colon.)
        if bare_colon
            && ks > 1
            && hay[ks - 1] == b':'
            && hay[ks - 2].is_ascii_alphanumeric()
            && !namespaced_key(hay, ks)
        {
            return None;
        }
        // `"Password:"`: the name and its colon are a whole string (a label), not a key.
        if quote.is_some_and(|q| !quoted_key && hay.get(gap + len) == Some(&q)) {
            return None;
        }
        let at = skip_blanks(hay, gap + len, end);
        if hay.get(at) == Some(&b'(') && at < end {
            return pair_second(s, at + 1);
        }
        if let Some(v) = field_default(s, at) {
            return Some(v);
        }
        // Go's `passwd := []byte("v")`: a conversion of the literal.
        if hay[at..end].starts_with(b"[]byte(") {
            let v = value_at(s, at + 7)?;
            return v.how.quoted.then_some(v);
        }
        return value_at(s, gap + len);
    }
    // C's `#define API_SECRET "v"`, Clojure's `(def api-key "v")`: a quoted value after
    // a blank.
    let before = hay[..ks].trim_ascii_end();
    let defined = [&b"#define"[..], b"(def", b"(defonce", b"(defparameter"]
        .iter()
        .any(|d| before.ends_with(d))
        && before.len() < ks;
    if defined && gap > i && matches!(hay.get(gap), Some(b'"')) {
        let v = value_at(s, gap)?;
        return v.how.quoted.then_some(v);
    }
    // PowerShell's `Set-Variable -Name ApiToken -Value "v"`.
    if gap > i && before.len() < ks && ends_with_ci(before, b"-name") {
        if let Some(at) = value_flag(hay, gap, end) {
            return value_at(s, at);
        }
    }
    // `("KEY", "v")`: a quoted name, a comma and a quoted value.
    if quoted_key && hay.get(gap) == Some(&b',') {
        let v = value_at(s, gap + 1)?;
        return v.how.quoted.then_some(v);
    }
    // SQL: `PASSWORD 'v'` (`ALTER USER app PASSWORD 'v'`, `CREATE ROLE ... PASSWORD 'v'`).
    if key.class == KeyClass::Password && gap > i && matches!(hay.get(gap), Some(b'\'' | b'"')) {
        let v = value_at(s, gap)?;
        return v.how.quoted.then_some(v);
    }
    // `--db-password v`: a flag and the next word.
    if flag && gap > i && gap < end && !is_option(hay, gap, end) {
        return value_at(s, gap);
    }
    // `password v` alone on its line (msmtp, redis.conf's `requirepass v`, and other `name
    // value` config files): the value must look random, as prose has this shape too
    // (`password mismatch`).
    // Not `PASS src/App.test.js` (jest) nor the `passwd NAME` command.
    if key.class != KeyClass::Authorization
        && !key.weak
        && gap > i
        && quote.is_none()
        && !hay[ks..ke].eq_ignore_ascii_case(b"passwd")
        && (line_start(hay, ks) || namespaced_key(hay, ks))
    {
        let v = value_at(s, gap)?;
        let rest = skip_blanks(hay, v.end, end);
        let line_ends = rest >= hay.len() || matches!(hay[rest], b'\n' | b'\r');
        return (line_ends && random_looking(&hay[v.start..v.end])).then_some(v);
    }
    None
}

/// pydantic's `api_token: str = Field(default="v")`: a field's quoted literal default.
fn field_default(s: &Scope, at: usize) -> Option<Value> {
    // `at` may be past the window (an `=` that ends it).
    let rest = s.hay.get(at..s.end)?;
    let callee = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'.')
        .count();
    if callee == 0 || !rest[callee..].starts_with(b"(default=") {
        return None;
    }
    let v = value_at(s, at + callee + 9)?;
    v.how.quoted.then_some(v)
}

/// After PowerShell's `-Name X`: where the value of a `-Value` flag at `i` starts.
fn value_flag(hay: &[u8], i: usize, end: usize) -> Option<usize> {
    let f = b"-value ";
    (i + f.len() <= end && hay[i..i + f.len()].eq_ignore_ascii_case(f)).then_some(i + f.len())
}

/// `hay` ends with `suffix`, in any case.
fn ends_with_ci(hay: &[u8], suffix: &[u8]) -> bool {
    hay.len() >= suffix.len() && hay[hay.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Only blanks before `at` on its line.
fn line_start(hay: &[u8], at: usize) -> bool {
    hay[..at]
        .iter()
        .rev()
        .take_while(|&&b| b != b'\n')
        .all(|&b| b == b' ' || b == b'\t')
}

/// A key under one namespace at the start of its line: Pulumi's `shop:dbPassword` (in its
/// YAML and its `config` table), unlike a segment of an ARN (`...:secret:prod/db`).
fn namespaced_key(hay: &[u8], ks: usize) -> bool {
    if ks < 2 || hay[ks - 1] != b':' {
        return false;
    }
    let ns = hay[..ks - 1]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        .count();
    ns > 0 && line_start(hay, ks - 1 - ns)
}

/// `(v1, v2)` after a name (Python's `auth=("id", "secret")`): the second of two quoted
/// strings.
fn pair_second(s: &Scope, i: usize) -> Option<Value> {
    let first = value_at(s, i)?;
    if !first.how.quoted {
        return None;
    }
    let comma = skip_blanks(s.hay, first.end + 1, s.end);
    if s.hay.get(comma) != Some(&b',') {
        return None;
    }
    let second = value_at(s, comma + 1)?;
    let close = skip_blanks(s.hay, second.end + 1, s.end);
    (second.how.quoted && s.hay.get(close) == Some(&b')')).then_some(second)
}

/// Whether the word at `i` is the next option (`-v`, `--json`, `-no-color`) rather than a
/// value that starts with a dash (`-HA0ZhzkLnuy7…`, a random secret).
fn is_option(hay: &[u8], i: usize, end: usize) -> bool {
    let len = hay[i..end]
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(end - i);
    let w = &hay[i..i + len];
    w.first() == Some(&b'-')
        && (w.starts_with(b"--")
            || w.len() <= 3
            || w[1..]
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_=".contains(b)))
}

/// The value starting at `i` (after blanks): quoted up to its closing quote, or a bare word.
fn value_at(s: &Scope, i: usize) -> Option<Value> {
    let hay = s.hay;
    let end = s.end;
    let i = skip_blanks(hay, i, end);
    // A YAML tag before the value: Ansible's `!unsafe 'v'`, `!!binary v`, `!!str v`.
    let tag = hay.get(i..end).and_then(|t| {
        let bangs = t.iter().take_while(|&&b| b == b'!').count();
        let name = t[bangs..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        ((1..=2).contains(&bangs) && name > 0 && t.get(bangs + name) == Some(&b' '))
            .then_some(bangs + name)
    });
    let i = tag.map_or(i, |n| skip_blanks(hay, i + n, end));
    // Objective-C's `@"v"`; a byte string (`b"v"` of Rust, `b'v'` of Python).
    let i = if matches!(hay.get(i), Some(b'@' | b'b'))
        && matches!(hay.get(i + 1), Some(b'"' | b'\''))
    {
        i + 1
    } else {
        i
    };
    // A literal decoded at compile time: `hex!("...")`, `hex_literal::hex!("...")`.
    let i = ["hex_literal::hex!(", "hex!("]
        .iter()
        .find(|w| hay.get(i..end).is_some_and(|t| t.starts_with(w.as_bytes())))
        .map_or(i, |w| i + w.len());
    // A value in escaped quotes, inside a JSON string: `{"env": "PASSWORD=\"v\""}`.
    if hay.get(i) == Some(&b'\\') && hay.get(i + 1) == Some(&b'"') {
        let stop = hay.len().min(i + 2 + MAX_QUOTED);
        let close = hay[i + 2..stop]
            .windows(2)
            .position(|w| w == b"\\\"")
            .map(|p| i + 2 + p)?;
        if close == i + 2 || hay[i + 2..close].contains(&b'\n') {
            return None;
        }
        return Some(Value::quoted(i + 2, close));
    }
    let first = *hay.get(i).filter(|_| i < end)?;
    if matches!(first, b'"' | b'\'' | b'`') {
        // A quoted value is read to its closing quote on this line, past the window if need
        // be (a window ends about 512 bytes after the name; an AWS session token is longer).
        let stop = hay.len().min(i + 1 + MAX_QUOTED);
        let mut j = i + 1;
        while j < stop && hay[j] != first && hay[j] != b'\n' {
            j += if hay[j] == b'\\' { 2 } else { 1 };
        }
        if j >= stop || hay[j] != first {
            return None;
        }
        return Some(Value::quoted(i + 1, j));
    }
    let bare = |b: u8| !b.is_ascii_whitespace() && !b"\"'`,;&|<>)]}".contains(&b);
    let mut j = i;
    while j < end && bare(hay[j]) {
        if matches!(hay[j], b'(' | b'[') {
            return None; // a call or an index: code, not a value
        }
        j += 1;
    }
    // A word the window cut (a service-account JWT, a base64 keystore) is read to its end.
    if j == end {
        let stop = hay.len().min(i + MAX_QUOTED);
        while j < stop && bare(hay[j]) && !matches!(hay[j], b'(' | b'[') {
            j += 1;
        }
    }
    let end = end.max(j);
    let next = skip_blanks(hay, j, end);
    let ended = next >= end || !hay[next].is_ascii_alphanumeric();
    (j > i).then_some(Value {
        start: i,
        end: j,
        how: Written {
            quoted: false,
            ended,
            certain: false,
        },
    })
}

/// `<password>v</password>`, or the element over three lines (opening tag, value, closing tag).
fn xml_element(s: &Scope, ks: usize, ke: usize) -> Option<Value> {
    let hay = s.hay;
    if ks == 0 || hay[ks - 1] != b'<' || hay.get(ke) != Some(&b'>') {
        return None;
    }
    let limit = hay.len().min(s.end + LOOK_AHEAD);
    let mut i = ke + 1;
    let multiline = hay[i..limit]
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|p| hay[i..i + p].iter().all(u8::is_ascii_whitespace));
    while multiline && i < limit && hay[i].is_ascii_whitespace() {
        i += 1;
    }
    let close = hay[i..limit].windows(2).position(|w| w == b"</")? + i;
    let (mut vs, mut ve) = (i, close);
    while ve > vs && hay[ve - 1].is_ascii_whitespace() {
        ve -= 1;
    }
    while vs < ve && hay[vs].is_ascii_whitespace() {
        vs += 1;
    }
    let closing = &hay[close + 2..limit.min(close + 2 + (ke - ks) + 1)];
    if !closing.starts_with(&hay[ks..ke]) || hay[vs..ve].contains(&b'\n') || vs == ve {
        return None;
    }
    Some(Value::quoted(vs, ve))
}

/// The text of an element whose `name`/`key` attribute is a secret's name:
/// `<property name="hibernate.connection.password">v</property>`, `<entry key="...">v</entry>`.
fn element_text(s: &Scope, ks: usize, ke: usize) -> Option<Value> {
    let hay = s.hay;
    let q = *hay.get(ks.checked_sub(1)?)?;
    if !matches!(q, b'"' | b'\'') || hay.get(ke) != Some(&q) {
        return None;
    }
    let limit = hay.len().min(s.end + LOOK_AHEAD);
    let rest = &hay[ke + 1..limit];
    let gt = rest
        .iter()
        .position(|&b| matches!(b, b'>' | b'<' | b'\n'))
        .filter(|&p| rest[p] == b'>' && (p == 0 || rest[p - 1] != b'/'))?;
    let vs = ke + 1 + gt + 1;
    let text = &hay[vs..limit];
    let len = text
        .iter()
        .position(|&b| matches!(b, b'<' | b'\n'))
        .filter(|&p| text[p..].starts_with(b"</"))?;
    (len > 0 && !text[..len].iter().all(u8::is_ascii_whitespace))
        .then_some(Value::quoted(vs, vs + len))
}

/// Whether `name=`, `key:`, `"name":`... comes just before the name at `ks` (a sibling holds
/// its value: see [`paired_value`]).
fn has_pair_lead(s: &Scope, ks: usize) -> bool {
    let hay = s.hay;
    let mut b = ks;
    if b > 0 && matches!(hay[b - 1], b'"' | b'\'') {
        b -= 1;
    }
    let before = &hay[s.start.max(b.saturating_sub(12))..b];
    let trimmed = before.trim_ascii_end();
    ["name=", "key=", "name:", "key:", "\"name\":", "\"key\":"]
        .iter()
        .any(|w| trimmed.ends_with(w.as_bytes()))
}

/// A secret name given as the value of `name`/`key` whose value comes in a sibling:
/// `<add key="ApiKey" value="v" />`, `{"name": "DB_PASSWORD", "value": "v"}`, and YAML's
/// `- name: DB_PASSWORD` with `value: v` on the next line.
fn paired_value(s: &Scope, ks: usize, ke: usize) -> Option<Value> {
    let hay = s.hay;
    if !has_pair_lead(s, ks) {
        return None;
    }
    if let Some(v) = element_text(s, ks, ke) {
        return Some(v);
    }
    let limit = hay.len().min(s.end + LOOK_AHEAD);
    let rest = &hay[ke..limit];
    let at = rest
        .windows(6)
        .position(|w| w.eq_ignore_ascii_case(b"value="))
        .or_else(|| {
            rest.windows(6)
                .position(|w| w.eq_ignore_ascii_case(b"value:"))
        })
        .or_else(|| {
            rest.windows(8)
                .position(|w| w.eq_ignore_ascii_case(b"\"value\":"))
        })?;
    // The sibling is on this line or the next one.
    if rest[..at].iter().filter(|&&c| c == b'\n').count() > 1 {
        return None;
    }
    let op = ke + at + rest[at..].iter().position(|&c| c == b'=' || c == b':')? + 1;
    let scope = Scope {
        hay,
        start: s.start,
        end: limit.min(op + MAX_QUOTED),
        keywords: None,
    };
    let line_end = hay[op..scope.end]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(scope.end, |p| op + p);
    value_at(
        &Scope {
            end: line_end,
            ..scope
        },
        op,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let hay = text.as_bytes();
        let mut out = Vec::new();
        let s = Scope {
            hay,
            start: 0,
            end: hay.len(),
            keywords: None,
        };
        scan(&s, &mut |a, b| out.push(text[a..b].to_string()));
        out
    }

    #[test]
    fn assignments_in_many_syntaxes() {
        let v = "Zf3D0LXCM3EIMbgJpUNnkRtOfOue";
        for line in [
            format!("DB_PASSWORD={v}"),
            format!("export API_TOKEN=\"{v}\""),
            format!("\"client_secret\": \"{v}\","),
            format!("client_secret: '{v}'"),
            format!("api_key := \"{v}\""),
            format!("var genericToken string = \"{v}\""),
            format!("val genericToken: String = \"{v}\""),
            format!("$genericToken .= \"{v}\""),
            format!("System.setProperty(\"GENERIC_TOKEN\", \"{v}\")"),
            format!("  \"genericToken\" => \"{v}\""),
            format!("GENERIC_TOKEN :::= \"{v}\""),
            format!("GENERIC_TOKEN ?= \"{v}\""),
            format!("--db-password {v}"),
            format!("--client-secret -{v}"),
            format!("-Dspring.datasource.password={v} -Xmx1g"),
            format!("<password>{v}</password>"),
            format!("<genericToken>\n    {v}\n</genericToken>"),
            format!("<add key=\"ApiKey\" value=\"{v}\" />"),
            format!("- name: DB_PASSWORD\n  value: \"{v}\""),
            format!("X-Api-Key: {v}"),
            format!("Authorization: Bearer {v}"),
            format!("?api_key={v}&format=json"),
            format!("level=info password={v} host=db"),
            format!("psql -c \"ALTER USER app PASSWORD '{v}'\""),
            format!("Authorization: Splunk {v}"),
            format!("curl -H \"Authorization: GenieKey {v}\" https://x"),
            format!("Authorization: Token token={v}"),
            format!("\"Authorization\": \"Splunk {v}\""),
            format!("app.config[\"SECRET_KEY\"] = \"{v}\""),
            format!("client = razorpay.Client(auth=(\"rzp_live_x\", \"{v}\"))"),
            format!("account default\nhost smtp.x\npassword {v}\n"),
            format!("[api]\nemail=bot@x.org\nkey={v}\nsite=https://x.org"),
            format!("ansible_become_pass: {v}"),
            format!("vault write auth/approle/login secret_id={v}"),
            format!("{{\"username\": \"token\", \"password\": \"{v}\"}}"),
            format!("<property name=\"hibernate.connection.password\">{v}</property>"),
            format!("<entry key=\"mail.smtp.password\">{v}</entry>"),
            format!("DataSourceBuilder.create().username(\"shop\").password(\"{v}\").build();"),
            format!("reqwest::Client::new().get(url).bearer_auth(\"{v}\");"),
            format!("passwd := []byte(\"{v}\")"),
            format!("$env:AZURE_DEVOPS_EXT_PAT = \"{v}\""),
            format!("const API_TOKEN: &str = \"{v}\";"),
            format!("    ldap_bind_password: !unsafe '{v}'"),
            format!("  psk: \"{v}\""),
            format!("TOTP_SEED={v}"),
            format!("OS_PASSWORD=~^{v}"),
            format!("$ENV{{AWS_SECRET_ACCESS_KEY}} = '{v}';"),
            format!("static WEBHOOK_SECRET: &[u8] = b\"{v}\";"),
            format!("const SECRET: [u8; 32] = hex_literal::hex!(\"{v}\");"),
            format!("fernet_key = b'{v}'"),
            format!("OPENWEATHER_KEY={v}"),
            format!("API_TOKEN_B64={v}"),
            format!("  shop:datadogApiKey: {v}"),
            format!("shop:dbPassword        {v}"),
            format!("static const char WIFI_PASSWORD[] = \"{v}\";"),
            format!("{{\"env\":\"PASSWORD=\\\"{v}\\\"\"}}"),
            format!("    api_token: str = Field(default=\"{v}\", env=\"API_TOKEN\")"),
        ] {
            let want = if line.contains(" -Zf") {
                format!("-{v}")
            } else if line.contains("=~^") {
                format!("~^{v}")
            } else {
                v.to_string()
            };
            assert_eq!(found(&line), [want], "{line}");
        }
    }

    #[test]
    fn a_name_at_the_end_of_the_window_does_not_panic() {
        for line in [
            "password=",
            "password: ",
            "api_key := ",
            "token =>",
            "api_token: str = Field(default=\"abcdefgh\")",
            "static WEBHOOK_SECRET: &[u8] = b\"abcdefgh\";",
            "char WIFI_PASSWORD[33] = \"abcdefgh\";",
            "$ENV{API_TOKEN} = 'abcdefgh';",
            "PASSWORD=\\\"abcdefgh\\\"",
            "  shop:dbPassword  abcdefgh",
            "password: !!binary abcdefgh",
            "key = hex!(\"abcdefgh\")",
        ] {
            for end in 0..=line.len() {
                let hay = line.as_bytes();
                let s = Scope {
                    hay,
                    start: 0,
                    end,
                    keywords: None,
                };
                scan(&s, &mut |_, _| {});
            }
        }
    }

    #[test]
    fn a_bare_value_the_window_cut_is_read_to_its_end() {
        let v = "eyJhbGciOiJSUzI1NiJ9Zf3D0LXCM3EIMbgJpUNnkRtOfOue".repeat(30);
        let line = format!("KUBERNETES_SERVICE_ACCOUNT_TOKEN={v}\n");
        let hay = line.as_bytes();
        let mut out = Vec::new();
        let s = Scope {
            hay,
            start: 0,
            end: 200,
            keywords: None,
        };
        scan(&s, &mut |a, b| out.push(line[a..b].to_string()));
        assert_eq!(out, [v]);
    }

    #[test]
    fn names_and_values_that_are_not_secrets() {
        for line in [
            "token_type: bearer",
            "password: ********",
            "  password: !!binary ******",
            "NEXT_PUBLIC_POSTHOG_KEY=phc_Jm7Yao608vAOc2xy4wow24KAVJbHMVwazeIOj1DlQmh",
            "ENV GPG_KEY 0D96DF4D4110E5C43FBFB17F2D347EA6AA65421D",
            "LoadCredential=token:/etc/acme/credentials/token",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-key: x",
            "    api_token: str = Field(default=None, env=\"API_TOKEN\")",
            "if [[ $PASSWORD =~ ^[A-Za-z0-9]{12,}$ ]]; then",
            "password: (sensitive value)",
            "PASS: 128, FAIL: 0",
            "--- PASS: TestAPIKey2Rotation (0.00s)",
            "auth: required",
            "  -p, --password string   Password",
            "--password-stdin",
            "password = request.form[\"password\"]",
            "token = os.environ.get(\"GITHUB_TOKEN\")",
            "self.api_key = api_key",
            "secretName: my-tls-secret",
            "key: Linux-cargo-3f786850e387550fdab836ed7e6dc881de23001b",
            "The password is stored in the system keychain.",
            "Enter passphrase for key '/home/dev/.ssh/id_ed25519':",
            "token=abcd1234",
            "max_tokens: 409612345678",
            "api_key = ${API_KEY}",
            "if password == other:",
            "--password -v --json",
            "--token --no-color",
            "--api-key -no-verify-ssl",
            "usernameLabel:\"Username or email:\",passwordLabel:\"Password:\",rememberMe:\"x\"",
            "notes = \"Maven - io.jsonwebtoken:jjwt-jackson-0.11.2\"",
            "IAMUserChangePassword = \"arn:aws:iam::aws:policy/IAMUserChangePassword\"",
            "    client-key-data: DATA+OMITTED",
            "[id=arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/payments/api-key-2KmeC2]",
            "urn:example:secret:group-7/rotation-window-b",
            "echo 'export DATABASE_PASSWORD=\"'$PRECOMPILE_PASSWORD'\"' >> .env",
            "authorization: denied because PolicyViolationException",
            "Authorization: Splunk $HEC_TOKEN",
            "Authorization: Token token=<token>",
            "if config[\"SECRET_KEY\"] == other:",
            "auth=(\"user\", \"pass\")",
            "password mismatch",
            "PASS src/App.test.js",
            "passwd svc-deploy01",
            "Password Xk93pQ7zLm2 was rejected",
            "[cache]\nkey=Zf3D0LXCM3EIMbgJpUNnkRtOfOue",
            "PASS: 128",
            "aws secretsmanager get-secret-value --secret-id prod/db/Zf3D0LXCM3",
            "\"SecretId\": \"prod/db/password\"",
            "pw = get_password(\"Zf3D0LXCM3EIMbgJpUNnkRtOfOue\")",
            "getpass.getpass(\"Password: \")",
            ".password(\"shop\")",
            "let pat = \"*.rs\";",
            "GLOB_PAT=src/**/*.rs",
            "file_path=/home/dev/Zf3D0LXCM3EIMbgJpUNnkRtOfOue",
            "<property name=\"hibernate.connection.password\" value=\"${DB_PASSWORD}\"/>",
            "let api_key = config.get::<String>(\"api_key\").context(\"api_key is not set\")?;",
            "POSTGRES_PASSWORD=postgres",
            "token=${GITHUB_TOKEN:?GITHUB_TOKEN must be set}",
            "\"hashed_secret\": \"e06941e57d1a96f57b3834492b7eedbbb39a23ae\",",
            "\"password\": \"@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)\"",
        ] {
            assert!(found(line).is_empty(), "{line}");
        }
    }
}
