//! The steps after the apply: the reboot, proven by a new boot identity, and the postchecks.

use std::time::Duration;

use pkgmgr::Depth;
use pkgmgr::Gathered;
use pkgmgr::apply::{self as apply, JournalSince, KernelCheck};
use rollout::StepResult;

use crate::connect::ConnectConfig;

use super::steps::{HostContext, Log, OK, failed, lossy, unreachable};
use super::waiting::Waiting;

use super::boot_default::FACT_BOOT_KERNEL;
use super::prechecks::{FACT_BOOT_ID, FACT_INIT_START, FACT_JOURNAL_BASELINE, FACT_JOURNAL_CURSOR};

/// Why a host of a cancelled rollout was not rebooted: it is patched, on its old boot.
pub(super) const CANCELLED_BEFORE: &str = "not rebooted: the rollout was cancelled before this \
     host's reboot; it is patched and runs its old boot until rebooted";
pub(super) const CANCELLED_DURING_DELAY: &str = "reboot cancelled with the rollout during its \
     delay (`shutdown -c`): the host is patched and runs its old boot until rebooted";

/// The shortest wait between looks at a rebooting host: a look is a TCP connection that is
/// refused at once while sshd is down, and a login once it is up.
const REBOOT_POLL: Duration = Duration::from_millis(10);

/// The wait before the next look at a host that went down `down_for` ago: a hundredth of that,
/// from [`REBOOT_POLL`] up to `max` (the rollout's poll interval). A container back within a
/// second is seen within 10 ms of it; a server that takes minutes is looked at every 250 ms,
/// not a hundred times a second, which for a wave of hundreds of hosts would be tens of
/// thousands of connections a second.
fn next_look_after(down_for: Duration, max: Duration) -> Duration {
    (down_for / 100).clamp(REBOOT_POLL, max.max(REBOOT_POLL))
}

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
        // Only a resumed step can find the reboot done already.
        let already = resume
            && matches!(&self.boot_identity().await, Ok(now) if apply::rebooted(&before, now));
        let mut cancelled = self.steps.cancelled.subscribe();
        if !already && *cancelled.borrow_and_update() {
            // Cancelled before this reboot was scheduled; a resumed step's may have been, by
            // the process that died: called off too.
            if resume {
                self.cancel_reboot(log).await;
            }
            return failed(CANCELLED_BEFORE);
        }
        let delay = self.steps.config.reboot_delay_minutes;
        if !already {
            let message = self.reboot_message();
            let command = match apply::reboot_command(delay, &message) {
                Ok(command) => command,
                Err(error) => return failed(error.to_string()),
            };
            // Only under the lease: a process that stalled past it and was taken over must not
            // reboot a host the new driver is looking after.
            log.note("about to reboot");
            if let Err(lost) = self.steps.flush(&self.host.name, log).await {
                return lost.result();
            }
            // With `now` the connection may break before an exit code comes back: only the new
            // boot below proves anything.
            let _ = self.run(log, &command, "reboot").await;
            let _ = self.steps.flush(&self.host.name, log).await;
            self.forget_connection().await;
        }
        let now = crate::clock::now();
        let mut waiting = if delay > 0 && !already {
            Waiting::RebootAt { at: now + Duration::from_secs(u64::from(delay) * 60) }
        } else {
            Waiting::Rebooting { since: now }
        };
        self.waiting(Some(waiting.clone()));
        let result = self.wait_for_new_boot(log, &before, &mut cancelled, &mut waiting).await;
        self.waiting(None);
        result
    }

    /// Waits for the host to come back in a new boot (`before` is the old one), calling the
    /// reboot off when the rollout is cancelled during its delay.
    async fn wait_for_new_boot(
        &self,
        log: &mut Log,
        before: &apply::BootIdentity,
        cancelled: &mut tokio::sync::watch::Receiver<bool>,
        waiting: &mut Waiting,
    ) -> StepResult {
        let delay = self.steps.config.reboot_delay_minutes;
        // A host coming back is looked for often: a refused connection costs nothing, and a
        // reboot's end is on the critical path of its wave. How often depends on how long it
        // has been down (`next_look_after`).
        let down_since = tokio::time::Instant::now();
        let mut cancel_tried = false;
        loop {
            let every = next_look_after(down_since.elapsed(), self.steps.config.poll_interval);
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = cancelled.changed(), if !cancel_tried => {}
            }
            // A rollout cancelled during the delay calls the reboot off: `shutdown -c`, then
            // proof that the host is still in the boot it was in.
            if delay > 0 && !cancel_tried && *cancelled.borrow_and_update() {
                cancel_tried = true;
                if self.cancel_reboot(log).await {
                    match self.boot_identity().await {
                        Ok(now) if !apply::rebooted(before, &now) => {
                            return failed(CANCELLED_DURING_DELAY);
                        }
                        // It rebooted first: the reboot is done, and proven below.
                        _ => {}
                    }
                }
            }
            // A handshake sent while the host was down is answered only when the kernel sends
            // it again, a second later: fresh ones go out meanwhile, from twice the look's
            // interval on. (On the test fleet, a probe reached the new boot's sshd 350-650 ms
            // after it was ready with one handshake, 20-50 ms after with fresh ones.)
            let connect =
                ConnectConfig { syn_every: Some(every * 2), ..self.steps.config.connect.clone() };
            // One attempt per look: the loop is the retry.
            let Ok(ssh) = self.transport_once_with(&connect).await else {
                // Down: its delay is over, if it had one.
                if let Waiting::RebootAt { .. } = waiting {
                    *waiting = Waiting::Rebooting { since: crate::clock::now() };
                    self.waiting(Some(waiting.clone()));
                }
                continue;
            };
            match boot_identity_over(ssh.as_ref()).await {
                Ok(now) if apply::rebooted(before, &now) => {
                    log.note("the host is back with a new boot");
                    return OK;
                }
                Ok(_) => {}
                // The old connection broke as the host went down.
                Err(_) => self.forget_connection().await,
            }
            // The rollout's reboot timeout decides when to give up.
        }
    }

    /// `shutdown -c` on the host: true when it ran and said yes (exit 0).
    async fn cancel_reboot(&self, log: &mut Log) -> bool {
        let command = apply::cancel_reboot_command();
        match self.run(log, &command, "cancel the reboot").await {
            Ok(output) if output.exit_code == 0 => {
                log.note(
                    "the scheduled reboot was cancelled (shutdown -c): the rollout was cancelled",
                );
                true
            }
            _ => false,
        }
    }

    /// `shutdown -r +N`'s warning to logged-in users: the rollout, and whom to ask (the host's
    /// owner, else the operator who started it), in at most 200 printable characters.
    fn reboot_message(&self) -> String {
        let contact = self.host.owner.as_deref().unwrap_or(&self.steps.config.reboot_contact);
        let text = format!(
            "{} (patchctl rollout {}); contact {contact}",
            self.steps.config.reboot_message, self.steps.config.rollout_id
        );
        text.chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect::<String>()
            .trim_start_matches('-')
            .to_owned()
    }

    pub(super) async fn boot_identity(&self) -> Result<apply::BootIdentity, String> {
        boot_identity_over(self.transport().await?.as_ref()).await
    }

    /// The postchecks, all at once (they are independent): the service's (units active, HTTP
    /// checks, custom commands: `service_checks.rs`), new errors in the journal, the running
    /// kernel, the changed packages' files (`integrity.rs`). A host that stops answering is
    /// unreachable; otherwise every problem found is reported. `after_rollback`: the
    /// verification of a rollback, which answers for the host being as it was, so a check
    /// failing before the patch is never held against it.
    pub(super) async fn postcheck(&self, log: &mut Log, after_rollback: bool) -> StepResult {
        let (mut service_log, mut journal_log, mut integrity_log) =
            (log.sibling(), log.sibling(), log.sibling());
        let (service, journal, kernel, integrity) = tokio::join!(
            self.service_postcheck(&mut service_log, after_rollback),
            self.journal_check(&mut journal_log),
            self.kernel_check(),
            self.integrity_check(&mut integrity_log),
        );
        for sibling in [service_log, journal_log, integrity_log] {
            log.absorb(sibling);
        }
        let mut problems = Vec::new();
        for found in [service, journal, kernel, integrity] {
            match found {
                Ok(found) => problems.extend(found),
                Err(result) => return result,
            }
        }
        if problems.is_empty() { OK } else { failed(problems.join("; ")) }
    }

    async fn journal_check(&self, log: &mut Log) -> Result<Vec<String>, StepResult> {
        if !self.checks.journal_errors {
            return Ok(Vec::new());
        }
        let facts = self.steps.facts(&self.host.name).await;
        let since = match facts.get(FACT_JOURNAL_CURSOR) {
            Some(cursor) => JournalSince::Mark(cursor.clone()),
            None => JournalSince::ThisBoot,
        };
        let baseline: Vec<(String, String)> = facts
            .get(FACT_JOURNAL_BASELINE)
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default();
        let (system, by_users): (Vec<_>, Vec<_>) = self
            .journal_errors(log, &since)
            .await?
            .into_iter()
            .partition(apply::JournalEntry::is_from_the_system);
        if !by_users.is_empty() {
            // Anyone with a login can log an error; only the system's count.
            log.note(&format!(
                "{} errors logged by users' own processes were not counted",
                by_users.len()
            ));
        }
        let (own, system): (Vec<_>, Vec<_>) =
            system.into_iter().partition(apply::JournalEntry::is_from_patchctls_connection);
        if !own.is_empty() {
            log.note(&format!(
                "{} refusals by sshd of patchctl's own sessions (\"no more sessions\") were not counted",
                own.len()
            ));
        }
        let new: Vec<String> = system
            .into_iter()
            .filter(|e| !baseline.iter().any(|(i, m)| *i == e.identifier && *m == e.message))
            .filter(|e| {
                let ignore = &self.checks.journal_ignore;
                !ignore.iter().any(|text| e.message.contains(text.as_str()))
            })
            .map(|e| format!("{}: {}", e.identifier, e.message))
            .collect();
        Ok(if new.is_empty() {
            Vec::new()
        } else {
            vec![format!("new errors in the journal: {}", new.join("; "))]
        })
    }

    async fn kernel_check(&self) -> Result<Vec<String>, StepResult> {
        if !self.checks.kernel {
            return Ok(Vec::new());
        }
        let (assessment, facts) =
            tokio::join!(self.state(Depth::Installed), self.steps.facts(&self.host.name));
        let assessment = assessment?;
        let boot_default = facts.get(FACT_BOOT_KERNEL).map(String::as_str);
        let (running, installed) = (&assessment.running_kernel, &assessment.installed_kernels);
        Ok(match apply::running_kernel_check(running, installed, boot_default) {
            KernelCheck::NotNewest { running, newest } => {
                vec![format!("running kernel {running}, newest installed {newest}")]
            }
            KernelCheck::NotBootDefault { running, boot_default } => vec![format!(
                "running kernel {running}, not {boot_default}, which the rollback made the boot \
                 default"
            )],
            _ => Vec::new(),
        })
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

async fn boot_identity_over(ssh: &dyn transport::Transport) -> Result<apply::BootIdentity, String> {
    let mut gathered = Gathered::new();
    crate::assess::gather(ssh, &apply::boot_identity_probes(), &mut gathered).await;
    apply::boot_identity(&gathered).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebooting_host_is_looked_at_less_often_the_longer_it_is_down() {
        let max = Duration::from_millis(250);
        let ms = Duration::from_millis;
        // A container's reboot: every 10 ms (a fresh handshake every 20 ms).
        assert_eq!(next_look_after(ms(0), max), ms(10));
        assert_eq!(next_look_after(ms(900), max), ms(10));
        // A server's: a hundredth of the time it has been down, at most the poll interval.
        assert_eq!(next_look_after(ms(5_000), max), ms(50));
        assert_eq!(next_look_after(ms(60_000), max), ms(250));
        // A poll interval below the floor does not make the looks more frequent than 10 ms.
        assert_eq!(next_look_after(ms(60_000), ms(1)), ms(10));
    }
}
