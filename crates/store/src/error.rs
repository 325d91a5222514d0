//! What can go wrong with the state database, with what was being done and where.

use std::path::PathBuf;

use crate::{RolloutPhase, StepState};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or created, or is not an SQLite database; or the
    /// PostgreSQL server (`path`: its URL without the password) could not be reached.
    #[error("opening the state database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    /// The file was migrated by a newer patchctl, whose schema this one does not know.
    #[error(
        "the state database {path} was written by a newer patchctl (schema version {version}); \
         use that version or newer"
    )]
    NewerSchema { path: PathBuf, version: i64 },
    /// The schema could not be brought up to date.
    #[error("migrating the state database {path}: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed; `doing` says what patchctl was doing (e.g. "recording an assessment of
    /// deb1").
    #[error("{doing}: {source}")]
    Query {
        doing: String,
        #[source]
        source: sqlx::Error,
    },
    /// The host has no row yet: hosts are upserted before anything is recorded about them.
    #[error("{doing}: host {host:?} is not in the state database (upsert it first)")]
    UnknownHost { doing: String, host: String },
    /// A different key is already pinned for the host.
    #[error(
        "pinning a host key for {host}: a different key is already pinned ({pinned_fingerprint}, \
         offered {offered_fingerprint}); unpin it first if the change is legitimate"
    )]
    HostKeyMismatch { host: String, pinned_fingerprint: String, offered_fingerprint: String },
    /// A value cannot be stored (a duration beyond `i64` milliseconds, a count beyond `i64`).
    #[error("{doing}: {message}")]
    InvalidValue { doing: String, message: String },
    /// A row holds what this version of patchctl cannot read (an unknown assessment format, JSON
    /// that does not parse, a value out of range).
    #[error("{doing}: unreadable row: {message}")]
    CorruptRow { doing: String, message: String },
    /// A plan or rollout id, or a prefix of one, that does not have the expected form.
    #[error("{given:?} is not a {kind} id: expected {expected}")]
    InvalidId { kind: &'static str, given: String, expected: &'static str },
    /// A prefix that names several plans or rollouts.
    #[error("{prefix:?} matches {n_matches} {kind}s; give more of the id")]
    AmbiguousId { kind: &'static str, prefix: String, n_matches: u64 },
    /// A plan saved again under its id with a different body. Ids are content hashes, so
    /// either the caller's hash is wrong or the stored plan was tampered with.
    #[error(
        "saving plan {id}: a different plan is already saved under this id (plans are \
         immutable: a changed plan has a new id)"
    )]
    PlanConflict { id: String },
    /// The plan has no row: plans are saved before rollouts of them are created.
    #[error("{doing}: plan {plan_id} is not in the state database (save it first)")]
    UnknownPlan { doing: String, plan_id: String },
    /// The rollout has no row.
    #[error("{doing}: rollout {rollout_id} is not in the state database")]
    UnknownRollout { doing: String, rollout_id: String },
    /// A rollout with this id exists already; ids are random, so make another.
    #[error("creating rollout {rollout_id}: a rollout with this id exists already")]
    RolloutExists { rollout_id: String },
    /// The lease the caller writes under (renewing it, appending to the journal) is no longer
    /// its own: another process claimed the rollout since, and may have driven it. The caller
    /// must stop: it wrote nothing.
    #[error(
        "{doing}: the lease on rollout {rollout_id} is no longer {owner}'s (token {token}): {}; \
         nothing was written",
        lease_holder(.holder)
    )]
    LeaseLost {
        doing: String,
        rollout_id: String,
        owner: String,
        token: i64,
        holder: Option<String>,
    },
    /// The scheduler's leadership the caller renews is no longer its own: another process
    /// claimed it since (or a claim by this one replaced the token). The caller must stop
    /// starting anything at once.
    #[error(
        "renewing {owner}'s leadership of the scheduler (token {token}): {}",
        lease_holder(.holder)
    )]
    LeadershipLost { owner: String, token: i64, holder: Option<String> },
    /// The lease on a host step the caller writes under (renewing it, completing the step) is
    /// no longer its own: another process claimed the step since (its lease ran out), or the
    /// rollout's driver abandoned it, or it was completed already. The caller must stop working
    /// on the step: nothing was written.
    #[error("{doing}: {step}; nothing was written")]
    StepLost { doing: String, step: Box<LostStep> },
    /// The step has no row.
    #[error("{doing}: rollout {rollout_id} has no step {token}")]
    UnknownStep { doing: String, rollout_id: String, token: i64 },
    /// The plan has a rollout already, and running it again was not asked for.
    #[error(
        "plan {plan_id} was run already by rollout {rollout_id} ({phase}): a plan runs once; \
         `rollout start --again --reason \"...\"` runs it again"
    )]
    PlanAlreadyRun { plan_id: String, rollout_id: String, phase: RolloutPhase },
    /// Hosts of a new rollout (or of one reopened) are claimed by another unfinished rollout.
    #[error("{doing}: {}", claims_text(.claims))]
    HostsClaimed { doing: String, claims: Vec<HostClaim> },
    /// The PostgreSQL database a copy was to go into holds rows already: copying over a live
    /// state would mix two histories.
    #[error(
        "copying the state into {target}: table {table} holds rows already; a state is copied \
         into an empty database only, since copying over one would mix two histories"
    )]
    CopyTargetNotEmpty { target: PathBuf, table: String },
    /// No postmortem has this id.
    #[error("no postmortem has the id {id}")]
    UnknownPostmortem { id: i64 },
    /// A closed postmortem stays closed: its root cause is evidence.
    #[error("postmortem {id} was closed already, by {closed_by} at Unix time {closed_at_unix}")]
    PostmortemClosed { id: i64, closed_by: String, closed_at_unix: i64 },
}

/// A host claimed by an unfinished rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostClaim {
    pub host: String,
    pub rollout_id: String,
    pub phase: RolloutPhase,
}

fn claims_text(claims: &[HostClaim]) -> String {
    let listed: Vec<String> = claims
        .iter()
        .map(|c| format!("{} by rollout {} ({})", c.host, c.rollout_id, c.phase))
        .collect();
    format!(
        "hosts are claimed by unfinished rollouts: {}; a host is changed by one rollout at a \
         time: finish, cancel or resume that rollout first",
        listed.join(", ")
    )
}

/// Who has a lease that was lost, in words.
fn lease_holder(holder: &Option<String>) -> String {
    match holder {
        Some(holder) => format!("it is held by {holder} now"),
        None => "it was released".to_owned(),
    }
}

/// A host step whose lease was lost ([`StoreError::StepLost`]): the lease, and where the step
/// stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostStep {
    pub rollout_id: String,
    pub token: i64,
    pub host: String,
    /// Whose lease it was, and its fencing token.
    pub owner: String,
    pub fence: i64,
    /// Where the step stands now, who claimed it last, and that claim's fencing token.
    pub state: StepState,
    pub holder: Option<String>,
    pub current_fence: i64,
}

impl std::fmt::Display for LostStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let LostStep { rollout_id, token, host, owner, fence, .. } = self;
        write!(
            f,
            "step {token} ({host}) of rollout {rollout_id} is no longer {owner}'s (fence {fence}): "
        )?;
        let holder = self.holder.as_deref().unwrap_or("nobody");
        let current = self.current_fence;
        match self.state {
            StepState::Claimed => write!(f, "{holder} claimed it since (fence {current})"),
            StepState::Done => {
                write!(f, "it was completed already, by {holder} (fence {current})")
            }
            StepState::Abandoned => f.write_str("the rollout's driver abandoned it"),
            StepState::Queued => f.write_str("it is queued, never claimed"),
        }
    }
}

/// Turns a failed query into [`StoreError::Query`], saying what was being done: the one place
/// every backend's query errors go through.
pub(crate) trait QueryContext<T> {
    fn doing(self, doing: impl FnOnce() -> String) -> Result<T, StoreError>;

    /// Like [`QueryContext::doing`], with a violated constraint (a foreign key: the row it
    /// names is missing; a unique key: it exists already) told apart first: `meaning` turns its
    /// kind into the error it stands for, or `None` to keep the query error.
    fn doing_unless(
        self,
        doing: impl FnOnce() -> String,
        meaning: impl FnOnce(sqlx::error::ErrorKind) -> Option<StoreError>,
    ) -> Result<T, StoreError>;
}

impl<T> QueryContext<T> for Result<T, sqlx::Error> {
    fn doing(self, doing: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { doing: doing(), source })
    }

    fn doing_unless(
        self,
        doing: impl FnOnce() -> String,
        meaning: impl FnOnce(sqlx::error::ErrorKind) -> Option<StoreError>,
    ) -> Result<T, StoreError> {
        self.map_err(|source| {
            let meant = match &source {
                sqlx::Error::Database(e) => meaning(e.kind()),
                _ => None,
            };
            meant.unwrap_or_else(|| StoreError::Query { doing: doing(), source })
        })
    }
}
