//! Advisories in PostgreSQL: imported in transactions of at most [`ADVISORIES_PER_TRANSACTION`]
//! records (a re-import replaces rows by key, so it never duplicates), read back whole for
//! matching, looked up by id, alias or CVE. Bodies are `protocol::advisory::AdvisoryV1`.

use model::advisory::{Advisory, AdvisoryFormat};
use protocol::advisory::AdvisoryV1;
use sqlx::postgres::PgRow;

use super::{Postgres, Serialized, get};
use crate::error::QueryContext;
use crate::{
    ADVISORY_FORMAT, Advisories, AdvisoryImportCounts, NewAdvisory, StoreError, StoredAdvisory,
};

const COLUMNS: &str = "body, body_format, source_file, imported_at";

/// The most records one transaction writes: importers wait for each other (an advisory lock),
/// and a batch keeps each wait short.
const ADVISORIES_PER_TRANSACTION: usize = 1_000;

#[async_trait::async_trait]
impl Advisories for Postgres {
    async fn import_advisories(
        &self,
        advisories: &[NewAdvisory<'_>],
        imported_at_unix: i64,
    ) -> Result<AdvisoryImportCounts, StoreError> {
        let mut counts = AdvisoryImportCounts::default();
        for batch in advisories.chunks(ADVISORIES_PER_TRANSACTION) {
            let batch_counts = self.import_batch(batch, imported_at_unix).await?;
            counts.inserted += batch_counts.inserted;
            counts.updated += batch_counts.updated;
            counts.unchanged += batch_counts.unchanged;
        }
        Ok(counts)
    }

    async fn advisories(&self) -> Result<Vec<StoredAdvisory>, StoreError> {
        let doing = || "reading the advisories".to_owned();
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM advisories ORDER BY id, format"))
            .fetch_all(&self.pool)
            .await
            .doing(doing)?;
        rows.iter().map(|row| stored_advisory(row, &doing)).collect()
    }

    async fn advisories_by_id(&self, id: &str) -> Result<Vec<StoredAdvisory>, StoreError> {
        let doing = || format!("reading advisory {id}");
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM advisories WHERE id = $1
             UNION
             SELECT {COLUMNS} FROM advisories WHERE (id, format) IN
                 (SELECT advisory_id, advisory_format FROM advisory_cves WHERE cve = $1)"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        let mut found: Vec<StoredAdvisory> =
            rows.iter().map(|row| stored_advisory(row, &doing)).collect::<Result<_, _>>()?;
        found.sort_by(|a, b| {
            (&a.advisory.id, a.advisory.format.as_str())
                .cmp(&(&b.advisory.id, b.advisory.format.as_str()))
        });
        Ok(found)
    }
}

impl Postgres {
    /// One transaction. The bodies are written as JSON before it begins, so the importers' lock
    /// is held for the statements alone, and it is taken before the reads that count: another
    /// importer cannot change a row between its read and its write.
    async fn import_batch(
        &self,
        advisories: &[NewAdvisory<'_>],
        imported_at_unix: i64,
    ) -> Result<AdvisoryImportCounts, StoreError> {
        let doing = || format!("importing advisories (a batch of {})", advisories.len());
        let bodies = advisories
            .iter()
            .map(|new| {
                serde_json::to_string(&AdvisoryV1::from(new.advisory)).map_err(|error| {
                    StoreError::InvalidValue {
                        doing: doing(),
                        message: format!(
                            "advisory {} cannot be written as JSON: {error}",
                            new.advisory.id
                        ),
                    }
                })
            })
            .collect::<Result<Vec<String>, _>>()?;
        let mut counts = AdvisoryImportCounts::default();
        let mut transaction = self.begin_serialized(Serialized::Advisories, &doing).await?;
        for (new, body) in advisories.iter().zip(&bodies) {
            let advisory = new.advisory;
            let format = advisory.format.as_str();
            let known: Option<String> =
                sqlx::query_scalar("SELECT body FROM advisories WHERE id = $1 AND format = $2")
                    .bind(&advisory.id)
                    .bind(format)
                    .fetch_optional(&mut *transaction)
                    .await
                    .doing(doing)?;
            match &known {
                None => counts.inserted += 1,
                Some(known) if known == body => counts.unchanged += 1,
                Some(_) => counts.updated += 1,
            }
            let highest = advisory.highest_cvss();
            sqlx::query(
                "INSERT INTO advisories (id, format, kind, summary, severity, cvss_score,
                     cvss_vector, published, modified, source_file, imported_at, body, body_format)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (id, format) DO UPDATE SET kind = excluded.kind,
                     summary = excluded.summary, severity = excluded.severity,
                     cvss_score = excluded.cvss_score, cvss_vector = excluded.cvss_vector,
                     published = excluded.published, modified = excluded.modified,
                     source_file = excluded.source_file, imported_at = excluded.imported_at,
                     body = excluded.body, body_format = excluded.body_format",
            )
            .bind(&advisory.id)
            .bind(format)
            .bind(format!("{:?}", advisory.kind).to_lowercase())
            .bind(&advisory.summary)
            .bind(advisory.severity().map(|s| format!("{s:?}").to_lowercase()))
            .bind(highest.map(|score| score.score))
            .bind(highest.map(|score| score.vector.as_str()))
            .bind(&advisory.published)
            .bind(&advisory.modified)
            .bind(new.source_file)
            .bind(imported_at_unix)
            .bind(body.as_str())
            .bind(ADVISORY_FORMAT)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
            sqlx::query(
                "DELETE FROM advisory_cves WHERE advisory_id = $1 AND advisory_format = $2",
            )
            .bind(&advisory.id)
            .bind(format)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
            for cve in &advisory.cves {
                sqlx::query(
                    "INSERT INTO advisory_cves (cve, advisory_id, advisory_format)
                     VALUES ($1, $2, $3)",
                )
                .bind(cve)
                .bind(&advisory.id)
                .bind(format)
                .execute(&mut *transaction)
                .await
                .doing(doing)?;
            }
        }
        transaction.commit().await.doing(doing)?;
        Ok(counts)
    }
}

fn stored_advisory(row: &PgRow, doing: &dyn Fn() -> String) -> Result<StoredAdvisory, StoreError> {
    let format: i64 = get(row, "body_format", doing)?;
    if format != ADVISORY_FORMAT {
        return Err(StoreError::CorruptRow {
            doing: doing(),
            message: format!("advisory JSON format {format} is unknown to this patchctl"),
        });
    }
    let body: String = get(row, "body", doing)?;
    let advisory: Advisory = serde_json::from_str::<AdvisoryV1>(&body)
        .map_err(|error| StoreError::CorruptRow {
            doing: doing(),
            message: format!("advisory JSON does not parse: {error}"),
        })?
        .into();
    // The key columns and the body are written together; a body naming another format would
    // mean a tampered row.
    debug_assert!(AdvisoryFormat::parse(advisory.format.as_str()).is_some());
    Ok(StoredAdvisory {
        advisory,
        source_file: get(row, "source_file", doing)?,
        imported_at_unix: get(row, "imported_at", doing)?,
    })
}
