//! The stored forms of the rollout's words (`protocol::rollout` for its configuration,
//! `protocol::journal` for its journal's inputs and events), and the conversions to and from
//! them, so that the machine's types can change without changing a journal written before.

use protocol::journal::{EventV1, HostStateV1, InputV1, PhaseV1, StepResultV1, StepV1};
use protocol::rollout::{
    ConfigV1, HostConfigV1, RebootPlanV1, RollbackPolicyV1, TimeoutsV1, WaveConfigV1,
};

use crate::{
    Config, Event, HostConfig, HostState, Input, Phase, RebootPlan, RollbackPolicy, Step,
    StepOutcome, StepRecord, StepResult, Timeouts, WaveConfig,
};

/// A count stored as a u64: every usize fits where patchctl runs (64 bits); a larger one read
/// on a 32-bit machine is taken as the largest.
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl From<&Config> for ConfigV1 {
    fn from(config: &Config) -> ConfigV1 {
        ConfigV1 {
            waves: config
                .waves
                .iter()
                .map(|wave| WaveConfigV1 {
                    name: wave.name.clone(),
                    canary: wave.canary,
                    hosts: wave.hosts.iter().map(HostConfigV1::from).collect(),
                })
                .collect(),
            error_budget: config.error_budget.into(),
            max_in_flight: config.max_in_flight as u64,
            timeouts: TimeoutsV1 {
                precheck: config.timeouts.precheck,
                snapshot: config.timeouts.snapshot,
                apply: config.timeouts.apply,
                reboot: config.timeouts.reboot,
                postcheck: config.timeouts.postcheck,
                rollback: config.timeouts.rollback,
                cleanup: config.timeouts.cleanup,
            },
            rollback: match config.rollback {
                RollbackPolicy::Automatic => RollbackPolicyV1::Automatic,
                RollbackPolicy::Manual => RollbackPolicyV1::Manual,
            },
            start_no_host_after: config.start_no_host_after,
            precheck_ahead: config.precheck_ahead,
            ahead_after_wave_prechecks: config.ahead_after_wave_prechecks,
        }
    }
}

impl From<ConfigV1> for Config {
    fn from(config: ConfigV1) -> Config {
        Config {
            waves: config
                .waves
                .into_iter()
                .map(|wave| WaveConfig {
                    name: wave.name,
                    canary: wave.canary,
                    hosts: wave.hosts.into_iter().map(HostConfig::from).collect(),
                })
                .collect(),
            error_budget: config.error_budget.into(),
            max_in_flight: count(config.max_in_flight),
            timeouts: Timeouts {
                precheck: config.timeouts.precheck,
                snapshot: config.timeouts.snapshot,
                apply: config.timeouts.apply,
                reboot: config.timeouts.reboot,
                postcheck: config.timeouts.postcheck,
                rollback: config.timeouts.rollback,
                cleanup: config.timeouts.cleanup,
            },
            rollback: match config.rollback {
                RollbackPolicyV1::Automatic => RollbackPolicy::Automatic,
                RollbackPolicyV1::Manual => RollbackPolicy::Manual,
            },
            start_no_host_after: config.start_no_host_after,
            precheck_ahead: config.precheck_ahead,
            ahead_after_wave_prechecks: config.ahead_after_wave_prechecks,
        }
    }
}

impl From<&HostConfig> for HostConfigV1 {
    fn from(host: &HostConfig) -> HostConfigV1 {
        HostConfigV1 {
            name: host.name.clone(),
            snapshot: host.snapshot,
            reboot: match host.reboot {
                RebootPlan::Always => RebootPlanV1::Always,
                RebootPlan::IfRequired => RebootPlanV1::IfRequired,
                RebootPlan::Never => RebootPlanV1::Never,
            },
            cleanup_kernels: host.cleanup_kernels,
        }
    }
}

impl From<HostConfigV1> for HostConfig {
    fn from(host: HostConfigV1) -> HostConfig {
        HostConfig {
            name: host.name,
            snapshot: host.snapshot,
            reboot: match host.reboot {
                RebootPlanV1::Always => RebootPlan::Always,
                RebootPlanV1::IfRequired => RebootPlan::IfRequired,
                RebootPlanV1::Never => RebootPlan::Never,
            },
            cleanup_kernels: host.cleanup_kernels,
        }
    }
}

impl From<Step> for StepV1 {
    fn from(step: Step) -> StepV1 {
        match step {
            Step::Precheck => StepV1::Precheck,
            Step::Snapshot => StepV1::Snapshot,
            Step::Apply => StepV1::Apply,
            Step::Reboot => StepV1::Reboot,
            Step::Postcheck => StepV1::Postcheck,
            Step::Rollback => StepV1::Rollback,
            Step::Verify => StepV1::Verify,
            Step::Cleanup => StepV1::Cleanup,
            Step::Reconcile => StepV1::Reconcile,
        }
    }
}

impl From<StepV1> for Step {
    fn from(step: StepV1) -> Step {
        match step {
            StepV1::Precheck => Step::Precheck,
            StepV1::Snapshot => Step::Snapshot,
            StepV1::Apply => Step::Apply,
            StepV1::Reboot => Step::Reboot,
            StepV1::Postcheck => Step::Postcheck,
            StepV1::Rollback => Step::Rollback,
            StepV1::Verify => Step::Verify,
            StepV1::Cleanup => Step::Cleanup,
            StepV1::Reconcile => Step::Reconcile,
        }
    }
}

impl From<&Input> for InputV1 {
    fn from(input: &Input) -> InputV1 {
        match input {
            Input::Start => InputV1::Start,
            Input::StepFinished { token, result } => {
                InputV1::StepFinished { token: *token, result: result.into() }
            }
            Input::Tick => InputV1::Tick,
            Input::Pause => InputV1::Pause,
            Input::Resume => InputV1::Resume,
            Input::Cancel => InputV1::Cancel,
            Input::Recover => InputV1::Recover,
            Input::RollBack { host } => InputV1::RollBack { host: host.clone() },
            Input::Reconcile { host } => InputV1::Reconcile { host: host.clone() },
        }
    }
}

impl From<InputV1> for Input {
    fn from(input: InputV1) -> Input {
        match input {
            InputV1::Start => Input::Start,
            InputV1::StepFinished { token, result } => {
                Input::StepFinished { token, result: result.into() }
            }
            InputV1::Tick => Input::Tick,
            InputV1::Pause => Input::Pause,
            InputV1::Resume => Input::Resume,
            InputV1::Cancel => Input::Cancel,
            InputV1::Recover => Input::Recover,
            InputV1::RollBack { host } => Input::RollBack { host },
            InputV1::Reconcile { host } => Input::Reconcile { host },
        }
    }
}

impl From<&StepResult> for StepResultV1 {
    fn from(result: &StepResult) -> StepResultV1 {
        match result {
            StepResult::Succeeded { reboot_required } => {
                StepResultV1::Succeeded { reboot_required: *reboot_required }
            }
            StepResult::Failed { reason } => StepResultV1::Failed { reason: reason.clone() },
            StepResult::Unreachable { reason } => {
                StepResultV1::Unreachable { reason: reason.clone() }
            }
        }
    }
}

impl From<StepResultV1> for StepResult {
    fn from(result: StepResultV1) -> StepResult {
        match result {
            StepResultV1::Succeeded { reboot_required } => {
                StepResult::Succeeded { reboot_required }
            }
            StepResultV1::Failed { reason } => StepResult::Failed { reason },
            StepResultV1::Unreachable { reason } => StepResult::Unreachable { reason },
        }
    }
}

impl From<&Event> for EventV1 {
    fn from(event: &Event) -> EventV1 {
        match event {
            Event::WaveStarted { wave, name } => {
                EventV1::WaveStarted { wave: *wave as u64, name: name.clone() }
            }
            Event::WaveFinished { wave, name, failures, budget } => EventV1::WaveFinished {
                wave: *wave as u64,
                name: name.clone(),
                failures: *failures as u64,
                budget: *budget as u64,
            },
            Event::HostChanged { host, from, to } => {
                EventV1::HostChanged { host: host.clone(), from: from.clone(), to: to.into() }
            }
            Event::Halted { reason, in_flight } => {
                EventV1::Halted { reason: reason.clone(), in_flight: *in_flight as u64 }
            }
            Event::CutoffPassed { cutoff, skipped } => {
                EventV1::CutoffPassed { cutoff: *cutoff, skipped: *skipped as u64 }
            }
            Event::Paused => EventV1::Paused,
            Event::Resumed => EventV1::Resumed,
            Event::Cancelled => EventV1::Cancelled,
            Event::Finished { phase } => EventV1::Finished { phase: (*phase).into() },
        }
    }
}

impl From<EventV1> for Event {
    fn from(event: EventV1) -> Event {
        match event {
            EventV1::WaveStarted { wave, name } => Event::WaveStarted { wave: count(wave), name },
            EventV1::WaveFinished { wave, name, failures, budget } => Event::WaveFinished {
                wave: count(wave),
                name,
                failures: count(failures),
                budget: count(budget),
            },
            EventV1::HostChanged { host, from, to } => {
                Event::HostChanged { host, from, to: to.into() }
            }
            EventV1::Halted { reason, in_flight } => {
                Event::Halted { reason, in_flight: count(in_flight) }
            }
            EventV1::CutoffPassed { cutoff, skipped } => {
                Event::CutoffPassed { cutoff, skipped: count(skipped) }
            }
            EventV1::Paused => Event::Paused,
            EventV1::Resumed => Event::Resumed,
            EventV1::Cancelled => Event::Cancelled,
            EventV1::Finished { phase } => Event::Finished { phase: phase.into() },
        }
    }
}

impl From<&HostState> for HostStateV1 {
    fn from(state: &HostState) -> HostStateV1 {
        match state {
            HostState::Pending => HostStateV1::Pending,
            HostState::Ready { next } => HostStateV1::Ready { next: (*next).into() },
            HostState::Running { step, token, deadline, resume } => HostStateV1::Running {
                step: (*step).into(),
                token: *token,
                deadline: *deadline,
                resume: *resume,
            },
            HostState::Done => HostStateV1::Done,
            HostState::Failed { step, reason } => {
                HostStateV1::Failed { step: (*step).into(), reason: reason.clone() }
            }
            HostState::RolledBack { reason } => HostStateV1::RolledBack { reason: reason.clone() },
            HostState::Skipped { reason } => HostStateV1::Skipped { reason: reason.clone() },
            HostState::Lost { step, reason } => {
                HostStateV1::Lost { step: (*step).into(), reason: reason.clone() }
            }
        }
    }
}

impl From<HostStateV1> for HostState {
    fn from(state: HostStateV1) -> HostState {
        match state {
            HostStateV1::Pending => HostState::Pending,
            HostStateV1::Ready { next } => HostState::Ready { next: next.into() },
            HostStateV1::Running { step, token, deadline, resume } => {
                HostState::Running { step: step.into(), token, deadline, resume }
            }
            HostStateV1::Done => HostState::Done,
            HostStateV1::Failed { step, reason } => HostState::Failed { step: step.into(), reason },
            HostStateV1::RolledBack { reason } => HostState::RolledBack { reason },
            HostStateV1::Skipped { reason } => HostState::Skipped { reason },
            HostStateV1::Lost { step, reason } => HostState::Lost { step: step.into(), reason },
        }
    }
}

impl From<Phase> for PhaseV1 {
    fn from(phase: Phase) -> PhaseV1 {
        match phase {
            Phase::NotStarted => PhaseV1::NotStarted,
            Phase::Running => PhaseV1::Running,
            Phase::Paused => PhaseV1::Paused,
            Phase::Stopping => PhaseV1::Stopping,
            Phase::Completed => PhaseV1::Completed,
            Phase::Halted => PhaseV1::Halted,
            Phase::Cancelled => PhaseV1::Cancelled,
        }
    }
}

impl From<PhaseV1> for Phase {
    fn from(phase: PhaseV1) -> Phase {
        match phase {
            PhaseV1::NotStarted => Phase::NotStarted,
            PhaseV1::Running => Phase::Running,
            PhaseV1::Paused => Phase::Paused,
            PhaseV1::Stopping => Phase::Stopping,
            PhaseV1::Completed => Phase::Completed,
            PhaseV1::Halted => Phase::Halted,
            PhaseV1::Cancelled => Phase::Cancelled,
        }
    }
}

impl From<&StepRecord> for protocol::output::rollout::StepRecordV1 {
    fn from(record: &StepRecord) -> Self {
        use protocol::output::rollout::{StepOutcomeV1, StepRecordV1};
        StepRecordV1 {
            step: record.step.into(),
            started_at: record.started_at,
            finished_at: record.finished_at,
            outcome: record.outcome.as_ref().map(|outcome| match outcome {
                StepOutcome::Succeeded => StepOutcomeV1::Succeeded,
                StepOutcome::Failed { reason } => StepOutcomeV1::Failed { reason: reason.clone() },
                StepOutcome::Unreachable { reason } => {
                    StepOutcomeV1::Unreachable { reason: reason.clone() }
                }
                StepOutcome::TimedOut => StepOutcomeV1::TimedOut,
                StepOutcome::Interrupted => StepOutcomeV1::Interrupted,
            }),
        }
    }
}
