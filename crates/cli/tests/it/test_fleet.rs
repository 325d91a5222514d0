//! A test fleet for the `patchctl` end-to-end tests: started through `fleet::up` (the same code
//! as `cargo xtask fleet up`), removed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::PATCHCTL;

pub struct TestFleet {
    pub fleet: fleet::Fleet,
    pub runtime: tokio::runtime::Runtime,
}

impl TestFleet {
    pub fn up(stem: &str, n_debian: usize, n_rpm: usize) -> Option<TestFleet> {
        if std::env::var("PATCHCTL_INTEGRATION").as_deref() != Ok("1") {
            eprintln!("skipped: set PATCHCTL_INTEGRATION=1 to run fleet tests");
            return None;
        }
        let name = format!("t{}-{stem}", std::process::id());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fleets").join(&name);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let spec = fleet::FleetSpec { name, dir, n_debian, n_rpm };
        let fleet = runtime.block_on(fleet::up_with_scenario(&spec)).unwrap();
        Some(TestFleet { fleet, runtime })
    }

    /// Runs patchctl on this machine against the fleet's inventory (or `config`), with its own
    /// state database.
    pub fn patchctl(&self, config: &Path, args: &[&str]) -> Output {
        Command::new(PATCHCTL)
            .arg("--config")
            .arg(config)
            .arg("--state")
            .arg(self.state_of(config))
            .args(no_policy(config))
            .args(args)
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .unwrap()
    }

    /// Makes `state` an empty rehearsal state: the test runs commands at virtual times
    /// (`--now`), which real state refuses.
    pub fn rehearsal(&self, state: &Path) {
        let output = Command::new(PATCHCTL)
            .args(["rehearsal", "create", "--empty"])
            .arg(state)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }

    /// The state database `patchctl` uses for `config`.
    pub fn state_of(&self, config: &Path) -> PathBuf {
        self.fleet.dir.join(format!("{}.db", config.file_stem().unwrap().to_string_lossy()))
    }

    pub fn exec(&self, host: &str, argv: &[&str]) -> (i64, String) {
        let container = &self.fleet.host(host).unwrap().container;
        let output = self
            .runtime
            .block_on(async { fleet::docker::Engine::connect().await?.exec(container, argv).await })
            .unwrap();
        (output.exit_code, output.stdout)
    }

    /// Stops (`false`) or starts again (`true`) the fleet's package repository: a mirror down.
    pub fn mirror(&self, up: bool) {
        let repo = format!("{}-repo", self.fleet.name);
        self.runtime
            .block_on(async {
                let engine = fleet::docker::Engine::connect().await?;
                if up { engine.start(&repo).await } else { engine.kill(&repo).await }
            })
            .unwrap();
    }

    pub fn inject(&self, host: &str, fault: fleet::Fault) {
        self.runtime.block_on(fleet::inject(&self.fleet, host, fault)).unwrap();
    }

    /// The inventory with its text changed by `edit`, written beside it under `name`.
    pub fn edited_inventory(&self, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let path = self.fleet.dir.join(name);
        std::fs::write(&path, edit(std::fs::read_to_string(&self.fleet.inventory).unwrap()))
            .unwrap();
        path
    }
}

/// `--no-policy` when there is no policy beside `config`: a test without one runs without one
/// knowingly, as a user must.
pub fn no_policy(config: &Path) -> Option<&'static str> {
    let policy = config.parent().unwrap_or(Path::new(".")).join("policy.toml");
    (!policy.exists()).then_some("--no-policy")
}

impl Drop for TestFleet {
    fn drop(&mut self) {
        let removed = self.runtime.block_on(fleet::down(&self.fleet.name));
        if !std::thread::panicking() {
            removed.unwrap();
        }
    }
}
