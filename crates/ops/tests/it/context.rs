//! The application's context: where it reads the inventory and the policy, which hosts a
//! selector picks, the state it opens once, and the rule that a virtual clock dates nothing in
//! real state. On real files in a temporary folder and a real SQLite database.

use std::path::Path;

use ops::{Clock, Context, SourceError, Sources};

const INVENTORY: &str = "[hosts.web1]\naddress = \"10.0.0.1\"\nenvironment = \"production\"\n\
                         groups = [\"web\"]\n\n[hosts.db1]\naddress = \"10.0.0.2\"\n\
                         environment = \"staging\"\n";
const POLICY: &str = "[[environments]]\nname = \"production\"\nschedule = \"@daily\"\n\
                      timezone = \"UTC\"\nwindow = \"2h\"\napproval = \"auto\"\n";

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn sources(dir: &Path) -> Sources {
    Sources {
        config: dir.join("patchctl.toml"),
        state: None,
        policy: None,
        no_policy: false,
        database_url: None,
    }
}

#[test]
fn the_sources_are_found_beside_the_inventory_and_a_missing_policy_is_refused_unless_waived() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("patchctl.toml"), INVENTORY);
    let mut sources = sources(dir.path());
    assert_eq!(sources.state(), dir.path().join("patchctl.db"));
    assert_eq!(sources.inventory().unwrap().hosts().len(), 2);
    assert!(sources.policy().unwrap().is_none());
    assert!(matches!(sources.policy_or_none(), Err(SourceError::NoPolicy(_))));
    sources.no_policy = true;
    assert!(sources.policy_or_none().unwrap().is_none());

    write(&dir.path().join("policy.toml"), POLICY);
    assert!(matches!(sources.policy_or_none(), Err(SourceError::PolicyAndNoPolicy(_))));
    sources.no_policy = false;
    assert_eq!(sources.policy_or_none().unwrap().unwrap().environments().len(), 1);
}

#[test]
fn a_selector_that_picks_nothing_or_is_malformed_is_an_error_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("patchctl.toml"), INVENTORY);
    let ctx = Context::new(sources(dir.path()), Clock::real(), "alice".into());
    let names = |selectors: &[&str]| -> Result<Vec<String>, String> {
        let selectors: Vec<String> = selectors.iter().map(|s| s.to_string()).collect();
        ctx.hosts(&selectors)
            .map(|h| h.into_iter().map(|h| h.name).collect())
            .map_err(|e| e.to_string())
    };
    assert_eq!(names(&["all"]).unwrap(), ["web1", "db1"], "in the inventory's order");
    assert_eq!(names(&["env:production"]).unwrap(), ["web1"]);
    assert!(names(&["nosuchhost"]).unwrap_err().contains("nosuchhost"));
    assert!(names(&["env:"]).is_err());
}

#[tokio::test]
async fn a_virtual_clock_may_write_only_to_a_rehearsal_copy() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("patchctl.toml"), INVENTORY);
    let at = chrono::DateTime::parse_from_rfc3339("2031-03-04T05:06:07Z").unwrap().to_utc();

    // The real state, created by a context on the real clock.
    let real = Context::new(sources(dir.path()), Clock::real(), "alice".into());
    real.create_state().await.unwrap();
    ops::rehearsal::check_clock(&real, true).await.unwrap();
    real.close().await;

    let virtual_clock = Context::new(sources(dir.path()), Clock::starting_at(at), "alice".into());
    ops::rehearsal::check_clock(&virtual_clock, false).await.expect("reading is allowed");
    let refused = ops::rehearsal::check_clock(&virtual_clock, true).await.unwrap_err();
    assert!(refused.to_string().contains("a virtual clock may date nothing"), "{refused}");

    // A copy marked a rehearsal takes it.
    let copy = dir.path().join("rehearsal.db");
    ops::rehearsal::create(&virtual_clock, &copy, false).await.unwrap();
    virtual_clock.close().await;
    let mut rehearsal_sources = sources(dir.path());
    rehearsal_sources.state = Some(copy);
    let rehearsal = Context::new(rehearsal_sources, Clock::starting_at(at), "alice".into());
    ops::rehearsal::check_clock(&rehearsal, true).await.unwrap();
    assert!(matches!(
        ops::rehearsal::kind(&rehearsal).await.unwrap(),
        ops::rehearsal::StateKind::CopyOf(_)
    ));
    rehearsal.close().await;
}

/// The server keeps the parsed inventory and each host's latest attempt between requests; an
/// edit of the file or an attempt recorded by another process (here, the store written
/// behind the context's back) must show on the next read, and nothing else may re-read.
#[tokio::test]
async fn the_kept_inventory_and_latest_attempts_follow_the_file_and_the_store() {
    use store::{AssessmentOutcome, AssessmentRecord, Failure, HostRow, Store};

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("patchctl.toml");
    write(&config, INVENTORY);
    let ctx = Context::new(sources(dir.path()), Clock::real(), "alice".into());
    let first = ctx.inventory().unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &ctx.inventory().unwrap()), "kept, not parsed again");

    let latest = ops::fleet::hosts_latest(&ctx).await.unwrap();
    assert!(latest.iter().all(|h| h.latest.is_none()), "{latest:?}");
    assert!(std::sync::Arc::ptr_eq(&latest, &ops::fleet::hosts_latest(&ctx).await.unwrap()));

    // Another writer of the same database records an attempt for web1.
    let other = Store::open(&dir.path().join("patchctl.db")).await.unwrap();
    let host = HostRow {
        name: "web1".into(),
        address: "10.0.0.1".into(),
        environment: "production".into(),
        package_manager: None,
        seen_at_unix: 1_800_000_000,
    };
    other.upsert_host(&host).await.unwrap();
    let failure = Failure { kind: "timed_out".into(), message: "no answer".into() };
    let record = AssessmentRecord {
        host: "web1".into(),
        taken_at_unix: 1_800_000_000,
        duration_ms: 30_000,
        outcome: AssessmentOutcome::Failed(failure),
    };
    other.record_assessment(&record).await.unwrap();
    other.close().await;
    let latest = ops::fleet::hosts_latest(&ctx).await.unwrap();
    let web1 = latest.iter().find(|h| h.host == "web1").unwrap();
    assert_eq!(web1.latest.as_ref().map(|l| l.taken_at_unix), Some(1_800_000_000));

    // The same size, rewritten in place: a host renamed.
    write(&config, &INVENTORY.replace("db1", "db2"));
    let names: Vec<String> =
        ctx.inventory().unwrap().hosts().iter().map(|h| h.name.clone()).collect();
    assert_eq!(names, ["web1", "db2"]);
    let latest = ops::fleet::hosts_latest(&ctx).await.unwrap();
    assert_eq!(latest.iter().map(|h| h.host.as_str()).collect::<Vec<_>>(), ["web1", "db2"]);

    // A file someone else could now write is refused, though its text did not change.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(ctx.inventory().unwrap_err().to_string().contains("can be written by anyone"));
}

/// The pool a context is given is the one its state on PostgreSQL opens with, and a pool
/// without a connection is refused, saying so.
#[tokio::test]
async fn the_state_on_postgresql_opens_with_the_pool_settings_given() {
    let Some(db) = crate::backends::test_dbs().await.into_iter().find(|db| db.is_postgres()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let given = ops::PoolSettings {
        max_connections: 3,
        acquire_timeout: std::time::Duration::from_secs(7),
    };
    let at = |pool| {
        let sources =
            Sources { database_url: db.postgres_url().map(str::to_owned), ..sources(dir.path()) };
        Context::new(sources, Clock::real(), "alice".into()).with_pool_settings(pool)
    };
    let ctx = at(given);
    assert_eq!(ctx.store().await.unwrap().pool_settings(), given);
    ctx.close().await;
    let ctx = at(ops::PoolSettings::default());
    assert_eq!(ctx.store().await.unwrap().pool_settings().max_connections, 8);
    ctx.close().await;
    let error = at(ops::PoolSettings { max_connections: 0, ..given }).store().await.unwrap_err();
    assert!(error.to_string().contains("a pool of 0 connections"), "{error}");
}
