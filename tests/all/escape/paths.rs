//! Paths toward the credentials: symlinks, hard links, /proc/self/cwd, /proc/1/root.

use super::*;
use crate::common::*;

/// Run the read probe for `path` on the host (must leak) and in the box (must not).
fn read_blocked(f: &Fixture, layout: &str, name: &str, path: &str, host_path: Option<&str>) {
    if let Some(hp) = host_path {
        expect_host(
            f.owner,
            &f.ws,
            &format!("{layout}: {name}"),
            READ_PATH,
            &[hp],
            "r",
            &["LEAK"],
        );
    }
    let (out, v) = py_box(f, FULL, READ_PATH, &[path]);
    let ctx = format!("[{:?}/{layout}] {name} ({path})", f.owner);
    want(&ctx, &out, &v, "r", &["ENOENT", "EACCES", "ELOOP"]);
}

// The credentials themselves, in a HOME outside /tmp (real machines): Landlock alone.
#[test]
fn home_credentials_outside_tmp_unreadable() {
    for who in who() {
        let f = Fixture::new(who);
        for file in CRED_FILES {
            let p = f.home.join(file);
            let p = p.to_str().unwrap();
            read_blocked(&f, "var", file, p, Some(p));
        }
        let out = sh_box(&f, FULL, "ls -a \"$HOME\" \"$HOME/.ssh\"; echo end");
        check(
            !stdout(&out).contains("id_ed25519"),
            &format!("[{who:?}] list HOME"),
            &out,
        );
    }
}

// A symlink in the workspace pointing at ~/.ssh/id_ed25519, planted before the run.
#[test]
fn symlink_planted_outside_to_credential() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let link = f.ws.join("innocent.txt");
            std::os::unix::fs::symlink(f.home.join(".ssh/id_ed25519"), &link).unwrap();
            let _ = std::os::unix::fs::lchown(&link, Some(uid_of(who)), None);
            read_blocked(
                &f,
                layout,
                "planted symlink",
                "innocent.txt",
                Some("innocent.txt"),
            );
        }
    }
}

// A symlink created inside the box toward the credential (relative and absolute).
#[test]
fn symlink_created_inside_to_credential() {
    let body = r#"
os.symlink(A[0], 'abs-link')
os.symlink('../../home/.ssh/id_ed25519', 'rel-link')
report('abs', lambda: rd('abs-link'))
report('rel', lambda: rd('rel-link'))
"#;
    for who in who() {
        for (layout, f) in layouts(who) {
            let key = f.home.join(".ssh/id_ed25519");
            let key = key.to_str().unwrap();
            let (out, v) = py_box(&f, FULL, body, &[key]);
            let ctx = format!("[{who:?}/{layout}] symlink made inside");
            want(&ctx, &out, &v, "abs", &["ENOENT", "EACCES"]);
            want(&ctx, &out, &v, "rel", &["ENOENT", "EACCES"]);
            // The links themselves are the agent's files and may stay; they give nothing later
            // inside a box either.
        }
    }
}

// A hard link from inside the box to the credential (and to /etc/shadow): the link would be a
// workspace path with the workspace's rights.
#[test]
fn hard_link_inside_to_credential_or_shadow() {
    let body = r#"
report('link_key', lambda: os.link(A[0], 'key-hardlink'))
report('read_key', lambda: rd('key-hardlink'))
report('link_shadow', lambda: os.link('/etc/shadow', 'shadow-hardlink'))
report('read_shadow', lambda: 'LEAK' if b'root:' in open('shadow-hardlink', 'rb').read() else 'DATA')
"#;
    for who in who() {
        for (layout, f) in layouts(who) {
            let key = f.home.join(".ssh/id_ed25519");
            let key = key.to_str().unwrap();
            // Control: on the host, the same links work (same filesystem).
            let ctl = tempfile::tempdir_in(f.dir.path()).unwrap();
            chown_to(ctl.path(), who);
            expect_host(
                who,
                ctl.path(),
                "hard link",
                body,
                &[key],
                "read_key",
                &["LEAK"],
            );
            let (out, v) = py_box(&f, FULL, body, &[key]);
            let ctx = format!("[{who:?}/{layout}] hard link");
            want(
                &ctx,
                &out,
                &v,
                "link_key",
                &["ENOENT", "EACCES", "EXDEV", "EPERM"],
            );
            want(&ctx, &out, &v, "read_key", &["ENOENT"]);
            want(&ctx, &out, &v, "link_shadow", &["EXDEV", "EACCES", "EPERM"]);
            want(&ctx, &out, &v, "read_shadow", &["ENOENT"]);
            assert!(!f.ws.join("key-hardlink").exists() && !f.ws.join("shadow-hardlink").exists());
        }
    }
}

// /proc/self/cwd/../../home/.ssh/id_ed25519: walking out of the workspace through procfs.
#[test]
fn proc_self_cwd_dotdot_to_credential() {
    for who in who() {
        for (layout, f) in layouts(who) {
            // ws = <dir>/work/repo, home = <dir>/home
            let p = "/proc/self/cwd/../../home/.ssh/id_ed25519";
            read_blocked(&f, layout, "/proc/self/cwd/..", p, Some(p));
            read_blocked(
                &f,
                layout,
                "cwd ../..",
                "../../home/.aws/credentials",
                Some("../../home/.aws/credentials"),
            );
        }
    }
}

// /proc/1/root/<home>/...: another process's root directory (pid 1 is the box's init here;
// on the host it is the real init).
#[test]
fn proc_1_root_to_credential() {
    for who in who() {
        for (layout, f) in layouts(who) {
            let p = format!("/proc/1/root{}", f.home.join(".ssh/id_ed25519").display());
            let own = format!("/proc/self/root{}", f.home.join(".kube/config").display());
            // On the host /proc/1/root needs ptrace access to init (root only).
            // No host control for /proc/1/root: the host's init may be out of reach even for
            // root (it is here); /proc/self/root is the control for the path form.
            read_blocked(&f, layout, "/proc/1/root", &p, None);
            read_blocked(&f, layout, "/proc/self/root", &own, Some(&own));
        }
    }
}

// /proc/self/mountinfo shows where the hidden and masked things are; no path it names leads to
// the hidden content (the placeholder source, the masked /run staging, the workspace via its
// mount root).
#[test]
fn mountinfo_paths_lead_nowhere() {
    let body = r#"
info = open('/proc/self/mountinfo').read().splitlines()
tried = 0
leaks = []
for line in info:
    parts = line.split()
    root, mnt = parts[3], parts[4]
    for cand in (root, mnt, mnt + '/.env', root + '/.env'):
        for p in (cand, '/proc/self/root' + cand, '/proc/1/root' + cand):
            try:
                if os.path.isfile(p) and classify(open(p, 'rb').read(65536)) == 'LEAK':
                    leaks.append(p)
            except OSError:
                pass
            tried += 1
print('tried=' + str(tried))
print('leaks=' + (','.join(leaks) or 'none'))
for p in ('.env', './.env', '.git/../.env', os.getcwd() + '/.env', '/proc/self/cwd/.env',
          '/proc/1/cwd/.env', '/proc/self/root' + os.getcwd() + '/.env'):
    report('env:' + p, lambda p=p: rd(p))
"#;
    for who in who() {
        let f = Fixture::new(who);
        std::fs::write(f.ws.join(".env"), "dotenv-secret-value=1\n").unwrap();
        chown_to(&f.ws.join(".env"), who);
        let (out, v) = py_box(&f, FULL, body, &[]);
        let ctx = format!("[{who:?}] mountinfo");
        want(&ctx, &out, &v, "leaks", &["none"]);
        for (k, val) in &v {
            if k.starts_with("env:") {
                check(
                    val == "EACCES" || val == "EMPTY",
                    &format!("{ctx}: {k}={val}"),
                    &out,
                );
            }
        }
    }
}
