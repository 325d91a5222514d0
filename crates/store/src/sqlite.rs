//! The SQLite backend: one file, WAL mode, migrations from `migrations/sqlite/` embedded in the
//! binary. Every query binds its values (`$1`, …); nothing is ever formatted into SQL.

mod advisories;
mod changes;
mod journal;
mod postmortems;
mod rollouts;
mod verified;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use model::{Assessment, PackageManagerKind, Summary};
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::StoreError;
use crate::error::QueryContext;
use crate::records::{
    ASSESSMENT_FORMAT, AssessmentOutcome, AssessmentRecord, AssessmentSummaryRow, Failure, HostRow,
    PinOutcome, PinnedHostKey, StoredAssessment, StoredHost, SummaryOutcome,
};

/// The columns `summary_row` reads; a macro so that every query stays a `&'static str`.
macro_rules! summary_columns {
    () => {
        "id, host, taken_at, duration_ms, ok, error_kind, error_message, n_updates, n_security, \
         n_kernel, reboot_required, package_manager"
    };
}

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a writer waits for another one (a task, or another patchctl process) before
/// giving up. Writes are single statements of a few milliseconds; a long wait means a stuck
/// process, which deserves an error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections per pool. SQLite has one writer at a time; more connections let readers run
/// beside it and writers queue inside SQLite, where the busy timeout applies.
const MAX_CONNECTIONS: u32 = 8;

#[derive(Debug, Clone)]
pub(crate) struct Sqlite {
    pool: SqlitePool,
}

impl Sqlite {
    pub(crate) async fn open(path: &Path) -> Result<Sqlite, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL never corrupts the database; a power cut may lose the last
            // transactions, which an assessment repeated recovers.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        Self::migrate(pool, path).await
    }

    pub(crate) async fn open_in_memory() -> Result<Sqlite, StoreError> {
        let path = Path::new(":memory:");
        let open_error = |source| StoreError::Open { path: path.to_path_buf(), source };
        // A private database shared by the pool's connections; it lives as long as one of them
        // is open, so the pool keeps its only connection forever.
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(open_error)?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Self::migrate(pool, path).await
    }

    async fn migrate(pool: SqlitePool, path: &Path) -> Result<Sqlite, StoreError> {
        MIGRATOR.run(&pool).await.map_err(|source| match source {
            sqlx::migrate::MigrateError::VersionMissing(version) => {
                StoreError::NewerSchema { path: path.to_path_buf(), version }
            }
            source => StoreError::Migrate { path: path.to_path_buf(), source },
        })?;
        let sqlite = Sqlite { pool };
        sqlite.redact_recorded_webhooks().await?;
        Ok(sqlite)
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) async fn rehearsal(&self) -> Result<Option<(String, i64)>, StoreError> {
        let doing = || "reading whether the state is a rehearsal copy".to_owned();
        let row = sqlx::query("SELECT copied_from, created_at FROM rehearsal WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .doing(doing)?;
        row.map(|row| Ok((get(&row, "copied_from", &doing)?, get(&row, "created_at", &doing)?)))
            .transpose()
    }

    pub(crate) async fn copy_for_rehearsal(
        &self,
        path: &Path,
        copied_from: &str,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        let doing = || format!("copying the state to {} for a rehearsal", path.display());
        let target = path.to_str().ok_or_else(|| StoreError::InvalidValue {
            doing: doing(),
            message: "the path is not UTF-8".to_owned(),
        })?;
        // VACUUM INTO writes a consistent copy, WAL included, and refuses an existing file.
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.pool).await.doing(doing)?;
        let copy = Sqlite::open(path).await?;
        copy.mark_rehearsal(copied_from, now_unix).await?;
        copy.close().await;
        Ok(())
    }

    pub(crate) async fn mark_rehearsal(
        &self,
        copied_from: &str,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        let doing = || "marking the state a rehearsal copy".to_owned();
        sqlx::query(
            "INSERT INTO rehearsal (id, copied_from, created_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET copied_from = excluded.copied_from,
                                            created_at = excluded.created_at",
        )
        .bind(copied_from)
        .bind(now_unix)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        Ok(())
    }

    pub(crate) async fn upsert_host(&self, host: &HostRow) -> Result<(), StoreError> {
        let doing = || format!("saving host {}", host.name);
        sqlx::query(
            "INSERT INTO hosts (name, address, environment, package_manager, first_seen, last_seen)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (name) DO UPDATE SET
                 address = excluded.address,
                 environment = excluded.environment,
                 package_manager = COALESCE(excluded.package_manager, hosts.package_manager),
                 first_seen = CASE WHEN excluded.first_seen < hosts.first_seen
                                   THEN excluded.first_seen ELSE hosts.first_seen END,
                 last_seen = CASE WHEN excluded.last_seen > hosts.last_seen
                                  THEN excluded.last_seen ELSE hosts.last_seen END",
        )
        .bind(&host.name)
        .bind(&host.address)
        .bind(&host.environment)
        .bind(host.package_manager.map(PackageManagerKind::as_str))
        .bind(host.seen_at_unix)
        .execute(&self.pool)
        .await
        .doing(doing)?;
        Ok(())
    }

    pub(crate) async fn hosts(&self) -> Result<Vec<StoredHost>, StoreError> {
        let doing = || "listing hosts".to_owned();
        let rows = sqlx::query(
            "SELECT name, address, environment, package_manager, first_seen, last_seen
             FROM hosts ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        rows.iter()
            .map(|row| {
                Ok(StoredHost {
                    name: get(row, "name", &doing)?,
                    address: get(row, "address", &doing)?,
                    environment: get(row, "environment", &doing)?,
                    package_manager: package_manager_column(row, &doing)?,
                    first_seen_unix: get(row, "first_seen", &doing)?,
                    last_seen_unix: get(row, "last_seen", &doing)?,
                })
            })
            .collect()
    }

    pub(crate) async fn pin_host_key(&self, key: &PinnedHostKey) -> Result<PinOutcome, StoreError> {
        let doing = || format!("pinning a host key for {}", key.host);
        // Insert-if-absent is one statement, so two processes pinning at once cannot both win.
        // A key unpinned between it and the read that follows is a race with a person; trying
        // again settles it, and a second time is never needed in practice.
        for _ in 0..3 {
            let inserted = sqlx::query(
                "INSERT INTO host_keys (host, key_type, key, fingerprint, pinned_at, pinned_by)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (host) DO NOTHING",
            )
            .bind(&key.host)
            .bind(&key.key_type)
            .bind(&key.key)
            .bind(&key.fingerprint)
            .bind(key.pinned_at_unix)
            .bind(&key.pinned_by)
            .execute(&self.pool)
            .await
            .doing_unless(doing, |kind| unknown_host(kind, doing(), &key.host))?;
            if inserted.rows_affected() == 1 {
                return Ok(PinOutcome::Pinned);
            }
            match self.host_key(&key.host).await? {
                Some(pinned) if pinned.key_type == key.key_type && pinned.key == key.key => {
                    return Ok(PinOutcome::AlreadyPinned);
                }
                Some(pinned) => {
                    return Err(StoreError::HostKeyMismatch {
                        host: key.host.clone(),
                        pinned_fingerprint: pinned.fingerprint,
                        offered_fingerprint: key.fingerprint.clone(),
                    });
                }
                None => continue,
            }
        }
        Err(StoreError::InvalidValue {
            doing: doing(),
            message: "the pinned key kept changing while pinning".to_owned(),
        })
    }

    pub(crate) async fn host_key(&self, host: &str) -> Result<Option<PinnedHostKey>, StoreError> {
        let doing = || format!("reading the host key of {host}");
        let row = sqlx::query(
            "SELECT host, key_type, key, fingerprint, pinned_at, pinned_by
             FROM host_keys WHERE host = $1",
        )
        .bind(host)
        .fetch_optional(&self.pool)
        .await
        .doing(doing)?;
        row.map(|row| {
            Ok(PinnedHostKey {
                host: get(&row, "host", &doing)?,
                key_type: get(&row, "key_type", &doing)?,
                key: get(&row, "key", &doing)?,
                fingerprint: get(&row, "fingerprint", &doing)?,
                pinned_at_unix: get(&row, "pinned_at", &doing)?,
                pinned_by: get(&row, "pinned_by", &doing)?,
            })
        })
        .transpose()
    }

    pub(crate) async fn unpin_host_key(&self, host: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM host_keys WHERE host = $1")
            .bind(host)
            .execute(&self.pool)
            .await
            .doing(|| format!("unpinning the host key of {host}"))?;
        Ok(result.rows_affected() > 0)
    }

    pub(crate) async fn record_assessment(
        &self,
        record: &AssessmentRecord,
    ) -> Result<String, StoreError> {
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
                let json = serde_json::to_string(assessment).map_err(|e| {
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
        query
            .execute(&self.pool)
            .await
            .doing_unless(doing, |kind| unknown_host(kind, doing(), &record.host))?;
        Ok(id)
    }

    pub(crate) async fn latest_assessments(
        &self,
        hosts: Option<&[String]>,
    ) -> Result<Vec<AssessmentSummaryRow>, StoreError> {
        let doing = || "reading the latest assessments".to_owned();
        // A window function rather than a correlated subquery: one pass over the index, and
        // the same SQL runs on PostgreSQL.
        let rows = sqlx::query(concat!(
            "SELECT ",
            summary_columns!(),
            " FROM (
                 SELECT *, ROW_NUMBER() OVER (PARTITION BY host ORDER BY taken_at DESC, id DESC)
                     AS newness
                 FROM assessments
             ) ranked
             WHERE newness = 1
             ORDER BY host"
        ))
        .fetch_all(&self.pool)
        .await
        .doing(doing)?;
        let mut summaries =
            rows.iter().map(|row| summary_row(row, &doing)).collect::<Result<Vec<_>, _>>()?;
        if let Some(hosts) = hosts {
            summaries.retain(|s| hosts.contains(&s.host));
        }
        Ok(summaries)
    }

    pub(crate) async fn history(
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

    pub(crate) async fn assessments_of(
        &self,
        host: &str,
    ) -> Result<Vec<StoredAssessment>, StoreError> {
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

    pub(crate) async fn assessment(
        &self,
        id: &str,
    ) -> Result<Option<StoredAssessment>, StoreError> {
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
                let assessment: Assessment = serde_json::from_str(json.as_deref().unwrap_or(""))
                    .map_err(|e| corrupt(format!("the assessment JSON: {e}")))?;
                AssessmentOutcome::Assessed(Box::new(assessment))
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
    row: &SqliteRow,
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

/// A row's `package_manager` column ('apt', 'dnf' or NULL).
fn package_manager_column(
    row: &SqliteRow,
    doing: &dyn Fn() -> String,
) -> Result<Option<PackageManagerKind>, StoreError> {
    let text: Option<String> = get(row, "package_manager", doing)?;
    text.map(|p| p.parse::<PackageManagerKind>())
        .transpose()
        .map_err(|message| StoreError::CorruptRow { doing: doing(), message })
}

/// One column of a row, or an error saying which and while doing what.
fn get<'r, T>(row: &'r SqliteRow, column: &str, doing: &dyn Fn() -> String) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column).doing(doing)
}

/// A failed write's foreign key violation: the host has no row.
fn unknown_host(kind: sqlx::error::ErrorKind, doing: String, host: &str) -> Option<StoreError> {
    (kind == sqlx::error::ErrorKind::ForeignKeyViolation)
        .then(|| StoreError::UnknownHost { doing, host: host.to_owned() })
}
