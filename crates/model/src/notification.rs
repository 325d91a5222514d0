//! Notifications: the events owners are told about, who is told through which channel, and
//! the JSON a webhook receives. Pure: the shell (`ops::notify`) delivers and records.
//!
//! Who receives an event: every webhook and address of `[notifications]`, plus, for each owner
//! the event concerns (the inventory's `owner` of its hosts), that owner's contact in
//! `[notifications.contacts.OWNER]`. An owner written as an e-mail address is its own contact.
//! An owner with no contact is reported as an undeliverable recipient, never dropped.
//!
//! A webhook URL is a secret (its path carries a token): what is printed or stored shows it
//! through `secrets`, redacted, with its key id.

pub mod secrets;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A rollout stopped on its error budget.
    RolloutHalted,
    /// A rollout ended with hosts failed, lost or rolled back.
    HostsFailed,
    /// The emergency track started an expedited plan.
    Emergency,
    PostmortemOpened,
    PostmortemClosed,
    /// `patchctl notifications test`: proves the settings reach people.
    Test,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RolloutHalted => "rollout_halted",
            EventKind::HostsFailed => "hosts_failed",
            EventKind::Emergency => "emergency",
            EventKind::PostmortemOpened => "postmortem_opened",
            EventKind::PostmortemClosed => "postmortem_closed",
            EventKind::Test => "test",
        }
    }
}

/// An event to tell people about. Its JSON is what a webhook receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// One line: an e-mail's subject, a chat message's title.
    pub subject: String,
    /// The details, plain text.
    pub body: String,
    /// The hosts concerned.
    pub hosts: Vec<String>,
    /// Their owners (the inventory's `owner`), each told through its contact.
    pub owners: Vec<String>,
    pub at: DateTime<Utc>,
}

/// The `[notifications]` settings of the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifications {
    /// Webhooks told of every event.
    pub webhooks: Vec<String>,
    /// Addresses told of every event.
    pub email: Vec<String>,
    /// The relay e-mail goes through; without it, e-mail recipients are undeliverable.
    pub smtp: Option<Smtp>,
    /// By owner name, as the inventory writes it.
    pub contacts: BTreeMap<String, Contact>,
    /// How long one delivery may take.
    pub timeout_seconds: u32,
}

/// An SMTP relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub relay: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// The sender, `patchctl@example.com` or `Patching <patchctl@example.com>`.
    pub from: String,
    pub username: Option<String>,
    /// The environment variable holding the password: never the password in a file.
    pub password_env: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP: a relay on the same host or network.
    None,
    /// STARTTLS after connecting, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// How to reach one owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub email: Vec<String>,
    pub webhooks: Vec<String>,
}

/// One delivery to make.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Recipient {
    Webhook(String),
    Email(String),
    /// An owner the settings give no way to reach (or e-mail without a relay): recorded as a
    /// failed delivery, so that nobody believes they were told.
    Unreachable {
        owner: String,
        reason: String,
    },
}

impl Recipient {
    /// `webhook`, `email`, or the channel that is missing.
    pub fn channel(&self) -> &'static str {
        match self {
            Recipient::Webhook(_) => "webhook",
            Recipient::Email(_) | Recipient::Unreachable { .. } => "email",
        }
    }

    pub fn target(&self) -> &str {
        match self {
            Recipient::Webhook(url) => url,
            Recipient::Email(address) => address,
            Recipient::Unreachable { owner, .. } => owner,
        }
    }
}

impl Notifications {
    /// Everyone to tell about `event`, each once, sorted.
    pub fn recipients(&self, event: &Event) -> Vec<Recipient> {
        let mut recipients: Vec<Recipient> = Vec::new();
        recipients.extend(self.webhooks.iter().cloned().map(Recipient::Webhook));
        recipients.extend(self.email.iter().cloned().map(Recipient::Email));
        for owner in &event.owners {
            match self.contacts.get(owner) {
                Some(contact) => {
                    recipients.extend(contact.webhooks.iter().cloned().map(Recipient::Webhook));
                    recipients.extend(contact.email.iter().cloned().map(Recipient::Email));
                }
                None if is_address(owner) => recipients.push(Recipient::Email(owner.clone())),
                None => recipients.push(Recipient::Unreachable {
                    owner: owner.clone(),
                    reason: format!(
                        "owner {owner:?} has no contact: add [notifications.contacts.{owner}] to \
                         the policy"
                    ),
                }),
            }
        }
        if self.smtp.is_none() {
            for recipient in &mut recipients {
                if let Recipient::Email(address) = recipient {
                    *recipient = Recipient::Unreachable {
                        owner: address.clone(),
                        reason: "no [notifications.smtp] relay to send e-mail through".to_owned(),
                    };
                }
            }
        }
        recipients.sort();
        recipients.dedup();
        recipients
    }
}

/// A bare address (`name@domain`): one `@`, something on both sides, no spaces or brackets.
pub fn is_address(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && text.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"<>,;\"".contains(c))
}

/// A webhook URL: `http://` or `https://`, a host, no spaces.
pub fn is_webhook_url(text: &str) -> bool {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '\\', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.starts_with(':') && !host.contains('@')
    }) && text.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(owners: &[&str]) -> Event {
        Event {
            kind: EventKind::HostsFailed,
            subject: "s".into(),
            body: "b".into(),
            hosts: vec!["deb1".into()],
            owners: owners.iter().map(|o| o.to_string()).collect(),
            at: DateTime::UNIX_EPOCH,
        }
    }

    fn settings() -> Notifications {
        let mut contacts = BTreeMap::new();
        contacts.insert(
            "team-web".to_owned(),
            Contact {
                email: vec!["web@example.com".into()],
                webhooks: vec!["http://hook/web".into()],
            },
        );
        Notifications {
            webhooks: vec!["http://hook/all".into()],
            email: vec!["ops@example.com".into()],
            smtp: Some(Smtp {
                relay: "localhost".into(),
                port: 25,
                security: SmtpSecurity::None,
                from: "patchctl@example.com".into(),
                username: None,
                password_env: None,
            }),
            contacts,
            timeout_seconds: 10,
        }
    }

    #[test]
    fn owners_reach_their_contacts_and_the_unknown_ones_are_reported() {
        let recipients = settings().recipients(&event(&[
            "team-web",
            "dba@example.com",
            "team-nobody",
            "team-web",
        ]));
        let targets: Vec<(&str, &str)> =
            recipients.iter().map(|r| (r.channel(), r.target())).collect();
        assert_eq!(
            targets,
            [
                ("webhook", "http://hook/all"),
                ("webhook", "http://hook/web"),
                ("email", "dba@example.com"),
                ("email", "ops@example.com"),
                ("email", "web@example.com"),
                ("email", "team-nobody"),
            ]
        );
        assert!(
            matches!(&recipients[5], Recipient::Unreachable { reason, .. } if reason.contains("[notifications.contacts.team-nobody]"))
        );
    }

    #[test]
    fn without_a_relay_email_is_undeliverable_not_dropped() {
        let mut settings = settings();
        settings.smtp = None;
        let recipients = settings.recipients(&event(&[]));
        assert_eq!(recipients.len(), 2);
        assert!(
            matches!(&recipients[1], Recipient::Unreachable { owner, .. } if owner == "ops@example.com")
        );
    }

    #[test]
    fn addresses_and_urls_are_checked() {
        assert!(
            is_address("a@b.c") && !is_address("a b@c") && !is_address("@c") && !is_address("a@")
        );
        assert!(is_webhook_url("https://chat.example.com/hook?x=1"));
        assert!(is_webhook_url("http://127.0.0.1:8080/h"));
        assert!(
            !is_webhook_url("ftp://x")
                && !is_webhook_url("http://")
                && !is_webhook_url("http://a b")
        );
    }
}
