//! The scenario's packages and repositories, built for real (dpkg-deb, rpmbuild, apt-ftparchive,
//! createrepo_c) into a fresh cache directory, then inspected with the same tools.

use std::path::Path;
use std::time::Instant;

use fleet::scenario::{self, Version};
use model::PackageManagerKind;

use crate::support::{command, integration_enabled};

#[test]
fn scenario_builds_once_into_two_repositories() {
    if !integration_enabled("scenario_builds_once_into_two_repositories") {
        return;
    }
    let cache = std::env::temp_dir().join(format!("patchctl-it-scenario-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(&cache);

    let started = Instant::now();
    let built = scenario::build(&cache).unwrap();
    let cold = started.elapsed();
    let started = Instant::now();
    let again = scenario::build(&cache).unwrap();
    let cached = started.elapsed();
    eprintln!("scenario build: cold {cold:.2?}, cached {cached:.2?}");
    assert_eq!(built.root, again.root);
    assert_eq!(built.root, cache.join(format!("scenario-{}", built.hash)));
    assert!(cached.as_millis() < 100, "the second build must reuse the first ({cached:?})");
    let entries: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with(".scenario.lock"))
        .collect();
    assert_eq!(entries, [format!("scenario-{}", built.hash)], "no temporary directory left");
    for artifact in &built.artifacts {
        assert!(artifact.path.is_file(), "{}", artifact.path.display());
    }

    // apt: each suite's Release names it, its index lists exactly the versions it should.
    let apt = built.root.join("apt");
    for (suite, label) in [
        (scenario::REGULAR_SUITE, scenario::REGULAR_LABEL),
        (scenario::SECURITY_SUITE, scenario::SECURITY_LABEL),
    ] {
        let release = read(&apt.join(format!("dists/{suite}/Release")));
        for field in [
            "Origin: Acme".to_owned(),
            format!("Label: {label}"),
            format!("Suite: {suite}"),
            format!("Codename: {suite}"),
            "Version: 12".to_owned(),
            "Architectures: amd64".to_owned(),
            "Components: main".to_owned(),
        ] {
            assert!(release.lines().any(|line| line == field), "{suite}: no {field:?}:\n{release}");
        }
        assert!(release.contains("main/binary-amd64/Packages.gz"), "{release}");
        let index = read(&apt.join(format!("dists/{suite}/main/binary-amd64/Packages")));
        let mut listed: Vec<String> = index
            .split("\n\n")
            .filter(|stanza| !stanza.trim().is_empty())
            .map(|stanza| format!("{} {}", field(stanza, "Package"), field(stanza, "Version")))
            .collect();
        listed.sort();
        // Every package published, those the images leave out too.
        let mut expected: Vec<String> = scenario::published_packages()
            .flat_map(|spec| Version::BOTH.map(|version| (spec, version)))
            .filter(|(spec, version)| spec.suite(*version) == suite)
            .map(|(spec, version)| format!("{} {}", spec.name, version.full()))
            .collect();
        expected.sort();
        assert_eq!(listed, expected, "{suite}");
    }
    let kernel_deb = built.artifact(PackageManagerKind::Apt, "acme-kernel", Version::New).unwrap();
    let section = command("dpkg-deb", &["-f", kernel_deb.path.to_str().unwrap(), "Section"]);
    assert_eq!(section.stdout.trim(), "kernel");

    // dnf: the repository metadata carries the updateinfo; the kernel-like RPM is installonly.
    let repomd = read(&built.root.join("rpm/repodata/repomd.xml"));
    assert!(repomd.contains("<data type=\"updateinfo\">"), "{repomd}");
    let kernel_rpm = built.artifact(PackageManagerKind::Dnf, "acme-kernel", Version::New).unwrap();
    let dbpath = format!("_dbpath {}", cache.join("rpmdb").display());
    let provides = command(
        "rpm",
        &["--define", &dbpath, "-qp", "--provides", kernel_rpm.path.to_str().unwrap()],
    );
    assert!(provides.stdout.contains("installonlypkg(kernel)"), "{}", provides.both());
    let files = command("rpm", &["--define", &dbpath, "-qpl", kernel_rpm.path.to_str().unwrap()]);
    assert_eq!(
        files.stdout,
        "/boot/vmlinuz-1.1-acme\n/etc/dnf/plugins/needs-restarting.d/acme-kernel.conf\n"
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn field<'a>(stanza: &'a str, name: &str) -> &'a str {
    stanza
        .lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
        .unwrap_or_else(|| panic!("no {name} in {stanza}"))
}

struct RemoveOnDrop<'a>(&'a Path);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0);
    }
}
