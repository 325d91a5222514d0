//! The steps after the apply: the reboot, proven by a new boot identity, and the postchecks.

use pkgmgr::Depth;
use pkgmgr::Gathered;
use pkgmgr::apply::{self as apply, JournalSince, KernelCheck};
use rollout::StepResult;

use super::steps::{Backoff, HostContext, Log, OK, failed, lossy, unreachable};

use super::prechecks::{FACT_BOOT_ID, FACT_INIT_START, FACT_JOURNAL_BASELINE, FACT_JOURNAL_CURSOR};

impl HostContext<'_> {
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
        let mut backoff = Backoff::new(self.steps.config.poll_interval);
        loop {
            backoff.wait().await;
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
            match self.state(Depth::Installed).await {
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

    pub(super) async fn journal_errors(
        &self,
        log: &mut Log,
        since: &JournalSince,
    ) -> Result<Vec<apply::JournalEntry>, StepResult> {
        let command = apply::journal_errors_command(since).map_err(|e| failed(e.to_string()))?;
        let output = self.run(log, &command, "journal errors").await.map_err(unreachable)?;
        apply::parse_journal_errors(output.exit_code, &lossy(&output.stdout))
            .map_err(|e| failed(e.to_string()))
    }

    pub(super) async fn gather(&self, probes: &[pkgmgr::ProbeSpec]) -> Result<Gathered, String> {
        let ssh = self.transport().await?;
        let mut gathered = Gathered::new();
        crate::assess::gather(ssh.as_ref(), probes, &mut gathered).await;
        Ok(gathered)
    }
}
