//! Plans made from assessments written out as values.

use super::*;
use crate::{
    Assessment, DiskSpace, Health, InstalledKernel, OsRelease, PendingUpdate, RebootStatus,
    UpdateAction,
};

fn update(name: &str, from: Option<&str>, to: &str, class: Classification) -> PendingUpdate {
    PendingUpdate {
        name: name.into(),
        arch: "amd64".into(),
        installed_version: from.map(String::from),
        candidate_version: to.into(),
        origins: vec![],
        action: if from.is_some() { UpdateAction::Upgrade } else { UpdateAction::NewInstall },
        classification: class,
        severity: None,
        kernel: name.starts_with("linux-image"),
        advisories: vec![],
        cves: vec![],
        kept_back: false,
    }
}

fn assessment(host: &str, updates: Vec<PendingUpdate>) -> Assessment {
    Assessment {
        lists_refreshed: Default::default(),
        host: host.into(),
        taken_at_unix: 1_000_000,
        os: OsRelease::default(),
        package_manager: PackageManagerKind::Apt,
        running_kernel: "6.1.0-25-amd64".into(),
        installed_kernels: vec![InstalledKernel {
            release: "6.1.0-25-amd64".into(),
            package: None,
        }],
        boot_id: "b".into(),
        installed: vec![],
        updates,
        removals: vec![],
        held: vec![],
        reboot: RebootStatus::default(),
        services_needing_restart: None,
        disk: vec![DiskSpace {
            path: "/".into(),
            mount: "/".into(),
            available_bytes: 10 << 30,
            total_bytes: 20 << 30,
        }],
        health: Health::default(),
    }
}

fn host(name: &str, environment: &str, tags: &[&str]) -> PlanHost {
    PlanHost {
        name: name.into(),
        environment: environment.into(),
        owner: Some("ops".into()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        restarts: Default::default(),
    }
}

fn fleet() -> (Vec<PlanHost>, Vec<Assessment>) {
    let mut hosts = Vec::new();
    let mut assessments = Vec::new();
    for (i, env) in ["production", "dev", "staging"].iter().enumerate() {
        for j in 0..4 {
            let name = format!("{env}-{j}");
            hosts.push(host(&name, env, if j == 3 { &["canary"] } else { &[] }));
            let mut updates = vec![
                update("openssl", Some("3.0.1-1"), "3.0.2-1", Classification::Security),
                update("tzdata", Some("2024a-0"), "2025b-0", Classification::Bugfix),
            ];
            if i == 0 && j == 0 {
                updates.push(update(
                    "linux-image-6.1.0-26-amd64",
                    None,
                    "6.1.0-26",
                    Classification::Security,
                ));
            }
            assessments.push(assessment(&name, updates));
        }
    }
    (hosts, assessments)
}

fn plan(options: &PlanOptions) -> Plan {
    let (hosts, assessments) = fleet();
    build_plan(&hosts, &assessments, &["all".into()], options, None, 1_000_100).unwrap()
}

#[test]
fn versions_are_pinned_with_their_way_back() {
    let plan = plan(&PlanOptions::default());
    let host = plan.host("dev-0").unwrap();
    let openssl = host.changes.iter().find(|c| c.name == "openssl").unwrap();
    assert_eq!((openssl.from.as_deref(), openssl.to.as_str()), (Some("3.0.1-1"), "3.0.2-1"));
    assert_eq!(host.reboot, PlannedReboot::IfRequired);
    let kernel_host = plan.host("production-0").unwrap();
    assert_eq!(kernel_host.reboot, PlannedReboot::Yes);
    assert!(
        kernel_host.risks.iter().any(|r| r.contains("installed new")),
        "{:?}",
        kernel_host.risks
    );
}

#[test]
fn waves_follow_promotion_order_with_canaries_first() {
    let mut options = PlanOptions::default();
    options.strategy.max_unavailable = Limit::Count(2);
    let plan = plan(&options);
    let waves: Vec<(&str, Vec<&str>)> = plan
        .waves
        .iter()
        .map(|w| (w.name.as_str(), w.hosts.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        waves,
        vec![
            ("dev canary", vec!["dev-3"]),
            ("dev batch 1", vec!["dev-0", "dev-1"]),
            ("dev batch 2", vec!["dev-2"]),
            ("staging canary", vec!["staging-3"]),
            ("staging batch 1", vec!["staging-0", "staging-1"]),
            ("staging batch 2", vec!["staging-2"]),
            ("production canary", vec!["production-3"]),
            ("production batch 1", vec!["production-0", "production-1"]),
            ("production batch 2", vec!["production-2"]),
        ]
    );
    let mut all: Vec<&String> = plan.waves.iter().flat_map(|w| &w.hosts).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), plan.hosts.len(), "every host in exactly one wave");
}

#[test]
fn scopes_select_updates() {
    let security = plan(&PlanOptions { scope: Scope::SecurityOnly, ..PlanOptions::default() });
    assert!(security.hosts.iter().all(|h| h.changes.iter().all(|c| c.name != "tzdata")));
    let kernel = plan(&PlanOptions { scope: Scope::KernelOnly, ..PlanOptions::default() });
    assert_eq!(kernel.hosts.len(), 1);
    assert_eq!(kernel.excluded.len(), 11);
    assert!(kernel.excluded[0].reason.contains("nothing to do"));
    let named = plan(&PlanOptions {
        scope: Scope::Packages(vec!["tzdata".into()]),
        ..PlanOptions::default()
    });
    assert!(named.hosts.iter().all(|h| h.changes.len() == 1 && h.changes[0].name == "tzdata"));
}

#[test]
fn a_misspelt_package_is_refused() {
    let (hosts, assessments) = fleet();
    let options =
        PlanOptions { scope: Scope::Packages(vec!["opensll".into()]), ..PlanOptions::default() };
    let error = build_plan(&hosts, &assessments, &[], &options, None, 0).unwrap_err();
    assert_eq!(error, PlanError::PackagesNotPending(vec!["opensll".into()]));
}

#[test]
fn hosts_without_assessment_are_excluded_with_the_reason() {
    let (mut hosts, assessments) = fleet();
    hosts.push(host("new-host", "dev", &[]));
    let plan = build_plan(&hosts, &assessments, &[], &PlanOptions::default(), None, 0).unwrap();
    let excluded = plan.excluded.iter().find(|e| e.host == "new-host").unwrap();
    assert!(excluded.reason.contains("patchctl assess"));
}

#[test]
fn the_id_is_the_content_hash_and_any_change_breaks_it() {
    let mut plan = plan(&PlanOptions::default());
    assert!(plan.is_intact());
    assert_eq!(plan.id, self::plan(&PlanOptions::default()).id, "deterministic");
    plan.hosts[0].changes[0].to = "9.9.9".into();
    assert!(!plan.is_intact());
}

/// The id is hashed over the stored form (`protocol::plan::PlanV1`), not over `Plan`: `Plan`
/// has no serde implementation at all (the block below stops compiling if one is derived), so
/// a field renamed here changes no id and no stored body.
#[test]
fn the_id_is_hashed_over_the_stored_form_and_not_over_the_domain_type() {
    let plan = plan(&PlanOptions::default());
    let stored = protocol::plan::PlanV1::from(&plan);
    assert_eq!(plan.id, protocol::plan::plan_id(&stored));
    assert_eq!(Plan::from(stored), plan, "the stored form keeps everything");

    // Resolves only while exactly one impl applies: with `Plan: Serialize`, two would.
    trait AmbiguousIfSerialize<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSerialize<()> for T {}
    struct IsSerialize;
    impl<T: ?Sized + serde::Serialize> AmbiguousIfSerialize<IsSerialize> for T {}
    <Plan as AmbiguousIfSerialize<_>>::check();
}

#[test]
fn reboot_policies() {
    let never = plan(&PlanOptions { reboot: RebootPolicy::Never, ..PlanOptions::default() });
    let kernel_host = never.host("production-0").unwrap();
    assert_eq!(kernel_host.reboot, PlannedReboot::No);
    assert!(kernel_host.risks.iter().any(|r| r.contains("someone else")));
    let always = plan(&PlanOptions { reboot: RebootPolicy::Always, ..PlanOptions::default() });
    assert!(always.hosts.iter().all(|h| h.reboot == PlannedReboot::Yes));
}

#[test]
fn the_rendered_plan_has_the_sections_a_change_board_expects() {
    let plan = plan(&PlanOptions::default());
    let markdown =
        render_markdown(&plan, &crate::plan::RecordInputs::plan_only(chrono::DateTime::UNIX_EPOCH));
    for section in [
        "## Milestones",
        "## Approval",
        "## Packages",
        "## Waves",
        "## Responsibilities",
        "## Backup and prechecks",
        "## Tests after the change",
        "## Rollback",
        "## Risks",
    ] {
        assert!(markdown.contains(section), "{section} missing:\n{markdown}");
    }
    assert!(markdown.contains("| dev-0 | openssl (amd64) | 3.0.1-1 | 3.0.2-1 | security |"));
    assert!(markdown.contains("openssl 3.0.1-1, tzdata 2024a-0"));
    let html =
        render_html(&plan, &crate::plan::RecordInputs::plan_only(chrono::DateTime::UNIX_EPOCH));
    assert!(html.contains("<h2>Rollback</h2>"));
}

#[test]
fn restarts_are_carried_per_host_and_absent_from_the_json_when_nothing_restarts() {
    let plain = plan(&PlanOptions::default());
    let json = serde_json::to_string(&protocol::plan::PlanV1::from(&plain)).unwrap();
    for key in ["\"restarts\"", "\"restart_services\""] {
        assert!(!json.contains(key), "a plan that restarts nothing keeps its old shape");
    }
    let (mut hosts, assessments) = fleet();
    let needrestart = ServiceRestarts { services: RestartServices::Needrestart, sshd: false };
    for host in hosts.iter_mut().filter(|h| h.environment == "staging") {
        host.restarts = needrestart;
    }
    let restarting =
        build_plan(&hosts, &assessments, &["all".into()], &PlanOptions::default(), None, 1_000_100)
            .unwrap();
    assert_ne!(restarting.id, plain.id, "what restarts is part of what is approved");
    for host in &restarting.hosts {
        let expected = if host.environment == "staging" { needrestart } else { Default::default() };
        assert_eq!(host.restarts, expected, "{}", host.host);
    }
    let markdown = render_markdown(
        &restarting,
        &crate::plan::RecordInputs::plan_only(chrono::DateTime::UNIX_EPOCH),
    );
    assert!(markdown.contains("## Reboots and service restarts"), "{markdown}");
    assert!(markdown.contains("every service that runs replaced code after the change"));
    let plain_markdown = render_markdown(
        &plain,
        &crate::plan::RecordInputs::plan_only(chrono::DateTime::UNIX_EPOCH),
    );
    assert!(plain_markdown.contains("## Reboots\n"), "{plain_markdown}");
}
