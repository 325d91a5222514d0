//! The state store on real SQLite files in temporary directories: what is written is read back
//! after reopening, concurrent writers all land, bad files give errors that name them. Plans,
//! rollouts and their leases are in `rollouts.rs`, rollout journals in `journal.rs`.

mod advisories;
mod backends;
mod changes;
mod compliance;
mod copy;
mod explain;
mod host_steps;
mod identities;
mod interleavings;
mod journal;
mod leader;
mod postmortems;
mod rollouts;
mod verified;
mod wake_ups;

use backends::{sqlite_count, sqlite_execute, test_dbs};

use std::path::Path;

use model::{
    Assessment, Classification, Health, OsRelease, PackageManagerKind, PendingUpdate, RebootStatus,
    Summary, UpdateAction,
};
use store::{
    AssessmentOutcome, AssessmentRecord, Failure, HostRow, PinOutcome, PinnedHostKey, Store,
    StoreError, SummaryOutcome,
};

fn host(name: &str, seen_at_unix: i64) -> HostRow {
    HostRow {
        name: name.to_owned(),
        address: format!("{name}.example.com"),
        environment: "dev".to_owned(),
        package_manager: Some(PackageManagerKind::Apt),
        seen_at_unix,
    }
}

fn update(name: &str, classification: Classification, kernel: bool) -> PendingUpdate {
    PendingUpdate {
        name: name.to_owned(),
        arch: "amd64".to_owned(),
        installed_version: Some("1.0-1".to_owned()),
        candidate_version: "1.0-2".to_owned(),
        origins: Vec::new(),
        action: UpdateAction::Upgrade,
        classification,
        severity: None,
        kernel,
        advisories: Vec::new(),
        cves: Vec::new(),
        kept_back: false,
    }
}

fn assessment(host: &str, taken_at_unix: i64) -> Assessment {
    Assessment {
        lists_refreshed: Default::default(),
        host: host.to_owned(),
        taken_at_unix,
        os: OsRelease {
            id: "debian".to_owned(),
            version_id: "12".to_owned(),
            version_codename: "bookworm".to_owned(),
            ..OsRelease::default()
        },
        package_manager: PackageManagerKind::Apt,
        running_kernel: "6.1.0-25-amd64".to_owned(),
        installed_kernels: Vec::new(),
        boot_id: "3f1c…".to_owned(),
        installed: Vec::new(),
        updates: vec![
            update("openssl", Classification::Security, false),
            update("linux-image-amd64", Classification::Security, true),
            update("tzdata", Classification::Bugfix, false),
        ],
        removals: Vec::new(),
        held: vec!["nginx".to_owned()],
        reboot: RebootStatus {
            required: true,
            packages: vec!["linux-image-amd64".to_owned()],
            reasons: Vec::new(),
        },
        services_needing_restart: None,
        disk: Vec::new(),
        health: Health::default(),
    }
}

fn assessed(host: &str, taken_at_unix: i64) -> AssessmentRecord {
    AssessmentRecord {
        host: host.to_owned(),
        taken_at_unix,
        duration_ms: 1234,
        outcome: AssessmentOutcome::Assessed(Box::new(assessment(host, taken_at_unix))),
    }
}

fn failed(host: &str, taken_at_unix: i64, kind: &str) -> AssessmentRecord {
    AssessmentRecord {
        host: host.to_owned(),
        taken_at_unix,
        duration_ms: 10_000,
        outcome: AssessmentOutcome::Failed(Failure {
            kind: kind.to_owned(),
            message: format!("{host}: connecting timed out after 10s"),
        }),
    }
}

fn key(host: &str, key: &str, fingerprint: &str) -> PinnedHostKey {
    PinnedHostKey {
        host: host.to_owned(),
        key_type: "ssh-ed25519".to_owned(),
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        pinned_at_unix: 1_700_000_000,
        pinned_by: "alice".to_owned(),
    }
}

async fn open(path: &Path) -> Store {
    Store::open(path).await.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn what_is_written_is_read_back_after_reopening() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let (ok_id, failed_id) = {
            let store = db.open().await;
            store.upsert_host(&host("deb1", 100)).await.unwrap();
            store.pin_host_key(&key("deb1", "AAAAkey1", "SHA256:one")).await.unwrap();
            let ok_id = store.record_assessment(&assessed("deb1", 100)).await.unwrap();
            let failed_id =
                store.record_assessment(&failed("deb1", 200, "timed_out")).await.unwrap();
            store.close().await;
            (ok_id, failed_id)
        };
        let store = db.open().await;
        let hosts = store.hosts().await.unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(
            (hosts[0].name.as_str(), hosts[0].package_manager),
            ("deb1", Some(PackageManagerKind::Apt))
        );
        assert_eq!(
            store.host_key("deb1").await.unwrap(),
            Some(key("deb1", "AAAAkey1", "SHA256:one"))
        );
        assert_eq!(store.host_key("deb2").await.unwrap(), None);

        let stored = store.assessment(&ok_id).await.unwrap().unwrap();
        assert_eq!(stored.record, assessed("deb1", 100));
        let stored = store.assessment(&failed_id).await.unwrap().unwrap();
        assert_eq!(stored.record, failed("deb1", 200, "timed_out"));
        assert_eq!(store.assessment("no-such-id").await.unwrap(), None);

        let history = store.history("deb1", 10).await.unwrap();
        assert_eq!(history.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [&failed_id, &ok_id]);
        assert_eq!(
            history[1].outcome,
            SummaryOutcome::Assessed(Summary {
                n_updates: 3,
                n_security: 2,
                n_kernel: 1,
                reboot_required: true
            })
        );
        assert_eq!(history[1].duration_ms, 1234);
        // The package manager it found is kept with it; a failed attempt found none.
        assert_eq!(history[1].package_manager, Some(PackageManagerKind::Apt));
        assert!(matches!(&history[0].outcome, SummaryOutcome::Failed(f) if f.kind == "timed_out"));
        assert_eq!(history[0].package_manager, None);
    }
}

#[tokio::test]
async fn latest_is_per_host_and_history_is_newest_first() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        for name in ["a", "b", "c"] {
            store.upsert_host(&host(name, 1)).await.unwrap();
        }
        assert_eq!(store.assessments_mark().await.unwrap(), 0);
        store.record_assessment(&assessed("a", 100)).await.unwrap();
        store.record_assessment(&failed("a", 300, "refused")).await.unwrap();
        // The mark grows with every attempt recorded, whatever its time.
        let mark = store.assessments_mark().await.unwrap();
        store.record_assessment(&assessed("a", 200)).await.unwrap();
        assert!(store.assessments_mark().await.unwrap() > mark);
        let b_first = store.record_assessment(&assessed("b", 100)).await.unwrap();
        // Two attempts in the same second: the one recorded later is the latest.
        let b_second = store.record_assessment(&failed("b", 100, "auth_failed")).await.unwrap();

        let latest = store.latest_assessments(None).await.unwrap();
        let view: Vec<(&str, i64)> =
            latest.iter().map(|r| (r.host.as_str(), r.taken_at_unix)).collect();
        // `c` was never assessed: absent.
        assert_eq!(view, [("a", 300), ("b", 100)]);
        assert_eq!(latest[1].id, b_second);
        assert!(matches!(&latest[0].outcome, SummaryOutcome::Failed(f) if f.kind == "refused"));

        let only_b =
            store.latest_assessments(Some(&["b".to_owned(), "c".to_owned()])).await.unwrap();
        assert_eq!(only_b.iter().map(|r| r.host.as_str()).collect::<Vec<_>>(), ["b"]);

        let history = store.history("a", 2).await.unwrap();
        assert_eq!(history.iter().map(|r| r.taken_at_unix).collect::<Vec<_>>(), [300, 200]);
        let history = store.history("b", 10).await.unwrap();
        assert_eq!(history.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), [b_second, b_first]);
        assert!(store.history("c", 10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn hosts_are_upserted() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store.upsert_host(&host("deb1", 100)).await.unwrap();
        // A later contact: new address, package manager unknown this time (kept), seen later.
        let mut again = host("deb1", 500);
        again.address = "10.0.0.9".to_owned();
        again.package_manager = None;
        store.upsert_host(&again).await.unwrap();
        // An older observation arriving late does not move last_seen back.
        store.upsert_host(&host("deb1", 300)).await.unwrap();
        let hosts = store.hosts().await.unwrap();
        assert_eq!(hosts.len(), 1);
        let deb1 = &hosts[0];
        assert_eq!(deb1.address, "deb1.example.com");
        assert_eq!(deb1.package_manager, Some(PackageManagerKind::Apt));
        assert_eq!((deb1.first_seen_unix, deb1.last_seen_unix), (100, 500));
    }
}

#[tokio::test]
async fn a_pinned_key_is_never_replaced_silently() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        store.upsert_host(&host("deb1", 1)).await.unwrap();
        let first = key("deb1", "AAAAkey1", "SHA256:one");
        assert_eq!(store.pin_host_key(&first).await.unwrap(), PinOutcome::Pinned);
        let mut later = first.clone();
        later.pinned_at_unix += 1000;
        later.pinned_by = "bob".to_owned();
        assert_eq!(store.pin_host_key(&later).await.unwrap(), PinOutcome::AlreadyPinned);
        assert_eq!(store.host_key("deb1").await.unwrap(), Some(first.clone()));

        let changed = key("deb1", "AAAAkey2", "SHA256:two");
        let error = store.pin_host_key(&changed).await.unwrap_err();
        assert!(matches!(error, StoreError::HostKeyMismatch { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("SHA256:one") && message.contains("SHA256:two"), "{message}");

        assert!(store.unpin_host_key("deb1").await.unwrap());
        assert!(!store.unpin_host_key("deb1").await.unwrap());
        assert_eq!(store.pin_host_key(&changed).await.unwrap(), PinOutcome::Pinned);
        assert_eq!(store.host_key("deb1").await.unwrap(), Some(changed));
    }
}

#[tokio::test]
async fn nothing_is_recorded_about_an_unknown_host() {
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let store = db.open().await;
        let error = store.record_assessment(&assessed("ghost", 1)).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::UnknownHost { host, .. } if host == "ghost"),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            "recording an assessment of ghost: host \"ghost\" is not in the state database (upsert it first)"
        );
        let error = store.pin_host_key(&key("ghost", "AAAA", "SHA256:x")).await.unwrap_err();
        assert!(matches!(&error, StoreError::UnknownHost { .. }), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_all_land() {
    const TASKS: usize = 8;
    const RECORDS: usize = 25;
    for db in test_dbs().await {
        eprintln!("on {}", db.name());
        let first = db.open().await;
        // A second pool on the same file stands for a second patchctl process.
        let second = db.open().await;
        for task in 0..TASKS {
            first.upsert_host(&host(&format!("h{task}"), 1)).await.unwrap();
        }
        let mut handles = Vec::new();
        for task in 0..TASKS {
            let store = if task % 2 == 0 { first.clone() } else { second.clone() };
            handles.push(tokio::spawn(async move {
                let name = format!("h{task}");
                for i in 0..RECORDS {
                    let taken_at = i64::try_from(i).unwrap();
                    let record = if i % 3 == 0 {
                        failed(&name, taken_at, "refused")
                    } else {
                        assessed(&name, taken_at)
                    };
                    store.record_assessment(&record).await.unwrap();
                    store.upsert_host(&host(&name, taken_at)).await.unwrap();
                }
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
        first.close().await;
        second.close().await;
        let store = db.open().await;
        for task in 0..TASKS {
            let history = store.history(&format!("h{task}"), 1000).await.unwrap();
            assert_eq!(history.len(), RECORDS);
        }
        assert_eq!(store.latest_assessments(None).await.unwrap().len(), TASKS);
    }
}

#[tokio::test]
async fn a_corrupt_file_is_a_clear_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(
        &path,
        b"this is not an SQLite database, but it is long enough to look like one?".repeat(100),
    )
    .unwrap();
    let error = Store::open(&path).await.unwrap_err();
    assert!(matches!(error, StoreError::Open { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a database"), "{message}");
}

#[tokio::test]
async fn a_missing_directory_is_a_clear_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/state.db");
    let message = Store::open(&path).await.unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("opening the state database {}", path.display())),
        "{message}"
    );
}

#[tokio::test]
async fn migrations_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = open(&path).await;
    store.upsert_host(&host("deb1", 1)).await.unwrap();
    store.close().await;
    // Reopening migrates nothing again and loses nothing.
    let store = open(&path).await;
    assert_eq!(store.hosts().await.unwrap().len(), 1);
    store.close().await;
    let n_migrations =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"))
            .unwrap()
            .count();
    let applied = sqlite_count(&path, "SELECT COUNT(*) FROM _sqlx_migrations WHERE success").await;
    assert_eq!(applied, i64::try_from(n_migrations).unwrap());
}

#[tokio::test]
async fn a_database_from_a_newer_patchctl_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    open(&path).await.close().await;
    sqlite_count(
        &path,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99999, 'from the future', TRUE, x'00', 0) RETURNING 0",
    )
    .await;
    let error = Store::open(&path).await.unwrap_err();
    assert!(matches!(error, StoreError::NewerSchema { version: 99999, .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "the state database {} was written by a newer patchctl (schema version 99999); use \
             that version or newer",
            path.display()
        )
    );
}

#[tokio::test]
async fn the_journal_is_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    open(&path).await.close().await;
    // WAL is a property of the file: a plain connection sees it.
    let mode: String = {
        use sqlx::Connection;
        let mut connection =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut connection).await.unwrap()
    };
    assert_eq!(mode, "wal");
}

/// The assessments' mark never counts an assessment a reader cannot see yet, however many are
/// recorded at once: a cache keyed by it would otherwise keep missing that one. PostgreSQL's
/// ids come from a sequence, handed out before commit (SQLite's one writer cannot race).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_assessments_mark_never_passes_an_invisible_assessment() {
    const WRITERS: usize = 4;
    const EACH: i64 = 100;
    let Some(db) = test_dbs().await.into_iter().find(|db| db.is_postgres()) else { return };
    let store = db.open().await;
    store.upsert_host(&host("deb1", 1)).await.unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..WRITERS {
        let store = db.open().await;
        writers.spawn(async move {
            for t in 0..EACH {
                store.record_assessment(&failed("deb1", t, "timed_out")).await.unwrap();
            }
        });
    }
    let url = db.postgres_url().unwrap().to_owned();
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let mut checks = 0;
    while !writers.is_empty() {
        let mark = store.assessments_mark().await.unwrap();
        let visible: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assessments WHERE seq <= $1")
            .bind(mark)
            .fetch_one(&mut connection)
            .await
            .unwrap();
        // No insert fails here, so the sequence has no gaps: seqs 1..=mark are all there.
        assert_eq!(visible, mark, "the mark counts assessments not yet visible");
        checks += 1;
        while writers.try_join_next().is_some() {}
    }
    assert!(checks > 1);
    assert_eq!(store.assessments_mark().await.unwrap(), WRITERS as i64 * EACH);
}
