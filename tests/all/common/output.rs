//! Reading and checking what agentbox printed. Every runner checks `assert_no_secret` first, so
//! a failure message may show agentbox's output: it holds no fake secret value.

use super::secrets;
use std::path::PathBuf;
use std::process::Output;

/// No fake secret value may appear in anything agentbox printed.
#[track_caller]
pub fn assert_no_secret(out: &Output) {
    let text = all_output(out);
    for (name, v) in secrets() {
        if name == "SSH_AUTH_SOCK" {
            continue;
        }
        // Name the variable, never print the value itself.
        assert!(
            !text.contains(&v),
            "the fake value of {name} leaked into agentbox's output (output not shown)"
        );
    }
}

/// stdout then stderr, as text.
pub fn all_output(o: &Output) -> String {
    let all = [o.stdout.as_slice(), o.stderr.as_slice()].concat();
    String::from_utf8_lossy(&all).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Status, stdout and stderr, for a failure message.
pub fn show(out: &Output) -> String {
    format!(
        "status: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        stderr(out)
    )
}

/// [`show`] with `value` (a fake key the test made) blanked out.
pub fn show_masked(out: &Output, value: &str) -> String {
    if value.is_empty() {
        show(out)
    } else {
        show(out).replace(value, "<fake key>")
    }
}

/// Fail with `ctx` and agentbox's status, stdout and stderr unless `cond` holds.
#[track_caller]
pub fn check(cond: bool, ctx: &str, out: &Output) {
    assert!(cond, "{ctx}\n{}", show(out));
}

/// The quarantine directory the summary on stderr names (`agentbox: quarantine: DIR (...`, or
/// the same line indented in the report of an interrupted run).
pub fn quarantine_named(stderr: &str) -> Option<PathBuf> {
    stderr.lines().find_map(|l| {
        let rest = l.strip_prefix("agentbox:")?.trim_start();
        let rest = rest.strip_prefix("quarantine: ")?;
        Some(PathBuf::from(rest.split(" (MANIFEST.jsonl").next()?))
    })
}

/// The run's quarantine, with every file in it and its content.
pub fn quarantined_files(stderr: &str) -> Vec<(PathBuf, String)> {
    let Some(q) = quarantine_named(stderr) else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut stack = vec![q];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let mut s = String::new();
                let _ = std::fs::File::open(&p)
                    .and_then(|mut f| std::io::Read::read_to_string(&mut f, &mut s));
                out.push((p, s));
            }
        }
    }
    out
}
