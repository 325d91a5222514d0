//! `patchctl rollout report --format json`: the rollout's summary, each host's state and steps,
//! the commands' outputs and whether the journal is intact. Printed with `pretty_sorted`, and a
//! newline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::journal::{HostStateV1, OutputV1, StepV1};
use crate::rollout::MillisV1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutReportV1 {
    pub rollout: String,
    /// The plan's full id.
    pub plan: String,
    /// `not_started`, `running`, `paused`, `stopping`, `completed`, `halted`, `cancelled`.
    pub phase: String,
    pub summary: ReportSummaryV1,
    pub hosts: Vec<RolloutHostV1>,
    pub outputs: Vec<HostOutputV1>,
    pub journal: JournalVerdictV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportSummaryV1 {
    /// RFC 3339, UTC (`Z`).
    pub started_at: String,
    pub ended_at: Option<String>,
    pub outcome: String,
    /// Per environment: host counts by state.
    pub environments: BTreeMap<String, BTreeMap<String, u64>>,
    pub requested_by: Option<String>,
    pub approved_by: Vec<String>,
    pub ticket: Option<String>,
    pub rolled_back: Vec<String>,
    /// Per host: the services restarted.
    pub restarted: BTreeMap<String, Vec<String>>,
    pub open_postmortems: Vec<i64>,
    /// What people asked of the rollout that it took, in order, each naming who asked:
    /// `paused by olga at Mon 7 Dec 2026 20:01:02 UTC`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asked: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutHostV1 {
    pub host: String,
    pub state: HostStateV1,
    pub steps: Vec<StepRecordV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepRecordV1 {
    pub step: StepV1,
    pub started_at: MillisV1,
    pub finished_at: Option<MillisV1>,
    pub outcome: Option<StepOutcomeV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum StepOutcomeV1 {
    Succeeded,
    Failed { reason: String },
    Unreachable { reason: String },
    TimedOut,
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostOutputV1 {
    /// `null` for a command of no one host.
    pub host: Option<String>,
    pub output: OutputV1,
}

/// `{"intact": true, "entries": N}` or `{"intact": false, "seq": N, "reason": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JournalVerdictV1 {
    pub intact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A rollout of `rollout list`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutListingV1 {
    pub id: String,
    pub plan: String,
    /// RFC 3339, UTC (`Z`).
    pub created_at: String,
    /// `created`, `running`, `paused`, `completed`, …
    pub phase: String,
    pub updated_at: String,
    /// The process that holds it while its lease runs.
    pub driven_by: Option<String>,
}

/// `rollout status`: where a rollout is, host by host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutStatusV1 {
    pub rollout: String,
    pub plan: String,
    pub phase: String,
    pub hosts: Vec<RolloutHostV1>,
}

/// A rollout followed live (`GET /api/rollouts/{rollout}/events`, Server-Sent Events): each
/// event's data is one of these, the first with every host, each later one with what its
/// journal's new entries changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutLiveV1 {
    pub rollout: String,
    /// The plan's full id.
    pub plan: String,
    /// The last journal entry it reflects; an event stream resumed with `Last-Event-ID` goes
    /// on after it.
    pub seq: i64,
    /// `not_started`, `running`, `paused`, `stopping`, `completed`, `halted`, `cancelled`.
    pub phase: String,
    /// Whether the rollout is over: no update follows.
    pub over: bool,
    /// Hosts whose state changed (every host in the first update), in the plan's order.
    pub hosts: Vec<LiveHostV1>,
    /// What happened to the rollout as a whole (waves, halts, pauses), in words.
    pub lines: Vec<LiveLineV1>,
}

/// A host of a [`RolloutLiveV1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveHostV1 {
    pub host: String,
    pub wave: String,
    /// `pending`, `ready`, `running`, `done`, `failed`, `rolled_back`, `skipped`, `lost`.
    pub state: String,
    /// The state in words: the step it runs, or failed at, and why.
    pub words: String,
    /// When its running step started, in milliseconds since the Unix epoch.
    pub step_started_ms: Option<MillisV1>,
    /// When the journal recorded the change, in milliseconds since the Unix epoch.
    pub changed_ms: MillisV1,
}

/// A line of a [`RolloutLiveV1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveLineV1 {
    /// In milliseconds since the Unix epoch.
    pub at_ms: MillisV1,
    pub text: String,
    /// A halt, a cancel or a passed cutoff: shown as an alarm.
    pub alarm: bool,
}

/// What a pause, resume or cancel did, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutActionV1 {
    pub rollout: String,
    pub said: String,
}
