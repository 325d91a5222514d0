//! Kill-and-failover trials: the real rollout driver (`ops::rollout::drive`) over the real
//! store (PostgreSQL: 1,000 trials in CI; SQLite, with kills only: a frozen SQLite writer's
//! transaction never ends), on fake hosts, with 1 s leases.
//!
//! Each trial starts a rollout of four hosts in two waves, two at a time. One process after
//! another drives it, each on its own thread and runtime with its own connections, as separate
//! `patchctl` processes would, and the trial's seed decides each one's fate: killed, or frozen
//! whole (as SIGSTOP freezes a process), at its n-th step, or while a host's apply runs; the
//! last one is left to finish. A killed or frozen process's lease is made to run out at once
//! (its `lease_expires` moved into the past: what waiting it out would do, without the wait),
//! and the next process takes the rollout over. The frozen ones are woken once the rollout is
//! over: they must write nothing.
//!
//! A host's apply goes on to its end when the process that started it dies, as dpkg does, and
//! holds the host's package-manager lock meanwhile; the process taking over checks on the host
//! (`resume`) instead of applying again. Like `SshSteps`, a runner makes a write under its lease
//! (fenced) before it starts the apply, and the host refuses to start the rollout's apply unit
//! twice (`pkgmgr::apply::Rerun::Refuse`): without that refusal these trials found a process
//! frozen between its fenced write and the start that applied a second time when it woke. After every trial: no host applied twice, no host lost
//! (each applied and done, the rollout completed), the journal intact.
//!
//! `PATCHCTL_FAILOVER_TRIALS` sets how many trials run on each backend (default 100; CI runs
//! 1,000); a failing trial is printed, and `PATCHCTL_FAILOVER_TRIAL=N` runs that one alone.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::plan::Limit;
use ops::rollout::{DriveConfig, DriveOutcome, RolloutError, StepReport, StepRunner, drive};
use rollout::{
    Config, HostConfig, Phase, RebootPlan, RollbackPolicy, Step, StepResult, Timeouts, WaveConfig,
};
use store::{Lease, NewRollout, Store, StoreError};

use crate::backends::{Location, test_dbs};

const HOSTS: [&str; 4] = ["h1", "h2", "h3", "h4"];

/// A seeded generator: the same trial, the same fates.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A fake host: whether the rollout's apply unit was started on it, whether the plan's
/// packages are on it, and how many applies ran.
#[derive(Debug, Default)]
struct Host {
    started: bool,
    installed: bool,
    applies: u32,
}

/// The hosts of a trial, each behind its package manager's lock. Applies run on the hosts'
/// own runtime: they go on when the process that started them is gone.
struct Fleet {
    hosts: BTreeMap<&'static str, Arc<tokio::sync::Mutex<Host>>>,
    runtime: tokio::runtime::Handle,
}

/// Where a process's fate strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    /// At the start of its n-th step (from 1), of any kind.
    Step(usize),
    /// While its n-th apply runs on the host.
    Applying(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Finish,
    Kill(Point),
    Freeze(Point),
}

impl Fate {
    fn point(self) -> Option<Point> {
        match self {
            Fate::Finish => None,
            Fate::Kill(point) | Fate::Freeze(point) => Some(point),
        }
    }
}

/// What a process tells the trial.
enum Report {
    /// Process `n` reached its fate's point: killed (it waits for ever) or frozen.
    Reached(usize),
    /// Process `n`'s drive ended.
    Ended(usize, Result<DriveOutcome, RolloutError>),
}

/// One process's steps on the fleet.
struct Runner {
    number: usize,
    fleet: Arc<Fleet>,
    store: Store,
    lease: Mutex<Option<Lease>>,
    fate: Fate,
    steps: AtomicUsize,
    applies: AtomicUsize,
    reports: mpsc::Sender<Report>,
    /// A frozen process's thread blocks on it until the trial wakes it.
    wake: Mutex<mpsc::Receiver<()>>,
}

impl Runner {
    async fn reach(&self, point: Point) {
        if self.fate.point() != Some(point) {
            return;
        }
        let _ = self.reports.send(Report::Reached(self.number));
        match self.fate {
            // The trial drops the drive; nothing of this process runs again.
            Fate::Kill(_) => std::future::pending().await,
            // The whole process stops: its one thread blocks, every task of its runtime with
            // it, until it is woken.
            Fate::Freeze(_) => {
                let _ = self.wake.lock().unwrap().recv();
            }
            Fate::Finish => {}
        }
    }

    /// A write under the lease, as `SshSteps::flush` makes before it changes a host: refused
    /// once another process took the rollout over.
    async fn fenced(&self) -> bool {
        let Some(lease) = self.lease.lock().unwrap().clone() else { return false };
        !matches!(
            self.store.renew_rollout_lease(&lease, now_unix(), 1).await,
            Err(StoreError::LeaseLost { .. })
        )
    }
}

fn succeeded() -> StepReport {
    StepReport { result: StepResult::Succeeded { reboot_required: false }, outputs: Vec::new() }
}

#[async_trait::async_trait]
impl StepRunner for Runner {
    fn lease(&self, lease: &Lease) {
        *self.lease.lock().unwrap() = Some(lease.clone());
    }

    async fn run(&self, host: &str, step: Step, resume: bool) -> StepReport {
        let n = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        self.reach(Point::Step(n)).await;
        tokio::time::sleep(Duration::from_millis((n % 3) as u64)).await;
        if step != Step::Apply {
            return succeeded();
        }
        let state = self.fleet.hosts[host].clone();
        // Resuming: what became of the apply another process started (the check waits for it
        // to end, as for the package manager's lock), and holds nothing afterwards.
        if resume && state.lock().await.started {
            return succeeded();
        }
        if !self.fenced().await {
            return StepReport {
                result: StepResult::Failed { reason: "lost the lease".into() },
                outputs: Vec::new(),
            };
        }
        // The apply's unit starts on the host and holds the lock until it is over; the host
        // refuses to start it a second time (`Rerun::Refuse`), as for a process that stalled
        // between its fenced write and the start and woke after another applied.
        let mut locked = state.lock_owned().await;
        if locked.started {
            return succeeded();
        }
        locked.started = true;
        let applying = self.fleet.runtime.spawn(async move {
            tokio::time::sleep(Duration::from_millis(3)).await;
            locked.installed = true;
            locked.applies += 1;
        });
        let n = self.applies.fetch_add(1, Ordering::SeqCst) + 1;
        self.reach(Point::Applying(n)).await;
        let _ = applying.await;
        succeeded()
    }
}

fn config() -> Config {
    let wave = |name: &str, hosts: &[&str]| WaveConfig {
        name: name.into(),
        canary: false,
        hosts: hosts
            .iter()
            .map(|name| HostConfig {
                name: (*name).into(),
                snapshot: false,
                reboot: RebootPlan::Never,
                cleanup_kernels: false,
            })
            .collect(),
    };
    Config {
        waves: vec![wave("first", &HOSTS[..1]), wave("rest", &HOSTS[1..])],
        error_budget: Limit::Count(0),
        max_in_flight: 2,
        timeouts: Timeouts::default(),
        rollback: RollbackPolicy::Automatic,
        start_no_host_after: None,
        precheck_ahead: None,
        ahead_after_wave_prechecks: false,
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Each process's latest view of the hosts' states, by process number.
type Finals = Arc<Mutex<BTreeMap<usize, Vec<(String, String)>>>>;

/// A process of its own: a thread, a runtime, connections; it drives `rollout` with `fate`.
struct Process {
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    wake: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn start(
    number: usize,
    location: Location,
    rollout: String,
    fleet: Arc<Fleet>,
    fate: Fate,
    reports: mpsc::Sender<Report>,
    finals: Finals,
) -> Process {
    let (kill, killed) = tokio::sync::oneshot::channel::<()>();
    let (wake, woken) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let store = location.open().await;
            let runner = Arc::new(Runner {
                number,
                fleet,
                store: store.clone(),
                lease: Mutex::new(None),
                fate,
                steps: AtomicUsize::new(0),
                applies: AtomicUsize::new(0),
                reports: reports.clone(),
                wake: Mutex::new(woken),
            });
            let config = DriveConfig {
                owner: format!("patchctl@sim:{number}:{:04x}", number),
                lease_seconds: 1,
                wait_for_lease: true,
                request_poll: Duration::from_millis(200),
                clock_offset_ms: 0,
                actor: None,
            };
            let on_event = |_: &rollout::Event, machine: &rollout::Rollout| {
                // Each process's own view (a frozen one's write made before its stop may be
                // acknowledged, and told, only after it woke).
                let states = machine.hosts().map(|(h, s)| (h.to_owned(), s.name().to_owned()));
                finals.lock().unwrap().insert(number, states.collect());
            };
            let stop = std::future::pending::<()>();
            tokio::select! {
                outcome = drive(&store, &rollout, runner, &config, stop, &on_event) => {
                    let _ = reports.send(Report::Ended(number, outcome));
                }
                _ = killed => {}
            }
            store.close().await;
        });
    });
    Process { kill: Some(kill), wake, thread }
}

/// One trial on the database at `location`: `Err` says what went wrong.
async fn trial(seed: u64, location: &Location, store: &Store) -> Result<(), String> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let rollout = format!("{:016x}", seed + 1);
    let plan = crate::saved_plan(store, "staging", &HOSTS, &[], seed as i64 + 1).await;
    let new = NewRollout {
        id: rollout.clone(),
        plan_id: plan.id,
        created_at_unix: 1,
        config_json: serde_json::to_string(&protocol::rollout::ConfigV1::from(&config())).unwrap(),
        hosts: HOSTS.map(str::to_owned).to_vec(),
        again: true,
        first_entries: Vec::new(),
    };
    store.create_rollout(&new).await.map_err(|e| format!("creating the rollout: {e}"))?;

    let hosts_runtime = HOSTS_RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
    });
    let fleet = Arc::new(Fleet {
        hosts: HOSTS.iter().map(|h| (*h, Arc::default())).collect(),
        runtime: hosts_runtime.handle().clone(),
    });
    let finals = Arc::new(Mutex::new(BTreeMap::new()));
    let mut finisher = None;
    let (reports, reported) = mpsc::channel();
    // Up to three processes die or freeze; one more finishes. A rollout has 4 hosts of 4 steps
    // (precheck, apply, postcheck, and the wave's), so a point past its last step never comes.
    let doomed = rng.below(4) as usize;
    let mut frozen: Vec<(usize, Process)> = Vec::new();
    let mut fates = Vec::new();
    for number in 0..=doomed {
        let fate = if number == doomed {
            Fate::Finish
        } else {
            let point = match rng.below(2) {
                0 => Point::Step(1 + rng.below(12) as usize),
                _ => Point::Applying(1 + rng.below(4) as usize),
            };
            let freeze = rng.below(2) == 1;
            // SQLite has no end for a frozen writer's transaction: the next process would wait
            // on its lock for ever (one machine's processes; replicas share PostgreSQL).
            if freeze && matches!(location, Location::Postgres(_)) {
                Fate::Freeze(point)
            } else {
                Fate::Kill(point)
            }
        };
        fates.push(fate);
        let mut process = start(
            number,
            location.clone(),
            rollout.clone(),
            fleet.clone(),
            fate,
            reports.clone(),
            finals.clone(),
        );
        let Ok(report) = reported.recv_timeout(Duration::from_secs(60)) else {
            let row = store.rollout(&rollout).await;
            let journal = store.journal(&rollout).await.map(|j| {
                j.into_iter()
                    .map(|e| format!("{} {} {:?}", e.seq, e.kind, e.host))
                    .collect::<Vec<_>>()
            });
            return Err(format!(
                "process {number} ({fate:?}) neither ended nor reached its point (fates {fates:?}); {row:?} {journal:?}"
            ));
        };
        match report {
            Report::Ended(n, Ok(DriveOutcome::Finished(Phase::Completed))) if n == number => {
                finisher = Some(number);
                process.thread.join().unwrap();
                break;
            }
            Report::Ended(n, outcome) => {
                return Err(format!("process {n} ({fate:?}) ended with {outcome:?}"));
            }
            Report::Reached(n) if n != number => {
                return Err(format!("process {n} went on after its fate"));
            }
            Report::Reached(_) => {}
        }
        match fate {
            Fate::Kill(_) => {
                let _ = process.kill.take().unwrap().send(());
                process.thread.join().unwrap();
            }
            Fate::Freeze(_) => frozen.push((number, process)),
            Fate::Finish => return Err("a finishing process reached a fate".into()),
        }
        // Its lease runs out: as if the next process had waited for it.
        let expire = format!("UPDATE rollouts SET lease_expires = 1 WHERE id = '{rollout}'");
        location.execute(&expire).await.map_err(|e| e.to_string())?;
    }

    // The frozen wake to a rollout another process finished: they write nothing.
    let entries = store.journal(&rollout).await.map_err(|e| e.to_string())?.len();
    for (number, process) in frozen {
        let _ = process.wake.send(());
        match reported.recv_timeout(Duration::from_secs(60)) {
            Ok(Report::Ended(n, Err(RolloutError::LeaseLost { .. }))) if n == number => {}
            // Frozen inside a transaction: PostgreSQL ended its session (and the transaction)
            // so that the process taking over could lock the rollout's row.
            Ok(Report::Ended(n, Err(RolloutError::Store(error))))
                if n == number && error.to_string().contains("idle-in-transaction timeout") => {}
            Ok(Report::Ended(n, outcome)) => {
                return Err(format!("woken process {n} ended with {outcome:?}, not a lost lease"));
            }
            Ok(Report::Reached(n)) => return Err(format!("process {n} reached a fate twice")),
            Err(_) => return Err(format!("woken process {number} never ended")),
        }
        process.thread.join().unwrap();
    }
    let after = store.journal(&rollout).await.map_err(|e| e.to_string())?.len();
    if after != entries {
        return Err(format!("{} entries written after the rollout ended", after - entries));
    }

    // Every host applied once, and done.
    for (name, host) in &fleet.hosts {
        let host = host.lock().await;
        if !host.installed || host.applies != 1 {
            return Err(format!("{name}: {host:?} (fates {fates:?})"));
        }
    }
    let finisher = finisher.ok_or("no process finished the rollout")?;
    let finals = finals.lock().unwrap().get(&finisher).cloned().unwrap_or_default();
    let done = finals.iter().filter(|(_, state)| state == "done").count();
    if done != HOSTS.len() {
        return Err(format!("hosts not done: {finals:?} (fates {fates:?})"));
    }
    let rollout_row = store.rollout(&rollout).await.map_err(|e| e.to_string())?.unwrap();
    if rollout_row.phase != store::RolloutPhase::Completed {
        return Err(format!("rollout {}: {}", rollout, rollout_row.phase));
    }
    match store.verify_journal(&rollout).await {
        Ok(store::JournalCheck::Intact { .. }) => Ok(()),
        other => Err(format!("journal of {rollout}: {other:?}")),
    }
}

static HOSTS_RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();

#[test]
fn killed_and_frozen_drivers_lose_no_host_and_apply_none_twice() {
    let trials: Vec<u64> =
        match std::env::var("PATCHCTL_FAILOVER_TRIAL").ok().and_then(|s| s.parse().ok()) {
            Some(trial) => vec![trial],
            None => {
                let n = std::env::var("PATCHCTL_FAILOVER_TRIALS")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(100u64);
                (0..n).collect()
            }
        };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dbs = runtime.block_on(test_dbs());
    let only = std::env::var("PATCHCTL_FAILOVER_BACKEND").ok();
    for db in dbs.iter().filter(|db| only.as_deref().is_none_or(|name| name == db.name())) {
        let store = runtime.block_on(db.open());
        let started = std::time::Instant::now();
        for &seed in &trials {
            if let Err(problem) = runtime.block_on(trial(seed, &db.location(), &store)) {
                panic!(
                    "on {}, trial {seed} (PATCHCTL_FAILOVER_TRIAL={seed}): {problem}",
                    db.name()
                );
            }
        }
        eprintln!("{} trials on {} in {:?}", trials.len(), db.name(), started.elapsed());
    }
}
