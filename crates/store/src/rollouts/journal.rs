//! A rollout's append-only, hash-chained journal (the chain itself is `journal_chain.rs`): the
//! records, and [`RolloutJournals`], what every backend implements for them. The entry and
//! check records serve the other chained records too (change journals, postmortems,
//! notifications).

use super::RolloutPhase;
use super::verified::VerifiedHost;
use crate::StoreError;
use crate::rollouts::Lease;
use crate::validate::Checked;

/// Rollout journals. The methods taking a `Checked` are called through [`crate::Store`],
/// which checks their arguments first (`validate.rs`).
#[async_trait::async_trait]
pub trait RolloutJournals: Send + Sync {
    /// [`crate::Store::append_journal_verified`], its entries and verified versions checked and
    /// not all empty.
    async fn append_journal(
        &self,
        checked: Checked,
        lease: &Lease,
        entries: &[NewJournalEntry],
        phase: Option<&PhaseUpdate>,
        verified: &[VerifiedHost],
    ) -> Result<Vec<i64>, StoreError>;

    /// [`crate::Store::append_request`], its entries checked and not empty.
    async fn append_request(
        &self,
        checked: Checked,
        rollout_id: &str,
        entries: &[NewJournalEntry],
    ) -> Result<Vec<i64>, StoreError>;

    /// A rollout's whole journal, in seq order; empty for a rollout without entries (or none).
    async fn journal(&self, rollout_id: &str) -> Result<Vec<JournalEntry>, StoreError> {
        self.journal_since(rollout_id, 0).await
    }

    /// The entries of a rollout's journal after `after_seq`, in seq order: for following a
    /// journal as it grows.
    async fn journal_since(
        &self,
        rollout_id: &str,
        after_seq: i64,
    ) -> Result<Vec<JournalEntry>, StoreError>;

    /// Recomputes a rollout's hash chain, from the genesis its id, plan and configuration make
    /// (`journal_chain.rs`), and reports the first entry that does not fit. Entries removed
    /// from the end leave an intact, shorter chain; the triggers refusing deletes guard against
    /// that, and so does comparing [`JournalCheck::Intact`]'s `last_hash` with one kept
    /// elsewhere (the audit anchor).
    async fn verify_journal(&self, rollout_id: &str) -> Result<JournalCheck, StoreError>;
}

/// Where a rollout stands after a journal append, written in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseUpdate {
    pub phase: RolloutPhase,
    pub at_unix: i64,
}

/// An entry to append to a rollout's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJournalEntry {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// What happened, as the application names it (`host_started`, `step_done`, …).
    pub kind: String,
    /// The host it is about; `None` for the rollout as a whole.
    pub host: Option<String>,
    /// The details as JSON.
    pub body_json: String,
}

/// An entry of a rollout's journal, with its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// 1 for the first entry, then one more for each.
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    pub host: Option<String>,
    pub body_json: String,
    /// The previous entry's `hash`; the chain's genesis for the first entry.
    pub prev_hash: String,
    /// 64 lowercase hex digits: SHA-256 over `prev_hash` and this entry's content (the layout
    /// is documented in `journal_chain.rs`).
    pub hash: String,
}

/// What recomputing a journal's hash chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalCheck {
    /// Every entry is where it should be and hashes to what it says. `last_hash` is the head of
    /// the chain (`None` for an empty journal): kept elsewhere, it also shows truncation, which
    /// the chain alone cannot.
    Intact { n_entries: u64, last_hash: Option<String> },
    /// The first entry that does not fit; everything before it is intact.
    Broken { seq: i64, reason: JournalBreak },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalBreak {
    /// The entry's seq is not the one after the previous entry's: entries are missing.
    UnexpectedSeq { expected: i64 },
    /// Its `prev_hash` is not the previous entry's hash: the previous entry was rewritten
    /// (hash included) or replaced.
    PrevHashMismatch,
    /// Its `hash` is not the hash of its content: the entry was edited.
    HashMismatch,
}
