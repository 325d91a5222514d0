//! Writes a state database the way patchctl's own code paths write one, for
//! `crates/ops/tests/it/legacy_db.rs`: hosts and their assessments, imported advisories, a plan
//! under a policy's baseline (with withheld updates and a goal), an emergency plan, a change
//! requested and approved, a rollout of the plan driven to its end by the real driver against
//! hosts whose steps are simulated (one apply fails and is rolled back automatically; another
//! host is rolled back by hand afterwards, through a request to a driver that held the rollout), and its postmortem.
//!
//! `cargo run -p ops --example legacy_db -- PATH` (PATH must not exist). The database under
//! `crates/ops/test_data/` was written by it once; see the README there. It is never rewritten:
//! a reader of a newer format gets a database of its own next to it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use model::change::ChangeKind;
use model::plan::{Limit, PlanOptions, Strategy};
use model::policy::Policy;
use model::{
    Assessment, Classification, InstalledPackage, Inventory, OsRelease, PackageManagerKind,
    PendingUpdate, UpdateAction,
};
use ops::change::{Act, act};
use ops::emergency::{EmergencyRequest, emergency};
use ops::rollout::{
    ConcludeConfig, DriveConfig, DriveOutcome, JournalRecord, OutputRecord, StartRecord,
    StepReport, StepRunner, conclude, create_rollout, drive, rollout_config,
};
use rollout::{Input, Step, StepResult};
use store::{AssessmentOutcome, AssessmentRecord, HostRow, Store};

const ROLLOUT: &str = "00aa11bb22cc33dd";

const INVENTORY: &str = r#"
[hosts.rpm1]
address = "192.0.2.11"
environment = "staging"
owner = "team-web"

[hosts.rpm2]
address = "192.0.2.12"
environment = "staging"

[hosts.rpm3]
address = "192.0.2.13"
environment = "staging"
"#;

const POLICY: &str = r#"
[[environments]]
name = "staging"
schedule = "0 22 * * *"
timezone = "UTC"
window = "2h"
approval = { approvers = 1, role = "cab" }
baseline = "staging"
goals = ["monthly patching"]

[roles]
cab = ["alice", "bob"]

[baselines.staging]
hold = ["acme-kernel"]
[[baselines.staging.rules]]
auto_approve_after_days = 0
"#;

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@acme.test" status="final" type="security" version="2.0">
    <id>ACME-2026:0001</id>
    <title>Critical: acme-web security update</title>
    <severity>Critical</severity>
    <issued date="2026-11-01 00:00:00"/>
    <references><reference href="https://cve.invalid/CVE-2026-0001" id="CVE-2026-0001" type="cve"/></references>
    <pkglist><collection short="acme"><name>acme</name>
      <package name="acme-web" version="1.1" release="1" epoch="0" arch="noarch" src="acme-web-1.1-1.src.rpm"><filename>acme-web-1.1-1.noarch.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update from="security@acme.test" status="final" type="security" version="2.0">
    <id>ACME-2026:0002</id>
    <title>Important: acme-kernel security update</title>
    <severity>Important</severity>
    <issued date="2026-11-20 00:00:00"/>
    <pkglist><collection short="acme"><name>acme</name>
      <package name="acme-kernel" version="1.1" release="1" epoch="0" arch="noarch" src="acme-kernel-1.1-1.src.rpm"><filename>acme-kernel-1.1-1.noarch.rpm</filename></package>
    </collection></pkglist>
  </update>
</updates>
"#;

const PACKAGES: [&str; 3] = ["acme-kernel", "acme-tools", "acme-web"];

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn assessment(host: &str, at: &str) -> Assessment {
    Assessment {
        lists_refreshed: Default::default(),
        host: host.to_owned(),
        taken_at_unix: utc(at).timestamp(),
        os: OsRelease { id: "acme-el".into(), ..OsRelease::default() },
        package_manager: PackageManagerKind::Dnf,
        running_kernel: "6.1".into(),
        installed_kernels: vec![],
        boot_id: "b".into(),
        installed: PACKAGES
            .iter()
            .map(|name| InstalledPackage {
                name: name.to_string(),
                arch: "noarch".into(),
                version: "1.0-1".into(),
                source: None,
                source_version: None,
            })
            .collect(),
        updates: PACKAGES
            .iter()
            .map(|name| PendingUpdate {
                name: name.to_string(),
                arch: "noarch".to_owned(),
                installed_version: Some("1.0-1".to_owned()),
                candidate_version: "1.1-1".to_owned(),
                origins: Vec::new(),
                action: UpdateAction::Upgrade,
                classification: Classification::Bugfix,
                severity: None,
                kernel: false,
                advisories: Vec::new(),
                cves: Vec::new(),
                kept_back: false,
            })
            .collect(),
        removals: vec![],
        held: vec![],
        reboot: Default::default(),
        services_needing_restart: Some(vec!["acme-web.service".into()]),
        disk: vec![],
        health: Default::default(),
    }
}

/// Hosts whose steps succeed, except rpm2's apply; every step leaves one command's output.
struct FakeHosts;

#[async_trait::async_trait]
impl StepRunner for FakeHosts {
    async fn run(&self, host: &str, step: Step, _resume: bool) -> StepReport {
        let failed = host == "rpm2" && step == Step::Apply;
        let result = if failed {
            StepResult::Failed { reason: "acme-web-1.1-1: %post scriptlet failed, exit 1".into() }
        } else {
            StepResult::Succeeded { reboot_required: false }
        };
        let output = OutputRecord {
            step,
            argv: vec!["dnf".into(), "-y".into(), step.as_str().into()],
            exit_code: Some(if failed { 1 } else { 0 }),
            stdout_tail: format!("{step:?} on {host}\n"),
            stderr_tail: if failed { "scriptlet failed\n".into() } else { String::new() },
            output_sha256: format!("{:064x}", 7),
            note: if failed { "the apply failed".into() } else { String::new() },
            facts: BTreeMap::from([("boot_id".to_owned(), "b".to_owned())]),
            host_ms: Some(12),
            remark: failed,
            restarted: if step == Step::Postcheck {
                vec!["acme-web.service".into()]
            } else {
                vec![]
            },
        };
        StepReport { result, outputs: vec![output] }
    }
}

fn drive_config(owner: &str) -> DriveConfig {
    DriveConfig {
        owner: owner.into(),
        lease_seconds: 30,
        wait_for_lease: false,
        request_poll: std::time::Duration::from_millis(50),
        clock_offset_ms: 0,
        actor: None,
    }
}

#[tokio::main]
async fn main() {
    let path = std::env::args().nth(1).expect("usage: legacy_db PATH");
    let path = Path::new(&path);
    assert!(!path.exists(), "{} exists; give a new path", path.display());
    write(path).await;
}

/// Writes the database at `path` (`tests/it/legacy_db.rs` runs this too, and compares what
/// today's code writes with what 18d7299 wrote).
pub async fn write(path: &Path) {
    let store = Store::open(path).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inventory = Inventory::parse(Path::new("patchctl.toml"), INVENTORY).unwrap();
    let policy = Policy::parse(Path::new("policy.toml"), POLICY).unwrap_or_else(|e| panic!("{e}"));
    let now = utc("2026-12-07T09:00:00Z");

    for host in ["rpm1", "rpm2", "rpm3"] {
        let row = HostRow {
            name: host.into(),
            address: "192.0.2.1".into(),
            environment: "staging".into(),
            package_manager: Some(PackageManagerKind::Dnf),
            seen_at_unix: now.timestamp(),
        };
        store.upsert_host(&row).await.unwrap();
        let assessment = assessment(host, "2026-12-07T08:00:00Z");
        let record = AssessmentRecord {
            host: assessment.host.clone(),
            taken_at_unix: assessment.taken_at_unix,
            duration_ms: 1,
            outcome: AssessmentOutcome::Assessed(Box::new(assessment)),
        };
        store.record_assessment(&record).await.unwrap();
    }
    let file = dir.path().join("updateinfo.xml");
    std::fs::write(&file, UPDATEINFO).unwrap();
    ops::advisories::import_advisories(&store, &[file], now.timestamp()).await.unwrap();

    let hosts: Vec<_> =
        ["rpm1", "rpm2", "rpm3"].iter().map(|h| inventory.host(h).unwrap().clone()).collect();
    let options = PlanOptions {
        strategy: Strategy {
            canary: 1,
            max_unavailable: Limit::Percent(100),
            error_budget: Limit::Count(1),
        },
        goals: vec!["monthly patching".into()],
        ..PlanOptions::default()
    };
    let selectors = vec!["env:staging".to_owned()];

    // The emergency track's plan for the critical advisory, kept, never run.
    let named = vec!["ACME-2026:0001".to_owned()];
    let outcome = emergency(
        &store,
        &EmergencyRequest {
            named: &named,
            hosts: &hosts,
            options: options.clone(),
            policy: Some(&policy),
            actor: "alice",
            now,
        },
    )
    .await
    .unwrap();
    let emergency_plan = outcome.plan.expect("an emergency plan");
    println!("emergency plan {}", emergency_plan.id);

    let plan =
        ops::create_plan(&store, &hosts, &selectors, &options, Some(&policy), now.timestamp() + 60)
            .await
            .unwrap();
    assert!(!plan.withheld.is_empty(), "the baseline holds acme-kernel");
    println!("plan {}", plan.id);

    let request_change = Act {
        kind: ChangeKind::Request,
        actor: "alice".into(),
        ticket: Some("CHG-1".into()),
        comment: None,
    };
    act(&store, &policy, &plan.id, request_change, now).await.unwrap();
    let approve = Act {
        kind: ChangeKind::Approve,
        actor: "bob".into(),
        ticket: None,
        comment: Some("looks right".into()),
    };
    act(&store, &policy, &plan.id, approve, now).await.unwrap();
    ops::change::require_approved(&store, &policy, &plan).await.unwrap();

    let config = rollout_config(&plan, &ops::scheduler::plan_hosts(&inventory, &plan)).unwrap();
    let start = StartRecord {
        actor: "alice".into(),
        override_window: Some("the fixture is written outside any window".into()),
        ..StartRecord::default()
    };
    create_rollout(&store, &plan, &config, ROLLOUT, now.timestamp() + 120, &start).await.unwrap();
    let events = Mutex::new(0usize);
    let on_event = |_: &rollout::Event, _: &rollout::Rollout| *events.lock().unwrap() += 1;
    let runner = Arc::new(FakeHosts);
    let stop = std::future::pending();
    let outcome = drive(
        &store,
        ROLLOUT,
        runner.clone(),
        &drive_config("alice@fixture:1:aaaa"),
        stop,
        &on_event,
    )
    .await
    .unwrap();
    println!("rollout {ROLLOUT}: {outcome:?}");

    // rpm3 rolled back by hand: asked while another process holds the rollout (a `request`
    // entry), which then lets go; the next drive picks the request up.
    let now_unix =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let store::Claim::Claimed(lease) =
        store.claim_rollout(ROLLOUT, "dave@fixture:3:cccc", now_unix as i64, 30).await.unwrap()
    else {
        panic!("the rollout is free")
    };
    // The request as 18d7299 journaled it, before requests named who asked (`request` now
    // always does): an entry with no actor, which a reader must still take.
    let rollback = Input::RollBack { host: "rpm3".into() };
    let asked = JournalRecord::Request { input: rollback, actor: None };
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    store
        .append_request(ROLLOUT, &[asked.to_entry(now_ms.as_millis() as u64, None)])
        .await
        .unwrap();
    println!("asked dave@fixture:3:cccc (which drives rollout {ROLLOUT}) to roll rpm3 back");
    store.release_rollout(&lease).await.unwrap();
    let stop = std::future::pending();
    let again =
        drive(&store, ROLLOUT, runner, &drive_config("carol@fixture:2:bbbb"), stop, &on_event)
            .await
            .unwrap();
    assert!(matches!(again, DriveOutcome::Finished(_)), "{again:?}");
    println!("after the rollback of rpm3: {again:?}");

    let conclusion = conclude(
        &store,
        ROLLOUT,
        &ConcludeConfig {
            notifications: None,
            postmortem_due: model::postmortem::DEFAULT_DUE_AFTER,
        },
        now,
    )
    .await
    .unwrap();
    println!("postmortem: {:?}", conclusion.postmortem.map(|p| p.id));
    store.close().await;
}
