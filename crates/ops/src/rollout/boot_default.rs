//! The kernel a host boots next, where its bootloader lets patchctl choose it
//! (`pkgmgr::apply::bootloader` decides how and when): the newest kernel after an apply that
//! installed one, the previous kernel after a rollback that touched one.

use std::collections::BTreeMap;

use model::Assessment;
use model::plan::RebootPolicy;
use pkgmgr::apply::{self as apply, BootDefault, Bootloader, RollbackPlan};
use rollout::StepResult;

use super::steps::{HostContext, Log, failed, lossy, unreachable};

/// The fact a rollback records when it made (or found) a kernel the boot default: the verify
/// after it checks that the host runs that kernel, not the newest installed.
pub(super) const FACT_BOOT_KERNEL: &str = "boot_kernel";
/// The fact a precheck records when the host's bootloader default is patchctl's to set
/// (grubby, or GRUB with `GRUB_DEFAULT=saved`): only then does the apply look at it again.
pub(super) const FACT_BOOT_DEFAULT_SETTABLE: &str = "boot_default_settable";

/// What a rollback must do once the previous kernel is the boot default.
pub(super) struct PreviousKernel {
    /// The host runs another installed kernel: a reboot is needed to run it.
    pub(super) reboot: bool,
    /// The kernel the verify expects the host to run; `None` when it will not run it by then
    /// (a plan that never reboots).
    pub(super) expect_after_reboot: Option<String>,
}

impl HostContext<'_> {
    /// Whether the plan changes a kernel package on this host.
    pub(super) fn changes_kernel(&self) -> bool {
        self.plan.changes.iter().any(|change| change.kernel)
    }

    /// For a precheck of a host whose plan changes a kernel: whether the apply will have to
    /// make the new kernel the boot default, as a fact. A bootloader patchctl cannot read is
    /// noted, and left to itself.
    pub(super) async fn bootloader_facts(&self, log: &mut Log) -> BTreeMap<String, String> {
        let mut facts = BTreeMap::new();
        if !self.changes_kernel() {
            return facts;
        }
        match self.bootloader(log).await {
            Ok(Bootloader::Grubby { .. }) => {}
            Ok(Bootloader::Grub(grub)) if grub.grub_default == "saved" => {}
            Ok(_) => return facts,
            Err(_) => {
                log.note(
                    "the bootloader could not be read (above); the boot default is left to it",
                );
                return facts;
            }
        }
        facts.insert(FACT_BOOT_DEFAULT_SETTABLE.to_owned(), "yes".to_owned());
        facts
    }

    /// After an apply that changed a kernel, on a host whose default is patchctl's to set:
    /// the newest installed kernel made the default, so that a default an earlier rollback
    /// pinned does not keep the host on the old kernel.
    pub(super) async fn newest_kernel_as_boot_default(
        &self,
        log: &mut Log,
        after: &Assessment,
    ) -> Result<(), StepResult> {
        let facts = self.steps.facts(&self.host.name).await;
        if !facts.contains_key(FACT_BOOT_DEFAULT_SETTABLE) {
            return Ok(());
        }
        let Some(newest) = after.installed_kernels.last() else { return Ok(()) };
        self.boot_default(log, &newest.release, "the newest kernel").await.map(drop)
    }

    /// Makes the previous kernel the boot default, or notes why it stays as it is. `Some` when
    /// it is the default now (patchctl made it so or found it so), with what the rollback must
    /// do about it; `Err` (the step's result) when the bootloader could not be read, or the
    /// change did not take.
    pub(super) async fn previous_kernel_as_boot_default(
        &self,
        log: &mut Log,
        plan: &RollbackPlan,
        after: &Assessment,
    ) -> Result<Option<PreviousKernel>, StepResult> {
        let kind = self.plan.package_manager;
        let Some(release) = apply::previous_kernel(
            kind,
            &self.plan.running_kernel,
            &after.installed_kernels,
            &plan.kept,
        ) else {
            log.note("boot default not changed: no kernel other than the kept ones is installed");
            return Ok(None);
        };
        let Some(release) = self.boot_default(log, &release, "the previous kernel").await? else {
            return Ok(None);
        };
        let running = &after.running_kernel;
        let runs_installed =
            after.installed_kernels.iter().any(|kernel| kernel.release == *running);
        let reboots = self.steps.plan.options.reboot != RebootPolicy::Never;
        let reboot = runs_installed && release != *running;
        if reboot {
            log.note(&format!(
                "the host runs {running} and boots {release} at its next reboot{}",
                if reboots { "" } else { " (the plan says --reboot never)" }
            ));
        }
        // The verify checks for it only when the host runs it by then.
        let expect_after_reboot = (release == *running || reboots).then_some(release);
        Ok(Some(PreviousKernel { reboot, expect_after_reboot }))
    }

    /// Makes `release` (`which` kernel, in words) the boot default where the bootloader lets
    /// patchctl; `Some(release)` when it is the default now, `None` when it was left alone.
    async fn boot_default(
        &self,
        log: &mut Log,
        release: &str,
        which: &str,
    ) -> Result<Option<String>, StepResult> {
        let bootloader = self.bootloader(log).await?;
        match apply::boot_default_change(&bootloader, release) {
            BootDefault::Unchanged { reason } => {
                log.note(&format!("boot default not changed ({which} is {release}): {reason}"));
                return Ok(None);
            }
            BootDefault::Already { describe } => {
                log.note(&format!("boot default already {which}, {release}: {describe}"));
            }
            BootDefault::Change { set, read_back, expect, describe } => {
                let output = self.run(log, &set, "boot default").await.map_err(unreachable)?;
                if output.exit_code != 0 {
                    return Err(failed(format!(
                        "making {release} the boot default: `{}` exited {}: {}",
                        set.display(),
                        output.exit_code,
                        lossy(&output.stderr).trim()
                    )));
                }
                let output = self
                    .run(log, &read_back, "boot default read back")
                    .await
                    .map_err(unreachable)?;
                apply::parse_saved_default(output.exit_code, &lossy(&output.stdout), &expect)
                    .map_err(|why| failed(format!("making {release} the boot default: {why}")))?;
                log.note(&format!("boot default is now {which}, {release}: {describe}"));
            }
        }
        Ok(Some(release.to_owned()))
    }

    /// What picks the kernel the host boots. `Err` is the step's result: the host did not
    /// answer, or its answer could not be read.
    async fn bootloader(&self, log: &mut Log) -> Result<Bootloader, StepResult> {
        let probe = apply::bootloader_probe_command();
        let output = self.run(log, &probe, "which bootloader").await.map_err(unreachable)?;
        apply::parse_bootloader(output.exit_code, &lossy(&output.stdout))
            .map_err(|error| failed(error.to_string()))
    }
}
