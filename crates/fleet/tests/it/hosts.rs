//! The two host images, booted for real on a private network next to a repository container:
//! each sees exactly the scenario's updates, runs acme-web, and behaves as the scenario says when
//! the updates are applied (a regression healed by a downgrade, a failing postinst, a reboot).

use std::time::{Duration, Instant};

use fleet::scenario::{self, ExpectedUpdate, Scenario};
use model::{Classification, PackageManagerKind};

use crate::support::{Host, TestNetwork, integration_enabled};

/// Boot, sshd and acme-web take a few seconds; this is a generous ceiling.
const BOOT_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn debian_host_sees_the_scenario_updates_and_applies_them() {
    if !integration_enabled("debian_host_sees_the_scenario_updates_and_applies_them") {
        return;
    }
    let (scenario, images) = build();
    let mut network = TestNetwork::create("debian");
    network.start_repository(&images.debian, &scenario.root);
    let host = network.start_host(&images.debian, "debian-1");
    host.wait_until_up(BOOT_LIMIT);
    check_common_setup(&host);
    assert_eq!(
        host.ok(&["cat", "/etc/apt/sources.list.d/acme.list"]),
        "deb [trusted=yes] http://repo/apt bookworm main\n\
         deb [trusted=yes] http://repo/apt bookworm-security main\n"
    );
    assert_eq!(host.ok(&["ls", "/etc/apt/sources.list.d"]), "acme.list\n", "no Debian sources");

    host.ok(&["apt-get", "-q", "update"]);
    let simulation = host.ok(&["apt-get", "-s", "dist-upgrade"]);
    let mut planned: Vec<&str> =
        simulation.lines().filter(|line| line.starts_with("Inst ")).collect();
    planned.sort();
    let mut expected: Vec<String> = scenario
        .expected_updates(PackageManagerKind::Apt)
        .iter()
        .map(|update| {
            format!(
                "Inst {} [{}] ({} {}:{}/{} [{}])",
                update.name,
                update.installed_version,
                update.candidate_version,
                update.origin.label.as_deref().unwrap_or_default(),
                scenario::RELEASE_VERSION,
                update.origin.suite,
                update.arch,
            )
        })
        .collect();
    expected.sort();
    assert_eq!(planned, expected, "apt-get -s dist-upgrade:\n{simulation}");
    let web = "Inst acme-web [1.0-1] (1.1-1 Acme-Security:12/bookworm-security [all])";
    assert!(planned.contains(&web), "{simulation}");

    let apt_get = |args: &[&str]| {
        let mut argv = vec!["apt-get", "-q", "-y"];
        argv.extend_from_slice(args);
        host.exec(&argv)
    };
    // The service's own update restarts it under systemd.
    assert_eq!(apt_get(&["install", "acme-web"]).code, 0);
    assert_eq!(host.acme_web("/version").as_deref(), Some("1.1-1"));
    assert_eq!(host.acme_web("/health").as_deref(), Some("ok"));
    // A regression, healed by going back to 1.0.
    assert_eq!(apt_get(&["install", "acme-regress"]).code, 0);
    assert_eq!(host.acme_web("/health").as_deref(), Some("degraded"));
    assert_eq!(apt_get(&["install", "--allow-downgrades", "acme-regress=1.0-1"]).code, 0);
    assert_eq!(host.acme_web("/health").as_deref(), Some("ok"));
    // The kernel-like package asks for a reboot.
    assert_eq!(host.exec(&["test", "-e", "/var/run/reboot-required"]).code, 1);
    assert_eq!(apt_get(&["install", "acme-kernel"]).code, 0);
    assert_eq!(host.ok(&["cat", "/var/run/reboot-required.pkgs"]), "acme-kernel\n");
    host.ok(&["test", "-f", "/var/run/reboot-required"]);
    host.ok(&["test", "-f", "/boot/vmlinuz-1.1-acme"]);
    // The broken update fails in its postinst, and says why.
    let broken = apt_get(&["install", "acme-broken"]);
    assert_eq!(broken.code, 100, "{}", broken.both());
    assert!(
        broken.both().contains("acme-broken: postinst of 1.1-1 failed on purpose"),
        "{}",
        broken.both()
    );
    let status = host.ok(&["dpkg-query", "-W", "-f", "${db:Status-Status}", "acme-broken"]);
    assert_eq!(status, "half-configured");

    // A reboot clears the flag and brings the services back.
    host.restart();
    host.wait_until_up(BOOT_LIMIT);
    assert_eq!(host.exec(&["test", "-e", "/var/run/reboot-required"]).code, 1);
    assert_eq!(host.acme_web("/version").as_deref(), Some("1.1-1"));
}

#[test]
fn rpm_host_sees_the_scenario_advisories_and_applies_them() {
    if !integration_enabled("rpm_host_sees_the_scenario_advisories_and_applies_them") {
        return;
    }
    let (scenario, images) = build();
    let mut network = TestNetwork::create("rpm");
    network.start_repository(&images.debian, &scenario.root);
    let host = network.start_host(&images.rpm, "rpm-1");
    host.wait_until_up(BOOT_LIMIT);
    check_common_setup(&host);
    let os_release = host.ok(&["cat", "/etc/os-release"]);
    for line in ["ID=acme-el", "ID_LIKE=\"rhel fedora\"", "VERSION_ID=1"] {
        assert!(os_release.lines().any(|l| l == line), "{os_release}");
    }
    assert_eq!(host.exec(&["test", "-L", "/etc/os-release"]).code, 1, "not a symlink any more");
    assert_eq!(host.ok(&["find", "/etc/apt", "-name", "*.list", "-o", "-name", "*.sources"]), "");
    assert_eq!(host.ok(&["rpm", "-q", "acme-web"]), "acme-web-1.0-1.noarch\n");

    let expected = scenario.expected_updates(PackageManagerKind::Dnf);
    let check_update = host.exec(&["dnf", "-q", "check-update"]);
    assert_eq!(check_update.code, 100, "{}", check_update.both());
    assert_eq!(check_update.stderr, "", "no warnings");
    let mut listed: Vec<Vec<&str>> = check_update
        .stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split_whitespace().collect())
        .collect();
    listed.sort();
    let mut wanted: Vec<Vec<String>> = expected
        .iter()
        .map(|update| {
            vec![
                format!("{}.{}", update.name, update.arch),
                update.candidate_version.clone(),
                scenario::RPM_REPO_ID.to_owned(),
            ]
        })
        .collect();
    wanted.sort();
    assert_eq!(listed, wanted, "dnf check-update:\n{}", check_update.stdout);

    let updateinfo = host.ok(&["dnf", "-q", "updateinfo", "list", "--updates"]);
    let mut advisories: Vec<Vec<&str>> = updateinfo
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split_whitespace().collect())
        .collect();
    advisories.sort();
    let mut wanted: Vec<Vec<String>> = expected.iter().map(updateinfo_line).collect();
    wanted.sort();
    assert_eq!(advisories, wanted, "dnf updateinfo list --updates:\n{updateinfo}");
    assert!(updateinfo.contains("Critical/Sec."), "{updateinfo}");

    let dnf = |args: &[&str]| {
        let mut argv = vec!["dnf", "-q", "-y"];
        argv.extend_from_slice(args);
        host.exec(&argv)
    };
    assert_eq!(dnf(&["upgrade", "acme-web"]).code, 0);
    assert_eq!(host.acme_web("/version").as_deref(), Some("1.1-1"));
    assert_eq!(dnf(&["upgrade", "acme-regress"]).code, 0);
    assert_eq!(host.acme_web("/health").as_deref(), Some("degraded"));
    assert_eq!(dnf(&["downgrade", "acme-regress"]).code, 0);
    assert_eq!(host.ok(&["rpm", "-q", "acme-regress"]), "acme-regress-1.0-1.noarch\n");
    assert_eq!(host.acme_web("/health").as_deref(), Some("ok"));

    let needs_restarting =
        || host.exec(&["dnf", "-q", "--disablerepo=*", "needs-restarting", "-r"]);
    assert_eq!(needs_restarting().code, 0, "{}", needs_restarting().both());
    assert_eq!(dnf(&["upgrade", "acme-kernel"]).code, 0);
    // Installed side by side, as kernels are.
    assert_eq!(
        host.ok(&["rpm", "-q", "acme-kernel"]),
        "acme-kernel-1.0-1.noarch\nacme-kernel-1.1-1.noarch\n"
    );
    let after_kernel = needs_restarting();
    assert_eq!(after_kernel.code, 1, "{}", after_kernel.both());
    assert!(after_kernel.stdout.contains("acme-kernel"), "{}", after_kernel.stdout);

    // rpm treats a failing %post as a warning: dnf exits 0 and the package counts as installed.
    // The scriptlet's own message is printed only without -q (and always logged to
    // /var/log/dnf.rpm.log); dnf's "Error in POSTIN scriptlet" goes to stderr either way, and
    // `dnf history` marks the transaction `EE`.
    let broken = host.exec(&["dnf", "-y", "upgrade", "acme-broken"]);
    assert_eq!(broken.code, 0, "{}", broken.both());
    assert!(
        broken.stdout.contains(
            "acme-broken: postinst of 1.1-1 failed on purpose (patchctl scenario: a broken update)"
        ),
        "{}",
        broken.both()
    );
    assert!(
        broken.stderr.contains("Error in POSTIN scriptlet in rpm package acme-broken"),
        "{}",
        broken.both()
    );
    assert_eq!(host.ok(&["rpm", "-q", "acme-broken"]), "acme-broken-1.1-1.noarch\n");
    let history = host.ok(&["dnf", "-q", "history", "list"]);
    let last = history.lines().nth(2).unwrap_or_default();
    assert!(last.contains("upgrade acme-broken") && last.ends_with("EE"), "{history}");

    host.restart();
    host.wait_until_up(BOOT_LIMIT);
    assert_eq!(needs_restarting().code, 0, "a reboot satisfies needs-restarting");
}

fn build() -> (Scenario, fleet::images::FleetImages) {
    let started = Instant::now();
    let scenario = scenario::build(&fleet::cache_dir()).unwrap();
    let images = fleet::images::fleet_images(&scenario).unwrap();
    eprintln!("scenario and images ready after {:.1?}: {images:?}", started.elapsed());
    (scenario, images)
}

/// What both images must have.
fn check_common_setup(host: &Host) {
    let sshd = host.ok(&["sshd", "-T"]);
    // sshd -T prints prohibit-password under its old name.
    assert!(sshd.lines().any(|l| l == "permitrootlogin without-password"), "{sshd}");
    assert!(sshd.lines().any(|l| l == "passwordauthentication no"), "{sshd}");
    host.ok(&["test", "-s", "/etc/ssh/ssh_host_ed25519_key"]);
    assert_eq!(host.ok(&["systemctl", "is-enabled", "acme-web"]), "enabled\n");
    assert_eq!(host.acme_web("/version").as_deref(), Some("1.0-1"));
    host.ok(&["busybox", "true"]);
    let machine_id = host.ok(&["cat", "/etc/machine-id"]);
    assert_eq!(machine_id.trim().len(), 32, "systemd made a machine-id at boot: {machine_id}");
}

/// `ACME-2026:0001 Critical/Sec. acme-web-1.1-1.noarch`, split on white space.
fn updateinfo_line(update: &ExpectedUpdate) -> Vec<String> {
    let advisory = update.advisory;
    let kind = match (advisory.kind, advisory.severity) {
        (Classification::Security, Some(severity)) => format!("{severity:?}/Sec."),
        (Classification::Security, None) => "Sec.".to_owned(),
        (Classification::Bugfix, _) => "bugfix".to_owned(),
        _ => "enhancement".to_owned(),
    };
    vec![
        advisory.id.to_owned(),
        kind,
        format!("{}-{}.{}", update.name, update.candidate_version, update.arch),
    ]
}
