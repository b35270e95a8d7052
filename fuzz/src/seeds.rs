//! Seed inputs made at run time, beside the committed ones in `fuzz/seeds/<target>/`.
//!
//! Token samples come from the built-in rules' own examples, expanded when the seeds are
//! written (the repository holds no token-shaped string); profiles are read from
//! `profiles/`; ClientHellos are assembled here the way a TLS client lays them out.

use std::path::{Path, PathBuf};

use agentbox::detect::Engine;
use agentbox::sandbox::channel::{self, Msg};

/// The repository's root (the parent of `fuzz/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ has a parent")
        .to_path_buf()
}

/// Directory of the committed seeds of `target`.
pub fn committed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target)
}

/// The committed seeds of `target`, as (file name, bytes).
pub fn committed(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(committed_dir(target))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("readable seed"),
            )
        })
        .collect();
    out.sort();
    out
}

/// Seeds of `target` made at run time, as (file name, bytes).
pub fn generated(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "http_request" => requests(),
        "sni" => client_hellos(),
        "profile" => profiles(),
        "detect" => detect(),
        "redact" => redact(),
        "channel" => messages(),
        "dns" => queries(),
        "views" => start_up_files(),
        _ => Vec::new(),
    }
}

/// Requests carrying the proxy credential (a Basic header reads as a secret to scanners, so
/// it is not committed).
fn requests() -> Vec<(String, Vec<u8>)> {
    let basic = agentbox::net::http::base64(b"agentbox:fuzz");
    vec![(
        "gen-connect-v6-auth".into(),
        format!(
            "CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\nProxy-Authorization: Basic {basic}\r\n\r\n"
        )
        .into_bytes(),
    )]
}

/// A TLS 1.3-shaped ClientHello carrying `sni`, in records of at most `record` bytes.
pub fn client_hello(sni: Option<&str>, record: usize) -> Vec<u8> {
    let mut exts = Vec::new();
    if let Some(name) = sni {
        let n = name.as_bytes();
        let mut list = vec![0u8];
        list.extend_from_slice(&(n.len() as u16).to_be_bytes());
        list.extend_from_slice(n);
        let mut data = (list.len() as u16).to_be_bytes().to_vec();
        data.extend_from_slice(&list);
        exts.extend_from_slice(&0u16.to_be_bytes());
        exts.extend_from_slice(&(data.len() as u16).to_be_bytes());
        exts.extend_from_slice(&data);
    }
    // supported_versions (TLS 1.3), ALPN h2/http1.1, an empty padding extension.
    exts.extend_from_slice(&[0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
    exts.extend_from_slice(&[0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, b'h', b'2']);
    exts.extend_from_slice(b"\x08http/1.1");
    exts.extend_from_slice(&[0x00, 0x15, 0x00, 0x00]);
    let mut body = vec![0x03, 0x03];
    body.extend((0..32u8).map(|i| i.wrapping_mul(37)));
    body.push(32);
    body.extend((0..32u8).map(|i| i.wrapping_mul(11)));
    body.extend_from_slice(&[0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03]);
    body.extend_from_slice(&[0x01, 0x00]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![1u8];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut out = Vec::new();
    for part in hs.chunks(record.max(1)) {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(part.len() as u16).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn client_hellos() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "gen-sni".into(),
            client_hello(Some("api.example.com"), 1 << 14),
        ),
        (
            "gen-sni-dot".into(),
            client_hello(Some("Example.COM."), 1 << 14),
        ),
        ("gen-no-sni".into(), client_hello(None, 1 << 14)),
        (
            "gen-split".into(),
            client_hello(Some("split.example.org"), 40),
        ),
        ("gen-tiny-records".into(), client_hello(Some("a.b"), 7)),
    ]
}

fn profiles() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(repo_root().join("profiles"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| {
            (
                format!("gen-{}", e.file_name().to_string_lossy()),
                std::fs::read(e.path()).expect("readable profile"),
            )
        })
        .collect();
    out.sort();
    // Chains between the fuzzed files (see `profile_files`).
    out.push((
        "gen-chain".into(),
        b"name: mine\nextends: b.yaml\nfilesystem:\n  write: [\"${WORKSPACE}/out\"]\n#%\nextends: c.yaml\nnetwork:\n  mode: allowlist\n  allow: [\"*.example.com:443\", \"api.example.org\"]\n#%\nextends: builtin:default\nenv:\n  set:\n    A: \"${HOME}/x\"\n".to_vec(),
    ));
    out.push((
        "gen-cycle".into(),
        b"extends: b.yaml\n#%\nextends: a.yaml\n".to_vec(),
    ));
    out
}

fn detect() -> Vec<(String, Vec<u8>)> {
    Engine::builtin()
        .examples()
        .into_iter()
        .enumerate()
        .map(|(i, (id, text))| {
            let log = format!("2024-05-01T10:00:00Z INFO starting\n{text}\nDEBUG done ok=true\n");
            (format!("gen-{i:03}-{id}"), log.into_bytes())
        })
        .collect()
}

/// Header of a `redact` input (see `RedactInput` in lib.rs).
fn redact_header(example: u8, exact: bool, cuts: &[u16]) -> Vec<u8> {
    let mut h = vec![example, u8::from(exact), cuts.len() as u8];
    for c in cuts {
        h.extend_from_slice(&c.to_le_bytes());
    }
    h
}

fn redact() -> Vec<(String, Vec<u8>)> {
    let examples = Engine::builtin().examples();
    let mut out = Vec::new();
    for (i, (id, _)) in examples.iter().enumerate().take(255) {
        let mut d = redact_header(i as u8, false, &[5, 17, 30, 31, 60]);
        d.extend_from_slice(b"$ env | sort\nHOME=/home/u\n\xffPATH=/usr/bin\nok\n");
        out.push((format!("gen-{i:03}-{id}"), d));
    }
    let mut d = redact_header(255, true, &[3, 9]);
    let [a, b] = crate::EXACT_VALUES;
    let text = format!(
        "{a} is known\nand {a} again\nb64 {}\nurl p%40ss%20w0rd%2F%2B%3D {b}\n",
        agentbox::net::http::base64(a.as_bytes())
    );
    d.extend_from_slice(text.as_bytes());
    out.push(("gen-exact".into(), d));
    out
}

fn messages() -> Vec<(String, Vec<u8>)> {
    [
        Msg::SetupError(agentbox::sandbox::SetupError {
            stage: agentbox::sandbox::Stage::Proc,
            detail: "EPERM".into(),
        }),
        Msg::ExecError(2),
        Msg::Status(0x0f00),
        Msg::Listeners,
        Msg::TraceReady,
        Msg::Go,
        Msg::NoTrace,
        Msg::GitViews,
        Msg::Broker,
        Msg::Resolver,
        Msg::Stopped(20),
    ]
    .iter()
    .enumerate()
    .map(|(i, m)| (format!("gen-{i}"), channel::encode(m)))
    .collect()
}

/// DNS queries as resolvers send them: A, AAAA and HTTPS for a name, over UDP (TCP's length
/// prefix is stripped before `answer`).
fn queries() -> Vec<(String, Vec<u8>)> {
    let q = |name: &str, qtype: u16| {
        let mut m = vec![0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1];
        for l in name.split('.') {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.extend_from_slice(&[0]);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        // An EDNS0 OPT record, as glibc and c-ares add.
        m.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
        m
    };
    vec![
        ("gen-a".into(), q("registry.npmjs.org", 1)),
        ("gen-aaaa".into(), q("pypi.org", 28)),
        ("gen-https".into(), q("Crates.IO", 65)),
    ]
}

/// Start-up files in each format (the first byte picks it), with a token on one line.
fn start_up_files() -> Vec<(String, Vec<u8>)> {
    let tok = format!("gh{}_{}", "p", "Q7xK9mP2vR4tW8zL3nB6cF1hJ5dG0sYQ7xK9");
    vec![
        (
            "gen-bashrc".into(),
            format!("\0alias ll='ls -l'\nif true; then\n  export GITHUB_TOKEN={tok}\nfi\nPS1='$ '\n")
                .into_bytes(),
        ),
        (
            "gen-gitconfig".into(),
            format!("\x01[user]\n\tname = T\n[url \"https://x:{tok}@github.com/\"]\n\tinsteadOf = https://github.com/\n")
                .into_bytes(),
        ),
    ]
}
