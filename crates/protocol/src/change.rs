//! The stored form of a change journal entry's body (the `change_journal` table): the kind and
//! the actor have columns of their own; the body names the plan, so that an entry copied into
//! another plan's journal does not pass as its own, with the ticket and the comment.

use serde::{Deserialize, Serialize};

/// Kinds: `request`, `approve`, `reject`, `auto_approve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeBodyV1 {
    /// The plan's full id.
    pub plan: String,
    /// Requests only.
    pub ticket: Option<String>,
    pub comment: Option<String>,
}
