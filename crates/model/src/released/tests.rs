//! Release dates and first sightings from assessments written out as values.

use std::collections::BTreeMap;

use chrono::DateTime;

use super::*;
use crate::{Classification, OsRelease, PackageManagerKind, UpdateAction};

fn update(name: &str, version: &str, advisories: &[&str]) -> PendingUpdate {
    PendingUpdate {
        name: name.to_owned(),
        arch: "amd64".to_owned(),
        installed_version: Some("1.0-1".to_owned()),
        candidate_version: version.to_owned(),
        origins: Vec::new(),
        action: UpdateAction::Upgrade,
        classification: Classification::Bugfix,
        severity: None,
        kernel: false,
        advisories: advisories.iter().map(|a| a.to_string()).collect(),
        cves: Vec::new(),
        kept_back: false,
    }
}

fn assessment(host: &str, at: i64, updates: Vec<PendingUpdate>) -> Assessment {
    Assessment {
        lists_refreshed: Default::default(),
        host: host.into(),
        taken_at_unix: at,
        os: OsRelease::default(),
        package_manager: PackageManagerKind::Apt,
        running_kernel: "6.1".into(),
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

fn key(name: &str, version: &str) -> UpdateKey {
    UpdateKey { name: name.into(), arch: "amd64".into(), version: version.into() }
}

#[test]
fn a_version_is_first_seen_on_any_host_even_one_patched_since() {
    // dev1 saw web 1.1 at 100 and was patched by 200; prod1 saw it first at 300. web 1.2
    // appeared at 400. The order of the assessments does not matter.
    let assessments = [
        assessment("prod1", 300, vec![update("web", "1.1", &[])]),
        assessment("dev1", 200, vec![]),
        assessment("dev1", 100, vec![update("web", "1.1", &[])]),
        assessment("prod1", 400, vec![update("web", "1.2", &[])]),
    ];
    let seen = first_seen(&assessments);
    assert_eq!(seen, BTreeMap::from([(key("web", "1.1"), 100), (key("web", "1.2"), 400)]));
}

#[test]
fn the_release_is_the_earliest_dated_advisory_else_the_first_sighting() {
    let at = |unix: i64| DateTime::from_timestamp(unix, 0).unwrap();
    let dates = ReleaseDates::new(
        BTreeMap::from([("A-2".to_owned(), at(50)), ("A-1".to_owned(), at(70))]),
        BTreeMap::from([(key("web", "1.1"), 100)]),
    );
    let advisory = |id: &str, unix: i64| {
        Some(Released { at: at(unix), source: ReleaseSource::Advisory(id.into()) })
    };
    let seen = |unix: i64| Some(Released { at: at(unix), source: ReleaseSource::FirstSeen });
    let cases = [
        (update("web", "1.1", &["A-1", "A-2"]), advisory("A-2", 50)),
        (update("web", "1.1", &["A-1"]), advisory("A-1", 70)),
        // An advisory without a date on record: the sighting.
        (update("web", "1.1", &["A-9"]), seen(100)),
        (update("web", "1.1", &[]), seen(100)),
        // Another version was never seen.
        (update("web", "1.2", &[]), None),
    ];
    for (update, expected) in cases {
        assert_eq!(dates.of(&update), expected, "{update:?}");
    }
}

#[test]
fn pending_since_restarts_after_a_run_is_broken() {
    let assessments = [
        assessment("h", 0, vec![update("web", "1.1", &[])]),
        assessment("h", 10, vec![]),
        assessment("h", 20, vec![update("web", "1.1", &[]), update("vim", "2", &[])]),
        assessment("h", 30, vec![update("web", "1.2", &[]), update("vim", "2", &[])]),
    ];
    let since = pending_since(&assessments, |u| u.name != "vim");
    assert_eq!(since, BTreeMap::from([(("web", "amd64"), 20)]));
    assert!(pending_since(&[], |_| true).is_empty());
}
