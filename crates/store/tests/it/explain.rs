//! Every hot-path query of the PostgreSQL backend reads through an index: its plan, on tables
//! of thousands of rows just analyzed, has no sequential scan of the tables that grow (each
//! host's latest assessment, a rollout's journal after an entry, a lease claim, a claim of host
//! steps through the partial index of unfinished ones, with many finished ones beside them).

use store::postgres_hot_queries::{
    CLAIM_ROLLOUT, CLAIM_STEPS, JOURNAL_SINCE, LATEST_ASSESSMENTS, ORPHANED_ROLLOUTS,
};

use crate::backends::test_dbs;

/// Thousands of rows in the tables the hot paths read: 300 hosts with 20 assessments each,
/// 500 rollouts with 40 journal entries each, three of them under way, and 40 host steps
/// each, all done but the last 140 steps (a queue's long history and its short head).
const FILL: &str = "
    INSERT INTO hosts (name, address, environment, first_seen, last_seen)
    SELECT 'h' || n, 'h' || n || '.example.com', 'dev', 1, 1 FROM generate_series(1, 300) n;
    INSERT INTO assessments (id, host, taken_at, duration_ms, ok, error_kind, error_message)
    SELECT 'a' || h || '-' || t, 'h' || h, t, 10, FALSE, 'timed_out', 'timed out'
    FROM generate_series(1, 300) h, generate_series(1, 20) t;
    INSERT INTO plans (id, created_at, body) VALUES ('sha256:' || repeat('a', 64), 1, '{}');
    INSERT INTO rollouts (id, plan_id, created_at, config, phase, updated_at)
    SELECT 'r' || lpad(n::text, 6, '0'), 'sha256:' || repeat('a', 64), n, '{}', 'done', n
    FROM generate_series(1, 500) n;
    UPDATE rollouts SET phase = 'running', owner = 'patchctl@gone:1:aaaa', lease_expires = 900
    WHERE id IN ('r000499', 'r000500');
    UPDATE rollouts SET phase = 'running', owner = 'patchctl@alive:1:bbbb', lease_expires = 2000
    WHERE id = 'r000498';
    INSERT INTO rollout_journal (rollout_id, seq, at_ms, kind, host, body, prev_hash, hash)
    SELECT 'r' || lpad(r::text, 6, '0'), s, s, 'step_done', 'h1', '{}', repeat('0', 64),
           repeat('0', 64)
    FROM generate_series(1, 500) r, generate_series(1, 40) s;
    INSERT INTO host_steps (rollout_id, token, host, step, resume, state, owner, fence, attempts,
                            created_at, finished_at, result)
    SELECT 'r' || lpad(r::text, 6, '0'), s, 'h' || s, 'apply', FALSE, 'done', 'w', 1, 1, r, r,
           '{}'
    FROM generate_series(1, 500) r, generate_series(1, 40) s;
    UPDATE host_steps SET state = 'queued', owner = NULL, fence = 0, attempts = 0,
                          finished_at = NULL, result = NULL
    WHERE rollout_id >= 'r000498' OR (rollout_id = 'r000497' AND token > 20);
    ANALYZE;
";

#[tokio::test]
async fn hot_path_queries_use_an_index_on_postgres() {
    let Some(db) = test_dbs().await.into_iter().find(|db| db.is_postgres()) else {
        // No PostgreSQL and not in CI (`test_dbs` fails there): said on stderr already.
        return;
    };
    let store = db.open().await;
    db.execute(FILL).await.unwrap();
    let url = db.postgres_url().expect("a PostgreSQL database");
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
    let explain = |sql: &str| format!("EXPLAIN {sql}");

    let latest: Vec<String> =
        sqlx::query_scalar(&explain(LATEST_ASSESSMENTS)).fetch_all(&mut connection).await.unwrap();
    assert_indexed("latest assessments", &latest, &["assessments"]);

    let journal: Vec<String> = sqlx::query_scalar(&explain(JOURNAL_SINCE))
        .bind("r000250")
        .bind(30_i64)
        .fetch_all(&mut connection)
        .await
        .unwrap();
    assert_indexed("a rollout's journal since an entry", &journal, &["rollout_journal"]);

    let claim: Vec<String> = sqlx::query_scalar(&explain(CLAIM_ROLLOUT))
        .bind("r000250")
        .bind("patchctl@a:1")
        .bind(130_i64)
        .bind(100_i64)
        .fetch_all(&mut connection)
        .await
        .unwrap();
    assert_indexed("a lease claim", &claim, &["rollouts"]);

    let orphans: Vec<String> = sqlx::query_scalar(&explain(ORPHANED_ROLLOUTS))
        .bind(1_000_i64)
        .fetch_all(&mut connection)
        .await
        .unwrap();
    assert_indexed("the rollouts whose driver's lease ran out", &orphans, &["rollouts"]);
    let steps: Vec<String> = sqlx::query_scalar(&explain(CLAIM_STEPS))
        .bind("patchctl@a:1")
        .bind(130_i64)
        .bind(100_i64)
        .bind(None::<String>)
        .bind(None::<i64>)
        .bind(10_i64)
        .bind(0_i64)
        .fetch_all(&mut connection)
        .await
        .unwrap();
    assert_indexed("a claim of host steps", &steps, &["host_steps"]);
    let text = steps.join("\n");
    assert!(
        text.contains("using host_steps_unfinished on host_steps"),
        "a claim of host steps reads the partial index of unfinished steps:\n{text}"
    );

    // The queries are the store's own: they run, and find what was filled in.
    assert_eq!(store.latest_assessments(None).await.unwrap().len(), 300);
    assert_eq!(store.journal_since("r000250", 30).await.unwrap().len(), 10);
    assert_eq!(store.orphaned_rollouts(1_000).await.unwrap(), ["r000499", "r000500"]);
    let claim = store::StepClaim {
        owner: "patchctl@a:1".to_owned(),
        limit: 1000,
        scope: store::StepScope::Any,
        lease_seconds: 30,
    };
    let claimed = store.claim_steps(&claim, 100).await.unwrap();
    assert_eq!(claimed.len(), 140);
    assert!(claimed.iter().all(|c| c.lease.fence == 1 && !c.retaken), "{claimed:?}");
}

/// Fails unless `plan` reads each of `tables` through an index and scans none of them whole.
fn assert_indexed(what: &str, plan: &[String], tables: &[&str]) {
    let text = plan.join("\n");
    for table in tables {
        assert!(
            !text.contains(&format!("Seq Scan on {table}")),
            "{what}: a sequential scan of {table}:\n{text}"
        );
        // "Index Scan [Backward] using … on t", "Index Only Scan using … on t", or "Bitmap Heap
        // Scan on t" (fed by a Bitmap Index Scan): each reads t's rows through an index.
        let indexed = text.lines().any(|line| {
            line.contains(&format!(" on {table} "))
                && (line.contains("Index Scan")
                    || line.contains("Index Only Scan")
                    || line.contains("Bitmap Heap Scan"))
        });
        assert!(indexed, "{what}: no index read for {table}:\n{text}");
    }
}

/// A patchctl process stopped inside a transaction (SIGSTOP, a frozen VM) must not hold its
/// row locks for ever: on a connection made as the store makes them, a transaction that
/// locked a rollout and then went idle is ended by PostgreSQL after `IDLE_IN_TRANSACTION`,
/// and another session can then lock the row at once.
#[tokio::test]
async fn a_transaction_left_idle_releases_its_locks() {
    use sqlx::{ConnectOptions, Connection};

    let Some(db) = test_dbs().await.into_iter().find(|db| db.is_postgres()) else {
        return;
    };
    let store = db.open().await;
    store.close().await;
    db.execute(
        "INSERT INTO plans (id, created_at, body) VALUES ('sha256:' || repeat('b', 64), 1, '{}');
         INSERT INTO rollouts (id, plan_id, created_at, config, phase, updated_at)
         VALUES ('r000001', 'sha256:' || repeat('b', 64), 1, '{}', 'running', 1);",
    )
    .await
    .unwrap();
    let url = db.postgres_url().unwrap();
    let mut stopped = store::postgres_connect_options(url).unwrap().connect().await.unwrap();
    let mut transaction = stopped.begin().await.unwrap();
    sqlx::query("SELECT id FROM rollouts WHERE id = 'r000001' FOR UPDATE")
        .execute(&mut *transaction)
        .await
        .unwrap();
    // The process stops here. Another one cannot lock the row meanwhile...
    let mut other = sqlx::PgConnection::connect(url).await.unwrap();
    let lock = "SELECT id FROM rollouts WHERE id = 'r000001' FOR UPDATE NOWAIT";
    assert!(sqlx::query(lock).execute(&mut other).await.is_err(), "locked while in use");
    // ...until the idle transaction's session is ended.
    let limit: u64 = store::IDLE_IN_TRANSACTION.trim_end_matches('s').parse().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(limit + 2)).await;
    let mut other = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(lock).execute(&mut other).await.expect("the idle transaction's locks released");
    assert!(transaction.commit().await.is_err(), "the stopped session was ended");
}
