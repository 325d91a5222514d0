//! `rollout start --dry-run`: every host of a plan asked what its rollout would meet, changing
//! nothing. The prechecks that only read (the host's state, its package manager's health and
//! lock, free space, the host still as planned, the backup) and the package manager's own
//! simulation of the apply (`pkgmgr::apply::simulate_command`).
//!
//! What a rollout's precheck does and this does not: refresh the package lists, recover an
//! interrupted dpkg, wait for a lock, remove old unit outputs, record facts, download the
//! packages, write the host's trace. Nothing is journaled and no rollout is created: the
//! commands a host ran are in its [`HostDryRun::commands`] and nowhere else.

use std::time::Duration;

use futures_util::StreamExt;
use model::PackageManagerKind;
use model::checks::host_checks;
use model::plan::Plan;
use pkgmgr::Depth;
use pkgmgr::apply::{ApplyOptions, PinnedPackage, SimulatedApply};
use rollout::{Step, StepResult};
use store::Store;

use super::journal::OutputRecord;
use super::steps::{HostContext, Log, SshSteps, StepsConfig, lossy, now_unix};
use crate::connect::ConnectConfig;

#[derive(Debug, Clone)]
pub struct DryRunConfig {
    /// Hosts asked at once.
    pub max_in_flight: usize,
    pub apply: ApplyOptions,
    pub connect: ConnectConfig,
    /// How long a host may not answer before it is reported unreachable.
    pub unreachable_grace: Duration,
    pub poll_interval: Duration,
}

/// What one host would meet.
#[derive(Debug, Clone)]
pub struct HostDryRun {
    pub host: String,
    pub wave: String,
    pub package_manager: PackageManagerKind,
    /// The plan's pinned versions for the host.
    pub pinned: Vec<PinnedPackage>,
    /// Set when the host could not be reached: nothing else was asked.
    pub unreachable: Option<String>,
    /// Why the precheck would fail, every reason found (a rollout stops at the first).
    pub precheck_failures: Vec<String>,
    /// What the rollout would do first or wait for, and what the dry run could not tell.
    pub notes: Vec<String>,
    pub simulation: Simulation,
    /// Every command run on the host, with its output's tail.
    pub commands: Vec<OutputRecord>,
}

/// The package manager's simulation of the apply.
#[derive(Debug, Clone)]
pub enum Simulation {
    Ran(SimulatedApply),
    /// Not run, and why: the host did not answer, its state could not be read, or the plan
    /// pins nothing for it.
    NotRun(String),
    /// It ran, and its output could not be read (or the connection dropped while it ran).
    Unreadable(String),
}

/// The verdict on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The prechecks would pass and the apply would install the pinned versions and nothing
    /// else.
    AsPlanned,
    /// The prechecks would pass and the apply would also change packages the plan does not
    /// name (a dependency, a removal): see [`SimulatedApply::Would`]'s `unplanned`.
    WithUnplanned,
    /// A precheck, or the apply, would fail.
    WouldFail,
    Unreachable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::AsPlanned => "would_apply",
            Verdict::WithUnplanned => "would_apply_with_unplanned_changes",
            Verdict::WouldFail => "would_fail",
            Verdict::Unreachable => "unreachable",
        }
    }
}

impl HostDryRun {
    pub fn verdict(&self) -> Verdict {
        if self.unreachable.is_some() {
            return Verdict::Unreachable;
        }
        if !self.precheck_failures.is_empty() {
            return Verdict::WouldFail;
        }
        match &self.simulation {
            Simulation::Ran(SimulatedApply::Would { unplanned, .. }) if unplanned.is_empty() => {
                Verdict::AsPlanned
            }
            Simulation::Ran(SimulatedApply::Would { .. }) => Verdict::WithUnplanned,
            // Nothing pinned: nothing to simulate, and nothing to fail.
            Simulation::NotRun(_) if self.pinned.is_empty() => Verdict::AsPlanned,
            _ => Verdict::WouldFail,
        }
    }
}

/// What no simulation can tell, said with every report.
pub const CANNOT_SEE: &str = "a simulation cannot see maintainer scripts (postinst, %post), \
    which run only at the apply, nor the download";

/// Asks every host of `config`'s waves, `dry.max_in_flight` at once; the answers in the order of
/// the waves and their hosts. `hosts` are the plan's hosts as the inventory resolves them; one
/// it lacks is reported as a precheck failure.
pub async fn dry_run(
    store: &Store,
    plan: &Plan,
    config: &rollout::Config,
    hosts: Vec<model::ResolvedHost>,
    dry: &DryRunConfig,
) -> Vec<HostDryRun> {
    let steps_config = StepsConfig {
        rollout_id: "dry-run".to_owned(),
        apply: dry.apply,
        reboot_delay_minutes: 0,
        reboot_message: String::new(),
        reboot_contact: String::new(),
        unreachable_grace: dry.unreachable_grace,
        poll_interval: dry.poll_interval,
        connect: dry.connect.clone(),
        download_ahead: false,
        repair: false,
    };
    // Never given a lease, the steps journal nothing (`SshSteps::flush`).
    let steps = SshSteps::new(steps_config, plan.clone(), hosts.clone(), store.clone());
    let order: Vec<(&str, &str)> = config
        .waves
        .iter()
        .flat_map(|w| w.hosts.iter().map(move |h| (w.name.as_str(), h.name.as_str())))
        .collect();
    let asks = order.iter().map(|&(wave, name)| {
        let steps = &steps;
        let hosts = &hosts;
        async move { ask_host(steps, hosts, wave, name).await }
    });
    futures_util::stream::iter(asks).buffered(dry.max_in_flight.max(1)).collect().await
}

async fn ask_host(
    steps: &SshSteps,
    hosts: &[model::ResolvedHost],
    wave: &str,
    name: &str,
) -> HostDryRun {
    let plan = steps.plan.host(name);
    let mut report = HostDryRun {
        host: name.to_owned(),
        wave: wave.to_owned(),
        package_manager: plan.map_or(PackageManagerKind::Apt, |p| p.package_manager),
        pinned: plan
            .map(|p| {
                p.changes.iter().map(|c| PinnedPackage::new(&c.name, &c.arch, &c.to)).collect()
            })
            .unwrap_or_default(),
        unreachable: None,
        precheck_failures: Vec::new(),
        notes: Vec::new(),
        simulation: Simulation::NotRun("the prechecks could not start".to_owned()),
        commands: Vec::new(),
    };
    let (Some(host), Some(plan)) = (hosts.iter().find(|h| h.name == name), plan) else {
        report.precheck_failures.push(format!("{name} is not in the plan and the inventory"));
        return report;
    };
    let (checks, hooks) = match host_checks(host) {
        Ok(typed) => typed,
        Err(problem) => {
            report.precheck_failures.push(problem);
            return report;
        }
    };
    let context = HostContext { steps, host, plan, checks, hooks };
    let mut log = Log::new(Step::Precheck);
    context.ask(&mut log, &mut report).await;
    report.commands = log.into_outputs();
    report
}

impl HostContext<'_> {
    /// The read-only prechecks, each reason found, then the simulation.
    async fn ask(&self, log: &mut Log, report: &mut HostDryRun) {
        let assessment = match self.state(Depth::Health).await {
            Ok(assessment) => assessment,
            Err(StepResult::Unreachable { reason }) => {
                report.simulation = Simulation::NotRun("the host did not answer".to_owned());
                report.unreachable = Some(reason);
                return;
            }
            Err(result) => {
                report.precheck_failures.push(step_reason(result));
                report.simulation =
                    Simulation::NotRun("the host's state could not be read".to_owned());
                return;
            }
        };
        if self.hooks.refresh.is_due(assessment.lists_refreshed.at(), now_unix()) {
            report.notes.push(
                "the rollout would refresh the package lists first (refresh policy); the \
                 simulation used the lists the host has"
                    .to_owned(),
            );
        }
        if assessment.health.interrupted {
            if self.hooks.dpkg_recovery {
                report.notes.push(
                    "dpkg was interrupted: the rollout would run `dpkg --configure -a` first"
                        .to_owned(),
                );
            } else {
                report.precheck_failures.push(
                    "dpkg was interrupted; run `dpkg --configure -a` or allow dpkg_recovery in \
                     [hooks]"
                        .to_owned(),
                );
            }
        }
        for holder in &assessment.health.locks {
            report.notes.push(format!(
                "{} is held by pid {} ({}): the rollout would wait up to {} s for it",
                holder.path,
                holder.pid,
                holder.command.as_deref().unwrap_or("unknown"),
                self.hooks.lock_wait_seconds
            ));
        }
        report.precheck_failures.extend(self.disk_space_problem(&assessment));
        report.precheck_failures.extend(self.not_as_planned(&assessment));
        if let Some(result) = self.backup_check(log).await {
            if let StepResult::Unreachable { reason } = result {
                report.unreachable = Some(reason);
                report.simulation = Simulation::NotRun("the host stopped answering".to_owned());
                return;
            }
            report.precheck_failures.push(step_reason(result));
        }
        report.simulation = self.simulate(log, &report.pinned).await;
    }

    async fn simulate(&self, log: &mut Log, pinned: &[PinnedPackage]) -> Simulation {
        if pinned.is_empty() {
            return Simulation::NotRun("the plan pins nothing for this host".to_owned());
        }
        let kind = self.plan.package_manager;
        let command = match pkgmgr::apply::simulate_command(kind, pinned, &self.steps.config.apply)
        {
            Ok(command) => command,
            Err(error) => return Simulation::NotRun(format!("the plan's packages: {error}")),
        };
        let output = match self.run(log, &command, "simulating the apply").await {
            Ok(output) => output,
            Err(error) => {
                return Simulation::Unreadable(format!("running the simulation: {error}"));
            }
        };
        match pkgmgr::apply::parse_simulation(
            kind,
            pinned,
            output.exit_code,
            &lossy(&output.stdout),
            &lossy(&output.stderr),
        ) {
            Ok(simulated) => Simulation::Ran(simulated),
            Err(error) => Simulation::Unreadable(error.to_string()),
        }
    }
}

/// A failed apply's reason in the words a rollout's report uses.
pub fn failure_words(reason: &pkgmgr::apply::FailureReason) -> String {
    super::units::describe(reason)
}

fn step_reason(result: StepResult) -> String {
    match result {
        StepResult::Failed { reason } | StepResult::Unreachable { reason } => reason,
        StepResult::Succeeded { .. } => "succeeded".to_owned(),
    }
}
