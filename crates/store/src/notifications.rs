//! Notification deliveries, in a hash-chained record, and the notices the scheduler claimed
//! before sending: the records, and [`Notifications`], what every backend implements for them.

use crate::StoreError;
use crate::rollouts::journal::JournalCheck;
use crate::validate::Checked;

/// Notification deliveries and notices. The methods taking a `Checked` are called through
/// [`crate::Store`], which checks their arguments first (`validate.rs`).
#[async_trait::async_trait]
pub trait Notifications: Send + Sync {
    /// [`crate::Store::record_notification`], the record redacted and its event checked.
    async fn record_notification(
        &self,
        checked: Checked,
        record: &NotificationRecord,
    ) -> Result<i64, StoreError>;

    /// Every delivery attempt, oldest first.
    async fn notifications(&self) -> Result<Vec<StoredNotification>, StoreError>;

    /// Checks the hash chain of the notification record (the deliveries written since it was
    /// chained) and returns it with the chain's hashes, for the audit's anchors.
    async fn verify_notifications(&self) -> Result<(JournalCheck, Vec<String>), StoreError>;

    /// Claims the notice `key` (`model::notification::timing::Notice::key`) for `owner`: true
    /// for exactly one caller, ever, who then sends it.
    async fn claim_notice(&self, key: &str, owner: &str, now_unix: i64)
    -> Result<bool, StoreError>;
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
