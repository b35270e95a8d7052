//! Issue 5: the built-in tiers and agent presets against the real binary, as root and as an
//! unprivileged user: every profile is listed and resolves; read-only reads but does not write;
//! the test tier runs `cargo test`, `python3 -m unittest` and `npm test`; nothing outside the
//! workspace (and the tier's caches) is writable; credential files stay hidden in every profile,
//! even when the person widens the run to the whole home directory. Offline.

use crate::common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Every built-in profile: the tiers, then the agent presets.
const TIERS: &[&str] = &["read-only", "default", "test", "docs", "pr"];
const PRESETS: &[&str] = &["codex", "claude", "gemini", "aider", "opencode"];

fn all_profiles() -> Vec<&'static str> {
    TIERS.iter().chain(PRESETS).copied().collect()
}

/// Credential files planted in the fake HOME (relative to it), on top of the fixture's own.
const MORE_CREDS: &[&str] = &[
    ".cargo/credentials.toml",
    ".cargo/credentials",
    ".yarnrc.yml",
    ".netrc",
    ".git-credentials",
    ".config/git/credentials",
    ".gnupg/private-keys-v1.d/k.key",
    ".python_history",
];

/// Configuration files holding a credential that the box reads as redacted copies
/// (`plan::views`): readable, the credential never.
const VIEWED_CREDS: &[(&str, &str)] = &[
    (
        ".npmrc",
        "registry=https://r.example.invalid/\n//r.example.invalid/:_authToken=CREDENTIAL-FILE-CONTENT\n",
    ),
    (
        ".pypirc",
        "[pypi]\nusername = __token__\npassword = CREDENTIAL-FILE-CONTENT\n",
    ),
    (
        ".config/pip/pip.conf",
        "[global]\nindex-url = https://me:CREDENTIAL-FILE-CONTENT@pypi.example.invalid/simple\n",
    ),
];

/// `agentbox run -q -p PROFILE [EXTRA...] -- sh -c SCRIPT`.
fn sh_in(f: &Fixture, profile: &str, extra: &[&str], script: &str) -> Output {
    sh_env(f, profile, extra, &[], script)
}

fn sh_env(
    f: &Fixture,
    profile: &str,
    extra: &[&str],
    env: &[(&str, &str)],
    script: &str,
) -> Output {
    let mut args = vec!["run", "-q", "-p", profile];
    args.extend_from_slice(extra);
    args.extend(["--", "sh", "-c", script]);
    f.agentbox_env(&args, env)
}

/// Write `rel` under `base` (creating parents), owned by the fixture's owner.
fn plant(f: &Fixture, base: &Path, rel: &str, text: &str) {
    let p = base.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    chown_to(base, f.owner);
}

/// A fixture whose fake HOME also holds toolchain trees (so credential files sit next to
/// granted directories), caches, more credential files and every agent's state.
fn rich_fixture(who: As) -> Fixture {
    let f = Fixture::new(who);
    for c in MORE_CREDS {
        plant(&f, &f.home, c, "CREDENTIAL-FILE-CONTENT\n");
    }
    // Registry configuration the box sees as redacted copies (with namespaces): the
    // credential in it as the tools write it.
    for (c, text) in VIEWED_CREDS {
        plant(&f, &f.home, c, text);
    }
    for d in [
        ".cargo/bin",
        ".cargo/registry/cache",
        ".npm/_cacache",
        ".cache/pip",
        ".cache/go-build",
        "go/pkg/mod",
        ".codex",
        ".claude",
        ".gemini",
        ".aider",
        ".config/opencode",
        ".local/share/opencode",
        ".cache/opencode",
        ".local/state/opencode",
        ".local/share/keyrings",
    ] {
        std::fs::create_dir_all(f.home.join(d)).unwrap();
    }
    plant(
        &f,
        &f.home,
        ".local/share/keyrings/login.keyring",
        "CREDENTIAL-FILE-CONTENT\n",
    );
    plant(&f, &f.home, ".claude.json", "{}\n");
    plant(
        &f,
        &f.home,
        ".gitconfig",
        "[user]\n\tname = T\n\temail = t@example.invalid\n",
    );
    chown_to(&f.home, f.owner);
    f
}

fn all_creds() -> Vec<&'static str> {
    CRED_FILES
        .iter()
        .chain(MORE_CREDS)
        .copied()
        .chain(VIEWED_CREDS.iter().map(|(c, _)| *c))
        .collect()
}

/// A shell loop that prints `LEAK:<file>` for every credential file whose credential it can read
/// (a redacted copy of a registry configuration is readable without it).
fn leak_script() -> String {
    let files: Vec<String> = all_creds()
        .iter()
        .map(|c| format!("\"$HOME/{c}\""))
        .collect();
    format!(
        "for f in {} \"$HOME/.local/share/keyrings/login.keyring\"; do if cat \"$f\" 2>/dev/null | grep -q CREDENTIAL-FILE; then echo \"LEAK:$f\"; fi; done; echo scan-done",
        files.join(" ")
    )
}

#[test]
fn profile_list_shows_every_tier_and_preset_with_a_description() {
    let f = Fixture::new(As::Me);
    let out = f.agentbox(&["profile", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for name in all_profiles() {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("`{name}` missing from `profile list`:\n{text}"));
        let desc = line[name.len()..].trim();
        assert!(
            desc.len() > 20 && !desc.starts_with("(error"),
            "`{name}` has no proper description: {line:?}"
        );
    }
}

#[test]
fn every_builtin_resolves_and_plans() {
    let f = Fixture::new(As::Me);
    for name in all_profiles() {
        let out = f.agentbox(&["profile", "show", name]);
        assert!(out.status.success(), "show {name}: {}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("# resolved profile {name} ")),
            "show {name}: {}",
            stdout(&out)
        );
        let plan = f.preset_plan(name);
        let mode = plan["network"]["mode"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let allow: Vec<String> = plan["network"]["allow"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        match name {
            "read-only" | "default" | "test" => {
                assert_eq!(mode, "off", "{name} keeps the network off")
            }
            _ => {
                assert_eq!(mode, "allowlist", "{name} goes through the proxy");
                assert!(!allow.is_empty(), "{name} names its hosts");
                // https only, and no host that hands out cloud credentials or deploys.
                for h in &allow {
                    assert!(h.ends_with(":443"), "{name}: {h} is not https-only");
                    for bad in [
                        "amazonaws",
                        "metadata",
                        "azure",
                        "169.254",
                        "heroku",
                        "vercel",
                    ] {
                        assert!(!h.contains(bad), "{name} allows {h}");
                    }
                }
            }
        }
        if name == "pr" {
            for h in ["github.com:443", "api.github.com:443"] {
                assert!(allow.iter().any(|a| a == h), "pr allows {h}: {allow:?}");
            }
        }
        if name == "docs" {
            for h in [
                "docs.rs:443",
                "crates.io:443",
                "pypi.org:443",
                "registry.npmjs.org:443",
            ] {
                assert!(allow.iter().any(|a| a == h), "docs allows {h}: {allow:?}");
            }
        }
    }
}

#[test]
fn read_only_reads_the_repo_but_writes_nothing() {
    for who in who() {
        let f = Fixture::new(who);
        let out = sh_in(
            &f,
            "read-only",
            &[],
            "git log --oneline | grep -q init && grep -q hello README.md && git status --short && echo read-ok; \
             echo x > y.txt && echo WROTE-WS; echo x > \"$TMPDIR/t\" && echo wrote-tmp",
        );
        let s = stdout(&out);
        check(
            s.contains("read-ok"),
            &format!("[{who:?}] git log and grep work"),
            &out,
        );
        check(
            !s.contains("WROTE-WS"),
            &format!("[{who:?}] workspace not writable"),
            &out,
        );
        check(
            s.contains("wrote-tmp"),
            &format!("[{who:?}] the box's temp dir is"),
            &out,
        );
        assert!(!f.ws.join("y.txt").exists());
        // The docs tier is read-only too.
        let out = sh_in(
            &f,
            "docs",
            &[],
            "echo x > y.txt && echo WROTE-WS; echo done",
        );
        check(
            stdout(&out).contains("done") && !stdout(&out).contains("WROTE-WS"),
            &format!("[{who:?}] docs: workspace not writable"),
            &out,
        );
    }
}

#[test]
fn writes_outside_the_workspace_fail_in_every_profile() {
    for who in who() {
        let f = rich_fixture(who);
        let parent = f.ws.parent().unwrap().display().to_string();
        let targets = [
            "$HOME/x".to_string(),
            "$HOME/.bashrc".to_string(),
            "$HOME/.gitconfig".to_string(),
            "$HOME/.cargo/x".to_string(),
            "$HOME/.cargo/bin/x".to_string(),
            "$HOME/.config/x".to_string(),
            "$HOME/.local/x".to_string(),
            "/etc/agentbox-x".to_string(),
            "/usr/agentbox-x".to_string(),
            "/opt/agentbox-x".to_string(),
            format!("{parent}/x"),
        ];
        for p in all_profiles() {
            // The test tier lets cargo create its lock files in ~/.cargo (what there runs
            // outside stays read-only: test_tier_cargo_build_leaves_nothing_that_runs_outside).
            let script: String = targets
                .iter()
                .filter(|t| !(p == "test" && t.as_str() == "$HOME/.cargo/x"))
                .map(|t| format!("( echo x >> {t} ) 2>/dev/null && echo \"WROTE:{t}\"; "))
                .collect::<String>()
                + "echo done";
            let out = sh_in(&f, p, &[], &script);
            check(
                stdout(&out).contains("done"),
                &format!("[{who:?}] {p}: ran"),
                &out,
            );
            check(
                !stdout(&out).contains("WROTE:"),
                &format!("[{who:?}] {p}: a write outside the workspace succeeded"),
                &out,
            );
        }
        assert!(!f.ws.parent().unwrap().join("x").exists());
        assert!(!f.home.join("x").exists());
        assert_eq!(
            std::fs::read_to_string(f.home.join(".bashrc")).unwrap(),
            "# rc\n"
        );
    }
}

#[test]
fn credential_files_stay_hidden_in_every_profile_even_with_home_granted() {
    for who in who() {
        let f = rich_fixture(who);
        let home = f.home.display().to_string();
        for p in all_profiles() {
            for extra in [&[][..], &["--allow-read", home.as_str()][..]] {
                let out = sh_in(&f, p, extra, &leak_script());
                let s = stdout(&out);
                check(
                    s.contains("scan-done"),
                    &format!("[{who:?}] {p} {extra:?}: ran"),
                    &out,
                );
                check(
                    !s.contains("LEAK:") && !s.contains("CREDENTIAL"),
                    &format!("[{who:?}] {p} {extra:?}: a credential file was readable"),
                    &out,
                );
            }
        }
        // Without the namespace layer the same holds (Landlock splits the home tree).
        for p in ["default", "test", "codex"] {
            let out = sh_in(
                &f,
                p,
                &[
                    "--simulate-kernel",
                    "userns=off",
                    "--best-effort",
                    "--allow-read",
                    home.as_str(),
                ],
                &leak_script(),
            );
            let s = stdout(&out);
            check(
                s.contains("scan-done"),
                &format!("[{who:?}] {p} no userns: ran"),
                &out,
            );
            check(
                !s.contains("LEAK:") && !s.contains("CREDENTIAL"),
                &format!("[{who:?}] {p} no userns: a credential file was readable"),
                &out,
            );
        }
    }
}

#[test]
fn test_tier_writes_caches_that_default_only_reads() {
    for who in who() {
        let f = rich_fixture(who);
        let caches = [
            ".npm",
            ".cache/pip",
            ".cache/go-build",
            "go/pkg/mod",
            ".cargo/registry",
        ];
        let script: String = caches
            .iter()
            .map(|c| format!("( echo x > \"$HOME/{c}/agentbox-probe\" ) 2>/dev/null && echo \"W:{c}\"; ls \"$HOME/{c}\" >/dev/null 2>&1 && echo \"R:{c}\"; "))
            .collect::<String>()
            + "echo done";
        let out = sh_in(&f, "test", &[], &script);
        for c in caches {
            check(
                stdout(&out).contains(&format!("W:{c}")),
                &format!("[{who:?}] test: ~/{c} writable"),
                &out,
            );
        }
        for c in caches {
            let _ = std::fs::remove_file(f.home.join(c).join("agentbox-probe"));
        }
        let out = sh_in(&f, "default", &[], &script);
        for c in caches {
            check(
                stdout(&out).contains(&format!("R:{c}"))
                    && !stdout(&out).contains(&format!("W:{c}")),
                &format!("[{who:?}] default: ~/{c} readable, not writable"),
                &out,
            );
        }
    }
}

/// Whether the fixture's owner can run `path` (the toolchains under /root are root's only).
fn owner_can_exec(f: &Fixture, path: &Path) -> bool {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("test -x \"$0\"")
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    as_who(&mut c, f.owner);
    c.status().map(|s| s.success()).unwrap_or(false)
}

/// The real cargo and rustup homes of whoever runs the tests (the fixture's HOME is fake).
fn real_cargo_homes() -> Option<(PathBuf, PathBuf)> {
    let home = std::env::var("HOME").ok()?;
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&home).join(".cargo"));
    let rustup_home = std::env::var("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&home).join(".rustup"));
    (cargo_home.join("bin/cargo").exists() && rustup_home.is_dir())
        .then_some((cargo_home, rustup_home))
}

#[test]
fn test_tier_runs_cargo_python_and_npm_tests() {
    for who in who() {
        let f = rich_fixture(who);
        // A crate without dependencies.
        plant(
            &f,
            &f.ws,
            "tiny/Cargo.toml",
            "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        );
        plant(
            &f,
            &f.ws,
            "tiny/src/lib.rs",
            "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add(2, 2), 4);\n    }\n}\n",
        );
        // A Python module with a unittest.
        plant(
            &f,
            &f.ws,
            "py/calc.py",
            "def add(a, b):\n    return a + b\n",
        );
        plant(
            &f,
            &f.ws,
            "py/test_calc.py",
            "import unittest\n\nimport calc\n\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(calc.add(2, 2), 4)\n",
        );
        // An npm package without dependencies, tested with node's own runner.
        plant(
            &f,
            &f.ws,
            "js/package.json",
            "{\"name\": \"js\", \"version\": \"1.0.0\", \"private\": true, \"scripts\": {\"test\": \"node --test\"}}\n",
        );
        plant(
            &f,
            &f.ws,
            "js/add.test.js",
            "const test = require('node:test');\nconst assert = require('node:assert');\ntest('adds', () => assert.strictEqual(2 + 2, 4));\n",
        );

        let out = sh_in(&f, "test", &[], "cd py && python3 -m unittest -v 2>&1");
        check(
            out.status.success() && stdout(&out).contains("OK"),
            &format!("[{who:?}] python3 -m unittest"),
            &out,
        );

        if require(
            "npm (.ci/run installs the agents with it)",
            Path::new("/usr/bin/npm").exists() || which("npm").is_some(),
        ) {
            let out = sh_in(&f, "test", &[], "cd js && npm test 2>&1");
            check(
                out.status.success() && stdout(&out).contains("# pass 1"),
                &format!("[{who:?}] npm test"),
                &out,
            );
        }

        match real_cargo_homes() {
            Some((ch, rh)) if owner_can_exec(&f, &ch.join("bin/cargo")) => {
                let path = format!(
                    "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    ch.join("bin").display()
                );
                let (ch, rh) = (ch.display().to_string(), rh.display().to_string());
                let env = [
                    ("PATH", path.as_str()),
                    ("CARGO_HOME", ch.as_str()),
                    ("RUSTUP_HOME", rh.as_str()),
                ];
                for p in ["test", "default"] {
                    let out = sh_env(
                        &f,
                        p,
                        &[],
                        &env,
                        "cd tiny && cargo test --offline 2>&1; echo rc=$?",
                    );
                    check(stdout(&out).contains("rc=0") && stdout(&out).contains("1 passed"), &format!("[{who:?}] cargo test in {p} (rustup proxies are symlinks in ~/.cargo/bin)"), &out);
                }
                // The toolchain is readable, never writable.
                let out = sh_env(
                    &f,
                    "test",
                    &[],
                    &env,
                    "( echo x > \"$RUSTUP_HOME/x\" ) 2>/dev/null && echo WROTE; ( echo x > \"$CARGO_HOME/bin/x\" ) 2>/dev/null && echo WROTE; echo done",
                );
                check(
                    stdout(&out).contains("done") && !stdout(&out).contains("WROTE"),
                    &format!("[{who:?}] toolchain not writable"),
                    &out,
                );
            }
            // Host-dependent: whether this user may run the toolchain depends on where the host
            // installed it (root's own ~/.cargo under a 0700 /root is root's only).
            Some(_) => {
                require_host(
                    &format!("the Rust toolchain executable by {who:?} (root's own ~/.cargo); cargo test"),
                    false,
                );
            }
            // The suite itself runs under cargo; in rustup's layout, as README's install assumes.
            None => {
                require(
                    "a rustup toolchain (CARGO_HOME/bin/cargo and RUSTUP_HOME) for cargo test",
                    false,
                );
            }
        }
    }
}

/// The sysroot of the toolchain the suite builds with, when it lies in `rustup_home` (its
/// `bin/cargo` is cargo itself, no rustup proxy to set up).
fn sysroot_in(rustup_home: &Path) -> Option<PathBuf> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (p.join("bin/cargo").exists() && p.starts_with(rustup_home)).then_some(p)
}

/// The names in `d`, sorted.
fn entries(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A cargo home as rustup leaves it: `bin/` and the `env` file rc files source.
fn fresh_cargo_home(f: &Fixture, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(dir.join("env"), "# rustup shell setup\n").unwrap();
    chown_to(dir, f.owner);
}

#[test]
fn test_tier_cargo_build_leaves_nothing_that_runs_outside() {
    let Some((_, rustup)) = real_cargo_homes() else {
        require("a rustup toolchain (RUSTUP_HOME) for cargo build", false);
        return;
    };
    let Some(sys) = sysroot_in(&rustup) else {
        // Host-dependent: where this machine's rustc lives.
        require_host("rustc's sysroot inside RUSTUP_HOME", false);
        return;
    };
    for who in who() {
        let f = Fixture::new(who);
        if !owner_can_exec(&f, &sys.join("bin/cargo")) {
            // Host-dependent: root's own toolchain under a 0700 /root is root's only.
            require_host(&format!("the Rust toolchain executable by {who:?}"), false);
            continue;
        }
        plant(
            &f,
            &f.ws,
            "tiny/Cargo.toml",
            "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        );
        plant(
            &f,
            &f.ws,
            "tiny/src/lib.rs",
            "pub fn one() -> i32 {\n    1\n}\n",
        );
        let cargo_home = f.home.join(".cargo");
        let path = format!("{}:{PATH}", sys.join("bin").display());
        let env = |home: &Path| {
            [
                ("PATH", path.clone()),
                ("RUSTUP_HOME", rustup.display().to_string()),
                ("CARGO_HOME", home.display().to_string()),
            ]
        };
        // The control: what cargo itself makes in a fresh cargo home, outside any box.
        let control = f.dir.path().join("control-cargo");
        fresh_cargo_home(&f, &control);
        let mut c = Command::new("sh");
        c.args([
            "-c",
            "cd tiny && cargo build --offline --target-dir ../t-host 2>&1",
        ])
        .current_dir(&f.ws)
        .env_clear()
        .envs(env(&control))
        .env("HOME", &f.home);
        as_who(&mut c, who);
        let out = within(c, 120);
        check(
            out.status.success(),
            &format!("[{who:?}] cargo build on the host"),
            &out,
        );
        let made_by_cargo = entries(&control);
        for (mode, extra) in MODES {
            fresh_cargo_home(&f, &cargo_home);
            let e = env(&cargo_home);
            let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut args = vec!["run", "-p", "test"];
            args.extend_from_slice(extra);
            let build = format!(
                "cd tiny && cargo build --offline --target-dir ../t-{mode} 2>&1; echo rc=$?"
            );
            args.extend(["--", "sh", "-c", &build]);
            let out = f.agentbox_env(&args, &e);
            let ctx = format!("[{who:?}] {mode}: cargo build --offline in -p test");
            check(stdout(&out).contains("rc=0"), &ctx, &out);
            if mode == "namespaces" {
                // Cargo's lock files and its journal are allowed: nothing is denied, and the
                // cargo home holds exactly what cargo makes outside the box.
                check(!stderr(&out).contains("denied during this run"), &ctx, &out);
                assert_eq!(entries(&cargo_home), made_by_cargo, "{ctx}: {}", show(&out));
            } else {
                // Without namespaces ~/.cargo takes no new entry (Landlock keeps bin out of it).
                let mut want = made_by_cargo.clone();
                want.retain(|n| n == "bin" || n == "env" || cargo_home.join(n).exists());
                assert_eq!(entries(&cargo_home), want, "{ctx}: {}", show(&out));
            }
            // What runs outside: cargo's config (a rustc-wrapper), a binary on PATH, rustup's env.
            let plant = "printf '[build]\\nrustc-wrapper = \"/x\"\\n' > \"$CARGO_HOME/config.toml\"; \
                         echo x > \"$CARGO_HOME/bin/cargo-planted\"; echo 'echo pwn' >> \"$CARGO_HOME/env\"; \
                         chmod +x \"$CARGO_HOME/bin/cargo-planted\"; echo planted";
            let out = sh_env(&f, "test", extra, &e, plant);
            let ctx = format!("[{who:?}] {mode}: planted in ~/.cargo");
            check(stdout(&out).contains("planted"), &ctx, &out);
            check(
                !cargo_home.join("config.toml").exists(),
                &format!("{ctx}: config.toml survived"),
                &out,
            );
            check(
                !cargo_home.join("bin/cargo-planted").exists(),
                &format!("{ctx}: bin/cargo-planted"),
                &out,
            );
            assert_eq!(
                std::fs::read_to_string(cargo_home.join("env")).unwrap(),
                "# rustup shell setup\n",
                "{ctx}: env changed"
            );
        }
    }
}

#[test]
fn pr_tier_passes_the_forge_token_only_when_named() {
    for who in who() {
        let f = rich_fixture(who);
        plant(
            &f,
            &f.home,
            ".config/gh/hosts.yml",
            "CREDENTIAL-FILE-CONTENT\n",
        );
        let token = format!("gh{}_{}", "p", "Q7xK9mP2vR4tW8zL3nB6cF1hJ5dG0sYQ7xK9m");
        let probe = "if [ -n \"${GH_TOKEN:-}\" ]; then echo GH_TOKEN=set; else echo GH_TOKEN=unset; fi; \
                     if [ -n \"${GITHUB_TOKEN:-}\" ]; then echo GITHUB_TOKEN=set; else echo GITHUB_TOKEN=unset; fi; \
                     cat \"$HOME/.config/gh/hosts.yml\" 2>/dev/null; ls \"$HOME/.config/gh\" >/dev/null 2>&1 && echo GH-DIR-LISTED; echo done";
        let out = sh_env(&f, "pr", &[], &[("GH_TOKEN", token.as_str())], probe);
        let s = stdout(&out);
        check(
            s.contains("GH_TOKEN=unset") && s.contains("GITHUB_TOKEN=unset"),
            &format!("[{who:?}] pr: tokens removed by default"),
            &out,
        );
        check(
            !s.contains("CREDENTIAL") && !s.contains("GH-DIR-LISTED"),
            &format!("[{who:?}] pr: gh's config dir hidden"),
            &out,
        );
        assert!(!stderr(&out).contains(&token), "token value printed");
        let out = sh_env(
            &f,
            "pr",
            &["--allow-env", "GH_TOKEN"],
            &[("GH_TOKEN", token.as_str())],
            probe,
        );
        let s = stdout(&out);
        check(
            s.contains("GH_TOKEN=set") && s.contains("GITHUB_TOKEN=unset"),
            &format!("[{who:?}] pr: GH_TOKEN passes when named, GITHUB_TOKEN still removed"),
            &out,
        );
        check(
            !s.contains("CREDENTIAL"),
            &format!("[{who:?}] pr: gh's config still hidden"),
            &out,
        );
        assert!(!stderr(&out).contains(&token), "token value printed");
    }
}

#[test]
fn git_configuration_is_readable_and_commits_work_in_default() {
    for who in who() {
        let f = rich_fixture(who);
        let out = sh_in(
            &f,
            "default",
            &[],
            "git config user.email && echo y > y.txt && git add y.txt && git commit -qm y && git log --oneline | head -1",
        );
        check(
            out.status.success() && stdout(&out).contains("t@example.invalid"),
            &format!("[{who:?}] ~/.gitconfig readable; commit works"),
            &out,
        );
    }
}

#[test]
fn builtin_profiles_are_plain_files_with_sources() {
    // Every profile file has a header comment and is described in profiles/SOURCES.md.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).expect("profiles/SOURCES.md");
    for name in all_profiles() {
        let text = std::fs::read_to_string(dir.join(format!("{name}.yaml"))).expect(name);
        assert!(text.starts_with("# agentbox built-in"), "{name}: header");
        assert!(
            sources.contains(&format!("`{name}`")),
            "SOURCES.md covers {name}"
        );
    }
}
