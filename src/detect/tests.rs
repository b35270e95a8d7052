//! Engine tests: every rule's examples, ordinary logs, spans, env classification.

use super::*;

/// A realistic-entropy fake token built at runtime, so this file holds no secret shapes.
fn fake(prefix: &str, n: usize, seed: u64) -> String {
    let body = rules::expand_template(&format!("@{{alnum:{n}}}"), seed).unwrap();
    format!("{prefix}{body}")
}

/// PEM armor lines, split in the source so scanners do not flag this file.
const BEGIN_RSA: &str = concat!("-----BEGIN RSA PRIV", "ATE KEY-----");
const END_RSA: &str = concat!("-----END RSA PRIV", "ATE KEY-----");
/// The AWS documentation's example key id (allowlisted as EXAMPLE).
const AWS_DOC_KEY_ID: &str = concat!("AKIA", "IOSFODNN7EXAMPLE");

fn ids(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|f| f.rule_id.as_str()).collect()
}

#[test]
fn builtin_rules_compile_and_every_rule_has_examples() {
    let e = Engine::builtin();
    assert!(e.rule_count() >= 45, "only {} rules", e.rule_count());
    for r in &e.rules {
        assert!(!r.examples.is_empty(), "{} has no examples", r.id);
        assert!(
            !r.negative_examples.is_empty(),
            "{} has no negative examples",
            r.id
        );
        // A detector's own keywords may be shorter (invisible characters of two bytes).
        if matches!(r.matcher, rules::Matcher::Regex(_)) {
            assert!(r.keywords.iter().all(|k| k.len() >= 3), "{}", r.id);
        }
    }
    // No built-in rule is generic: the secret-assignment detector reads names instead of
    // trusting entropy (a user file may still add generic rules; they lose every overlap).
    assert!(e.rules.iter().all(|r| !r.generic));
}

#[test]
fn every_rule_finds_its_examples_and_not_its_negatives() {
    let e = Engine::builtin();
    if let Err(err) = e.check_examples(|_| true) {
        panic!("{err:#}");
    }
    // Through the public API too: each example yields at least one finding.
    for r in &e.rules {
        for (n, ex) in r.examples.iter().enumerate() {
            let text = rules::expand_template(ex, rules::example_seed(&r.id, n)).unwrap();
            assert!(
                !e.find(text.as_bytes()).is_empty(),
                "{} example #{}",
                r.id,
                n + 1
            );
        }
    }
}

/// Ordinary build/test/VCS/container output must produce no finding at all. Expanded with
/// `rules::expand_template` (random integrity strings; `@{-}` splits what scanners flag).
const ORDINARY_LOGS: &str = r#"   Compiling tokio v1.37.0
   Compiling serde_json v1.0.117
   Compiling tokenizers v0.15.2
    Checking keyring v2.3.3
  Downloaded aho-corasick v1.1.3
    Finished `release` profile [optimized] target(s) in 41.23s
     Running `target/debug/deps/agentbox-3f2a1b4c5d6e7f80`
     Running unittests src/main.rs (target/debug/deps/auth_token-9c1d2e3f4a5b6c7d)
test auth::tests::token_refresh_rotates_key ... ok
test detect::tests::secret_key_base_is_loaded ... ok
test result: ok. 128 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.52s
error[E0425]: cannot find value `api_key` in this scope
warning: unused variable: `token`
  --> src/auth.rs:42:9
   |
42 |     let token = fetch_token(&client)?;
   |         ^^^^^ help: if this is intentional, prefix it with an underscore: `_token`
thread 'main' panicked at src/main.rs:10:5: called `Result::unwrap()` on an `Err` value: Os { code: 2, kind: NotFound, message: "No such file or directory" }
npm http fetch GET 200 https://registry.npmjs.org/@types%2fnode 150ms (cache revalidated)
npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.
npm notice shasum: 3f786850e387550fdab836ed7e6dc881de23001b
npm notice integrity: sha512-@{b64:86}==
      "integrity": "sha512-@{b64:86}==",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
added 1337 packages, and audited 1338 packages in 32s
npm ERR! code E401
npm ERR! Unable to authenticate, need: Basic realm="GitHub Package Registry"
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-8.2.0, pluggy-1.5.0
tests/test_auth.py::test_token_expiry PASSED                             [ 42%]
tests/test_auth.py::test_api_key_rotation FAILED                         [ 43%]
E       KeyError: 'access_token_expires_at'
E       AssertionError: assert 401 == 200
FAILED tests/test_auth.py::test_login - AssertionError: assert 401 == 200
=================== 1 failed, 57 passed, 3 skipped in 4.21s ====================
=== RUN   TestAPIKeyValidation/valid_key
--- PASS: TestTokenRefresh (0.00s)
ok  	github.com/acme/agentbox/internal/auth	0.012s
go: downloading golang.org/x/oauth2 v0.20.0
go: downloading github.com/golang-jwt/jwt/v5 v5.2.1
time=2024-05-01T10:00:00Z level=INFO msg="loaded config" key_count=3 token_ttl=3600
commit 3f786850e387550fdab836ed7e6dc881de23001b
Author: Jane Doe <jane@example.com>
Merge: 1a2b3c4 5d6e7f8
index 83db48f..bf269f4 100644
HEAD is now at 3f78685 Fix token refresh when the secret key rotates
From https://github.com/acme/agentbox
 * branch            main       -> FETCH_HEAD
remote: Enumerating objects: 5, done.
Cloning into 'agentbox'...
Step 5/12 : RUN cargo build --release
 ---> Running in 9f8e7d6c5b4a
#8 [builder 3/7] RUN --mount=type=secret,id=npmrc npm ci
Digest: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
Status: Downloaded newer image for rust:1.78
docker.io/library/rust@sha256:4f0b3d5e6a7c8b9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
request_id=0f8fad5b-d9cb-469f-a165-70867728950e trace=7d3c4b2a-1e0f-4a9b-8c7d-6e5f4a3b2c1d
idempotency_key=0f8fad5b-d9cb-469f-a165-70867728950e
copying path '/nix/store/8ljrq4cdxl2g8ajx1lh4d4dwdnadhrpw-hello-2.12.1' from 'https://cache.nixos.org'...
/nix/store/0c0x1v9w8i8s2c3kgx0n0n9m1q8ab8yq-python3.11-tokenizers-0.15.0
LS_COLORS=rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01:cd=40;33;01:or=40;31;01:mi=00:su=37;41:sg=30;43:ca=30;41:tw=30;42:ow=34;42:st=37;44:ex=01;32:*.tar=01;31:*.tgz=01;31:*.zip=01;31
Cache restored from key: Linux-cargo-3f786850e387550fdab836ed7e6dc881de23001b3f786850e387550f
Run actions/checkout@v4
  with:
    token: ***
    ssh-strict: true
git clone https:@{-}//x-access-token:${GITHUB_TOKEN}@github.com/acme/agentbox.git
Authorization: Bearer $TOKEN
TZ=Asia/Tokyo
loading private key from /etc/ssl/private/server.key
"#;

fn ordinary_logs() -> String {
    rules::expand_template(ORDINARY_LOGS, 0).unwrap()
}

#[test]
fn ordinary_logs_have_no_findings() {
    let e = Engine::builtin();
    let logs = ordinary_logs();
    for line in logs.lines() {
        let f = e.find(line.as_bytes());
        assert!(f.is_empty(), "fired {:?} on: {line}", ids(&f));
    }
    assert!(e.find(logs.as_bytes()).is_empty());
}

#[test]
fn url_password_masks_only_the_password() {
    let pw = fake("", 18, 1);
    let text = format!("connecting to postgres://app:{pw}@db:5432/app?sslmode=require");
    let f = Engine::builtin().find(text.as_bytes());
    assert_eq!(ids(&f), ["url-password"]);
    assert!(text[f[0].start..f[0].end] == pw, "span is not the password");
}

#[test]
fn token_in_url_userinfo_keeps_its_specific_id() {
    let tok = fake("ghp_", 36, 2);
    let text = format!("https://x:{tok}@github.com/o/r.git");
    let f = Engine::builtin().find(text.as_bytes());
    assert_eq!(ids(&f), ["github-pat"]);
    assert!(text[f[0].start..f[0].end] == tok, "span is not the token");
}

#[test]
fn private_key_block_is_one_finding() {
    let body = rules::expand_template("@{b64:64}\n@{b64:64}\n@{b64:12}==", 3).unwrap();
    let block = format!("{BEGIN_RSA}\n{body}\n{END_RSA}");
    let text = format!("before\n{block}\nafter\n");
    let f = Engine::builtin().find(text.as_bytes());
    assert_eq!(ids(&f), ["private-key"]);
    assert!(text[f[0].start..f[0].end] == block, "span is not the block");
}

#[test]
fn json_escaped_and_ansi_colored_tokens_are_found() {
    let e = Engine::builtin();
    let hook = rules::expand_template("T@{upalnum:8}\\/B@{upalnum:10}\\/@{alnum:24}", 4).unwrap();
    let text =
        format!(r#"{{"msg":"posting","url":"https:\/\/hooks.slack.com\/services\/{hook}"}}"#);
    let f = e.find(text.as_bytes());
    assert_eq!(ids(&f), ["slack-webhook-url"]);
    assert!(text[f[0].start..f[0].end].ends_with(&hook));

    let tok = fake("ghp_", 36, 5);
    let text = format!("token: \x1b[32m{tok}\x1b[0m done");
    let f = e.find(text.as_bytes());
    assert_eq!(ids(&f), ["github-pat"]);
    assert!(text[f[0].start..f[0].end].contains(&tok[..10]));

    // \u002b-escaped '+' inside a base64 secret in JSON.
    let key = rules::expand_template("@{alnum:40}", 6).unwrap();
    let escaped = format!("{}\\u002b{}", &key[..20], &key[20..39]);
    let text = format!(r#"{{"aws_secret_access_key":"{escaped}"}}"#);
    let f = e.find(text.as_bytes());
    assert_eq!(ids(&f), ["aws-secret-access-key"]);
    assert!(
        text[f[0].start..f[0].end] == escaped,
        "span is not the escaped key"
    );
}

#[test]
fn overlaps_merge_and_prefer_specific_rules() {
    let tok = fake("ghp_", 36, 7);
    let text = format!("Authorization: token {tok}\nGITHUB_TOKEN={tok}\n");
    let f = Engine::builtin().find(text.as_bytes());
    assert_eq!(ids(&f), ["github-pat", "github-pat"]);
    for w in f.windows(2) {
        assert!(w[0].end <= w[1].start);
    }
}

#[test]
fn value_rule_uses_shapes_not_the_generic_rule() {
    let e = Engine::builtin();
    assert_eq!(e.value_rule(&fake("ghp_", 36, 8)), Some("github-pat"));
    assert_eq!(
        e.value_rule(&format!("postgres://u:{}@h/db", "p")),
        Some(URL_PASSWORD_RULE)
    );
    assert_eq!(e.value_rule("postgres://localhost/db"), None);
    // A secret assignment inside a value (`JAVA_OPTS=-Ddb.password=...`) counts.
    assert_eq!(
        e.value_rule(&format!("api_key={}", fake("", 32, 9))),
        Some("secret-assignment")
    );
    assert_eq!(e.value_rule("api_key_file=/etc/app/key"), None);
    assert_eq!(e.value_rule(AWS_DOC_KEY_ID), None);
    assert_eq!(e.value_rule(""), None);
}

#[test]
fn classify_env_removes() {
    let ghp = fake("ghp_", 36, 10);
    let akia = rules::expand_template("AKIA@{b32:16}", 11).unwrap();
    let db_url = format!("postgres://u:{}@h/db", "p");
    let proxy = format!("http://me:{}@proxy:3128", "hunter2hunter");
    let cases: &[(&str, &str, ReasonKind)] = &[
        ("GITHUB_TOKEN", "x", ReasonKind::SecretName),
        ("AWS_SECRET_ACCESS_KEY", "x", ReasonKind::SecretName),
        ("STRIPE_API_KEY", "x", ReasonKind::SecretName),
        ("DEPLOY_PASSWORD", "x", ReasonKind::SecretName),
        ("NPM_TOKEN", "x", ReasonKind::SecretName),
        ("SYSTEM_ACCESSTOKEN", "x", ReasonKind::SecretName),
        ("AWS_SESSION_TOKEN", "x", ReasonKind::SecretName),
        ("DB_PASS", "x", ReasonKind::SecretName),
        (
            "SSH_AUTH_SOCK",
            "/run/user/1000/ssh-agent.sock",
            ReasonKind::CapabilityName,
        ),
        ("DATABASE_URL", &db_url, ReasonKind::UrlPassword),
        ("HTTPS_PROXY", &proxy, ReasonKind::UrlPassword),
        ("FOO", &ghp, ReasonKind::SecretValue),
        ("AWS_ACCESS_KEY_ID", &akia, ReasonKind::SecretValue),
        ("TOKENIZERS_PARALLELISM", &ghp, ReasonKind::SecretValue),
    ];
    for (name, value, kind) in cases {
        let r = classify_env(name, value).unwrap_or_else(|| panic!("{name} kept"));
        assert_eq!(r.kind, *kind, "{name}");
        assert!(!r.detail.contains(value), "{name}: detail leaks the value");
    }
    assert_eq!(
        classify_env("FOO", &ghp).unwrap().detail,
        "value looks like github-pat"
    );
    assert_eq!(
        classify_env("GITHUB_TOKEN", "x").unwrap().detail,
        "name contains TOKEN"
    );
}

#[test]
fn classify_env_keeps() {
    let ls_colors = ordinary_logs()
        .lines()
        .find_map(|l| l.strip_prefix("LS_COLORS="))
        .unwrap()
        .repeat(20);
    let cases: &[(&str, &str)] = &[
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", "/home/dev"),
        ("TERM", "xterm-256color"),
        ("LANG", "en_US.UTF-8"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("OPENAI_MAX_TOKENS", "4096"),
        ("MAX_THINKING_TOKENS", "31999"),
        ("GIT_AUTHOR_NAME", "Jane Doe"),
        ("PWD", "/work/main"),
        ("OLDPWD", "/work"),
        ("SSH_ASKPASS", "/usr/lib/ssh/x11-ssh-askpass"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_live_51Hx"),
        ("AWS_ACCESS_KEY_ID", AWS_DOC_KEY_ID),
        ("KEYTIMEOUT", "1"),
        ("DATABASE_URL", "postgres://localhost/db"),
        ("XDG_SESSION_TYPE", "wayland"),
        ("LS_COLORS", &ls_colors),
        ("GOPATH", "/home/dev/go"),
        ("CARGO_HOME", "/home/dev/.cargo"),
    ];
    for (name, value) in cases {
        assert_eq!(classify_env(name, value), None, "{name} removed");
    }
}

#[test]
fn reasons_and_findings_serialize_snake_case_without_values() {
    let r = classify_env("GITHUB_TOKEN", "secret-value-here").unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("secret-value-here"), "value in the JSON");
    assert_eq!(
        json,
        r#"{"kind":"secret_name","detail":"name contains TOKEN"}"#
    );
    assert!(!format!("{r:?}").contains("secret-value-here"));
    let f = Finding {
        rule_id: "jwt".into(),
        start: 1,
        end: 2,
    };
    assert_eq!(
        serde_json::to_string(&f).unwrap(),
        r#"{"rule_id":"jwt","start":1,"end":2}"#
    );
}

#[test]
fn user_rules_load_check_examples_and_report_lines() {
    let text = "rules:\n  - id: acme-token\n    regex: '\\b(acme_[a-z0-9]{20})\\b'\n    keywords: [acme_]\n    examples: ['acme_@{lowalnum:20}']\n    negative_examples: ['acme_short']\n";
    let e = Engine::from_yaml(text, "acme.yaml").unwrap();
    assert_eq!(e.rule_count(), 1);
    let tok = rules::expand_template("acme_@{lowalnum:20}", 12).unwrap();
    assert_eq!(ids(&e.find(tok.as_bytes())), ["acme-token"]);

    let both = Engine::builtin_with(text, "acme.yaml").unwrap();
    assert_eq!(both.rule_count(), Engine::builtin().rule_count() + 1);
    assert_eq!(
        ids(&both.find(format!("x={tok}").as_bytes())),
        ["acme-token"]
    );

    let bad = text.replace("acme_@{lowalnum:20}", "nothing");
    let err = format!("{:#}", Engine::builtin_with(&bad, "acme.yaml").unwrap_err());
    assert!(
        err.contains("acme.yaml:2") && err.contains("example"),
        "{err}"
    );

    let err = format!(
        "{:#}",
        Engine::from_yaml("rules: [", "broken.yaml").unwrap_err()
    );
    assert!(err.starts_with("broken.yaml:"), "{err}");
}

#[test]
fn no_panic_on_arbitrary_bytes() {
    let e = Engine::builtin();
    let mut state: u64 = 0x1234_5678;
    let pieces: &[&[u8]] = &[
        b"ghp_",
        BEGIN_RSA.as_bytes(),
        b"\\u",
        b"\\ud83d",
        b"\x1b[",
        b"\x1b]",
        b"://",
        b":",
        b"@",
        b"token=",
        b"\n",
        b"\r",
        b"\xff\xfe",
        b"Authorization: Bearer ",
        b"machine ",
        b" password ",
        b"AKIA",
        b"\\",
        b"\"",
        b"=",
        b"eyJ",
        b".",
    ];
    for _ in 0..2000 {
        let mut buf = Vec::new();
        for _ in 0..64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state % (pieces.len() as u64 + 8)) as usize;
            if i < pieces.len() {
                buf.extend_from_slice(pieces[i]);
            } else {
                buf.push((state >> 24) as u8);
            }
        }
        for f in e.find(&buf) {
            assert!(f.start < f.end && f.end <= buf.len());
        }
        let _ = e.value_rule(&String::from_utf8_lossy(&buf));
    }
}

#[test]
fn encoded_keywords_are_built_only_for_text_that_may_hold_them() {
    let e = Engine::from_yaml(include_str!("rules.yaml"), "rules.yaml").unwrap();
    // An environment's values: paths, words, numbers, a digest (hex that is not text).
    let digest = rules::expand_template("@{hex:64}", 3).unwrap();
    for v in [
        "/usr/share/gnome:/usr/local/share",
        "xterm-256color",
        "1000",
        &digest,
    ] {
        assert!(e.value_match(v, true).is_none(), "{v}");
    }
    assert!(
        e.encoded.get().is_none(),
        "built for values that hold no encoding"
    );
    assert!(e.encoded_table().is_some());
    let token = rules::expand_template("@{base64}ghp_@{alnum:36}@{/base64}", 4).unwrap();
    assert!(e.value_match(&token, true).is_some());
}

#[test]
fn default_rc_files_compile_no_regex() {
    // Every launch reads the person's rc files through the engine (their redacted views):
    // the lines of Debian's and Ubuntu's default ones, and a PATH line, must not cost a regex
    // compile (a fifth of a millisecond each; airtable-pat's `pat` keyword is in
    // "compatible", "path" and "PATH"). Nor must the status line every launch prints
    // through it (secret-env-fallback's `environ` is in "environment": 0.4 ms a launch).
    let e = Engine::new(rules::builtin().unwrap()).unwrap();
    let rc = "# ~/.profile: executed by Bourne-compatible login shells.\n\
              if [ -f ~/.bashrc ]; then\n    . ~/.bashrc\nfi\nmesg n 2> /dev/null || true\n\
              export PATH=\"/root/.cargo/bin:$PATH\"\nexport MANPATH=/usr/share/man\n\
              # the path of the file\n\
              agentbox: profile default | network off | layers: environment, namespaces, \
              landlock, landlock-truncate, landlock-ioctl-dev, landlock-scopes, network, seccomp, \
              no-new-privs, capabilities | 0 variables removed\n";
    assert!(e.find(rc.as_bytes()).is_empty());
    let compiled: Vec<&str> = e
        .rules
        .iter()
        .filter(|r| matches!(&r.matcher, rules::Matcher::Regex(re) if re.is_compiled()))
        .map(|r| r.id.as_str())
        .collect();
    assert!(compiled.is_empty(), "compiled for an rc file: {compiled:?}");
    // The rule itself still finds its token, whose dot stands 14 characters after `pat`.
    let tok = rules::expand_template("pat@{alnum:14}.@{hex:64}", 9).unwrap();
    assert_eq!(
        ids(&e.find(format!("AIRTABLE={tok}").as_bytes())),
        ["airtable-pat"]
    );
}

#[test]
fn requires_from_must_stay_below_within() {
    let rule = |req: &str| {
        format!(
            "rules:\n  - id: acme-token\n    regex: '\\b(acme_[a-z0-9]{{4}}\\.[a-z0-9]{{20}})\\b'\n    \
             keywords: [acme_]\n    requires: {req}\n    examples: ['acme_@{{lowalnum:4}}.@{{lowalnum:20}}']\n"
        )
    };
    assert!(Engine::from_yaml(&rule("{anyOf: '.', from: 4, within: 5}"), "a.yaml").is_ok());
    let err = format!(
        "{:#}",
        Engine::from_yaml(&rule("{anyOf: '.', from: 5, within: 5}"), "a.yaml").unwrap_err()
    );
    assert!(err.contains("from < within"), "{err}");
    // The byte must stand in the range: a dot elsewhere lets no match through.
    let e = Engine::from_yaml(&rule("{anyOf: '.', from: 4, within: 5}"), "a.yaml").unwrap();
    assert!(e.find(b"acme_ab.cd.efghijklmnopqrstuvwxyz").is_empty());
}

#[test]
fn bulk_input_finds_what_short_input_finds() {
    let e = Engine::builtin();
    let enc = rules::expand_template("@{base64}token=ghp_@{alnum:36}@{/base64}", 8).unwrap();
    let lines = format!(
        "{}\nsecret {enc}\nexport TOKEN={}\n",
        "   Compiling tokio v1.37.0\n".repeat(4),
        fake("ghp_", 36, 9)
    );
    let short = ids(&e.find(lines.as_bytes()))
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    assert_eq!(short.len(), 2, "{short:?}");
    let filler = "   Compiling serde v1.0.200\n".repeat(3000);
    let bulk = format!("{filler}{lines}");
    assert!(bulk.len() >= keywords::BULK);
    assert_eq!(ids(&e.find(bulk.as_bytes())), short);
}

/// Bulk text decodes the lines holding a long run instead of searching for encoded keywords:
/// an encoded token with no word of context is found at every size, and so is one written
/// with JSON's `\/`; ordinary runs (digests, integrity hashes) find nothing.
#[test]
fn encoded_tokens_are_found_at_every_size() {
    let e = Engine::builtin();
    let b64 =
        rules::expand_template("@{base64}{\"gh\":\"ghp_@{alnum:36}\"}@{/base64}", 11).unwrap();
    let hex = rules::expand_template("@{hex}ghp_@{alnum:36}@{/hex}", 12).unwrap();
    // The same base64 as JSON writes it, `/` escaped (built by hand so it holds one).
    let mut slashed =
        rules::expand_template("@{base64}ghp_@{alnum:36}~~~???@{/base64}", 13).unwrap();
    slashed.push_str("Pz8/");
    let slashed = slashed.replace('/', "\\/");
    assert!(slashed.contains("\\/"), "{slashed}");
    let noise = format!(
        "Digest: sha256:{}\n      \"integrity\": \"sha512-{}==\",\n",
        rules::expand_template("@{hex:64}", 14).unwrap(),
        rules::expand_template("@{b64:86}", 15).unwrap()
    );
    // Upper-case hex too (`xxd -u`, `od`, debug headers): the mid-sized path's keyword table
    // is case-sensitive, and once held only the lower-case form.
    let upper = hex.to_ascii_uppercase();
    let lines = format!(
        "{noise}{b64}\n  x {hex} y\nX-Token-Hex: {upper}\n{{\"v\": \"{slashed}\"}}\n{noise}"
    );
    let found = e.find(lines.as_bytes());
    let short = ids(&found);
    assert_eq!(short, ["encoded-secret"; 4], "{lines}");
    for repeat in [600, 3000] {
        let filler = format!("{noise}   Compiling serde v1.0.200\n").repeat(repeat / 6);
        let text = format!("{filler}{lines}{filler}");
        assert!(text.len() >= keywords::DIRECT, "{}", text.len());
        assert_eq!(ids(&e.find(text.as_bytes())), short, "{} bytes", text.len());
    }
}

/// Base64 and hex depend on case: the encoded keywords of mid-sized and bulk text (16 KiB and
/// more) once held the words of secret names in lower case only, and a PEM key's in lower
/// case, so a dotenv file's `DB_PASSWORD=`, a camel-case `clientSecret`, a Kubernetes
/// secret's `tls.key: LS0tLS1CRUdJTi...` or a connection string, base64-encoded, were found
/// alone and missed in a log.
#[test]
fn encoded_names_keys_and_urls_are_found_in_their_case_at_every_size() {
    let e = Engine::builtin();
    let b64 = |t: &str, seed| rules::expand_template(&format!("@{{base64}}{t}@{{/base64}}"), seed);
    let pem = format!(
        "{BEGIN_RSA}\n{}\n{}\n{END_RSA}\n",
        rules::expand_template("@{b64:64}", 21).unwrap(),
        rules::expand_template("@{b64:40}", 22).unwrap()
    );
    let lines = [
        format!(
            "ENV_B64={}",
            b64("DB_PASSWORD=@{alnum:16}\nAPI_HOST=db", 23).unwrap()
        ),
        format!("  tls.key: {}", b64(&pem, 24).unwrap()),
        format!(
            "cfg {}",
            b64("{\"clientSecret\": \"@{alnum:32}\"}", 25).unwrap()
        ),
        format!(
            "  DATABASE_URL: {}",
            b64("postgres:@{-}//app:@{alnum:20}@db:5432/app", 26).unwrap()
        ),
        format!(
            "GOOGLE_CREDENTIALS={}",
            b64(
                "{\"type\":\"service_account\",\"private_key\":\"@{b64:200}\"}",
                27
            )
            .unwrap()
        ),
    ];
    let text = lines.join("\n") + "\n";
    let found = e.find(text.as_bytes());
    let alone = ids(&found);
    assert_eq!(alone, ["encoded-secret"; 5], "{text}");
    for repeat in [600, 3000] {
        let filler = "   Compiling serde v1.0.200\n".repeat(repeat);
        let bulk = format!("{filler}{text}{filler}");
        assert!(bulk.len() >= keywords::DIRECT, "{}", bulk.len());
        assert_eq!(ids(&e.find(bulk.as_bytes())), alone, "{} bytes", bulk.len());
    }
}

#[test]
fn names_and_commands_are_found_wherever_their_window_starts() {
    // The assignment and command-line detectors search only between the first and the last
    // keyword hit of their window: several names and commands on one line, before and after
    // other keywords, inside long lines, are each still found, alone and in bulk text.
    let e = Engine::builtin();
    let v = |seed| rules::expand_template("@{alnum:24}", seed).unwrap();
    let long = "x".repeat(3000);
    let lines = [
        format!(
            "auth ok; DB_PASSWORD={} then mysql -u app -p{} appdb",
            v(1),
            v(2)
        ),
        format!(
            "curl -u ci:{} https://h/ && export API_TOKEN={}",
            v(3),
            v(4)
        ),
        format!("{long} session_secret={} {long} --password {}", v(5), v(6)),
        format!(
            "token_refresh ok, auth::tests PASSED, client_secret: \"{}\"",
            v(7)
        ),
        format!(
            "npm http fetch GET 200; npm config set //r.example/:_authToken {}",
            v(8)
        ),
    ];
    let alone: Vec<Vec<(usize, usize)>> = lines
        .iter()
        .map(|l| {
            e.find(l.as_bytes())
                .iter()
                .map(|f| (f.start, f.end))
                .collect()
        })
        .collect();
    assert_eq!(
        alone.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 2, 2, 1, 1],
        "{alone:?}"
    );
    let line = "   Compiling serde v1.0.200 (token_refresh, api_key_rotation)\n";
    let filler = line.repeat(2000);
    let mut text = filler.clone();
    let mut at = Vec::new();
    for l in &lines {
        at.push(text.len());
        text.push_str(l);
        text.push('\n');
        text.push_str(&line.repeat(10));
    }
    assert!(text.len() >= keywords::BULK, "{}", text.len());
    let found: Vec<(usize, usize)> = e
        .find(text.as_bytes())
        .iter()
        .map(|f| (f.start, f.end))
        .collect();
    let want: Vec<(usize, usize)> = (alone.iter().zip(&at))
        .flat_map(|(spans, &o)| spans.iter().map(move |&(s, e)| (s + o, e + o)))
        .collect();
    assert_eq!(found, want);
}

#[test]
fn a_private_key_header_followed_by_filler_is_still_found() {
    // Found by the redact fuzz target: the next line's `xxxxxx` made the block read as a fake.
    let e = Engine::builtin();
    let text = b"-----BEGIN PGP PRIV\x41TE KEY BLOCK-----\nPATHxxxxxxxxxxxxxxxx$/usr\nok\n";
    assert_eq!(ids(&e.find(text)), ["private-key"]);
}

#[test]
fn fakes_never_is_a_rule_attribute_not_an_id() {
    // The same match, a placeholder word in it: dropped by a rule with the default, kept by
    // one marked `fakes: never`, whatever the rule is called.
    let yaml = |fakes: &str| {
        format!(
            "rules:\n  - id: made-up\n    regex: 'MARK-[a-z]{{10,}}'\n    keywords: [MARK-]\n{fakes}"
        )
    };
    let text = b"MARK-exampletokenvalue\n";
    let checked = Engine::from_yaml(&yaml(""), "test").unwrap();
    assert!(checked.find(text).is_empty());
    let never = Engine::from_yaml(&yaml("    fakes: never\n"), "test").unwrap();
    assert_eq!(ids(&never.find(text)), ["made-up"]);
    assert!(Engine::from_yaml(&yaml("    fakes: sometimes\n"), "test").is_err());
}

#[test]
fn invisible_characters_inside_a_token_hide_it_from_neither_redact_nor_the_env_scrub() {
    let token = rules::expand_template("ghp_@{alnum:36}", 11).unwrap();
    for c in [
        '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}',
    ] {
        for at in [4, 9, 39] {
            let hidden = format!("{}{c}{}", &token[..at], &token[at..]);
            let line = format!("export X={hidden} # note\n");
            let f = Engine::builtin().find(line.as_bytes());
            assert_eq!(ids(&f), ["github-pat"], "U+{:04X} at {at}", u32::from(c));
            // The finding covers the whole token, the invisible character included.
            let (s, e) = (f[0].start, f[0].end);
            assert!(line[s..e].contains(c) && line[s..e].starts_with("ghp_"));
            let r = classify_env("INNOCENT_NAME", &hidden);
            assert!(
                r.is_some_and(|r| r.kind == ReasonKind::SecretValue),
                "env U+{:04X} at {at}",
                u32::from(c)
            );
        }
    }
}
