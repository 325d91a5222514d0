//! Baselines applied to plans, one table per kind of rule, each with the emergency track beside
//! the regular one: the host's environment, the update, the track, and what withholds it.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{PlanBaselines, Track};
use crate::plan::build::PlanHost;
use crate::plan::{PlanOptions, WithheldBy, build_plan, render_markdown};
use crate::policy::Policy;
use crate::released::{ReleaseDates, UpdateKey};
use crate::{
    Assessment, Classification, OsRelease, PackageManagerKind, PendingUpdate, Severity,
    UpdateAction,
};

const POLICY: &str = r#"
[[environments]]
name = "dev"
schedule = "0 9 * * *"
timezone = "UTC"
window = "2h"
approval = "auto"

[[environments]]
name = "production"
schedule = "0 22 * * *"
timezone = "UTC"
window = "4h"
approval = "auto"
baseline = "strict"

[baselines.strict]
exclude = ["linux-image-*"]
reject = ["acme-broken"]
hold = ["acme-kernel", "postgresql-*"]
approve = ["acme-web"]
[[baselines.strict.rules]]
classifications = ["security"]
severities = ["critical"]
[[baselines.strict.rules]]
classifications = ["security"]
auto_approve_after_days = 7
[[baselines.strict.rules]]
classifications = ["bugfix"]
auto_approve_after_days = 14

[baselines.default]
hold = ["acme-tools"]
[[baselines.default.rules]]
"#;

use Classification::{Bugfix, Enhancement, Security};
use Track::{Emergency, Regular};

/// The plans' time: Tuesday 2026-12-08, noon.
const NOW: &str = "2026-12-08T12:00:00Z";

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn policy() -> Policy {
    Policy::parse(Path::new("policy.toml"), POLICY).unwrap_or_else(|e| panic!("{e}"))
}

fn update(
    name: &str,
    classification: Classification,
    severity: Option<Severity>,
    advisories: &[&str],
) -> PendingUpdate {
    PendingUpdate {
        name: name.to_owned(),
        arch: "amd64".to_owned(),
        installed_version: Some("1.0-1".to_owned()),
        candidate_version: "1.1-1".to_owned(),
        origins: Vec::new(),
        action: UpdateAction::Upgrade,
        classification,
        severity,
        kernel: name.contains("kernel") || name.starts_with("linux-image"),
        advisories: advisories.iter().map(|a| a.to_string()).collect(),
        cves: Vec::new(),
        kept_back: false,
    }
}

fn host(name: &str, environment: &str) -> PlanHost {
    PlanHost {
        name: name.to_owned(),
        environment: environment.to_owned(),
        owner: None,
        tags: Vec::new(),
        restarts: Default::default(),
    }
}

/// DSA-1 issued 2026-12-03, DSA-0 on 2026-11-20; DSA-9 known but undated (absent here).
/// Without advisories: curl first seen 2026-12-01, wget 2026-11-20, zsh never.
fn release_dates() -> ReleaseDates {
    let advisories = BTreeMap::from([
        ("DSA-1".to_owned(), utc("2026-12-03T00:00:00Z")),
        ("DSA-0".to_owned(), utc("2026-11-20T00:00:00Z")),
    ]);
    let key = |name: &str| UpdateKey {
        name: name.to_owned(),
        arch: "amd64".to_owned(),
        version: "1.1-1".to_owned(),
    };
    let first_seen = BTreeMap::from([
        (key("curl"), utc("2026-12-01T00:00:00Z").timestamp()),
        (key("wget"), utc("2026-11-20T00:00:00Z").timestamp()),
        (key("bash"), utc("2026-12-07T00:00:00Z").timestamp()),
    ]);
    ReleaseDates::new(advisories, first_seen)
}

/// One row: the host's environment, the track, the update, and what withholds it (`None`: the
/// plan takes it), as the rule and the reason.
type Case<'a> = (&'a str, Track, PendingUpdate, Option<(WithheldBy, &'a str)>);

fn check(cases: Vec<Case<'_>>) {
    let policy = policy();
    let dates = release_dates();
    for (environment, track, update, expected) in cases {
        let baselines = PlanBaselines { policy: &policy, track, release_dates: &dates };
        let withheld = baselines.withheld(&host("h1", environment), &update, utc(NOW));
        let actual = withheld.as_ref().map(|w| (w.rule, w.reason.as_str()));
        assert_eq!(actual, expected, "{} on {environment}, {track:?}", update.name);
        if let Some(withheld) = withheld {
            assert_eq!(
                (withheld.host.as_str(), withheld.name.as_str(), withheld.version.as_str()),
                ("h1", update.name.as_str(), "1.1-1")
            );
        }
    }
}

#[test]
fn exclusions_apply_on_both_tracks() {
    let excluded = "excluded by baseline \"strict\" of production (exclude = [\"linux-image-*\"])";
    let critical = || update("linux-image-amd64", Security, Some(Severity::Critical), &["DSA-1"]);
    #[rustfmt::skip]
    let cases = vec![
        ("production", Regular, critical(), Some((WithheldBy::Excluded, excluded))),
        ("production", Emergency, critical(), Some((WithheldBy::Excluded, excluded))),
        // The pattern is a glob on the whole name.
        ("production", Regular, update("linux-headers", Security, Some(Severity::Critical), &[]), None),
    ];
    check(cases);
}

#[test]
fn rejections_apply_on_both_tracks() {
    let rejected = "rejected by baseline \"strict\" of production (reject = [\"acme-broken\"])";
    let broken = || update("acme-broken", Security, Some(Severity::Critical), &[]);
    #[rustfmt::skip]
    let cases = vec![
        ("production", Regular, broken(), Some((WithheldBy::Rejected, rejected))),
        ("production", Emergency, broken(), Some((WithheldBy::Rejected, rejected))),
    ];
    check(cases);
}

#[test]
fn holds_apply_on_both_tracks_and_name_their_baseline() {
    let kernel = || update("acme-kernel", Security, Some(Severity::Critical), &[]);
    let held = |pattern: &str, baseline: &str, environment: &str| {
        format!("held by baseline \"{baseline}\" of {environment} (hold = [\"{pattern}\"])")
    };
    let production = held("acme-kernel", "strict", "production");
    let postgresql = held("postgresql-*", "strict", "production");
    let dev = held("acme-tools", "default", "dev");
    let lab = held("acme-tools", "default", "lab");
    #[rustfmt::skip]
    let cases = vec![
        ("production", Regular, kernel(), Some((WithheldBy::Held, &*production))),
        // A held fixing package stays held in an emergency: its host stays exposed.
        ("production", Emergency, kernel(), Some((WithheldBy::Held, &*production))),
        ("production", Regular, update("postgresql-15", Bugfix, None, &[]), Some((WithheldBy::Held, &*postgresql))),
        // Hold wins over approve (acme-web is approved in production, not in dev).
        ("production", Regular, update("acme-web", Enhancement, None, &[]), None),
        // dev names no baseline: the `default` one; so does an environment the policy lacks.
        ("dev", Regular, update("acme-tools", Bugfix, None, &[]), Some((WithheldBy::Held, &*dev))),
        ("dev", Emergency, update("acme-tools", Security, None, &[]), Some((WithheldBy::Held, &*dev))),
        ("lab", Regular, update("acme-tools", Bugfix, None, &[]), Some((WithheldBy::Held, &*lab))),
        ("lab", Regular, update("acme-web", Bugfix, None, &[]), None),
    ];
    check(cases);
}

#[test]
fn rules_by_classification_apply_to_the_regular_track_only() {
    let no_rule = "not approved by baseline \"strict\" of production: no rule of the baseline \
                   approves unrated enhancement updates";
    let vim = || update("vim", Enhancement, None, &[]);
    #[rustfmt::skip]
    let cases = vec![
        ("production", Regular, vim(), Some((WithheldBy::NoRule, no_rule))),
        // The approve list takes what no rule would.
        ("production", Regular, update("acme-web", Enhancement, None, &[]), None),
        ("production", Regular, update("bash", Security, Some(Severity::Critical), &[]), None),
        // An emergency named an enhancement's fix: the rules do not stop it.
        ("production", Emergency, vim(), None),
    ];
    check(cases);
}

#[test]
fn age_rules_count_from_the_release_or_first_sighting_on_the_regular_track_only() {
    let strict = "in baseline \"strict\" of production";
    let advisory = format!(
        "approved after 2026-12-10 00:00 UTC (released 2026-12-03 00:00 UTC by DSA-1, \
         auto_approve_after_days = 7 {strict})"
    );
    let first_seen = format!(
        "approved after 2026-12-15 00:00 UTC (first seen pending 2026-12-01 00:00 UTC, no dated \
         advisory, auto_approve_after_days = 14 {strict})"
    );
    let bash_seen = format!(
        "approved after 2026-12-14 00:00 UTC (first seen pending 2026-12-07 00:00 UTC, no dated \
         advisory, auto_approve_after_days = 7 {strict})"
    );
    let unknown = format!(
        "waits for a release date: no advisory dates it and no assessment on record saw it \
         (auto_approve_after_days = 14 {strict})"
    );
    let moderate =
        |advisories: &[&str]| update("bash", Security, Some(Severity::Moderate), advisories);
    #[rustfmt::skip]
    let cases = vec![
        // Released five days ago, approved after seven.
        ("production", Regular, moderate(&["DSA-1"]), Some((WithheldBy::NotYet, &*advisory))),
        // The earliest of its advisories' dates counts: DSA-0, 18 days ago.
        ("production", Regular, moderate(&["DSA-1", "DSA-0"]), None),
        // An advisory without a date: the first sighting counts.
        ("production", Regular, moderate(&["DSA-9"]), Some((WithheldBy::NotYet, &*bash_seen))),
        // No advisory: first seen a week ago, approved after fourteen days; or 18 days ago.
        ("production", Regular, update("curl", Bugfix, None, &[]), Some((WithheldBy::NotYet, &*first_seen))),
        ("production", Regular, update("wget", Bugfix, None, &[]), None),
        ("production", Regular, update("zsh", Bugfix, None, &[]), Some((WithheldBy::NotYet, &*unknown))),
        // Critical: the rule without a delay needs no date.
        ("production", Regular, update("zsh", Security, Some(Severity::Critical), &[]), None),
        // An emergency does not wait for the age rule.
        ("production", Emergency, moderate(&["DSA-1"]), None),
        ("production", Emergency, update("zsh", Bugfix, None, &[]), None),
    ];
    check(cases);
    let policy = policy();
    let dates = release_dates();
    let baselines = PlanBaselines { policy: &policy, track: Regular, release_dates: &dates };
    let withheld =
        baselines.withheld(&host("h1", "production"), &moderate(&["DSA-1"]), utc(NOW)).unwrap();
    assert_eq!(withheld.approved_after_unix, Some(utc("2026-12-10T00:00:00Z").timestamp()));
}

#[test]
fn release_dates_are_needed_only_by_regular_plans_under_waiting_rules() {
    let policy = policy();
    let need = |track: Track, environments: &[&str]| {
        PlanBaselines::need_release_dates(&policy, track, environments.iter().copied())
    };
    assert!(need(Regular, &["dev", "production"]));
    assert!(!need(Emergency, &["production"]));
    assert!(!need(Regular, &["dev", "lab"]), "the default baseline approves at once");
}

fn assessment(host: &str, updates: Vec<PendingUpdate>) -> Assessment {
    Assessment {
        lists_refreshed: Default::default(),
        host: host.into(),
        taken_at_unix: utc(NOW).timestamp() - 3600,
        os: OsRelease::default(),
        package_manager: PackageManagerKind::Apt,
        running_kernel: "6.1.0-25-amd64".into(),
        installed_kernels: vec![],
        boot_id: "b".into(),
        installed: vec![],
        updates,
        removals: vec![],
        held: vec![],
        reboot: Default::default(),
        services_needing_restart: None,
        disk: vec![],
        health: Default::default(),
    }
}

#[test]
fn a_plan_takes_what_the_baselines_approve_and_lists_the_rest_with_their_rules() {
    let policy = policy();
    let dates = release_dates();
    let hosts = [host("deb1", "production"), host("deb2", "production"), host("deb3", "dev")];
    let assessments = [
        assessment(
            "deb1",
            vec![
                update("acme-kernel", Security, Some(Severity::Critical), &[]),
                update("acme-web", Enhancement, None, &[]),
            ],
        ),
        assessment("deb2", vec![update("acme-kernel", Security, Some(Severity::Critical), &[])]),
        assessment("deb3", vec![update("acme-web", Bugfix, None, &[])]),
    ];
    let baselines = PlanBaselines { policy: &policy, track: Regular, release_dates: &dates };
    let plan = build_plan(
        &hosts,
        &assessments,
        &["all".into()],
        &PlanOptions::default(),
        Some(&baselines),
        utc(NOW).timestamp(),
    )
    .unwrap();
    let changes: Vec<(&str, &str)> = plan
        .hosts
        .iter()
        .flat_map(|h| h.changes.iter().map(|c| (h.host.as_str(), c.name.as_str())))
        .collect();
    assert_eq!(changes, [("deb1", "acme-web"), ("deb3", "acme-web")]);
    let withheld: Vec<(&str, &str, WithheldBy)> =
        plan.withheld.iter().map(|w| (w.host.as_str(), w.name.as_str(), w.rule)).collect();
    assert_eq!(
        withheld,
        [("deb1", "acme-kernel", WithheldBy::Held), ("deb2", "acme-kernel", WithheldBy::Held)]
    );
    assert!(!plan.host("deb1").unwrap().risks.iter().any(|r| r.contains("acme-kernel")));
    assert_eq!(plan.excluded.len(), 1);
    assert!(plan.excluded[0].reason.contains("its baseline withholds every pending update"));
    let shown =
        render_markdown(&plan, &crate::plan::RecordInputs::plan_only(chrono::DateTime::UNIX_EPOCH));
    assert!(shown.contains("## Withheld by the baselines"), "{shown}");
    assert!(
        shown.contains(
            "acme-kernel 1.1-1 on deb2: held by baseline \"strict\" of production (hold = \
             [\"acme-kernel\"])"
        ),
        "{shown}"
    );
    assert!(!shown.contains("STILL EXPOSED"), "not an emergency: {shown}");

    // An emergency plan says so loudly.
    let mut emergency = plan.clone();
    emergency.emergency = Some(crate::emergency::Emergency {
        advisories: vec!["DSA-1".into()],
        cves: vec![],
        cvss_score: Some(9.8),
        reason: "CVSS 9.8 >= 9.0".into(),
    });
    assert!(
        render_markdown(
            &emergency,
            &crate::plan::RecordInputs::plan_only(chrono::DateTime::UNIX_EPOCH)
        )
        .contains("STILL EXPOSED")
    );

    // Without a policy nothing is withheld, and the plan's JSON has no `withheld` key, so plans
    // made without one keep the ids they had.
    let plain = build_plan(
        &hosts,
        &assessments,
        &["all".into()],
        &PlanOptions::default(),
        None,
        utc(NOW).timestamp(),
    )
    .unwrap();
    assert!(plain.withheld.is_empty());
    assert_eq!(plain.hosts.len(), 3);
    assert!(
        !serde_json::to_string(&protocol::plan::PlanV1::from(&plain)).unwrap().contains("withheld")
    );
}
