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
    let server = crate::start_on_fixture(None).await;
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
    let server = crate::start_on_fixture(None).await;
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
    let server = crate::start_on_fixture(None).await;
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

/// The pages added for the record, each logged out first: the login form, not the page.
const RECORD_PAGES: [&str; 5] =
    ["/rollouts/00aa11bb22cc33dd/report", "/postmortems", "/postmortems/1", "/audit", "/cves"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_postmortem_and_audit_pages_show_the_fixtures_record() {
    let server = crate::start_on_fixture(None).await;
    let viewer = server.user("vera", Role::Viewer).await;
    let cookie = server.login("vera", &viewer).await;
    for path in RECORD_PAGES {
        let response = server.http.get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<h1>Log in</h1>") && !html.contains("span class=\"who\""), "{html}");
    }

    // The rollout's report, linked from its page: every host with its outcome, every command.
    let (_, live) = page(&server, &cookie, &format!("/rollouts/{ROLLOUT}")).await;
    assert!(live.contains(&format!("href=\"/rollouts/{ROLLOUT}/report\"")), "{live}");
    let (status, html) = page(&server, &cookie, &format!("/rollouts/{ROLLOUT}/report")).await;
    assert_eq!(status, 200, "{html}");
    let report = ops::rollout::report_for(&server.ctx, ROLLOUT).await.unwrap();
    assert_eq!(report.hosts.len(), 3);
    for host in &report.hosts {
        let state =
            serde_json::to_value(&host.state).unwrap()["state"].as_str().unwrap().to_owned();
        let row = format!(
            "<tr id=\"host-{0}\"><th scope=\"row\"><a href=\"/hosts/{0}\">{0}</a></th><td class=\"state {state}\">",
            host.host
        );
        assert!(html.contains(&row), "{row}: {html}");
    }
    assert!(report.journal.intact && html.contains("<strong>Journal intact</strong>"), "{html}");
    assert_eq!(html.matches("<details>").count(), report.outputs.len(), "{html}");
    for id in &report.summary.open_postmortems {
        assert!(html.contains(&format!("<a href=\"/postmortems/{id}\">PM-{id}</a>")), "{html}");
    }
    assert_eq!(page(&server, &cookie, "/rollouts/ffffffffffffffff/report").await.0, 404);

    // The postmortems: the fixture's two, and one with its record.
    let (status, html) = page(&server, &cookie, "/postmortems").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<tr id=\"pm-1\">") && html.contains("<tr id=\"pm-2\">"), "{html}");
    assert!(html.contains("Emergency patch for ACME-2026:0001"), "{html}");
    let (status, html) = page(&server, &cookie, "/postmortems/PM-2").await;
    assert_eq!(status, 200, "{html}");
    let title = "rollout 00aa11bb22cc33dd completed; failed or rolled back: rpm2, rpm3";
    assert!(html.contains(&format!("<h1>PM-2: {title}</h1>")), "{html}");
    assert!(html.contains(&format!("<a href=\"/rollouts/{ROLLOUT}/report\">")), "{html}");
    let (_, events) = ops::postmortem::show(&server.ctx, 2).await.unwrap().unwrap();
    assert!(!events.is_empty());
    assert_eq!(html.matches("<tr><td>").count(), events.len(), "{html}");
    assert_eq!(page(&server, &cookie, "/postmortems/99").await.0, 404);
    assert_eq!(page(&server, &cookie, "/postmortems/x").await.0, 400);

    // The audit: intact, every chain listed; then an anchor the journal does not match.
    let (status, html) = page(&server, &cookie, "/audit").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<strong>Intact</strong>") && !html.contains("BROKEN"), "{html}");
    let chain = format!("rollout:{ROLLOUT}");
    let link = format!("<a href=\"/rollouts/{ROLLOUT}/report\">{chain}</a>");
    assert!(html.contains(&link) && html.contains("<td class=\"ok\">intact</td>"), "{html}");
    let anchors = server.dir.path().join("patchctl.db.anchors");
    let mut text = std::fs::read_to_string(&anchors).unwrap();
    text.push_str(&format!(
        "{{\"at\":0,\"chain\":\"{chain}\",\"entries\":2,\"head\":\"forged\"}}\n"
    ));
    std::fs::write(&anchors, text).unwrap();
    let (status, html) = page(&server, &cookie, "/audit").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<strong>BROKEN</strong>: 1 of "), "{html}");
    assert!(html.contains(&format!("<li>{chain}: ")), "{html}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cve_exposure_is_counted_by_severity_on_the_compliance_and_cves_pages() {
    let server = crate::start_on_fixture(None).await;
    let viewer = server.user("vera", Role::Viewer).await;
    let cookie = server.login("vera", &viewer).await;
    // The server evaluates the exposure when it starts.
    let started = Instant::now();
    let html = loop {
        let (status, html) = page(&server, &cookie, "/cves").await;
        assert_eq!(status, 200, "{html}");
        if html.contains("id=\"severity-critical\"") {
            break html;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never evaluated: {html}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // CVE-2026-0001 (ACME-2026:0001, critical), told host by host by `patchctl cve`.
    let all = ["all".to_owned()];
    let (_, hosts) = ops::advisories::cve(&server.ctx, "CVE-2026-0001", &all).await.unwrap();
    use ops::advisories::CveVerdict::{Affected, Undecided};
    let affected = hosts.iter().filter(|h| matches!(h.verdict, Affected | Undecided)).count();
    assert!(affected > 0, "{hosts:?}");
    let row = format!(
        "<tr><th scope=\"row\">CVE-2026-0001</th><td class=\"bad\">critical</td><td class=\"n\">{affected}</td><td>ACME-2026:0001</td></tr>"
    );
    assert!(html.contains(&row), "{row}: {html}");
    let critical = format!(
        "<tr id=\"severity-critical\"><th scope=\"row\">critical</th><td class=\"n bad\">{affected}</td><td class=\"n\">1</td></tr>"
    );
    assert!(html.contains(&critical), "{critical}: {html}");
    for severity in ["medium", "low", "unknown"] {
        let none = format!(
            "<th scope=\"row\">{severity}</th><td class=\"n\">0</td><td class=\"n\">0</td>"
        );
        assert!(html.contains(&none), "{none}: {html}");
    }
    // The compliance page has the same counts, and links to the list.
    let (status, compliance) = page(&server, &cookie, "/compliance").await;
    assert_eq!(status, 200, "{compliance}");
    assert!(
        compliance.contains(&critical) && compliance.contains("href=\"/cves\""),
        "{compliance}"
    );
    server.stop().await.unwrap();
}
