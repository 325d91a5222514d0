//! A host's successful assessments over time, as the store keeps them: what compliance's SLA
//! clock and a baseline's release dates (`model::released`) are counted from.

use model::Assessment;
pub use store::SummaryOutcome;
use store::{AssessmentOutcome, Store, StoreError};

/// Every successful assessment of `host`, oldest first, each dated by its record.
pub(crate) async fn assessment_history(
    store: &Store,
    host: &str,
) -> Result<Vec<Assessment>, StoreError> {
    Ok(store
        .assessments_of(host)
        .await?
        .into_iter()
        .filter_map(|stored| match stored.record.outcome {
            AssessmentOutcome::Assessed(mut assessment) => {
                // The record's time is the one the store orders by (and the one a virtual
                // clock set).
                assessment.taken_at_unix = stored.record.taken_at_unix;
                Some(*assessment)
            }
            AssessmentOutcome::Failed(_) => None,
        })
        .collect())
}

/// `history HOST`: the host's attempts, newest first, at most `limit`.
pub async fn history(
    ctx: &crate::Context,
    host: &str,
    limit: u32,
) -> Result<Vec<store::AssessmentSummaryRow>, crate::QueryError> {
    Ok(ctx.store().await?.history(host, limit).await?)
}
