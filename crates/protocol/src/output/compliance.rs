//! `patchctl compliance --format json`. Printed with `pretty`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplianceReportV1 {
    /// RFC 3339, UTC (`Z`).
    pub evaluated_at: String,
    pub compliant: bool,
    pub hosts: Vec<HostComplianceV1>,
    pub environments: Vec<EnvironmentComplianceV1>,
    pub fleet_findings: Vec<ComplianceFindingV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplianceFindingV1 {
    pub check: CheckV1,
    pub status: CheckStatusV1,
    pub summary: String,
    pub details: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostComplianceV1 {
    pub host: String,
    pub environment: String,
    pub compliant: bool,
    pub findings: Vec<ComplianceFindingV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentComplianceV1 {
    pub environment: String,
    pub compliant: bool,
    pub n_hosts: u64,
    pub n_compliant: u64,
    /// `[check, number of hosts failing it]` pairs.
    pub failing: Vec<(CheckV1, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckV1 {
    Sla,
    Promotion,
    Healthy,
    Kernels,
    RollbackPlan,
    AssessmentAge,
    Postmortems,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckStatusV1 {
    Pass,
    Fail,
    NotApplicable,
}
