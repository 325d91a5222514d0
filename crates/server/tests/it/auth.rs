//! Logins, lockout, tokens and the route table's rules.

use model::access::Role;
use server::routes::{Access, ROUTES};

use crate::start;

#[tokio::test]
async fn a_login_gives_a_token_that_authenticates_and_a_wrong_password_does_not() {
    let server = start("").await;
    let password = server.user("carol", Role::Viewer).await;
    let token = server.login("carol", &password).await;
    let hosts = server.http.get(format!("{}/api/hosts", server.url)).bearer_auth(&token);
    let hosts: serde_json::Value = hosts.send().await.unwrap().json().await.unwrap();
    assert_eq!(hosts[0]["name"], "deb1");
    assert_eq!(hosts[0]["environment"], "production");

    let wrong = server.post_login("carol", "not-it").await;
    assert_eq!(wrong.status(), 401);
    let unknown = server.post_login("nobody", &password).await;
    assert_eq!(unknown.status(), 401);
    let bad = server.http.get(format!("{}/api/hosts", server.url)).bearer_auth("pct_00");
    assert_eq!(bad.send().await.unwrap().status(), 401);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn after_n_failures_even_the_right_password_is_locked_out_and_it_is_on_record() {
    let server = start("[login]\nmax_failures = 3\nlockout_minutes = 5\n").await;
    let password = server.user("dave", Role::Operator).await;
    for _ in 0..2 {
        assert_eq!(server.post_login("dave", "guess").await.status(), 401);
    }
    // A success in between starts the count again.
    server.login("dave", &password).await;
    for _ in 0..3 {
        assert_eq!(server.post_login("dave", "guess").await.status(), 401);
    }
    let locked = server.post_login("dave", &password).await;
    assert_eq!(locked.status(), 429);
    let body: serde_json::Value = locked.json().await.unwrap();
    assert_eq!(body["code"], "locked-out");
    let events = ops::identity::events(&server.ctx).await.unwrap();
    let kinds: Vec<(&str, &str)> =
        events.iter().map(|e| (e.kind.as_str(), e.subject.as_str())).collect();
    assert!(kinds.contains(&("locked-out", "dave")), "{kinds:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused_and_tokens_are_stored_hashed() {
    let server = start("").await;
    server.user("erin", Role::Admin).await;
    let ctx = &server.ctx;
    let expired =
        ops::identity::create_token(ctx, "admin", "erin", Role::Viewer, Some(0)).await.unwrap();
    let revoked =
        ops::identity::create_token(ctx, "admin", "erin", Role::Viewer, None).await.unwrap();
    let live = ops::identity::create_token(ctx, "admin", "erin", Role::Viewer, None).await.unwrap();
    assert!(ops::identity::revoke_token(ctx, "admin", &revoked.id).await.unwrap());
    let call = |token: String| {
        let request = server.http.get(format!("{}/api/plans", server.url)).bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(call(expired.secret.clone()).await, 401);
    assert_eq!(call(revoked.secret.clone()).await, 401);
    assert_eq!(call(live.secret.clone()).await, 200);
    // A token's role is at most its user's.
    server.user("frank", Role::Viewer).await;
    let too_high = ops::identity::create_token(ctx, "admin", "frank", Role::Admin, None).await;
    assert!(too_high.is_err());

    let database = std::fs::read(server.dir.path().join("patchctl.db")).unwrap();
    let wal = std::fs::read(server.dir.path().join("patchctl.db-wal")).unwrap_or_default();
    for bytes in [&database, &wal] {
        let found = bytes.windows(live.secret.len()).any(|w| w == live.secret.as_bytes());
        assert!(!found, "the token itself is in the state database");
    }
    server.stop().await.unwrap();
}

/// Generated from the route table: a route added there is checked here.
#[tokio::test]
async fn every_route_but_the_public_ones_wants_credentials_and_a_viewer_changes_nothing() {
    let server = start("").await;
    let password = server.user("viewer", Role::Viewer).await;
    let token = server.login("viewer", &password).await;
    let public: Vec<&str> =
        ROUTES.iter().filter(|r| r.access == Access::Public).map(|r| r.path).collect();
    let oidc = ["/login/oidc", "/login/oidc/callback"];
    assert_eq!(public, ["/healthz", "/readyz", "/api/login", "/login", "/login", oidc[0], oidc[1]]);
    for route in ROUTES {
        // Every parameter (`{plan}`, `{id}`) given a value of the right shape.
        let path: Vec<&str> = route
            .path
            .split('/')
            .map(|part| if part.starts_with('{') { "sha256:0123456789ab" } else { part })
            .collect();
        let url = format!("{}{}", server.url, path.join("/"));
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
        let anonymous = server.http.request(method.clone(), &url).send().await.unwrap().status();
        match route.access {
            Access::Public => assert_ne!(anonymous, 401, "{} {}", route.method, route.path),
            Access::Needs(_) => assert_eq!(anonymous, 401, "{} {}", route.method, route.path),
        }
        if let Access::Needs(use_case) = route.access
            && use_case.own_credentials()
        {
            // The caller's own password or token, which every role may change (tested in
            // `writes.rs`); a logout here would end the viewer's token.
            assert!(route.mutating() && use_case.allowed(Role::Viewer), "{}", route.path);
            continue;
        }
        let as_viewer = server.http.request(method, &url).bearer_auth(&token);
        let as_viewer = as_viewer.send().await.unwrap().status();
        if route.access != Access::Public && route.mutating() {
            assert_eq!(as_viewer, 403, "{} {} as a viewer", route.method, route.path);
        } else if route.access != Access::Public {
            // Allowed: found (200), or, for a made-up id, not found (404) or not an id (400).
            let expected: &[u16] = if route.path.contains('{') { &[400, 404] } else { &[200] };
            let what = format!("{} {} as a viewer: {as_viewer}", route.method, route.path);
            assert!(expected.contains(&as_viewer.as_u16()), "{what}");
        }
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_admin_creates_users_and_tokens_and_revokes_them_on_the_record() {
    let server = start("").await;
    let password = server.user("root", Role::Admin).await;
    let admin = server.login("root", &password).await;
    let post = |path: &str, body: serde_json::Value| {
        let request = server.http.post(format!("{}{path}", server.url)).bearer_auth(&admin);
        async move { request.json(&body).send().await.unwrap() }
    };
    let created = post("/api/users", serde_json::json!({ "name": "ivan", "role": "operator" }));
    let created = created.await;
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    let ivan = server.login("ivan", created["one_time_password"].as_str().unwrap()).await;
    let plans = server.http.get(format!("{}/api/plans", server.url)).bearer_auth(&ivan);
    assert_eq!(plans.send().await.unwrap().status(), 200);

    let too_high = post("/api/tokens", serde_json::json!({ "user": "ivan", "role": "admin" }));
    assert_eq!(too_high.await.status(), 400);
    let token = post("/api/tokens", serde_json::json!({ "user": "ivan", "role": "viewer" }));
    let token: serde_json::Value = token.await.json().await.unwrap();
    let (secret, id) = (token["token"].as_str().unwrap(), token["id"].as_str().unwrap());
    let hosts = || server.http.get(format!("{}/api/hosts", server.url)).bearer_auth(secret);
    assert_eq!(hosts().send().await.unwrap().status(), 200);
    let revoke = server.http.delete(format!("{}/api/tokens/{id}", server.url)).bearer_auth(&admin);
    assert_eq!(revoke.send().await.unwrap().status(), 204);
    assert_eq!(hosts().send().await.unwrap().status(), 401);
    // An operator manages no one.
    let by_operator = server.http.post(format!("{}/api/users", server.url)).bearer_auth(&ivan);
    let by_operator = by_operator.json(&serde_json::json!({ "name": "x", "role": "viewer" }));
    assert_eq!(by_operator.send().await.unwrap().status(), 403);

    let events = ops::identity::events(&server.ctx).await.unwrap();
    let by_root: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.actor == "root")
        .map(|e| (e.kind.as_str(), e.subject.as_str()))
        .collect();
    // The first is root's own login.
    assert_eq!(by_root[0].0, "token-created");
    assert_eq!(
        by_root[1..],
        [("user-created", "ivan"), ("token-created", id), ("token-revoked", id)]
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn failed_logins_from_one_address_are_rate_limited_whatever_the_user() {
    let server = start("[login]\nfailures_per_minute = 3\n").await;
    let password = server.user("judy", Role::Viewer).await;
    for user in ["mallory", "oscar", "judy"] {
        assert_eq!(server.post_login(user, "guess").await.status(), 401, "{user}");
    }
    let limited = server.post_login("judy", &password).await;
    assert_eq!(limited.status(), 429);
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "rate-limited");
    // judy herself is not locked out: one failure of five.
    let judy = ops::identity::events(&server.ctx).await.unwrap();
    assert!(!judy.iter().any(|e| e.kind == "locked-out"));
    server.stop().await.unwrap();
}

/// The OpenAPI document describes every route of the table, and nothing else; every route
/// but the public ones names the bearer scheme.
#[tokio::test]
async fn the_openapi_document_is_the_route_table() {
    let document = serde_json::to_value(server::openapi::document()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let mut described = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            described.push((method.to_uppercase(), path.clone()));
            let secured = operation.get("security").is_some();
            let public = ROUTES.iter().any(|r| r.path == path && r.access == Access::Public);
            assert_eq!(secured, !public, "{method} {path}: security");
            assert!(operation["responses"].get("default").is_some(), "{method} {path}");
        }
    }
    described.sort();
    let mut table: Vec<(String, String)> = ROUTES
        .iter()
        .filter(|r| !r.is_page())
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    table.sort();
    assert_eq!(described, table);
}

/// The API explorer: a page for whoever is logged in, naming every operation of the document,
/// with its stylesheet from the binary under a Content-Security-Policy that allows nothing else.
#[tokio::test]
async fn the_api_explorer_lists_every_operation_for_a_login_and_refuses_without_one() {
    let server = start("").await;
    let password = server.user("reader", Role::Viewer).await;
    let token = server.login("reader", &password).await;
    let get = |path: &str| server.http.get(format!("{}{path}", server.url));
    assert_eq!(get("/api/docs").send().await.unwrap().status(), 401);
    assert_eq!(get("/api/docs/explorer.css").send().await.unwrap().status(), 401);

    let page = get("/api/docs").bearer_auth(&token).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.starts_with("default-src 'none'; style-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    for route in ROUTES.iter().filter(|r| !r.is_page()) {
        let anchor: String =
            route.path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let id = format!("id=\"{}-{anchor}\"", route.method.to_lowercase());
        assert!(html.contains(&id), "{} {} is not on the page", route.method, route.path);
    }
    assert!(html.contains("id=\"schema-NewPlanV1\""), "the schemas are not on the page");
    assert!(!html.contains("<script"), "the page has a script");
    let start = html.find("href=\"/api/docs/explorer.css").unwrap() + "href=\"".len();
    let stylesheet = &html[start..start + html[start..].find('"').unwrap()];
    let css = get(stylesheet).bearer_auth(&token).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let cache = css.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.contains("max-age=31536000"), "{cache}");
    assert!(css.text().await.unwrap().contains("--accent"));
    server.stop().await.unwrap();
}
