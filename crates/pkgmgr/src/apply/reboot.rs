//! Rebooting a host, and telling afterwards that it did.
//!
//! A boot is identified by the kernel's boot id and by the start time of PID 1. The boot id
//! changes with every boot of a real machine or VM; in a container it is the host kernel's and
//! never changes, but PID 1 starts again with the container, so its start time (in clock ticks
//! since the kernel booted, field 22 of `/proc/1/stat`) changes instead. PID 1 never restarts
//! without a reboot (`systemctl daemon-reexec` keeps its process), and on a real machine its
//! start time may well be the same after a reboot, hence both.

use crate::error::{AssessError, Problem};
use crate::probe::{CommandSpec, Gathered, ProbeSpec};

use super::validate::InvalidInput;

/// The probe keys of [`boot_identity_probes`]. `BOOT_ID` is the key and path the assessment's
/// own probes use, so both sets can share one [`Gathered`].
pub const BOOT_ID: &str = "boot id";
pub const INIT_STAT: &str = "/proc/1/stat";

/// `shutdown -r +N MESSAGE`, or `shutdown -r now MESSAGE` for no delay. With a delay shutdown
/// schedules the reboot, warns logged-in users with `MESSAGE`, and exits 0 at once; with `now`
/// the host starts going down before the command returns, so the connection that ran it may
/// break instead of reporting an exit code: both mean the reboot is under way, and only a new
/// [`BootIdentity`] proves it happened.
pub fn reboot_command(delay_minutes: u32, message: &str) -> Result<CommandSpec, InvalidInput> {
    if message.starts_with('-')
        || message.chars().count() > 200
        || message.contains(|c: char| c.is_control())
    {
        return Err(InvalidInput::new(
            "reboot message",
            message,
            "at most 200 printable characters, not starting with -",
        ));
    }
    let when = if delay_minutes == 0 { "now".to_owned() } else { format!("+{delay_minutes}") };
    let mut argv = vec!["shutdown".to_owned(), "-r".to_owned(), when];
    if !message.is_empty() {
        argv.push(message.to_owned());
    }
    Ok(CommandSpec::new(argv))
}

/// `shutdown -c`: cancels a reboot scheduled with a delay (a rollout paused or cancelled in the
/// meantime).
pub fn cancel_reboot_command() -> CommandSpec {
    CommandSpec::new(["shutdown", "-c"])
}

/// Which boot a host is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootIdentity {
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: String,
    /// PID 1's start time in clock ticks after the kernel booted.
    pub init_start_ticks: u64,
}

/// The files that make up a [`BootIdentity`].
pub fn boot_identity_probes() -> Vec<ProbeSpec> {
    vec![
        ProbeSpec::read_file(BOOT_ID, "/proc/sys/kernel/random/boot_id"),
        ProbeSpec::read_file(INIT_STAT, "/proc/1/stat"),
    ]
}

pub fn boot_identity(gathered: &Gathered) -> Result<BootIdentity, AssessError> {
    let missing = |key| AssessError::new(key, Problem::Invalid("the file does not exist".into()));
    let boot_id = gathered.file(BOOT_ID)?.ok_or_else(|| missing(BOOT_ID))?.trim();
    if boot_id.is_empty() || boot_id.len() > 64 || boot_id.contains(char::is_whitespace) {
        return Err(AssessError::garbage(BOOT_ID, 1, boot_id, "a boot id (a UUID)"));
    }
    let stat = gathered.file(INIT_STAT)?.ok_or_else(|| missing(INIT_STAT))?;
    let init_start_ticks = parse_start_ticks(stat)
        .ok_or_else(|| AssessError::garbage(INIT_STAT, 1, stat.trim_end(), "PID 1's stat line"))?;
    Ok(BootIdentity { boot_id: boot_id.to_owned(), init_start_ticks })
}

/// Field 22 of `1 (systemd) S 0 1 1 …`. The command name between the parentheses may hold
/// spaces and parentheses itself, so the fields are counted after the last `)`.
fn parse_start_ticks(stat: &str) -> Option<u64> {
    let (pid, _) = stat.split_once(' ')?;
    if pid != "1" {
        return None;
    }
    let (_, after_name) = stat.rsplit_once(')')?;
    // Fields 3 (state) onwards; starttime is the 22nd field, so the 20th of these.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the host booted between the two identities.
pub fn rebooted(before: &BootIdentity, after: &BootIdentity) -> bool {
    before.boot_id != after.boot_id || before.init_start_ticks != after.init_start_ticks
}
