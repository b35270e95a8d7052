//! agentbox's own errors and warnings never echo a secret: a token typed or pasted where a
//! profile name, host, path or key belongs is named by its key, or masked as
//! `[REDACTED:rule-id]`, while the message still says what is wrong and where.
//!
//! The tokens here are not in the environment (unlike `common::secrets()`), so only the
//! message rules and the detector engine can keep them out of the output.

use crate::common::*;
use std::process::Output;

/// A token-shaped value of `prefix` + `n` characters, assembled at run time so the
/// repository holds no token-shaped literal; `seed` varies the body.
fn token(prefix: [&str; 2], n: usize, seed: usize) -> String {
    let body: String = "Vb4Nq8Rt2Ym6Hc0Xs5Kd1Pw9Jf3Lz7Ga"
        .chars()
        .cycle()
        .skip(seed)
        .take(n)
        .collect();
    format!("{}{}{body}", prefix[0], prefix[1])
}

/// A GitHub classic token shape.
fn pat(seed: usize) -> String {
    token(["gh", "p_"], 36, seed)
}

/// An npm token shape.
fn npm(seed: usize) -> String {
    token(["np", "m_"], 36, seed)
}

/// Fails (without printing the token) if `secret` appears anywhere in `o`, in any case
/// (host names are printed lower-cased); then returns stderr, which is safe to print in later
/// assertion messages.
fn no_leak(o: &Output, secret: &str, what: &str) -> String {
    assert!(
        !all_output(o)
            .to_lowercase()
            .contains(&secret.to_lowercase()),
        "{what}: a {}-byte token leaked into agentbox's output (not printed)",
        secret.len()
    );
    stderr(o)
}

/// Writes a profile into the workspace; returns the `./NAME` path to pass to `-p`.
fn ws_profile(f: &Fixture, name: &str, text: &str) -> String {
    std::fs::write(f.ws.join(name), text).unwrap();
    format!("./{name}")
}

fn dry_run(f: &Fixture, profile: &str) -> Output {
    f.agentbox(&["run", "-p", profile, "--dry-run", "--", "true"])
}

fn assert_setup_error(o: &Output, err: &str) {
    assert_eq!(o.status.code(), Some(125), "{err}");
}

#[test]
fn extends_naming_a_token_is_refused_without_the_token() {
    let f = Fixture::new(As::Me);
    let tok = pat(0);
    let p = ws_profile(&f, "p.yaml", &format!("# team\nextends: {tok}\n"));
    for args in [
        vec!["profile", "validate", "p.yaml"],
        vec!["run", "-p", &p, "--dry-run", "--", "true"],
    ] {
        let o = f.agentbox(&args);
        let err = no_leak(&o, &tok, "extends");
        assert_setup_error(&o, &err);
        assert!(
            err.contains("p.yaml:2:1: extends: no profile of that name (the value is not shown)")
                && err.contains("available: ")
                && err.contains("default"),
            "{err}"
        );
    }
    // A typo of an ordinary name is still shown.
    ws_profile(&f, "q.yaml", "extends: defualt\n");
    let o = f.agentbox(&["profile", "validate", "q.yaml"]);
    let err = stderr(&o);
    assert!(
        err.contains("q.yaml:1:1: extends: no profile named `defualt`"),
        "{err}"
    );
    // A path to a missing file named like a token.
    let p = ws_profile(&f, "r.yaml", &format!("extends: ./{tok}.yaml\n"));
    let o = dry_run(&f, &p);
    let err = no_leak(&o, &tok, "extends path");
    assert!(
        err.contains("r.yaml:1:1: extends: cannot read profile"),
        "{err}"
    );
}

#[test]
fn tokens_as_keys_or_bad_values_are_not_quoted() {
    let f = Fixture::new(As::Me);
    let tok = pat(1);
    let cases = [
        // (profile text, expected message)
        (
            format!("filesystem:\n  reed: {tok}\n"),
            "a.yaml:2:3: filesystem: unknown field `reed`, expected one of `read`",
        ),
        (
            format!("{tok}: 1\n"),
            "a.yaml:1:1: unknown field (the name is not shown), expected one of `name`",
        ),
        (
            format!("env:\n  inherit: {tok}\n"),
            "a.yaml:2:12: env.inherit: unknown variant (the name is not shown), expected one of `all`, `core`, `none`",
        ),
        (
            format!("network:\n  listen: [{tok}]\n"),
            "a.yaml:2:12: network.listen[0]: invalid value, expected u16 (the value is not shown)",
        ),
        (
            format!("network:\n  mode: \"{tok}\"\n"),
            "a.yaml:2:9: network.mode: unknown variant (the name is not shown)",
        ),
        (
            format!("command_args:\n  {tok}: 5\n"),
            "a.yaml:2:",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let p = ws_profile(&f, "a.yaml", text);
        let o = dry_run(&f, &p);
        let err = no_leak(&o, &tok, &format!("case {i}"));
        assert_setup_error(&o, &err);
        assert!(err.contains(want), "case {i}: {err}");
    }
    // The key under command_args is named by its place.
    let o = dry_run(&f, "./a.yaml");
    let err = stderr(&o);
    assert!(
        err.contains(
            "a.yaml:2:45: command_args.(key not shown): invalid type, expected a sequence"
        ),
        "{err}"
    );
    // Typos of ordinary values stay visible.
    let p = ws_profile(&f, "a.yaml", "env:\n  inherit: cor\n");
    let err = stderr(&dry_run(&f, &p));
    assert!(err.contains("unknown variant `cor`"), "{err}");
}

#[test]
fn token_in_network_allow_is_refused_by_name() {
    let f = Fixture::new(As::Me);
    let tok = npm(2);
    f.user_profile(
        "web",
        &format!("extends: default\nnetwork:\n  allow: [api.github.com, \"{tok}\"]\n"),
    );
    for args in [
        vec!["run", "-p", "web", "--dry-run", "--", "true"],
        vec!["run", "-p", "web", "--dry-run", "--json", "--", "true"],
        vec!["run", "-q", "-p", "web", "--", "true"],
    ] {
        let o = f.agentbox(&args);
        let err = no_leak(&o, &tok, "network.allow");
        assert_setup_error(&o, &err);
        assert!(
            err.contains(
                "network.allow: an entry looks like a secret (npm-access-token), not a host"
            ),
            "{err}"
        );
    }
    // The same list with a malformed ordinary host quotes it.
    f.user_profile("web", "network:\n  allow: [\"api..example.com\"]\n");
    let err = stderr(&dry_run(&f, "web"));
    assert!(
        err.contains("network.allow `api..example.com`: invalid host rule: empty label"),
        "{err}"
    );
    // network.local: named by key only.
    f.user_profile("web", &format!("network:\n  local: [\"{tok}\"]\n"));
    let o = dry_run(&f, "web");
    let err = no_leak(&o, &tok, "network.local");
    assert!(
        err.contains("network.local (value not shown): expected 127.0.0.1:PORT"),
        "{err}"
    );
}

#[test]
fn profile_flag_with_a_token_is_not_echoed() {
    let f = Fixture::new(As::Me);
    let tok = pat(3);
    for args in [
        vec!["run", "--profile", &tok, "--", "true"],
        vec!["run", "-p", &tok, "--dry-run", "--", "true"],
        vec!["profile", "show", &tok],
        vec!["check", "-p", &tok],
    ] {
        let o = f.agentbox(&args);
        let err = no_leak(&o, &tok, args[0]);
        assert_setup_error(&o, &err);
        assert!(
            err.contains("no profile of that name (the value is not shown); available: ")
                && err.contains("default"),
            "{err}"
        );
    }
    let err = stderr(&f.agentbox(&["run", "-p", "defualt", "--", "true"]));
    assert!(err.contains("no profile named `defualt`"), "{err}");
}

#[test]
fn allow_host_flag_with_a_token_is_not_echoed() {
    let f = Fixture::new(As::Me);
    let tok = pat(4);
    for extra in [&["--dry-run"][..], &["-q"][..]] {
        let mut args = vec!["run", "--allow-host", &tok];
        args.extend_from_slice(extra);
        args.extend(["--", "true"]);
        let o = f.agentbox(&args);
        let err = no_leak(&o, &tok, "--allow-host");
        assert_setup_error(&o, &err);
        assert!(
            err.contains("--allow-host: an entry looks like a secret (github-pat), not a host"),
            "{err}"
        );
    }
    // With a port, in IPv6 brackets, as a wildcard: still never echoed.
    for (i, h) in [
        format!("{tok}:443"),
        format!("[{tok}]:443"),
        format!("*.{tok}"),
    ]
    .iter()
    .enumerate()
    {
        let o = f.agentbox(&["run", "--allow-host", h, "--dry-run", "--", "true"]);
        let err = no_leak(&o, &tok, &format!("--allow-host form {i}"));
        assert_setup_error(&o, &err);
        assert!(err.contains("--allow-host"), "{err}");
    }
    let err = stderr(&f.agentbox(&[
        "run",
        "--allow-host",
        "api.github.com:https",
        "--dry-run",
        "--",
        "true",
    ]));
    assert!(
        err.contains(
            "--allow-host `api.github.com:https`: invalid host rule: a port is not a number"
        ),
        "{err}"
    );
}

#[test]
fn token_valued_variable_in_a_path_expansion_error_is_not_shown() {
    let f = Fixture::new(As::Me);
    let tok = npm(5);
    // /etc/passwd is a file: reading below it fails with ENOTDIR, an error that used to
    // print the expanded path.
    f.user_profile(
        "vars",
        "env:\n  files: [\"/etc/passwd/${ABX_NOTE}/.env\"]\n",
    );
    let o = f.agentbox_env(
        &["run", "-p", "vars", "--dry-run", "--", "true"],
        &[("ABX_NOTE", &tok)],
    );
    let err = no_leak(&o, &tok, "env.files expansion");
    assert_setup_error(&o, &err);
    assert!(
        err.contains("env.files `/etc/passwd/${ABX_NOTE}/.env`: cannot read: Not a directory"),
        "{err}"
    );
    // A path that expands to something relative names the path as written.
    f.user_profile("vars", "filesystem:\n  read: [\"${ABX_NOTE}/x\"]\n");
    let o = f.agentbox_env(
        &["run", "-p", "vars", "--dry-run", "--", "true"],
        &[("ABX_NOTE", &tok)],
    );
    let err = no_leak(&o, &tok, "relative expansion");
    assert!(
        err.contains("filesystem.read: path `${ABX_NOTE}/x` is not absolute after expansion"),
        "{err}"
    );
    // A missing path under the variable is listed in the plan, masked.
    f.user_profile(
        "vars",
        "filesystem:\n  read: [\"/nonexistent/${ABX_NOTE}\"]\n",
    );
    let o = f.agentbox_env(
        &["run", "-v", "-p", "vars", "--dry-run", "--", "true"],
        &[("ABX_NOTE", &tok)],
    );
    no_leak(&o, &tok, "missing path in the plan");
    assert!(stdout(&o).contains("/nonexistent/[REDACTED:"), "plan");
    // A secret with no token shape (AWS_SECRET_ACCESS_KEY of `common::secrets()`) is masked
    // as the exact value of a variable of agentbox's environment.
    f.user_profile(
        "vars",
        "filesystem:\n  read: [\"/nonexistent/${AWS_SECRET_ACCESS_KEY}\"]\n",
    );
    let o = f.agentbox(&["run", "-v", "-p", "vars", "--dry-run", "--", "true"]);
    assert!(
        all_output(&o).contains("/nonexistent/[REDACTED:exact-value]"),
        "exact value not masked in the plan or the log"
    );
    // env.set values are credentials: an error names the variable, not the value.
    f.user_profile(
        "vars",
        &format!("env:\n  set:\n    API_URL: \"https://x.invalid/${{ABX_UNSET_VAR}}/{tok}\"\n"),
    );
    let o = dry_run(&f, "vars");
    let err = no_leak(&o, &tok, "env.set");
    assert!(
        err.contains("env.set API_URL: variable `ABX_UNSET_VAR` is not set"),
        "{err}"
    );
}

#[test]
fn token_in_env_files_path_is_not_shown() {
    let f = Fixture::new(As::Me);
    let tok = pat(6);
    f.user_profile("dot", &format!("env:\n  files: [\"/etc/passwd/{tok}\"]\n"));
    let o = dry_run(&f, "dot");
    let err = no_leak(&o, &tok, "env.files");
    assert_setup_error(&o, &err);
    assert!(
        err.contains("profile dot: env.files (value not shown): cannot read: Not a directory"),
        "{err}"
    );
    // A missing file is skipped and listed in the plan: masked there.
    f.user_profile("dot", &format!("env:\n  files: [\"/nonexistent/{tok}\"]\n"));
    let o = dry_run(&f, "dot");
    no_leak(&o, &tok, "env.files in the plan");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn widening_workspace_profile_lists_keys_not_tokens() {
    let f = Fixture::new(As::Me);
    let tok = pat(7);
    let p = ws_profile(
        &f,
        "wide.yaml",
        &format!(
            "extends: default\nnetwork:\n  allow: [\"{tok}\"]\nfilesystem:\n  read: [/opt/{tok}, /opt/tools]\nenv:\n  files: [\"/etc/{tok}.env\"]\n"
        ),
    );
    let o = dry_run(&f, &p);
    let err = no_leak(&o, &tok, "widening");
    assert_setup_error(&o, &err);
    assert!(
        err.contains("refusing a profile inside the workspace that widens access"),
        "{err}"
    );
    for line in [
        "wide.yaml: network.allow: (value not shown)",
        "wide.yaml: filesystem.read: (value not shown)",
        "wide.yaml: filesystem.read: /opt/tools",
        "wide.yaml: env.files: (value not shown)",
    ] {
        assert!(err.contains(line), "{line}: {err}");
    }
}

#[test]
fn profile_validate_with_a_token_in_a_bad_place() {
    let f = Fixture::new(As::Me);
    let tok = npm(8);
    std::fs::write(
        f.ws.join("bad.yaml"),
        format!("description: x\nhardening:\n  nested_sandbox: {tok}\n"),
    )
    .unwrap();
    let o = f.agentbox(&["profile", "validate", "bad.yaml"]);
    let err = no_leak(&o, &tok, "validate");
    assert_setup_error(&o, &err);
    assert!(
        err.contains(
            "bad.yaml:3:19: hardening.nested_sandbox: invalid value, expected `true` or `false` (the value is not shown)"
        ),
        "{err}"
    );
    // `profile show` of a valid profile holding a token prints it masked.
    f.user_profile("shown", &format!("description: uses {tok}\n"));
    let o = f.agentbox(&["profile", "show", "shown"]);
    no_leak(&o, &tok, "profile show");
    assert!(stdout(&o).contains("[REDACTED:npm-access-token]"), "show");
    let o = f.agentbox(&["profile", "list"]);
    no_leak(&o, &tok, "profile list");
}

#[test]
fn other_flags_and_arguments_with_a_token() {
    let f = Fixture::new(As::Me);
    let tok = pat(9);
    let o = f.agentbox(&["run", "--simulate-kernel", &tok, "--", "true"]);
    let err = no_leak(&o, &tok, "--simulate-kernel");
    assert_setup_error(&o, &err);
    assert!(
        err.contains("--simulate-kernel: unknown simulation (value not shown); use landlock=N"),
        "{err}"
    );
    let err = stderr(&f.agentbox(&["run", "--simulate-kernel", "landlock=x", "--", "true"]));
    assert!(
        err.contains("landlock ABI must be a number, got `x`"),
        "{err}"
    );
    // clap's own errors quote the argument: masked.
    let flag = format!("--{tok}");
    let o = f.agentbox(&["run", &flag, "--", "true"]);
    let err = no_leak(&o, &tok, "unknown flag");
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(
        err.contains("unexpected argument '--[REDACTED:github-pat]'"),
        "{err}"
    );
    let o = f.agentbox(&["completions", &tok]);
    let err = no_leak(&o, &tok, "completions");
    assert!(
        err.contains("invalid value '[REDACTED:github-pat]'"),
        "{err}"
    );
    // A command named like a token (the agent's argv[0]) is not echoed either.
    let o = f.agentbox(&["run", "-q", "--", &tok]);
    let err = no_leak(&o, &tok, "command not found");
    assert_eq!(o.status.code(), Some(127), "{err}");
    assert!(
        err.contains("[REDACTED:github-pat]: command not found"),
        "{err}"
    );
    // `profile init` with a token as the name: the path it prints is masked.
    let o = f.agentbox(&["profile", "init", &tok]);
    no_leak(&o, &tok, "profile init");
}

#[test]
fn command_args_with_a_token_are_redacted_in_the_plan_and_report() {
    let f = Fixture::new(As::Me);
    let tok = npm(10);
    f.user_profile(
        "args",
        &format!("extends: default\ncommand_args:\n  \"true\": [--key, \"{tok}\"]\n"),
    );
    let o = f.agentbox(&["run", "-p", "args", "--dry-run", "--", "true"]);
    no_leak(&o, &tok, "dry-run");
    assert!(
        stdout(&o).contains("arguments added by the profile after `true`: --key [REDACTED:"),
        "plan"
    );
    let report = f.dir.path().join("report.json");
    let r = report.to_str().unwrap();
    let o = f.agentbox(&["run", "-q", "-p", "args", "--report", r, "--", "true"]);
    no_leak(&o, &tok, "run");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(!text.contains(&tok), "token in the report (not printed)");
}

/// Runs `agentbox ARGS` in the fixture; returns its stderr, exit code, peak memory (KiB) and
/// wall time, read from `wait4` for this one child.
fn agentbox_rusage(f: &Fixture, args: &[&str]) -> (String, i32, i64, std::time::Duration) {
    use std::io::Read;
    let start = std::time::Instant::now();
    // Reaped by `wait4` below, which also reads its resource usage.
    #[allow(clippy::zombie_processes)]
    let mut child = std::process::Command::new(bin())
        .args(args)
        .current_dir(&f.ws)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &f.home)
        .env("XDG_CONFIG_HOME", f.home.join(".config"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 reaps our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(pid, child.id() as i32);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (err, code, ru.ru_maxrss, start.elapsed())
}

#[test]
fn yaml_bombs_in_a_profile_cost_little_and_are_named() {
    let f = Fixture::new(As::Me);
    let tok = pat(9);
    // Aliases of a long string, which a list of strings accepts: 600 KB that expand to 2 GB.
    let mut amp = format!(
        "description: &{tok} \"{}\"\nfilesystem:\n  read: [",
        "x".repeat(400_000)
    );
    amp.push_str(&format!("*{tok}, ").repeat(5_000));
    amp.push_str("]\n");
    assert!(amp.len() < 1 << 20);
    // The classic exponential bomb, and deep nesting.
    let mut bomb =
        String::from("command_args:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (p, n) in ('a'..'i').zip('b'..='i') {
        bomb.push_str(&format!(
            "  {n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        ));
    }
    let deep = format!(
        "description: {}{}\n",
        "[".repeat(400_000),
        "]".repeat(400_000)
    );
    for (name, text, want) in [
        ("amp.yaml", amp, "amp.yaml:3:"),
        ("bomb.yaml", bomb, "bomb.yaml:3:"),
        (
            "deep.yaml",
            deep,
            "deep.yaml:1:14: description: invalid type",
        ),
    ] {
        std::fs::write(f.ws.join(name), text).unwrap();
        let (err, code, rss_kib, took) = agentbox_rusage(&f, &["profile", "validate", name]);
        assert!(!err.contains(&tok), "{name}: token in the message");
        assert_eq!(code, 125, "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(rss_kib < 200 * 1024, "{name}: {rss_kib} KiB");
        assert!(took < std::time::Duration::from_secs(5), "{name}: {took:?}");
    }
}
