//! The fleet overview: each inventory host with its latest assessment attempt, counted per
//! environment by `model::fleet` (one query for every host).

use model::fleet::{EnvironmentOverview, HostLatest, Latest};
use store::SummaryOutcome;

/// `GET /metrics` and the dashboard: each environment's counts, at the state's last word.
pub async fn overview(ctx: &crate::Context) -> Result<Vec<EnvironmentOverview>, crate::QueryError> {
    Ok(model::fleet::overview(&hosts_latest(ctx).await?))
}

/// Every inventory host with its latest attempt (none for a host never assessed).
pub async fn hosts_latest(ctx: &crate::Context) -> Result<Vec<HostLatest>, crate::QueryError> {
    let inventory = ctx.sources.inventory()?;
    let mut latest: std::collections::HashMap<String, Latest> = ctx
        .store()
        .await?
        .latest_assessments(None)
        .await?
        .into_iter()
        .map(|row| {
            let summary = match row.outcome {
                SummaryOutcome::Assessed(summary) => Some(summary),
                SummaryOutcome::Failed(_) => None,
            };
            (row.host, Latest { taken_at_unix: row.taken_at_unix, summary })
        })
        .collect();
    Ok(inventory
        .hosts()
        .iter()
        .map(|host| HostLatest {
            host: host.name.clone(),
            environment: host.environment.clone(),
            latest: latest.remove(&host.name),
        })
        .collect())
}
