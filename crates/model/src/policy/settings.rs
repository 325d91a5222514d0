//! The policy's `[notifications]` and `[compliance]` tables: their file shape (strict, with
//! positions) and their checks. Kept apart from the environments, which they do not touch.
//!
//! ```toml
//! [notifications]
//! webhooks = ["https://chat.example.com/hooks/patching"]   # told of every event (JSON)
//! email = ["ops@example.com"]                               # told of every event
//! timeout_seconds = 10                                      # per attempt; default 10
//! retries = 3                         # a webhook answering 5xx/429 or unreachable; default 3
//! retry_backoff_seconds = 1           # before the first retry, doubled each time; default 1
//! announce_before = "24h"             # a window announced to owners; "0m": never; default 24h
//! escalate_after = "1h"               # an open failure goes one level up each period; default 1h
//! templates = "notification-templates"   # e-mail templates overriding the built-in ones
//! allow_insecure = false              # see below; default false
//! [[notifications.webhook]]           # a webhook with a format and a signing secret
//! url = "https://hooks.slack.com/services/T0/B0/XXXX"
//! format = "slack"                    # json | slack | teams; default json
//! secret_env = "PATCHCTL_WEBHOOK_SECRET"   # or secret = "…"; signs each body (HMAC-SHA256)
//! events = ["rollout_started", "wave_halted", "rollout_finished"]   # default: every kind
//! [notifications.smtp]
//! relay = "mail.example.com"
//! port = 587                          # default: 25 for none, 587 for starttls, 465 for tls
//! security = "starttls"               # none | starttls | tls; default starttls
//! from = "Patching <patchctl@example.com>"
//! username = "patchctl"               # optional
//! password_env = "PATCHCTL_SMTP_PASSWORD"   # the variable holding the password
//! [notifications.contacts.team-web]   # an inventory `owner`, or a user of `[roles]`
//! email = ["web-oncall@example.com"]
//! webhooks = ["https://chat.example.com/hooks/web"]   # strings, or tables as above
//! [[notifications.escalation]]        # level 1, told after escalate_after; level 2 after 2×…
//! name = "on-call"
//! email = ["oncall@example.com"]
//! webhooks = [{ url = "https://events.example.com/hook", format = "json", secret_env = "PAGER_SECRET" }]
//!
//! [compliance]
//! max_assessment_age = "2d"           # default 7d
//! keep_kernels = 2                    # default: the last rollout's --keep-kernels, else 2
//! postmortem_due = "24h"              # default 24h
//!
//! [emergency]
//! cvss_threshold = 9.0                # an advisory scored this high is an emergency; default 9.0
//! soak_cap = "30m"                    # the longest soak an emergency plan waits; default 30m
//! ```
//!
//! E-mail recipients (`email`, a contact's, a level's) need `[notifications.smtp]`: without it
//! they are refused at their position. A webhook's `secret` is a secret like its URL: never
//! printed, shown only by its key id.
//!
//! Secrets do not cross a network in the clear. A webhook's URL carries its token, so an
//! `http://` webhook is refused, and so are SMTP credentials (`username`, `password_env`) with
//! `security = "none"`, unless `allow_insecure = true` says that this is meant. A plain-HTTP
//! webhook to a loopback host (`localhost`, 127.0.0.0/8, `[::1]`) is allowed without it: its
//! token never leaves the machine, and tests and local relays use one. Messages about a
//! webhook show its URL redacted (`https://chat.example.com/…`,
//! `model::notification::secrets`), never its path.

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::TimeDelta;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use toml::Spanned;

use super::duration::parse_duration;
use crate::emergency::EmergencySettings;
use crate::notification::secrets::{redact_url, sends_in_clear};
use crate::notification::{
    Contact, EscalationLevel, EventKind, Notifications, Smtp, SmtpSecurity, Webhook, WebhookFormat,
    WebhookSecret, is_address, is_webhook_url,
};
use crate::postmortem::DEFAULT_DUE_AFTER;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotificationsFile {
    #[serde(default)]
    pub webhooks: Vec<Spanned<WebhookFile>>,
    /// `[[notifications.webhook]]` tables: the same as tables in `webhooks`.
    #[serde(default)]
    pub webhook: Vec<Spanned<WebhookFile>>,
    #[serde(default)]
    pub email: Vec<Spanned<String>>,
    pub timeout_seconds: Option<Spanned<i64>>,
    pub retries: Option<Spanned<i64>>,
    pub retry_backoff_seconds: Option<Spanned<i64>>,
    pub announce_before: Option<Spanned<String>>,
    pub escalate_after: Option<Spanned<String>>,
    pub templates: Option<Spanned<String>>,
    #[serde(default)]
    pub escalation: Vec<EscalationFile>,
    /// Allows `http://` webhooks to other machines and SMTP credentials without TLS.
    #[serde(default)]
    pub allow_insecure: bool,
    pub smtp: Option<SmtpFile>,
    #[serde(default)]
    pub contacts: BTreeMap<Spanned<String>, ContactFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SmtpFile {
    pub relay: Spanned<String>,
    pub port: Option<Spanned<i64>>,
    /// Default `starttls`.
    pub security: Option<Spanned<SmtpSecurity>>,
    pub from: Spanned<String>,
    pub username: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactFile {
    #[serde(default)]
    pub email: Vec<Spanned<String>>,
    #[serde(default)]
    pub webhooks: Vec<Spanned<WebhookFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EscalationFile {
    pub name: Spanned<String>,
    #[serde(default)]
    pub email: Vec<Spanned<String>>,
    #[serde(default)]
    pub webhooks: Vec<Spanned<WebhookFile>>,
}

/// A webhook: its URL alone (`json`, unsigned), or a table.
#[derive(Debug)]
pub(crate) struct WebhookFile {
    pub url: Spanned<String>,
    pub format: Option<Spanned<WebhookFormat>>,
    pub secret: Option<Spanned<String>>,
    pub secret_env: Option<Spanned<String>>,
    pub events: Option<Spanned<Vec<EventKind>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookTableFile {
    url: Spanned<String>,
    format: Option<Spanned<WebhookFormat>>,
    secret: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
    events: Option<Spanned<Vec<EventKind>>>,
}

impl<'de> Deserialize<'de> for WebhookFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WebhookVisitor;

        impl<'de> Visitor<'de> for WebhookVisitor {
            type Value = WebhookFile;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a URL, or a table such as { url = \"https://…\", format = \"slack\", \
                     secret_env = \"VARIABLE\" }",
                )
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<WebhookFile, E> {
                // A bare URL: its position is the whole entry's, which `Spanned` around this
                // value records; here it has none of its own.
                Ok(WebhookFile {
                    url: Spanned::new(0..0, text.to_owned()),
                    format: None,
                    secret: None,
                    secret_env: None,
                    events: None,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WebhookFile, A::Error> {
                // Through the derived, strict deserializer: unknown keys are refused there too.
                let table = WebhookTableFile::deserialize(MapAccessDeserializer::new(map))?;
                Ok(WebhookFile {
                    url: table.url,
                    format: table.format,
                    secret: table.secret,
                    secret_env: table.secret_env,
                    events: table.events,
                })
            }
        }

        deserializer.deserialize_any(WebhookVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmergencyFile {
    pub cvss_threshold: Option<Spanned<f64>>,
    pub soak_cap: Option<Spanned<String>>,
}

/// The `[emergency]` settings, checked: a threshold from 0 to 10, a cap of no less than zero.
pub(crate) fn emergency(cx: &mut dyn Report, file: &EmergencyFile) -> EmergencySettings {
    let defaults = EmergencySettings::default();
    let cvss_threshold = match &file.cvss_threshold {
        None => defaults.cvss_threshold,
        Some(value) if (0.0..=10.0).contains(value.get_ref()) => *value.get_ref(),
        Some(value) => {
            cx.report(
                value.span(),
                format!(
                    "cvss_threshold = {} is not a CVSS score: expected 0.0 to 10.0",
                    value.get_ref()
                ),
            );
            defaults.cvss_threshold
        }
    };
    let soak_cap = match &file.soak_cap {
        None => defaults.soak_cap,
        Some(value) => match parse_duration(value.get_ref()) {
            Ok(cap) => cap,
            Err(message) => {
                cx.report(value.span(), message);
                defaults.soak_cap
            }
        },
    };
    EmergencySettings { cvss_threshold, soak_cap }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ComplianceFile {
    pub max_assessment_age: Option<Spanned<String>>,
    pub keep_kernels: Option<Spanned<i64>>,
    pub postmortem_due: Option<Spanned<String>>,
}

/// The `[compliance]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComplianceSettings {
    /// A host whose last successful assessment is older is out of compliance: what we know of
    /// it is stale.
    pub max_assessment_age: TimeDelta,
    /// Kernels a host may keep installed; `None`: what its last rollout kept, else 2.
    pub keep_kernels: Option<u32>,
    /// How long after it is opened a postmortem is due.
    pub postmortem_due: TimeDelta,
}

impl Default for ComplianceSettings {
    fn default() -> Self {
        ComplianceSettings {
            max_assessment_age: TimeDelta::days(7),
            keep_kernels: None,
            postmortem_due: DEFAULT_DUE_AFTER,
        }
    }
}

/// Reports a message at a span; `resolve`'s context implements it.
pub(crate) trait Report {
    fn report(&mut self, span: Range<usize>, message: String);
}

pub(crate) fn notifications(cx: &mut dyn Report, file: &NotificationsFile) -> Notifications {
    let defaults = Notifications::default();
    let webhooks = |cx: &mut dyn Report, list: &[Spanned<WebhookFile>]| -> Vec<Webhook> {
        list.iter().filter_map(|entry| webhook(cx, entry, file.allow_insecure)).collect()
    };
    // Without a relay an address is refused where it is written: nobody would ever be told.
    let has_relay = file.smtp.is_some();
    let addresses = |cx: &mut dyn Report, list: &[Spanned<String>]| -> Vec<String> {
        list.iter()
            .filter(|address| {
                let ok = is_address(address.get_ref());
                if !ok {
                    cx.report(
                        address.span(),
                        format!(
                            "{:?} is not an e-mail address: expected name@domain",
                            address.get_ref()
                        ),
                    );
                } else if !has_relay {
                    cx.report(
                        address.span(),
                        format!(
                            "e-mail to {:?} needs a relay: add [notifications.smtp] (relay, \
                             from), or use webhooks",
                            address.get_ref()
                        ),
                    );
                    return false;
                }
                ok
            })
            .map(|address| address.get_ref().clone())
            .collect()
    };
    let mut all_webhooks = webhooks(cx, &file.webhooks);
    all_webhooks.extend(webhooks(cx, &file.webhook));
    let email = addresses(cx, &file.email);
    let number = |cx: &mut dyn Report,
                  value: &Option<Spanned<i64>>,
                  name: &str,
                  range: (u32, u32),
                  default: u32| {
        let Some(value) = value else { return default };
        match u32::try_from(*value.get_ref()).ok().filter(|n| (range.0..=range.1).contains(n)) {
            Some(n) => n,
            None => {
                cx.report(
                    value.span(),
                    format!(
                        "{name} = {} is out of range: expected {} to {}",
                        value.get_ref(),
                        range.0,
                        range.1
                    ),
                );
                default
            }
        }
    };
    let timeout_seconds =
        number(cx, &file.timeout_seconds, "timeout_seconds", (1, 300), defaults.timeout_seconds);
    let retries = number(cx, &file.retries, "retries", (0, 10), defaults.retries);
    let backoff_default = (defaults.retry_backoff_ms / 1000) as u32;
    let retry_backoff_ms = u64::from(number(
        cx,
        &file.retry_backoff_seconds,
        "retry_backoff_seconds",
        (1, 60),
        backoff_default,
    )) * 1000;
    let duration = |cx: &mut dyn Report,
                    value: &Option<Spanned<String>>,
                    default: TimeDelta,
                    zero_ok: bool| {
        let Some(value) = value else { return default };
        match parse_duration(value.get_ref()) {
            Ok(d) if d > TimeDelta::zero() || zero_ok => d,
            Ok(_) => {
                cx.report(value.span(), "expected a duration above zero".to_owned());
                default
            }
            Err(message) => {
                cx.report(value.span(), message);
                default
            }
        }
    };
    let announce_before = duration(cx, &file.announce_before, defaults.announce_before, true);
    let escalate_after = duration(cx, &file.escalate_after, defaults.escalate_after, false);
    let templates = file.templates.as_ref().and_then(|dir| {
        let text = dir.get_ref();
        let ok = !text.is_empty() && !text.chars().any(char::is_control);
        if !ok {
            cx.report(dir.span(), format!("templates {text:?} is not a directory path"));
        }
        ok.then(|| std::path::PathBuf::from(text))
    });
    let smtp = file.smtp.as_ref().and_then(|smtp| self::smtp(cx, smtp, file.allow_insecure));
    let mut contacts = BTreeMap::new();
    for (owner, contact) in &file.contacts {
        let resolved = Contact {
            email: addresses(cx, &contact.email),
            webhooks: webhooks(cx, &contact.webhooks),
        };
        if contact.email.is_empty() && contact.webhooks.is_empty() {
            cx.report(
                owner.span(),
                format!(
                    "the contact of {:?} has no `email` and no `webhooks`: nobody would be told",
                    owner.get_ref()
                ),
            );
        }
        contacts.insert(owner.get_ref().clone(), resolved);
    }
    let mut escalation: Vec<EscalationLevel> = Vec::new();
    for level in &file.escalation {
        let name = level.name.get_ref();
        if name.is_empty() || name.chars().any(char::is_control) {
            cx.report(level.name.span(), format!("escalation level name {name:?} is not valid"));
        } else if escalation.iter().any(|l| l.name == *name) {
            cx.report(level.name.span(), format!("escalation level {name:?} is declared twice"));
        }
        if level.email.is_empty() && level.webhooks.is_empty() {
            cx.report(
                level.name.span(),
                format!(
                    "escalation level {name:?} has no `email` and no `webhooks`: nobody would be \
                     told"
                ),
            );
        }
        escalation.push(EscalationLevel {
            name: name.clone(),
            email: addresses(cx, &level.email),
            webhooks: webhooks(cx, &level.webhooks),
        });
    }
    Notifications {
        webhooks: all_webhooks,
        email,
        smtp,
        contacts,
        escalation,
        escalate_after,
        announce_before,
        timeout_seconds,
        retries,
        retry_backoff_ms,
        templates,
    }
}

/// One webhook, checked: a URL that is one and goes out encrypted (or `allow_insecure`), at
/// most one of `secret` and `secret_env`, a variable name that is one. Messages show the URL
/// redacted and never the secret.
fn webhook(
    cx: &mut dyn Report,
    entry: &Spanned<WebhookFile>,
    allow_insecure: bool,
) -> Option<Webhook> {
    let file = entry.get_ref();
    // A bare URL has no span of its own: the entry's is its.
    let url_span = if file.url.span().is_empty() { entry.span() } else { file.url.span() };
    let (text, shown) = (file.url.get_ref(), redact_url(file.url.get_ref()));
    let mut ok = true;
    if !is_webhook_url(text) {
        cx.report(
            url_span.clone(),
            format!(
                "{shown:?} is not a webhook URL: expected http:// or https://, a host and a path"
            ),
        );
        ok = false;
    } else if sends_in_clear(text) && !allow_insecure {
        cx.report(
            url_span.clone(),
            format!(
                "{shown:?} would send the webhook's token across the network in the clear: use \
                 https://, or set allow_insecure = true in [notifications]"
            ),
        );
        ok = false;
    }
    let secret = match (&file.secret, &file.secret_env) {
        (Some(_), Some(variable)) => {
            cx.report(
                variable.span(),
                "a webhook takes `secret` or `secret_env`, not both".to_owned(),
            );
            ok = false;
            None
        }
        (Some(secret), None) => {
            // Never quoted: the secret is shown by its length only.
            if secret.get_ref().chars().count() < 16
                || secret.get_ref().chars().any(char::is_control)
            {
                cx.report(
                    secret.span(),
                    "the webhook's secret is too weak: at least 16 printable characters".to_owned(),
                );
                ok = false;
            }
            Some(WebhookSecret::Inline(secret.get_ref().clone()))
        }
        (None, Some(variable)) => {
            let name = variable.get_ref();
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                cx.report(
                    variable.span(),
                    format!("secret_env {name:?} is not an environment variable's name"),
                );
                ok = false;
            }
            Some(WebhookSecret::Env(name.clone()))
        }
        (None, None) => None,
    };
    let events = file.events.as_ref().map(|events| {
        if events.get_ref().is_empty() {
            cx.report(
                events.span(),
                "`events` is empty, so the webhook would hear of nothing: list the kinds, or \
                 leave the key out for all"
                    .to_owned(),
            );
        }
        events.get_ref().clone()
    });
    let format = file.format.as_ref().map_or(WebhookFormat::Json, |f| *f.get_ref());
    ok.then(|| Webhook { url: text.clone(), format, secret, events })
}

fn smtp(cx: &mut dyn Report, file: &SmtpFile, allow_insecure: bool) -> Option<Smtp> {
    let security = file.security.as_ref().map_or(SmtpSecurity::default(), |s| *s.get_ref());
    let relay = file.relay.get_ref();
    let relay_ok = !relay.is_empty()
        && relay
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !relay_ok {
        cx.report(file.relay.span(), format!("relay {relay:?} is not a host name or address"));
    }
    let port = match &file.port {
        None => Some(match security {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        }),
        Some(port) => {
            let checked = u16::try_from(*port.get_ref()).ok().filter(|p| *p > 0);
            if checked.is_none() {
                cx.report(
                    port.span(),
                    format!("port {} is out of range: expected 1 to 65535", port.get_ref()),
                );
            }
            checked
        }
    };
    let from = file.from.get_ref();
    // `Name <address>` or a bare address.
    let address = match (from.rfind('<'), from.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        _ => from.as_str(),
    };
    let from_ok = is_address(address) && !from.chars().any(char::is_control);
    if !from_ok {
        cx.report(
            file.from.span(),
            format!(
                "from {from:?} is not a sender: expected name@domain or \"Name <name@domain>\""
            ),
        );
    }
    let word = |cx: &mut dyn Report, value: &Option<Spanned<String>>, what: &str| {
        value.as_ref().and_then(|value| {
            let text = value.get_ref();
            let ok = !text.is_empty()
                && text.chars().all(|c| c.is_ascii_graphic())
                && (what != "password_env"
                    || text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            if !ok {
                cx.report(value.span(), format!("{what} {text:?} is not valid"));
            }
            ok.then(|| text.clone())
        })
    };
    let username = word(cx, &file.username, "username");
    let password_env = word(cx, &file.password_env, "password_env");
    if let Some(written) = &file.security
        && security == SmtpSecurity::None
        && (file.username.is_some() || file.password_env.is_some())
        && !allow_insecure
    {
        cx.report(
            written.span(),
            "security = \"none\" would send the SMTP credentials (username, password_env) in the \
             clear: use \"starttls\" or \"tls\", or set allow_insecure = true in [notifications]"
                .to_owned(),
        );
        return None;
    }
    if relay_ok && from_ok {
        Some(Smtp {
            relay: relay.clone(),
            port: port?,
            security,
            from: from.clone(),
            username,
            password_env,
        })
    } else {
        None
    }
}

pub(crate) fn compliance(cx: &mut dyn Report, file: &ComplianceFile) -> ComplianceSettings {
    let defaults = ComplianceSettings::default();
    let duration = |cx: &mut dyn Report, value: &Option<Spanned<String>>, default: TimeDelta| {
        let Some(value) = value else { return default };
        match parse_duration(value.get_ref()) {
            Ok(d) if d > TimeDelta::zero() => d,
            Ok(_) => {
                cx.report(value.span(), "expected a duration above zero".to_owned());
                default
            }
            Err(message) => {
                cx.report(value.span(), message);
                default
            }
        }
    };
    let max_assessment_age = duration(cx, &file.max_assessment_age, defaults.max_assessment_age);
    let postmortem_due = duration(cx, &file.postmortem_due, defaults.postmortem_due);
    let keep_kernels = file.keep_kernels.as_ref().and_then(|n| {
        let checked = u32::try_from(*n.get_ref()).ok().filter(|n| (1..=100).contains(n));
        if checked.is_none() {
            cx.report(
                n.span(),
                format!("keep_kernels = {} is out of range: expected 1 to 100", n.get_ref()),
            );
        }
        checked
    });
    ComplianceSettings { max_assessment_age, keep_kernels, postmortem_due }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::policy::Policy;

    const ENVIRONMENT: &str = "[[environments]]\nname = \"production\"\nschedule = \"@daily\"\n\
        timezone = \"UTC\"\nwindow = \"2h\"\napproval = \"auto\"\n";

    fn parse(tables: &str) -> Result<Policy, String> {
        Policy::parse(Path::new("policy.toml"), &format!("{ENVIRONMENT}{tables}"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn notifications_and_compliance_are_read() {
        let policy = parse(
            r#"
[notifications]
webhooks = ["https://chat.example.com/hooks/patching"]
email = ["ops@example.com"]
[notifications.smtp]
relay = "mail.example.com"
from = "Patching <patchctl@example.com>"
username = "patchctl"
password_env = "PATCHCTL_SMTP_PASSWORD"
[notifications.contacts.team-web]
email = ["web@example.com"]

[compliance]
max_assessment_age = "2d"
keep_kernels = 3
"#,
        )
        .unwrap();
        let n = policy.notifications();
        assert_eq!(n.webhooks, [Webhook::plain("https://chat.example.com/hooks/patching")]);
        let smtp = n.smtp.as_ref().unwrap();
        assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::Starttls));
        assert_eq!(n.contacts["team-web"].email, ["web@example.com"]);
        assert_eq!(n.timeout_seconds, 10);
        let c = policy.compliance();
        assert_eq!((c.max_assessment_age, c.keep_kernels), (TimeDelta::days(2), Some(3)));
        assert_eq!(c.postmortem_due, TimeDelta::hours(24));
        let defaults = parse("").unwrap();
        assert_eq!(*defaults.notifications(), Notifications::default());
        assert_eq!(*defaults.compliance(), ComplianceSettings::default());
    }

    #[test]
    fn mistakes_are_refused_at_their_line_and_column() {
        let error = parse(
            "[notifications]\nwebhooks = [\"ftp://x\"]\nemail = [\"not an address\"]\n\
             [notifications.smtp]\nrelay = \"mail.example.com\"\nfrom = \"nobody\"\nport = 0\n\
             [notifications.contacts.team-db]\n\n[compliance]\nmax_assessment_age = \"2 days\"\n",
        )
        .unwrap_err();
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(lines.len(), 6, "{error}");
        assert!(
            lines[0].starts_with("policy.toml:8:13: \"ftp://x/…\" is not a webhook URL"),
            "{error}"
        );
        assert!(
            lines[1].starts_with("policy.toml:9:10: \"not an address\" is not an e-mail"),
            "{error}"
        );
        assert!(
            lines[2].starts_with("policy.toml:12:8: from \"nobody\" is not a sender"),
            "{error}"
        );
        assert!(lines[3].starts_with("policy.toml:13:8: port 0 is out of range"), "{error}");
        assert!(lines[4].starts_with("policy.toml:14:25: the contact of \"team-db\""), "{error}");
        assert!(lines[5].starts_with("policy.toml:17:22:"), "{error}");
        let typo =
            parse("[notifications.smtp]\nrelay = \"m\"\nfrom = \"a@b\"\nsecurity = \"ssl\"\n")
                .unwrap_err();
        assert!(typo.starts_with("policy.toml:10:12: unknown variant \"ssl\""), "{typo}");
        let typo = parse("[compliance]\nmax_assesment_age = \"1d\"\n").unwrap_err();
        assert!(typo.contains("(did you mean \"max_assessment_age\"?)"), "{typo}");
    }

    #[test]
    fn a_webhook_url_in_a_message_is_redacted() {
        let error = parse(
            "[notifications]\nwebhooks = [\"https://hooks.example.com/services/T0/B0/XXXX YYYY\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            error,
            "policy.toml:8:13: \"https://hooks.example.com/…\" is not a webhook URL: expected \
             http:// or https://, a host and a path"
        );
    }

    #[test]
    fn insecure_settings_are_allowed_when_the_policy_says_so() {
        let insecure = r#"
[notifications]
webhooks = ["http://hooks.example.com/services/T0/B0/XXXX"]
allow_insecure = true
[notifications.smtp]
relay = "mail.example.com"
security = "none"
from = "patchctl@example.com"
username = "patchctl"
password_env = "PATCHCTL_SMTP_PASSWORD"
[notifications.contacts.team-web]
webhooks = ["http://chat.example.com/hooks/web"]
"#;
        let policy = parse(insecure).unwrap();
        let n = policy.notifications();
        assert_eq!(n.webhooks, [Webhook::plain("http://hooks.example.com/services/T0/B0/XXXX")]);
        assert_eq!(
            n.contacts["team-web"].webhooks,
            [Webhook::plain("http://chat.example.com/hooks/web")]
        );
        let smtp = n.smtp.as_ref().unwrap();
        assert_eq!((smtp.security, smtp.port), (SmtpSecurity::None, 25));
        assert_eq!(smtp.password_env.as_deref(), Some("PATCHCTL_SMTP_PASSWORD"));
        // Without the flag, the same file is refused (test_data/policy/invalid/insecure.toml
        // has the messages).
        let refused = parse(&insecure.replace("allow_insecure = true\n", "")).unwrap_err();
        assert_eq!(refused.lines().count(), 3, "{refused}");
    }

    #[test]
    fn loopback_webhooks_and_plain_smtp_without_credentials_need_no_flag() {
        let policy = parse(
            r#"
[notifications]
webhooks = ["http://127.0.0.1:8080/hooks/patching", "http://localhost/h", "http://[::1]:9/h"]
[notifications.smtp]
relay = "127.0.0.1"
security = "none"
from = "patchctl@example.com"
"#,
        )
        .unwrap();
        assert_eq!(policy.notifications().webhooks.len(), 3);
        assert_eq!(policy.notifications().smtp.as_ref().unwrap().port, 25);
    }

    #[test]
    fn lifecycle_settings_webhook_tables_and_escalation_levels_are_read() {
        let policy = parse(
            r#"
[notifications]
webhooks = ["https://chat.example.com/hooks/all", { url = "https://teams.example.com/w", format = "teams" }]
retries = 5
retry_backoff_seconds = 2
announce_before = "48h"
escalate_after = "30m"
templates = "templates"
[[notifications.webhook]]
url = "https://hooks.slack.com/services/T0/B0/XXXX"
format = "slack"
secret_env = "PATCHCTL_WEBHOOK_SECRET"
events = ["rollout_started", "wave_halted"]
[notifications.smtp]
relay = "mail.example.com"
from = "patchctl@example.com"
[[notifications.escalation]]
name = "on-call"
email = ["oncall@example.com"]
[[notifications.escalation]]
name = "manager"
webhooks = [{ url = "https://pager.example.com/h", secret = "0123456789abcdef0123" }]
"#,
        )
        .unwrap();
        let n = policy.notifications();
        let formats: Vec<WebhookFormat> = n.webhooks.iter().map(|w| w.format).collect();
        assert_eq!(formats, [WebhookFormat::Json, WebhookFormat::Teams, WebhookFormat::Slack]);
        assert_eq!(
            n.webhooks[2].secret,
            Some(WebhookSecret::Env("PATCHCTL_WEBHOOK_SECRET".into()))
        );
        assert_eq!(
            n.webhooks[2].events,
            Some(vec![EventKind::RolloutStarted, EventKind::WaveHalted])
        );
        assert_eq!(n.webhooks[0].events, None);
        assert_eq!((n.retries, n.retry_backoff_ms), (5, 2000));
        assert_eq!(
            (n.announce_before, n.escalate_after),
            (TimeDelta::hours(48), TimeDelta::minutes(30))
        );
        assert_eq!(n.templates.as_deref(), Some(Path::new("templates")));
        let levels: Vec<&str> = n.escalation.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(levels, ["on-call", "manager"]);
        assert_eq!(
            n.escalation[1].webhooks[0].secret,
            Some(WebhookSecret::Inline("0123456789abcdef0123".into()))
        );
    }

    #[test]
    fn new_options_are_refused_at_their_line_and_column_with_a_suggestion() {
        // E-mail without a relay, anywhere it is written.
        let error = parse(
            "[notifications]\nemail = [\"ops@example.com\"]\n[notifications.contacts.team-web]\n\
             email = [\"web@example.com\"]\n[[notifications.escalation]]\nname = \"on-call\"\n\
             email = [\"oncall@example.com\"]\n",
        )
        .unwrap_err();
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(lines.len(), 3, "{error}");
        assert!(
            lines[0].starts_with("policy.toml:8:10: e-mail to \"ops@example.com\" needs a relay: add [notifications.smtp]"),
            "{error}"
        );
        assert!(lines[1].starts_with("policy.toml:10:10:"), "{error}");
        assert!(lines[2].starts_with("policy.toml:13:10:"), "{error}");
        // A format that is not one, with the nearest.
        let typo = parse(
            "[[notifications.webhook]]\nurl = \"https://h.example.com/x\"\nformat = \"slak\"\n",
        )
        .unwrap_err();
        assert!(typo.starts_with("policy.toml:9:10: unknown variant \"slak\""), "{typo}");
        assert!(typo.contains("(did you mean \"slack\"?)"), "{typo}");
        // A misspelt key of a webhook table, of [notifications] and of a level.
        let typo = parse(
            "[notifications]\nwebhooks = [{ url = \"https://h.example.com/x\", secret_evn = \"S\" }]\n",
        )
        .unwrap_err();
        assert!(typo.starts_with("policy.toml:8:"), "{typo}");
        assert!(typo.contains("(did you mean \"secret_env\"?)"), "{typo}");
        let typo = parse(
            "[[notifications.webhook]]\nurl = \"https://h.example.com/x\"\nevents = [\"reboot_warnings\"]\n",
        )
        .unwrap_err();
        assert!(typo.starts_with("policy.toml:9:"), "{typo}");
        assert!(typo.contains("(did you mean \"reboot_warning\"?)"), "{typo}");
        let empty =
            parse("[[notifications.webhook]]\nurl = \"https://h.example.com/x\"\nevents = []\n")
                .unwrap_err();
        assert!(empty.starts_with("policy.toml:9:10: `events` is empty"), "{empty}");
        let typo = parse("[notifications]\nescalate_afer = \"1h\"\n").unwrap_err();
        assert!(typo.contains("(did you mean \"escalate_after\"?)"), "{typo}");
        let typo = parse("[[notifications.escalation]]\nnmae = \"x\"\n").unwrap_err();
        assert!(typo.contains("(did you mean \"name\"?)"), "{typo}");
        // Values out of range, both secrets, a weak secret (never quoted), a bad variable.
        let error = parse(
            "[notifications]\nretries = 11\nescalate_after = \"0m\"\nannounce_before = \"1 day\"\n\
             webhooks = [{ url = \"https://h.example.com/x\", secret = \"short-secret\" },\n\
             { url = \"https://h.example.com/y\", secret = \"0123456789abcdef\", secret_env = \"S\" },\n\
             { url = \"https://h.example.com/z\", secret_env = \"1BAD-NAME\" }]\n\
             [[notifications.escalation]]\nname = \"empty\"\n",
        )
        .unwrap_err();
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(lines.len(), 7, "{error}");
        assert!(
            lines[0]
                .starts_with("policy.toml:8:11: retries = 11 is out of range: expected 0 to 10"),
            "{error}"
        );
        assert!(
            lines[1].starts_with("policy.toml:9:18: expected a duration above zero"),
            "{error}"
        );
        assert!(lines[2].starts_with("policy.toml:10:19: \"1 day\" "), "{error}");
        assert!(lines[3].contains("the webhook's secret is too weak"), "{error}");
        assert!(!error.contains("short-secret"), "a secret is never quoted: {error}");
        assert!(lines[4].contains("`secret` or `secret_env`, not both"), "{error}");
        assert!(
            lines[5].contains("secret_env \"1BAD-NAME\" is not an environment variable"),
            "{error}"
        );
        assert!(
            lines[6].starts_with("policy.toml:15:8: escalation level \"empty\" has no"),
            "{error}"
        );
    }

    #[test]
    fn a_template_directory_is_taken_beside_the_policy_file() {
        let text = format!("{ENVIRONMENT}[notifications]\ntemplates = \"mail\"\n");
        let policy = Policy::parse(Path::new("/etc/patchctl/policy.toml"), &text).unwrap();
        assert_eq!(
            policy.notifications().templates.as_deref(),
            Some(Path::new("/etc/patchctl/mail"))
        );
    }
}
