//! The SQLite backend: one file, WAL mode, migrations from `migrations/sqlite/` embedded in the
//! binary. Every query binds its values (`$1`, …); nothing is ever formatted into SQL.

//!
//! One file per aggregate, each implementing its trait: `hosts.rs`, `assessments.rs`,
//! `plans.rs`, `changes.rs`, `compliance.rs`, `rollouts.rs` (with `rollouts/journal.rs` and
//! `rollouts/verified.rs`), `host_steps.rs`, `advisories.rs`, `postmortems.rs`, `notifications.rs`,
//! `identities.rs`. This file opens and migrates the database, does what concerns it as a
//! whole ([`Backend`]), and holds the helpers every file reads rows with.

mod advisories;
mod assessments;
mod changes;
mod compliance;
mod host_steps;
mod hosts;
mod identities;
mod leader;
mod notifications;
mod plans;
mod postmortems;
mod rollouts;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use model::PackageManagerKind;
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::error::QueryContext;
use crate::{Backend, StoreError};

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

    /// The connection pool, for the copy to PostgreSQL (`copy.rs`), which reads every table.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
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
}

#[async_trait::async_trait]
impl Backend for Sqlite {
    async fn close(&self) {
        self.pool.close().await;
    }

    fn wake_ups(&self) -> crate::WakeUps {
        // One file, no channel between processes: polling does it all.
        crate::WakeUps::never()
    }

    fn pool_settings(&self) -> crate::PoolSettings {
        let options = self.pool.options();
        crate::PoolSettings {
            max_connections: options.get_max_connections(),
            acquire_timeout: options.get_acquire_timeout(),
        }
    }

    async fn rehearsal(&self) -> Result<Option<(String, i64)>, StoreError> {
        let doing = || "reading whether the state is a rehearsal copy".to_owned();
        let row = sqlx::query("SELECT copied_from, created_at FROM rehearsal WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .doing(doing)?;
        row.map(|row| Ok((get(&row, "copied_from", &doing)?, get(&row, "created_at", &doing)?)))
            .transpose()
    }

    async fn copy_for_rehearsal(
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

/// Fails with [`StoreError::AmbiguousId`] when the row's `n_matches` says the prefix matched
/// more than one id.
fn check_unique(
    row: &SqliteRow,
    kind: &'static str,
    prefix: &str,
    doing: &dyn Fn() -> String,
) -> Result<(), StoreError> {
    let n_matches: i64 = get(row, "n_matches", doing)?;
    if n_matches > 1 {
        return Err(StoreError::AmbiguousId {
            kind,
            prefix: prefix.to_owned(),
            n_matches: n_matches.unsigned_abs(),
        });
    }
    Ok(())
}

/// A prefix's length for `substr`: prefixes are ASCII hex, so bytes are characters.
fn prefix_len(prefix: &str) -> i64 {
    i64::try_from(prefix.len()).unwrap_or(i64::MAX)
}
