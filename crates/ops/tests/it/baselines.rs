//! The policy's baselines in plans made from a real (in-memory) SQLite store: `plan create`
//! leaves out what production's baseline holds or has not approved yet, dating each update by
//! its advisory or its first sighting on any host; the emergency track keeps the hold (and
//! says the host stays exposed) but does not wait for the age rule.

use std::path::Path;

use chrono::{DateTime, Utc};
use model::plan::{PlanOptions, Scope, WithheldBy};
use model::policy::Policy;
use model::{
    Assessment, Classification, InstalledPackage, Inventory, OsRelease, PackageManagerKind,
    PendingUpdate, UpdateAction,
};
use ops::emergency::{EmergencyRequest, emergency, still_exposed};
use store::{AssessmentOutcome, AssessmentRecord, HostRow, Store};

const INVENTORY: &str = r#"
[hosts.dev1]
address = "192.0.2.1"
environment = "dev"

[hosts.prod1]
address = "192.0.2.2"
environment = "production"
owner = "team-web"
"#;

/// Production alone (no promotion gate to satisfy); `dev` is not in the policy and names no
/// baseline, so its hosts take everything.
const POLICY: &str = r#"
[[environments]]
name = "production"
schedule = "0 22 * * *"
timezone = "UTC"
window = "2h"
approval = "auto"
baseline = "strict"

[baselines.strict]
hold = ["acme-kernel"]
[[baselines.strict.rules]]
auto_approve_after_days = 5
"#;

/// acme-web's security fix, issued long ago; acme-db's bugfix, issued yesterday; a low-rated
/// security advisory for acme-kernel and acme-db issued today, which an operator names.
const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@acme.test" status="final" type="security" version="2.0">
    <id>ACME-2026:0001</id>
    <title>Critical: acme-web security update</title>
    <severity>Critical</severity>
    <issued date="2026-11-01 00:00:00"/>
    <pkglist><collection short="acme"><name>acme</name>
      <package name="acme-web" version="1.1" release="1" epoch="0" arch="noarch" src="acme-web-1.1-1.src.rpm"><filename>acme-web-1.1-1.noarch.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update from="security@acme.test" status="final" type="bugfix" version="2.0">
    <id>ACME-2026:0003</id>
    <title>acme-db bug fix update</title>
    <issued date="2026-12-07 00:00:00"/>
    <pkglist><collection short="acme"><name>acme</name>
      <package name="acme-db" version="1.1" release="1" epoch="0" arch="noarch" src="acme-db-1.1-1.src.rpm"><filename>acme-db-1.1-1.noarch.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update from="security@acme.test" status="final" type="security" version="2.0">
    <id>ACME-2026:0002</id>
    <title>Low: acme-kernel and acme-db security update</title>
    <severity>Low</severity>
    <issued date="2026-12-08 00:00:00"/>
    <pkglist><collection short="acme"><name>acme</name>
      <package name="acme-kernel" version="1.1" release="1" epoch="0" arch="noarch" src="acme-kernel-1.1-1.src.rpm"><filename>acme-kernel-1.1-1.noarch.rpm</filename></package>
      <package name="acme-db" version="1.1" release="1" epoch="0" arch="noarch" src="acme-db-1.1-1.src.rpm"><filename>acme-db-1.1-1.noarch.rpm</filename></package>
    </collection></pkglist>
  </update>
</updates>
"#;

const PACKAGES: [&str; 4] = ["acme-db", "acme-kernel", "acme-tools", "acme-web"];

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn update(name: &str) -> PendingUpdate {
    PendingUpdate {
        name: name.to_owned(),
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
    }
}

fn assessment(host: &str, at: &str, pending: &[&str]) -> Assessment {
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
        updates: pending.iter().map(|name| update(name)).collect(),
        removals: vec![],
        held: vec![],
        reboot: Default::default(),
        services_needing_restart: None,
        disk: vec![],
        health: Default::default(),
    }
}

/// dev1 saw acme-tools 1.1-1 a week ago and was patched the day after; prod1, assessed this
/// morning, has all four pending. The advisories are imported.
async fn store(dir: &Path) -> Store {
    let store = Store::open_in_memory().await.unwrap();
    for (host, environment) in [("dev1", "dev"), ("prod1", "production")] {
        let row = HostRow {
            name: host.into(),
            address: "192.0.2.1".into(),
            environment: environment.into(),
            package_manager: Some(PackageManagerKind::Dnf),
            seen_at_unix: utc("2026-12-01T00:00:00Z").timestamp(),
        };
        store.upsert_host(&row).await.unwrap();
    }
    let records = [
        assessment("dev1", "2026-12-01T00:00:00Z", &["acme-tools"]),
        assessment("dev1", "2026-12-02T00:00:00Z", &[]),
        assessment("prod1", "2026-12-08T09:00:00Z", &PACKAGES),
    ];
    for assessment in records {
        let record = AssessmentRecord {
            host: assessment.host.clone(),
            taken_at_unix: assessment.taken_at_unix,
            duration_ms: 1,
            outcome: AssessmentOutcome::Assessed(Box::new(assessment)),
        };
        store.record_assessment(&record).await.unwrap();
    }
    let file = dir.join("updateinfo.xml");
    std::fs::write(&file, UPDATEINFO).unwrap();
    let report = ops::advisories::import_advisories(&store, &[file], 0).await.unwrap();
    assert_eq!(report.n_advisories, 3, "{report:?}");
    store
}

fn policy() -> Policy {
    Policy::parse(Path::new("policy.toml"), POLICY).unwrap_or_else(|e| panic!("{e}"))
}

fn inventory() -> Inventory {
    Inventory::parse(Path::new("patchctl.toml"), INVENTORY).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn plan_create_applies_the_baseline_with_release_dates() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let (policy, inventory) = (policy(), inventory());
    let prod1 = vec![inventory.host("prod1").unwrap().clone()];
    let now = utc("2026-12-08T12:00:00Z").timestamp();
    let options = PlanOptions::default();
    let selectors = vec!["prod1".to_owned()];

    let plan =
        ops::create_plan(&store, &prod1, &selectors, &options, Some(&policy), now).await.unwrap();
    let changes: Vec<&str> = plan.hosts[0].changes.iter().map(|c| c.name.as_str()).collect();
    // acme-web: released 2026-11-01 by its advisory. acme-tools: no advisory, first seen on
    // dev1 a week ago, although dev1 no longer shows it and prod1 saw it only this morning.
    assert_eq!(changes, ["acme-tools", "acme-web"]);
    let withheld: Vec<(&str, WithheldBy, &str)> =
        plan.withheld.iter().map(|w| (w.name.as_str(), w.rule, w.reason.as_str())).collect();
    assert_eq!(
        withheld,
        [
            (
                "acme-db",
                WithheldBy::NotYet,
                "approved after 2026-12-12 00:00 UTC (released 2026-12-07 00:00 UTC by \
                 ACME-2026:0003, auto_approve_after_days = 5 in baseline \"strict\" of production)"
            ),
            (
                "acme-kernel",
                WithheldBy::Held,
                "held by baseline \"strict\" of production (hold = [\"acme-kernel\"])"
            ),
        ]
    );
    assert_eq!(plan.withheld[0].approved_after_unix, Some(utc("2026-12-12T00:00:00Z").timestamp()));
    // The plan as saved and shown carries the list.
    let saved = ops::load_plan(&store, &plan.id).await.unwrap().unwrap();
    assert_eq!(saved.withheld, plan.withheld);
    let shown = model::plan::render_markdown(
        &saved,
        &model::plan::RecordInputs::plan_only(chrono::DateTime::UNIX_EPOCH),
    );
    assert!(shown.contains("acme-kernel 1.1-1 on prod1: held by baseline"), "{shown}");

    // Five days after acme-db's release it is approved.
    let later = utc("2026-12-12T00:00:00Z").timestamp();
    let plan =
        ops::create_plan(&store, &prod1, &selectors, &options, Some(&policy), later).await.unwrap();
    assert_eq!(plan.hosts[0].changes.len(), 3);
    assert_eq!(plan.withheld.len(), 1);

    // Without a policy: everything, nothing withheld.
    let plan = ops::create_plan(&store, &prod1, &selectors, &options, None, now).await.unwrap();
    assert_eq!(plan.hosts[0].changes.len(), 4);
    assert!(plan.withheld.is_empty());

    // Named packages are still judged by the baseline: a held one leaves nothing to do.
    let kernel = PlanOptions { scope: Scope::Packages(vec!["acme-kernel".into()]), ..options };
    let plan =
        ops::create_plan(&store, &prod1, &selectors, &kernel, Some(&policy), now).await.unwrap();
    assert!(plan.hosts.is_empty());
    assert!(plan.excluded[0].reason.contains("baseline withholds every pending update"));
}

#[tokio::test]
async fn an_emergency_keeps_the_hold_loudly_and_skips_the_age_rule() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let (policy, inventory) = (policy(), inventory());
    let prod1 = vec![inventory.host("prod1").unwrap().clone()];
    let named = vec!["ACME-2026:0002".to_owned()];
    let request = EmergencyRequest {
        named: &named,
        hosts: &prod1,
        options: PlanOptions::default(),
        policy: Some(&policy),
        actor: "alice",
        now: utc("2026-12-08T12:00:00Z"),
    };
    let outcome = emergency(&store, &request).await.unwrap();
    let plan = outcome.plan.expect("acme-db is planned");
    // acme-db, released yesterday, is not held back for the 5 days of the age rule.
    let changes: Vec<&str> = plan.hosts[0].changes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(changes, ["acme-db"]);
    // acme-kernel stays held, and its host is said to stay exposed.
    let withheld: Vec<(&str, &str, WithheldBy)> =
        outcome.withheld.iter().map(|w| (w.host.as_str(), w.name.as_str(), w.rule)).collect();
    assert_eq!(withheld, [("prod1", "acme-kernel", WithheldBy::Held)]);
    assert_eq!(
        still_exposed(&outcome.withheld[0]),
        "STILL EXPOSED: prod1 stays unpatched: acme-kernel 1.1-1 on it is held by baseline \
         \"strict\" of production (hold = [\"acme-kernel\"]); lift the rule in the policy and \
         run the emergency again to patch it"
    );
    assert!(
        model::plan::render_markdown(
            &plan,
            &model::plan::RecordInputs::plan_only(chrono::DateTime::UNIX_EPOCH)
        )
        .contains("STILL EXPOSED")
    );
    assert!(outcome.postmortem.unwrap().hosts.contains(&"prod1".to_owned()));
}
