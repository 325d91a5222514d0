//! A seeded simulation: a fake fleet on a virtual clock, with injected faults, operator
//! commands and crashes of the driving process, checked against the rollout's invariants.
//!
//! `PATCHCTL_SIM_SEEDS` sets the number of seeds (CI runs thousands); a failing seed is printed
//! and can be replayed alone with `PATCHCTL_SIM_SEED`.

use std::collections::{BTreeMap, BTreeSet};

use model::plan::Limit;
use rollout::{
    Action, Config, Event, HostConfig, HostState, Input, Millis, Phase, RebootPlan, RollbackPolicy,
    Rollout, Step, StepResult, Timeouts, WaveConfig,
};

/// splitmix64: enough randomness for a simulation, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    PrecheckFails,
    ApplyFails,
    AsksForReboot,
    RebootNeverReturns,
    PostcheckFails { rollback_works: bool },
    Unreachable(Step),
    TooSlow(Step),
}

/// A step started on a fake host: like a systemd unit, it runs to its end whatever happens to
/// the process that started it.
#[derive(Debug, Clone)]
struct Unit {
    finishes_at: Millis,
    result: StepResult,
}

struct FakeHost {
    fault: Fault,
    /// Steps that change the host, by the number of times they really ran.
    executed: BTreeMap<Step, u32>,
    units: BTreeMap<Step, Unit>,
}

struct Delivery {
    at: Millis,
    token: u64,
}

fn seeds() -> Vec<u64> {
    if let Ok(seed) = std::env::var("PATCHCTL_SIM_SEED") {
        return vec![seed.parse().expect("PATCHCTL_SIM_SEED is a number")];
    }
    let n: u64 =
        std::env::var("PATCHCTL_SIM_SEEDS").ok().and_then(|n| n.parse().ok()).unwrap_or(500);
    (0..n).collect()
}

#[test]
fn invariants_hold_on_every_seed() {
    for seed in seeds() {
        if let Err(violation) = std::panic::catch_unwind(|| simulate(seed)) {
            let message = violation
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| violation.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("seed {seed} broke an invariant (PATCHCTL_SIM_SEED={seed}): {message}");
        }
    }
}

fn random_config(rng: &mut Rng) -> Config {
    let n_waves = 1 + rng.below(4) as usize;
    let mut n = 0;
    let waves = (0..n_waves)
        .map(|w| WaveConfig {
            name: format!("wave{w}"),
            canary: w == 0 && rng.chance(50),
            hosts: (0..1 + rng.below(6))
                .map(|_| {
                    n += 1;
                    HostConfig {
                        name: format!("h{n:02}"),
                        snapshot: rng.chance(30),
                        reboot: [RebootPlan::Always, RebootPlan::IfRequired, RebootPlan::Never]
                            [rng.below(3) as usize],
                        cleanup_kernels: rng.chance(50),
                    }
                })
                .collect(),
        })
        .collect();
    Config {
        waves,
        error_budget: if rng.chance(50) {
            Limit::Count(rng.below(3) as usize)
        } else {
            Limit::Percent(1 + rng.below(60) as u8)
        },
        max_in_flight: if rng.chance(50) { 1 + rng.below(4) as usize } else { usize::MAX },
        timeouts: Timeouts {
            precheck: 60_000,
            snapshot: 60_000,
            apply: 300_000,
            reboot: 120_000,
            postcheck: 60_000,
            rollback: 300_000,
            cleanup: 60_000,
        },
        rollback: if rng.chance(80) { RollbackPolicy::Automatic } else { RollbackPolicy::Manual },
        // A window's cutoff somewhere in the first few host runs, or none.
        start_no_host_after: rng.chance(40).then(|| rng.below(400_000)),
        // Prechecks ahead of their wave, kept for up to a few host runs, or not at all.
        precheck_ahead: rng.chance(60).then(|| rng.below(200_000)),
        ahead_after_wave_prechecks: rng.chance(50),
    }
}

fn random_fault(rng: &mut Rng) -> Fault {
    let steps =
        [Step::Precheck, Step::Apply, Step::Reboot, Step::Postcheck, Step::Rollback, Step::Cleanup];
    match rng.below(14) {
        0 => Fault::PrecheckFails,
        1 => Fault::ApplyFails,
        2 => Fault::AsksForReboot,
        3 => Fault::RebootNeverReturns,
        4 => Fault::PostcheckFails { rollback_works: rng.chance(70) },
        5 => Fault::Unreachable(steps[rng.below(6) as usize]),
        6 => Fault::TooSlow(steps[rng.below(6) as usize]),
        _ => Fault::None,
    }
}

/// What the fake host answers for `step`, and after how long.
fn outcome(
    host: &FakeHost,
    step: Step,
    timeouts: &Timeouts,
    rng: &mut Rng,
) -> (Millis, StepResult) {
    let ok = StepResult::Succeeded { reboot_required: false };
    let duration = 1_000 + rng.below(50_000);
    match (host.fault, step) {
        (Fault::TooSlow(slow), _) if slow == step => (timeouts.apply * 2, ok),
        (Fault::Unreachable(at), _) if at == step => {
            (duration, StepResult::Unreachable { reason: "connection refused".into() })
        }
        (Fault::PrecheckFails, Step::Precheck) => {
            (duration, StepResult::Failed { reason: "only 20 MiB free on /boot".into() })
        }
        (Fault::ApplyFails, Step::Apply) => {
            (duration, StepResult::Failed { reason: "postinst returned 1".into() })
        }
        (Fault::AsksForReboot, Step::Apply) => {
            (duration, StepResult::Succeeded { reboot_required: true })
        }
        (Fault::RebootNeverReturns, Step::Reboot) => (Millis::MAX / 4, ok),
        (Fault::PostcheckFails { .. }, Step::Postcheck) => {
            (duration, StepResult::Failed { reason: "health check said degraded".into() })
        }
        (Fault::PostcheckFails { rollback_works: false }, Step::Verify) => {
            (duration, StepResult::Failed { reason: "still degraded".into() })
        }
        _ => (duration, ok),
    }
}

fn simulate(seed: u64) {
    let mut rng = Rng(seed);
    let config = random_config(&mut rng);
    let mut hosts: BTreeMap<String, FakeHost> = config
        .waves
        .iter()
        .flat_map(|w| &w.hosts)
        .map(|h| {
            let host = FakeHost {
                fault: random_fault(&mut rng),
                executed: BTreeMap::new(),
                units: BTreeMap::new(),
            };
            (h.name.clone(), host)
        })
        .collect();
    let wave_of: BTreeMap<&str, usize> = config
        .waves
        .iter()
        .enumerate()
        .flat_map(|(i, w)| w.hosts.iter().map(move |h| (h.name.as_str(), i)))
        .collect();

    let mut rollout = Rollout::new(config.clone());
    let mut journal: Vec<(Millis, Input)> = Vec::new();
    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut results: BTreeMap<u64, StepResult> = BTreeMap::new();
    let mut now: Millis = 0;
    let mut crashes = 0;
    let mut observer = Observer {
        wave_of: wave_of.iter().map(|(h, w)| (h.to_string(), *w)).collect(),
        ..Observer::default()
    };
    let mut paused_until: Option<Millis> = None;

    let feed =
        |rollout: &mut Rollout, journal: &mut Vec<(Millis, Input)>, now: Millis, input: Input| {
            if rollout.handle(now, input.clone()).is_ok() {
                journal.push((now, input));
            }
        };
    feed(&mut rollout, &mut journal, now, Input::Start);
    // Hosts an operator reconciled (`rollout reconcile`) once the rollout had settled.
    let mut reconciled: BTreeSet<String> = BTreeSet::new();

    for _round in 0..100_000 {
        // The shell's side: execute actions, record events, check the invariants as they happen.
        // Events first: they were emitted before the actions of the same input.
        observer.observe(&mut rollout, now);
        while let Some(action) = rollout.poll_action() {
            match action {
                Action::Run { host, step, token, resume, .. } => {
                    let wave = wave_of[host.as_str()];
                    let open = observer.waves_opened.contains(&wave);
                    let next = observer.waves_opened.iter().max().is_some_and(|w| w + 1 == wave);
                    let ahead = step == Step::Precheck && config.precheck_ahead.is_some() && next;
                    assert!(open || ahead, "{host} ran {step:?} before its wave opened");
                    if let Some(cutoff) = config.start_no_host_after
                        && step == Step::Precheck
                        && !resume
                    {
                        assert!(now < cutoff, "{host} started at {now}, after the cutoff {cutoff}");
                    }
                    if let Some(cutoff) = config.start_no_host_after
                        && matches!(step, Step::Snapshot | Step::Apply)
                        && !resume
                    {
                        let opened = observer.opened_at[&wave];
                        assert!(
                            opened < cutoff,
                            "{host}: {step:?} in wave {wave} opened at {opened}, after the cutoff {cutoff}"
                        );
                    }
                    if !resume && matches!(step, Step::Precheck | Step::Snapshot | Step::Apply) {
                        assert!(
                            !observer.stopped,
                            "{host} started {step:?} after the rollout stopped: {:?} {:?}",
                            rollout.phase(),
                            journal
                        );
                    }
                    let fake = hosts.get_mut(&host).unwrap();
                    let existing = fake.units.get(&step).cloned();
                    let unit = match (resume, existing) {
                        // The step ran already: find out what became of it instead.
                        (true, Some(unit)) => unit,
                        // A rollback the host was lost in runs again after its reconcile: a
                        // downgrade to the recorded versions, checked on the host first.
                        (false, Some(_))
                            if step == Step::Rollback && reconciled.contains(&host) =>
                        {
                            let (duration, result) =
                                outcome(fake, step, &config.timeouts, &mut rng);
                            *fake.executed.entry(step).or_default() += 1;
                            let unit = Unit { finishes_at: now.saturating_add(duration), result };
                            fake.units.insert(step, unit.clone());
                            unit
                        }
                        (false, Some(_)) if step.changes_host() && step != Step::Reboot => {
                            panic!("{host}: {step:?} started a second time")
                        }
                        _ => {
                            let (duration, result) =
                                outcome(fake, step, &config.timeouts, &mut rng);
                            *fake.executed.entry(step).or_default() += 1;
                            let unit = Unit { finishes_at: now.saturating_add(duration), result };
                            fake.units.insert(step, unit.clone());
                            unit
                        }
                    };
                    results.insert(token, unit.result);
                    deliveries.push(Delivery { at: unit.finishes_at.max(now), token });
                }
                Action::Abandon { token, .. } => deliveries.retain(|d| d.token != token),
            }
        }
        if rollout.is_settled() {
            // An operator reconciles the hosts lost mid-step, once, some of the time: they are
            // repaired and finished or rolled back, never patched a second time.
            let lost: Vec<String> = rollout
                .hosts()
                .filter(|(h, s)| matches!(s, HostState::Lost { .. }) && !reconciled.contains(*h))
                .map(|(h, _)| h.to_owned())
                .collect();
            if lost.is_empty() || !rng.chance(70) {
                break;
            }
            for host in lost {
                reconciled.insert(host.clone());
                feed(&mut rollout, &mut journal, now, Input::Reconcile { host });
            }
            continue;
        }

        // Operators and crashes.
        let acted = match rng.below(200) {
            0 if paused_until.is_none() && rollout.phase() == Phase::Running => {
                feed(&mut rollout, &mut journal, now, Input::Pause);
                paused_until = Some(now + rng.below(600_000));
                true
            }
            1 if rng.chance(20) => {
                feed(&mut rollout, &mut journal, now, Input::Cancel);
                true
            }
            2 | 3 if crashes < 3 => {
                // kill -9: the answers on their way are lost with the process; the hosts'
                // units run on. A new process rebuilds the rollout from the journal.
                crashes += 1;
                observer.observe(&mut rollout, now);
                deliveries.clear();
                rollout = Rollout::replay(config.clone(), &journal);
                if rollout.phase() == Phase::Paused {
                    paused_until = Some(paused_until.unwrap_or(now));
                }
                feed(&mut rollout, &mut journal, now, Input::Recover);
                true
            }
            _ => false,
        };
        if acted {
            // What the operator's input caused is executed before anything else happens.
            continue;
        }

        // The world's side: the next thing that happens.
        let next_delivery = deliveries.iter().map(|d| d.at).min();
        let next_tick = rollout.poll_timeout();
        let Some(next) = [next_delivery, next_tick, paused_until].into_iter().flatten().min()
        else {
            panic!("stuck: nothing will ever happen, phase {:?}", rollout.phase());
        };
        now = now.max(next);
        if paused_until.is_some_and(|t| t <= now) {
            paused_until = None;
            feed(&mut rollout, &mut journal, now, Input::Resume);
            continue;
        }
        if let Some(position) = deliveries.iter().position(|d| d.at <= now) {
            let delivery = deliveries.swap_remove(position);
            let result = results[&delivery.token].clone();
            feed(
                &mut rollout,
                &mut journal,
                now,
                Input::StepFinished { token: delivery.token, result },
            );
        } else {
            feed(&mut rollout, &mut journal, now, Input::Tick);
            // A tick deals with every deadline due (a step's, the cutoff): asking to be woken
            // again for the same instant would spin, and only an operator's cancel would end it.
            let again = rollout.poll_timeout();
            assert!(again.is_none_or(|t| t > now), "woken at {now}, asks again for {again:?}");
        }
    }

    assert!(rollout.is_settled(), "the rollout never ended: phase {:?}", rollout.phase());
    for (name, state) in rollout.hosts() {
        assert!(state.is_final(), "{name} ended {state:?}");
        let fake = &hosts[name];
        // Only a precheck (ahead of its wave) may have run on a host that has not started.
        let touched = fake.executed.keys().any(|&step| step != Step::Precheck);
        if let rollout::HostState::Skipped { reason } = state
            && reason.starts_with(rollout::CUTOFF_REASON)
        {
            assert!(!touched, "{name} skipped at the cutoff was touched");
        }
        let steps = rollout.host_steps(name);
        let started = steps.first().map(|record| record.started_at);
        let went_on = steps.iter().any(|record| record.step != Step::Precheck);
        if let (Some(cutoff), Some(started)) = (config.start_no_host_after, started) {
            assert!(started < cutoff, "{name} started at {started}, after the cutoff {cutoff}");
        }
        if config.start_no_host_after.is_some_and(|cutoff| now < cutoff) || went_on {
            assert!(
                !matches!(state, rollout::HostState::Skipped { reason } if reason.starts_with(rollout::CUTOFF_REASON)),
                "{name} was skipped for a cutoff that had not passed, or after it started"
            );
        }
        assert!(fake.executed.get(&Step::Apply).copied().unwrap_or(0) <= 1, "{name} patched twice");
        // Once ahead of its wave, once more when that one failed or was too old by then.
        let prechecks = fake.executed.get(&Step::Precheck).copied().unwrap_or(0);
        assert!(prechecks <= 2, "{name} prechecked {prechecks} times");
        let rollbacks = fake.executed.get(&Step::Rollback).copied().unwrap_or(0);
        let allowed = if reconciled.contains(name) { 2 } else { 1 };
        assert!(rollbacks <= allowed, "{name} rolled back {rollbacks} times");
        assert!(
            fake.executed.get(&Step::Reconcile).copied().unwrap_or(0) <= 1,
            "{name} reconciled twice"
        );
    }
    for (index, (wave, failures, budget)) in rollout.wave_failures().into_iter().enumerate() {
        let allowed = budget + observer.in_flight_at_halt.get(&index).copied().unwrap_or(0);
        assert!(
            failures <= allowed + 1,
            "{wave}: {failures} failures, budget {budget}, {allowed} allowed with those in flight: {:?} {:?}",
            rollout.hosts().collect::<Vec<_>>(),
            journal
        );
        if failures > budget {
            assert!(
                observer.stopped,
                "{wave} overspent its budget without halting: {:?} {:?}",
                rollout.phase(),
                rollout.hosts().collect::<Vec<_>>()
            );
        }
    }
    if observer.stopped {
        let later_started = rollout.hosts().any(|(h, _)| {
            !observer.waves_opened.contains(&wave_of[h])
                && hosts[h].executed.keys().any(|&step| step != Step::Precheck)
        });
        assert!(!later_started, "a host of an unopened wave was touched");
    } else {
        assert_eq!(rollout.phase(), Phase::Completed);
    }
    let replayed = Rollout::replay(config, &journal);
    let live: Vec<_> = rollout.hosts().map(|(h, s)| (h.to_string(), s.clone())).collect();
    let again: Vec<_> = replayed.hosts().map(|(h, s)| (h.to_string(), s.clone())).collect();
    assert_eq!(live, again, "replaying the journal rebuilds the same state");
}

/// What the journal of events says, checked as the events come.
#[derive(Default)]
struct Observer {
    wave_of: BTreeMap<String, usize>,
    stopped: bool,
    waves_opened: BTreeSet<usize>,
    opened_at: BTreeMap<usize, Millis>,
    waves_closed: BTreeSet<usize>,
    /// The wave that was open when the rollout stopped, and its hosts not yet final then.
    in_flight_at_halt: BTreeMap<usize, usize>,
}

impl Observer {
    fn observe(&mut self, rollout: &mut Rollout, now: Millis) {
        while let Some(event) = rollout.poll_event() {
            match event {
                Event::WaveStarted { wave, .. } => {
                    assert!(!self.stopped, "wave {wave} started after the rollout stopped");
                    let previous_closed = wave == 0 || self.waves_closed.contains(&(wave - 1));
                    assert!(previous_closed, "wave {wave} opened early");
                    // The hosts of the wave before are all final, or verified with only their
                    // old-kernel cleanup left.
                    for (host, state) in rollout.hosts() {
                        let before = wave > 0 && self.wave_of[host] == wave - 1;
                        let cleaning = matches!(
                            state,
                            HostState::Ready { next: Step::Cleanup }
                                | HostState::Running { step: Step::Cleanup, .. }
                        );
                        assert!(
                            !before || state.is_final() || cleaning,
                            "wave {wave} opened with {host} {state:?}"
                        );
                    }
                    self.waves_opened.insert(wave);
                    self.opened_at.insert(wave, now);
                }
                Event::WaveFinished { wave, .. } => {
                    self.waves_closed.insert(wave);
                }
                Event::Finished { phase } => {
                    let running: Vec<_> =
                        rollout.hosts().filter(|(_, s)| !s.is_final()).map(|(h, _)| h).collect();
                    assert!(running.is_empty(), "{phase:?} with {running:?} not final");
                }
                Event::Halted { in_flight, .. } if !self.stopped => {
                    let wave = *self.waves_opened.iter().max().unwrap();
                    self.in_flight_at_halt.insert(wave, in_flight);
                    self.stopped = true;
                }
                Event::Cancelled if !self.stopped => {
                    let wave = *self.waves_opened.iter().max().unwrap();
                    let running = rollout
                        .hosts()
                        .filter(|(h, s)| self.wave_of[*h] == wave && !s.is_final())
                        .count();
                    self.in_flight_at_halt.insert(wave, running);
                    self.stopped = true;
                }
                _ => {}
            }
        }
    }
}
