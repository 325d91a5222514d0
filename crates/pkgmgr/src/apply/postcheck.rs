//! Checks after patching: systemd units active, the running kernel the newest installed, and
//! the administrator's own commands. (New journal errors are in `journal.rs`.)

use std::cmp::Ordering;

use model::InstalledKernel;
use model::version::rpm::rpmvercmp;

use super::outcome::{OutputError, output_tail};
use super::validate::{self, InvalidInput};
use crate::probe::CommandSpec;

/// A unit's `ActiveState`, as `systemctl is-active` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitActivity {
    Active,
    Reloading,
    /// Also what systemd says of a unit that does not exist.
    Inactive,
    Failed,
    Activating,
    Deactivating,
    Maintenance,
    Refreshing,
}

impl UnitActivity {
    fn parse(word: &str) -> Option<UnitActivity> {
        Some(match word {
            "active" => UnitActivity::Active,
            "reloading" => UnitActivity::Reloading,
            "inactive" => UnitActivity::Inactive,
            "failed" => UnitActivity::Failed,
            "activating" => UnitActivity::Activating,
            "deactivating" => UnitActivity::Deactivating,
            "maintenance" => UnitActivity::Maintenance,
            "refreshing" => UnitActivity::Refreshing,
            _ => return None,
        })
    }
}

/// `systemctl is-active -- UNIT…`. Unit names are checked: letters, digits and `:_.@\-`.
pub fn is_active_command<S: AsRef<str>>(units: &[S]) -> Result<CommandSpec, InvalidInput> {
    if units.is_empty() {
        return Err(InvalidInput::new("unit list", "", "no units to check"));
    }
    let mut argv = vec!["systemctl".to_owned(), "is-active".to_owned(), "--".to_owned()];
    for unit in units {
        validate::word("unit", unit.as_ref(), b":_.@\\-")?;
        argv.push(unit.as_ref().to_owned());
    }
    Ok(CommandSpec::new(argv))
}

/// One line per unit, in the order asked. systemctl exits 0 when at least one of them is
/// active and 3 when none is (not "all": see systemctl(1)), which serves as a check that the
/// lines are systemctl's.
pub fn parse_is_active<S: AsRef<str>>(
    units: &[S],
    exit_code: i32,
    stdout: &str,
) -> Result<Vec<(String, UnitActivity)>, OutputError> {
    let invalid = |problem: String| OutputError { command: "systemctl is-active", problem };
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != units.len() || !(exit_code == 0 || exit_code == 3) {
        return Err(invalid(format!(
            "exit code {exit_code} and {} lines for {} units",
            lines.len(),
            units.len()
        )));
    }
    let states = units
        .iter()
        .zip(lines)
        .map(|(unit, line)| {
            let state = UnitActivity::parse(line)
                .ok_or_else(|| invalid(format!("unknown state {line:?}")))?;
            Ok((unit.as_ref().to_owned(), state))
        })
        .collect::<Result<Vec<_>, OutputError>>()?;
    let any_active = states.iter().any(|(_, s)| *s == UnitActivity::Active);
    if any_active != (exit_code == 0) {
        return Err(invalid(format!("exit code {exit_code} does not match the states")));
    }
    Ok(states)
}

/// Whether the host runs the kernel it should: the newest it has installed, or, after a
/// rollback made the previous kernel the boot default, that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelCheck {
    Newest,
    NotNewest {
        running: String,
        newest: String,
    },
    /// Runs the kernel a rollback made the boot default.
    BootDefault,
    NotBootDefault {
        running: String,
        boot_default: String,
    },
    /// The running kernel has no boot image on the host (a container runs its host's kernel),
    /// or the host has none at all: there is nothing to compare.
    Unknown {
        running: String,
    },
}

/// From an assessment taken after the reboot: its `running` kernel against `boot_default` when
/// a rollback set one, else against the newest of its `installed` kernels, ordered segment by
/// segment as the assessment orders them (rpm's `rpmvercmp`, which orders Debian's
/// `6.1.0-9-amd64` before `6.1.0-26-amd64` too). After a rollback that kept a newer kernel the
/// host may be running, the newest is the wrong kernel to run.
pub fn running_kernel_check(
    running: &str,
    installed: &[InstalledKernel],
    boot_default: Option<&str>,
) -> KernelCheck {
    let running = running.to_owned();
    if !installed.iter().any(|k| k.release == running) {
        return KernelCheck::Unknown { running };
    }
    if let Some(boot_default) = boot_default {
        return if running == boot_default {
            KernelCheck::BootDefault
        } else {
            KernelCheck::NotBootDefault { running, boot_default: boot_default.to_owned() }
        };
    }
    let newest = installed
        .iter()
        .map(|k| k.release.as_str())
        .max_by(|a, b| rpmvercmp(a, b))
        .unwrap_or(&running);
    if rpmvercmp(&running, newest) == Ordering::Less {
        KernelCheck::NotNewest { newest: newest.to_owned(), running }
    } else {
        KernelCheck::Newest
    }
}

/// What a custom check command gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub passed: bool,
    pub exit_code: i32,
    pub output_tail: String,
}

/// The administrator's own check, as an argv (no shell: a check that needs one says `sh -c`
/// itself). The program must not start with `-`.
pub fn custom_check_command<S: AsRef<str>>(argv: &[S]) -> Result<CommandSpec, InvalidInput> {
    let Some(program) = argv.first() else {
        return Err(InvalidInput::new("check command", "", "empty argv"));
    };
    let program = program.as_ref();
    if program.is_empty() || program.starts_with('-') || program.contains(char::is_whitespace) {
        return Err(InvalidInput::new("check program", program, "empty, white space or leading -"));
    }
    Ok(CommandSpec::new(argv.iter().map(|w| w.as_ref().to_owned())))
}

/// Passed when it exited 0.
pub fn parse_custom_check(exit_code: i32, stdout: &str, stderr: &str) -> CheckResult {
    CheckResult { passed: exit_code == 0, exit_code, output_tail: output_tail(stdout, stderr) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernels(releases: &[&str]) -> Vec<InstalledKernel> {
        releases.iter().map(|r| InstalledKernel { release: (*r).into(), package: None }).collect()
    }

    #[test]
    fn the_newest_kernel_unless_a_rollback_made_another_the_boot_default() {
        let installed = kernels(&["6.1.0-9-amd64", "6.1.0-26-amd64"]);
        let check = |running, default| running_kernel_check(running, &installed, default);
        assert_eq!(check("6.1.0-26-amd64", None), KernelCheck::Newest);
        assert_eq!(
            check("6.1.0-9-amd64", None),
            KernelCheck::NotNewest {
                running: "6.1.0-9-amd64".into(),
                newest: "6.1.0-26-amd64".into()
            }
        );
        assert_eq!(check("6.1.0-9-amd64", Some("6.1.0-9-amd64")), KernelCheck::BootDefault);
        assert_eq!(
            check("6.1.0-26-amd64", Some("6.1.0-9-amd64")),
            KernelCheck::NotBootDefault {
                running: "6.1.0-26-amd64".into(),
                boot_default: "6.1.0-9-amd64".into()
            }
        );
        // A container runs its host's kernel, which has no boot image in it.
        assert_eq!(
            check("6.12.9-amd64", Some("6.1.0-9-amd64")),
            KernelCheck::Unknown { running: "6.12.9-amd64".into() }
        );
    }
}
