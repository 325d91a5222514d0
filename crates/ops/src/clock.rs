//! The wall clock, read here and nowhere else in patchctl (`xtask/src/tidy.rs` holds every
//! other source file to that): the core is handed instants, and the shells ask a [`Clock`].
//!
//! A [`Clock`] is this machine's time, or a virtual one (`--now`, for rehearsals and tests):
//! it starts at a given instant when it is made and advances with real time, so a rollout
//! started at a virtual time reaches its window's cutoff as it would have then. One is made per
//! process and carried by [`crate::Context`]; evidence (the audit's anchors) is always dated by
//! [`Clock::real_unix`], which no virtual clock moves.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

/// Real or virtual time, cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// The virtual time at `started`, or `None` for the real clock.
    virtual_start: Option<(DateTime<Utc>, Instant)>,
    /// How far the virtual time is ahead of the real one (negative: behind), in milliseconds.
    offset_ms: i64,
}

impl Clock {
    /// This machine's clock.
    pub fn real() -> Clock {
        Clock { virtual_start: None, offset_ms: 0 }
    }

    /// A clock that reads `start` now and advances in real time from there.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock {
            virtual_start: Some((start, Instant::now())),
            offset_ms: (start - utc()).num_milliseconds(),
        }
    }

    /// Whether this is a virtual clock (`--now`).
    pub fn is_virtual(&self) -> bool {
        self.virtual_start.is_some()
    }

    /// Where a virtual clock started (`--now`), or `None` for the real clock.
    pub fn virtual_start(&self) -> Option<DateTime<Utc>> {
        self.virtual_start.map(|(start, _)| start)
    }

    /// The current time, real or virtual.
    pub fn now(&self) -> DateTime<Utc> {
        match self.virtual_start {
            Some((start, started)) => {
                start + TimeDelta::from_std(started.elapsed()).unwrap_or_default()
            }
            None => utc(),
        }
    }

    /// The current time in whole seconds: the store keeps seconds, and reports read better
    /// without nanoseconds.
    pub fn now_seconds(&self) -> DateTime<Utc> {
        self.now().trunc_subsecs(0)
    }

    pub fn now_unix(&self) -> i64 {
        self.now().timestamp()
    }

    /// How far the virtual clock is ahead of the real one, for the rollout driver, which
    /// counts milliseconds of its own.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// This machine's time, whatever the clock says: for evidence, which a virtual clock must
    /// never date.
    pub fn real_unix(&self) -> i64 {
        now_unix()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_clock_starts_where_it_is_told_and_advances() {
        let start = DateTime::parse_from_rfc3339("2030-01-01T10:00:00Z").unwrap().to_utc();
        let clock = Clock::starting_at(start);
        assert!(clock.is_virtual());
        let first = clock.now();
        assert!(first >= start && first - start < TimeDelta::seconds(5), "{first}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(clock.now() > first);
        assert!(clock.offset_ms() > 0, "2030 is ahead of the machine's clock");
        assert!((clock.real_unix() - now_unix()).abs() <= 1);
        assert!(!Clock::real().is_virtual());
        assert_eq!(Clock::real().offset_ms(), 0);
    }
}
