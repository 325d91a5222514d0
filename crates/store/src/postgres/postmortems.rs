//! Postmortems in PostgreSQL. Opening and closing a postmortem write its row and its record entry
//! in one transaction, so the record never misses an action.

use sqlx::postgres::PgRow;

use super::{Postgres, Serialized, get};
use crate::error::QueryContext;
use crate::journal_chain::{self, postmortem_genesis};
use crate::validate::Checked;
use crate::{
    JournalCheck, JournalEntry, NewJournalEntry, NewPostmortem, Opened, PostmortemClosure,
    PostmortemEvent, Postmortems, StoreError, StoredPostmortem,
};

const POSTMORTEM_COLUMNS: &str = "id, subject_kind, subject_ref, title, hosts, owner, opened_at, \
     opened_by, due_at, root_cause, actions, closed_at, closed_by";

#[async_trait::async_trait]
impl Postmortems for Postgres {
    async fn open_postmortem(
        &self,
        _: Checked,
        new: &NewPostmortem,
        body_json: &str,
    ) -> Result<Opened, StoreError> {
        let doing = || format!("opening a postmortem for {} {}", new.subject_kind, new.subject_ref);
        let hosts = serde_json::to_string(&new.hosts).expect("names serialize");
        let mut transaction = self.begin_serialized(Serialized::Postmortems, &doing).await?;
        let inserted = sqlx::query(
            "INSERT INTO postmortems (subject_kind, subject_ref, title, hosts, owner, opened_at,
                 opened_by, due_at, actions)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '[]')
             ON CONFLICT (subject_kind, subject_ref) DO NOTHING",
        )
        .bind(&new.subject_kind)
        .bind(&new.subject_ref)
        .bind(&new.title)
        .bind(&hosts)
        .bind(&new.owner)
        .bind(new.opened_at_unix)
        .bind(&new.opened_by)
        .bind(new.due_at_unix)
        .execute(&mut *transaction)
        .await
        .doing(doing)?;
        let row = sqlx::query(&format!(
            "SELECT {POSTMORTEM_COLUMNS} FROM postmortems WHERE subject_kind = $1 AND subject_ref = $2"
        ))
        .bind(&new.subject_kind)
        .bind(&new.subject_ref)
        .fetch_one(&mut *transaction)
        .await
        .doing(doing)?;
        let stored = postmortem(&row, &doing)?;
        if inserted.rows_affected() == 0 {
            return Ok(Opened::Exists(stored));
        }
        let entry = record_entry(new.opened_at_unix, &new.opened_by, "opened", body_json);
        let chained = journal_chain::chain(0, &postmortem_genesis(&stored), &[entry]);
        sqlx::query(
            "INSERT INTO postmortem_events
                 (postmortem_id, seq, at, actor, action, body, prev_hash, hash)
             VALUES ($1, 1, $2, $3, 'opened', $4, $5, $6)",
        )
        .bind(stored.id)
        .bind(new.opened_at_unix)
        .bind(&new.opened_by)
        .bind(body_json)
        .bind(&chained[0].prev_hash)
        .bind(&chained[0].hash)
        .execute(&mut *transaction)
        .await
        .doing(doing)?;
        transaction.commit().await.doing(doing)?;
        Ok(Opened::Opened(stored))
    }

    async fn close_postmortem(
        &self,
        _: Checked,
        id: i64,
        closure: &PostmortemClosure,
        body_json: &str,
    ) -> Result<StoredPostmortem, StoreError> {
        let doing = || format!("closing postmortem {id}");
        let actions = serde_json::to_string(&closure.actions).expect("strings serialize");
        let mut transaction = self.begin_serialized(Serialized::Postmortems, &doing).await?;
        // Only an open one: the condition, not a read before, decides, so two people closing
        // at once cannot both succeed.
        let updated = sqlx::query(
            "UPDATE postmortems SET root_cause = $2, actions = $3, closed_at = $4, closed_by = $5
             WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(id)
        .bind(&closure.root_cause)
        .bind(&actions)
        .bind(closure.closed_at_unix)
        .bind(&closure.closed_by)
        .execute(&mut *transaction)
        .await
        .doing(doing)?;
        if updated.rows_affected() == 0 {
            drop(transaction);
            return Err(match self.postmortem(id).await? {
                None => StoreError::UnknownPostmortem { id },
                Some(stored) => StoreError::PostmortemClosed {
                    id,
                    closed_by: stored.closed_by.unwrap_or_default(),
                    closed_at_unix: stored.closed_at_unix.unwrap_or_default(),
                },
            });
        }
        let last = sqlx::query(
            "SELECT seq, hash FROM postmortem_events WHERE postmortem_id = $1
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&mut *transaction)
        .await
        .doing(doing)?;
        let (last_seq, last_hash): (i64, Option<String>) = match &last {
            Some(row) => (get(row, "seq", &doing)?, get(row, "hash", &doing)?),
            None => (0, None),
        };
        // A record begun before it was chained stays unchained: a hash after a gap would
        // vouch for entries nothing covers.
        let entry = record_entry(closure.closed_at_unix, &closure.closed_by, "closed", body_json);
        let (prev_hash, hash) = match last_hash {
            Some(last_hash) => {
                let chained = journal_chain::chain(last_seq, &last_hash, &[entry]);
                (Some(chained[0].prev_hash.clone()), Some(chained[0].hash.clone()))
            }
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO postmortem_events
                 (postmortem_id, seq, at, actor, action, body, prev_hash, hash)
             VALUES ($1, $2, $3, $4, 'closed', $5, $6, $7)",
        )
        .bind(id)
        .bind(last_seq + 1)
        .bind(closure.closed_at_unix)
        .bind(&closure.closed_by)
        .bind(body_json)
        .bind(prev_hash)
        .bind(hash)
        .execute(&mut *transaction)
        .await
        .doing(doing)?;
        let row =
            sqlx::query(&format!("SELECT {POSTMORTEM_COLUMNS} FROM postmortems WHERE id = $1"))
                .bind(id)
                .fetch_one(&mut *transaction)
                .await
                .doing(doing)?;
        let stored = postmortem(&row, &doing)?;
        transaction.commit().await.doing(doing)?;
        Ok(stored)
    }

    async fn postmortem(&self, id: i64) -> Result<Option<StoredPostmortem>, StoreError> {
        let doing = || format!("reading postmortem {id}");
        let row =
            sqlx::query(&format!("SELECT {POSTMORTEM_COLUMNS} FROM postmortems WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .doing(doing)?;
        row.map(|row| postmortem(&row, &doing)).transpose()
    }

    async fn postmortems(&self) -> Result<Vec<StoredPostmortem>, StoreError> {
        let doing = || "listing postmortems".to_owned();
        let rows =
            sqlx::query(&format!("SELECT {POSTMORTEM_COLUMNS} FROM postmortems ORDER BY id"))
                .fetch_all(&self.pool)
                .await
                .doing(doing)?;
        rows.iter().map(|row| postmortem(row, &doing)).collect()
    }

    async fn postmortem_events(&self, id: i64) -> Result<Vec<PostmortemEvent>, StoreError> {
        let doing = || format!("reading the record of postmortem {id}");
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, body, prev_hash, hash FROM postmortem_events
             WHERE postmortem_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter()
            .map(|row| {
                Ok(PostmortemEvent {
                    seq: get(row, "seq", &doing)?,
                    at_unix: get(row, "at", &doing)?,
                    actor: get(row, "actor", &doing)?,
                    action: get(row, "action", &doing)?,
                    body_json: get(row, "body", &doing)?,
                    prev_hash: get(row, "prev_hash", &doing)?,
                    hash: get(row, "hash", &doing)?,
                })
            })
            .collect()
    }

    /// The chain of a postmortem's record, checked from the genesis its opening makes;
    /// `None` when the record was begun before records were chained.
    async fn verify_postmortem(&self, id: i64) -> Result<Option<JournalCheck>, StoreError> {
        let Some(stored) = self.postmortem(id).await? else {
            return Err(StoreError::UnknownPostmortem { id });
        };
        let events = self.postmortem_events(id).await?;
        if events.first().is_some_and(|e| e.hash.is_none()) {
            return Ok(None);
        }
        let entries: Vec<JournalEntry> = events
            .into_iter()
            .map(|e| JournalEntry {
                seq: e.seq,
                at_ms: e.at_unix,
                kind: e.action,
                host: Some(e.actor),
                body_json: e.body_json,
                prev_hash: e.prev_hash.unwrap_or_default(),
                hash: e.hash.unwrap_or_default(),
            })
            .collect();
        Ok(Some(journal_chain::verify(&postmortem_genesis(&stored), &entries)))
    }
}

fn postmortem(row: &PgRow, doing: &dyn Fn() -> String) -> Result<StoredPostmortem, StoreError> {
    let corrupt = |message: String| StoreError::CorruptRow { doing: doing(), message };
    let list = |column: &str| -> Result<Vec<String>, StoreError> {
        let json: String = get(row, column, doing)?;
        serde_json::from_str(&json).map_err(|e| corrupt(format!("{column}: {e}")))
    };
    Ok(StoredPostmortem {
        id: get(row, "id", doing)?,
        subject_kind: get(row, "subject_kind", doing)?,
        subject_ref: get(row, "subject_ref", doing)?,
        title: get(row, "title", doing)?,
        hosts: list("hosts")?,
        owner: get(row, "owner", doing)?,
        opened_at_unix: get(row, "opened_at", doing)?,
        opened_by: get(row, "opened_by", doing)?,
        due_at_unix: get(row, "due_at", doing)?,
        root_cause: get(row, "root_cause", doing)?,
        actions: list("actions")?,
        closed_at_unix: get(row, "closed_at", doing)?,
        closed_by: get(row, "closed_by", doing)?,
    })
}

/// A postmortem record entry as the chain hashes it: its time (Unix seconds, in the `at_ms`
/// slot), its action as the kind, its actor in the host's place, its body.
fn record_entry(at_unix: i64, actor: &str, action: &str, body_json: &str) -> NewJournalEntry {
    NewJournalEntry {
        at_ms: at_unix,
        kind: action.to_owned(),
        host: Some(actor.to_owned()),
        body_json: body_json.to_owned(),
    }
}
