//! Issue 7: denials named with the line that allows them, the run report, the audit trail,
//! and `agentbox learn`; issue 8: completions and the man page.

use crate::common::*;

#[test]
fn summary_and_report_name_denials_without_values() {
    for who in who() {
        let f = Fixture::new(who);
        let report = f.dir.path().join("report.json");
        let out = f.agentbox(&[
            "run",
            "--report-denials",
            "--report",
            report.to_str().unwrap(),
            "--allow-host",
            "127.0.0.1:9",
            "--",
            "sh",
            "-c",
            "cat ~/.aws/credentials; curl -s -m 5 -o /dev/null http://denied.example.invalid/; exit 3",
        ]);
        assert_eq!(out.status.code(), Some(3), "[{who:?}] {}", stderr(&out));
        let e = stderr(&out);
        let creds = f.home.join(".aws/credentials").display().to_string();
        assert!(
            e.contains(&creds) && e.contains("never allowed by default: a credential"),
            "[{who:?}] {e}"
        );
        assert!(
            e.contains("denied.example.invalid:80")
                && e.contains("--allow-host denied.example.invalid:80"),
            "[{who:?}] {e}"
        );
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(r["exit"]["code"], 3);
        assert!(r["filesystem_denials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["path"] == creds.as_str()));
        assert!(r["network_denials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["host"] == "denied.example.invalid"));
        let removed: Vec<&str> = r["env_removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap())
            .collect();
        assert!(removed.contains(&"GITHUB_TOKEN") && removed.contains(&"AWS_SECRET_ACCESS_KEY"));
        assert_eq!(r["profile_hash"].as_str().unwrap().len(), 64);
        let text = std::fs::read_to_string(&report).unwrap();
        for v in secret_values() {
            assert!(!text.contains(&v), "a secret value reached the report");
        }
    }
}

#[test]
fn secret_looking_arguments_are_redacted_in_records() {
    let f = Fixture::new(As::Me);
    let report = f.dir.path().join("r.json");
    let token = secrets()[0].1.clone();
    let _ = f.agentbox(&[
        "run",
        "-q",
        "--report",
        report.to_str().unwrap(),
        "--",
        "true",
        &format!("--token={token}"),
    ]);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        !text.contains(&token),
        "a secret argument reached the report"
    );
    let audit = std::fs::read_to_string(f.audit_log()).unwrap();
    assert!(
        !audit.contains(&token),
        "a secret argument reached the audit trail"
    );
}

#[test]
fn audit_trail_one_line_per_launch_out_of_reach() {
    for who in who() {
        let f = Fixture::new(who);
        let audit = f.audit_log();
        for i in 0..3 {
            let _ = f.sh(&format!("exit {i}"));
        }
        // The box cannot write (or even see) the audit trail, even when the profile grants home.
        let out = f.agentbox(&[
            "run", "-q", "--allow-write", f.home.to_str().unwrap(), "--", "sh", "-c",
            "echo forged >> ~/.local/state/agentbox/audit.jsonl && echo WROTE; ls ~/.local/state/agentbox && echo LISTED; true",
        ]);
        assert!(
            !stdout(&out).contains("WROTE") && !stdout(&out).contains("LISTED"),
            "[{who:?}] {}",
            stdout(&out)
        );
        let text = std::fs::read_to_string(&audit).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "[{who:?}] {text}");
        // (The launch's own record quotes the command text; a forged raw line would not parse.)
        assert!(!text.lines().any(|l| l.trim() == "forged"));
        assert_eq!(lines[1]["exit"], 1);
        assert_eq!(lines[0]["profile"], "default");
        assert!(lines[0]["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "landlock"));
        // A profile setting moves or disables it.
        let p = f.dir.path().join("noaudit.yaml");
        std::fs::write(&p, "extends: default\naudit: off\n").unwrap();
        let _ = f.agentbox(&["run", "-q", "-p", p.to_str().unwrap(), "--", "true"]);
        assert_eq!(std::fs::read_to_string(&audit).unwrap().lines().count(), 4);
    }
}

#[test]
fn learn_produces_a_working_tight_profile() {
    // HOME outside /tmp, as on a real machine (the box masks /tmp).
    let base = tempfile::Builder::new()
        .prefix("agentbox-learn-t")
        .tempdir_in("/var/tmp")
        .unwrap();
    let home = base.path().join("home");
    let ws = base.path().join("ws");
    let data = base.path().join("data");
    for d in [&home.join(".cache"), &home.join(".ssh"), &ws, &data] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(home.join(".ssh/id_ed25519"), "KEY-MATERIAL").unwrap();
    std::fs::write(data.join("input.txt"), "INPUT-DATA").unwrap();
    let (port, _) = http_server("127.0.0.1:0", "learn");
    let script = format!(
        "cat {}/input.txt && mkdir -p $HOME/.cache/tool && echo built > $HOME/.cache/tool/out && curl -sf -m 5 --noproxy '*' http://127.0.0.1:{port}/",
        data.display()
    );
    let learned = base.path().join("learned.yaml");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .args(args)
            .current_dir(&ws)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &home)
            .output()
            .unwrap();
        assert_no_secret(&out);
        out
    };
    // Without a learned profile the command fails.
    let out = run(&["run", "-q", "--", "sh", "-c", &script]);
    assert!(!out.status.success());
    let out = run(&[
        "learn",
        "-o",
        learned.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &format!("{script}; cat ~/.ssh/id_ed25519; true"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let y = std::fs::read_to_string(&learned).unwrap();
    assert!(y.contains(&data.display().to_string()), "{y}");
    assert!(y.contains("~/.cache/tool"), "{y}");
    assert!(y.contains(&format!("127.0.0.1:{port}")), "{y}");
    assert!(
        !y.lines()
            .any(|l| !l.starts_with('#') && !l.starts_with("description:") && l.contains(".ssh")),
        "a credential was granted:\n{y}"
    );
    assert!(
        y.contains("WARNING") && y.contains(".ssh"),
        "the refused credential is listed as a warning:\n{y}"
    );
    // The same command passes under the learned profile, and ~/.ssh stays unreadable.
    let out = run(&[
        "run",
        "-q",
        "-p",
        learned.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert!(out.status.success(), "{}\n{y}", stderr(&out));
    assert!(stdout(&out).contains("INPUT-DATA") && stdout(&out).contains("ok"));
    let out = run(&[
        "run",
        "-q",
        "-p",
        learned.to_str().unwrap(),
        "--",
        "cat",
        &format!("{}/.ssh/id_ed25519", home.display()),
    ]);
    assert!(!out.status.success() && !stdout(&out).contains("KEY-MATERIAL"));
}

#[test]
fn git_refusals_are_named_with_why_they_are_protected() {
    for who in who() {
        let f = Fixture::new(who);
        let gm = "[submodule \"x\"]\n\tpath = x\n\turl = ./x\n";
        std::fs::write(f.ws.join(".gitmodules"), gm).unwrap();
        chown_to(&f.ws, who);
        let git = |args: &[&str]| {
            let out = sh_host(
                who,
                &f.ws,
                &format!("HOME={} git {}", f.home.display(), args.join(" ")),
            );
            assert!(out.status.success(), "git {args:?}: {}", show(&out));
        };
        git(&["add", ".gitmodules"]);
        git(&["commit", "-q", "-m", "gitmodules"]);
        // `git config -f .gitmodules` renames .gitmodules.lock onto the read-only .gitmodules:
        // the kernel answers EBUSY, which the summary explains; `git config user.name` works
        // in the box and is named after the run as not applied.
        let script = "git config -f .gitmodules submodule.x.url ./y; \
                      echo x > .git/hooks/pre-commit; \
                      git config user.name Box && echo name-set";
        for (mode, extra) in MODES {
            let mut args = vec!["run", "--report-denials=writes"];
            args.extend_from_slice(extra);
            args.extend(["--", "sh", "-c", script]);
            let out = f.agentbox(&args);
            let e = stderr(&out);
            let ctx = format!("[{who:?}] {mode}");
            check(stdout(&out).contains("name-set"), &ctx, &out);
            check(
                (e.contains("not applied") || e.contains("undone")) && e.contains("user.name"),
                &format!("{ctx}: git config user.name named after the run"),
                &out,
            );
            if mode == "namespaces" {
                check(
                    e.lines().any(|l| {
                        l.contains("write ")
                            && l.contains(".gitmodules ->")
                            && l.contains("filesystem.protect")
                            && l.contains("Device or resource busy")
                    }),
                    &format!("{ctx}: the EBUSY rename onto .gitmodules explained"),
                    &out,
                );
                check(
                    e.lines().any(|l| {
                        l.contains(".git/hooks/pre-commit ->")
                            && l.contains("git hooks run on the host")
                    }),
                    &format!("{ctx}: the hook write named"),
                    &out,
                );
            }
            assert_eq!(
                std::fs::read_to_string(f.ws.join(".gitmodules")).unwrap(),
                gm,
                "{ctx}"
            );
            assert!(!f.ws.join(".git/hooks/pre-commit").exists(), "{ctx}");
        }
    }
}

/// `agentbox ARGS` with stdout a pipe whose reader has already gone (as `| head -1` leaves it).
fn closed_stdout(
    f: &Fixture,
    args: &[&str],
    stdin: Option<&std::path::Path>,
) -> std::process::Output {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors; the read end is closed at once.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(r);
    let mut c = f.command(args);
    c.stdout(std::process::Stdio::from(w))
        .stderr(std::process::Stdio::piped())
        .stdin(match stdin {
            Some(p) => std::process::Stdio::from(std::fs::File::open(p).unwrap()),
            None => std::process::Stdio::null(),
        });
    let child = c.spawn().unwrap();
    // Drop our copy of the write end with the Command, so only the child holds it.
    drop(c);
    let out = child.wait_with_output().unwrap();
    assert_no_secret(&out);
    out
}

#[test]
fn a_closed_pipe_is_a_normal_end() {
    let f = Fixture::new(As::Me);
    let big = f.dir.path().join("big.log");
    let line = "an ordinary log line, nothing secret in it at all\n";
    std::fs::write(&big, line.repeat(400_000)).unwrap();
    for (args, stdin) in [
        (&["profile", "list"][..], None),
        (&["profile", "show", "default"][..], None),
        (&["redact"][..], Some(big.as_path())),
        (&["run", "--dry-run", "--", "true"][..], None),
        (&["run", "--dry-run", "--json", "--", "true"][..], None),
        (&["man"][..], None),
        (&["completions", "bash"][..], None),
        (&["--help"][..], None),
    ] {
        let out = closed_stdout(&f, args, stdin);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
        let e = stderr(&out);
        assert!(
            !e.contains("panicked") && !e.contains("Broken pipe"),
            "{args:?}: {e}"
        );
    }
}

#[test]
fn completions_and_man_page() {
    let f = Fixture::new(As::Me);
    // The person's own profiles are offered after -p; a name that is not plain never reaches
    // the shell code.
    f.user_profile("mine", "extends: default\n");
    f.user_profile("x$(touch pwned)", "extends: default\n");
    for sh in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = f.agentbox(&["completions", sh]);
        assert!(out.status.success() && out.stdout.len() > 500, "{sh}");
        let s = stdout(&out);
        if sh != "elvish" && sh != "powershell" {
            assert!(
                s.contains("mine") && s.contains("read-only"),
                "{sh}: profile names"
            );
        }
        assert!(!s.contains("pwned"), "{sh}: a file name reached the script");
    }
    let out = f.agentbox(&["completions", "bash"]);
    let s = stdout(&out);
    let profile_case = s
        .split("--profile)")
        .nth(1)
        .and_then(|c| c.split(";;").next())
        .unwrap_or_default();
    assert!(
        profile_case.contains("compgen -W")
            && profile_case.contains("mine")
            && !profile_case.contains("compgen -f"),
        "after -p: profile names, not file names: {profile_case}"
    );
    // One page per command: `agentbox man run` is agentbox-run(1), which the top page names.
    let out = f.agentbox(&["man"]);
    let top = stdout(&out);
    assert!(
        top.starts_with(".TH agentbox 1"),
        "{}",
        &top[..80.min(top.len())]
    );
    assert!(
        top.contains("agentbox\\-run(1)"),
        "top page names agentbox-run(1)"
    );
    let out = f.agentbox(&["man", "run"]);
    assert!(
        stdout(&out).starts_with(".TH agentbox-run 1"),
        "{}",
        show(&out)
    );
    assert!(stdout(&out).contains("allow\\-write"), "{}", show(&out));
    let out = f.agentbox(&["man", "nope"]);
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
    let pages = f.dir.path().join("man1");
    let out = f.agentbox(&["man", "--out-dir", pages.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    for p in [
        "agentbox.1",
        "agentbox-run.1",
        "agentbox-profile-list.1",
        "agentbox-learn.1",
    ] {
        let text = std::fs::read_to_string(pages.join(p)).unwrap_or_default();
        assert!(text.starts_with(".TH "), "{p}");
    }
    let out = f.agentbox(&["run", "--help"]);
    let h = stdout(&out);
    for flag in [
        "--profile",
        "--workspace",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-host",
        "--dry-run",
        "--json",
        "--best-effort",
        "--report",
        "--report-denials",
        "--simulate-kernel",
    ] {
        assert!(h.contains(flag), "run --help lacks {flag}");
    }
    let out = f.agentbox(&["--version"]);
    let v = stdout(&out);
    assert!(
        v.contains(env!("CARGO_PKG_VERSION")) && v.contains('('),
        "{v}"
    );
}

/// Issue 15: `--report-denials=writes` traces what changes the filesystem and exec, not opens
/// for reading. Each refused change is named with the setting that allows it: through a
/// symlink (the target's tree, not the link, which would grant the target), relative to a
/// directory descriptor, by open flags alone (O_RDWR, O_TRUNC), on a read-only mount (EROFS),
/// an exec, a directory; a failed run says how to have refused reads named too. The default
/// (no flag) names the exec only, and says how to have the rest named.
#[test]
fn writes_observer_names_refused_changes_and_execs() {
    let py = python();
    for who in who() {
        for (mode, extra) in MODES {
            let f = Fixture::new(who);
            // Granted for reading only (--allow-read): no write, no exec.
            let ro = f.dir.path().join("ro");
            std::fs::create_dir_all(&ro).unwrap();
            std::fs::write(ro.join("data"), "DATA\n").unwrap();
            write_exec(&ro.join("tool"), "#!/bin/sh\necho TOOL-RAN\n");
            std::os::unix::fs::symlink(&ro, f.ws.join("ro-link")).unwrap();
            std::fs::create_dir_all(f.ws.join(".vscode")).unwrap();
            chown_to(f.dir.path(), who);
            let ro = ro.display().to_string();
            let script = format!(
                r#"echo x > ro-link/through-link
{py} -c '
import os
d = os.open("{ro}", os.O_RDONLY | os.O_DIRECTORY)
for name, flags in [("dirfd-new", os.O_WRONLY | os.O_CREAT), ("data", os.O_RDWR), ("data", os.O_RDONLY | os.O_TRUNC)]:
    try:
        os.close(os.open(name, flags, 0o644, dir_fd=d))
        print("OPENED", name)
    except OSError as e:
        pass
'
mkdir {ro}/newdir
{ro}/tool
echo x > .vscode/settings.json
exit 7"#
            );
            let mut args = vec!["run"];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--allow-read", &ro, "--", "sh", "-c", &script]);
            let default = f.agentbox(&args);
            args.insert(1, "--report-denials=writes");
            let out = f.agentbox(&args);
            let c = format!("[{who:?}/{mode}]");
            let d = stderr(&default);
            assert_eq!(default.status.code(), Some(7), "{c} {}", show(&default));
            assert!(
                d.contains(&format!("exec {ro}/tool -> `filesystem.exec: [{ro}]`"))
                    && !d.contains(&format!("write {ro}/"))
                    && d.contains("refused reads and writes are not traced by default")
                    && d.contains("--report-denials"),
                "{c} default observer\n{d}"
            );
            let e = stderr(&out);
            assert_eq!(out.status.code(), Some(7), "{c} {}", show(&out));
            assert!(
                !stdout(&out).contains("OPENED") && !stdout(&out).contains("TOOL-RAN"),
                "{c} {}",
                show(&out)
            );
            let grant = format!("--allow-write {ro} or `filesystem.write: [{ro}]`");
            for line in [
                format!("write {ro}/through-link -> {grant}"),
                format!("write {ro}/dirfd-new -> {grant}"),
                format!("write {ro}/data (2x) -> {grant}"),
                format!("write {ro}/newdir -> {grant}"),
                format!("exec {ro}/tool -> `filesystem.exec: [{ro}]`"),
            ] {
                assert!(e.contains(&line), "{c} not named: {line}\n{e}");
            }
            assert!(
                !e.lines()
                    .any(|l| l.starts_with("agentbox:   ") && l.contains("ro-link")),
                "{c} the link was named\n{e}"
            );
            // A read-only mount inside the workspace (EROFS): only the namespace layer has one
            // (without it the protected path is restored after the run).
            if extra == FULL {
                let vscode = f.ws.join(".vscode");
                let line = format!(
                    "write {}/settings.json -> protected by filesystem.protect `{}`",
                    vscode.display(),
                    vscode.display()
                );
                assert!(e.contains(&line), "{c} not named: {line}\n{e}");
            }
            assert!(
                e.contains("refused reads are not traced with --report-denials=writes"),
                "{c} {e}"
            );
        }
    }
}

/// Issue 15: refused reads are named with `--report-denials` (the full observer, as `learn`
/// uses), not by default; the report says which calls were observed.
#[test]
fn refused_reads_are_named_with_report_denials() {
    for who in who() {
        let f = Fixture::new(who);
        let other = f.dir.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("notes.txt"), "NOTES\n").unwrap();
        chown_to(f.dir.path(), who);
        let notes = other.join("notes.txt").display().to_string();
        let script = format!("cat {notes}; exit 3");
        let report = f.dir.path().join("r.json");
        let rep = report.to_str().unwrap();
        let observed = || {
            let r: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
            r["filesystem_observed"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let hint = "refused reads and writes are not traced by default";
        let out = f.agentbox(&["run", "--report", rep, "--", "sh", "-c", &script]);
        let e = stderr(&out);
        assert!(!stdout(&out).contains("NOTES"), "[{who:?}] {}", show(&out));
        assert!(!e.contains(&notes) || e.contains(&format!("cat: {notes}")));
        assert!(e.contains(hint), "[{who:?}] {e}");
        assert_eq!(observed(), "exec");

        let out = f.agentbox(&[
            "run",
            "--report-denials",
            "--report",
            rep,
            "--",
            "sh",
            "-c",
            &script,
        ]);
        let e = stderr(&out);
        let line = format!(
            "read {notes} -> --allow-read {o} or `filesystem.read: [{o}]`",
            o = other.display()
        );
        assert!(e.contains(&line) && !e.contains(hint), "[{who:?}] {e}");
        assert_eq!(observed(), "all");

        let out = f.agentbox(&["run", "--no-report-denials", "--", "sh", "-c", &script]);
        assert!(!stderr(&out).contains(hint), "[{who:?}] {}", show(&out));
        // A run that succeeds is not told about reads.
        let out = f.agentbox(&[
            "run",
            "--",
            "sh",
            "-c",
            &format!("cat {notes} 2>/dev/null; true"),
        ]);
        assert!(!stderr(&out).contains(hint), "[{who:?}] {}", show(&out));
    }
}
