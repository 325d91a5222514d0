//! Webhook delivery: one HTTP POST of the event as JSON; any 2xx answer is delivered. The URL
//! is a secret: errors leave it out (`describe`), and the caller scrubs what the receiver
//! answered (`notify`, with `model::notification::secrets::scrub_webhook_message`).

use std::time::Duration;

use model::notification::Event;

/// The most of an error answer's body quoted back: enough to see why, not a page of HTML.
const QUOTED_BODY: usize = 200;

pub(super) async fn post(url: &str, event: &Event, timeout: Duration) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("patchctl/", env!("CARGO_PKG_VERSION")))
        // A webhook that redirects elsewhere is a misconfiguration to see, not to follow.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let response = client.post(url).json(event).send().await.map_err(describe)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let mut quoted: String = body.chars().take(QUOTED_BODY).collect();
    quoted = quoted.split_whitespace().collect::<Vec<_>>().join(" ");
    Err(format!(
        "HTTP {status}{}",
        if quoted.is_empty() { String::new() } else { format!(": {quoted}") }
    ))
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
