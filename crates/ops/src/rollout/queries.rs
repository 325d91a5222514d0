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

/// Rollouts under way whose driver is gone: running or stopping, last claimed by a process
/// whose lease has run out (on the real clock; leases are about live processes). Any
/// process may take one over (`drive_here` waits for the lease and claims it; its fencing
/// token lets one claimant through).
pub async fn orphaned(ctx: &Context) -> Result<Vec<String>, RolloutError> {
    let now = ctx.clock.real_unix();
    Ok(ctx.store().await?.orphaned_rollouts(now).await?)
}

/// A rollout of [`list`] in its JSON form.
pub fn listing_output(row: &RolloutRow) -> protocol::output::rollout::RolloutListingV1 {
    protocol::output::rollout::RolloutListingV1 {
        id: row.id.clone(),
        plan: row.plan_id.clone(),
        created_at: model::dates::rfc3339_unix(row.created_at_unix),
        phase: row.phase.to_string(),
        updated_at: model::dates::rfc3339_unix(row.updated_at_unix),
        driven_by: row.owner.clone(),
    }
}

/// A rollout's [`status`] in its JSON form: its phase, and each host's state and steps.
pub fn status_output(loaded: &Loaded) -> protocol::output::rollout::RolloutStatusV1 {
    protocol::output::rollout::RolloutStatusV1 {
        rollout: loaded.row.id.clone(),
        plan: loaded.plan.id.clone(),
        phase: super::phase_name(loaded.machine.phase()).to_owned(),
        hosts: hosts_output(loaded),
    }
}

fn hosts_output(loaded: &Loaded) -> Vec<protocol::output::rollout::RolloutHostV1> {
    use protocol::output::rollout::{RolloutHostV1, StepRecordV1};
    let machine = &loaded.machine;
    machine
        .hosts()
        .map(|(host, state)| RolloutHostV1 {
            host: host.to_owned(),
            state: state.into(),
            steps: machine.host_steps(host).iter().map(StepRecordV1::from).collect(),
        })
        .collect()
}

/// A rollout (by id, or the id of its plan) as its journal has it now.
pub async fn status(ctx: &Context, rollout: &str) -> Result<Loaded, RolloutError> {
    super::load(ctx.store().await?, rollout).await
}

/// Asks whoever drives `rollout` for `input` (pause, cancel), through the journal, as `actor`
/// (the CLI's user, the server's authenticated caller: the journal names them); returns what
/// was asked, in words.
pub async fn ask(
    ctx: &Context,
    rollout: &str,
    input: rollout::Input,
    actor: &str,
) -> Result<String, RolloutError> {
    super::request(ctx.store().await?, rollout, input, &super::process_owner(), actor).await
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

/// What a rollout did, as its report's JSON form, at the clock's now.
pub async fn report_for(
    ctx: &Context,
    rollout: &str,
) -> Result<protocol::output::rollout::RolloutReportV1, RolloutError> {
    let store = ctx.store().await?;
    let loaded = super::load(store, rollout).await?;
    let context = super::report_context(store, &loaded)
        .await
        .map_err(|e| RolloutError::Refused(format!("reading rollout {rollout}'s report: {e}")))?;
    Ok(report_output(&loaded, &context, ctx.clock.now_seconds()))
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
    let mut text = protocol::output::pretty_sorted(&report_output(loaded, context, now));
    text.push('\n');
    text
}

/// The rollout's report in its JSON form.
pub fn report_output(
    loaded: &Loaded,
    context: &super::ReportContext,
    now: DateTime<Utc>,
) -> protocol::output::rollout::RolloutReportV1 {
    use protocol::output::rollout::{
        HostOutputV1, JournalVerdictV1, ReportSummaryV1, RolloutReportV1,
    };
    let machine = &loaded.machine;
    let journal = match &loaded.journal_check {
        store::JournalCheck::Intact { n_entries, .. } => {
            JournalVerdictV1 { intact: true, entries: Some(*n_entries), seq: None, reason: None }
        }
        store::JournalCheck::Broken { seq, reason } => JournalVerdictV1 {
            intact: false,
            entries: None,
            seq: Some(*seq),
            reason: Some(format!("{reason:?}")),
        },
    };
    RolloutReportV1 {
        rollout: loaded.row.id.clone(),
        plan: loaded.plan.id.clone(),
        phase: super::phase_name(machine.phase()).to_owned(),
        summary: ReportSummaryV1::from(&super::report_summary(loaded, context, now)),
        hosts: hosts_output(loaded),
        outputs: loaded
            .outputs
            .iter()
            .map(|(host, output)| HostOutputV1 { host: host.clone(), output: output.into() })
            .collect(),
        journal,
    }
}
