//! Telling people: an event goes to every recipient the policy's `[notifications]` names for it
//! (`model::notification::Notifications::recipients`), by webhook (an HTTP POST of JSON, Slack's
//! or Teams' message or the event itself, signed when the webhook has a secret, retried with
//! backoff on 5xx and unreachable receivers) and by e-mail (through the SMTP relay, text and
//! HTML from templates), all at once, each attempt bounded by the timeout. Every delivery is
//! recorded in the store once, delivered or not (a webhook whose retries ran out as a dead
//! letter, with the count of attempts), and returned.
//!
//! A notification never fails what triggered it: [`notify`] returns no error. A delivery that
//! failed, and even a record the store could not write, is in the [`NotifyReport`] for the
//! caller to show.
//!
//! Secrets stay out of both: a webhook is reported and recorded by its redacted URL
//! (`https://hooks.example.com/…`) and its key id, and its errors lose its path and tokens
//! (`model::notification::secrets`); an SMTP password is masked in the relay's errors, which
//! name the variable it came from.

mod email;
pub(crate) mod templates;
mod webhook;

use std::time::Duration;

use model::notification::{Event, Notifications, Recipient, secrets};
use store::{NotificationRecord, Store};

/// What became of every delivery of one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyReport {
    pub deliveries: Vec<Delivery>,
    /// Deliveries (or failures) the store could not record, in words. Empty normally.
    pub unrecorded: Vec<String>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `webhook` or `email`.
    pub channel: &'static str,
    /// The webhook's URL redacted (`https://hooks.example.com/…`), the address, or the owner
    /// that could not be reached.
    pub target: String,
    /// A webhook's key id (`model::notification::secrets::key_id`), which tells the configured
    /// webhooks apart; `None` for e-mail.
    pub key_id: Option<String>,
    /// `None`: delivered (a 2xx answer; the relay accepted the message); else why not, with no
    /// webhook's path and no password in it.
    pub error: Option<String>,
}

impl Delivery {
    /// `https://hooks.example.com/… (key 0123456789ab)`, or the address.
    pub fn shown_target(&self) -> String {
        match &self.key_id {
            Some(key) => format!("{} (key {key})", self.target),
            None => self.target.clone(),
        }
    }
}

impl NotifyReport {
    pub fn failures(&self) -> impl Iterator<Item = &Delivery> {
        self.deliveries.iter().filter(|d| d.error.is_some())
    }

    /// One line per failed delivery and unrecorded record, for an operator.
    pub fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self
            .failures()
            .map(|d| {
                format!(
                    "notification by {} to {} failed: {}",
                    d.channel,
                    d.shown_target(),
                    d.error.as_deref().unwrap_or_default()
                )
            })
            .collect();
        problems.extend(self.unrecorded.iter().cloned());
        problems
    }
}

/// Installs rustls's aws-lc-rs crypto provider as the process default, once; later calls do
/// nothing. Every binary calls it at start (DESIGN.md), before any TLS connection.
pub fn install_crypto_provider() {
    // An error means a provider is installed already: the one we want, or a test's.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// `message` without the webhook's signing secret, should a receiver have quoted it.
fn scrub_secret(message: &str, webhook: &model::notification::Webhook) -> String {
    match &webhook.secret {
        Some(model::notification::WebhookSecret::Inline(secret)) if secret.len() >= 4 => {
            message.replace(secret.as_str(), secrets::MASK)
        }
        _ => message.to_owned(),
    }
}

/// Delivers `event` to everyone `settings` names for it and records every delivery.
pub async fn notify(store: &Store, settings: &Notifications, event: &Event) -> NotifyReport {
    install_crypto_provider();
    let timeout = Duration::from_secs(u64::from(settings.timeout_seconds.max(1)));
    let retry = webhook::Retry {
        retries: settings.retries,
        backoff: Duration::from_millis(settings.retry_backoff_ms),
    };
    let recipients = settings.recipients(event);
    let templates = settings.templates.as_deref();
    let attempts = recipients.iter().map(|recipient| async move {
        match recipient {
            Recipient::Webhook(hook) => Delivery {
                channel: recipient.channel(),
                target: secrets::redact_url(&hook.url),
                key_id: Some(secrets::key_id(&hook.url)),
                error: webhook::deliver(hook, event, timeout, retry).await.err().map(|error| {
                    scrub_secret(&secrets::scrub_webhook_message(&error, &hook.url), hook)
                }),
            },
            Recipient::Email(address) => Delivery {
                channel: recipient.channel(),
                target: address.clone(),
                key_id: None,
                error: match &settings.smtp {
                    Some(smtp) => email::send(smtp, address, event, templates, timeout).await.err(),
                    None => Some("no SMTP relay".to_owned()),
                },
            },
            Recipient::Unreachable { owner, reason } => Delivery {
                channel: recipient.channel(),
                target: owner.clone(),
                key_id: None,
                error: Some(reason.clone()),
            },
        }
    });
    let deliveries = futures_util::future::join_all(attempts).await;
    let event_json = serde_json::to_string(&protocol::notification::EventV1::from(event))
        .expect("an event serializes");
    let mut unrecorded = Vec::new();
    for delivery in &deliveries {
        let record = NotificationRecord {
            at_unix: event.at.timestamp(),
            kind: event.kind.as_str().to_owned(),
            subject: event.subject.clone(),
            channel: delivery.channel.to_owned(),
            target: delivery.target.clone(),
            key_id: delivery.key_id.clone(),
            error: delivery.error.clone(),
            event_json: event_json.clone(),
        };
        if let Err(error) = store.record_notification(&record).await {
            unrecorded.push(format!(
                "the {} notification to {} could not be recorded: {error}",
                delivery.channel,
                delivery.shown_target()
            ));
        }
    }
    NotifyReport { deliveries, unrecorded }
}

/// `notifications list`: every delivery attempt on record.
pub async fn deliveries(
    ctx: &crate::Context,
) -> Result<Vec<store::StoredNotification>, crate::QueryError> {
    Ok(ctx.store().await?.notifications().await?)
}

/// A delivery attempt in its JSON form.
pub fn delivery_output(
    stored: &store::StoredNotification,
) -> protocol::output::notification::DeliveryV1 {
    let record = &stored.record;
    protocol::output::notification::DeliveryV1 {
        id: stored.id,
        at: model::dates::rfc3339_unix(record.at_unix),
        kind: record.kind.clone(),
        subject: record.subject.clone(),
        channel: record.channel.clone(),
        target: record.target.clone(),
        error: record.error.clone(),
    }
}

/// `notifications test`: `event` sent as the policy's settings say, and recorded.
pub async fn send(
    ctx: &crate::Context,
    settings: &Notifications,
    event: &Event,
) -> Result<NotifyReport, crate::QueryError> {
    Ok(notify(ctx.store().await?, settings, event).await)
}
