//! What the application counts for `/metrics` (through the `metrics` facade: a no-op until the
//! server installs its recorder). Labels are bounded sets (the step, the kind of failure),
//! never a host's name: a fleet of 50,000 hosts must not make 50,000 series.

use std::time::Duration;

use rollout::{Step, StepResult};

/// A host step ended after `took`.
pub fn step_finished(step: Step, result: &StepResult, took: Duration) {
    let step = step.as_str();
    metrics::histogram!("patchctl_rollout_step_seconds", "step" => step).record(took.as_secs_f64());
    let reason = match result {
        StepResult::Succeeded { .. } => return,
        StepResult::Failed { .. } => "failed",
        StepResult::Unreachable { .. } => "unreachable",
    };
    metrics::counter!("patchctl_rollout_step_failures_total", "step" => step, "reason" => reason)
        .increment(1);
}
