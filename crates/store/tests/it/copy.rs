//! `store::copy_sqlite_to_postgres` on states made here: ids and the sequences behind them
//! carry on, a webhook URL recorded before redaction reaches PostgreSQL redacted, and a target
//! whose schema differs is refused before anything is written. The copy of a real state, and
//! its audit, are in `ops`'s tests (`db_copy.rs`).

use store::{JournalCheck, NotificationRecord, Store, StoreError};

use super::{assessed, failed, host, sqlite_execute, test_dbs};

fn notification(at_unix: i64) -> NotificationRecord {
    NotificationRecord {
        at_unix,
        kind: "rollout_halted".to_owned(),
        subject: "rollout 0123456789abcdef halted".to_owned(),
        channel: "webhook".to_owned(),
        target: "https://hooks.example.com/services/T0/NEWSECRET".to_owned(),
        key_id: None,
        error: None,
        event_json: "{}".to_owned(),
    }
}

/// The PostgreSQL test database, or `None` without a server (outside CI).
async fn postgres() -> Option<super::backends::TestDb> {
    test_dbs().await.into_iter().find(|db| db.is_postgres())
}

#[tokio::test]
async fn a_copy_keeps_every_id_and_the_sequences_carry_on_after_them() {
    let Some(pg) = postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let sqlite = Store::open(&path).await.unwrap();
    sqlite.upsert_host(&host("deb1", 1)).await.unwrap();
    let first = sqlite.record_assessment(&assessed("deb1", 100)).await.unwrap();
    let second = sqlite.record_assessment(&failed("deb1", 200, "timed_out")).await.unwrap();
    sqlite.record_notification(&notification(10)).await.unwrap();
    sqlite.close().await;
    // A webhook delivery as patchctl recorded them before migration 0010: the whole URL, its
    // token in the path, no key id, no chain.
    sqlite_execute(
        &path,
        "INSERT INTO notifications (at, kind, subject, channel, target, delivered, error, event)
         VALUES (5, 'rollout_halted', 'old', 'webhook', 'https://hooks.example.com/services/T0/OLDSECRET',
                 FALSE, 'POST https://hooks.example.com/services/T0/OLDSECRET: 500', '{}')",
    )
    .await
    .unwrap();

    let mut told = Vec::new();
    let report = store::copy_sqlite_to_postgres(&path, pg.postgres_url().unwrap(), |t, n| {
        told.push((t.to_owned(), n));
    })
    .await
    .unwrap();
    let rows = |table: &str| report.tables.iter().find(|t| t.table == table).unwrap().rows;
    assert_eq!((rows("hosts"), rows("assessments"), rows("notifications")), (1, 2, 2));
    assert!(told.contains(&("assessments".to_owned(), 2)), "{told:?}");
    // Every table of the schema, each once, parents before children.
    let order: Vec<&str> = report.tables.iter().map(|t| t.table.as_str()).collect();
    let at = |table: &str| order.iter().position(|t| *t == table).unwrap();
    assert!(at("hosts") < at("assessments") && at("plans") < at("rollouts"), "{order:?}");
    assert!(at("rollouts") < at("rollout_journal") && at("postmortems") < at("postmortem_events"));
    assert_eq!(report.tables.len(), pg.count("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'").await as usize);

    let copy = pg.open().await;
    // SQLite's rowids are the copy's `seq`s, and new rows follow them.
    assert_eq!(
        pg.count("SELECT seq FROM assessments WHERE id = (SELECT MIN(id) FROM assessments)").await,
        1
    );
    assert_eq!(copy.assessment(&first).await.unwrap().unwrap().record, assessed("deb1", 100));
    assert!(copy.assessment(&second).await.unwrap().is_some());
    assert_eq!(copy.assessments_mark().await.unwrap(), 2);
    copy.record_assessment(&assessed("deb1", 300)).await.unwrap();
    assert_eq!(copy.assessments_mark().await.unwrap(), 3);
    let next = copy.record_notification(&notification(20)).await.unwrap();
    assert_eq!(next, 3, "the notifications' ids carry on after the copied ones");

    let notifications = copy.notifications().await.unwrap();
    let old = notifications.iter().find(|n| n.record.subject == "old").unwrap();
    assert_eq!(old.record.target, "https://hooks.example.com/…");
    assert!(old.record.key_id.is_some());
    assert!(!old.record.error.as_deref().unwrap().contains("OLDSECRET"), "{old:?}");
    assert!(!format!("{notifications:?}").contains("SECRET"), "{notifications:?}");
    let (check, hashes) = copy.verify_notifications().await.unwrap();
    assert!(matches!(check, JournalCheck::Intact { .. }), "{check:?}");
    assert_eq!(hashes.len(), 2);
    copy.close().await;
}

#[tokio::test]
async fn a_target_with_a_table_less_is_refused_and_nothing_is_written() {
    let Some(pg) = postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let sqlite = Store::open(&path).await.unwrap();
    sqlite.upsert_host(&host("deb1", 1)).await.unwrap();
    sqlite.close().await;
    pg.open().await.close().await;
    pg.execute("DROP TABLE compliance_days").await.unwrap();

    let error = store::copy_sqlite_to_postgres(&path, pg.postgres_url().unwrap(), |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::InvalidValue { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("only in SQLite: [compliance_days]"), "{message}");
    assert_eq!(pg.count("SELECT COUNT(*) FROM hosts").await, 0);
}
