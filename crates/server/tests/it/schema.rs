//! The API fuzzed by schemathesis (from PyPI) against its own OpenAPI document, as an admin,
//! over a state database with plans, a change, a rollout with rollbacks, advisories and a
//! postmortem (the fixture `ops/test_data/state-18d7299.db`): no answer is a server error
//! (5xx), and every answer matches the document (status, content type, headers, body).
//!
//! Every check runs but `positive_data_acceptance`, which wants every request the schema allows
//! to succeed: a selector that names no group, or a token with a role above its user's, is
//! well-formed and still refused (400), which no schema can say.
//! Two operations are not fuzzed: `POST /api/logout`, which would end the token the run uses,
//! and `POST /api/rollouts`, which starts real work that the server then drives (tested in
//! `writes.rs`). `POST /api/assessments` is fuzzed: the fixture's hosts refuse connections at
//! once, so it reaches no network.
//! Runs when `PATCHCTL_SCHEMATHESIS` names the schemathesis program (`cargo xtask ci` installs
//! it in a venv and sets it).

use model::access::Role;

/// Ids the fixture has, so that the operations on one thing reach it (not only its 404).
const PARAMETERS: &str = "[parameters]\n\"path.rollout\" = \"00aa11bb22cc33dd\"\n\
                          \"path.cve\" = \"CVE-2026-0001\"\n\"path.host\" = \"rpm2\"\n\
                          \"path.plan\" = \"sha256:afdcd6c4563e\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_every_answer_matches_the_document() {
    let Some(schemathesis) = std::env::var_os("PATCHCTL_SCHEMATHESIS") else {
        eprintln!("skipped: set PATCHCTL_SCHEMATHESIS to the schemathesis program");
        return;
    };
    let server = crate::start_on_fixture(None).await;
    let ctx = &server.ctx;
    // Fuzzed logins would lock the admin out: the token is made here, not by a login.
    ops::identity::create_user(ctx, "setup", "root", Role::Admin).await.unwrap();
    let token = ops::identity::create_token(ctx, "setup", "root", Role::Admin, None).await.unwrap();
    let (dir, url) = (server.dir.path(), server.url.clone());
    let report = dir.join("schemathesis");
    let settings = dir.join("schemathesis.toml");
    std::fs::write(&settings, PARAMETERS).unwrap();
    let output = tokio::process::Command::new(&schemathesis)
        .arg("--config-file")
        .arg(&settings)
        .arg("run")
        .arg(format!("{url}/api/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {}", token.secret)])
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        .args(["--exclude-operation-id", "start", "--exclude-operation-id", "logout"])
        .args(["--max-examples", "25", "--workers", "1", "--seed", "1"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--request-timeout", "10", "--report", "junit", "--report-dir"])
        .arg(&report)
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("running schemathesis (PATCHCTL_SCHEMATHESIS)");
    server.stop().await.unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    let problems = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "schemathesis found problems:\n{said}\n{problems}");
}
