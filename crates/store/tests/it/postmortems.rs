//! Postmortems and notification records on a real SQLite file: one per subject, closed once,
//! their record append-only even by hand, and a closed one unchangeable.

use store::{NewPostmortem, NotificationRecord, Opened, PostmortemClosure, StoreError};

use super::backends::test_dbs;
use super::{open, sqlite_execute};

fn new(subject_ref: &str) -> NewPostmortem {
    NewPostmortem {
        subject_kind: "rollout".into(),
        subject_ref: subject_ref.into(),
        title: "rolled back".into(),
        hosts: vec!["deb2".into()],
        owner: None,
        opened_at_unix: 100,
        opened_by: "patchctl".into(),
        due_at_unix: 100 + 86_400,
    }
}

fn closure(by: &str) -> PostmortemClosure {
    PostmortemClosure {
        root_cause: "a bad postinst".into(),
        actions: vec!["test postinsts on staging".into()],
        closed_at_unix: 200,
        closed_by: by.into(),
    }
}

#[tokio::test]
async fn one_per_subject_closed_once_and_read_back_after_reopening() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let Opened::Opened(first) = store.open_postmortem(&new("r1"), "{}").await.unwrap() else {
            panic!("not opened")
        };
        let Opened::Exists(same) = store.open_postmortem(&new("r1"), "{}").await.unwrap() else {
            panic!("opened twice")
        };
        assert_eq!(same, first);
        let Opened::Opened(second) = store.open_postmortem(&new("r2"), "{}").await.unwrap() else {
            panic!("not opened")
        };
        assert_ne!(second.id, first.id);
        store.close_postmortem(first.id, &closure("alice"), "{}").await.unwrap();
        let error = store.close_postmortem(first.id, &closure("bob"), "{}").await.unwrap_err();
        assert!(
            matches!(error, StoreError::PostmortemClosed { ref closed_by, .. } if closed_by == "alice"),
            "{error}"
        );
        let error = store.close_postmortem(99, &closure("bob"), "{}").await.unwrap_err();
        assert!(matches!(error, StoreError::UnknownPostmortem { id: 99 }), "{error}");
        let mut bad = new("r3");
        bad.due_at_unix = 50;
        assert!(store.open_postmortem(&bad, "{}").await.is_err());
        store.close().await;

        let store = db.open().await;
        let all = store.postmortems().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].closed_by.as_deref(), Some("alice"));
        assert_eq!(all[0].actions, ["test postinsts on staging"]);
        assert_eq!(all[1].closed_at_unix, None);
        let record = store.postmortem_events(first.id).await.unwrap();
        let actions: Vec<_> =
            record.iter().map(|e| (e.seq, e.actor.as_str(), e.action.as_str())).collect();
        assert_eq!(actions, [(1, "patchctl", "opened"), (2, "alice", "closed")]);
    }
}

#[tokio::test]
async fn the_record_and_closed_postmortems_cannot_be_changed_even_by_hand() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let Opened::Opened(p) = store.open_postmortem(&new("r1"), "{}").await.unwrap() else {
            panic!("not opened")
        };
        store.close_postmortem(p.id, &closure("alice"), "{}").await.unwrap();
        store.close().await;
        let error = db.execute("UPDATE postmortem_events SET actor = 'mallory'").await.unwrap_err();
        assert!(error.to_string().contains("append-only: entries cannot be changed"), "{error}");
        let error = db.execute("DELETE FROM postmortem_events").await.unwrap_err();
        assert!(error.to_string().contains("append-only: entries cannot be deleted"), "{error}");
        let error =
            db.execute("UPDATE postmortems SET root_cause = 'nothing happened'").await.unwrap_err();
        assert!(error.to_string().contains("the postmortem is closed"), "{error}");
    }
}

#[tokio::test]
async fn notifications_are_recorded_delivered_or_not() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let record = |error: Option<&str>| NotificationRecord {
            at_unix: 5,
            kind: "hosts_failed".into(),
            subject: "s".into(),
            channel: "webhook".into(),
            target: "http://127.0.0.1:1/…".into(),
            key_id: Some("0123456789ab".into()),
            error: error.map(str::to_owned),
            event_json: "{\"kind\":\"hosts_failed\"}".into(),
        };
        store.record_notification(&record(None)).await.unwrap();
        store.record_notification(&record(Some("HTTP 500"))).await.unwrap();
        let mut bad = record(None);
        bad.event_json = "{oops".into();
        assert!(matches!(
            store.record_notification(&bad).await,
            Err(StoreError::InvalidValue { .. })
        ));
        let all = store.notifications().await.unwrap();
        assert_eq!(
            all.iter().map(|n| n.record.error.clone()).collect::<Vec<_>>(),
            [None, Some("HTTP 500".into())]
        );
    }
}

/// A webhook's URL as a careless caller might pass it: whole, with the token in its path, and
/// quoted by the error too.
const SECRET_URL: &str = "https://hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX";

#[tokio::test]
async fn no_webhook_url_reaches_the_database_whole() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let record = NotificationRecord {
            at_unix: 5,
            kind: "hosts_failed".into(),
            subject: "s".into(),
            channel: "webhook".into(),
            target: SECRET_URL.into(),
            key_id: None,
            error: Some(format!("could not connect: error sending request for url ({SECRET_URL})")),
            event_json: "{}".into(),
        };
        store.record_notification(&record).await.unwrap();
        let stored = store.notifications().await.unwrap().remove(0).record;
        assert_eq!(stored.target, "https://hooks.example.com/…");
        assert_eq!(
            stored.key_id.as_deref(),
            Some(model::notification::secrets::key_id(SECRET_URL).as_str())
        );
        assert_eq!(
            stored.error.as_deref(),
            Some("could not connect: error sending request for url (https://hooks.example.com/…)")
        );
        store.close().await;
        assert_eq!(
            db.count(
                "SELECT COUNT(*) FROM notifications WHERE target || error LIKE '%/services/%'"
            )
            .await,
            0
        );
    }
}

#[tokio::test]
async fn webhook_urls_recorded_before_are_redacted_when_the_database_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    open(&path).await.close().await;
    // What patchctl wrote before migration 0010: the whole URL, no key id, and an error page
    // quoting the path.
    let secret_path = SECRET_URL.trim_start_matches("https://hooks.example.com");
    sqlite_execute(
        &path,
        &format!(
            "INSERT INTO notifications (at, kind, subject, channel, target, delivered, error, event)
             VALUES (1, 'test', 's', 'webhook', '{SECRET_URL}', FALSE, 'HTTP 404: no route for {secret_path}', '{{}}'),
                    (2, 'test', 's', 'email', 'ops@example.com', TRUE, NULL, '{{}}')"
        ),
    )
    .await
    .unwrap();
    let store = open(&path).await;
    let stored: Vec<_> =
        store.notifications().await.unwrap().into_iter().map(|n| n.record).collect();
    assert_eq!(
        stored
            .iter()
            .map(|r| (r.target.as_str(), r.key_id.clone(), r.error.as_deref()))
            .collect::<Vec<_>>(),
        [
            (
                "https://hooks.example.com/…",
                Some(model::notification::secrets::key_id(SECRET_URL)),
                Some("HTTP 404: no route for …")
            ),
            ("ops@example.com", None, None),
        ]
    );
    store.close().await;
    // Nothing of the token is left in the file or its log.
    for file in ["state.db", "state.db-wal"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        assert!(!bytes.windows(24).any(|w| w == b"XXXXXXXXXXXXXXXXXXXXXXXX"), "{file}");
    }
}
