//! What a rollout runs on a host, as data: the argv that applies pinned versions, rolls them
//! back, runs them as their own systemd unit, reboots, checks and cleans up old kernels, and the
//! parsers of those commands' real outputs. Nothing here runs anything.
//!
//! Decisions a rollout driver must know:
//! - **Apply** installs exact versions in one transaction: `apt-get install name:arch=version…`
//!   or `dnf install name-version.arch…`; see [`apply_command`] for every option and why.
//! - **Run it as a unit** ([`run_as_unit`]): the apply outlives a lost SSH connection, and its
//!   outputs go to files named after the unit. The unit stays loaded after it ends
//!   (`--remain-after-exit`, and no `--collect`, which would unload a finished unit at once and
//!   with it the exit status). The apply has finished when [`unit_status_command`] no longer
//!   says [`UnitState::Running`], from this connection or any later one; on
//!   [`UnitState::Exited`] the driver reads the files ([`unit_output_probes`]), parses them with
//!   the exit code ([`parse_apply_output`]) and unloads the unit ([`release_unit_command`]).
//!   [`UnitState::Killed`] is a failed apply that may have left dpkg interrupted. A reboot
//!   unloads every unit: [`UnitState::NotFound`] then means "look at the host": assess it and
//!   [`verify_installed`].
//! - **Expected failures are data**: [`ApplyOutcome::Failed`] with a [`FailureReason`]; `Err` is
//!   only for output we cannot read (cut short, unknown shape). dnf exits 0 when a scriptlet
//!   fails; that is a failure here.
//! - **Lock waits**: apt waits itself (`DPkg::Lock::Timeout`). dnf 4 either waits forever or,
//!   with `exit_on_lock`, not at all; patchctl takes the latter, and the driver retries an apply
//!   that failed with [`FailureReason::Locked`] until its own lock timeout has passed.
//! - **Rollback** ([`plan_rollback`]) downgrades to the recorded versions and removes what the
//!   update newly installed, except a kernel the host may be running. A version no repository
//!   offers any more cannot be downgraded to ([`FailureReason::NotFound`]); a removal takes
//!   what depends on the removed package with it ([`unexpected_removals`] names those);
//!   [`verify_rollback`] tells what is left undone. After a rollback that touched a kernel, the
//!   previous kernel is made the boot default where the bootloader lets patchctl do it
//!   ([`boot_default_change`]).
//! - **Dry run** ([`simulate_command`]): the apply's own command as the package manager's
//!   simulation (`apt-get --simulate`, `dnf --assumeno --cacheonly`), which changes nothing;
//!   [`parse_simulation`] says what the apply would install, what else it would change (a
//!   dependency, a removal) or why it would fail. It cannot see maintainer scripts.
//! - **Verify** ([`verify_installed`]) on a fresh assessment after every apply, whatever its
//!   output said.
//! - **Integrity** ([`verify_command`], [`parse_verify_output`]): `dpkg --verify` / `rpm -V` of
//!   each changed package after an apply and after a rollback; a configuration file the
//!   administrator changed is reported, a missing or altered file is a failure.

mod bootloader;
mod install;
mod integrity;
mod journal;
mod kernels;
mod outcome;
mod outcome_apt;
mod outcome_dnf;
mod postcheck;
mod reboot;
mod repair;
mod restarts;
mod rollback;
mod simulate;
mod trace;
mod unit;
mod validate;
mod verify;

#[cfg(test)]
mod tests;

pub use bootloader::{
    BootDefault, Bootloader, BootloaderError, Grub, MenuEntry, boot_default_change,
    bootloader_probe_command, parse_bootloader, parse_grub_cfg, parse_saved_default,
    previous_kernel,
};
pub use install::{ApplyOptions, ConffilePolicy, PinnedPackage, apply_command, download_command};
pub use integrity::{
    FileFinding, FileVerdict, PackageIntegrity, parse_verify_output, verify_command,
};
pub use journal::{
    JournalEntry, JournalMark, JournalSince, journal_errors_command, journal_mark_command,
    new_journal_errors, parse_journal_errors, parse_journal_mark,
};
pub use kernels::{KernelCleanup, kernel_cleanup, kernel_cleanup_command};
pub use outcome::{
    ApplyOutcome, ChangeKind, FailureReason, OutputError, PackageChange, output_tail,
    parse_apply_output,
};
pub use postcheck::{
    CheckResult, KernelCheck, UnitActivity, custom_check_command, is_active_command,
    parse_custom_check, parse_is_active, running_kernel_check,
};
pub use reboot::{
    BOOT_ID, BootIdentity, INIT_STAT, boot_identity, boot_identity_probes, cancel_reboot_command,
    reboot_command, rebooted,
};
pub use repair::{parse_repair_output, repair_command};
pub use restarts::{
    RestartChoice, choose as choose_restarts, parse_restart, parse_stale_services, restart_command,
    stale_services_command,
};
pub use rollback::{
    KeptPackage, RollbackItem, RollbackPlan, plan_rollback, rollback_commands, unexpected_removals,
};
pub use simulate::{SimulatedApply, parse_simulation, simulate_command};
pub use trace::{DEFAULT_HOST_LOG, TraceLine, trace_command};
pub use unit::{
    Rerun, UNIT_OUTPUT_DIR, UNIT_STDERR, UNIT_STDOUT, UnitName, UnitStart, UnitState,
    parse_start_and_wait, parse_unit_run_time, parse_unit_start, parse_unit_status,
    release_unit_command, run_as_unit, start_and_wait_command, unit_output_probes,
    unit_outputs_cleanup_command, unit_status_command, unit_wait_command,
};
pub use validate::InvalidInput;
pub use verify::{Mismatch, verify_installed, verify_rollback};
