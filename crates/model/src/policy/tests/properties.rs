//! Properties of windows over generated schedules, zones, durations, blackouts and times:
//! windows never overlap and strictly increase, nothing opens in a blackout, and
//! `window_at` agrees with `next_windows` wherever one asks.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use super::policy;

/// Zones with daylight saving of an hour (both hemispheres), of half an hour, at midnight, and
/// none.
const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Australia/Sydney",
];

fn schedule() -> impl Strategy<Value = String> {
    let minute = prop_oneof![(0u32..60).prop_map(|m| m.to_string()), Just("*/30".to_owned())];
    let hour = prop_oneof![
        (0u32..24).prop_map(|h| h.to_string()),
        Just("*".to_owned()),
        Just("1-3".to_owned()),
        Just("*/6".to_owned()),
    ];
    // Day of month, month, weekday: every day, month ends, leap days, nth and plain weekdays.
    let days = prop::sample::select(vec![
        "* * *",
        "L * *",
        "31 * *",
        "29 2 *",
        "* * TUE#2",
        "* * SUN",
        "1,15 * *",
    ]);
    (minute, hour, days).prop_map(|(minute, hour, days)| format!("{minute} {hour} {days}"))
}

/// A policy with one environment, and the instant to start from.
fn case() -> impl Strategy<Value = (String, DateTime<Utc>)> {
    let window_minutes = 1i64..(3 * 24 * 60);
    let cutoff_percent = 1i64..=100;
    let blackout = (0i64..800, 0i64..20);
    (
        schedule(),
        prop::sample::select(ZONES.to_vec()),
        window_minutes,
        cutoff_percent,
        prop::collection::vec(blackout, 0..4),
        // 2024-01-01 to about 2026-03.
        0i64..(800 * 24 * 60),
    )
        .prop_map(|(schedule, zone, window, percent, blackouts, start)| {
            let base = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().to_utc();
            let cutoff = (window * percent / 100).max(1);
            let blackouts: Vec<String> = blackouts
                .iter()
                .map(|(from, days)| {
                    let from = (base + TimeDelta::days(*from)).date_naive();
                    let to = from + TimeDelta::days(*days);
                    format!("{{ from = \"{from}\", to = \"{to}\" }}")
                })
                .collect();
            let text = format!(
                "[[environments]]\nname = \"p\"\nschedule = \"{schedule}\"\ntimezone = \"{zone}\"\n\
                 window = \"{window}m\"\ncutoff = \"{cutoff}m\"\napproval = \"auto\"\n\
                 blackouts = [{}]\n",
                blackouts.join(", ")
            );
            (text, base + TimeDelta::minutes(start))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn windows_never_overlap_and_agree_with_window_at((text, now) in case()) {
        let policy = policy(&text);
        let environment = &policy.environments()[0];
        let schedule = &environment.schedule;
        let windows = environment.next_windows(now, 12);
        prop_assert!(!windows.is_empty(), "{text}");
        for (i, w) in windows.iter().enumerate() {
            prop_assert!(w.start >= now);
            prop_assert!(w.start < w.cutoff && w.cutoff <= w.end, "{w:?}");
            prop_assert!(w.end - w.start <= schedule.duration());
            if let Some(next) = windows.get(i + 1) {
                prop_assert!(w.end <= next.start, "{w:?} overlaps {next:?}\n{text}");
            }
            // No instant of a window is in a blackout (checked at the ends and each hour).
            let mut t = w.start;
            while t < w.end {
                prop_assert!(schedule.blackout_at(t).is_none(), "{w:?} in a blackout\n{text}");
                t += TimeDelta::hours(1);
            }
            prop_assert!(schedule.blackout_at(w.end - TimeDelta::seconds(1)).is_none());
            // window_at agrees at the opening, before the cutoff, after it, and at the end.
            let open = environment.window_at(w.start).unwrap();
            prop_assert_eq!(open.window, *w);
            prop_assert!(open.hosts_may_start);
            let open = environment.window_at(w.end - TimeDelta::seconds(1)).unwrap();
            prop_assert_eq!(open.window, *w);
            prop_assert_eq!(open.hosts_may_start, w.end == w.cutoff);
            // Between two windows nothing is open: every opening there was blacked out.
            if windows.get(i + 1).is_some_and(|next| w.end < next.start) {
                prop_assert_eq!(environment.window_at(w.end), None);
            }
        }
        // The window open now, if any, is the one next_windows gives from its opening.
        if let Some(open) = environment.window_at(now) {
            prop_assert!(open.window.contains(now));
            prop_assert_eq!(environment.next_windows(open.window.start, 1), vec![open.window]);
        } else {
            // Nothing open now: nothing listed from a little earlier covers now.
            let earlier = environment.next_windows(now - TimeDelta::days(3), 300);
            prop_assert!(earlier.iter().all(|w| !w.contains(now)), "{text}");
        }
    }
}

/// Text made of the pieces policies are made of, in any order, plus arbitrary characters.
fn policy_like_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[[environments]]\n".to_owned()),
        Just("[[blackouts]]\n".to_owned()),
        Just("[baselines.b]\n".to_owned()),
        Just("[[baselines.b.rules]]\n".to_owned()),
        Just("name = \"dev\"\n".to_owned()),
        Just("schedule = \"0 22 * * TUE#2\"\n".to_owned()),
        Just("schedule = \"0 22 L 2 +MON\"\n".to_owned()),
        Just("timezone = \"Europe/Berlin\"\n".to_owned()),
        Just("window = \"4h\"\n".to_owned()),
        Just("cutoff = \"5h\"\n".to_owned()),
        Just("approval = { approvers = 0 }\n".to_owned()),
        Just("approval = \"auto\"\n".to_owned()),
        Just("from = 2026-12-20\n".to_owned()),
        Just("to = \"2026-12-19\"\n".to_owned()),
        Just("environments = [\"dev\", \"x\"]\n".to_owned()),
        Just("baseline = \"b\"\n".to_owned()),
        Just("strategy = { max_unavailable = \"0%\" }\n".to_owned()),
        Just("\"".to_owned()),
        Just("é".to_owned()),
        "[a-z_]{0,8} = ".prop_map(|s| s),
        "schedule = \"[0-9*,/#LW+A-Z -]{0,20}\"\n".prop_map(|s| s),
        "window = \"[0-9dhm]{0,8}\"\n".prop_map(|s| s),
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn parsing_never_panics(text in policy_like_text()) {
        if let Err(error) = super::super::Policy::parse(std::path::Path::new("policy.toml"), &text) {
            prop_assert!(!error.errors.is_empty());
            for e in &error.errors {
                prop_assert!(e.line >= 1 && e.column >= 1);
            }
        }
    }
}
