//! The advisories the store takes and gives back.

use model::advisory::Advisory;

/// The shape of the advisory JSON this version writes: `model::advisory::Advisory` as serde
/// writes it, stored with each row like [`crate::ASSESSMENT_FORMAT`].
pub const ADVISORY_FORMAT: i64 = 1;

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
