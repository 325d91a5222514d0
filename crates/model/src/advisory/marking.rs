//! How a host's latest assessment is marked against the advisories, without I/O: which
//! pending updates fix which advisories (`annotate_assessment`), what the host is exposed to
//! (`exposed_findings`, for `patchctl cves` and the emergency track), and its verdict for one
//! CVE (`cve_findings`, `CveVerdict::of`, for `patchctl cve`). The shell (`ops::advisories`)
//! reads the assessments and the index from the store and calls these.
//!
//! A version that cannot be compared fixes nothing (`reaches`): never claimed fixed on a guess.

use std::cmp::Ordering;

use super::{AdvisoryIndex, Exposure, ExposureStatus, Finding, FindingSource, HostRelease};
use crate::version;
use crate::{Assessment, Classification};

/// Marks each pending update with the advisories it fixes: those the installed version is
/// affected by and whose fixed version the candidate reaches. Their ids and CVEs are added to
/// what the package manager said; an update fixing a security advisory becomes a security
/// update (so `plan create --security-only` takes it), with the advisory's severity when the
/// package manager gave none.
pub fn annotate_assessment(index: &AdvisoryIndex, assessment: &mut Assessment) {
    if index.is_empty() {
        return;
    }
    let host = HostRelease::of(&assessment.os, assessment.package_manager);
    for exposure in index.exposures(&host, &assessment.installed) {
        if exposure.status != ExposureStatus::Affected {
            continue;
        }
        let Some(fixed) = &exposure.fixed_version else { continue };
        let advisory = index.advisory(exposure.advisory);
        for update in assessment.updates.iter_mut().filter(|u| u.name == exposure.package) {
            if !reaches(host.scheme, &update.candidate_version, fixed) {
                continue;
            }
            if !update.advisories.contains(&advisory.id) {
                update.advisories.push(advisory.id.clone());
            }
            for cve in &advisory.cves {
                if !update.cves.contains(cve) {
                    update.cves.push(cve.clone());
                }
            }
            if index.is_security(exposure.advisory) {
                update.classification = Classification::Security;
                if let Some(severity) = advisory.severity() {
                    update.severity =
                        Some(update.severity.map_or(severity, |known| known.max(severity)));
                }
            }
        }
    }
    for update in &mut assessment.updates {
        update.advisories.sort();
        update.cves.sort();
    }
}

/// What an assessed host is exposed to: the security advisories whose status is affected or
/// undecided (a verdict that could not be reached is shown, not hidden), then what its
/// repositories' updateinfo says that the imported advisories do not.
pub fn exposed_findings(index: &AdvisoryIndex, assessment: &Assessment) -> Vec<Finding> {
    let release = HostRelease::of(&assessment.os, assessment.package_manager);
    // Bug fix and enhancement advisories (updateinfo) expose nothing.
    let mut findings: Vec<Finding> = index
        .exposures(&release, &assessment.installed)
        .into_iter()
        .filter(|e| index.is_security(e.advisory))
        .map(|e| finding(index, assessment, release.scheme, e))
        .collect();
    let from_repositories = repository_findings(assessment, release.scheme, &findings);
    findings.extend(from_repositories);
    findings
}

/// Every finding of the index's advisories (those of one CVE) on an assessed host, whatever
/// their status.
pub fn cve_findings(index: &AdvisoryIndex, assessment: &Assessment) -> Vec<Finding> {
    let release = HostRelease::of(&assessment.os, assessment.package_manager);
    index
        .match_host(&release, &assessment.installed)
        .into_iter()
        .map(|e| finding(index, assessment, release.scheme, e))
        .collect()
}

/// One host's verdict for one CVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CveVerdict {
    Affected,
    /// No verdict: a version could not be compared.
    Undecided,
    Fixed,
    /// No installed package is named by an advisory of the CVE for the host's release.
    NotApplicable,
    NotAssessed,
    AssessmentFailed,
}

impl CveVerdict {
    /// The verdict of an assessed host from its findings for the CVE: affected by any, else
    /// undecided on any, else fixed by any, else not applicable.
    pub fn of(findings: &[Finding]) -> CveVerdict {
        let has = |status| findings.iter().any(|f| f.status == status);
        if has(ExposureStatus::Affected) {
            CveVerdict::Affected
        } else if has(ExposureStatus::Undecided) {
            CveVerdict::Undecided
        } else if has(ExposureStatus::Fixed) {
            CveVerdict::Fixed
        } else {
            CveVerdict::NotApplicable
        }
    }
}

fn finding(
    index: &AdvisoryIndex,
    assessment: &Assessment,
    scheme: version::Scheme,
    exposure: Exposure,
) -> Finding {
    let advisory = index.advisory(exposure.advisory);
    let highest = advisory.highest_cvss();
    let update = exposure.fixed_version.as_deref().and_then(|fixed| {
        assessment
            .updates
            .iter()
            .find(|u| u.name == exposure.package && reaches(scheme, &u.candidate_version, fixed))
            .map(|u| u.candidate_version.clone())
    });
    Finding {
        advisory: advisory.id.clone(),
        cves: advisory.cves.clone(),
        severity: advisory.severity(),
        cvss_score: highest.map(|s| s.score),
        cvss_vector: highest.map(|s| s.vector.clone()),
        package: exposure.package,
        installed_version: exposure.installed_version,
        status: exposure.status,
        fixed_version: exposure.fixed_version,
        update,
        reason: exposure.reason,
        source: FindingSource::Imported,
    }
}

/// The findings a host's pending security updates carry from its repositories' updateinfo,
/// less what the imported advisories already found for the same package: an update's advisory
/// ids and CVEs, affected at the installed version and fixed by the candidate.
fn repository_findings(
    assessment: &Assessment,
    scheme: version::Scheme,
    imported: &[Finding],
) -> Vec<Finding> {
    let mut out = Vec::new();
    for update in &assessment.updates {
        if update.classification != Classification::Security
            || (update.advisories.is_empty() && update.cves.is_empty())
        {
            continue;
        }
        let known = imported.iter().filter(|f| f.package == update.name);
        let known_ids: Vec<&str> = known
            .clone()
            .flat_map(|f| {
                std::iter::once(f.advisory.as_str()).chain(f.cves.iter().map(String::as_str))
            })
            .collect();
        let advisories: Vec<String> = update
            .advisories
            .iter()
            .filter(|a| !known_ids.contains(&a.as_str()))
            .cloned()
            .collect();
        let cves: Vec<String> =
            update.cves.iter().filter(|c| !known_ids.contains(&c.as_str())).cloned().collect();
        if advisories.is_empty() && cves.is_empty() {
            continue;
        }
        // An installonly kernel's update is a new install; the newest installed one is exposed.
        let installed = update.installed_version.clone().or_else(|| {
            assessment
                .installed
                .iter()
                .filter(|p| p.name == update.name)
                .map(|p| p.version.clone())
                .max_by(|a, b| version::compare(scheme, a, b).unwrap_or(std::cmp::Ordering::Equal))
        });
        let Some(installed_version) = installed else { continue };
        out.push(Finding {
            advisory: if advisories.is_empty() {
                update.advisories.join(", ")
            } else {
                advisories.join(", ")
            },
            cves,
            severity: update.severity,
            cvss_score: None,
            cvss_vector: None,
            package: update.name.clone(),
            installed_version,
            status: ExposureStatus::Affected,
            fixed_version: Some(update.candidate_version.clone()),
            update: Some(update.candidate_version.clone()),
            reason: None,
            source: FindingSource::Repository,
        });
    }
    out
}

/// True when `candidate` is at or past `fixed` in the host's version order. A version that
/// cannot be compared fixes nothing: never claimed fixed on a guess.
pub fn reaches(scheme: version::Scheme, candidate: &str, fixed: &str) -> bool {
    matches!(version::compare(scheme, candidate, fixed), Ok(Ordering::Greater | Ordering::Equal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::osv::parse_osv;
    use crate::{
        DiskSpace, Health, InstalledPackage, OsRelease, PackageManagerKind, PendingUpdate,
        RebootStatus, Severity, UpdateAction,
    };

    /// A Debian 12 advisory on source package `acme`, fixed in 1.2-1, scored 9.8 (CVSS 3.1).
    const ACME: &str = r#"{
        "id": "DSA-1",
        "aliases": ["CVE-2026-10001"],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"name": "acme", "ecosystem": "Debian:12"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2-1"}]}]
        }]
    }"#;

    fn index() -> AdvisoryIndex {
        let parsed = parse_osv("DSA-1.json", ACME.as_bytes());
        assert!(parsed.skipped.is_empty() && parsed.warnings.is_empty(), "{parsed:?}");
        AdvisoryIndex::new(parsed.advisories)
    }

    fn installed(name: &str, version: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            arch: "amd64".into(),
            version: version.into(),
            source: Some("acme".into()),
            source_version: Some(version.into()),
        }
    }

    fn update(name: &str, from: &str, to: &str) -> PendingUpdate {
        PendingUpdate {
            name: name.into(),
            arch: "amd64".into(),
            installed_version: Some(from.into()),
            candidate_version: to.into(),
            origins: vec![],
            action: UpdateAction::Upgrade,
            classification: Classification::Bugfix,
            severity: None,
            kernel: false,
            advisories: vec![],
            cves: vec![],
            kept_back: false,
        }
    }

    fn assessment(installed: Vec<InstalledPackage>, updates: Vec<PendingUpdate>) -> Assessment {
        Assessment {
            lists_refreshed: Default::default(),
            host: "deb1".into(),
            taken_at_unix: 1_000_000,
            os: OsRelease { id: "debian".into(), version_id: "12".into(), ..OsRelease::default() },
            package_manager: PackageManagerKind::Apt,
            running_kernel: "6.1.0-25-amd64".into(),
            installed_kernels: vec![],
            boot_id: "b".into(),
            installed,
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

    #[test]
    fn a_version_reaches_the_fix_at_or_past_it() {
        use version::Scheme::Deb;
        // (candidate, fixed) -> reaches
        let cases = [
            ("1.2-1", "1.2-1", true),
            ("1.2-2", "1.2-1", true),
            ("1:1.0-1", "1.2-1", true), // an epoch outranks the rest
            ("1.2~rc1-1", "1.2-1", false),
            ("1.1-9", "1.2-1", false),
            ("", "1.2-1", false), // not comparable: never claimed fixed
        ];
        for (candidate, fixed, expected) in cases {
            assert_eq!(reaches(Deb, candidate, fixed), expected, "{candidate} vs {fixed}");
        }
    }

    #[test]
    fn updates_are_marked_with_what_they_fix() {
        let index = index();
        // (installed, candidate, severity the package manager gave) ->
        //   (advisories, cves, classification, severity)
        type Marks =
            (&'static [&'static str], &'static [&'static str], Classification, Option<Severity>);
        let fixes: Marks =
            (&["DSA-1"], &["CVE-2026-10001"], Classification::Security, Some(Severity::Critical));
        let untouched: Marks = (&[], &[], Classification::Bugfix, None);
        let cases: [(&str, &str, Option<Severity>, Marks); 5] = [
            ("1.0-1", "1.2-1", None, fixes),
            ("1.0-1", "1.3-1", None, fixes),
            // The candidate does not reach the fix: not marked.
            ("1.0-1", "1.1-1", None, untouched),
            // Already fixed: the update is someone else's.
            ("1.2-1", "1.3-1", None, untouched),
            // A milder severity from the package manager is raised to the advisory's.
            ("1.0-1", "1.2-1", Some(Severity::Low), fixes),
        ];
        for (from, to, severity, (advisories, cves, classification, expected_severity)) in cases {
            let mut pending = update("libacme1", from, to);
            pending.severity = severity;
            let mut host = assessment(vec![installed("libacme1", from)], vec![pending]);
            annotate_assessment(&index, &mut host);
            let marked = &host.updates[0];
            assert_eq!(
                (&marked.advisories[..], &marked.cves[..], marked.classification, marked.severity),
                (
                    &advisories.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..],
                    &cves.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..],
                    classification,
                    expected_severity
                ),
                "{from} -> {to}"
            );
        }
    }

    #[test]
    fn what_a_host_is_exposed_to() {
        let index = index();
        let repository_update = || {
            let mut u = update("acme-agent", "3.0-1", "3.1-1");
            u.classification = Classification::Security;
            u.advisories = vec!["DSA-7".into()];
            u.cves = vec!["CVE-2026-10007".into()];
            u
        };
        // (installed, pending updates) -> (advisory, package, status, update, source) per finding
        type Row<'a> = (&'a str, &'a str, ExposureStatus, Option<&'a str>, FindingSource);
        use ExposureStatus::Affected;
        use FindingSource::{Imported, Repository};
        let cases: Vec<(Vec<InstalledPackage>, Vec<PendingUpdate>, Vec<Row<'static>>)> = vec![
            // Affected, the fix offered.
            (
                vec![installed("libacme1", "1.0-1")],
                vec![update("libacme1", "1.0-1", "1.2-1")],
                vec![("DSA-1", "libacme1", Affected, Some("1.2-1"), Imported)],
            ),
            // Affected, no update that reaches the fix.
            (
                vec![installed("libacme1", "1.0-1")],
                vec![update("libacme1", "1.0-1", "1.1-1")],
                vec![("DSA-1", "libacme1", Affected, None, Imported)],
            ),
            // Fixed: nothing to show.
            (vec![installed("libacme1", "1.2-1")], vec![], vec![]),
            // The repository's own advisory for another package is a finding too.
            (
                vec![installed("libacme1", "1.2-1")],
                vec![repository_update()],
                vec![("DSA-7", "acme-agent", Affected, Some("3.1-1"), Repository)],
            ),
            // ... but not when it only repeats what an imported advisory found.
            (
                vec![installed("libacme1", "1.0-1")],
                vec![{
                    let mut u = update("libacme1", "1.0-1", "1.2-1");
                    u.classification = Classification::Security;
                    u.advisories = vec!["DSA-1".into()];
                    u.cves = vec!["CVE-2026-10001".into()];
                    u
                }],
                vec![("DSA-1", "libacme1", Affected, Some("1.2-1"), Imported)],
            ),
            // A bug fix update's advisories expose nothing.
            (
                vec![],
                vec![{
                    let mut u = repository_update();
                    u.classification = Classification::Bugfix;
                    u
                }],
                vec![],
            ),
        ];
        for (installed, updates, expected) in cases {
            let host = assessment(installed, updates);
            let findings = exposed_findings(&index, &host);
            let found: Vec<Row> = findings
                .iter()
                .map(|f| {
                    (
                        f.advisory.as_str(),
                        f.package.as_str(),
                        f.status,
                        f.update.as_deref(),
                        f.source,
                    )
                })
                .collect();
            assert_eq!(found, expected, "{:?} {:?}", host.installed, host.updates);
        }
    }

    #[test]
    fn a_host_s_verdict_for_a_cve() {
        let index = index();
        // (installed) -> verdict
        let cases = [
            (vec![installed("libacme1", "1.0-1")], CveVerdict::Affected),
            (vec![installed("libacme1", "1.2-1")], CveVerdict::Fixed),
            (
                vec![installed("libacme1", "1.0-1"), installed("acme-doc", "1.2-1")],
                CveVerdict::Affected,
            ),
            (vec![], CveVerdict::NotApplicable),
        ];
        for (installed, expected) in cases {
            let host = assessment(installed, vec![]);
            let findings = cve_findings(&index, &host);
            assert_eq!(CveVerdict::of(&findings), expected, "{:?}", host.installed);
        }
        // An undecided finding outranks a fixed one, an affected one both.
        let with = |statuses: &[ExposureStatus]| -> Vec<Finding> {
            let host = assessment(vec![installed("libacme1", "1.0-1")], vec![]);
            let one = cve_findings(&index, &host).remove(0);
            statuses.iter().map(|s| Finding { status: *s, ..one.clone() }).collect()
        };
        use ExposureStatus::{Affected, Fixed, Undecided};
        let cases: [(&[ExposureStatus], CveVerdict); 4] = [
            (&[Fixed, Undecided], CveVerdict::Undecided),
            (&[Fixed, Undecided, Affected], CveVerdict::Affected),
            (&[Fixed], CveVerdict::Fixed),
            (&[], CveVerdict::NotApplicable),
        ];
        for (statuses, expected) in cases {
            assert_eq!(CveVerdict::of(&with(statuses)), expected, "{statuses:?}");
        }
    }
}
