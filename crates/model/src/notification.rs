//! Notifications: the events people are told about, who is told through which channel, and
//! what a webhook receives. Pure: the shell (`ops::notify`) delivers and records.
//!
//! Who receives an event (the routing an on-call team expects, decided here and nowhere else):
//!
//! - every webhook and address of `[notifications]` (the team's patching channel): every event;
//! - the event's `owners` (the inventory's `owner` of its hosts): the window announcement, the
//!   rollout's start, a halted wave, a reboot warning, the rollout's summary, failures,
//!   postmortems due and overdue;
//! - the event's `people` (user names): the approvers of a change request (the members of the
//!   role its approval rule names), the requester of a change approved or rejected;
//! - an escalation's level (`[[notifications.escalation]]`, in order): the escalation event of
//!   that level only.
//!
//! Owners and people are reached through `[notifications.contacts.NAME]`; a name written as an
//! e-mail address is its own contact; a name without one is reported as an undeliverable
//! recipient, never dropped. Which events are sent, and when (a window's announcement, an
//! escalation, a postmortem's reminders), is decided in `timing.rs`; what a webhook receives
//! (JSON, Slack, Teams) in `webhook.rs`.
//!
//! A webhook URL, and a webhook's signing secret, are secrets: what is printed or stored shows
//! them through `secrets`, redacted, with a key id.

pub mod change;
pub mod secrets;
mod stored;
pub mod timing;
pub mod webhook;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

pub use stored::InvalidEventTime;
pub use webhook::{Webhook, WebhookFormat, WebhookSecret};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A change was requested on a plan: its approvers are asked.
    ChangeRequested,
    /// A change was approved (by one approver; the event says whether the rule is met).
    ChangeApproved,
    ChangeRejected,
    /// A maintenance window opens in `announce_before`, and what will run in it.
    WindowAnnounced,
    RolloutStarted,
    /// A wave went over its error budget: the rollout stops starting hosts.
    WaveHalted,
    /// A host reboots in `--reboot-delay` minutes (`shutdown -r +N`).
    RebootWarning,
    /// A rollout ended: its summary, host by host.
    RolloutFinished,
    /// A rollout stopped on its error budget (with its postmortem).
    RolloutHalted,
    /// A rollout ended with hosts failed, lost or rolled back (with its postmortem).
    HostsFailed,
    /// The emergency track started an expedited plan.
    Emergency,
    PostmortemOpened,
    /// An open postmortem is due soon (a quarter of its time left).
    PostmortemDue,
    /// An open postmortem is past its due time.
    PostmortemOverdue,
    PostmortemClosed,
    /// A failure (an open postmortem) unresolved after `escalate_after`, told to the next level.
    Escalation,
    /// `patchctl notifications test`: proves the settings reach people.
    Test,
}

impl EventKind {
    pub const ALL: [EventKind; 17] = [
        EventKind::ChangeRequested,
        EventKind::ChangeApproved,
        EventKind::ChangeRejected,
        EventKind::WindowAnnounced,
        EventKind::RolloutStarted,
        EventKind::WaveHalted,
        EventKind::RebootWarning,
        EventKind::RolloutFinished,
        EventKind::RolloutHalted,
        EventKind::HostsFailed,
        EventKind::Emergency,
        EventKind::PostmortemOpened,
        EventKind::PostmortemDue,
        EventKind::PostmortemOverdue,
        EventKind::PostmortemClosed,
        EventKind::Escalation,
        EventKind::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ChangeRequested => "change_requested",
            EventKind::ChangeApproved => "change_approved",
            EventKind::ChangeRejected => "change_rejected",
            EventKind::WindowAnnounced => "window_announced",
            EventKind::RolloutStarted => "rollout_started",
            EventKind::WaveHalted => "wave_halted",
            EventKind::RebootWarning => "reboot_warning",
            EventKind::RolloutFinished => "rollout_finished",
            EventKind::RolloutHalted => "rollout_halted",
            EventKind::HostsFailed => "hosts_failed",
            EventKind::Emergency => "emergency",
            EventKind::PostmortemOpened => "postmortem_opened",
            EventKind::PostmortemDue => "postmortem_due",
            EventKind::PostmortemOverdue => "postmortem_overdue",
            EventKind::PostmortemClosed => "postmortem_closed",
            EventKind::Escalation => "escalation",
            EventKind::Test => "test",
        }
    }

    /// Whether something went wrong: chat formats mark these (Slack's colour, Teams' style).
    pub fn is_alarm(self) -> bool {
        matches!(
            self,
            EventKind::WaveHalted
                | EventKind::RolloutHalted
                | EventKind::HostsFailed
                | EventKind::Emergency
                | EventKind::PostmortemOverdue
                | EventKind::Escalation
        )
    }
}

/// An event to tell people about. Its JSON is what a `format = "json"` webhook receives.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// People told besides the owners, by user name: a change's approvers, its requester.
    pub people: Vec<String>,
    /// An escalation's level, from 1: the `[[notifications.escalation]]` told.
    pub escalation_level: Option<usize>,
    pub at: DateTime<Utc>,
}

impl Event {
    /// An event about nothing in particular yet: no hosts, owners or people.
    pub fn new(
        kind: EventKind,
        subject: impl Into<String>,
        body: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Event {
        Event {
            kind,
            subject: subject.into(),
            body: body.into(),
            hosts: Vec::new(),
            owners: Vec::new(),
            people: Vec::new(),
            escalation_level: None,
            at,
        }
    }
}

/// The `[notifications]` settings of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notifications {
    /// Webhooks told of every event.
    pub webhooks: Vec<Webhook>,
    /// Addresses told of every event.
    pub email: Vec<String>,
    /// The relay e-mail goes through. The policy refuses e-mail recipients without one; an
    /// inventory owner written as an address is undeliverable without it.
    pub smtp: Option<Smtp>,
    /// By owner or user name, as the inventory and `[roles]` write them.
    pub contacts: BTreeMap<String, Contact>,
    /// Who is told of a failure still unresolved `escalate_after` later, in order: the first
    /// level after one period, the second after two, and so on.
    pub escalation: Vec<EscalationLevel>,
    pub escalate_after: chrono::TimeDelta,
    /// How long before a maintenance window opens its owners are told; zero: never.
    pub announce_before: chrono::TimeDelta,
    /// How long one delivery attempt may take.
    pub timeout_seconds: u32,
    /// Attempts after the first, for a webhook that answered 5xx or 429, or could not be
    /// reached; then the delivery is recorded as a dead letter.
    pub retries: u32,
    /// The wait before the first retry, doubled before each next one (at most a minute).
    pub retry_backoff_ms: u64,
    /// A directory of e-mail templates overriding the built-in ones (`ops::notify`), as the
    /// policy writes it: relative to the policy file's directory.
    pub templates: Option<std::path::PathBuf>,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            webhooks: Vec::new(),
            email: Vec::new(),
            smtp: None,
            contacts: BTreeMap::new(),
            escalation: Vec::new(),
            escalate_after: DEFAULT_ESCALATE_AFTER,
            announce_before: DEFAULT_ANNOUNCE_BEFORE,
            timeout_seconds: 10,
            retries: 3,
            retry_backoff_ms: 1000,
            templates: None,
        }
    }
}

/// A failure unresolved this long goes to the next level, by default.
pub const DEFAULT_ESCALATE_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// Owners are told of a window this long before it opens, by default.
pub const DEFAULT_ANNOUNCE_BEFORE: chrono::TimeDelta = chrono::TimeDelta::hours(24);

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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
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

/// How to reach one owner or person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub email: Vec<String>,
    pub webhooks: Vec<Webhook>,
}

/// One level of escalation: a name for messages, and its channels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EscalationLevel {
    pub name: String,
    pub email: Vec<String>,
    pub webhooks: Vec<Webhook>,
}

/// One delivery to make.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Recipient {
    Webhook(Webhook),
    Email(String),
    /// An owner or person the settings give no way to reach (or e-mail without a relay):
    /// recorded as a failed delivery, so that nobody believes they were told.
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
            Recipient::Webhook(webhook) => &webhook.url,
            Recipient::Email(address) => address,
            Recipient::Unreachable { owner, .. } => owner,
        }
    }
}

impl Notifications {
    /// Everyone to tell about `event`, each once, sorted. See the module's documentation for
    /// the routing.
    pub fn recipients(&self, event: &Event) -> Vec<Recipient> {
        let mut recipients: Vec<Recipient> = Vec::new();
        recipients.extend(self.webhooks.iter().cloned().map(Recipient::Webhook));
        recipients.extend(self.email.iter().cloned().map(Recipient::Email));
        for name in event.owners.iter().chain(&event.people) {
            match self.contacts.get(name) {
                Some(contact) => {
                    recipients.extend(contact.webhooks.iter().cloned().map(Recipient::Webhook));
                    recipients.extend(contact.email.iter().cloned().map(Recipient::Email));
                }
                None if is_address(name) => recipients.push(Recipient::Email(name.clone())),
                None => recipients.push(Recipient::Unreachable {
                    owner: name.clone(),
                    reason: format!(
                        "{name:?} has no contact: add [notifications.contacts.{name}] to the \
                         policy"
                    ),
                }),
            }
        }
        if let Some(level) = event.escalation_level {
            match level.checked_sub(1).and_then(|i| self.escalation.get(i)) {
                Some(level) => {
                    recipients.extend(level.webhooks.iter().cloned().map(Recipient::Webhook));
                    recipients.extend(level.email.iter().cloned().map(Recipient::Email));
                }
                None => recipients.push(Recipient::Unreachable {
                    owner: format!("escalation level {level}"),
                    reason: format!(
                        "the policy has {} [[notifications.escalation]] levels",
                        self.escalation.len()
                    ),
                }),
            }
        }
        // A webhook that listens to some kinds only hears of those.
        recipients.retain(|r| !matches!(r, Recipient::Webhook(hook) if !hook.wants(event.kind)));
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

    /// Whether anyone at all would be told: a channel, a contact or an escalation level.
    pub fn is_configured(&self) -> bool {
        !self.webhooks.is_empty()
            || !self.email.is_empty()
            || !self.contacts.is_empty()
            || !self.escalation.is_empty()
    }
}

/// How a notification shows a time: UTC, to the minute.
pub fn shown_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
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
            hosts: vec!["deb1".into()],
            owners: owners.iter().map(|o| o.to_string()).collect(),
            ..Event::new(EventKind::HostsFailed, "s", "b", DateTime::UNIX_EPOCH)
        }
    }

    fn settings() -> Notifications {
        let mut contacts = BTreeMap::new();
        contacts.insert(
            "team-web".to_owned(),
            Contact {
                email: vec!["web@example.com".into()],
                webhooks: vec![Webhook::plain("http://hook/web")],
            },
        );
        Notifications {
            webhooks: vec![Webhook::plain("http://hook/all")],
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
            escalation: vec![EscalationLevel {
                name: "on-call".into(),
                email: vec!["oncall@example.com".into()],
                webhooks: vec![],
            }],
            ..Notifications::default()
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
    fn people_reach_their_contacts_and_an_escalation_only_its_level() {
        let mut approvers = event(&[]);
        approvers.kind = EventKind::ChangeRequested;
        approvers.people = vec!["team-web".into(), "carol@example.com".into()];
        let targets: Vec<String> =
            settings().recipients(&approvers).iter().map(|r| r.target().to_owned()).collect();
        assert_eq!(
            targets,
            [
                "http://hook/all",
                "http://hook/web",
                "carol@example.com",
                "ops@example.com",
                "web@example.com"
            ]
        );
        let mut escalation = event(&[]);
        escalation.kind = EventKind::Escalation;
        escalation.escalation_level = Some(1);
        let targets: Vec<String> =
            settings().recipients(&escalation).iter().map(|r| r.target().to_owned()).collect();
        assert_eq!(targets, ["http://hook/all", "oncall@example.com", "ops@example.com"]);
        let mut listening = settings();
        listening.webhooks[0].events = Some(vec![EventKind::WaveHalted]);
        let targets: Vec<String> =
            listening.recipients(&escalation).iter().map(|r| r.target().to_owned()).collect();
        assert_eq!(targets, ["oncall@example.com", "ops@example.com"], "not a kind it listens to");
        escalation.kind = EventKind::Test;
        assert_eq!(listening.recipients(&escalation).len(), 3, "a test reaches every channel");
        escalation.kind = EventKind::Escalation;
        escalation.escalation_level = Some(2);
        let recipients = settings().recipients(&escalation);
        assert!(
            matches!(recipients.last(), Some(Recipient::Unreachable { owner, .. }) if owner == "escalation level 2"),
            "a level the policy does not have is reported, not dropped: {recipients:?}"
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
