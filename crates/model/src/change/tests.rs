//! The approval rules, each against a journal written in the test.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;

const POLICY: &str = r#"
[roles]
cab = ["alice", "bob", "carol"]
ops = ["dave"]

[[environments]]
name = "dev"
schedule = "0 10 * * *"
timezone = "UTC"
window = "2h"
approval = "auto"

[[environments]]
name = "staging"
schedule = "0 22 * * *"
timezone = "UTC"
window = "2h"
approval = { approvers = 1 }

[[environments]]
name = "production"
schedule = "0 2 * * *"
timezone = "UTC"
window = "2h"
approval = { approvers = 2, role = "cab", ticket = true }
"#;

fn policy() -> Policy {
    Policy::parse(Path::new("policy.toml"), POLICY).unwrap_or_else(|e| panic!("{e}"))
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn action(actor: &str, kind: ChangeKind, ticket: Option<&str>) -> ChangeAction {
    ChangeAction {
        at: at(0),
        actor: actor.to_owned(),
        kind,
        ticket: ticket.map(str::to_owned),
        comment: None,
    }
}

fn envs(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Adds `action` to `journal` when the rules allow it; the refusal otherwise.
fn apply(
    environments: &[String],
    journal: &mut Vec<ChangeAction>,
    action: ChangeAction,
) -> Result<(), String> {
    check_action(&policy(), environments, journal, &action).map_err(|r| r.0)?;
    journal.push(action);
    Ok(())
}

#[test]
fn staging_needs_one_approval_by_someone_other_than_the_requester() {
    let staging = envs(&["staging"]);
    let mut journal = Vec::new();
    let status = evaluate(&policy(), &staging, &journal);
    assert_eq!(status.state, ChangeState::NotRequested);
    assert_eq!(
        status.missing(),
        [
            "staging: no change request (`patchctl change request PLAN`)",
            "staging: 1 more approval (a person other than the requester)"
        ]
    );

    apply(&staging, &mut journal, action("erin", ChangeKind::Request, None)).unwrap();
    assert_eq!(evaluate(&policy(), &staging, &journal).state, ChangeState::Pending);
    let own = apply(&staging, &mut journal, action("erin", ChangeKind::Approve, None)).unwrap_err();
    assert_eq!(own, "erin requested this change and cannot approve it: another person must");
    apply(&staging, &mut journal, action("frank", ChangeKind::Approve, None)).unwrap();
    let status = evaluate(&policy(), &staging, &journal);
    assert_eq!(status.state, ChangeState::Approved, "{status:?}");
    assert_eq!(status.environments[0].approved_by, ["frank"]);
    let twice =
        apply(&staging, &mut journal, action("frank", ChangeKind::Approve, None)).unwrap_err();
    assert!(twice.starts_with("frank already approved this change at"), "{twice}");
}

#[test]
fn production_needs_a_ticket_and_two_approvers_holding_the_role() {
    let production = envs(&["production"]);
    let mut journal = Vec::new();
    let no_ticket =
        apply(&production, &mut journal, action("alice", ChangeKind::Request, None)).unwrap_err();
    assert_eq!(
        no_ticket,
        "environment production requires a change ticket: request it with --ticket"
    );
    apply(&production, &mut journal, action("alice", ChangeKind::Request, Some("CHG123"))).unwrap();
    let outsider =
        apply(&production, &mut journal, action("dave", ChangeKind::Approve, None)).unwrap_err();
    assert_eq!(
        outsider,
        "dave holds none of the roles this plan needs (cab): see [roles] in the policy"
    );
    apply(&production, &mut journal, action("bob", ChangeKind::Approve, None)).unwrap();
    let status = evaluate(&policy(), &production, &journal);
    assert_eq!(status.state, ChangeState::Pending);
    assert_eq!(
        status.missing(),
        ["production: 1 more approval from role cab (a person other than the requester)"]
    );
    assert_eq!(status.ticket.as_deref(), Some("CHG123"));
    apply(&production, &mut journal, action("carol", ChangeKind::Approve, None)).unwrap();
    assert_eq!(evaluate(&policy(), &production, &journal).state, ChangeState::Approved);
}

#[test]
fn a_plan_over_several_environments_needs_every_rule_met() {
    let both = envs(&["dev", "staging", "production"]);
    let mut journal = Vec::new();
    apply(&both, &mut journal, action("erin", ChangeKind::Request, Some("CHG9"))).unwrap();
    // dave (no role) may approve for staging, which names no role, but not for production.
    apply(&both, &mut journal, action("dave", ChangeKind::Approve, None)).unwrap();
    let status = evaluate(&policy(), &both, &journal);
    assert_eq!(status.state, ChangeState::Pending);
    assert!(status.environments[0].missing.is_empty(), "dev is auto");
    assert!(status.environments[1].missing.is_empty(), "staging has dave");
    assert_eq!(
        status.environments[2].missing,
        ["2 more approvals from role cab (a person other than the requester)"]
    );
}

#[test]
fn a_rejection_is_final_and_the_requester_cannot_reject_either() {
    let staging = envs(&["staging"]);
    let mut journal = Vec::new();
    apply(&staging, &mut journal, action("erin", ChangeKind::Request, None)).unwrap();
    assert!(apply(&staging, &mut journal, action("erin", ChangeKind::Reject, None)).is_err());
    let mut reject = action("frank", ChangeKind::Reject, None);
    reject.comment = Some("not during the audit".into());
    apply(&staging, &mut journal, reject).unwrap();
    let late = apply(&staging, &mut journal, action("bob", ChangeKind::Approve, None)).unwrap_err();
    assert!(late.starts_with("the change was rejected by frank"), "{late}");
    let status = evaluate(&policy(), &staging, &journal);
    assert_eq!(status.state, ChangeState::Rejected);
    assert_eq!(
        status.missing(),
        [
            "staging: rejected by frank: not during the audit",
            "staging: 1 more approval (a person other than the requester)"
        ]
    );
}

#[test]
fn nothing_is_approved_before_a_request_and_auto_needs_nothing() {
    let staging = envs(&["staging"]);
    let mut journal = Vec::new();
    let early =
        apply(&staging, &mut journal, action("bob", ChangeKind::Approve, None)).unwrap_err();
    assert!(early.starts_with("nobody requested this change yet"), "{early}");

    let dev = envs(&["dev"]);
    assert_eq!(evaluate(&policy(), &dev, &[]).state, ChangeState::Approved);
    let refused = apply(&dev, &mut journal, action("bob", ChangeKind::AutoApprove, None));
    assert!(refused.is_err(), "only the system approves automatically");
    apply(&dev, &mut journal, action(SYSTEM_ACTOR, ChangeKind::AutoApprove, None)).unwrap();
    let mixed = check_action(
        &policy(),
        &envs(&["dev", "staging"]),
        &[],
        &action(SYSTEM_ACTOR, ChangeKind::AutoApprove, None),
    );
    assert!(mixed.is_err());
}

#[test]
fn unknown_environments_and_bad_names_are_refused() {
    let qa = envs(&["qa"]);
    let status = evaluate(&policy(), &qa, &[]);
    assert_eq!(status.missing(), ["qa: the policy declares no such environment"]);
    assert_ne!(status.state, ChangeState::Approved);
    for bad in ["", "system:scheduler", "a b", "x\u{1b}[31m", &"a".repeat(65)] {
        assert!(check_actor(bad).is_err(), "{bad:?}");
    }
    assert!(check_actor("first.last@example").is_ok());
}

#[test]
fn an_approver_removed_from_the_role_no_longer_counts() {
    let production = envs(&["production"]);
    let mut journal = Vec::new();
    apply(&production, &mut journal, action("alice", ChangeKind::Request, Some("CHG1"))).unwrap();
    apply(&production, &mut journal, action("bob", ChangeKind::Approve, None)).unwrap();
    apply(&production, &mut journal, action("carol", ChangeKind::Approve, None)).unwrap();
    let smaller = POLICY.replace(r#"cab = ["alice", "bob", "carol"]"#, r#"cab = ["alice", "bob"]"#);
    let smaller = Policy::parse(Path::new("policy.toml"), &smaller).unwrap();
    let status = evaluate(&smaller, &production, &journal);
    assert_eq!(status.state, ChangeState::Pending);
    assert_eq!(status.environments[0].approved_by, ["bob"]);
}
