//! `patchctl rollout start --dry-run --format json`: what each host's package manager says it
//! would do, and why a real start would be refused. Printed with `pretty_sorted`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DryRunV1 {
    /// The plan's full id.
    pub plan: String,
    /// Always `true`.
    pub dry_run: bool,
    /// Always `false`: nothing was changed.
    pub changed: bool,
    pub start_refusals: Vec<String>,
    /// What a simulation cannot see, in words.
    pub cannot_see: String,
    pub hosts: Vec<DryRunHostV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DryRunHostV1 {
    pub host: String,
    pub wave: String,
    pub package_manager: String,
    /// `as_planned`, `with_unplanned`, `would_fail`, …
    pub verdict: String,
    pub unreachable: Option<String>,
    pub precheck_failures: Vec<String>,
    pub notes: Vec<String>,
    pub simulation: SimulationV1,
    pub commands: Vec<DryRunCommandV1>,
}

/// `outcome`: `would_apply`, `would_fail`, `not_run` or `unreadable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum SimulationV1 {
    WouldApply {
        pinned: Vec<DryRunChangeV1>,
        unchanged: Vec<UnchangedV1>,
        unplanned: Vec<DryRunChangeV1>,
    },
    WouldFail {
        /// `scriptlet`, `locked`, `not_found`, `held`, …
        reason: String,
        reason_text: String,
        items: Vec<String>,
        exit_code: i32,
        output_tail: String,
    },
    NotRun {
        why: String,
    },
    Unreadable {
        why: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DryRunChangeV1 {
    pub name: String,
    pub arch: Option<String>,
    /// `installed`, `upgraded`, `downgraded`, `reinstalled`, `removed`.
    pub change: String,
    pub version: String,
    pub previous_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnchangedV1 {
    pub name: String,
    pub arch: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DryRunCommandV1 {
    pub argv: Vec<String>,
    pub exit_code: Option<i32>,
    pub note: String,
    pub stdout_tail: String,
    pub stderr_tail: String,
}
