//! Advisories in the application: importing OSV and updateinfo files into the store, reading
//! them back as a matching index, and the exposure of hosts; which updates fix which advisories
//! and what a host is exposed to is decided in `model::advisory::marking`, called here on the
//! assessments read from the store (`exposure.rs`), matched on every core (`parallel.rs`).

pub(crate) mod exposure;
mod import;
pub(crate) mod parallel;

use model::advisory::AdvisoryIndex;
pub use model::advisory::marking::annotate_assessment;
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

/// `advisories import FILE...`: OSV records and updateinfo files read and imported, at the
/// clock's now.
pub async fn import(
    ctx: &crate::Context,
    files: &[std::path::PathBuf],
) -> Result<ImportReport, import::ImportError> {
    import_advisories(ctx.store().await?, files, ctx.clock.now_unix()).await
}

/// `advisories list`: every advisory on record.
pub async fn list(ctx: &crate::Context) -> Result<Vec<store::StoredAdvisory>, crate::QueryError> {
    Ok(ctx.store().await?.advisories().await?)
}

/// `advisories show ID`: the advisories with this id, or that fix it (a CVE).
pub async fn find(
    ctx: &crate::Context,
    id: &str,
) -> Result<Vec<store::StoredAdvisory>, crate::QueryError> {
    Ok(ctx.store().await?.advisories_by_id(id).await?)
}

/// `cves [SELECTOR...]`: each selected host's exposure to known CVEs.
pub async fn host_exposures(
    ctx: &crate::Context,
    selectors: &[String],
) -> Result<Vec<HostExposure>, crate::QueryError> {
    let hosts = ctx.hosts(selectors)?;
    let store = ctx.store().await?;
    let index = load_index(store).await?;
    Ok(exposure(store, &index, &hosts).await?)
}

/// `cve CVE-ID [SELECTOR...]`: the advisories naming the CVE, and each selected host's verdict.
pub async fn cve(
    ctx: &crate::Context,
    cve: &str,
    selectors: &[String],
) -> Result<(Vec<model::advisory::Advisory>, Vec<CveHost>), crate::QueryError> {
    let hosts = ctx.hosts(selectors)?;
    let store = ctx.store().await?;
    let advisories: Vec<_> = store
        .advisories_by_id(cve)
        .await?
        .into_iter()
        .map(|stored| stored.advisory)
        .filter(|advisory| advisory.cves.iter().any(|c| c == cve))
        .collect();
    let index = AdvisoryIndex::new(advisories.clone());
    let report = cve_report(store, &index, &hosts).await?;
    Ok((advisories, report))
}

/// An advisory on record in its JSON form.
pub fn record_output(
    stored: &store::StoredAdvisory,
) -> protocol::output::advisory::AdvisoryRecordV1 {
    protocol::output::advisory::AdvisoryRecordV1 {
        advisory: (&stored.advisory).into(),
        source_file: stored.source_file.clone(),
        imported_at: model::dates::rfc3339_unix(stored.imported_at_unix),
    }
}

/// `cve`'s report in its JSON form: the CVE, the advisories that fix it, each host's verdict.
pub fn cve_output(
    cve: &str,
    advisories: &[model::advisory::Advisory],
    report: &[CveHost],
) -> protocol::output::advisory::CveReportV1 {
    use protocol::output::advisory::{CveHostV1, CveReportV1};
    CveReportV1 {
        cve: cve.to_owned(),
        advisories: advisories.iter().map(|a| a.id.clone()).collect(),
        hosts: report.iter().map(CveHostV1::from).collect(),
    }
}
