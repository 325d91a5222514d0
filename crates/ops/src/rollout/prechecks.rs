//! The prechecks (nothing changes on a host that fails them) and the snapshot hook. The facts
//! later steps need (the boot before a reboot, the journal's position) are journaled here with
//! the command that found them, so that a restarted patchctl finds them again.

use std::collections::BTreeMap;

use model::Assessment;
use pkgmgr::CommandSpec;
use pkgmgr::Depth;
use pkgmgr::apply::{self as apply, JournalSince};
use rollout::StepResult;

use super::steps::{HostContext, Log, OK, failed, lossy, now_unix, unreachable};
use super::waiting::Waiting;

/// Keys of the facts a precheck records.
pub(super) const FACT_BOOT_ID: &str = "boot_id";
pub(super) const FACT_INIT_START: &str = "init_start_ticks";
pub(super) const FACT_JOURNAL_CURSOR: &str = "journal_cursor";
pub(super) const FACT_JOURNAL_BASELINE: &str = "journal_baseline";
impl HostContext<'_> {
    /// Refreshes the package lists (the `refresh` hook says when). A refresh that fails fails
    /// the precheck: the host is not patched from lists known to be stale.
    async fn refresh_lists(&self, log: &mut Log) -> Result<(), StepResult> {
        use pkgmgr::lists;
        let kind = self.plan.package_manager;
        let output = self
            .run(log, &lists::refresh_command(kind), "refreshing the package lists")
            .await
            .map_err(unreachable)?;
        lists::check_refresh(output.exit_code, &lossy(&output.stdout), &lossy(&output.stderr))
            .map_err(|error| failed(format!("{error}; nothing was installed")))?;
        if let Some(after) = lists::after_refresh(kind) {
            let output =
                self.run(log, &after, "recording the refresh").await.map_err(unreachable)?;
            if output.exit_code != 0 {
                return Err(failed(format!(
                    "`{}` exited {}: {}",
                    after.display(),
                    output.exit_code,
                    lossy(&output.stderr).trim()
                )));
            }
        }
        Ok(())
    }

    pub(super) async fn precheck(&self, log: &mut Log) -> StepResult {
        let mut assessment = match self.state(Depth::Health).await {
            Ok(assessment) => assessment,
            Err(result) => return result,
        };
        if self.hooks.refresh.is_due(assessment.lists_refreshed.at(), now_unix()) {
            if let Err(result) = self.refresh_lists(log).await {
                return result;
            }
            assessment = match self.state(Depth::Health).await {
                Ok(assessment) => assessment,
                Err(result) => return result,
            };
        }
        if let Some(command) = apply::unit_outputs_cleanup_command(self.hooks.unit_output_days) {
            // Best effort: old outputs left behind are no reason to hold a host back.
            match self.run(log, &command, "removing old unit outputs").await {
                Ok(output) if output.exit_code == 0 => {}
                Ok(output) => log.note(&format!(
                    "old unit outputs were not removed: exited {}: {}",
                    output.exit_code,
                    lossy(&output.stderr).trim()
                )),
                Err(error) => return unreachable(error),
            }
        }
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
            assessment = match self.state(Depth::Health).await {
                Ok(assessment) => assessment,
                Err(result) => return result,
            };
        }
        // A lock held by someone else: wait a bounded time, naming the holder.
        let lock_deadline = tokio::time::Instant::now()
            + std::time::Duration::from_secs(u64::from(self.hooks.lock_wait_seconds));
        let mut told = None;
        while let Some(holder) = assessment.health.locks.first() {
            // Told once per holder: the live table counts the time itself.
            let key = (holder.path.clone(), holder.pid);
            if told.as_ref() != Some(&key) {
                self.waiting(Some(Waiting::Lock {
                    path: holder.path.clone(),
                    holder: format!(
                        "pid {} ({})",
                        holder.pid,
                        holder.command.as_deref().unwrap_or("unknown")
                    ),
                    since: crate::clock::now(),
                }));
                told = Some(key);
            }
            if tokio::time::Instant::now() >= lock_deadline {
                self.waiting(None);
                return failed(format!(
                    "{} is held by pid {} ({}) after waiting {} s",
                    holder.path,
                    holder.pid,
                    holder.command.as_deref().unwrap_or("unknown"),
                    self.hooks.lock_wait_seconds
                ));
            }
            tokio::time::sleep(self.steps.config.poll_interval).await;
            assessment = match self.state(Depth::Health).await {
                Ok(assessment) => assessment,
                Err(result) => return result,
            };
        }
        if told.is_some() {
            self.waiting(None);
        }
        if let Some(problem) = self.disk_space_problem(&assessment) {
            return failed(problem);
        }
        if let Some(problem) = self.not_as_planned(&assessment) {
            return failed(problem);
        }
        if let Err(result) = self.restarts_precheck(log).await {
            return result;
        }
        if let Some(result) = self.backup_check(log).await {
            return result;
        }
        // The checks passed: the facts are recorded while the packages are fetched.
        let mut download_log = log.sibling();
        let (result, ()) =
            tokio::join!(self.record_facts(log), self.download_ahead(&mut download_log));
        log.absorb(download_log);
        result
    }

    /// Free space under what `min_free_mb` asks on one of its paths, in words. Read-only, also
    /// a dry run's check.
    pub(super) fn disk_space_problem(&self, assessment: &Assessment) -> Option<String> {
        model::precheck::disk_space_problem(&self.hooks.min_free_mb, &assessment.disk)
    }

    /// The host must still be as planned (`model::precheck::not_as_planned`). Read-only, also
    /// a dry run's check.
    pub(super) fn not_as_planned(&self, assessment: &Assessment) -> Option<String> {
        model::precheck::not_as_planned(&self.plan.changes, &assessment.installed)
    }

    /// Fetches the pinned packages into the package manager's cache, so that the apply (a wave
    /// later, when this precheck ran ahead) does not wait for them. Best effort: what it ran
    /// is journaled, and when it fails the apply downloads them itself.
    async fn download_ahead(&self, log: &mut Log) {
        let targets = self.targets();
        if !self.steps.config.download_ahead || targets.is_empty() {
            return;
        }
        let kind = self.plan.package_manager;
        if let Ok(command) = apply::download_command(kind, &targets, &self.steps.config.apply) {
            let _ = self.run(log, &command, "downloading the pinned packages ahead").await;
        }
    }

    /// The backup's freshness (`backup_command`, else `backup_path`'s age): `None` when it is
    /// fresh or none is configured. Read-only, also a dry run's check.
    pub(super) async fn backup_check(&self, log: &mut Log) -> Option<StepResult> {
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
        let modified = modified.filter(|_| output.exit_code == 0);
        let max_age = self.hooks.backup_max_age_hours;
        model::precheck::backup_age_problem(path, modified, now_unix(), max_age).map(failed)
    }

    /// The boot identity, the journal's position and errors so far, whether the boot default
    /// is patchctl's to set (when the plan changes a kernel), and which checks of the service
    /// already fail, for later steps: read at once, they are independent.
    async fn record_facts(&self, log: &mut Log) -> StepResult {
        let (mut mark_log, mut errors_log, mut boot_log, mut service_log) =
            (log.sibling(), log.sibling(), log.sibling(), log.sibling());
        let probes = apply::boot_identity_probes();
        let (identity, journal, bootloader, failing_before) = tokio::join!(
            self.gather(&probes),
            self.journal_facts(&mut mark_log, &mut errors_log),
            self.bootloader_facts(&mut boot_log),
            self.failing_before(&mut service_log),
        );
        for sibling in [mark_log, errors_log, boot_log, service_log] {
            log.absorb(sibling);
        }
        let mut facts = match identity {
            Ok(gathered) => match apply::boot_identity(&gathered) {
                Ok(identity) => BTreeMap::from([
                    (FACT_BOOT_ID.to_owned(), identity.boot_id),
                    (FACT_INIT_START.to_owned(), identity.init_start_ticks.to_string()),
                ]),
                Err(error) => return failed(format!("reading the boot identity: {error}")),
            },
            Err(error) => return unreachable(error),
        };
        match journal {
            Ok(journal) => facts.extend(journal),
            Err(result) => return result,
        }
        facts.extend(bootloader);
        match failing_before {
            Ok(baseline) => facts.extend(baseline),
            Err(result) => return result,
        }
        log.facts(facts);
        OK
    }

    /// The journal's position now and this boot's errors so far (none when the checks do not
    /// look at the journal).
    async fn journal_facts(
        &self,
        mark_log: &mut Log,
        errors_log: &mut Log,
    ) -> Result<BTreeMap<String, String>, StepResult> {
        let mut facts = BTreeMap::new();
        if !self.checks.journal_errors {
            return Ok(facts);
        }
        let (mark_command, since) = (apply::journal_mark_command(), JournalSince::ThisBoot);
        let (mark, baseline) = tokio::join!(
            self.run(mark_log, &mark_command, "journal position"),
            self.journal_errors(errors_log, &since),
        );
        let mark = match mark {
            Ok(output) => apply::parse_journal_mark(output.exit_code, &lossy(&output.stdout)),
            Err(error) => return Err(unreachable(error)),
        };
        let mark = mark.map_err(|error| failed(error.to_string()))?;
        if let Some(cursor) = mark.cursor {
            facts.insert(FACT_JOURNAL_CURSOR.to_owned(), cursor);
        }
        let known: Vec<(String, String)> =
            baseline?.into_iter().map(|e| (e.identifier, e.message)).collect();
        facts.insert(
            FACT_JOURNAL_BASELINE.to_owned(),
            serde_json::to_string(&known).expect("strings serialize"),
        );
        Ok(facts)
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
}
