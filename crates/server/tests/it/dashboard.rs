//! The dashboard's rollout and compliance pages, and the rollout's event stream, over the
//! fixture's state (a finished rollout with rollbacks, three staging hosts).

use std::time::{Duration, Instant};

use model::access::Role;
use protocol::output::rollout::RolloutLiveV1;

const ROLLOUT: &str = "00aa11bb22cc33dd";

/// The `update` events of an event stream, decoded.
fn updates(stream: &str) -> Vec<RolloutLiveV1> {
    stream
        .split("\n\n")
        .filter(|event| event.lines().any(|l| l == "event: update"))
        .map(|event| {
            let data: String = event
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect::<Vec<_>>()
                .join("\n");
            serde_json::from_str(&data).unwrap_or_else(|e| panic!("{e}: {data}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_rollouts_stream_is_one_update_with_every_host_and_then_its_end() {
    let server = crate::start_on_fixture().await;
    let viewer = server.user("vera", Role::Viewer).await;
    let token = server.login("vera", &viewer).await;
    let url = format!("{}/api/rollouts/{ROLLOUT}/events", server.url);
    let response = server.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(kind, "text/event-stream");
    // The stream ends by itself: the rollout is over.
    let body = tokio::time::timeout(Duration::from_secs(10), response.text()).await.unwrap();
    let updates = updates(&body.unwrap());
    assert_eq!(updates.len(), 1, "{updates:?}");
    let update = &updates[0];
    assert!(update.over && update.seq > 0, "{update:?}");
    let status: serde_json::Value = server
        .http
        .get(format!("{}/api/rollouts/{ROLLOUT}", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(update.phase, status["phase"].as_str().unwrap());
    let hosts = status["hosts"].as_array().unwrap();
    assert_eq!(update.hosts.len(), hosts.len());
    for (live, host) in update.hosts.iter().zip(hosts) {
        assert_eq!(live.host, host["host"].as_str().unwrap());
        assert_eq!(live.state, host["state"]["state"].as_str().unwrap());
        assert!(!live.wave.is_empty());
    }
    assert!(update.lines.iter().any(|l| l.text.starts_with("finished: ")), "{:?}", update.lines);

    // Unknown: a problem, not a stream. No login: refused.
    let unknown = format!("{}/api/rollouts/ffffffffffffffff/events", server.url);
    let response = server.http.get(&unknown).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(server.http.get(&url).send().await.unwrap().status(), 401);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_pages_list_the_inventory_and_a_hosts_history() {
    let server = crate::start_on_fixture().await;
    let viewer = server.user("vera", Role::Viewer).await;
    let cookie = server.login("vera", &viewer).await;
    let (status, html) = page(&server, &cookie, "/hosts?environment=staging").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("3 hosts; 1 to 3 shown"), "{html}");
    for host in ["rpm1", "rpm2", "rpm3"] {
        assert!(html.contains(&format!("<a href=\"/hosts/{host}\">{host}</a>")), "{html}");
    }
    let (_, none) = page(&server, &cookie, "/hosts?environment=production").await;
    assert!(none.contains("0 hosts."), "{none}");

    let (status, html) = page(&server, &cookie, "/hosts/rpm2").await;
    assert_eq!(status, 200, "{html}");
    let history = ops::history::history(&server.ctx, "rpm2", 100).await.unwrap();
    assert!(!history.is_empty());
    assert_eq!(html.matches("<tr><td>").count(), history.len(), "{html}");
    assert_eq!(page(&server, &cookie, "/hosts/nosuch").await.0, 404);
    assert_eq!(page(&server, &cookie, "/hosts?bogus=1").await.0, 400);
    server.stop().await.unwrap();
}

/// A page, with a session cookie from a password login.
async fn page(server: &crate::Running, cookie: &str, path: &str) -> (u16, String) {
    let response = server
        .http
        .get(format!("{}{path}", server.url))
        .header("cookie", format!("patchctl_session={cookie}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rollout_page_lists_its_hosts_and_the_compliance_page_plots_the_trend() {
    let server = crate::start_on_fixture().await;
    let viewer = server.user("vera", Role::Viewer).await;
    let cookie = server.login("vera", &viewer).await;

    let (status, html) = page(&server, &cookie, &format!("/rollouts/{ROLLOUT}")).await;
    assert_eq!(status, 200, "{html}");
    for host in ["rpm1", "rpm2", "rpm3"] {
        assert!(html.contains(&format!("id=\"host-{host}\"")), "{host}: {html}");
    }
    // Over: nothing to follow, so no script.
    assert!(!html.contains("live.js") && html.contains(">over<"), "{html}");

    // The server evaluates compliance when it starts: the page plots today's row.
    let started = Instant::now();
    let html = loop {
        let (status, html) = page(&server, &cookie, "/compliance").await;
        assert_eq!(status, 200, "{html}");
        if html.contains("<svg") {
            break html;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never evaluated: {html}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(html.matches("<svg").count(), 3, "{html}");
    assert!(html.contains("<th scope=\"row\">staging</th>"), "{html}");
    let days = ops::compliance::trend(&server.ctx, 1).await.unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
    assert_eq!((days[0].environment.as_str(), days[0].hosts), ("staging", 3));
    let ratio = format!("{:.1} %", 100.0 * days[0].compliant as f64 / 3.0);
    assert!(html.contains(&ratio), "{ratio}: {html}");
    // The overview's compliance is the same evaluation.
    let (_, overview) = page(&server, &cookie, "/").await;
    let said = format!("{} of 3 hosts", days[0].compliant);
    assert!(overview.contains(&said) && overview.contains(ROLLOUT), "{said}: {overview}");
    server.stop().await.unwrap();
}
