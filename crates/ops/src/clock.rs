//! The wall clock, read here and nowhere else in patchctl (`xtask/src/tidy.rs` holds every
//! other source file to that): the core is handed instants, and the shell asks this module.
//! A virtual clock (`--now`) is an offset the CLI adds to what this returns.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// Now, as the system says.
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// Now, in UTC.
pub fn utc() -> DateTime<Utc> {
    DateTime::from(now())
}

/// Seconds since the Unix epoch (0 on a clock set before it).
pub fn now_unix() -> i64 {
    since_epoch().as_secs() as i64
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    since_epoch().as_millis() as u64
}

/// Nanoseconds since the Unix epoch, for identifiers that must differ between two calls.
pub fn now_nanos() -> u128 {
    since_epoch().as_nanos()
}

fn since_epoch() -> std::time::Duration {
    now().duration_since(UNIX_EPOCH).unwrap_or_default()
}
