//! Every real record in `../shared/data/advisories` (beside the repository; SOURCES.md there
//! says where each comes from), read in place: each imports, or is skipped for the right
//! reason; and hosts with affected versions get exactly the expected CVEs, then none once the
//! fixed versions are installed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use model::advisory::{Advisory, AdvisoryIndex, ExposureStatus, HostRelease};
use model::{InstalledPackage, PackageManagerKind, Severity};

use super::{deb, os, parse_file, rpm};

fn real_data() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/advisories");
    assert!(
        path.join("SOURCES.md").is_file(),
        "the real records are expected at {}",
        path.display()
    );
    path
}

fn files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in ["osv", "updateinfo"] {
        for entry in std::fs::read_dir(real_data().join(folder)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    files
}

fn all_real() -> Vec<Advisory> {
    files().iter().flat_map(|file| parse_file(file).advisories).collect()
}

#[test]
fn every_real_record_imports_or_is_skipped_for_the_right_reason() {
    let mut imported = BTreeSet::new();
    let mut skipped = Vec::new();
    let mut warnings = Vec::new();
    for file in files() {
        let parsed = parse_file(&file);
        imported.extend(parsed.advisories.into_iter().map(|a| a.id));
        skipped.extend(parsed.skipped);
        warnings.extend(parsed.warnings);
    }
    // 25 OSV records, one of which has no `affected`, and 4 + 1 + 2 updateinfo entries, one of
    // which lists only the packages of a module stream (ruby:2.6), which dnf applies only
    // where that stream is enabled.
    assert_eq!(imported.len(), 24 + 6, "{imported:?}");
    let [skip, modular] = &skipped[..] else { panic!("{skipped:#?}") };
    assert_eq!(
        (skip.file.as_str(), skip.record.as_str()),
        ("RHSA-2022_0216.json", "RHSA-2022:0216")
    );
    assert!(skip.reason.contains("names no affected package"), "{}", skip.reason);
    assert_eq!(
        (modular.file.as_str(), modular.record.as_str()),
        ("rocky8-updateinfo.xml", "RLSA-2019:1972")
    );
    assert!(modular.reason.contains("modules (ruby:2.6)"), "{}", modular.reason);
    assert!(warnings.is_empty(), "{warnings:#?}");
    for id in [
        "DSA-3029-1",
        "USN-7095-1",
        "UBUNTU-CVE-2016-20013",
        "RHSA-2024:6220",
        "RLSA-2021:2575",
        "ALAS2-2018-942",
        "ALAS2023-2023-001",
    ] {
        assert!(imported.contains(id), "{id} missing from {imported:?}");
    }
}

#[test]
fn real_records_give_their_cves_and_scores() {
    let advisories = all_real();
    let find = |id: &str| advisories.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id}"));
    assert_eq!(find("DLA-3022-1").cves, ["CVE-2022-1664"]);
    assert_eq!(find("DSA-3029-1").cves, ["CVE-2014-3616"]);
    assert_eq!(find("USN-5614-1").cves, ["CVE-2021-3782"]);
    assert_eq!(find("UBUNTU-CVE-2024-51988").cves, ["CVE-2024-51988"]);
    assert_eq!(find("ALSA-2024:0310").cves, ["CVE-2023-5363"]);
    assert_eq!(find("RLSA-2024:8121").cves.len(), 5);
    assert_eq!(find("ALAS2-2018-949").cves.len(), 15);
    assert_eq!(find("RLSA-2021:3057").cves.len(), 3);
    assert_eq!(find("USN-7095-1").cves.len(), 196);
    // Scores as NVD gives them for these vectors.
    assert_eq!(find("UBUNTU-CVE-2024-51988").highest_cvss().unwrap().score, 6.5);
    assert_eq!(find("UBUNTU-CVE-2021-3782").highest_cvss().unwrap().score, 6.6);
    assert_eq!(find("RHSA-2024:4546").highest_cvss().unwrap().score, 7.5);
    assert_eq!(find("RLSA-2021:3891").highest_cvss().unwrap().score, 6.8);
    assert_eq!(find("RHSA-2024:8709").highest_cvss().unwrap().score, 4.4);
    assert_eq!(find("RLSA-2021:3891").severity(), Some(Severity::Moderate));
    assert_eq!(find("RHSA-2024:6220").severity(), Some(Severity::Important));
    assert_eq!(find("ALSA-2024:5363").severity(), Some(Severity::Important));
    assert_eq!(find("ALSA-2024:0310").severity(), Some(Severity::Moderate));
    // The highest CVSS score decides over the distribution's word: Rocky calls it Important.
    assert_eq!(find("RLSA-2021:3891").distribution_severity, Some(Severity::Important));
    assert_eq!(find("ALAS2023-2023-001").severity(), Some(Severity::Important));
    assert_eq!(find("RLBA-2021:2580").severity(), None);
}

/// Ubuntu's USN records carry no CVSS; its CVE records do. Filed together, a USN is scored from
/// the CVE records it names; without them, as DSA-3029-1 and USN-7095-1 here, it keeps its
/// distribution's rating (none for these two).
#[test]
fn an_advisory_without_cvss_is_scored_from_its_cve_records() {
    let advisories = all_real();
    let find = |id: &str| advisories.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id}"));
    assert!(find("USN-5614-1").cvss.is_empty());
    assert!(find("USN-5614-1").aliases.contains(&"UBUNTU-CVE-2021-3782".to_owned()));
    let index = AdvisoryIndex::new(advisories.clone());
    let filed = |id: &str| index.advisories().iter().find(|a| a.id == id).unwrap();
    let usn = filed("USN-5614-1");
    assert_eq!(usn.highest_cvss(), find("UBUNTU-CVE-2021-3782").highest_cvss());
    assert_eq!(usn.highest_cvss().unwrap().score, 6.6);
    assert_eq!(usn.severity(), Some(Severity::Moderate));
    for alone in ["DSA-3029-1", "USN-7095-1"] {
        assert!(filed(alone).cvss.is_empty(), "{alone}");
        assert_eq!(filed(alone).severity(), find(alone).distribution_severity, "{alone}");
    }
    // Records with scores of their own keep them.
    assert_eq!(filed("RHSA-2024:4546").cvss, find("RHSA-2024:4546").cvss);
    // Without the CVE record, the USN is not scored.
    let without: Vec<Advisory> =
        advisories.into_iter().filter(|a| a.id != "UBUNTU-CVE-2021-3782").collect();
    let index = AdvisoryIndex::new(without);
    assert!(index.advisories().iter().find(|a| a.id == "USN-5614-1").unwrap().cvss.is_empty());
}

fn cves_of(
    index: &AdvisoryIndex,
    host: &HostRelease,
    installed: &[InstalledPackage],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut affected = BTreeSet::new();
    let mut fixed = BTreeSet::new();
    for exposure in index.match_host(host, installed) {
        let cves = index.advisory(exposure.advisory).cves.iter().cloned();
        match exposure.status {
            ExposureStatus::Affected => affected.extend(cves),
            ExposureStatus::Fixed => fixed.extend(cves),
            ExposureStatus::Undecided => panic!("{exposure:?}"),
        }
    }
    (affected, fixed)
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

#[test]
fn a_rocky_8_host_lists_exactly_the_expected_cves_then_none() {
    let index = AdvisoryIndex::new(all_real());
    let host = HostRelease::of(&os("rocky", "8.4"), PackageManagerKind::Dnf);
    // java-11-openjdk of Rocky 8.4 (before RLSA-2021:3891) and lz4 before RLSA-2021:2575.
    let before = [
        rpm("java-11-openjdk", "1:11.0.12.0.7-0.el8_4"),
        rpm("lz4", "1.8.3-2.el8"),
        rpm("bash", "4.4.20-1.el8_4"),
    ];
    let (affected, fixed) = cves_of(&index, &host, &before);
    let java_2021 =
        index.advisories().iter().find(|a| a.id == "RLSA-2021:3891").unwrap().cves.clone();
    let java_2024 =
        index.advisories().iter().find(|a| a.id == "RLSA-2024:8121").unwrap().cves.clone();
    let mut expected: BTreeSet<String> = java_2021.iter().chain(&java_2024).cloned().collect();
    expected.insert("CVE-2021-3520".into());
    assert_eq!(affected, expected);
    assert!(fixed.is_empty());

    let after = [
        rpm("java-11-openjdk", "1:11.0.25.0.9-2.el8"),
        rpm("lz4", "1.8.3-3.el8_4"),
        rpm("bash", "4.4.20-1.el8_4"),
    ];
    let (affected, fixed) = cves_of(&index, &host, &after);
    assert!(affected.is_empty(), "{affected:?}");
    assert_eq!(fixed, expected);
    // The Rocky 9 entry of RLSA-2024:8121 does not apply to Rocky 8, nor the Alma records.
    let alma = HostRelease::of(&os("almalinux", "9.3"), PackageManagerKind::Dnf);
    let (affected, _) = cves_of(
        &index,
        &alma,
        &[rpm("openssl", "1:3.0.7-24.el9"), rpm("java-11-openjdk", "1:11.0.12.0.7-0.el8_4")],
    );
    assert_eq!(affected, set(&["CVE-2023-5363"]));
}

#[test]
fn ubuntu_and_debian_hosts_through_their_source_packages() {
    let index = AdvisoryIndex::new(all_real());
    let jammy = HostRelease::of(&os("ubuntu", "22.04"), PackageManagerKind::Apt);
    let before = [
        deb("libwayland-client0", "1.20.0-1", "wayland", "1.20.0-1"),
        deb("rabbitmq-server", "3.9.13-1", "rabbitmq-server", "3.9.13-1"),
    ];
    let (affected, fixed) = cves_of(&index, &jammy, &before);
    assert_eq!(affected, set(&["CVE-2021-3782", "CVE-2024-51988"]));
    assert!(fixed.is_empty());
    let after = [
        deb("libwayland-client0", "1.20.0-1ubuntu0.1", "wayland", "1.20.0-1ubuntu0.1"),
        deb("rabbitmq-server", "3.9.27-0ubuntu0.1", "rabbitmq-server", "3.9.27-0ubuntu0.1"),
    ];
    let (affected, fixed) = cves_of(&index, &jammy, &after);
    assert!(affected.is_empty(), "{affected:?}");
    assert_eq!(fixed, set(&["CVE-2021-3782", "CVE-2024-51988"]));

    // Debian 9: libssl1.1 is built from openssl; dpkg's binary from dpkg.
    let stretch = HostRelease::of(&os("debian", "9"), PackageManagerKind::Apt);
    let before = [
        deb("libssl1.1", "1.1.0l-1~deb9u5", "openssl", "1.1.0l-1~deb9u5"),
        deb("dpkg", "1.18.25", "dpkg", "1.18.25"),
    ];
    let (affected, _) = cves_of(&index, &stretch, &before);
    assert_eq!(affected, set(&["CVE-2022-1292", "CVE-2022-1664"]));
}
