//! The server on PostgreSQL (`database_url`), started from Debian's packages for the test: it
//! migrates the database, logs users in and serves the fleet; `/readyz` fails while the
//! database is down and answers again once it is back, with nothing lost.

use std::sync::Arc;

use model::access::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_on_postgresql_and_is_unready_while_it_is_down() {
    ops::notify::install_crypto_provider();
    let Some(postgres) = fleet::postgres::for_test() else { return };
    let url = postgres.create_database().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("patchctl.toml"), super::INVENTORY).unwrap();
    // The database is named in server.toml, as a deployment would.
    let sources = ops::Sources {
        config: dir.path().join("patchctl.toml"),
        state: None,
        policy: None,
        no_policy: true,
        database_url: None,
    };
    let cli = ops::Context::new(sources, ops::Clock::real(), "admin".into());
    let config = format!("database_url = \"{url}\"\n[scheduler]\nenabled = false\n");
    let served = server::context_for(&super::config(&config, dir.path()), &cli);
    assert!(!dir.path().join("patchctl.db").exists());
    let server = super::start_with(Arc::new(served), dir, &config).await;

    let password = server.user("alice", Role::Admin).await;
    let token = server.login("alice", &password).await;
    let get =
        |path: &str| server.http.get(format!("{}{path}", server.url)).bearer_auth(&token).send();
    let hosts: serde_json::Value = get("/api/hosts").await.unwrap().json().await.unwrap();
    assert_eq!(hosts[0]["name"], "deb1", "{hosts}");
    let page = get("/").await.unwrap().text().await.unwrap();
    assert!(page.contains("production"), "{page}");
    assert!(!server.dir.path().join("patchctl.db").exists(), "no SQLite file beside it");

    let ready = || async { get("/readyz").await.unwrap().status().as_u16() };
    assert_eq!(ready().await, 200);
    postgres.stop().unwrap();
    assert_eq!(ready().await, 503, "unready while PostgreSQL is down");
    postgres.restart().unwrap();
    let mut status = 0;
    for _ in 0..50 {
        status = ready().await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "ready again once PostgreSQL is back");
    // The user and the token survived the restart: they are in PostgreSQL, not in memory.
    let again = get("/api/hosts").await.unwrap();
    assert_eq!(again.status(), 200);
    server.stop().await.unwrap();
}
