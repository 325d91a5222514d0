//! What follows a rollout's end: when hosts failed, were lost or were rolled back, a postmortem
//! is opened (the runbooks ask for the root cause after a rollback) and the hosts' owners are
//! told. Once per rollout: the postmortem is unique per rollout, and owners are told when it
//! is opened.

use chrono::{DateTime, TimeDelta, Utc};
use model::notification::{Event, EventKind, Notifications};
use model::postmortem::{Postmortem, Subject};
use rollout::{HostState, Phase};
use store::Store;

use super::RolloutError;
use super::control::load;
use super::driver::phase_name;
use crate::notify::{NotifyReport, notify};
use crate::postmortem::{NewPostmortemRequest, PostmortemError, open_postmortem};

/// What the end of a rollout set off.
#[derive(Debug, Clone, Default)]
pub struct Conclusion {
    /// The postmortem opened now for this rollout (`None`: nothing failed, or one was opened
    /// before).
    pub postmortem: Option<Postmortem>,
    /// The notification sent with it.
    pub notified: Option<NotifyReport>,
}

/// How to conclude: the policy's settings, or their defaults.
#[derive(Debug, Clone)]
pub struct ConcludeConfig<'a> {
    pub notifications: Option<&'a Notifications>,
    pub postmortem_due: TimeDelta,
}

#[derive(Debug, thiserror::Error)]
pub enum ConcludeError {
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    #[error(transparent)]
    Postmortem(#[from] PostmortemError),
}

/// Looks at rollout `id` and, when it is over with failed, lost or rolled-back hosts, opens
/// its postmortem and notifies the owners. Does nothing for a rollout still running or paused.
pub async fn conclude(
    store: &Store,
    id: &str,
    config: &ConcludeConfig<'_>,
    now: DateTime<Utc>,
) -> Result<Conclusion, ConcludeError> {
    let loaded = load(store, id).await?;
    let phase = loaded.machine.phase();
    if !matches!(phase, Phase::Completed | Phase::Halted | Phase::Cancelled) {
        return Ok(Conclusion::default());
    }
    let mut lines = Vec::new();
    let mut hosts = Vec::new();
    for (host, state) in loaded.machine.hosts() {
        let what = match state {
            HostState::Failed { step, reason } => format!("failed at {}: {reason}", step.as_str()),
            HostState::Lost { step, reason } => format!("lost during {}: {reason}", step.as_str()),
            HostState::RolledBack { reason } => format!("rolled back: {reason}"),
            _ => continue,
        };
        lines.push(format!("{host}: {what}"));
        hosts.push(host.to_owned());
    }
    if hosts.is_empty() {
        return Ok(Conclusion::default());
    }
    let mut owners: Vec<String> =
        hosts.iter().filter_map(|h| loaded.plan.host(h).and_then(|p| p.owner.clone())).collect();
    owners.sort();
    owners.dedup();
    let row = &loaded.row;
    let request = NewPostmortemRequest {
        subject: Subject::Rollout(row.id.clone()),
        title: format!(
            "rollout {} {}; failed or rolled back: {}",
            row.id,
            phase_name(phase),
            hosts.join(", ")
        ),
        hosts: hosts.clone(),
        owner: owners.first().cloned(),
        due_after: config.postmortem_due,
        opened_by: "patchctl".to_owned(),
    };
    let (postmortem, new) = open_postmortem(store, &request, now).await?;
    if !new {
        return Ok(Conclusion::default());
    }
    let kind =
        if phase == Phase::Halted { EventKind::RolloutHalted } else { EventKind::HostsFailed };
    let halted = match loaded.machine.stop_reason() {
        Some(rollout::StopReason::Halted(why)) => format!("The rollout halted: {why}.\n"),
        _ => String::new(),
    };
    let event = Event {
        kind,
        subject: format!("patchctl: {}", postmortem.title),
        body: format!(
            "Rollout {} of plan {} is {}.\n{halted}\n{}\n\nPostmortem {} is open, due at {}: \
             close it with `patchctl postmortem close {} --root-cause \"...\" --as USER`.\n\
             The full record: `patchctl report {}`.",
            row.id,
            loaded.plan.id,
            phase_name(phase),
            lines.join("\n"),
            postmortem.id,
            postmortem.due_at,
            postmortem.id,
            row.id
        ),
        hosts,
        owners,
        people: Vec::new(),
        escalation_level: None,
        at: now,
    };
    let notified = match config.notifications {
        Some(settings) => Some(notify(store, settings, &event).await),
        None => None,
    };
    Ok(Conclusion { postmortem: Some(postmortem), notified })
}
