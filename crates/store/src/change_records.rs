//! The values the store takes and gives back for change journals and the scheduler's window
//! claims: plain data, independent of any database.

/// An action to append to a plan's change journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChangeEntry {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// `request`, `approve`, … as the application names them.
    pub kind: String,
    pub actor: String,
    /// The details as JSON; the application includes the plan id (see the migration).
    pub body_json: String,
}

/// An entry of a plan's change journal, with its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEntry {
    /// 1 for the first entry of the plan, then one more for each.
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    pub actor: String,
    pub body_json: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A window the scheduler claimed, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowClaim {
    pub environment: String,
    /// Unix seconds.
    pub window_start_unix: i64,
    pub claimed_at_unix: i64,
    pub owner: String,
    pub plan_id: Option<String>,
    pub rollout_id: Option<String>,
    pub outcome: Option<String>,
}
