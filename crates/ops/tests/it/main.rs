//! `ops` against its real collaborators: this machine's package manager, notifications
//! delivered over real HTTP and SMTP to receivers these tests run on 127.0.0.1, and postmortems
//! and plans under a policy's baselines in a real (in-memory) SQLite store.

mod assess_local;
mod audit;
mod baselines;
mod context;
mod db_copy;
mod doctor;
mod driver;
mod driver_outcomes;
mod failover_sim;
mod legacy_db;
mod lifecycle;
mod notify;
mod postmortem;
mod receivers;
mod scheduler_leader;
mod session_local;
mod verified;

/// The store's test databases: an SQLite file, and a PostgreSQL database on a server started
/// for the test (or named by `PATCHCTL_POSTGRES_URL`), for the copy from one to the other.
#[allow(dead_code)]
#[path = "../../../store/tests/it/backends.rs"]
mod backends;
/// A driver that owns its rollout for 30 s and looks for requests every 50 ms.
fn drive_config() -> ops::rollout::DriveConfig {
    ops::rollout::DriveConfig {
        owner: "patchctl@test:1:aaaa".into(),
        lease_seconds: 30,
        wait_for_lease: false,
        request_poll: std::time::Duration::from_millis(50),
        clock_offset_ms: 0,
        actor: None,
    }
}

/// A plan of `hosts` in `environment`, one wave, each host given `packages` (name, version) for
/// amd64, saved intact (the driver reads a rollout's plan, as `rollout status` does).
async fn saved_plan(
    store: &store::Store,
    environment: &str,
    hosts: &[&str],
    packages: &[(&str, &str)],
    created_at_unix: i64,
) -> model::plan::Plan {
    use model::plan::{HostPlan, PackageChange, Plan, PlanOptions, PlannedReboot, Wave};
    let changes: Vec<PackageChange> = packages
        .iter()
        .map(|(name, to)| PackageChange {
            name: (*name).into(),
            arch: "amd64".into(),
            from: Some("1.0-1".into()),
            to: (*to).into(),
            classification: model::Classification::Security,
            severity: None,
            kernel: false,
            advisories: vec![],
            cves: vec![],
        })
        .collect();
    let mut plan = Plan {
        id: String::new(),
        created_at_unix,
        selectors: vec!["all".into()],
        options: PlanOptions::default(),
        hosts: hosts
            .iter()
            .map(|host| HostPlan {
                host: (*host).into(),
                environment: environment.into(),
                owner: None,
                package_manager: model::PackageManagerKind::Apt,
                assessed_at_unix: created_at_unix,
                running_kernel: "6.1.0-1-amd64".into(),
                changes: changes.clone(),
                reboot: PlannedReboot::No,
                services_needing_restart: vec![],
                restarts: Default::default(),
                risks: vec![],
            })
            .collect(),
        waves: vec![Wave {
            name: format!("{environment}-1"),
            environment: environment.into(),
            canary: false,
            hosts: hosts.iter().map(|h| (*h).into()).collect(),
        }],
        excluded: vec![],
        withheld: vec![],
        emergency: None,
    };
    plan.id = plan.content_hash();
    let body = serde_json::to_string(&protocol::plan::PlanV1::from(&plan)).unwrap();
    store.save_plan(&plan.id, created_at_unix, &body).await.unwrap();
    plan
}

/// The event a `json` webhook received, read through its form.
fn received_event(body: &[u8]) -> model::notification::Event {
    let event: protocol::notification::EventV1 = serde_json::from_slice(body).unwrap();
    event.try_into().unwrap()
}
