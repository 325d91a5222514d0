//! The host-step queue: each step a rollout's driver asks of a host, as a leased row that any
//! process may claim, work on under a lease it renews, and complete with its result. The
//! records, and [`HostSteps`], what every backend implements for them.
//!
//! A step is enqueued under the rollout's own [`crate::Lease`]; a claim takes queued steps and
//! claimed ones whose lease ran out, bumping each one's fencing token (`fence`); a renewal or a
//! completion counts only while the row still carries the claim's token and the step was not
//! abandoned. Finished steps stay, as history, outside the partial index the claims read.

use std::fmt;
use std::str::FromStr;

use crate::rollouts::Lease;
use crate::validate::{self, CHECKED, Checked};
use crate::{Store, StoreError};

/// Host steps and their leases. The methods taking a `Checked` are called through
/// [`crate::Store`], which checks their arguments first (`validate.rs`).
#[async_trait::async_trait]
pub trait HostSteps: Send + Sync {
    /// [`crate::Store::enqueue_steps`], the steps checked.
    async fn enqueue_steps(
        &self,
        checked: Checked,
        lease: &Lease,
        steps: &[NewHostStep],
        now_unix: i64,
    ) -> Result<u64, StoreError>;

    /// [`crate::Store::claim_steps`], with the leases' end worked out and the limit checked.
    async fn claim_steps(
        &self,
        checked: Checked,
        claim: &StepClaim,
        now_unix: i64,
        until_unix: i64,
    ) -> Result<Vec<ClaimedStep>, StoreError>;

    /// [`crate::Store::renew_step_leases`], with the leases' new end worked out.
    async fn renew_step_leases(
        &self,
        checked: Checked,
        leases: &[StepLease],
        until_unix: i64,
    ) -> Result<Vec<Result<StepLease, StoreError>>, StoreError>;

    /// [`crate::Store::complete_step`], the result checked to be JSON.
    async fn complete_step(
        &self,
        checked: Checked,
        lease: &StepLease,
        now_unix: i64,
        result_json: &str,
    ) -> Result<(), StoreError>;

    /// [`crate::Store::abandon_steps`].
    async fn abandon_steps(
        &self,
        checked: Checked,
        lease: &Lease,
        tokens: &[i64],
        now_unix: i64,
    ) -> Result<u64, StoreError>;

    /// A rollout's steps not finished yet (queued or claimed), by token.
    async fn unfinished_steps(&self, rollout_id: &str) -> Result<Vec<HostStepRow>, StoreError>;

    /// Every step of a rollout, finished ones included, by token.
    async fn host_steps(&self, rollout_id: &str) -> Result<Vec<HostStepRow>, StoreError>;
}

/// Where a step stands. The stored text ([`StepState::as_str`]) never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepState {
    /// Waiting for a claim.
    Queued,
    /// Claimed by a process, until its lease runs out.
    Claimed,
    /// Completed, with a result.
    Done,
    /// Given up by the rollout's driver: nobody may complete it any more.
    Abandoned,
}

impl StepState {
    /// Every state, in the order a step goes through them.
    pub const ALL: [StepState; 4] =
        [StepState::Queued, StepState::Claimed, StepState::Done, StepState::Abandoned];

    /// The text of the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Queued => "queued",
            StepState::Claimed => "claimed",
            StepState::Done => "done",
            StepState::Abandoned => "abandoned",
        }
    }
}

impl FromStr for StepState {
    type Err = String;

    /// The state a `state` column's text names.
    fn from_str(text: &str) -> Result<StepState, String> {
        StepState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| format!("{text:?} is not a host step state this patchctl knows"))
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step to enqueue for a rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHostStep {
    /// The rollout machine's token for the step, unique within the rollout.
    pub token: i64,
    pub host: String,
    /// What to do, as the application names it (`apply`, `reboot`, …).
    pub step: String,
    /// Whether the step resumes one interrupted before.
    pub resume: bool,
}

/// A step as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostStepRow {
    pub rollout_id: String,
    pub token: i64,
    pub host: String,
    pub step: String,
    pub resume: bool,
    pub state: StepState,
    /// The last process to claim it; `None` until claimed.
    pub owner: Option<String>,
    /// The fencing token of the latest claim (0: never claimed).
    pub fence: i64,
    /// Set while claimed.
    pub lease_expires_unix: Option<i64>,
    /// How many times it was claimed.
    pub attempts: i64,
    pub created_at_unix: i64,
    /// When it was done or abandoned.
    pub finished_at_unix: Option<i64>,
    /// What the completing process reported, as JSON.
    pub result_json: Option<String>,
}

/// Which steps a claim may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepScope {
    /// Any rollout's.
    Any,
    /// One rollout's.
    Rollout(String),
    /// One step of one rollout.
    Step { rollout_id: String, token: i64 },
}

/// A claim of ready steps: up to `limit` of those in `scope`, oldest first, for `owner`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepClaim {
    pub owner: String,
    /// At least 1, at most [`StepClaim::MAX_LIMIT`].
    pub limit: i64,
    pub scope: StepScope,
    /// How long the leases last, from the claim's time.
    pub lease_seconds: u32,
}

impl StepClaim {
    /// The most steps one claim takes: a batch that fits a transaction of a few milliseconds.
    pub const MAX_LIMIT: i64 = 1000;
}

/// A lease on one step, as a claim granted it: the holder may renew it and complete the step
/// while the row still carries `fence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLease {
    pub rollout_id: String,
    pub token: i64,
    pub host: String,
    pub owner: String,
    /// The fencing token.
    pub fence: i64,
    /// When it runs out unless renewed.
    pub until_unix: i64,
}

/// A step a claim took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedStep {
    pub lease: StepLease,
    pub step: String,
    pub resume: bool,
    /// Whether another process had claimed it before and its lease ran out: the step may be
    /// half done (in flight when that process stopped), so the claimer must look at the host
    /// again before acting.
    pub retaken: bool,
}

/// The queue's calls that check their arguments first; kept beside the records rather than in
/// `lib.rs`, with the same rule: the backend method of the same name takes a `Checked`.
impl Store {
    /// Enqueues steps of a rollout, as `queued`, under the rollout's `lease`: written only while
    /// the rollout still carries the lease's token (checked in the write transaction), else
    /// [`StoreError::LeaseLost`] and nothing is written. A step whose token the rollout has
    /// already is kept as it is (a driver replaying its journal enqueues again); returns how
    /// many were new. Each step names a host and a step, each token once.
    pub async fn enqueue_steps(
        &self,
        lease: &Lease,
        steps: &[NewHostStep],
        now_unix: i64,
    ) -> Result<u64, StoreError> {
        validate::check_steps(steps, || {
            format!("enqueueing host steps of rollout {}", lease.rollout_id)
        })?;
        if steps.is_empty() {
            return Ok(0);
        }
        self.backend.enqueue_steps(CHECKED, lease, steps, now_unix).await
    }

    /// Claims up to `claim.limit` ready steps in `claim.scope`, oldest first, for
    /// `claim.lease_seconds` from `now_unix`: queued ones, and claimed ones whose lease ran out
    /// by `now_unix` (those come back [`ClaimedStep::retaken`]). Every claim bumps the step's
    /// fencing token. Of several processes claiming at once, each step goes to exactly one;
    /// none waits for another's claim (PostgreSQL skips the rows another claim has locked).
    /// Empty when nothing is ready.
    pub async fn claim_steps(
        &self,
        claim: &StepClaim,
        now_unix: i64,
    ) -> Result<Vec<ClaimedStep>, StoreError> {
        let doing = || format!("claiming host steps for {}", claim.owner);
        validate::check_step_claim(claim, doing)?;
        let until_unix = validate::lease_end(doing, now_unix, claim.lease_seconds)?;
        self.backend.claim_steps(CHECKED, claim, now_unix, until_unix).await
    }

    /// Extends step leases to `lease_seconds` from `now_unix`: the heartbeat of a process
    /// working on steps. Each lease is renewed on its own, in the order given: one the row no
    /// longer carries (claimed by another process since, abandoned, completed) is
    /// [`StoreError::StepLost`], and the caller must stop working on that step; the others are
    /// renewed all the same. The outer error is a query that failed.
    pub async fn renew_step_leases(
        &self,
        leases: &[StepLease],
        now_unix: i64,
        lease_seconds: u32,
    ) -> Result<Vec<Result<StepLease, StoreError>>, StoreError> {
        let doing = || "renewing host step leases".to_owned();
        let until_unix = validate::lease_end(doing, now_unix, lease_seconds)?;
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        self.backend.renew_step_leases(CHECKED, leases, until_unix).await
    }

    /// Completes a step with its result (JSON), under its `lease`: only while the row still
    /// carries the lease's fencing token and the step is claimed, else
    /// [`StoreError::StepLost`], naming who holds it, and nothing is written. A lease that ran
    /// out but that nobody took over still counts.
    pub async fn complete_step(
        &self,
        lease: &StepLease,
        now_unix: i64,
        result_json: &str,
    ) -> Result<(), StoreError> {
        let doing = || format!("completing step {} of rollout {}", lease.token, lease.rollout_id);
        validate::check_json(result_json, doing, "the step's result")?;
        self.backend.complete_step(CHECKED, lease, now_unix, result_json).await
    }

    /// Abandons a rollout's unfinished steps of these tokens, under the rollout's `lease` (else
    /// [`StoreError::LeaseLost`]): the driver gives up on them, and nobody can complete them
    /// any more. Returns how many were abandoned; finished steps are left as they are.
    pub async fn abandon_steps(
        &self,
        lease: &Lease,
        tokens: &[i64],
        now_unix: i64,
    ) -> Result<u64, StoreError> {
        if tokens.is_empty() {
            return Ok(0);
        }
        self.backend.abandon_steps(CHECKED, lease, tokens, now_unix).await
    }
}

/// The columns the backends' `step_row` reads; a macro so that every query stays a
/// `&'static str`.
macro_rules! step_columns {
    () => {
        "rollout_id, token, host, step, resume, state, owner, fence, lease_expires, attempts, \
         created_at, finished_at, result"
    };
}
pub(crate) use step_columns;

/// What renewing a step's lease is called in errors.
pub(crate) fn renewing(lease: &StepLease) -> String {
    format!("renewing the lease on step {} of rollout {}", lease.token, lease.rollout_id)
}

/// A claim's scope as the binds `$4` (rollout) and `$5` (token), NULL for any.
pub(crate) fn scope_binds(scope: &StepScope) -> (Option<&str>, Option<i64>) {
    match scope {
        StepScope::Any => (None, None),
        StepScope::Rollout(rollout_id) => (Some(rollout_id), None),
        StepScope::Step { rollout_id, token } => (Some(rollout_id), Some(*token)),
    }
}

#[cfg(test)]
mod tests {
    use super::StepState;

    #[test]
    fn states_read_back_from_their_text() {
        for state in StepState::ALL {
            assert_eq!(state.as_str().parse::<StepState>(), Ok(state));
        }
        assert!("Queued".parse::<StepState>().is_err());
    }
}
