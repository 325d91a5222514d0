//! Health, approval through the server, TLS, plain HTTP refused, graceful shutdown.

use std::time::Duration;

use model::access::Role;
use model::change::ChangeKind;
use ops::change::Act;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::start;

#[tokio::test]
async fn healthz_and_readyz_answer_without_credentials() {
    let server = start("").await;
    for path in ["/healthz", "/readyz"] {
        let response = server.http.get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn readyz_says_not_ready_when_the_state_database_cannot_open() {
    let (ctx, dir) = crate::context().await;
    // The state named is a folder: it cannot open.
    let sources = ops::Sources { state: Some(dir.path().to_owned()), ..ctx.sources.clone() };
    let ctx = std::sync::Arc::new(ops::Context::new(sources, ops::Clock::real(), "admin".into()));
    let config = crate::config("[scheduler]\nenabled = false\n", dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server::run(listener, ctx, &config, async {
            let _ = stopped.await;
        })
        .await
    });
    let ready = reqwest::get(format!("{url}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(reqwest::get(format!("{url}/healthz")).await.unwrap().status(), 200);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

/// A saved plan of deb1 whose change alice requested.
pub(crate) async fn requested_plan(ctx: &ops::Context) -> String {
    use model::plan::{HostPlan, Plan, PlanOptions, PlannedReboot, Wave};
    let mut plan = Plan {
        id: String::new(),
        created_at_unix: 1,
        selectors: vec!["all".into()],
        options: PlanOptions::default(),
        hosts: vec![HostPlan {
            host: "deb1".into(),
            environment: "production".into(),
            owner: Some("team-web".into()),
            package_manager: model::PackageManagerKind::Apt,
            assessed_at_unix: 1,
            running_kernel: "6.1.0-1-amd64".into(),
            changes: vec![],
            reboot: PlannedReboot::No,
            services_needing_restart: vec![],
            restarts: Default::default(),
            risks: vec![],
        }],
        waves: vec![Wave {
            name: "production-1".into(),
            environment: "production".into(),
            canary: false,
            hosts: vec!["deb1".into()],
        }],
        excluded: vec![],
        withheld: vec![],
        emergency: None,
    };
    plan.id = plan.content_hash();
    let body = serde_json::to_string(&protocol::plan::PlanV1::from(&plan)).unwrap();
    let store = store::Store::open(&ctx.sources.state()).await.unwrap();
    store.save_plan(&plan.id, 1, &body).await.unwrap();
    store.close().await;
    let request =
        Act { kind: ChangeKind::Request, actor: "alice".into(), ticket: None, comment: None };
    ops::change::record(ctx, &plan.id, request).await.unwrap();
    plan.id
}

#[tokio::test]
async fn the_requester_cannot_approve_their_own_change_and_another_approver_can() {
    let server = start("").await;
    let plan = requested_plan(&server.ctx).await;
    let alice = server.user("alice", Role::Approver).await;
    let bob = server.user("bob", Role::Approver).await;
    let (alice, bob) = (server.login("alice", &alice).await, server.login("bob", &bob).await);
    let approve = |token: String| {
        let url = format!("{}/api/changes/{plan}/approve", server.url);
        let request = server.http.post(url).bearer_auth(token);
        async move { request.send().await.unwrap() }
    };
    let own = approve(alice).await;
    assert_eq!(own.status(), 403);
    let own: serde_json::Value = own.json().await.unwrap();
    assert_eq!(own["code"], "refused", "{own}");

    let approved = approve(bob).await;
    assert_eq!(approved.status(), 200);
    let approved: serde_json::Value = approved.json().await.unwrap();
    assert_eq!(approved["status"]["state"], "approved", "{approved}");
    // The change journal names the authenticated approver.
    let change = ops::change::show(&server.ctx, &plan).await.unwrap();
    let approvers: Vec<&str> = change
        .actions
        .iter()
        .filter(|a| a.kind == ChangeKind::Approve)
        .map(|a| a.actor.as_str())
        .collect();
    assert_eq!(approvers, ["bob"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn plain_http_on_an_address_other_than_loopback_is_refused() {
    let (ctx, dir) = crate::context().await;
    let config = crate::config("", dir.path());
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let error = server::run(listener, ctx, &config, std::future::pending()).await.unwrap_err();
    assert!(matches!(error, server::ServerError::PlainHttpNotLoopback(_)), "{error}");
    assert!(error.to_string().contains("not a loopback address"), "{error}");
}

#[tokio::test]
async fn tls_with_the_configured_certificate_and_key() {
    let (ctx, dir) = crate::context().await;
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    let config = crate::config(
        "[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n[scheduler]\nenabled = false\n",
        dir.path(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server::run(listener, ctx, &config, async {
            let _ = stopped.await;
        })
        .await
    });
    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder().tls_certs_only([root]).build().unwrap();
    let response = client.get(format!("https://localhost:{port}/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let plain = reqwest::Client::new().get(format!("http://localhost:{port}/healthz")).send().await;
    assert!(plain.is_err() || plain.unwrap().status() != 200, "plain HTTP answered on TLS");
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_request_in_flight_when_shutdown_comes_is_answered() {
    let server = start("").await;
    let password = server.user("grace", Role::Viewer).await;
    let body = serde_json::json!({ "user": "grace", "password": password }).to_string();
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    // The request begins, its body half sent, when the shutdown comes.
    let (first, rest) = body.split_at(body.len() / 2);
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let Running { stop, task, .. } = server;
    let _ = stop.unwrap().send(());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!task.is_finished(), "the server stopped with a request in flight");
    socket.write_all(rest.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut response));
    read.await.unwrap().unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"token\":\"pct_"), "{response}");
    tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn the_scheduler_runs_inside_and_stops_with_the_server() {
    let server = start("[scheduler]\npoll_seconds = 1\n").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!server.task.is_finished(), "the server with its scheduler stopped by itself");
    let ready = server.http.get(format!("{}/readyz", server.url)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    server.stop().await.unwrap();
}

use crate::Running;

/// `/metrics` counts hosts per environment and state, needs a token like every route but the
/// health checks, and never labels a series with a host's name.
#[tokio::test]
async fn metrics_count_hosts_per_environment_and_name_no_host() {
    let server = start("").await;
    let password = server.user("prometheus", Role::Viewer).await;
    let token = server.login("prometheus", &password).await;
    let url = format!("{}/metrics", server.url);
    assert_eq!(server.http.get(&url).send().await.unwrap().status(), 401);
    let response = server.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let line = "patchctl_hosts{environment=\"production\",state=\"never_assessed\"} 1";
    assert!(text.lines().any(|l| l == line), "{text}");
    assert!(text.contains("patchctl_compliance_ratio{environment=\"production\"}"), "{text}");
    assert!(!text.contains("deb1"), "a series names a host:\n{text}");
    server.stop().await.unwrap();
}
