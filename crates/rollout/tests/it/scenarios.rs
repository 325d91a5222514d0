//! The rollout's rules, one scenario each, driven by hand.

use model::plan::Limit;
use rollout::{
    Action, Config, Event, HostConfig, HostState, Input, Phase, RebootPlan, RollbackPolicy,
    Rollout, Step, StepResult, Timeouts, WaveConfig,
};

pub fn config(waves: &[(&str, bool, &[&str])], budget: Limit) -> Config {
    Config {
        waves: waves
            .iter()
            .map(|(name, canary, hosts)| WaveConfig {
                name: name.to_string(),
                canary: *canary,
                hosts: hosts
                    .iter()
                    .map(|h| HostConfig {
                        name: h.to_string(),
                        snapshot: false,
                        reboot: RebootPlan::IfRequired,
                        cleanup_kernels: false,
                    })
                    .collect(),
            })
            .collect(),
        error_budget: budget,
        max_in_flight: usize::MAX,
        timeouts: Timeouts::default(),
        rollback: RollbackPolicy::Automatic,
        start_no_host_after: None,
        precheck_ahead: None,
        ahead_after_wave_prechecks: false,
    }
}

/// The steps asked for, as (host, step, token), draining the actions.
fn runs(rollout: &mut Rollout) -> Vec<(String, Step, u64)> {
    let mut runs = Vec::new();
    while let Some(action) = rollout.poll_action() {
        if let Action::Run { host, step, token, .. } = action {
            runs.push((host, step, token));
        }
    }
    runs
}

fn ok() -> StepResult {
    StepResult::Succeeded { reboot_required: false }
}

fn fail(reason: &str) -> StepResult {
    StepResult::Failed { reason: reason.into() }
}

/// Answers every step with `answer(host, step)` until nothing runs.
fn drive(rollout: &mut Rollout, answer: impl Fn(&str, Step) -> StepResult) -> Vec<(String, Step)> {
    let mut log = Vec::new();
    let mut now = 0;
    loop {
        let batch = runs(rollout);
        if batch.is_empty() {
            return log;
        }
        for (host, step, token) in batch {
            now += 1000;
            let result = answer(&host, step);
            log.push((host, step));
            rollout.handle(now, Input::StepFinished { token, result }).unwrap();
        }
    }
}

#[test]
fn every_host_goes_through_its_steps_wave_after_wave() {
    let mut rollout = Rollout::new(config(
        &[("canary", true, &["a"]), ("batch", false, &["b", "c"])],
        Limit::Count(0),
    ));
    rollout.handle(0, Input::Start).unwrap();
    let log = drive(&mut rollout, |host, step| match (host, step) {
        ("b", Step::Apply) => StepResult::Succeeded { reboot_required: true },
        _ => ok(),
    });
    let a: Vec<Step> = log.iter().filter(|(h, _)| h == "a").map(|(_, s)| *s).collect();
    assert_eq!(a, [Step::Precheck, Step::Apply, Step::Postcheck]);
    let b: Vec<Step> = log.iter().filter(|(h, _)| h == "b").map(|(_, s)| *s).collect();
    assert_eq!(b, [Step::Precheck, Step::Apply, Step::Reboot, Step::Postcheck]);
    let first_b = log.iter().position(|(h, _)| h == "b").unwrap();
    let last_a = log.iter().rposition(|(h, _)| h == "a").unwrap();
    assert!(last_a < first_b, "the canary finishes before the batch starts: {log:?}");
    assert_eq!(rollout.phase(), Phase::Completed);
    assert!(rollout.hosts().all(|(_, s)| *s == HostState::Done));
}

#[test]
fn a_spent_budget_halts_and_later_waves_never_start() {
    let mut rollout = Rollout::new(config(
        &[("one", false, &["a", "b", "c", "d"]), ("two", false, &["e", "f"])],
        Limit::Percent(25),
    ));
    rollout.handle(0, Input::Start).unwrap();
    let log = drive(&mut rollout, |host, step| match (host, step) {
        ("a" | "b", Step::Apply) => fail("postinst failed"),
        _ => ok(),
    });
    assert!(!log.iter().any(|(h, _)| h == "e" || h == "f"), "{log:?}");
    assert_eq!(rollout.phase(), Phase::Halted);
    assert!(matches!(rollout.host_state("e"), Some(HostState::Skipped { .. })));
    // A failed apply left the host changed: it was brought back, and counts as a failure.
    assert_eq!(
        rollout.host_state("a"),
        Some(&HostState::RolledBack { reason: "apply failed: postinst failed".into() })
    );
    // c and d were already running when the budget ran out: they are seen to the end.
    assert_eq!(rollout.host_state("c"), Some(&HostState::Done));
}

#[test]
fn a_failed_apply_is_rolled_back_and_verified_unless_rollbacks_are_manual() {
    for (policy, expected) in [
        (
            RollbackPolicy::Automatic,
            vec![Step::Precheck, Step::Apply, Step::Rollback, Step::Verify],
        ),
        (RollbackPolicy::Manual, vec![Step::Precheck, Step::Apply]),
    ] {
        let mut config = config(&[("one", false, &["a", "b"])], Limit::Count(1));
        config.rollback = policy;
        let mut rollout = Rollout::new(config);
        rollout.handle(0, Input::Start).unwrap();
        let log = drive(&mut rollout, |host, step| match (host, step) {
            ("a", Step::Apply) => fail("acme-broken: postinst exited 1"),
            _ => ok(),
        });
        let a: Vec<Step> = log.iter().filter(|(h, _)| h == "a").map(|(_, s)| *s).collect();
        assert_eq!(a, expected, "{policy:?}");
        let state = rollout.host_state("a").unwrap();
        match policy {
            RollbackPolicy::Automatic => assert_eq!(
                state,
                &HostState::RolledBack {
                    reason: "apply failed: acme-broken: postinst exited 1".into()
                }
            ),
            RollbackPolicy::Manual => {
                assert!(matches!(state, HostState::Failed { step: Step::Apply, .. }), "{state:?}")
            }
        }
        assert_eq!(rollout.host_state("b"), Some(&HostState::Done));
    }
}

#[test]
fn an_apply_that_timed_out_is_not_raced_by_a_rollback() {
    let mut rollout = Rollout::new(config(&[("one", false, &["a"])], Limit::Count(1)));
    rollout.handle(0, Input::Start).unwrap();
    let (_, _, token) = runs(&mut rollout).remove(0);
    rollout.handle(1, Input::StepFinished { token, result: ok() }).unwrap();
    let (_, step, _) = runs(&mut rollout).remove(0);
    assert_eq!(step, Step::Apply);
    let late = Timeouts::default().apply + 10;
    rollout.handle(late, Input::Tick).unwrap();
    assert!(runs(&mut rollout).is_empty(), "nothing more runs on the host");
    assert!(matches!(
        rollout.host_state("a"),
        Some(HostState::Failed { step: Step::Apply, reason }) if reason.contains("may still be running")
    ));
}

#[test]
fn a_failed_postcheck_rolls_the_host_back_and_verifies_it() {
    let mut rollout = Rollout::new(config(&[("one", false, &["a", "b"])], Limit::Count(1)));
    rollout.handle(0, Input::Start).unwrap();
    let log = drive(&mut rollout, |host, step| match (host, step) {
        ("a", Step::Postcheck) => fail("GET /health said degraded"),
        _ => ok(),
    });
    let a: Vec<Step> = log.iter().filter(|(h, _)| h == "a").map(|(_, s)| *s).collect();
    assert_eq!(a, [Step::Precheck, Step::Apply, Step::Postcheck, Step::Rollback, Step::Verify]);
    assert!(matches!(
        rollout.host_state("a"),
        Some(HostState::RolledBack { reason }) if reason.contains("degraded")
    ));
    assert_eq!(rollout.phase(), Phase::Completed, "one failure is within a budget of one");
}

#[test]
fn a_host_that_does_not_come_back_is_lost() {
    let mut config = config(&[("one", false, &["a"])], Limit::Count(0));
    config.waves[0].hosts[0].reboot = RebootPlan::Always;
    let mut rollout = Rollout::new(config);
    rollout.handle(0, Input::Start).unwrap();
    let mut now = 0;
    for step in [Step::Precheck, Step::Apply] {
        let (_, asked, token) = runs(&mut rollout).pop().unwrap();
        assert_eq!(asked, step);
        now += 1000;
        rollout.handle(now, Input::StepFinished { token, result: ok() }).unwrap();
    }
    let (_, step, token) = runs(&mut rollout).pop().unwrap();
    assert_eq!(step, Step::Reboot);
    let deadline = rollout.poll_timeout().unwrap();
    rollout.handle(deadline, Input::Tick).unwrap();
    assert_eq!(
        rollout.poll_action(),
        Some(Action::Abandon { host: "a".into(), step: Step::Reboot, token })
    );
    assert!(matches!(rollout.host_state("a"), Some(HostState::Lost { step: Step::Reboot, .. })));
    // The late answer of an abandoned step changes nothing.
    rollout.handle(deadline + 1, Input::StepFinished { token, result: ok() }).unwrap();
    assert!(matches!(rollout.host_state("a"), Some(HostState::Lost { .. })));
    assert_eq!(rollout.phase(), Phase::Halted);
}

#[test]
fn pause_lets_running_steps_finish_and_starts_nothing() {
    let mut rollout = Rollout::new(config(&[("one", false, &["a"])], Limit::Count(0)));
    rollout.handle(0, Input::Start).unwrap();
    let (_, _, token) = runs(&mut rollout).pop().unwrap();
    rollout.handle(1, Input::Pause).unwrap();
    rollout.handle(2, Input::StepFinished { token, result: ok() }).unwrap();
    assert!(runs(&mut rollout).is_empty());
    assert!(rollout.is_quiet());
    assert_eq!(rollout.host_state("a"), Some(&HostState::Ready { next: Step::Apply }));
    assert!(rollout.handle(3, Input::Pause).is_err());
    rollout.handle(3, Input::Resume).unwrap();
    assert_eq!(runs(&mut rollout).pop().unwrap().1, Step::Apply);
}

#[test]
fn recovery_reissues_steps_in_flight_as_resumes() {
    let config = config(&[("one", false, &["a", "b"])], Limit::Count(0));
    let mut journal = vec![(0, Input::Start)];
    let mut rollout = Rollout::new(config.clone());
    rollout.handle(0, Input::Start).unwrap();
    let batch = runs(&mut rollout);
    let (_, _, token_a) = batch[0].clone();
    journal.push((5, Input::StepFinished { token: token_a, result: ok() }));
    rollout.handle(5, journal[1].1.clone()).unwrap();
    let (_, apply, _) = runs(&mut rollout).pop().unwrap();
    assert_eq!(apply, Step::Apply);
    // The process dies here, with a's apply and b's precheck in flight.
    let mut recovered = Rollout::replay(config, &journal);
    assert!(recovered.poll_action().is_none(), "replay executes nothing");
    recovered.handle(10, Input::Recover).unwrap();
    let mut resumed = Vec::new();
    while let Some(Action::Run { host, step, resume, .. }) = recovered.poll_action() {
        resumed.push((host, step, resume));
    }
    resumed.sort();
    assert_eq!(
        resumed,
        [("a".to_string(), Step::Apply, true), ("b".to_string(), Step::Precheck, true)]
    );
}

#[test]
fn cancel_skips_hosts_that_have_not_changed() {
    let mut rollout =
        Rollout::new(config(&[("one", false, &["a"]), ("two", false, &["b"])], Limit::Count(0)));
    rollout.handle(0, Input::Start).unwrap();
    let (_, _, token) = runs(&mut rollout).pop().unwrap();
    rollout.handle(1, Input::Cancel).unwrap();
    assert!(matches!(rollout.host_state("b"), Some(HostState::Skipped { .. })));
    rollout.handle(2, Input::StepFinished { token, result: ok() }).unwrap();
    assert!(runs(&mut rollout).is_empty(), "a's precheck passed but its apply must not start");
    assert!(matches!(rollout.host_state("a"), Some(HostState::Skipped { .. })));
    assert_eq!(rollout.phase(), Phase::Cancelled);
    let events: Vec<Event> = std::iter::from_fn(|| rollout.poll_event()).collect();
    assert!(events.contains(&Event::Finished { phase: Phase::Cancelled }));
}

#[test]
fn a_done_host_can_be_rolled_back_by_hand() {
    let mut rollout = Rollout::new(config(&[("one", false, &["a", "b"])], Limit::Count(0)));
    rollout.handle(0, Input::Start).unwrap();
    drive(&mut rollout, |_, _| ok());
    assert!(rollout.is_settled());
    rollout.handle(100_000, Input::RollBack { host: "a".into() }).unwrap();
    let log = drive(&mut rollout, |_, _| ok());
    assert_eq!(log, [("a".to_string(), Step::Rollback), ("a".to_string(), Step::Verify)]);
    assert!(matches!(rollout.host_state("a"), Some(HostState::RolledBack { .. })));
    assert!(rollout.handle(0, Input::RollBack { host: "nope".into() }).is_err());
}

#[test]
fn a_failed_kernel_cleanup_leaves_the_host_done() {
    let mut config = config(&[("one", false, &["a"])], Limit::Count(0));
    config.waves[0].hosts[0].cleanup_kernels = true;
    let mut rollout = Rollout::new(config);
    rollout.handle(0, Input::Start).unwrap();
    let log = drive(&mut rollout, |_, step| match step {
        Step::Cleanup => fail("apt-get purge exited 100"),
        _ => ok(),
    });
    assert_eq!(log.last().unwrap().1, Step::Cleanup);
    assert_eq!(rollout.host_state("a"), Some(&HostState::Done));
    assert_eq!(rollout.phase(), Phase::Completed);

    // Gone during its cleanup, after it was verified: done too, its wave may have closed.
    let mut gone = self::config(&[("one", false, &["a"])], Limit::Count(0));
    gone.waves[0].hosts[0].cleanup_kernels = true;
    let mut rollout = Rollout::new(gone);
    rollout.handle(0, Input::Start).unwrap();
    drive(&mut rollout, |_, step| match step {
        Step::Cleanup => StepResult::Unreachable { reason: "connection refused".into() },
        _ => ok(),
    });
    assert_eq!(rollout.host_state("a"), Some(&HostState::Done));
    assert_eq!(rollout.phase(), Phase::Completed);
}

#[test]
fn a_kernel_cleanup_runs_beside_the_next_wave_and_the_rollout_waits_for_it() {
    let mut config = config(&[("one", false, &["a"]), ("two", false, &["b"])], Limit::Count(0));
    for wave in &mut config.waves {
        wave.hosts[0].cleanup_kernels = true;
    }
    let mut rollout = Rollout::new(config);
    rollout.handle(0, Input::Start).unwrap();
    // a's steps up to its cleanup, which is left running.
    let mut now = 0;
    let (cleanup_of_a, others) = loop {
        let mut batch = runs(&mut rollout);
        let (host, step, token) = batch.remove(0);
        assert_eq!(host, "a");
        if step == Step::Cleanup {
            break (token, batch);
        }
        assert_eq!(batch, []);
        now += 1000;
        rollout.handle(now, Input::StepFinished { token, result: ok() }).unwrap();
    };
    // Wave two opened as soon as a was verified: b is prechecked while a cleans up.
    let events: Vec<Event> = std::iter::from_fn(|| rollout.poll_event()).collect();
    assert!(events.contains(&Event::WaveStarted { wave: 1, name: "two".into() }), "{events:?}");
    let [(host, Step::Precheck, token)] = &others[..] else { panic!("{others:?}") };
    assert_eq!(host, "b");
    rollout.handle(now, Input::StepFinished { token: *token, result: ok() }).unwrap();
    // b goes to its end, cleanup included; the rollout is not over while a still cleans up.
    let log = drive(&mut rollout, |_, _| ok());
    assert!(log.iter().all(|(host, _)| host == "b"), "{log:?}");
    assert_eq!(log.last(), Some(&("b".to_owned(), Step::Cleanup)));
    assert_eq!(rollout.phase(), Phase::Running);
    assert!(!rollout.is_settled());
    now += 60_000;
    rollout.handle(now, Input::StepFinished { token: cleanup_of_a, result: ok() }).unwrap();
    assert_eq!(rollout.host_state("a"), Some(&HostState::Done));
    assert_eq!(rollout.phase(), Phase::Completed);
    assert!(rollout.is_settled());
}

#[test]
fn no_host_starts_after_the_cutoff_and_started_hosts_finish() {
    let mut config = config(
        &[("canary", true, &["a"]), ("one", false, &["b"]), ("two", false, &["c"])],
        Limit::Count(0),
    );
    // `drive` advances 1 s per step: a's precheck finishes at 1 s, its apply at 2 s, its
    // postcheck at 3 s; the cutoff at 1.5 s falls while a runs.
    config.start_no_host_after = Some(1_500);
    let mut rollout = Rollout::new(config);
    rollout.handle(0, Input::Start).unwrap();
    assert_eq!(rollout.poll_timeout(), Some(1_500), "the cutoff is a deadline to wake up for");
    let log = drive(&mut rollout, |_, _| ok());
    assert!(log.iter().all(|(h, _)| h == "a"), "{log:?}");
    assert_eq!(rollout.host_state("a"), Some(&HostState::Done), "a started, so it finishes");
    for host in ["b", "c"] {
        assert!(
            matches!(rollout.host_state(host), Some(HostState::Skipped { reason })
                if reason.starts_with(rollout::CUTOFF_REASON)),
            "{host}: {:?}",
            rollout.host_state(host)
        );
    }
    assert_eq!(rollout.phase(), Phase::Completed);
    let events: Vec<Event> = std::iter::from_fn(|| rollout.poll_event()).collect();
    assert!(events.contains(&Event::CutoffPassed { cutoff: 1_500, skipped: 2 }), "{events:?}");
}

#[test]
fn a_rollout_started_after_its_cutoff_starts_nothing() {
    let mut config = config(&[("one", false, &["a", "b"])], Limit::Count(0));
    config.start_no_host_after = Some(10_000);
    let mut rollout = Rollout::new(config);
    rollout.handle(10_000, Input::Start).unwrap();
    assert!(runs(&mut rollout).is_empty());
    assert!(rollout.is_settled());
    assert!(rollout.hosts().all(|(_, s)| matches!(s, HostState::Skipped { .. })));
}

/// A started rollout of `waves` with no error budget that prechecks a wave ahead, keeping a
/// precheck for a minute.
fn started_ahead(waves: &[(&str, bool, &[&str])]) -> Rollout {
    let mut config = config(waves, Limit::Count(0));
    config.precheck_ahead = Some(60_000);
    let mut rollout = Rollout::new(config);
    rollout.handle(0, Input::Start).unwrap();
    rollout
}

#[test]
fn with_ahead_after_wave_prechecks_the_next_wave_waits_for_the_current_ones_prechecks() {
    let mut config =
        config(&[("canary", true, &["a"]), ("batch", false, &["b", "c"])], Limit::Count(0));
    config.precheck_ahead = Some(60_000);
    config.ahead_after_wave_prechecks = true;
    let mut rollout = Rollout::new(config);
    rollout.handle(0, Input::Start).unwrap();
    let steps = |runs: &[(String, Step, u64)]| -> Vec<(String, Step)> {
        runs.iter().map(|(h, s, _)| (h.clone(), *s)).collect()
    };
    let first = runs(&mut rollout);
    assert_eq!(steps(&first), [("a".to_owned(), Step::Precheck)], "the canary's precheck alone");
    rollout.handle(1_000, Input::StepFinished { token: first[0].2, result: ok() }).unwrap();
    assert_eq!(
        steps(&runs(&mut rollout)),
        [
            ("a".to_owned(), Step::Apply),
            ("b".to_owned(), Step::Precheck),
            ("c".to_owned(), Step::Precheck)
        ],
        "the batch is prechecked while the canary applies"
    );
}

#[test]
fn the_next_wave_is_prechecked_while_the_current_one_runs() {
    let mut rollout = started_ahead(&[("canary", true, &["a"]), ("batch", false, &["b", "c"])]);
    let first = runs(&mut rollout);
    assert_eq!(
        first.iter().map(|(h, s, _)| (h.as_str(), *s)).collect::<Vec<_>>(),
        [("a", Step::Precheck), ("b", Step::Precheck), ("c", Step::Precheck)]
    );
    // b's precheck passes, c's fails: neither goes further while the canary runs, and c's
    // failure is not counted yet.
    rollout.handle(1_000, Input::StepFinished { token: first[1].2, result: ok() }).unwrap();
    rollout
        .handle(1_000, Input::StepFinished { token: first[2].2, result: fail("lock held") })
        .unwrap();
    assert!(runs(&mut rollout).is_empty(), "nothing of the batch starts before its wave");
    assert_eq!(rollout.host_state("b"), Some(&HostState::Ready { next: Step::Apply }));
    assert_eq!(rollout.host_state("c"), Some(&HostState::Pending));
    assert_eq!(rollout.wave_failures()[1].1, 0);
    // The canary goes through its precheck, apply and postcheck; when it is done, b applies at
    // once and c is prechecked again.
    let mut token = first[0].2;
    for now in [2_000, 3_000] {
        rollout.handle(now, Input::StepFinished { token, result: ok() }).unwrap();
        token = runs(&mut rollout)[0].2;
    }
    rollout.handle(4_000, Input::StepFinished { token, result: ok() }).unwrap();
    let opened = runs(&mut rollout);
    let steps: Vec<_> = opened.iter().map(|(h, s, _)| (h.as_str(), *s)).collect();
    assert_eq!(steps, [("b", Step::Apply), ("c", Step::Precheck)]);
    for (_, _, token) in opened {
        rollout.handle(5_000, Input::StepFinished { token, result: ok() }).unwrap();
    }
    let log = drive(&mut rollout, |_, _| ok());
    assert!(!log.iter().any(|(_, s)| *s == Step::Precheck), "{log:?}");
    assert_eq!(rollout.phase(), Phase::Completed);
    assert!(rollout.hosts().all(|(_, s)| *s == HostState::Done));
}

#[test]
fn a_precheck_too_old_when_its_wave_opens_runs_again() {
    let mut rollout = started_ahead(&[("one", false, &["a"]), ("two", false, &["b"])]);
    let first = runs(&mut rollout);
    rollout.handle(1_000, Input::StepFinished { token: first[1].2, result: ok() }).unwrap();
    rollout.handle(1_000, Input::StepFinished { token: first[0].2, result: ok() }).unwrap();
    let apply = runs(&mut rollout);
    // a's apply takes two minutes: b's precheck is older than a minute when its wave opens.
    rollout.handle(121_000, Input::StepFinished { token: apply[0].2, result: ok() }).unwrap();
    let post = runs(&mut rollout);
    rollout.handle(122_000, Input::StepFinished { token: post[0].2, result: ok() }).unwrap();
    let opened: Vec<_> = runs(&mut rollout).into_iter().map(|(h, s, _)| (h, s)).collect();
    assert_eq!(opened, [("b".to_string(), Step::Precheck)]);
}

#[test]
fn a_host_prechecked_ahead_is_skipped_when_the_rollout_halts() {
    let mut rollout = started_ahead(&[("one", false, &["a"]), ("two", false, &["b"])]);
    let log = drive(&mut rollout, |host, step| match (host, step) {
        ("a", Step::Apply) => fail("postinst failed"),
        _ => ok(),
    });
    let b: Vec<Step> = log.iter().filter(|(h, _)| h == "b").map(|(_, s)| *s).collect();
    assert_eq!(b, [Step::Precheck], "only b's precheck ran: {log:?}");
    assert!(matches!(rollout.host_state("b"), Some(HostState::Skipped { .. })));
    assert_eq!(rollout.phase(), Phase::Halted);
}

#[test]
fn a_lost_host_is_reconciled_then_finished_or_rolled_back() {
    // (what the reconcile finds, the steps after it, the host's end)
    let cases = [
        (ok(), vec![Step::Reconcile, Step::Postcheck], "done"),
        (
            fail("acme-tools is at 1.0-1, not the plan's 1.1-1"),
            vec![Step::Reconcile, Step::Rollback, Step::Verify],
            "rolled_back",
        ),
    ];
    for (found, after, end) in cases {
        let mut rollout = Rollout::new(config(&[("one", false, &["a", "b"])], Limit::Count(1)));
        rollout.handle(0, Input::Start).unwrap();
        let lost = StepResult::Unreachable { reason: "connection lost".into() };
        drive(&mut rollout, |host, step| match (host, step) {
            ("a", Step::Apply) => lost.clone(),
            _ => ok(),
        });
        assert!(matches!(rollout.host_state("a"), Some(HostState::Lost { step: Step::Apply, .. })));
        assert!(rollout.is_settled());
        // Only a lost or half-changed host can be reconciled.
        let refused = rollout.handle(1, Input::Reconcile { host: "b".into() }).unwrap_err();
        assert!(refused.0.contains("host `b` is done"), "{}", refused.0);
        rollout.handle(1, Input::Reconcile { host: "a".into() }).unwrap();
        assert!(!rollout.is_settled(), "reopened");
        let log = drive(&mut rollout, |host, step| match (host, step) {
            ("a", Step::Reconcile) => found.clone(),
            _ => ok(),
        });
        let steps: Vec<Step> = log.iter().map(|(_, s)| *s).collect();
        assert_eq!(steps, after);
        assert_eq!(rollout.host_state("a").unwrap().name(), end);
        assert!(rollout.is_settled());
    }
}

#[test]
fn a_host_lost_while_rolling_back_is_rolled_back_after_its_reconcile() {
    let mut rollout = Rollout::new(config(&[("one", false, &["a"])], Limit::Count(1)));
    rollout.handle(0, Input::Start).unwrap();
    let lost = StepResult::Unreachable { reason: "connection lost".into() };
    drive(&mut rollout, |_, step| match step {
        Step::Postcheck => fail("GET /health said degraded"),
        Step::Rollback => lost.clone(),
        _ => ok(),
    });
    rollout.handle(1, Input::Reconcile { host: "a".into() }).unwrap();
    let log = drive(&mut rollout, |_, step| match step {
        Step::Reconcile => fail("acme-regress is at 1.1-1, not the plan's 1.0-1"),
        _ => ok(),
    });
    let steps: Vec<Step> = log.iter().map(|(_, s)| *s).collect();
    assert_eq!(steps, [Step::Reconcile, Step::Rollback, Step::Verify]);
    assert!(matches!(
        rollout.host_state("a"),
        Some(HostState::RolledBack { reason }) if reason.contains("degraded")
    ));
}

#[test]
fn cancel_of_a_paused_rollout_finishes_it_at_once() {
    let mut rollout =
        Rollout::new(config(&[("one", false, &["a"]), ("two", false, &["b"])], Limit::Count(0)));
    rollout.handle(0, Input::Start).unwrap();
    rollout.handle(1, Input::Pause).unwrap();
    // The running precheck ends; nothing new starts while paused.
    let (_, _, token) = runs(&mut rollout).pop().unwrap();
    rollout.handle(2, Input::StepFinished { token, result: ok() }).unwrap();
    assert!(runs(&mut rollout).is_empty());
    assert_eq!(rollout.phase(), Phase::Paused);
    // Cancelled by a process that does not drive it: over, with no resume needed.
    rollout.handle(3, Input::Cancel).unwrap();
    assert!(runs(&mut rollout).is_empty());
    assert_eq!(rollout.phase(), Phase::Cancelled);
    assert!(matches!(rollout.host_state("a"), Some(HostState::Skipped { .. })));
    assert!(matches!(rollout.host_state("b"), Some(HostState::Skipped { .. })));
}
