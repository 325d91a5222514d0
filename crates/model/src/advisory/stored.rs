//! An advisory's stored form, `protocol::advisory::AdvisoryV1`, and the conversions to and from
//! it.

use protocol::advisory::{
    AdvisoryFormatV1, AdvisoryV1, AffectedPackageV1, AffectedRangeV1, CvssScoreV1, CvssVersionV1,
    DistributionV1, EcosystemV1,
};
use protocol::plan::SeverityV1;

use super::ecosystem::Distribution;
use super::{
    Advisory, AdvisoryFormat, AffectedPackage, AffectedRange, CvssScore, CvssVersion, Ecosystem,
};
use crate::Severity;

impl From<&Advisory> for AdvisoryV1 {
    fn from(a: &Advisory) -> AdvisoryV1 {
        AdvisoryV1 {
            id: a.id.clone(),
            format: match a.format {
                AdvisoryFormat::Osv => AdvisoryFormatV1::Osv,
                AdvisoryFormat::Updateinfo => AdvisoryFormatV1::Updateinfo,
            },
            kind: a.kind.into(),
            summary: a.summary.clone(),
            cves: a.cves.clone(),
            aliases: a.aliases.clone(),
            distribution_severity: a.distribution_severity.map(SeverityV1::from),
            cvss: a.cvss.iter().map(CvssScoreV1::from).collect(),
            published: a.published.clone(),
            modified: a.modified.clone(),
            affected: a.affected.iter().map(AffectedPackageV1::from).collect(),
        }
    }
}

impl From<AdvisoryV1> for Advisory {
    fn from(a: AdvisoryV1) -> Advisory {
        Advisory {
            id: a.id,
            format: match a.format {
                AdvisoryFormatV1::Osv => AdvisoryFormat::Osv,
                AdvisoryFormatV1::Updateinfo => AdvisoryFormat::Updateinfo,
            },
            kind: a.kind.into(),
            summary: a.summary,
            cves: a.cves,
            aliases: a.aliases,
            distribution_severity: a.distribution_severity.map(Severity::from),
            cvss: a.cvss.into_iter().map(CvssScore::from).collect(),
            published: a.published,
            modified: a.modified,
            affected: a.affected.into_iter().map(AffectedPackage::from).collect(),
        }
    }
}

impl From<&CvssScore> for CvssScoreV1 {
    fn from(score: &CvssScore) -> CvssScoreV1 {
        CvssScoreV1 {
            version: match score.version {
                CvssVersion::V3_0 => CvssVersionV1::V3_0,
                CvssVersion::V3_1 => CvssVersionV1::V3_1,
                CvssVersion::V4_0 => CvssVersionV1::V4_0,
            },
            vector: score.vector.clone(),
            score: score.score,
        }
    }
}

impl From<CvssScoreV1> for CvssScore {
    fn from(score: CvssScoreV1) -> CvssScore {
        CvssScore {
            version: match score.version {
                CvssVersionV1::V3_0 => CvssVersion::V3_0,
                CvssVersionV1::V3_1 => CvssVersion::V3_1,
                CvssVersionV1::V4_0 => CvssVersion::V4_0,
            },
            vector: score.vector,
            score: score.score,
        }
    }
}

impl From<&AffectedPackage> for AffectedPackageV1 {
    fn from(p: &AffectedPackage) -> AffectedPackageV1 {
        AffectedPackageV1 {
            ecosystem: EcosystemV1 {
                name: p.ecosystem.name.clone(),
                distribution: match p.ecosystem.distribution {
                    Distribution::Debian => DistributionV1::Debian,
                    Distribution::Ubuntu => DistributionV1::Ubuntu,
                    Distribution::AlmaLinux => DistributionV1::AlmaLinux,
                    Distribution::RockyLinux => DistributionV1::RockyLinux,
                    Distribution::RedHat => DistributionV1::RedHat,
                    Distribution::DnfRepository => DistributionV1::DnfRepository,
                },
                release: p.ecosystem.release.clone(),
            },
            package: p.package.clone(),
            binaries: p.binaries.clone(),
            ranges: p
                .ranges
                .iter()
                .map(|r| AffectedRangeV1 {
                    introduced: r.introduced.clone(),
                    fixed: r.fixed.clone(),
                    last_affected: r.last_affected.clone(),
                })
                .collect(),
        }
    }
}

impl From<AffectedPackageV1> for AffectedPackage {
    fn from(p: AffectedPackageV1) -> AffectedPackage {
        AffectedPackage {
            ecosystem: Ecosystem {
                name: p.ecosystem.name,
                distribution: match p.ecosystem.distribution {
                    DistributionV1::Debian => Distribution::Debian,
                    DistributionV1::Ubuntu => Distribution::Ubuntu,
                    DistributionV1::AlmaLinux => Distribution::AlmaLinux,
                    DistributionV1::RockyLinux => Distribution::RockyLinux,
                    DistributionV1::RedHat => Distribution::RedHat,
                    DistributionV1::DnfRepository => Distribution::DnfRepository,
                },
                release: p.ecosystem.release,
            },
            package: p.package,
            binaries: p.binaries,
            ranges: p
                .ranges
                .into_iter()
                .map(|r| AffectedRange {
                    introduced: r.introduced,
                    fixed: r.fixed,
                    last_affected: r.last_affected,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Classification;

    const OSV: &str = r#"{"id":"USN-1-1","format":"osv","kind":"security","summary":"s","cves":["CVE-2026-1"],"aliases":["UBUNTU-CVE-2026-1"],"distribution_severity":"moderate","cvss":[{"version":"3.0","vector":"CVSS:x","score":9.8},{"version":"3.1","vector":"CVSS:x","score":10.0},{"version":"4.0","vector":"CVSS:x","score":0.1}],"published":"2026-01-10","modified":null,"affected":[{"ecosystem":{"name":"n","distribution":"debian","release":"1"},"package":"p","binaries":["b"],"ranges":[{"introduced":null,"fixed":"2","last_affected":"1"}]},{"ecosystem":{"name":"n","distribution":"ubuntu","release":"1"},"package":"p","binaries":["b"],"ranges":[{"introduced":null,"fixed":"2","last_affected":"1"}]},{"ecosystem":{"name":"n","distribution":"alma_linux","release":"1"},"package":"p","binaries":["b"],"ranges":[{"introduced":null,"fixed":"2","last_affected":"1"}]},{"ecosystem":{"name":"n","distribution":"rocky_linux","release":"1"},"package":"p","binaries":["b"],"ranges":[{"introduced":null,"fixed":"2","last_affected":"1"}]},{"ecosystem":{"name":"n","distribution":"red_hat","release":"1"},"package":"p","binaries":["b"],"ranges":[{"introduced":null,"fixed":"2","last_affected":"1"}]},{"ecosystem":{"name":"n","distribution":"dnf_repository","release":"1"},"package":"p","binaries":["b"],"ranges":[{"introduced":null,"fixed":"2","last_affected":"1"}]}]}"#;
    const UPDATEINFO: &str = r#"{"id":"USN-1-1","format":"updateinfo","kind":"bugfix","summary":"s","cves":["CVE-2026-1"],"aliases":["UBUNTU-CVE-2026-1"],"distribution_severity":null,"cvss":[],"published":"2026-01-10","modified":null,"affected":[]}"#;

    /// The bytes the `advisories` table has kept since advisories were imported, which read
    /// back as the same advisory: every enum value and the float as written.
    #[test]
    fn an_advisory_is_stored_as_it_always_was_and_reads_back() {
        let cvss = |version, score| CvssScore { version, vector: "CVSS:x".into(), score };
        let advisory = Advisory {
            id: "USN-1-1".into(),
            format: AdvisoryFormat::Osv,
            kind: Classification::Security,
            summary: "s".into(),
            cves: vec!["CVE-2026-1".into()],
            aliases: vec!["UBUNTU-CVE-2026-1".into()],
            distribution_severity: Some(Severity::Moderate),
            cvss: vec![
                cvss(CvssVersion::V3_0, 9.8),
                cvss(CvssVersion::V3_1, 10.0),
                cvss(CvssVersion::V4_0, 0.1),
            ],
            published: Some("2026-01-10".into()),
            modified: None,
            affected: [
                Distribution::Debian,
                Distribution::Ubuntu,
                Distribution::AlmaLinux,
                Distribution::RockyLinux,
                Distribution::RedHat,
                Distribution::DnfRepository,
            ]
            .into_iter()
            .map(|distribution| AffectedPackage {
                ecosystem: Ecosystem { name: "n".into(), distribution, release: "1".into() },
                package: "p".into(),
                binaries: vec!["b".into()],
                ranges: vec![AffectedRange {
                    introduced: None,
                    fixed: Some("2".into()),
                    last_affected: Some("1".into()),
                }],
            })
            .collect(),
        };
        let updateinfo = Advisory {
            format: AdvisoryFormat::Updateinfo,
            kind: Classification::Bugfix,
            distribution_severity: None,
            affected: Vec::new(),
            cvss: Vec::new(),
            ..advisory.clone()
        };
        for (advisory, expected) in [(advisory, OSV), (updateinfo, UPDATEINFO)] {
            let json = serde_json::to_string(&AdvisoryV1::from(&advisory)).unwrap();
            assert_eq!(json, expected);
            let read: AdvisoryV1 = serde_json::from_str(&json).unwrap();
            assert_eq!(Advisory::from(read), advisory);
        }
    }
}
