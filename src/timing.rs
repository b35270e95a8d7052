//! Launch phase timestamps for profiling: with `AGENTBOX_TIMING` set, each phase prints the
//! milliseconds since agentbox started, and its pid, on stderr (what `-vv` cannot show: the
//! box's own set-up after fork).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static ON: AtomicBool = AtomicBool::new(false);
static START: OnceLock<Instant> = OnceLock::new();

/// Starts the clock (first thing in `main`).
pub fn init() {
    START.get_or_init(Instant::now);
    ON.store(
        std::env::var_os("AGENTBOX_TIMING").is_some(),
        Ordering::Relaxed,
    );
}

/// Prints one phase's timestamp when timing is on.
pub fn mark(phase: &str) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    let ms = START
        .get()
        .map_or(0.0, |s| s.elapsed().as_secs_f64() * 1000.0);
    eprintln!("timing {ms:8.3} ms pid {} {phase}", std::process::id());
}
