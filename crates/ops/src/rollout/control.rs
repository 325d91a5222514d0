//! A rollout as it stands, read back from the store; and pause, cancel or a rollback asked for
//! by a process that is not driving it.

use model::plan::Plan;
use rollout::{Config, Event, Input, Rollout};
use store::{Claim, JournalCheck, PhaseUpdate, RolloutRow, Store};

use super::RolloutError;
use super::driver::{changed_hosts_verified, lost, now_ms, now_unix, stored_phase};
use super::journal::{self, Asked, JournalRecord};

/// A rollout, its plan, and its state rebuilt from the journal.
pub struct Loaded {
    pub row: RolloutRow,
    pub plan: Plan,
    pub machine: Rollout,
    pub outputs: Vec<(Option<String>, journal::OutputRecord)>,
    pub events: Vec<(i64, Event)>,
    /// Who created it, and what they overrode (rollouts created before this record: none).
    pub start: Option<journal::StartRecord>,
    /// What people asked of it that it took (pause, resume, cancel, rollbacks), in order, and
    /// who (journals written before the actor was kept: none).
    pub asked: Vec<Asked>,
    /// The journal's hash chain, intact (a broken one is not loaded).
    pub journal_check: store::JournalCheck,
}

/// Fails with [`RolloutError::BrokenJournal`] unless the rollout's journal verifies.
pub async fn require_intact(store: &Store, id: &str) -> Result<JournalCheck, RolloutError> {
    match store.verify_journal(id).await? {
        JournalCheck::Broken { seq, reason } => Err(RolloutError::BrokenJournal {
            rollout: id.to_owned(),
            seq,
            reason: crate::audit::break_words(reason),
        }),
        intact => Ok(intact),
    }
}

/// The rollout `text` names: a rollout's id or a unique prefix of one, or else a plan's id or
/// prefix (`sha256:` or not), which names the plan's newest rollout.
pub async fn find(store: &Store, text: &str) -> Result<RolloutRow, RolloutError> {
    let by_id = store.rollout(text).await;
    if let Ok(Some(row)) = by_id {
        return Ok(row);
    }
    let digits = text.strip_prefix("sha256:").unwrap_or(text);
    let of_plan: Vec<RolloutRow> = if digits.len() >= 6 {
        store
            .rollouts()
            .await?
            .into_iter()
            .filter(|row| {
                row.plan_id.strip_prefix("sha256:").unwrap_or(&row.plan_id).starts_with(digits)
            })
            .collect()
    } else {
        Vec::new()
    };
    let plans: std::collections::BTreeSet<&str> =
        of_plan.iter().map(|row| row.plan_id.as_str()).collect();
    match (of_plan.first(), plans.len()) {
        // Newest first: the plan's latest rollout.
        (Some(row), 1) => Ok(row.clone()),
        (Some(_), _) => Err(RolloutError::Refused(format!(
            "`{text}` is the start of {} plans' ids: give more of the id",
            plans.len()
        ))),
        (None, _) => match by_id {
            Err(error) => Err(error.into()),
            Ok(_) => Err(RolloutError::UnknownRollout(text.to_owned())),
        },
    }
}

/// A rollout as its journal tells it; refused when the journal's chain is broken.
pub async fn load(store: &Store, id: &str) -> Result<Loaded, RolloutError> {
    let row = find(store, id).await?;
    let journal_check = require_intact(store, &row.id).await?;
    let plan = crate::load_plan(store, &row.plan_id)
        .await
        .map_err(|e| RolloutError::Refused(e.to_string()))?
        .ok_or_else(|| RolloutError::UnknownPlan(row.plan_id.clone()))?;
    let config: Config = journal::read_config(&row.id, &row.config_json)?;
    let entries = store.journal(&row.id).await?;
    let machine = Rollout::replay(config, &journal::inputs(&row.id, &entries)?);
    let mut outputs = Vec::new();
    let mut events = Vec::new();
    let mut start = None;
    let mut asked = Vec::new();
    for entry in &entries {
        match JournalRecord::from_entry(&row.id, entry)? {
            JournalRecord::Output(output) => outputs.push((entry.host.clone(), output)),
            JournalRecord::Event(event) => events.push((entry.at_ms, event)),
            JournalRecord::Start(record) => start = Some(record),
            JournalRecord::Input { input, actor: Some(actor) } => {
                asked.push(Asked { at_ms: entry.at_ms.max(0) as u64, input, actor })
            }
            _ => {}
        }
    }
    Ok(Loaded { row, plan, machine, outputs, events, start, asked, journal_check })
}

/// Pause, resume, cancel or roll back a host, as `actor` asks (the journal names them). When
/// another process drives the rollout, the request is journaled for it to pick up; otherwise
/// this process (`owner`, for the lease) takes the lease, applies it and journals it under the
/// lease, and gives the lease back.
pub async fn request(
    store: &Store,
    id: &str,
    input: Input,
    owner: &str,
    actor: &str,
) -> Result<String, RolloutError> {
    let loaded = load(store, id).await?;
    let id = loaded.row.id.clone();
    let now = now_ms();
    let lease = match store.claim_rollout(&id, owner, now_unix(), 30).await? {
        Claim::Claimed(lease) => lease,
        Claim::HeldBy { owner: driver, .. } => {
            let request = JournalRecord::Request { input, actor: Some(actor.to_owned()) };
            let entry = request.to_entry(now, None);
            store.append_request(&id, &[entry]).await?;
            return Ok(format!(
                "asked {driver} (which drives rollout {id}); it acts within a second"
            ));
        }
    };
    // Read again under the lease: the journal may have grown since.
    let result = async {
        let mut loaded = load(store, &id).await?;
        loaded
            .machine
            .handle(now, input.clone())
            .map_err(|refused| RolloutError::Refused(refused.0))?;
        let taken = JournalRecord::Input { input, actor: Some(actor.to_owned()) };
        let mut entries = vec![taken.to_entry(now, None)];
        let mut events = Vec::new();
        while let Some(event) = loaded.machine.poll_event() {
            entries.push(JournalRecord::Event(event.clone()).to_entry(now, None));
            events.push(event);
        }
        let phase =
            PhaseUpdate { phase: stored_phase(&loaded.machine), at_unix: (now / 1000) as i64 };
        let verified = changed_hosts_verified(&id, &loaded.plan, &loaded.machine, &events);
        store
            .append_journal_verified(&lease, &entries, Some(&phase), &verified)
            .await
            .map_err(lost)?;
        Ok(format!("rollout {id} is {}", phase.phase))
    }
    .await;
    let _ = store.release_rollout(&lease).await;
    result
}
