//! What a rollout is told at its start: the waves, the budget, the timeouts, the policies.
//! Kept with the rollout as `protocol::rollout::ConfigV1` (`stored.rs` converts).

use model::plan::{Limit, Plan, PlannedReboot};

use crate::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub waves: Vec<WaveConfig>,
    /// Failures tolerated per wave; one more halts the rollout. Canary waves tolerate none.
    pub error_budget: Limit,
    /// Hosts with a step in flight at once, across the rollout (SSH sessions, operator sanity).
    pub max_in_flight: usize,
    pub timeouts: Timeouts,
    pub rollback: RollbackPolicy,
    /// The maintenance window's cutoff: no host starts (begins its precheck) at or after this
    /// instant. Hosts already started run to their end; hosts not started by then end
    /// `Skipped` with a reason saying so. `None`: no cutoff (a rollout started by hand).
    pub start_no_host_after: Option<Millis>,
    /// Prechecks of the next wave's hosts run while the current wave runs, so that its hosts
    /// start their apply the moment it opens; a precheck older than this when its wave opens is
    /// run again. A precheck changes nothing on a host: an ahead one that fails is not counted,
    /// the host is prechecked again when its wave opens. `None`: each wave's prechecks wait for
    /// the wave (how rollouts journaled before this option was added are replayed).
    pub precheck_ahead: Option<Millis>,
    /// With `precheck_ahead`, the next wave's prechecks wait until every host of the current
    /// wave is past its own precheck and snapshot. Those are on the rollout's critical path (the
    /// first wave's above all: nothing runs before them), and the next wave's would compete with
    /// them for patchctl's machine and the network; they still have the current wave's apply
    /// and reboot to run in. `false`: they start at once (how rollouts journaled before this
    /// option was added are replayed).
    pub ahead_after_wave_prechecks: bool,
}

/// How old an ahead precheck may be when its wave opens, by default.
pub const PRECHECK_MAX_AGE: Millis = 10 * 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveConfig {
    pub name: String,
    pub canary: bool,
    pub hosts: Vec<HostConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    pub name: String,
    /// Run the snapshot hook between the prechecks and the apply.
    pub snapshot: bool,
    pub reboot: RebootPlan,
    /// Remove old kernels after the postchecks pass.
    pub cleanup_kernels: bool,
}

/// When a host reboots after its apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootPlan {
    Always,
    /// When the apply says the host asks for it.
    IfRequired,
    Never,
}

/// How long each step may take before the host is given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub precheck: Millis,
    pub snapshot: Millis,
    pub apply: Millis,
    /// From the reboot command until the host is back with a new boot.
    pub reboot: Millis,
    pub postcheck: Millis,
    pub rollback: Millis,
    pub cleanup: Millis,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MINUTE: Millis = 60_000;
        Timeouts {
            precheck: 5 * MINUTE,
            snapshot: 15 * MINUTE,
            apply: 30 * MINUTE,
            reboot: 15 * MINUTE,
            postcheck: 10 * MINUTE,
            rollback: 30 * MINUTE,
            cleanup: 10 * MINUTE,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RollbackPolicy {
    /// A host whose postchecks fail is downgraded to its recorded versions and checked again.
    #[default]
    Automatic,
    /// It is left failed for an operator to decide (`patchctl rollback`).
    Manual,
}

impl Config {
    /// The rollout of a plan: its waves, its error budget, the host's reboot decisions.
    pub fn from_plan(plan: &Plan, snapshot: impl Fn(&str) -> bool) -> Config {
        let waves = plan
            .waves
            .iter()
            .map(|wave| WaveConfig {
                name: wave.name.clone(),
                canary: wave.canary,
                hosts: wave
                    .hosts
                    .iter()
                    .map(|name| HostConfig {
                        name: name.clone(),
                        snapshot: snapshot(name),
                        cleanup_kernels: plan.options.keep_kernels > 0,
                        reboot: match plan.host(name).map(|h| h.reboot) {
                            Some(PlannedReboot::Yes) => RebootPlan::Always,
                            Some(PlannedReboot::No) => RebootPlan::Never,
                            Some(PlannedReboot::IfRequired) | None => RebootPlan::IfRequired,
                        },
                    })
                    .collect(),
            })
            .collect();
        Config {
            waves,
            error_budget: plan.options.strategy.error_budget,
            max_in_flight: usize::MAX,
            timeouts: Timeouts::default(),
            rollback: RollbackPolicy::Automatic,
            start_no_host_after: None,
            precheck_ahead: Some(PRECHECK_MAX_AGE),
            ahead_after_wave_prechecks: true,
        }
    }
}
