//! The form of a notification's event: what a `format = "json"` webhook receives and what the
//! `notifications` table's `event` column keeps, member for member the JSON patchctl has sent
//! and written since notifications existed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventV1 {
    pub kind: EventKindV1,
    pub subject: String,
    pub body: String,
    pub hosts: Vec<String>,
    pub owners: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_level: Option<u64>,
    /// RFC 3339 in UTC, `Z`, with a fraction of 3, 6 or 9 digits when the second has one:
    /// `2026-12-07T08:00:00Z`.
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventKindV1 {
    ChangeRequested,
    ChangeApproved,
    ChangeRejected,
    WindowAnnounced,
    RolloutStarted,
    WaveHalted,
    RebootWarning,
    RolloutFinished,
    RolloutHalted,
    HostsFailed,
    Emergency,
    PostmortemOpened,
    PostmortemDue,
    PostmortemOverdue,
    PostmortemClosed,
    Escalation,
    Test,
}
