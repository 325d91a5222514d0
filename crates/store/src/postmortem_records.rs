//! The values the store takes and gives back for postmortems, their append-only record of
//! actions, and notification deliveries: plain data, independent of any database.

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

/// One delivery attempt of a notification to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub at_unix: i64,
    /// The event's kind (`rollout_halted`, `emergency`, …).
    pub kind: String,
    pub subject: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// The URL or the address.
    pub target: String,
    /// `None`: delivered; else why not.
    pub error: Option<String>,
    /// The whole event as JSON.
    pub event_json: String,
}

/// A delivery attempt as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotification {
    pub id: i64,
    pub record: NotificationRecord,
}
