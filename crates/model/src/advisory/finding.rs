//! What one host is exposed to, one advisory and package at a time: the [`Finding`] that
//! `patchctl cves`, `patchctl cve` and the emergency track read, built by `ops` from a host's
//! latest assessment and the advisory index.

use super::ExposureStatus;
use crate::Severity;

/// An advisory that concerns an installed package of the host.
#[derive(Debug, Clone)]
pub struct Finding {
    pub advisory: String,
    pub cves: Vec<String>,
    pub severity: Option<Severity>,
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    pub package: String,
    pub installed_version: String,
    pub status: ExposureStatus,
    /// The version that fixes it; none when the distribution has not fixed it yet.
    pub fixed_version: Option<String>,
    /// The pending update that reaches the fixed version, from the same assessment; none when
    /// the host's repositories do not offer it yet.
    pub update: Option<String>,
    /// Why no verdict could be reached, for [`ExposureStatus::Undecided`].
    pub reason: Option<String>,
    pub source: FindingSource,
}

/// Where a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingSource {
    /// An imported advisory (`patchctl advisories import`).
    Imported,
    /// The host's repositories, as its package manager annotated a pending update (dnf's
    /// updateinfo) in the assessment; `advisory` holds the advisory ids it named.
    Repository,
}
