//! Issue 6: `agentbox check` (the preflight) and `agentbox run --redact-output`.

use crate::common::*;
use std::process::Command;

#[test]
fn check_fails_on_main_with_tracked_env_and_shell_secrets() {
    let f = Fixture::new(As::Me);
    git_ok(&f, &f.ws, &["switch", "-q", "-c", "main"]);
    std::fs::write(f.ws.join(".env"), "API_KEY=not-for-agents\n").unwrap();
    let key = format!("AKIA{}", "QWERTYUIOPASDFGH");
    std::fs::write(f.ws.join("config.py"), format!("aws_key = \"{key}\"\n")).unwrap();
    git_ok(&f, &f.ws, &["add", ".env", "config.py"]);
    git_ok(&f, &f.ws, &["commit", "-q", "-m", "oops"]);
    let out = f.agentbox(&["check"]);
    let s = stdout(&out);
    // First, so the messages below (which print the output) cannot show a value.
    assert!(
        !all_output(&out).contains(&key) && !all_output(&out).contains("not-for-agents"),
        "a value was printed (not shown here)"
    );
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(
        s.contains("FAIL  git-branch") && s.contains("`main`"),
        "{s}"
    );
    assert!(
        s.contains("FAIL  shell-secrets")
            && s.contains("GITHUB_TOKEN")
            && s.contains("STRIPE_API_KEY"),
        "{s}"
    );
    assert!(
        s.contains("FAIL  dotenv-tracked") && s.contains(".env"),
        "{s}"
    );
    // No .gitignore: a tracked .env is not "ignored" either.
    assert!(
        s.contains("FAIL  dotenv-ignored") && !s.contains("pass  dotenv-ignored"),
        "{s}"
    );
    assert!(
        s.contains("FAIL  tracked-secrets") && s.contains("config.py:1"),
        "{s}"
    );
    let out = f.agentbox(&["check", "--json"]);
    assert!(
        !all_output(&out).contains(&key) && !all_output(&out).contains("not-for-agents"),
        "a value was printed in JSON (not shown here)"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["level"].is_string()));
}

#[test]
fn check_passes_on_a_clean_feature_branch() {
    let f = Fixture::new(As::Me);
    std::fs::write(f.ws.join(".gitignore"), ".env\n.env.*\n").unwrap();
    git_ok(&f, &f.ws, &["add", ".gitignore"]);
    git_ok(&f, &f.ws, &["commit", "-q", "-m", "ignore"]);
    std::fs::write(f.ws.join(".env"), "X=1\n").unwrap();
    // No secrets in this shell.
    let out = Command::new(bin())
        .arg("check")
        .arg("--json")
        .current_dir(&f.ws)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &f.home)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], true, "{v:#}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn check_flags_profiles_with_production_authority() {
    let f = Fixture::new(As::Me);
    let p = f.dir.path().join("deploy.yaml");
    std::fs::write(
        &p,
        "extends: default\nfilesystem:\n  read: [~/.aws]\nnetwork:\n  mode: unrestricted\n",
    )
    .unwrap();
    let out = f.agentbox(&["check", "-p", p.to_str().unwrap()]);
    let s = stdout(&out);
    assert!(
        s.contains("FAIL  production-authority")
            && s.contains("~/.aws")
            && s.contains("unrestricted"),
        "{s}"
    );
    std::fs::write(
        &p,
        "extends: default\nfilesystem:\n  read: [~/.aws]\nsandbox:\n  production: true\n",
    )
    .unwrap();
    let out = f.agentbox(&["check", "-p", p.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("WARN  production-authority"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn redact_output_masks_removed_values_and_rules() {
    let f = Fixture::new(As::Me);
    let token = secrets()[0].1.clone(); // GITHUB_TOKEN's value, removed from the box
                                        // The agent prints the removed value (as if it had read it from a file) and a PEM block.
    let script = format!(
        "echo 'leak: {token}'; printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END OPENSSH PRIVATE KEY-----\\n' >&2; echo fine"
    );
    let out = f.agentbox(&["run", "-q", "--redact-output", "--", "sh", "-c", &script]);
    let (o, e) = (stdout(&out), stderr(&out));
    // Checked before anything prints the output.
    assert!(
        !o.contains(&token) && !e.contains("b3BlbnNzaC1rZXktdjEAAAAA"),
        "the removed value or the key body was not masked (output not shown)"
    );
    assert!(o.contains("leak: [REDACTED:") && o.contains("fine"), "{o}");
    assert!(out.status.success());
}
