//! `dpkg --verify` and `rpm -V` on the outputs captured from the test fleet under
//! `test_data/integrity/` (how: its CAPTURE.md).

use model::PackageManagerKind::{self, Apt, Dnf};

use crate::apply::{
    FileFinding, FileVerdict, PackageIntegrity, PinnedPackage, parse_verify_output, verify_command,
};

macro_rules! integrity {
    ($name:literal) => {
        (
            include_str!(concat!("../../../test_data/integrity/", $name, ".rc"))
                .trim()
                .parse::<i32>()
                .unwrap(),
            include_str!(concat!("../../../test_data/integrity/", $name, ".stdout")),
            include_str!(concat!("../../../test_data/integrity/", $name, ".stderr")),
            include_str!(concat!("../../../test_data/integrity/", $name, ".argv"))
                .lines()
                .map(str::to_owned)
                .collect::<Vec<String>>(),
        )
    };
}

/// The capture's verdict, after checking that pkgmgr builds exactly the argv that ran.
fn read(
    kind: PackageManagerKind,
    package: &PinnedPackage,
    (rc, stdout, stderr, argv): (i32, &str, &str, Vec<String>),
) -> PackageIntegrity {
    assert_eq!(verify_command(kind, package).unwrap().argv, argv);
    parse_verify_output(kind, package, rc, stdout, stderr).unwrap()
}

fn agent(version: &str, arch: &str) -> PinnedPackage {
    PinnedPackage::new("acme-agent", arch, version)
}

fn finding(path: &str, verdict: FileVerdict, differs: &[&'static str]) -> FileFinding {
    FileFinding { path: path.into(), verdict, differs: differs.to_vec() }
}

fn verified(findings: Vec<FileFinding>) -> PackageIntegrity {
    PackageIntegrity::Verified { findings }
}

use FileVerdict::{AdminChanged, Altered, Missing};

#[test]
fn dpkg_sees_changed_contents_and_missing_files_and_nothing_else() {
    let deb = |v| agent(v, "all");
    assert_eq!(
        read(Apt, &deb("1.0-1"), integrity!("dpkg-not-installed")),
        PackageIntegrity::NotInstalled
    );
    assert_eq!(read(Apt, &deb("1.0-1"), integrity!("dpkg-clean")), verified(vec![]));
    let web = PinnedPackage::new("acme-web", "all", "1.0-1");
    assert_eq!(read(Apt, &web, integrity!("dpkg-other-package-clean")), verified(vec![]));
    // dpkg 1.21 compares digests only: a chmod and a touch go unseen.
    assert_eq!(
        read(Apt, &deb("1.0-1"), integrity!("dpkg-mode-and-time-changed")),
        verified(vec![])
    );
    let conffile = finding("/etc/acme-agent.conf", AdminChanged, &["content"]);
    assert_eq!(
        read(Apt, &deb("1.0-1"), integrity!("dpkg-conffile-edited")),
        verified(vec![conffile.clone()])
    );
    let program = finding("/usr/bin/acme-agent", Altered, &["content"]);
    let altered = read(Apt, &deb("1.1-1"), integrity!("dpkg-altered-by-postinst"));
    assert_eq!(altered, verified(vec![conffile.clone(), program.clone()]));
    let failures: Vec<String> =
        altered.findings().iter().filter(|f| f.is_failure()).map(FileFinding::describe).collect();
    assert_eq!(failures, ["/usr/bin/acme-agent (content)"]);
    let version_file = finding("/usr/share/acme-agent/VERSION", Missing, &[]);
    assert_eq!(
        read(Apt, &deb("1.1-1"), integrity!("dpkg-file-missing")),
        verified(vec![conffile, program.clone(), version_file.clone()])
    );
    // A conffile the administrator removed is theirs to remove.
    let removed = finding("/etc/acme-agent.conf", AdminChanged, &[]);
    assert_eq!(removed.describe(), "/etc/acme-agent.conf (removed)");
    assert_eq!(
        read(Apt, &deb("1.1-1"), integrity!("dpkg-conffile-removed")),
        verified(vec![removed, program, version_file])
    );
}

#[test]
fn dpkg_takes_the_bare_name_too() {
    let (rc, stdout, stderr, argv) = integrity!("dpkg-clean-bare-name");
    assert_eq!(argv.last().unwrap(), "acme-agent");
    assert_eq!(
        parse_verify_output(Apt, &agent("1.0-1", "all"), rc, stdout, stderr).unwrap(),
        verified(vec![])
    );
}

#[test]
fn rpm_sees_every_attribute_and_a_time_alone_is_no_finding() {
    let rpm = |v| agent(v, "noarch");
    assert_eq!(
        read(Dnf, &rpm("1.0-1"), integrity!("rpm-not-installed")),
        PackageIntegrity::NotInstalled
    );
    assert_eq!(read(Dnf, &rpm("1.0-1"), integrity!("rpm-clean")), verified(vec![]));
    // rpm exits 1 for a changed time alone; it is no finding.
    assert_eq!(read(Dnf, &rpm("1.0-1"), integrity!("rpm-time-changed")), verified(vec![]));
    assert_eq!(
        read(Dnf, &rpm("1.0-1"), integrity!("rpm-mode-changed")),
        verified(vec![finding("/usr/bin/acme-agent", Altered, &["mode"])])
    );
    let conffile = finding("/etc/acme-agent.conf", AdminChanged, &["size", "content"]);
    assert_eq!(
        read(Dnf, &rpm("1.0-1"), integrity!("rpm-conffile-edited")),
        verified(vec![conffile.clone()])
    );
    let program = finding("/usr/bin/acme-agent", Altered, &["size", "content"]);
    assert_eq!(
        read(Dnf, &rpm("1.1-1"), integrity!("rpm-altered-by-postinst")),
        verified(vec![conffile.clone(), program.clone()])
    );
    // After the upgrade, 1.0 is no longer installed: the NEVRA is the version checked.
    assert_eq!(
        read(Dnf, &rpm("1.0-1"), integrity!("rpm-other-version-not-installed")),
        PackageIntegrity::NotInstalled
    );
    let version_file = finding("/usr/share/acme-agent/VERSION", Missing, &[]);
    assert_eq!(
        read(Dnf, &rpm("1.1-1"), integrity!("rpm-file-missing")),
        verified(vec![conffile, program, version_file.clone()])
    );
    let removed = finding("/etc/acme-agent.conf", AdminChanged, &[]);
    assert_eq!(
        read(Dnf, &rpm("1.1-1"), integrity!("rpm-conffile-removed")),
        verified(vec![
            removed.clone(),
            finding("/usr/bin/acme-agent", Altered, &["size", "content"]),
            version_file.clone()
        ])
    );
    assert_eq!(
        read(Dnf, &rpm("1.1-1"), integrity!("rpm-owner-changed")),
        verified(vec![
            removed,
            finding("/usr/bin/acme-agent", Altered, &["size", "content", "owner"]),
            version_file
        ])
    );
}

#[test]
fn of_an_installonly_package_only_the_named_version_is_verified() {
    let kernel = |v| PinnedPackage::new("acme-kernel", "noarch", v);
    assert_eq!(
        read(Dnf, &kernel("1.0-1"), integrity!("rpm-installonly-old-version")),
        verified(vec![])
    );
    assert_eq!(
        read(Dnf, &kernel("1.1-1"), integrity!("rpm-installonly-new-version")),
        verified(vec![finding("/boot/vmlinuz-1.1-acme", Altered, &["size", "content"])])
    );
}

#[test]
fn output_not_understood_is_an_error_never_nothing_changed() {
    let deb = agent("1.0-1", "all");
    let rpm = agent("1.0-1", "noarch");
    for (kind, package, rc, stdout, stderr) in [
        (Apt, &deb, 2, "", "dpkg: error: unknown option --verify-format"),
        (Apt, &deb, 1, "", "dpkg: package 'acme-other' is not installed"),
        (Apt, &deb, 0, "??5??????   acme-agent\n", ""),
        (Apt, &deb, 0, "S.5??????   /usr/bin/acme-agent\n", ""),
        (Apt, &deb, 0, "??5?????? x /usr/bin/acme-agent\n", ""),
        (Apt, &deb, 0, "??5??????\n", ""),
        (Dnf, &rpm, 0, "S.5....T.    /usr/bin/acme-agent\n", ""),
        (Dnf, &rpm, 2, "", "error: rpmdb open failed"),
        (Dnf, &rpm, 1, "package acme-other-1.0-1.noarch is not installed\n", ""),
        (Dnf, &rpm, 1, "Unsatisfied dependencies for acme-agent-1.0-1.noarch:\n", ""),
        (Dnf, &rpm, 1, "S.5....X.    /usr/bin/acme-agent\n", ""),
        (Dnf, &rpm, 1, "S.5....T. /usr/bin/acme-agent\n", ""),
    ] {
        assert!(
            parse_verify_output(kind, package, rc, stdout, stderr).is_err(),
            "{kind:?} {rc} {stdout:?} {stderr:?}"
        );
    }
}

#[test]
fn ghost_files_and_unverifiable_files() {
    let rpm = agent("1.0-1", "noarch");
    let read = |stdout| parse_verify_output(Dnf, &rpm, 1, stdout, "").unwrap();
    assert_eq!(read("missing   g /var/log/acme-agent.log\n"), verified(vec![]));
    assert_eq!(
        read("..?......    /usr/bin/acme-agent\n"),
        verified(vec![finding("/usr/bin/acme-agent", Altered, &["content not readable"])])
    );
    assert_eq!(
        read("S.5....T.  d /usr/share/doc/acme-agent/README\n"),
        verified(vec![finding("/usr/share/doc/acme-agent/README", Altered, &["size", "content"])])
    );
}

#[test]
fn hostile_names_never_reach_the_argv() {
    for name in ["-acme", "acme;id", "a b", "--root=/tmp"] {
        assert!(verify_command(Apt, &PinnedPackage::new(name, "all", "1.0-1")).is_err(), "{name}");
        assert!(verify_command(Dnf, &PinnedPackage::new(name, "noarch", "1.0-1")).is_err());
    }
    assert!(verify_command(Dnf, &PinnedPackage::new("acme", "noarch", "--x")).is_err());
    assert!(verify_command(Apt, &PinnedPackage::new("acme", "-all", "1.0-1")).is_err());
}
