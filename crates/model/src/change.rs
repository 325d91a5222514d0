//! Change approval: who asked for a plan to run, who approved or rejected it, and whether the
//! approval rules of the plan's environments are met. Pure: the journal of actions is passed
//! in, and nothing here reads a clock.
//!
//! The rules, decided once here so `change approve`, `rollout start`, `schedule` and the
//! scheduler agree:
//!
//! - A change is a plan's content hash. Plans are immutable; anything that changes a plan makes
//!   another hash, whose journal starts empty, so an approval never carries over to content
//!   nobody approved.
//! - One request per plan, by its requester, with a ticket when any environment of the plan
//!   requires one. Approvals and rejections come after the request, one per person.
//! - The requester can neither approve nor reject their own change. An approver holds the role
//!   that some environment of the plan requires (any person when its rule names none).
//! - A rejection is final for that plan: make a new plan (a new hash) to ask again.
//! - Each environment's rule is checked against the current policy: an approval counts for an
//!   environment when its author holds that environment's role now, so a person removed from
//!   the role no longer approves anything, and a rule made stricter applies to plans approved
//!   under the old one.
//! - `approval = "auto"` needs nothing; the scheduler journals an `auto_approve` as
//!   [`SYSTEM_ACTOR`] so the record says who let the plan run.

use chrono::{DateTime, Utc};

use crate::policy::{Approval, Policy};

mod output;

/// The actor of the scheduler's own actions. It has a `:`, which no person's name may have.
pub const SYSTEM_ACTOR: &str = "system:scheduler";

/// One action on a change, as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeAction {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: ChangeKind,
    /// The change ticket (requests only).
    pub ticket: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Request,
    Approve,
    Reject,
    /// Every environment of the plan has `approval = "auto"`: the scheduler let it run.
    AutoApprove,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Request => "request",
            ChangeKind::Approve => "approve",
            ChangeKind::Reject => "reject",
            ChangeKind::AutoApprove => "auto_approve",
        }
    }

    pub fn from_name(name: &str) -> Option<ChangeKind> {
        [ChangeKind::Request, ChangeKind::Approve, ChangeKind::Reject, ChangeKind::AutoApprove]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// Where a change stands as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeState {
    /// Nobody asked, and some environment needs approval.
    NotRequested,
    /// Asked; some environment's rule is not met yet.
    Pending,
    /// Every environment's rule is met: the plan may run.
    Approved,
    Rejected,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::NotRequested => "not requested",
            ChangeState::Pending => "pending",
            ChangeState::Approved => "approved",
            ChangeState::Rejected => "rejected",
        }
    }
}

/// One environment's rule against the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentApproval {
    pub environment: String,
    /// The rule, in words (`auto`, `1 approver with role cab, a ticket`).
    pub rule: String,
    /// The approvers that count for this environment.
    pub approved_by: Vec<String>,
    /// What is still missing, in words; empty when the rule is met.
    pub missing: Vec<String>,
}

/// A change's status: the whole and each environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeStatus {
    pub state: ChangeState,
    pub requested_by: Option<String>,
    pub ticket: Option<String>,
    pub environments: Vec<EnvironmentApproval>,
}

impl ChangeStatus {
    /// Every missing item, prefixed with its environment: why the plan may not run.
    pub fn missing(&self) -> Vec<String> {
        self.environments
            .iter()
            .flat_map(|e| e.missing.iter().map(move |m| format!("{}: {m}", e.environment)))
            .collect()
    }
}

/// An action that the rules refuse, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Names of people: letters, digits, `.`, `_`, `-`, `@`, at most 64. No `:` (reserved for the
/// system) and nothing a terminal or a log would interpret.
pub fn check_actor(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "user {name:?} is not a name: use 1 to 64 letters, digits, '.', '_', '-' and '@'"
        ))
    }
}

/// Whether `action` may be added to a change of a plan over `environments` whose journal so
/// far is `journal`. The journal is in order; `action.at` is not checked.
pub fn check_action(
    policy: &Policy,
    environments: &[String],
    journal: &[ChangeAction],
    action: &ChangeAction,
) -> Result<(), Refused> {
    let refuse = |message: String| Err(Refused(message));
    if action.kind == ChangeKind::AutoApprove {
        if action.actor != SYSTEM_ACTOR {
            return refuse(format!("only {SYSTEM_ACTOR} approves automatically"));
        }
        let manual: Vec<&str> = rules(policy, environments)
            .filter(|(_, rule)| !matches!(rule, Some(Approval::Automatic)))
            .map(|(name, _)| name)
            .collect();
        if !manual.is_empty() {
            return refuse(format!(
                "environment {} needs approval by people: it cannot be approved automatically",
                manual.join(", ")
            ));
        }
        return Ok(());
    }
    check_actor(&action.actor).map_err(Refused)?;
    let request = journal.iter().find(|a| a.kind == ChangeKind::Request);
    let rejection = journal.iter().find(|a| a.kind == ChangeKind::Reject);
    if let Some(rejection) = rejection {
        return refuse(format!(
            "the change was rejected by {} at {}: make a new plan to ask again",
            rejection.actor, rejection.at
        ));
    }
    match action.kind {
        ChangeKind::Request => {
            if let Some(request) = request {
                return refuse(format!(
                    "the change was requested already, by {} at {}",
                    request.actor, request.at
                ));
            }
            let needs_ticket: Vec<&str> = rules(policy, environments)
                .filter(|(_, rule)| matches!(rule, Some(Approval::Required { ticket: true, .. })))
                .map(|(name, _)| name)
                .collect();
            if action.ticket.is_none() && !needs_ticket.is_empty() {
                return refuse(format!(
                    "environment {} requires a change ticket: request it with --ticket",
                    needs_ticket.join(", ")
                ));
            }
            Ok(())
        }
        ChangeKind::Approve | ChangeKind::Reject => {
            let verb = if action.kind == ChangeKind::Approve { "approve" } else { "reject" };
            let Some(request) = request else {
                return refuse(format!(
                    "nobody requested this change yet: `patchctl change request PLAN` comes \
                     before anyone can {verb} it"
                ));
            };
            if request.actor == action.actor {
                return refuse(format!(
                    "{} requested this change and cannot {verb} it: another person must",
                    action.actor
                ));
            }
            if let Some(earlier) = journal.iter().find(|a| {
                a.actor == action.actor
                    && matches!(a.kind, ChangeKind::Approve | ChangeKind::Reject)
            }) {
                return refuse(format!(
                    "{} already {}d this change at {}",
                    action.actor,
                    earlier.kind.as_str(),
                    earlier.at
                ));
            }
            let required: Vec<(&str, Option<&str>)> = rules(policy, environments)
                .filter_map(|(name, rule)| match rule {
                    Some(Approval::Required { role, .. }) => Some((name, role.as_deref())),
                    _ => None,
                })
                .collect();
            if required.is_empty() {
                return refuse(
                    "no environment of this plan needs an approval (they are `auto`, or not in \
                     the policy)"
                        .to_owned(),
                );
            }
            let eligible = required
                .iter()
                .any(|(_, role)| role.is_none_or(|role| policy.holds_role(&action.actor, role)));
            if !eligible {
                let roles: Vec<String> =
                    required.iter().filter_map(|(_, role)| role.map(str::to_owned)).collect();
                return refuse(format!(
                    "{} holds none of the roles this plan needs ({}): see [roles] in the policy",
                    action.actor,
                    roles.join(", ")
                ));
            }
            Ok(())
        }
        ChangeKind::AutoApprove => unreachable!("handled above"),
    }
}

/// The status of a change of a plan over `environments` (each once), from its journal.
pub fn evaluate(
    policy: &Policy,
    environments: &[String],
    journal: &[ChangeAction],
) -> ChangeStatus {
    let request = journal.iter().find(|a| a.kind == ChangeKind::Request);
    let rejection = journal.iter().find(|a| a.kind == ChangeKind::Reject);
    let requester = request.map(|r| r.actor.as_str());
    // Distinct people, in the order they approved; the requester never counts.
    let mut approvers: Vec<&str> = Vec::new();
    for action in journal {
        let name = action.actor.as_str();
        if action.kind == ChangeKind::Approve
            && Some(name) != requester
            && !approvers.contains(&name)
        {
            approvers.push(name);
        }
    }
    let mut statuses = Vec::new();
    for (name, rule) in rules(policy, environments) {
        let mut missing = Vec::new();
        let mut approved_by = Vec::new();
        let words = match rule {
            None => {
                missing.push("the policy declares no such environment".to_owned());
                "none".to_owned()
            }
            Some(Approval::Automatic) => "auto".to_owned(),
            Some(Approval::Required { approvers: needed, role, ticket }) => {
                if let Some(rejection) = rejection {
                    let comment =
                        rejection.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default();
                    missing.push(format!("rejected by {}{comment}", rejection.actor));
                } else if request.is_none() {
                    missing.push("no change request (`patchctl change request PLAN`)".to_owned());
                }
                if *ticket && request.is_some_and(|r| r.ticket.is_none()) {
                    missing.push("a change ticket".to_owned());
                }
                approved_by = approvers
                    .iter()
                    .filter(|a| role.as_deref().is_none_or(|role| policy.holds_role(a, role)))
                    .map(|a| a.to_string())
                    .collect();
                let short = (*needed as usize).saturating_sub(approved_by.len());
                if short > 0 {
                    let from =
                        role.as_deref().map(|r| format!(" from role {r}")).unwrap_or_default();
                    let plural = if short == 1 { "" } else { "s" };
                    missing.push(format!(
                        "{short} more approval{plural}{from} (a person other than the requester)"
                    ));
                }
                let mut words = format!(
                    "{needed} approver{}{}",
                    if *needed == 1 { "" } else { "s" },
                    role.as_deref().map(|r| format!(" with role {r}")).unwrap_or_default()
                );
                if *ticket {
                    words.push_str(", a ticket");
                }
                words
            }
        };
        statuses.push(EnvironmentApproval {
            environment: name.to_owned(),
            rule: words,
            approved_by,
            missing,
        });
    }
    let all_met = statuses.iter().all(|s| s.missing.is_empty());
    let state = if rejection.is_some() {
        ChangeState::Rejected
    } else if all_met {
        ChangeState::Approved
    } else if request.is_some() {
        ChangeState::Pending
    } else {
        ChangeState::NotRequested
    };
    ChangeStatus {
        state,
        requested_by: requester.map(str::to_owned),
        ticket: request.and_then(|r| r.ticket.clone()),
        environments: statuses,
    }
}

/// Each environment with its rule; `None` when the policy does not declare it.
fn rules<'a>(
    policy: &'a Policy,
    environments: &'a [String],
) -> impl Iterator<Item = (&'a str, Option<&'a Approval>)> {
    environments.iter().map(|name| (name.as_str(), policy.environment(name).map(|e| &e.approval)))
}

#[cfg(test)]
mod tests;
