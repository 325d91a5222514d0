//! A state database written by an earlier patchctl (`test_data/state-18d7299.db`; its README
//! says how and by which commit), opened by today's code: every plan reads and still has its
//! id, every journal verifies, the rollout replays and its report renders, every assessment,
//! advisory and postmortem record reads back as its bytes; and today's code, doing the same
//! again, stores the same bytes. The formats of `protocol` exist so that this
//! keeps passing when the domain types change.

use std::path::Path;

use model::change::ChangeKind;
use ops::audit::{Scope, verify};
use rollout::Phase;
use store::{AssessmentOutcome, Store, SummaryOutcome};

/// The example that wrote the fixture, run again by today's code.
#[allow(dead_code)]
#[path = "../../examples/legacy_db.rs"]
mod writer;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/state-18d7299.db");

const ROLLOUT: &str = "00aa11bb22cc33dd";

/// The ids the plans were saved under in 18d7299: hashes of their content as it hashed then.
const PLAN: &str = "sha256:afdcd6c4563e193e31ec4ea50d4e4abdb8aa3e5bde08069377e248b9449de5e1";
const EMERGENCY_PLAN: &str =
    "sha256:a3b28d1c1529a3b0729e522c169378c519bbaed8d73a3d01b0c5f6a0883af0b7";

/// The fixture, copied: opening a database may migrate it, and the fixture stays as written.
async fn open_copy(dir: &Path) -> Store {
    let path = dir.join("state.db");
    std::fs::copy(FIXTURE, &path).unwrap();
    Store::open(&path).await.unwrap()
}

#[tokio::test]
async fn every_plan_of_an_old_database_reads_and_still_has_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_copy(dir.path()).await;
    let mut ids: Vec<String> = store.plans().await.unwrap().into_iter().map(|p| p.id).collect();
    ids.sort();
    let mut expected = [PLAN, EMERGENCY_PLAN];
    expected.sort();
    assert_eq!(ids, expected);
    for id in &ids {
        let plan = ops::load_plan(&store, id).await.unwrap().expect("the plan");
        assert_eq!(&plan.id, id);
        assert_eq!(&plan.content_hash(), id, "its id is the hash of its content, recomputed");
    }
    let plan = ops::load_plan(&store, PLAN).await.unwrap().unwrap();
    assert_eq!(plan.hosts.len(), 3);
    assert!(!plan.withheld.is_empty(), "the baseline's hold is in the plan");
    assert_eq!(plan.options.goals, ["monthly patching"]);
    let emergency = ops::load_plan(&store, EMERGENCY_PLAN).await.unwrap().unwrap();
    assert_eq!(emergency.emergency.unwrap().advisories, ["ACME-2026:0001"]);
}

#[tokio::test]
async fn every_journal_of_an_old_database_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_copy(dir.path()).await;
    let report = verify(&store, &Scope::All, &dir.path().join("anchors"), false, 1).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    let chains: Vec<(&str, u64)> =
        report.chains.iter().map(|c| (c.chain.as_str(), c.entries)).collect();
    let change = format!("change:{PLAN}");
    let rollout = format!("rollout:{ROLLOUT}");
    assert_eq!(
        chains,
        [
            (rollout.as_str(), 66),
            (change.as_str(), 2),
            ("postmortem:1", 1),
            ("postmortem:2", 1),
            ("notifications", 0)
        ]
    );
    assert!(report.chains.iter().all(|c| !c.not_covered), "{report:?}");

    let actions = ops::change::change_actions(&store, PLAN).await.unwrap();
    let kinds: Vec<ChangeKind> = actions.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [ChangeKind::Request, ChangeKind::Approve]);
    assert_eq!(store.postmortems().await.unwrap().len(), 2, "the emergency's and the rollout's");
}

#[tokio::test]
async fn the_rollout_of_an_old_database_replays_and_its_report_renders() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_copy(dir.path()).await;
    let loaded = ops::rollout::load(&store, ROLLOUT).await.unwrap();
    assert_eq!(loaded.plan.id, PLAN);
    assert_eq!(loaded.machine.phase(), Phase::Completed);
    let states: Vec<(&str, &str)> = loaded.machine.hosts().map(|(h, s)| (h, s.name())).collect();
    assert_eq!(states, [("rpm1", "done"), ("rpm2", "rolled_back"), ("rpm3", "rolled_back")]);
    assert_eq!(loaded.start.as_ref().map(|s| s.actor.as_str()), Some("alice"));
    assert!(loaded.outputs.iter().any(|(_, o)| o.remark && o.exit_code == Some(1)));
    assert!(loaded.outputs.iter().any(|(_, o)| o.restarted == ["acme-web.service"]));

    let context = ops::rollout::report_context(&store, &loaded).await.unwrap();
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let markdown = ops::rollout::report(&loaded, &context, now).to_markdown();
    for expected in [ROLLOUT, "rpm2", "scriptlet failed", "CHG-1", "bob"] {
        assert!(markdown.contains(expected), "{expected} is not in the report:\n{markdown}");
    }
    // The JSON report, whole: `test_data/state-18d7299.report.json` was written before the
    // report had a form of its own. `PATCHCTL_BLESS=1` rewrites it.
    let json = ops::rollout::report_json(&loaded, &context, now);
    let expected = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/state-18d7299.report.json");
    if std::env::var_os("PATCHCTL_BLESS").is_some() {
        std::fs::write(expected, &json).unwrap();
    }
    assert_eq!(json, std::fs::read_to_string(expected).unwrap());
}

#[tokio::test]
async fn the_assessments_and_advisories_of_an_old_database_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_copy(dir.path()).await;
    let latest = store.latest_assessments(None).await.unwrap();
    assert_eq!(latest.len(), 3);
    for row in latest {
        assert!(matches!(row.outcome, SummaryOutcome::Assessed(_)));
        let stored = store.assessment(&row.id).await.unwrap().unwrap();
        let AssessmentOutcome::Assessed(assessment) = stored.record.outcome else {
            panic!("{} was assessed", row.host)
        };
        assert_eq!(assessment.updates.len(), 3);
    }
    let mut advisories: Vec<String> =
        store.advisories().await.unwrap().into_iter().map(|a| a.advisory.id).collect();
    advisories.sort();
    assert_eq!(advisories, ["ACME-2026:0001", "ACME-2026:0002"]);
}

/// The JSON documents of `path`'s other tables, raw and in a fixed order: each assessment,
/// advisory, postmortem record entry and notification event.
async fn stored_documents(path: &Path) -> Vec<String> {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}", path.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mut documents = Vec::new();
    for query in [
        "SELECT assessment FROM assessments ORDER BY host, taken_at",
        "SELECT body FROM advisories ORDER BY id, format",
        "SELECT action || ' ' || body FROM postmortem_events ORDER BY postmortem_id, seq",
        "SELECT event FROM notifications ORDER BY id",
    ] {
        let rows: Vec<(String,)> = sqlx::query_as(query).fetch_all(&mut connection).await.unwrap();
        documents.extend(rows.into_iter().map(|(document,)| document));
    }
    connection.close().await.unwrap();
    documents
}

/// Every assessment, advisory and postmortem record body of the old database, read through
/// today's forms into the domain and written back, is the same bytes: the forms of `protocol`
/// are what 18d7299 wrote, member for member.
#[tokio::test]
async fn every_document_of_an_old_database_reads_and_writes_back_the_same_bytes() {
    use protocol::advisory::AdvisoryV1;
    use protocol::assessment::AssessmentV1;
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    std::fs::copy(FIXTURE, &old).unwrap();
    let url = format!("sqlite://{}", old.display());
    use sqlx::Connection as _;
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let assessments: Vec<(String,)> = sqlx::query_as("SELECT assessment FROM assessments")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    assert_eq!(assessments.len(), 3);
    for (json,) in assessments {
        let assessment =
            model::Assessment::from(serde_json::from_str::<AssessmentV1>(&json).unwrap());
        assert_eq!(serde_json::to_string(&AssessmentV1::from(&assessment)).unwrap(), json);
    }
    let advisories: Vec<(String,)> =
        sqlx::query_as("SELECT body FROM advisories").fetch_all(&mut connection).await.unwrap();
    assert_eq!(advisories.len(), 2);
    for (json,) in advisories {
        let advisory =
            model::advisory::Advisory::from(serde_json::from_str::<AdvisoryV1>(&json).unwrap());
        assert_eq!(serde_json::to_string(&AdvisoryV1::from(&advisory)).unwrap(), json);
    }
    let events: Vec<(String, String)> =
        sqlx::query_as("SELECT action, body FROM postmortem_events")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    assert_eq!(events.len(), 2);
    for (action, json) in events {
        assert_eq!(action, "opened");
        let body: protocol::postmortem::OpenedV1 = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&body).unwrap(), json);
    }
    connection.close().await.unwrap();
}

/// What every stored body of `path` is, in order, with the one thing a run's clock decides
/// (a running step's deadline) blanked.
async fn stored_bodies(path: &Path) -> Vec<String> {
    let store = Store::open(path).await.unwrap();
    let mut bodies = Vec::new();
    for plan in store.plans().await.unwrap() {
        bodies.push(store.plan(&plan.id).await.unwrap().unwrap().body_json);
        for entry in store.change_journal(&plan.id).await.unwrap() {
            bodies.push(format!("{} {} {}", entry.kind, entry.actor, entry.body_json));
        }
    }
    for row in store.rollouts().await.unwrap() {
        bodies.push(row.config_json.clone());
        for entry in store.journal(&row.id).await.unwrap() {
            bodies.push(format!("{} {:?} {}", entry.kind, entry.host, entry.body_json));
        }
    }
    store.close().await;
    let deadline = |body: &String| match body.find("\"deadline\":") {
        Some(at) => {
            let digits = body[at + 11..].find(|c: char| !c.is_ascii_digit()).unwrap();
            format!("{}N{}", &body[..at + 11], &body[at + 11 + digits..])
        }
        None => body.clone(),
    };
    bodies.iter().map(deadline).collect()
}

/// Today's code, doing what wrote the fixture, writes the same bytes: plan bodies (so the same
/// ids), the rollout's configuration, every change and rollout journal body, every assessment,
/// advisory and postmortem record body.
#[tokio::test]
async fn today_s_code_writes_the_bytes_18d7299_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("today.db");
    writer::write(&path).await;
    let old = dir.path().join("old.db");
    std::fs::copy(FIXTURE, &old).unwrap();
    let (today, then) = (stored_bodies(&path).await, stored_bodies(&old).await);
    assert_eq!(then.len(), 2 + 2 + 1 + 66, "plans, approvals, the config, the journal");
    assert_eq!(today.len(), then.len());
    for (today, then) in today.iter().zip(&then) {
        assert_eq!(today, then);
    }
    let (today, then) = (stored_documents(&path).await, stored_documents(&old).await);
    assert_eq!(then.len(), 3 + 2 + 2, "assessments, advisories, postmortem records");
    assert_eq!(today, then);
}
