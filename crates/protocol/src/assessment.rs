//! The stored form of a host's assessment (the `assessments` table's `assessment` column,
//! `assessment_format` 1): member for member the JSON patchctl has written since assessments
//! were kept, so every stored row reads. `assess --format json` prints it too.

use serde::{Deserialize, Serialize};

use crate::plan::{ClassificationV1, PackageManagerKindV1, SeverityV1};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssessmentV1 {
    pub host: String,
    pub taken_at_unix: i64,
    pub os: OsReleaseV1,
    pub package_manager: PackageManagerKindV1,
    pub running_kernel: String,
    pub installed_kernels: Vec<InstalledKernelV1>,
    pub boot_id: String,
    pub installed: Vec<InstalledPackageV1>,
    pub updates: Vec<PendingUpdateV1>,
    pub removals: Vec<String>,
    pub held: Vec<String>,
    pub reboot: RebootStatusV1,
    pub services_needing_restart: Option<Vec<String>>,
    pub disk: Vec<DiskSpaceV1>,
    pub health: HealthV1,
    /// Left out when not asked, as assessments written before it were.
    #[serde(default, skip_serializing_if = "ListsRefreshedV1::is_unknown")]
    pub lists_refreshed: ListsRefreshedV1,
}

/// os-release(5)'s fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OsReleaseV1 {
    pub id: String,
    pub id_like: Vec<String>,
    pub version_id: String,
    pub version_codename: String,
    pub pretty_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstalledKernelV1 {
    pub release: String,
    pub package: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstalledPackageV1 {
    pub name: String,
    pub arch: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingUpdateV1 {
    pub name: String,
    pub arch: String,
    pub installed_version: Option<String>,
    pub candidate_version: String,
    pub origins: Vec<OriginV1>,
    pub action: UpdateActionV1,
    pub classification: ClassificationV1,
    pub severity: Option<SeverityV1>,
    pub kernel: bool,
    pub advisories: Vec<String>,
    pub cves: Vec<String>,
    pub kept_back: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpdateActionV1 {
    Upgrade,
    NewInstall,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OriginV1 {
    pub label: Option<String>,
    pub suite: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RebootStatusV1 {
    pub required: bool,
    pub packages: Vec<String>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskSpaceV1 {
    pub path: String,
    pub mount: String,
    pub available_bytes: u64,
    pub total_bytes: u64,
}

/// `"never"`, `{"at": seconds}`, or left out (`unknown`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ListsRefreshedV1 {
    #[default]
    Unknown,
    Never,
    At(i64),
}

impl ListsRefreshedV1 {
    pub fn is_unknown(&self) -> bool {
        *self == ListsRefreshedV1::Unknown
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthV1 {
    pub interrupted: bool,
    pub audit: Vec<String>,
    pub locks: Vec<LockHolderV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockHolderV1 {
    pub path: String,
    pub pid: u32,
    pub command: Option<String>,
}
