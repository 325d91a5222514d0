//! A rollout started through the API on the test fleet, and the server shut down while its
//! first wave applies: the rollout is handed back (paused, its lease released), a new server
//! resumes it through the API to its end, and no host got the package twice, by the hosts'
//! own dpkg logs. Runs with `PATCHCTL_INTEGRATION=1`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use model::access::Role;
use model::plan::{PlanOptions, RebootPolicy, Scope};
use ops::rollout::{HostState, Phase, Step};
use serde_json::{Value, json};

use crate::Running;

async fn post(server: &Running, token: &str, path: &str, body: Value) -> (u16, Value) {
    let request = server.http.post(format!("{}{path}", server.url)).bearer_auth(token);
    let response = request.json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// The lines of `host`'s dpkg log that put acme-web 1.1-1 on it (an install or an upgrade).
async fn acme_web_applies(engine: &fleet::docker::Engine, host: &fleet::Host) -> Vec<String> {
    let script = "grep -E ' (install|upgrade) acme-web:[^ ]+ [^ ]+ 1\\.1-1$' /var/log/dpkg.log";
    let out = engine.exec(&host.container, &["sh", "-c", script]).await.unwrap();
    assert!(out.exit_code <= 1, "{}: {}", host.name, out.stderr);
    out.stdout.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_hands_an_api_started_rollout_back_and_a_new_server_finishes_it() {
    if std::env::var_os("PATCHCTL_INTEGRATION").is_none() {
        eprintln!("skipped: set PATCHCTL_INTEGRATION=1 (needs Docker)");
        return;
    }
    let (_down, fleet, ctx, state) = crate::assessed_fleet("handback").await;
    let options = PlanOptions {
        scope: Scope::Packages(vec!["acme-web".into()]),
        reboot: RebootPolicy::Never,
        ..Default::default()
    };
    let (plan, _) = ops::plan::create(&ctx, &["all".to_owned()], options, &[]).await.unwrap();
    // deb1 in dev, deb2 in staging: one wave after the other.
    assert_eq!(plan.waves.len(), 2, "{:?}", plan.waves);
    let server = crate::serve(ctx.clone(), state, "").await;
    let password = server.user("olga", Role::Operator).await;
    let token = server.login("olga", &password).await;
    let (status, started) =
        post(&server, &token, "/api/rollouts", json!({ "plan": plan.id })).await;
    assert_eq!(status, 202, "{started}");
    let rollout = started["rollout"].as_str().unwrap().to_owned();

    // The shutdown comes while the first wave's host applies.
    let since = Instant::now();
    loop {
        let loaded = ops::rollout::status(&ctx, &rollout).await.unwrap();
        let applying =
            |state: &HostState| matches!(state, HostState::Running { step: Step::Apply, .. });
        if loaded.machine.hosts().any(|(_, state)| applying(state)) {
            break;
        }
        assert!(!loaded.machine.is_settled(), "the rollout ended before a host applied");
        assert!(since.elapsed() < Duration::from_secs(300), "no host applied in 5 minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Running { stop, task, dir, .. } = server;
    let _ = stop.unwrap().send(());
    let stopped = tokio::time::timeout(Duration::from_secs(300), task).await;
    stopped.expect("the server never stopped").unwrap().unwrap();

    // Handed back: paused with the apply seen through, nothing more started, nobody holds it.
    let row = ops::rollout::list(&ctx).await.unwrap().into_iter().find(|r| r.id == rollout);
    let row = row.unwrap();
    assert_eq!((row.phase.to_string().as_str(), row.owner.as_deref()), ("paused", None));
    let loaded = ops::rollout::status(&ctx, &rollout).await.unwrap();
    assert_eq!(loaded.machine.phase(), Phase::Paused);
    let left: Vec<&str> = loaded
        .machine
        .hosts()
        .filter(|(_, state)| **state != HostState::Done)
        .map(|(host, _)| host)
        .collect();
    assert!(!left.is_empty(), "every host was done before the shutdown took effect");
    drop(loaded);

    // Another server over the same state (a process of its own) takes it up and finishes it.
    let ctx = Arc::new(crate::fleet_context(dir.path()));
    let server = crate::serve(ctx.clone(), dir, "").await;
    let token = server.login("olga", &password).await;
    let (status, resumed) =
        post(&server, &token, &format!("/api/rollouts/{rollout}/resume"), json!(null)).await;
    assert_eq!(status, 202, "{resumed}");
    let since = Instant::now();
    while !ops::rollout::status(&ctx, &rollout).await.unwrap().machine.is_settled() {
        assert!(since.elapsed() < Duration::from_secs(600), "the resumed rollout never ended");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let report = ops::rollout::report_for(&ctx, &rollout).await.unwrap();
    assert_eq!(report.phase, "completed", "{report:#?}");
    assert!(report.journal.intact);
    for host in &report.hosts {
        assert_eq!(host.state, ops::protocol::journal::HostStateV1::Done, "{}", host.host);
    }
    assert!(report.summary.asked.iter().any(|l| l.starts_with("resumed by olga")), "{report:#?}");

    // The hosts' own record: each got acme-web 1.1-1 once, and has it.
    let engine = fleet::docker::Engine::connect().await.unwrap();
    for host in &fleet.hosts {
        let applies = acme_web_applies(&engine, host).await;
        assert_eq!(applies.len(), 1, "{}: {applies:?}", host.name);
        let query = ["dpkg-query", "-W", "-f", "${Version}", "acme-web"];
        let installed = engine.exec(&host.container, &query).await.unwrap();
        assert_eq!(installed.stdout, "1.1-1", "{}", host.name);
    }
    server.stop().await.unwrap();
}
