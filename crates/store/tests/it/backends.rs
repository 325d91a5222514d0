//! The databases every store test runs on: an SQLite file in a temporary directory, and a
//! fresh PostgreSQL database (`CREATE DATABASE t_<random>`) on the server `PATCHCTL_POSTGRES_URL`
//! names, else on one this test process starts from Debian's packages (`initdb` and `pg_ctl`
//! in a temporary directory, on a free loopback port, as the `postgres` user when run as root,
//! since `initdb` refuses root) and stops when the test is done.
//!
//! Without PostgreSQL a test runs on SQLite alone, saying so on stderr; with
//! `PATCHCTL_INTEGRATION=1` (CI) it fails instead.
//!
//! `ops`'s tests include this file too, for the copy from SQLite to PostgreSQL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fleet::postgres::PgServer;

use sqlx::Connection;
use store::Store;

/// One database for a test: opened (and reopened) as a [`Store`], or reached with raw SQL.
pub struct TestDb {
    location: Location,
    // Kept until the test is done: the SQLite file's directory, the server this test started.
    _dir: Option<tempfile::TempDir>,
    _server: Option<Arc<PgServer>>,
}

/// Where a test database is; cloned into tasks that open it themselves, as other processes
/// would.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl TestDb {
    pub fn name(&self) -> &'static str {
        self.location.name()
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.location, Location::Postgres(_))
    }

    /// The database's URL, on PostgreSQL.
    pub fn postgres_url(&self) -> Option<&str> {
        match &self.location {
            Location::Postgres(url) => Some(url),
            Location::Sqlite(_) => None,
        }
    }

    pub fn location(&self) -> Location {
        self.location.clone()
    }

    pub async fn open(&self) -> Store {
        self.location.open().await
    }

    /// Runs statements by hand, outside the store (as a person with a SQL shell would).
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        self.location.execute(sql).await
    }

    /// The one number a query by hand returns.
    pub async fn count(&self, sql: &'static str) -> i64 {
        match &self.location {
            Location::Sqlite(path) => sqlite_count(path, sql).await,
            Location::Postgres(url) => {
                let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
                let n = sqlx::query_scalar(sql).fetch_one(&mut connection).await.unwrap();
                let _ = connection.close().await;
                n
            }
        }
    }

    /// The statement that drops trigger `name` of `table`, in this database's SQL.
    pub fn drop_trigger(&self, name: &str, table: &str) -> String {
        match self.location {
            Location::Sqlite(_) => format!("DROP TRIGGER {name};"),
            Location::Postgres(_) => format!("DROP TRIGGER {name} ON {table};"),
        }
    }
}

impl Location {
    /// Runs statements by hand, outside the store (as a person with a SQL shell would).
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self {
            Location::Sqlite(path) => sqlite_execute(path, sql).await,
            Location::Postgres(url) => {
                let mut connection = sqlx::PgConnection::connect(url).await?;
                let result = sqlx::raw_sql(sql).execute(&mut connection).await;
                let _ = connection.close().await;
                Ok(result?.rows_affected())
            }
        }
    }

    /// Which database, for a failing test's output.
    pub fn name(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }

    /// The store on this database, migrated; each call opens it again.
    pub async fn open(&self) -> Store {
        let opened = match self {
            Location::Sqlite(path) => Store::open(path).await,
            Location::Postgres(url) => Store::open_url(url).await,
        };
        opened.unwrap_or_else(|e| panic!("opening the {} test database: {e}", self.name()))
    }
}

/// Runs statements on the file, outside the store, as someone with the sqlite3 shell would:
/// the tests' way to tamper with what the store wrote.
pub async fn sqlite_execute(path: &Path, sql: &str) -> Result<u64, sqlx::Error> {
    use sqlx::Connection;
    let mut connection =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
    let result = sqlx::raw_sql(sql).execute(&mut connection).await;
    connection.close().await?;
    Ok(result?.rows_affected())
}

/// Runs one statement returning one integer on the file, outside the store: a look under the
/// hood.
pub async fn sqlite_count(path: &Path, sql: &'static str) -> i64 {
    use sqlx::Connection;
    let mut connection =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut connection).await.unwrap();
    connection.close().await.unwrap();
    n
}

/// An SQLite database, then a PostgreSQL one when there is a server (see the module's doc).
pub async fn test_dbs() -> Vec<TestDb> {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let path = dir.path().join("state.db");
    let mut dbs = vec![TestDb { location: Location::Sqlite(path), _dir: Some(dir), _server: None }];
    match postgres_database().await {
        Ok((url, server)) => {
            dbs.push(TestDb { location: Location::Postgres(url), _dir: None, _server: server });
        }
        Err(why) if std::env::var("PATCHCTL_INTEGRATION").as_deref() == Ok("1") => {
            panic!("PATCHCTL_INTEGRATION=1 and no PostgreSQL for the store's tests: {why}")
        }
        Err(why) => eprintln!("running on SQLite only, no PostgreSQL: {why}"),
    }
    dbs
}

/// A fresh database's URL, on the given server or on one started for this test
/// (`fleet::postgres`).
async fn postgres_database() -> Result<(String, Option<Arc<PgServer>>), String> {
    let given = std::env::var("PATCHCTL_POSTGRES_URL").ok().filter(|url| !url.trim().is_empty());
    let Some(server_url) = given else {
        let server = tokio::task::spawn_blocking(PgServer::start)
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{e:#}"))?;
        let url = server.create_database().map_err(|e| format!("{e:#}"))?;
        return Ok((url, Some(Arc::new(server))));
    };
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut connection = sqlx::PgConnection::connect(&server_url)
        .await
        .map_err(|e| format!("connecting to {server_url}: {e}"))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .map_err(|e| format!("creating database {name}: {e}"))?;
    let _ = connection.close().await;
    let url = match server_url.rsplit_once('/') {
        Some((base, _)) if base.contains("//") && !base.ends_with('/') => format!("{base}/{name}"),
        _ => return Err(format!("{server_url} does not end with a database name")),
    };
    Ok((url, None))
}
