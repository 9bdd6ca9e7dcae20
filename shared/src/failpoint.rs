//! Crash injection for the local stack's tests: `CHATSYNC_CRASH_ONCE=<point>:<marker file>`
//! makes the process abort the first time it reaches `<point>` (the marker file records that it
//! did, so the redelivery runs through). The template never sets it.
//!
//! Compiled in only with the `failpoints` feature, which the function crates forward and only
//! chatsync-tests turns on (so `cargo build --workspace` has it, and a function built alone,
//! as `sam build` and `make bench` build them, does not): without it `crash_once` does nothing.

/// The variable the local host passes to a function to crash it once.
pub const VAR: &str = "CHATSYNC_CRASH_ONCE";

/// Aborts the process at `point` if the environment asks for it and it has not crashed there yet.
#[cfg(feature = "failpoints")]
pub fn crash_once(point: &str) {
    let Ok(spec) = std::env::var(VAR) else {
        return;
    };
    let Some((wanted, marker)) = spec.split_once(':') else {
        return;
    };
    if wanted != point || marker.is_empty() {
        return;
    }
    // create_new: only the first process to get here crashes.
    if std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(marker)
        .is_ok()
    {
        eprintln!("failpoint {point}: crashing as asked by {VAR}");
        std::process::abort();
    }
}

/// Without the `failpoints` feature: nothing, whatever the environment says.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn crash_once(_point: &str) {}
