//! A rollout's steps over another session than SSH: `SshSteps` with a `Connector` that opens
//! this machine's local transport, as an agent's would open its channel. The precheck runs the
//! same code it runs over SSH — the host's state, locks, disk space, the host as planned, the
//! facts later steps need — against this machine's real dpkg, and changes nothing.

use std::sync::Arc;

use model::plan::{PlanHost, PlanOptions, RebootPolicy, Scope, build_plan};
use model::{Inventory, ResolvedHost};
use ops::connect::{ConnectConfig, ConnectFailure};
use ops::rollout::{SshSteps, StepRunner, StepsConfig};
use ops::session::{Connector, HostSession};
use ops::{AssessConfig, assess_host};
use pkgmgr::Depth;
use rollout::{Step, StepResult};
use store::Store;
use transport::{Limits, Local};

/// This machine, as an inventory names it. Its lists are never refreshed (that would change
/// it), nothing is cleaned, and its journal and kernel are not looked at (a build container
/// may have neither).
const INVENTORY: &str = r#"
[hosts.here]
address = "localhost"
environment = "dev"
[hosts.here.checks]
journal_errors = false
kernel = false
[hosts.here.hooks]
refresh = "never"
unit_output_days = 0
min_free_mb = {}
lock_wait_seconds = 0
"#;

struct LocalConnector;

#[async_trait::async_trait]
impl Connector for LocalConnector {
    async fn connect(
        &self,
        _host: &ResolvedHost,
        _config: &ConnectConfig,
    ) -> Result<Arc<dyn HostSession>, ConnectFailure> {
        Ok(Arc::new(Local::new(Limits::default())))
    }
}

#[tokio::test]
async fn the_precheck_runs_over_a_session_that_is_not_ssh() {
    let inventory = Inventory::parse(std::path::Path::new("inventory.toml"), INVENTORY).unwrap();
    let host = inventory.host("here").unwrap().clone();
    let local = Local::new(Limits::default());
    let config = AssessConfig { depth: Depth::Health, ..AssessConfig::default() };
    let assessment = assess_host("here", &local, &config).await.expect("assessing this machine");
    let before = assessment.installed.clone();
    // A plan that changes no package and reboots: the host is in it, with nothing to install.
    let options = PlanOptions {
        scope: Scope::KernelOnly,
        reboot: RebootPolicy::Always,
        ..PlanOptions::default()
    };
    let hosts = [PlanHost::from(&host)];
    let plan = build_plan(&hosts, &[assessment], &["all".into()], &options, None, 0).unwrap();
    let store = Store::open_in_memory().await.unwrap();
    let steps_config = StepsConfig {
        rollout_id: "0011223344556677".into(),
        apply: pkgmgr::apply::ApplyOptions::default(),
        reboot_delay_minutes: 0,
        reboot_message: "test".into(),
        reboot_contact: "test".into(),
        unreachable_grace: std::time::Duration::from_secs(1),
        poll_interval: std::time::Duration::from_millis(100),
        connect: ConnectConfig::default(),
        download_ahead: false,
        repair: false,
    };
    let steps = SshSteps::new(steps_config, plan, vec![host], store)
        .with_connector(Arc::new(LocalConnector));
    let report = steps.run("here", Step::Precheck, false).await;
    assert_eq!(
        report.result,
        StepResult::Succeeded { reboot_required: false },
        "{:#?}",
        report.outputs
    );
    // It recorded the boot it found, for the reboot to prove a new one against.
    let facts = report.outputs.iter().rev().find(|o| !o.facts.is_empty()).expect("facts");
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(facts.facts["boot_id"], boot_id.trim());
    // And changed nothing.
    let after = assess_host("here", &local, &config).await.unwrap();
    assert_eq!(after.installed, before);
}
