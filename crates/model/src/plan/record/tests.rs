//! The plan's record on a virtual clock: windows, milestones, approvals and checks from values.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::*;
use crate::checks::{Checks, Hooks, HttpCheck};
use crate::plan::{HostPlan, PackageChange, PlanOptions, PlannedReboot, Wave};
use crate::{Classification, PackageManagerKind};

const POLICY: &str = r#"
[roles]
cab = ["carol", "dan"]

[[environments]]
name = "staging"
schedule = "0 12 * * *"
timezone = "UTC"
window = "2h"
approval = { approvers = 1 }
goals = ["Security fixes on staging within 3 days"]

[[environments]]
name = "production"
schedule = "0 22 * * TUE"
timezone = "Europe/Berlin"
window = "2h"
cutoff = "30m"
approval = { approvers = 1, role = "cab", ticket = true }
soak = "24h"
"#;

fn policy() -> Policy {
    Policy::parse(Path::new("policy.toml"), POLICY).unwrap_or_else(|e| panic!("{e}"))
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn host(name: &str, environment: &str) -> HostPlan {
    HostPlan {
        host: name.into(),
        environment: environment.into(),
        owner: Some("team-web".into()),
        package_manager: PackageManagerKind::Apt,
        assessed_at_unix: utc("2026-12-07T08:00:00Z").timestamp(),
        running_kernel: "6.1.0-25-amd64".into(),
        changes: vec![PackageChange {
            name: "acme-tools".into(),
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

fn plan(environment: &str, hosts: &[&str]) -> Plan {
    let mut plan = Plan {
        id: String::new(),
        created_at_unix: utc("2026-12-07T09:00:00Z").timestamp(),
        selectors: vec![format!("env:{environment}")],
        options: PlanOptions { goals: vec!["Fix DSA-1".into()], ..PlanOptions::default() },
        hosts: hosts.iter().map(|h| host(h, environment)).collect(),
        waves: vec![Wave {
            name: format!("{environment} 1"),
            environment: environment.into(),
            canary: false,
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        }],
        excluded: vec![],
        withheld: vec![],
        emergency: None,
    };
    plan.id = plan.content_hash();
    plan
}

fn action(at: &str, actor: &str, kind: ChangeKind, ticket: Option<&str>) -> ChangeAction {
    ChangeAction {
        at: utc(at),
        actor: actor.into(),
        kind,
        ticket: ticket.map(String::from),
        comment: None,
    }
}

#[test]
fn a_staging_plan_runs_in_the_next_window_and_projects_production_after_the_soak() {
    let policy = policy();
    let plan = plan("staging", &["deb1", "deb2"]);
    // Monday 7 December 2026, 10:00 UTC: staging opens at noon, for two hours.
    let journal = [
        action("2026-12-07T09:10:00Z", "alice", ChangeKind::Request, None),
        action("2026-12-07T09:20:00Z", "bob", ChangeKind::Approve, None),
    ];
    let inputs = RecordInputs {
        now: utc("2026-12-07T10:00:00Z"),
        policy: Some(&policy),
        change: &journal,
        steps: None,
        forecast: &[],
    };
    let record = record(&plan, &inputs);
    assert_eq!(record.environments, ["staging"]);
    assert_eq!(record.windows[0].words, "Mon 7 Dec 2026 12:00 to 14:00 UTC");
    assert_eq!(record.approval.state, "approved");
    assert_eq!(record.approval.approvers(), ["bob (Mon 7 Dec 2026 09:20 UTC)"]);
    let milestones: Vec<(String, String, bool)> =
        record.milestones.iter().map(|m| (m.what.clone(), m.when.clone(), m.projected)).collect();
    let expected = [
        ("Assessment", "Mon 7 Dec 2026 08:00 UTC", false),
        ("Plan made", "Mon 7 Dec 2026 09:00 UTC", false),
        ("Approved", "Mon 7 Dec 2026 09:20 UTC", false),
        ("Patching staging", "Mon 7 Dec 2026 12:00 UTC", false),
        // The staging window ends at 14:00 UTC; production's soak is 24 hours.
        ("Soak on staging ends", "Tue 8 Dec 2026 15:00 CET (14:00 UTC)", true),
        // Production's Tuesday 22:00 Berlin window is after that on the same day.
        ("Earliest patching of production", "Tue 8 Dec 2026 22:00 CET (21:00 UTC)", true),
    ];
    let expected: Vec<(String, String, bool)> =
        expected.iter().map(|(w, t, p)| (w.to_string(), t.to_string(), *p)).collect();
    assert_eq!(milestones, expected);
    let production = record.milestones.last().unwrap();
    assert!(production.note.contains("no host starts after 22:30 CET"), "{}", production.note);
    assert!(production.note.contains("approved by 1 of role cab"), "{}", production.note);
}

#[test]
fn an_open_window_is_the_one_the_plan_runs_in_and_missing_approvals_are_named() {
    let policy = policy();
    let plan = plan("production", &["web1"]);
    let journal = [action("2026-12-08T20:00:00Z", "alice", ChangeKind::Request, None)];
    // Tuesday 8 December, 22:10 in Berlin: the window is open and before its cutoff.
    let inputs = RecordInputs {
        now: utc("2026-12-08T21:10:00Z"),
        policy: Some(&policy),
        change: &journal,
        steps: None,
        forecast: &[],
    };
    let record = record(&plan, &inputs);
    assert!(record.windows[0].open_now);
    assert_eq!(
        record.windows[0].words,
        "Tue 8 Dec 2026 22:00 to Wed 9 Dec 00:00 CET (21:00 to 23:00 UTC); no host starts after \
         22:30 CET (open now)"
    );
    assert_eq!(record.approval.state, "pending");
    assert_eq!(
        record.approval.missing,
        [
            "production: a change ticket",
            "production: 1 more approval from role cab (a person other than the requester)"
        ]
    );
    let approval = record.milestones.iter().find(|m| m.what == "Approval").unwrap();
    assert_eq!(approval.when, "not yet (pending)");
    // Production is the last environment: nothing is projected after it.
    assert!(record.milestones.iter().all(|m| !m.projected));
    let markdown = super::super::render::document(&plan, &record).to_markdown();
    assert!(markdown.contains("Approved by: NOT APPROVED YET (pending)"), "{markdown}");
}

#[test]
fn without_a_policy_no_window_or_approval_applies_and_the_plan_says_so() {
    let plan = plan("staging", &["deb1"]);
    let record = record(&plan, &RecordInputs::plan_only(utc("2026-12-07T10:00:00Z")));
    assert_eq!(record.approval.state, "no policy");
    assert!(record.windows[0].words.starts_with("no policy: no maintenance window applies"));
    assert!(record.milestones.iter().all(|m| m.what != "Approval"));
    let markdown = super::super::render::document(&plan, &record).to_markdown();
    assert!(markdown.contains("> Goal: Fix DSA-1\n> What will run: 1 package change on 1 host in staging: acme-tools 1.0-1 → 1.1-1 on deb1."), "{markdown}");
}

#[test]
fn the_checks_shown_are_those_configured_grouped_by_the_hosts_they_apply_to() {
    let plan = plan("staging", &["deb1", "deb2", "gone"]);
    let web = Checks {
        units: vec!["acme-web".into()],
        http: vec![HttpCheck {
            url: "http://10.0.0.2/health".into(),
            status: 200,
            body: Some("ok".into()),
        }],
        commands: vec![vec!["/usr/local/bin/smoke".into(), "--quick".into()]],
        journal_ignore: vec!["noise".into()],
        ..Checks::default()
    };
    let backed_up = Hooks {
        backup_path: Some("/var/backups/latest.tar".into()),
        snapshot: Some(vec!["/usr/local/sbin/snap".into(), "deb1".into()]),
        ..Hooks::default()
    };
    let steps: BTreeMap<String, (Checks, Hooks)> = [
        ("deb1".to_owned(), (web.clone(), backed_up)),
        ("deb2".to_owned(), (Checks::default(), Hooks::default())),
    ]
    .into();
    let inputs = RecordInputs {
        now: utc("2026-12-07T10:00:00Z"),
        policy: None,
        change: &[],
        steps: Some(&steps),
        forecast: &[],
    };
    let record = record(&plan, &inputs);
    assert_eq!(record.hosts_not_in_inventory, ["gone"]);
    let lines = |lines: &[StepLine]| -> Vec<String> {
        lines.iter().map(|l| format!("{}: {} [{}]", l.kind, l.what, l.hosts.join(" "))).collect()
    };
    assert_eq!(
        lines(&record.prechecks),
        [
            "backup: `/var/backups/latest.tar` is newer than 26 hours [deb1]",
            "snapshot: `/usr/local/sbin/snap deb1` exits 0 [deb1]",
            "free space: at least 300 MiB on /, 50 MiB on /boot [deb1 deb2]",
            "package manager: healthy, its lock free (waits up to 120 s, naming the holder), \
             nothing changed since the assessment [deb1 deb2]",
            "backup: none configured: no backup is checked before the change [deb2]",
            "snapshot: none configured [deb2]",
        ]
    );
    assert_eq!(
        lines(&record.postchecks),
        [
            "versions: every package at the plan's target version [deb1 deb2]",
            "service: `acme-web` active (systemd) [deb1]",
            "HTTP: GET `http://10.0.0.2/health` answers 200, body contains \"ok\" [deb1]",
            "command: `/usr/local/bin/smoke --quick` exits 0 [deb1]",
            "journal: no new errors in `journalctl -p err -b`, ignoring lines containing \
             \"noise\" [deb1]",
            "kernel: the running kernel is the newest installed [deb1 deb2]",
            "integrity: the changed packages' files as installed (`dpkg --verify`, `rpm -V`); \
             configuration files the administrator changed are reported [deb1 deb2]",
            "service: no units, HTTP checks or commands configured for this host [deb2]",
            "journal: no new errors in `journalctl -p err -b` [deb2]",
        ]
    );
}

#[test]
fn a_goal_is_one_line_of_words() {
    assert_eq!(crate::policy::check_goal("  Fix DSA-1  ").unwrap(), "Fix DSA-1");
    assert!(crate::policy::check_goal(" ").is_err());
    assert!(crate::policy::check_goal("two\nlines").is_err());
}

#[test]
fn the_restarts_after_the_change_are_a_step_of_the_record() {
    let mut plan = plan("staging", &["deb1", "deb2", "deb3"]);
    let listed = crate::plan::ServiceRestarts {
        services: crate::plan::RestartServices::Listed,
        sshd: false,
    };
    plan.hosts[0].restarts = listed;
    plan.hosts[1].restarts = listed;
    let web = Checks { units: vec!["acme-web".into()], ..Checks::default() };
    let steps: BTreeMap<String, (Checks, Hooks)> = [
        ("deb1".to_owned(), (web, Hooks::default())),
        ("deb2".to_owned(), (Checks::default(), Hooks::default())),
        ("deb3".to_owned(), (Checks::default(), Hooks::default())),
    ]
    .into();
    let inputs = RecordInputs {
        now: utc("2026-12-07T10:00:00Z"),
        policy: None,
        change: &[],
        steps: Some(&steps),
        forecast: &[],
    };
    let record = record(&plan, &inputs);
    let restarts: Vec<String> = record
        .postchecks
        .iter()
        .filter(|l| l.kind == "restart")
        .map(|l| format!("{} [{}]", l.what, l.hosts.join(" ")))
        .collect();
    assert_eq!(
        restarts,
        [
            "`acme-web` restarted when it runs replaced code after the change and the host does \
             not reboot (never sshd) [deb1]",
            "none: `restart_services = listed` and the host's checks list no units [deb2]",
        ]
    );
}
