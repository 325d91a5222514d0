//! The JSON documents the commands print, pinned on typed results: every member, in the order
//! printed, in `test_data/json/`. The files were written by the commands before their
//! documents had forms in `protocol::output` (so these tests prove the forms print the same);
//! `PATCHCTL_BLESS=1 cargo test -p cli output_tests` rewrites them after a deliberate change,
//! which is then a new version of the form.

use chrono::DateTime;
use model::advisory::{Advisory, AdvisoryFormat, ExposureStatus, Finding, FindingSource};
use model::assessment::{
    DiskSpace, Health, InstalledKernel, InstalledPackage, ListsRefreshed, LockHolder, Origin,
    PendingUpdate, RebootStatus, UpdateAction,
};
use model::change::{ChangeAction, ChangeKind, ChangeState, ChangeStatus, EnvironmentApproval};
use model::compliance::{Check, EnvironmentCompliance, HostCompliance, Report, Status};
use model::postmortem::{Postmortem, Subject};
use model::{Assessment, Classification, OsRelease, PackageManagerKind, Severity};

fn at(unix: i64) -> DateTime<chrono::Utc> {
    DateTime::from_timestamp(unix, 0).unwrap()
}

fn assessment() -> Assessment {
    Assessment {
        host: "deb1".into(),
        taken_at_unix: 1_800_000_000,
        os: OsRelease {
            id: "debian".into(),
            id_like: vec![],
            version_id: "12".into(),
            version_codename: "bookworm".into(),
            pretty_name: "Debian 12".into(),
        },
        package_manager: PackageManagerKind::Apt,
        running_kernel: "6.1.0-25-amd64".into(),
        installed_kernels: vec![InstalledKernel {
            release: "6.1.0-25-amd64".into(),
            package: Some("linux-image-6.1.0-25-amd64".into()),
        }],
        boot_id: "b".into(),
        installed: vec![InstalledPackage {
            name: "libssl3".into(),
            arch: "amd64".into(),
            version: "3.0.1-1".into(),
            source: Some("openssl".into()),
            source_version: Some("3.0.1-1".into()),
        }],
        updates: vec![PendingUpdate {
            name: "libssl3".into(),
            arch: "amd64".into(),
            installed_version: Some("3.0.1-1".into()),
            candidate_version: "3.0.2-1".into(),
            origins: vec![Origin {
                label: Some("Debian-Security".into()),
                suite: "bookworm-security".into(),
            }],
            action: UpdateAction::Upgrade,
            classification: Classification::Security,
            severity: Some(Severity::Important),
            kernel: false,
            advisories: vec!["DSA-1".into()],
            cves: vec!["CVE-2026-1".into()],
            kept_back: false,
        }],
        removals: vec![],
        held: vec!["held".into()],
        reboot: RebootStatus { required: true, packages: vec!["linux".into()], reasons: vec![] },
        services_needing_restart: None,
        disk: vec![DiskSpace {
            path: "/".into(),
            mount: "/".into(),
            available_bytes: 1,
            total_bytes: 2,
        }],
        health: Health {
            interrupted: false,
            audit: vec![],
            locks: vec![LockHolder { path: "/l".into(), pid: 7, command: None }],
        },
        lists_refreshed: ListsRefreshed::At(1_799_990_000),
    }
}

fn finding() -> Finding {
    Finding {
        advisory: "DSA-1".into(),
        cves: vec!["CVE-2026-1".into()],
        severity: Some(Severity::Critical),
        cvss_score: Some(9.8),
        cvss_vector: Some("CVSS:3.1/AV:N".into()),
        package: "openssl".into(),
        installed_version: "3.0.1-1".into(),
        status: ExposureStatus::Affected,
        fixed_version: Some("3.0.2-1".into()),
        update: None,
        reason: None,
        source: FindingSource::Imported,
    }
}

/// Compares `actual` with `test_data/json/NAME.json`, or writes it when blessing.
fn check(actual: String, name: &str) {
    let expected = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/json")
        .join(format!("{name}.json"));
    if std::env::var_os("PATCHCTL_BLESS").is_some() {
        std::fs::create_dir_all(expected.parent().unwrap()).unwrap();
        std::fs::write(&expected, &actual).unwrap();
        return;
    }
    let wanted = std::fs::read_to_string(&expected)
        .unwrap_or_else(|_| panic!("{} is missing: run with PATCHCTL_BLESS=1", expected.display()));
    assert!(
        wanted == actual,
        "{} differs (PATCHCTL_BLESS=1 rewrites it):\n--- expected\n{wanted}\n--- actual\n{actual}",
        expected.display()
    );
}

#[test]
fn assess() {
    let assessment = assessment();
    let mut unknown = assessment.clone();
    unknown.host = "deb2".into();
    unknown.lists_refreshed = ListsRefreshed::Unknown;
    let failure =
        ops::HostFailure { host: "deb3".into(), kind: "unreachable", message: "no route".into() };
    check(crate::assess::json(&[&assessment, &unknown], &[&failure]).unwrap(), "assess");
}

#[test]
fn compliance() {
    let finding = |check, status| model::compliance::Finding {
        check,
        status,
        summary: "s".into(),
        details: vec!["d".into()],
    };
    let report = Report {
        evaluated_at: DateTime::from_timestamp(1_800_000_000, 5_000_000).unwrap(),
        compliant: false,
        hosts: vec![HostCompliance {
            host: "deb1".into(),
            environment: "prod".into(),
            compliant: false,
            findings: vec![
                finding(Check::Sla, Status::Fail),
                finding(Check::RollbackPlan, Status::NotApplicable),
                finding(Check::AssessmentAge, Status::Pass),
            ],
        }],
        environments: vec![EnvironmentCompliance {
            environment: "prod".into(),
            compliant: false,
            n_hosts: 1,
            n_compliant: 0,
            failing: vec![(Check::Sla, 1)],
            patch_age: Default::default(),
        }],
        fleet_findings: vec![finding(Check::Postmortems, Status::Fail)],
    };
    check(crate::compliance::json(&report), "compliance");
}

#[test]
fn audit() {
    let report = ops::audit::AuditReport {
        chains: vec![
            ops::audit::ChainVerdict {
                chain: "rollout:abc".into(),
                entries: 3,
                problem: Some("rewritten".into()),
                first_bad_seq: Some(2),
                not_covered: false,
            },
            ops::audit::ChainVerdict {
                chain: "notifications".into(),
                entries: 0,
                problem: None,
                first_bad_seq: None,
                not_covered: true,
            },
        ],
        anchor_file: "/var/lib/patchctl/anchors".into(),
        missing: vec!["change:x".into()],
    };
    check(crate::audit::json(&report), "audit");
}

#[test]
fn cves() {
    use ops::advisories::{HostExposure, HostExposureState};
    let mut repository = finding();
    repository.source = FindingSource::Repository;
    repository.status = ExposureStatus::Undecided;
    repository.severity = None;
    repository.cvss_score = None;
    repository.reason = Some("cannot compare".into());
    let exposures = [
        HostExposure {
            host: "deb1".into(),
            assessed_at_unix: Some(1_800_000_000),
            state: HostExposureState::Assessed { findings: vec![finding(), repository] },
        },
        HostExposure {
            host: "deb2".into(),
            assessed_at_unix: Some(1_800_000_000),
            state: HostExposureState::AssessmentFailed { message: "no route".into() },
        },
        HostExposure {
            host: "deb3".into(),
            assessed_at_unix: None,
            state: HostExposureState::NotAssessed,
        },
    ];
    check(crate::cves::json(&exposures), "cves");
}

#[test]
fn cve() {
    use ops::advisories::{CveHost, CveVerdict};
    let advisory = Advisory {
        id: "DSA-1".into(),
        format: AdvisoryFormat::Osv,
        kind: Classification::Security,
        summary: "s".into(),
        cves: vec!["CVE-2026-1".into()],
        aliases: vec![],
        distribution_severity: None,
        cvss: vec![],
        published: None,
        modified: None,
        affected: vec![],
    };
    let hosts = [
        CveHost {
            host: "deb1".into(),
            verdict: CveVerdict::Affected,
            findings: vec![finding()],
            message: None,
        },
        CveHost {
            host: "deb2".into(),
            verdict: CveVerdict::AssessmentFailed,
            findings: vec![],
            message: Some("no route".into()),
        },
    ];
    check(crate::cve::json("CVE-2026-1", &[advisory], &hosts), "cve");
}

#[test]
fn plan_list() {
    let listing = |state, rollout| ops::PlanListing {
        id: "sha256:00".into(),
        created_at_unix: 1_800_000_000,
        state,
        rollout,
        hosts: 2,
        changes: 5,
        selectors: vec!["env:prod".into()],
        goals: vec!["monthly".into()],
    };
    let run = listing(ops::PlanState::Run, Some(("r1".into(), "completed".into())));
    let draft = listing(ops::PlanState::Draft, None);
    check(crate::plan::list_json(&[&run, &draft]), "plan_list");
}

#[test]
fn postmortem_list() {
    let open = Postmortem {
        id: 1,
        subject: Subject::Rollout("r1".into()),
        title: "t".into(),
        hosts: vec!["deb1".into()],
        owner: Some("team-web".into()),
        opened_at: at(1_800_000_000),
        opened_by: "patchctl".into(),
        due_at: at(1_800_086_400),
        root_cause: None,
        actions: vec![],
        closed_at: None,
        closed_by: None,
    };
    let closed = Postmortem {
        id: 2,
        subject: Subject::Other("by hand".into()),
        root_cause: Some("a bug".into()),
        actions: vec!["fix it".into()],
        closed_at: Some(at(1_800_050_000)),
        closed_by: Some("alice".into()),
        ..open.clone()
    };
    check(crate::postmortem::list_json(&[open, closed], at(1_800_100_000)), "postmortem_list");
}

#[test]
fn change_show() {
    let status = ChangeStatus {
        state: ChangeState::Pending,
        requested_by: Some("alice".into()),
        ticket: Some("CHG-1".into()),
        environments: vec![EnvironmentApproval {
            environment: "prod".into(),
            rule: "1 approver".into(),
            approved_by: vec![],
            missing: vec!["1 approver".into()],
        }],
    };
    let actions = [ChangeAction {
        at: at(1_800_000_000),
        actor: "alice".into(),
        kind: ChangeKind::Request,
        ticket: Some("CHG-1".into()),
        comment: None,
    }];
    check(crate::change::show_json("sha256:00", &status, &actions), "change_show");
}

#[test]
fn plan_show() {
    use model::plan::{
        HostPlan, PackageChange, Plan, PlanOptions, PlannedReboot, RecordInputs, Wave,
    };
    const POLICY: &str = r#"
[roles]
cab = ["carol", "dan"]

[[environments]]
name = "production"
schedule = "0 22 * * TUE"
timezone = "Europe/Berlin"
window = "2h"
cutoff = "30m"
approval = { approvers = 1, role = "cab", ticket = true }
"#;
    let policy = model::policy::Policy::parse(std::path::Path::new("policy.toml"), POLICY)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut plan = Plan {
        id: String::new(),
        created_at_unix: 1_800_000_000,
        selectors: vec!["env:production".into()],
        options: PlanOptions { goals: vec!["Fix DSA-1".into()], ..PlanOptions::default() },
        hosts: vec![HostPlan {
            host: "deb1".into(),
            environment: "production".into(),
            owner: Some("team-web".into()),
            package_manager: PackageManagerKind::Apt,
            assessed_at_unix: 1_799_990_000,
            running_kernel: "6.1.0-25-amd64".into(),
            changes: vec![PackageChange {
                name: "libssl3".into(),
                arch: "amd64".into(),
                from: Some("3.0.1-1".into()),
                to: "3.0.2-1".into(),
                classification: Classification::Security,
                severity: Some(Severity::Important),
                kernel: false,
                advisories: vec!["DSA-1".into()],
                cves: vec![],
            }],
            reboot: PlannedReboot::IfRequired,
            services_needing_restart: vec![],
            restarts: Default::default(),
            risks: vec![],
        }],
        waves: vec![Wave {
            name: "production 1".into(),
            environment: "production".into(),
            canary: false,
            hosts: vec!["deb1".into()],
        }],
        excluded: vec![],
        withheld: vec![],
        emergency: None,
    };
    plan.id = plan.content_hash();
    let journal = [
        ChangeAction {
            at: at(1_800_000_100),
            actor: "alice".into(),
            kind: ChangeKind::Request,
            ticket: Some("CHG-1".into()),
            comment: None,
        },
        ChangeAction {
            at: at(1_800_000_200),
            actor: "carol".into(),
            kind: ChangeKind::Approve,
            ticket: None,
            comment: Some("ok".into()),
        },
    ];
    // Two past runs of an apt host that did not reboot.
    let history = [41_000, 51_000].map(|change_ms| model::forecast::HostRun {
        package_manager: PackageManagerKind::Apt,
        rebooted: false,
        before_change_ms: 4_000,
        change_ms,
        cleanup_ms: 2_000,
    });
    let config = model::forecast::ForecastConfig { max_in_flight: 50, prechecks_ahead: true };
    let forecast = model::forecast::forecast(&plan, &history, &config);
    let inputs = RecordInputs {
        now: at(1_800_000_300),
        policy: Some(&policy),
        change: &journal,
        steps: None,
        forecast: &forecast,
    };
    let record = model::plan::record(&plan, &inputs);
    check(crate::plan::show_json(&plan, &record), "plan_show");
}

#[test]
fn dry_run() {
    use ops::rollout::{
        ChangeKind, DryRunSimulation, FailureReason, HostDryRun, OutputRecord, PackageChange,
        PinnedPackage, SimulatedApply, Step,
    };
    let change = |name: &str, kind| PackageChange {
        name: name.into(),
        arch: Some("amd64".into()),
        kind,
        version: "2".into(),
        previous_version: Some("1".into()),
    };
    let pinned =
        PinnedPackage { name: "libssl3".into(), arch: "amd64".into(), version: "2".into() };
    let host = |name: &str, simulation| HostDryRun {
        host: name.into(),
        wave: "production 1".into(),
        package_manager: PackageManagerKind::Apt,
        pinned: vec![pinned.clone()],
        unreachable: None,
        precheck_failures: vec!["disk".into()],
        notes: vec!["a note".into()],
        simulation,
        commands: vec![OutputRecord {
            step: Step::Apply,
            argv: vec!["apt-get".into(), "-s".into()],
            exit_code: Some(0),
            stdout_tail: "out".into(),
            stderr_tail: "err".into(),
            output_sha256: "00".into(),
            note: "n".into(),
            facts: Default::default(),
            host_ms: None,
            remark: false,
            restarted: vec![],
        }],
    };
    let reports = [
        host(
            "deb1",
            DryRunSimulation::Ran(SimulatedApply::Would {
                pinned: vec![change("libssl3", ChangeKind::Upgraded)],
                unchanged: vec![pinned.clone()],
                unplanned: vec![change("libfoo", ChangeKind::Installed)],
            }),
        ),
        host(
            "deb2",
            DryRunSimulation::Ran(SimulatedApply::WouldFail {
                reason: FailureReason::Scriptlet { packages: vec!["libssl3".into()] },
                exit_code: 100,
                output_tail: "tail".into(),
            }),
        ),
        host("deb3", DryRunSimulation::NotRun("no answer".into())),
        HostDryRun {
            unreachable: Some("no route".into()),
            ..host("deb4", DryRunSimulation::Unreadable("garbled".into()))
        },
    ];
    check(
        crate::dry_run::document("sha256:00", &reports, &["outside the window".into()]),
        "dry_run",
    );
}

#[test]
fn verify_integrity() {
    use ops::integrity::{HostIntegrity, HostIntegrityOutcome};
    let results = [
        HostIntegrity {
            host: "deb1".into(),
            outcome: HostIntegrityOutcome::Checked {
                packages: vec![],
                not_installed: vec!["libfoo:amd64".into()],
            },
        },
        HostIntegrity {
            host: "deb2".into(),
            outcome: HostIntegrityOutcome::Unchecked { reason: "no route".into() },
        },
    ];
    check(crate::verify_integrity::document(&results), "verify_integrity");
}
