//! The supervisor's own machinery around a launch: signals blocked from the first instruction
//! and forwarded by a thread, a subreaper that leaves no process of the box alive before the
//! post-run restore, and a cgroup for the box where one can be made.

pub mod after;
pub mod cgroup;
pub mod reaper;
pub mod signals;
