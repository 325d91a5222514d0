//! The application's context, built once per process by whatever shell runs it (the CLI now,
//! the server and the agent next): where the inventory, the policy and the state live, the one
//! [`Clock`], who is acting, the state database (opened on first use), how hosts are reached,
//! and where progress goes. Every use case of `ops` takes a `&Context`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::Inventory;
use model::policy::Policy;
use store::Store;
use tokio::sync::OnceCell;

use crate::cache::{Cache, FileVersion};
use crate::clock::Clock;
use crate::session::{Connector, SshConnector};

/// Where patchctl's inputs and state are: files on this machine for the CLI.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The inventory and settings file.
    pub config: PathBuf,
    /// The state database; by default `patchctl.db` beside the config file.
    pub state: Option<PathBuf>,
    /// The policy file; by default `policy.toml` beside the config file, when there is one.
    pub policy: Option<PathBuf>,
    /// Run without a policy, knowingly.
    pub no_policy: bool,
    /// The state on PostgreSQL (`postgres://user:password@host/database`) instead of the
    /// SQLite file `state`: several servers may share it.
    pub database_url: Option<String>,
}

/// What went wrong reading the inventory, the policy or the state database.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("reading {what} {}{hint}: {source}", path.display())]
    Read { what: &'static str, path: PathBuf, hint: &'static str, source: std::io::Error },
    /// Not a file patchctl trusts (writable by others), or one that does not parse: the
    /// message names the file, and for a parse error its line and column.
    #[error("{0}")]
    Invalid(String),
    #[error(
        "--no-policy, but there is a policy ({}): remove one or the other",
        .0.display()
    )]
    PolicyAndNoPolicy(PathBuf),
    #[error(
        "no policy: {} does not exist, so no change approval, maintenance window or promotion \
         gate would apply; write one (`patchctl init --with-policy` writes one with every \
         section explained), name one with --policy, or pass --no-policy to run without",
        .0.display()
    )]
    NoPolicy(PathBuf),
    /// Selectors that do not parse or select nothing: the caller's mistake.
    #[error("{0}")]
    Selection(String),
    #[error("creating the state database {}: {source}", path.display())]
    CreateState { path: PathBuf, source: std::io::Error },
    #[error("opening the state database {}: {source}", path.display())]
    OpenState { path: PathBuf, source: Box<store::StoreError> },
}

/// What a use case that reads the state (and its sources) reports.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
}

impl Sources {
    /// The folder of the config file, where the state and the policy are by default.
    pub fn dir(&self) -> PathBuf {
        self.config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned()
    }

    /// The state database as messages name it: the SQLite file, or the PostgreSQL URL
    /// without its password.
    pub fn state_name(&self) -> String {
        match &self.database_url {
            Some(url) => store::redact_url(url),
            None => self.state().display().to_string(),
        }
    }

    /// The SQLite state file (see [`Sources::database_url`]).
    pub fn state(&self) -> PathBuf {
        self.state.clone().unwrap_or_else(|| self.dir().join("patchctl.db"))
    }

    /// Where the policy is read from: the file named, else `policy.toml` beside the config.
    pub fn policy_path(&self) -> PathBuf {
        self.policy.clone().unwrap_or_else(|| self.dir().join("policy.toml"))
    }

    /// Reads and parses the inventory; errors point at file, line and column.
    pub fn inventory(&self) -> Result<Inventory, SourceError> {
        let text = std::fs::read_to_string(&self.config)
            .map_err(|source| self.inventory_unreadable(source))?;
        crate::files::check_trusted(&self.config, "the inventory").map_err(SourceError::Invalid)?;
        Inventory::parse(&self.config, &text).map_err(|e| SourceError::Invalid(e.to_string()))
    }

    fn inventory_unreadable(&self, source: std::io::Error) -> SourceError {
        SourceError::Read {
            what: "the inventory",
            path: self.config.clone(),
            hint: " (run `patchctl init` to create one, or pass --config)",
            source,
        }
    }

    /// The policy, when a file is named or `policy.toml` lies beside the config file.
    pub fn policy(&self) -> Result<Option<Policy>, SourceError> {
        let path = self.policy_path();
        if self.policy.is_none() && !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|source| SourceError::Read {
            what: "the policy",
            path: path.clone(),
            hint: "",
            source,
        })?;
        crate::files::check_trusted(&path, "the policy").map_err(SourceError::Invalid)?;
        Policy::parse(&path, &text).map(Some).map_err(|e| SourceError::Invalid(e.to_string()))
    }

    /// The policy for the use cases whose rules come from it (`plan create`, `emergency`,
    /// `rollout start`): without one they run only when told so (`no_policy`), since everything
    /// the policy would have refused then passes.
    pub fn policy_or_none(&self) -> Result<Option<Policy>, SourceError> {
        match (self.policy()?, self.no_policy) {
            (Some(_), true) => Err(SourceError::PolicyAndNoPolicy(self.policy_path())),
            (None, false) => Err(SourceError::NoPolicy(self.policy_path())),
            (policy, _) => Ok(policy),
        }
    }

    /// Where the heads of the evidence chains are exported: `[audit] anchor_file` of the
    /// inventory (relative to its folder), else the state database's path with `.anchors`
    /// (for PostgreSQL, `patchctl-postgres.anchors` beside the inventory).
    pub fn anchor_file(&self, inventory: Option<&Inventory>) -> PathBuf {
        match inventory.and_then(|i| i.audit().anchor_file.clone()) {
            Some(path) if path.is_relative() => self.dir().join(path),
            Some(path) => path,
            // Beside the inventory for a state on PostgreSQL, outside the database as ever.
            None if self.database_url.is_some() => self.dir().join("patchctl-postgres.anchors"),
            None => {
                let mut name = self.state().into_os_string();
                name.push(".anchors");
                PathBuf::from(name)
            }
        }
    }
}

/// Where a use case's progress goes as it happens (the CLI draws a table; the server will
/// stream it to browsers). Every method has a default that ignores it.
pub trait Progress: Send + Sync {
    /// A rollout starts being driven here: its hosts, each with its wave's name, in order.
    fn rollout_started(&self, _rollout: &str, _hosts: &[(String, String)]) {}
    /// The rollout machine moved: `event` happened, and `machine` is its state after it.
    fn rollout_event(&self, _event: &rollout::Event, _machine: &rollout::Rollout) {}
    /// A host waits for something not its own (a lock, an unreachable host, a reboot), or
    /// (`None`) no longer does.
    fn waiting(&self, _host: &str, _waiting: Option<&crate::rollout::Waiting>) {}
    /// The rollout stopped being driven here (it ended, paused, or failed).
    fn rollout_stopped(&self) {}
    /// Something the user should read now: a warning, a step of the workflow.
    fn notice(&self, _text: &str) {}
}

/// Progress nobody watches.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Everything a use case needs of the world. Cheap to share by reference; one per process.
pub struct Context {
    pub sources: Sources,
    pub clock: Clock,
    /// Who acts, for the journal: the login of the CLI's user (the authenticated identity on
    /// the server, next).
    pub actor: String,
    pub progress: Arc<dyn Progress>,
    store: OnceCell<Store>,
    /// The PostgreSQL pool the store opens with.
    pool: store::PoolSettings,
    connector: Option<Arc<dyn Connector>>,
    pub(crate) cache: Cache,
}

impl Context {
    pub fn new(sources: Sources, clock: Clock, actor: String) -> Context {
        Context {
            sources,
            clock,
            actor,
            progress: Arc::new(NoProgress),
            store: OnceCell::new(),
            pool: store::PoolSettings::default(),
            connector: None,
            cache: Cache::default(),
        }
    }

    /// A context over an open store (a test's temporary database, or the server's).
    pub fn with_store(mut self, store: Store) -> Context {
        self.store = OnceCell::new_with(Some(store));
        self
    }

    /// A state on PostgreSQL opened with a pool of `pool` (its size, its wait for a
    /// connection) instead of the default one; the store, if open already, keeps its own.
    pub fn with_pool_settings(mut self, pool: store::PoolSettings) -> Context {
        self.pool = pool;
        self
    }

    /// The pool a state on PostgreSQL opens with.
    pub fn pool_settings(&self) -> store::PoolSettings {
        self.pool
    }

    /// Progress told to `progress` as it happens.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Context {
        self.progress = progress;
        self
    }

    /// Hosts reached by `connector` instead of SSH (a test's fake hosts; agents, later).
    pub fn with_connector(mut self, connector: Arc<dyn Connector>) -> Context {
        self.connector = Some(connector);
        self
    }

    /// The state database, created 0600 and migrated on first use; one others can read is
    /// warned about, through `progress`, once.
    pub async fn store(&self) -> Result<&Store, SourceError> {
        self.store
            .get_or_try_init(|| async {
                if let Some(url) = &self.sources.database_url {
                    return Store::open_url_with(url, self.pool).await.map_err(|source| {
                        SourceError::OpenState {
                            path: PathBuf::from(store::redact_url(url)),
                            source: Box::new(source),
                        }
                    });
                }
                let path = self.sources.state();
                let warning = crate::files::prepare_private_file(&path)
                    .map_err(|source| SourceError::CreateState { path: path.clone(), source })?;
                if let Some(warning) = warning {
                    self.progress.notice(&format!("warning: {warning}"));
                }
                Store::open(&path)
                    .await
                    .map_err(|source| SourceError::OpenState { path, source: Box::new(source) })
            })
            .await
    }

    /// How hosts are reached: over SSH with the keys pinned in the state, unless told otherwise.
    pub async fn connector(&self) -> Result<Arc<dyn Connector>, SourceError> {
        match &self.connector {
            Some(connector) => Ok(connector.clone()),
            None => Ok(Arc::new(SshConnector { store: self.store().await?.clone() })),
        }
    }

    /// The inventory, parsed again only when its file changed since the last call (the
    /// server answers many requests from one parse).
    pub fn inventory(&self) -> Result<Arc<Inventory>, SourceError> {
        self.inventory_version().map(|(_, inventory)| inventory)
    }

    /// The inventory with the version of its file it was parsed from.
    pub(crate) fn inventory_version(&self) -> Result<(FileVersion, Arc<Inventory>), SourceError> {
        let metadata = std::fs::metadata(&self.sources.config)
            .map_err(|source| self.sources.inventory_unreadable(source))?;
        let version = FileVersion::of(&metadata);
        Ok((version, self.cache.inventory(version, || self.sources.inventory())?))
    }

    /// The hosts of the inventory that `selectors` (`all`, a host, a group, `env:NAME`,
    /// `tag:NAME`) pick; a selector that is malformed or picks nothing is an error that says so.
    pub fn hosts(&self, selectors: &[String]) -> Result<Vec<model::ResolvedHost>, SourceError> {
        self.with_hosts(selectors, |hosts| hosts.into_iter().cloned().collect())
    }

    /// What `read` makes of the hosts `selectors` pick, borrowed from the kept inventory: a
    /// page of a large fleet copies only its own hosts.
    pub fn with_hosts<R>(
        &self,
        selectors: &[String],
        read: impl FnOnce(Vec<&model::ResolvedHost>) -> R,
    ) -> Result<R, SourceError> {
        let inventory = self.inventory()?;
        let selectors = selectors
            .iter()
            .map(|text| {
                text.parse::<model::Selector>().map_err(|e| SourceError::Selection(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let hosts = model::select(&inventory, &selectors)
            .map_err(|e| SourceError::Selection(e.to_string()))?;
        Ok(read(hosts))
    }

    /// Creates the state database (0600, migrated) if it does not exist: `patchctl init`.
    pub async fn create_state(&self) -> Result<(), SourceError> {
        self.store().await.map(drop)
    }

    /// Closes the state database if it was opened: waits for its writes to finish.
    pub async fn close(&self) {
        if let Some(store) = self.store.get() {
            store.close().await;
        }
    }
}
