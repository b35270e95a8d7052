//! Escape suite: every test runs an escape attempt inside `agentbox run -q -- ...` and asserts
//! that it FAILS, as root and as the unprivileged user. Where the probe can safely run on the
//! host, the same probe is also run outside the box and must succeed there (the "control"), so
//! the test proves something. Variants with one layer switched off (`--simulate-kernel`) check
//! that the remaining layers still hold, and name the layer that answers (by errno).

mod descriptors;
mod devices;
mod kernel;
mod network;
mod paths;
mod processes;
mod shared_tmp;
mod terminal;
mod workspace;

use crate::common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The read probe: `r` is what reading the path `A[0]` gave.
const READ_PATH: &str = "report('r', lambda: rd(A[0]))";

/// A process outside the box, killed when dropped.
struct Outside {
    child: Child,
}

impl Outside {
    fn sleep(who: As) -> Outside {
        let mut c = Command::new("sleep");
        c.arg("30");
        Outside::spawn(who, c)
    }

    fn spawn(who: As, mut c: Command) -> Outside {
        as_who(&mut c, who);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = c.spawn().expect("spawn outside process");
        // Let it exec, so /proc shows the final image.
        let deadline = Instant::now() + Duration::from_secs(2);
        let prog = c.get_program().to_string_lossy().into_owned();
        let base = prog.rsplit('/').next().unwrap_or(&prog).to_string();
        while Instant::now() < deadline {
            let comm =
                std::fs::read_to_string(format!("/proc/{}/comm", child.id())).unwrap_or_default();
            if comm.trim() == base.chars().take(15).collect::<String>() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Outside { child }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Start address of its first mapping (for process_vm_readv).
    fn first_mapping(&self) -> String {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.child.id())).unwrap();
        let start = maps.split('-').next().unwrap();
        u64::from_str_radix(start, 16).unwrap().to_string()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the host lets a process trace another of the same user, for the host controls of the
/// ptrace family. Host-dependent: Yama's `ptrace_scope` is the host's setting (absent without
/// Yama, which allows it), not something CI installs; the probes in the box run either way.
fn ptrace_control_possible() -> bool {
    require_host(
        "the host control of the ptrace family (Yama's kernel.yama.ptrace_scope is not 0)",
        std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
            .map(|s| s.trim() == "0")
            .unwrap_or(true),
    )
}
