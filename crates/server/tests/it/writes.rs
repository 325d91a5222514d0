//! The API's state-changing use cases over a copy of the fixture database
//! (`ops/test_data/state-18d7299.db`: three assessed rpm hosts, plans, a rollout, postmortems):
//! each does its job and puts the logged-in user on the record, never a name from the body.
//! The hosts' address refuses connections at once, so what reaches them fails fast.

use std::time::Duration;

use model::access::Role;
use serde_json::{Value, json};

/// Staging changes need one approver of role `cab`, which bob holds.
const POLICY: &str = "[[environments]]\nname = \"staging\"\nschedule = \"0 22 * * *\"\n\
                      timezone = \"UTC\"\nwindow = \"2h\"\n\
                      approval = { approvers = 1, role = \"cab\" }\n\
                      [roles]\ncab = [\"bob\"]\n";

/// A server over a copy of the fixture, with an operator (olga), an approver (bob) and a
/// viewer (vic), logged in.
struct Fixture {
    server: crate::Running,
    olga: String,
    bob: String,
    vic: (String, String),
}

async fn fixture() -> Fixture {
    let server = crate::start_on_fixture(Some(POLICY)).await;
    let olga = server.user("olga", Role::Operator).await;
    let bob = server.user("bob", Role::Approver).await;
    let vic = server.user("vic", Role::Viewer).await;
    let olga = server.login("olga", &olga).await;
    let bob = server.login("bob", &bob).await;
    let vic_token = server.login("vic", &vic).await;
    Fixture { server, olga, bob, vic: (vic_token, vic) }
}

impl Fixture {
    async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let request = self.server.http.post(format!("{}{path}", self.server.url));
        let response = request.bearer_auth(token).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Olga plans every host: the plan's id.
    async fn plan(&self) -> String {
        let (status, created) =
            self.post(&self.olga, "/api/plans", json!({ "selectors": ["all"] })).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// Olga asks for `plan`'s change, bob approves it.
    async fn request_and_approve(&self, plan: &str) {
        let (status, _) =
            self.post(&self.olga, &format!("/api/changes/{plan}/request"), json!(null)).await;
        assert_eq!(status, 200);
        let (status, _) =
            self.post(&self.bob, &format!("/api/changes/{plan}/approve"), json!(null)).await;
        assert_eq!(status, 200);
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let request = self.server.http.get(format!("{}{path}", self.server.url));
        let response = request.bearer_auth(token).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn an_operator_plans_an_approver_approves_and_the_operator_starts_it_on_the_record() {
    let f = fixture().await;
    // A name in the body is no way to act as someone else: the form has no such member.
    let (status, refused) =
        f.post(&f.olga, "/api/plans", json!({ "selectors": ["all"], "actor": "bob" })).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("invalid")), "{refused}");
    let (status, created) = f.post(&f.olga, "/api/plans", json!({ "selectors": ["all"] })).await;
    assert_eq!(status, 201, "{created}");
    let plan = created["id"].as_str().unwrap().to_owned();
    let hosts: Vec<&str> =
        created["hosts"].as_array().unwrap().iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["rpm1", "rpm2", "rpm3"], "{created}");
    let (_, plans) = f.get(&f.vic.0, "/api/plans").await;
    assert!(plans.as_array().unwrap().iter().any(|p| p["id"] == plan.as_str()), "{plans}");
    let (status, _) = f.post(&f.olga, "/api/plans", json!({ "selectors": ["nowhere"] })).await;
    assert_eq!(status, 400);

    // Not approved: the start is refused, and nothing is driven.
    let start = json!({ "plan": plan, "override_window": "test" });
    let (status, refused) = f.post(&f.olga, "/api/rollouts", start.clone()).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("refused")), "{refused}");

    f.request_and_approve(&plan).await;
    let (status, schedule) = f.get(&f.vic.0, "/api/schedule").await;
    assert_eq!(status, 200, "{schedule}");
    assert_eq!(schedule["environments"][0]["environment"], "staging", "{schedule}");
    assert_eq!(schedule["environments"][0]["runs"]["runs"], "plan", "{schedule}");
    assert_eq!(schedule["environments"][0]["runs"]["plan"], plan.as_str(), "{schedule}");
    let (status, changes) = f.get(&f.vic.0, "/api/changes").await;
    assert_eq!(status, 200, "{changes}");
    let listed = changes.as_array().unwrap().iter().find(|c| c["plan"] == plan.as_str());
    assert_eq!(listed.unwrap()["state"], "approved", "{changes}");

    let (status, started) = f.post(&f.olga, "/api/rollouts", start).await;
    assert_eq!(status, 202, "{started}");
    let rollout = started["rollout"].as_str().unwrap().to_owned();
    let loaded = ops::rollout::status(&f.server.ctx, &rollout).await.unwrap();
    assert_eq!(loaded.start.unwrap().actor, "olga");
    // The server drives it: it holds the rollout's lease, so a pause is asked of it.
    let (status, _) = f.get(&f.vic.0, &format!("/api/rollouts/{rollout}")).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, paused) =
        f.post(&f.olga, &format!("/api/rollouts/{rollout}/pause"), json!(null)).await;
    assert_eq!(status, 200, "{paused}");
    assert!(paused["said"].as_str().unwrap().contains("drives rollout"), "{paused}");
    // Its hosts refuse connections, and a step sees the unreachable grace (2 minutes) out
    // before the pause is taken: the server is not waited for here.
    f.server.task.abort();
}

/// What people asked of `rollout` that it took, as its journal names them, once there are `n`.
async fn asked(ctx: &ops::Context, rollout: &str, n: usize) -> Vec<(ops::rollout::Input, String)> {
    for _ in 0..100 {
        let asked = ops::rollout::status(ctx, rollout).await.unwrap().asked;
        if asked.len() >= n {
            return asked.into_iter().map(|a| (a.input, a.actor)).collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("rollout {rollout}: fewer than {n} inputs asked by someone after 10 s");
}

#[tokio::test]
async fn pause_resume_and_cancel_are_journaled_as_the_logged_in_caller_whatever_the_body_says() {
    use ops::rollout::Input;
    let f = fixture().await;
    let otto = f.server.user("otto", Role::Operator).await;
    let otto = f.server.login("otto", &otto).await;
    let plan = f.plan().await;
    f.request_and_approve(&plan).await;
    // Started, then left running with nobody holding it, as a driver that died leaves it.
    let start = ops::rollout::StartRequest {
        plan,
        again: None,
        override_window: Some("test".into()),
        run: Default::default(),
        actor: Some("olga".into()),
    };
    let rollout = ops::rollout::begin(&f.server.ctx, &start).await.unwrap();
    ops::rollout::ask(&f.server.ctx, &rollout, Input::Start, "olga").await.unwrap();
    let path = |what: &str| format!("/api/rollouts/{rollout}/{what}");

    // Nobody drives it: the server takes the pause itself. A name in the body is not who asked.
    let (status, paused) = f.post(&f.olga, &path("pause"), json!({ "actor": "bob" })).await;
    assert_eq!(status, 200, "{paused}");
    assert!(paused["said"].as_str().unwrap().ends_with("is paused"), "{paused}");
    // The server drives it from the resume on, and takes the cancel from its journal.
    let (status, resumed) = f.post(&otto, &path("resume"), json!({ "actor": "bob" })).await;
    assert_eq!(status, 202, "{resumed}");
    asked(&f.server.ctx, &rollout, 3).await;
    // Driven now: a second resume is refused, not a second drive waiting on the lease.
    let (status, again) = f.post(&otto, &path("resume"), json!({})).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("driven")), "{again}");
    let (status, cancelled) = f.post(&f.olga, &path("cancel"), json!({ "actor": "bob" })).await;
    assert_eq!(status, 200, "{cancelled}");
    assert!(cancelled["said"].as_str().unwrap().contains("drives rollout"), "{cancelled}");
    let asked = asked(&f.server.ctx, &rollout, 4).await;
    let asked: Vec<(Input, &str)> = asked.iter().map(|(i, a)| (i.clone(), a.as_str())).collect();
    assert_eq!(
        asked,
        [
            (Input::Start, "olga"),
            (Input::Pause, "olga"),
            (Input::Resume, "otto"),
            (Input::Cancel, "olga")
        ]
    );

    // The report names them too, and never bob (who approved the change, and asked nothing).
    let (status, report) = f.get(&f.vic.0, &path("report")).await;
    assert_eq!(status, 200, "{report}");
    let lines: Vec<&str> = report["summary"]["asked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let heads: Vec<&str> = lines.iter().map(|l| l.split(" at ").next().unwrap()).collect();
    assert_eq!(heads, ["start by olga", "paused by olga", "resumed by otto", "cancelled by olga"]);
    assert!(!lines.iter().any(|l| l.contains("bob")), "{report}");
    // And so does the live page's stream, in its lines.
    let (_, live) = ops::rollout::follow(&f.server.ctx, &rollout).await.unwrap();
    let said: Vec<&str> = live.lines.iter().map(|l| l.text.as_str()).collect();
    for line in ["paused by olga", "resumed by otto"] {
        assert!(said.contains(&line), "{said:?}");
    }
    // The hosts refuse connections, and a step sees the unreachable grace (2 minutes) out
    // before the cancel ends the rollout: the server is not waited for here.
    f.server.task.abort();
}

#[tokio::test]
async fn an_assessment_through_the_api_records_each_host_and_says_why_one_failed() {
    let f = fixture().await;
    let (status, before) = f.get(&f.vic.0, "/api/hosts/rpm1/history").await;
    assert_eq!(status, 200);
    let (status, assessed) =
        f.post(&f.olga, "/api/assessments", json!({ "selectors": ["rpm1", "rpm2"] })).await;
    assert_eq!(status, 200, "{assessed}");
    assert_eq!(assessed["assessments"], json!([]), "{assessed}");
    let failed: Vec<(&str, &str)> = assessed["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["host"].as_str().unwrap(), f["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(failed, [("rpm1", "refused"), ("rpm2", "refused")], "{assessed}");
    let (_, after) = f.get(&f.vic.0, "/api/hosts/rpm1/history").await;
    assert_eq!(after.as_array().unwrap().len(), before.as_array().unwrap().len() + 1, "{after}");
    let (status, _) = f.post(&f.olga, "/api/assessments", json!({ "selectors": ["x"] })).await;
    assert_eq!(status, 400);
    f.server.stop().await.unwrap();
}

#[tokio::test]
async fn postmortems_are_opened_and_closed_by_the_logged_in_user() {
    let f = fixture().await;
    let body = json!({ "title": "the mirror served a broken kernel", "hosts": ["rpm1"] });
    let (status, opened) = f.post(&f.olga, "/api/postmortems", body.clone()).await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["opened_by"], "olga");
    assert_eq!(opened["status"], "open");
    let (status, again) = f.post(&f.olga, "/api/postmortems", body).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("exists")), "{again}");

    let id = opened["id"].as_i64().unwrap();
    let close = json!({ "root_cause": "an unsigned mirror", "actions": ["pin the mirror's key"] });
    let path = format!("/api/postmortems/{id}/close");
    let (status, closed) = f.post(&f.bob, &path, close.clone()).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(
        (closed["closed_by"].as_str(), closed["status"].as_str()),
        (Some("bob"), Some("closed"))
    );
    let (_, shown) = f.get(&f.vic.0, &format!("/api/postmortems/{id}")).await;
    let actors: Vec<&str> =
        shown["record"].as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!(actors, ["olga", "bob"], "{shown}");
    let (status, twice) = f.post(&f.bob, &path, close.clone()).await;
    assert_eq!((status, twice["code"].as_str()), (409, Some("closed")), "{twice}");
    let (status, _) = f.post(&f.bob, "/api/postmortems/9999/close", close).await;
    assert_eq!(status, 404);
    f.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_viewer_changes_their_own_password_with_the_old_one_and_logs_out() {
    let f = fixture().await;
    let (vic, old) = &f.vic;
    let path = "/api/users/me/password";
    let new = "a long new passphrase";
    let (status, wrong) =
        f.post(vic, path, json!({ "old_password": "guess", "new_password": new })).await;
    assert_eq!((status, wrong["code"].as_str()), (403, Some("wrong-password")), "{wrong}");
    let (status, _) =
        f.post(vic, path, json!({ "old_password": old, "new_password": "short" })).await;
    assert_eq!(status, 400);
    let (status, _) = f.post(vic, path, json!({ "old_password": old, "new_password": new })).await;
    assert_eq!(status, 204);
    assert_eq!(f.server.post_login("vic", old).await.status(), 401);
    let fresh = f.server.login("vic", new).await;

    let (status, _) = f.post(&fresh, "/api/logout", json!(null)).await;
    assert_eq!(status, 204);
    assert_eq!(f.get(&fresh, "/api/hosts").await.0, 401);
    // The other token is still good: a logout ends the one it was sent with.
    assert_eq!(f.get(vic, "/api/hosts").await.0, 200);
    let events = ops::identity::events(&f.server.ctx).await.unwrap();
    let by_vic: Vec<&str> =
        events.iter().filter(|e| e.actor == "vic").map(|e| e.kind.as_str()).collect();
    assert_eq!(by_vic, ["token-created", "password-changed", "token-created", "token-revoked"]);
    f.server.stop().await.unwrap();
}

#[tokio::test]
async fn the_dashboards_logout_wants_the_form_token_revokes_the_session_and_clears_its_cookie() {
    let f = fixture().await;
    let password = f.server.user("wendy", Role::Viewer).await;
    let secret = f.server.login("wendy", &password).await;
    let cookie = format!("{}={secret}", server::routes::SESSION_COOKIE);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build();
    let client = client.unwrap();
    let logout = || client.post(format!("{}/logout", f.server.url)).header("cookie", &cookie);
    let forged = logout().send().await.unwrap();
    assert_eq!(forged.status(), 403);
    let csrf = ops::identity::csrf_token(&secret);
    let form = logout().header("content-type", "application/x-www-form-urlencoded");
    let out = form.body(format!("csrf={csrf}")).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()["location"], "/login");
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with(&format!("{}=;", server::routes::SESSION_COOKIE)), "{cleared}");
    assert!(cleared.contains("Max-Age=0") && cleared.contains("HttpOnly"), "{cleared}");
    let page = client.get(&f.server.url).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 401);
    f.server.stop().await.unwrap();
}
