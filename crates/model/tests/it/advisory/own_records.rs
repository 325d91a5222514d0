//! The project's own records: every field the importer reads, every way a record goes bad, and
//! matching on hosts of each kind.

use model::advisory::{
    AdvisoryIndex, ExposureStatus, HostRelease, ParsedFile, osv::parse_osv,
    updateinfo::parse_updateinfo,
};
use model::{Classification, PackageManagerKind, Severity};

use super::{deb, os, own, parse_file, rpm};

fn all_own() -> ParsedFile {
    let mut all = ParsedFile::default();
    for name in
        ["DSA-9001-1.json", "UBUNTU-CVE-2026-20003.json", "ALSA-2026_9003.json", "updateinfo.xml"]
    {
        let parsed = parse_file(&own(name));
        assert!(
            parsed.skipped.is_empty() || name == "updateinfo.xml",
            "{name}: {:?}",
            parsed.skipped
        );
        assert!(parsed.warnings.is_empty(), "{name}: {:?}", parsed.warnings);
        all.advisories.extend(parsed.advisories);
    }
    all
}

#[test]
fn a_debian_record_gives_its_cves_aliases_and_highest_score() {
    let parsed = parse_file(&own("DSA-9001-1.json"));
    let [dsa] = &parsed.advisories[..] else { panic!("{parsed:?}") };
    assert_eq!(dsa.id, "DSA-9001-1");
    assert_eq!(dsa.cves, ["CVE-2026-20001", "CVE-2026-20002"]);
    assert_eq!(dsa.aliases, ["DEBIAN-CVE-2026-20001", "DEBIAN-CVE-2026-20002"]);
    assert_eq!(dsa.cvss.len(), 2);
    let highest = dsa.highest_cvss().unwrap();
    assert_eq!((highest.score, highest.vector.starts_with("CVSS:4.0/")), (9.3, true));
    assert_eq!(dsa.severity(), Some(Severity::Critical));
    assert_eq!(dsa.kind, Classification::Security);
    assert_eq!(dsa.affected.len(), 2);
    assert_eq!(dsa.affected[0].ecosystem.release, "12");
}

#[test]
fn an_ubuntu_record_gives_its_binaries_and_its_own_rating() {
    let parsed = parse_file(&own("UBUNTU-CVE-2026-20003.json"));
    let [record] = &parsed.advisories[..] else { panic!("{parsed:?}") };
    // The CVE is only in the id; the vector, listed twice, is kept once.
    assert_eq!(record.cves, ["CVE-2026-20003"]);
    assert_eq!(record.aliases, ["USN-9002-1"]);
    assert_eq!(record.cvss.len(), 1);
    assert_eq!(record.cvss[0].score, 6.6);
    assert_eq!(record.distribution_severity, Some(Severity::Moderate));
    assert_eq!(record.affected[0].binaries, ["example-utils", "libexample1"]);
    assert_eq!(record.affected[2].ranges[0].fixed, None);
}

#[test]
fn an_almalinux_record_takes_its_severity_from_the_summary() {
    let parsed = parse_file(&own("ALSA-2026_9003.json"));
    let [alsa] = &parsed.advisories[..] else { panic!("{parsed:?}") };
    assert_eq!(alsa.cves, ["CVE-2026-20004"]);
    assert!(alsa.cvss.is_empty());
    assert_eq!(alsa.severity(), Some(Severity::Important));
}

#[test]
fn updateinfo_gives_one_advisory_per_update_with_one_entry_per_package() {
    let parsed = parse_file(&own("updateinfo.xml"));
    let ids: Vec<_> = parsed.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["EXSA-2026:0101", "EXBA-2026:0102"]);
    let security = &parsed.advisories[0];
    assert_eq!(security.kind, Classification::Security);
    assert_eq!(security.cves, ["CVE-2026-20006", "CVE-2026-20007"]);
    assert_eq!(security.aliases, ["RHSA-2026:0101"]);
    assert_eq!(security.severity(), Some(Severity::Important));
    let packages: Vec<_> = security.affected.iter().map(|a| a.package.as_str()).collect();
    assert_eq!(packages, ["examplesh", "examplesh-doc"]);
    assert_eq!(security.affected[0].ranges[0].fixed.as_deref(), Some("1:3.1.2-4.el9_4"));
    let bugfix = &parsed.advisories[1];
    assert_eq!((bugfix.kind, bugfix.severity()), (Classification::Bugfix, None));
    let [skipped] = &parsed.skipped[..] else { panic!("{:?}", parsed.skipped) };
    assert_eq!(skipped.record, "EXSA-2026:0103");
    assert!(skipped.reason.contains("lists no package"), "{}", skipped.reason);
}

#[test]
fn bad_records_are_skipped_or_trimmed_with_a_reason_naming_file_and_record() {
    let parsed = parse_file(&own("bad-records.json"));
    let imported: Vec<_> = parsed.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(imported, ["DSA-9004-1"]);
    let kept: Vec<_> = parsed.advisories[0].affected.iter().map(|a| a.package.as_str()).collect();
    assert_eq!(kept, ["goodpkg"]);
    let skipped: Vec<_> =
        parsed.skipped.iter().map(|s| (s.file.as_str(), s.record.as_str())).collect();
    assert_eq!(
        skipped,
        [
            ("bad-records.json", "PYSEC-2026-1"),
            ("bad-records.json", "record #3"),
            ("bad-records.json", "DSA-9005-1"),
            ("bad-records.json", "DSA-9006-1"),
        ]
    );
    assert!(parsed.skipped[0].reason.contains("no affected entry could be used"));
    assert!(parsed.skipped[1].reason.contains("no \"id\""));
    assert!(parsed.skipped[2].reason.contains("withdrawn"));
    let messages: Vec<_> =
        parsed.warnings.iter().map(|w| (w.record.as_str(), w.message.as_str())).collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(messages[0].1.contains("\"PyPI\" is not a Linux distribution"), "{messages:?}");
    assert!(
        messages[1].1.contains("absurdpkg: range ends at \"2.0-1\", not after it starts"),
        "{messages:?}"
    );
    assert!(messages[2].1.contains("\"Debian:sid\" has a release \"sid\""), "{messages:?}");
    assert_eq!(
        messages[3],
        (
            "DSA-9006-1",
            "affected #1: Debian:12 x: \"1.0\" ends a range that no \"introduced\" opened"
        )
    );
    assert_eq!(
        parsed.skipped[3].reason,
        "no affected entry could be used (see the warnings for each): nothing to match"
    );

    for (name, reason) in
        [("truncated.json", "not valid JSON"), ("truncated.xml", "not well-formed XML")]
    {
        let parsed = parse_file(&own(name));
        assert!(parsed.advisories.is_empty());
        let [skipped] = &parsed.skipped[..] else { panic!("{parsed:?}") };
        assert_eq!(skipped.file, name);
        assert!(skipped.reason.contains(reason), "{}", skipped.reason);
    }
    // Not a record at all, and hostile shapes: skipped, never a panic.
    for text in ["42", "null", "[[]]", "{\"id\": 7}", "{\"id\": \"X\", \"affected\": {}}", "\u{0}"]
    {
        let parsed = parse_osv("odd.json", text.as_bytes());
        assert!(parsed.advisories.is_empty() && !parsed.skipped.is_empty(), "{text}: {parsed:?}");
    }
}

/// A record repeating its vectors in every `affected` entry, or listing each package for many
/// architectures, keeps each vector and package once, at a cost linear in what it lists.
#[test]
fn repeated_vectors_and_packages_are_kept_once() {
    // 4 × 3 × 3 × 3 × 3 = 324 distinct CVSS v3.1 vectors, each in the record and in every entry.
    let mut severity = Vec::new();
    for av in ["N", "A", "L", "P"] {
        for pr in ["N", "L", "H"] {
            for c in ["N", "L", "H"] {
                for i in ["N", "L", "H"] {
                    for a in ["N", "L", "H"] {
                        let vector =
                            format!("CVSS:3.1/AV:{av}/AC:L/PR:{pr}/UI:N/S:U/C:{c}/I:{i}/A:{a}");
                        severity.push(serde_json::json!({"type": "CVSS_V3", "score": vector}));
                    }
                }
            }
        }
    }
    let entry = serde_json::json!({
        "package": {"name": "x", "ecosystem": "Debian:12"},
        "severity": severity,
        "versions": ["1.0-1"],
    });
    let record = serde_json::json!({
        "id": "DSA-1-1",
        "severity": severity,
        "affected": vec![entry; 20],
    });
    let parsed = parse_osv("repeated.json", record.to_string().as_bytes());
    let [advisory] = &parsed.advisories[..] else { panic!("{:?}", parsed.skipped) };
    assert_eq!(advisory.cvss.len(), severity.len());

    let packages: String = (0..5_000)
        .flat_map(|n| {
            ["x86_64", "aarch64", "noarch"].map(|arch| {
                format!("<package name=\"p{n}\" version=\"1.0\" release=\"1\" arch=\"{arch}\"/>")
            })
        })
        .collect();
    let text = format!(
        "<updates><update type=\"security\"><id>X-1</id><pkglist><collection>{packages}</collection></pkglist></update></updates>"
    );
    let parsed = parse_updateinfo("repeated.xml", &text);
    let [advisory] = &parsed.advisories[..] else { panic!("{:?}", parsed.skipped) };
    assert_eq!(advisory.affected.len(), 5_000);
}

/// A hostile updateinfo (a compromised mirror) is one skipped file with the reason, never a
/// stack overflow inside the XML parser.
#[test]
fn updateinfo_nested_too_deep_is_refused_before_it_is_parsed() {
    let deep = |depth: usize| format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let cases = [
        (deep(100_000), "elements nested more than 64 deep at line 1"),
        (
            format!("<updates>\n{}</updates>", deep(64)),
            "elements nested more than 64 deep at line 2",
        ),
        (deep(64), "the root element is <a>, not <updates>"),
        ("<!DOCTYPE updates [<!ENTITY a \"b\">]><updates/>".to_owned(), "not well-formed XML"),
    ];
    for (text, reason) in cases {
        let parsed = parse_updateinfo("hostile.xml", &text);
        assert!(parsed.advisories.is_empty());
        let [skipped] = &parsed.skipped[..] else { panic!("{parsed:?}") };
        assert_eq!((skipped.file.as_str(), skipped.record.as_str()), ("hostile.xml", "(file)"));
        assert!(skipped.reason.starts_with(reason), "{reason}: {}", skipped.reason);
    }
    // A real file still parses, every update of it.
    let parsed = parse_file(&own("updateinfo.xml"));
    assert!(!parsed.advisories.is_empty(), "{parsed:?}");
}

#[test]
fn a_debian_host_is_affected_through_its_source_package_then_fixed() {
    let index = AdvisoryIndex::new(all_own().advisories);
    let bookworm = HostRelease::of(&os("debian", "12"), PackageManagerKind::Apt);
    // The binary package is named apart from its source and was rebuilt on its own (+b1).
    let before = [
        deb("libexampled3", "2.4.1-1+b1", "exampled", "2.4.1-1"),
        deb("bash", "5.2.15-2+b2", "bash", "5.2.15-2"),
    ];
    let exposures = index.match_host(&bookworm, &before);
    let [exposure] = &exposures[..] else { panic!("{exposures:?}") };
    assert_eq!(index.advisory(exposure.advisory).id, "DSA-9001-1");
    assert_eq!(exposure.status, ExposureStatus::Affected);
    assert_eq!(exposure.package, "libexampled3");
    assert_eq!(exposure.fixed_version.as_deref(), Some("2.4.1-1+deb12u1"));

    let after = [deb("libexampled3", "2.4.1-1+deb12u1", "exampled", "2.4.1-1+deb12u1")];
    let exposures = index.match_host(&bookworm, &after);
    assert_eq!(exposures.iter().map(|e| e.status).collect::<Vec<_>>(), [ExposureStatus::Fixed]);

    // Debian 11's range does not apply to a Debian 12 host, nor Debian's to Ubuntu.
    let bullseye = HostRelease::of(&os("debian", "11"), PackageManagerKind::Apt);
    let exposures = index.match_host(&bullseye, &after);
    assert_eq!(
        exposures[0].status,
        ExposureStatus::Fixed,
        "2.4.1 is past bullseye's fix 2.2.0-5+deb11u3"
    );
    let jammy = HostRelease::of(&os("ubuntu", "22.04"), PackageManagerKind::Apt);
    assert!(index.match_host(&jammy, &before).is_empty());
}

#[test]
fn an_ubuntu_host_is_matched_by_binary_names_and_its_pro_stream() {
    let index = AdvisoryIndex::new(all_own().advisories);
    // Reported without a source: the record's binary list still finds it.
    let focal = HostRelease::of(&os("ubuntu", "20.04"), PackageManagerKind::Apt);
    let mut unsourced = deb("libexample1", "1:1.8.0-1", "", "");
    unsourced.source = None;
    unsourced.source_version = None;
    let exposures = index.match_host(&focal, &[unsourced]);
    assert_eq!(exposures.len(), 1);
    assert_eq!(exposures[0].fixed_version.as_deref(), Some("1:1.8.0-1ubuntu0.1~esm1"));
    // Unfixed on noble: affected, with no fixed version to offer.
    let noble = HostRelease::of(&os("ubuntu", "24.04"), PackageManagerKind::Apt);
    let exposures =
        index.match_host(&noble, &[deb("libexample2", "1:2.2.0-1", "libexample", "1:2.2.0-1")]);
    assert_eq!(
        (exposures[0].status, exposures[0].fixed_version.clone()),
        (ExposureStatus::Affected, None)
    );
}

#[test]
fn rpm_hosts_are_matched_by_their_release_and_their_repositories_updateinfo() {
    let index = AdvisoryIndex::new(all_own().advisories);
    let alma = HostRelease::of(&os("almalinux", "9.4"), PackageManagerKind::Dnf);
    let exposures = index
        .match_host(&alma, &[rpm("examplesh", "1:3.1.2-3.el9"), rpm("exampletool", "0.9-1.el9")]);
    let found: Vec<_> = exposures
        .iter()
        .map(|e| (index.advisory(e.advisory).id.as_str(), e.package.as_str(), e.status))
        .collect();
    assert_eq!(
        found,
        [
            ("ALSA-2026:9003", "examplesh", ExposureStatus::Affected),
            ("EXSA-2026:0101", "examplesh", ExposureStatus::Affected),
            ("EXBA-2026:0102", "exampletool", ExposureStatus::Affected),
        ]
    );
    assert!(!index.is_security(exposures[2].advisory));
    // A Rocky host only gets the repository's updateinfo, not AlmaLinux's records.
    let rocky = HostRelease::of(&os("rocky", "9.4"), PackageManagerKind::Dnf);
    let exposures = index.match_host(&rocky, &[rpm("examplesh", "1:3.1.2-4.el9_4")]);
    assert_eq!(exposures.len(), 1);
    assert_eq!(
        (index.advisory(exposures[0].advisory).id.as_str(), exposures[0].status),
        ("EXSA-2026:0101", ExposureStatus::Fixed)
    );
}

#[test]
fn of_several_installed_versions_the_newest_decides() {
    let index = AdvisoryIndex::new(all_own().advisories);
    let alma = HostRelease::of(&os("almalinux", "9.4"), PackageManagerKind::Dnf);
    // An installonly package: the old version stays installed beside the fixed one.
    let both = [rpm("examplesh", "1:3.1.2-3.el9"), rpm("examplesh", "1:3.1.2-4.el9_4")];
    let exposures = index.match_host(&alma, &both);
    assert_eq!(exposures.len(), 2, "{exposures:?}");
    assert!(
        exposures
            .iter()
            .all(|e| e.status == ExposureStatus::Fixed && e.installed_version == "1:3.1.2-4.el9_4"),
        "{exposures:?}"
    );
}
