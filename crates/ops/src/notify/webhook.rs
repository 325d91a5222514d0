//! Webhook delivery: an HTTP POST of the body its format asks for
//! (`model::notification::webhook::body`), signed when the webhook has a secret, retried with
//! exponential backoff when the receiver answers 5xx or 429 or cannot be reached, and given up
//! on (a dead letter, recorded with every attempt's count) when the retries are spent. Any 2xx
//! answer is delivered; another 4xx is final at once (the receiver refused the message:
//! sending it again changes nothing).
//!
//! The signature: `X-Patchctl-Signature-256: sha256=HEX`, the HMAC-SHA256 of the exact body
//! bytes keyed with the secret; a receiver computes the same over what it read and compares
//! in constant time. The URL and the secret are secrets: errors leave the URL out (`describe`),
//! and the caller scrubs what the receiver answered (`notify`, with
//! `model::notification::secrets::scrub_webhook_message`).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use model::notification::webhook::{SIGNATURE_HEADER, body};
use model::notification::{Event, Webhook, WebhookSecret};
use sha2::Sha256;

/// The most of an error answer's body quoted back: enough to see why, not a page of HTML.
const QUOTED_BODY: usize = 200;

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How many tries, and the wait before the first retry (doubled before each next one).
#[derive(Debug, Clone, Copy)]
pub(super) struct Retry {
    pub retries: u32,
    pub backoff: Duration,
}

/// Delivers `event` to `webhook`: `Ok(attempts)` once a 2xx came back, else why not.
pub(super) async fn deliver(
    webhook: &Webhook,
    event: &Event,
    timeout: Duration,
    retry: Retry,
) -> Result<u32, String> {
    let body = body(event, webhook.format);
    let signature = match &webhook.secret {
        None => None,
        Some(secret) => Some(sign(&secret_of(secret)?, &body)),
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("patchctl/", env!("CARGO_PKG_VERSION")))
        // A webhook that redirects elsewhere is a misconfiguration to see, not to follow.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let mut attempt = 0;
    let mut wait = retry.backoff;
    loop {
        attempt += 1;
        let mut request = client
            .post(&webhook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        if let Some(signature) = &signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let (error, again) = match request.send().await {
            Ok(response) if response.status().is_success() => return Ok(attempt),
            Ok(response) => {
                let status = response.status();
                let again = status.is_server_error() || status.as_u16() == 429;
                (answered(response).await, again)
            }
            Err(error) => {
                let again = error.is_connect() || error.is_timeout();
                (describe(error), again)
            }
        };
        if !again || retry.retries == 0 {
            return Err(error);
        }
        if attempt > retry.retries {
            return Err(format!(
                "dead letter: gave up after {attempt} attempts (1 + {} retries); the last: {error}",
                retry.retries
            ));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_BACKOFF);
    }
}

/// `sha256=` and the HMAC-SHA256 of `body` keyed with `secret`, in lower-case hex.
pub(super) fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The secret's bytes, read now from the file's value or the variable the policy names.
fn secret_of(secret: &WebhookSecret) -> Result<Vec<u8>, String> {
    match secret {
        WebhookSecret::Inline(secret) => Ok(secret.as_bytes().to_vec()),
        WebhookSecret::Env(variable) => match std::env::var(variable) {
            Ok(value) if !value.is_empty() => Ok(value.into_bytes()),
            Ok(_) => Err(format!("the webhook secret variable {variable} is empty: not sent")),
            Err(_) => Err(format!("the webhook secret variable {variable} is not set: not sent")),
        },
    }
}

/// `HTTP 500 Internal Server Error: what the receiver said`, cut short.
async fn answered(response: reqwest::Response) -> String {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let mut quoted: String = body.chars().take(QUOTED_BODY).collect();
    quoted = quoted.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "HTTP {status}{}",
        if quoted.is_empty() { String::new() } else { format!(": {quoted}") }
    )
}

/// reqwest's error with its causes, which say what actually happened (refused, timed out),
/// without the URL reqwest quotes in it (`for url (…)`): its path carries the token.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let mut message = format!("{what}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231s_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
