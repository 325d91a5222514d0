//! `audit verify` on a real SQLite file that is then changed behind patchctl's back, the way a
//! person with write access to the database would: every kind of rewrite is found, either by
//! the chain itself or against the heads exported to the anchor file before.

use std::path::Path;

use ops::audit::{AuditReport, Scope, verify};
use sqlx::Connection as _;
use store::{Claim, Lease, NewJournalEntry, NewRollout, Store};

const ROLLOUT: &str = "0123456789abcdef";
const OTHER: &str = "fedcba9876543210";

async fn execute(path: &Path, sql: &str) {
    let url = format!("sqlite://{}", path.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
    connection.close().await.unwrap();
}

/// A database with two rollouts of one plan, five entries each, and their heads exported.
async fn setup(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let path = dir.join("state.db");
    let anchors = dir.join("state.db.anchors");
    let store = Store::open(&path).await.unwrap();
    let plan = format!("sha256:{}", "ab".repeat(32));
    store.save_plan(&plan, 1, "{}").await.unwrap();
    for id in [ROLLOUT, OTHER] {
        store
            .create_rollout(&NewRollout {
                id: id.to_owned(),
                plan_id: plan.clone(),
                created_at_unix: 1,
                config_json: "{}".to_owned(),
                hosts: Vec::new(),
                again: true,
                first_entries: Vec::new(),
            })
            .await
            .unwrap();
        let Claim::Claimed(lease) = store.claim_rollout(id, "test", 1, 60).await.unwrap() else {
            panic!("claimed")
        };
        append(&store, &lease, 5).await;
    }
    let report = verify(&store, &Scope::All, &anchors, false, 100).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    store.close().await;
    (path, anchors)
}

async fn append(store: &Store, lease: &Lease, n: i64) {
    let entries: Vec<NewJournalEntry> = (0..n)
        .map(|i| NewJournalEntry {
            at_ms: i,
            kind: "event".into(),
            host: Some("deb1".into()),
            body_json: format!(r#"{{"n":{i}}}"#),
        })
        .collect();
    store.append_journal(lease, &entries, None).await.unwrap();
}

async fn audit(path: &Path, anchors: &Path) -> AuditReport {
    let store = Store::open(path).await.unwrap();
    let report = verify(&store, &Scope::All, anchors, false, 200).await.unwrap();
    store.close().await;
    report
}

fn problem(report: &AuditReport, rollout: &str) -> String {
    let chain = format!("rollout:{rollout}");
    let verdict = report.chains.iter().find(|c| c.chain == chain).unwrap();
    verdict.problem.clone().unwrap_or_default()
}

const UNGUARD: &str = "DROP TRIGGER IF EXISTS rollout_journal_refuses_update;
                       DROP TRIGGER IF EXISTS rollout_journal_refuses_delete;";

#[tokio::test]
async fn an_edited_entry_is_found_by_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (path, anchors) = setup(dir.path()).await;
    execute(&path, &format!("{UNGUARD} UPDATE rollout_journal SET body = '{{\"n\":9}}' WHERE rollout_id = '{ROLLOUT}' AND seq = 3")).await;
    let report = audit(&path, &anchors).await;
    assert!(!report.is_intact());
    assert!(
        problem(&report, ROLLOUT).starts_with("entry 3: its content does not match"),
        "{report:?}"
    );
    assert_eq!(problem(&report, OTHER), "");
}

#[tokio::test]
async fn a_journal_edited_and_hashed_again_is_found_against_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let (path, anchors) = setup(dir.path()).await;
    // The forger rewrites the whole journal through patchctl's own code: a new rollout row
    // with the same id, its entries appended again with one of them changed. The chain is
    // perfect; only the head exported before tells.
    execute(
        &path,
        &format!("{UNGUARD} DELETE FROM rollout_journal WHERE rollout_id = '{ROLLOUT}'"),
    )
    .await;
    let store = Store::open(&path).await.unwrap();
    let Claim::Claimed(lease) = store.claim_rollout(ROLLOUT, "forger", 10_000, 60).await.unwrap()
    else {
        panic!("claimed")
    };
    let forged: Vec<NewJournalEntry> = (0..5)
        .map(|i| NewJournalEntry {
            at_ms: i,
            kind: "event".into(),
            host: Some("deb1".into()),
            body_json: format!(r#"{{"n":{}}}"#, if i == 2 { 7 } else { i }),
        })
        .collect();
    store.append_journal(&lease, &forged, None).await.unwrap();
    assert!(matches!(
        store.verify_journal(ROLLOUT).await.unwrap(),
        store::JournalCheck::Intact { .. }
    ));
    store.close().await;
    let report = audit(&path, &anchors).await;
    let found = problem(&report, ROLLOUT);
    assert!(found.contains("entry 5 is not the one exported at"), "{found}");
    assert!(found.contains("rewritten and hashed again"), "{found}");
}

#[tokio::test]
async fn a_journal_copied_under_another_rollout_id_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let (path, anchors) = setup(dir.path()).await;
    execute(
        &path,
        &format!(
            "{UNGUARD} DELETE FROM rollout_journal WHERE rollout_id = '{OTHER}';
             INSERT INTO rollout_journal (rollout_id, seq, at_ms, kind, host, body, prev_hash, hash)
             SELECT '{OTHER}', seq, at_ms, kind, host, body, prev_hash, hash
             FROM rollout_journal WHERE rollout_id = '{ROLLOUT}'"
        ),
    )
    .await;
    let report = audit(&path, &anchors).await;
    assert!(
        problem(&report, OTHER).starts_with("entry 1: it does not follow the entry before it"),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_deleted_last_entry_is_found_against_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let (path, anchors) = setup(dir.path()).await;
    execute(
        &path,
        &format!(
            "{UNGUARD} DELETE FROM rollout_journal WHERE rollout_id = '{ROLLOUT}' AND seq = 5"
        ),
    )
    .await;
    let report = audit(&path, &anchors).await;
    let found = problem(&report, ROLLOUT);
    assert!(found.contains("it has 4 entries, but had 5"), "{found}");
    // A rollout removed altogether is missing.
    execute(&path, &format!("{UNGUARD} DELETE FROM rollout_journal WHERE rollout_id = '{OTHER}'; DELETE FROM rollouts WHERE id = '{OTHER}'")).await;
    let report = audit(&path, &anchors).await;
    assert_eq!(report.missing, [format!("rollout:{OTHER}")]);
}

#[tokio::test]
async fn an_intact_database_verifies_and_its_heads_are_exported_0600() {
    use std::os::unix::fs::MetadataExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (path, anchors) = setup(dir.path()).await;
    let store = Store::open(&path).await.unwrap();
    let Claim::Claimed(lease) = store.claim_rollout(ROLLOUT, "later", 10_000, 60).await.unwrap()
    else {
        panic!("claimed")
    };
    // Growing after an export is fine: the exported entry is still where it was.
    append(&store, &lease, 2).await;
    store.close().await;
    let report = audit(&path, &anchors).await;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(std::fs::metadata(&anchors).unwrap().mode() & 0o777, 0o600);
    let lines = std::fs::read_to_string(&anchors).unwrap();
    assert_eq!(lines.lines().count(), 4, "two chains, exported twice: {lines}");
    assert!(lines.lines().last().unwrap().contains(r#""entries":7"#), "{lines}");
}

#[tokio::test]
async fn a_postmortems_record_is_chained_and_an_edit_is_found() {
    use store::{NewPostmortem, Opened, PostmortemClosure};
    let dir = tempfile::tempdir().unwrap();
    let (path, anchors) = setup(dir.path()).await;
    let store = Store::open(&path).await.unwrap();
    let new = NewPostmortem {
        subject_kind: "rollout".into(),
        subject_ref: ROLLOUT.into(),
        title: "rollout rolled back".into(),
        hosts: vec!["deb1".into()],
        owner: None,
        opened_at_unix: 100,
        opened_by: "system".into(),
        due_at_unix: 200,
    };
    let Opened::Opened(opened) = store.open_postmortem(&new, "{}").await.unwrap() else {
        panic!("opened")
    };
    let closure = PostmortemClosure {
        root_cause: "a postinst that exits 1".into(),
        actions: vec!["fix the package".into()],
        closed_at_unix: 150,
        closed_by: "alice".into(),
    };
    store
        .close_postmortem(opened.id, &closure, r#"{"root_cause":"a postinst that exits 1"}"#)
        .await
        .unwrap();
    assert!(matches!(
        store.verify_postmortem(opened.id).await.unwrap(),
        Some(store::JournalCheck::Intact { n_entries: 2, .. })
    ));
    store.close().await;
    let report = audit(&path, &anchors).await;
    assert!(report.is_intact(), "{report:?}");
    let chain = format!("postmortem:{}", opened.id);
    assert!(report.chains.iter().any(|c| c.chain == chain && c.entries == 2));
    // The root cause rewritten in the record: found.
    execute(
        &path,
        "DROP TRIGGER IF EXISTS postmortem_events_refuse_update;
         UPDATE postmortem_events SET body = '{\"root_cause\":\"cosmic rays\"}' WHERE seq = 2",
    )
    .await;
    let report = audit(&path, &anchors).await;
    let verdict = report.chains.iter().find(|c| c.chain == chain).unwrap();
    assert_eq!(verdict.first_bad_seq, Some(2), "{verdict:?}");
}

#[tokio::test]
async fn the_notification_record_is_chained_and_a_removed_delivery_is_found() {
    use store::NotificationRecord;
    let dir = tempfile::tempdir().unwrap();
    let (path, anchors) = setup(dir.path()).await;
    let store = Store::open(&path).await.unwrap();
    for n in 0..3 {
        let record = NotificationRecord {
            at_unix: 100 + n,
            kind: "rollout_halted".into(),
            subject: format!("rollout {n} halted"),
            channel: "email".into(),
            target: "ops@example.com".into(),
            key_id: None,
            error: (n == 1).then(|| "the relay refused".to_owned()),
            event_json: "{}".into(),
        };
        store.record_notification(&record).await.unwrap();
    }
    store.close().await;
    let report = audit(&path, &anchors).await;
    assert!(report.is_intact(), "{report:?}");
    assert!(report.chains.iter().any(|c| c.chain == "notifications" && c.entries == 3));
    // Chained deliveries cannot be changed, even by hand.
    let url = format!("sqlite://{}", path.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let refused = sqlx::raw_sql("UPDATE notifications SET error = NULL WHERE id = 2")
        .execute(&mut connection)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    connection.close().await.unwrap();
    // The failed one removed, guards dropped: found by the chain.
    execute(
        &path,
        "DROP TRIGGER notifications_chained_refuse_delete; DELETE FROM notifications WHERE error IS NOT NULL",
    )
    .await;
    let report = audit(&path, &anchors).await;
    let verdict = report.chains.iter().find(|c| c.chain == "notifications").unwrap();
    assert_eq!(verdict.first_bad_seq, Some(3), "{verdict:?}");
}

#[tokio::test]
async fn approvals_copied_from_another_plans_change_journal_are_found() {
    use store::NewChangeEntry;
    let dir = tempfile::tempdir().unwrap();
    let (path, anchors) = setup(dir.path()).await;
    let store = Store::open(&path).await.unwrap();
    let (approved, other) =
        (format!("sha256:{}", "ab".repeat(32)), format!("sha256:{}", "cd".repeat(32)));
    store.save_plan(&other, 2, "{}").await.unwrap();
    for (kind, actor) in [("request", "erin"), ("approve", "alice")] {
        let entry = NewChangeEntry {
            at_ms: 1000,
            kind: kind.into(),
            actor: actor.into(),
            body_json: format!(r#"{{"plan":"{approved}"}}"#),
        };
        store.append_change(&approved, &entry, &|_| Ok(())).await.unwrap().unwrap();
    }
    store.close().await;
    assert!(audit(&path, &anchors).await.is_intact());
    // The approved plan's journal copied, hashes and all, to the other plan: its chain is
    // whole (change journals begin with zeros), but its entries name the approved plan.
    execute(
        &path,
        &format!(
            "INSERT INTO change_journal (plan_id, seq, at_ms, kind, actor, body, prev_hash, hash)
             SELECT '{other}', seq, at_ms, kind, actor, body, prev_hash, hash
             FROM change_journal WHERE plan_id = '{approved}'"
        ),
    )
    .await;
    let report = audit(&path, &anchors).await;
    let verdict = report.chains.iter().find(|c| c.chain == format!("change:{other}")).unwrap();
    let problem = verdict.problem.as_deref().unwrap_or_default();
    assert!(problem.starts_with("entry 1: it names another plan"), "{verdict:?}");
}
