//! Files other processes left in shared temp dirs.

use super::*;
use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

// A file another process left in /tmp (world-readable): the box's /tmp is private.
#[test]
fn file_left_in_tmp_invisible() {
    let p = PathBuf::from(format!("/tmp/agentbox-left-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(p.clone());
    std::fs::write(&p, "left-behind-secret\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ps = p.to_str().unwrap();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "/tmp left file",
            READ_PATH,
            &[ps],
            "r",
            &["LEAK"],
        );
        expect_box(
            &f,
            "/tmp left file",
            READ_PATH,
            &[ps],
            "r",
            &[(FULL, &["ENOENT"]), (NO_NS, &["EACCES"])],
        );
        let out = sh_box(&f, FULL, "ls -a /tmp \"$TMPDIR\"; echo end");
        check(
            !stdout(&out).contains("agentbox-left"),
            &format!("[{who:?}] ls /tmp"),
            &out,
        );
    }
    let _ = std::fs::remove_file(&p);
}

// The same in /dev/shm (POSIX shared memory of other programs).
#[test]
fn file_left_in_dev_shm_invisible() {
    if !require("/dev/shm", Path::new("/dev/shm").is_dir()) {
        return;
    }
    let p = PathBuf::from(format!("/dev/shm/agentbox-left-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(p.clone());
    std::fs::write(&p, "left-behind-secret\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ps = p.to_str().unwrap();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "/dev/shm left file",
            READ_PATH,
            &[ps],
            "r",
            &["LEAK"],
        );
        // Only the full sandbox: without namespaces the plan grants the host's /dev/shm on
        // purpose (POSIX semaphores), so a file left there is readable in that mode.
        expect_box(
            &f,
            "/dev/shm left file",
            READ_PATH,
            &[ps],
            "r",
            &[(FULL, &["ENOENT"])],
        );
    }
    let _ = std::fs::remove_file(&p);
}
