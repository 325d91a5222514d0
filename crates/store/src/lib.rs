//! The state database: the hosts patchctl has seen, the SSH host keys pinned for them, and every
//! assessment attempt over time. The only crate with SQL.
//!
//! [`Store`] is the interface the application uses; behind it each database has its own module
//! (`sqlite.rs` now, PostgreSQL later) with its own migrations under `migrations/<database>/`,
//! and no `AnyPool`: the SQL is written to port (TEXT ids, INTEGER Unix times, BOOLEAN flags,
//! JSON as TEXT), but each database keeps its own, tested queries.
//!
//! The store reads no clock: every time is passed in, like everywhere else in patchctl.

mod error;
mod records;
mod sqlite;

use std::path::Path;

pub use error::StoreError;
pub use records::{
    ASSESSMENT_FORMAT, AssessmentOutcome, AssessmentRecord, AssessmentSummaryRow, Failure, HostRow,
    PinOutcome, PinnedHostKey, StoredAssessment, StoredHost, SummaryOutcome,
};

/// A connection pool to the state database, migrated to the current schema.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::Sqlite),
}

impl Store {
    /// Opens (creating it if needed) an SQLite database file and migrates it. WAL mode, so that
    /// readers never wait for writers; a busy timeout, so that concurrent writers (several
    /// tasks, or several patchctl processes) wait for each other instead of failing.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store { backend: Backend::Sqlite(sqlite::Sqlite::open(path).await?) })
    }

    /// A private in-memory SQLite database, migrated: for tests.
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        Ok(Store { backend: Backend::Sqlite(sqlite::Sqlite::open_in_memory().await?) })
    }

    /// Inserts a host, or updates its address, environment and package manager (a `None`
    /// package manager keeps the known one) and moves `last_seen` forward.
    pub async fn upsert_host(&self, host: &HostRow) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.upsert_host(host).await,
        }
    }

    /// Every host, by name.
    pub async fn hosts(&self) -> Result<Vec<StoredHost>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.hosts().await,
        }
    }

    /// Pins a host key. Pinning the key already pinned is a no-op; a different key is refused
    /// with [`StoreError::HostKeyMismatch`] (a changed key is never replaced silently: see
    /// [`Store::unpin_host_key`]). The host must have been upserted.
    pub async fn pin_host_key(&self, key: &PinnedHostKey) -> Result<PinOutcome, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.pin_host_key(key).await,
        }
    }

    /// The key pinned for a host, if any.
    pub async fn host_key(&self, host: &str) -> Result<Option<PinnedHostKey>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.host_key(host).await,
        }
    }

    /// Forgets a host's pinned key, for a deliberate change (a reinstalled host). True when
    /// one was pinned.
    pub async fn unpin_host_key(&self, host: &str) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.unpin_host_key(host).await,
        }
    }

    /// Records one assessment attempt and returns its id. The host must have been upserted.
    pub async fn record_assessment(&self, record: &AssessmentRecord) -> Result<String, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.record_assessment(record).await,
        }
    }

    /// The latest attempt for each host (or for each of `hosts`), successful or not, by host
    /// name. Hosts never assessed are absent.
    pub async fn latest_assessments(
        &self,
        hosts: Option<&[String]>,
    ) -> Result<Vec<AssessmentSummaryRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.latest_assessments(hosts).await,
        }
    }

    /// A host's attempts, newest first, at most `limit`.
    pub async fn history(
        &self,
        host: &str,
        limit: u32,
    ) -> Result<Vec<AssessmentSummaryRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.history(host, limit).await,
        }
    }

    /// One attempt in full, with its assessment when it succeeded.
    pub async fn assessment(&self, id: &str) -> Result<Option<StoredAssessment>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.assessment(id).await,
        }
    }

    /// Closes every connection, after the writes in flight; the file is complete afterwards.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(db) => db.close().await,
        }
    }
}
