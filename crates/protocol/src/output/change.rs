//! `patchctl change show --format json`. Printed with `pretty_sorted`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeShowV1 {
    /// The plan's full id.
    pub plan: String,
    pub status: ChangeStatusV1,
    pub journal: Vec<ChangeActionV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeStatusV1 {
    pub state: ChangeStateV1,
    pub requested_by: Option<String>,
    pub ticket: Option<String>,
    pub environments: Vec<EnvironmentApprovalV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentApprovalV1 {
    pub environment: String,
    pub rule: String,
    pub approved_by: Vec<String>,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeActionV1 {
    /// RFC 3339, UTC (`Z`).
    pub at: String,
    pub actor: String,
    pub kind: ChangeKindV1,
    pub ticket: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeStateV1 {
    NotRequested,
    Pending,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKindV1 {
    Request,
    Approve,
    Reject,
    AutoApprove,
}

/// `patchctl change list --format json`: a plan with hosts and its change's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeListingV1 {
    pub plan: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub environments: Vec<String>,
    pub state: ChangeStateV1,
    pub rolled_out: bool,
}
