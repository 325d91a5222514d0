//! The PostgreSQL backend: a connection pool on a `postgres://` URL, migrations from
//! `migrations/postgres/` embedded in the binary. Every query binds its values (`$1`, …);
//! nothing is ever formatted into SQL.
//!
//! One file per aggregate, each implementing its trait, mirroring `sqlite/` file for file. The
//! SQL is SQLite's where it ports; where SQLite relies on its single writer (`BEGIN IMMEDIATE`)
//! for correctness, PostgreSQL locks what the SQLite transaction would have waited for: the
//! rollout's row (`SELECT … FOR UPDATE`) for a journal append, the host claims table for a new
//! or reopened rollout, and otherwise a transaction-scoped advisory lock per aggregate
//! ([`Postgres::begin_serialized`]), which, unlike a session lock, holds behind a
//! transaction-pooling PgBouncer. Leases are claimed, renewed and released by conditional
//! UPDATEs whose `rows_affected` decides, under the same fencing token as on SQLite.
//!
//! Copying the state for a rehearsal is SQLite's alone for now: it returns an error here.

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
mod wake;

/// The queries of the hot paths, for the test that checks that their plans use an index.
pub mod hot_queries {
    pub use super::assessments::LATEST_ASSESSMENTS;
    pub use super::host_steps::CLAIM_STEPS;
    pub use super::rollouts::{CLAIM_ROLLOUT, JOURNAL_SINCE, ORPHANED_ROLLOUTS};
}

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use model::PackageManagerKind;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Row, Transaction};

use crate::error::QueryContext;
use crate::{Backend, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// How many connections a process's pool opens at most, and how long a caller waits for one
/// before giving up: `server.toml`'s `[database]` table or the command line's environment
/// (`PATCHCTL_DB_MAX_CONNECTIONS`, `PATCHCTL_DB_ACQUIRE_TIMEOUT_SECONDS`) set them. Several
/// replicas share the database's connection limit, so the default is small. SQLite keeps its
/// own (one file, one writer): it ignores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// At least 1.
    pub max_connections: u32,
    /// At least a second.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings { max_connections: 8, acquire_timeout: Duration::from_secs(30) }
    }
}

/// How long a session of patchctl's may sit idle inside a transaction before PostgreSQL ends
/// it: a process stopped (SIGSTOP, a VM frozen) in the middle of a write would otherwise keep
/// its row locks, and the replica taking its rollout over would wait on them for ever.
/// patchctl's own transactions never wait on anything but the database.
pub const IDLE_IN_TRANSACTION: &str = "15s";

/// The options patchctl connects with: `url`'s, and [`IDLE_IN_TRANSACTION`].
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(PgConnectOptions::from_str(url)?
        .options([("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION)]))
}

/// The writers serialized by a transaction-scoped advisory lock, as SQLite's `BEGIN IMMEDIATE`
/// serializes every writer: each aggregate's own key, so that they do not wait for each other.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Serialized {
    Changes = 1,
    Postmortems = 2,
    Notifications = 3,
    Identities = 4,
    Advisories = 5,
    Assessments = 6,
    /// Enqueueing host steps: their ids are then given in the order they become visible.
    HostSteps = 7,
}

#[derive(Debug, Clone)]
pub(crate) struct Postgres {
    pool: PgPool,
    /// The process's wake-up listener (`postgres/wake.rs`).
    wake: std::sync::Arc<wake::Wake>,
    /// Where this process's claims of host steps start looking (`host_steps.rs`).
    step_queue: std::sync::Arc<host_steps::QueueHead>,
}

impl Postgres {
    /// Connects to `url` (`postgres://user:password@host:port/database`) with a pool of
    /// `settings` and migrates.
    pub(crate) async fn open(url: &str, settings: PoolSettings) -> Result<Postgres, StoreError> {
        let shown = redacted(url);
        if settings.max_connections == 0 || settings.acquire_timeout < Duration::from_secs(1) {
            return Err(StoreError::InvalidValue {
                doing: format!("opening the state database {}", shown.display()),
                message: format!(
                    "a pool of {} connections waiting {:?} for one: it needs a connection at \
                     least, and a second's wait at least",
                    settings.max_connections, settings.acquire_timeout
                ),
            });
        }
        let open_error = |source| StoreError::Open { path: shown.clone(), source };
        let options = connect_options(url).map_err(open_error)?;
        let wake = std::sync::Arc::new(wake::Wake::new(options.clone()));
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        MIGRATOR.run(&pool).await.map_err(|source| match source {
            sqlx::migrate::MigrateError::VersionMissing(version) => {
                StoreError::NewerSchema { path: shown.clone(), version }
            }
            source => StoreError::Migrate { path: shown.clone(), source },
        })?;
        let postgres = Postgres { pool, wake, step_queue: Default::default() };
        Ok(postgres)
    }

    /// The connection pool, for the copy from SQLite (`copy.rs`), which writes every table.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Wakes every process's waiters (`postgres/wake.rs`) once `transaction` commits: rollout
    /// `rollout_id` was asked something, or created.
    pub(crate) async fn notify_wake(
        transaction: &mut Transaction<'static, sqlx::Postgres>,
        rollout_id: &str,
        doing: &(dyn Fn() -> String + Sync),
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(wake::CHANNEL)
            .bind(rollout_id)
            .execute(&mut **transaction)
            .await
            .doing(doing)?;
        Ok(())
    }

    /// A transaction in which no other writer of `what` runs until it ends.
    pub(crate) async fn begin_serialized(
        &self,
        what: Serialized,
        doing: &(dyn Fn() -> String + Sync),
    ) -> Result<Transaction<'static, sqlx::Postgres>, StoreError> {
        let mut transaction = self.pool.begin().await.doing(doing)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(LOCK_SPACE)
            .bind(what as i32)
            .execute(&mut *transaction)
            .await
            .doing(doing)?;
        Ok(transaction)
    }
}

/// The first key of patchctl's advisory locks ("pc" in ASCII), so that they do not collide
/// with another application's on the same database.
const LOCK_SPACE: i32 = 0x7063;

#[async_trait::async_trait]
impl Backend for Postgres {
    async fn close(&self) {
        self.wake.stop();
        self.pool.close().await;
    }

    fn wake_ups(&self) -> crate::WakeUps {
        self.wake.wake_ups()
    }

    fn pool_settings(&self) -> PoolSettings {
        let options = self.pool.options();
        PoolSettings {
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
        _copied_from: &str,
        _now_unix: i64,
    ) -> Result<(), StoreError> {
        Err(StoreError::InvalidValue {
            doing: format!("copying the state to {} for a rehearsal", path.display()),
            message: "not supported on PostgreSQL yet: rehearse on an SQLite state".to_owned(),
        })
    }
}

/// The URL without its password, for messages.
pub(crate) fn redacted(url: &str) -> PathBuf {
    PathBuf::from(redact_url(url))
}

/// A PostgreSQL URL as messages may show it: without the password, in its user part or in
/// a `password=` parameter.
pub fn redact_url(url: &str) -> String {
    let (url, query) = url.split_once('?').map_or((url, None), |(u, q)| (u, Some(q)));
    let mut shown = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split(':').next().unwrap_or("");
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.to_ascii_lowercase().starts_with("password="))
            .collect();
        if !kept.is_empty() {
            shown = format!("{shown}?{}", kept.join("&"));
        }
    }
    shown
}

/// A row's `package_manager` column ('apt', 'dnf' or NULL).
fn package_manager_column(
    row: &PgRow,
    doing: &dyn Fn() -> String,
) -> Result<Option<PackageManagerKind>, StoreError> {
    let text: Option<String> = get(row, "package_manager", doing)?;
    text.map(|p| p.parse::<PackageManagerKind>())
        .transpose()
        .map_err(|message| StoreError::CorruptRow { doing: doing(), message })
}

/// One column of a row, or an error saying which and while doing what.
fn get<'r, T>(row: &'r PgRow, column: &str, doing: &dyn Fn() -> String) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
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
    row: &PgRow,
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

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn a_url_is_shown_without_its_password_wherever_it_is() {
        let cases = [
            (
                "postgres://patchctl:s3cr:et@db.example:5432/patch",
                "postgres://patchctl@db.example:5432/patch",
            ),
            ("postgres://patchctl@db/patch", "postgres://patchctl@db/patch"),
            (
                "postgresql://db/patch?user=p&password=s3cret&sslmode=require",
                "postgresql://db/patch?user=p&sslmode=require",
            ),
            ("postgres://db/patch?PASSWORD=x", "postgres://db/patch"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
            assert!(!redact_url(url).contains("s3c"), "{url}");
        }
    }
}
