//! Assessment attempts in PostgreSQL: a row per attempt, its summary in columns for listings and
//! the whole assessment as JSON (`protocol::assessment::AssessmentV1`), tagged with its format
//! ([`ASSESSMENT_FORMAT`]).

use model::{Assessment, Summary};
use protocol::assessment::AssessmentV1;
use sqlx::postgres::PgRow;

use super::{Postgres, Serialized, get, package_manager_column, unknown_host};
use crate::error::QueryContext;
use crate::{
    ASSESSMENT_FORMAT, AssessmentOutcome, AssessmentRecord, AssessmentSummaryRow, Assessments,
    Failure, StoreError, StoredAssessment, SummaryOutcome,
};

/// The columns `summary_row` reads; a macro so that every query stays a `&'static str`.
macro_rules! summary_columns {
    () => {
        "id, host, taken_at, duration_ms, ok, error_kind, error_message, n_updates, n_security, \
         n_kernel, reboot_required, package_manager"
    };
}

/// Each host's latest assessment, its summary only (the documents are large).
pub const LATEST_ASSESSMENTS: &str = concat!(
    "SELECT latest.* FROM hosts CROSS JOIN LATERAL (
         SELECT ",
    summary_columns!(),
    " FROM assessments WHERE assessments.host = hosts.name
         ORDER BY taken_at DESC, id DESC LIMIT 1
     ) latest
     ORDER BY hosts.name"
);

#[async_trait::async_trait]
impl Assessments for Postgres {
    async fn record_assessment(&self, record: &AssessmentRecord) -> Result<String, StoreError> {
        let doing = || format!("recording an assessment of {}", record.host);
        let invalid = |message: String| StoreError::InvalidValue { doing: doing(), message };
        let id = uuid::Uuid::now_v7().to_string();
        let duration_ms = i64::try_from(record.duration_ms)
            .map_err(|_| invalid(format!("duration {} ms is out of range", record.duration_ms)))?;
        let query = sqlx::query(
            "INSERT INTO assessments (id, host, taken_at, duration_ms, ok, error_kind,
                 error_message, assessment, assessment_format, n_updates, n_security, n_kernel,
                 reboot_required, package_manager)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(&record.host)
        .bind(record.taken_at_unix)
        .bind(duration_ms);
        let query = match &record.outcome {
            AssessmentOutcome::Assessed(assessment) => {
                let stored = AssessmentV1::from(assessment.as_ref());
                let json = serde_json::to_string(&stored).map_err(|e| {
                    invalid(format!("the assessment cannot be written as JSON: {e}"))
                })?;
                let summary = assessment.summary();
                let count = |n: usize| {
                    i64::try_from(n).map_err(|_| invalid(format!("count {n} is out of range")))
                };
                query
                    .bind(true)
                    .bind(None::<String>)
                    .bind(None::<String>)
                    .bind(json)
                    .bind(ASSESSMENT_FORMAT)
                    .bind(count(summary.n_updates)?)
                    .bind(count(summary.n_security)?)
                    .bind(count(summary.n_kernel)?)
                    .bind(summary.reboot_required)
                    .bind(assessment.package_manager.as_str())
            }
            AssessmentOutcome::Failed(failure) => query
                .bind(false)
                .bind(&failure.kind)
                .bind(&failure.message)
                .bind(None::<String>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<bool>)
                .bind(None::<&str>),
        };
        // Under the assessments' lock, so that rows commit in `seq` order: the mark (the
        // largest `seq`) then never passes an assessment not yet visible (see
        // `assessments_mark`). The lock is held for this one insert.
        let mut transaction = self.begin_serialized(Serialized::Assessments, &doing).await?;
        query
            .execute(&mut *transaction)
            .await
            .doing_unless(doing, |kind| unknown_host(kind, doing(), &record.host))?;
        transaction.commit().await.doing(doing)?;
        Ok(id)
    }

    async fn latest_assessments(
        &self,
        hosts: Option<&[String]>,
    ) -> Result<Vec<AssessmentSummaryRow>, StoreError> {
        let doing = || "reading the latest assessments".to_owned();
        // Per host, the newest row, found at the end of the host's stretch of the
        // (host, taken_at, id) index: a few pages per host, never the whole table (SQLite's
        // window function makes PostgreSQL scan and sort every row). Every assessment's host
        // has a row in `hosts` (a foreign key), so none is missed.
        let rows = sqlx::query(LATEST_ASSESSMENTS).fetch_all(&self.pool).await.doing(doing)?;
        let mut summaries =
            rows.iter().map(|row| summary_row(row, &doing)).collect::<Result<Vec<_>, _>>()?;
        if let Some(hosts) = hosts {
            // A set: compliance asks for every host of the inventory, tens of thousands.
            let wanted: std::collections::HashSet<&str> =
                hosts.iter().map(String::as_str).collect();
            summaries.retain(|s| wanted.contains(s.host.as_str()));
        }
        Ok(summaries)
    }

    async fn assessments_mark(&self) -> Result<i64, StoreError> {
        // `seq` is an identity column (SQLite's rowid): the largest is the mark, read from the
        // end of its unique index. A sequence hands out numbers before commit, so two inserts
        // at once could commit out of order, and a mark read between would already count the
        // one still invisible; `record_assessment` takes the assessments' lock around its
        // insert, so that they commit in `seq` order.
        let (mark,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM assessments")
            .fetch_one(&self.pool)
            .await
            .doing(|| "reading the assessments' mark".to_owned())?;
        Ok(mark)
    }

    async fn history(
        &self,
        host: &str,
        limit: u32,
    ) -> Result<Vec<AssessmentSummaryRow>, StoreError> {
        let doing = || format!("reading the history of {host}");
        let rows = sqlx::query(concat!(
            "SELECT ",
            summary_columns!(),
            " FROM assessments WHERE host = $1 ORDER BY taken_at DESC, id DESC LIMIT $2"
        ))
        .bind(host)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter().map(|row| summary_row(row, &doing)).collect()
    }

    async fn assessments_of(&self, host: &str) -> Result<Vec<StoredAssessment>, StoreError> {
        let doing = || format!("reading the assessments of {host}");
        let rows =
            sqlx::query("SELECT id FROM assessments WHERE host = $1 AND ok ORDER BY taken_at, id")
                .bind(host)
                .fetch_all(&self.pool)
                .await
                .doing(doing)?;
        let mut assessments = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = get(row, "id", &doing)?;
            assessments.extend(self.assessment(&id).await?);
        }
        Ok(assessments)
    }

    async fn assessment(&self, id: &str) -> Result<Option<StoredAssessment>, StoreError> {
        let doing = || format!("reading assessment {id}");
        let row = sqlx::query(concat!(
            "SELECT ",
            summary_columns!(),
            ", assessment, assessment_format FROM assessments WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .doing(doing)?;
        let Some(row) = row else { return Ok(None) };
        let summary = summary_row(&row, &doing)?;
        let outcome = match summary.outcome {
            SummaryOutcome::Failed(failure) => AssessmentOutcome::Failed(failure),
            SummaryOutcome::Assessed(_) => {
                let corrupt = |message: String| StoreError::CorruptRow { doing: doing(), message };
                let format: Option<i64> = get(&row, "assessment_format", &doing)?;
                if format != Some(ASSESSMENT_FORMAT) {
                    return Err(corrupt(format!(
                        "assessment format {format:?}; this patchctl reads format {ASSESSMENT_FORMAT}"
                    )));
                }
                let json: Option<String> = get(&row, "assessment", &doing)?;
                let stored: AssessmentV1 = serde_json::from_str(json.as_deref().unwrap_or(""))
                    .map_err(|e| corrupt(format!("the assessment JSON: {e}")))?;
                AssessmentOutcome::Assessed(Box::new(Assessment::from(stored)))
            }
        };
        Ok(Some(StoredAssessment {
            id: summary.id,
            record: AssessmentRecord {
                host: summary.host,
                taken_at_unix: summary.taken_at_unix,
                duration_ms: summary.duration_ms,
                outcome,
            },
        }))
    }
}

fn summary_row(
    row: &PgRow,
    doing: &dyn Fn() -> String,
) -> Result<AssessmentSummaryRow, StoreError> {
    let corrupt = |message: String| StoreError::CorruptRow { doing: doing(), message };
    let ok: bool = get(row, "ok", doing)?;
    let outcome = if ok {
        let count = |column: &str| -> Result<usize, StoreError> {
            let n: Option<i64> = get(row, column, doing)?;
            n.and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| corrupt(format!("{column} is {n:?}")))
        };
        let reboot_required: Option<bool> = get(row, "reboot_required", doing)?;
        SummaryOutcome::Assessed(Summary {
            n_updates: count("n_updates")?,
            n_security: count("n_security")?,
            n_kernel: count("n_kernel")?,
            reboot_required: reboot_required
                .ok_or_else(|| corrupt("reboot_required is NULL".to_owned()))?,
        })
    } else {
        let kind: Option<String> = get(row, "error_kind", doing)?;
        let message: Option<String> = get(row, "error_message", doing)?;
        SummaryOutcome::Failed(Failure {
            kind: kind.ok_or_else(|| corrupt("error_kind is NULL".to_owned()))?,
            message: message.unwrap_or_default(),
        })
    };
    let duration_ms: i64 = get(row, "duration_ms", doing)?;
    Ok(AssessmentSummaryRow {
        id: get(row, "id", doing)?,
        host: get(row, "host", doing)?,
        taken_at_unix: get(row, "taken_at", doing)?,
        duration_ms: u64::try_from(duration_ms)
            .map_err(|_| corrupt(format!("duration_ms is {duration_ms}")))?,
        outcome,
        package_manager: package_manager_column(row, doing)?,
    })
}
