//! A rollout as it stands, read back from the store; and pause, cancel or a rollback asked for
//! by a process that is not driving it.

use model::plan::Plan;
use rollout::{Config, Event, Input, Rollout};
use store::{RolloutRow, Store};

use super::RolloutError;
use super::driver::{now_ms, phase_name};
use super::journal::{self, JournalRecord};

/// A rollout, its plan, and its state rebuilt from the journal.
pub struct Loaded {
    pub row: RolloutRow,
    pub plan: Plan,
    pub machine: Rollout,
    pub outputs: Vec<(Option<String>, journal::OutputRecord)>,
    pub events: Vec<(i64, Event)>,
    /// Whether the journal's hash chain is unbroken.
    pub journal_check: store::JournalCheck,
}

pub async fn load(store: &Store, id: &str) -> Result<Loaded, RolloutError> {
    let row =
        store.rollout(id).await?.ok_or_else(|| RolloutError::UnknownRollout(id.to_owned()))?;
    let plan = crate::load_plan(store, &row.plan_id)
        .await
        .map_err(|e| RolloutError::Refused(e.to_string()))?
        .ok_or_else(|| RolloutError::UnknownPlan(row.plan_id.clone()))?;
    let config: Config = serde_json::from_str(&row.config_json).map_err(|error| {
        RolloutError::Journal { rollout: row.id.clone(), seq: 0, problem: error.to_string() }
    })?;
    let entries = store.journal(&row.id).await?;
    let machine = Rollout::replay(config, &journal::inputs(&row.id, &entries)?);
    let mut outputs = Vec::new();
    let mut events = Vec::new();
    for entry in &entries {
        match JournalRecord::from_entry(&row.id, entry)? {
            JournalRecord::Output(output) => outputs.push((entry.host.clone(), output)),
            JournalRecord::Event(event) => events.push((entry.at_ms, event)),
            _ => {}
        }
    }
    let journal_check = store.verify_journal(&row.id).await?;
    Ok(Loaded { row, plan, machine, outputs, events, journal_check })
}

/// Pause, resume, cancel or roll back a host. When another process drives the rollout, the
/// request is journaled for it to pick up; otherwise it is applied here and now.
pub async fn request(
    store: &Store,
    id: &str,
    input: Input,
    owner: &str,
) -> Result<String, RolloutError> {
    let mut loaded = load(store, id).await?;
    let id = loaded.row.id.clone();
    let now = now_ms();
    let driven = loaded.row.owner.as_deref().is_some_and(|o| o != owner)
        && loaded.row.lease_expires_unix.is_some_and(|until| until > (now / 1000) as i64);
    if driven {
        let entry = JournalRecord::Request(input).to_entry(now, None);
        store.append_journal(&id, &[entry]).await?;
        return Ok(format!(
            "asked {} (which drives rollout {id}); it acts within a second",
            loaded.row.owner.unwrap_or_default()
        ));
    }
    loaded
        .machine
        .handle(now, input.clone())
        .map_err(|refused| RolloutError::Refused(refused.0))?;
    let mut entries = vec![JournalRecord::Input(input).to_entry(now, None)];
    while let Some(event) = loaded.machine.poll_event() {
        entries.push(JournalRecord::Event(event).to_entry(now, None));
    }
    store.append_journal(&id, &entries).await?;
    store.set_rollout_phase(&id, phase_name(loaded.machine.phase()), (now / 1000) as i64).await?;
    Ok(format!("rollout {id} is {}", phase_name(loaded.machine.phase())))
}
