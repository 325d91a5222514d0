//! Maintenance windows: when an environment may be patched, computed from its cron schedule in
//! its time zone, and the blackouts that take windows away. Pure: `now` is always passed in.
//!
//! The rules, decided once here so the scheduler, `patchctl schedule` and compliance agree:
//!
//! - A window opens at each time the cron schedule matches on the wall clock of the
//!   environment's time zone, and lasts `window` of elapsed time. Hosts may start until
//!   `cutoff` after the opening; hosts already started may run until the end.
//! - Windows never overlap: a window ends no later than the next opening of the schedule. This
//!   only matters when openings come closer together than the window lasts (an hourly schedule
//!   with a four-hour window, or a 24-hour window on the day a spring-forward shortens by an
//!   hour); each opening then owns the time until the next one. Defining every window from its
//!   own opening and the next, rather than merging, makes the answer independent of where one
//!   starts counting: `window_at(t)` and `next_windows(s, n)` agree for every `t` and `s`.
//! - Daylight saving, as croner and Vixie cron do it. A time the clock skips (02:30 on the day
//!   Europe/Berlin or America/New_York springs forward) opens the window at the first instant
//!   after the gap (03:00 local). A time the clock repeats (fall-back) opens once, at its first
//!   occurrence; interval schedules (`*/30`, `*` in the hour) match both occurrences, which
//!   are distinct instants an hour apart. The window's end is elapsed time, so on wall clocks
//!   a window crossing a change ends an hour earlier or later than on other days.
//! - Month ends are cron's: `31` matches only months with 31 days and `29 2` only leap years;
//!   `L` in the day of month is the last day of every month (28, 29, 30 or 31).
//! - A blackout runs from local midnight of `from` to the end of `to`, both days included, in
//!   the environment's time zone. A window that overlaps a blackout by any instant is skipped
//!   whole: a window cut short by a freeze would leave hosts half patched while the freeze
//!   begins, and one opening late would patch when nobody planned to.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// One maintenance window, in UTC. Every instant `t` with `start <= t < end` is inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub start: DateTime<Utc>,
    /// No host starts at or after this instant; `start < cutoff <= end`.
    pub cutoff: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }
}

/// The window open at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenWindow {
    pub window: Window,
    /// The instant is before the cutoff: hosts may still start. After it, only hosts already
    /// running continue.
    pub hosts_may_start: bool,
}

/// Days on which no window may run, e.g. a year-end change freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blackout {
    /// The first day, included.
    pub from: NaiveDate,
    /// The last day, included.
    pub to: NaiveDate,
    /// Why, for people reading `patchctl schedule`.
    pub reason: Option<String>,
}

/// When an environment may be patched: its schedule, time zone, window and blackouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pattern: String,
    cron: Cron,
    timezone: Tz,
    duration: TimeDelta,
    cutoff: TimeDelta,
    blackouts: Vec<Blackout>,
    /// Each blackout as the UTC interval [start, end) it covers in `timezone`, in the order
    /// of `blackouts`: computed once, since every window is checked against them.
    blackout_spans: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Schedule {
    /// The caller checked the values: `cron` parsed from `pattern`, `0 < cutoff <= duration`.
    pub(crate) fn new(
        pattern: String,
        cron: Cron,
        timezone: Tz,
        duration: TimeDelta,
        cutoff: TimeDelta,
        blackouts: Vec<Blackout>,
    ) -> Schedule {
        let blackout_spans = blackouts
            .iter()
            .map(|b| (start_of_day(b.from, timezone), start_of_day(next_day(b.to), timezone)))
            .collect();
        Schedule { pattern, cron, timezone, duration, cutoff, blackouts, blackout_spans }
    }

    /// The cron expression as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// How long a window lasts, at most (see the module's rule on overlapping openings).
    pub fn duration(&self) -> TimeDelta {
        self.duration
    }

    /// How long after its opening a window lets hosts start.
    pub fn cutoff(&self) -> TimeDelta {
        self.cutoff
    }

    pub fn blackouts(&self) -> &[Blackout] {
        &self.blackouts
    }

    /// The next `n` windows that open at or after `now`, skipping blacked-out ones, in order.
    /// A window already open at `now` is not among them: [`Schedule::window_at`] gives it.
    ///
    /// Fewer than `n` only when the schedule runs out: croner searches up to the year 5000.
    pub fn next_windows(&self, now: DateTime<Utc>, n: usize) -> Vec<Window> {
        let mut windows = Vec::with_capacity(n.min(1024));
        let mut opening =
            self.cron.find_next_occurrence(&now.with_timezone(&self.timezone), true).ok();
        while windows.len() < n {
            let Some(start) = opening else { break };
            let following = self.cron.find_next_occurrence(&start, false).ok();
            let window = self.window(&start, following.as_ref());
            match self.blackout_end(&window) {
                None => {
                    windows.push(window);
                    opening = following;
                }
                // Every opening before the blackout's end opens inside it (it comes after this
                // window's end, which is past the blackout's start), so jump over them all: a
                // minute-by-minute schedule under a two-week freeze costs one search, not 20,000.
                Some(blackout_end) => {
                    opening = self
                        .cron
                        .find_next_occurrence(&blackout_end.with_timezone(&self.timezone), true)
                        .ok();
                }
            }
        }
        windows
    }

    /// The window open at `now`, if any, and whether hosts may still start in it. A window
    /// taken away by a blackout is not open.
    pub fn window_at(&self, now: DateTime<Utc>) -> Option<OpenWindow> {
        // Windows end no later than the next opening, so only the latest opening can be open.
        let start =
            self.cron.find_previous_occurrence(&now.with_timezone(&self.timezone), true).ok()?;
        let following = self.cron.find_next_occurrence(&start, false).ok();
        let window = self.window(&start, following.as_ref());
        if !window.contains(now) || self.blackout_end(&window).is_some() {
            return None;
        }
        Some(OpenWindow { window, hosts_may_start: now < window.cutoff })
    }

    /// The openings from `from` up to (not including) `until` whose windows a blackout takes
    /// away, each with the blackout, at most `limit` of them: what `patchctl schedule` shows as
    /// skipped. Openings under the same blackout are counted once, at the first.
    pub fn skipped_openings(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Vec<(Window, &Blackout)> {
        let mut skipped: Vec<(Window, &Blackout)> = Vec::new();
        let mut opening =
            self.cron.find_next_occurrence(&from.with_timezone(&self.timezone), true).ok();
        while skipped.len() < limit {
            let Some(start) = opening else { break };
            if start.with_timezone(&Utc) >= until {
                break;
            }
            let following = self.cron.find_next_occurrence(&start, false).ok();
            let window = self.window(&start, following.as_ref());
            let overlapped =
                self.blackout_spans.iter().position(|(s, e)| window.start < *e && *s < window.end);
            match overlapped {
                None => opening = following,
                Some(index) => {
                    skipped.push((window, &self.blackouts[index]));
                    // Jump past the blackout, as `next_windows` does.
                    let end = self.blackout_spans[index].1.max(window.end);
                    opening = self
                        .cron
                        .find_next_occurrence(&end.with_timezone(&self.timezone), true)
                        .ok();
                }
            }
        }
        skipped
    }

    /// The blackout covering `instant`, if any: why nothing runs then.
    pub fn blackout_at(&self, instant: DateTime<Utc>) -> Option<&Blackout> {
        self.blackout_spans
            .iter()
            .position(|(start, end)| *start <= instant && instant < *end)
            .map(|i| &self.blackouts[i])
    }

    /// The window opening at `start`, shortened to end by the `following` opening.
    fn window(&self, start: &DateTime<Tz>, following: Option<&DateTime<Tz>>) -> Window {
        let start = start.with_timezone(&Utc);
        let mut end = start + self.duration;
        if let Some(following) = following {
            end = end.min(following.with_timezone(&Utc));
        }
        Window { start, cutoff: (start + self.cutoff).min(end), end }
    }

    /// The latest end of the blackouts `window` overlaps; `None` when it overlaps none.
    fn blackout_end(&self, window: &Window) -> Option<DateTime<Utc>> {
        self.blackout_spans
            .iter()
            .filter(|(start, end)| window.start < *end && *start < window.end)
            .map(|(_, end)| *end)
            .max()
    }
}

/// The first instant of `date` in `timezone`. Midnight itself is skipped on days some zones
/// spring forward at midnight (America/Santiago, Asia/Beirut); the day then starts when the
/// clock resumes.
fn start_of_day(date: NaiveDate, timezone: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    (0..=24 * 60)
        .find_map(|minutes| {
            timezone.from_local_datetime(&(midnight + TimeDelta::minutes(minutes))).earliest()
        })
        // Unreachable: no zone skips more than a day of wall-clock minutes (Pacific/Apia's
        // missing 2011-12-30 ends at the next midnight, found above).
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// The day after `date`; the last representable day maps to itself, which no policy reaches.
fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}
