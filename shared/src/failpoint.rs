//! Crash injection for the local stack's tests: `CHATSYNC_CRASH_ONCE=<point>:<marker file>`
//! makes the process abort the first time it reaches `<point>` (the marker file records that it
//! did, so the redelivery runs through). The template never sets it.

/// The variable the local host passes to a function to crash it once.
pub const VAR: &str = "CHATSYNC_CRASH_ONCE";

/// Aborts the process at `point` if the environment asks for it and it has not crashed there yet.
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
