//! Compliance of hosts written out as values, judged on a virtual clock.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::plan::{PackageChange, PlannedReboot};
use crate::postmortem::Subject;
use crate::{
    Classification, Health, InstalledKernel, OsRelease, PackageManagerKind, PendingUpdate,
    RebootStatus, UpdateAction,
};

const POLICY: &str = r#"
[[environments]]
name = "staging"
schedule = "@daily"
timezone = "UTC"
window = "2h"
approval = "auto"

[[environments]]
name = "production"
schedule = "@daily"
timezone = "UTC"
window = "2h"
approval = "auto"
soak = "1h"
sla_days = { unrated = 2, critical = 1 }

[compliance]
max_assessment_age = "1d"
"#;

fn at(hours: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z").unwrap().to_utc() + TimeDelta::hours(hours)
}

fn policy() -> Policy {
    Policy::parse(std::path::Path::new("policy.toml"), POLICY).unwrap()
}

fn security(name: &str) -> PendingUpdate {
    PendingUpdate {
        name: name.into(),
        arch: "all".into(),
        installed_version: Some("1.0-1".into()),
        candidate_version: "1.1-1".into(),
        origins: vec![],
        action: UpdateAction::Upgrade,
        classification: Classification::Security,
        severity: None,
        kernel: false,
        advisories: vec![],
        cves: vec![],
        kept_back: false,
    }
}

fn assessment(hours: i64, updates: Vec<PendingUpdate>) -> Assessment {
    Assessment {
        lists_refreshed: Default::default(),
        host: "h".into(),
        taken_at_unix: at(hours).timestamp(),
        os: OsRelease::default(),
        package_manager: PackageManagerKind::Apt,
        running_kernel: "6.1".into(),
        installed_kernels: vec![InstalledKernel { release: "6.1".into(), package: None }],
        boot_id: "b".into(),
        installed: vec![],
        updates,
        removals: vec![],
        held: vec![],
        reboot: RebootStatus::default(),
        services_needing_restart: None,
        disk: vec![],
        health: Health::default(),
    }
}

fn host_plan(host: &str, environment: &str) -> HostPlan {
    HostPlan {
        host: host.into(),
        environment: environment.into(),
        owner: None,
        package_manager: PackageManagerKind::Apt,
        assessed_at_unix: 0,
        running_kernel: String::new(),
        changes: vec![PackageChange {
            name: "acme-web".into(),
            arch: "all".into(),
            from: Some("1.0-1".into()),
            to: "1.1-1".into(),
            classification: Classification::Security,
            severity: None,
            kernel: false,
            advisories: vec![],
            cves: vec![],
        }],
        reboot: PlannedReboot::IfRequired,
        services_needing_restart: vec![],
        restarts: Default::default(),
        risks: vec![],
    }
}

fn rollout(host: &str, environment: &str, hours: i64, outcome: RolloutOutcome) -> HostRollout {
    HostRollout {
        rollout: format!("r-{host}"),
        started_at: at(hours),
        planned_at: at(hours),
        outcome,
        detail: format!("{outcome:?}"),
        plan: host_plan(host, environment),
        keep_kernels: 2,
    }
}

fn host(
    name: &str,
    environment: &str,
    assessments: Vec<Assessment>,
    rollouts: Vec<HostRollout>,
) -> HostInputs {
    HostInputs {
        host: name.into(),
        environment: environment.into(),
        assessments,
        latest_failure: None,
        rollouts,
    }
}

fn verified_on_staging(hours: i64) -> Verified {
    Verified {
        environment: "staging".into(),
        host: "stage1".into(),
        rollout: "r-stage1".into(),
        name: "acme-web".into(),
        arch: "all".into(),
        version: "1.1-1".into(),
        verified_at: at(hours),
    }
}

fn status(report: &Report, host: &str, check: Check) -> Status {
    let host = report.hosts.iter().find(|h| h.host == host).unwrap();
    host.findings.iter().find(|f| f.check == check).unwrap().status
}

#[test]
fn a_security_update_is_late_from_its_first_sighting_in_an_unbroken_run() {
    let policy = policy();
    let pending = || vec![security("acme-web")];
    // Seen at 0 h, gone at 10 h (patched, then a new update), seen again from 20 h on.
    let assessments = vec![
        assessment(0, pending()),
        assessment(10, vec![]),
        assessment(20, pending()),
        assessment(60, pending()),
    ];
    let inputs = Inputs {
        now: at(70),
        policy: Some(&policy),
        hosts: vec![host("prod1", "production", assessments.clone(), vec![])],
        evidence: vec![],
        postmortems: vec![],
    };
    let report = evaluate(&inputs);
    let sla = &report.hosts[0].findings[0];
    assert_eq!(sla.status, Status::Fail, "{sla:?}");
    assert!(
        sla.details[0]
            .contains("pending since 2026-11-20 20:00:00 UTC, due by 2026-11-22 20:00:00 UTC"),
        "{sla:?}"
    );
    // At 67 h, 47 hours after it was first seen again, it is still within its two days.
    let inputs = Inputs {
        now: at(67),
        hosts: vec![host("prod1", "production", assessments[..3].to_vec(), vec![])],
        ..inputs
    };
    assert_eq!(status(&evaluate(&inputs), "prod1", Check::Sla), Status::Pass);
}

#[test]
fn production_rollouts_need_staging_evidence_older_than_the_soak() {
    let policy = policy();
    let hosts = vec![
        host(
            "stage1",
            "staging",
            vec![assessment(9, vec![])],
            vec![rollout("stage1", "staging", 1, RolloutOutcome::Done)],
        ),
        host(
            "prod1",
            "production",
            vec![assessment(9, vec![])],
            vec![rollout("prod1", "production", 4, RolloutOutcome::Done)],
        ),
        host(
            "prod2",
            "production",
            vec![assessment(9, vec![])],
            vec![rollout("prod2", "production", 2, RolloutOutcome::Done)],
        ),
        host("prod3", "production", vec![assessment(9, vec![security("acme-web")])], vec![]),
    ];
    let inputs = Inputs {
        now: at(10),
        policy: Some(&policy),
        hosts,
        evidence: vec![verified_on_staging(2)],
        postmortems: vec![],
    };
    let report = evaluate(&inputs);
    assert_eq!(status(&report, "stage1", Check::Promotion), Status::NotApplicable);
    assert_eq!(status(&report, "prod1", Check::Promotion), Status::Pass);
    // Started at 2 h, when the verification of 2 h had not soaked its hour.
    assert_eq!(status(&report, "prod2", Check::Promotion), Status::Fail);
    assert_eq!(status(&report, "prod3", Check::Promotion), Status::NotApplicable);
    let prod1 = &report.hosts[1].findings[1];
    assert!(
        prod1.details[0].contains("verified on staging stage1 by rollout r-stage1"),
        "{prod1:?}"
    );
    assert!(!report.compliant);
    let production = report.environments.iter().find(|e| e.environment == "production").unwrap();
    assert_eq!((production.n_hosts, production.n_compliant), (3, 2));
    assert_eq!(production.failing, vec![(Check::Promotion, 1)]);
    assert_eq!(report.environments[0].environment, "staging", "promotion order");
}

#[test]
fn health_kernels_rollback_plans_and_assessment_age() {
    let policy = policy();
    let mut three_kernels = assessment(9, vec![]);
    three_kernels.installed_kernels = ["6.1", "6.2", "6.3"]
        .iter()
        .map(|r| InstalledKernel { release: r.to_string(), package: None })
        .collect();
    let hosts = vec![
        host(
            "failed",
            "staging",
            vec![assessment(9, vec![])],
            vec![rollout("failed", "staging", 1, RolloutOutcome::Failed)],
        ),
        host(
            "back",
            "staging",
            vec![assessment(9, vec![])],
            vec![rollout("back", "staging", 1, RolloutOutcome::RolledBack)],
        ),
        host("kernels", "staging", vec![three_kernels], vec![]),
        host("stale", "staging", vec![assessment(0, vec![])], vec![]),
        host("never", "staging", vec![], vec![]),
        HostInputs {
            latest_failure: Some((at(29).timestamp(), "refreshing the package lists: …".into())),
            ..host("unknown", "staging", vec![assessment(28, vec![])], vec![])
        },
    ];
    let inputs =
        Inputs { now: at(30), policy: Some(&policy), hosts, evidence: vec![], postmortems: vec![] };
    let report = evaluate(&inputs);
    assert_eq!(status(&report, "failed", Check::Healthy), Status::Fail);
    assert_eq!(status(&report, "back", Check::Healthy), Status::Pass);
    assert_eq!(status(&report, "back", Check::RollbackPlan), Status::Pass);
    assert_eq!(status(&report, "kernels", Check::RollbackPlan), Status::NotApplicable);
    assert_eq!(status(&report, "kernels", Check::Kernels), Status::Fail);
    assert_eq!(status(&report, "back", Check::Kernels), Status::Pass);
    assert_eq!(status(&report, "back", Check::AssessmentAge), Status::Pass);
    assert_eq!(status(&report, "stale", Check::AssessmentAge), Status::Fail);
    assert_eq!(status(&report, "never", Check::AssessmentAge), Status::Fail);
    assert_eq!(status(&report, "never", Check::Sla), Status::Fail);
    // Assessed yesterday, but the latest attempt failed: its state now is unknown.
    assert_eq!(status(&report, "unknown", Check::AssessmentAge), Status::Fail);
    let compliant: Vec<bool> = report.hosts.iter().map(|h| h.compliant).collect();
    assert_eq!(compliant, [false, true, false, false, false, false]);
}

#[test]
fn an_overdue_postmortem_fails_its_hosts_and_the_fleet_until_closed() {
    let policy = policy();
    let postmortem = |id: i64, hosts: Vec<String>| crate::postmortem::Postmortem {
        id,
        subject: Subject::Rollout(format!("r{id}")),
        title: "rolled back".into(),
        hosts,
        owner: None,
        opened_at: at(0),
        opened_by: "patchctl".into(),
        due_at: at(24),
        root_cause: None,
        actions: vec![],
        closed_at: None,
        closed_by: None,
    };
    let hosts = vec![
        host("a", "staging", vec![assessment(24, vec![])], vec![]),
        host("b", "staging", vec![assessment(24, vec![])], vec![]),
    ];
    let mut inputs = Inputs {
        now: at(24),
        policy: Some(&policy),
        hosts,
        evidence: vec![],
        postmortems: vec![postmortem(1, vec!["a".into()]), postmortem(2, vec![])],
    };
    let report = evaluate(&inputs);
    assert!(report.compliant, "due, not yet overdue: {report:?}");
    assert_eq!(status(&report, "a", Check::Postmortems), Status::Pass);
    assert_eq!(status(&report, "b", Check::Postmortems), Status::NotApplicable);
    inputs.now = at(25);
    let report = evaluate(&inputs);
    assert_eq!(status(&report, "a", Check::Postmortems), Status::Fail);
    assert_eq!(report.fleet_findings[0].status, Status::Fail);
    assert!(!report.compliant);
    for p in &mut inputs.postmortems {
        p.closed_at = Some(at(25));
        p.closed_by = Some("alice".into());
        p.root_cause = Some("x".into());
    }
    assert!(evaluate(&inputs).compliant);
}

#[test]
fn csv_and_documents_carry_every_finding() {
    let policy = policy();
    let hosts = vec![host("a,b", "staging", vec![assessment(0, vec![])], vec![])];
    let inputs =
        Inputs { now: at(1), policy: Some(&policy), hosts, evidence: vec![], postmortems: vec![] };
    let report = evaluate(&inputs);
    let csv = to_csv(&report);
    assert_eq!(csv.lines().count(), 1 + Check::ALL.len());
    assert!(csv.lines().nth(1).unwrap().starts_with("\"a,b\",staging,sla,pass,"), "{csv}");
    let markdown = to_document(&report).to_markdown();
    assert!(markdown.contains("Host a,b (staging)"), "{markdown}");
}

#[test]
fn patch_age_buckets_pending_updates_and_times_those_patched() {
    use super::patch_age::{PatchAge, of_host};
    let day = 24;
    let history = [
        // libssl seen on day 0, patched by day 3: 3 days. openssh seen on day 2 and day 3, gone
        // on day 5, back on day 40 (a new run): 3 days, then pending since day 40.
        assessment(0, vec![security("libssl")]),
        assessment(2 * day, vec![security("libssl"), security("openssh")]),
        assessment(3 * day, vec![security("openssh")]),
        assessment(5 * day, vec![]),
        assessment(40 * day, vec![security("openssh"), security("zlib")]),
        assessment(100 * day, vec![security("openssh"), security("zlib"), security("curl")]),
    ];
    let age = of_host(&history, at(110 * day).timestamp());
    // At day 110: curl is 10 days old, openssh and zlib 70.
    assert_eq!(age.pending, [0, 1, 2, 0]);
    assert_eq!(age.patched, 2);
    assert_eq!(age.mean_time_to_patch(), Some(3 * 86_400));
    let mut sum = PatchAge::default();
    sum.add(&age);
    sum.add(&of_host(&history[..1], at(200 * day).timestamp()));
    assert_eq!(sum.pending, [0, 1, 2, 1]);
    assert_eq!(of_host(&[], 0), PatchAge::default());
}
