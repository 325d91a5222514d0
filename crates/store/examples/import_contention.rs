//! How long a rollout's journal writes wait while a large advisory import runs, on a real
//! SQLite file: two pools on one file stand for two patchctl processes. One imports N generated
//! advisories (`ADVISORIES`, 100,000 by default) in the store's batches; the other appends a
//! journal entry under a lease every 20 ms, as a driver does, and times each append. Prints the
//! import's time and the appends' latencies (median, p99, max). `cargo xtask bench
//! import-contention` runs it in release mode.

use std::time::{Duration, Instant};

use model::advisory::{Advisory, AdvisoryFormat, AffectedPackage, AffectedRange, Ecosystem};
use model::{Classification, Severity};
use store::{Claim, NewAdvisory, NewJournalEntry, NewRollout, Store};

fn advisory(n: usize) -> Advisory {
    Advisory {
        id: format!("RLSA-2026:{n:06}"),
        format: AdvisoryFormat::Osv,
        kind: Classification::Security,
        summary: format!("generated advisory {n}"),
        cves: vec![format!("CVE-2026-{n:06}")],
        aliases: Vec::new(),
        distribution_severity: Some(Severity::Important),
        cvss: Vec::new(),
        published: Some("2026-01-10T00:00:00Z".to_owned()),
        modified: None,
        affected: vec![AffectedPackage {
            ecosystem: Ecosystem::parse("Rocky Linux:9").expect("a known ecosystem"),
            package: format!("package{}", n % 5000),
            binaries: Vec::new(),
            ranges: vec![AffectedRange {
                introduced: None,
                fixed: Some(format!("1.{}-1.el9", n % 100)),
                last_affected: None,
            }],
        }],
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("ADVISORIES").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state.db");
    let importer = Store::open(&path).await?;
    let driver = Store::open(&path).await?;
    let plan = format!("sha256:{}", "ab".repeat(32));
    driver.save_plan(&plan, 1, "{}").await?;
    driver
        .create_rollout(&NewRollout {
            id: "0123456789abcdef".into(),
            plan_id: plan,
            created_at_unix: 1,
            config_json: "{}".into(),
            hosts: Vec::new(),
            again: false,
            first_entries: Vec::new(),
        })
        .await?;
    let Claim::Claimed(lease) = driver.claim_rollout("0123456789abcdef", "bench", 1, 3600).await?
    else {
        return Err("not claimed".into());
    };
    let advisories: Vec<Advisory> = (0..n).map(advisory).collect();
    let writer = tokio::spawn(async move {
        let mut waits = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(600);
        while !STOP.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
            let entry = NewJournalEntry {
                at_ms: 0,
                kind: "event".into(),
                host: Some("deb1".into()),
                body_json: "{}".into(),
            };
            let started = Instant::now();
            driver.append_journal(&lease, &[entry], None).await.expect("append");
            waits.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        waits
    });
    let started = Instant::now();
    let new: Vec<NewAdvisory> = advisories
        .iter()
        .map(|advisory| NewAdvisory { advisory, source_file: "generated.json" })
        .collect();
    let counts = importer.import_advisories(&new, 1).await?;
    let import = started.elapsed();
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut waits = writer.await?;
    waits.sort();
    let at = |q: f64| waits[((waits.len() - 1) as f64 * q) as usize];
    println!(
        "import of {n} advisories: {:.2} s ({} inserted); {} journal appends meanwhile: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        import.as_secs_f64(),
        counts.inserted,
        waits.len(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        waits.last().map_or(0.0, |w| w.as_secs_f64() * 1000.0),
    );
    Ok(())
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
