//! Exposure of hosts to known advisories, from each host's latest assessment: `patchctl cves`
//! (what each host is exposed to, and the update that fixes it) and `patchctl cve CVE-…`
//! (which hosts are affected, fixed, or not concerned).
//!
//! `cves` also counts what the host's own repositories say: a pending security update that
//! dnf's updateinfo names advisories or CVEs for (as `assess` shows them) is a finding even when
//! that updateinfo was never imported, unless an imported advisory already says the same.

use model::advisory::AdvisoryIndex;
pub use model::advisory::marking::CveVerdict;
use model::advisory::marking::{cve_findings, exposed_findings};
pub use model::advisory::{Finding, FindingSource};
use model::{Assessment, ResolvedHost};
use protocol::output::advisory::{CveHostV1, FindingV1, HostExposureStateV1, HostExposureV1};
use store::{AssessmentOutcome, Store, SummaryOutcome};

use super::parallel::map_in_parallel;

/// One host's exposure.
#[derive(Debug, Clone)]
pub struct HostExposure {
    pub host: String,
    /// When the assessment the exposure comes from was taken.
    pub assessed_at_unix: Option<i64>,
    pub state: HostExposureState,
}

#[derive(Debug, Clone)]
pub enum HostExposureState {
    /// No assessment on record: nothing can be said.
    NotAssessed,
    /// The latest assessment failed: an older one would show a state that may be gone.
    AssessmentFailed {
        message: String,
    },
    Assessed {
        findings: Vec<Finding>,
    },
}

/// The latest assessment of each host, as the plan reads them: a failed latest attempt is
/// reported as such, never replaced by an older success.
async fn latest(
    store: &Store,
    hosts: &[ResolvedHost],
) -> Result<Vec<(String, Result<Assessment, HostExposureState>)>, store::StoreError> {
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let rows = store.latest_assessments(Some(&names)).await?;
    let mut out = Vec::new();
    for host in hosts {
        let Some(row) = rows.iter().find(|row| row.host == host.name) else {
            out.push((host.name.clone(), Err(HostExposureState::NotAssessed)));
            continue;
        };
        let state = match &row.outcome {
            SummaryOutcome::Failed(failure) => {
                Err(HostExposureState::AssessmentFailed { message: failure.message.clone() })
            }
            SummaryOutcome::Assessed(_) => match store.assessment(&row.id).await? {
                Some(stored) => match stored.record.outcome {
                    AssessmentOutcome::Assessed(assessment) => Ok(*assessment),
                    AssessmentOutcome::Failed(failure) => {
                        Err(HostExposureState::AssessmentFailed { message: failure.message })
                    }
                },
                None => Err(HostExposureState::NotAssessed),
            },
        };
        out.push((host.name.clone(), state));
    }
    Ok(out)
}

/// What each host is exposed to: the security advisories whose status is affected or
/// undecided (a verdict that could not be reached is shown, not hidden). Hosts in the order
/// given. The assessments are matched on every core: that is most of the work on a large fleet.
pub async fn exposure(
    store: &Store,
    index: &AdvisoryIndex,
    hosts: &[ResolvedHost],
) -> Result<Vec<HostExposure>, store::StoreError> {
    let latest = latest(store, hosts).await?;
    Ok(map_in_parallel(&latest, |(host, latest)| {
        let (assessed_at_unix, state) = match latest {
            Err(state) => (None, state.clone()),
            Ok(assessment) => {
                let findings = exposed_findings(index, assessment);
                (Some(assessment.taken_at_unix), HostExposureState::Assessed { findings })
            }
        };
        HostExposure { host: host.clone(), assessed_at_unix, state }
    }))
}

/// One host's verdict for one CVE.
#[derive(Debug, Clone)]
pub struct CveHost {
    pub host: String,
    pub verdict: CveVerdict,
    /// The advisories and packages behind the verdict (none when not applicable).
    pub findings: Vec<Finding>,
    pub message: Option<String>,
}

/// Every host's verdict for the advisories of one CVE (the index holds only those).
pub async fn cve_report(
    store: &Store,
    index: &AdvisoryIndex,
    hosts: &[ResolvedHost],
) -> Result<Vec<CveHost>, store::StoreError> {
    let mut out = Vec::new();
    for (host, latest) in latest(store, hosts).await? {
        let entry = match latest {
            Err(HostExposureState::AssessmentFailed { message }) => CveHost {
                host,
                verdict: CveVerdict::AssessmentFailed,
                findings: Vec::new(),
                message: Some(message),
            },
            Err(_) => CveHost {
                host,
                verdict: CveVerdict::NotAssessed,
                findings: Vec::new(),
                message: None,
            },
            Ok(assessment) => {
                let findings = cve_findings(index, &assessment);
                let verdict = CveVerdict::of(&findings);
                CveHost { host, verdict, findings, message: None }
            }
        };
        out.push(entry);
    }
    Ok(out)
}

impl From<&HostExposure> for HostExposureV1 {
    fn from(exposure: &HostExposure) -> HostExposureV1 {
        HostExposureV1 {
            host: exposure.host.clone(),
            assessed_at_unix: exposure.assessed_at_unix,
            state: match &exposure.state {
                HostExposureState::NotAssessed => HostExposureStateV1::NotAssessed,
                HostExposureState::AssessmentFailed { message } => {
                    HostExposureStateV1::AssessmentFailed { message: message.clone() }
                }
                HostExposureState::Assessed { findings } => HostExposureStateV1::Assessed {
                    findings: findings.iter().map(FindingV1::from).collect(),
                },
            },
        }
    }
}

impl From<&CveHost> for CveHostV1 {
    fn from(host: &CveHost) -> CveHostV1 {
        CveHostV1 {
            host: host.host.clone(),
            verdict: host.verdict.into(),
            findings: host.findings.iter().map(FindingV1::from).collect(),
            message: host.message.clone(),
        }
    }
}
