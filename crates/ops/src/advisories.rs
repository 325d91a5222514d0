//! Advisories in the application: importing OSV and updateinfo files into the store, reading
//! them back as a matching index, marking each pending update of an assessment with the
//! advisories and CVEs it fixes, and the exposure of hosts (`exposure.rs`), matched on every core (`parallel.rs`).

pub(crate) mod exposure;
mod import;
pub(crate) mod parallel;

use std::cmp::Ordering;

use model::Assessment;
use model::advisory::{AdvisoryIndex, ExposureStatus, HostRelease};
use model::version;
use store::Store;

pub use exposure::{
    CveHost, CveVerdict, Finding, FindingSource, HostExposure, HostExposureState, cve_report,
    exposure,
};
pub use import::{ImportReport, import_advisories};

/// Every advisory in the store, filed for matching.
pub async fn load_index(store: &Store) -> Result<AdvisoryIndex, store::StoreError> {
    let advisories = store.advisories().await?.into_iter().map(|stored| stored.advisory).collect();
    Ok(AdvisoryIndex::new(advisories))
}

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
                update.classification = model::Classification::Security;
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

/// True when `candidate` is at or past `fixed` in the host's version order. A version that
/// cannot be compared fixes nothing: never claimed fixed on a guess.
pub(crate) fn reaches(scheme: version::Scheme, candidate: &str, fixed: &str) -> bool {
    matches!(version::compare(scheme, candidate, fixed), Ok(Ordering::Greater | Ordering::Equal))
}
