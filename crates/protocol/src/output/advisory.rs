//! `patchctl cves --format json` (a list of host exposures, printed with `pretty`) and
//! `patchctl cve --json` (printed with `pretty_sorted`).

use serde::{Deserialize, Serialize};

use crate::plan::SeverityV1;

/// One host's exposure: `state` is `not_assessed`, `assessment_failed` (with `message`) or
/// `assessed` (with `findings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostExposureV1 {
    pub host: String,
    pub assessed_at_unix: Option<i64>,
    #[serde(flatten)]
    pub state: HostExposureStateV1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HostExposureStateV1 {
    NotAssessed,
    AssessmentFailed { message: String },
    Assessed { findings: Vec<FindingV1> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingV1 {
    pub advisory: String,
    pub cves: Vec<String>,
    pub severity: Option<SeverityV1>,
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    pub package: String,
    pub installed_version: String,
    pub status: ExposureStatusV1,
    pub fixed_version: Option<String>,
    pub update: Option<String>,
    pub reason: Option<String>,
    pub source: FindingSourceV1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExposureStatusV1 {
    Affected,
    Fixed,
    Undecided,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FindingSourceV1 {
    Imported,
    Repository,
}

/// `cve --json`: the CVE, the advisories that fix it, each host's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CveReportV1 {
    pub cve: String,
    pub advisories: Vec<String>,
    pub hosts: Vec<CveHostV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CveHostV1 {
    pub host: String,
    pub verdict: CveVerdictV1,
    pub findings: Vec<FindingV1>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CveVerdictV1 {
    Affected,
    Undecided,
    Fixed,
    NotApplicable,
    NotAssessed,
    AssessmentFailed,
}

/// An advisory on record (`advisories list`, `advisories show`), with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdvisoryRecordV1 {
    pub advisory: crate::advisory::AdvisoryV1,
    pub source_file: String,
    /// RFC 3339, UTC (`Z`).
    pub imported_at: String,
}
