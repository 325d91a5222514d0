//! `patchctl notifications list`: every delivery attempt on record, as the server answers
//! `GET /api/notifications`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryV1 {
    pub id: i64,
    /// RFC 3339, UTC (`Z`).
    pub at: String,
    /// The event's kind (`rollout_halted`, `emergency`, …).
    pub kind: String,
    pub subject: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// The address, or the webhook's URL redacted.
    pub target: String,
    /// `None`: delivered; else why not.
    pub error: Option<String>,
}
