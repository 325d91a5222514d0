//! The rollout use cases that read or ask, and drive nothing: `list`, `status`, `ask` (pause,
//! cancel) and `report` in its three forms.

use chrono::{DateTime, Utc};
use store::RolloutRow;

use super::{Loaded, RolloutError};
use crate::Context;

/// Every rollout on record, newest first.
pub async fn list(ctx: &Context) -> Result<Vec<RolloutRow>, RolloutError> {
    Ok(ctx.store().await?.rollouts().await?)
}

/// A rollout (by id, or the id of its plan) as its journal has it now.
pub async fn status(ctx: &Context, rollout: &str) -> Result<Loaded, RolloutError> {
    super::load(ctx.store().await?, rollout).await
}

/// Asks whoever drives `rollout` for `input` (pause, cancel), through the journal; returns
/// what was asked, in words.
pub async fn ask(
    ctx: &Context,
    rollout: &str,
    input: rollout::Input,
) -> Result<String, RolloutError> {
    super::request(ctx.store().await?, rollout, input, &super::process_owner()).await
}

/// The forms of a rollout's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Html,
    /// The JSON form: `rollout`, `plan`, `phase`, `summary`, `hosts` (state and steps),
    /// `outputs` (every command run), `journal` (intact, entries).
    Json,
}

/// What a rollout did, host by host, as of the clock's now.
pub async fn report_text(
    ctx: &Context,
    rollout: &str,
    format: ReportFormat,
) -> Result<String, RolloutError> {
    let store = ctx.store().await?;
    let loaded = super::load(store, rollout).await?;
    let context = super::report_context(store, &loaded)
        .await
        .map_err(|e| RolloutError::Refused(format!("reading rollout {rollout}'s report: {e}")))?;
    let now = ctx.clock.now_seconds();
    Ok(match format {
        ReportFormat::Markdown => super::report(&loaded, &context, now).to_markdown(),
        ReportFormat::Html => super::report(&loaded, &context, now).to_html(),
        ReportFormat::Json => report_json(&loaded, &context, now),
    })
}

/// The rollout's report as JSON (`rollout report --format json`), ending with a newline.
pub fn report_json(loaded: &Loaded, context: &super::ReportContext, now: DateTime<Utc>) -> String {
    let machine = &loaded.machine;
    let hosts: Vec<_> = machine
        .hosts()
        .map(|(h, s)| serde_json::json!({"host": h, "state": s, "steps": machine.host_steps(h)}))
        .collect();
    let outputs: Vec<_> = loaded
        .outputs
        .iter()
        .map(
            |(h, o)| serde_json::json!({"host": h, "output": protocol::journal::OutputV1::from(o)}),
        )
        .collect();
    let journal = match &loaded.journal_check {
        store::JournalCheck::Intact { n_entries, .. } => {
            serde_json::json!({"intact": true, "entries": n_entries})
        }
        store::JournalCheck::Broken { seq, reason } => {
            serde_json::json!({"intact": false, "seq": seq, "reason": format!("{reason:?}")})
        }
    };
    let json = serde_json::json!({
        "rollout": loaded.row.id,
        "plan": loaded.plan.id,
        "phase": super::phase_name(machine.phase()),
        "summary": super::report_summary(loaded, context, now),
        "hosts": hosts,
        "outputs": outputs,
        "journal": journal,
    });
    let mut text = serde_json::to_string_pretty(&json).expect("JSON values serialize");
    text.push('\n');
    text
}
