//! `GET /rollouts/{rollout}/report`: what a rollout did, the page of `GET
//! /api/rollouts/{rollout}/report` (`ops::rollout::report_for`): whether its journal is
//! intact, its summary, each host's outcome and steps, and every command's output.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Extension, Path, State};
use axum::response::Html;
use model::access::Role;
use ops::identity::Identity;
use protocol::journal::{HostStateV1, StepV1};
use protocol::output::rollout::{StepOutcomeV1, StepRecordV1};

use crate::AppState;
use crate::error::ApiError;

struct HostRow {
    host: String,
    /// The state's name, for its style: `done`, `failed`, `rolled_back`, …
    state: &'static str,
    words: &'static str,
    reason: String,
    steps: String,
    restarted: String,
}

struct OutputRow {
    host: String,
    step: &'static str,
    argv: String,
    exit_code: String,
    failed: bool,
    note: String,
    stdout: String,
    stderr: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    user: String,
    role: Role,
    id: String,
    short: String,
    plan: String,
    plan_short: String,
    phase: String,
    summary: protocol::output::rollout::ReportSummaryV1,
    /// Per environment, its hosts counted by state, in words.
    environments: Vec<(String, String)>,
    journal: protocol::output::rollout::JournalVerdictV1,
    hosts: Vec<HostRow>,
    outputs: Vec<OutputRow>,
}

/// `GET /rollouts/{rollout}/report`.
pub(crate) async fn report(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path(rollout): Path<String>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let report = ops::rollout::report_for(ctx, &rollout)
        .await
        .map_err(|e| ApiError::from_rollout(ctx, e))?;
    let environments = report
        .summary
        .environments
        .iter()
        .map(|(environment, counts)| {
            let counts: Vec<String> = counts
                .iter()
                .map(|(state, n)| format!("{n} {}", state.replace('_', " ")))
                .collect();
            (environment.clone(), counts.join(", "))
        })
        .collect();
    let hosts = report
        .hosts
        .iter()
        .map(|h| {
            let (state, reason) = host_state(&h.state);
            HostRow {
                host: h.host.clone(),
                state,
                words: model::report::outcome_words(state),
                reason,
                steps: h.steps.iter().map(step_words).collect::<Vec<_>>().join(" → "),
                restarted: report
                    .summary
                    .restarted
                    .get(&h.host)
                    .map(|s| s.join(", "))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let outputs = report
        .outputs
        .iter()
        .map(|o| OutputRow {
            host: o.host.clone().unwrap_or_else(|| "(the rollout)".to_owned()),
            step: step_name(o.output.step),
            argv: o.output.argv.join(" "),
            exit_code: o.output.exit_code.map_or_else(|| "none".to_owned(), |c| c.to_string()),
            failed: o.output.exit_code.is_some_and(|c| c != 0),
            note: o.output.note.clone(),
            stdout: o.output.stdout_tail.clone(),
            stderr: o.output.stderr_tail.clone(),
        })
        .collect();
    let page = ReportPage {
        user: identity.user,
        role: identity.role,
        short: model::plan::short_id(&report.rollout).to_owned(),
        id: report.rollout,
        plan_short: model::plan::short_id(&report.plan).to_owned(),
        plan: report.plan,
        phase: report.phase,
        summary: report.summary,
        environments,
        journal: report.journal,
        hosts,
        outputs,
    };
    crate::web::render(page, ctx)
}

/// A host's state by its name in the journal, and why it is there (empty when it says).
fn host_state(state: &HostStateV1) -> (&'static str, String) {
    match state {
        HostStateV1::Pending => ("pending", String::new()),
        HostStateV1::Ready { next } => ("ready", format!("next: {}", step_name(*next))),
        HostStateV1::Running { step, .. } => ("running", step_name(*step).to_owned()),
        HostStateV1::Done => ("done", String::new()),
        HostStateV1::Failed { step, reason } => {
            ("failed", format!("at {}: {reason}", step_name(*step)))
        }
        HostStateV1::RolledBack { reason } => ("rolled_back", reason.clone()),
        HostStateV1::Skipped { reason } => ("skipped", reason.clone()),
        HostStateV1::Lost { step, reason } => {
            ("lost", format!("during {}: {reason}", step_name(*step)))
        }
    }
}

fn step_name(step: StepV1) -> &'static str {
    match step {
        StepV1::Precheck => "precheck",
        StepV1::Snapshot => "snapshot",
        StepV1::Apply => "apply",
        StepV1::Reboot => "reboot",
        StepV1::Postcheck => "postcheck",
        StepV1::Rollback => "rollback",
        StepV1::Verify => "verify",
        StepV1::Cleanup => "cleanup",
        StepV1::Reconcile => "reconcile",
    }
}

/// `apply ok 12 s`, `postcheck failed 3 s`, `reboot running`.
fn step_words(record: &StepRecordV1) -> String {
    let outcome = match &record.outcome {
        None => "running",
        Some(StepOutcomeV1::Succeeded) => "ok",
        Some(StepOutcomeV1::Failed { .. }) => "failed",
        Some(StepOutcomeV1::Unreachable { .. }) => "unreachable",
        Some(StepOutcomeV1::TimedOut) => "timed out",
        Some(StepOutcomeV1::Interrupted) => "interrupted",
    };
    let took = record
        .finished_at
        .map(|end| match end.saturating_sub(record.started_at) {
            ms @ 0..1000 => format!(" {ms} ms"),
            ms => format!(" {} s", ms / 1000),
        })
        .unwrap_or_default();
    format!("{} {outcome}{took}", step_name(record.step))
}
