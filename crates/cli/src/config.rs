//! Where patchctl keeps its inventory and its state, from the command line or the environment.

use std::path::PathBuf;

use anyhow::Context;

/// Options every subcommand that reads the inventory or the state database takes.
#[derive(clap::Args, Clone, Debug)]
pub struct Paths {
    /// The inventory and settings file.
    #[arg(long, global = true, env = "PATCHCTL_CONFIG", default_value = "patchctl.toml")]
    pub config: PathBuf,
    /// The state database (SQLite); by default `patchctl.db` beside the config file.
    #[arg(long, global = true, env = "PATCHCTL_STATE")]
    pub state: Option<PathBuf>,
    /// The state on PostgreSQL instead (`postgres://user:password@host:port/database`), which
    /// several `patchctl serve` replicas may share; prefer the environment variable, which
    /// other users cannot read in the process list.
    #[arg(
        long,
        global = true,
        env = "PATCHCTL_DATABASE_URL",
        conflicts_with = "state",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Connections to PostgreSQL this process opens at most, 1 to 1000 (8 by default);
    /// `patchctl serve` takes server.toml's `[database] max_connections` first.
    #[arg(
        long,
        global = true,
        env = "PATCHCTL_DB_MAX_CONNECTIONS",
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub db_max_connections: Option<u32>,
    /// Seconds a use of PostgreSQL waits for a free connection before failing, 1 to 3600 (30
    /// by default); `patchctl serve` takes server.toml's `[database] acquire_timeout_seconds`
    /// first.
    #[arg(
        long,
        global = true,
        env = "PATCHCTL_DB_ACQUIRE_TIMEOUT_SECONDS",
        value_parser = clap::value_parser!(u32).range(1..=3600)
    )]
    pub db_acquire_timeout_seconds: Option<u32>,
    /// The policy file (environments, windows, approvals, the promotion gate); by default
    /// `policy.toml` beside the config file, when there is one.
    #[arg(long, global = true, env = "PATCHCTL_POLICY")]
    pub policy: Option<PathBuf>,
    /// Act as if it were this time (RFC 3339, e.g. 2026-12-01T10:00:00Z): a virtual clock that
    /// starts there and advances in real time, for everything patchctl dates (assessments,
    /// plans and the promotion gate, rollouts and their window's cutoff, the scheduler,
    /// compliance, postmortems): to rehearse a window or see what compliance will say later.
    #[arg(long, global = true, env = "PATCHCTL_NOW", value_parser = parse_now)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Run without a policy file, knowingly: no change approval, maintenance window or
    /// promotion gate applies (without it, `plan create`, `emergency` and `rollout start` refuse
    /// to run when there is no policy).
    #[arg(long, global = true)]
    pub no_policy: bool,
}

fn parse_now(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2026-12-01T10:00:00Z: {e}"))
}

impl Paths {
    /// Where the application finds its inputs and state.
    pub fn sources(&self) -> ops::Sources {
        ops::Sources {
            config: self.config.clone(),
            state: self.state.clone(),
            policy: self.policy.clone(),
            no_policy: self.no_policy,
            database_url: self.database_url.clone(),
        }
    }

    /// The PostgreSQL pool: the defaults, with what the command line or its environment sets.
    pub fn pool_settings(&self) -> ops::PoolSettings {
        let defaults = ops::PoolSettings::default();
        ops::PoolSettings {
            max_connections: self.db_max_connections.unwrap_or(defaults.max_connections),
            acquire_timeout: self
                .db_acquire_timeout_seconds
                .map_or(defaults.acquire_timeout, |s| std::time::Duration::from_secs(s.into())),
        }
    }

    /// The process's one clock: virtual from `--now`, else this machine's.
    pub fn clock(&self) -> ops::Clock {
        self.now.map_or_else(ops::Clock::real, ops::Clock::starting_at)
    }
}

/// Who runs this command, for the journal: the user who ran sudo, else the login.
pub fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown-user".to_owned())
}

/// The process's one runtime.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}
