//! Change approval in the store: requests, approvals and rejections of a plan's hash, checked
//! by `model::change` against the policy inside the write that records them, and the status
//! a rollout must show before it starts.

use chrono::{DateTime, Utc};
use model::change::{
    ChangeAction, ChangeKind, ChangeState, ChangeStatus, SYSTEM_ACTOR, check_action, evaluate,
};
use model::plan::Plan;
use model::policy::Policy;
// A journal entry's body besides the kind and actor, as stored.
use protocol::change::ChangeBodyV1 as Body;
use store::{ChangeEntry, JournalCheck, NewChangeEntry, Store};

use crate::plan::{LoadPlanError, load_plan};

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Plan(#[from] LoadPlanError),
    #[error("no plan matches `{0}`")]
    UnknownPlan(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error(
        "the change journal of plan {plan} is broken at entry {seq}: its approvals cannot be trusted"
    )]
    Tampered { plan: String, seq: i64 },
    #[error("the change journal of plan {plan} has an unreadable entry {seq}: {problem}")]
    Unreadable { plan: String, seq: i64, problem: String },
    #[error(
        "plan {} may not run: its change is {}:\n{}",
        model::plan::short_id(plan),
        state.as_str(),
        missing.iter().map(|m| format!("  {m}")).collect::<Vec<_>>().join("\n")
    )]
    NotApproved { plan: String, state: ChangeState, missing: Vec<String> },
    #[error(transparent)]
    Source(#[from] crate::SourceError),
    #[error(
        "change approval follows the policy's rules, and there is no policy.toml beside the \
         inventory (or --policy)"
    )]
    NoPolicy,
}

/// The policy whose rules the change follows.
fn policy(ctx: &crate::Context) -> Result<Policy, ChangeError> {
    ctx.sources.policy()?.ok_or(ChangeError::NoPolicy)
}

/// `change request|approve|reject PLAN`: `act` on the plan's change, at the clock's now,
/// checked against the policy's rules (the requester never approves their own change).
pub async fn record(ctx: &crate::Context, plan: &str, act: Act) -> Result<Change, ChangeError> {
    let policy = policy(ctx)?;
    self::act(ctx.store().await?, &policy, plan, act, ctx.clock.now()).await
}

/// `change show PLAN`: the plan's change, its status under the policy and its journal.
pub async fn show(ctx: &crate::Context, plan: &str) -> Result<Change, ChangeError> {
    let policy = policy(ctx)?;
    let store = ctx.store().await?;
    let loaded =
        load_plan(store, plan).await?.ok_or_else(|| ChangeError::UnknownPlan(plan.to_owned()))?;
    change(store, &policy, loaded).await
}

/// `change list`: every plan with hosts, with its change's status.
pub async fn list(
    ctx: &crate::Context,
) -> Result<Vec<model::scheduling::PlanCandidate>, crate::scheduler::SchedulerError> {
    let policy = policy(ctx)?;
    crate::scheduler::candidates(ctx.store().await?, &policy).await
}

/// A line of `change list` in its JSON form.
pub fn listing_output(
    candidate: &model::scheduling::PlanCandidate,
) -> protocol::output::change::ChangeListingV1 {
    let status = protocol::output::change::ChangeStatusV1::from(&candidate.change);
    protocol::output::change::ChangeListingV1 {
        plan: candidate.plan_id.clone(),
        created_at: candidate.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        environments: candidate.environments.clone(),
        state: status.state,
        rolled_out: candidate.rolled_out,
    }
}

/// A change: its plan, every action on record, and where it stands under the policy.
#[derive(Debug, Clone)]
pub struct Change {
    pub plan: Plan,
    pub actions: Vec<ChangeAction>,
    pub status: ChangeStatus,
    /// The notification of the action just taken (`act`): the approvers asked, the requester
    /// told. `None` when nothing was sent (a read, the scheduler's own approval).
    pub notified: Option<crate::notify::NotifyReport>,
}

impl Change {
    /// The change in its JSON form (`change show --format json`).
    pub fn output(&self) -> protocol::output::change::ChangeShowV1 {
        output(&self.plan.id, &self.status, &self.actions)
    }
}

/// A change's JSON form, from its parts.
pub fn output(
    plan_id: &str,
    status: &ChangeStatus,
    actions: &[ChangeAction],
) -> protocol::output::change::ChangeShowV1 {
    use protocol::output::change::{ChangeActionV1, ChangeShowV1};
    ChangeShowV1 {
        plan: plan_id.to_owned(),
        status: status.into(),
        journal: actions.iter().map(ChangeActionV1::from).collect(),
    }
}

/// The environments of a plan's hosts, each once, in promotion order when the policy knows
/// them (by name otherwise).
pub fn plan_environments(plan: &Plan, policy: &Policy) -> Vec<String> {
    let mut names: Vec<String> = plan.hosts.iter().map(|h| h.environment.clone()).collect();
    let order = policy.environment_order();
    names.sort_by_key(|n| (order.iter().position(|o| o == n).unwrap_or(usize::MAX), n.clone()));
    names.dedup();
    names
}

/// An action someone takes on a change.
#[derive(Debug, Clone)]
pub struct Act {
    pub kind: ChangeKind,
    pub actor: String,
    /// Requests only.
    pub ticket: Option<String>,
    pub comment: Option<String>,
}

/// Records `act` on the change of plan `plan` (an id or unique prefix) when the rules allow
/// it, and returns the change as it stands afterwards.
pub async fn act(
    store: &Store,
    policy: &Policy,
    plan: &str,
    act: Act,
    now: DateTime<Utc>,
) -> Result<Change, ChangeError> {
    let plan =
        load_plan(store, plan).await?.ok_or_else(|| ChangeError::UnknownPlan(plan.into()))?;
    let environments = plan_environments(&plan, policy);
    let Act { kind, actor, ticket, comment } = act;
    let action =
        ChangeAction { at: now, actor: actor.clone(), kind, ticket: ticket.clone(), comment };
    let body = Body { plan: plan.id.clone(), ticket, comment: action.comment.clone() };
    let entry = NewChangeEntry {
        at_ms: now.timestamp_millis(),
        kind: kind.as_str().to_owned(),
        actor,
        body_json: serde_json::to_string(&body).expect("a change body serializes"),
    };
    let plan_id = plan.id.clone();
    let accept = |journal: &[ChangeEntry]| -> Result<(), String> {
        let actions = actions(&plan_id, journal).map_err(|e| e.to_string())?;
        check_action(policy, &environments, &actions, &action).map_err(|refused| refused.0)
    };
    store.append_change(&plan.id, &entry, &accept).await?.map_err(ChangeError::Refused)?;
    let mut owners: Vec<String> = plan.hosts.iter().filter_map(|h| h.owner.clone()).collect();
    owners.sort();
    owners.dedup();
    let mut change = change(store, policy, plan).await?;
    // Told once it is on record; a failed delivery is reported, never undoes the action.
    if let Some(event) = model::notification::change::change_event(
        policy,
        &environments,
        &change.plan.id,
        &owners,
        &action,
        &change.status,
    ) && policy.notifications().is_configured()
    {
        change.notified = Some(crate::notify::notify(store, policy.notifications(), &event).await);
    }
    Ok(change)
}

/// A plan's change as it stands: its journal checked link by link, then evaluated.
pub async fn change(store: &Store, policy: &Policy, plan: Plan) -> Result<Change, ChangeError> {
    if let JournalCheck::Broken { seq, .. } = store.verify_change_journal(&plan.id).await? {
        return Err(ChangeError::Tampered { plan: plan.id.clone(), seq });
    }
    let actions = actions(&plan.id, &store.change_journal(&plan.id).await?)?;
    let status = evaluate(policy, &plan_environments(&plan, policy), &actions);
    Ok(Change { plan, actions, status, notified: None })
}

/// Every action on record on the change of plan `plan_id` (a full id), in order, its journal
/// checked link by link: for records that need no policy (the rollout report).
pub async fn change_actions(
    store: &Store,
    plan_id: &str,
) -> Result<Vec<ChangeAction>, ChangeError> {
    if let JournalCheck::Broken { seq, .. } = store.verify_change_journal(plan_id).await? {
        return Err(ChangeError::Tampered { plan: plan_id.to_owned(), seq });
    }
    actions(plan_id, &store.change_journal(plan_id).await?)
}

/// Refuses, saying what is missing, unless every environment of `plan` has its approval.
pub async fn require_approved(
    store: &Store,
    policy: &Policy,
    plan: &Plan,
) -> Result<Change, ChangeError> {
    let change = change(store, policy, plan.clone()).await?;
    if change.status.state != ChangeState::Approved {
        return Err(ChangeError::NotApproved {
            plan: plan.id.clone(),
            state: change.status.state,
            missing: change.status.missing(),
        });
    }
    Ok(change)
}

/// The scheduler's approval of a plan whose environments are all `auto`, journaled as
/// [`SYSTEM_ACTOR`].
pub async fn auto_approve(
    store: &Store,
    policy: &Policy,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Change, ChangeError> {
    let system = Act {
        kind: ChangeKind::AutoApprove,
        actor: SYSTEM_ACTOR.to_owned(),
        ticket: None,
        comment: Some("approval = \"auto\" in the policy".to_owned()),
    };
    act(store, policy, &plan.id, system, now).await
}

fn actions(plan: &str, journal: &[ChangeEntry]) -> Result<Vec<ChangeAction>, ChangeError> {
    journal
        .iter()
        .map(|entry| {
            let unreadable = |problem: String| ChangeError::Unreadable {
                plan: plan.to_owned(),
                seq: entry.seq,
                problem,
            };
            let body: Body =
                serde_json::from_str(&entry.body_json).map_err(|e| unreadable(e.to_string()))?;
            if body.plan != plan {
                return Err(unreadable(format!("it belongs to plan {}", body.plan)));
            }
            let kind = ChangeKind::from_name(&entry.kind)
                .ok_or_else(|| unreadable(format!("unknown action {:?}", entry.kind)))?;
            let at = DateTime::<Utc>::from_timestamp_millis(entry.at_ms)
                .ok_or_else(|| unreadable(format!("time {} is out of range", entry.at_ms)))?;
            Ok(ChangeAction {
                at,
                actor: entry.actor.clone(),
                kind,
                ticket: body.ticket,
                comment: body.comment,
            })
        })
        .collect()
}

impl ChangeError {
    /// Whether the plan named is not there to act on: no plan matches, or the text given is
    /// no plan id (malformed, or a prefix of several).
    pub fn names_no_plan(&self) -> bool {
        use store::StoreError::{AmbiguousId, InvalidId};
        matches!(
            self,
            ChangeError::UnknownPlan(_)
                | ChangeError::Plan(LoadPlanError::Unknown(_))
                | ChangeError::Plan(LoadPlanError::Store(InvalidId { .. } | AmbiguousId { .. }))
                | ChangeError::Store(InvalidId { .. } | AmbiguousId { .. })
        )
    }
}
