//! E-mail delivery through the policy's SMTP relay, one message per recipient, so that one
//! refused address does not hide whether the others were told. Each message has a plain-text
//! and an HTML body (`multipart/alternative`), rendered from templates (`templates.rs`).
//!
//! The password is read when a message is sent, from the variable the policy names, and never
//! shown: lettre's errors do not quote it (its `Credentials` print nothing, and its messages
//! hold the relay's answer), yet a relay may echo the command it refused, so every error is
//! scrubbed of the password, plain and base64-encoded as AUTH sends it. A refused login names
//! the user and the variable instead.

use std::env::VarError;
use std::time::Duration;

use lettre::message::MultiPart;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use model::notification::{Event, Smtp, SmtpSecurity, secrets};

pub(super) async fn send(
    smtp: &Smtp,
    to: &str,
    event: &Event,
    templates: Option<&std::path::Path>,
    timeout: Duration,
) -> Result<(), String> {
    let bodies = super::templates::render(event, templates)?;
    let message = Message::builder()
        .from(smtp.from.parse().map_err(|e| format!("the sender {:?}: {e}", smtp.from))?)
        .to(to.parse().map_err(|e| format!("the address {to:?}: {e}"))?)
        .subject(&event.subject)
        .multipart(MultiPart::alternative_plain_html(bodies.text, bodies.html))
        .map_err(|e| format!("cannot write the message: {e}"))?;
    let builder = match smtp.security {
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.relay),
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.relay)
            .map_err(|e| format!("the relay {}: {e}", smtp.relay))?,
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.relay)
            .map_err(|e| format!("the relay {}: {e}", smtp.relay))?,
    };
    let mut builder = builder.port(smtp.port).timeout(Some(timeout));
    let mut login = None;
    if let Some(username) = &smtp.username {
        // The password is read now, from the variable the policy names: never from a file.
        let password = match &smtp.password_env {
            Some(variable) => std::env::var(variable).map_err(|error| match error {
                VarError::NotPresent => format!("the SMTP password variable {variable} is not set"),
                VarError::NotUnicode(_) => {
                    format!("the SMTP password variable {variable} is not valid UTF-8")
                }
            })?,
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        login = Some((username, password));
    }
    let transport = builder.build();
    // The whole conversation is bounded too: lettre's timeout is per read and write.
    match tokio::time::timeout(timeout * 3, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => {
            let mut message = format!(
                "the relay {}:{} refused or failed: {}",
                smtp.relay,
                smtp.port,
                chain(&error)
            );
            if let Some((username, password)) = &login {
                message = secrets::scrub_password(&message, username, password);
                if is_login_refused(&error) {
                    let source = match &smtp.password_env {
                        Some(variable) => format!("the password from ${variable}"),
                        None => "no password (no password_env)".to_owned(),
                    };
                    message.push_str(&format!(" (logging in as {username:?} with {source})"));
                }
            }
            Err(message)
        }
        Err(_) => Err(format!("the relay {}:{} timed out", smtp.relay, smtp.port)),
    }
}

/// The relay's answers to a login it refused: authentication required (530), a mechanism too
/// weak (534), wrong credentials (535), encryption required (538), or failed for now (454).
fn is_login_refused(error: &lettre::transport::smtp::Error) -> bool {
    error.status().is_some_and(|code| {
        matches!(code.to_string().as_str(), "454" | "530" | "534" | "535" | "538")
    })
}

/// The error and its causes, each once: lettre's own message ends with its first cause's
/// already (`permanent error (550): no such user`), which is not repeated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.ends_with(&format!(": {text}")) {
            message.push_str(&format!(": {text}"));
        }
        source = cause.source();
    }
    message
}
