//! The rollout report: the rollout as its journal tells it, with the change's approvals and the
//! postmortems about it, turned into plain values for `model::report`, which decides what the
//! report says.

use chrono::{DateTime, Utc};
use model::change::ChangeAction;
use model::dates::from_unix_ms;
use model::document::Document;
use model::postmortem::{Postmortem, Subject};
use model::report::{AskedRun, CommandRun, HostRun, ReportInputs, StepRun, WaveRun};
use rollout::{HostState, Input, StepOutcome};
use store::Store;

use super::control::Loaded;
use super::driver::phase_name;

/// What a report needs besides the rollout: read from the store.
pub struct ReportContext {
    /// The plan's change journal (verified), in order.
    pub change: Vec<ChangeAction>,
    /// The postmortems about this rollout.
    pub postmortems: Vec<Postmortem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("reading the plan's approvals: {0}")]
    Change(#[from] crate::change::ChangeError),
    #[error("reading the rollout's postmortems: {0}")]
    Postmortem(#[from] crate::postmortem::PostmortemError),
}

/// Reads the change journal of the rollout's plan and the postmortems about the rollout.
pub async fn report_context(store: &Store, loaded: &Loaded) -> Result<ReportContext, ReportError> {
    let change = crate::change::change_actions(store, &loaded.plan.id).await?;
    let postmortems = crate::postmortem::postmortems(store)
        .await?
        .into_iter()
        .filter(|p| p.subject == Subject::Rollout(loaded.row.id.clone()))
        .collect();
    Ok(ReportContext { change, postmortems })
}

/// The report of `loaded` at `now`.
pub fn report(loaded: &Loaded, context: &ReportContext, now: DateTime<Utc>) -> Document {
    model::report::document(&inputs(loaded, context, now))
}

/// The report's summary, for the JSON form.
pub fn report_summary(
    loaded: &Loaded,
    context: &ReportContext,
    now: DateTime<Utc>,
) -> model::report::Summary {
    model::report::summary(&inputs(loaded, context, now))
}

fn inputs<'a>(
    loaded: &'a Loaded,
    context: &'a ReportContext,
    now: DateTime<Utc>,
) -> ReportInputs<'a> {
    let machine = &loaded.machine;
    let cancelled_by = loaded.asked.iter().rev().find(|a| a.input == Input::Cancel);
    let stop = match machine.stop_reason() {
        Some(rollout::StopReason::Halted(why)) => Some(format!("halted: {why}")),
        Some(rollout::StopReason::Cancelled) => Some(format!(
            "cancelled by {}",
            cancelled_by.map_or("an operator", |a| a.actor.as_str())
        )),
        None => None,
    };
    let asked = loaded
        .asked
        .iter()
        .map(|asked| AskedRun {
            what: match &asked.input {
                Input::Pause => "paused".to_owned(),
                Input::Resume => "resumed".to_owned(),
                Input::Cancel => "cancelled".to_owned(),
                Input::RollBack { host } => format!("{host} rolled back"),
                Input::Reconcile { host } => format!("{host} reconciled"),
                other => format!("{other:?}").to_lowercase(),
            },
            actor: asked.actor.clone(),
            at: from_unix_ms(asked.at_ms as i64),
        })
        .collect();
    let mut overrides = Vec::new();
    if let Some(start) = &loaded.start {
        if let Some(reason) = &start.again {
            overrides.push(format!("The plan had run before; run again because: {reason}"));
        }
        if let Some(reason) = &start.override_window {
            overrides.push(format!("Started outside its maintenance windows because: {reason}"));
        }
        if start.no_policy {
            overrides.push(
                "Started without a policy: no approval, window or promotion gate applied".into(),
            );
        }
        if let Some(at) = &start.virtual_now {
            let at = chrono::DateTime::parse_from_rfc3339(at)
                .map(|t| model::dates::utc_seconds(t.with_timezone(&Utc)))
                .unwrap_or_else(|_| at.clone());
            overrides.push(format!("A rehearsal, with the virtual clock set to {at}"));
        }
    }
    let hosts = machine
        .hosts()
        .map(|(host, state)| {
            let detail = match state {
                HostState::Failed { step, reason } => format!("{} failed: {reason}", step.as_str()),
                HostState::RolledBack { reason } => reason.clone(),
                HostState::Skipped { reason } => reason.clone(),
                HostState::Lost { step, reason } => {
                    format!("lost during {}: {reason}", step.as_str())
                }
                _ => String::new(),
            };
            let steps = machine
                .host_steps(host)
                .iter()
                .map(|record| StepRun {
                    step: record.step.as_str().to_owned(),
                    outcome: match &record.outcome {
                        Some(StepOutcome::Succeeded) => "ok".to_owned(),
                        Some(StepOutcome::Failed { reason }) => format!("failed: {reason}"),
                        Some(StepOutcome::Unreachable { reason }) => {
                            format!("unreachable: {reason}")
                        }
                        Some(StepOutcome::TimedOut) => "timed out".to_owned(),
                        Some(StepOutcome::Interrupted) => "interrupted, checked again".to_owned(),
                        None => "running".to_owned(),
                    },
                    started_at: from_unix_ms(record.started_at as i64),
                    finished_at: record.finished_at.map(|end| from_unix_ms(end as i64)),
                })
                .collect();
            let commands = loaded
                .outputs
                .iter()
                .filter(|(h, o)| h.as_deref() == Some(host) && o.facts.is_empty())
                .map(|(_, o)| CommandRun {
                    step: o.step.as_str().to_owned(),
                    argv: o.argv.clone(),
                    exit_code: o.exit_code,
                    note: o.note.clone(),
                    output_sha256: o.output_sha256.clone(),
                })
                .collect();
            let mut remarks: Vec<String> = Vec::new();
            for (_, output) in
                loaded.outputs.iter().filter(|(h, o)| o.remark && h.as_deref() == Some(host))
            {
                if !remarks.contains(&output.note) {
                    remarks.push(output.note.clone());
                }
            }
            let restarted = loaded
                .outputs
                .iter()
                .filter(|(h, o)| h.as_deref() == Some(host) && o.exit_code == Some(0))
                .flat_map(|(_, o)| o.restarted.iter().cloned())
                .collect();
            HostRun {
                host: host.to_owned(),
                state: state.name().to_owned(),
                detail,
                steps,
                commands,
                remarks,
                restarted,
            }
        })
        .collect();
    let waves = machine
        .wave_failures()
        .into_iter()
        .map(|(name, failed, budget)| WaveRun { name, failed, budget })
        .collect();
    let journal = match &loaded.journal_check {
        store::JournalCheck::Intact { n_entries, .. } => format!("intact, {n_entries} entries"),
        store::JournalCheck::Broken { seq, .. } => format!("BROKEN at entry {seq}"),
    };
    ReportInputs {
        now,
        rollout: &loaded.row.id,
        plan: &loaded.plan,
        created_at: model::dates::from_unix(loaded.row.created_at_unix),
        phase: phase_name(machine.phase()).to_owned(),
        stop,
        started_by: loaded.start.as_ref().map(|s| s.actor.clone()),
        overrides,
        asked,
        hosts,
        waves,
        change: &context.change,
        postmortems: context.postmortems.clone(),
        journal,
    }
}
