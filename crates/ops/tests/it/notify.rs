//! Notifications over real HTTP and SMTP, with reqwest and lettre as clients, to receivers on
//! 127.0.0.1: delivered ones arrive whole, failed ones are recorded with their reason.

use std::collections::BTreeMap;

use chrono::DateTime;
use model::notification::secrets::{key_id, redact_url};
use model::notification::{Contact, Event, EventKind, Notifications, Smtp, SmtpSecurity, Webhook};
use ops::notify::notify;
use store::Store;

use crate::receivers::{HttpReceiver, SmtpReceiver};

fn event(owners: &[&str]) -> Event {
    Event {
        hosts: vec!["deb2".into()],
        owners: owners.iter().map(|o| o.to_string()).collect(),
        ..Event::new(
            EventKind::HostsFailed,
            "patchctl: rollout abc rolled back deb2",
            "deb2: rolled back: postcheck failed",
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        )
    }
}

fn smtp(port: u16) -> Smtp {
    Smtp {
        relay: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        from: "Patching <patchctl@example.com>".into(),
        username: None,
        password_env: None,
    }
}

#[tokio::test]
async fn owners_get_the_webhook_and_the_email() {
    let hook = HttpReceiver::start(204).await;
    let team_hook = HttpReceiver::start(200).await;
    let relay = SmtpReceiver::start(&[]).await;
    let mut contacts = BTreeMap::new();
    contacts.insert(
        "team-web".to_owned(),
        Contact {
            email: vec!["web@example.com".into()],
            webhooks: vec![Webhook::plain(&team_hook.url)],
        },
    );
    let settings = Notifications {
        webhooks: vec![Webhook::plain(&hook.url)],
        email: vec![],
        smtp: Some(smtp(relay.port)),
        contacts,
        timeout_seconds: 5,
        retries: 0,
        ..Notifications::default()
    };
    let store = Store::open_in_memory().await.unwrap();
    let event = event(&["team-web", "dba@example.com"]);
    let report = notify(&store, &settings, &event).await;
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    assert_eq!(report.deliveries.len(), 4);

    for receiver in [&hook, &team_hook] {
        let requests = receiver.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            (requests[0].method.as_str(), requests[0].path.as_str()),
            ("POST", "/hooks/patching")
        );
        assert_eq!(requests[0].content_type.as_deref(), Some("application/json"));
        let received = crate::received_event(&requests[0].body);
        assert_eq!(received, event);
    }
    let mails = relay.mails.lock().unwrap().clone();
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["dba@example.com", "web@example.com"]);
    for mail in &mails {
        assert_eq!(mail.from, "patchctl@example.com");
        assert!(
            mail.data.contains("Subject: patchctl: rollout abc rolled back deb2"),
            "{}",
            mail.data
        );
        assert!(mail.data.contains("deb2: rolled back: postcheck failed"), "{}", mail.data);
        assert!(mail.data.contains("Hosts: deb2"), "{}", mail.data);
        // A text and an HTML body, from the built-in templates.
        assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);
        assert!(mail.data.contains("Content-Type: text/html; charset=utf-8"), "{}", mail.data);
        // The HTML part is quoted-printable: its soft line breaks and `=3D` undone.
        let decoded = mail.data.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
        assert!(
            decoded.contains(
                "<th style=\"text-align: left; padding-right: 1em\">Hosts</th><td>deb2</td>"
            ),
            "{decoded}"
        );
    }
    let recorded = store.notifications().await.unwrap();
    assert_eq!(recorded.len(), 4);
    assert!(recorded.iter().all(|n| n.record.error.is_none() && n.record.kind == "hosts_failed"));
}

#[tokio::test]
async fn failed_deliveries_are_recorded_and_reported_not_lost() {
    let broken_hook = HttpReceiver::start(500).await;
    let relay = SmtpReceiver::start(&["gone@example.com"]).await;
    // A port nothing listens on: bound, then closed.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let settings = Notifications {
        webhooks: vec![
            Webhook::plain(&broken_hook.url),
            Webhook::plain(format!("http://127.0.0.1:{closed}/hook")),
        ],
        email: vec!["gone@example.com".into(), "ops@example.com".into()],
        smtp: Some(smtp(relay.port)),
        contacts: BTreeMap::new(),
        timeout_seconds: 5,
        retries: 0,
        ..Notifications::default()
    };
    let store = Store::open_in_memory().await.unwrap();
    let report = notify(&store, &settings, &event(&["team-nobody"])).await;
    let outcome: BTreeMap<String, Option<String>> =
        report.deliveries.iter().map(|d| (d.target.clone(), d.error.clone())).collect();
    assert_eq!(outcome.len(), 5, "{outcome:?}");
    let error = |target: &str| outcome[target].clone().unwrap_or_default();
    // Webhooks are reported by their redacted URLs.
    let broken = redact_url(&broken_hook.url);
    assert!(error(&broken).starts_with("HTTP 500"), "{outcome:?}");
    assert!(error(&broken).contains("status 500 on purpose"), "{outcome:?}");
    assert!(
        error(&format!("http://127.0.0.1:{closed}/…")).starts_with("could not connect"),
        "{outcome:?}"
    );
    assert!(
        error("gone@example.com")
            .ends_with("refused or failed: permanent error (550): no such user"),
        "said once: {outcome:?}"
    );
    assert_eq!(outcome["ops@example.com"], None, "one refused address does not stop the others");
    assert!(error("team-nobody").contains("[notifications.contacts.team-nobody]"), "{outcome:?}");
    assert_eq!(report.problems().len(), 4);
    assert_eq!(relay.mails.lock().unwrap().len(), 1);

    let recorded = store.notifications().await.unwrap();
    assert_eq!(recorded.len(), 5);
    let failed: Vec<_> = recorded.iter().filter(|n| n.record.error.is_some()).collect();
    assert_eq!(failed.len(), 4);
    let event: protocol::notification::EventV1 =
        serde_json::from_str(&failed[0].record.event_json).unwrap();
    let event = Event::try_from(event).unwrap();
    assert_eq!(event.hosts, ["deb2"]);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    // Accepts the connection and says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let settings = Notifications {
        webhooks: vec![Webhook::plain(format!("http://127.0.0.1:{port}/hook"))],
        email: vec!["ops@example.com".into()],
        smtp: Some(smtp(port)),
        contacts: BTreeMap::new(),
        timeout_seconds: 1,
        retries: 0,
        ..Notifications::default()
    };
    let store = Store::open_in_memory().await.unwrap();
    let started = std::time::Instant::now();
    let report = notify(&store, &settings, &event(&[])).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(report.failures().count(), 2, "{report:?}");
    for delivery in report.failures() {
        assert!(delivery.error.as_deref().unwrap().contains("timed out"), "{delivery:?}");
    }
    silent.abort();
}

#[tokio::test]
async fn starttls_is_required_when_asked_for_never_skipped() {
    // The receiver does not offer STARTTLS: the message must not go out in the clear.
    let relay = SmtpReceiver::start(&[]).await;
    let settings = Notifications {
        webhooks: vec![],
        email: vec!["ops@example.com".into()],
        smtp: Some(Smtp { security: SmtpSecurity::Starttls, ..smtp(relay.port) }),
        contacts: BTreeMap::new(),
        timeout_seconds: 5,
        retries: 0,
        ..Notifications::default()
    };
    let store = Store::open_in_memory().await.unwrap();
    let report = notify(&store, &settings, &event(&[])).await;
    assert_eq!(report.failures().count(), 1, "{report:?}");
    assert!(relay.mails.lock().unwrap().is_empty(), "sent without TLS");
    assert_eq!(store.notifications().await.unwrap()[0].record.error, report.deliveries[0].error);
}

/// The token of the webhooks below: it must appear nowhere patchctl prints or stores.
const TOKEN: &str = "XXXXXXXXXXXXXXXXXXXXXXXX";

#[tokio::test]
async fn no_webhook_token_and_no_password_is_reported_or_recorded() {
    let refusing = HttpReceiver::start(404).await;
    let accepting = HttpReceiver::start(204).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // Slack-style URLs: the token in the path, and a query for good measure.
    let secret = |base: &str| {
        let origin = base.trim_end_matches("/hooks/patching");
        format!("{origin}/services/T000/B000/{TOKEN}?channel={TOKEN}")
    };
    let hooks = [
        secret(&refusing.url),
        secret(&accepting.url),
        secret(&format!("http://127.0.0.1:{closed}/hooks/patching")),
    ];
    // A relay that refuses the login and quotes the AUTH command back. The password is a
    // variable cargo sets for every test: the test may not set one itself (no unsafe code).
    let relay = SmtpReceiver::start_refusing_logins().await;
    let password = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it for tests");
    let settings = Notifications {
        webhooks: hooks.iter().map(Webhook::plain).collect(),
        email: vec!["ops@example.com".into()],
        smtp: Some(Smtp {
            username: Some("patchctl".into()),
            password_env: Some("CARGO_MANIFEST_DIR".into()),
            ..smtp(relay.port)
        }),
        contacts: BTreeMap::new(),
        timeout_seconds: 5,
        retries: 0,
        ..Notifications::default()
    };
    let store = Store::open_in_memory().await.unwrap();
    let report = notify(&store, &settings, &event(&[])).await;

    // The receivers did get the whole URL: redaction is of what patchctl shows, not of what it
    // delivers.
    let path = format!("/services/T000/B000/{TOKEN}?channel={TOKEN}");
    assert_eq!(accepting.requests.lock().unwrap()[0].path, path);
    assert_eq!(refusing.requests.lock().unwrap()[0].path, path);

    let mut webhooks: Vec<(String, Option<String>)> = report
        .deliveries
        .iter()
        .filter(|d| d.channel == "webhook")
        .map(|d| (d.target.clone(), d.key_id.clone()))
        .collect();
    webhooks.sort();
    let mut expected: Vec<(String, Option<String>)> =
        hooks.iter().map(|url| (redact_url(url), Some(key_id(url)))).collect();
    expected.sort();
    assert_eq!(webhooks, expected);
    let error = |url: &str| {
        let target = redact_url(url);
        report.deliveries.iter().find(|d| d.target == target).unwrap().error.clone()
    };
    assert_eq!(
        error(&hooks[0]).as_deref(),
        Some("HTTP 404 Not Found: status 404 on purpose for …"),
        "the quoted path is masked"
    );
    assert_eq!(error(&hooks[1]), None);
    assert!(error(&hooks[2]).unwrap().starts_with("could not connect: error sending request: "));
    let email = report.deliveries.iter().find(|d| d.channel == "email").unwrap();
    let email_error = email.error.clone().unwrap();
    assert!(email_error.contains("(535)"), "{email_error}");
    assert!(
        email_error.contains("AUTH PLAIN …"),
        "the quoted credentials are masked: {email_error}"
    );
    assert!(
        email_error
            .ends_with("(logging in as \"patchctl\" with the password from $CARGO_MANIFEST_DIR)"),
        "{email_error}"
    );

    // Nothing printed or stored holds the token, the path or the password.
    let plain_auth = {
        use std::fmt::Write;
        // base64 of AUTH PLAIN's `\0patchctl\0PASSWORD`, the form the relay quoted.
        let bytes = format!("\0patchctl\0{password}").into_bytes();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                let _ = write!(out, "{}", alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    };
    let leaks = |text: &str| {
        [TOKEN, "/services/", password.as_str(), plain_auth.as_str()]
            .into_iter()
            .filter(|secret| text.contains(secret))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let printed = format!("{:?}\n{}", report, report.problems().join("\n"));
    assert_eq!(leaks(&printed), Vec::<String>::new(), "{printed}");
    let recorded = store.notifications().await.unwrap();
    assert_eq!(recorded.len(), 4);
    for n in &recorded {
        let stored = format!("{:?}", n.record);
        assert_eq!(leaks(&stored), Vec::<String>::new(), "{stored}");
    }
    let mut stored_keys: Vec<String> =
        recorded.iter().filter_map(|n| n.record.key_id.clone()).collect();
    stored_keys.sort();
    let mut configured_keys: Vec<String> = hooks.iter().map(|url| key_id(url)).collect();
    configured_keys.sort();
    assert_eq!(stored_keys, configured_keys);
}
