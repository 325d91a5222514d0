//! Findings and verdicts in their JSON forms, `protocol::output::advisory`, converted by hand.

use protocol::output::advisory::{CveVerdictV1, ExposureStatusV1, FindingSourceV1, FindingV1};
use protocol::plan::SeverityV1;

use super::marking::CveVerdict;
use super::{ExposureStatus, Finding, FindingSource};

impl From<&Finding> for FindingV1 {
    fn from(finding: &Finding) -> FindingV1 {
        FindingV1 {
            advisory: finding.advisory.clone(),
            cves: finding.cves.clone(),
            severity: finding.severity.map(SeverityV1::from),
            cvss_score: finding.cvss_score,
            cvss_vector: finding.cvss_vector.clone(),
            package: finding.package.clone(),
            installed_version: finding.installed_version.clone(),
            status: match finding.status {
                ExposureStatus::Affected => ExposureStatusV1::Affected,
                ExposureStatus::Fixed => ExposureStatusV1::Fixed,
                ExposureStatus::Undecided => ExposureStatusV1::Undecided,
            },
            fixed_version: finding.fixed_version.clone(),
            update: finding.update.clone(),
            reason: finding.reason.clone(),
            source: match finding.source {
                FindingSource::Imported => FindingSourceV1::Imported,
                FindingSource::Repository => FindingSourceV1::Repository,
            },
        }
    }
}

impl From<CveVerdict> for CveVerdictV1 {
    fn from(verdict: CveVerdict) -> CveVerdictV1 {
        match verdict {
            CveVerdict::Affected => CveVerdictV1::Affected,
            CveVerdict::Undecided => CveVerdictV1::Undecided,
            CveVerdict::Fixed => CveVerdictV1::Fixed,
            CveVerdict::NotApplicable => CveVerdictV1::NotApplicable,
            CveVerdict::NotAssessed => CveVerdictV1::NotAssessed,
            CveVerdict::AssessmentFailed => CveVerdictV1::AssessmentFailed,
        }
    }
}
