//! Issue 2: the launcher against the real kernel, as root and as an unprivileged user.

use crate::common::*;

#[test]
fn credentials_in_home_cannot_be_read_or_listed() {
    for who in who() {
        let f = Fixture::new(who);
        for file in CRED_FILES {
            let out = f.sh(&format!("cat \"$HOME/{file}\""));
            check(
                !out.status.success(),
                &format!("[{who:?}] read ~/{file}"),
                &out,
            );
            check(
                !stdout(&out).contains("CREDENTIAL"),
                &format!("[{who:?}] {file}"),
                &out,
            );
        }
        for dir in [".ssh", ".aws", ".config/gh", ".kube", ".docker", ""] {
            let out = f.sh(&format!("ls -a \"$HOME/{dir}\""));
            check(
                !out.status.success(),
                &format!("[{who:?}] list ~/{dir}"),
                &out,
            );
        }
    }
}

#[test]
fn system_secrets_and_raw_disks_are_out_of_reach() {
    for who in who() {
        let f = Fixture::new(who);
        let out = f.sh("cat /etc/shadow");
        check(
            !out.status.success() && !stdout(&out).contains("root:"),
            &format!("[{who:?}] /etc/shadow"),
            &out,
        );
        let out = f.sh("head -c1 /etc/passwd >/dev/null && echo ok");
        check(
            stdout(&out).contains("ok"),
            &format!("[{who:?}] /etc/passwd stays readable"),
            &out,
        );
        for dev in [
            "/dev/vda",
            "/dev/sda",
            "/dev/nvme0n1",
            "/dev/loop0",
            "/dev/mem",
            "/dev/kmem",
        ] {
            if std::path::Path::new(dev).exists() {
                let out = f.sh(&format!("head -c1 {dev} > /dev/null"));
                check(
                    !out.status.success(),
                    &format!("[{who:?}] open {dev}"),
                    &out,
                );
            }
        }
    }
}

#[test]
fn workspace_writable_and_nothing_else() {
    for who in who() {
        let f = Fixture::new(who);
        let out = f.sh("echo hi > new.txt && cat new.txt && mkdir -p d/e && rm -r d new.txt");
        check(
            out.status.success() && stdout(&out).contains("hi"),
            &format!("[{who:?}] workspace write"),
            &out,
        );
        let parent = f.ws.parent().unwrap().display().to_string();
        for target in [
            "$HOME/x".to_string(),
            "$HOME/.bashrc".to_string(),
            "/etc/agentbox-x".to_string(),
            "/usr/agentbox-x".to_string(),
            format!("{parent}/x"),
        ] {
            let out = f.sh(&format!("echo x >> {target}"));
            check(
                !out.status.success(),
                &format!("[{who:?}] write {target}"),
                &out,
            );
        }
        assert!(!f.ws.parent().unwrap().join("x").exists());
        assert_eq!(
            std::fs::read_to_string(f.home.join(".bashrc")).unwrap(),
            "# rc\n"
        );
    }
}

#[test]
fn environment_is_scrubbed() {
    for who in who() {
        let f = Fixture::new(who);
        let out = f.sh("env");
        check(out.status.success(), &format!("[{who:?}] env runs"), &out);
        let env = stdout(&out);
        let names: Vec<&str> = env.lines().filter_map(|l| l.split('=').next()).collect();
        for gone in [
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "DATABASE_URL",
            "STRIPE_API_KEY",
            "DEPLOY_PASSWORD",
            "NPM_TOKEN",
            "SSH_AUTH_SOCK",
            "BUILD_NOTE",
        ] {
            check(
                !names.contains(&gone),
                &format!("[{who:?}] {gone} removed"),
                &out,
            );
        }
        for kept in [
            "PATH",
            "HOME",
            "TERM",
            "LANG",
            "TOKENIZERS_PARALLELISM",
            "AGENTBOX",
            "AGENTBOX_PROFILE",
        ] {
            check(
                names.contains(&kept),
                &format!("[{who:?}] {kept} kept"),
                &out,
            );
        }
        for v in secret_values() {
            assert!(!env.contains(&v), "a secret value reached the child");
        }
    }
}

#[test]
fn allow_env_keeps_a_flagged_name_on_purpose() {
    let f = Fixture::new(As::Me);
    let out = f.agentbox(&[
        "run",
        "-q",
        "--allow-env",
        "NPM_TOKEN",
        "--",
        "sh",
        "-c",
        "test -n \"$NPM_TOKEN\" && echo present",
    ]);
    assert!(stdout(&out).contains("present"), "{}", stderr(&out));
}

#[test]
fn other_processes_environment_is_unreadable() {
    for who in who() {
        let f = Fixture::new(who);
        // A process outside the box whose environment holds a secret.
        let mut outside = std::process::Command::new("sleep");
        outside
            .arg("30")
            .env("OUTSIDE_SECRET", "outside-secret-value-123");
        as_who(&mut outside, who);
        let mut child = outside.spawn().unwrap();
        let pid = child.id();
        for extra in [FULL, NO_NS] {
            let mut args = vec!["run", "-q"];
            args.extend_from_slice(extra);
            let script = format!(
                "cat /proc/{pid}/environ; for p in /proc/[0-9]*; do cat $p/environ; done; cat /proc/$PPID/environ; true"
            );
            args.extend(["--", "sh", "-c", &script]);
            let out = f.agentbox(&args);
            let all = format!("{}{}", stdout(&out), stderr(&out));
            check(
                !all.contains("outside-secret-value-123"),
                &format!("[{who:?}] outside environ"),
                &out,
            );
            check(
                !all.contains("GITHUB_TOKEN="),
                &format!("[{who:?}] agentbox's environ"),
                &out,
            );
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn no_new_privs_and_no_capabilities() {
    for who in who() {
        let f = Fixture::new(who);
        let out =
            f.sh("grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd|CapAmb|CapInh):' /proc/self/status");
        let s = stdout(&out);
        check(
            s.contains("NoNewPrivs:\t1"),
            &format!("[{who:?}] NoNewPrivs"),
            &out,
        );
        for c in ["CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"] {
            check(
                s.contains(&format!("{c}:\t0000000000000000")),
                &format!("[{who:?}] {c}"),
                &out,
            );
        }
    }
}

#[test]
fn exit_status_passes_through() {
    let f = Fixture::new(As::Me);
    assert_eq!(f.sh("exit 3").status.code(), Some(3));
    assert_eq!(f.sh("exit 0").status.code(), Some(0));
    assert_eq!(f.sh("kill -TERM $$").status.code(), Some(143));
    assert_eq!(f.sh("kill -KILL $$").status.code(), Some(137));
    let out = f.agentbox(&["run", "-q", "--", "no-such-command-agentbox"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("not found"));
    std::fs::write(f.ws.join("notexec.sh"), "#!/bin/sh\n").unwrap();
    let out = f.agentbox(&["run", "-q", "--", "./notexec.sh"]);
    assert_eq!(out.status.code(), Some(126));
}

#[test]
fn signals_are_forwarded() {
    let f = Fixture::new(As::Me);
    let mut c = boxcmd(
        &f,
        FULL,
        &[
            "sh",
            "-c",
            "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
        ],
    );
    c.stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut so = child.stdout.take().unwrap();
    let mut buf = [0u8; 6];
    std::io::Read::read_exact(&mut so, &mut buf).unwrap();
    assert_eq!(&buf, b"ready\n");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut so, &mut rest).unwrap();
    assert!(rest.contains("got-term"));
    assert_eq!(st.code(), Some(7));
}

#[test]
fn broken_profiles_fail_with_location() {
    let f = Fixture::new(As::Me);
    let p = f.dir.path().join("bad.yaml");
    std::fs::write(&p, "description: x\nfilesystem:\n  read: [unclosed\n").unwrap();
    let out = f.agentbox(&["run", "-p", p.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let e = stderr(&out);
    assert!(
        e.contains("bad.yaml:") && e.contains(":3:") || e.contains(":4:"),
        "{e}"
    );

    std::fs::write(&p, "filesystem:\n  reed: [/usr]\n").unwrap();
    let out = f.agentbox(&["run", "-p", p.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let e = stderr(&out);
    assert!(e.contains("reed") && e.contains("bad.yaml:2:"), "{e}");

    let out = f.agentbox(&["run", "-p", "no-such-profile", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let e = stderr(&out);
    assert!(
        e.contains("no-such-profile") && e.contains("default") && e.contains("read-only"),
        "{e}"
    );

    let out = f.agentbox(&["profile", "validate", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125));

    // Cycles.
    let a = f.dir.path().join("a.yaml");
    let b = f.dir.path().join("b.yaml");
    std::fs::write(&a, format!("extends: {}\n", b.display())).unwrap();
    std::fs::write(&b, format!("extends: {}\n", a.display())).unwrap();
    let out = f.agentbox(&["profile", "show", a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("cycle"));

    // Garbage never panics.
    for junk in [
        "\u{0}\u{1}",
        "- a\n- b\n",
        "filesystem: 3\n",
        "env:\n  inherit: sometimes\n",
        "{{{{",
        "extends: [1,2]",
    ] {
        std::fs::write(&p, junk).unwrap();
        let out = f.agentbox(&["profile", "validate", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(125), "{junk:?}");
        assert!(!stderr(&out).contains("panicked"));
    }
}

#[test]
fn dry_run_json_names_removed_variables_and_no_values() {
    let f = Fixture::new(As::Me);
    let token = secrets()[0].1.clone();
    let arg = format!("--token={token}");
    let out = f.agentbox(&["run", "--dry-run", "--json", "--", "sh", &arg]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains(&token),
        "a secret argument reached the plan"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let removed: Vec<&str> = v["env"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for n in [
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DATABASE_URL",
        "SSH_AUTH_SOCK",
        "BUILD_NOTE",
    ] {
        assert!(removed.contains(&n), "{n} in {removed:?}");
    }
    assert_eq!(v["profile"], "default");
    assert!(v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == "landlock"));
    // Human form and every verbosity.
    for args in [
        &["run", "--dry-run", "--", "sh"][..],
        &["-vvv", "run", "--dry-run", "--", "sh"][..],
        &["run", "-vvv", "--", "true"][..],
    ] {
        let out = f.agentbox(args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

#[test]
fn status_line_names_profile_and_layers() {
    let f = Fixture::new(As::Me);
    let out = f.agentbox(&["run", "--", "true"]);
    let e = stderr(&out);
    assert!(
        e.contains("profile default") && e.contains("landlock") && e.contains("removed"),
        "{e}"
    );
    let out = f.agentbox(&["run", "-q", "--", "true"]);
    assert!(stderr(&out).is_empty());
}

#[test]
fn allow_flags_widen_one_run_and_show_in_plan() {
    let f = Fixture::new(As::Me);
    let extra = f.dir.path().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("data"), "visible").unwrap();
    let e = extra.to_str().unwrap();
    let out = f.agentbox(&[
        "run",
        "-q",
        "--allow-read",
        e,
        "--",
        "cat",
        &format!("{e}/data"),
    ]);
    assert_eq!(stdout(&out), "visible");
    let out = f.agentbox(&["run", "-q", "--", "cat", &format!("{e}/data")]);
    assert!(!out.status.success());
    let out = f.agentbox(&["run", "--dry-run", "--allow-write", e, "--", "true"]);
    assert!(stdout(&out).contains(&format!("widened for this run: --allow-write {e}")));
}

#[test]
fn allow_write_of_a_missing_path_is_refused_unless_written_as_a_directory() {
    for who in who() {
        let f = Fixture::new(who);
        let parent = f.ws.parent().unwrap();
        let wt = parent.join("wt");
        let (w, r) = (wt.to_str().unwrap(), parent.join("nothing"));
        // Refused, with why and what to do instead; nothing is created.
        let out = f.agentbox(&["run", "-q", "--allow-write", w, "--", "true"]);
        assert_eq!(out.status.code(), Some(125), "[{who:?}] {}", show(&out));
        let e = stderr(&out);
        assert!(
            e.contains("does not exist") && e.contains("trailing /"),
            "[{who:?}] {e}"
        );
        let out = f.agentbox(&[
            "run",
            "-q",
            "--allow-read",
            r.to_str().unwrap(),
            "--",
            "true",
        ]);
        assert_eq!(out.status.code(), Some(125), "[{who:?}] {}", show(&out));
        assert!(
            stderr(&out).contains("nothing to read"),
            "[{who:?}] {}",
            show(&out)
        );
        assert!(!wt.exists() && !r.exists());
        // `DIR/`: created for the run, so `git worktree add ../wt` works there.
        let dir = format!("{w}/");
        for (mode, extra) in MODES {
            let mut args = vec!["run", "-q", "--allow-write", &dir];
            args.extend_from_slice(extra);
            args.extend([
                "--",
                "sh",
                "-c",
                "git worktree add -q ../wt 2>&1 && echo added",
            ]);
            let out = f.agentbox(&args);
            check(
                stdout(&out).contains("added"),
                &format!("[{who:?}] {mode}: worktree add"),
                &out,
            );
            let list = sh_host(
                who,
                &f.ws,
                &format!("HOME={} git worktree list", f.home.display()),
            );
            check(
                stdout(&list).contains(w),
                &format!("[{who:?}] {mode}: the worktree is there"),
                &list,
            );
            let out = sh_host(
                who,
                &f.ws,
                &format!("HOME={} git worktree remove --force {w}", f.home.display()),
            );
            check(
                out.status.success(),
                &format!("[{who:?}] {mode}: remove"),
                &out,
            );
            // Left empty, it goes again after the run.
            let mut args = vec!["run", "-q", "--allow-write", &dir];
            args.extend_from_slice(extra);
            args.extend(["--", "true"]);
            let out = f.agentbox(&args);
            check(
                out.status.success() && !wt.exists(),
                &format!("[{who:?}] {mode}: empty one removed"),
                &out,
            );
        }
    }
}

#[test]
fn profile_list_show_validate() {
    let f = Fixture::new(As::Me);
    let out = f.agentbox(&["profile", "list"]);
    let s = stdout(&out);
    assert!(s.contains("default") && s.contains("read-only"));
    let out = f.agentbox(&["profile", "show", "default"]);
    let s = stdout(&out);
    let p = f.dir.path().join("creds.yaml");
    std::fs::write(
        &p,
        "extends: default\nenv:\n  set:\n    DB_PASSWORD: hunter2-test\n",
    )
    .unwrap();
    let shown = stdout(&f.agentbox(&["profile", "show", p.to_str().unwrap()]));
    assert!(
        !shown.contains("hunter2-test"),
        "profile show printed an env.set value (output not shown)"
    );
    assert!(shown.contains("DB_PASSWORD"), "{shown}");
    assert!(
        s.contains("/usr") && s.contains("${WORKSPACE}") && !s.contains("extends"),
        "{s}"
    );
    // A user profile extending default.
    let mine = f.user_profile(
        "mine",
        "description: mine\nextends: default\nenv:\n  set:\n    FOO: bar\n",
    );
    let out = f.agentbox(&[
        "run",
        "-q",
        "-p",
        "mine",
        "--",
        "sh",
        "-c",
        "echo $FOO; cat ~/.ssh/id_ed25519",
    ]);
    assert!(stdout(&out).contains("bar") && !stdout(&out).contains("CREDENTIAL"));
    let out = f.agentbox(&["profile", "validate", mine.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn read_only_profile_writes_nothing() {
    let f = Fixture::new(As::Me);
    let out = f.agentbox(&["run", "-q", "-p", "read-only", "--", "sh", "-c", "git log --oneline | grep -q init && grep -q hello README.md && echo read-ok; echo x > y.txt"]);
    assert!(stdout(&out).contains("read-ok"), "{}", stderr(&out));
    assert!(!out.status.success());
    assert!(!f.ws.join("y.txt").exists());
}

#[test]
fn inherited_descriptors_are_closed() {
    let f = Fixture::new(As::Me);
    let secret = f.dir.path().join("leak");
    std::fs::write(&secret, "leaked-through-fd").unwrap();
    let file = std::fs::File::open(&secret).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    // Keep the descriptor open across agentbox's exec (close-on-exec cleared in its child only).
    let script = format!("cat <&{fd}; ls /proc/self/fd");
    // bash: dash refuses `<&N` for N above 9, which would pass this test without trying.
    let mut c = boxcmd(&f, FULL, &["bash", "-c", &script]);
    leak_fds(&mut c, vec![fd]);
    let out = c.output().expect("run agentbox");
    assert_no_secret(&out);
    assert!(!stdout(&out).contains("leaked-through-fd"));
    drop(file);
}

#[test]
fn workspace_under_tmp_is_writable_and_tmp_stays_private() {
    for who in who() {
        let f = fixture_in(who, "/tmp");
        let out =
            f.sh("echo hi > new.txt && cat new.txt && echo x > \"$TMPDIR/t\" && ls /tmp | wc -l");
        assert!(stdout(&out).contains("hi"), "[{who:?}] {}", stderr(&out));
        let parent = f.ws.parent().unwrap().display().to_string();
        let out = f.sh(&format!("echo x > {parent}/x"));
        assert!(!out.status.success());
        let out = f.sh(&format!("cat {}/.ssh/id_ed25519", f.home.display()));
        assert!(!stdout(&out).contains("CREDENTIAL"));
    }
}

#[test]
fn a_workspace_profile_may_only_narrow() {
    let f = Fixture::new(As::Me);
    let wide = f.ws.join("agentbox.yaml");
    std::fs::write(
        &wide,
        "extends: default\nfilesystem:\n  read: [~/.ssh]\nnetwork:\n  allow: [exfil.example.com]\nenv:\n  allow: [GITHUB_TOKEN]\n",
    )
    .unwrap();
    let out = f.agentbox(&[
        "run",
        "-p",
        wide.to_str().unwrap(),
        "--",
        "cat",
        &format!("{}/.ssh/id_ed25519", f.home.display()),
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains("filesystem.read: ~/.ssh")
            && e.contains("network.allow: exfil.example.com")
            && e.contains("env.allow: GITHUB_TOKEN"),
        "{e}"
    );
    assert!(!stdout(&out).contains("CREDENTIAL"));
    // Nor may it silence the audit trail.
    std::fs::write(&wide, "extends: default\naudit: off\n").unwrap();
    let out = f.agentbox(&["run", "-p", wide.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("audit: off"));
    // Narrowing is fine.
    let narrow = f.ws.join("narrow.yaml");
    std::fs::write(
        &narrow,
        "extends: default\nfilesystem:\n  deny: ['${WORKSPACE}/secret-dir']\n",
    )
    .unwrap();
    let out = f.agentbox(&["run", "-q", "-p", narrow.to_str().unwrap(), "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The same widening profile outside the workspace is the person's own choice.
    let outside = f.dir.path().join("mine.yaml");
    std::fs::write(
        &outside,
        "extends: default\nnetwork:\n  allow: [docs.example.com]\n",
    )
    .unwrap();
    let out = f.agentbox(&[
        "run",
        "-q",
        "--dry-run",
        "-p",
        outside.to_str().unwrap(),
        "--",
        "true",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn profile_conveniences_state_dirs_values_and_inherited_mode() {
    let f = Fixture::new(As::Me);
    let p = f.dir.path().join("p.yaml");
    std::fs::write(
        &p,
        "extends: read-only\nfilesystem:\n  write: ['~/.mytool/']\nenv:\n  set:\n    TOOL_HOME: '${HOME}/.mytool'\n    PRICE: 'cost $$5'\nnetwork:\n  allow: [docs.example.com]\n",
    )
    .unwrap();
    // A dry run creates nothing; the plan says the directory will be created and the mode
    // is allowlist although read-only says `off` (hosts were added below it).
    let out = f.agentbox(&["run", "--dry-run", "-p", p.to_str().unwrap(), "--", "true"]);
    let s = stdout(&out);
    assert!(s.contains("create") && s.contains(".mytool"), "{s}");
    assert!(s.contains("network:   allowlist"), "{s}");
    assert!(!f.home.join(".mytool").exists());
    let out = f.agentbox(&[
        "run",
        "-q",
        "-p",
        p.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "echo \"$TOOL_HOME|$PRICE\"; echo x > $TOOL_HOME/state && echo wrote",
    ]);
    let s = stdout(&out);
    assert!(
        s.contains(&format!("{}/.mytool|cost $5", f.home.display())),
        "{s}{}",
        stderr(&out)
    );
    assert!(s.contains("wrote"), "{s}{}", stderr(&out));
    assert!(f.home.join(".mytool/state").exists());
    // An explicit `mode: off` in the profile that adds the hosts still wins.
    std::fs::write(
        &p,
        "extends: read-only\nnetwork:\n  mode: off\n  allow: [docs.example.com]\n",
    )
    .unwrap();
    let out = f.agentbox(&["run", "--dry-run", "-p", p.to_str().unwrap(), "--", "true"]);
    assert!(stdout(&out).contains("network:   off"), "{}", stdout(&out));
}

#[test]
fn a_hidden_path_that_is_a_symlink_hides_its_target() {
    for who in who() {
        let f = Fixture::new(who);
        std::fs::write(f.ws.join("real-secrets.txt"), "DOTENV-SECRET\n").unwrap();
        std::os::unix::fs::symlink("real-secrets.txt", f.ws.join(".env")).unwrap();
        chown_to(&f.ws.join(".env"), who);
        chown_to(&f.ws.join("real-secrets.txt"), who);
        let out = f.sh("cat .env; echo done");
        assert!(stdout(&out).contains("done"), "[{who:?}] {}", stderr(&out));
        assert!(
            !stdout(&out).contains("DOTENV-SECRET"),
            "[{who:?}] .env through a symlink"
        );
    }
}
