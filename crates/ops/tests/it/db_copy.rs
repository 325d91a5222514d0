//! `ops::db::copy` of a real state (`test_data/state-18d7299.db`: rollouts, journals, change
//! journals, postmortems) into a fresh PostgreSQL database: every table's rows, every chain
//! intact on the copy, the same answers through the store on both; a second copy into the now
//! full database refused; a copy that fails halfway leaves nothing; and a journal row changed
//! by hand on PostgreSQL afterwards is found by the audit, and a state whose journal was
//! rewritten before the copy makes the copy an error.

use std::path::{Path, PathBuf};

use ops::audit::{Scope, verify};
use ops::db::DbError;
use sqlx::Connection as _;
use store::{Store, StoreError};

use crate::backends::{TestDb, test_dbs};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/state-18d7299.db");
const ROLLOUT: &str = "00aa11bb22cc33dd";

/// The PostgreSQL test database, or `None` without a server (outside CI).
async fn postgres() -> Option<TestDb> {
    test_dbs().await.into_iter().find(|db| db.is_postgres())
}

/// The fixture, copied: opening a database migrates it, and the fixture stays as written.
fn fixture(dir: &Path) -> PathBuf {
    let path = dir.join("state.db");
    std::fs::copy(FIXTURE, &path).unwrap();
    path
}

async fn sqlite_rows(path: &Path, table: &str) -> i64 {
    let url = format!("sqlite://{}", path.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
    let n = sqlx::query_scalar(&sql).fetch_one(&mut connection).await.unwrap();
    connection.close().await.unwrap();
    n
}

async fn postgres_rows(url: &str, table: &str) -> i64 {
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
    let n = sqlx::query_scalar(&sql).fetch_one(&mut connection).await.unwrap();
    connection.close().await.unwrap();
    n
}

/// Every table of the PostgreSQL schema, but sqlx's own.
async fn postgres_tables(url: &str) -> Vec<String> {
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    let tables = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'
         ORDER BY table_name",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
    tables
}

/// The same answers through the store's API on both databases.
async fn same_reads(sqlite: &Store, copy: &Store) {
    let rollouts = sqlite.rollouts().await.unwrap();
    assert!(!rollouts.is_empty());
    assert_eq!(copy.rollouts().await.unwrap(), rollouts);
    for rollout in &rollouts {
        let journal = sqlite.journal(&rollout.id).await.unwrap();
        assert!(!journal.is_empty());
        assert_eq!(copy.journal(&rollout.id).await.unwrap(), journal, "rollout {}", rollout.id);
    }
    let plans = sqlite.plans().await.unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(copy.plans().await.unwrap(), plans);
    for plan in &plans {
        assert_eq!(copy.plan(&plan.id).await.unwrap(), sqlite.plan(&plan.id).await.unwrap());
        let changes = sqlite.change_journal(&plan.id).await.unwrap();
        assert_eq!(copy.change_journal(&plan.id).await.unwrap(), changes);
    }
    let postmortems = sqlite.postmortems().await.unwrap();
    assert!(!postmortems.is_empty());
    assert_eq!(copy.postmortems().await.unwrap(), postmortems);
    for postmortem in &postmortems {
        let events = sqlite.postmortem_events(postmortem.id).await.unwrap();
        assert_eq!(copy.postmortem_events(postmortem.id).await.unwrap(), events);
    }
    assert_eq!(
        copy.latest_assessments(None).await.unwrap(),
        sqlite.latest_assessments(None).await.unwrap()
    );
    assert_eq!(copy.assessments_mark().await.unwrap(), sqlite.assessments_mark().await.unwrap());
    assert_eq!(copy.verified_versions().await.unwrap(), sqlite.verified_versions().await.unwrap());
}

#[tokio::test]
async fn a_real_state_is_copied_intact_and_a_second_copy_is_refused() {
    let Some(pg) = postgres().await else { return };
    let url = pg.postgres_url().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(dir.path());

    let copied = ops::db::copy(&path, url).await.unwrap();

    // (a) Every table of the schema, with as many rows on both sides.
    let mut tables: Vec<String> = copied.copy.tables.iter().map(|t| t.table.clone()).collect();
    tables.sort();
    assert_eq!(tables, postgres_tables(url).await);
    for table in &copied.copy.tables {
        let rows = i64::try_from(table.rows).unwrap();
        assert_eq!(sqlite_rows(&path, &table.table).await, rows, "{}", table.table);
        assert_eq!(postgres_rows(url, &table.table).await, rows, "{}", table.table);
    }
    let journal = copied.copy.tables.iter().find(|t| t.table == "rollout_journal").unwrap();
    assert_eq!(journal.rows, 66);

    // (b) Every chain intact on the copy: the rollout's, the change journals', the
    // postmortems', the notifications'.
    assert!(copied.audit.is_intact(), "{:?}", copied.audit);
    let chains: Vec<&str> = copied.audit.chains.iter().map(|c| c.chain.as_str()).collect();
    assert!(chains.contains(&format!("rollout:{ROLLOUT}").as_str()), "{chains:?}");
    assert!(chains.iter().any(|c| c.starts_with("change:")), "{chains:?}");
    assert!(chains.iter().any(|c| c.starts_with("postmortem:")), "{chains:?}");
    let rollout = copied.audit.chains.iter().find(|c| c.chain == format!("rollout:{ROLLOUT}"));
    assert_eq!(rollout.unwrap().entries, 66);

    // (c) The same reads on both.
    let sqlite = Store::open(&path).await.unwrap();
    let copy = Store::open_url(url).await.unwrap();
    same_reads(&sqlite, &copy).await;
    sqlite.close().await;
    copy.close().await;

    // (d) A second copy into the database, full now, is refused, naming a table, and changes
    // nothing.
    let error = ops::db::copy(&path, url).await.unwrap_err();
    let DbError::Copy { source: StoreError::CopyTargetNotEmpty { table, .. }, .. } = &error else {
        panic!("{error}")
    };
    assert!(tables.contains(table), "{table}");
    assert!(error.to_string().contains(&format!("table {table} holds rows already")), "{error}");
    for table in &copied.copy.tables {
        let rows = i64::try_from(table.rows).unwrap();
        assert_eq!(postgres_rows(url, &table.table).await, rows, "{}", table.table);
    }
}

#[tokio::test]
async fn a_journal_entry_changed_on_the_copy_is_found_by_the_audit() {
    let Some(pg) = postgres().await else { return };
    let url = pg.postgres_url().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(dir.path());
    ops::db::copy(&path, url).await.unwrap();
    let anchors = dir.path().join("copy.anchors");
    let copy = Store::open_url(url).await.unwrap();
    let report = verify(&copy, &Scope::All, &anchors, false, 100).await.unwrap();
    assert!(report.is_intact(), "{report:?}");

    pg.execute(&format!(
        "{} UPDATE rollout_journal SET body = replace(body, 'rpm2', 'rpm9')
         WHERE rollout_id = '{ROLLOUT}' AND seq = 9 AND body LIKE '%rpm2%';",
        pg.drop_trigger("rollout_journal_refuses_update", "rollout_journal")
    ))
    .await
    .unwrap();
    let changed = pg.count("SELECT COUNT(*) FROM rollout_journal WHERE body LIKE '%rpm9%'").await;
    assert_eq!(changed, 1, "entry 9 names rpm2, and was changed");

    let report = verify(&copy, &Scope::All, &anchors, false, 200).await.unwrap();
    assert!(!report.is_intact());
    let chain = report.chains.iter().find(|c| c.chain == format!("rollout:{ROLLOUT}")).unwrap();
    assert_eq!(chain.first_bad_seq, Some(9), "{chain:?}");
    copy.close().await;
}

#[tokio::test]
async fn a_copy_that_fails_halfway_leaves_the_target_empty() {
    let Some(pg) = postgres().await else { return };
    let url = pg.postgres_url().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(dir.path());
    // Migrated first, as the copy would, then a value PostgreSQL refuses (a NUL in text) in a
    // table that comes late, after its parents were written.
    Store::open(&path).await.unwrap().close().await;
    crate::backends::sqlite_execute(
        &path,
        "UPDATE verified_versions SET version = version || char(0)
         WHERE rowid = (SELECT MAX(rowid) FROM verified_versions)",
    )
    .await
    .unwrap();

    let error = ops::db::copy(&path, url).await.unwrap_err();
    assert!(matches!(error, DbError::Copy { .. }), "{error}");
    assert!(error.to_string().contains("copying table verified_versions"), "{error}");
    for table in postgres_tables(url).await {
        assert_eq!(postgres_rows(url, &table).await, 0, "{table}");
    }
    assert!(sqlite_rows(&path, "rollout_journal").await > 0);
}

#[tokio::test]
async fn a_copy_of_a_broken_state_is_an_error_naming_the_chain() {
    let Some(pg) = postgres().await else { return };
    let url = pg.postgres_url().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(dir.path());
    crate::backends::sqlite_execute(
        &path,
        &format!(
            "DROP TRIGGER rollout_journal_refuses_update;
             UPDATE rollout_journal SET body = replace(body, 'rpm2', 'rpm9')
             WHERE rollout_id = '{ROLLOUT}' AND seq = 9;"
        ),
    )
    .await
    .unwrap();

    let error = ops::db::copy(&path, url).await.unwrap_err();
    let DbError::NotIntact { audit, .. } = &error else { panic!("{error}") };
    assert!(!audit.is_intact());
    let message = error.to_string();
    assert!(message.contains(&format!("rollout:{ROLLOUT}: entry 9")), "{message}");
}
