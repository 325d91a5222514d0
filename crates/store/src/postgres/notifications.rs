//! Notification deliveries and notices in PostgreSQL. Each delivery is a row chained to the one
//! before in one hash chain, appended in a transaction holding the notifications' advisory lock
//! from its start; a notice is claimed by insert-if-absent, so exactly one scheduler sends it.
//! Webhook targets arrive redacted; there are no rows from before redaction to redact on open,
//! as SQLite's backend has.

use sqlx::postgres::PgRow;

use super::{Postgres, Serialized, get};
use crate::error::QueryContext;
use crate::journal_chain;
use crate::validate::Checked;
use crate::{
    JournalCheck, JournalEntry, NewJournalEntry, NotificationRecord, Notifications, StoreError,
    StoredNotification,
};

#[async_trait::async_trait]
impl Notifications for Postgres {
    async fn record_notification(
        &self,
        _: Checked,
        record: &NotificationRecord,
    ) -> Result<i64, StoreError> {
        let doing = || format!("recording a notification to {}", record.target);
        let mut transaction = self.begin_serialized(Serialized::Notifications, &doing).await?;
        let last = sqlx::query(
            "SELECT chain_seq, hash FROM notifications WHERE chain_seq IS NOT NULL
             ORDER BY chain_seq DESC LIMIT 1",
        )
        .fetch_optional(&mut *transaction)
        .await
        .doing(doing)?;
        let (last_seq, last_hash) = match &last {
            Some(row) => (get(row, "chain_seq", &doing)?, get(row, "hash", &doing)?),
            None => (0, journal_chain::GENESIS_HASH.to_owned()),
        };
        let chained = journal_chain::chain(last_seq, &last_hash, &[notification_entry(record)]);
        let row = sqlx::query(
            "INSERT INTO notifications
                 (at, kind, subject, channel, target, key_id, delivered, error, event,
                  chain_seq, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(record.at_unix)
        .bind(&record.kind)
        .bind(&record.subject)
        .bind(&record.channel)
        .bind(&record.target)
        .bind(&record.key_id)
        .bind(record.error.is_none())
        .bind(&record.error)
        .bind(&record.event_json)
        .bind(chained[0].seq)
        .bind(&chained[0].prev_hash)
        .bind(&chained[0].hash)
        .fetch_one(&mut *transaction)
        .await
        .doing(doing)?;
        let id = get(&row, "id", &doing)?;
        transaction.commit().await.doing(doing)?;
        Ok(id)
    }

    /// The chain of the notification record, and its hashes in order: the rows written since
    /// the record was chained.
    async fn verify_notifications(&self) -> Result<(JournalCheck, Vec<String>), StoreError> {
        let doing = || "checking the notification record".to_owned();
        let rows = sqlx::query(
            "SELECT at, kind, subject, channel, target, key_id, error, event,
                    chain_seq, prev_hash, hash
             FROM notifications WHERE chain_seq IS NOT NULL ORDER BY chain_seq",
        )
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let entry = notification_entry(&notification_record(row, &doing)?);
            entries.push(JournalEntry {
                seq: get(row, "chain_seq", &doing)?,
                at_ms: entry.at_ms,
                kind: entry.kind,
                host: entry.host,
                body_json: entry.body_json,
                prev_hash: get(row, "prev_hash", &doing)?,
                hash: get(row, "hash", &doing)?,
            });
        }
        let hashes = entries.iter().map(|e| e.hash.clone()).collect();
        Ok((journal_chain::verify(journal_chain::GENESIS_HASH, &entries), hashes))
    }

    async fn notifications(&self) -> Result<Vec<StoredNotification>, StoreError> {
        let doing = || "listing notifications".to_owned();
        let rows = sqlx::query(
            "SELECT id, at, kind, subject, channel, target, key_id, error, event FROM notifications
             ORDER BY at, id",
        )
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter()
            .map(|row| {
                Ok(StoredNotification {
                    id: get(row, "id", &doing)?,
                    record: notification_record(row, &doing)?,
                })
            })
            .collect()
    }

    async fn claim_notice(
        &self,
        key: &str,
        owner: &str,
        now_unix: i64,
    ) -> Result<bool, StoreError> {
        let doing = || format!("claiming the notice {key}");
        // One statement decides, as for windows: of two schedulers, exactly one sends it.
        let inserted = sqlx::query(
            "INSERT INTO notification_notices (key, claimed_at, claimed_by) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(now_unix)
        .bind(owner)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        Ok(inserted.rows_affected() == 1)
    }
}

/// A delivery's record from its row.
fn notification_record(
    row: &PgRow,
    doing: &dyn Fn() -> String,
) -> Result<NotificationRecord, StoreError> {
    Ok(NotificationRecord {
        at_unix: get(row, "at", doing)?,
        kind: get(row, "kind", doing)?,
        subject: get(row, "subject", doing)?,
        channel: get(row, "channel", doing)?,
        target: get(row, "target", doing)?,
        key_id: get(row, "key_id", doing)?,
        error: get(row, "error", doing)?,
        event_json: get(row, "event", doing)?,
    })
}

/// A delivery as the chain hashes it: its time (Unix seconds), its event's kind, its target in
/// the host's place, and the rest as one JSON object (serde_json's map: keys sorted).
fn notification_entry(record: &NotificationRecord) -> NewJournalEntry {
    let rest = serde_json::json!({
        "subject": record.subject,
        "channel": record.channel,
        "key_id": record.key_id,
        "error": record.error,
        "event": record.event_json,
    });
    NewJournalEntry {
        at_ms: record.at_unix,
        kind: record.kind.clone(),
        host: Some(record.target.clone()),
        body_json: rest.to_string(),
    }
}
