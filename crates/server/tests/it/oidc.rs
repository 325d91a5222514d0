//! The OIDC login against a real provider process: oidc-provider-mock (from PyPI), which signs
//! ID tokens with its own key and lets a form choose the user, whose claims (`groups` among
//! them) the test sets. The login is followed by hand over HTTP: the server's redirect, the
//! provider's form, the callback. Runs with `PATCHCTL_INTEGRATION=1` and wants
//! `PATCHCTL_OIDC_PROVIDER` naming the `oidc-provider-mock` program (`cargo xtask ci` installs
//! it in a venv and sets it).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use model::access::Role;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

use crate::{Running, start};

/// oidc-provider-mock on a free port, killed when dropped.
pub struct Provider {
    child: Child,
    pub url: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The provider's users: carol is in the change board (`cab`), olga in `ops`, dan in no group
/// the server maps, and alice is a name a local user has.
const USERS: [&str; 4] = [
    r#"{"sub": "carol-1", "preferred_username": "carol", "groups": ["staff", "cab"]}"#,
    r#"{"sub": "olga-1", "preferred_username": "olga", "groups": ["ops"]}"#,
    r#"{"sub": "dan-1", "preferred_username": "dan", "groups": ["finance"]}"#,
    r#"{"sub": "alice-1", "preferred_username": "alice", "groups": ["cab"]}"#,
];

/// The `[oidc]` table of a server that logs in through `provider`.
pub fn oidc_config(provider: &Provider) -> String {
    format!(
        "[oidc]\nname = \"Mock SSO\"\nissuer = \"{}\"\nclient_id = \"patchctl\"\n\
         client_secret = \"not-a-secret\"\n[oidc.roles]\ncab = \"approver\"\nops = \"operator\"\n",
        provider.url
    )
}

/// Starts the provider; `None` (the test skipped) without `PATCHCTL_INTEGRATION`.
pub async fn provider() -> Option<Provider> {
    if std::env::var_os("PATCHCTL_INTEGRATION").is_none() {
        eprintln!("skipped: set PATCHCTL_INTEGRATION=1 (needs oidc-provider-mock)");
        return None;
    }
    let program = std::env::var_os("PATCHCTL_OIDC_PROVIDER").expect(
        "PATCHCTL_OIDC_PROVIDER names the oidc-provider-mock program: `python3 -m venv VENV && \
         VENV/bin/pip install 'oidc-provider-mock>=0.3,<0.4'`, then set it to \
         VENV/bin/oidc-provider-mock (`cargo xtask ci` does this in target/ci-venv)",
    );
    ops::notify::install_crypto_provider();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(&program);
    command.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--require-nonce", "true"]);
    for user in USERS {
        command.args(["--user-claims", user]);
    }
    let child = command
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {} (PATCHCTL_OIDC_PROVIDER): {e}", program.display()));
    let provider = Provider { child, url: format!("http://127.0.0.1:{port}") };
    let discovery = format!("{}/.well-known/openid-configuration", provider.url);
    let started = Instant::now();
    loop {
        if let Ok(response) = reqwest::get(&discovery).await
            && response.status() == StatusCode::OK
        {
            return Some(provider);
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the OIDC provider never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A client that does not follow redirects: the test follows them, looking at each.
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The cookie `name` a response sets, as `name=value`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .find(|pair| pair.starts_with(&format!("{name}=")))
}

fn location(response: &reqwest::Response) -> String {
    let location = response.headers().get(LOCATION).expect("a redirect");
    location.to_str().unwrap().to_owned()
}

/// A login started at the server: the provider's URL and the state cookie the server set.
async fn begin(http: &reqwest::Client, server: &Running) -> (String, String) {
    let response = http.get(format!("{}/login/oidc", server.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&response, "patchctl_oidc_state").expect("a state cookie");
    (location(&response), cookie)
}

/// Logs `sub` in at the provider (its form, as a person would submit it): the callback URL
/// the provider sends the browser back to.
async fn authorize(http: &reqwest::Client, authorize_url: &str, sub: &str) -> String {
    let form = http.get(authorize_url).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("Authorize"), "the provider's form");
    let answer = http
        .post(authorize_url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("sub", sub)]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND, "{:?}", answer.text().await);
    location(&answer)
}

async fn callback(http: &reqwest::Client, url: &str, cookie: &str) -> reqwest::Response {
    http.get(url).header(COOKIE, cookie).send().await.unwrap()
}

/// The whole login of `sub`: the callback's answer, and the callback URL.
async fn log_in(server: &Running, sub: &str) -> (reqwest::Response, String, String) {
    let http = client();
    let (authorize_url, cookie) = begin(&http, server).await;
    let back = authorize(&http, &authorize_url, sub).await;
    assert!(back.starts_with(&format!("{}/login/oidc/callback?", server.url)), "{back}");
    (callback(&http, &back, &cookie).await, back, cookie)
}

/// The session a successful callback set: the fleet overview with it, and who it says.
async fn session(server: &Running, response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    let session = set_cookie(&response, "patchctl_session").expect("a session cookie");
    let page = response.text().await.unwrap();
    assert!(page.contains("url=/"), "the page goes on to the fleet: {page}");
    let overview = client().get(format!("{}/", server.url)).header(COOKIE, &session);
    let overview = overview.send().await.unwrap();
    assert_eq!(overview.status(), StatusCode::OK);
    let overview = overview.text().await.unwrap();
    assert!(overview.contains("<h1>Fleet</h1>"), "{overview}");
    session.split_once('=').unwrap().1.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oidc_login_gives_the_role_of_the_users_groups_and_refuses_a_user_in_none() {
    let Some(provider) = provider().await else { return };
    let server = start(&oidc_config(&provider)).await;
    let login_page = client().get(format!("{}/login", server.url)).send().await.unwrap();
    let login_page = login_page.text().await.unwrap();
    assert!(login_page.contains("Log in with Mock SSO"), "{login_page}");

    let (carol, _, _) = log_in(&server, "carol-1").await;
    let secret = session(&server, carol).await;
    let identity = ops::identity::authenticate(&server.ctx, &secret).await.unwrap();
    assert_eq!((identity.user.as_str(), identity.role), ("carol", Role::Approver));
    // An OIDC user has no password to log in with.
    assert_eq!(server.post_login("carol", "").await.status(), 401);

    let (dan, _, _) = log_in(&server, "dan-1").await;
    assert_eq!(dan.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&dan, "patchctl_session").is_none());
    let page = dan.text().await.unwrap();
    assert!(
        page.contains("dan is in no group that has a role here (their groups: finance)"),
        "{page}"
    );

    // A local user's name is not taken over by the provider's user of that name.
    server.user("alice", Role::Viewer).await;
    let (alice, _, _) = log_in(&server, "alice-1").await;
    assert_eq!(alice.status(), StatusCode::FORBIDDEN);

    let events = ops::identity::events(&server.ctx).await.unwrap();
    let events: Vec<(&str, &str, &str)> =
        events.iter().map(|e| (e.actor.as_str(), e.kind.as_str(), e.subject.as_str())).collect();
    assert_eq!(events[0], ("carol", "user-created", "carol"), "{events:?}");
    assert_eq!((events[1].0, events[1].1), ("carol", "token-created"), "{events:?}");
    let refused = |who: &str| {
        events.iter().find(|(actor, kind, _)| *actor == who && *kind == "refused").map(|e| e.2)
    };
    assert!(refused("dan").unwrap().starts_with("OIDC login: dan is in no group"), "{events:?}");
    assert!(refused("alice").unwrap().contains("alice is a local user"), "{events:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_follows_the_groups_at_every_oidc_login() {
    let Some(provider) = provider().await else { return };
    let server = start(&oidc_config(&provider)).await;
    let (olga, _, _) = log_in(&server, "olga-1").await;
    let first = session(&server, olga).await;
    let identity = ops::identity::authenticate(&server.ctx, &first).await.unwrap();
    assert_eq!(identity.role, Role::Operator);
    // The provider moves olga to the change board.
    let claims = serde_json::json!({ "preferred_username": "olga", "groups": ["cab"] });
    let moved = client().put(format!("{}/users/olga-1", provider.url)).json(&claims);
    assert_eq!(moved.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let (olga, _, _) = log_in(&server, "olga-1").await;
    let second = session(&server, olga).await;
    let identity = ops::identity::authenticate(&server.ctx, &second).await.unwrap();
    assert_eq!(identity.role, Role::Approver);
    let events = ops::identity::events(&server.ctx).await.unwrap();
    let changed = events.iter().find(|e| e.kind == "role-changed").expect("a role change");
    assert_eq!((changed.actor.as_str(), changed.subject.as_str()), ("olga", "olga: approver"));
    // Moved back: at her next login the session still open from before loses the board's role
    // too, though its token was issued as an approver's.
    let claims = serde_json::json!({ "preferred_username": "olga", "groups": ["ops"] });
    let moved = client().put(format!("{}/users/olga-1", provider.url)).json(&claims);
    assert_eq!(moved.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let (olga, _, _) = log_in(&server, "olga-1").await;
    session(&server, olga).await;
    let identity = ops::identity::authenticate(&server.ctx, &second).await.unwrap();
    assert_eq!(identity.role, Role::Operator, "the older session, capped at her role now");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_forged_or_other_browsers_state_is_refused() {
    let Some(provider) = provider().await else { return };
    let server = start(&oidc_config(&provider)).await;
    let (carol, back, cookie) = log_in(&server, "carol-1").await;
    session(&server, carol).await;
    // The same answer again: its state was used.
    let replayed = callback(&client(), &back, &cookie).await;
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookie(&replayed, "patchctl_session").is_none());
    assert!(replayed.text().await.unwrap().contains("used already"));

    // A state the server never made, with a real code from the provider.
    let http = client();
    let (authorize_url, cookie) = begin(&http, &server).await;
    let back = authorize(&http, &authorize_url, "carol-1").await;
    let mut forged = url::Url::parse(&back).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .map(|(name, value)| if name == "state" { (name, "forged".into()) } else { (name, value) })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let forged = forged.to_string();
    assert!(forged.contains("state=forged") && forged.contains("code="), "{back}");
    let refused = callback(&http, &forged, "patchctl_oidc_state=forged").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookie(&refused, "patchctl_session").is_none());

    // A login started in the attacker's browser and completed in the victim's (login CSRF):
    // the victim's browser has no such state cookie.
    let victim = callback(&http, &back, "patchctl_oidc_state=victims-own").await;
    assert_eq!(victim.status(), StatusCode::BAD_REQUEST);
    assert!(victim.text().await.unwrap().contains("another browser"));
    // And that state is spent, even for its own browser.
    let spent = callback(&http, &back, &cookie).await;
    assert_eq!(spent.status(), StatusCode::BAD_REQUEST);
    server.stop().await.unwrap();
}

/// Without `[oidc]`, the login page has no link and the routes answer 404 (no provider needed).
#[tokio::test]
async fn without_oidc_the_login_page_has_no_link_and_the_routes_are_not_found() {
    let server = start("").await;
    let page = client().get(format!("{}/login", server.url)).send().await.unwrap();
    assert!(!page.text().await.unwrap().contains("/login/oidc"));
    for path in ["/login/oidc", "/login/oidc/callback?state=x&code=y"] {
        let response = client().get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    server.stop().await.unwrap();
}
