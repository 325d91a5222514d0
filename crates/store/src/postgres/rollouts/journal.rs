//! Rollout journals in PostgreSQL: appended in transactions that lock the rollout's row first
//! (`SELECT … FOR UPDATE`), so concurrent appenders queue instead of forking the chain, and only
//! under the lease whose fencing token the row still carries (requests from other processes
//! excepted); read in seq order. The chain itself is `journal_chain.rs`. Entries arrive checked
//! (`validate.rs`).

use sqlx::error::ErrorKind;
use sqlx::postgres::PgRow;
use sqlx::{Postgres as Db, Transaction};

use super::verified::replace_verified;
use super::{Postgres, claims_of, get, lock_claims, phase_column};
use crate::error::QueryContext;
use crate::journal_chain::{self, RolloutHeader};
use crate::validate::Checked;
use crate::{
    JournalCheck, JournalEntry, Lease, NewJournalEntry, PhaseUpdate, RolloutJournals, StoreError,
    VerifiedHost,
};

/// A rollout's journal after entry `$2`: what a driver or a watcher polls.
pub const JOURNAL_SINCE: &str = "SELECT seq, at_ms, kind, host, body, prev_hash, hash
     FROM rollout_journal WHERE rollout_id = $1 AND seq > $2 ORDER BY seq";

#[async_trait::async_trait]
impl RolloutJournals for Postgres {
    async fn append_journal(
        &self,
        _: Checked,
        lease: &Lease,
        entries: &[NewJournalEntry],
        phase: Option<&PhaseUpdate>,
        verified: &[VerifiedHost],
    ) -> Result<Vec<i64>, StoreError> {
        let rollout_id = lease.rollout_id.as_str();
        let doing = || format!("appending to the journal of rollout {rollout_id}");
        // The rollout's row is locked before anything is read: a second appender (a task, or
        // another replica) waits here and then reads the first one's entries and token; a
        // claim (an UPDATE of the row) waits too, so the token checked stays the row's until
        // commit. The (rollout_id, seq) key backs it: a fork cannot commit.
        let mut transaction = self.pool.begin().await.doing(doing)?;
        let row = sqlx::query("SELECT owner, fence, phase FROM rollouts WHERE id = $1 FOR UPDATE")
            .bind(rollout_id)
            .fetch_optional(&mut *transaction)
            .await
            .doing(doing)?;
        let Some(row) = row else {
            return Err(StoreError::UnknownRollout {
                doing: doing(),
                rollout_id: rollout_id.to_owned(),
            });
        };
        let owner: Option<String> = get(&row, "owner", &doing)?;
        let fence: i64 = get(&row, "fence", &doing)?;
        if owner.as_deref() != Some(lease.owner.as_str()) || fence != lease.token {
            drop(transaction);
            return Err(self.lease_lost(lease, &doing).await);
        }
        let seqs = append_in(&mut transaction, rollout_id, entries, &doing).await?;
        replace_verified(&mut transaction, rollout_id, verified, &doing).await?;
        if let Some(update) = phase {
            let current = phase_column(&row, rollout_id, &doing)?;
            let reopens = current.is_finished() && !update.phase.is_finished();
            if reopens {
                // A finished rollout claims no host; one reopened (a rollback by hand) claims
                // its hosts again, and may not while another rollout has taken one.
                lock_claims(&mut transaction, &doing).await?;
                let hosts: Vec<String> =
                    sqlx::query_scalar("SELECT host FROM rollout_hosts WHERE rollout_id = $1")
                        .bind(rollout_id)
                        .fetch_all(&mut *transaction)
                        .await
                        .doing(doing)?;
                let claims = claims_of(&mut transaction, &hosts, Some(rollout_id), &doing).await?;
                if !claims.is_empty() {
                    return Err(StoreError::HostsClaimed { doing: doing(), claims });
                }
            }
            sqlx::query("UPDATE rollouts SET phase = $2, updated_at = $3 WHERE id = $1")
                .bind(rollout_id)
                .bind(update.phase.as_str())
                .bind(update.at_unix)
                .execute(&mut *transaction)
                .await
                .doing(doing)?;
        }
        // Dropping the transaction on an error above rolls it back: all of the entries or none.
        transaction.commit().await.doing(doing)?;
        Ok(seqs)
    }

    async fn append_request(
        &self,
        _: Checked,
        rollout_id: &str,
        entries: &[NewJournalEntry],
    ) -> Result<Vec<i64>, StoreError> {
        let doing = || format!("asking the driver of rollout {rollout_id}");
        // Locked like a leased append, so that the two queue instead of forking the chain.
        let mut transaction = self.pool.begin().await.doing(doing)?;
        lock_rollout(&mut transaction, rollout_id, &doing).await?;
        let seqs = append_in(&mut transaction, rollout_id, entries, &doing).await?;
        // The driver, wherever it runs, looks at once rather than at its next poll.
        Postgres::notify_wake(&mut transaction, rollout_id, &doing).await?;
        transaction.commit().await.doing(doing)?;
        Ok(seqs)
    }

    async fn journal_since(
        &self,
        rollout_id: &str,
        after_seq: i64,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let doing =
            || format!("reading the journal of rollout {rollout_id} after entry {after_seq}");
        let rows = sqlx::query(JOURNAL_SINCE)
            .bind(rollout_id)
            .bind(after_seq)
            .fetch_all(&self.pool)
            .await
            .doing(doing)?;
        rows.iter().map(|row| journal_entry(row, &doing)).collect()
    }

    async fn verify_journal(&self, rollout_id: &str) -> Result<JournalCheck, StoreError> {
        let doing = || format!("checking the journal of rollout {rollout_id}");
        // One read transaction, so that the header and the entries are of the same moment.
        let mut transaction = self.pool.begin().await.doing(doing)?;
        let genesis = genesis_of(&mut transaction, rollout_id, &doing).await?;
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, host, body, prev_hash, hash FROM rollout_journal
             WHERE rollout_id = $1 ORDER BY seq",
        )
        .bind(rollout_id)
        .fetch_all(&mut *transaction)
        .await
        .doing(doing)?;
        let entries: Vec<JournalEntry> =
            rows.iter().map(|row| journal_entry(row, &doing)).collect::<Result<_, _>>()?;
        Ok(journal_chain::verify(&genesis, &entries))
    }
}

/// Appends `entries` after the journal's last one, inside `transaction`: chained from the last
/// entry's hash, or from the rollout's genesis for its first.
async fn append_in(
    transaction: &mut Transaction<'_, Db>,
    rollout_id: &str,
    entries: &[NewJournalEntry],
    doing: &(dyn Fn() -> String + Sync),
) -> Result<Vec<i64>, StoreError> {
    let last = sqlx::query(
        "SELECT seq, hash FROM rollout_journal WHERE rollout_id = $1
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(rollout_id)
    .fetch_optional(&mut **transaction)
    .await
    .doing(doing)?;
    let (last_seq, last_hash) = match &last {
        Some(row) => (get(row, "seq", doing)?, get(row, "hash", doing)?),
        None => (0, genesis_of(transaction, rollout_id, doing).await?),
    };
    let chained = journal_chain::chain(last_seq, &last_hash, entries);
    insert_entries(transaction, rollout_id, &chained, doing).await?;
    Ok(chained.iter().map(|entry| entry.seq).collect())
}

/// Locks the rollout's row until `transaction` ends, if there is one (an append to a rollout
/// without one fails on its foreign key).
pub(super) async fn lock_rollout(
    transaction: &mut Transaction<'_, Db>,
    rollout_id: &str,
    doing: &(dyn Fn() -> String + Sync),
) -> Result<(), StoreError> {
    sqlx::query("SELECT 1 FROM rollouts WHERE id = $1 FOR UPDATE")
        .bind(rollout_id)
        .execute(&mut **transaction)
        .await
        .doing(doing)?;
    Ok(())
}

/// The genesis of a rollout's chain, from its row.
async fn genesis_of(
    transaction: &mut Transaction<'_, Db>,
    rollout_id: &str,
    doing: &(dyn Fn() -> String + Sync),
) -> Result<String, StoreError> {
    let row = sqlx::query("SELECT plan_id, config, chain_version FROM rollouts WHERE id = $1")
        .bind(rollout_id)
        .fetch_optional(&mut **transaction)
        .await
        .doing(doing)?
        .ok_or_else(|| StoreError::UnknownRollout {
            doing: doing(),
            rollout_id: rollout_id.to_owned(),
        })?;
    let (plan_id, config_json): (String, String) =
        (get(&row, "plan_id", doing)?, get(&row, "config", doing)?);
    let chain_version: i64 = get(&row, "chain_version", doing)?;
    RolloutHeader { chain_version, rollout_id, plan_id: &plan_id, config_json: &config_json }
        .genesis()
        .ok_or_else(|| StoreError::CorruptRow {
            doing: doing(),
            message: format!("unknown journal chain version {chain_version}"),
        })
}

/// Inserts entries already chained.
pub(super) async fn insert_entries(
    transaction: &mut Transaction<'_, Db>,
    rollout_id: &str,
    entries: &[JournalEntry],
    doing: &(dyn Fn() -> String + Sync),
) -> Result<(), StoreError> {
    for entry in entries {
        sqlx::query(
            "INSERT INTO rollout_journal
                 (rollout_id, seq, at_ms, kind, host, body, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(rollout_id)
        .bind(entry.seq)
        .bind(entry.at_ms)
        .bind(&entry.kind)
        .bind(&entry.host)
        .bind(&entry.body_json)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut **transaction)
        .await
        .doing_unless(doing, |kind| {
            (kind == ErrorKind::ForeignKeyViolation).then(|| StoreError::UnknownRollout {
                doing: doing(),
                rollout_id: rollout_id.to_owned(),
            })
        })?;
    }
    Ok(())
}

fn journal_entry(row: &PgRow, doing: &dyn Fn() -> String) -> Result<JournalEntry, StoreError> {
    Ok(JournalEntry {
        seq: get(row, "seq", doing)?,
        at_ms: get(row, "at_ms", doing)?,
        kind: get(row, "kind", doing)?,
        host: get(row, "host", doing)?,
        body_json: get(row, "body", doing)?,
        prev_hash: get(row, "prev_hash", doing)?,
        hash: get(row, "hash", doing)?,
    })
}
