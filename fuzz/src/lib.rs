//! Fuzz targets for the code of agentbox that parses untrusted bytes.
//!
//! Each target is a plain `fn(&[u8])` here, so the same code runs under libFuzzer (the
//! binaries in `fuzz_targets/`), in `cargo test` over the seed corpus (`tests/replay.rs`), and
//! by hand on one file (`target/.../<name> FILE`). A target returns normally on any input the
//! code under test handles; it panics (a crash for the fuzzer) when that code panics, loops,
//! or breaks one of the properties asserted below.
//!
//! Inputs longer than a target's `max_len` are ignored, so a crash never needs more than that
//! to reproduce and no run can blow the memory up by feeding megabytes.

use std::io::BufReader;

use agentbox::agentconf::{self, Kind, Verdict};
use agentbox::detect::{classify_env, Engine};
use agentbox::gitmeta::config;
use agentbox::net::http::{self, BodyLen, HeadError};
use agentbox::net::sni::{self, ClientHello};
use agentbox::profile::load;
use agentbox::redact::{ExactValues, Redactor};
use agentbox::sandbox::channel;

pub mod seeds;

/// A fuzz target: its name (the binary's), entry point and longest input it reads.
pub struct Target {
    /// Name of the binary in `fuzz_targets/` and of its corpus directories.
    pub name: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]),
    /// Longer inputs are skipped (and libFuzzer is told `-max_len`).
    pub max_len: usize,
}

/// Every target, in the order CI runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "http_request",
        run: http_request,
        max_len: 16 << 10,
    },
    Target {
        name: "http_response",
        run: http_response,
        max_len: 16 << 10,
    },
    Target {
        name: "http_parts",
        run: http_parts,
        max_len: 4 << 10,
    },
    Target {
        name: "sni",
        run: sni,
        max_len: 16 << 10,
    },
    Target {
        name: "profile",
        run: profile,
        max_len: 16 << 10,
    },
    Target {
        name: "detect",
        run: detect,
        max_len: 16 << 10,
    },
    Target {
        name: "redact",
        run: redact,
        max_len: 16 << 10,
    },
    Target {
        name: "gitconfig",
        run: gitconfig,
        max_len: 8 << 10,
    },
    Target {
        name: "channel",
        run: channel,
        max_len: 4 << 10,
    },
    Target {
        name: "agentconf",
        run: agentconf_judge,
        max_len: 16 << 10,
    },
];

/// Environment variable naming a directory: a target binary started with it writes its
/// run-time seeds into `<dir>/<target>/` and exits (see [`seeds::generated`]).
pub const WRITE_SEEDS_ENV: &str = "AGENTBOX_FUZZ_WRITE_SEEDS";

/// Called once by each fuzz binary before the first input.
pub fn init(name: &str) {
    let Some(dir) = std::env::var_os(WRITE_SEEDS_ENV) else {
        return;
    };
    let dir = std::path::Path::new(&dir).join(name);
    std::fs::create_dir_all(&dir).expect("seed directory");
    for (file, bytes) in seeds::generated(name) {
        std::fs::write(dir.join(file), bytes).expect("write seed");
    }
    std::process::exit(0);
}

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn too_long(name: &str, data: &[u8]) -> bool {
    target(name).is_some_and(|t| data.len() > t.max_len)
}

/// FNV-1a of the input: knobs (buffer sizes, limits) that every mutation reshuffles, so that
/// plain files (a real HTTP head) stay valid seeds while read boundaries still vary.
fn knobs(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A `BufReader` over `data` whose buffer size (1..=64, or 8 KiB) comes from `k`: heads and
/// chunk lines then arrive cut at every kind of place.
fn reader(data: &[u8], k: u64) -> BufReader<&[u8]> {
    let cap = if k & 0x80 == 0 {
        8192
    } else {
        1 + (k as usize & 63)
    };
    BufReader::with_capacity(cap, data)
}

/// What `read_head` must hold to: a head is a prefix of the input ending in CRLF CRLF, no
/// longer than `max`, and nothing past it is consumed.
fn head_of(data: &[u8], k: u64) -> Option<(Vec<u8>, &[u8])> {
    // Small limits as well as the real one, so the size cap is exercised by small inputs.
    let max = if k & 0x100 == 0 {
        http::MAX_HEAD
    } else {
        16 + ((k >> 9) as usize & 1023)
    };
    let mut r = reader(data, k);
    match http::read_head(&mut r, max) {
        Ok(head) => {
            assert!(head.len() <= max, "head longer than its cap");
            assert!(head.ends_with(b"\r\n\r\n"), "head without its blank line");
            assert!(data.starts_with(&head), "head is not a prefix of the input");
            assert_eq!(
                head.windows(4).position(|w| w == b"\r\n\r\n"),
                Some(head.len() - 4),
                "head goes past its first blank line"
            );
            Some((head.clone(), &data[head.len()..]))
        }
        Err(HeadError::Closed) => {
            assert!(data.is_empty(), "Closed with bytes read");
            None
        }
        Err(HeadError::Truncated | HeadError::TooLarge | HeadError::Io(_)) => None,
    }
}

/// Copies one body and checks it went out verbatim: a prefix of what followed the head, of
/// exactly the announced length when that is known.
fn body(rest: &[u8], len: BodyLen, k: u64) {
    let mut r = reader(rest, k >> 20);
    let mut out = Vec::new();
    let res = http::copy_body(&mut r, &mut out, len);
    assert!(rest.starts_with(&out), "body not copied verbatim");
    if res.is_ok() {
        match len {
            BodyLen::Empty => assert!(out.is_empty()),
            BodyLen::Length(n) => assert_eq!(out.len() as u64, n),
            BodyLen::UntilClose => assert_eq!(out.len(), rest.len()),
            BodyLen::Chunked => assert!(out.ends_with(b"\r\n\r\n")),
        }
    }
}

/// A request head from the box, its target and its body framing.
pub fn http_request(data: &[u8]) {
    if too_long("http_request", data) {
        return;
    }
    let k = knobs(data);
    let Some((head, rest)) = head_of(data, k) else {
        return;
    };
    let Ok(req) = http::parse_request(&head) else {
        return;
    };
    assert!(!req.method.is_empty() && req.method.is_ascii());
    assert!(!req.target.is_empty() && req.target.bytes().all(|b| b.is_ascii_graphic()));
    if req.method.eq_ignore_ascii_case("CONNECT") {
        if let Ok(a) = http::parse_authority(&req.target, None) {
            authority_round_trip(&a);
        }
    } else if let Ok((a, path)) = http::parse_absolute(&req.target) {
        assert!(path.starts_with('/'), "origin-form path without '/'");
        assert!(!path.contains('#'));
        authority_round_trip(&a);
    }
    if let Ok(len) = http::request_body(&req) {
        assert_ne!(
            len,
            BodyLen::UntilClose,
            "a request body cannot run until close"
        );
        body(rest, len, k);
    }
}

/// A response head from an upstream server and its body framing.
pub fn http_response(data: &[u8]) {
    if too_long("http_response", data) {
        return;
    }
    let k = knobs(data);
    let Some((head, rest)) = head_of(data, k) else {
        return;
    };
    let Ok(resp) = http::parse_response(&head) else {
        return;
    };
    assert!((0..=999).contains(&resp.status));
    let method = ["GET", "HEAD", "POST", "CONNECT"][(k >> 40) as usize & 3];
    if let Ok(len) = http::response_body(method, &resp) {
        body(rest, len, k);
    }
}

/// A parsed authority prints as `host:port` and parses back to itself.
fn authority_round_trip(a: &http::Authority) {
    assert!(a.port > 0);
    let again = http::parse_authority(&a.to_host_port(), None)
        .unwrap_or_else(|e| panic!("{a:?} does not parse back: {e}"));
    assert_eq!(&again, a, "authority changes when parsed again");
}

/// Authorities, absolute URIs, the Basic credential's base64, and chunked bodies alone.
pub fn http_parts(data: &[u8]) {
    if too_long("http_parts", data) {
        return;
    }
    // Encoding is lossless.
    assert_eq!(
        http::base64_decode(&http::base64(data)).as_deref(),
        Some(data),
        "base64 round trip"
    );
    let k = knobs(data);
    body(data, BodyLen::Chunked, k);
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(bytes) = http::base64_decode(s) {
        assert_eq!(
            bytes.len(),
            s.len() / 4 * 3 - s.bytes().rev().take_while(|&c| c == b'=').count()
        );
        assert_eq!(http::base64_decode(&http::base64(&bytes)), Some(bytes));
    }
    for default in [None, Some(80)] {
        if let Ok(a) = http::parse_authority(s, default) {
            authority_round_trip(&a);
        }
    }
    if let Ok((a, path)) = http::parse_absolute(s) {
        assert!(path.starts_with('/'));
        authority_round_trip(&a);
    }
}

/// The ClientHello the box sends into a CONNECT tunnel.
pub fn sni(data: &[u8]) {
    if too_long("sni", data) {
        return;
    }
    let whole = sni::parse_client_hello(data);
    if let ClientHello::Parsed { sni: Some(host) } = &whole {
        assert!(!host.is_empty() && !host.ends_with('.'));
        assert!(host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b)));
    }
    // The proxy parses a growing buffer: a prefix says "more" or already has the answer,
    // and once the hello is complete more bytes change nothing.
    let k = knobs(data) as usize;
    for cut in [
        data.len() / 2,
        data.len().saturating_sub(1),
        k % (data.len() + 1),
    ] {
        let part = sni::parse_client_hello(&data[..cut]);
        match (&part, &whole) {
            (ClientHello::Incomplete, _) => {}
            (ClientHello::Parsed { .. }, _) => {
                assert_eq!(&part, &whole, "prefix parsed differently")
            }
            (ClientHello::NotTls, ClientHello::NotTls) => {}
            (ClientHello::Malformed(_), ClientHello::Malformed(_)) => {}
            _ => panic!("prefix of {cut} bytes: {part:?}, whole: {whole:?}"),
        }
    }
}

/// Splits a profile input into up to three files: `a.yaml`, and `b.yaml` / `c.yaml` after
/// lines reading `#%` (so `extends: b.yaml` chains between fuzzed files).
fn profile_files(text: &str) -> Vec<&str> {
    text.splitn(3, "\n#%\n").collect()
}

/// A profile file (user YAML, maybe written by the agent): parse, resolve with `extends`,
/// the error messages, widening checks and path expansion.
pub fn profile(data: &[u8]) {
    use std::sync::OnceLock;
    if too_long("profile", data) {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match load::parse(text, "fuzz.yaml") {
        Ok(p) => {
            let _ = load::widening(&agentbox::profile::Profile::default(), &p);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // A private directory per process, holding only the fuzzed files; user profiles are
    // looked up there too.
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("agentbox-fuzz-profile-{}", std::process::id()));
        std::fs::create_dir_all(d.join("config/agentbox/profiles")).unwrap();
        std::env::set_var("XDG_CONFIG_HOME", d.join("config"));
        d
    });
    let names = ["a.yaml", "b.yaml", "c.yaml"];
    for (i, name) in names.iter().enumerate() {
        let _ = std::fs::remove_file(dir.join(name));
        if let Some(t) = profile_files(text).get(i) {
            std::fs::write(dir.join(name), t).unwrap();
        }
    }
    match load::resolve(&dir.join("a.yaml").to_string_lossy()) {
        Ok(r) => {
            assert_eq!(r.chain.len(), r.layers.len());
            for w in r.layers.windows(2) {
                let _ = load::widening(&w[1], &w[0]);
            }
            let _ = load::workspace_widening(&r, dir);
            let vars = agentbox::profile::expand::Vars::standard("/home/u", "/work/ws", "/tmp/box");
            let fs = &r.profile.filesystem;
            for p in fs
                .read
                .iter()
                .chain(&fs.write)
                .chain(&fs.exec)
                .chain(&fs.deny)
                .chain(&fs.protect)
            {
                let _ = vars.expand(p);
            }
            for v in r.profile.env.set.values() {
                let _ = vars.expand_value(v);
            }
            for h in &r.profile.network.allow {
                let _ = h
                    .parse::<agentbox::net::policy::HostRule>()
                    .map(|r| r.to_string());
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The secret detector on arbitrary text, and the environment classifier on `NAME=value`.
pub fn detect(data: &[u8]) {
    if too_long("detect", data) {
        return;
    }
    let engine = Engine::builtin();
    let found = engine.find(data);
    let mut end = 0;
    for f in &found {
        assert!(
            f.start < f.end && f.end <= data.len(),
            "finding out of bounds: {f:?}"
        );
        assert!(f.start >= end, "findings overlap or are unsorted");
        end = f.end;
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let (name, value) = s.split_once('=').unwrap_or((s, ""));
        let _ = classify_env(name, value);
        let _ = engine.value_rule(s);
    }
}

/// Input of the `redact` target: which built-in example token to plant, how to cut the
/// stream into pushes, and the text around the token. The header is
/// `[example, flags, n, cut_1 (2 bytes LE) .. cut_n]`, the rest is the text.
struct RedactInput<'a> {
    example: Option<usize>,
    exact: bool,
    cuts: Vec<usize>,
    text: &'a [u8],
}

fn redact_input(data: &[u8]) -> Option<RedactInput<'_>> {
    let (&[ex, flags, n], rest) = data.split_first_chunk::<3>()?;
    let n = usize::from(n & 15);
    let (cuts, text) = rest.split_at_checked(2 * n)?;
    let examples = examples();
    let example = (usize::from(ex) < examples.len()).then_some(usize::from(ex));
    let cuts = cuts
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
        .collect();
    Some(RedactInput {
        example,
        exact: flags & 1 != 0,
        cuts,
        text,
    })
}

/// Known values the `redact` target masks when its flag says so (seeds use them).
pub const EXACT_VALUES: [&str; 2] = ["sekrit-value-123", "p@ss w0rd/+="];

/// A rule id, its example text, and the secret bytes the example must not leak.
type Example = (String, String, Vec<Vec<u8>>);

/// The built-in rules' examples.
fn examples() -> &'static [Example] {
    use std::sync::OnceLock;
    static EX: OnceLock<Vec<Example>> = OnceLock::new();
    EX.get_or_init(|| {
        let engine = Engine::builtin();
        engine
            .examples()
            .into_iter()
            .map(|(id, text)| {
                let secrets = engine
                    .find(text.as_bytes())
                    .iter()
                    .map(|f| text.as_bytes()[f.start..f.end].to_vec())
                    .collect();
                (id, text, secrets)
            })
            .collect()
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// The streaming redactor fed the agent's output in arbitrary pieces: it never panics, and a
/// built-in example token planted on its own line is masked however the stream is cut.
pub fn redact(data: &[u8]) {
    use std::sync::OnceLock;
    if too_long("redact", data) {
        return;
    }
    let Some(input) = redact_input(data) else {
        return;
    };
    let mut stream = Vec::with_capacity(input.text.len() + 256);
    let (before, after) = match input.text.iter().position(|&b| b == 0xff) {
        Some(i) => (&input.text[..i], &input.text[i + 1..]),
        None => (input.text, &b""[..]),
    };
    let planted = input.example.map(|i| &examples()[i]);
    stream.extend_from_slice(before);
    if let Some((_, text, _)) = planted {
        stream.push(b'\n');
        stream.extend_from_slice(text.as_bytes());
        stream.push(b'\n');
    }
    stream.extend_from_slice(after);
    // Known values (the exact-match path with its encodings), compiled once: building the
    // automaton for each input would cost more than the rest of the run.
    static EXACT: OnceLock<ExactValues> = OnceLock::new();
    let exact = if input.exact {
        EXACT
            .get_or_init(|| ExactValues::new(&[EXACT_VALUES[0].into(), EXACT_VALUES[1].into()]))
            .clone()
    } else {
        ExactValues::default()
    };
    let mut r = Redactor::with_exact(Engine::builtin(), exact);
    let mut out = Vec::new();
    let mut cuts: Vec<usize> = input.cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pos = 0;
    for c in cuts.into_iter().chain([stream.len()]) {
        r.push(&stream[pos..c], &mut out).unwrap();
        pos = c;
    }
    r.finish(&mut out).unwrap();
    if let Some((id, _, secrets)) = planted {
        for s in secrets {
            let around = contains(before, s) + contains(after, s);
            assert!(
                contains(&out, s) <= around,
                "example of {id} not masked (cuts {:?})",
                input.cuts
            );
        }
    }
}

/// A git config written by the agent: parsing, and the sanitizer's promise that the file it
/// writes parses to exactly the entries it kept.
pub fn gitconfig(data: &[u8]) {
    if too_long("gitconfig", data) {
        return;
    }
    let Ok(cfg) = config::parse(data) else {
        return;
    };
    let k = knobs(data);
    type Drop<'a> = &'a dyn Fn(usize, &config::Entry) -> bool;
    let drops: [Drop; 3] = [
        &|_, e| config::classify(e).is_some(),
        &|i, _| (k >> (i % 64)) & 1 == 1,
        &|_, _| true,
    ];
    let key = |e: &config::Entry| (e.name_bytes(), e.value_bytes().map(<[u8]>::to_vec));
    for drop in drops {
        // `sanitize` hands back references into `cfg.entries`: their index is their offset.
        let base = cfg.entries.as_ptr() as usize;
        let index = |e: &config::Entry| {
            (e as *const config::Entry as usize - base) / std::mem::size_of::<config::Entry>()
        };
        let clean = config::sanitize(data, &cfg, |e| drop(index(e), e));
        let kept: Vec<_> = cfg
            .entries
            .iter()
            .enumerate()
            .filter(|(i, e)| !drop(*i, e))
            .map(|(_, e)| key(e))
            .collect();
        let again = config::parse(&clean)
            .unwrap_or_else(|e| panic!("sanitized config does not parse: {e}"));
        let got: Vec<_> = again.entries.iter().map(key).collect();
        assert!(got == kept, "sanitized config parses to other entries");
    }
    assert_eq!(config::sanitize(data, &cfg, |_| false), data);
}

/// A message from the box to the supervisor.
pub fn channel(data: &[u8]) {
    if too_long("channel", data) {
        return;
    }
    if let Ok(m) = channel::decode(data) {
        let bytes = channel::encode(&m);
        assert_eq!(channel::decode(&bytes).ok(), Some(m.clone()));
        if !matches!(m, channel::Msg::SetupError(_)) {
            assert_eq!(bytes, data);
        }
    }
}

/// The agents' configuration kinds, by the input's first byte.
const AGENT_KINDS: [Kind; 5] = [
    Kind::ClaudeJson,
    Kind::CodexConfig,
    Kind::GeminiSettings,
    Kind::GeminiTrustedFolders,
    Kind::OpencodeConfig,
];

/// `agentconf::judge` of what the box left in an agent's configuration file. Input: one byte
/// for the kind, then the launch version and the box's version split at the first `\n#%\n`
/// (no split: no file at launch). A rewrite must name what it drops and must itself pass the
/// judge: the file agentbox writes back holds none of the changes it refused.
pub fn agentconf_judge(data: &[u8]) {
    if too_long("agentconf", data) {
        return;
    }
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let kind = AGENT_KINDS[usize::from(k) % AGENT_KINDS.len()];
    let (before, after) = match rest.windows(4).position(|w| w == b"\n#%\n") {
        Some(i) => (Some(&rest[..i]), &rest[i + 4..]),
        None => (None, rest),
    };
    let ws = std::path::Path::new("/w/repo");
    match agentconf::judge(kind, before, Some(after), ws) {
        Verdict::Keep | Verdict::Revert { .. } => {}
        Verdict::Rewrite { content, not_kept } => {
            assert!(!not_kept.is_empty(), "a rewrite that drops nothing");
            let again = agentconf::judge(kind, before, Some(&content), ws);
            assert_eq!(
                again,
                Verdict::Keep,
                "the rewritten file does not pass: {}",
                String::from_utf8_lossy(&content)
            );
        }
    }
}
