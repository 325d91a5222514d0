//! Exposure of hosts to known advisories, from each host's latest assessment: `patchctl cves`
//! (what each host is exposed to, and the update that fixes it) and `patchctl cve CVE-…`
//! (which hosts are affected, fixed, or not concerned).
//!
//! `cves` also counts what the host's own repositories say: a pending security update that
//! dnf's updateinfo names advisories or CVEs for (as `assess` shows them) is a finding even when
//! that updateinfo was never imported, unless an imported advisory already says the same.

use model::advisory::{AdvisoryIndex, Exposure, ExposureStatus, HostRelease};
use model::{Assessment, Classification, ResolvedHost, Severity};
use serde::Serialize;
use store::{AssessmentOutcome, Store, SummaryOutcome};

use super::parallel::map_in_parallel;
use super::reaches;

/// One host's exposure.
#[derive(Debug, Clone, Serialize)]
pub struct HostExposure {
    pub host: String,
    /// When the assessment the exposure comes from was taken.
    pub assessed_at_unix: Option<i64>,
    #[serde(flatten)]
    pub state: HostExposureState,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
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

/// An advisory that concerns an installed package of the host.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub advisory: String,
    pub cves: Vec<String>,
    pub severity: Option<Severity>,
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    pub package: String,
    pub installed_version: String,
    pub status: ExposureStatus,
    /// The version that fixes it; none when the distribution has not fixed it yet.
    pub fixed_version: Option<String>,
    /// The pending update that reaches the fixed version, from the same assessment; none when
    /// the host's repositories do not offer it yet.
    pub update: Option<String>,
    /// Why no verdict could be reached, for [`ExposureStatus::Undecided`].
    pub reason: Option<String>,
    pub source: FindingSource,
}

/// Where a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSource {
    /// An imported advisory (`patchctl advisories import`).
    Imported,
    /// The host's repositories, as its package manager annotated a pending update (dnf's
    /// updateinfo) in the assessment; `advisory` holds the advisory ids it named.
    Repository,
}

/// The findings a host's pending security updates carry from its repositories' updateinfo,
/// less what the imported advisories already found for the same package: an update's advisory
/// ids and CVEs, affected at the installed version and fixed by the candidate.
fn repository_findings(
    assessment: &Assessment,
    scheme: model::version::Scheme,
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
                .max_by(|a, b| {
                    model::version::compare(scheme, a, b).unwrap_or(std::cmp::Ordering::Equal)
                })
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

fn finding(
    index: &AdvisoryIndex,
    assessment: &Assessment,
    scheme: model::version::Scheme,
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
                (Some(assessment.taken_at_unix), HostExposureState::Assessed { findings })
            }
        };
        HostExposure { host: host.clone(), assessed_at_unix, state }
    }))
}

/// One host's verdict for one CVE.
#[derive(Debug, Clone, Serialize)]
pub struct CveHost {
    pub host: String,
    pub verdict: CveVerdict,
    /// The advisories and packages behind the verdict (none when not applicable).
    pub findings: Vec<Finding>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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
                let release = HostRelease::of(&assessment.os, assessment.package_manager);
                let findings: Vec<Finding> = index
                    .match_host(&release, &assessment.installed)
                    .into_iter()
                    .map(|e| finding(index, &assessment, release.scheme, e))
                    .collect();
                let has = |status| findings.iter().any(|f| f.status == status);
                let verdict = if has(ExposureStatus::Affected) {
                    CveVerdict::Affected
                } else if has(ExposureStatus::Undecided) {
                    CveVerdict::Undecided
                } else if has(ExposureStatus::Fixed) {
                    CveVerdict::Fixed
                } else {
                    CveVerdict::NotApplicable
                };
                CveHost { host, verdict, findings, message: None }
            }
        };
        out.push(entry);
    }
    Ok(out)
}
