//! The machine's words in their stored forms (`protocol::journal`, `protocol::rollout`): every
//! variant goes there and back unchanged, and is spelled as the machine names it.

use model::plan::Limit;
use protocol::journal::{EventV1, HostStateV1, InputV1, PhaseV1, StepV1};
use protocol::rollout::ConfigV1;
use rollout::{
    Config, Event, HostConfig, HostState, Input, Phase, RebootPlan, RollbackPolicy, Step,
    StepResult, Timeouts, WaveConfig,
};

const STEPS: [Step; 9] = [
    Step::Precheck,
    Step::Snapshot,
    Step::Apply,
    Step::Reboot,
    Step::Postcheck,
    Step::Rollback,
    Step::Verify,
    Step::Cleanup,
    Step::Reconcile,
];

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn every_step_is_stored_under_its_own_name() {
    for step in STEPS {
        assert_eq!(json(&StepV1::from(step)), step.as_str(), "{step:?}");
        assert_eq!(Step::from(StepV1::from(step)), step);
    }
}

#[test]
fn every_host_state_is_stored_under_its_own_name_and_comes_back() {
    let reason = || "r".to_owned();
    let states = [
        HostState::Pending,
        HostState::Ready { next: Step::Apply },
        HostState::Running { step: Step::Reboot, token: 3, deadline: 9, resume: true },
        HostState::Done,
        HostState::Failed { step: Step::Postcheck, reason: reason() },
        HostState::RolledBack { reason: reason() },
        HostState::Skipped { reason: reason() },
        HostState::Lost { step: Step::Verify, reason: reason() },
    ];
    for state in states {
        let stored = HostStateV1::from(&state);
        assert_eq!(json(&stored)["state"], state.name(), "{state:?}");
        assert_eq!(HostState::from(stored), state);
    }
}

#[test]
fn every_input_and_event_comes_back_from_its_stored_form() {
    let inputs = [
        Input::Start,
        Input::StepFinished { token: 1, result: StepResult::Succeeded { reboot_required: true } },
        Input::StepFinished { token: 2, result: StepResult::Failed { reason: "f".into() } },
        Input::StepFinished { token: 3, result: StepResult::Unreachable { reason: "u".into() } },
        Input::Tick,
        Input::Pause,
        Input::Resume,
        Input::Cancel,
        Input::Recover,
        Input::RollBack { host: "a".into() },
        Input::Reconcile { host: "b".into() },
    ];
    let names = [
        "start",
        "step_finished",
        "step_finished",
        "step_finished",
        "tick",
        "pause",
        "resume",
        "cancel",
        "recover",
        "roll_back",
        "reconcile",
    ];
    for (input, name) in inputs.into_iter().zip(names) {
        let stored = InputV1::from(&input);
        assert_eq!(json(&stored)["input"], name);
        assert_eq!(Input::from(stored), input);
    }
    let phases = [
        Phase::NotStarted,
        Phase::Running,
        Phase::Paused,
        Phase::Stopping,
        Phase::Completed,
        Phase::Halted,
        Phase::Cancelled,
    ];
    let phase_names =
        ["not_started", "running", "paused", "stopping", "completed", "halted", "cancelled"];
    for (phase, name) in phases.into_iter().zip(phase_names) {
        assert_eq!(json(&PhaseV1::from(phase)), name);
        assert_eq!(Phase::from(PhaseV1::from(phase)), phase);
    }
    let events = [
        Event::WaveStarted { wave: 1, name: "w".into() },
        Event::WaveFinished { wave: 1, name: "w".into(), failures: 2, budget: 3 },
        Event::HostChanged { host: "h".into(), from: "ready".into(), to: HostState::Done },
        Event::Halted { reason: "r".into(), in_flight: 4 },
        Event::CutoffPassed { cutoff: 5, skipped: 6 },
        Event::Paused,
        Event::Resumed,
        Event::Cancelled,
        Event::Finished { phase: Phase::Halted },
    ];
    for event in events {
        assert_eq!(Event::from(EventV1::from(&event)), event);
    }
}

#[test]
fn a_config_comes_back_from_its_stored_form() {
    let host = |name: &str, reboot| HostConfig {
        name: name.into(),
        snapshot: true,
        reboot,
        cleanup_kernels: true,
    };
    let config = Config {
        waves: vec![WaveConfig {
            name: "w".into(),
            canary: true,
            hosts: vec![
                host("a", RebootPlan::Always),
                host("b", RebootPlan::IfRequired),
                host("c", RebootPlan::Never),
            ],
        }],
        error_budget: Limit::Percent(10),
        max_in_flight: usize::MAX,
        timeouts: Timeouts { cleanup: 7, ..Timeouts::default() },
        rollback: RollbackPolicy::Manual,
        start_no_host_after: Some(8),
        precheck_ahead: Some(9),
        ahead_after_wave_prechecks: true,
    };
    let stored = ConfigV1::from(&config);
    let reboots: Vec<serde_json::Value> = json(&stored)["waves"][0]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reboot"].clone())
        .collect();
    assert_eq!(reboots, ["always", "if_required", "never"]);
    assert_eq!(json(&stored)["rollback"], "manual");
    assert_eq!(Config::from(stored), config);
}
