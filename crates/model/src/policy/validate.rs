//! The rules single values of a policy must follow, as functions from a value to the domain's
//! value or a message saying what was expected. `resolve` puts the messages at the values'
//! positions.

use std::str::FromStr;

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::{TZ_VARIANTS, Tz};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::duration::format_duration;
use super::error::nearest;
use super::file::SeverityFile;
use crate::Severity;

/// Five fields, as cron has them; no seconds (a window is planned to the minute) and no year.
pub(super) fn parse_schedule(pattern: &str) -> Result<Cron, String> {
    let expected =
        "expected 5 fields: minute hour day-of-month month day-of-week, e.g. \"0 22 * * TUE#2\"";
    let parser = CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build();
    let cron = parser.parse(pattern).map_err(|error| {
        format!("schedule {pattern:?} is not a cron expression ({error}): {expected}")
    })?;
    // POSIX cron runs on either day when both are restricted: "0 22 8-14 * TUE" runs on the
    // 8th to the 14th and on every Tuesday. Nobody means that for a maintenance window.
    let pattern_fields = &cron.pattern;
    if !pattern_fields.is_dom_wildcard()
        && !pattern_fields.is_dow_wildcard()
        && !pattern_fields.matches_dom_and_dow()
    {
        return Err(format!(
            "schedule {pattern:?} restricts both the day of the month and the weekday, which cron \
             reads as either one: write the weekday with `+` (\"+TUE\") to require both, or `#` \
             for the nth weekday (\"TUE#2\")"
        ));
    }
    // A pattern like "0 0 30 2 *" parses but never matches; croner's search ends at the year
    // 5000. Any date pattern repeats within 400 Gregorian years, so one search decides.
    let reference = NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    if cron.find_next_occurrence(&reference, false).is_err() {
        return Err(format!(
            "schedule {pattern:?} never matches a date (a day that no month has?)"
        ));
    }
    Ok(cron)
}

pub(super) fn parse_timezone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name).map_err(|_| {
        let mut message = format!(
            "unknown time zone {name:?}: expected an IANA name such as \"Europe/Berlin\" or \"UTC\""
        );
        if let Some(zone) = nearest(name, TZ_VARIANTS.iter().map(|tz| tz.name())) {
            message.push_str(&format!(" (did you mean {zone:?}?)"));
        }
        message
    })
}

pub(super) fn check_cutoff(
    text: &str,
    cutoff: TimeDelta,
    window: Option<TimeDelta>,
) -> Result<TimeDelta, String> {
    if cutoff <= TimeDelta::zero() {
        return Err(format!(
            "a cutoff of {text} lets no host start: expected a duration above zero"
        ));
    }
    match window {
        Some(window) if cutoff > window => Err(format!(
            "the cutoff {} is after the end of the {} window: expected at most {}",
            format_duration(cutoff),
            format_duration(window),
            format_duration(window)
        )),
        _ => Ok(cutoff),
    }
}

pub(super) fn check_soak(soak: TimeDelta, index: usize, name: &str) -> Result<TimeDelta, String> {
    if index == 0 && soak > TimeDelta::zero() {
        return Err(format!(
            "{name:?} is the first environment in promotion order, so no version is verified \
             before it: a soak needs an environment before this one"
        ));
    }
    Ok(soak)
}

/// `"2026-12-20"` or the TOML local date `2026-12-20`.
pub(super) fn parse_date(what: &str, value: &toml::Value) -> Result<NaiveDate, String> {
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Datetime(datetime) if datetime.time.is_none() && datetime.offset.is_none() => {
            datetime.to_string()
        }
        _ => String::new(),
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|_| format!("`{what}` is not a date: expected a day such as \"2026-12-20\""))
}

/// Roles and baseline names: `[A-Za-z0-9._-]+`, as they appear in commands and messages.
pub(super) fn check_word(what: &str, name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!("{what} {name:?} is not a name: use letters, digits, '.', '_' and '-'"))
    }
}

/// User names, as `--as` gives them and `[roles]` lists them: see [`crate::change::check_actor`].
pub(super) fn check_user(name: &str) -> Result<String, String> {
    crate::change::check_actor(name).map(|()| name.to_owned())
}

pub(super) fn non_empty<T>(what: &str, list: Vec<T>) -> Result<Vec<T>, String> {
    if list.is_empty() {
        Err(format!("an empty list of {what} matches nothing: leave `{what}` out to match all"))
    } else {
        Ok(list)
    }
}

pub(super) fn severity(file: SeverityFile) -> Option<Severity> {
    match file {
        SeverityFile::None => Some(Severity::None),
        SeverityFile::Low => Some(Severity::Low),
        SeverityFile::Moderate => Some(Severity::Moderate),
        SeverityFile::Important => Some(Severity::Important),
        SeverityFile::Critical => Some(Severity::Critical),
        SeverityFile::Unrated => None,
    }
}
