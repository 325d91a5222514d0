//! dnf's verdict on rebooting and restarting: `dnf needs-restarting -r` and `-s`, from the
//! needs-restarting plugin of dnf-plugins-core, which a host may lack.

use model::RebootStatus;

use crate::error::{AssessError, Problem};
use crate::probe::{Gathered, ProbeOutput};

use super::batch::DnfCommand;
use super::nevra::is_name;
use super::plugin_missing;

pub const REBOOT: &str = "dnf needs-restarting -r";
pub const SERVICES: &str = "dnf needs-restarting -s";

/// Both only look at installed packages, so no repository is loaded (`--disablerepo=*`): no
/// network, and a broken repository cannot make them fail.
///
/// `-r` is not worked out from rpm's install times instead: the plugin's rule changes between
/// versions of dnf-plugins-core (4.3.1 takes the boot time from `/proc/1` alone and does not list
/// `kernel-core`; later versions also use `/proc/uptime` and list it), and only the host's own
/// plugin gives the host's own answer.
pub const COMMANDS: [DnfCommand; 2] = [REBOOT_COMMAND, SERVICES_COMMAND];
pub const REBOOT_COMMAND: DnfCommand =
    DnfCommand { key: REBOOT, args: &["-q", "--disablerepo=*", "needs-restarting", "-r"] };
pub const SERVICES_COMMAND: DnfCommand =
    DnfCommand { key: SERVICES, args: &["-q", "--disablerepo=*", "needs-restarting", "-s"] };

const REBOOT_HEADER: &str = "Core libraries or services have been updated since boot-up:";

/// Exit code 0: no reboot needed. Exit code 1 is both "reboot required" (then standard output
/// starts with [`REBOOT_HEADER`] and lists the packages as `  * NAME`) and any dnf error. A
/// missing plugin says nothing either way: not required, as far as dnf knows.
///
/// The plugin compares install times with the boot time, which it takes from the mtime of
/// `/proc/1`; in a container that is the container's start.
pub fn reboot(gathered: &Gathered) -> Result<RebootStatus, AssessError> {
    if plugin_missing(gathered, REBOOT, "needs-restarting") {
        return Ok(RebootStatus::default());
    }
    match gathered.get(REBOOT) {
        Some(ProbeOutput::Ran { exit_code: 1, stdout, .. })
            if stdout.starts_with(REBOOT_HEADER) =>
        {
            parse_reboot_required(stdout)
        }
        _ => {
            gathered.stdout(REBOOT, &[0])?;
            Ok(RebootStatus::default())
        }
    }
}

pub fn parse_reboot_required(stdout: &str) -> Result<RebootStatus, AssessError> {
    let mut packages = Vec::new();
    for (i, line) in stdout.lines().enumerate().skip(1) {
        if let Some(name) = line.strip_prefix("  * ") {
            if !is_name(name) {
                return Err(AssessError::garbage(REBOOT, i + 1, line, "  * PACKAGE"));
            }
            packages.push(name.to_owned());
        } else {
            // The blank line and the closing sentences.
            break;
        }
    }
    if packages.is_empty() {
        return Err(AssessError::new(
            REBOOT,
            Problem::Invalid("dnf says a reboot is required but lists no package".into()),
        ));
    }
    let reasons =
        vec![format!("updated since boot (dnf needs-restarting): {}", packages.join(", "))];
    Ok(RebootStatus { required: true, packages, reasons })
}

/// The systemd services running outdated code, sorted; `None` when dnf cannot tell: the plugin
/// is missing, or there is no D-Bus to ask systemd which unit a process belongs to (the plugin
/// then dies with a `DBusException` traceback, which happens only when it found stale
/// processes).
///
/// The plugin skips files on devices with major number 0, which is every file on overlayfs: in
/// a Docker container it never finds anything.
pub fn services(gathered: &Gathered) -> Result<Option<Vec<String>>, AssessError> {
    if plugin_missing(gathered, SERVICES, "needs-restarting") {
        return Ok(None);
    }
    match gathered.get(SERVICES) {
        Some(ProbeOutput::Ran { exit_code: 1, stderr, .. })
            if stderr.contains("dbus.exceptions.DBusException") =>
        {
            Ok(None)
        }
        _ => parse_services(gathered.stdout(SERVICES, &[0])?).map(Some),
    }
}

/// One unit name a line, in no particular order (the plugin prints a Python set).
pub fn parse_services(stdout: &str) -> Result<Vec<String>, AssessError> {
    let mut units = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if !is_name(line) || !line.contains('.') {
            return Err(AssessError::garbage(
                SERVICES,
                i + 1,
                line,
                "a systemd unit name (NAME.service)",
            ));
        }
        units.push(line.to_owned());
    }
    units.sort();
    units.dedup();
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(key: &'static str, exit_code: i32, stdout: &str, stderr: &str) -> Gathered {
        let mut gathered = Gathered::new();
        gathered.insert(
            key,
            ProbeOutput::Ran { exit_code, stdout: stdout.to_owned(), stderr: stderr.to_owned() },
        );
        gathered
    }

    fn with(key: &'static str, output: ProbeOutput) -> Gathered {
        let mut gathered = Gathered::new();
        gathered.insert(key, output);
        gathered
    }

    #[test]
    fn reboot_verdicts() {
        let not = reboot(&with(REBOOT, captured!("none-needs-restarting-r"))).unwrap();
        assert_eq!(not, RebootStatus::default());
        let required = reboot(&with(REBOOT, captured!("updates-needs-restarting-r"))).unwrap();
        assert!(required.required);
        assert_eq!(required.packages, ["acme-db"]);
        assert_eq!(required.reasons, ["updated since boot (dnf needs-restarting): acme-db"]);
        let missing = reboot(&with(REBOOT, captured!("no-plugins-needs-restarting-r"))).unwrap();
        assert_eq!(missing, RebootStatus::default());
        let failed = ran(REBOOT, 1, "", "Error: rpmdb open failed\n");
        assert!(matches!(
            reboot(&failed).unwrap_err().problem,
            Problem::Failed { exit_code: 1, .. }
        ));
        let no_package = ran(REBOOT, 1, &format!("{REBOOT_HEADER}\n\nReboot is required\n"), "");
        assert!(reboot(&no_package).is_err());
        let bad = ran(REBOOT, 1, &format!("{REBOOT_HEADER}\n  * two words\n"), "");
        assert!(matches!(
            reboot(&bad).unwrap_err().problem,
            Problem::Garbage { line_number: 2, .. }
        ));
    }

    #[test]
    fn services_verdicts() {
        let none = services(&with(SERVICES, captured!("updates-needs-restarting-s"))).unwrap();
        assert_eq!(none, Some(vec![]));
        let in_container =
            services(&with(SERVICES, captured!("systemd-needs-restarting-s"))).unwrap();
        assert_eq!(in_container, Some(vec![]));
        let missing =
            services(&with(SERVICES, captured!("no-plugins-needs-restarting-s"))).unwrap();
        assert_eq!(missing, None);
        let no_dbus = services(&with(SERVICES, captured!("stale-needs-restarting-s"))).unwrap();
        assert_eq!(no_dbus, None);
        // What the plugin prints on a host with systemd (one `print(name)` per unit; written
        // here, not captured: see CAPTURE.md).
        let listed = ran(SERVICES, 0, "sshd.service\nacme-daemon.service\n", "");
        assert_eq!(services(&listed).unwrap().unwrap(), ["acme-daemon.service", "sshd.service"]);
        let bad = ran(SERVICES, 0, "1234 : /usr/bin/acme-daemon\n", "");
        assert!(matches!(
            services(&bad).unwrap_err().problem,
            Problem::Garbage { line_number: 1, .. }
        ));
        let other_failure = ran(SERVICES, 1, "", "Error: something else\n");
        assert!(services(&other_failure).is_err());
    }
}
