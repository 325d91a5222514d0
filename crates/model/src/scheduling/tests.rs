//! The scheduler's decisions on a virtual clock: every instant is written in the test.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::*;
use crate::change::{ChangeAction, ChangeKind, evaluate};
use crate::policy::Policy;

const POLICY: &str = r#"
[roles]
cab = ["alice", "bob"]

[[environments]]
name = "dev"
schedule = "0 10 * * *"
timezone = "Europe/Berlin"
window = "2h"
approval = "auto"

[[environments]]
name = "production"
schedule = "0 22 * * TUE#2"
timezone = "Europe/Berlin"
window = "4h"
cutoff = "1h"
approval = { approvers = 1, role = "cab" }
blackouts = [{ from = "2026-12-07", to = "2026-12-09", reason = "audit" }]
"#;

fn policy() -> Policy {
    Policy::parse(Path::new("policy.toml"), POLICY).unwrap_or_else(|e| panic!("{e}"))
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn candidate(id: &str, created: &str, environments: &[&str], approvers: &[&str]) -> PlanCandidate {
    let environments: Vec<String> = environments.iter().map(|e| e.to_string()).collect();
    let mut journal = vec![ChangeAction {
        at: utc(created),
        actor: "erin".into(),
        kind: ChangeKind::Request,
        ticket: None,
        comment: None,
    }];
    journal.extend(approvers.iter().map(|a| ChangeAction {
        at: utc(created),
        actor: a.to_string(),
        kind: ChangeKind::Approve,
        ticket: None,
        comment: None,
    }));
    PlanCandidate {
        plan_id: format!("sha256:{id:0<64}"),
        created_at: utc(created),
        change: evaluate(&policy(), &environments, &journal),
        environments,
        rolled_out: false,
    }
}

#[test]
fn the_newest_approved_plan_of_the_environment_starts_in_its_window_before_the_cutoff() {
    let policy = policy();
    let production = policy.environment("production").unwrap();
    let plans = [
        candidate("a1", "2026-11-01T00:00:00Z", &["production"], &["alice"]),
        candidate("b2", "2026-11-02T00:00:00Z", &["production"], &["bob"]),
        candidate("c3", "2026-11-03T00:00:00Z", &["production"], &[]),
        candidate("d4", "2026-11-04T00:00:00Z", &["dev", "production"], &["alice"]),
    ];
    let never = |_| false;
    // 2026-11-10 is the second Tuesday; 22:00 in Berlin (CET) is 21:00 UTC.
    let inside = utc("2026-11-10T21:30:00Z");
    let Decision::Start { window, plan_id } = decide(production, inside, never, &plans) else {
        panic!("{:?}", decide(production, inside, never, &plans));
    };
    assert_eq!(plan_id, plans[1].plan_id, "the newest approved, single-environment plan");
    assert_eq!(
        (window.start, window.cutoff),
        (utc("2026-11-10T21:00:00Z"), utc("2026-11-10T22:00:00Z"))
    );

    let late = utc("2026-11-10T22:00:00Z");
    assert!(matches!(
        decide(production, late, never, &plans),
        Decision::Wait(Idle::CutoffPassed { .. })
    ));
    let claimed = |start| start == utc("2026-11-10T21:00:00Z");
    assert!(matches!(
        decide(production, inside, claimed, &plans),
        Decision::Wait(Idle::AlreadyClaimed { .. })
    ));
    let before = utc("2026-11-10T20:59:59Z");
    assert_eq!(decide(production, before, never, &plans), Decision::Wait(Idle::NoWindowOpen));
}

#[test]
fn without_an_approved_plan_the_reason_names_what_is_missing() {
    let policy = policy();
    let production = policy.environment("production").unwrap();
    let inside = utc("2026-11-10T21:30:00Z");
    assert_eq!(decide(production, inside, |_| false, &[]), Decision::Wait(Idle::NothingPending));
    let waiting = [candidate("c3", "2026-11-03T00:00:00Z", &["production"], &[])];
    let Decision::Wait(idle) = decide(production, inside, |_| false, &waiting) else { panic!() };
    assert_eq!(
        idle.describe(),
        "plan c30000000000 is not approved: production: 1 more approval from role cab (a person other than the requester)"
    );
    let mut done = waiting.clone();
    done[0].rolled_out = true;
    assert_eq!(decide(production, inside, |_| false, &done), Decision::Wait(Idle::NothingPending));
}

#[test]
fn an_auto_environment_is_assessed_at_its_window() {
    let policy = policy();
    let dev = policy.environment("dev").unwrap();
    // 10:00 in Berlin in December is 09:00 UTC.
    let decision = decide(dev, utc("2026-12-08T09:05:00Z"), |_| false, &[]);
    assert!(
        matches!(decision, Decision::AssessAndStart { window } if window.start == utc("2026-12-08T09:00:00Z"))
    );
}

#[test]
fn the_outlook_shows_the_next_window_and_the_blackouts_skipped_before_it() {
    let policy = policy();
    let production = policy.environment("production").unwrap();
    let plans = [candidate("b2", "2026-11-02T00:00:00Z", &["production"], &["bob"])];
    // The second Tuesday of December, the 8th, is under the audit: January's opens next.
    let outlook = outlook(production, utc("2026-11-20T00:00:00Z"), |_| false, &plans);
    assert_eq!(outlook.open_now, None);
    assert_eq!(outlook.next.unwrap().start, utc("2027-01-12T21:00:00Z"));
    assert_eq!(outlook.skipped.len(), 1);
    assert_eq!(outlook.skipped[0].0.start, utc("2026-12-08T21:00:00Z"));
    assert_eq!(outlook.skipped[0].1.reason.as_deref(), Some("audit"));
    assert_eq!(outlook.runs, Ok(Runs::Plan(plans[0].plan_id.clone())));
}

#[test]
fn a_start_by_hand_keeps_to_the_windows() {
    let policy = policy();
    let dev = policy.environment("dev").unwrap();
    let production = policy.environment("production").unwrap();
    // (now, environments, the cutoff kept or the words of the refusal)
    type Case<'a> = (&'a str, Vec<&'a Environment>, Result<Option<&'a str>, &'a str>);
    let cases: [Case; 6] = [
        // Dev's window: 10:00 to 12:00 Berlin, no cutoff of its own.
        ("2026-12-01T09:30:00Z", vec![dev], Ok(Some("2026-12-01T11:00:00Z"))),
        ("2026-12-01T12:30:00Z", vec![dev], Err("dev: no window is open; the next opens at")),
        // Production: the second Tuesday at 22:00 Berlin, 4 h, cutoff after 1 h.
        (
            "2026-12-08T21:10:00Z",
            vec![production],
            Err("production: a blackout runs from 2026-12-07 to 2026-12-09 (audit)"),
        ),
        ("2027-01-12T21:10:00Z", vec![production], Ok(Some("2027-01-12T22:00:00Z"))),
        (
            "2027-01-12T22:30:00Z",
            vec![production],
            Err("production: the window that opened at 2027-01-12 21:00:00 UTC is past its cutoff"),
        ),
        // Both: every environment must be open; the earliest cutoff is kept.
        ("2027-01-12T21:10:00Z", vec![dev, production], Err("dev: no window is open")),
    ];
    for (now, environments, expected) in cases {
        let got = manual_start(&environments, utc(now));
        match expected {
            Ok(cutoff) => assert_eq!(got, Ok(cutoff.map(utc)), "{now}"),
            Err(words) => {
                let refused = got.expect_err(now);
                let text: Vec<String> =
                    refused.iter().map(|r| format!("{}: {}", r.environment, r.why)).collect();
                assert!(text.iter().any(|t| t.starts_with(words)), "{now}: {text:?}");
            }
        }
    }
}
