//! The inventory's hosts and a host's assessment history, as the server answers
//! `GET /api/hosts` and `GET /api/hosts/{host}/history`.

use serde::{Deserialize, Serialize};

use crate::output::assess::SummaryV1;

/// A host of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostV1 {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub environment: String,
    pub groups: Vec<String>,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    /// `apt`, `dnf`, or `None` when detected at assessment.
    pub package_manager: Option<String>,
    /// `ssh` or `local`.
    pub transport: String,
}

/// One assessment attempt of a host, newest first in a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntryV1 {
    pub id: String,
    /// RFC 3339, UTC (`Z`).
    pub taken_at: String,
    pub duration_ms: u64,
    pub package_manager: Option<String>,
    /// Set when the attempt assessed the host.
    pub summary: Option<SummaryV1>,
    /// Set when it failed: why, in words.
    pub failure: Option<String>,
}
