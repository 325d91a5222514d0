//! After a rollback that touched a kernel: the previous kernel made the boot default, where the
//! host's bootloader lets patchctl do it (`pkgmgr::apply::bootloader` decides how and when).

use model::Assessment;
use pkgmgr::apply::{self as apply, BootDefault, RollbackPlan};
use rollout::StepResult;

use super::steps::{HostContext, Log, failed, lossy, unreachable};

/// The fact a rollback records when it made (or found) a kernel the boot default: the verify
/// after it checks that the host runs that kernel, not the newest installed.
pub(super) const FACT_BOOT_KERNEL: &str = "boot_kernel";

impl HostContext<'_> {
    /// Makes the previous kernel the boot default, or notes why it stays as it is: the release
    /// that is now the boot default, if patchctl made it so or found it so. `Err` (the step's
    /// result) when the bootloader could not be read, or the change did not take.
    pub(super) async fn previous_kernel_as_boot_default(
        &self,
        log: &mut Log,
        plan: &RollbackPlan,
        after: &Assessment,
    ) -> Result<Option<String>, StepResult> {
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
        let probe = apply::bootloader_probe_command();
        let output = self.run(log, &probe, "which bootloader").await.map_err(unreachable)?;
        let bootloader = apply::parse_bootloader(output.exit_code, &lossy(&output.stdout))
            .map_err(|e| failed(format!("after the rollback, {e}")))?;
        match apply::boot_default_change(&bootloader, &release) {
            BootDefault::Unchanged { reason } => {
                log.note(&format!(
                    "boot default not changed (previous kernel {release}): {reason}"
                ));
            }
            BootDefault::Already { describe } => {
                log.note(&format!(
                    "boot default already the previous kernel {release}: {describe}"
                ));
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
                log.note(&format!("boot default is now the previous kernel {release}: {describe}"));
            }
        }
        Ok(Some(release))
    }
}
