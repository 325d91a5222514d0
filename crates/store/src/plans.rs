//! Action plans, saved under the hash of their content and never changed: the records, and
//! [`Plans`], what every backend implements for them.

use crate::StoreError;
use crate::validate::Checked;

/// Saved plans. The methods taking a `Checked` are called through [`crate::Store`], which
/// checks their arguments first (`validate.rs`).
#[async_trait::async_trait]
pub trait Plans: Send + Sync {
    /// [`crate::Store::save_plan`], its id and JSON checked.
    async fn save_plan(
        &self,
        checked: Checked,
        id: &str,
        created_at_unix: i64,
        body_json: &str,
    ) -> Result<(), StoreError>;

    /// [`crate::Store::plan`]: `prefix` is `sha256:` and at least 6 lowercase hex digits.
    async fn plan(&self, checked: Checked, prefix: &str) -> Result<Option<StoredPlan>, StoreError>;

    /// Every plan, newest first.
    async fn plans(&self) -> Result<Vec<StoredPlanSummary>, StoreError>;
}

/// A saved plan, in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPlan {
    /// `sha256:` and 64 lowercase hex digits.
    pub id: String,
    pub created_at_unix: i64,
    /// The plan as JSON, byte for byte as it was saved.
    pub body_json: String,
}

/// A saved plan without its body: what listings show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPlanSummary {
    pub id: String,
    pub created_at_unix: i64,
}
