//! The fleet overview: each inventory host with its latest assessment attempt, counted per
//! environment by `model::fleet` (one query for every host).

use std::sync::Arc;

use model::fleet::{EnvironmentOverview, HostLatest, Latest};
use store::SummaryOutcome;

/// `GET /metrics` and the dashboard: each environment's counts, at the state's last word.
pub async fn overview(ctx: &crate::Context) -> Result<Vec<EnvironmentOverview>, crate::QueryError> {
    Ok(model::fleet::overview(&hosts_latest(ctx).await?))
}

/// Every inventory host with its latest attempt (none for a host never assessed), in the
/// inventory's order: read again only when the inventory changed or an attempt was recorded
/// since the last call.
pub async fn hosts_latest(ctx: &crate::Context) -> Result<Arc<Vec<HostLatest>>, crate::QueryError> {
    let (version, inventory) = ctx.inventory_version()?;
    let store = ctx.store().await?;
    let key = (version, store.assessments_mark().await?);
    if let Some(latest) = ctx.cache.latest(key) {
        return Ok(latest);
    }
    let mut latest: std::collections::HashMap<String, Latest> = store
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
    let hosts: Vec<HostLatest> = inventory
        .hosts()
        .iter()
        .map(|host| HostLatest {
            host: host.name.clone(),
            environment: host.environment.clone(),
            latest: latest.remove(&host.name),
        })
        .collect();
    let hosts = Arc::new(hosts);
    // A mark read before the rows: an attempt recorded in between makes the next call read
    // again rather than keep rows older than the mark says.
    ctx.cache.keep_latest(key, hosts.clone());
    Ok(hosts)
}
