//! `dashboard_data DIR HOSTS`: a state for `cargo xtask bench dashboard`: an inventory of HOSTS
//! generated hosts in four environments, and each host's latest assessment in the store, cloned
//! from a real one (an RPM host of the fixture `ops/test_data/state-18d7299.db`, its packages
//! and pending updates) with a share of its updates dropped per host, so that some hosts are
//! compliant and others not; one host in a hundred has a failed attempt instead, one in a
//! hundred was never assessed. Writes `DIR/patchctl.toml`, `DIR/patchctl.db`, `DIR/server.toml`
//! (plain HTTP on a free loopback port) and `DIR/token` (an admin's API token).

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

use model::access::Role;
use store::{AssessmentOutcome, AssessmentRecord, Failure, HostRow, Store};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ops/test_data/state-18d7299.db");
const ENVIRONMENTS: [&str; 4] = ["dev", "staging", "production", "dr"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, hosts] = args.as_slice() else {
        anyhow::bail!("usage: dashboard_data DIR HOSTS");
    };
    let dir = PathBuf::from(dir);
    let n: usize = hosts.parse()?;
    std::fs::create_dir_all(&dir)?;

    // The template: the fixture's latest assessment of rpm2, read from a copy (opening migrates).
    let copy = dir.join("fixture.db");
    std::fs::copy(FIXTURE, &copy)?;
    let fixture = Store::open(&copy).await?;
    let template = fixture
        .assessments_of("rpm2")
        .await?
        .pop()
        .and_then(|stored| match stored.record.outcome {
            AssessmentOutcome::Assessed(assessment) => Some(*assessment),
            AssessmentOutcome::Failed(_) => None,
        })
        .ok_or_else(|| anyhow::anyhow!("the fixture has no assessment of rpm2"))?;
    fixture.close().await;
    std::fs::remove_file(&copy)?;

    let mut inventory = String::new();
    for i in 0..n {
        let environment = ENVIRONMENTS[i % ENVIRONMENTS.len()];
        let address = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        writeln!(
            inventory,
            "[hosts.h{i:06}]\naddress = \"{address}\"\nenvironment = \"{environment}\"\n"
        )?;
    }
    std::fs::write(dir.join("patchctl.toml"), inventory)?;

    let state = dir.join("patchctl.db");
    let _ = std::fs::remove_file(&state);
    let store = Store::open(&state).await?;
    let now = 1_800_000_000;
    for i in 0..n {
        let name = format!("h{i:06}");
        let row = HostRow {
            name: name.clone(),
            address: String::new(),
            environment: ENVIRONMENTS[i % ENVIRONMENTS.len()].to_owned(),
            package_manager: Some(template.package_manager),
            seen_at_unix: now,
        };
        store.upsert_host(&row).await?;
        let taken_at_unix = now - (i as i64 % 86_400);
        let outcome = match i % 100 {
            98 => continue,
            99 => AssessmentOutcome::Failed(Failure {
                kind: "timed_out".into(),
                message: "the host did not answer within 30 s".into(),
            }),
            _ => {
                let mut assessment = template.clone();
                assessment.host = name.clone();
                assessment.taken_at_unix = taken_at_unix;
                let keep = i % (assessment.updates.len() + 1);
                assessment.updates.truncate(keep);
                AssessmentOutcome::Assessed(Box::new(assessment))
            }
        };
        let record = AssessmentRecord { host: name, taken_at_unix, duration_ms: 900, outcome };
        store.record_assessment(&record).await?;
    }
    store.close().await;

    let sources = ops::Sources {
        config: dir.join("patchctl.toml"),
        state: Some(state),
        policy: None,
        no_policy: true,
        database_url: None,
    };
    let ctx = Arc::new(ops::Context::new(sources, ops::Clock::real(), "bench".into()));
    ops::identity::create_user(&ctx, "bench", "root", Role::Admin).await?;
    let token = ops::identity::create_token(&ctx, "bench", "root", Role::Admin, None).await?;
    std::fs::write(dir.join("token"), &token.secret)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    std::fs::write(
        dir.join("server.toml"),
        format!("listen = \"127.0.0.1:{port}\"\n[scheduler]\nenabled = false\n"),
    )?;
    println!("{n} hosts; the template has {} updates", template.updates.len());
    Ok(())
}
