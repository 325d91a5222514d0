//! The state database: the hosts patchctl has seen, the SSH host keys pinned for them, every
//! assessment attempt over time, the action plans and their change journals, the rollouts that
//! carry them out with the lease of the process driving each, each rollout's append-only,
//! hash-chained journal, advisories, postmortems, notification deliveries, and the server's
//! users and API tokens. The only crate with SQL.
//!
//! It is laid out by aggregate. Each file at the top names one (`hosts.rs`, `assessments.rs`,
//! `plans.rs`, `changes.rs`, `compliance.rs`, `rollouts.rs` with `rollouts/journal.rs` and
//! `rollouts/verified.rs`, `host_steps.rs`, `advisories.rs`, `postmortems.rs`, `notifications.rs`,
//! `identities.rs`, `leader.rs`: the scheduler's leadership) and holds its records and its trait: what every database implements for
//! it. [`Backend`] (`backend.rs`) is all of them together, with what concerns the database as a
//! whole. Each database is a module implementing them, with a file per aggregate under it:
//! `sqlite.rs` with `sqlite/`, and `postgres.rs` with `postgres/` (the same files), each with
//! its own migrations under `migrations/<database>/` (same numbers, same meaning) and no
//! `AnyPool`: the SQL is written to port (TEXT ids, integer Unix times, BOOLEAN flags, JSON as
//! TEXT), but each database keeps its own, tested queries, and PostgreSQL locks rows, the host
//! claims or an advisory lock where SQLite relies on its single writer. The store's tests run
//! on both. `copy.rs` copies an SQLite state, whole, into an empty PostgreSQL database.
//!
//! [`Store`] is what the application holds: the backend, reached through `Deref` for every
//! call that needs no check, and the methods that check their arguments first
//! (`validate.rs`). A backend method taking a `Checked` is reached only through them: nobody
//! else can make one. Query errors go through `error.rs`'s `QueryContext`, which says what was
//! being done.
//!
//! The store reads no clock: every time is passed in, like everywhere else in patchctl.

mod advisories;
mod assessments;
mod backend;
mod changes;
mod compliance;
mod copy;
mod error;
mod host_steps;
mod hosts;
mod identities;
mod journal_chain;
mod leader;
mod notifications;
mod plans;
mod postgres;
mod postmortems;
mod rollouts;
mod sqlite;
mod validate;
mod wake_ups;

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

pub use advisories::{
    ADVISORY_FORMAT, Advisories, AdvisoryImportCounts, NewAdvisory, StoredAdvisory,
};
pub use assessments::{
    ASSESSMENT_FORMAT, AssessmentOutcome, AssessmentRecord, AssessmentSummaryRow, Assessments,
    Failure, StoredAssessment, SummaryOutcome,
};
pub use backend::Backend;
pub use changes::{AcceptChange, ChangeEntry, Changes, NewChangeEntry, WindowClaim};
pub use compliance::{ComplianceDay, ComplianceDays};
pub use copy::{CopyReport, TableCopied, copy_sqlite_to_postgres};
pub use error::{HostClaim, LostStep, StoreError};
pub use host_steps::{
    ClaimedStep, HostStepRow, HostSteps, NewHostStep, StepClaim, StepLease, StepScope, StepState,
};
pub use hosts::{HostRow, Hosts, PinOutcome, PinnedHostKey, StoredHost};
pub use identities::{Identities, IdentityEvent, NewToken, NewUser, StoredToken, StoredUser};
pub use leader::{LeaderClaim, Leadership, SchedulerLeader};
pub use notifications::{NotificationRecord, Notifications, StoredNotification};
pub use plans::{Plans, StoredPlan, StoredPlanSummary};
/// PostgreSQL's hot-path queries, for the test that `EXPLAIN`s them.
#[doc(hidden)]
pub use postgres::hot_queries as postgres_hot_queries;
pub use postgres::{
    IDLE_IN_TRANSACTION, PoolSettings, connect_options as postgres_connect_options, redact_url,
};
pub use postmortems::{
    NewPostmortem, Opened, PostmortemClosure, PostmortemEvent, Postmortems, StoredPostmortem,
};
pub use rollouts::journal::{
    JournalBreak, JournalCheck, JournalEntry, NewJournalEntry, PhaseUpdate, RolloutJournals,
};
pub use rollouts::verified::{VerifiedHost, VerifiedVersion, VerifiedVersions};
pub use rollouts::{Claim, Lease, NewRollout, RolloutPhase, RolloutRow, Rollouts};

pub use wake_ups::WakeUps;

use validate::CHECKED;

/// The state database, migrated to the current schema: a shared handle (cloning it is cheap)
/// to its backend. Every backend method that needs no check is called on the store directly
/// (`store.hosts()`, through `Deref`); those below check their arguments first.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &(dyn Backend + 'static) {
        &*self.backend
    }
}

impl Store {
    /// Opens (creating it if needed) an SQLite database file and migrates it. WAL mode, so that
    /// readers never wait for writers; a busy timeout, so that concurrent writers (several
    /// tasks, or several patchctl processes) wait for each other instead of failing.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store { backend: Arc::new(sqlite::Sqlite::open(path).await?) })
    }

    /// Connects to a PostgreSQL database (`postgres://user:password@host:port/database`),
    /// which must exist, and migrates it. Several patchctl processes may share it.
    pub async fn open_url(url: &str) -> Result<Store, StoreError> {
        Store::open_url_with(url, PoolSettings::default()).await
    }

    /// [`Store::open_url`] with a pool of `settings` (its size, its wait for a connection).
    pub async fn open_url_with(url: &str, settings: PoolSettings) -> Result<Store, StoreError> {
        Ok(Store { backend: Arc::new(postgres::Postgres::open(url, settings).await?) })
    }

    /// A private in-memory SQLite database, migrated: for tests.
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        Ok(Store { backend: Arc::new(sqlite::Sqlite::open_in_memory().await?) })
    }

    /// Creates a new, empty state database at `path` (which must not exist), marked a
    /// rehearsal: for rehearsing from nothing, as tests do.
    pub async fn create_empty_rehearsal(path: &Path, now_unix: i64) -> Result<Store, StoreError> {
        if path.exists() {
            return Err(StoreError::InvalidValue {
                doing: format!("creating the rehearsal state {}", path.display()),
                message: "the file exists already: a rehearsal is made new, never over a state"
                    .to_owned(),
            });
        }
        let db = sqlite::Sqlite::open(path).await?;
        db.mark_rehearsal("", now_unix).await?;
        Ok(Store { backend: Arc::new(db) })
    }

    /// Saves a plan under its id (`sha256:` and 64 lowercase hex digits, the hash of its
    /// content, which the caller computes and checks). Plans are immutable: saving the same
    /// body again is a no-op that keeps the first `created_at`; a different body under the
    /// same id is [`StoreError::PlanConflict`].
    pub async fn save_plan(
        &self,
        id: &str,
        created_at_unix: i64,
        body_json: &str,
    ) -> Result<(), StoreError> {
        validate::check_plan_id(id)?;
        validate::check_json(body_json, || format!("saving plan {id}"), "the plan")?;
        self.backend.save_plan(CHECKED, id, created_at_unix, body_json).await
    }

    /// The plan with this id, or whose hex digits begin with these (at least 6, with or
    /// without `sha256:`); a prefix that matches several is [`StoreError::AmbiguousId`].
    pub async fn plan(&self, id_or_prefix: &str) -> Result<Option<StoredPlan>, StoreError> {
        let prefix = validate::plan_prefix(id_or_prefix)?;
        self.backend.plan(CHECKED, &prefix).await
    }

    /// Appends an action to the change journal of plan `plan_id` (saved already), chained to
    /// the one before, when `accept` (given the journal as it is, inside the write
    /// transaction) says yes. `Ok(Err(reason))`: `accept` refused, nothing was written.
    pub async fn append_change(
        &self,
        plan_id: &str,
        entry: &NewChangeEntry,
        accept: &AcceptChange<'_>,
    ) -> Result<Result<i64, String>, StoreError> {
        validate::check_plan_id(plan_id)?;
        validate::check_json(
            &entry.body_json,
            || format!("recording a change of plan {plan_id}"),
            "the body of the change entry",
        )?;
        self.backend.append_change(CHECKED, plan_id, entry, accept).await
    }

    /// Creates a rollout of a saved plan, in phase [`RolloutPhase::Created`] and unowned, with
    /// its hosts claimed and its first journal entries, all in one transaction. Refused with
    /// [`StoreError::PlanAlreadyRun`] when the plan has a rollout already (unless
    /// `rollout.again`), and with [`StoreError::HostsClaimed`] when one of its hosts is claimed
    /// by another unfinished rollout: a host is changed by one rollout at a time.
    pub async fn create_rollout(&self, rollout: &NewRollout) -> Result<(), StoreError> {
        let doing = || format!("creating rollout {}", rollout.id);
        validate::check_rollout_id(&rollout.id)?;
        validate::check_plan_id(&rollout.plan_id)?;
        validate::check_json(&rollout.config_json, doing, "the rollout's configuration")?;
        validate::check_entries(&rollout.first_entries, doing)?;
        self.backend.create_rollout(CHECKED, rollout).await
    }

    /// The rollout with this id, else the one whose id begins with these hex digits (at least
    /// 6); a prefix that matches several is [`StoreError::AmbiguousId`].
    pub async fn rollout(&self, id_or_prefix: &str) -> Result<Option<RolloutRow>, StoreError> {
        let prefix = validate::rollout_prefix(id_or_prefix)?;
        self.backend.rollout(CHECKED, &prefix).await
    }

    /// Takes the lease on a rollout for `lease_seconds` from `now_unix`, so that one process
    /// at a time drives it: granted when nobody holds it or when the holder's lease has run
    /// out, never because the holder seems dead. Every grant bumps the rollout's fencing
    /// token, which the returned [`Lease`] carries. Of several processes claiming at once,
    /// exactly one gets [`Claim::Claimed`].
    pub async fn claim_rollout(
        &self,
        id: &str,
        owner: &str,
        now_unix: i64,
        lease_seconds: u32,
    ) -> Result<Claim, StoreError> {
        let doing = || format!("claiming rollout {id}");
        let until_unix = validate::lease_end(doing, now_unix, lease_seconds)?;
        self.backend.claim_rollout(CHECKED, id, owner, now_unix, until_unix).await
    }

    /// Extends a lease to `lease_seconds` from `now_unix`. Fails with
    /// [`StoreError::LeaseLost`] when the rollout no longer carries its token (claimed by
    /// another process, even if since released): the caller must stop driving the rollout. A
    /// lease that ran out but that nobody else claimed is still the caller's and is renewed.
    pub async fn renew_rollout_lease(
        &self,
        lease: &Lease,
        now_unix: i64,
        lease_seconds: u32,
    ) -> Result<Lease, StoreError> {
        let doing = || format!("renewing the lease on rollout {}", lease.rollout_id);
        let until_unix = validate::lease_end(doing, now_unix, lease_seconds)?;
        self.backend.renew_rollout_lease(CHECKED, lease, until_unix).await
    }

    /// Takes the scheduler's leadership for `lease_seconds` from `now_unix`, so that of the
    /// processes sharing this state one starts what is due and sends the notices: granted
    /// when nobody leads or when the leader's lease has run out, never because it seems dead;
    /// a leader claiming again is told it holds it. Every grant bumps the fencing token, which the returned
    /// [`Leadership`] carries. Of several processes claiming at once, exactly one leads.
    pub async fn claim_leadership(
        &self,
        owner: &str,
        now_unix: i64,
        lease_seconds: u32,
    ) -> Result<LeaderClaim, StoreError> {
        let doing = || format!("claiming the scheduler's leadership for {owner}");
        let until_unix = validate::lease_end(doing, now_unix, lease_seconds)?;
        self.backend.claim_leadership(CHECKED, owner, now_unix, until_unix).await
    }

    /// Extends the leadership to `lease_seconds` from `now_unix`. Fails with
    /// [`StoreError::LeadershipLost`] when the row no longer carries its token (another
    /// process claimed it, even if it released it since): the caller must stop starting
    /// things at once. A lease that ran out but that nobody else claimed is renewed.
    pub async fn renew_leadership(
        &self,
        leadership: &Leadership,
        now_unix: i64,
        lease_seconds: u32,
    ) -> Result<Leadership, StoreError> {
        let doing = || format!("renewing the scheduler's leadership for {}", leadership.owner);
        let until_unix = validate::lease_end(doing, now_unix, lease_seconds)?;
        self.backend.renew_leadership(CHECKED, leadership, until_unix).await
    }

    /// Appends entries to a rollout's journal, and sets its phase when `phase` is given, all
    /// or none, under `lease`: the rollout must still carry the lease's token, checked inside
    /// the write transaction, else [`StoreError::LeaseLost`] and nothing is written. Returns
    /// the entries' seqs: they continue from the last entry's (the first entry is 1), and each
    /// entry's hash chains it to the one before (see `journal_chain.rs`). Concurrent appenders
    /// are serialized, each batch staying contiguous. A phase that reopens a finished rollout
    /// is refused with [`StoreError::HostsClaimed`] when another rollout has claimed one of
    /// its hosts since.
    pub async fn append_journal(
        &self,
        lease: &Lease,
        entries: &[NewJournalEntry],
        phase: Option<&PhaseUpdate>,
    ) -> Result<Vec<i64>, StoreError> {
        self.append_journal_verified(lease, entries, phase, &[]).await
    }

    /// [`Store::append_journal`], replacing in the same transaction the verified versions of
    /// the hosts `verified` names (see [`VerifiedVersions::verified_versions`]): the entries
    /// are what proves them, so both are written or neither.
    pub async fn append_journal_verified(
        &self,
        lease: &Lease,
        entries: &[NewJournalEntry],
        phase: Option<&PhaseUpdate>,
        verified: &[VerifiedHost],
    ) -> Result<Vec<i64>, StoreError> {
        let doing = || format!("appending to the journal of rollout {}", lease.rollout_id);
        validate::check_entries(entries, doing)?;
        validate::check_verified(&lease.rollout_id, verified, doing)?;
        if entries.is_empty() && phase.is_none() && verified.is_empty() {
            return Ok(Vec::new());
        }
        self.backend.append_journal(CHECKED, lease, entries, phase, verified).await
    }

    /// Records the verified versions of a rollout read from its journal up to entry
    /// `through_seq`, replacing any, and marks it recorded. False, writing nothing, when the
    /// journal has grown since (read it again).
    pub async fn record_verified(
        &self,
        rollout_id: &str,
        through_seq: i64,
        hosts: &[VerifiedHost],
    ) -> Result<bool, StoreError> {
        validate::check_verified(rollout_id, hosts, || {
            format!("recording the verified versions of rollout {rollout_id}")
        })?;
        self.backend.record_verified(CHECKED, rollout_id, through_seq, hosts).await
    }

    /// Appends entries without a lease: only for requests to the process driving the rollout
    /// (pause, cancel, a rollback), which it reads and decides on under its own lease.
    pub async fn append_request(
        &self,
        rollout_id: &str,
        entries: &[NewJournalEntry],
    ) -> Result<Vec<i64>, StoreError> {
        validate::check_entries(entries, || format!("asking the driver of rollout {rollout_id}"))?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        self.backend.append_request(CHECKED, rollout_id, entries).await
    }

    /// Opens a postmortem and records who opened it (`body_json`: the details, for the
    /// record). One per subject: when one exists already it is returned as
    /// [`Opened::Exists`], unchanged, so that automatic openers can call this every time.
    pub async fn open_postmortem(
        &self,
        new: &NewPostmortem,
        body_json: &str,
    ) -> Result<Opened, StoreError> {
        validate::check_json(body_json, || "opening a postmortem".to_owned(), "its details")?;
        if new.due_at_unix < new.opened_at_unix {
            return Err(StoreError::InvalidValue {
                doing: format!("opening a postmortem for {}", new.subject_ref),
                message: "it would be due before it is opened".to_owned(),
            });
        }
        self.backend.open_postmortem(CHECKED, new, body_json).await
    }

    /// Closes an open postmortem with its root cause, and records who closed it. A closed
    /// one is [`StoreError::PostmortemClosed`]; an unknown id [`StoreError::UnknownPostmortem`].
    pub async fn close_postmortem(
        &self,
        id: i64,
        closure: &PostmortemClosure,
        body_json: &str,
    ) -> Result<StoredPostmortem, StoreError> {
        validate::check_json(body_json, || format!("closing postmortem {id}"), "its details")?;
        self.backend.close_postmortem(CHECKED, id, closure, body_json).await
    }

    /// Records one delivery attempt of a notification, delivered or not; returns its id. Every
    /// URL of its target and error is redacted first ([`NotificationRecord::redacted`]).
    pub async fn record_notification(
        &self,
        record: &NotificationRecord,
    ) -> Result<i64, StoreError> {
        let record = &record.redacted();
        validate::check_json(
            &record.event_json,
            || format!("recording a notification to {}", record.target),
            "the event",
        )?;
        self.backend.record_notification(CHECKED, record).await
    }
}
