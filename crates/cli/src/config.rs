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

    /// The policy for commands whose rules come from it (`plan create`, `emergency`, `rollout
    /// start`): without a policy file they run only when told so (`--no-policy`), since
    /// everything the policy would have refused then passes.
    pub fn policy_or_none(&self) -> anyhow::Result<Option<model::policy::Policy>> {
        let policy = self.policy()?;
        if policy.is_some() && self.no_policy {
            anyhow::bail!(
                "--no-policy, but there is a policy ({}): remove one or the other",
                self.policy_path().display()
            );
        }
        if policy.is_none() && !self.no_policy {
            anyhow::bail!(
                "no policy: {} does not exist, so no change approval, maintenance window or \
                 promotion gate would apply; write one (`patchctl init --with-policy` writes one \
                 with every section explained), name one with --policy, or pass --no-policy to \
                 run without",
                self.policy_path().display()
            );
        }
        Ok(policy)
    }

    /// Where the policy is read from: the file named, else `policy.toml` beside the config.
    fn policy_path(&self) -> PathBuf {
        self.policy.clone().unwrap_or_else(|| self.state_dir().join("policy.toml"))
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
        ops::files::check_trusted(&path, "the policy").map_err(anyhow::Error::msg)?;
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
        ops::files::check_trusted(&self.config, "the inventory").map_err(anyhow::Error::msg)?;
        Inventory::parse(&self.config, &text).map_err(|invalid| anyhow::anyhow!("{invalid}"))
    }

    /// The state database, created 0600 when new; one others can read is warned about, once.
    /// Runs `work` on the state database, opened for it and closed after it, on a runtime of
    /// its own.
    pub fn with_store<T>(
        &self,
        work: impl AsyncFnOnce(&store::Store) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        runtime()?.block_on(async {
            let store = self.store().await?;
            let result = work(&store).await;
            store.close().await;
            result
        })
    }

    pub async fn store(&self) -> anyhow::Result<store::Store> {
        static WARNED: std::sync::Once = std::sync::Once::new();
        let path = self.state();
        let warning = ops::files::prepare_private_file(&path)
            .with_context(|| format!("creating the state database {}", path.display()))?;
        if let Some(warning) = warning {
            WARNED.call_once(|| eprintln!("patchctl: warning: {warning}"));
        }
        store::Store::open(&path)
            .await
            .with_context(|| format!("opening the state database {}", path.display()))
    }

    /// Where the heads of the evidence chains are exported: `[audit] anchor_file` of the
    /// inventory (relative to its folder), else the state database's path with `.anchors`.
    pub fn anchor_file(&self, inventory: Option<&Inventory>) -> PathBuf {
        match inventory.and_then(|i| i.audit().anchor_file.clone()) {
            Some(path) if path.is_relative() => self.state_dir().join(path),
            Some(path) => path,
            None => {
                let mut name = self.state().into_os_string();
                name.push(".anchors");
                PathBuf::from(name)
            }
        }
    }
}

/// Who runs this command, for the journal: the user who ran sudo, else the login.
pub fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown-user".to_owned())
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
