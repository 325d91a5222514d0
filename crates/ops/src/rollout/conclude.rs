//! What follows a rollout's end: when hosts failed, were lost or were rolled back, a postmortem
//! is opened (the runbooks ask for the root cause after a rollback) and the hosts' owners are
//! told. Once per rollout: the postmortem is unique per rollout, and owners are told when it
//! is opened. When one is due and what it says is decided by
//! `model::postmortem::trigger::after_rollout`; this reads the rollout and acts.

use chrono::{DateTime, TimeDelta, Utc};
use model::notification::{Event, EventKind, Notifications};
use model::postmortem::Postmortem;
use model::postmortem::trigger::{HostEnd, RolloutEnd, RolloutPostmortem, after_rollout};
use rollout::{HostState, Phase};
use store::Store;

use super::RolloutError;
use super::control::load;
use super::driver::phase_name;
use crate::notify::{NotifyReport, notify};
use crate::postmortem::{PostmortemError, open_postmortem};

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
    let hosts = loaded.machine.hosts().map(|(host, state)| {
        let end = match state {
            HostState::Failed { step, reason } => HostEnd::Failed { step: step.as_str(), reason },
            HostState::Lost { step, reason } => HostEnd::Lost { step: step.as_str(), reason },
            HostState::RolledBack { reason } => HostEnd::RolledBack { reason },
            _ => HostEnd::Fine,
        };
        let owner = loaded.plan.host(host).and_then(|p| p.owner.as_deref());
        (host, end, owner)
    });
    let row = &loaded.row;
    let end = RolloutEnd {
        rollout: &row.id,
        phase: phase_name(phase),
        over: matches!(phase, Phase::Completed | Phase::Halted | Phase::Cancelled),
        hosts: hosts.collect(),
    };
    let Some(due) = after_rollout(&end, config.postmortem_due) else {
        return Ok(Conclusion::default());
    };
    let RolloutPostmortem { request, lines, owners } = due;
    let hosts = request.hosts.clone();
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
