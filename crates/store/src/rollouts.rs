//! Rollouts: the row of each, its phase and the lease of the process driving it, with its
//! journal (`rollouts/journal.rs`) and the versions it verified (`rollouts/verified.rs`). The
//! records, and [`Rollouts`], what every backend implements for them. JSON documents stay text
//! here; their shapes belong to the application.

pub(crate) mod journal;
pub(crate) mod verified;

use std::fmt;
use std::str::FromStr;

use crate::StoreError;
use crate::validate::Checked;

/// Rollouts and their leases. The methods taking a `Checked` are called through
/// [`crate::Store`], which checks their arguments first (`validate.rs`).
#[async_trait::async_trait]
pub trait Rollouts: Send + Sync {
    /// [`crate::Store::create_rollout`], its ids, configuration and first entries checked.
    async fn create_rollout(
        &self,
        checked: Checked,
        rollout: &NewRollout,
    ) -> Result<(), StoreError>;

    /// [`crate::Store::rollout`]: `prefix` is at least 6 lowercase hex digits.
    async fn rollout(
        &self,
        checked: Checked,
        prefix: &str,
    ) -> Result<Option<RolloutRow>, StoreError>;

    /// Every rollout, newest first.
    async fn rollouts(&self) -> Result<Vec<RolloutRow>, StoreError>;

    /// [`crate::Store::claim_rollout`], with the lease's end worked out.
    async fn claim_rollout(
        &self,
        checked: Checked,
        id: &str,
        owner: &str,
        now_unix: i64,
        until_unix: i64,
    ) -> Result<Claim, StoreError>;

    /// [`crate::Store::renew_rollout_lease`], with the lease's new end worked out.
    async fn renew_rollout_lease(
        &self,
        checked: Checked,
        lease: &Lease,
        until_unix: i64,
    ) -> Result<Lease, StoreError>;

    /// Gives up a lease. True when the rollout still carried its token, false when someone
    /// else had claimed it since.
    async fn release_rollout(&self, lease: &Lease) -> Result<bool, StoreError>;

    /// The ids of the rollouts under way (running, stopping) whose driver's lease ran out by
    /// `now_unix`, oldest first: what a replica takes over. Read through an index of the
    /// unfinished rollouts alone, so that years of finished ones cost it nothing.
    async fn orphaned_rollouts(&self, now_unix: i64) -> Result<Vec<String>, StoreError>;
}

/// Where a rollout stands, as its row keeps it: [`RolloutPhase::Created`] until the
/// application first moves it on with a journal append, then the application's phase. The
/// stored text ([`RolloutPhase::as_str`]) never changes: old databases read the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RolloutPhase {
    /// Made by [`crate::Store::create_rollout`], not driven yet.
    Created,
    NotStarted,
    Running,
    Paused,
    /// Halting or cancelling, waiting for the hosts already changing.
    Stopping,
    Completed,
    Halted,
    Cancelled,
}

impl RolloutPhase {
    /// Every phase, in the order a rollout goes through them.
    pub const ALL: [RolloutPhase; 8] = [
        RolloutPhase::Created,
        RolloutPhase::NotStarted,
        RolloutPhase::Running,
        RolloutPhase::Paused,
        RolloutPhase::Stopping,
        RolloutPhase::Completed,
        RolloutPhase::Halted,
        RolloutPhase::Cancelled,
    ];

    /// The phases of a rollout that is over: it claims its hosts in every other phase.
    pub const FINISHED: [RolloutPhase; 3] =
        [RolloutPhase::Completed, RolloutPhase::Halted, RolloutPhase::Cancelled];

    /// The text of the `phase` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutPhase::Created => "created",
            RolloutPhase::NotStarted => "not_started",
            RolloutPhase::Running => "running",
            RolloutPhase::Paused => "paused",
            RolloutPhase::Stopping => "stopping",
            RolloutPhase::Completed => "completed",
            RolloutPhase::Halted => "halted",
            RolloutPhase::Cancelled => "cancelled",
        }
    }

    /// Whether the rollout is over, and so claims none of its hosts.
    pub fn is_finished(self) -> bool {
        RolloutPhase::FINISHED.contains(&self)
    }
}

impl FromStr for RolloutPhase {
    type Err = String;

    /// The phase a `phase` column's text names.
    fn from_str(text: &str) -> Result<RolloutPhase, String> {
        RolloutPhase::ALL
            .into_iter()
            .find(|phase| phase.as_str() == text)
            .ok_or_else(|| format!("{text:?} is not a rollout phase this patchctl knows"))
    }
}

impl fmt::Display for RolloutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    pub first_entries: Vec<journal::NewJournalEntry>,
}

/// A rollout as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutRow {
    pub id: String,
    pub plan_id: String,
    pub created_at_unix: i64,
    pub config_json: String,
    /// [`RolloutPhase::Created`], then whatever the application sets.
    pub phase: RolloutPhase,
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

#[cfg(test)]
mod tests {
    use super::RolloutPhase;

    #[test]
    fn phases_read_back_from_their_text() {
        for phase in RolloutPhase::ALL {
            assert_eq!(phase.as_str().parse::<RolloutPhase>(), Ok(phase));
        }
        assert!("Running".parse::<RolloutPhase>().is_err());
        assert!("".parse::<RolloutPhase>().is_err());
        let finished: Vec<&str> = RolloutPhase::FINISHED.iter().map(|p| p.as_str()).collect();
        assert_eq!(finished, ["completed", "halted", "cancelled"]);
    }
}
