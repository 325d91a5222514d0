//! Every assessment attempt over time: the records, and [`Assessments`], what every backend
//! implements for them.

use model::{Assessment, PackageManagerKind, Summary};

use crate::StoreError;

/// The shape of the assessment JSON this version writes: `protocol::assessment::AssessmentV1`.
/// Stored with each row, so that a later shape (an `AssessmentV2`) can still read old rows
/// through the old form instead of failing on them.
pub const ASSESSMENT_FORMAT: i64 = 1;

/// Assessment attempts, successful or not, of hosts already upserted.
#[async_trait::async_trait]
pub trait Assessments: Send + Sync {
    /// Records one assessment attempt and returns its id. The host must have been upserted.
    async fn record_assessment(&self, record: &AssessmentRecord) -> Result<String, StoreError>;

    /// The latest attempt for each host (or for each of `hosts`), successful or not, by host
    /// name. Hosts never assessed are absent.
    async fn latest_assessments(
        &self,
        hosts: Option<&[String]>,
    ) -> Result<Vec<AssessmentSummaryRow>, StoreError>;

    /// A number that grows with every attempt recorded, by any process, and changes with
    /// nothing else: a reader that kept [`Assessments::latest_assessments`] knows it is still
    /// the latest while the mark is unchanged. Attempts are never deleted.
    async fn assessments_mark(&self) -> Result<i64, StoreError>;

    /// A host's attempts, newest first, at most `limit`.
    async fn history(
        &self,
        host: &str,
        limit: u32,
    ) -> Result<Vec<AssessmentSummaryRow>, StoreError>;

    /// Every successful assessment of a host in full, oldest first: the snapshots from which
    /// compliance learns when each pending update was first seen.
    async fn assessments_of(&self, host: &str) -> Result<Vec<StoredAssessment>, StoreError>;

    /// One attempt in full, with its assessment when it succeeded.
    async fn assessment(&self, id: &str) -> Result<Option<StoredAssessment>, StoreError>;
}

/// One attempt to assess a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentRecord {
    pub host: String,
    /// When the attempt started (Unix seconds).
    pub taken_at_unix: i64,
    pub duration_ms: u64,
    pub outcome: AssessmentOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssessmentOutcome {
    Assessed(Box<Assessment>),
    Failed(Failure),
}

/// Why an attempt failed: an expected failure of a host, recorded as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A stable snake_case code the application defines (`refused`, `timed_out`,
    /// `auth_failed`, `host_key_changed`, `package_manager_broken`, …), for filtering and
    /// counting.
    pub kind: String,
    /// The message shown to people.
    pub message: String,
}

/// A stored attempt, in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAssessment {
    pub id: String,
    pub record: AssessmentRecord,
}

/// A stored attempt without its assessment document: what listings and history show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentSummaryRow {
    pub id: String,
    pub host: String,
    pub taken_at_unix: i64,
    pub duration_ms: u64,
    pub outcome: SummaryOutcome,
    /// The package manager a successful attempt found; `None` for a failed one, or one recorded
    /// before the store kept it.
    pub package_manager: Option<PackageManagerKind>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryOutcome {
    Assessed(Summary),
    Failed(Failure),
}
