//! The stored form of a rollout's configuration (the `rollouts` table's `config_json`): the
//! waves, the budget, the timeouts and the policies the rollout was created with. Member for
//! member the JSON written since rollouts were journaled; members added later are optional,
//! with the value that rollouts created before them behave by.

use serde::{Deserialize, Serialize};

use crate::plan::LimitV1;

/// Milliseconds: on the Unix epoch for instants, or a duration.
pub type MillisV1 = u64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigV1 {
    pub waves: Vec<WaveConfigV1>,
    pub error_budget: LimitV1,
    pub max_in_flight: u64,
    pub timeouts: TimeoutsV1,
    pub rollback: RollbackPolicyV1,
    #[serde(default)]
    pub start_no_host_after: Option<MillisV1>,
    #[serde(default)]
    pub precheck_ahead: Option<MillisV1>,
    #[serde(default)]
    pub ahead_after_wave_prechecks: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaveConfigV1 {
    pub name: String,
    pub canary: bool,
    pub hosts: Vec<HostConfigV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostConfigV1 {
    pub name: String,
    pub snapshot: bool,
    pub reboot: RebootPlanV1,
    #[serde(default)]
    pub cleanup_kernels: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RebootPlanV1 {
    Always,
    IfRequired,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeoutsV1 {
    pub precheck: MillisV1,
    pub snapshot: MillisV1,
    pub apply: MillisV1,
    pub reboot: MillisV1,
    pub postcheck: MillisV1,
    pub rollback: MillisV1,
    /// Configurations written before cleanups existed gave them ten minutes.
    #[serde(default = "ten_minutes")]
    pub cleanup: MillisV1,
}

fn ten_minutes() -> MillisV1 {
    10 * 60_000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RollbackPolicyV1 {
    Automatic,
    Manual,
}
