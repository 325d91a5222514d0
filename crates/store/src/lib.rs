//! The state database: the hosts patchctl has seen, the SSH host keys pinned for them, every
//! assessment attempt over time, the action plans, the rollouts that carry them out with the
//! lease of the process driving each, and each rollout's append-only, hash-chained journal. The
//! only crate with SQL.
//!
//! [`Store`] is the interface the application uses; behind it each database has its own module
//! (`sqlite.rs` now, PostgreSQL later) with its own migrations under `migrations/<database>/`,
//! and no `AnyPool`: the SQL is written to port (TEXT ids, INTEGER Unix times, BOOLEAN flags,
//! JSON as TEXT), but each database keeps its own, tested queries.
//!
//! The store reads no clock: every time is passed in, like everywhere else in patchctl.

mod advisory_records;
mod change_records;
mod error;
mod journal_chain;
mod postmortem_records;
mod records;
mod rollout_records;
mod sqlite;
mod validate;

use std::path::Path;

pub use advisory_records::{ADVISORY_FORMAT, AdvisoryImportCounts, NewAdvisory, StoredAdvisory};
pub use change_records::{ChangeEntry, NewChangeEntry, WindowClaim};
pub use error::{HostClaim, StoreError};
pub use postmortem_records::{
    NewPostmortem, NotificationRecord, Opened, PostmortemClosure, PostmortemEvent,
    StoredNotification, StoredPostmortem,
};
pub use records::{
    ASSESSMENT_FORMAT, AssessmentOutcome, AssessmentRecord, AssessmentSummaryRow, Failure, HostRow,
    PinOutcome, PinnedHostKey, StoredAssessment, StoredHost, SummaryOutcome,
};
pub use rollout_records::{
    Claim, FINISHED_PHASES, JournalBreak, JournalCheck, JournalEntry, Lease, NewJournalEntry,
    NewRollout, PhaseUpdate, ROLLOUT_CREATED_PHASE, RolloutRow, StoredPlan, StoredPlanSummary,
    VerifiedHost, VerifiedVersion,
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

    /// Whether this database is a rehearsal copy: where it was copied from (empty for an empty
    /// one) and when, or `None` for real state.
    pub async fn rehearsal(&self) -> Result<Option<(String, i64)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.rehearsal().await,
        }
    }

    /// Copies this database, whole and consistent, to a new file at `path` and marks the copy
    /// a rehearsal (`copied_from`, at `now_unix`). The file must not exist.
    pub async fn copy_for_rehearsal(
        &self,
        path: &Path,
        copied_from: &str,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.copy_for_rehearsal(path, copied_from, now_unix).await,
        }
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
        Ok(Store { backend: Backend::Sqlite(db) })
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

    /// Every successful assessment of a host in full, oldest first: the snapshots from which
    /// compliance learns when each pending update was first seen.
    pub async fn assessments_of(&self, host: &str) -> Result<Vec<StoredAssessment>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.assessments_of(host).await,
        }
    }

    /// Imports advisories: new ones are inserted, known ones (same id and format) replaced, so
    /// importing a file twice never duplicates anything. They are written in transactions of
    /// at most 1,000 records, so that a large feed never holds SQLite's write lock for long
    /// (a rollout's journal writes wait for it). A failure mid-way leaves the batches before
    /// it imported: the records are independent, and importing the same files again finishes
    /// the job, as a re-import is idempotent. The counts are those of the whole import.
    pub async fn import_advisories(
        &self,
        advisories: &[NewAdvisory<'_>],
        imported_at_unix: i64,
    ) -> Result<AdvisoryImportCounts, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.import_advisories(advisories, imported_at_unix).await,
        }
    }

    /// Every advisory, by id and format.
    pub async fn advisories(&self) -> Result<Vec<StoredAdvisory>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.advisories().await,
        }
    }

    /// The advisories with this id (one per format), or that fix this CVE.
    pub async fn advisories_by_id(&self, id: &str) -> Result<Vec<StoredAdvisory>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.advisories_by_id(id).await,
        }
    }

    /// One attempt in full, with its assessment when it succeeded.
    pub async fn assessment(&self, id: &str) -> Result<Option<StoredAssessment>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.assessment(id).await,
        }
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
        match &self.backend {
            Backend::Sqlite(db) => db.save_plan(id, created_at_unix, body_json).await,
        }
    }

    /// The plan with this id, or whose hex digits begin with these (at least 6, with or
    /// without `sha256:`); a prefix that matches several is [`StoreError::AmbiguousId`].
    pub async fn plan(&self, id_or_prefix: &str) -> Result<Option<StoredPlan>, StoreError> {
        let prefix = validate::plan_prefix(id_or_prefix)?;
        match &self.backend {
            Backend::Sqlite(db) => db.plan(&prefix).await,
        }
    }

    /// Every plan, newest first.
    pub async fn plans(&self) -> Result<Vec<StoredPlanSummary>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.plans().await,
        }
    }

    /// Creates a rollout of a saved plan, in phase [`ROLLOUT_CREATED_PHASE`] and unowned, with
    /// its hosts claimed and its first journal entries, all in one transaction. Refused with
    /// [`StoreError::PlanAlreadyRun`] when the plan has a rollout already (unless
    /// `rollout.again`), and with [`StoreError::HostsClaimed`] when one of its hosts is claimed
    /// by another unfinished rollout: a host is changed by one rollout at a time.
    pub async fn create_rollout(&self, rollout: &NewRollout) -> Result<(), StoreError> {
        let doing = || format!("creating rollout {}", rollout.id);
        validate::check_rollout_id(&rollout.id)?;
        validate::check_plan_id(&rollout.plan_id)?;
        validate::check_json(&rollout.config_json, doing, "the rollout's configuration")?;
        check_entries(&rollout.first_entries, doing)?;
        match &self.backend {
            Backend::Sqlite(db) => db.create_rollout(rollout).await,
        }
    }

    /// The rollout with this id, else the one whose id begins with these hex digits (at least
    /// 6); a prefix that matches several is [`StoreError::AmbiguousId`].
    pub async fn rollout(&self, id_or_prefix: &str) -> Result<Option<RolloutRow>, StoreError> {
        let prefix = validate::rollout_prefix(id_or_prefix)?;
        match &self.backend {
            Backend::Sqlite(db) => db.rollout(&prefix).await,
        }
    }

    /// Every rollout, newest first.
    pub async fn rollouts(&self) -> Result<Vec<RolloutRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.rollouts().await,
        }
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
        let until_unix = lease_end(|| format!("claiming rollout {id}"), now_unix, lease_seconds)?;
        match &self.backend {
            Backend::Sqlite(db) => db.claim_rollout(id, owner, now_unix, until_unix).await,
        }
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
        let until_unix = lease_end(doing, now_unix, lease_seconds)?;
        match &self.backend {
            Backend::Sqlite(db) => db.renew_rollout_lease(lease, until_unix).await,
        }
    }

    /// Gives up a lease. True when the rollout still carried its token, false when someone
    /// else had claimed it since.
    pub async fn release_rollout(&self, lease: &Lease) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.release_rollout(lease).await,
        }
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
    /// the hosts `verified` names (see [`Store::verified_versions`]): the entries are what
    /// proves them, so both are written or neither.
    pub async fn append_journal_verified(
        &self,
        lease: &Lease,
        entries: &[NewJournalEntry],
        phase: Option<&PhaseUpdate>,
        verified: &[VerifiedHost],
    ) -> Result<Vec<i64>, StoreError> {
        let doing = || format!("appending to the journal of rollout {}", lease.rollout_id);
        check_entries(entries, doing)?;
        check_verified(&lease.rollout_id, verified, doing)?;
        if entries.is_empty() && phase.is_none() && verified.is_empty() {
            return Ok(Vec::new());
        }
        match &self.backend {
            Backend::Sqlite(db) => db.append_journal(lease, entries, phase, verified).await,
        }
    }

    /// Every package version a rollout applied to a host that ended done (its postchecks
    /// passed), newest rollout first: the promotion gate's evidence, kept by
    /// [`Store::append_journal`]. Rollouts listed by [`Store::rollouts_without_verified`] are
    /// missing from it until [`Store::record_verified`] fills them.
    pub async fn verified_versions(&self) -> Result<Vec<VerifiedVersion>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.verified_versions().await,
        }
    }

    /// The rollouts journaled before verified versions were recorded with the journal, oldest
    /// first: their evidence is in their journals only, until [`Store::record_verified`].
    pub async fn rollouts_without_verified(&self) -> Result<Vec<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.rollouts_without_verified().await,
        }
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
        check_verified(rollout_id, hosts, || {
            format!("recording the verified versions of rollout {rollout_id}")
        })?;
        match &self.backend {
            Backend::Sqlite(db) => db.record_verified(rollout_id, through_seq, hosts).await,
        }
    }

    /// Appends entries without a lease: only for requests to the process driving the rollout
    /// (pause, cancel, a rollback), which it reads and decides on under its own lease.
    pub async fn append_request(
        &self,
        rollout_id: &str,
        entries: &[NewJournalEntry],
    ) -> Result<Vec<i64>, StoreError> {
        check_entries(entries, || format!("asking the driver of rollout {rollout_id}"))?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        match &self.backend {
            Backend::Sqlite(db) => db.append_request(rollout_id, entries).await,
        }
    }

    /// A rollout's whole journal, in seq order; empty for a rollout without entries (or none).
    pub async fn journal(&self, rollout_id: &str) -> Result<Vec<JournalEntry>, StoreError> {
        self.journal_since(rollout_id, 0).await
    }

    /// The entries of a rollout's journal after `after_seq`, in seq order: for following a
    /// journal as it grows.
    pub async fn journal_since(
        &self,
        rollout_id: &str,
        after_seq: i64,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.journal_since(rollout_id, after_seq).await,
        }
    }

    /// Recomputes a rollout's hash chain, from the genesis its id, plan and configuration make
    /// (`journal_chain.rs`), and reports the first entry that does not fit. Entries removed
    /// from the end leave an intact, shorter chain; the triggers refusing deletes guard against
    /// that, and so does comparing [`JournalCheck::Intact`]'s `last_hash` with one kept
    /// elsewhere (the audit anchor).
    pub async fn verify_journal(&self, rollout_id: &str) -> Result<JournalCheck, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.verify_journal(rollout_id).await,
        }
    }

    /// Appends an action to the change journal of plan `plan_id` (saved already), chained to
    /// the one before, when `accept` (given the journal as it is, inside the write
    /// transaction) says yes. `Ok(Err(reason))`: `accept` refused, nothing was written.
    pub async fn append_change(
        &self,
        plan_id: &str,
        entry: &NewChangeEntry,
        accept: &(dyn Fn(&[ChangeEntry]) -> Result<(), String> + Sync),
    ) -> Result<Result<i64, String>, StoreError> {
        validate::check_plan_id(plan_id)?;
        validate::check_json(
            &entry.body_json,
            || format!("recording a change of plan {plan_id}"),
            "the body of the change entry",
        )?;
        match &self.backend {
            Backend::Sqlite(db) => db.append_change(plan_id, entry, accept).await,
        }
    }

    /// A plan's change journal in seq order; empty when nobody acted on it.
    pub async fn change_journal(&self, plan_id: &str) -> Result<Vec<ChangeEntry>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.change_journal(plan_id).await,
        }
    }

    /// Recomputes a plan's change-journal chain, as [`Store::verify_journal`] does a rollout's.
    pub async fn verify_change_journal(&self, plan_id: &str) -> Result<JournalCheck, StoreError> {
        let entries: Vec<JournalEntry> = self
            .change_journal(plan_id)
            .await?
            .into_iter()
            .map(|e| JournalEntry {
                seq: e.seq,
                at_ms: e.at_ms,
                kind: e.kind,
                host: Some(e.actor),
                body_json: e.body_json,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect();
        Ok(journal_chain::verify(journal_chain::GENESIS_HASH, &entries))
    }

    /// Claims the window of `environment` opening at `window_start_unix` for the scheduler
    /// `owner`: true for exactly one caller, ever; false when it was claimed before (by a
    /// scheduler since restarted, or by another one).
    pub async fn claim_window(
        &self,
        environment: &str,
        window_start_unix: i64,
        owner: &str,
        now_unix: i64,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.claim_window(environment, window_start_unix, owner, now_unix).await
            }
        }
    }

    /// Claims the notice `key` (`model::notification::timing::Notice::key`) for `owner`: true
    /// for exactly one caller, ever, who then sends it.
    pub async fn claim_notice(
        &self,
        key: &str,
        owner: &str,
        now_unix: i64,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.claim_notice(key, owner, now_unix).await,
        }
    }

    /// Records what came of a claimed window: the plan and rollout started, or why none.
    pub async fn record_window(
        &self,
        environment: &str,
        window_start_unix: i64,
        plan_id: Option<&str>,
        rollout_id: Option<&str>,
        outcome: &str,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.record_window(environment, window_start_unix, plan_id, rollout_id, outcome).await
            }
        }
    }

    /// Every claimed window, oldest first.
    pub async fn window_claims(&self) -> Result<Vec<WindowClaim>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.window_claims().await,
        }
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
        match &self.backend {
            Backend::Sqlite(db) => db.open_postmortem(new, body_json).await,
        }
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
        match &self.backend {
            Backend::Sqlite(db) => db.close_postmortem(id, closure, body_json).await,
        }
    }

    pub async fn postmortem(&self, id: i64) -> Result<Option<StoredPostmortem>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.postmortem(id).await,
        }
    }

    /// Every postmortem, oldest first.
    pub async fn postmortems(&self) -> Result<Vec<StoredPostmortem>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.postmortems().await,
        }
    }

    /// Checks the hash chain of a postmortem's record (`None`: begun before records were
    /// chained, and so not covered).
    pub async fn verify_postmortem(&self, id: i64) -> Result<Option<JournalCheck>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.verify_postmortem(id).await,
        }
    }

    /// A postmortem's record: who did what, when, in order.
    pub async fn postmortem_events(&self, id: i64) -> Result<Vec<PostmortemEvent>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.postmortem_events(id).await,
        }
    }

    /// Checks the hash chain of the notification record (the deliveries written since it was
    /// chained) and returns it with the chain's hashes, for the audit's anchors.
    pub async fn verify_notifications(&self) -> Result<(JournalCheck, Vec<String>), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.verify_notifications().await,
        }
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
        match &self.backend {
            Backend::Sqlite(db) => db.record_notification(record).await,
        }
    }

    /// Every delivery attempt, oldest first.
    pub async fn notifications(&self) -> Result<Vec<StoredNotification>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.notifications().await,
        }
    }

    /// Closes every connection, after the writes in flight; the file is complete afterwards.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(db) => db.close().await,
        }
    }
}

/// When a lease taken at `now_unix` for `lease_seconds` ends. A lease of no time would be over
/// as it is granted.
fn lease_end(
    doing: impl Fn() -> String,
    now_unix: i64,
    lease_seconds: u32,
) -> Result<i64, StoreError> {
    if lease_seconds == 0 {
        return Err(StoreError::InvalidValue {
            doing: doing(),
            message: "a lease must last at least a second".to_owned(),
        });
    }
    now_unix.checked_add(i64::from(lease_seconds)).ok_or_else(|| StoreError::InvalidValue {
        doing: doing(),
        message: format!("a lease from {now_unix} for {lease_seconds} s is out of range"),
    })
}

/// Journal entries arrive with bodies that are JSON.
fn check_entries(
    entries: &[NewJournalEntry],
    doing: impl Fn() -> String,
) -> Result<(), StoreError> {
    for entry in entries {
        let what = format!("the body of the {} entry", entry.kind);
        validate::check_json(&entry.body_json, &doing, &what)?;
    }
    Ok(())
}

/// Verified versions must be of the rollout and host they are recorded under.
fn check_verified(
    rollout_id: &str,
    hosts: &[VerifiedHost],
    doing: impl Fn() -> String,
) -> Result<(), StoreError> {
    for host in hosts {
        let stray =
            host.versions.iter().find(|v| v.rollout_id != rollout_id || v.host != host.host);
        if let Some(version) = stray {
            return Err(StoreError::InvalidValue {
                doing: doing(),
                message: format!(
                    "a verified version of rollout {} on {} recorded for rollout {rollout_id} on {}",
                    version.rollout_id, version.host, host.host
                ),
            });
        }
    }
    Ok(())
}
