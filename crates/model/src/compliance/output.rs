//! The report's JSON form, `protocol::output::compliance`, converted by hand.

use protocol::output::compliance::{
    CheckStatusV1, CheckV1, ComplianceFindingV1, ComplianceReportV1, EnvironmentComplianceV1,
    HostComplianceV1,
};

use super::{Check, Finding, Report, Status};

impl From<&Report> for ComplianceReportV1 {
    fn from(report: &Report) -> ComplianceReportV1 {
        ComplianceReportV1 {
            evaluated_at: crate::dates::rfc3339(report.evaluated_at),
            compliant: report.compliant,
            hosts: report
                .hosts
                .iter()
                .map(|host| HostComplianceV1 {
                    host: host.host.clone(),
                    environment: host.environment.clone(),
                    compliant: host.compliant,
                    findings: host.findings.iter().map(ComplianceFindingV1::from).collect(),
                })
                .collect(),
            environments: report
                .environments
                .iter()
                .map(|env| EnvironmentComplianceV1 {
                    environment: env.environment.clone(),
                    compliant: env.compliant,
                    n_hosts: env.n_hosts as u64,
                    n_compliant: env.n_compliant as u64,
                    failing: env
                        .failing
                        .iter()
                        .map(|(check, n)| ((*check).into(), *n as u64))
                        .collect(),
                })
                .collect(),
            fleet_findings: report.fleet_findings.iter().map(ComplianceFindingV1::from).collect(),
        }
    }
}

impl From<&Finding> for ComplianceFindingV1 {
    fn from(finding: &Finding) -> ComplianceFindingV1 {
        ComplianceFindingV1 {
            check: finding.check.into(),
            status: match finding.status {
                Status::Pass => CheckStatusV1::Pass,
                Status::Fail => CheckStatusV1::Fail,
                Status::NotApplicable => CheckStatusV1::NotApplicable,
            },
            summary: finding.summary.clone(),
            details: finding.details.clone(),
        }
    }
}

impl From<Check> for CheckV1 {
    fn from(check: Check) -> CheckV1 {
        match check {
            Check::Sla => CheckV1::Sla,
            Check::Promotion => CheckV1::Promotion,
            Check::Healthy => CheckV1::Healthy,
            Check::Kernels => CheckV1::Kernels,
            Check::RollbackPlan => CheckV1::RollbackPlan,
            Check::AssessmentAge => CheckV1::AssessmentAge,
            Check::Postmortems => CheckV1::Postmortems,
        }
    }
}
