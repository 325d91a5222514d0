//! A webhook: its URL, the shape of the JSON it receives (`json`, `slack`, `teams`), and the
//! secret its body is signed with. The body is made here, byte for byte, so that what is signed
//! (`ops::notify`, HMAC-SHA256 over exactly these bytes) is what is sent.
//!
//! - `json`: the [`Event`] in its form `protocol::notification::EventV1`.
//! - `slack`: Slack's incoming-webhook message, `text` (the fallback every client shows) and
//!   `blocks` (a header and the body as preformatted text). Mattermost and Rocket.Chat read
//!   the same `text`.
//! - `teams`: a Teams message holding one Adaptive Card (what Teams' incoming webhooks and
//!   Workflows accept): the subject as a title, the body, the hosts and the time as facts.

use serde::Deserialize;
use serde_json::json;

use super::{Event, EventKind};

/// One webhook.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Webhook {
    /// A secret: its path carries the receiver's token. Shown only redacted (`secrets`).
    pub url: String,
    pub format: WebhookFormat,
    /// Signs each body (`X-Patchctl-Signature-256: sha256=HEX`); `None`: unsigned.
    pub secret: Option<WebhookSecret>,
    /// The kinds of event it is told of; `None`: every kind it is routed (a team channel that
    /// should not hear each host's reboot warning lists the others).
    pub events: Option<Vec<EventKind>>,
}

impl Webhook {
    /// A `json` webhook without a signature, told of everything, as `webhooks = ["URL"]`
    /// writes it.
    pub fn plain(url: impl Into<String>) -> Webhook {
        Webhook { url: url.into(), format: WebhookFormat::Json, secret: None, events: None }
    }

    /// Whether it is told of events of `kind`. A test (`patchctl notifications test`) goes to
    /// every webhook: it proves the channel, whatever it listens to.
    pub fn wants(&self, kind: EventKind) -> bool {
        kind == EventKind::Test || self.events.as_ref().is_none_or(|events| events.contains(&kind))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    #[default]
    Json,
    Slack,
    Teams,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Slack => "slack",
            WebhookFormat::Teams => "teams",
        }
    }
}

/// Where a webhook's signing secret is: in the policy file (a secret like the URL beside it,
/// shown only by its key id), or in an environment variable the policy names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum WebhookSecret {
    Inline(String),
    Env(String),
}

/// The name of the header carrying a body's signature: `sha256=` and the HMAC-SHA256 of the
/// body, keyed with the secret, in lower-case hex (the scheme GitHub's webhooks use).
pub const SIGNATURE_HEADER: &str = "X-Patchctl-Signature-256";

/// The bytes a webhook of `format` receives for `event`.
pub fn body(event: &Event, format: WebhookFormat) -> Vec<u8> {
    let value = match format {
        // Through a `Value`, whose members are in name order: what webhooks have received.
        WebhookFormat::Json => serde_json::to_value(protocol::notification::EventV1::from(event))
            .expect("an event serializes"),
        WebhookFormat::Slack => slack(event),
        WebhookFormat::Teams => teams(event),
    };
    serde_json::to_vec(&value).expect("a JSON value serializes")
}

/// The details under the body: hosts, owners, kind and time.
fn facts(event: &Event) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    if !event.hosts.is_empty() {
        facts.push(("Hosts", event.hosts.join(", ")));
    }
    if !event.owners.is_empty() {
        facts.push(("Owners", event.owners.join(", ")));
    }
    facts.push(("Event", event.kind.as_str().to_owned()));
    facts.push(("At", event.at.format("%Y-%m-%d %H:%M UTC").to_string()));
    facts
}

/// Slack's `mrkdwn` gives `&`, `<` and `>` meaning; they are escaped as Slack asks.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn slack(event: &Event) -> serde_json::Value {
    let facts: Vec<String> =
        facts(event).iter().map(|(k, v)| format!("*{k}:* {}", slack_escape(v))).collect();
    let mark = if event.kind.is_alarm() { ":rotating_light: " } else { "" };
    // Slack caps a header at 150 characters and a section's text at 3000.
    let header: String = event.subject.chars().take(150).collect();
    let body: String = slack_escape(&event.body).chars().take(2900).collect();
    json!({
        "text": format!("{mark}{}", slack_escape(&event.subject)),
        "blocks": [
            { "type": "header", "text": { "type": "plain_text", "text": header } },
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("```{body}```") } },
            { "type": "context", "elements": [{ "type": "mrkdwn", "text": facts.join("  ") }] },
        ],
    })
}

fn teams(event: &Event) -> serde_json::Value {
    let facts: Vec<serde_json::Value> =
        facts(event).into_iter().map(|(k, v)| json!({ "title": k, "value": v })).collect();
    let style = if event.kind.is_alarm() { "attention" } else { "default" };
    json!({
        "type": "message",
        "summary": event.subject,
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    { "type": "TextBlock", "text": event.subject, "weight": "bolder",
                      "size": "medium", "wrap": true, "color": style },
                    { "type": "TextBlock", "text": event.body, "wrap": true },
                    { "type": "FactSet", "facts": facts },
                ],
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn event() -> Event {
        Event {
            hosts: vec!["deb1".into(), "deb2".into()],
            owners: vec!["team-web".into()],
            ..Event::new(
                EventKind::WaveHalted,
                "patchctl: rollout r1 halted in wave production-1",
                "deb1: failed at apply: <postinst> exited 1 & more",
                DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            )
        }
    }

    /// The bytes a `json` webhook has received since webhooks existed: the event, its members
    /// in name order, which reads back as the event.
    #[test]
    fn json_is_the_event_itself() {
        let bytes = body(&event(), WebhookFormat::Json);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"at":"2027-01-15T08:00:00Z","body":"deb1: failed at apply: <postinst> exited 1 & more","hosts":["deb1","deb2"],"kind":"wave_halted","owners":["team-web"],"subject":"patchctl: rollout r1 halted in wave production-1"}"#
        );
        let received: protocol::notification::EventV1 = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(Event::try_from(received).unwrap(), event());
    }

    #[test]
    fn slack_gets_text_and_blocks_with_its_characters_escaped() {
        let value: serde_json::Value =
            serde_json::from_slice(&body(&event(), WebhookFormat::Slack)).unwrap();
        assert_eq!(
            value["text"],
            ":rotating_light: patchctl: rollout r1 halted in wave production-1"
        );
        assert_eq!(value["blocks"][0]["type"], "header");
        let text = value["blocks"][1]["text"]["text"].as_str().unwrap();
        assert_eq!(text, "```deb1: failed at apply: &lt;postinst&gt; exited 1 &amp; more```");
        let context = value["blocks"][2]["elements"][0]["text"].as_str().unwrap();
        assert!(context.contains("*Hosts:* deb1, deb2"), "{context}");
        assert!(context.contains("*At:* 2027-01-15 08:00 UTC"), "{context}");
    }

    #[test]
    fn teams_gets_an_adaptive_card() {
        let value: serde_json::Value =
            serde_json::from_slice(&body(&event(), WebhookFormat::Teams)).unwrap();
        assert_eq!(value["type"], "message");
        let card = &value["attachments"][0];
        assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["body"][0]["color"], "attention");
        assert_eq!(card["content"]["body"][1]["text"], event().body);
        assert_eq!(card["content"]["body"][2]["facts"][0]["value"], "deb1, deb2");
    }
}
