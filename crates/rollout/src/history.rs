//! What a finished rollout teaches the wave forecast (`model::forecast`): how long each host
//! that ran to its end took, by its steps' own times, split as the forecast needs it.

use model::PackageManagerKind;
use model::forecast::HostRun;

use crate::{HostState, Rollout, Step, StepOutcome, StepRecord};

impl Rollout {
    /// One [`HostRun`] per host that ended `done` after a plain run: one that was rolled
    /// back, reconciled or lost says how long a failure took, not a run. `package_manager`
    /// gives each host's (from its plan); a host it does not know is left out.
    pub fn host_runs(
        &self,
        package_manager: impl Fn(&str) -> Option<PackageManagerKind>,
    ) -> Vec<HostRun> {
        self.hosts()
            .filter(|(_, state)| **state == HostState::Done)
            .filter_map(|(host, _)| {
                let steps = self.host_steps(host);
                let unusual = [Step::Rollback, Step::Verify, Step::Reconcile];
                if steps.iter().any(|r| unusual.contains(&r.step)) {
                    return None;
                }
                let took =
                    |wanted: &[Step]| -> u64 { wanted.iter().map(|&s| last_run(steps, s)).sum() };
                Some(HostRun {
                    package_manager: package_manager(host)?,
                    rebooted: steps.iter().any(|r| {
                        r.step == Step::Reboot && r.outcome == Some(StepOutcome::Succeeded)
                    }),
                    before_change_ms: took(&[Step::Precheck, Step::Snapshot]),
                    change_ms: took(&[Step::Apply, Step::Reboot, Step::Postcheck]),
                    cleanup_ms: took(&[Step::Cleanup]),
                })
            })
            .collect()
    }
}

/// How long the last finished run of `step` took; 0 when it did not run. The last, because a
/// precheck run ahead and found too old when its wave opened is run again, and the wave waited
/// only for the second.
fn last_run(steps: &[StepRecord], step: Step) -> u64 {
    steps
        .iter()
        .rev()
        .filter(|r| r.step == step)
        .find_map(|r| r.finished_at.map(|end| end.saturating_sub(r.started_at)))
        .unwrap_or(0)
}
