//! The server over real sockets: a temporary state database and inventory, the server bound to
//! `127.0.0.1:0` in a task, called with reqwest (rustls).

mod auth;
mod browser;
mod dashboard;
mod lifecycle;
mod oidc;
mod postgres;
mod schema;
mod shutdown_fleet;
mod writes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::access::Role;
use server::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const INVENTORY: &str = "[hosts.deb1]\naddress = \"10.0.0.1\"\nenvironment = \"production\"\n\
                         owner = \"team-web\"\n";

/// Production changes need one approver of role `cab`, which alice and bob hold.
const POLICY: &str = "[[environments]]\nname = \"production\"\nschedule = \"0 22 * * *\"\n\
                      timezone = \"UTC\"\nwindow = \"2h\"\n\
                      approval = { approvers = 1, role = \"cab\" }\n\
                      [roles]\ncab = [\"alice\", \"bob\"]\n";

/// A running server and what the tests need of it.
pub struct Running {
    pub ctx: Arc<ops::Context>,
    pub url: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<(), server::ServerError>>,
}

impl Running {
    /// Stops the server and returns how `run` ended.
    pub async fn stop(mut self) -> Result<(), server::ServerError> {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap()
    }

    pub async fn user(&self, name: &str, role: Role) -> String {
        ops::identity::create_user(&self.ctx, "admin", name, role).await.unwrap()
    }

    /// Logs `name` in with `password`, returning the token.
    pub async fn login(&self, name: &str, password: &str) -> String {
        let response = self.post_login(name, password).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn post_login(&self, name: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/login", self.url))
            .json(&serde_json::json!({ "user": name, "password": password }))
            .send()
            .await
            .unwrap()
    }
}

pub fn config(text: &str, dir: &Path) -> ServerConfig {
    ServerConfig::parse(&dir.join("server.toml"), text).unwrap()
}

/// The context of a server over a new state in a temporary folder, with the inventory and the
/// policy above.
pub async fn context() -> (Arc<ops::Context>, tempfile::TempDir) {
    ops::notify::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("patchctl.toml"), INVENTORY).unwrap();
    std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
    let sources = ops::Sources {
        config: dir.path().join("patchctl.toml"),
        state: Some(dir.path().join("patchctl.db")),
        policy: Some(dir.path().join("policy.toml")),
        no_policy: false,
        database_url: None,
    };
    let ctx = ops::Context::new(sources, ops::Clock::real(), "admin".into());
    ctx.create_state().await.unwrap();
    (Arc::new(ctx), dir)
}

/// Starts a server with `config_text` (the scheduler off unless it says otherwise).
pub async fn start(config_text: &str) -> Running {
    let (ctx, dir) = context().await;
    serve(ctx, dir, config_text).await
}

/// A state database with plans, a change, a rollout (`00aa11bb22cc33dd`) with rollbacks,
/// advisories and a postmortem, written by patchctl at 18d7299.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ops/test_data/state-18d7299.db");

/// The fixture's hosts, at an address that refuses connections at once: what reaches them (a
/// fuzzed assessment) fails fast and touches no network.
const FIXTURE_INVENTORY: &str = "[hosts.rpm1]\naddress = \"127.0.0.1\"\nport = 1\nenvironment = \"staging\"\n\
                                 [hosts.rpm2]\naddress = \"127.0.0.1\"\nport = 1\nenvironment = \"staging\"\n\
                                 [hosts.rpm3]\naddress = \"127.0.0.1\"\nport = 1\nenvironment = \"staging\"\n";

/// Starts a server over a copy of [`FIXTURE`], with `policy` (the text of its `policy.toml`;
/// `None`: no policy), the scheduler off.
pub async fn start_on_fixture(policy: Option<&str>) -> Running {
    ops::notify::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(FIXTURE, dir.path().join("patchctl.db")).unwrap();
    std::fs::write(dir.path().join("patchctl.toml"), FIXTURE_INVENTORY).unwrap();
    if let Some(policy) = policy {
        std::fs::write(dir.path().join("policy.toml"), policy).unwrap();
    }
    let sources = ops::Sources {
        config: dir.path().join("patchctl.toml"),
        state: Some(dir.path().join("patchctl.db")),
        policy: policy.map(|_| dir.path().join("policy.toml")),
        no_policy: policy.is_none(),
        database_url: None,
    };
    let ctx = Arc::new(ops::Context::new(sources, ops::Clock::real(), "admin".into()));
    serve(ctx, dir, "").await
}

/// Serves `ctx` (whose state and files are in `dir`) with `config_text`.
pub async fn serve(ctx: Arc<ops::Context>, dir: tempfile::TempDir, config_text: &str) -> Running {
    let text = if config_text.contains("[scheduler]") {
        config_text.to_owned()
    } else {
        format!("{config_text}\n[scheduler]\nenabled = false\n")
    };
    start_with(ctx, dir, &text).await
}

/// Starts a server over `ctx`, whose sources are in `dir`, with `config_text`.
pub async fn start_with(
    ctx: Arc<ops::Context>,
    dir: tempfile::TempDir,
    config_text: &str,
) -> Running {
    let config = config(config_text, dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn({
        let ctx = ctx.clone();
        async move {
            server::run(listener, ctx, &config, async {
                let _ = stopped.await;
            })
            .await
        }
    });
    let http = reqwest::Client::new();
    Running { ctx, url, http, dir, stop: Some(stop), task }
}

/// Takes the test fleet down when dropped, even when the test failed.
pub struct FleetDown(String);

impl Drop for FleetDown {
    fn drop(&mut self) {
        let name = self.0.clone();
        let down = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(fleet::down(&name))
        });
        let _ = down.join();
    }
}

/// A fleet of two Debian hosts for the test `test` (on the scenario's packages; `up` them
/// with `PATCHCTL_INTEGRATION=1` only), and a server's context over a new state with no
/// policy, its hosts assessed: the guard that takes the fleet down, the fleet, the context
/// and the folder of its state.
pub async fn assessed_fleet(
    test: &str,
) -> (FleetDown, fleet::Fleet, Arc<ops::Context>, tempfile::TempDir) {
    let name = format!("t{}-{test}", std::process::id());
    let down = FleetDown(name.clone());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fleets").join(&name);
    let spec = fleet::FleetSpec { name, dir, n_debian: 2, n_rpm: 0 };
    let fleet = fleet::up_with_scenario(&spec).await.unwrap();

    ops::notify::install_crypto_provider();
    let state = tempfile::tempdir().unwrap();
    // A container's reboot writes errors of its own to the journal: not the patch's.
    let inventory = std::fs::read_to_string(&fleet.inventory).unwrap().replacen(
        "[defaults]\n",
        "[defaults.checks]\njournal_errors = false\n\n[defaults]\n",
        1,
    );
    std::fs::write(state.path().join("inventory.toml"), inventory).unwrap();
    let ctx = Arc::new(fleet_context(state.path()));
    ctx.create_state().await.unwrap();
    let hosts = ctx.hosts(&["all".to_owned()]).unwrap();
    let assess = ops::FleetAssessConfig { accept_new_host_keys: true, ..Default::default() };
    ops::assess_fleet(&ctx, &hosts, assess, &|_, _, _| {}).await.unwrap();
    (down, fleet, ctx, state)
}

/// The context of a process over the state [`assessed_fleet`] made in `dir`.
pub fn fleet_context(dir: &Path) -> ops::Context {
    let sources = ops::Sources {
        config: dir.join("inventory.toml"),
        state: Some(dir.join("patchctl.db")),
        policy: None,
        no_policy: true,
        database_url: None,
    };
    ops::Context::new(sources, ops::Clock::real(), "admin".into())
}
