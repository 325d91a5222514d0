//! What each step does on a host. Facts a later step needs (the boot before a reboot, the
//! journal's position before the apply) are written to the journal with the command that
//! found them, so that a restarted patchctl finds them again.

use std::collections::BTreeMap;
use std::time::Duration;

use model::PackageManagerKind;

use pkgmgr::apply::{
    self as apply, ApplyOutcome, FailureReason, JournalSince, KernelCheck, UnitName, UnitStart,
    UnitState,
};
use pkgmgr::{CommandSpec, Gathered};
use rollout::StepResult;

use super::steps::{HostContext, Log, OK, failed, unreachable};

/// Keys of the facts a precheck records.
pub(super) const FACT_BOOT_ID: &str = "boot_id";
pub(super) const FACT_INIT_START: &str = "init_start_ticks";
pub(super) const FACT_JOURNAL_CURSOR: &str = "journal_cursor";
pub(super) const FACT_JOURNAL_BASELINE: &str = "journal_baseline";

impl HostContext<'_> {
    pub(super) async fn precheck(&self, log: &mut Log) -> StepResult {
        let mut assessment = match self.assess().await {
            Ok(assessment) => assessment,
            Err(result) => return result,
        };
        if assessment.health.interrupted {
            if !self.hooks.dpkg_recovery {
                return failed(
                    "dpkg was interrupted; run `dpkg --configure -a` or allow dpkg_recovery in [hooks]",
                );
            }
            let recovery = CommandSpec::new(["dpkg", "--configure", "-a"])
                .with_env("DEBIAN_FRONTEND", "noninteractive");
            match self.run(log, &recovery, "recovering an interrupted dpkg").await {
                Ok(output) if output.exit_code == 0 => {}
                Ok(output) => {
                    return failed(format!("dpkg --configure -a exited {}", output.exit_code));
                }
                Err(error) => return unreachable(error),
            }
            assessment = match self.assess().await {
                Ok(assessment) => assessment,
                Err(result) => return result,
            };
        }
        // A lock held by someone else: wait a bounded time, naming the holder.
        let lock_deadline = tokio::time::Instant::now()
            + std::time::Duration::from_secs(u64::from(self.hooks.lock_wait_seconds));
        while let Some(holder) = assessment.health.locks.first() {
            if tokio::time::Instant::now() >= lock_deadline {
                return failed(format!(
                    "{} is held by pid {} ({}) after waiting {} s",
                    holder.path,
                    holder.pid,
                    holder.command.as_deref().unwrap_or("unknown"),
                    self.hooks.lock_wait_seconds
                ));
            }
            tokio::time::sleep(self.steps.config.poll_interval).await;
            assessment = match self.assess().await {
                Ok(assessment) => assessment,
                Err(result) => return result,
            };
        }
        for (path, min_mb) in &self.hooks.min_free_mb {
            if let Some(disk) = assessment.disk.iter().find(|d| &d.path == path)
                && disk.available_bytes < min_mb * 1024 * 1024
            {
                return failed(format!(
                    "{} MiB free on {path}, {min_mb} MiB needed",
                    disk.available_bytes / (1024 * 1024)
                ));
            }
        }
        // The host must still be as planned: each package at its recorded version (or already
        // at the target, from an earlier attempt).
        for change in &self.plan.changes {
            let installed = assessment
                .installed
                .iter()
                .find(|p| p.name == change.name && p.arch == change.arch)
                .map(|p| p.version.as_str());
            let as_planned = installed == change.from.as_deref() || installed == Some(&change.to);
            if !as_planned && !change.kernel {
                return failed(format!(
                    "{} is at {} on the host, the plan expected {}: assess and plan again",
                    change.name,
                    installed.unwrap_or("(not installed)"),
                    change.from.as_deref().unwrap_or("(not installed)")
                ));
            }
        }
        if let Some(result) = self.backup_check(log).await {
            return result;
        }
        self.record_facts(log).await
    }

    async fn backup_check(&self, log: &mut Log) -> Option<StepResult> {
        if let Some(argv) = &self.hooks.backup_command {
            let command = CommandSpec::new(argv.clone());
            return match self.run(log, &command, "backup freshness").await {
                Ok(output) if output.exit_code == 0 => None,
                Ok(output) => Some(failed(format!(
                    "the backup check `{}` exited {}",
                    command.display(),
                    output.exit_code
                ))),
                Err(error) => Some(unreachable(error)),
            };
        }
        let path = self.hooks.backup_path.as_ref()?;
        let command = CommandSpec::new(["stat", "-c", "%Y", "--", path]);
        let output = match self.run(log, &command, "backup age").await {
            Ok(output) => output,
            Err(error) => return Some(unreachable(error)),
        };
        let modified: Option<i64> = String::from_utf8_lossy(&output.stdout).trim().parse().ok();
        let Some(modified) = modified.filter(|_| output.exit_code == 0) else {
            return Some(failed(format!("the backup {path} does not exist")));
        };
        let age_hours = (now_unix() - modified) / 3600;
        if age_hours > i64::from(self.hooks.backup_max_age_hours) {
            return Some(failed(format!(
                "the backup {path} is {age_hours} hours old, at most {} allowed",
                self.hooks.backup_max_age_hours
            )));
        }
        None
    }

    /// The boot identity and the journal's position and errors so far, for later steps.
    async fn record_facts(&self, log: &mut Log) -> StepResult {
        let mut facts = BTreeMap::new();
        match self.gather(&apply::boot_identity_probes()).await {
            Ok(gathered) => match apply::boot_identity(&gathered) {
                Ok(identity) => {
                    facts.insert(FACT_BOOT_ID.to_owned(), identity.boot_id);
                    facts.insert(FACT_INIT_START.to_owned(), identity.init_start_ticks.to_string());
                }
                Err(error) => return failed(format!("reading the boot identity: {error}")),
            },
            Err(error) => return unreachable(error),
        }
        if self.checks.journal_errors {
            let mark = match self.run(log, &apply::journal_mark_command(), "journal position").await
            {
                Ok(output) => apply::parse_journal_mark(output.exit_code, &lossy(&output.stdout)),
                Err(error) => return unreachable(error),
            };
            let mark = match mark {
                Ok(mark) => mark,
                Err(error) => return failed(error.to_string()),
            };
            let baseline = match self.journal_errors(log, &JournalSince::ThisBoot).await {
                Ok(entries) => entries,
                Err(result) => return result,
            };
            if let Some(cursor) = mark.cursor {
                facts.insert(FACT_JOURNAL_CURSOR.to_owned(), cursor);
            }
            let known: Vec<(String, String)> =
                baseline.into_iter().map(|e| (e.identifier, e.message)).collect();
            facts.insert(
                FACT_JOURNAL_BASELINE.to_owned(),
                serde_json::to_string(&known).expect("strings serialize"),
            );
        }
        log.facts(facts);
        OK
    }

    pub(super) async fn snapshot(&self, log: &mut Log) -> StepResult {
        let Some(argv) = &self.hooks.snapshot else { return OK };
        let command = CommandSpec::new(argv.clone());
        match self.run(log, &command, "snapshot hook").await {
            Ok(output) if output.exit_code == 0 => OK,
            Ok(output) => failed(format!("the snapshot hook exited {}", output.exit_code)),
            Err(error) => unreachable(error),
        }
    }

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
        let result = self.run_unit(log, "apply", &[command], resume).await;
        if let Err(result) = result {
            return result;
        }
        let assessment = match self.assess().await {
            Ok(assessment) => assessment,
            Err(result) => return result,
        };
        let mismatches =
            apply::verify_installed(self.plan.package_manager, &assessment.installed, &targets);
        if !mismatches.is_empty() {
            return failed(format!("after the apply, not as planned: {mismatches:?}"));
        }
        StepResult::Succeeded { reboot_required: assessment.reboot.required }
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
        let assessment = match self.assess().await {
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
        if let Err(result) = self.run_unit(log, "rollback", &commands, resume).await {
            return result;
        }
        let after = match self.assess().await {
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
        StepResult::Succeeded { reboot_required: after.reboot.required }
    }

    /// Removes old kernels, keeping the plan's `keep_kernels` newest (the running one always).
    pub(super) async fn cleanup(&self, log: &mut Log, resume: bool) -> StepResult {
        let assessment = match self.assess().await {
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
        match self.run_unit(log, "cleanup", &[command], resume).await {
            Ok(()) => OK,
            Err(result) => result,
        }
    }

    /// Runs `commands` in order, each as its own systemd unit that outlives the connection;
    /// on `resume`, finds out what became of a unit an earlier process started. `Err` is the
    /// step's result when a command failed or the host was lost. dnf, which cannot wait for its
    /// lock, is tried again (as a new unit) until the apply's lock timeout has passed.
    async fn run_unit(
        &self,
        log: &mut Log,
        what: &str,
        commands: &[CommandSpec],
        resume: bool,
    ) -> Result<(), StepResult> {
        let lock_wait =
            Duration::from_secs(u64::from(self.steps.config.apply.lock_timeout_seconds));
        for (index, command) in commands.iter().enumerate() {
            let locked_until = tokio::time::Instant::now() + lock_wait;
            for attempt in 0.. {
                let step_name = match attempt {
                    0 => format!("{}-{what}-{index}", unit_safe(&self.host.name)),
                    n => format!("{}-{what}-{index}-retry{n}", unit_safe(&self.host.name)),
                };
                let unit = UnitName::new(&self.steps.config.rollout_id, &step_name)
                    .map_err(|e| failed(e.to_string()))?;
                let Some((code, stdout, stderr)) =
                    self.run_one_unit(log, &unit, command, resume).await?
                else {
                    break;
                };
                match apply::parse_apply_output(self.plan.package_manager, code, &stdout, &stderr) {
                    Ok(ApplyOutcome::Succeeded { .. }) => break,
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
        Ok(())
    }

    /// Runs one command as `unit` (or, on `resume`, finds the one an earlier process started)
    /// and waits for it: its exit code and outputs, or `None` when it ran and was unloaded
    /// before (a reboot unloads units), and only the host's packages can tell what it did.
    async fn run_one_unit(
        &self,
        log: &mut Log,
        unit: &UnitName,
        command: &CommandSpec,
        resume: bool,
    ) -> Result<Option<(i32, String, String)>, StepResult> {
        let mut state =
            if resume { self.unit_state(log, unit).await? } else { UnitState::NotFound };
        if state == UnitState::NotFound {
            if resume && self.unit_output_exists(unit).await {
                return Ok(None);
            }
            self.run(log, &apply::prepare_unit_dir_command(), "unit output directory")
                .await
                .map_err(unreachable)?;
            let start = apply::run_as_unit(unit, command).map_err(|e| failed(e.to_string()))?;
            let output =
                self.run(log, &start, &format!("starting {unit}")).await.map_err(unreachable)?;
            match apply::parse_unit_start(
                output.exit_code,
                &lossy(&output.stdout),
                &lossy(&output.stderr),
            ) {
                UnitStart::Started | UnitStart::AlreadyExists => {}
                UnitStart::Failed { message } => {
                    return Err(failed(format!("starting {unit}: {message}")));
                }
            }
            self.steps.flush(&self.host.name, log).await;
            state = UnitState::Running;
        }
        while state == UnitState::Running {
            tokio::time::sleep(self.steps.config.poll_interval).await;
            state = self.unit_state(log, unit).await?;
        }
        let code = match state {
            UnitState::Exited { code } => code,
            UnitState::Killed { signal, .. } => 128 + signal,
            UnitState::Failed { result } => return Err(failed(format!("{unit}: {result}"))),
            UnitState::NotFound | UnitState::Running => {
                return Err(failed(format!("{unit} disappeared while running")));
            }
        };
        let gathered = self.gather(&apply::unit_output_probes(unit)).await.map_err(unreachable)?;
        let stdout =
            gathered.file(apply::UNIT_STDOUT).ok().flatten().unwrap_or_default().to_owned();
        let stderr =
            gathered.file(apply::UNIT_STDERR).ok().flatten().unwrap_or_default().to_owned();
        log.record_unit(command, code, &stdout, &stderr, &unit.to_string());
        if let Some(release) = apply::release_unit_command(unit, &state) {
            let _ = self.run(log, &release, "releasing the unit").await;
        }
        Ok(Some((code, stdout, stderr)))
    }

    async fn unit_state(&self, log: &mut Log, unit: &UnitName) -> Result<UnitState, StepResult> {
        let output = self
            .run(log, &apply::unit_status_command(unit), "unit status")
            .await
            .map_err(unreachable)?;
        apply::parse_unit_status(&lossy(&output.stdout)).map_err(|e| failed(e.to_string()))
    }

    async fn unit_output_exists(&self, unit: &UnitName) -> bool {
        match self.gather(&apply::unit_output_probes(unit)).await {
            Ok(gathered) => gathered.file(apply::UNIT_STDOUT).ok().flatten().is_some(),
            Err(_) => false,
        }
    }

    pub(super) async fn reboot(&self, log: &mut Log, resume: bool) -> StepResult {
        let facts = self.steps.facts(&self.host.name).await;
        let before = match (facts.get(FACT_BOOT_ID), facts.get(FACT_INIT_START)) {
            (Some(id), Some(ticks)) => apply::BootIdentity {
                boot_id: id.clone(),
                init_start_ticks: ticks.parse().unwrap_or_default(),
            },
            _ => return failed("no boot identity was recorded before the reboot"),
        };
        let current = self.boot_identity().await;
        let already = matches!(&current, Ok(now) if apply::rebooted(&before, now));
        if !(resume && already) {
            let command = match apply::reboot_command(
                self.steps.config.reboot_delay_minutes,
                &self.steps.config.reboot_message,
            ) {
                Ok(command) => command,
                Err(error) => return failed(error.to_string()),
            };
            // With `now` the connection may break before an exit code comes back: only the new
            // boot below proves anything.
            let _ = self.run(log, &command, "reboot").await;
            self.steps.flush(&self.host.name, log).await;
            self.forget_connection().await;
        }
        loop {
            tokio::time::sleep(self.steps.config.poll_interval).await;
            if let Ok(now) = self.boot_identity().await
                && apply::rebooted(&before, &now)
            {
                log.note("the host is back with a new boot");
                return OK;
            }
            // The rollout's reboot timeout decides when to give up.
        }
    }

    async fn boot_identity(&self) -> Result<apply::BootIdentity, String> {
        let gathered = self.gather(&apply::boot_identity_probes()).await?;
        apply::boot_identity(&gathered).map_err(|e| e.to_string())
    }

    pub(super) async fn postcheck(&self, log: &mut Log) -> StepResult {
        let mut problems = Vec::new();
        if !self.checks.units.is_empty() {
            let command = match apply::is_active_command(&self.checks.units) {
                Ok(command) => command,
                Err(error) => return failed(error.to_string()),
            };
            match self.run(log, &command, "units active").await {
                Ok(output) => {
                    match apply::parse_is_active(
                        &self.checks.units,
                        output.exit_code,
                        &lossy(&output.stdout),
                    ) {
                        Ok(states) => problems.extend(
                            states
                                .into_iter()
                                .filter(|(_, s)| *s != apply::UnitActivity::Active)
                                .map(|(unit, s)| format!("{unit} is {s:?}")),
                        ),
                        Err(error) => problems.push(error.to_string()),
                    }
                }
                Err(error) => return unreachable(error),
            }
        }
        for check in &self.checks.http {
            if let Err(problem) =
                super::http::check(check, self.steps.config.connect.connect_timeout).await
            {
                problems.push(problem);
            }
        }
        if self.checks.journal_errors {
            let facts = self.steps.facts(&self.host.name).await;
            let since = match facts.get(FACT_JOURNAL_CURSOR) {
                Some(cursor) => JournalSince::Mark(cursor.clone()),
                None => JournalSince::ThisBoot,
            };
            let baseline: Vec<(String, String)> = facts
                .get(FACT_JOURNAL_BASELINE)
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_default();
            match self.journal_errors(log, &since).await {
                Ok(entries) => {
                    let new: Vec<String> = entries
                        .into_iter()
                        .filter(|e| {
                            !baseline.iter().any(|(i, m)| *i == e.identifier && *m == e.message)
                        })
                        .filter(|e| {
                            let ignore = &self.checks.journal_ignore;
                            !ignore.iter().any(|text| e.message.contains(text.as_str()))
                        })
                        .map(|e| format!("{}: {}", e.identifier, e.message))
                        .collect();
                    if !new.is_empty() {
                        problems.push(format!("new errors in the journal: {}", new.join("; ")));
                    }
                }
                Err(result) => return result,
            }
        }
        if self.checks.kernel {
            match self.assess().await {
                Ok(assessment) => {
                    if let KernelCheck::NotNewest { running, newest } =
                        apply::running_kernel_check(&assessment)
                    {
                        problems
                            .push(format!("running kernel {running}, newest installed {newest}"));
                    }
                }
                Err(result) => return result,
            }
        }
        for argv in &self.checks.commands {
            let command = match apply::custom_check_command(argv) {
                Ok(command) => command,
                Err(error) => return failed(error.to_string()),
            };
            match self.run(log, &command, "custom check").await {
                Ok(output) => {
                    let result = apply::parse_custom_check(
                        output.exit_code,
                        &lossy(&output.stdout),
                        &lossy(&output.stderr),
                    );
                    if !result.passed {
                        problems.push(format!(
                            "`{}` exited {}",
                            command.display(),
                            result.exit_code
                        ));
                    }
                }
                Err(error) => return unreachable(error),
            }
        }
        if problems.is_empty() { OK } else { failed(problems.join("; ")) }
    }

    async fn journal_errors(
        &self,
        log: &mut Log,
        since: &JournalSince,
    ) -> Result<Vec<apply::JournalEntry>, StepResult> {
        let command = apply::journal_errors_command(since).map_err(|e| failed(e.to_string()))?;
        let output = self.run(log, &command, "journal errors").await.map_err(unreachable)?;
        apply::parse_journal_errors(output.exit_code, &lossy(&output.stdout))
            .map_err(|e| failed(e.to_string()))
    }

    async fn gather(&self, probes: &[pkgmgr::ProbeSpec]) -> Result<Gathered, String> {
        let ssh = self.transport().await?;
        let mut gathered = Gathered::new();
        crate::assess::gather(ssh.as_ref(), probes, &mut gathered).await;
        Ok(gathered)
    }
}

fn describe(reason: &FailureReason) -> String {
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

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn now_unix() -> i64 {
    (super::driver::now_ms() / 1000) as i64
}
