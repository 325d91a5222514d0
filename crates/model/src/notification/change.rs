//! The notifications of a change's life: a request goes to those who may approve it, an
//! approval or a rejection to the one who asked. Pure: the shell calls [`change_event`] after
//! the action is journaled.

use super::{Event, EventKind};
use crate::change::{ChangeAction, ChangeKind, ChangeState, ChangeStatus};
use crate::policy::{Approval, Policy};

/// Who may approve a change of a plan in `environments`: the members of each role their
/// approval rules name, less the requester (who may not approve their own change). A rule
/// that names no role lets anyone approve: nobody in particular is asked, the channels told
/// of every event are.
pub fn approvers(policy: &Policy, environments: &[String], requester: &str) -> Vec<String> {
    let mut people: Vec<String> = environments
        .iter()
        .filter_map(|name| policy.environment(name))
        .filter_map(|environment| match &environment.approval {
            Approval::Required { role: Some(role), .. } => policy.roles().get(role),
            _ => None,
        })
        .flatten()
        .filter(|member| *member != requester)
        .cloned()
        .collect();
    people.sort();
    people.dedup();
    people
}

/// The event telling of `action` on the change of `plan_id`, as it stands afterwards
/// (`status`); `None` for the scheduler's own approval of an `auto` plan, which nobody asked
/// for. `owners` are the plan's hosts' owners, told of a request too: their hosts will change.
pub fn change_event(
    policy: &Policy,
    environments: &[String],
    plan_id: &str,
    owners: &[String],
    action: &ChangeAction,
    status: &ChangeStatus,
) -> Option<Event> {
    let short = crate::plan::short_id(plan_id);
    let envs = environments.join(", ");
    let comment = action.comment.as_deref().map(|c| format!("\nComment: {c}")).unwrap_or_default();
    let (kind, subject, people, owners) = match action.kind {
        ChangeKind::AutoApprove => return None,
        ChangeKind::Request => (
            EventKind::ChangeRequested,
            format!("patchctl: change requested for plan {short} ({envs}) by {}", action.actor),
            approvers(policy, environments, &action.actor),
            owners.to_vec(),
        ),
        ChangeKind::Approve => (
            EventKind::ChangeApproved,
            format!("patchctl: plan {short} approved by {}", action.actor),
            status.requested_by.iter().cloned().collect(),
            Vec::new(),
        ),
        ChangeKind::Reject => (
            EventKind::ChangeRejected,
            format!("patchctl: plan {short} rejected by {}", action.actor),
            status.requested_by.iter().cloned().collect(),
            Vec::new(),
        ),
    };
    let standing = match status.state {
        ChangeState::Approved => {
            "The change is approved: the plan may run in its window.".to_owned()
        }
        ChangeState::Rejected => "The change is rejected: this plan will not run.".to_owned(),
        _ => format!("Still missing: {}.", status.missing().join("; ")),
    };
    let ticket = status.ticket.as_deref().map(|t| format!("\nTicket: {t}")).unwrap_or_default();
    let ask = match action.kind {
        ChangeKind::Request => format!(
            "\nReview it with `patchctl plan show {short}`, then `patchctl change approve {short} \
             --as USER` or `patchctl change reject {short} --as USER --comment \"...\"`."
        ),
        _ => String::new(),
    };
    let body = format!(
        "Plan {plan_id} ({envs}): {} by {} at {}.{ticket}{comment}\n{standing}{ask}",
        action.kind.as_str(),
        action.actor,
        super::shown_time(action.at),
    );
    Some(Event { owners, people, ..Event::new(kind, subject, body, action.at) })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::DateTime;

    use super::*;
    use crate::change::evaluate;

    fn policy() -> Policy {
        Policy::parse(
            Path::new("policy.toml"),
            "[[environments]]\nname = \"production\"\nschedule = \"@daily\"\ntimezone = \"UTC\"\n\
             window = \"2h\"\napproval = { approvers = 1, role = \"cab\" }\n\
             [roles]\ncab = [\"alice\", \"bob\"]\n",
        )
        .unwrap()
    }

    fn action(kind: ChangeKind, actor: &str) -> ChangeAction {
        ChangeAction {
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            actor: actor.into(),
            kind,
            ticket: None,
            comment: None,
        }
    }

    #[test]
    fn a_request_asks_the_role_but_never_the_requester() {
        let policy = policy();
        let envs = vec!["production".to_owned()];
        let request = action(ChangeKind::Request, "alice");
        let status = evaluate(&policy, &envs, std::slice::from_ref(&request));
        let event = change_event(
            &policy,
            &envs,
            "abcdef0123456789",
            &["team-web".into()],
            &request,
            &status,
        )
        .unwrap();
        assert_eq!(event.kind, EventKind::ChangeRequested);
        assert_eq!(event.people, ["bob"]);
        assert_eq!(event.owners, ["team-web"]);
        assert!(event.body.contains("patchctl change approve"), "{}", event.body);
    }

    #[test]
    fn an_approval_or_a_rejection_goes_to_the_requester() {
        let policy = policy();
        let envs = vec!["production".to_owned()];
        let request = action(ChangeKind::Request, "alice");
        for (kind, expected, standing) in [
            (ChangeKind::Approve, EventKind::ChangeApproved, "approved"),
            (ChangeKind::Reject, EventKind::ChangeRejected, "rejected"),
        ] {
            let act = action(kind, "bob");
            let status = evaluate(&policy, &envs, &[request.clone(), act.clone()]);
            let event = change_event(&policy, &envs, "abcdef", &[], &act, &status).unwrap();
            assert_eq!(
                (event.kind, event.people.as_slice()),
                (expected, &["alice".to_owned()][..])
            );
            assert!(event.body.contains(&format!("The change is {standing}")), "{}", event.body);
        }
        let auto = action(ChangeKind::AutoApprove, "system:scheduler");
        let status = evaluate(&policy, &envs, std::slice::from_ref(&auto));
        assert_eq!(change_event(&policy, &envs, "abcdef", &[], &auto, &status), None);
    }
}
