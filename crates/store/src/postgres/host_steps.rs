//! The host-step queue in PostgreSQL: steps are enqueued and abandoned in transactions that
//! lock the rollout's row first (`FOR SHARE`: a claim of the rollout waits) and check its
//! lease; a claim is one statement that locks the oldest ready rows it can, skipping those
//! another claim holds (`FOR UPDATE SKIP LOCKED`, through the partial index of unfinished
//! steps), and takes them; renewals and completions are conditional UPDATEs under the step's
//! fencing token. Arguments arrive checked (`validate.rs`).
//!
//! The queue's head. A transaction left open elsewhere (a report, a backup, a replica's
//! feedback) holds back the xmin horizon: no row version dead since it began can be vacuumed,
//! and the partial index keeps an entry for every version a step had while unfinished. A claim
//! reading the index from its start walks past all of them, more with every step done (in the
//! benchmark, BENCHMARKS.md "Host-step queue", the queue fell to a fifth of its rate in ten
//! minutes that way). So each process keeps, in [`QueueHead`], where its claims start:
//!
//! - the head: the oldest step its last claim took. Every step between the previous head and
//!   it was finished, claimed, or being claimed by another process when the claim looked, and
//!   enqueueing is serialized (an advisory lock), so that ids are given in the order steps
//!   become visible: no step can appear behind the head later, except one whose claim rolled
//!   back, or whose lease runs out;
//! - the floor: the oldest unfinished step, measured after each sweep. Once a second a claim
//!   sweeps from the floor, which finds the claims whose lease ran out; once a minute from the
//!   start, which finds whatever else (a claim rolled back) and measures the floor anew.
//!
//! Claims scoped to a rollout or a step always look from the start.
//!
//! Only claims read the partial index. The other statements find a step by its key and test
//! `lease_expires IS NOT NULL` or `finished_at IS NULL`, the same as its state by the table's
//! CHECKs, rather than the state itself, which would let the planner pick the partial index
//! for them: small by its statistics (few live rows), long with dead entries while the horizon
//! is held. A completion took 99 ms that way, read in full, after an autoanalyze.

use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::postgres::PgRow;

use super::{Postgres, Serialized, get};
use crate::error::QueryContext;
use crate::host_steps::{renewing, scope_binds, step_columns};
use crate::validate::Checked;
use crate::{
    ClaimedStep, HostStepRow, HostSteps, Lease, LostStep, NewHostStep, StepClaim, StepLease,
    StepScope, StepState, StoreError,
};

/// Claims up to `$6` ready steps (of rollout `$4` and token `$5` when not NULL) for `$1` until
/// `$2`, at `$3`: queued ones and claimed ones whose lease ran out, oldest first, skipping rows
/// another claim has locked; bumps their fencing token and returns them.
/// Only steps from id `$7` on are looked at: the queue's head, or 0 for all.
pub const CLAIM_STEPS: &str = "WITH ready AS (
         SELECT id FROM host_steps
         WHERE state IN ('queued', 'claimed') AND id >= $7
           AND (state = 'queued' OR lease_expires <= $3)
           AND ($4::TEXT IS NULL OR rollout_id = $4)
           AND ($5::BIGINT IS NULL OR token = $5)
         ORDER BY id LIMIT $6
         FOR UPDATE SKIP LOCKED)
     UPDATE host_steps
     SET state = 'claimed', owner = $1, lease_expires = $2, fence = host_steps.fence + 1,
         attempts = host_steps.attempts + 1
     FROM ready WHERE host_steps.id = ready.id
     RETURNING host_steps.id, rollout_id, token, host, step, resume, fence, attempts";

/// The oldest unfinished step from id `$1` on.
const OLDEST_UNFINISHED: &str = "SELECT id FROM host_steps
     WHERE state IN ('queued', 'claimed') AND id >= $1 ORDER BY id LIMIT 1";

/// How often, in seconds of the claims' own time, a process's claims sweep from the floor
/// (finding the claims whose lease ran out), and from the very start.
const SWEEP_SECONDS: i64 = 1;
const FULL_SWEEP_SECONDS: i64 = 60;

/// Where a process's unscoped claims of host steps start (see the module's doc). Shared by the
/// clones of one store.
#[derive(Debug, Default)]
pub(crate) struct QueueHead {
    /// The oldest step the last claim took.
    head: AtomicI64,
    /// The oldest unfinished step, as last measured.
    floor: AtomicI64,
    /// The claim times from which the next claim sweeps from the floor, and from the start.
    sweep_at_unix: AtomicI64,
    full_sweep_at_unix: AtomicI64,
}

/// Where one claim starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// From the head on.
    Head(i64),
    /// From here on, then measuring the floor from here.
    Sweep(i64),
    /// From the start, for a claim scoped to a rollout or step.
    Scoped,
}

impl QueueHead {
    /// Where a claim in `scope` at `now_unix` starts.
    fn start(&self, scope: &StepScope, now_unix: i64) -> Start {
        if !matches!(scope, StepScope::Any) {
            return Start::Scoped;
        }
        if due(&self.full_sweep_at_unix, now_unix, FULL_SWEEP_SECONDS) {
            return Start::Sweep(0);
        }
        let floor = self.floor.load(Ordering::Relaxed);
        if due(&self.sweep_at_unix, now_unix, SWEEP_SECONDS) {
            return Start::Sweep(floor);
        }
        Start::Head(self.head.load(Ordering::Relaxed).max(floor))
    }
}

/// Whether `at` has come by `now_unix`; if so, moves it `every` seconds on, for this caller
/// alone.
fn due(at: &AtomicI64, now_unix: i64, every: i64) -> bool {
    let when = at.load(Ordering::Relaxed);
    now_unix >= when
        && at.compare_exchange(when, now_unix + every, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}

#[async_trait::async_trait]
impl HostSteps for Postgres {
    async fn enqueue_steps(
        &self,
        _: Checked,
        lease: &Lease,
        steps: &[NewHostStep],
        now_unix: i64,
    ) -> Result<u64, StoreError> {
        let doing = || format!("enqueueing host steps of rollout {}", lease.rollout_id);
        // One enqueuer at a time, so that step ids are given in the order they become visible
        // (the claims' head relies on it); then the rollout's row is locked and its lease
        // read: no claim of the rollout can come in between.
        let mut transaction = self.begin_serialized(Serialized::HostSteps, &doing).await?;
        if !self.holds(&mut transaction, lease, &doing).await? {
            drop(transaction);
            return Err(self.lease_lost(lease, &doing).await);
        }
        let tokens: Vec<i64> = steps.iter().map(|s| s.token).collect();
        let hosts: Vec<&str> = steps.iter().map(|s| s.host.as_str()).collect();
        let names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
        let resumes: Vec<bool> = steps.iter().map(|s| s.resume).collect();
        let added = sqlx::query(
            "INSERT INTO host_steps (rollout_id, token, host, step, resume, state, created_at)
             SELECT $1, token, host, step, resume, 'queued', $6
             FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BOOLEAN[])
                  AS given (token, host, step, resume)
             ON CONFLICT (rollout_id, token) DO NOTHING",
        )
        .bind(&lease.rollout_id)
        .bind(&tokens)
        .bind(&hosts)
        .bind(&names)
        .bind(&resumes)
        .bind(now_unix)
        .execute(&mut *transaction)
        .await
        .doing(doing)?
        .rows_affected();
        transaction.commit().await.doing(doing)?;
        Ok(added)
    }

    async fn claim_steps(
        &self,
        _: Checked,
        claim: &StepClaim,
        now_unix: i64,
        until_unix: i64,
    ) -> Result<Vec<ClaimedStep>, StoreError> {
        let doing = || format!("claiming host steps for {}", claim.owner);
        let (rollout_id, token) = scope_binds(&claim.scope);
        // One statement: the oldest ready rows are locked, those another claim has locked
        // skipped rather than waited for, and taken. A row claimed by someone else between
        // this statement's snapshot and its lock is read again as it is now, and left when no
        // longer ready. A step is queued once and never again, so a claim finding it claimed
        // before (attempts above 1 after this one) retakes it from a process whose lease ran
        // out.
        let start = self.step_queue.start(&claim.scope, now_unix);
        let from_id = match start {
            Start::Head(id) | Start::Sweep(id) => id,
            Start::Scoped => 0,
        };
        let rows = sqlx::query(CLAIM_STEPS)
            .bind(&claim.owner)
            .bind(until_unix)
            .bind(now_unix)
            .bind(rollout_id)
            .bind(token)
            .bind(claim.limit)
            .bind(from_id)
            .fetch_all(&self.pool)
            .await
            .doing(doing)?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let id: i64 = get(row, "id", &doing)?;
                let attempts: i64 = get(row, "attempts", &doing)?;
                let step = ClaimedStep {
                    lease: StepLease {
                        rollout_id: get(row, "rollout_id", &doing)?,
                        token: get(row, "token", &doing)?,
                        host: get(row, "host", &doing)?,
                        owner: claim.owner.clone(),
                        fence: get(row, "fence", &doing)?,
                        until_unix,
                    },
                    step: get(row, "step", &doing)?,
                    resume: get(row, "resume", &doing)?,
                    retaken: attempts > 1,
                };
                Ok((id, step))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // RETURNING comes in no promised order.
        claimed.sort_by_key(|(id, _)| *id);
        if let (Some((oldest, _)), StepScope::Any) = (claimed.first(), &claim.scope) {
            self.step_queue.head.fetch_max(*oldest, Ordering::Relaxed);
        }
        if let Start::Sweep(from_id) = start {
            let oldest: Option<i64> = sqlx::query_scalar(OLDEST_UNFINISHED)
                .bind(from_id)
                .fetch_optional(&self.pool)
                .await
                .doing(doing)?;
            // Nothing unfinished: the floor stays, since a step being enqueued may come next.
            if let Some(oldest) = oldest {
                self.step_queue.floor.store(oldest, Ordering::Relaxed);
            }
        }
        Ok(claimed.into_iter().map(|(_, step)| step).collect())
    }

    async fn renew_step_leases(
        &self,
        _: Checked,
        leases: &[StepLease],
        until_unix: i64,
    ) -> Result<Vec<Result<StepLease, StoreError>>, StoreError> {
        let mut renewals = Vec::with_capacity(leases.len());
        for lease in leases {
            let doing = || renewing(lease);
            let renewed = sqlx::query(
                "UPDATE host_steps SET lease_expires = $5
                 WHERE rollout_id = $1 AND token = $2 AND owner = $3 AND fence = $4
                   AND lease_expires IS NOT NULL",
            )
            .bind(&lease.rollout_id)
            .bind(lease.token)
            .bind(&lease.owner)
            .bind(lease.fence)
            .bind(until_unix)
            .execute(&self.pool)
            .await
            .doing(doing)?;
            renewals.push(if renewed.rows_affected() == 1 {
                Ok(StepLease { until_unix, ..lease.clone() })
            } else {
                Err(self.step_lost(lease, &doing).await?)
            });
        }
        Ok(renewals)
    }

    async fn complete_step(
        &self,
        _: Checked,
        lease: &StepLease,
        now_unix: i64,
        result_json: &str,
    ) -> Result<(), StoreError> {
        let doing = || format!("completing step {} of rollout {}", lease.token, lease.rollout_id);
        let completed = sqlx::query(
            "UPDATE host_steps
             SET state = 'done', lease_expires = NULL, finished_at = $5, result = $6
             WHERE rollout_id = $1 AND token = $2 AND owner = $3 AND fence = $4
               AND lease_expires IS NOT NULL",
        )
        .bind(&lease.rollout_id)
        .bind(lease.token)
        .bind(&lease.owner)
        .bind(lease.fence)
        .bind(now_unix)
        .bind(result_json)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        if completed.rows_affected() == 1 {
            return Ok(());
        }
        Err(self.step_lost(lease, &doing).await?)
    }

    async fn abandon_steps(
        &self,
        _: Checked,
        lease: &Lease,
        tokens: &[i64],
        now_unix: i64,
    ) -> Result<u64, StoreError> {
        let doing = || format!("abandoning host steps of rollout {}", lease.rollout_id);
        let mut transaction = self.pool.begin().await.doing(doing)?;
        if !self.holds(&mut transaction, lease, &doing).await? {
            drop(transaction);
            return Err(self.lease_lost(lease, &doing).await);
        }
        let abandoned = sqlx::query(
            "UPDATE host_steps
             SET state = 'abandoned', lease_expires = NULL, finished_at = $3
             WHERE rollout_id = $1 AND token = ANY($2) AND finished_at IS NULL",
        )
        .bind(&lease.rollout_id)
        .bind(tokens)
        .bind(now_unix)
        .execute(&mut *transaction)
        .await
        .doing(doing)?
        .rows_affected();
        transaction.commit().await.doing(doing)?;
        Ok(abandoned)
    }

    async fn unfinished_steps(&self, rollout_id: &str) -> Result<Vec<HostStepRow>, StoreError> {
        let doing = || format!("listing the unfinished host steps of rollout {rollout_id}");
        let rows = sqlx::query(concat!(
            "SELECT ",
            step_columns!(),
            " FROM host_steps WHERE rollout_id = $1 AND finished_at IS NULL
             ORDER BY token"
        ))
        .bind(rollout_id)
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter().map(|row| step_row(row, &doing)).collect()
    }

    async fn host_steps(&self, rollout_id: &str) -> Result<Vec<HostStepRow>, StoreError> {
        let doing = || format!("listing the host steps of rollout {rollout_id}");
        let rows = sqlx::query(concat!(
            "SELECT ",
            step_columns!(),
            " FROM host_steps WHERE rollout_id = $1 ORDER BY token"
        ))
        .bind(rollout_id)
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter().map(|row| step_row(row, &doing)).collect()
    }
}

impl Postgres {
    /// Whether the rollout still carries `lease`'s token, read inside `transaction`.
    async fn holds(
        &self,
        transaction: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        lease: &Lease,
        doing: &(dyn Fn() -> String + Sync),
    ) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT owner, fence FROM rollouts WHERE id = $1 FOR SHARE")
            .bind(&lease.rollout_id)
            .fetch_optional(&mut **transaction)
            .await
            .doing(doing)?;
        let Some(row) = row else {
            return Err(StoreError::UnknownRollout {
                doing: doing(),
                rollout_id: lease.rollout_id.clone(),
            });
        };
        let owner: Option<String> = get(&row, "owner", doing)?;
        let fence: i64 = get(&row, "fence", doing)?;
        Ok(owner.as_deref() == Some(lease.owner.as_str()) && fence == lease.token)
    }

    /// The error for a write under a step `lease` that the row no longer carries: lost, with
    /// where the step stands now.
    async fn step_lost(
        &self,
        lease: &StepLease,
        doing: &(dyn Fn() -> String + Sync),
    ) -> Result<StoreError, StoreError> {
        let row = sqlx::query(
            "SELECT state, owner, fence FROM host_steps WHERE rollout_id = $1 AND token = $2",
        )
        .bind(&lease.rollout_id)
        .bind(lease.token)
        .fetch_optional(&self.pool)
        .await
        .doing(doing)?;
        let Some(row) = row else {
            return Ok(StoreError::UnknownStep {
                doing: doing(),
                rollout_id: lease.rollout_id.clone(),
                token: lease.token,
            });
        };
        let step = LostStep {
            rollout_id: lease.rollout_id.clone(),
            token: lease.token,
            host: lease.host.clone(),
            owner: lease.owner.clone(),
            fence: lease.fence,
            state: state_column(&row, lease.token, doing)?,
            holder: get(&row, "owner", doing)?,
            current_fence: get(&row, "fence", doing)?,
        };
        Ok(StoreError::StepLost { doing: doing(), step: Box::new(step) })
    }
}

fn step_row(row: &PgRow, doing: &dyn Fn() -> String) -> Result<HostStepRow, StoreError> {
    let token: i64 = get(row, "token", doing)?;
    Ok(HostStepRow {
        rollout_id: get(row, "rollout_id", doing)?,
        state: state_column(row, token, doing)?,
        token,
        host: get(row, "host", doing)?,
        step: get(row, "step", doing)?,
        resume: get(row, "resume", doing)?,
        owner: get(row, "owner", doing)?,
        fence: get(row, "fence", doing)?,
        lease_expires_unix: get(row, "lease_expires", doing)?,
        attempts: get(row, "attempts", doing)?,
        created_at_unix: get(row, "created_at", doing)?,
        finished_at_unix: get(row, "finished_at", doing)?,
        result_json: get(row, "result", doing)?,
    })
}

/// A row's `state` column, of step `token`: text this patchctl does not know is a corrupt row.
fn state_column(
    row: &PgRow,
    token: i64,
    doing: &dyn Fn() -> String,
) -> Result<StepState, StoreError> {
    let text: String = get(row, "state", doing)?;
    text.parse().map_err(|message| StoreError::CorruptRow {
        doing: doing(),
        message: format!("host step {token}: {message}"),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::{QueueHead, Start};
    use crate::StepScope;

    #[test]
    fn claims_start_at_the_head_and_sweep_from_the_floor_each_second_and_from_zero_each_minute() {
        let queue = QueueHead::default();
        let scoped = StepScope::Rollout("abcdef".to_owned());
        assert_eq!(queue.start(&scoped, 100), Start::Scoped);
        // A new process sweeps from the start first, then from its floor, then claims from
        // the head until the next second.
        assert_eq!(queue.start(&StepScope::Any, 100), Start::Sweep(0));
        assert_eq!(queue.start(&StepScope::Any, 100), Start::Sweep(0));
        queue.head.store(50, Ordering::Relaxed);
        queue.floor.store(40, Ordering::Relaxed);
        assert_eq!(queue.start(&StepScope::Any, 100), Start::Head(50));
        assert_eq!(queue.start(&StepScope::Any, 101), Start::Sweep(40));
        assert_eq!(queue.start(&StepScope::Any, 101), Start::Head(50));
        // A floor measured above the head (the steps behind it all finished) wins.
        queue.floor.store(70, Ordering::Relaxed);
        assert_eq!(queue.start(&StepScope::Any, 101), Start::Head(70));
        assert_eq!(queue.start(&StepScope::Any, 160), Start::Sweep(0));
        assert_eq!(queue.start(&StepScope::Any, 160), Start::Sweep(70));
        assert_eq!(queue.start(&scoped, 160), Start::Scoped);
    }
}
