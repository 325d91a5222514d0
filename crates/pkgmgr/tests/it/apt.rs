//! The apt backend on outputs captured from real apt and dpkg (`test_data/apt/CAPTURE.md`).

use model::{Classification, UpdateAction};
use pkgmgr::{Gathered, PackageState, Probe, ProbeOutput, apt};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/apt");

fn captured(name: &str) -> ProbeOutput {
    let read = |ext: &str| std::fs::read_to_string(format!("{DATA}/{name}.{ext}")).unwrap();
    ProbeOutput::Ran {
        exit_code: read("rc").trim().parse().unwrap(),
        stdout: read("stdout"),
        stderr: read("stderr"),
    }
}

/// Every probe answers as on a quiet host, then `captures` (probe key, capture name) override.
fn host(captures: &[(&'static str, &str)]) -> Gathered {
    let mut gathered = Gathered::new();
    for spec in apt::probes() {
        let quiet = match spec.probe {
            Probe::Run(_) => {
                ProbeOutput::Ran { exit_code: 0, stdout: String::new(), stderr: String::new() }
            }
            Probe::ReadFile(_) => ProbeOutput::File(None),
            Probe::ListDir(_) => ProbeOutput::Dir(None),
        };
        gathered.insert(spec.key, quiet);
    }
    for (key, name) in captures {
        gathered.insert(key, captured(name));
    }
    gathered
}

fn scenario(prefix: &str) -> PackageState {
    let query = format!("{prefix}-dpkg-query");
    let full = format!("{prefix}-dist-upgrade");
    let plain = format!("{prefix}-upgrade");
    apt::assemble(&host(&[
        (apt::DPKG_QUERY, &query),
        (apt::DIST_UPGRADE, &full),
        (apt::UPGRADE, &plain),
    ]))
    .unwrap()
}

#[test]
fn plain_bookworm_image_has_security_updates() {
    let state = scenario("plain");
    assert_eq!(state.installed.len(), 139);
    assert_eq!(state.updates.len(), 10);
    assert!(state.updates.iter().all(|u| u.classification == Classification::Security));
    assert!(state.updates.iter().all(|u| !u.kept_back && u.action == UpdateAction::Upgrade));
    assert!(state.held.is_empty() && state.removals.is_empty());
    assert!(!state.health.interrupted);
}

#[test]
fn this_build_machine() {
    let state = scenario("host");
    assert_eq!(state.updates.len(), 129);
    let security =
        state.updates.iter().filter(|u| u.classification == Classification::Security).count();
    assert_eq!(security, 78);
    let jwt = state.updates.iter().find(|u| u.name == "python3-jwt").unwrap();
    let suites: Vec<&str> = jwt.origins.iter().map(|o| o.suite.as_str()).collect();
    assert_eq!(suites, ["oldstable", "oldstable-security"]);
    assert_eq!(jwt.classification, Classification::Security);
}

#[test]
fn nasty_cases() {
    let state = scenario("nasty");
    let update = |name: &str, arch: &str| {
        state
            .updates
            .iter()
            .find(|u| u.name == name && u.arch == arch)
            .unwrap_or_else(|| panic!("{name}:{arch}"))
    };
    assert_eq!(state.updates.len(), 11);
    assert_eq!(state.removals, ["acme-victim"]);
    assert_eq!(state.held, ["acme-held"]);

    let epoch = update("acme-epoch", "all");
    assert_eq!(
        (epoch.installed_version.as_deref(), epoch.candidate_version.as_str()),
        (Some("2:1.0-1"), "2:1.1-1")
    );
    let tilde = update("acme-tilde", "all");
    assert_eq!(tilde.installed_version.as_deref(), Some("1.0~rc1-1"));
    assert_eq!(tilde.classification, Classification::Unknown);

    // One library, two architectures: both are updates, the foreign one under its bare name.
    assert_eq!(update("libacme1", "amd64").classification, Classification::Security);
    assert_eq!(update("libacme1", "i386").installed_version.as_deref(), Some("1.0-1"));

    // In both the regular and the security suite: security.
    assert_eq!(update("acme-dual", "all").origins.len(), 2);
    assert_eq!(update("acme-dual", "all").classification, Classification::Security);

    // A plain upgrade keeps back what needs a new package or a removal.
    let kept: Vec<&str> =
        state.updates.iter().filter(|u| u.kept_back).map(|u| u.name.as_str()).collect();
    assert_eq!(kept, ["acme-image-amd64", "acme-kept", "acme-replacer"]);

    let new = update("acme-image-6.1.0-99-amd64", "amd64");
    assert_eq!((new.action, new.installed_version.as_deref()), (UpdateAction::NewInstall, None));
    assert!(!new.kept_back);
    // The installed kernel metapackage is in dpkg's kernel section.
    assert!(update("acme-image-amd64", "amd64").kernel);
    assert!(!update("acme-kept", "all").kernel);

    let long = state.updates.iter().find(|u| u.name.len() > 100).unwrap();
    assert_eq!(long.candidate_version, "1.1-1");
}

#[test]
fn nothing_to_do() {
    let state = apt::assemble(&host(&[
        (apt::DPKG_QUERY, "plain-dpkg-query"),
        (apt::DIST_UPGRADE, "empty-dist-upgrade"),
        (apt::UPGRADE, "empty-upgrade"),
    ]))
    .unwrap();
    assert!(state.updates.is_empty());
}

#[test]
fn lock_held_by_a_waiting_apt_get() {
    let mut gathered = host(&[
        (apt::DPKG_QUERY, "plain-dpkg-query"),
        (apt::DIST_UPGRADE, "plain-dist-upgrade"),
        (apt::UPGRADE, "plain-upgrade"),
    ]);
    // The capture has `%D %Hd %Ld %i %n`; the probe asks for `%D %i %n`: keep those columns.
    let stat_dev = std::fs::read_to_string(format!("{DATA}/locks-stat-dev.stdout")).unwrap();
    let stat: String = stat_dev
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, ' ').collect();
            format!("{} {} {}\n", f[0], f[3], f[4])
        })
        .collect();
    gathered.insert(
        apt::LOCK_STAT,
        ProbeOutput::Ran { exit_code: 0, stdout: stat, stderr: String::new() },
    );
    let locks = std::fs::read_to_string(format!("{DATA}/locks-proc-locks.stdout")).unwrap();
    gathered.insert(apt::PROC_LOCKS, ProbeOutput::File(Some(locks)));
    let holders = apt::assemble(&gathered).unwrap().health.locks;
    let paths: Vec<&str> = holders.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/cache/apt/archives/lock"]
    );
    assert!(holders.iter().all(|h| h.pid == 19));
}

#[test]
fn reboot_required_by_packages() {
    let mut gathered = host(&[
        (apt::DPKG_QUERY, "plain-dpkg-query"),
        (apt::DIST_UPGRADE, "empty-dist-upgrade"),
        (apt::UPGRADE, "empty-upgrade"),
    ]);
    let read = |name: &str| std::fs::read_to_string(format!("{DATA}/{name}.stdout")).unwrap();
    gathered.insert(apt::REBOOT_FLAG, ProbeOutput::File(Some(read("reboot-required"))));
    gathered.insert(apt::REBOOT_PKGS, ProbeOutput::File(Some(read("reboot-required-pkgs"))));
    let reboot = apt::assemble(&gathered).unwrap().reboot;
    assert!(reboot.required);
    assert_eq!(
        reboot.packages,
        ["linux-base", "libacme1"],
        "duplicates in the .pkgs file are folded"
    );
}

#[test]
fn services_needing_restart() {
    let mut gathered = host(&[
        (apt::DPKG_QUERY, "plain-dpkg-query"),
        (apt::DIST_UPGRADE, "empty-dist-upgrade"),
        (apt::UPGRADE, "empty-upgrade"),
    ]);
    gathered.insert(apt::NEEDRESTART, captured("needrestart-ssh"));
    let services = apt::assemble(&gathered).unwrap().services_needing_restart.unwrap();
    assert_eq!(services[0], "ssh.service");
    gathered.insert(apt::NEEDRESTART, captured("needrestart-clean"));
    assert_eq!(apt::assemble(&gathered).unwrap().services_needing_restart, Some(vec![]));
    gathered.insert(apt::NEEDRESTART, ProbeOutput::NotFound);
    assert_eq!(apt::assemble(&gathered).unwrap().services_needing_restart, None);
}

#[test]
fn interrupted_dpkg() {
    let mut gathered = host(&[
        (apt::DPKG_QUERY, "errors-interrupted-dpkg-query"),
        (apt::DIST_UPGRADE, "errors-interrupted-dist-upgrade"),
        (apt::UPGRADE, "errors-interrupted-dist-upgrade"),
        (apt::AUDIT, "errors-interrupted-dpkg-audit"),
    ]);
    gathered.insert(apt::UPDATES_DIR, ProbeOutput::Dir(Some(vec!["0000".into()])));
    let health = apt::assemble(&gathered).unwrap().health;
    assert!(health.interrupted);
    assert!(health.audit.iter().any(|l| l.contains("acme-killdpkg")));
}

#[test]
fn half_configured_package_after_a_failed_postinst() {
    let gathered = host(&[
        (apt::DPKG_QUERY, "errors-postinst-dpkg-query"),
        (apt::DIST_UPGRADE, "errors-postinst-dist-upgrade"),
        (apt::UPGRADE, "errors-postinst-dist-upgrade"),
        (apt::AUDIT, "errors-postinst-dpkg-audit"),
    ]);
    let state = apt::assemble(&gathered).unwrap();
    assert!(state.health.interrupted);
    assert!(!state.health.audit.is_empty());
}

#[test]
fn corrupt_status_file_is_an_error_naming_the_step() {
    for cut in ["status", "line", "depends"] {
        let gathered = host(&[
            (apt::DPKG_QUERY, &format!("errors-corrupt-{cut}-dpkg-query")),
            (apt::DIST_UPGRADE, &format!("errors-corrupt-{cut}-dist-upgrade")),
            (apt::UPGRADE, &format!("errors-corrupt-{cut}-dist-upgrade")),
        ]);
        match apt::assemble(&gathered) {
            Err(error) => assert!(
                error.step.starts_with("dpkg-query") || error.step.starts_with("apt-get"),
                "{error}"
            ),
            Ok(state) => panic!(
                "{cut}: a corrupt status file gave an assessment of {} packages",
                state.installed.len()
            ),
        }
    }
}

#[test]
fn plain_upgrade_is_asked_only_when_the_full_one_installs_or_removes() {
    let plain =
        host(&[(apt::DPKG_QUERY, "plain-dpkg-query"), (apt::DIST_UPGRADE, "plain-dist-upgrade")]);
    assert!(apt::followup_probes(&plain).is_empty());
    assert!(apt::assemble(&plain).unwrap().updates.iter().all(|u| !u.kept_back));

    let nasty =
        host(&[(apt::DPKG_QUERY, "nasty-dpkg-query"), (apt::DIST_UPGRADE, "nasty-dist-upgrade")]);
    let followups = apt::followup_probes(&nasty);
    assert_eq!(followups.iter().map(|p| p.key).collect::<Vec<_>>(), [apt::UPGRADE]);
    let error = apt::assemble(&nasty).unwrap_err();
    assert_eq!(error.step, apt::UPGRADE, "{error}");
}

/// Only the probes of `depth` were gathered: the lesser depths never ask apt's resolver, and
/// still see the same packages, the same interrupted dpkg and the same reboot flag.
#[test]
fn lesser_depths_read_the_same_state_without_the_resolver() {
    use pkgmgr::Depth;
    let full = host(&[
        (apt::DPKG_QUERY, "errors-interrupted-dpkg-query"),
        (apt::DIST_UPGRADE, "errors-interrupted-dist-upgrade"),
        (apt::UPGRADE, "errors-interrupted-dist-upgrade"),
        (apt::AUDIT, "errors-interrupted-dpkg-audit"),
    ]);
    let mut full = full;
    full.insert(apt::UPDATES_DIR, ProbeOutput::Dir(Some(vec!["0000".into()])));
    let read = |name: &str| std::fs::read_to_string(format!("{DATA}/{name}.stdout")).unwrap();
    full.insert(apt::REBOOT_FLAG, ProbeOutput::File(Some(read("reboot-required"))));
    let expected = apt::assemble(&full).unwrap();

    for depth in [Depth::Health, Depth::Installed] {
        let keys: Vec<&str> = apt::probes_at(depth).iter().map(|p| p.key).collect();
        assert!(!keys.contains(&apt::DIST_UPGRADE) && !keys.contains(&apt::NEEDRESTART));
        let mut gathered = Gathered::new();
        for key in &keys {
            gathered.insert(key, full.get(key).unwrap().clone());
        }
        let state = apt::assemble_at(&gathered, depth).unwrap();
        assert_eq!(state.installed, expected.installed, "{depth:?}");
        assert_eq!(state.reboot, expected.reboot, "{depth:?}");
        assert!(state.updates.is_empty() && state.removals.is_empty());
        assert_eq!(state.services_needing_restart, None);
        assert!(state.health.interrupted, "{depth:?}");
        if depth == Depth::Health {
            assert_eq!(state.health, expected.health);
        }
    }
}
