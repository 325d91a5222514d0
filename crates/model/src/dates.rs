//! Dates as people read them in plans and reports: the weekday, the day, the time and the time
//! zone, never Unix seconds. A local time always comes with its UTC equivalent, so readers in
//! other zones agree on the instant.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// `Tue 8 Dec 2026 21:00 UTC`.
pub fn utc(instant: DateTime<Utc>) -> String {
    instant.format("%a %-d %b %Y %H:%M UTC").to_string()
}

/// `Tue 8 Dec 2026 21:00:07 UTC`: for steps that take seconds.
pub fn utc_seconds(instant: DateTime<Utc>) -> String {
    instant.format("%a %-d %b %Y %H:%M:%S UTC").to_string()
}

/// `Tue 8 Dec 2026 22:00 CET (21:00 UTC)`; in UTC itself, [`utc`].
pub fn local(instant: DateTime<Utc>, timezone: Tz) -> String {
    if timezone == Tz::UTC || timezone == Tz::Etc__UTC {
        return utc(instant);
    }
    let here = instant.with_timezone(&timezone);
    let same_day = here.date_naive() == instant.date_naive();
    let utc_part = if same_day {
        instant.format("%H:%M UTC").to_string()
    } else {
        instant.format("%a %-d %b %H:%M UTC").to_string()
    };
    format!("{} ({utc_part})", here.format("%a %-d %b %Y %H:%M %Z"))
}

/// A span from `start` to `end` in `timezone`: `Tue 8 Dec 2026 22:00 to 00:00 CET (21:00 to
/// 23:00 UTC)`; the end's day is written when it is another day.
pub fn local_span(start: DateTime<Utc>, end: DateTime<Utc>, timezone: Tz) -> String {
    let (from, to) = (start.with_timezone(&timezone), end.with_timezone(&timezone));
    let to_format =
        if from.date_naive() == to.date_naive() { "%H:%M %Z" } else { "%a %-d %b %H:%M %Z" };
    let local = format!("{} to {}", from.format("%a %-d %b %Y %H:%M"), to.format(to_format));
    if timezone == Tz::UTC || timezone == Tz::Etc__UTC {
        return local;
    }
    let utc_format =
        if start.date_naive() == end.date_naive() { "%H:%M" } else { "%a %-d %b %H:%M" };
    format!("{local} ({} to {} UTC)", start.format("%H:%M"), end.format(utc_format))
}

/// The instant of a Unix time in seconds; the epoch for one out of range (none is stored).
pub fn from_unix(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or_default()
}

/// The instant of a Unix time in milliseconds.
pub fn from_unix_ms(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis).single().unwrap_or_default()
}

/// `2 h 5 min`, `40 s`, `3 days 2 h`: an elapsed time in words.
pub fn elapsed(duration: chrono::TimeDelta) -> String {
    let seconds = duration.num_seconds().max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min {} s", seconds % 60),
        (0, h, m) => format!("{h} h {m} min"),
        (1, h, _) => format!("1 day {h} h"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

/// `instant` as the JSON forms of `protocol` write times: RFC 3339 in UTC with `Z`, a fraction
/// of 3, 6 or 9 digits only when the second has one (`2026-12-07T08:00:00Z`), which is what
/// chrono's own serde wrote.
pub fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Seconds since the epoch in the form of [`rfc3339`] (the epoch itself for one out of range).
pub fn rfc3339_unix(unix: i64) -> String {
    rfc3339(DateTime::from_timestamp(unix, 0).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn dates_name_the_day_the_time_and_the_zone() {
        let winter = at("2026-12-08T21:00:00Z");
        assert_eq!(utc(winter), "Tue 8 Dec 2026 21:00 UTC");
        assert_eq!(local(winter, Tz::Europe__Berlin), "Tue 8 Dec 2026 22:00 CET (21:00 UTC)");
        assert_eq!(
            local(at("2026-07-07T20:00:00Z"), Tz::Europe__Berlin),
            "Tue 7 Jul 2026 22:00 CEST (20:00 UTC)"
        );
        // Across midnight the UTC part says its own day.
        assert_eq!(
            local(at("2026-12-08T23:30:00Z"), Tz::Europe__Berlin),
            "Wed 9 Dec 2026 00:30 CET (Tue 8 Dec 23:30 UTC)"
        );
        assert_eq!(local(winter, Tz::UTC), "Tue 8 Dec 2026 21:00 UTC");
    }

    #[test]
    fn spans_write_the_end_day_only_when_it_differs() {
        let (start, end) = (at("2026-12-08T21:00:00Z"), at("2026-12-08T23:00:00Z"));
        assert_eq!(
            local_span(start, end, Tz::Europe__Berlin),
            "Tue 8 Dec 2026 22:00 to Wed 9 Dec 00:00 CET (21:00 to 23:00 UTC)"
        );
        assert_eq!(local_span(start, end, Tz::UTC), "Tue 8 Dec 2026 21:00 to 23:00 UTC");
    }

    #[test]
    fn elapsed_times_read_as_words() {
        use chrono::TimeDelta;
        assert_eq!(elapsed(TimeDelta::seconds(40)), "40 s");
        assert_eq!(elapsed(TimeDelta::seconds(125)), "2 min 5 s");
        assert_eq!(elapsed(TimeDelta::minutes(125)), "2 h 5 min");
        assert_eq!(elapsed(TimeDelta::hours(50)), "2 days 2 h");
    }
}
