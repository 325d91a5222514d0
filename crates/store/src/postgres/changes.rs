//! Change journals and change windows in PostgreSQL. A change entry is appended in a
//! transaction holding the change journals' advisory lock from its start, after the caller's
//! check of the journal as it is then, so two people acting at once (on one replica or two) are
//! checked one after the other (two requests cannot both pass). A window is claimed by
//! insert-if-absent: exactly one scheduler gets it.

use sqlx::error::ErrorKind;
use sqlx::postgres::PgRow;

use super::{Postgres, Serialized, get};
use crate::error::QueryContext;
use crate::journal_chain::{self, GENESIS_HASH};
use crate::validate::Checked;
use crate::{
    AcceptChange, ChangeEntry, Changes, NewChangeEntry, NewJournalEntry, StoreError, WindowClaim,
};

#[async_trait::async_trait]
impl Changes for Postgres {
    async fn append_change(
        &self,
        _: Checked,
        plan_id: &str,
        entry: &NewChangeEntry,
        accept: &AcceptChange<'_>,
    ) -> Result<Result<i64, String>, StoreError> {
        let doing = || format!("recording a {} of the change of plan {plan_id}", entry.kind);
        let mut transaction = self.begin_serialized(Serialized::Changes, &doing).await?;
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, actor, body, prev_hash, hash FROM change_journal
             WHERE plan_id = $1 ORDER BY seq",
        )
        .bind(plan_id)
        .fetch_all(&mut *transaction)
        .await
        .doing(doing)?;
        let journal: Vec<ChangeEntry> =
            rows.iter().map(|row| change_entry(row, &doing)).collect::<Result<_, _>>()?;
        if let Err(refusal) = accept(&journal) {
            return Ok(Err(refusal));
        }
        let (last_seq, last_hash) =
            journal.last().map_or((0, GENESIS_HASH.to_owned()), |e| (e.seq, e.hash.clone()));
        let chained = journal_chain::chain(
            last_seq,
            &last_hash,
            &[NewJournalEntry {
                at_ms: entry.at_ms,
                kind: entry.kind.clone(),
                host: Some(entry.actor.clone()),
                body_json: entry.body_json.clone(),
            }],
        );
        let new = &chained[0];
        sqlx::query(
            "INSERT INTO change_journal (plan_id, seq, at_ms, kind, actor, body, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(plan_id)
        .bind(new.seq)
        .bind(new.at_ms)
        .bind(&new.kind)
        .bind(&entry.actor)
        .bind(&new.body_json)
        .bind(&new.prev_hash)
        .bind(&new.hash)
        .execute(&mut *transaction)
        .await
        .doing_unless(doing, |kind| {
            (kind == ErrorKind::ForeignKeyViolation)
                .then(|| StoreError::UnknownPlan { doing: doing(), plan_id: plan_id.to_owned() })
        })?;
        transaction.commit().await.doing(doing)?;
        Ok(Ok(new.seq))
    }

    async fn change_journal(&self, plan_id: &str) -> Result<Vec<ChangeEntry>, StoreError> {
        let doing = || format!("reading the change journal of plan {plan_id}");
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, actor, body, prev_hash, hash FROM change_journal
             WHERE plan_id = $1 ORDER BY seq",
        )
        .bind(plan_id)
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter().map(|row| change_entry(row, &doing)).collect()
    }

    async fn claim_window(
        &self,
        environment: &str,
        window_start_unix: i64,
        owner: &str,
        now_unix: i64,
    ) -> Result<bool, StoreError> {
        let doing = || format!("claiming the {environment} window opening at {window_start_unix}");
        // One statement decides: of two schedulers (or one restarted), exactly one inserts.
        let inserted = sqlx::query(
            "INSERT INTO scheduler_windows (environment, window_start, claimed_at, owner)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (environment, window_start) DO NOTHING",
        )
        .bind(environment)
        .bind(window_start_unix)
        .bind(now_unix)
        .bind(owner)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn record_window(
        &self,
        environment: &str,
        window_start_unix: i64,
        plan_id: Option<&str>,
        rollout_id: Option<&str>,
        outcome: &str,
    ) -> Result<(), StoreError> {
        let doing = || format!("recording the {environment} window opening at {window_start_unix}");
        sqlx::query(
            "UPDATE scheduler_windows SET plan_id = $3, rollout_id = $4, outcome = $5
             WHERE environment = $1 AND window_start = $2",
        )
        .bind(environment)
        .bind(window_start_unix)
        .bind(plan_id)
        .bind(rollout_id)
        .bind(outcome)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        Ok(())
    }

    async fn window_claims(&self) -> Result<Vec<WindowClaim>, StoreError> {
        let doing = || "reading the scheduler's window claims".to_owned();
        let rows = sqlx::query(
            "SELECT environment, window_start, claimed_at, owner, plan_id, rollout_id, outcome
             FROM scheduler_windows ORDER BY window_start, environment",
        )
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter()
            .map(|row| {
                Ok(WindowClaim {
                    environment: get(row, "environment", &doing)?,
                    window_start_unix: get(row, "window_start", &doing)?,
                    claimed_at_unix: get(row, "claimed_at", &doing)?,
                    owner: get(row, "owner", &doing)?,
                    plan_id: get(row, "plan_id", &doing)?,
                    rollout_id: get(row, "rollout_id", &doing)?,
                    outcome: get(row, "outcome", &doing)?,
                })
            })
            .collect()
    }
}

fn change_entry(row: &PgRow, doing: &dyn Fn() -> String) -> Result<ChangeEntry, StoreError> {
    Ok(ChangeEntry {
        seq: get(row, "seq", doing)?,
        at_ms: get(row, "at_ms", doing)?,
        kind: get(row, "kind", doing)?,
        actor: get(row, "actor", doing)?,
        body_json: get(row, "body", doing)?,
        prev_hash: get(row, "prev_hash", doing)?,
        hash: get(row, "hash", doing)?,
    })
}
