//! Postmortems and their append-only, hash-chained record of who did what: the records, and
//! [`Postmortems`], what every backend implements for them.

use crate::StoreError;
use crate::rollouts::journal::JournalCheck;
use crate::validate::Checked;

/// Postmortems. The methods taking a `Checked` are called through [`crate::Store`], which
/// checks their arguments first (`validate.rs`).
#[async_trait::async_trait]
pub trait Postmortems: Send + Sync {
    /// [`crate::Store::open_postmortem`], its details checked and its due time not before its
    /// opening.
    async fn open_postmortem(
        &self,
        checked: Checked,
        new: &NewPostmortem,
        body_json: &str,
    ) -> Result<Opened, StoreError>;

    /// [`crate::Store::close_postmortem`], its details checked.
    async fn close_postmortem(
        &self,
        checked: Checked,
        id: i64,
        closure: &PostmortemClosure,
        body_json: &str,
    ) -> Result<StoredPostmortem, StoreError>;

    async fn postmortem(&self, id: i64) -> Result<Option<StoredPostmortem>, StoreError>;

    /// Every postmortem, oldest first.
    async fn postmortems(&self) -> Result<Vec<StoredPostmortem>, StoreError>;

    /// Checks the hash chain of a postmortem's record (`None`: begun before records were
    /// chained, and so not covered).
    async fn verify_postmortem(&self, id: i64) -> Result<Option<JournalCheck>, StoreError>;

    /// A postmortem's record: who did what, when, in order.
    async fn postmortem_events(&self, id: i64) -> Result<Vec<PostmortemEvent>, StoreError>;
}

/// A postmortem to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPostmortem {
    /// `rollout`, `advisory`, `emergency` or `other`, as the application names them.
    pub subject_kind: String,
    /// The rollout id, advisory or CVE id, or free text.
    pub subject_ref: String,
    pub title: String,
    /// The hosts concerned; empty for the fleet as a whole.
    pub hosts: Vec<String>,
    pub owner: Option<String>,
    pub opened_at_unix: i64,
    pub opened_by: String,
    pub due_at_unix: i64,
}

/// A postmortem as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPostmortem {
    pub id: i64,
    pub subject_kind: String,
    pub subject_ref: String,
    pub title: String,
    pub hosts: Vec<String>,
    pub owner: Option<String>,
    pub opened_at_unix: i64,
    pub opened_by: String,
    pub due_at_unix: i64,
    pub root_cause: Option<String>,
    pub actions: Vec<String>,
    pub closed_at_unix: Option<i64>,
    pub closed_by: Option<String>,
}

/// What opening a postmortem did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Opened(StoredPostmortem),
    /// One about that subject exists already (opened or closed): it is returned unchanged.
    Exists(StoredPostmortem),
}

/// Closing a postmortem: the root cause found, the follow-up actions, who and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmortemClosure {
    pub root_cause: String,
    pub actions: Vec<String>,
    pub closed_at_unix: i64,
    pub closed_by: String,
}

/// One entry of a postmortem's record: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmortemEvent {
    pub seq: i64,
    pub at_unix: i64,
    pub actor: String,
    /// `opened`, `closed`.
    pub action: String,
    /// The details as JSON.
    pub body_json: String,
    /// Its place in the record's hash chain (`journal_chain.rs`, genesis
    /// `postmortem_genesis`); `None` for entries written before the record was chained.
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}
