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

/// An attempt of `history` in its JSON form.
pub fn entry_output(row: &store::AssessmentSummaryRow) -> protocol::output::host::HistoryEntryV1 {
    let (summary, failure) = match &row.outcome {
        SummaryOutcome::Assessed(summary) => (Some(summary.into()), None),
        SummaryOutcome::Failed(failure) => {
            (None, Some(format!("{}: {}", failure.kind, failure.message)))
        }
    };
    protocol::output::host::HistoryEntryV1 {
        id: row.id.clone(),
        taken_at: model::dates::rfc3339_unix(row.taken_at_unix),
        duration_ms: row.duration_ms,
        package_manager: row.package_manager.map(|kind| kind.to_string()),
        summary,
        failure,
    }
}
