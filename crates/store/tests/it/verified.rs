//! Promotion evidence (`verified_versions`): written in the transaction of the journal entries
//! that prove it, or not at all; replaced host by host; filled once for a rollout journaled
//! before the table existed, and only from the journal as it still is.

use std::path::Path;

use crate::backends::test_dbs;
use store::{
    Lease, NewJournalEntry, NewRollout, PhaseUpdate, Store, StoreError, VerifiedHost,
    VerifiedVersion,
};

use crate::open;
use crate::rollouts::{leased, new_rollout, plan_id};

fn entry(at_ms: i64, host: &str) -> NewJournalEntry {
    NewJournalEntry {
        at_ms,
        kind: "event".to_owned(),
        host: Some(host.to_owned()),
        body_json: r#"{"event":"host_changed"}"#.to_owned(),
    }
}

fn version(rollout_id: &str, host: &str, name: &str, at: i64) -> VerifiedVersion {
    VerifiedVersion {
        rollout_id: rollout_id.to_owned(),
        host: host.to_owned(),
        environment: "staging".to_owned(),
        name: name.to_owned(),
        arch: "amd64".to_owned(),
        version: "1.1-1".to_owned(),
        verified_at_unix: at,
    }
}

fn verified(rollout_id: &str, host: &str, names: &[&str], at: i64) -> VerifiedHost {
    VerifiedHost {
        host: host.to_owned(),
        versions: names.iter().map(|name| version(rollout_id, host, name, at)).collect(),
    }
}

async fn rollout(store: &Store, id: &str, hosts: &[&str]) -> Lease {
    let plan = plan_id("feed01");
    store.save_plan(&plan, 100, r#"{"hosts":[]}"#).await.unwrap();
    let new = NewRollout {
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        ..new_rollout(id, &plan, 200)
    };
    store.create_rollout(&new).await.unwrap();
    leased(store, id).await
}

#[tokio::test]
async fn verified_versions_are_written_with_the_entries_that_prove_them() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let lease = rollout(&store, "aaaaaa01", &["stage1", "stage2"]).await;
        // Entries alone write no evidence.
        store.append_journal(&lease, &[entry(1000, "stage1")], None).await.unwrap();
        assert!(store.verified_versions().await.unwrap().is_empty());

        let proof = verified("aaaaaa01", "stage1", &["acme-web", "acme-tools"], 2);
        store
            .append_journal_verified(&lease, &[entry(2000, "stage1")], None, &[proof])
            .await
            .unwrap();
        assert_eq!(store.journal("aaaaaa01").await.unwrap().len(), 2);
        assert_eq!(
            store.verified_versions().await.unwrap(),
            [
                version("aaaaaa01", "stage1", "acme-web", 2),
                version("aaaaaa01", "stage1", "acme-tools", 2)
            ]
        );

        // Another host's evidence leaves stage1's alone; a host that is done no more has none.
        let proof = verified("aaaaaa01", "stage2", &["acme-web"], 3);
        store
            .append_journal_verified(&lease, &[entry(3000, "stage2")], None, &[proof])
            .await
            .unwrap();
        let gone = verified("aaaaaa01", "stage1", &[], 0);
        store
            .append_journal_verified(&lease, &[entry(4000, "stage1")], None, &[gone])
            .await
            .unwrap();
        assert_eq!(
            store.verified_versions().await.unwrap(),
            [version("aaaaaa01", "stage2", "acme-web", 3)]
        );

        // Evidence of another rollout or host than the one it is recorded under is refused.
        let stray = VerifiedHost {
            host: "stage1".into(),
            versions: vec![version("bbbbbb01", "stage1", "acme-web", 5)],
        };
        let error = store
            .append_journal_verified(&lease, &[entry(5000, "stage1")], None, &[stray])
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::InvalidValue { .. }), "{error}");
        assert_eq!(store.journal("aaaaaa01").await.unwrap().len(), 4);
    }
}

#[tokio::test]
async fn a_failed_append_writes_neither_entries_nor_evidence() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let lease = rollout(&store, "aaaaaa01", &["stage1"]).await;
        let phase = |phase: &str, at_unix| PhaseUpdate { phase: phase.parse().unwrap(), at_unix };
        store.append_journal(&lease, &[], Some(&phase("completed", 10))).await.unwrap();
        // Another rollout claims stage1; reopening the first one (a rollback by hand) then fails
        // inside the transaction, after its entries and evidence were written there.
        let plan = plan_id("bb02");
        store.save_plan(&plan, 100, "{}").await.unwrap();
        let other =
            NewRollout { hosts: vec!["stage1".into()], ..new_rollout("bbbbbb01", &plan, 300) };
        store.create_rollout(&other).await.unwrap();
        let proof = verified("aaaaaa01", "stage1", &["acme-web"], 20);
        let error = store
            .append_journal_verified(
                &lease,
                &[entry(20_000, "stage1")],
                Some(&phase("running", 20)),
                std::slice::from_ref(&proof),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::HostsClaimed { .. }), "{error}");
        assert!(store.journal("aaaaaa01").await.unwrap().is_empty());
        assert!(store.verified_versions().await.unwrap().is_empty());

        // A lease lost: nothing either.
        let stale = Lease { token: lease.token - 1, ..lease.clone() };
        let error = store
            .append_journal_verified(&stale, &[entry(30_000, "stage1")], None, &[proof])
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::LeaseLost { .. }), "{error}");
        assert!(store.journal("aaaaaa01").await.unwrap().is_empty());
        assert!(store.verified_versions().await.unwrap().is_empty());
    }
}

/// A database at the schema before `verified_versions`, with a journaled rollout in it, then
/// opened by this store: the rollout is listed for filling, and filled only from the journal
/// as it still is.
#[tokio::test]
async fn a_rollout_journaled_before_the_table_is_filled_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    migrate_before_verified(&path).await;
    let store = open(&path).await;
    assert_eq!(store.rollouts_without_verified().await.unwrap(), ["aaaaaa01"]);
    let lease = leased(&store, "aaaaaa01").await;
    store
        .append_journal(&lease, &[entry(1000, "stage1"), entry(2000, "stage1")], None)
        .await
        .unwrap();
    // A rollout created now is recorded as it goes.
    rollout(&store, "bbbbbb01", &[]).await;
    assert_eq!(store.rollouts_without_verified().await.unwrap(), ["aaaaaa01"]);

    let proof = [verified("aaaaaa01", "stage1", &["acme-web"], 2)];
    // Read from a journal that has grown since: refused, nothing written.
    assert!(!store.record_verified("aaaaaa01", 1, &proof).await.unwrap());
    assert!(store.verified_versions().await.unwrap().is_empty());
    assert_eq!(store.rollouts_without_verified().await.unwrap(), ["aaaaaa01"]);
    assert!(store.record_verified("aaaaaa01", 2, &proof).await.unwrap());
    assert_eq!(
        store.verified_versions().await.unwrap(),
        [version("aaaaaa01", "stage1", "acme-web", 2)]
    );
    assert!(store.rollouts_without_verified().await.unwrap().is_empty());
}

/// Creates `path` with the migrations before `verified_versions` only (as the release before
/// it left a database), holding rollout `aaaaaa01`.
async fn migrate_before_verified(path: &Path) {
    use sqlx::Connection;
    let migrations = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for file in std::fs::read_dir(&source).unwrap() {
        let file = file.unwrap();
        let name = file.file_name().into_string().unwrap();
        if name.as_str() < "0013" {
            std::fs::copy(file.path(), migrations.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(migrations.path()).await.unwrap();
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    migrator.run(&mut connection).await.unwrap();
    sqlx::raw_sql(&format!(
        "INSERT INTO plans (id, created_at, body) VALUES ('{plan}', 100, '{{\"hosts\":[]}}');
         INSERT INTO rollouts (id, plan_id, created_at, config, phase, updated_at, chain_version)
         VALUES ('aaaaaa01', '{plan}', 200, '{{\"error_budget\":1}}', 'completed', 200, 2);",
        plan = plan_id("feed01")
    ))
    .execute(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
}
