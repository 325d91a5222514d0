//! Maintenance windows on a virtual clock. Each file of `test_data/policy/windows/` is a policy
//! whose opening comments say when `now` is (`# now:`), how many windows to list (`# next:`) and
//! at which instants to ask what is open (`# at:`); its `.expected` lists, per environment, the
//! windows in local time and UTC, and the answers. The tests below the data-driven one pin the
//! claims `schedule.rs` makes, so they cannot drift with a careless bless.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::super::{Environment, Policy, Window};
use super::{cases, expect_file, policy, utc};

/// The `# key: value` lines of a case, in order.
fn header<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("# {key}:");
    text.lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .flat_map(str::split_whitespace)
        .collect()
}

fn local(environment: &Environment, instant: DateTime<Utc>) -> String {
    let timezone = environment.schedule.timezone();
    instant.with_timezone(&timezone).format("%a %Y-%m-%d %H:%M %Z").to_string()
}

fn render_window(environment: &Environment, w: &Window) -> String {
    format!(
        "{} | cutoff {} | end {} | UTC {} to {}",
        local(environment, w.start),
        local(environment, w.cutoff),
        local(environment, w.end),
        w.start.format("%Y-%m-%dT%H:%MZ"),
        w.end.format("%Y-%m-%dT%H:%MZ"),
    )
}

fn render(policy: &Policy, now: DateTime<Utc>, n: usize, at: &[DateTime<Utc>]) -> String {
    let mut out = String::new();
    for e in policy.environments() {
        let _ = writeln!(
            out,
            "{}: {:?} in {}",
            e.name,
            e.schedule.pattern(),
            e.schedule.timezone().name()
        );
        let _ = writeln!(out, "  next {n} from {}:", now.format("%Y-%m-%dT%H:%M:%SZ"));
        for w in e.next_windows(now, n) {
            let _ = writeln!(out, "    {}", render_window(e, &w));
        }
        for instant in at {
            let answer = match e.window_at(*instant) {
                Some(open) => format!(
                    "open, {}: {}",
                    if open.hosts_may_start { "hosts may start" } else { "past the cutoff" },
                    render_window(e, &open.window)
                ),
                None => match e.schedule.blackout_at(*instant) {
                    Some(b) => format!("closed, blackout {} to {} {:?}", b.from, b.to, b.reason),
                    None => "closed".to_owned(),
                },
            };
            let _ = writeln!(
                out,
                "  at {} ({}): {answer}",
                instant.format("%Y-%m-%dT%H:%M:%SZ"),
                local(e, *instant)
            );
        }
    }
    out
}

#[test]
fn windows_on_a_virtual_clock() {
    for case in cases("windows") {
        let text = std::fs::read_to_string(&case).unwrap();
        let now = utc(header(&text, "now")[0]);
        let n = header(&text, "next")[0].parse().unwrap();
        let at: Vec<DateTime<Utc>> = header(&text, "at").into_iter().map(utc).collect();
        let actual = render(&policy(&text), now, n, &at);
        expect_file(&case.with_extension("expected"), &actual);
    }
}

fn case(name: &str) -> Policy {
    policy(&std::fs::read_to_string(super::test_data(&format!("windows/{name}.toml"))).unwrap())
}

fn starts(environment: &Environment, now: &str, n: usize) -> Vec<DateTime<Utc>> {
    environment.next_windows(utc(now), n).iter().map(|w| w.start).collect()
}

#[test]
fn a_time_the_spring_forward_skips_opens_right_after_the_gap() {
    let policy = case("dst_berlin_spring");
    let at_gap = policy.environment("at-gap").unwrap();
    // 02:30 CET on the 28th, 03:00 CEST (not 02:30, which does not exist) on the 29th.
    assert_eq!(
        starts(at_gap, "2026-03-28T00:00:00Z", 3),
        [utc("2026-03-28T01:30:00Z"), utc("2026-03-29T01:00:00Z"), utc("2026-03-30T00:30:00Z")]
    );
    let across = policy.environment("across").unwrap();
    let w = across.next_windows(utc("2026-03-29T00:00:00Z"), 1)[0];
    assert_eq!((w.start, w.end), (utc("2026-03-29T00:00:00Z"), utc("2026-03-29T04:00:00Z")));
}

#[test]
fn a_time_the_fall_back_repeats_opens_once() {
    let policy = case("dst_berlin_fall");
    let repeated = policy.environment("repeated").unwrap();
    assert_eq!(
        starts(repeated, "2026-10-24T12:00:00Z", 2),
        [utc("2026-10-25T00:30:00Z"), utc("2026-10-26T01:30:00Z")]
    );
    // From between the two 02:30s, or at the second: the next is the next day's.
    for now in ["2026-10-25T00:45:00Z", "2026-10-25T01:30:00Z"] {
        assert_eq!(starts(repeated, now, 1), [utc("2026-10-26T01:30:00Z")], "{now}");
    }
    let open = repeated.window_at(utc("2026-10-25T01:30:00Z")).unwrap();
    assert_eq!(open.window.start, utc("2026-10-25T00:30:00Z"));
    assert!(!open.hosts_may_start);
    let new_york = case("dst_new_york");
    let fall = new_york.environment("fall").unwrap();
    assert_eq!(
        starts(fall, "2026-10-01T00:00:00Z", 2),
        [utc("2026-11-01T05:30:00Z"), utc("2027-11-01T05:30:00Z")]
    );
}

#[test]
fn month_ends_and_leap_days_follow_cron() {
    let policy = case("month_end");
    let last = policy.environment("last-day").unwrap();
    let days: Vec<String> = last
        .next_windows(utc("2027-12-01T00:00:00Z"), 4)
        .iter()
        .map(|w| w.start.with_timezone(&last.schedule.timezone()).format("%Y-%m-%d").to_string())
        .collect();
    assert_eq!(days, ["2027-12-31", "2028-01-31", "2028-02-29", "2028-03-31"]);
    let thirty_first = policy.environment("thirty-first").unwrap();
    let months: Vec<String> = thirty_first
        .next_windows(utc("2027-12-01T00:00:00Z"), 4)
        .iter()
        .map(|w| w.start.format("%Y-%m").to_string())
        .collect();
    assert_eq!(months, ["2027-12", "2028-01", "2028-03", "2028-05"]);
    let leap = case("leap_day");
    let leap = &leap.environments()[0];
    assert_eq!(
        starts(leap, "2026-01-01T00:00:00Z", 3),
        [utc("2028-02-29T22:00:00Z"), utc("2032-02-29T22:00:00Z"), utc("2036-02-29T22:00:00Z")]
    );
    // 2100 is not a leap year.
    assert_eq!(starts(leap, "2097-01-01T00:00:00Z", 1), [utc("2104-02-29T22:00:00Z")]);
}

#[test]
fn a_window_that_touches_a_blackout_is_skipped_whole() {
    let policy = case("blackouts");
    let production = policy.environment("production").unwrap();
    // The 19th's window runs into the 20th; the 3rd's is the freeze's last day.
    assert_eq!(
        starts(production, "2026-12-18T00:00:00Z", 2),
        [utc("2026-12-18T21:00:00Z"), utc("2027-01-04T21:00:00Z")]
    );
    assert!(production.window_at(utc("2026-12-19T23:00:00Z")).is_none());
    let dev = policy.environment("dev").unwrap();
    assert_eq!(starts(dev, "2026-12-24T00:00:00Z", 1), [utc("2026-12-24T21:00:00Z")]);
}

#[test]
fn a_blackout_starts_when_a_day_starts_even_if_midnight_is_skipped() {
    // America/Santiago springs forward at midnight: 2026-09-06 begins at 01:00 local (04:00Z).
    let policy = policy(
        "[[environments]]\nname = \"cl\"\nschedule = \"0 * * * *\"\ntimezone = \
         \"America/Santiago\"\nwindow = \"1h\"\napproval = \"auto\"\nblackouts = [{ from = \
         \"2026-09-06\", to = \"2026-09-06\" }]\n",
    );
    let schedule = &policy.environments()[0].schedule;
    assert!(schedule.blackout_at(utc("2026-09-06T03:59:59Z")).is_none());
    assert!(schedule.blackout_at(utc("2026-09-06T04:00:00Z")).is_some());
    // The day is 23 hours long: it ends at 00:00 -03 on the 7th.
    assert!(schedule.blackout_at(utc("2026-09-07T02:59:59Z")).is_some());
    assert!(schedule.blackout_at(utc("2026-09-07T03:00:00Z")).is_none());
}

#[test]
fn the_cutoff_and_the_end_are_exclusive() {
    let policy = case("second_tuesday");
    let production = &policy.environments()[0];
    let w = production.next_windows(utc("2026-01-01T00:00:00Z"), 1)[0];
    assert_eq!(
        (w.start, w.cutoff, w.end),
        (utc("2026-01-13T21:00:00Z"), utc("2026-01-14T00:00:00Z"), utc("2026-01-14T01:00:00Z"))
    );
    let at = |t: DateTime<Utc>| production.window_at(t).map(|open| open.hosts_may_start);
    assert_eq!(at(w.start - chrono::TimeDelta::seconds(1)), None);
    assert_eq!(at(w.start), Some(true));
    assert_eq!(at(w.cutoff - chrono::TimeDelta::seconds(1)), Some(true));
    assert_eq!(at(w.cutoff), Some(false));
    assert_eq!(at(w.end - chrono::TimeDelta::seconds(1)), Some(false));
    assert_eq!(at(w.end), None);
    // A window open at `now` is not among the next ones; one opening at `now` is.
    assert_eq!(production.next_windows(w.start, 1)[0], w);
    assert_ne!(production.next_windows(w.start + chrono::TimeDelta::seconds(1), 1)[0], w);
}
