//! `patchctl plan list --format json` (a list, printed with `pretty`).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanListingV1 {
    pub id: String,
    pub created_at_unix: i64,
    /// `draft`, `approved`, `rejected`, `run`.
    pub state: String,
    /// The newest rollout's id and phase.
    pub rollout: Option<(String, String)>,
    pub hosts: u64,
    pub changes: u64,
    pub selectors: Vec<String>,
    pub goals: Vec<String>,
}
