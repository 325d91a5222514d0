//! `patchctl verify-integrity --format json`. Printed with `pretty_sorted`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrityReportV1 {
    pub hosts: Vec<HostIntegrityV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostIntegrityV1 {
    pub host: String,
    /// `ok`, `admin_changed`, `failed`, `unchecked`.
    pub status: String,
    /// `name version arch` of each package verified.
    pub packages: Vec<String>,
    pub failures: Vec<String>,
    pub admin_changed: Vec<AdminChangedV1>,
    /// Packages a rollout changed that are not installed now (`name:arch`).
    pub not_installed: Vec<String>,
    /// Why the host was not checked.
    pub unchecked: Option<String>,
}

/// A file of a package that differs from what the package installed, changed by the
/// administrator (a configuration file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminChangedV1 {
    pub package: String,
    pub path: String,
    /// What differs, in the package manager's words.
    pub differs: Vec<String>,
}
