//! `patchctl plan list --format json` (a list, printed with `pretty`) and `plan show --format
//! json`.

use serde::{Deserialize, Serialize};

use crate::output::change::{ChangeActionV1, EnvironmentApprovalV1};
use crate::plan::PlanV1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanListingV1 {
    pub id: String,
    pub created_at_unix: i64,
    /// `draft`, `approved`, `rejected`, `run`.
    pub state: String,
    /// The newest rollout's id and phase.
    pub rollout: Option<(String, String)>,
    pub hosts: u64,
    pub changes: u64,
    pub selectors: Vec<String>,
    pub goals: Vec<String>,
}

/// `plan show --format json`: the plan's stored form and its record, one more member. Printed
/// with `pretty_sorted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanShowV1 {
    #[serde(flatten)]
    pub plan: PlanV1,
    pub record: PlanRecordV1,
}

/// What the first page of a plan says. Times are RFC 3339, UTC (`Z`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanRecordV1 {
    pub goals: Vec<String>,
    pub created_at: String,
    /// The oldest and the newest assessment the plan was made from.
    pub assessed: Option<(String, String)>,
    pub environments: Vec<String>,
    pub windows: Vec<PlannedWindowV1>,
    pub milestones: Vec<MilestoneV1>,
    pub approval: ApprovalRecordV1,
    pub prechecks: Vec<StepLineV1>,
    pub postchecks: Vec<StepLineV1>,
    pub hosts_not_in_inventory: Vec<String>,
    /// Each wave's duration forecast from past rollouts, in the plan's order; left out when
    /// there is none (no past rollout ran a host of the plan's kinds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forecast: Vec<WaveForecastV1>,
}

/// A wave's forecast: the expected duration (from the medians of past runs of its hosts'
/// kinds) and the upper end of the spread (their 90th percentile), in milliseconds; both
/// absent when a host of the wave is of a kind no past rollout ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaveForecastV1 {
    pub wave: String,
    pub expected_ms: Option<u64>,
    pub high_ms: Option<u64>,
    /// The past host runs it rests on.
    pub samples: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlannedWindowV1 {
    pub environment: String,
    pub timezone: Option<String>,
    pub window: Option<WindowTimesV1>,
    pub open_now: bool,
    pub words: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowTimesV1 {
    pub start: String,
    pub cutoff: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MilestoneV1 {
    pub what: String,
    pub at: Option<String>,
    pub when: String,
    pub note: String,
    pub projected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalRecordV1 {
    pub state: String,
    pub requested_by: Option<String>,
    pub requested_at: Option<String>,
    pub ticket: Option<String>,
    pub decisions: Vec<ChangeActionV1>,
    pub rules: Vec<EnvironmentApprovalV1>,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepLineV1 {
    pub kind: String,
    pub what: String,
    pub hosts: Vec<String>,
}
