//! Promotion evidence kept in the store's `verified_versions` as rollouts are driven equals the
//! evidence of replaying every journal, on a real SQLite file with several rollouts: hosts
//! done, a host whose postchecks failed and was rolled back, a host rolled back by hand after
//! it was done, and a rollout journaled before the table existed (filled once, on first read).

use std::collections::BTreeSet;
use std::sync::Arc;

use model::promotion::Verified;
use ops::rollout::{
    DriveOutcome, StartRecord, StepReport, StepRunner, create_rollout, drive, load, request,
};
use rollout::{Config, Input, Phase, Step, StepResult};
use store::Store;

/// Every step succeeds at once, except the postchecks of `failing`.
struct FakeHosts {
    failing: Vec<String>,
}

#[async_trait::async_trait]
impl StepRunner for FakeHosts {
    async fn run(&self, host: &str, step: Step, _resume: bool) -> StepReport {
        let result = if step == Step::Postcheck && self.failing.iter().any(|h| h == host) {
            StepResult::Failed { reason: "the service does not answer".into() }
        } else {
            StepResult::Succeeded { reboot_required: false }
        };
        StepReport { result, outputs: Vec::new() }
    }
}

/// Plans and drives a rollout of `packages` on `hosts`, whose postchecks fail on `failing`.
async fn rolled_out(
    store: &Store,
    id: &str,
    environment: &str,
    hosts: &[&str],
    packages: &[(&str, &str)],
    failing: &[&str],
    created_at_unix: i64,
) {
    let plan = crate::saved_plan(store, environment, hosts, packages, created_at_unix).await;
    let mut config = Config::from_plan(&plan, |_| false);
    config.error_budget = model::plan::Limit::Count(hosts.len());
    create_rollout(store, &plan, &config, id, created_at_unix, &StartRecord::default())
        .await
        .unwrap();
    drive_to_end(store, id, failing).await;
}

async fn drive_to_end(store: &Store, id: &str, failing: &[&str]) {
    let runner = Arc::new(FakeHosts { failing: failing.iter().map(|h| h.to_string()).collect() });
    let stop = std::future::pending::<()>();
    let outcome = drive(store, id, runner, &crate::drive_config(), stop, &|_, _| {}).await.unwrap();
    assert_eq!(outcome, DriveOutcome::Finished(Phase::Completed));
}

/// The evidence as it was gathered before the table: every rollout's journal replayed.
async fn replayed(store: &Store) -> Vec<Verified> {
    let mut evidence = Vec::new();
    for row in store.rollouts().await.unwrap() {
        evidence.extend(ops::promotion::verified_by(&load(store, &row.id).await.unwrap()));
    }
    evidence
}

fn as_set(evidence: &[Verified]) -> BTreeSet<String> {
    evidence
        .iter()
        .map(|v| {
            format!(
                "{} {} {} {} {} {} {}",
                v.rollout, v.environment, v.host, v.name, v.arch, v.version, v.verified_at
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_evidence_kept_with_the_journals_equals_replaying_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Store::open(&path).await.unwrap();
    let web = [("acme-web", "1.1-1"), ("acme-tools", "2.0-1")];
    rolled_out(&store, "aaaaaa0000000001", "dev", &["dev1", "dev2"], &web, &[], 10).await;
    rolled_out(&store, "aaaaaa0000000002", "staging", &["stage1", "stage2"], &web, &["stage2"], 20)
        .await;
    rolled_out(
        &store,
        "aaaaaa0000000003",
        "staging",
        &["stage3", "stage4"],
        &[("acme-db", "3.1-1")],
        &[],
        30,
    )
    .await;
    // stage4 was done; an operator rolls it back by hand: it verifies nothing any more.
    request(
        &store,
        "aaaaaa0000000003",
        Input::RollBack { host: "stage4".into() },
        "alice@test:1",
        "alice",
    )
    .await
    .unwrap();
    let on =
        |host: &str, evidence: &[store::VerifiedVersion]| evidence.iter().any(|v| v.host == host);
    assert!(!on("stage4", &store.verified_versions().await.unwrap()), "gone with the request");
    assert!(on("stage3", &store.verified_versions().await.unwrap()));
    drive_to_end(&store, "aaaaaa0000000003", &[]).await;

    // A rollout journaled before the table: its rows are not there, and it is marked so.
    rolled_out(
        &store,
        "aaaaaa0000000004",
        "staging",
        &["stage5"],
        &[("acme-web", "1.2-1")],
        &[],
        40,
    )
    .await;
    store.close().await;
    sqlite_execute(
        &path,
        "DELETE FROM verified_versions WHERE rollout_id = 'aaaaaa0000000004';
         UPDATE rollouts SET verified_recorded = FALSE WHERE id = 'aaaaaa0000000004';",
    )
    .await;
    let store = Store::open(&path).await.unwrap();
    assert_eq!(store.rollouts_without_verified().await.unwrap(), ["aaaaaa0000000004"]);

    let kept = ops::promotion::verified_versions(&store).await.unwrap();
    let replayed = replayed(&store).await;
    assert_eq!(as_set(&kept), as_set(&replayed));
    assert_eq!(kept.len(), replayed.len());
    // Not empty, and the failures are absent: dev1, dev2 and stage1 (two packages each),
    // stage3 and stage5 (one each).
    let hosts: BTreeSet<(&str, &str)> =
        kept.iter().map(|v| (v.host.as_str(), v.name.as_str())).collect();
    let expected: BTreeSet<(&str, &str)> = [
        ("dev1", "acme-tools"),
        ("dev1", "acme-web"),
        ("dev2", "acme-tools"),
        ("dev2", "acme-web"),
        ("stage1", "acme-tools"),
        ("stage1", "acme-web"),
        ("stage3", "acme-db"),
        ("stage5", "acme-web"),
    ]
    .into();
    assert_eq!(hosts, expected);
    // Filled once: the next read replays nothing.
    assert!(store.rollouts_without_verified().await.unwrap().is_empty());
    assert_eq!(
        as_set(&ops::promotion::verified_versions(&store).await.unwrap()),
        as_set(&replayed)
    );
}

/// Runs statements on the file behind the store's back, as the release before the table left
/// it.
async fn sqlite_execute(path: &std::path::Path, sql: &str) {
    use sqlx::Connection;
    let mut connection =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
    connection.close().await.unwrap();
}
