//! `patchctl postmortem list --format json` (a list of postmortems) and `postmortem show
//! --format json` (one, with its record). Printed with `pretty_sorted`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostmortemV1 {
    pub id: i64,
    pub subject: SubjectV1,
    pub title: String,
    pub hosts: Vec<String>,
    pub owner: Option<String>,
    /// RFC 3339, UTC (`Z`), as are the other times.
    pub opened_at: String,
    pub opened_by: String,
    pub due_at: String,
    pub root_cause: Option<String>,
    pub actions: Vec<String>,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    /// `open`, `overdue`, `closed`.
    pub status: String,
    pub overdue: bool,
    /// `show` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Vec<PostmortemEntryV1>>,
}

/// `{"kind": "rollout", "reference": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubjectV1 {
    /// `rollout`, `advisory`, `emergency`, `other`.
    pub kind: String,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostmortemEntryV1 {
    /// RFC 3339, UTC; `null` for a time out of range.
    pub at: Option<String>,
    pub actor: String,
    pub action: String,
    /// The entry's body as it was recorded (`protocol::postmortem`'s forms); `null` if it
    /// does not parse.
    pub details: serde_json::Value,
}
