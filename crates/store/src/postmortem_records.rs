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
    /// The address, or the webhook's URL redacted (`https://hooks.example.com/…`): the store
    /// redacts every URL of the target and the error before writing them (see [`Self::redacted`]).
    pub target: String,
    /// A webhook's key id (`model::notification::secrets::key_id` of its whole URL), which tells
    /// the configured webhooks apart; `None` for e-mail.
    pub key_id: Option<String>,
    /// `None`: delivered; else why not.
    pub error: Option<String>,
    /// The whole event as JSON.
    pub event_json: String,
}

impl NotificationRecord {
    /// The record as it is stored: a webhook's key id taken from its target when the caller
    /// gave none (the application gives it: its target is redacted already), then every URL of
    /// the target and the error redacted, and a webhook's path and tokens masked in the error.
    /// So whatever the caller passes, no webhook's token is written to the database.
    pub fn redacted(&self) -> NotificationRecord {
        let (target, key_id, error) = redact_fields(
            &self.channel,
            &self.target,
            self.key_id.as_deref(),
            self.error.as_deref(),
        );
        NotificationRecord { target, key_id, error, ..self.clone() }
    }
}

/// The target, key id and error of a delivery to `channel`, as they are stored.
pub(crate) fn redact_fields(
    channel: &str,
    target: &str,
    key_id: Option<&str>,
    error: Option<&str>,
) -> (String, Option<String>, Option<String>) {
    use model::notification::secrets::{key_id as key_of, redact_urls_in, scrub_webhook_message};
    let webhook = channel == "webhook";
    let key_id = match key_id {
        Some(key) => Some(key.to_owned()),
        None if webhook => Some(key_of(target)),
        None => None,
    };
    let error = error.map(|error| match webhook {
        true => scrub_webhook_message(error, target),
        false => redact_urls_in(error),
    });
    (redact_urls_in(target), key_id, error)
}

/// A delivery attempt as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotification {
    pub id: i64,
    pub record: NotificationRecord,
}
