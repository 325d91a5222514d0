//! The policy's `[notifications]` and `[compliance]` tables: their file shape (strict, with
//! positions) and their checks. Kept apart from the environments, which they do not touch.
//!
//! ```toml
//! [notifications]
//! webhooks = ["https://chat.example.com/hooks/patching"]   # told of every event
//! email = ["ops@example.com"]                               # told of every event
//! timeout_seconds = 10                                      # per delivery; default 10
//! allow_insecure = false              # see below; default false
//! [notifications.smtp]
//! relay = "mail.example.com"
//! port = 587                          # default: 25 for none, 587 for starttls, 465 for tls
//! security = "starttls"               # none | starttls | tls; default starttls
//! from = "Patching <patchctl@example.com>"
//! username = "patchctl"               # optional
//! password_env = "PATCHCTL_SMTP_PASSWORD"   # the variable holding the password
//! [notifications.contacts.team-web]   # an inventory `owner`
//! email = ["web-oncall@example.com"]
//! webhooks = ["https://chat.example.com/hooks/web"]
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
use toml::Spanned;

use super::duration::parse_duration;
use crate::emergency::EmergencySettings;
use crate::notification::secrets::{redact_url, sends_in_clear};
use crate::notification::{Contact, Notifications, Smtp, SmtpSecurity, is_address, is_webhook_url};
use crate::postmortem::DEFAULT_DUE_AFTER;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotificationsFile {
    #[serde(default)]
    pub webhooks: Vec<Spanned<String>>,
    #[serde(default)]
    pub email: Vec<Spanned<String>>,
    pub timeout_seconds: Option<Spanned<i64>>,
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
    pub webhooks: Vec<Spanned<String>>,
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
    let urls = |cx: &mut dyn Report, list: &[Spanned<String>]| -> Vec<String> {
        list.iter()
            .filter(|url| {
                // The URL is a secret: messages show its redacted form, the position the rest.
                let (text, shown) = (url.get_ref(), redact_url(url.get_ref()));
                if !is_webhook_url(text) {
                    cx.report(
                        url.span(),
                        format!(
                            "{shown:?} is not a webhook URL: expected http:// or https://, a host and a path"
                        ),
                    );
                    return false;
                }
                if sends_in_clear(text) && !file.allow_insecure {
                    cx.report(
                        url.span(),
                        format!(
                            "{shown:?} would send the webhook's token across the network in the \
                             clear: use https://, or set allow_insecure = true in [notifications]"
                        ),
                    );
                    return false;
                }
                true
            })
            .map(|url| url.get_ref().clone())
            .collect()
    };
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
                }
                ok
            })
            .map(|address| address.get_ref().clone())
            .collect()
    };
    let webhooks = urls(cx, &file.webhooks);
    let email = addresses(cx, &file.email);
    let timeout_seconds = match &file.timeout_seconds {
        None => 10,
        Some(value) => match u32::try_from(*value.get_ref()).ok().filter(|s| (1..=300).contains(s))
        {
            Some(seconds) => seconds,
            None => {
                cx.report(
                    value.span(),
                    format!(
                        "timeout_seconds = {} is out of range: expected 1 to 300",
                        value.get_ref()
                    ),
                );
                10
            }
        },
    };
    let smtp = file.smtp.as_ref().and_then(|smtp| self::smtp(cx, smtp, file.allow_insecure));
    let mut contacts = BTreeMap::new();
    for (owner, contact) in &file.contacts {
        let resolved =
            Contact { email: addresses(cx, &contact.email), webhooks: urls(cx, &contact.webhooks) };
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
    Notifications { webhooks, email, smtp, contacts, timeout_seconds }
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
        assert_eq!(n.webhooks, ["https://chat.example.com/hooks/patching"]);
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
        assert_eq!(n.webhooks, ["http://hooks.example.com/services/T0/B0/XXXX"]);
        assert_eq!(n.contacts["team-web"].webhooks, ["http://chat.example.com/hooks/web"]);
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
}
