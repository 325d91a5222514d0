//! The form of an exported journal head (one line of the anchor file `patchctl audit` appends
//! to): member for member what patchctl has written since anchors existed, so older files read.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnchorV1 {
    /// Unix seconds, when it was exported.
    pub at: i64,
    /// `rollout:ID`, `change:PLAN_ID`, `postmortem:N` or `notifications`.
    pub chain: String,
    pub entries: u64,
    /// The hash of entry `entries`; `null` when there is none.
    pub head: Option<String>,
}
