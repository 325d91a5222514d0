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
use std::process::Command;
use std::sync::Arc;

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
        match &self.location {
            Location::Sqlite(path) => sqlite_execute(path, sql).await,
            Location::Postgres(url) => {
                let mut connection = sqlx::PgConnection::connect(url).await?;
                let result = sqlx::raw_sql(sql).execute(&mut connection).await;
                let _ = connection.close().await;
                Ok(result?.rows_affected())
            }
        }
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

/// A fresh database's URL, on the given server or on one started for this test.
async fn postgres_database() -> Result<(String, Option<Arc<PgServer>>), String> {
    let (server_url, server) = match std::env::var("PATCHCTL_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let server =
                tokio::task::spawn_blocking(PgServer::start).await.map_err(|e| e.to_string())??;
            (server.url("postgres"), Some(Arc::new(server)))
        }
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
    Ok((url, server))
}

/// A PostgreSQL server in a temporary directory, stopped and removed when dropped.
pub struct PgServer {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

impl PgServer {
    fn start() -> Result<PgServer, String> {
        let bin = postgres_bin()?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        if is_root() {
            // initdb refuses root; the server's files belong to the user that runs it.
            let postgres = user_ids("postgres")?;
            std::os::unix::fs::chown(dir.path(), Some(postgres.0), Some(postgres.1))
                .map_err(|e| format!("handing {} to postgres: {e}", dir.path().display()))?;
        }
        run(
            &bin,
            "initdb",
            &["-D", path_str(&data)?, "--no-sync", "-A", "trust", "-U", "patchctl"],
        )?;
        let mut last_error = String::new();
        // The free port found is free until the server binds it, unless another process takes
        // it in between: a few tries settle that.
        for _ in 0..5 {
            let port = free_port()?;
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} \
                 -c fsync=off -c max_connections=200",
                path_str(dir.path())?
            );
            let log = dir.path().join("log");
            let started = run(
                &bin,
                "pg_ctl",
                &["-D", path_str(&data)?, "-w", "-l", path_str(&log)?, "-o", &options, "start"],
            );
            match started {
                Ok(()) => return Ok(PgServer { dir, port, bin }),
                Err(error) => {
                    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
                    last_error = format!("{error}\n{log_text}");
                }
            }
        }
        Err(last_error)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://patchctl@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        if let Some(data) = data.to_str() {
            let _ = run(&self.bin, "pg_ctl", &["-D", data, "-m", "immediate", "stop"]);
        }
    }
}

/// Where the PostgreSQL programs are: `PATCHCTL_POSTGRES_BIN`, else Debian's newest
/// `/usr/lib/postgresql/<version>/bin`.
fn postgres_bin() -> Result<PathBuf, String> {
    if let Ok(bin) = std::env::var("PATCHCTL_POSTGRES_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("reading /usr/lib/postgresql (is `postgresql` installed?): {e}"))?;
    versions
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no /usr/lib/postgresql/<version>/bin/initdb".to_owned())
}

/// Runs one of PostgreSQL's programs, as `postgres` when we are root.
fn run(bin: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    let program_path = bin.join(program);
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(&program_path);
        command
    } else {
        Command::new(&program_path)
    };
    let output = command
        .args(args)
        .output()
        .map_err(|e| format!("running {}: {e}", program_path.display()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{program} {}: {}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// A user's uid and gid, from /etc/passwd.
fn user_ids(name: &str) -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&name) && fields.len() > 3)
        .and_then(|fields| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
        .ok_or_else(|| format!("no user {name} to run PostgreSQL as (initdb refuses root)"))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str().ok_or_else(|| format!("{} is not UTF-8", path.display()))
}
