//! Two schedulers (`ops::scheduler::serve`) on one SQLite state, as two replicas would run:
//! one leads, and only it passes, starting a due rollout and sending the notices due, once;
//! the leader dropped without giving the leadership up (as a killed process would), the other
//! leads once its lease has run out, and sends what is due next.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use model::postmortem::Subject;
use ops::postmortem::{NewPostmortemRequest, open_postmortem};
use ops::scheduler::ServeOptions;
use store::Store;

use crate::receivers::HttpReceiver;

/// Every notice a scheduler said.
#[derive(Default)]
struct Said(Mutex<Vec<String>>);

impl ops::Progress for Said {
    fn notice(&self, text: &str) {
        self.0.lock().unwrap().push(text.to_owned());
    }
}

impl Said {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    fn any(&self, part: &str) -> bool {
        self.lines().iter().any(|line| line.contains(part))
    }
}

/// The leader's lease: renewed (or claimed by the other) every second.
const LEASE_SECONDS: u32 = 3;

/// A scheduler on the state in `dir`, as its own process would run it: its own store, its own
/// progress; driving nothing (no rollout is due).
fn replica(dir: &Path, store: Store) -> (Arc<Said>, tokio::task::JoinHandle<()>) {
    let said = Arc::new(Said::default());
    let sources = ops::Sources {
        config: dir.join("patchctl.toml"),
        state: Some(dir.join("state.db")),
        policy: None,
        no_policy: false,
        database_url: None,
    };
    let ctx = ops::Context::new(sources, ops::Clock::real(), "scheduler".into())
        .with_store(store)
        .with_progress(said.clone());
    let options = ServeOptions {
        once: false,
        poll: Duration::from_secs(1),
        // A host that cannot be reached fails within a second or two.
        run: ops::rollout::RunOptions {
            lease_seconds: LEASE_SECONDS,
            unreachable_grace: Duration::from_secs(1),
            ..Default::default()
        },
    };
    let task = tokio::spawn(async move {
        ops::scheduler::serve(&ctx, &options, std::future::pending()).await.unwrap();
    });
    (said, task)
}

/// A postmortem opened an hour ago: its first escalation is due at once.
async fn failure(store: &Store, rollout: &str) -> i64 {
    let request = NewPostmortemRequest {
        subject: Subject::Rollout(rollout.into()),
        title: format!("rollout {rollout} halted; failed: deb1"),
        hosts: vec!["deb1".into()],
        owner: Some("team-web".into()),
        due_after: TimeDelta::hours(24),
        opened_by: "patchctl".into(),
    };
    let opened = ops::Clock::real().now() - TimeDelta::hours(1);
    open_postmortem(store, &request, opened).await.unwrap().0.id
}

async fn wait_for(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_leads_and_the_other_takes_over_once_the_leaders_lease_runs_out() {
    let on_call = HttpReceiver::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(
        dir.join("patchctl.toml"),
        "[hosts.deb1]\naddress = \"192.0.2.1\"\nenvironment = \"production\"\nowner = \"team-web\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.toml"),
        format!(
            "[[environments]]\nname = \"production\"\nschedule = \"0 22 * * *\"\n\
             timezone = \"UTC\"\nwindow = \"2h\"\napproval = \"auto\"\n\
             [notifications]\nescalate_after = \"30m\"\nannounce_before = \"0m\"\n\
             [[notifications.escalation]]\nname = \"on-call\"\nwebhooks = [\"{}\"]\n",
            on_call.url
        ),
    )
    .unwrap();
    let state = dir.join("state.db");
    let setup = Store::open(&state).await.unwrap();
    let first = failure(&setup, "r1").await;

    let (a, a_task) = replica(dir, Store::open(&state).await.unwrap());
    let (b, b_task) = replica(dir, Store::open(&state).await.unwrap());
    let sent = || on_call.requests.lock().unwrap().len();
    wait_for("the first escalation sent", Duration::from_secs(20), || sent() >= 1).await;
    // Both have looked several times since: still sent once, by the one that leads.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sent(), 1);
    let (leader, leader_task, other, other_task) =
        if a.any("scheduler: leading") { (a, a_task, b, b_task) } else { (b, b_task, a, a_task) };
    assert!(leader.any("scheduler: leading"), "{:?}", leader.lines());
    assert!(leader.any(&format!("notified: escalation:{first}:1")), "{:?}", leader.lines());
    // The other never passed: it said nothing of the environment, sent nothing.
    let others = other.lines();
    assert!(
        !others.iter().any(|l| l.contains("leading") || l.contains("production")),
        "{others:?}"
    );
    assert!(!others.iter().any(|l| l.contains("notified")), "{others:?}");

    // The leader stops without a word (its task dropped, its lease left to run out).
    leader_task.abort();
    let _ = leader_task.await;
    let stopped = Instant::now();
    let second = failure(&setup, "r2").await;
    wait_for("the other leading", Duration::from_secs(15), || other.any("scheduler: leading"))
        .await;
    let took = stopped.elapsed();
    // The lease had a renewal's worth left at least: never taken before it ran out.
    assert!(took >= Duration::from_millis(1500), "led after {took:?}: {:?}", other.lines());
    assert!(took <= Duration::from_secs(u64::from(LEASE_SECONDS) + 3), "led after {took:?}");
    wait_for("the second escalation sent", Duration::from_secs(10), || sent() >= 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sent(), 2, "each escalation once");
    assert!(other.any(&format!("notified: escalation:{second}:1")), "{:?}", other.lines());
    assert!(!leader.any(&format!("escalation:{second}")), "{:?}", leader.lines());
    other_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_replicas_only_the_leader_starts_a_due_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // A host nobody answers for, on this machine: its rollout fails there, which is no matter.
    std::fs::write(
        dir.join("patchctl.toml"),
        "[hosts.deb1]\naddress = \"127.0.0.1\"\nport = 1\nenvironment = \"staging\"\n",
    )
    .unwrap();
    // Staging's daily window opened a minute ago; one approver.
    let now = ops::Clock::real().now();
    let opened = now - TimeDelta::minutes(1);
    let policy = format!(
        "[[environments]]\nname = \"staging\"\nschedule = \"{}\"\ntimezone = \"UTC\"\n\
         window = \"2h\"\napproval = {{ approvers = 1 }}\n",
        opened.format("%M %H * * *")
    );
    std::fs::write(dir.join("policy.toml"), &policy).unwrap();
    let state = dir.join("state.db");
    let setup = Store::open(&state).await.unwrap();
    let plan = crate::saved_plan(
        &setup,
        "staging",
        &["deb1"],
        &[("acme-tools", "1.1-1")],
        now.timestamp() - 3600,
    )
    .await;
    let policy = model::policy::Policy::parse(&dir.join("policy.toml"), &policy).unwrap();
    for (kind, actor) in
        [(model::change::ChangeKind::Request, "alice"), (model::change::ChangeKind::Approve, "bob")]
    {
        let act = ops::change::Act { kind, actor: actor.into(), ticket: None, comment: None };
        ops::change::act(&setup, &policy, &plan.id, act, now).await.unwrap();
    }

    let (a, a_task) = replica(dir, Store::open(&state).await.unwrap());
    let (b, b_task) = replica(dir, Store::open(&state).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while setup.rollouts().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no replica started the rollout");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both have looked several times since: one rollout, one claim of the window.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rollouts = setup.rollouts().await.unwrap();
    assert_eq!(rollouts.len(), 1, "{rollouts:?}");
    assert_eq!(setup.window_claims().await.unwrap().len(), 1);
    let started = format!("rollout {} of plan", rollouts[0].id);
    let (leader, other) = if a.any(&started) { (&a, &b) } else { (&b, &a) };
    assert!(leader.any(&started) && leader.any("scheduler: leading"), "{:?}", leader.lines());
    // The other never passed: not even to find the window handled already.
    let others = other.lines();
    assert!(!others.iter().any(|l| l.contains("leading") || l.contains("staging")), "{others:?}");
    a_task.abort();
    b_task.abort();
}
