//! The host-step queue in SQLite: steps are enqueued and abandoned in write transactions taken
//! up front that check the rollout's lease first; a claim is one UPDATE of the oldest ready
//! rows, read through the partial index of unfinished steps, under `BEGIN IMMEDIATE`, so that
//! SQLite's single writer hands each step to one claimer; renewals and completions are
//! conditional UPDATEs under the step's fencing token, which find the step by its key and test
//! `lease_expires` or `finished_at` rather than the state, as on PostgreSQL (see there).
//! Arguments arrive checked (`validate.rs`).

use sqlx::sqlite::SqliteRow;

use super::{Sqlite, get};
use crate::error::QueryContext;
use crate::host_steps::{renewing, scope_binds, step_columns};
use crate::validate::Checked;
use crate::{
    ClaimedStep, HostStepRow, HostSteps, Lease, LostStep, NewHostStep, StepClaim, StepLease,
    StepState, StoreError,
};

#[async_trait::async_trait]
impl HostSteps for Sqlite {
    async fn enqueue_steps(
        &self,
        _: Checked,
        lease: &Lease,
        steps: &[NewHostStep],
        now_unix: i64,
    ) -> Result<u64, StoreError> {
        let doing = || format!("enqueueing host steps of rollout {}", lease.rollout_id);
        // The write lock first, then the lease: no claim of the rollout can come in between.
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await.doing(doing)?;
        if !self.holds(&mut transaction, lease, &doing).await? {
            drop(transaction);
            return Err(self.lease_lost(lease, &doing).await);
        }
        let mut added = 0;
        for step in steps {
            let inserted = sqlx::query(
                "INSERT INTO host_steps (rollout_id, token, host, step, resume, state, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'queued', $6)
                 ON CONFLICT (rollout_id, token) DO NOTHING",
            )
            .bind(&lease.rollout_id)
            .bind(step.token)
            .bind(&step.host)
            .bind(&step.step)
            .bind(step.resume)
            .bind(now_unix)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
            added += inserted.rows_affected();
        }
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
        // One statement picks and takes the steps, under the write lock taken up front: a
        // second claimer waits for it (busy timeout) and then sees these steps claimed. A step
        // is queued once and never again, so a claim finding it claimed before (attempts above
        // 1 after this one) retakes it from a process whose lease ran out.
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await.doing(doing)?;
        let rows = sqlx::query(
            "UPDATE host_steps
             SET state = 'claimed', owner = $1, lease_expires = $2, fence = fence + 1,
                 attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM host_steps INDEXED BY host_steps_unfinished
                 WHERE state IN ('queued', 'claimed')
                   AND (state = 'queued' OR lease_expires <= $3)
                   AND ($4 IS NULL OR rollout_id = $4)
                   AND ($5 IS NULL OR token = $5)
                 ORDER BY id LIMIT $6)
             RETURNING id, rollout_id, token, host, step, resume, fence, attempts",
        )
        .bind(&claim.owner)
        .bind(until_unix)
        .bind(now_unix)
        .bind(rollout_id)
        .bind(token)
        .bind(claim.limit)
        .fetch_all(&mut *transaction)
        .await
        .doing(doing)?;
        transaction.commit().await.doing(doing)?;
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
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await.doing(doing)?;
        if !self.holds(&mut transaction, lease, &doing).await? {
            drop(transaction);
            return Err(self.lease_lost(lease, &doing).await);
        }
        let mut abandoned = 0;
        for token in tokens {
            let changed = sqlx::query(
                "UPDATE host_steps
                 SET state = 'abandoned', lease_expires = NULL, finished_at = $3
                 WHERE rollout_id = $1 AND token = $2 AND finished_at IS NULL",
            )
            .bind(&lease.rollout_id)
            .bind(token)
            .bind(now_unix)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
            abandoned += changed.rows_affected();
        }
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

impl Sqlite {
    /// Whether the rollout still carries `lease`'s token, read inside `transaction`.
    async fn holds(
        &self,
        transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        lease: &Lease,
        doing: &(dyn Fn() -> String + Sync),
    ) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT owner, fence FROM rollouts WHERE id = $1")
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

fn step_row(row: &SqliteRow, doing: &dyn Fn() -> String) -> Result<HostStepRow, StoreError> {
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
    row: &SqliteRow,
    token: i64,
    doing: &dyn Fn() -> String,
) -> Result<StepState, StoreError> {
    let text: String = get(row, "state", doing)?;
    text.parse().map_err(|message| StoreError::CorruptRow {
        doing: doing(),
        message: format!("host step {token}: {message}"),
    })
}
