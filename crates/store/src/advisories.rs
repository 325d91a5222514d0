//! Security advisories imported from feeds: the records, and [`Advisories`], what every
//! backend implements for them.

use model::advisory::Advisory;

use crate::StoreError;

/// The shape of the advisory JSON this version writes: `protocol::advisory::AdvisoryV1`, stored
/// with each row like [`crate::ASSESSMENT_FORMAT`].
pub const ADVISORY_FORMAT: i64 = 1;

/// Imported advisories.
#[async_trait::async_trait]
pub trait Advisories: Send + Sync {
    /// Imports advisories: new ones are inserted, known ones (same id and format) replaced, so
    /// importing a file twice never duplicates anything. They are written in transactions of
    /// at most 1,000 records, so that a large feed never holds SQLite's write lock for long
    /// (a rollout's journal writes wait for it). A failure mid-way leaves the batches before
    /// it imported: the records are independent, and importing the same files again finishes
    /// the job, as a re-import is idempotent. The counts are those of the whole import.
    async fn import_advisories(
        &self,
        advisories: &[NewAdvisory<'_>],
        imported_at_unix: i64,
    ) -> Result<AdvisoryImportCounts, StoreError>;

    /// Every advisory, by id and format.
    async fn advisories(&self) -> Result<Vec<StoredAdvisory>, StoreError>;

    /// The advisories with this id (one per format), or that fix this CVE.
    async fn advisories_by_id(&self, id: &str) -> Result<Vec<StoredAdvisory>, StoreError>;
}

/// An advisory to import, with where it came from.
#[derive(Debug, Clone)]
pub struct NewAdvisory<'a> {
    pub advisory: &'a Advisory,
    pub source_file: &'a str,
}

/// What an import did to the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdvisoryImportCounts {
    /// Advisories not known before.
    pub inserted: u64,
    /// Known advisories whose content changed (a newer version of the record).
    pub updated: u64,
    /// Known advisories imported again as they were.
    pub unchanged: u64,
}

/// An advisory as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAdvisory {
    pub advisory: Advisory,
    pub source_file: String,
    pub imported_at_unix: i64,
}
