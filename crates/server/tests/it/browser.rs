//! The dashboard in Debian's chromium, driven through chromium-driver (WebDriver) by
//! fantoccini: a requester logs in and sees the fleet, has no Approve button on their own
//! change, and their forged posts (without the form token, and with it) are refused and on the
//! identity record; another approver approves with the button. Screenshots are kept in
//! `target/browser/` to be looked at. Runs with `PATCHCTL_INTEGRATION=1`.

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
    client.close().await.unwrap();
    server.stop().await.unwrap();
}
