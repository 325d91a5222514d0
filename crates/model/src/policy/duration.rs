//! Durations as a policy writes them: `4h`, `30m`, `1h30m`, `2d`.
//!
//! Minutes are the smallest unit because cron, which starts windows, counts in minutes; seconds
//! would suggest a precision no window has. Durations are elapsed time: a `4h` window that spans
//! a daylight-saving change still lasts four hours, so its end on the wall clock moves by the
//! change.

use chrono::TimeDelta;

/// The longest duration accepted: a year. Nothing in a policy needs more, and the bound keeps
/// every sum of a time and a duration far from chrono's limits.
const MAX_MINUTES: i64 = 366 * 24 * 60;

/// Parses one or more `<number><unit>` parts, units `d`, `h` and `m`, largest first, each once.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let expected = "expected a duration such as \"4h\", \"30m\", \"1h30m\" or \"2d\"";
    if text.is_empty() {
        return Err(format!("the duration is empty: {expected}"));
    }
    let mut minutes: i64 = 0;
    let mut rest = text;
    let mut last_unit_rank: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("{text:?} is not a duration: {expected}"));
        }
        let Some(unit) = rest[digits..].chars().next() else {
            return Err(format!("{text:?} has no unit: {expected}"));
        };
        let (rank, unit_minutes) = match unit {
            'd' => (0, 24 * 60),
            'h' => (1, 60),
            'm' => (2, 1),
            _ => return Err(format!("{text:?} has the unit {unit:?}: {expected}")),
        };
        // `30m1h` or `1h1h` is a slip of the keyboard more often than an intent.
        if last_unit_rank.is_some_and(|last| rank <= last) {
            return Err(format!("{text:?} repeats or reorders its units: {expected}"));
        }
        last_unit_rank = Some(rank);
        let too_long = || format!("{text:?} is longer than a year");
        let number: i64 = rest[..digits].parse().map_err(|_| too_long())?;
        minutes = number
            .checked_mul(unit_minutes)
            .and_then(|m| m.checked_add(minutes))
            .filter(|m| *m <= MAX_MINUTES)
            .ok_or_else(too_long)?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(TimeDelta::minutes(minutes))
}

/// Writes a duration the way the policy file does, so messages quote it back in the same terms.
pub fn format_duration(duration: TimeDelta) -> String {
    let total = duration.num_minutes();
    if total == 0 {
        return "0m".to_owned();
    }
    let (days, hours, minutes) = (total / (24 * 60), total / 60 % 24, total % 60);
    let mut out = String::new();
    for (value, unit) in [(days, 'd'), (hours, 'h'), (minutes, 'm')] {
        if value != 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format_back() {
        for (text, minutes) in [("4h", 240), ("30m", 30), ("1h30m", 90), ("2d", 2880), ("0m", 0)] {
            assert_eq!(parse_duration(text), Ok(TimeDelta::minutes(minutes)), "{text}");
            assert_eq!(format_duration(TimeDelta::minutes(minutes)), text);
        }
        assert_eq!(format_duration(TimeDelta::minutes(24 * 60 + 61)), "1d1h1m");
    }

    #[test]
    fn mistakes_are_refused() {
        for bad in ["", "4", "h", "4 h", "4s", "30m1h", "1h1h", "-1h", "367d", "99999999999999999d"]
        {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_duration("4").unwrap_err(),
            "\"4\" has no unit: expected a duration such as \"4h\", \"30m\", \"1h30m\" or \"2d\""
        );
    }
}
