//! Compliance: gathers what the store holds about the selected hosts (every assessment, the
//! rollouts that worked on them, the promotion evidence, the postmortems) and hands it to
//! `model::compliance::evaluate`, which judges it at the time passed in.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use model::ResolvedHost;
use model::compliance::{HostInputs, HostRollout, Inputs, Report, RolloutOutcome, evaluate};
use model::policy::Policy;
use model::promotion::Verified;
use rollout::HostState;
use store::{Store, SummaryOutcome};

/// One environment's compliance on one day, as the trend keeps it.
pub use store::ComplianceDay as Day;

use crate::postmortem::PostmortemError;
use crate::rollout::{RolloutError, load};

#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("reading the rollouts on record")]
    Rollout(#[from] RolloutError),
    #[error("reading the postmortems")]
    Postmortem(#[from] PostmortemError),
    #[error(transparent)]
    Source(#[from] crate::SourceError),
}

impl From<crate::QueryError> for ComplianceError {
    fn from(error: crate::QueryError) -> ComplianceError {
        match error {
            crate::QueryError::Source(error) => ComplianceError::Source(error),
            crate::QueryError::Store(error) => ComplianceError::Store(error),
        }
    }
}

/// The compliance of `hosts` at `now`.
pub async fn compliance(
    store: &Store,
    hosts: &[ResolvedHost],
    policy: Option<&Policy>,
    now: DateTime<Utc>,
) -> Result<Report, ComplianceError> {
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let latest = store.latest_assessments(Some(&names)).await?;
    let mut inputs: Vec<HostInputs> = Vec::with_capacity(hosts.len());
    for host in hosts {
        let assessments = crate::history::assessment_history(store, &host.name).await?;
        let latest_failure =
            latest.iter().find(|row| row.host == host.name).and_then(|row| match &row.outcome {
                SummaryOutcome::Failed(failure) => {
                    Some((row.taken_at_unix, failure.message.clone()))
                }
                SummaryOutcome::Assessed(_) => None,
            });
        inputs.push(HostInputs {
            host: host.name.clone(),
            environment: host.environment.clone(),
            assessments,
            latest_failure,
            rollouts: Vec::new(),
        });
    }
    let mut rows = store.rollouts().await?;
    rows.sort_by_key(|row| (row.created_at_unix, row.id.clone()));
    let time = |unix: i64| DateTime::from_timestamp(unix, 0).unwrap_or_default();
    // The evidence in the order the rollouts are read here, and their hosts in the order of
    // their waves: the order in which the first of equal verification times is named.
    let mut by_host: HashMap<(String, String), Vec<Verified>> = HashMap::new();
    for verified in crate::promotion::verified_versions(store).await? {
        let key = (verified.rollout.clone(), verified.host.clone());
        by_host.entry(key).or_default().push(verified);
    }
    let mut evidence = Vec::new();
    for row in rows {
        let loaded = load(store, &row.id).await?;
        for (host, _) in loaded.machine.hosts() {
            evidence.extend(by_host.remove(&(row.id.clone(), host.to_owned())).unwrap_or_default());
        }
        for (host, state) in loaded.machine.hosts() {
            let Some(input) = inputs.iter_mut().find(|i| i.host == host) else { continue };
            let Some(plan) = loaded.plan.host(host) else { continue };
            let (outcome, detail) = match state {
                HostState::Done => (RolloutOutcome::Done, "done, postchecks passed".to_owned()),
                HostState::RolledBack { reason } => {
                    (RolloutOutcome::RolledBack, format!("rolled back and verified: {reason}"))
                }
                HostState::Failed { step, reason } => {
                    (RolloutOutcome::Failed, format!("failed at {}: {reason}", step.as_str()))
                }
                HostState::Lost { step, reason } => {
                    (RolloutOutcome::Lost, format!("lost during {}: {reason}", step.as_str()))
                }
                // Skipped or never started: the rollout did nothing to this host.
                HostState::Skipped { .. } | HostState::Pending => continue,
                other => (RolloutOutcome::Unfinished, format!("unfinished: {}", other.name())),
            };
            input.rollouts.push(HostRollout {
                rollout: row.id.clone(),
                started_at: time(row.created_at_unix),
                planned_at: time(loaded.plan.created_at_unix),
                outcome,
                detail,
                plan: plan.clone(),
                keep_kernels: loaded.plan.options.keep_kernels,
            });
        }
    }
    let postmortems = crate::postmortem::postmortems(store).await?;
    Ok(evaluate(&Inputs { now, policy, hosts: inputs, evidence, postmortems }))
}

/// `compliance [SELECTOR...]`: the selected hosts' compliance under the policy (if any), at
/// the clock's now.
pub async fn report(ctx: &crate::Context, selectors: &[String]) -> Result<Report, ComplianceError> {
    let hosts = ctx.hosts(selectors)?;
    let policy = ctx.sources.policy()?;
    compliance(ctx.store().await?, &hosts, policy.as_ref(), ctx.clock.now_seconds()).await
}

/// The fleet's compliance now, per environment, with what is pending, recorded as today's row
/// of the trend (UTC): the dashboard reads it instead of evaluating every host on each page.
/// The server records one when it starts and then every `[dashboard] compliance_every`.
pub async fn snapshot(ctx: &crate::Context) -> Result<Vec<Day>, ComplianceError> {
    let now = ctx.clock.now_seconds();
    let report = report(ctx, &["all".to_owned()]).await?;
    let overview = crate::fleet::overview(ctx).await?;
    let day = now.format("%Y-%m-%d").to_string();
    let rows: Vec<Day> = report
        .environments
        .iter()
        .map(|e| {
            let pending = overview.iter().find(|o| o.environment == e.environment);
            let count = |f: fn(&model::fleet::EnvironmentOverview) -> u64| {
                pending.map_or(0, |o| f(o) as i64)
            };
            Day {
                day: day.clone(),
                environment: e.environment.clone(),
                hosts: e.n_hosts as i64,
                compliant: e.n_compliant as i64,
                security_updates: count(|o| o.security_updates),
                hosts_with_security: count(|o| o.with_security_updates),
                reboot_required: count(|o| o.reboot_required),
                pending_by_age: e.patch_age.pending.map(|n| n as i64),
                patched: e.patch_age.patched as i64,
                patched_seconds: e.patch_age.patched_seconds,
                evaluated_at_unix: now.timestamp(),
            }
        })
        .collect();
    ctx.store().await?.record_compliance_day(&day, &rows).await?;
    Ok(rows)
}

/// The trend: each environment's rows of the last `days` days (today included), oldest first.
pub async fn trend(ctx: &crate::Context, days: u32) -> Result<Vec<Day>, ComplianceError> {
    let since = ctx.clock.now_seconds() - chrono::Duration::days(i64::from(days.max(1)) - 1);
    Ok(ctx.store().await?.compliance_days(&since.format("%Y-%m-%d").to_string()).await?)
}
