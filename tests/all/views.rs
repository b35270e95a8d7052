//! Issue 14: redacted, read-only views of shell and tool configuration. With the namespace
//! layer the box reads copies of ~/.gitconfig, ~/.npmrc, ~/.bashrc... with every line holding
//! a secret removed (git and npm still work; no tool gets a marker as a token); the copies are
//! read-only, private to the box, and leave nothing on the host, even after `kill -9`. Without
//! namespaces they stay hidden. (The interactive acceptance test, a bash in a pty, is in
//! `tty.rs`.)

use crate::common::*;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A token-shaped value assembled at run time.
fn token() -> String {
    format!("gh{}_{}", "p", "Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c")
}

/// The fixture's home with configuration files that hold the token.
fn plant(f: &Fixture) -> String {
    let tok = token();
    std::fs::write(
        f.home.join(".gitconfig"),
        format!(
            "[user]\n\tname = T\n\temail = t@example.invalid\n[url \"https://x:{tok}@github.com/\"]\n\tinsteadOf = https://github.com/\n[alias]\n\tst = status --short\n"
        ),
    )
    .unwrap();
    std::fs::write(
        f.home.join(".npmrc"),
        format!("registry=https://registry.example.invalid/\n//registry.example.invalid/:_authToken={tok}\n"),
    )
    .unwrap();
    std::fs::write(
        f.home.join(".bashrc"),
        format!("alias views-marker='echo rc-alias'\nexport GITHUB_TOKEN={tok}\n"),
    )
    .unwrap();
    chown_to(&f.home, f.owner);
    tok
}

fn snapshot(home: &Path) -> Vec<(String, String)> {
    [".gitconfig", ".npmrc", ".bashrc"]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                std::fs::read_to_string(home.join(n)).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn tools_read_the_copies_without_their_secrets_and_cannot_change_them() {
    for who in who() {
        let f = Fixture::new(who);
        let tok = plant(&f);
        let before = snapshot(&f.home);
        let out = sh_box(
            &f,
            FULL,
            "git config user.email; git config alias.st; git config --get-regexp '^url' || echo no-url-rule; \
             grep -c registry= ~/.npmrc; grep -c _authToken ~/.npmrc; \
             (echo x >> ~/.gitconfig) 2>/dev/null || echo gitconfig-read-only; \
             (echo x >> ~/.npmrc) 2>/dev/null || echo npmrc-read-only; \
             rm -f ~/.npmrc 2>/dev/null; mv ~/.gitconfig ~/moved 2>/dev/null; umount ~/.npmrc 2>/dev/null; \
             chmod 666 ~/.npmrc 2>/dev/null; grep -q registry= ~/.npmrc && echo npmrc-still-there; \
             grep -rl \"$(printf %s 'Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c')\" ~/.gitconfig ~/.npmrc ~/.bashrc || echo token-nowhere",
        );
        let s = stdout(&out);
        let ctx = format!("[{who:?}]");
        assert!(!s.contains(&tok), "{ctx} the token was read");
        assert!(
            s.contains("t@example.invalid\nstatus --short\nno-url-rule\n1\n0\n"),
            "{ctx} git and npm read their settings, not the secret ones:\n{s}\n{}",
            stderr(&out)
        );
        for w in [
            "gitconfig-read-only",
            "npmrc-read-only",
            "npmrc-still-there",
            "token-nowhere",
        ] {
            assert!(s.contains(w), "{ctx} {w}:\n{s}");
        }
        assert_eq!(
            snapshot(&f.home),
            before,
            "{ctx} the person's files changed"
        );
        // The plan names what was removed, by rule and name, never by value.
        let out = f.agentbox(&["run", "--dry-run", "--", "true"]);
        let plan = stdout(&out);
        assert!(
            plan.contains(".npmrc (read-only; removed line 2 (github-pat))")
                && plan.contains("in a section whose header held a secret"),
            "{ctx} {plan}"
        );
    }
}

#[test]
fn without_namespaces_the_files_stay_hidden_and_the_plan_says_so() {
    for who in who() {
        let f = Fixture::new(who);
        let tok = plant(&f);
        let out = sh_box(
            &f,
            USERNS_OFF,
            "cat ~/.bashrc ~/.npmrc ~/.gitconfig 2>/dev/null; echo end",
        );
        let s = stdout(&out);
        assert!(
            !s.contains(&tok) && !s.contains("rc-alias") && !s.contains("registry="),
            "[{who:?}] {s}"
        );
        let out = f.agentbox(&[
            "run",
            "--dry-run",
            "--json",
            USERNS_OFF[0],
            USERNS_OFF[1],
            "--",
            "true",
        ]);
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let kinds: Vec<(String, String)> = plan["views"]["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let p = s["path"].as_str().unwrap();
                let name = p.rsplit('/').next().unwrap().to_string();
                (name, s["why"]["kind"].as_str().unwrap().to_string())
            })
            .collect();
        for (name, kind) in [
            (".bashrc", "no_namespaces"),
            (".npmrc", "no_namespaces"),
            // Granted by the profile, but it holds a secret: hidden.
            (".gitconfig", "hidden_holds_secrets"),
        ] {
            assert!(
                kinds.contains(&(name.to_string(), kind.to_string())),
                "[{who:?}] {name}: {kinds:?}"
            );
        }
        assert!(plan["views"]["files"].as_array().unwrap().is_empty());

        // A granted directory reaching a listed file that holds a secret: Landlock splits it
        // out, its siblings stay readable.
        let cfg = f.home.join(".config");
        std::fs::create_dir_all(cfg.join("git")).unwrap();
        std::fs::write(
            cfg.join("git/config"),
            format!("[github]\n\ttoken = {tok}\n"),
        )
        .unwrap();
        std::fs::write(cfg.join("git/ignore"), "*.swp\n").unwrap();
        chown_to(&f.home, f.owner);
        let grant = cfg.to_str().unwrap();
        let mut extra = USERNS_OFF.to_vec();
        extra.extend_from_slice(&["--allow-read", grant]);
        let out = sh_box(
            &f,
            &extra,
            "cat ~/.config/git/config 2>/dev/null || echo config-hidden; cat ~/.config/git/ignore",
        );
        let s = stdout(&out);
        assert!(
            !s.contains(&tok),
            "[{who:?}] the token was read through the grant"
        );
        assert!(
            s.contains("config-hidden\n*.swp\n"),
            "[{who:?}] {s}\n{}",
            stderr(&out)
        );
    }
}

#[test]
fn the_box_history_dir_is_private_and_nothing_is_left_after_kill_9() {
    let t0 = SystemTime::now() - Duration::from_secs(2);
    for who in who() {
        let f = Fixture::new(who);
        plant(&f);
        // A marker of this run's own (other tests plant the same files at the same time).
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let marker = format!("views-kill9-{}-{nanos:x}", std::process::id());
        let rc = f.home.join(".bashrc");
        let text = std::fs::read_to_string(&rc).unwrap();
        std::fs::write(&rc, format!("# {marker}\n{text}")).unwrap();
        // nano's history directory is writable in the box, and ends with it.
        let out = sh_box(
            &f,
            FULL,
            "echo q > ~/.local/share/nano/search_history && echo nano-dir-writable",
        );
        assert!(
            stdout(&out).contains("nano-dir-writable"),
            "[{who:?}] {}",
            stderr(&out)
        );
        assert!(!f.home.join(".local/share/nano").exists());
        // A box killed with its supervisor leaves no copy anywhere: they lived in its own
        // mount namespace.
        let mut c = boxcmd(&f, FULL, &["sh", "-c", "touch started; sleep 30"]);
        c.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().unwrap();
        assert!(
            wait_for(&f.ws.join("started"), 10),
            "[{who:?}] the box started"
        );
        // SAFETY: killing our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        let mut found = Vec::new();
        for base in ["/tmp", "/var/tmp", "/dev/shm", "/run"] {
            scan_new_files(
                Path::new(base),
                t0,
                f.dir.path(),
                &marker,
                &mut found,
                &mut 0,
            );
        }
        assert!(
            found.is_empty(),
            "[{who:?}] copies left on the host: {found:?}"
        );
    }
}

/// Regular files under `dir` changed since `since` (not under `skip`) that hold `marker`.
fn scan_new_files(
    dir: &Path,
    since: SystemTime,
    skip: &Path,
    marker: &str,
    found: &mut Vec<String>,
    seen: &mut usize,
) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        *seen += 1;
        if *seen > 100_000 {
            return;
        }
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if p.starts_with(skip) || p.starts_with("/tmp/agentbox-testbin-") {
            continue;
        }
        if m.is_dir() {
            scan_new_files(&p, since, skip, marker, found, seen);
        } else if m.is_file()
            && m.len() < (1 << 20)
            && m.modified().is_ok_and(|t| t >= since)
            && std::fs::read(&p)
                .is_ok_and(|b| b.windows(marker.len()).any(|w| w == marker.as_bytes()))
        {
            found.push(p.display().to_string());
        }
    }
}

/// The adversarial shapes of a start-up file: a symlink into a dotfiles directory, one out of
/// the home, a FIFO, a file larger than a view, secrets in unusual shell syntax. None hangs
/// the launch (`sh_box` gives up after 20 s), none leaks the token, with or without namespaces.
fn plant_odd(f: &Fixture) -> String {
    let tok = token();
    let dot = f.home.join("dotfiles");
    std::fs::create_dir_all(&dot).unwrap();
    std::fs::write(
        dot.join("bashrc"),
        format!("alias odd-marker='echo odd-rc-alias'\nexport GITHUB_TOKEN={tok}\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink("dotfiles/bashrc", f.home.join(".bashrc.tmp")).unwrap();
    std::fs::rename(f.home.join(".bashrc.tmp"), f.home.join(".bashrc")).unwrap();
    let outside = f.dir.path().join("outside-gitconfig");
    std::fs::write(
        &outside,
        format!("[user]\n\tname = Odd\n[github]\n\ttoken = {tok}\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, f.home.join(".gitconfig")).unwrap();
    nix::unistd::mkfifo(
        &f.home.join(".profile"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let mut huge = "# padding\n".repeat(120_000);
    huge.push_str(&format!("export GITHUB_TOKEN={tok}\n"));
    std::fs::write(f.home.join(".zshrc"), huge).unwrap();
    std::fs::write(
        f.home.join(".bash_aliases"),
        format!(
            "export X=\"{tok}\"\nY={tok}; export Y\ncat >/dev/null <<EOF\n{tok}\nEOF\nalias odd-ok='echo ok'\n"
        ),
    )
    .unwrap();
    chown_to(&f.home, f.owner);
    chown_to(&outside, f.owner);
    tok
}

#[test]
fn odd_rc_files_neither_hang_the_launch_nor_leak() {
    // The token's tail, split so that no command line in the box holds it whole.
    let tail = "printf %s%s 'Z9yX8wV7uT6sR5qP4o' 'N3mL2kJ1iH0gF9eD8c'";
    let script = format!(
        "t=$({tail}); for n in .bashrc .gitconfig .zshrc .bash_aliases .profile dotfiles/bashrc; do \
           if [ -p ~/$n ]; then echo \"$n fifo\"; \
           elif cat ~/$n 2>/dev/null | grep -q \"$t\"; then echo \"$n LEAKED\"; \
           elif cat ~/$n >/dev/null 2>&1; then echo \"$n readable\"; else echo \"$n hidden\"; fi; \
         done; git config --global user.name; (echo x >> ~/.bashrc) 2>/dev/null || echo rc-read-only"
    );
    for who in who() {
        for (mode, extra) in [("namespaces", FULL), ("fallback", USERNS_OFF)] {
            let f = Fixture::new(who);
            let tok = plant_odd(&f);
            let before = std::fs::read(f.home.join("dotfiles/bashrc")).unwrap();
            let out = sh_box(&f, extra, &script);
            let s = stdout(&out);
            let ctx = format!("[{who:?}/{mode}]");
            assert!(!s.contains(&tok) && !s.contains("LEAKED"), "{ctx} {s}");
            let want: &[&str] = if mode == "namespaces" {
                // The symlinked files are seen as their redacted copies at the link's path;
                // the FIFO and the huge file are not copied, so absent.
                &[
                    ".bashrc readable",
                    ".gitconfig readable",
                    ".zshrc hidden",
                    ".bash_aliases readable",
                    ".profile hidden",
                    "dotfiles/bashrc hidden",
                    "\nOdd\n",
                    "rc-read-only",
                ]
            } else {
                &[
                    ".bashrc hidden",
                    ".gitconfig hidden",
                    ".zshrc hidden",
                    ".bash_aliases hidden",
                    "dotfiles/bashrc hidden",
                    "rc-read-only",
                ]
            };
            for w in want {
                assert!(s.contains(w), "{ctx} {w}:\n{s}\n{}", stderr(&out));
            }
            assert_eq!(
                std::fs::read(f.home.join("dotfiles/bashrc")).unwrap(),
                before,
                "{ctx}"
            );
            let mut args = vec!["run", "--dry-run"];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--", "true"]);
            let out = f.agentbox(&args);
            let plan = stdout(&out);
            assert!(!plan.contains(&tok), "{ctx} the plan holds the token");
            if mode == "namespaces" {
                for w in [
                    ".profile (hidden: not a regular file)",
                    ".zshrc (hidden: larger than",
                ] {
                    assert!(plan.contains(w), "{ctx} {w}:\n{plan}");
                }
            }
        }
    }
}

// The copy is taken when the run starts: what the person writes into the file during the run
// (in place, or by an editor's rename) never reaches the box, and the box's view is unchanged.
#[test]
fn an_rc_file_changed_during_the_run_does_not_reach_the_box() {
    for who in who() {
        let f = Fixture::new(who);
        plant(&f);
        let rc = f.home.join(".bashrc");
        let script = "cat ~/.bashrc > before; touch started; \
                      i=0; while [ ! -e go ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done; \
                      cat ~/.bashrc > after; cmp -s before after && echo view-unchanged";
        let mut c = boxcmd(&f, FULL, &["sh", "-c", script]);
        c.stdin(std::process::Stdio::null());
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        assert!(
            wait_for(&f.ws.join("started"), 15),
            "[{who:?}] the box started"
        );
        // In place, then as editors do (a new file renamed over the old one).
        let late = format!("gh{}_{}", "p", "L4t3L4t3L4t3L4t3L4t3L4t3L4t3L4t3L4t3");
        let mut text = std::fs::read_to_string(&rc).unwrap();
        text.push_str(&format!("export LATE_TOKEN={late}\n"));
        std::fs::write(&rc, &text).unwrap();
        std::fs::write(
            f.home.join(".bashrc.new"),
            format!("{text}export LATE2={late}\n"),
        )
        .unwrap();
        std::fs::rename(f.home.join(".bashrc.new"), &rc).unwrap();
        std::fs::write(f.ws.join("go"), "").unwrap();
        let (out, _) = collect(&mut child, 30);
        let after = std::fs::read_to_string(f.ws.join("after")).unwrap_or_default();
        assert!(
            !after.contains("L4t3L4t3"),
            "[{who:?}] the late token reached the box"
        );
        assert!(
            stdout(&out).contains("view-unchanged"),
            "[{who:?}] {}",
            show(&out)
        );
    }
}

// A start-up file just under the size limit holding thousands of secrets (the same few, over
// and over) is copied without them, and the launch stays quick enough for `sh_box`'s deadline
// (each value is looked for once, not once per occurrence).
#[test]
fn a_large_rc_file_dense_with_secrets_is_copied_without_them() {
    let f = Fixture::new(As::Me);
    let tok = token();
    let line = format!("export T={tok}\n");
    let n = (900 << 10) / line.len();
    std::fs::write(f.home.join(".bash_logout"), line.repeat(n)).unwrap();
    let tail = "printf %s%s 'Z9yX8wV7uT6sR5qP4o' 'N3mL2kJ1iH0gF9eD8c'";
    let out = sh_box(
        &f,
        FULL,
        &format!("wc -l < ~/.bash_logout; grep -c \"$({tail})\" ~/.bash_logout"),
    );
    let s = stdout(&out);
    assert!(!s.contains(&tok), "the token was read");
    assert_eq!(s, format!("{n}\n0\n"), "{}", stderr(&out));
}
