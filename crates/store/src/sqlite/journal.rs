//! Rollout journals in SQLite: appended in write transactions taken up front, so concurrent
//! appenders queue instead of forking the chain; read in seq order. The chain itself is
//! `journal_chain.rs`.

use sqlx::error::ErrorKind;
use sqlx::sqlite::SqliteRow;

use super::{Sqlite, get, violation};
use crate::StoreError;
use crate::journal_chain::{self, GENESIS_HASH};
use crate::rollout_records::{JournalEntry, NewJournalEntry};

impl Sqlite {
    pub(crate) async fn append_journal(
        &self,
        rollout_id: &str,
        entries: &[NewJournalEntry],
    ) -> Result<Vec<i64>, StoreError> {
        let doing = || format!("appending to the journal of rollout {rollout_id}");
        let query_error = |source| StoreError::Query { doing: doing(), source };
        // BEGIN IMMEDIATE takes the write lock before reading the last entry: a second
        // appender (a task, or another process) waits here, under the busy timeout, and then
        // reads the first one's entries. A plain BEGIN would read first and could only fail
        // when upgrading to write. PostgreSQL will lock the rollout's row instead
        // (`SELECT … FOR UPDATE`). The (rollout_id, seq) key backs both: a fork cannot commit.
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(query_error)?;
        let last = sqlx::query(
            "SELECT seq, hash FROM rollout_journal WHERE rollout_id = $1
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(rollout_id)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(query_error)?;
        let (last_seq, last_hash) = match &last {
            Some(row) => (get(row, "seq", &doing)?, get(row, "hash", &doing)?),
            None => (0, GENESIS_HASH.to_owned()),
        };
        let chained = journal_chain::chain(last_seq, &last_hash, entries);
        for entry in &chained {
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
            .execute(&mut *transaction)
            .await
            .map_err(|source| match violation(&source) {
                Some(ErrorKind::ForeignKeyViolation) => {
                    StoreError::UnknownRollout { doing: doing(), rollout_id: rollout_id.to_owned() }
                }
                _ => StoreError::Query { doing: doing(), source },
            })?;
        }
        // Dropping the transaction on an error above rolls it back: all of the entries or none.
        transaction.commit().await.map_err(query_error)?;
        Ok(chained.iter().map(|entry| entry.seq).collect())
    }

    pub(crate) async fn journal_since(
        &self,
        rollout_id: &str,
        after_seq: i64,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let doing =
            || format!("reading the journal of rollout {rollout_id} after entry {after_seq}");
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, host, body, prev_hash, hash FROM rollout_journal
             WHERE rollout_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(rollout_id)
        .bind(after_seq)
        .fetch_all(&self.pool)
        .await
        .map_err(|source| StoreError::Query { doing: doing(), source })?;
        rows.iter().map(|row| journal_entry(row, &doing)).collect()
    }
}

fn journal_entry(row: &SqliteRow, doing: &dyn Fn() -> String) -> Result<JournalEntry, StoreError> {
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
