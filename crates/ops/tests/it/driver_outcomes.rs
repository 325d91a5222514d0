//! The real rollout driver (`ops::rollout::drive`) against a fake step runner and a real
//! SQLite file, through the ends a rollout can come to: a wave over its error budget halts it
//! and later waves never start; a pause (Ctrl-C) returns with nothing new started and a second
//! drive finishes it without repeating a step; a cancel asked by another process while a host
//! is changing sees that host to its end and skips the rest; a host that stops answering is
//! lost, not failed, and counts against its wave.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::plan::Limit;
use ops::rollout::{DriveOutcome, JournalRecord, StepReport, StepRunner, drive};
use rollout::{
    Config, Event, HostConfig, Input, Phase, RebootPlan, RollbackPolicy, Rollout, Step, StepResult,
    Timeouts, WaveConfig,
};
use store::{NewRollout, Store};
use tokio::sync::Notify;

const ROLLOUT: &str = "00112233445566aa";

/// Hosts whose steps succeed at once, except those scripted; each step run is recorded, and a
/// step marked to wait holds its host until `release` is notified (`started` is notified when
/// it begins), so a test can act while it runs.
#[derive(Default)]
struct FakeHosts {
    script: BTreeMap<(String, Step), StepResult>,
    hold: Option<(String, Step)>,
    started: Notify,
    release: Notify,
    runs: Mutex<Vec<(String, Step, bool)>>,
}

impl FakeHosts {
    fn runs(&self) -> Vec<(String, Step, bool)> {
        self.runs.lock().unwrap().clone()
    }

    /// The hosts that ran `step` afresh (not checking on it after a restart), in order.
    fn fresh(&self, step: Step) -> Vec<String> {
        self.runs().into_iter().filter(|(_, s, r)| *s == step && !r).map(|(h, _, _)| h).collect()
    }
}

#[async_trait::async_trait]
impl StepRunner for FakeHosts {
    async fn run(&self, host: &str, step: Step, resume: bool) -> StepReport {
        self.runs.lock().unwrap().push((host.to_owned(), step, resume));
        if !resume && self.hold.as_ref().is_some_and(|(h, s)| h == host && *s == step) {
            self.started.notify_one();
            self.release.notified().await;
        }
        let ok = StepResult::Succeeded { reboot_required: false };
        let result = self.script.get(&(host.to_owned(), step)).cloned().unwrap_or(ok);
        StepReport { result, outputs: Vec::new() }
    }
}

fn host(name: &str) -> HostConfig {
    HostConfig {
        name: name.into(),
        snapshot: false,
        reboot: RebootPlan::Never,
        cleanup_kernels: false,
    }
}

/// Wave `first` (deb1, deb2), then wave `second` (deb3); one host at a time, no failure
/// tolerated.
fn config() -> Config {
    Config {
        waves: vec![
            WaveConfig {
                name: "first".into(),
                canary: false,
                hosts: vec![host("deb1"), host("deb2")],
            },
            WaveConfig { name: "second".into(), canary: false, hosts: vec![host("deb3")] },
        ],
        error_budget: Limit::Count(0),
        max_in_flight: 1,
        timeouts: Timeouts::default(),
        rollback: RollbackPolicy::Automatic,
        start_no_host_after: None,
        precheck_ahead: None,
        ahead_after_wave_prechecks: false,
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A state database with the rollout created, not started.
async fn setup(dir: &std::path::Path) -> Store {
    let store = Store::open(&dir.join("state.db")).await.unwrap();
    let plan = crate::saved_plan(&store, "staging", &["deb1", "deb2", "deb3"], &[], 1).await;
    let rollout = NewRollout {
        id: ROLLOUT.into(),
        plan_id: plan.id,
        created_at_unix: 1,
        config_json: serde_json::to_string(&protocol::rollout::ConfigV1::from(&config())).unwrap(),
        hosts: vec!["deb1".into(), "deb2".into(), "deb3".into()],
        again: false,
        first_entries: Vec::new(),
    };
    store.create_rollout(&rollout).await.unwrap();
    store
}

/// Every host's state name as the machine last saw it, kept by the driver's `on_event`.
#[derive(Default)]
struct Seen(Mutex<BTreeMap<String, String>>);

impl Seen {
    fn record(&self, _: &Event, rollout: &Rollout) {
        let mut states = self.0.lock().unwrap();
        for (host, state) in rollout.hosts() {
            states.insert(host.to_owned(), state.name().to_owned());
        }
    }

    fn states(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone().into_iter().collect()
    }
}

/// Drives the rollout with `runner` until it ends (no Ctrl-C), `seen` watching.
async fn drive_to_end(store: &Store, runner: Arc<FakeHosts>, seen: &Seen) -> DriveOutcome {
    let stop = std::future::pending();
    drive(store, ROLLOUT, runner, &crate::drive_config(), stop, &|e, r| seen.record(e, r))
        .await
        .unwrap()
}

fn states(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(h, s)| ((*h).to_owned(), (*s).to_owned())).collect()
}

#[tokio::test]
async fn a_wave_over_its_budget_halts_the_rollout_and_later_waves_never_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path()).await;
    let failed = StepResult::Failed { reason: "postinst exited 1".into() };
    let runner = Arc::new(FakeHosts {
        script: [(("deb1".to_owned(), Step::Apply), failed)].into(),
        ..FakeHosts::default()
    });
    let seen = Seen::default();
    let outcome = drive_to_end(&store, runner.clone(), &seen).await;
    assert_eq!(outcome, DriveOutcome::Finished(Phase::Halted));
    // deb1's failed apply was rolled back and verified; deb2, in the same wave, was not
    // started after the budget was spent, nor was anything of the second wave.
    assert_eq!(
        seen.states(),
        states(&[("deb1", "rolled_back"), ("deb2", "skipped"), ("deb3", "skipped")])
    );
    let steps: Vec<Step> = runner.runs().into_iter().map(|(_, s, _)| s).collect();
    assert_eq!(steps, [Step::Precheck, Step::Apply, Step::Rollback, Step::Verify]);
    assert!(runner.runs().iter().all(|(h, _, _)| h == "deb1"), "{:?}", runner.runs());
}

#[tokio::test]
async fn a_pause_starts_nothing_new_and_a_second_drive_finishes_without_repeating_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path()).await;
    let runner = Arc::new(FakeHosts {
        hold: Some(("deb2".to_owned(), Step::Apply)),
        ..FakeHosts::default()
    });
    // Ctrl-C while deb2 applies: its apply finishes, nothing else starts.
    let pausing = runner.clone();
    let stop = async move {
        pausing.started.notified().await;
    };
    // The hold is released a little after the driver has seen the stop.
    let releaser = {
        let runner = runner.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            runner.release.notify_one();
        })
    };
    let seen = Seen::default();
    let outcome = drive(&store, ROLLOUT, runner.clone(), &crate::drive_config(), stop, &|e, r| {
        seen.record(e, r)
    })
    .await
    .unwrap();
    releaser.await.unwrap();
    assert_eq!(outcome, DriveOutcome::Paused);
    assert_eq!(runner.fresh(Step::Apply), ["deb1", "deb2"]);
    assert!(!runner.runs().iter().any(|(h, _, _)| h == "deb3"), "{:?}", runner.runs());

    // `rollout resume`: a second drive finishes, each step run afresh once.
    let again = Arc::new(FakeHosts::default());
    let outcome = drive_to_end(&store, again.clone(), &seen).await;
    assert_eq!(outcome, DriveOutcome::Finished(Phase::Completed));
    assert_eq!(seen.states(), states(&[("deb1", "done"), ("deb2", "done"), ("deb3", "done")]));
    let mut applies = runner.fresh(Step::Apply);
    applies.extend(again.fresh(Step::Apply));
    assert_eq!(applies, ["deb1", "deb2", "deb3"], "each host applied once");
}

#[tokio::test]
async fn a_cancel_from_another_process_sees_the_changing_host_through_and_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path()).await;
    let runner = Arc::new(FakeHosts {
        hold: Some(("deb1".to_owned(), Step::Apply)),
        ..FakeHosts::default()
    });
    // Another patchctl asks for the cancel while deb1 applies; the driver holds the lease, so
    // the request goes through the journal, as `rollout cancel` writes it.
    let other = {
        let runner = runner.clone();
        let store = store.clone();
        tokio::spawn(async move {
            runner.started.notified().await;
            let asked = JournalRecord::Request { input: Input::Cancel, actor: Some("olga".into()) };
            store.append_request(ROLLOUT, &[asked.to_entry(now_ms(), None)]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            runner.release.notify_one();
        })
    };
    let seen = Seen::default();
    let outcome = drive_to_end(&store, runner.clone(), &seen).await;
    other.await.unwrap();
    assert_eq!(outcome, DriveOutcome::Finished(Phase::Cancelled));
    // deb1 was changing: it was seen to its end (postchecked), the others never started.
    assert_eq!(
        seen.states(),
        states(&[("deb1", "done"), ("deb2", "skipped"), ("deb3", "skipped")])
    );
    assert!(runner.runs().iter().all(|(h, _, _)| h == "deb1"), "{:?}", runner.runs());
    assert!(runner.runs().iter().any(|(_, s, _)| *s == Step::Postcheck), "{:?}", runner.runs());
    // The driver took the cancel as the one who asked for it: the journal names her.
    let asked = ops::rollout::load(&store, ROLLOUT).await.unwrap().asked;
    let asked: Vec<(&Input, &str)> = asked.iter().map(|a| (&a.input, a.actor.as_str())).collect();
    assert_eq!(asked, [(&Input::Cancel, "olga")]);
}

#[tokio::test]
async fn a_host_that_stops_answering_is_lost_and_counts_against_its_wave() {
    let dir = tempfile::tempdir().unwrap();
    let store = setup(dir.path()).await;
    let gone = StepResult::Unreachable { reason: "connection refused".into() };
    let runner = Arc::new(FakeHosts {
        script: [(("deb2".to_owned(), Step::Apply), gone)].into(),
        ..FakeHosts::default()
    });
    let seen = Seen::default();
    let outcome = drive_to_end(&store, runner.clone(), &seen).await;
    assert_eq!(outcome, DriveOutcome::Finished(Phase::Halted));
    // Lost, not rolled back: nobody can tell what it did, and `rollout reconcile` looks again.
    assert_eq!(seen.states(), states(&[("deb1", "done"), ("deb2", "lost"), ("deb3", "skipped")]));
    assert!(!runner.runs().iter().any(|(h, s, _)| h == "deb2" && *s == Step::Rollback));
}
