//! CVE exposure on the dashboard: the counts by severity on the compliance page, and `GET
//! /cves`, each CVE with its severity and the hosts it affects. Matching every host's latest
//! assessment against the advisories (`ops::advisories::host_exposures`, what `GET /api/cves`
//! answers) costs a large fleet seconds, so the pages never do it: [`record`] does it when
//! the server starts and every [`crate::compliance::EVERY`] after, beside the compliance
//! trend, and keeps the counts, a few rows whatever the fleet's size, in [`Latest`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use askama::Template;
use axum::extract::{Extension, State};
use axum::response::Html;
use model::Severity;
use model::access::Role;
use ops::advisories::{Finding, HostExposure, HostExposureState};
use ops::identity::Identity;
use tokio::sync::watch;

use crate::AppState;
use crate::error::ApiError;

/// The severities the pages count, most severe first, as the pages name them.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "unknown"];

/// The last evaluation [`record`] kept, if it has made one.
#[derive(Default)]
pub(crate) struct Latest(RwLock<Option<Arc<Exposure>>>);

impl Latest {
    pub fn get(&self) -> Option<Arc<Exposure>> {
        self.0.read().map(|latest| latest.clone()).unwrap_or_default()
    }

    fn set(&self, exposure: Exposure) {
        if let Ok(mut latest) = self.0.write() {
            *latest = Some(Arc::new(exposure));
        }
    }
}

/// The fleet's exposure, counted.
#[derive(Debug, Clone)]
pub(crate) struct Exposure {
    pub evaluated_at: String,
    /// Hosts whose latest assessment could be matched.
    pub assessed: usize,
    /// Hosts never assessed, or whose latest attempt failed: nothing is said of them.
    pub unjudged: usize,
    /// Hosts exposed to anything.
    pub exposed: usize,
    /// One row per [`SEVERITIES`], in that order.
    pub by_severity: Vec<SeverityRow>,
    /// Most severe first, then the most hosts.
    pub cves: Vec<CveRow>,
}

#[derive(Debug, Clone)]
pub(crate) struct SeverityRow {
    pub severity: &'static str,
    /// Hosts exposed to at least one CVE of this severity (a host may count in several rows).
    pub hosts: usize,
    pub cves: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct CveRow {
    /// The CVE, or the advisory's id when it names none.
    pub id: String,
    /// The highest severity any advisory gives it.
    pub severity: &'static str,
    pub hosts: usize,
    pub advisories: String,
}

/// Counts `exposures` (a host's findings: affected, or undecided because a version could not
/// be compared) by CVE and by severity. Two passes, so that what is kept grows with the CVEs,
/// not with the hosts times the CVEs.
pub(crate) fn count(exposures: &[HostExposure], evaluated_at: String) -> Exposure {
    // The CVEs (or advisories that name none) of a host's findings, each with its severity.
    let named = |findings: &'_ [Finding]| -> BTreeMap<String, usize> {
        let mut named: BTreeMap<String, usize> = BTreeMap::new();
        for finding in findings {
            let ids = if finding.cves.is_empty() {
                std::slice::from_ref(&finding.advisory)
            } else {
                &finding.cves[..]
            };
            for id in ids {
                let severity = rank(finding.severity);
                let kept = named.entry(id.clone()).or_insert(severity);
                *kept = (*kept).min(severity);
            }
        }
        named
    };
    let assessed: Vec<&[Finding]> = exposures
        .iter()
        .filter_map(|e| match &e.state {
            HostExposureState::Assessed { findings } => Some(&findings[..]),
            _ => None,
        })
        .collect();
    // CVE -> (the highest severity any advisory gives it, its hosts, its advisories)
    let mut cves: BTreeMap<String, (usize, usize, BTreeSet<&str>)> = BTreeMap::new();
    for findings in &assessed {
        for finding in *findings {
            for (id, rank) in named(std::slice::from_ref(finding)) {
                let entry = cves.entry(id).or_insert((rank, 0, BTreeSet::new()));
                entry.0 = entry.0.min(rank);
                entry.2.insert(finding.advisory.as_str());
            }
        }
    }
    let mut hosts_by_rank = [0_usize; SEVERITIES.len()];
    for findings in &assessed {
        let mut ranks = [false; SEVERITIES.len()];
        for id in named(findings).into_keys() {
            if let Some(entry) = cves.get_mut(&id) {
                entry.1 += 1;
                ranks[entry.0] = true;
            }
        }
        for (hosts, exposed) in hosts_by_rank.iter_mut().zip(ranks) {
            *hosts += usize::from(exposed);
        }
    }
    let by_severity = (0..SEVERITIES.len())
        .map(|rank| SeverityRow {
            severity: SEVERITIES[rank],
            hosts: hosts_by_rank[rank],
            cves: cves.values().filter(|(r, _, _)| *r == rank).count(),
        })
        .collect();
    let mut rows: Vec<CveRow> = cves
        .iter()
        .map(|(id, (rank, hosts, advisories))| CveRow {
            id: id.clone(),
            severity: SEVERITIES[*rank],
            hosts: *hosts,
            advisories: advisories.iter().copied().collect::<Vec<_>>().join(", "),
        })
        .collect();
    rows.sort_by(|a, b| {
        let rank = |row: &CveRow| SEVERITIES.iter().position(|s| *s == row.severity);
        (rank(a), std::cmp::Reverse(a.hosts), &a.id).cmp(&(
            rank(b),
            std::cmp::Reverse(b.hosts),
            &b.id,
        ))
    });
    Exposure {
        evaluated_at,
        assessed: assessed.len(),
        unjudged: exposures.len() - assessed.len(),
        exposed: assessed.iter().filter(|findings| !findings.is_empty()).count(),
        by_severity,
        cves: rows,
    }
}

/// A severity's place in [`SEVERITIES`]; one rated `none`, or not rated, is unknown.
fn rank(severity: Option<Severity>) -> usize {
    match severity {
        Some(Severity::Critical) => 0,
        Some(Severity::Important) => 1,
        Some(Severity::Moderate) => 2,
        Some(Severity::Low) => 3,
        Some(Severity::None) | None => 4,
    }
}

/// Evaluates the fleet's exposure now and every [`crate::compliance::EVERY`] until `stopped`,
/// keeping it in the state's [`Latest`]; a failure is told to the log and tried again next time.
pub(crate) async fn record(state: Arc<AppState>, mut stopped: watch::Receiver<bool>) {
    let ctx = &state.ctx;
    loop {
        let all = ["all".to_owned()];
        tokio::select! {
            evaluated = ops::advisories::host_exposures(ctx, &all) => match evaluated {
                Ok(exposures) => {
                    let at = model::dates::rfc3339_unix(ctx.clock.now_unix());
                    state.cve_exposure.set(count(&exposures, at));
                }
                Err(error) => {
                    ctx.progress.notice(&format!("server: evaluating the CVE exposure: {error}"));
                }
            },
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        tokio::select! {
            () = tokio::time::sleep(crate::compliance::EVERY) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

#[derive(Template)]
#[template(path = "cves.html")]
struct CvesPage {
    user: String,
    role: Role,
    exposure: Option<Arc<Exposure>>,
}

/// `GET /cves`: every CVE some host is exposed to, as last evaluated.
pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
) -> Result<Html<String>, ApiError> {
    let exposure = state.cve_exposure.get();
    crate::web::render(CvesPage { user: identity.user, role: identity.role, exposure }, &state.ctx)
}

#[cfg(test)]
mod tests {
    use model::advisory::ExposureStatus;
    use ops::advisories::FindingSource;

    use super::*;

    fn finding(advisory: &str, cves: &[&str], severity: Option<Severity>) -> Finding {
        Finding {
            advisory: advisory.to_owned(),
            cves: cves.iter().map(|c| (*c).to_owned()).collect(),
            severity,
            cvss_score: None,
            cvss_vector: None,
            package: "p".to_owned(),
            installed_version: "1".to_owned(),
            status: ExposureStatus::Affected,
            fixed_version: None,
            update: None,
            reason: None,
            source: FindingSource::Imported,
        }
    }

    fn host(name: &str, state: HostExposureState) -> HostExposure {
        HostExposure { host: name.to_owned(), assessed_at_unix: Some(0), state }
    }

    #[test]
    fn a_cve_counts_once_per_host_at_the_highest_severity_any_advisory_gives_it() {
        let assessed = |findings| HostExposureState::Assessed { findings };
        let exposures = [
            // CVE-1 rated moderate by one advisory and critical by another: critical.
            host(
                "a",
                assessed(vec![
                    finding("DSA-1", &["CVE-1"], Some(Severity::Moderate)),
                    finding("RHSA-1", &["CVE-1", "CVE-2"], Some(Severity::Critical)),
                ]),
            ),
            host(
                "b",
                assessed(vec![
                    finding("DSA-1", &["CVE-1"], Some(Severity::Moderate)),
                    finding("ACME-3", &[], None),
                ]),
            ),
            host("c", assessed(Vec::new())),
            host("d", HostExposureState::NotAssessed),
        ];
        let counted = count(&exposures, "now".to_owned());
        assert_eq!((counted.assessed, counted.unjudged, counted.exposed), (3, 1, 2));
        let rows: Vec<(&str, usize, usize)> =
            counted.by_severity.iter().map(|r| (r.severity, r.hosts, r.cves)).collect();
        let expected = [
            ("critical", 2, 2),
            ("high", 0, 0),
            ("medium", 0, 0),
            ("low", 0, 0),
            ("unknown", 1, 1),
        ];
        assert_eq!(rows, expected);
        let cves: Vec<(&str, &str, usize, &str)> = counted
            .cves
            .iter()
            .map(|c| (c.id.as_str(), c.severity, c.hosts, c.advisories.as_str()))
            .collect();
        let expected = [
            ("CVE-1", "critical", 2, "DSA-1, RHSA-1"),
            ("CVE-2", "critical", 1, "RHSA-1"),
            ("ACME-3", "unknown", 1, "ACME-3"),
        ];
        assert_eq!(cves, expected);
    }
}
