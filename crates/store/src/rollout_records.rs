//! The values the store takes and gives back for plans, rollouts, their leases and journals:
//! plain data, independent of any database. JSON documents stay text here; their shapes belong
//! to the application.

/// The phase a rollout is created in; the application moves it on with each journal append
/// ([`crate::Store::append_journal`]).
pub const ROLLOUT_CREATED_PHASE: &str = "created";

/// The phases of a rollout that is over: it claims its hosts in every other phase. The
/// application's names for its finished phases must be among these (a test of `ops` checks).
pub const FINISHED_PHASES: [&str; 3] = ["completed", "halted", "cancelled"];

/// A saved plan, in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPlan {
    /// `sha256:` and 64 lowercase hex digits.
    pub id: String,
    pub created_at_unix: i64,
    /// The plan as JSON, byte for byte as it was saved.
    pub body_json: String,
}

/// A saved plan without its body: what listings show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPlanSummary {
    pub id: String,
    pub created_at_unix: i64,
}

/// A rollout to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRollout {
    /// 6 to 64 lowercase hex digits, random, made by the caller.
    pub id: String,
    /// The plan it carries out; it must have been saved.
    pub plan_id: String,
    pub created_at_unix: i64,
    /// The rollout's settings as JSON.
    pub config_json: String,
    /// The hosts it may change: none of them may be claimed by another unfinished rollout.
    pub hosts: Vec<String>,
    /// Whether a plan that has a rollout already may run again (`rollout start --again`); by
    /// default a plan runs once.
    pub again: bool,
    /// Entries its journal begins with, written in the same transaction (who started it and
    /// why it was allowed to run again or outside its window).
    pub first_entries: Vec<NewJournalEntry>,
}

/// A rollout as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutRow {
    pub id: String,
    pub plan_id: String,
    pub created_at_unix: i64,
    pub config_json: String,
    /// [`ROLLOUT_CREATED_PHASE`], then whatever the application sets.
    pub phase: String,
    /// When the phase last changed (the creation time until then).
    pub updated_at_unix: i64,
    /// The last process to claim the rollout, `None` once released. It holds the rollout only
    /// while `lease_expires_unix` is in the future.
    pub owner: Option<String>,
    pub lease_expires_unix: Option<i64>,
    /// The fencing token of the latest claim (0: never claimed).
    pub fence: i64,
    /// How its journal's chain begins (`journal_chain.rs`).
    pub chain_version: i64,
}

/// A lease on a rollout, as a claim granted it: the caller may write to the rollout (its
/// journal, its phase) while the row still carries `token`. Every claim bumps the token, so a
/// process whose lease ran out and was taken over cannot write again, even after the
/// newcomer released it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub rollout_id: String,
    pub owner: String,
    /// The fencing token.
    pub token: i64,
    /// When it runs out unless renewed.
    pub until_unix: i64,
}

/// The answer to a claim of a rollout's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the lease now.
    Claimed(Lease),
    /// Another process holds it, until `until_unix` unless it renews.
    HeldBy { owner: String, until_unix: i64 },
}

/// An entry to append to a rollout's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJournalEntry {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// What happened, as the application names it (`host_started`, `step_done`, …).
    pub kind: String,
    /// The host it is about; `None` for the rollout as a whole.
    pub host: Option<String>,
    /// The details as JSON.
    pub body_json: String,
}

/// An entry of a rollout's journal, with its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// 1 for the first entry, then one more for each.
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    pub host: Option<String>,
    pub body_json: String,
    /// The previous entry's `hash`; the chain's genesis for the first entry.
    pub prev_hash: String,
    /// 64 lowercase hex digits: SHA-256 over `prev_hash` and this entry's content (the layout
    /// is documented in `journal_chain.rs`).
    pub hash: String,
}

/// What recomputing a journal's hash chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalCheck {
    /// Every entry is where it should be and hashes to what it says. `last_hash` is the head of
    /// the chain (`None` for an empty journal): kept elsewhere, it also shows truncation, which
    /// the chain alone cannot.
    Intact { n_entries: u64, last_hash: Option<String> },
    /// The first entry that does not fit; everything before it is intact.
    Broken { seq: i64, reason: JournalBreak },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalBreak {
    /// The entry's seq is not the one after the previous entry's: entries are missing.
    UnexpectedSeq { expected: i64 },
    /// Its `prev_hash` is not the previous entry's hash: the previous entry was rewritten
    /// (hash included) or replaced.
    PrevHashMismatch,
    /// Its `hash` is not the hash of its content: the entry was edited.
    HashMismatch,
}

/// Where a rollout stands after a journal append, written in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseUpdate {
    /// As the application names it; see [`FINISHED_PHASES`].
    pub phase: String,
    pub at_unix: i64,
}

/// A package version a rollout applied to a host whose postchecks then passed: promotion
/// evidence, as the `verified_versions` table keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedVersion {
    pub rollout_id: String,
    pub host: String,
    pub environment: String,
    pub name: String,
    pub arch: String,
    pub version: String,
    /// When the host's last postcheck passed, in whole seconds.
    pub verified_at_unix: i64,
}

/// What a journal append proves about one host of the rollout: its verified versions are
/// replaced by `versions`, empty when the host is not (or no longer) done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHost {
    pub host: String,
    pub versions: Vec<VerifiedVersion>,
}
