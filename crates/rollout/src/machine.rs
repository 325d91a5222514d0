//! The state machine itself: hosts through their steps, waves in order, the error budget.

use std::collections::VecDeque;

use crate::config::{Config, HostConfig, RebootPlan, RollbackPolicy};
use crate::state::{
    Action, Event, HostState, Input, Millis, Phase, Step, StepOutcome, StepRecord, StepResult,
    StopReason,
};

/// A rollout in progress. See the crate documentation for the loop that drives it.
#[derive(Debug, Clone)]
pub struct Rollout {
    config: Config,
    hosts: Vec<HostRun>,
    waves: Vec<WaveRun>,
    phase: Phase,
    stop: Option<StopReason>,
    current_wave: usize,
    next_token: u64,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
}

#[derive(Debug, Clone)]
struct HostRun {
    config: HostConfig,
    wave: usize,
    state: HostState,
    /// Its postchecks failed (or an operator asked): the next steps take it back.
    rolling_back: Option<String>,
    /// Counted against its wave's budget already.
    counted: bool,
    steps: Vec<StepRecord>,
}

#[derive(Debug, Clone)]
struct WaveRun {
    name: String,
    hosts: Vec<usize>,
    budget: usize,
    failures: usize,
    finished: bool,
}

/// An input that makes no sense now (resume when not paused, a host that is not in the plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Rollout {
    pub fn new(config: Config) -> Rollout {
        let mut hosts = Vec::new();
        let mut waves = Vec::new();
        for (wave_index, wave) in config.waves.iter().enumerate() {
            let first = hosts.len();
            hosts.extend(wave.hosts.iter().map(|host| HostRun {
                config: host.clone(),
                wave: wave_index,
                state: HostState::Pending,
                rolling_back: None,
                counted: false,
                steps: Vec::new(),
            }));
            let budget = if wave.canary { 0 } else { config.error_budget.of(wave.hosts.len()) };
            waves.push(WaveRun {
                name: wave.name.clone(),
                hosts: (first..hosts.len()).collect(),
                budget,
                failures: 0,
                finished: false,
            });
        }
        Rollout {
            config,
            hosts,
            waves,
            phase: Phase::NotStarted,
            stop: None,
            current_wave: 0,
            next_token: 1,
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Rebuilds a rollout from its journal of inputs. The actions and events they produced
    /// were executed and journaled by the process that fed them; they are dropped here.
    pub fn replay<'a>(
        config: Config,
        inputs: impl IntoIterator<Item = &'a (Millis, Input)>,
    ) -> Rollout {
        let mut rollout = Rollout::new(config);
        for (now, input) in inputs {
            // An input refused the first time is refused again, changing nothing.
            let _ = rollout.handle(*now, input.clone());
        }
        rollout.actions.clear();
        rollout.events.clear();
        rollout
    }

    pub fn handle(&mut self, now: Millis, input: Input) -> Result<(), Refused> {
        match input {
            Input::Start => {
                if self.phase != Phase::NotStarted {
                    return Err(Refused("the rollout has already started".into()));
                }
                self.phase = Phase::Running;
                self.start_wave(0, now);
            }
            Input::StepFinished { token, result } => self.step_finished(now, token, result),
            Input::Tick => self.check_deadlines(now),
            Input::Pause => {
                if self.phase != Phase::Running {
                    return Err(Refused(format!("a {:?} rollout cannot be paused", self.phase)));
                }
                self.phase = Phase::Paused;
                self.events.push_back(Event::Paused);
            }
            Input::Resume => {
                if self.phase != Phase::Paused {
                    return Err(Refused("the rollout is not paused".into()));
                }
                self.phase = Phase::Running;
                self.events.push_back(Event::Resumed);
            }
            Input::Cancel => {
                if self.phase.is_final() || self.stop.is_some() {
                    return Err(Refused("the rollout is already over or stopping".into()));
                }
                self.events.push_back(Event::Cancelled);
                self.begin_stop(StopReason::Cancelled);
            }
            Input::Recover => self.recover(now),
            Input::RollBack { host } => self.roll_back_by_hand(&host)?,
            Input::Reconcile { host } => self.reconcile(&host)?,
        }
        self.advance(now);
        Ok(())
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest deadline of a running step, or the cutoff while hosts wait to start:
    /// feed `Input::Tick` then.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let cutoff = self
            .config
            .start_no_host_after
            .filter(|_| !self.phase.is_final())
            .filter(|_| self.hosts.iter().any(|h| h.state == HostState::Pending));
        self.hosts
            .iter()
            .filter_map(|h| match h.state {
                HostState::Running { deadline, .. } => Some(deadline),
                _ => None,
            })
            .chain(cutoff)
            .min()
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Over, and no host has a step to do (a rollback by hand can reopen a finished rollout).
    pub fn is_settled(&self) -> bool {
        self.phase.is_final() && self.hosts.iter().all(|h| h.state.is_final())
    }

    /// No step is running: a paused rollout can be left safely.
    pub fn is_quiet(&self) -> bool {
        !self.hosts.iter().any(|h| matches!(h.state, HostState::Running { .. }))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn hosts(&self) -> impl Iterator<Item = (&str, &HostState)> {
        self.hosts.iter().map(|h| (h.config.name.as_str(), &h.state))
    }

    pub fn host_state(&self, host: &str) -> Option<&HostState> {
        self.hosts.iter().find(|h| h.config.name == host).map(|h| &h.state)
    }

    pub fn host_steps(&self, host: &str) -> &[StepRecord] {
        self.hosts.iter().find(|h| h.config.name == host).map_or(&[], |h| &h.steps)
    }

    /// Failures so far and the budget, per wave.
    pub fn wave_failures(&self) -> Vec<(String, usize, usize)> {
        self.waves.iter().map(|w| (w.name.clone(), w.failures, w.budget)).collect()
    }

    pub fn stop_reason(&self) -> Option<&StopReason> {
        self.stop.as_ref()
    }

    fn start_wave(&mut self, wave: usize, now: Millis) {
        self.current_wave = wave;
        let Some(run) = self.waves.get(wave) else { return };
        self.events.push_back(Event::WaveStarted { wave, name: run.name.clone() });
        // Hosts prechecked ahead go on from their precheck, unless it is too old by now.
        let max_age = self.config.precheck_ahead.unwrap_or(Millis::MAX);
        for index in run.hosts.clone() {
            let HostState::Ready { next } = self.hosts[index].state else { continue };
            let prechecked_at = self.hosts[index]
                .steps
                .iter()
                .rev()
                .find(|r| r.step == Step::Precheck && r.outcome == Some(StepOutcome::Succeeded))
                .and_then(|r| r.finished_at)
                .unwrap_or(0);
            if next != Step::Precheck && now.saturating_sub(prechecked_at) > max_age {
                self.set_state(index, HostState::Ready { next: Step::Precheck });
            }
        }
    }

    /// A host of a wave that has not opened yet: only its precheck can run, ahead.
    fn is_ahead(&self, index: usize) -> bool {
        self.hosts[index].wave > self.current_wave
    }

    fn set_state(&mut self, index: usize, state: HostState) {
        let host = &mut self.hosts[index];
        let from = host.state.name().to_string();
        host.state = state.clone();
        self.events.push_back(Event::HostChanged {
            host: host.config.name.clone(),
            from,
            to: state,
        });
        if self.hosts[index].state.is_failure() && !self.hosts[index].counted {
            self.hosts[index].counted = true;
            let wave = &mut self.waves[self.hosts[index].wave];
            wave.failures += 1;
            if wave.failures > wave.budget && self.stop.is_none() && !self.phase.is_final() {
                let reason = format!(
                    "wave `{}`: {} failed hosts, the error budget is {}",
                    wave.name, wave.failures, wave.budget
                );
                let wave_index = self.hosts[index].wave;
                let in_flight = self
                    .hosts
                    .iter()
                    .filter(|h| h.wave == wave_index && !h.state.is_final())
                    .count();
                self.events.push_back(Event::Halted { reason: reason.clone(), in_flight });
                self.begin_stop(StopReason::Halted(reason));
            }
        }
    }

    /// No host starts any more; hosts that have not changed anything are skipped now.
    fn begin_stop(&mut self, reason: StopReason) {
        let why = not_started(&reason);
        self.stop = Some(reason);
        self.phase = Phase::Stopping;
        for index in 0..self.hosts.len() {
            let untouched = match self.hosts[index].state {
                HostState::Pending => true,
                HostState::Ready { next } => is_before_change(next),
                _ => false,
            };
            if untouched && self.hosts[index].rolling_back.is_none() {
                self.set_state(index, HostState::Skipped { reason: why.clone() });
            }
        }
    }

    fn start_step(&mut self, index: usize, step: Step, now: Millis, resume: bool) {
        let token = self.next_token;
        self.next_token += 1;
        let timeouts = &self.config.timeouts;
        let timeout = match step {
            Step::Precheck => timeouts.precheck,
            Step::Snapshot => timeouts.snapshot,
            Step::Apply => timeouts.apply,
            Step::Reboot => timeouts.reboot,
            Step::Postcheck | Step::Verify => timeouts.postcheck,
            Step::Rollback | Step::Reconcile => timeouts.rollback,
            Step::Cleanup => timeouts.cleanup,
        };
        let deadline = now.saturating_add(timeout);
        self.hosts[index].steps.push(StepRecord {
            step,
            started_at: now,
            finished_at: None,
            outcome: None,
        });
        self.set_state(index, HostState::Running { step, token, deadline, resume });
        let host = self.hosts[index].config.name.clone();
        self.actions.push_back(Action::Run { host, step, token, resume, deadline });
    }

    fn finish_record(&mut self, index: usize, now: Millis, outcome: StepOutcome) {
        if let Some(record) = self.hosts[index].steps.last_mut() {
            record.finished_at = Some(now);
            record.outcome = Some(outcome);
        }
    }

    fn step_finished(&mut self, now: Millis, token: u64, result: StepResult) {
        let Some(index) = self
            .hosts
            .iter()
            .position(|h| matches!(h.state, HostState::Running { token: t, .. } if t == token))
        else {
            // A result for a step that was abandoned or re-issued: it no longer decides anything.
            return;
        };
        let HostState::Running { step, .. } = self.hosts[index].state else { unreachable!() };
        if self.is_ahead(index) && !matches!(result, StepResult::Succeeded { .. }) {
            let outcome = match result {
                StepResult::Unreachable { reason } => StepOutcome::Unreachable { reason },
                StepResult::Failed { reason } => StepOutcome::Failed { reason },
                StepResult::Succeeded { .. } => unreachable!(),
            };
            self.finish_record(index, now, outcome);
            self.retry_when_open(index);
            return;
        }
        match result {
            StepResult::Succeeded { reboot_required } => {
                self.finish_record(index, now, StepOutcome::Succeeded);
                let next = self.next_after_success(index, step, reboot_required);
                self.set_state(index, next);
            }
            StepResult::Failed { reason } => {
                self.finish_record(index, now, StepOutcome::Failed { reason: reason.clone() });
                self.step_failed(index, step, reason);
            }
            StepResult::Unreachable { reason } => {
                self.finish_record(index, now, StepOutcome::Unreachable { reason: reason.clone() });
                if step == Step::Cleanup {
                    // Patched and verified before it went away: as a failed cleanup, done, the
                    // step on record as unreachable. Its wave may have closed already.
                    self.step_failed(index, step, reason);
                } else {
                    self.set_state(index, HostState::Lost { step, reason });
                }
            }
        }
    }

    fn next_after_success(&self, index: usize, step: Step, reboot_required: bool) -> HostState {
        let host = &self.hosts[index];
        let reboots = |required: bool| match host.config.reboot {
            RebootPlan::Always => true,
            RebootPlan::IfRequired => required,
            RebootPlan::Never => false,
        };
        let next = match step {
            Step::Precheck if host.config.snapshot => Step::Snapshot,
            Step::Precheck | Step::Snapshot => Step::Apply,
            Step::Apply if reboots(reboot_required) => Step::Reboot,
            Step::Apply => Step::Postcheck,
            Step::Reboot if host.rolling_back.is_some() => Step::Verify,
            Step::Reboot => Step::Postcheck,
            Step::Postcheck if host.config.cleanup_kernels => Step::Cleanup,
            Step::Postcheck | Step::Cleanup => return HostState::Done,
            // A rollback reboots only when the host asks (an older kernel to boot), whatever
            // the plan said for the way forward.
            Step::Rollback if reboot_required && host.config.reboot != RebootPlan::Never => {
                Step::Reboot
            }
            Step::Rollback => Step::Verify,
            // A rollback the host was lost in is carried on; otherwise, at the plan's versions
            // and healthy, it is checked like any patched host.
            Step::Reconcile if host.rolling_back.is_some() => Step::Rollback,
            Step::Reconcile => Step::Postcheck,
            Step::Verify => {
                let reason = host.rolling_back.clone().unwrap_or_default();
                return HostState::RolledBack { reason };
            }
        };
        HostState::Ready { next }
    }

    fn step_failed(&mut self, index: usize, step: Step, reason: String) {
        if step == Step::Cleanup {
            // The host is patched and verified; kernels left behind are reported, not a failure.
            self.set_state(index, HostState::Done);
            return;
        }
        // A host left changed is brought back to its recorded versions, then verified: after
        // a postcheck that failed, and after an apply that failed (a postinst that exited 1
        // leaves packages half-configured). Not after a rollback or a verify (nothing more to
        // fall back to), nor when the policy leaves rollbacks to people.
        if step == Step::Reconcile && self.hosts[index].rolling_back.is_some() {
            // Lost while rolling back: not at the plan's versions, as expected; carried on.
            self.set_state(index, HostState::Ready { next: Step::Rollback });
            return;
        }
        let automatic = self.config.rollback == RollbackPolicy::Automatic;
        let brought_back = matches!(step, Step::Postcheck | Step::Apply | Step::Reconcile);
        if brought_back && automatic && self.hosts[index].rolling_back.is_none() {
            self.hosts[index].rolling_back = Some(format!("{} failed: {reason}", step.as_str()));
            self.set_state(index, HostState::Ready { next: Step::Rollback });
        } else {
            self.set_state(index, HostState::Failed { step, reason });
        }
    }

    fn check_deadlines(&mut self, now: Millis) {
        for index in 0..self.hosts.len() {
            let HostState::Running { step, token, deadline, .. } = self.hosts[index].state else {
                continue;
            };
            if deadline > now {
                continue;
            }
            let host = self.hosts[index].config.name.clone();
            self.actions.push_back(Action::Abandon { host, step, token });
            self.finish_record(index, now, StepOutcome::TimedOut);
            if self.is_ahead(index) {
                self.retry_when_open(index);
                continue;
            }
            let waited = format!("{step:?} timed out after {} s", self.timeout_of(step) / 1000);
            if step == Step::Reboot {
                let reason = format!("did not come back: {waited}");
                self.set_state(index, HostState::Lost { step, reason });
            } else if step == Step::Apply {
                // Whether the apply still runs on the host is unknown: a rollback now would
                // race it. The host is failed, for `rollout reconcile` to check on.
                let reason = format!("{waited}; it may still be running on the host");
                self.set_state(index, HostState::Failed { step, reason });
            } else {
                self.step_failed(index, step, waited);
            }
        }
    }

    /// An ahead precheck that did not pass decides nothing yet: the host waits for its wave
    /// and is prechecked again then, or is skipped when the rollout stopped meanwhile.
    fn retry_when_open(&mut self, index: usize) {
        let state = match &self.stop {
            Some(reason) => HostState::Skipped { reason: not_started(reason) },
            None => HostState::Pending,
        };
        self.set_state(index, state);
    }

    fn timeout_of(&self, step: Step) -> Millis {
        let timeouts = &self.config.timeouts;
        match step {
            Step::Precheck => timeouts.precheck,
            Step::Snapshot => timeouts.snapshot,
            Step::Apply => timeouts.apply,
            Step::Reboot => timeouts.reboot,
            Step::Postcheck | Step::Verify => timeouts.postcheck,
            Step::Rollback | Step::Reconcile => timeouts.rollback,
            Step::Cleanup => timeouts.cleanup,
        }
    }

    fn recover(&mut self, now: Millis) {
        for index in 0..self.hosts.len() {
            if let HostState::Running { step, .. } = self.hosts[index].state {
                self.finish_record(index, now, StepOutcome::Interrupted);
                self.start_step(index, step, now, true);
            }
        }
    }

    /// A host lost mid-step, or failed with its apply perhaps still running, is looked at
    /// again: reopened (a finished rollout too, as a rollback by hand does) with the reconcile
    /// step next. Nothing else may be reconciled: a host that ended otherwise is known.
    fn reconcile(&mut self, name: &str) -> Result<(), Refused> {
        let Some(index) = self.hosts.iter().position(|h| h.config.name == name) else {
            return Err(Refused(format!("host `{name}` is not in this rollout")));
        };
        match &self.hosts[index].state {
            HostState::Lost { .. } => {}
            HostState::Failed { step: Step::Apply | Step::Rollback | Step::Reconcile, .. } => {}
            state => {
                return Err(Refused(format!(
                    "host `{name}` is {}: only a host lost mid-step, or failed while changing \
                     packages, is reconciled",
                    state.name()
                )));
            }
        }
        self.set_state(index, HostState::Ready { next: Step::Reconcile });
        Ok(())
    }

    fn roll_back_by_hand(&mut self, name: &str) -> Result<(), Refused> {
        let Some(index) = self.hosts.iter().position(|h| h.config.name == name) else {
            return Err(Refused(format!("host `{name}` is not in this rollout")));
        };
        let host = &self.hosts[index];
        let changed = host.steps.iter().any(|s| s.step == Step::Apply);
        match &host.state {
            HostState::Done | HostState::Failed { .. } if changed => {}
            state => {
                return Err(Refused(format!(
                    "host `{name}` is {}{}: only a host that was patched and is done or failed can be rolled back",
                    state.name(),
                    if changed { "" } else { " and was never patched" },
                )));
            }
        }
        self.hosts[index].rolling_back = Some("rolled back by hand".into());
        self.set_state(index, HostState::Ready { next: Step::Rollback });
        Ok(())
    }

    /// Starts what can start; closes waves; ends the rollout.
    fn advance(&mut self, now: Millis) {
        if self.phase == Phase::NotStarted {
            return;
        }
        self.apply_cutoff(now);
        loop {
            // Hosts between steps go on unless paused; while stopping, only hosts already
            // changing (or rolling back) are still in `Ready`.
            if self.phase != Phase::Paused {
                for index in 0..self.hosts.len() {
                    let HostState::Ready { next } = self.hosts[index].state else { continue };
                    if self.stop.is_some() && is_before_change(next) {
                        // Its precheck or snapshot was running when the rollout stopped:
                        // nothing has changed on it, and nothing may start now.
                        let reason =
                            "stopped before its apply: the rollout halted or was cancelled";
                        self.set_state(index, HostState::Skipped { reason: reason.into() });
                    } else if !self.is_ahead(index) {
                        self.start_step(index, next, now, false);
                    }
                }
            }
            if self.phase == Phase::Running {
                let in_flight = self
                    .hosts
                    .iter()
                    .filter(|h| {
                        matches!(h.state, HostState::Ready { .. } | HostState::Running { .. })
                    })
                    .count();
                let room = self.config.max_in_flight.saturating_sub(in_flight);
                let pending = self.pending_in(self.current_wave, room, false);
                let pending = if pending.is_empty() { self.ahead(now, room) } else { pending };
                for &index in &pending {
                    self.start_step(index, Step::Precheck, now, false);
                }
                if !pending.is_empty() {
                    continue;
                }
            }
            if !self.close_wave(now) {
                break;
            }
        }
        let all_final = self.hosts.iter().all(|h| h.state.is_final());
        if self.phase == Phase::Stopping && all_final {
            self.phase = match self.stop {
                Some(StopReason::Cancelled) => Phase::Cancelled,
                _ => Phase::Halted,
            };
            self.close_remaining_waves();
            self.events.push_back(Event::Finished { phase: self.phase });
        }
    }

    /// With `precheck_ahead`, once every host of the current wave has started (and, with
    /// `ahead_after_wave_prechecks`, is past its precheck): the next wave's hosts whose precheck
    /// can run now, up to `room`. None at or after the cutoff.
    fn ahead(&self, now: Millis, room: usize) -> Vec<usize> {
        let cutoff_passed = self.config.start_no_host_after.is_some_and(|c| now >= c);
        if self.config.precheck_ahead.is_none() || self.stop.is_some() || cutoff_passed {
            return Vec::new();
        }
        if self.config.ahead_after_wave_prechecks && self.wave_prechecking() {
            return Vec::new();
        }
        // Once: a host whose ahead precheck did not pass waits for its wave.
        self.pending_in(self.current_wave + 1, room, true)
    }

    /// Whether a host of the current wave is still before its apply: prechecking, taking its
    /// snapshot, or about to.
    fn wave_prechecking(&self) -> bool {
        let Some(wave) = self.waves.get(self.current_wave) else { return false };
        wave.hosts.iter().any(|&i| match self.hosts[i].state {
            HostState::Ready { next } => matches!(next, Step::Precheck | Step::Snapshot),
            HostState::Running { step, .. } => matches!(step, Step::Precheck | Step::Snapshot),
            _ => false,
        })
    }

    /// Up to `room` hosts of `wave` still `Pending`; with `untouched`, only those that never
    /// ran a step.
    fn pending_in(&self, wave: usize, room: usize, untouched: bool) -> Vec<usize> {
        let Some(wave) = self.waves.get(wave) else { return Vec::new() };
        wave.hosts
            .iter()
            .copied()
            .filter(|&i| self.hosts[i].state == HostState::Pending)
            .filter(|&i| !untouched || self.hosts[i].steps.is_empty())
            .take(room)
            .collect()
    }

    /// At or after the window's cutoff, every host that has not started is skipped, saying
    /// why (a host prechecked ahead of its wave has not started); hosts already started go on.
    /// Checked whatever the phase, so a rollout paused across its cutoff does not start hosts
    /// late when resumed.
    fn apply_cutoff(&mut self, now: Millis) {
        let Some(cutoff) = self.config.start_no_host_after else { return };
        if now < cutoff || self.phase.is_final() {
            return;
        }
        let waiting: Vec<usize> = (0..self.hosts.len())
            .filter(|&i| match self.hosts[i].state {
                HostState::Pending => true,
                HostState::Ready { next } => self.is_ahead(i) && is_before_change(next),
                HostState::Running { step: Step::Precheck, .. } => self.is_ahead(i),
                _ => false,
            })
            .collect();
        if waiting.is_empty() {
            return;
        }
        self.events.push_back(Event::CutoffPassed { cutoff, skipped: waiting.len() });
        for index in waiting {
            if let HostState::Running { step, token, .. } = self.hosts[index].state {
                // Prechecking ahead of a wave that now will not open: its answer is not needed.
                let host = self.hosts[index].config.name.clone();
                self.actions.push_back(Action::Abandon { host, step, token });
                let reason = "abandoned: the window's cutoff passed".to_string();
                self.finish_record(index, now, StepOutcome::Failed { reason });
            }
            let reason = format!("{CUTOFF_REASON} before it started");
            self.set_state(index, HostState::Skipped { reason });
        }
    }

    /// When every host of the current wave is final, or verified with only its old-kernel
    /// cleanup left (which changes nothing a later wave depends on and cannot fail the host):
    /// records it and, when running, opens the next one. The last wave waits for every host of
    /// the rollout to be final. True when a new wave opened.
    fn close_wave(&mut self, now: Millis) -> bool {
        let Some(wave) = self.waves.get(self.current_wave) else { return false };
        let last = self.current_wave + 1 == self.waves.len();
        let closed = if last {
            self.hosts.iter().all(|h| h.state.is_final())
        } else {
            wave.hosts.iter().all(|&i| {
                let state = &self.hosts[i].state;
                state.is_final() || only_cleanup_left(state)
            })
        };
        if wave.finished || !closed {
            return false;
        }
        if self.phase != Phase::Running {
            return false;
        }
        self.waves[self.current_wave].finished = true;
        let wave = &self.waves[self.current_wave];
        self.events.push_back(Event::WaveFinished {
            wave: self.current_wave,
            name: wave.name.clone(),
            failures: wave.failures,
            budget: wave.budget,
        });
        if self.current_wave + 1 < self.waves.len() {
            self.start_wave(self.current_wave + 1, now);
            true
        } else {
            self.phase = Phase::Completed;
            self.events.push_back(Event::Finished { phase: Phase::Completed });
            false
        }
    }

    fn close_remaining_waves(&mut self) {
        for (index, wave) in self.waves.iter_mut().enumerate() {
            let started = index <= self.current_wave;
            if !wave.finished && started {
                wave.finished = true;
                self.events.push_back(Event::WaveFinished {
                    wave: index,
                    name: wave.name.clone(),
                    failures: wave.failures,
                    budget: wave.budget,
                });
            }
        }
    }
}

/// How the reason of a host skipped at the cutoff begins, for reports and tests to find it.
pub const CUTOFF_REASON: &str = "cutoff: the maintenance window's cutoff passed";

fn not_started(reason: &StopReason) -> String {
    match reason {
        StopReason::Halted(why) => format!("not started: the rollout halted ({why})"),
        StopReason::Cancelled => "not started: the rollout was cancelled".to_string(),
    }
}

/// Patched and verified, with the old-kernel cleanup to do or doing.
fn only_cleanup_left(state: &HostState) -> bool {
    matches!(
        state,
        HostState::Ready { next: Step::Cleanup } | HostState::Running { step: Step::Cleanup, .. }
    )
}

/// Steps before anything on the host changes: a stopped rollout does not start them.
fn is_before_change(step: Step) -> bool {
    matches!(step, Step::Precheck | Step::Snapshot | Step::Apply)
}
