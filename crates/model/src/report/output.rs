//! The report's summary in its JSON form, `protocol::output::rollout::ReportSummaryV1`.

use protocol::output::rollout::ReportSummaryV1;

use super::Summary;
use crate::dates::rfc3339;

impl From<&Summary> for ReportSummaryV1 {
    fn from(summary: &Summary) -> ReportSummaryV1 {
        ReportSummaryV1 {
            started_at: rfc3339(summary.started_at),
            ended_at: summary.ended_at.map(rfc3339),
            outcome: summary.outcome.clone(),
            environments: summary
                .environments
                .iter()
                .map(|(environment, counts)| {
                    let counts = counts.iter().map(|(state, n)| (state.clone(), *n as u64));
                    (environment.clone(), counts.collect())
                })
                .collect(),
            requested_by: summary.requested_by.clone(),
            approved_by: summary.approved_by.clone(),
            ticket: summary.ticket.clone(),
            rolled_back: summary.rolled_back.clone(),
            restarted: summary.restarted.clone(),
            open_postmortems: summary.open_postmortems.clone(),
            asked: summary.asked.clone(),
        }
    }
}
