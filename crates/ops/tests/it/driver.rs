//! The real rollout driver (`ops::rollout::drive`) against a fake step runner and a real
//! SQLite file: a driver that stalls past its lease is taken over by another process, writes
//! nothing more when it wakes, and stops saying it lost the lease; the one that took over
//! finishes the rollout, checking on the step that was in flight instead of repeating it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::plan::Limit;
use ops::rollout::{DriveConfig, DriveOutcome, RolloutError, StepReport, StepRunner, drive};
use rollout::{
    Config, HostConfig, Phase, RebootPlan, RollbackPolicy, Step, StepResult, Timeouts, WaveConfig,
};
use store::{NewRollout, Store};

const ROLLOUT: &str = "0123456789abcdef";

/// Answers every step at once, except that the first apply blocks its thread for `stall`: on
/// a single-threaded runtime, the whole driver stalls, as a process stopped by the kernel would.
struct FakeHosts {
    stall: Option<Duration>,
    /// (host, step, resume) of every step run.
    runs: Mutex<Vec<(String, Step, bool)>>,
}

#[async_trait::async_trait]
impl StepRunner for FakeHosts {
    async fn run(&self, host: &str, step: Step, resume: bool) -> StepReport {
        let first_apply = {
            let mut runs = self.runs.lock().unwrap();
            runs.push((host.to_owned(), step, resume));
            step == Step::Apply && runs.iter().filter(|(_, s, _)| *s == Step::Apply).count() == 1
        };
        if let (true, Some(stall)) = (first_apply, self.stall) {
            std::thread::sleep(stall);
        }
        StepReport { result: StepResult::Succeeded { reboot_required: false }, outputs: Vec::new() }
    }
}

fn config() -> Config {
    Config {
        waves: vec![WaveConfig {
            name: "all".into(),
            canary: false,
            hosts: ["deb1", "deb2"]
                .map(|name| HostConfig {
                    name: name.into(),
                    snapshot: false,
                    reboot: RebootPlan::Never,
                    cleanup_kernels: false,
                })
                .to_vec(),
        }],
        error_budget: Limit::Count(0),
        max_in_flight: 1,
        timeouts: Timeouts::default(),
        rollback: RollbackPolicy::Automatic,
        start_no_host_after: None,
        precheck_ahead: None,
        ahead_after_wave_prechecks: false,
    }
}

fn drive_config(owner: &str) -> DriveConfig {
    DriveConfig {
        owner: owner.into(),
        lease_seconds: 1,
        wait_for_lease: true,
        request_poll: Duration::from_millis(100),
        clock_offset_ms: 0,
        actor: None,
    }
}

#[test]
fn a_driver_stalled_past_its_lease_writes_nothing_more_and_the_taker_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let setup = tokio::runtime::Runtime::new().unwrap();
    setup.block_on(async {
        let store = Store::open(&path).await.unwrap();
        let plan = crate::saved_plan(&store, "staging", &["deb1", "deb2"], &[], 1).await;
        let rollout = NewRollout {
            id: ROLLOUT.into(),
            plan_id: plan.id,
            created_at_unix: 1,
            config_json: serde_json::to_string(&protocol::rollout::ConfigV1::from(&config()))
                .unwrap(),
            hosts: vec!["deb1".into(), "deb2".into()],
            again: false,
            first_entries: Vec::new(),
        };
        store.create_rollout(&rollout).await.unwrap();
        store.close().await;
    });

    // Process A, on one thread: its first apply stalls it for 4 s, past its 1 s lease.
    let stalled_path = path.clone();
    let stalled_runner =
        Arc::new(FakeHosts { stall: Some(Duration::from_secs(4)), runs: Mutex::new(Vec::new()) });
    let runner_a = stalled_runner.clone();
    let a = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store = Store::open(&stalled_path).await.unwrap();
            let stop = std::future::pending::<()>();
            drive(&store, ROLLOUT, runner_a, &drive_config("patchctl@a:1:aaaa"), stop, &|_, _| {})
                .await
        })
    });

    // Process B: takes the lease over once A's ran out, and drives the rollout to its end.
    let (taken_at_entries, outcome, runs_b) = setup.block_on(async {
        let store = Store::open(&path).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let rollout = store.rollout(ROLLOUT).await.unwrap().unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let applying = store.journal(ROLLOUT).await.unwrap().len() > 2;
            if applying && rollout.lease_expires_unix.is_some_and(|until| until <= now) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "A never stalled past its lease");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // What a server's scheduler looks for to take over: this rollout, now.
        let sources = ops::Sources {
            config: dir.path().join("patchctl.toml"),
            state: Some(path.clone()),
            policy: None,
            no_policy: true,
            database_url: None,
        };
        let ctx = ops::Context::new(sources, ops::Clock::real(), "b".into());
        assert_eq!(ops::rollout::orphaned(&ctx).await.unwrap(), [ROLLOUT]);
        let runner_b = Arc::new(FakeHosts { stall: None, runs: Mutex::new(Vec::new()) });
        let outcome = drive(
            &store,
            ROLLOUT,
            runner_b.clone(),
            &drive_config("patchctl@b:1:bbbb"),
            std::future::pending::<()>(),
            &|_, _| {},
        )
        .await;
        let entries = store.journal(ROLLOUT).await.unwrap().len();
        let runs = runner_b.runs.lock().unwrap().clone();
        assert!(ops::rollout::orphaned(&ctx).await.unwrap().is_empty(), "over: nothing to take");
        (entries, outcome, runs)
    });
    assert!(matches!(outcome, Ok(DriveOutcome::Finished(Phase::Completed))), "{outcome:?}");

    // A wakes: its step's result cannot be journaled; it stops, saying why.
    let a_outcome = a.join().unwrap();
    assert!(
        matches!(&a_outcome, Err(RolloutError::LeaseLost { holder, .. }) if holder.is_none() || holder.as_deref() == Some("patchctl@b:1:bbbb")),
        "{a_outcome:?}"
    );
    let message = a_outcome.unwrap_err().to_string();
    assert!(message.starts_with("lost the lease on rollout 0123456789abcdef"), "{message}");
    let entries = setup.block_on(async {
        let store = Store::open(&path).await.unwrap();
        let check = store.verify_journal(ROLLOUT).await.unwrap();
        assert!(matches!(check, store::JournalCheck::Intact { .. }), "{check:?}");
        store.journal(ROLLOUT).await.unwrap().len()
    });
    assert_eq!(entries, taken_at_entries, "A wrote nothing after B took over");

    // Each host was applied once: B checked on A's apply (resume) instead of starting it again.
    let runs_a = stalled_runner.runs.lock().unwrap().clone();
    let mut fresh_applies: BTreeMap<String, usize> = BTreeMap::new();
    for (host, step, resume) in runs_a.iter().chain(&runs_b) {
        if *step == Step::Apply && !resume {
            *fresh_applies.entry(host.clone()).or_default() += 1;
        }
    }
    assert!(fresh_applies.values().all(|n| *n == 1), "{fresh_applies:?} {runs_a:?} {runs_b:?}");
    assert!(runs_b.iter().any(|(_, step, resume)| *step == Step::Apply && *resume), "{runs_b:?}");
}

/// Answers every step after `each`, as slow hosts would.
struct SlowHosts {
    each: Duration,
}

#[async_trait::async_trait]
impl StepRunner for SlowHosts {
    async fn run(&self, _host: &str, _step: Step, _resume: bool) -> StepReport {
        tokio::time::sleep(self.each).await;
        StepReport { result: StepResult::Succeeded { reboot_required: false }, outputs: Vec::new() }
    }
}

/// On PostgreSQL, a pause another process journals (`rollout pause` on another replica) wakes
/// the driver at once through LISTEN/NOTIFY: acted on within a second or two, although the
/// driver polls for requests every 20 s only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_asked_by_another_process_wakes_the_driver_on_postgresql() {
    let Some(db) = crate::backends::test_dbs().await.into_iter().find(|db| db.is_postgres()) else {
        return;
    };
    let setup = db.open().await;
    let plan = crate::saved_plan(&setup, "staging", &["deb1", "deb2"], &[], 1).await;
    let rollout = NewRollout {
        id: ROLLOUT.into(),
        plan_id: plan.id,
        created_at_unix: 1,
        config_json: serde_json::to_string(&protocol::rollout::ConfigV1::from(&config())).unwrap(),
        hosts: vec!["deb1".into(), "deb2".into()],
        again: false,
        first_entries: Vec::new(),
    };
    setup.create_rollout(&rollout).await.unwrap();

    // Process A: drives, looking for requests every 20 s; each step takes a second.
    let driver = db.open().await;
    let paused_at: Arc<Mutex<Option<std::time::Instant>>> = Arc::default();
    let on_pause = paused_at.clone();
    let driving = tokio::spawn(async move {
        let config = DriveConfig {
            lease_seconds: 30,
            request_poll: Duration::from_secs(20),
            ..drive_config("patchctl@a:1:aaaa")
        };
        let runner = Arc::new(SlowHosts { each: Duration::from_secs(1) });
        let on_event = move |_: &rollout::Event, machine: &rollout::Rollout| {
            if machine.phase() == Phase::Paused {
                on_pause.lock().unwrap().get_or_insert_with(std::time::Instant::now);
            }
        };
        drive(&driver, ROLLOUT, runner, &config, std::future::pending(), &on_event).await
    });
    // Running, and past the first look for requests, which comes at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while setup.rollout(ROLLOUT).await.unwrap().unwrap().phase != store::RolloutPhase::Running {
        assert!(std::time::Instant::now() < deadline, "the rollout never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Process B asks for a pause: journaled for A, which holds the lease.
    let asker = db.open().await;
    let asked = std::time::Instant::now();
    let said =
        ops::rollout::request(&asker, ROLLOUT, rollout::Input::Pause, "patchctl@b:1:bbbb", "alice")
            .await
            .unwrap();
    assert!(said.starts_with("asked patchctl@a:1:aaaa"), "{said}");
    let outcome = tokio::time::timeout(Duration::from_secs(15), driving).await.unwrap().unwrap();
    assert!(matches!(outcome, Ok(DriveOutcome::Paused)), "{outcome:?}");
    let took = paused_at.lock().unwrap().expect("paused").duration_since(asked);
    assert!(took < Duration::from_secs(2), "paused {took:?} after the request");
}
