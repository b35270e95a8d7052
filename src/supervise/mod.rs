//! The supervisor's own machinery around a launch: signals blocked from the first instruction
//! and forwarded by a thread, a subreaper that leaves no process of the box alive before the
//! post-run restore, and a cgroup for the box where one can be made.

pub mod after;
pub mod cgroup;
pub mod guard;
pub mod job;
pub mod journal;
pub mod launch;
pub mod observe;
pub mod quarantine;
pub mod reaper;
pub mod signals;

/// Test hook: panic here when `AGENTBOX_FAILPOINT` (comma-separated) names this point. Debug
/// builds only: the test suite proves with it that a panic anywhere leaves the restore done.
pub fn failpoint(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("AGENTBOX_FAILPOINT").is_ok_and(|v| v.split(',').any(|p| p == name)) {
        panic!("failpoint {name}");
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
