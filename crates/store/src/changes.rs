//! Changes: each plan's hash-chained change journal (who requested, approved or rejected it)
//! and the change windows the scheduler claimed. The records, and [`Changes`], what every
//! backend implements for them.

use crate::rollouts::journal::{JournalCheck, JournalEntry};
use crate::validate::Checked;
use crate::{StoreError, journal_chain};

/// The answer of [`crate::Store::append_change`]'s `accept`, given the journal as it is inside
/// the write transaction: `Err(reason)` refuses the entry.
pub type AcceptChange<'a> = dyn Fn(&[ChangeEntry]) -> Result<(), String> + Sync + 'a;

/// Change journals and change windows. The methods taking a `Checked` are called through
/// [`crate::Store`], which checks their arguments first (`validate.rs`).
#[async_trait::async_trait]
pub trait Changes: Send + Sync {
    /// [`crate::Store::append_change`], its plan id and JSON checked.
    async fn append_change(
        &self,
        checked: Checked,
        plan_id: &str,
        entry: &NewChangeEntry,
        accept: &AcceptChange<'_>,
    ) -> Result<Result<i64, String>, StoreError>;

    /// A plan's change journal in seq order; empty when nobody acted on it.
    async fn change_journal(&self, plan_id: &str) -> Result<Vec<ChangeEntry>, StoreError>;

    /// Recomputes a plan's change-journal chain, as
    /// [`crate::RolloutJournals::verify_journal`] does a rollout's.
    async fn verify_change_journal(&self, plan_id: &str) -> Result<JournalCheck, StoreError> {
        let entries: Vec<JournalEntry> = self
            .change_journal(plan_id)
            .await?
            .into_iter()
            .map(|e| JournalEntry {
                seq: e.seq,
                at_ms: e.at_ms,
                kind: e.kind,
                host: Some(e.actor),
                body_json: e.body_json,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect();
        Ok(journal_chain::verify(journal_chain::GENESIS_HASH, &entries))
    }

    /// Claims the window of `environment` opening at `window_start_unix` for the scheduler
    /// `owner`: true for exactly one caller, ever; false when it was claimed before (by a
    /// scheduler since restarted, or by another one).
    async fn claim_window(
        &self,
        environment: &str,
        window_start_unix: i64,
        owner: &str,
        now_unix: i64,
    ) -> Result<bool, StoreError>;

    /// Records what came of a claimed window: the plan and rollout started, or why none.
    async fn record_window(
        &self,
        environment: &str,
        window_start_unix: i64,
        plan_id: Option<&str>,
        rollout_id: Option<&str>,
        outcome: &str,
    ) -> Result<(), StoreError>;

    /// Every claimed window, oldest first.
    async fn window_claims(&self) -> Result<Vec<WindowClaim>, StoreError>;
}

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
