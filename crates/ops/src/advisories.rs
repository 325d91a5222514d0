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
