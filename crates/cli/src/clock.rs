//! The binary's one clock: this machine's, or a virtual one when `--now` / `PATCHCTL_NOW` is
//! given (an RFC 3339 instant such as `2026-12-08T21:30:00Z`, parsed with the other global
//! options in `config.rs`). The virtual clock starts at that instant
//! when the process starts and advances with real time, so a rollout started at a virtual
//! time reaches its window's cutoff as it would have then. For tests and rehearsals (what would
//! the scheduler do during next Tuesday's window?). Everything that reads the time goes through here.

use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

/// The real time and the virtual time at the start of the process (equal without
/// `PATCHCTL_NOW`), and the monotonic instant they were taken.
static START: OnceLock<(DateTime<Utc>, DateTime<Utc>, Instant)> = OnceLock::new();

/// Starts the clock, once, before any command runs: at `virtual_start` when given.
pub fn init(virtual_start: Option<DateTime<Utc>>) {
    let real = ops::clock::utc();
    let _ = START.set((real, virtual_start.unwrap_or(real), Instant::now()));
}

/// The current time, real or virtual.
pub fn now() -> DateTime<Utc> {
    let (_, virtual_start, started) =
        START.get_or_init(|| (ops::clock::utc(), ops::clock::utc(), Instant::now()));
    *virtual_start + TimeDelta::from_std(started.elapsed()).unwrap_or_default()
}

pub fn now_unix() -> i64 {
    now().timestamp()
}

/// How far the virtual clock is ahead of the real one (negative: behind), for the rollout
/// driver, which keeps its own time.
pub fn offset_ms() -> i64 {
    START.get().map_or(0, |(real, virtual_start, _)| (*virtual_start - *real).num_milliseconds())
}

/// This machine's time, whatever `--now` says: for evidence (the audit's anchors), which a
/// virtual clock must never date.
pub fn real_now_unix() -> i64 {
    ops::clock::utc().timestamp()
}
