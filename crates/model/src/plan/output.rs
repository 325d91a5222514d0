//! The plan's record in its JSON form, `protocol::output::plan::PlanRecordV1`.

use protocol::output::change::{ChangeActionV1, EnvironmentApprovalV1};
use protocol::output::plan::{
    ApprovalRecordV1, MilestoneV1, PlanRecordV1, PlannedWindowV1, StepLineV1, WaveForecastV1,
    WindowTimesV1,
};

use super::{PlanRecord, StepLine};
use crate::dates::rfc3339;

impl From<&PlanRecord> for PlanRecordV1 {
    fn from(record: &PlanRecord) -> PlanRecordV1 {
        let steps = |lines: &[StepLine]| -> Vec<StepLineV1> {
            lines
                .iter()
                .map(|l| StepLineV1 {
                    kind: l.kind.clone(),
                    what: l.what.clone(),
                    hosts: l.hosts.clone(),
                })
                .collect()
        };
        let approval = &record.approval;
        PlanRecordV1 {
            goals: record.goals.clone(),
            created_at: rfc3339(record.created_at),
            assessed: record.assessed.map(|(oldest, newest)| (rfc3339(oldest), rfc3339(newest))),
            environments: record.environments.clone(),
            windows: record
                .windows
                .iter()
                .map(|w| PlannedWindowV1 {
                    environment: w.environment.clone(),
                    timezone: w.timezone.clone(),
                    window: w.window.map(|t| WindowTimesV1 {
                        start: rfc3339(t.start),
                        cutoff: rfc3339(t.cutoff),
                        end: rfc3339(t.end),
                    }),
                    open_now: w.open_now,
                    words: w.words.clone(),
                })
                .collect(),
            milestones: record
                .milestones
                .iter()
                .map(|m| MilestoneV1 {
                    what: m.what.clone(),
                    at: m.at.map(rfc3339),
                    when: m.when.clone(),
                    note: m.note.clone(),
                    projected: m.projected,
                })
                .collect(),
            approval: ApprovalRecordV1 {
                state: approval.state.clone(),
                requested_by: approval.requested_by.clone(),
                requested_at: approval.requested_at.map(rfc3339),
                ticket: approval.ticket.clone(),
                decisions: approval.decisions.iter().map(ChangeActionV1::from).collect(),
                rules: approval.rules.iter().map(EnvironmentApprovalV1::from).collect(),
                missing: approval.missing.clone(),
            },
            prechecks: steps(&record.prechecks),
            postchecks: steps(&record.postchecks),
            hosts_not_in_inventory: record.hosts_not_in_inventory.clone(),
            forecast: record
                .forecast
                .iter()
                .map(|w| WaveForecastV1 {
                    wave: w.wave.clone(),
                    expected_ms: w.estimate.map(|e| e.expected_ms),
                    high_ms: w.estimate.map(|e| e.high_ms),
                    samples: w.estimate.map_or(0, |e| e.samples as u64),
                })
                .collect(),
        }
    }
}
