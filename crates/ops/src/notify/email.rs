//! E-mail delivery through the policy's SMTP relay, one message per recipient, so that one
//! refused address does not hide whether the others were told.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use model::notification::{Event, Smtp, SmtpSecurity};

pub(super) async fn send(
    smtp: &Smtp,
    to: &str,
    event: &Event,
    timeout: Duration,
) -> Result<(), String> {
    let message = Message::builder()
        .from(smtp.from.parse().map_err(|e| format!("the sender {:?}: {e}", smtp.from))?)
        .to(to.parse().map_err(|e| format!("the address {to:?}: {e}"))?)
        .subject(&event.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body(event))
        .map_err(|e| format!("cannot write the message: {e}"))?;
    let builder = match smtp.security {
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.relay),
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.relay)
            .map_err(|e| format!("the relay {}: {e}", smtp.relay))?,
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.relay)
            .map_err(|e| format!("the relay {}: {e}", smtp.relay))?,
    };
    let mut builder = builder.port(smtp.port).timeout(Some(timeout));
    if let Some(username) = &smtp.username {
        // The password is read now, from the variable the policy names: never from a file.
        let password = match &smtp.password_env {
            Some(variable) => std::env::var(variable)
                .map_err(|_| format!("the SMTP password variable {variable} is not set"))?,
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    let transport = builder.build();
    // The whole conversation is bounded too: lettre's timeout is per read and write.
    match tokio::time::timeout(timeout * 3, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(format!(
            "the relay {}:{} refused or failed: {}",
            smtp.relay,
            smtp.port,
            chain(&error)
        )),
        Err(_) => Err(format!("the relay {}:{} timed out", smtp.relay, smtp.port)),
    }
}

/// The text of the message: the event's body, then what it concerns.
fn body(event: &Event) -> String {
    let mut text = event.body.trim_end().to_owned();
    text.push_str("\n\n");
    if !event.hosts.is_empty() {
        text.push_str(&format!("Hosts: {}\n", event.hosts.join(", ")));
    }
    if !event.owners.is_empty() {
        text.push_str(&format!("Owners: {}\n", event.owners.join(", ")));
    }
    text.push_str(&format!("Event: {} at {}\n-- \npatchctl\n", event.kind.as_str(), event.at));
    text
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}
