//! Where patchctl keeps its inventory and its state, from the command line or the environment.

use std::path::{Path, PathBuf};

use anyhow::Context;
use model::Inventory;

/// Options every subcommand that reads the inventory or the state database takes.
#[derive(clap::Args, Clone, Debug)]
pub struct Paths {
    /// The inventory and settings file.
    #[arg(long, global = true, env = "PATCHCTL_CONFIG", default_value = "patchctl.toml")]
    pub config: PathBuf,
    /// The state database (SQLite); by default `patchctl.db` beside the config file.
    #[arg(long, global = true, env = "PATCHCTL_STATE")]
    pub state: Option<PathBuf>,
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
}

fn parse_now(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2026-12-01T10:00:00Z: {e}"))
}

impl Paths {
    /// The time commands act at, from `clock.rs`, in whole seconds.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        // Whole seconds: the store keeps seconds, and reports read better without nanoseconds.
        use chrono::SubsecRound;
        crate::clock::now().trunc_subsecs(0)
    }

    /// Whether `--now` set a virtual clock.
    pub fn virtual_clock(&self) -> bool {
        self.now.is_some()
    }

    pub fn state(&self) -> PathBuf {
        self.state.clone().unwrap_or_else(|| {
            let dir = self
                .config
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            dir.join("patchctl.db")
        })
    }

    /// The policy, when a file is named or `policy.toml` lies beside the config file.
    pub fn policy(&self) -> anyhow::Result<Option<model::policy::Policy>> {
        let path = match &self.policy {
            Some(path) => path.clone(),
            None => {
                let beside = self.state_dir().join("policy.toml");
                if !beside.exists() {
                    return Ok(None);
                }
                beside
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the policy {}", path.display()))?;
        model::policy::Policy::parse(&path, &text)
            .map(Some)
            .map_err(|invalid| anyhow::anyhow!("{invalid}"))
    }

    fn state_dir(&self) -> PathBuf {
        self.config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned()
    }

    /// Reads and parses the inventory; errors point at file, line and column.
    pub fn inventory(&self) -> anyhow::Result<Inventory> {
        let text = std::fs::read_to_string(&self.config).with_context(|| {
            format!(
                "reading {} (run `patchctl init` to create one, or pass --config)",
                self.config.display()
            )
        })?;
        Inventory::parse(&self.config, &text).map_err(|invalid| anyhow::anyhow!("{invalid}"))
    }

    pub async fn store(&self) -> anyhow::Result<store::Store> {
        let path = self.state();
        store::Store::open(&path)
            .await
            .with_context(|| format!("opening the state database {}", path.display()))
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The hosts of `inventory` that `selectors` (`all`, a host, a group, `env:NAME`, `tag:NAME`)
/// pick; a selector that is malformed or picks nothing is an error that says so.
pub fn select_hosts(
    inventory: &Inventory,
    selectors: &[String],
) -> anyhow::Result<Vec<model::ResolvedHost>> {
    let selectors = selectors
        .iter()
        .map(|text| text.parse::<model::Selector>().map_err(|error| anyhow::anyhow!("{error}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let hosts = model::select(inventory, &selectors).map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(hosts.into_iter().cloned().collect())
}
