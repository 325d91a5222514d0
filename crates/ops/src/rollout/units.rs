//! The steps that change packages (apply, rollback, old-kernel cleanup), each command run as its
//! own systemd unit that outlives the connection and is checked on, not repeated, on resume.

use std::time::Duration;

use model::plan::PlannedReboot;
use model::{Assessment, PackageManagerKind};
use pkgmgr::CommandSpec;
use pkgmgr::Depth;
use pkgmgr::apply::{self as apply, ApplyOutcome, FailureReason, UnitName, UnitStart, UnitState};
use rollout::StepResult;

use super::boot_default::FACT_BOOT_KERNEL;
use super::prechecks::{FACT_BOOT_ID, FACT_INIT_START};
use super::steps::{HostContext, Log, OK, failed, lossy, unreachable};

/// The units of a reconcile's repair are told by this name.
const REPAIR: &str = "repair";

/// The units of an apply: never started twice on a host in one rollout (`Rerun::Refuse`).
const APPLY: &str = "apply";

impl HostContext<'_> {
    pub(super) async fn apply(&self, log: &mut Log, resume: bool) -> StepResult {
        let targets = self.targets();
        if targets.is_empty() {
            return OK;
        }
        let command = match apply::apply_command(
            self.plan.package_manager,
            &targets,
            &self.steps.config.apply,
        ) {
            Ok(command) => command,
            Err(error) => return failed(error.to_string()),
        };
        // When the plan reboots the host anyway, the host's own verdict changes nothing, and on a
        // dnf host asking for it means starting dnf.
        let reboot_planned = self.plan.reboot == PlannedReboot::Yes;
        let depth = if reboot_planned { Depth::Installed } else { Depth::Health };
        let assessment = match self.run_unit_then_state(log, APPLY, &[command], resume, depth).await
        {
            Ok(assessment) => assessment,
            Err(result) => return result,
        };
        let mismatches =
            apply::verify_installed(self.plan.package_manager, &assessment.installed, &targets);
        if !mismatches.is_empty() {
            return failed(format!("after the apply, not as planned: {mismatches:?}"));
        }
        if self.changes_kernel()
            && let Err(result) = self.newest_kernel_as_boot_default(log, &assessment).await
        {
            return result;
        }
        let reboot_required = reboot_planned || assessment.reboot.required;
        let reboots = match self.plan.reboot {
            PlannedReboot::Yes => true,
            PlannedReboot::IfRequired => reboot_required,
            PlannedReboot::No => false,
        };
        if let Err(result) = self.restart_services(log, reboots).await {
            return result;
        }
        StepResult::Succeeded { reboot_required }
    }

    pub(super) async fn rollback(&self, log: &mut Log, resume: bool) -> StepResult {
        let items: Vec<apply::RollbackItem> = self
            .plan
            .changes
            .iter()
            .map(|c| apply::RollbackItem {
                name: c.name.clone(),
                arch: c.arch.clone(),
                updated_version: c.to.clone(),
                previous_version: c.from.clone(),
                kernel: c.kernel,
            })
            .collect();
        let assessment = match self.state(Depth::Installed).await {
            Ok(assessment) => assessment,
            Err(result) => return result,
        };
        let plan =
            apply::plan_rollback(self.plan.package_manager, &items, &assessment.running_kernel);
        let commands = match apply::rollback_commands(
            self.plan.package_manager,
            &plan,
            &self.steps.config.apply,
        ) {
            Ok(commands) => commands,
            Err(error) => return failed(error.to_string()),
        };
        let after =
            match self.run_unit_then_state(log, "rollback", &commands, resume, Depth::Health).await
            {
                Ok(assessment) => assessment,
                Err(result) => return result,
            };
        let mismatches = apply::verify_rollback(self.plan.package_manager, &after.installed, &plan);
        if !mismatches.is_empty() {
            return failed(format!("after the rollback, not as recorded: {mismatches:?}"));
        }
        for kept in &plan.kept {
            log.note(&format!(
                "kept {} {}: {}",
                kept.package.name, kept.package.version, kept.reason
            ));
        }
        let mut reboot_required = after.reboot.required;
        let mut facts = self.steps.facts(&self.host.name).await;
        if self.changes_kernel() {
            match self.previous_kernel_as_boot_default(log, &plan, &after).await {
                Ok(Some(kernel)) => {
                    reboot_required |= kernel.reboot;
                    if let Some(release) = kernel.expect_after_reboot {
                        facts.insert(FACT_BOOT_KERNEL.to_owned(), release);
                    }
                }
                Ok(None) => {}
                Err(result) => return result,
            }
        }
        // A reboot after this one must be told from the boot the rollback ran in, not from the
        // one the precheck saw (the rollout may have rebooted the host since).
        let identity = match self.boot_identity().await {
            Ok(identity) => identity,
            Err(error) => return unreachable(error),
        };
        facts.insert(FACT_BOOT_ID.to_owned(), identity.boot_id);
        facts.insert(FACT_INIT_START.to_owned(), identity.init_start_ticks.to_string());
        log.facts(facts);
        // The rollback can leave services on replaced code too; it reboots only when asked to.
        let reboots = reboot_required && self.plan.reboot != PlannedReboot::No;
        if let Err(result) = self.restart_services(log, reboots).await {
            return result;
        }
        StepResult::Succeeded { reboot_required }
    }

    /// A host lost mid-step, back: the units of this rollout that may still run on it (the
    /// apply, the rollback) are waited for, never started; then the package manager's own
    /// repair runs as a unit (`--no-repair`: not); then the host's packages are compared with
    /// the plan's. At the plan's versions and healthy it is a success (its postchecks follow);
    /// otherwise a failure that names what differs (the machine rolls the host back).
    pub(super) async fn reconcile(&self, log: &mut Log, resume: bool) -> StepResult {
        for (what, index) in [(APPLY, 0), ("rollback", 0), ("rollback", 1)] {
            let name = format!("{}-{what}-{index}", unit_safe(&self.host.name));
            let unit = match UnitName::new(&self.steps.config.rollout_id, &name) {
                Ok(unit) => unit,
                Err(error) => return failed(error.to_string()),
            };
            let mut state = match self.unit_state(log, &unit).await {
                Ok((state, _)) => state,
                Err(result) => return result,
            };
            if state == UnitState::Running {
                log.note(&format!("{unit} still runs: waiting for its end"));
            }
            while state == UnitState::Running {
                state = match self.unit_end(log, &unit).await {
                    Ok((state, _)) => state,
                    Err(result) => return result,
                };
            }
        }
        let after = if self.steps.config.repair {
            let repair = apply::repair_command(self.plan.package_manager, &self.steps.config.apply);
            match self.run_unit_then_state(log, REPAIR, &[repair], resume, Depth::Health).await {
                Ok(after) => after,
                Err(result) => return result,
            }
        } else {
            match self.state(Depth::Health).await {
                Ok(after) => after,
                Err(result) => return result,
            }
        };
        if after.health.interrupted || !after.health.audit.is_empty() {
            return failed(format!(
                "the package manager is not healthy{}: {}",
                if self.steps.config.repair {
                    " after its repair"
                } else {
                    " (no repair: --no-repair)"
                },
                after.health.audit.join("; ")
            ));
        }
        let mismatches =
            apply::verify_installed(self.plan.package_manager, &after.installed, &self.targets());
        if !mismatches.is_empty() {
            return failed(format!("not at the plan's versions: {mismatches:?}"));
        }
        log.note("at the plan's versions, and the package manager is healthy");
        let reboot_planned = self.plan.reboot == PlannedReboot::Yes;
        StepResult::Succeeded { reboot_required: reboot_planned || after.reboot.required }
    }

    /// Removes old kernels, keeping the plan's `keep_kernels` newest (the running one always).
    pub(super) async fn cleanup(&self, log: &mut Log, resume: bool) -> StepResult {
        let assessment = match self.state(Depth::Installed).await {
            Ok(assessment) => assessment,
            Err(result) => return result,
        };
        let keep = self.steps.plan.options.keep_kernels;
        let kind = self.plan.package_manager;
        let cleanup = match apply::kernel_cleanup(
            kind,
            &assessment.installed,
            &assessment.running_kernel,
            keep,
        ) {
            Ok(cleanup) => cleanup,
            Err(error) => return failed(error.to_string()),
        };
        let command = match apply::kernel_cleanup_command(kind, &cleanup, &self.steps.config.apply)
        {
            Ok(Some(command)) => command,
            Ok(None) => return OK,
            Err(error) => return failed(error.to_string()),
        };
        match self.run_unit(log, "cleanup", &[command], resume, None).await {
            Ok(_) => OK,
            Err(result) => result,
        }
    }

    /// [`Self::run_unit`], then the host's state at `depth`: read beside the last unit's outputs,
    /// or after them when that could not be.
    async fn run_unit_then_state(
        &self,
        log: &mut Log,
        what: &str,
        commands: &[CommandSpec],
        resume: bool,
        depth: Depth,
    ) -> Result<Assessment, StepResult> {
        match self.run_unit(log, what, commands, resume, Some(depth)).await? {
            Some(assessment) => Ok(assessment),
            None => self.state(depth).await,
        }
    }

    /// Runs `commands` in order, each as its own systemd unit that outlives the connection;
    /// on `resume`, finds out what became of a unit an earlier process started. `Err` is the
    /// step's result when a command failed or the host was lost. dnf, which cannot wait for its
    /// lock, is tried again (as a new unit) until the apply's lock timeout has passed.
    ///
    /// With `after`, the host's state at that depth is read as soon as the last unit ended with
    /// code 0, beside its outputs (one round trip less for a step that verifies what it did):
    /// `Ok(None)` when it could not be, and the caller reads it.
    async fn run_unit(
        &self,
        log: &mut Log,
        what: &str,
        commands: &[CommandSpec],
        resume: bool,
        after: Option<Depth>,
    ) -> Result<Option<Assessment>, StepResult> {
        let lock_wait =
            Duration::from_secs(u64::from(self.steps.config.apply.lock_timeout_seconds));
        let mut state_after = None;
        for (index, command) in commands.iter().enumerate() {
            let after = if index + 1 == commands.len() { after } else { None };
            let locked_until = tokio::time::Instant::now() + lock_wait;
            for attempt in 0.. {
                let step_name = match attempt {
                    0 => format!("{}-{what}-{index}", unit_safe(&self.host.name)),
                    n => format!("{}-{what}-{index}-retry{n}", unit_safe(&self.host.name)),
                };
                let unit = UnitName::new(&self.steps.config.rollout_id, &step_name)
                    .map_err(|e| failed(e.to_string()))?;
                // The apply's unit, started once: a patchctl that stalled past its lease and
                // woke cannot apply again what the one that took over applied. A repair or a
                // rollback by hand may run again.
                let rerun = if what == APPLY { apply::Rerun::Refuse } else { apply::Rerun::Allow };
                let ran = self.run_one_unit(log, &unit, command, resume, rerun, after).await?;
                let Some(ran) = ran else {
                    break;
                };
                let (code, stdout, stderr) = (ran.code, &ran.stdout, &ran.stderr);
                let outcome = if what == REPAIR {
                    Ok(apply::parse_repair_output(code, stdout, stderr))
                } else {
                    apply::parse_apply_output(self.plan.package_manager, code, stdout, stderr)
                };
                match outcome {
                    Ok(ApplyOutcome::Succeeded { .. }) => {
                        state_after = ran.after;
                        break;
                    }
                    Ok(ApplyOutcome::Failed { reason: FailureReason::Locked { .. }, .. })
                        if self.plan.package_manager == PackageManagerKind::Dnf
                            && tokio::time::Instant::now() < locked_until =>
                    {
                        tokio::time::sleep(self.steps.config.poll_interval).await;
                    }
                    Ok(ApplyOutcome::Failed { reason, exit_code, output_tail, .. }) => {
                        return Err(failed(format!(
                            "{what} failed ({}), exit code {exit_code}:\n{output_tail}",
                            describe(&reason)
                        )));
                    }
                    Err(error) => return Err(failed(format!("{what}: {error}"))),
                }
            }
        }
        state_after.transpose()
    }

    /// Runs one command as `unit` (or, on `resume`, finds the one an earlier process started)
    /// and waits for it: its exit code and outputs, or `None` when it ran and was unloaded
    /// before (a reboot unloads units), and only the host's packages can tell what it did.
    /// With `after`, the host's state is read beside the outputs when the unit exited 0.
    async fn run_one_unit(
        &self,
        log: &mut Log,
        unit: &UnitName,
        command: &CommandSpec,
        resume: bool,
        rerun: apply::Rerun,
        after: Option<Depth>,
    ) -> Result<Option<UnitRun>, StepResult> {
        let (mut state, mut ran_for) =
            if resume { self.unit_state(log, unit).await? } else { (UnitState::NotFound, None) };
        if state == UnitState::NotFound {
            if resume && self.unit_output_exists(unit).await {
                return Ok(None);
            }
            let start = apply::run_as_unit(unit, command).map_err(|e| failed(e.to_string()))?;
            let start = apply::start_and_wait_command(unit, start, UNIT_WAIT_SECONDS, rerun);
            // Write-ahead: the start is on record before it happens, so that a patchctl killed
            // in between leaves it in the journal (the resumed step looks for the unit itself).
            log.note(&format!("{STARTING} {unit}"));
            self.steps.flush(&self.host.name, log).await.map_err(|lost| lost.result())?;
            let note = format!("starting {unit} and waiting for its end");
            let output = self.run(log, &start, &note).await.map_err(unreachable)?;
            let stdout = lossy(&output.stdout);
            match apply::parse_start_and_wait(output.exit_code, &stdout, &lossy(&output.stderr)) {
                (UnitStart::Started, Some(status)) => {
                    (state, ran_for) = unit_status(status.as_bytes())?;
                }
                // Started, its status not read: the loop below asks again.
                (UnitStart::Started | UnitStart::AlreadyExists, _) => state = UnitState::Running,
                // Another patchctl of this rollout started it: what became of it, as a resume
                // finds out.
                (UnitStart::RanBefore, _) => {
                    log.note(&format!(
                        "{unit} ran before, started by another patchctl of this rollout: not started again"
                    ));
                    (state, ran_for) = self.unit_state(log, unit).await?;
                    if state == UnitState::NotFound {
                        return Ok(None);
                    }
                }
                (UnitStart::Failed { message }, _) => {
                    return Err(failed(format!("starting {unit}: {message}")));
                }
            }
        }
        while state == UnitState::Running {
            (state, ran_for) = self.unit_end(log, unit).await?;
        }
        let code = match state {
            UnitState::Exited { code } => code,
            UnitState::Killed { signal, .. } => 128 + signal,
            UnitState::Failed { result } => return Err(failed(format!("{unit}: {result}"))),
            UnitState::NotFound | UnitState::Running => {
                return Err(failed(format!("{unit} disappeared while running")));
            }
        };
        // Its outputs are read while it is released (and the host's state read): one round trip.
        let mut release_log = log.sibling();
        let release = async {
            if let Some(release) = apply::release_unit_command(unit, &state) {
                let _ = self.run(&mut release_log, &release, "releasing the unit").await;
            }
        };
        let probes = apply::unit_output_probes(unit);
        let state_after = async {
            match after {
                Some(depth) if code == 0 => Some(self.state(depth).await),
                _ => None,
            }
        };
        let (gathered, (), after) = tokio::join!(self.gather(&probes), release, state_after);
        let gathered = gathered.map_err(unreachable)?;
        let stdout =
            gathered.file(apply::UNIT_STDOUT).ok().flatten().unwrap_or_default().to_owned();
        let stderr =
            gathered.file(apply::UNIT_STDERR).ok().flatten().unwrap_or_default().to_owned();
        log.record_unit(command, code, &stdout, &stderr, &unit.to_string(), ran_for);
        log.absorb(release_log);
        Ok(Some(UnitRun { code, stdout, stderr, after }))
    }

    async fn unit_state(&self, log: &mut Log, unit: &UnitName) -> Result<UnitStatus, StepResult> {
        let output = self
            .run(log, &apply::unit_status_command(unit), "unit status")
            .await
            .map_err(unreachable)?;
        unit_status(&output.stdout)
    }

    /// The unit's state once it stopped running, or after a few seconds if it still runs,
    /// watched on the host itself ([`apply::unit_wait_command`]).
    async fn unit_end(&self, log: &mut Log, unit: &UnitName) -> Result<UnitStatus, StepResult> {
        let output = self
            .run(log, &apply::unit_wait_command(unit, UNIT_WAIT_SECONDS), "waiting for the unit")
            .await
            .map_err(unreachable)?;
        unit_status(&output.stdout)
    }

    async fn unit_output_exists(&self, unit: &UnitName) -> bool {
        match self.gather(&apply::unit_output_probes(unit)).await {
            Ok(gathered) => gathered.file(apply::UNIT_STDOUT).ok().flatten().is_some(),
            Err(_) => false,
        }
    }
}

/// A unit that ran: its exit code and outputs, and the host's state read right after it ended,
/// when asked.
struct UnitRun {
    code: i32,
    stdout: String,
    stderr: String,
    after: Option<Result<Assessment, StepResult>>,
}

/// A unit's state, and how long its main process ran by the host's clock once it ended.
type UnitStatus = (UnitState, Option<Duration>);

fn unit_status(stdout: &[u8]) -> Result<UnitStatus, StepResult> {
    let stdout = lossy(stdout);
    let state = apply::parse_unit_status(&stdout).map_err(|e| failed(e.to_string()))?;
    Ok((state, apply::parse_unit_run_time(&stdout)))
}

/// How the journal's record of a unit about to be started begins.
pub const STARTING: &str = "about to start";

/// How long one look at a running unit may wait on the host for its end.
const UNIT_WAIT_SECONDS: u32 = 5;

pub(super) fn describe(reason: &FailureReason) -> String {
    match reason {
        FailureReason::Scriptlet { packages } => {
            format!("a maintainer script of {} failed", packages.join(", "))
        }
        FailureReason::Locked { holder: Some(h) } => {
            format!("the lock is held by pid {} ({})", h.pid, h.command.as_deref().unwrap_or("?"))
        }
        FailureReason::Locked { holder: None } => "the package manager's lock is held".into(),
        FailureReason::NotFound { items } => format!("not available: {}", items.join(", ")),
        FailureReason::Held { items } => format!("held: {}", items.join(", ")),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Host names may hold dots; unit step names may not.
fn unit_safe(host: &str) -> String {
    host.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}
