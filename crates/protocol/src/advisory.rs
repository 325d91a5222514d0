//! The stored form of an imported advisory (the `advisories` table's `body`, `body_format` 1):
//! member for member the JSON patchctl has written since advisories were imported, so every
//! stored row reads.

use serde::{Deserialize, Serialize};

use crate::plan::{ClassificationV1, SeverityV1};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdvisoryV1 {
    pub id: String,
    pub format: AdvisoryFormatV1,
    pub kind: ClassificationV1,
    pub summary: String,
    pub cves: Vec<String>,
    pub aliases: Vec<String>,
    pub distribution_severity: Option<SeverityV1>,
    pub cvss: Vec<CvssScoreV1>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub affected: Vec<AffectedPackageV1>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdvisoryFormatV1 {
    Osv,
    Updateinfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CvssScoreV1 {
    pub version: CvssVersionV1,
    pub vector: String,
    /// 0.0 to 10.0.
    pub score: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CvssVersionV1 {
    #[serde(rename = "3.0")]
    V3_0,
    #[serde(rename = "3.1")]
    V3_1,
    #[serde(rename = "4.0")]
    V4_0,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AffectedPackageV1 {
    pub ecosystem: EcosystemV1,
    pub package: String,
    pub binaries: Vec<String>,
    pub ranges: Vec<AffectedRangeV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EcosystemV1 {
    pub name: String,
    pub distribution: DistributionV1,
    pub release: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DistributionV1 {
    Debian,
    Ubuntu,
    AlmaLinux,
    RockyLinux,
    RedHat,
    DnfRepository,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AffectedRangeV1 {
    pub introduced: Option<String>,
    pub fixed: Option<String>,
    pub last_affected: Option<String>,
}
