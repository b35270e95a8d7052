//! End-to-end tests of `agentbox redact` through the built binary.
//!
//! Fake secrets are generated at runtime from pieces so this file holds no secret shapes;
//! assertions never print them.

use crate::common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Deterministic fake with realistic entropy: `prefix` + `n` alphanumerics.
fn fake(prefix: &str, n: usize, seed: u64) -> String {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let alphabet = base64_alphabet();
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

/// Standard base64 alphabet, built (a literal one looks like a secret to scanners); its
/// first 62 characters are the alphanumerics.
fn base64_alphabet() -> Vec<u8> {
    (b'A'..=b'Z')
        .chain(b'a'..=b'z')
        .chain(b'0'..=b'9')
        .chain(*b"+/")
        .collect()
}

fn redact(args: &[&str], stdin: &[u8]) -> Output {
    redact_env(args, stdin, &[])
}

fn redact_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("redact")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn agentbox");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The child may exit early (e.g. bad args); a broken pipe is not a test failure.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer thread");
    out
}

/// Asserts `secret` is absent from stdout and stderr without printing it.
fn assert_clean(out: &Output, secret: &str, what: &str) {
    let s = secret.as_bytes();
    let leaked = |hay: &[u8]| hay.windows(s.len()).any(|w| w == s);
    assert!(!leaked(&out.stdout), "{what}: secret value in stdout");
    assert!(!leaked(&out.stderr), "{what}: secret value in stderr");
}

/// Errors exit with agentbox's own failure status: neither 0 nor 1 (1 means "found" with
/// --check).
fn assert_error_status(out: &Output) {
    let code = out.status.code();
    assert!(
        code.is_some() && code != Some(0) && code != Some(1),
        "exit {code:?} is not an error status"
    );
}

#[test]
fn filters_stdin_to_stdout() {
    let tok = fake("ghp_", 36, 1);
    let pw = fake("", 14, 2);
    let input = format!(
        "cargo build ok\nexport GITHUB_TOKEN={tok}\nDATABASE_URL=postgres://app:{pw}@db/app\ndone\n"
    );
    let out = redact(&[], input.as_bytes());
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
    assert_clean(&out, &tok, "token");
    assert_clean(&out, &pw, "password");
    assert_eq!(
        stdout(&out),
        "cargo build ok\nexport GITHUB_TOKEN=[REDACTED:github-pat]\n\
         DATABASE_URL=postgres://app:[REDACTED:url-password]@db/app\ndone\n"
    );
}

#[test]
fn non_secret_bytes_pass_through_unchanged() {
    let input: &[u8] = b"a\r\nb \xff\xfe\x00 c\n\x1b[31mred\x1b[0m\nsha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nlast";
    let out = redact(&[], input);
    assert!(out.status.success());
    assert!(out.stdout == input, "output differs from input");
}

#[test]
fn check_exits_one_and_prints_nothing() {
    let tok = fake("npm_", 36, 3);
    let out = redact(&["--check"], format!("token {tok}\n").as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "stdout not empty");
    assert_clean(&out, &tok, "check");

    let out = redact(&["--check"], b"nothing to see\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn check_json_reports_findings_without_values() {
    let tok = fake("glpat-", 20, 4);
    let input = format!("line one\n  key {tok}\n");
    let out = redact(&["--check", "--json"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert_clean(&out, &tok, "json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let f = &v["findings"][0];
    assert_eq!(f["rule_id"], "gitlab-pat");
    assert_eq!(f["file"], "-");
    assert_eq!(f["line"], 2);
    assert_eq!(f["column"], 7);
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(1));
}

#[test]
fn json_without_check_goes_to_stderr() {
    let tok = fake("ghp_", 36, 5);
    let out = redact(&["--json"], format!("{tok}\n").as_bytes());
    assert!(out.status.success());
    assert_clean(&out, &tok, "json stderr");
    assert_eq!(stdout(&out), "[REDACTED:github-pat]\n");
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).expect("json on stderr");
    assert_eq!(v["findings"][0]["rule_id"], "github-pat");
}

#[test]
fn values_from_env_masks_values_and_encodings() {
    // A password with no token shape: only the exact-value masking can catch it.
    let pw = format!("{}-{}", fake("", 6, 6), fake("", 6, 7));
    let b64 = {
        // base64 of "deploy:<pw>" as an HTTP Basic header would carry it.
        let data = format!("deploy:{pw}");
        let table = base64_alphabet();
        let mut s = String::new();
        for c in data.as_bytes().chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(char::from(table[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    s.push('=');
                }
            }
        }
        s
    };
    let sock = "/tmp/agentbox-test-agent.sock";
    let input = format!("login with {pw}\nX-Auth: {b64}\nplain line\nagent at {sock}\n");
    let env = [("DEPLOY_PASSWORD", pw.as_str()), ("SSH_AUTH_SOCK", sock)];
    let out = redact_env(&["--values-from-env"], input.as_bytes(), &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_clean(&out, &pw, "exact");
    let text = stdout(&out);
    assert!(
        text.starts_with("login with [REDACTED:exact-value]\n"),
        "first line"
    );
    assert!(text.contains("plain line\n"));
    assert!(!text.contains(&b64[4..16]), "base64 form left");
    // Capability values are paths, not secrets: kept, as the launcher does.
    assert!(
        text.contains(&format!("agent at {sock}\n")),
        "capability path masked"
    );

    // Without the flag the password is not a known shape and stays.
    let out = redact_env(&[], input.as_bytes(), &env);
    let first = stdout(&out).lines().next().map(str::to_string);
    assert!(
        first == Some(format!("login with {pw}")),
        "first line changed"
    );
}

#[test]
fn files_in_order_with_stdin_as_dash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    let tok_a = fake("ghp_", 36, 8);
    let tok_b = fake(&format!("xoxb-{}-", "1234567890"), 30, 9);
    std::fs::write(&a, format!("A1\nA2 {tok_a}\n")).unwrap();
    std::fs::write(&b, format!("B1 {tok_b}\nB2")).unwrap();
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = redact(&[a_s, "-", b_s], b"S1\n");
    assert_clean(&out, &tok_a, "file a");
    assert_clean(&out, &tok_b, "file b");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "A1\nA2 [REDACTED:github-pat]\nS1\nB1 [REDACTED:slack-token]\nB2"
    );

    let out = redact(&["--check", "--json", a_s, b_s], b"");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<(String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(files, [(a_s.to_string(), 2), (b_s.to_string(), 1)]);
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let out = redact(&["/nonexistent/agentbox-test.log"], b"");
    assert_error_status(&out);
    assert!(
        stderr(&out).contains("/nonexistent/agentbox-test.log"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn user_rules_file_adds_rules_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  - id: acme-token\n    regex: '\\b(acme_[a-z0-9]{20})\\b'\n    keywords: [acme_]\n    examples: ['acme_@{lowalnum:20}']\n    negative_examples: ['acme_x']\n",
    )
    .unwrap();
    let tok = format!("acme_{}", fake("", 20, 10).to_ascii_lowercase());
    let out = redact(
        &["--rules", rules.to_str().unwrap()],
        format!("{tok}\n").as_bytes(),
    );
    assert_clean(&out, &tok, "user rule");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "[REDACTED:acme-token]\n");

    std::fs::write(
        &rules,
        "rules:\n  - id: bad\n    regex: '(oops'\n    keywords: [oops]\n",
    )
    .unwrap();
    let out = redact(&["--rules", rules.to_str().unwrap()], b"x\n");
    assert_error_status(&out);
    let err = stderr(&out);
    assert!(err.contains("rules.yaml:2") && err.contains("bad"), "{err}");
}

#[test]
fn streams_line_by_line_through_a_pipe() {
    let mut child = Command::new(bin())
        .arg("redact")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let timeout = Duration::from_secs(20);
    for i in 0..3 {
        let tok = fake("ghp_", 36, 100 + i);
        writeln!(stdin, "step {i}: token={tok}").unwrap();
        stdin.flush().unwrap();
        // stdin stays open: the line must come back before EOF.
        let got = rx
            .recv_timeout(timeout)
            .expect("redacted line within timeout");
        assert!(!got.contains(&tok), "secret value in streamed line");
        assert_eq!(got, format!("step {i}: token=[REDACTED:github-pat]"));
    }
    // A partial line is held until its newline (or EOF).
    write!(stdin, "partial ").unwrap();
    stdin.flush().unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    drop(stdin);
    assert_eq!(rx.recv_timeout(timeout).expect("tail at EOF"), "partial ");
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
}

#[test]
fn help_mentions_the_flags() {
    let out = Command::new(bin())
        .args(["redact", "--help"])
        .output()
        .unwrap();
    let help = stdout(&out);
    for flag in ["--values-from-env", "--check", "--json", "--rules"] {
        assert!(help.contains(flag), "{flag} missing from help");
    }
}

/// A person's allow-list in the fixture's `$XDG_CONFIG_HOME/agentbox/allow.yaml`.
fn write_allow(config_home: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = config_home.join("agentbox/allow.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn personal_allow_list_lets_listed_values_and_patterns_through_redact() {
    let f = Fixture::new(As::Me);
    let listed = fake("ghp_", 36, 71);
    let by_pattern = fake("sk_live_", 24, 72);
    let other = fake("ghp_", 36, 73);
    let input = format!("{listed}\n{by_pattern}\n{other}\n");
    let config = f.home.join(".config");
    let run = |cwd: &std::path::Path| {
        let mut c = Command::new(bin());
        c.arg("redact")
            .current_dir(cwd)
            .env("XDG_CONFIG_HOME", &config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // Without the file every token is redacted (the list is what lets them through).
    let out = run(&f.ws);
    assert!(out.status.success());
    assert_eq!(stdout(&out).matches("[REDACTED:").count(), 3);
    write_allow(
        &config,
        &format!("values:\n  - \"{listed}\"\npatterns:\n  - 'sk_live_[A-Za-z0-9]{{24}}'\n"),
    );
    let out = run(&f.ws);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&listed) && text.contains(&by_pattern));
    assert!(
        !text.contains(&other),
        "a token the list does not name was let through"
    );
    assert_eq!(text.matches("[REDACTED:").count(), 1);
}

#[test]
fn personal_allow_list_is_shown_by_count_and_applied_to_the_environment() {
    let f = Fixture::new(As::Me);
    let listed = fake("ghp_", 36, 81);
    let pattern = "ghp_[A-Za-z0-9]{36}_never".to_string();
    let path = write_allow(
        &f.home.join(".config"),
        &format!(
            "values:\n  - \"{listed}\"\npatterns:\n  - '{pattern}'\nnames: [KEEP_THIS_TOKEN]\n"
        ),
    );
    let keep = fake("", 24, 82);
    let out = f.agentbox_env(
        &["run", "--dry-run", "--json", "--", "true"],
        &[("INNOCENT_NAME", &listed), ("KEEP_THIS_TOKEN", &keep)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &plan["env"]["allow_list"];
    assert_eq!(a["state"], "applied");
    assert_eq!(a["file"], path.display().to_string());
    assert_eq!(
        (
            a["values"].as_u64(),
            a["patterns"].as_u64(),
            a["names"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let removed: Vec<&str> = plan["env"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(!removed.contains(&"INNOCENT_NAME") && !removed.contains(&"KEEP_THIS_TOKEN"));
    let kept = plan["env"]["kept_on_purpose"].to_string();
    assert!(kept.contains("KEEP_THIS_TOKEN") && kept.contains("allow.yaml"));
    // Counts only: neither the pattern nor the kept value's text is in the plan's summary.
    let out = f.agentbox_env(
        &["run", "--dry-run", "--", "true"],
        &[("INNOCENT_NAME", &listed)],
    );
    let text = stdout(&out);
    assert!(text.contains("allow-list") && text.contains("1 values, 1 patterns, 1 names"));
    assert!(!all_output(&out).contains(&pattern));
}

#[test]
fn an_allow_list_the_box_could_write_is_never_read() {
    let f = Fixture::new(As::Me);
    let token = fake("ghp_", 36, 91);
    // XDG_CONFIG_HOME inside the workspace: a repository could ship its own allow-list.
    let inside = f.ws.join(".config");
    write_allow(&inside, &format!("values:\n  - \"{token}\"\n"));
    let inside_s = inside.display().to_string();
    let out = f.agentbox_env(
        &["run", "--dry-run", "--json", "--", "true"],
        &[("XDG_CONFIG_HOME", &inside_s), ("INNOCENT_NAME", &token)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["env"]["allow_list"]["state"], "ignored_in_workspace");
    let removed = plan["env"]["removed"].to_string();
    assert!(
        removed.contains("INNOCENT_NAME"),
        "the workspace's list was applied"
    );
    let out = f.agentbox_env(
        &["run", "--dry-run", "--", "true"],
        &[("XDG_CONFIG_HOME", &inside_s)],
    );
    assert!(stdout(&out).contains("ignored: it is inside the workspace"));
    // redact, run in the repository: the list is not applied, and stderr says why.
    let out = redact_in(
        &f.ws,
        &[("XDG_CONFIG_HOME", &inside_s)],
        &format!("{token}\n"),
    );
    assert!(out.status.success());
    assert!(!stdout(&out).contains(&token));
    assert!(stderr(&out).contains("ignored"));
}

#[test]
fn a_broken_allow_list_is_an_error_with_file_and_line_and_no_content() {
    let f = Fixture::new(As::Me);
    let secretish = fake("", 20, 95);
    let path = write_allow(
        &f.home.join(".config"),
        &format!("values:\n  - ok-value\npatterns:\n  - '{secretish}(['\n"),
    );
    let want = format!(
        "{}:4: patterns item #1 is not a valid regex",
        path.display()
    );
    let out = f.agentbox(&["run", "--dry-run", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    assert!(!all_output(&out).contains(&secretish));
    let config = f.home.join(".config").display().to_string();
    let out = redact_in(&f.ws, &[("XDG_CONFIG_HOME", &config)], "x\n");
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    assert!(!all_output(&out).contains(&secretish));
}

/// `agentbox redact` in `cwd` with extra variables.
fn redact_in(cwd: &std::path::Path, env: &[(&str, &str)], input: &str) -> Output {
    let mut c = Command::new(bin());
    c.arg("redact")
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}
