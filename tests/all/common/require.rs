//! No silent skips. The harness has no runtime skip, so a test that returns early passes: every
//! test that depends on something the machine may lack asks [`require`] first. It says `SKIP`
//! on stderr (visible in `cargo test`'s output, which hides what passing tests print), and under
//! `CI=true` (`.ci/run` exports it) it fails the test instead, so CI cannot pass by skipping.

use std::io::Write;

/// Whether the suite runs in CI: `CI=true` (or `CI=1`), as `.ci/run` and CI services set it.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The running test's path (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string()
}

/// `SKIP <test>: <what>`, straight to the process's stderr: libtest captures only the print
/// macros, and a skip must show even when the test passes.
fn say_skip(what: &str) {
    let _ = writeln!(std::io::stderr().lock(), "SKIP {}: {what}", test_name());
}

/// A prerequisite the CI machine has (root, Linux 6.x, Landlock ABI 7, user namespaces, the
/// agents `.ci/run` installs, python3, git, curl, zsh, shellcheck...). True when `met`; when not,
/// says `SKIP <test>: <what>` and returns false, or under CI fails the test.
#[track_caller]
pub fn require(what: &str, met: bool) -> bool {
    match verdict(met, on_ci()) {
        Verdict::Met => true,
        Verdict::Skip => {
            say_skip(what);
            false
        }
        Verdict::Fail => panic!(
            "{}: missing under CI=true, where it must be present: {what}",
            test_name()
        ),
    }
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Met,
    Skip,
    Fail,
}

fn verdict(met: bool, ci: bool) -> Verdict {
    match (met, ci) {
        (true, _) => Verdict::Met,
        (false, false) => Verdict::Skip,
        (false, true) => Verdict::Fail,
    }
}

/// A prerequisite that depends on the host itself, not on what CI installs (Yama's ptrace
/// restrictions, a cgroup v2 hierarchy, where the Rust toolchain lives): says `SKIP` like
/// [`require`] but never fails, in CI either. Each caller says in a comment why the host decides.
pub fn require_host(what: &str, met: bool) -> bool {
    if !met {
        say_skip(what);
    }
    met
}

#[test]
fn require_skips_outside_ci_and_fails_under_it() {
    assert_eq!(verdict(true, false), Verdict::Met);
    assert_eq!(verdict(true, true), Verdict::Met);
    assert_eq!(verdict(false, false), Verdict::Skip);
    assert_eq!(verdict(false, true), Verdict::Fail);
}
