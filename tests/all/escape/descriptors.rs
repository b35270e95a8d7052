//! Descriptors agentbox is handed by its caller.

use crate::common::*;
use std::os::fd::AsRawFd;
use std::process::{Command, Output, Stdio};

// A descriptor inherited from the caller: a pipe holding a secret, its read end leaked into
// agentbox without close-on-exec; and a directory descriptor to HOME (openat through it would
// bypass every path rule). bash, not sh: dash refuses `<&N` for N above 9, and a busy test
// process hands out higher numbers.
#[test]
fn inherited_descriptors_give_nothing() {
    for (layout, f) in layouts(As::Me)
        .into_iter()
        .chain(if who().contains(&As::User) {
            layouts(As::User)
        } else {
            vec![]
        })
    {
        let who = f.owner;
        let run = |in_box: bool| -> Output {
            let (r, _w) = pipe_with(b"pipe-secret-value\n");
            let home = std::fs::File::open(&f.home).unwrap();
            let (rfd, hfd) = (r.as_raw_fd(), home.as_raw_fd());
            let script = format!(
                "cat <&{rfd} | head -c 100; echo; cat /proc/self/fd/{hfd}/.ssh/id_ed25519; ls /proc/self/fd/{hfd}/; echo end"
            );
            let mut c = if in_box {
                boxcmd(&f, FULL, &["bash", "-c", &script])
            } else {
                let mut c = Command::new("bash");
                c.args(["-c", &script])
                    .current_dir(&f.ws)
                    .env_clear()
                    .env("PATH", PATH);
                as_who(&mut c, who);
                c
            };
            // Read end non-blocking so `cat` ends when the pipe is empty.
            // SAFETY: fcntl on our own descriptor.
            unsafe { libc::fcntl(rfd, libc::F_SETFL, libc::O_NONBLOCK) };
            c.stdin(Stdio::null());
            leak_fds(&mut c, vec![rfd, hfd]);
            let out = spawn_wait(c, 20).0;
            drop(home);
            out
        };
        let out = run(false);
        check(
            stdout(&out).contains("pipe-secret-value")
                && stdout(&out).contains("CREDENTIAL-FILE-CONTENT"),
            &format!("[{who:?}/{layout}] host control: leaked fds work"),
            &out,
        );
        let out = run(true);
        assert_no_secret(&out);
        let s = stdout(&out);
        check(
            s.contains("end")
                && !s.contains("pipe-secret-value")
                && !s.contains("CREDENTIAL")
                && !s.contains(".ssh"),
            &format!("[{who:?}/{layout}] leaked descriptors"),
            &out,
        );
    }
}
