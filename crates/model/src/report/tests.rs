//! The report's first page from a rollout written out as values.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::plan::{HostPlan, PackageChange, PlanOptions, PlannedReboot};
use crate::postmortem::Subject;
use crate::{Classification, PackageManagerKind};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn plan() -> Plan {
    let host = |name: &str, environment: &str| HostPlan {
        host: name.into(),
        environment: environment.into(),
        owner: None,
        package_manager: PackageManagerKind::Apt,
        assessed_at_unix: 0,
        running_kernel: "6.1".into(),
        changes: vec![PackageChange {
            name: "acme-web".into(),
            arch: "all".into(),
            from: Some("1.0-1".into()),
            to: "1.1-1".into(),
            classification: Classification::Bugfix,
            severity: None,
            kernel: false,
            advisories: vec![],
            cves: vec![],
        }],
        reboot: PlannedReboot::No,
        services_needing_restart: vec![],
        restarts: Default::default(),
        risks: vec![],
    };
    Plan {
        id: "sha256:0123456789abcdef".into(),
        created_at_unix: 0,
        selectors: vec!["all".into()],
        options: PlanOptions { goals: vec!["Fix the web bug".into()], ..PlanOptions::default() },
        hosts: vec![host("deb1", "staging"), host("deb2", "production")],
        waves: vec![],
        excluded: vec![],
        withheld: vec![],
        emergency: None,
    }
}

fn run(host: &str, state: &str, detail: &str, start: &str, seconds: i64) -> HostRun {
    let started_at = utc(start);
    HostRun {
        host: host.into(),
        state: state.into(),
        detail: detail.into(),
        steps: vec![StepRun {
            step: "apply".into(),
            outcome: "ok".into(),
            started_at,
            finished_at: Some(started_at + TimeDelta::seconds(seconds)),
        }],
        commands: vec![CommandRun {
            step: "apply".into(),
            argv: vec!["systemd-run".into(), "--unit".into(), "patchctl-apply".into()],
            exit_code: Some(0),
            note: "unit patchctl-apply".into(),
            output_sha256: "abcdef0123456789".into(),
        }],
        remarks: vec![],
        restarted: vec![],
    }
}

#[test]
fn the_first_page_says_what_when_who_and_the_outcome_and_the_commands_wait_in_the_appendix() {
    let plan = plan();
    let change = [
        ChangeAction {
            at: utc("2026-12-08T09:00:00Z"),
            actor: "alice".into(),
            kind: ChangeKind::Request,
            ticket: Some("CHG-42".into()),
            comment: None,
        },
        ChangeAction {
            at: utc("2026-12-08T09:30:00Z"),
            actor: "carol".into(),
            kind: ChangeKind::Approve,
            ticket: None,
            comment: None,
        },
    ];
    let postmortem = Postmortem {
        id: 7,
        subject: Subject::Rollout("r1".into()),
        title: "rollout r1 rolled back deb2".into(),
        hosts: vec!["deb2".into()],
        owner: Some("team-web".into()),
        opened_at: utc("2026-12-08T10:05:00Z"),
        opened_by: "system".into(),
        due_at: utc("2026-12-09T10:05:00Z"),
        root_cause: None,
        actions: vec![],
        closed_at: None,
        closed_by: None,
    };
    let inputs = ReportInputs {
        now: utc("2026-12-08T11:00:00Z"),
        rollout: "r1",
        plan: &plan,
        created_at: utc("2026-12-08T10:00:00Z"),
        phase: "completed".into(),
        stop: None,
        started_by: Some("alice".into()),
        overrides: vec![],
        asked: vec![
            AskedRun {
                what: "paused".into(),
                actor: "olga".into(),
                at: utc("2026-12-08T10:02:00Z"),
            },
            AskedRun {
                what: "resumed".into(),
                actor: "otto".into(),
                at: utc("2026-12-08T10:03:00Z"),
            },
        ],
        hosts: vec![
            HostRun {
                remarks: vec!["failing before the patch: `/usr/local/bin/smoke` exited 1".into()],
                ..run("deb1", "done", "", "2026-12-08T10:00:05Z", 20)
            },
            run(
                "deb2",
                "rolled_back",
                "postcheck failed: acme-web inactive",
                "2026-12-08T10:01:00Z",
                184,
            ),
        ],
        waves: vec![WaveRun { name: "staging 1".into(), failed: 0, budget: 0 }],
        change: &change,
        postmortems: vec![postmortem],
        journal: "intact, 40 entries".into(),
    };
    let summary = summary(&inputs);
    assert_eq!(summary.rolled_back, ["deb2"]);
    assert_eq!(summary.open_postmortems, [7]);
    assert_eq!(summary.outcome, "completed, with hosts not patched");
    let markdown = document(&inputs).to_markdown();
    let (first_page, appendix) = markdown.split_once("## Appendix").unwrap();
    for expected in [
        "> Goal: Fix the web bug",
        "> What ran: plan 0123456789ab on 2 hosts in production, staging: acme-web 1.0-1 → 1.1-1 on 2 hosts.",
        "> When: Tue 8 Dec 2026 10:00:05 UTC to Tue 8 Dec 2026 10:04:04 UTC (3 min 59 s).",
        "> Approved by: carol (Tue 8 Dec 2026 09:30 UTC); requested by alice, ticket CHG-42.",
        "- **Rolled back:** deb2 (to acme-web 1.0-1)",
        "- **Asked of it:** paused by olga at Tue 8 Dec 2026 10:02:00 UTC; resumed by otto at Tue 8 Dec 2026 10:03:00 UTC",
        "- **Open postmortems:** #7 rollout r1 rolled back deb2 (open, due Wed 9 Dec 2026 10:05 UTC, owner team-web)",
        "| production | 1 | 0 | 1 | 0 | 0 | 0 | 0 |",
        "| deb1 | staging | patched and verified | acme-web 1.0-1 → 1.1-1 | failing before the patch: `/usr/local/bin/smoke` exited 1 |",
        "| deb2 | production | ROLLED BACK to its previous versions | acme-web 1.0-1 → 1.1-1 | postcheck failed: acme-web inactive |",
    ] {
        assert!(first_page.contains(expected), "{expected:?} not on the first page:\n{first_page}");
    }
    assert!(!first_page.contains("systemd-run"), "raw commands belong in the appendix");
    assert!(appendix.contains("apply: `systemd-run --unit patchctl-apply` → exit 0 (unit patchctl-apply) sha256 abcdef012345"));
    assert!(
        appendix.contains("| apply | ok | Tue 8 Dec 2026 10:00:05 UTC | 20.0 s |"),
        "{appendix}"
    );
}

#[test]
fn the_services_restarted_are_listed_per_host_on_the_first_page() {
    let mut plan = plan();
    plan.hosts[0].restarts = crate::plan::ServiceRestarts {
        services: crate::plan::RestartServices::Needrestart,
        sshd: false,
    };
    let mut deb1 = run("deb1", "done", "", "2026-12-08T10:00:05Z", 20);
    deb1.restarted = vec!["acme-worker.service".into(), "cron.service".into()];
    let deb2 = run("deb2", "done", "", "2026-12-08T10:01:00Z", 20);
    let mut inputs = ReportInputs {
        now: utc("2026-12-08T11:00:00Z"),
        rollout: "r1",
        plan: &plan,
        created_at: utc("2026-12-08T10:00:00Z"),
        phase: "completed".into(),
        stop: None,
        started_by: Some("alice".into()),
        overrides: vec![],
        asked: vec![],
        hosts: vec![deb1, deb2],
        waves: vec![],
        change: &[],
        postmortems: vec![],
        journal: "intact, 40 entries".into(),
    };
    let summary = summary(&inputs);
    assert_eq!(summary.restarted.len(), 1);
    assert_eq!(summary.restarted["deb1"], ["acme-worker.service", "cron.service"]);
    let markdown = document(&inputs).to_markdown();
    let (first_page, _) = markdown.split_once("## Appendix").unwrap();
    assert!(
        first_page.contains("- **Services restarted:** deb1: acme-worker.service, cron.service"),
        "{first_page}"
    );
    // Nothing restarted under a plan that restarts: said so.
    inputs.hosts[0].restarted.clear();
    let markdown = document(&inputs).to_markdown();
    assert!(markdown.contains("- **Services restarted:** none"), "{markdown}");
    // A plan that restarts nothing does not mention it.
    let plain = super::tests::plan();
    inputs.plan = &plain;
    assert!(!document(&inputs).to_markdown().contains("Services restarted"));
}
