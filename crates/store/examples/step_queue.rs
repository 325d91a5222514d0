//! The host-step queue under load (issue 22), on a PostgreSQL server started for the run
//! (`fleet::postgres::PgServer`) and, for comparison, on an SQLite file. `cargo xtask bench
//! steps` runs it in release mode; arguments:
//!
//! - `throughput`: 20,000 queued steps over 20 rollouts, drained by 1, 2 and 4 workers (each
//!   its own `Store`, as processes would be) that claim 1, or 10, at a time and complete each;
//!   steps per second, on both databases.
//! - `takeover`: a worker claims 10 steps with a 2 s lease and vanishes; how long until
//!   another, polling every 100 ms, has completed all of them. Five rounds.
//! - `xmin SECONDS`: a session holds a REPEATABLE READ transaction open (its snapshot holds
//!   back the xmin horizon, so VACUUM removes no row version dead since) while 2 workers run
//!   enqueue 10, claim up to 10, complete, for SECONDS (600 by default); the steps completed
//!   per interval (a minute, or a quarter of a shorter run) with the table's dead tuples, and
//!   the loss of the last interval against the first.
//! - `steady SECONDS`: the same loop without the transaction, for comparison.
//!
//! No argument runs all three, the xmin case for 600 s.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fleet::postgres::PgServer;
use sqlx::Connection;
use store::{Claim, Lease, NewHostStep, NewRollout, StepClaim, StepScope, Store};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Steps in the throughput runs' queue, over `ROLLOUTS` rollouts.
const STEPS: i64 = 20_000;
const ROLLOUTS: i64 = 20;

/// A database to open, again and again, as each worker (a process) would.
#[derive(Debug, Clone)]
enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Db {
    async fn open(&self) -> Result<Store, Error> {
        Ok(match self {
            Db::Sqlite(path) => Store::open(path).await?,
            Db::Postgres(url) => Store::open_url(url).await?,
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server =
        tokio::task::spawn_blocking(PgServer::start).await?.map_err(|e| format!("{e:#}"))?;
    let fresh_postgres = || server.create_database().map_err(|e| format!("{e:#}"));
    let (run_throughput, run_takeover, xmin_seconds, hold) = match args.as_slice() {
        [] => (true, true, Some(600), true),
        ["throughput"] => (true, false, None, true),
        ["takeover"] => (false, true, None, true),
        ["xmin"] => (false, false, Some(600), true),
        ["xmin", seconds] => (false, false, Some(seconds.parse()?), true),
        ["steady", seconds] => (false, false, Some(seconds.parse()?), false),
        _ => {
            return Err(
                "usage: step_queue [throughput | takeover | xmin [SECONDS] | steady SECONDS]"
                    .into(),
            );
        }
    };
    if run_throughput {
        println!("## claim/complete throughput, {STEPS} queued steps over {ROLLOUTS} rollouts");
        println!("| database | workers | claim batch | seconds | steps/s |");
        println!("|---|---|---|---|---|");
        for batch in [1, 10] {
            for workers in [1, 2, 4] {
                let postgres = Db::Postgres(fresh_postgres()?);
                throughput(&postgres, workers, batch).await?;
                let dir = tempfile::tempdir()?;
                let sqlite = Db::Sqlite(dir.path().join("state.db"));
                throughput(&sqlite, workers, batch).await?;
            }
        }
    }
    if run_takeover {
        println!("## lease take-over: 10 steps claimed for 2 s by a worker that vanishes");
        let mut times = Vec::new();
        for round in 1..=5 {
            let took = takeover(&Db::Postgres(fresh_postgres()?)).await?;
            println!("round {round}: all 10 completed by the next worker after {took:.2} s");
            times.push(took);
        }
        times.sort_by(f64::total_cmp);
        println!("median {:.2} s, min {:.2} s, max {:.2} s", times[2], times[0], times[4]);
    }
    if let Some(seconds) = xmin_seconds {
        xmin(&fresh_postgres()?, seconds, hold).await?;
    }
    Ok(())
}

/// Creates `n` rollouts of one plan, claims their leases for an hour and enqueues `per`
/// steps in each; returns the leases.
async fn fill(store: &Store, n: i64, per: i64) -> Result<Vec<Lease>, Error> {
    let plan = format!("sha256:{}", "ab".repeat(32));
    store.save_plan(&plan, 1, "{}").await?;
    let mut leases = Vec::new();
    for r in 0..n {
        let id = format!("{:016x}", r + 1);
        store
            .create_rollout(&NewRollout {
                id: id.clone(),
                plan_id: plan.clone(),
                created_at_unix: 1,
                config_json: "{}".into(),
                hosts: Vec::new(),
                again: true,
                first_entries: Vec::new(),
            })
            .await?;
        let Claim::Claimed(lease) = store.claim_rollout(&id, "bench", now_unix(), 3600).await?
        else {
            return Err("the rollout's lease is held".into());
        };
        for chunk in (0..per).collect::<Vec<_>>().chunks(500) {
            store.enqueue_steps(&lease, &steps(chunk), now_unix()).await?;
        }
        leases.push(lease);
    }
    Ok(leases)
}

fn steps(tokens: &[i64]) -> Vec<NewHostStep> {
    tokens
        .iter()
        .map(|&token| NewHostStep {
            token,
            host: format!("host{:05}", token % 10_000),
            step: "apply".into(),
            resume: false,
        })
        .collect()
}

fn claim(owner: &str, limit: i64, lease_seconds: u32) -> StepClaim {
    StepClaim { owner: owner.into(), limit, scope: StepScope::Any, lease_seconds }
}

/// Drains the queue with `workers` workers claiming `batch` at a time; prints a table row.
async fn throughput(db: &Db, workers: usize, batch: i64) -> Result<(), Error> {
    let store = db.open().await?;
    fill(&store, ROLLOUTS, STEPS / ROLLOUTS).await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let db = db.clone();
        tasks.spawn(async move {
            let store = db.open().await?;
            let owner = format!("worker{w}");
            let mut done = 0_u64;
            loop {
                let claimed = store.claim_steps(&claim(&owner, batch, 60), now_unix()).await?;
                if claimed.is_empty() {
                    break;
                }
                for step in &claimed {
                    store.complete_step(&step.lease, now_unix(), r#"{"ok":true}"#).await?;
                    done += 1;
                }
            }
            store.close().await;
            Ok::<u64, Error>(done)
        });
    }
    let mut done = 0;
    while let Some(worker) = tasks.join_next().await {
        done += worker??;
    }
    let seconds = started.elapsed().as_secs_f64();
    if done != STEPS as u64 {
        return Err(format!("{done} steps completed of {STEPS}").into());
    }
    let mut unfinished = 0;
    for r in 0..ROLLOUTS {
        unfinished += store.unfinished_steps(&format!("{:016x}", r + 1)).await?.len();
    }
    if unfinished != 0 {
        return Err(format!("{unfinished} steps left unfinished").into());
    }
    store.close().await;
    println!(
        "| {} | {workers} | {batch} | {seconds:.1} | {:.0} |",
        db.name(),
        done as f64 / seconds
    );
    Ok(())
}

/// One round of a take-over: seconds from the vanished worker's claim until the next worker
/// has completed every step it held.
async fn takeover(db: &Db) -> Result<f64, Error> {
    let store = db.open().await?;
    fill(&store, 1, 10).await?;
    let vanishing = db.open().await?;
    let claimed_at = Instant::now();
    let held = vanishing.claim_steps(&claim("vanishing", 10, 2), now_unix()).await?;
    if held.len() != 10 {
        return Err(format!("claimed {} steps of 10", held.len()).into());
    }
    vanishing.close().await;
    let mut done = 0;
    while done < 10 {
        for step in store.claim_steps(&claim("next", 10, 30), now_unix()).await? {
            if !step.retaken {
                return Err(format!("step {} not marked retaken", step.lease.token).into());
            }
            store.complete_step(&step.lease, now_unix(), "{}").await?;
            done += 1;
        }
        if done < 10 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let took = claimed_at.elapsed().as_secs_f64();
    store.close().await;
    Ok(took)
}

/// The steady loop, under a transaction that holds back the xmin horizon when `hold`.
async fn xmin(url: &str, seconds: u64, hold: bool) -> Result<(), Error> {
    const WORKERS: usize = 2;
    let db = Db::Postgres(url.to_owned());
    let store = db.open().await?;
    let leases = fill(&store, WORKERS as i64, 0).await?;

    let mut holder = sqlx::PgConnection::connect(url).await?;
    let mut txid: i64 = 0;
    if hold {
        sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ").execute(&mut holder).await?;
        txid = sqlx::query_scalar("SELECT txid_current()").fetch_one(&mut holder).await?;
        sqlx::raw_sql("SELECT 1 FROM host_steps LIMIT 1").execute(&mut holder).await?;
    }
    let mut watcher = sqlx::PgConnection::connect(url).await?;

    let completed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for (w, lease) in leases.into_iter().enumerate() {
        let (db, completed, stop) = (db.clone(), completed.clone(), stop.clone());
        tasks.spawn(async move {
            let store = db.open().await?;
            let owner = format!("worker{w}");
            let mut next_token = 0;
            while !stop.load(Ordering::Relaxed) {
                let tokens: Vec<i64> = (next_token..next_token + 10).collect();
                next_token += 10;
                store.enqueue_steps(&lease, &steps(&tokens), now_unix()).await?;
                for step in store.claim_steps(&claim(&owner, 10, 60), now_unix()).await? {
                    store.complete_step(&step.lease, now_unix(), r#"{"ok":true}"#).await?;
                    completed.fetch_add(1, Ordering::Relaxed);
                }
            }
            store.close().await;
            Ok::<(), Error>(())
        });
    }

    let interval = if seconds >= 120 { 60 } else { (seconds / 4).max(1) };
    let held = if hold { format!("held by transaction {txid}") } else { "not held".into() };
    println!(
        "## xmin horizon {held} for {seconds} s; {WORKERS} workers: enqueue 10, claim up to \
         10, complete each"
    );
    println!(
        "| interval | until s | steps completed | steps/s | n_dead_tup | n_live_tup | load average |"
    );
    println!("|---|---|---|---|---|---|---|");
    let started = Instant::now();
    let mut rates = Vec::new();
    let mut before = 0;
    for n in 1..=seconds / interval {
        tokio::time::sleep_until((started + Duration::from_secs(n * interval)).into()).await;
        let count = completed.load(Ordering::Relaxed);
        let (dead, live): (i64, i64) = sqlx::query_as(
            "SELECT n_dead_tup, n_live_tup FROM pg_stat_user_tables WHERE relname = 'host_steps'",
        )
        .fetch_one(&mut watcher)
        .await?;
        let rate = (count - before) as f64 / interval as f64;
        // The machine's load, since other work on it slows the loop as much as the database.
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load = load.split(' ').next().unwrap_or("?").to_owned();
        println!(
            "| {n} | {} | {} | {rate:.0} | {dead} | {live} | {load} |",
            n * interval,
            count - before
        );
        rates.push(rate);
        before = count;
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(worker) = tasks.join_next().await {
        worker??;
    }
    // The horizon was held the whole time: the snapshot's transaction is still the oldest.
    let oldest: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MIN(backend_xmin::TEXT::BIGINT), 0) FROM pg_stat_activity
         WHERE backend_xmin IS NOT NULL",
    )
    .fetch_one(&mut watcher)
    .await?;
    if hold {
        sqlx::raw_sql("COMMIT").execute(&mut holder).await?;
    }
    if let (Some(first), Some(last)) = (rates.first(), rates.last()) {
        println!(
            "first interval {first:.0} steps/s, last {last:.0} steps/s: {:+.1} % (the oldest \
             snapshot's xmin at the end: {oldest}, the holder's transaction {txid})",
            (last / first - 1.0) * 100.0
        );
    }
    store.close().await;
    Ok(())
}
