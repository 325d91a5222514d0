//! `server.toml` (by default `/etc/patchctl/server.toml`): where to listen, the TLS
//! certificate and key, the state database and its connection pool (`config/database.rs`),
//! the login settings and the OIDC provider (`config/oidc.rs`); parsed strictly (an
//! unknown key is an error) and checked, each problem at file:line:column. Parsing reads no
//! file: `load` does, then calls `parse`.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use model::access::{Lockout, RateLimit};
use model::inventory::InventoryError;
use ops::identity::LoginSettings;
use serde::Deserialize;
use toml::Spanned;

pub use oidc::{ClientSecret, OidcConfig};

mod database;
mod oidc;

/// Where the server's configuration is when none is named.
pub const DEFAULT_PATH: &str = "/etc/patchctl/server.toml";

/// The server's configuration, checked. Paths are absolute or relative to the file's folder.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Plain HTTP when `None`, which only a loopback address may serve.
    pub tls: Option<TlsFiles>,
    /// The state database; the CLI's (`--state`, else beside the inventory) when `None`.
    /// `database = "path"`, or `path` in a `[database]` table.
    pub database: Option<PathBuf>,
    /// The state on PostgreSQL (`database_url = "postgres://…"`), instead of `database`; the
    /// environment's `PATCHCTL_DATABASE_URL` takes its place when the file names none.
    pub database_url: Option<String>,
    pub login: LoginSettings,
    /// Failed logins allowed from one client address per minute.
    pub rate_limit: RateLimit,
    /// Whether the scheduler runs inside the server, and how often it looks.
    pub scheduler: Option<Duration>,
    /// The lease this server holds on each rollout it drives (`[scheduler] lease_seconds`),
    /// renewed every third of it: how long a rollout waits for another replica when this one
    /// dies.
    pub lease_seconds: u32,
    /// The OIDC provider users may log in through, besides their passwords.
    pub oidc: Option<OidcConfig>,
    /// The PostgreSQL pool's size and wait (`[database] max_connections`,
    /// `acquire_timeout_seconds`); each `None` leaves the command line's (its environment's).
    pub pool: PoolConfig,
}

/// What `[database]` sets of the PostgreSQL connection pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolConfig {
    /// Connections this server opens at most (1 to 1000).
    pub max_connections: Option<u32>,
    /// Seconds a request waits for a connection before failing (1 to 3600).
    pub acquire_timeout_seconds: Option<u32>,
}

impl PoolConfig {
    /// `pool` with what this sets in its place.
    pub fn over(&self, pool: ops::PoolSettings) -> ops::PoolSettings {
        ops::PoolSettings {
            max_connections: self.max_connections.unwrap_or(pool.max_connections),
            acquire_timeout: self
                .acquire_timeout_seconds
                .map_or(pool.acquire_timeout, |s| Duration::from_secs(u64::from(s))),
        }
    }
}

/// `[database] max_connections`'s range.
pub const MAX_CONNECTIONS: std::ops::RangeInclusive<i64> = 1..=1000;
/// `[database] acquire_timeout_seconds`'s range.
pub const ACQUIRE_TIMEOUT_SECONDS: std::ops::RangeInclusive<i64> = 1..=3600;

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Problems in a `server.toml`, each at its line and column; never empty. The same type as the
/// inventory's and the policy's.
pub type InvalidConfig = model::inventory::InvalidInventory;

/// Reading the file, or what is wrong in it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading the server configuration {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(#[from] InvalidConfig),
}

/// Reads and parses the configuration at `path`.
pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    Ok(ServerConfig::parse(path, &text)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<Spanned<String>>,
    tls: Option<Spanned<TlsFile>>,
    /// A path, or a `[database]` table (`database.rs`).
    database: Option<Spanned<toml::Value>>,
    database_url: Option<Spanned<String>>,
    #[serde(default)]
    login: LoginFile,
    #[serde(default)]
    scheduler: SchedulerFile,
    oidc: Option<Spanned<oidc::OidcFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LoginFile {
    max_failures: Option<Spanned<i64>>,
    lockout_minutes: Option<Spanned<i64>>,
    token_hours: Option<Spanned<i64>>,
    failures_per_minute: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SchedulerFile {
    enabled: Option<bool>,
    poll_seconds: Option<Spanned<i64>>,
    lease_seconds: Option<Spanned<i64>>,
}

/// Listened on when the file names no address: loopback, so plain HTTP is allowed.
const DEFAULT_LISTEN: &str = "127.0.0.1:8443";

impl ServerConfig {
    /// Parses the text of a `server.toml`; `path` names it in messages and anchors relative
    /// paths.
    pub fn parse(path: &Path, text: &str) -> Result<ServerConfig, InvalidConfig> {
        let mut problems = Vec::new();
        let mut problem = |span: Range<usize>, message: String| {
            problems.push(InventoryError::at(path, text, span.start, message));
        };
        let file: File = match toml::from_str(text) {
            Ok(file) => file,
            Err(error) => {
                let message = error.message().trim().replace('`', "\"").replace('\n', "; ");
                problem(error.span().unwrap_or(0..0), message);
                return Err(InvalidConfig::new(problems));
            }
        };
        let dir = path.parent().unwrap_or(Path::new(""));
        let listen: SocketAddr = match &file.listen {
            None => DEFAULT_LISTEN.parse().expect("the default address parses"),
            Some(listen) => listen.get_ref().parse().unwrap_or_else(|_| {
                problem(
                    listen.span(),
                    format!("{:?} is not an address and port", listen.get_ref()),
                );
                DEFAULT_LISTEN.parse().expect("the default address parses")
            }),
        };
        if file.tls.is_none() && !listen.ip().is_loopback() {
            let span = file.listen.as_ref().map_or(0..0, Spanned::span);
            problem(
                span,
                format!(
                    "{listen} is not a loopback address, and plain HTTP is served on loopback \
                     only: add a [tls] table with cert and key"
                ),
            );
        }
        let mut bounded = |value: &Option<Spanned<i64>>, default: i64, range: Range<i64>, what| {
            let Some(value) = value else { return default };
            if !range.contains(value.get_ref()) {
                problem(
                    value.span(),
                    format!("{what} must be from {} to {}", range.start, range.end - 1),
                );
            }
            *value.get_ref()
        };
        let defaults = Lockout::default();
        let max_failures = bounded(
            &file.login.max_failures,
            defaults.max_failures.into(),
            1..1001,
            "max_failures",
        );
        let lockout_minutes = bounded(
            &file.login.lockout_minutes,
            defaults.lockout_seconds / 60,
            1..10081,
            "lockout_minutes",
        );
        let token_hours = bounded(&file.login.token_hours, 12, 1..8761, "token_hours");
        let per_minute = bounded(
            &file.login.failures_per_minute,
            RateLimit::default().max_failures.into(),
            1..10001,
            "failures_per_minute",
        );
        let poll = bounded(&file.scheduler.poll_seconds, 60, 1..86401, "poll_seconds");
        let default_lease = i64::from(ops::rollout::DEFAULT_LEASE_SECONDS);
        let lease = bounded(&file.scheduler.lease_seconds, default_lease, 3..3601, "lease_seconds");
        let oidc = file.oidc.as_ref().and_then(|table| oidc::parse(table, dir, &mut problem));
        let (database, pool) = match &file.database {
            Some(value) => database::parse(value, &mut problem),
            None => (None, PoolConfig::default()),
        };
        if let Some(url) = &file.database_url {
            let scheme = url.get_ref().split_once("://").map(|(scheme, _)| scheme);
            if !matches!(scheme, Some("postgres" | "postgresql")) {
                let message = "database_url must be a PostgreSQL URL, \
                               postgres://user:password@host:port/database";
                problem(url.span(), message.to_owned());
            } else if database.is_some() {
                let message = "database_url and database both name the state: keep one";
                problem(url.span(), message.to_owned());
            }
        }
        if !problems.is_empty() {
            return Err(InvalidConfig::new(problems));
        }
        let tls = file.tls.map(|tls| {
            let tls = tls.into_inner();
            TlsFiles { cert: dir.join(tls.cert), key: dir.join(tls.key) }
        });
        Ok(ServerConfig {
            listen,
            tls,
            database: database.map(|database| dir.join(database)),
            database_url: file.database_url.map(Spanned::into_inner),
            login: LoginSettings {
                lockout: Lockout {
                    max_failures: u32::try_from(max_failures).expect("checked above"),
                    lockout_seconds: lockout_minutes * 60,
                },
                token_seconds: token_hours * 3600,
            },
            rate_limit: RateLimit {
                max_failures: u32::try_from(per_minute).expect("checked above"),
                window_seconds: 60,
            },
            scheduler: file
                .scheduler
                .enabled
                .unwrap_or(true)
                .then(|| Duration::from_secs(poll.unsigned_abs())),
            oidc,
            lease_seconds: u32::try_from(lease).expect("checked above"),
            pool,
        })
    }
}

#[cfg(test)]
mod tests;
