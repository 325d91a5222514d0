//! The dashboard in Debian's chromium, driven through chromium-driver (WebDriver) by
//! fantoccini: a requester logs in and sees the fleet, has no Approve button on their own
//! change, and their forged posts (without the form token, and with it) are refused and on the
//! identity record; another approver approves with the button. A rollout on the test fleet,
//! driven beside the server, shows on its page live, each host's change within two seconds of
//! its journal entry; the compliance page draws its plots; the audit page says the change
//! journal is intact. An OIDC user logs in through the provider (oidc-provider-mock, see
//! `oidc.rs`). Screenshots are kept in `target/browser/` to be looked at. Runs with
//! `PATCHCTL_INTEGRATION=1`.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use model::access::Role;

use crate::start;

/// chromium-driver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver (Debian's chromium-driver)");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    let options = serde_json::json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"]
    });
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

async fn log_in(client: &Client, url: &str, user: &str, password: &str) {
    client.delete_all_cookies().await.unwrap();
    client.goto(&format!("{url}/login")).await.unwrap();
    client.find(Locator::Id("user")).await.unwrap().send_keys(user).await.unwrap();
    client.find(Locator::Id("password")).await.unwrap().send_keys(password).await.unwrap();
    client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    // The click may return before the answer's page is shown: wait for it, logged in (the
    // header names the user) or refused (an alert).
    let started = Instant::now();
    while client.find(Locator::Css("span.who, p.error")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the login never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn keep(name: &str, png: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// A post from the page's own origin, with the browser's cookie; its status.
async fn post(client: &Client, path: &str, body: &str) -> u64 {
    let script = "const [path, body] = arguments; \
                  return fetch(path, {method: 'POST', body, headers: \
                  {'Content-Type': 'application/x-www-form-urlencoded'}}).then(r => r.status);";
    let status = client.execute(script, vec![path.into(), body.into()]).await.unwrap();
    status.as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_cannot_approve_in_the_browser_and_another_approver_can() {
    if std::env::var_os("PATCHCTL_INTEGRATION").is_none() {
        eprintln!("skipped: set PATCHCTL_INTEGRATION=1 (needs chromium and chromium-driver)");
        return;
    }
    let server = start("").await;
    let plan = crate::lifecycle::requested_plan(&server.ctx).await;
    let alice = server.user("alice", Role::Approver).await;
    let bob = server.user("bob", Role::Approver).await;
    let driver = driver();
    let client = browser(&driver).await;

    log_in(&client, &server.url, "alice", "not-her-password").await;
    let refused = client.source().await.unwrap();
    assert!(refused.contains("wrong user or password"), "{refused}");

    log_in(&client, &server.url, "alice", &alice).await;
    let overview = client.source().await.unwrap();
    assert!(overview.contains("<h1>Fleet</h1>") && overview.contains("production"), "{overview}");
    assert!(overview.contains(model::plan::short_id(&plan)), "the plan is listed: {overview}");
    keep("overview", &client.screenshot().await.unwrap());

    client.goto(&format!("{}/plans/{plan}", server.url)).await.unwrap();
    let page = client.source().await.unwrap();
    assert!(page.contains("requested by alice"), "{page}");
    assert!(client.find(Locator::Id("approve")).await.is_err(), "the requester sees Approve");
    keep("plan-requester", &client.screenshot().await.unwrap());

    // Forged: no form token; then the right form token, still her own change.
    let path = format!("/plans/{plan}/approve");
    assert_eq!(post(&client, &path, "").await, 403);
    let session = client.get_named_cookie("patchctl_session").await.unwrap();
    let csrf = ops::identity::csrf_token(session.value());
    assert_eq!(post(&client, &path, &format!("csrf={csrf}")).await, 403);
    let events = ops::identity::events(&server.ctx).await.unwrap();
    let refusals: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "refused" && e.actor == "alice")
        .map(|e| e.subject.as_str())
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals[0].contains("form token"), "{refusals:?}");
    assert!(refusals[1].contains("approve of plan"), "{refusals:?}");

    log_in(&client, &server.url, "bob", &bob).await;
    client.goto(&format!("{}/plans/{plan}", server.url)).await.unwrap();
    keep("plan-approver", &client.screenshot().await.unwrap());
    client.find(Locator::Id("approve")).await.unwrap().click().await.unwrap();
    // The post answers with a redirect to the plan's page again, which the browser follows.
    let started = Instant::now();
    loop {
        let state = match client.find(Locator::Id("change-state")).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if state == "approved" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the page says {state:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = client.source().await.unwrap();
    assert!(page.contains("bob") && page.contains("approve"), "{page}");
    keep("plan-approved", &client.screenshot().await.unwrap());

    // The audit, from the header's link: the change journal just written is intact.
    client.find(Locator::LinkText("Audit")).await.unwrap().click().await.unwrap();
    let verdict = client.wait().for_element(Locator::Id("verdict")).await.unwrap();
    let said = verdict.text().await.unwrap();
    assert!(said.starts_with("Intact"), "{said}");
    let chain = client.find(Locator::LinkText(&format!("change:{plan}"))).await.unwrap();
    assert_eq!(chain.attr("href").await.unwrap(), Some(format!("/plans/{plan}")));
    keep("audit", &client.screenshot().await.unwrap());
    client.close().await.unwrap();
    server.stop().await.unwrap();
}

/// Each host row's (journaled at, shown at, state), as the page keeps them.
async fn rows(client: &Client) -> Vec<(String, u64, u64, String)> {
    let script = "return [...document.querySelectorAll('#hosts tr')].map(r => \
                  [r.id, Number(r.dataset.changed || 0), Number(r.dataset.shown || 0), \
                  r.cells[2].className]);";
    let rows = client.execute(script, vec![]).await.unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let host = row[0].as_str().unwrap().trim_start_matches("host-").to_owned();
            (host, row[1].as_u64().unwrap(), row[2].as_u64().unwrap(), row[3].to_string())
        })
        .collect()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_on_the_fleet_shows_live_on_its_page_within_two_seconds() {
    if std::env::var_os("PATCHCTL_INTEGRATION").is_none() {
        eprintln!("skipped: set PATCHCTL_INTEGRATION=1 (needs Docker, chromium, chromium-driver)");
        return;
    }
    let (_down, _fleet, ctx, state) = crate::assessed_fleet("live").await;
    let all = ["all".to_owned()];
    // The scenario's good updates, the kernel's among them: each host reboots.
    let good = ["acme-web", "acme-tools", "acme-kernel"].map(String::from).to_vec();
    let options = model::plan::PlanOptions {
        scope: model::plan::Scope::Packages(good),
        ..Default::default()
    };
    let (plan, _) = ops::plan::create(&ctx, &all, options, &[]).await.unwrap();
    let server = crate::serve(ctx.clone(), state, "").await;
    let password = server.user("olga", Role::Operator).await;
    let driver = driver();
    let client = browser(&driver).await;
    log_in(&client, &server.url, "olga", &password).await;

    // Driven beside the server, as `patchctl rollout start` on the same state would.
    let run = ops::rollout::RunOptions { reboot_delay_minutes: 0, ..Default::default() };
    let request = ops::rollout::StartRequest {
        plan: plan.id.clone(),
        again: None,
        override_window: None,
        run,
        actor: None,
    };
    let driving = tokio::spawn({
        let ctx = ctx.clone();
        async move { ops::rollout::start(&ctx, &request, std::future::pending()).await }
    });
    let started = Instant::now();
    let rollout = loop {
        if let Some(row) = ops::rollout::list(&ctx).await.unwrap().first() {
            break row.id.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no rollout was created");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    client.goto(&format!("{}/rollouts/{rollout}", server.url)).await.unwrap();
    let loaded = now_ms();

    // Every change the page shows after it loaded, by host and journal time: when it showed.
    let mut seen: BTreeMap<(String, u64), u64> = BTreeMap::new();
    let mut running_shot = false;
    loop {
        for (host, changed, shown, class) in rows(&client).await {
            if shown > 0 && changed > loaded {
                seen.entry((host, changed)).or_insert(shown);
            }
            if !running_shot && class.contains("running") {
                keep("rollout-live", &client.screenshot().await.unwrap());
                running_shot = true;
            }
        }
        let status = client.find(Locator::Id("live-status")).await.unwrap().text().await.unwrap();
        if status == "over" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "the rollout never ended: {status}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    keep("rollout-over", &client.screenshot().await.unwrap());
    let driven = driving.await.unwrap().unwrap();
    let status = ops::rollout::status(&ctx, &rollout).await.unwrap();
    let states: Vec<String> =
        status.machine.hosts().map(|(host, state)| format!("{host}: {state}")).collect();
    assert!(ops::rollout::clean(&driven), "{:?} {states:?}", driven.lines());
    assert!(running_shot, "no host was ever seen running");
    assert!(seen.len() >= 4, "too few changes were seen live: {seen:?}");
    for ((host, changed), shown) in &seen {
        let late = shown.saturating_sub(*changed);
        assert!(late <= 2_000, "{host}'s change at {changed} showed {late} ms later");
    }
    let phase = client.find(Locator::Id("phase")).await.unwrap().text().await.unwrap();
    assert_eq!(phase, "completed");
    for (host, _, _, class) in rows(&client).await {
        assert!(class.contains("done"), "{host}: {class}");
    }

    // The compliance page plots the evaluation taken after the rollout.
    ops::compliance::snapshot(&ctx).await.unwrap();
    client.goto(&format!("{}/compliance", server.url)).await.unwrap();
    let plots = client.find_all(Locator::Css("figure svg.plot")).await.unwrap();
    assert_eq!(plots.len(), 3);
    let points = client.find_all(Locator::Css("figure svg.plot circle")).await.unwrap();
    assert!(!points.is_empty(), "no point is drawn");
    let size = plots[0].rectangle().await.unwrap();
    assert!(size.2 > 300.0 && size.3 > 100.0, "the plot is drawn {size:?}");
    keep("compliance", &client.screenshot().await.unwrap());
    client.close().await.unwrap();
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oidc_user_logs_in_through_the_provider_in_the_browser() {
    let Some(provider) = crate::oidc::provider().await else { return };
    let server = start(&crate::oidc::oidc_config(&provider)).await;
    let driver = driver();
    let client = browser(&driver).await;
    client.goto(&format!("{}/login", server.url)).await.unwrap();
    keep("login-oidc", &client.screenshot().await.unwrap());
    let link = client.find(Locator::Id("oidc")).await.unwrap();
    assert_eq!(link.text().await.unwrap(), "Log in with Mock SSO");
    link.click().await.unwrap();
    // The provider's form: the user's subject typed in, as a person would.
    let subject = client.wait().for_element(Locator::Css("input[name=sub]")).await.unwrap();
    keep("oidc-provider", &client.screenshot().await.unwrap());
    subject.send_keys("carol-1").await.unwrap();
    let authorize = client.find(Locator::XPath("//button[normalize-space()='Authorize']")).await;
    authorize.unwrap().click().await.unwrap();
    let started = Instant::now();
    loop {
        let url = client.current_url().await.unwrap();
        let page = client.source().await.unwrap_or_default();
        if url.as_str() == format!("{}/", server.url) && page.contains("<h1>Fleet</h1>") {
            assert!(page.contains("carol (approver)"), "{page}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "at {url}: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    keep("overview-oidc", &client.screenshot().await.unwrap());
    let session = client.get_named_cookie("patchctl_session").await.unwrap();
    let identity = ops::identity::authenticate(&server.ctx, session.value()).await.unwrap();
    assert_eq!((identity.user.as_str(), identity.role), ("carol", Role::Approver));
    client.close().await.unwrap();
    server.stop().await.unwrap();
}
