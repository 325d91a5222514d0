//! An assessment's stored form, `protocol::assessment::AssessmentV1` (which `assess --format
//! json` prints too, with the summary), and the conversions to and from it, with those of the words assessments share with plans and advisories
//! (classification, severity, package manager).

use protocol::assessment::{
    AssessmentV1, DiskSpaceV1, HealthV1, InstalledKernelV1, InstalledPackageV1, ListsRefreshedV1,
    LockHolderV1, OriginV1, OsReleaseV1, PendingUpdateV1, RebootStatusV1, UpdateActionV1,
};
use protocol::output::assess::{AssessedV1, SummaryV1};
use protocol::plan::{ClassificationV1, PackageManagerKindV1, SeverityV1};

use super::{
    Assessment, Classification, DiskSpace, Health, InstalledKernel, InstalledPackage,
    ListsRefreshed, LockHolder, Origin, PendingUpdate, RebootStatus, Severity, UpdateAction,
};
use crate::{OsRelease, PackageManagerKind};

/// An assessment as `assess --format json` prints it: its stored form and its summary.
impl From<&Assessment> for AssessedV1 {
    fn from(assessment: &Assessment) -> AssessedV1 {
        let summary = assessment.summary();
        AssessedV1 { assessment: assessment.into(), summary: SummaryV1::from(&summary) }
    }
}

impl From<&crate::assessment::Summary> for SummaryV1 {
    fn from(summary: &crate::assessment::Summary) -> SummaryV1 {
        SummaryV1 {
            n_updates: summary.n_updates as u64,
            n_security: summary.n_security as u64,
            n_kernel: summary.n_kernel as u64,
            reboot_required: summary.reboot_required,
        }
    }
}

impl From<&Assessment> for AssessmentV1 {
    fn from(a: &Assessment) -> AssessmentV1 {
        AssessmentV1 {
            host: a.host.clone(),
            taken_at_unix: a.taken_at_unix,
            os: (&a.os).into(),
            package_manager: a.package_manager.into(),
            running_kernel: a.running_kernel.clone(),
            installed_kernels: a
                .installed_kernels
                .iter()
                .map(|k| InstalledKernelV1 {
                    release: k.release.clone(),
                    package: k.package.clone(),
                })
                .collect(),
            boot_id: a.boot_id.clone(),
            installed: a
                .installed
                .iter()
                .map(|p| InstalledPackageV1 {
                    name: p.name.clone(),
                    arch: p.arch.clone(),
                    version: p.version.clone(),
                    source: p.source.clone(),
                    source_version: p.source_version.clone(),
                })
                .collect(),
            updates: a.updates.iter().map(PendingUpdateV1::from).collect(),
            removals: a.removals.clone(),
            held: a.held.clone(),
            reboot: RebootStatusV1 {
                required: a.reboot.required,
                packages: a.reboot.packages.clone(),
                reasons: a.reboot.reasons.clone(),
            },
            services_needing_restart: a.services_needing_restart.clone(),
            disk: a
                .disk
                .iter()
                .map(|d| DiskSpaceV1 {
                    path: d.path.clone(),
                    mount: d.mount.clone(),
                    available_bytes: d.available_bytes,
                    total_bytes: d.total_bytes,
                })
                .collect(),
            health: HealthV1 {
                interrupted: a.health.interrupted,
                audit: a.health.audit.clone(),
                locks: a
                    .health
                    .locks
                    .iter()
                    .map(|l| LockHolderV1 {
                        path: l.path.clone(),
                        pid: l.pid,
                        command: l.command.clone(),
                    })
                    .collect(),
            },
            lists_refreshed: match a.lists_refreshed {
                ListsRefreshed::Unknown => ListsRefreshedV1::Unknown,
                ListsRefreshed::Never => ListsRefreshedV1::Never,
                ListsRefreshed::At(at) => ListsRefreshedV1::At(at),
            },
        }
    }
}

impl From<AssessmentV1> for Assessment {
    fn from(a: AssessmentV1) -> Assessment {
        Assessment {
            host: a.host,
            taken_at_unix: a.taken_at_unix,
            os: a.os.into(),
            package_manager: a.package_manager.into(),
            running_kernel: a.running_kernel,
            installed_kernels: a
                .installed_kernels
                .into_iter()
                .map(|k| InstalledKernel { release: k.release, package: k.package })
                .collect(),
            boot_id: a.boot_id,
            installed: a
                .installed
                .into_iter()
                .map(|p| InstalledPackage {
                    name: p.name,
                    arch: p.arch,
                    version: p.version,
                    source: p.source,
                    source_version: p.source_version,
                })
                .collect(),
            updates: a.updates.into_iter().map(PendingUpdate::from).collect(),
            removals: a.removals,
            held: a.held,
            reboot: RebootStatus {
                required: a.reboot.required,
                packages: a.reboot.packages,
                reasons: a.reboot.reasons,
            },
            services_needing_restart: a.services_needing_restart,
            disk: a
                .disk
                .into_iter()
                .map(|d| DiskSpace {
                    path: d.path,
                    mount: d.mount,
                    available_bytes: d.available_bytes,
                    total_bytes: d.total_bytes,
                })
                .collect(),
            health: Health {
                interrupted: a.health.interrupted,
                audit: a.health.audit,
                locks: a
                    .health
                    .locks
                    .into_iter()
                    .map(|l| LockHolder { path: l.path, pid: l.pid, command: l.command })
                    .collect(),
            },
            lists_refreshed: match a.lists_refreshed {
                ListsRefreshedV1::Unknown => ListsRefreshed::Unknown,
                ListsRefreshedV1::Never => ListsRefreshed::Never,
                ListsRefreshedV1::At(at) => ListsRefreshed::At(at),
            },
        }
    }
}

impl From<&PendingUpdate> for PendingUpdateV1 {
    fn from(u: &PendingUpdate) -> PendingUpdateV1 {
        PendingUpdateV1 {
            name: u.name.clone(),
            arch: u.arch.clone(),
            installed_version: u.installed_version.clone(),
            candidate_version: u.candidate_version.clone(),
            origins: u
                .origins
                .iter()
                .map(|o| OriginV1 { label: o.label.clone(), suite: o.suite.clone() })
                .collect(),
            action: match u.action {
                UpdateAction::Upgrade => UpdateActionV1::Upgrade,
                UpdateAction::NewInstall => UpdateActionV1::NewInstall,
            },
            classification: u.classification.into(),
            severity: u.severity.map(SeverityV1::from),
            kernel: u.kernel,
            advisories: u.advisories.clone(),
            cves: u.cves.clone(),
            kept_back: u.kept_back,
        }
    }
}

impl From<PendingUpdateV1> for PendingUpdate {
    fn from(u: PendingUpdateV1) -> PendingUpdate {
        PendingUpdate {
            name: u.name,
            arch: u.arch,
            installed_version: u.installed_version,
            candidate_version: u.candidate_version,
            origins: u
                .origins
                .into_iter()
                .map(|o| Origin { label: o.label, suite: o.suite })
                .collect(),
            action: match u.action {
                UpdateActionV1::Upgrade => UpdateAction::Upgrade,
                UpdateActionV1::NewInstall => UpdateAction::NewInstall,
            },
            classification: u.classification.into(),
            severity: u.severity.map(Severity::from),
            kernel: u.kernel,
            advisories: u.advisories,
            cves: u.cves,
            kept_back: u.kept_back,
        }
    }
}

impl From<&OsRelease> for OsReleaseV1 {
    fn from(os: &OsRelease) -> OsReleaseV1 {
        OsReleaseV1 {
            id: os.id.clone(),
            id_like: os.id_like.clone(),
            version_id: os.version_id.clone(),
            version_codename: os.version_codename.clone(),
            pretty_name: os.pretty_name.clone(),
        }
    }
}

impl From<OsReleaseV1> for OsRelease {
    fn from(os: OsReleaseV1) -> OsRelease {
        OsRelease {
            id: os.id,
            id_like: os.id_like,
            version_id: os.version_id,
            version_codename: os.version_codename,
            pretty_name: os.pretty_name,
        }
    }
}

impl From<PackageManagerKind> for PackageManagerKindV1 {
    fn from(kind: PackageManagerKind) -> PackageManagerKindV1 {
        match kind {
            PackageManagerKind::Apt => PackageManagerKindV1::Apt,
            PackageManagerKind::Dnf => PackageManagerKindV1::Dnf,
        }
    }
}

impl From<PackageManagerKindV1> for PackageManagerKind {
    fn from(kind: PackageManagerKindV1) -> PackageManagerKind {
        match kind {
            PackageManagerKindV1::Apt => PackageManagerKind::Apt,
            PackageManagerKindV1::Dnf => PackageManagerKind::Dnf,
        }
    }
}

impl From<Classification> for ClassificationV1 {
    fn from(classification: Classification) -> ClassificationV1 {
        match classification {
            Classification::Security => ClassificationV1::Security,
            Classification::Bugfix => ClassificationV1::Bugfix,
            Classification::Enhancement => ClassificationV1::Enhancement,
            Classification::Newpackage => ClassificationV1::Newpackage,
            Classification::Unknown => ClassificationV1::Unknown,
        }
    }
}

impl From<ClassificationV1> for Classification {
    fn from(classification: ClassificationV1) -> Classification {
        match classification {
            ClassificationV1::Security => Classification::Security,
            ClassificationV1::Bugfix => Classification::Bugfix,
            ClassificationV1::Enhancement => Classification::Enhancement,
            ClassificationV1::Newpackage => Classification::Newpackage,
            ClassificationV1::Unknown => Classification::Unknown,
        }
    }
}

impl From<Severity> for SeverityV1 {
    fn from(severity: Severity) -> SeverityV1 {
        match severity {
            Severity::None => SeverityV1::None,
            Severity::Low => SeverityV1::Low,
            Severity::Moderate => SeverityV1::Moderate,
            Severity::Important => SeverityV1::Important,
            Severity::Critical => SeverityV1::Critical,
        }
    }
}

impl From<SeverityV1> for Severity {
    fn from(severity: SeverityV1) -> Severity {
        match severity {
            SeverityV1::None => Severity::None,
            SeverityV1::Low => Severity::Low,
            SeverityV1::Moderate => Severity::Moderate,
            SeverityV1::Important => Severity::Important,
            SeverityV1::Critical => Severity::Critical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member set, the optional ones included.
    fn assessment(lists_refreshed: ListsRefreshed) -> Assessment {
        Assessment {
            host: "deb1".into(),
            taken_at_unix: 1_800_000_000,
            os: OsRelease {
                id: "debian".into(),
                id_like: vec!["x".into()],
                version_id: "12".into(),
                version_codename: "bookworm".into(),
                pretty_name: "Debian 12".into(),
            },
            package_manager: PackageManagerKind::Apt,
            running_kernel: "6.1.0-25-amd64".into(),
            installed_kernels: vec![InstalledKernel {
                release: "6.1.0-25-amd64".into(),
                package: None,
            }],
            boot_id: "b".into(),
            installed: vec![InstalledPackage {
                name: "libssl3".into(),
                arch: "amd64".into(),
                version: "3.0.1-1".into(),
                source: Some("openssl".into()),
                source_version: None,
            }],
            updates: vec![PendingUpdate {
                name: "libssl3".into(),
                arch: "amd64".into(),
                installed_version: Some("3.0.1-1".into()),
                candidate_version: "3.0.2-1".into(),
                origins: vec![Origin {
                    label: Some("Debian-Security".into()),
                    suite: "bookworm-security".into(),
                }],
                action: UpdateAction::NewInstall,
                classification: Classification::Security,
                severity: Some(Severity::Important),
                kernel: false,
                advisories: vec!["DSA-1".into()],
                cves: vec!["CVE-2026-1".into()],
                kept_back: true,
            }],
            removals: vec!["old".into()],
            held: vec!["held".into()],
            reboot: RebootStatus {
                required: true,
                packages: vec!["linux".into()],
                reasons: vec!["r".into()],
            },
            services_needing_restart: None,
            disk: vec![DiskSpace {
                path: "/".into(),
                mount: "/".into(),
                available_bytes: 1,
                total_bytes: 2,
            }],
            health: Health {
                interrupted: true,
                audit: vec!["a".into()],
                locks: vec![LockHolder { path: "/l".into(), pid: 7, command: Some("apt".into()) }],
            },
            lists_refreshed,
        }
    }

    const AT: &str = r#"{"host":"deb1","taken_at_unix":1800000000,"os":{"id":"debian","id_like":["x"],"version_id":"12","version_codename":"bookworm","pretty_name":"Debian 12"},"package_manager":"apt","running_kernel":"6.1.0-25-amd64","installed_kernels":[{"release":"6.1.0-25-amd64","package":null}],"boot_id":"b","installed":[{"name":"libssl3","arch":"amd64","version":"3.0.1-1","source":"openssl"}],"updates":[{"name":"libssl3","arch":"amd64","installed_version":"3.0.1-1","candidate_version":"3.0.2-1","origins":[{"label":"Debian-Security","suite":"bookworm-security"}],"action":"new_install","classification":"security","severity":"important","kernel":false,"advisories":["DSA-1"],"cves":["CVE-2026-1"],"kept_back":true}],"removals":["old"],"held":["held"],"reboot":{"required":true,"packages":["linux"],"reasons":["r"]},"services_needing_restart":null,"disk":[{"path":"/","mount":"/","available_bytes":1,"total_bytes":2}],"health":{"interrupted":true,"audit":["a"],"locks":[{"path":"/l","pid":7,"command":"apt"}]},"lists_refreshed":{"at":1799990000}}"#;
    const NEVER: &str = r#"{"host":"deb1","taken_at_unix":1800000000,"os":{"id":"debian","id_like":["x"],"version_id":"12","version_codename":"bookworm","pretty_name":"Debian 12"},"package_manager":"apt","running_kernel":"6.1.0-25-amd64","installed_kernels":[{"release":"6.1.0-25-amd64","package":null}],"boot_id":"b","installed":[{"name":"libssl3","arch":"amd64","version":"3.0.1-1","source":"openssl"}],"updates":[{"name":"libssl3","arch":"amd64","installed_version":"3.0.1-1","candidate_version":"3.0.2-1","origins":[{"label":"Debian-Security","suite":"bookworm-security"}],"action":"new_install","classification":"security","severity":"important","kernel":false,"advisories":["DSA-1"],"cves":["CVE-2026-1"],"kept_back":true}],"removals":["old"],"held":["held"],"reboot":{"required":true,"packages":["linux"],"reasons":["r"]},"services_needing_restart":null,"disk":[{"path":"/","mount":"/","available_bytes":1,"total_bytes":2}],"health":{"interrupted":true,"audit":["a"],"locks":[{"path":"/l","pid":7,"command":"apt"}]},"lists_refreshed":"never"}"#;
    /// Left out when not asked.
    const UNKNOWN: &str = r#"{"host":"deb1","taken_at_unix":1800000000,"os":{"id":"debian","id_like":["x"],"version_id":"12","version_codename":"bookworm","pretty_name":"Debian 12"},"package_manager":"apt","running_kernel":"6.1.0-25-amd64","installed_kernels":[{"release":"6.1.0-25-amd64","package":null}],"boot_id":"b","installed":[{"name":"libssl3","arch":"amd64","version":"3.0.1-1","source":"openssl"}],"updates":[{"name":"libssl3","arch":"amd64","installed_version":"3.0.1-1","candidate_version":"3.0.2-1","origins":[{"label":"Debian-Security","suite":"bookworm-security"}],"action":"new_install","classification":"security","severity":"important","kernel":false,"advisories":["DSA-1"],"cves":["CVE-2026-1"],"kept_back":true}],"removals":["old"],"held":["held"],"reboot":{"required":true,"packages":["linux"],"reasons":["r"]},"services_needing_restart":null,"disk":[{"path":"/","mount":"/","available_bytes":1,"total_bytes":2}],"health":{"interrupted":true,"audit":["a"],"locks":[{"path":"/l","pid":7,"command":"apt"}]}}"#;

    /// The bytes the `assessments` table has kept since assessments were stored, which read
    /// back as the same assessment.
    #[test]
    fn an_assessment_is_stored_as_it_always_was_and_reads_back() {
        for (refreshed, expected) in [
            (ListsRefreshed::At(1_799_990_000), AT),
            (ListsRefreshed::Never, NEVER),
            (ListsRefreshed::Unknown, UNKNOWN),
        ] {
            let assessment = assessment(refreshed);
            let json = serde_json::to_string(&AssessmentV1::from(&assessment)).unwrap();
            assert_eq!(json, expected);
            let read: AssessmentV1 = serde_json::from_str(&json).unwrap();
            assert_eq!(Assessment::from(read), assessment);
        }
    }
}
