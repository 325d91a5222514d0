//! The values the store takes and gives back: plain data, independent of any database.

use model::{Assessment, PackageManagerKind, Summary};

/// The shape of the assessment JSON this version writes: `model::Assessment` as serde writes
/// it. Stored with each row, so that a later change of the domain type can still read old rows
/// (with a converter for the old format) instead of failing on them.
pub const ASSESSMENT_FORMAT: i64 = 1;

/// A host as the inventory and the latest contact describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRow {
    pub name: String,
    pub address: String,
    pub environment: String,
    /// `None`: unknown yet; an upsert with `None` keeps what is known.
    pub package_manager: Option<PackageManagerKind>,
    /// When patchctl saw the host (Unix seconds): `first_seen` on insert, `last_seen` always.
    pub seen_at_unix: i64,
}

/// A host as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHost {
    pub name: String,
    pub address: String,
    pub environment: String,
    pub package_manager: Option<PackageManagerKind>,
    pub first_seen_unix: i64,
    pub last_seen_unix: i64,
}

/// A pinned SSH host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedHostKey {
    pub host: String,
    /// e.g. `ssh-ed25519`.
    pub key_type: String,
    /// The key blob in base64, as OpenSSH writes it.
    pub key: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    pub pinned_at_unix: i64,
    /// Who accepted the key: a user name, or `inventory` for a key written in the inventory.
    pub pinned_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    Pinned,
    /// That very key was pinned already; nothing changed (its `pinned_at` is kept).
    AlreadyPinned,
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
