//! Services still running replaced code after an apply or a rollback: which ones the host's own
//! tool names (needrestart on apt hosts, `dnf needs-restarting -s` on dnf hosts), which of them a
//! rollout restarts under the plan's [`ServiceRestarts`], and the restart itself.
//!
//! The tool decides what runs replaced code; patchctl decides what is restarted. apt's own
//! needrestart hook only lists during an apply (`NEEDRESTART_MODE=l`, `install.rs`), so nothing
//! restarts unless the plan says so.

use model::PackageManagerKind;
use model::plan::{RestartServices, ServiceRestarts};

use super::outcome::{OutputError, output_tail};
use super::validate::{self, InvalidInput};
use crate::probe::CommandSpec;

/// The command that names the services running replaced code: `needrestart -b -r l` (batch
/// mode, list only: needrestart restarts nothing) or `dnf -q --disablerepo=* needs-restarting
/// -s` (installed packages only: no repository is loaded).
pub fn stale_services_command(kind: PackageManagerKind) -> CommandSpec {
    match kind {
        PackageManagerKind::Apt => CommandSpec::new(["needrestart", "-b", "-r", "l"]),
        PackageManagerKind::Dnf => {
            let mut argv = vec!["dnf".to_owned()];
            argv.extend(crate::dnf::SERVICES_COMMAND.args.iter().map(|a| (*a).to_owned()));
            CommandSpec::new(argv)
        }
    }
}

/// The names the tool gave, as it gave them (needrestart also names `systemd-manager`, PID 1,
/// which is no unit: [`choose`] leaves it). `Err` when the tool is missing, failed, or cannot
/// tell (dnf without D-Bus), in words.
pub fn parse_stale_services(
    kind: PackageManagerKind,
    exit_code: i32,
    stdout: &str,
    stderr: &str,
) -> Result<Vec<String>, OutputError> {
    let command = match kind {
        PackageManagerKind::Apt => "needrestart -b",
        PackageManagerKind::Dnf => "dnf needs-restarting -s",
    };
    let failed = |problem: String| OutputError { command, problem };
    match (kind, exit_code) {
        // The shell's "command not found", over SSH as locally.
        (PackageManagerKind::Apt, 127) => Err(failed(
            "needrestart is not installed on the host (apt-get install needrestart)".into(),
        )),
        (PackageManagerKind::Dnf, 1) if stderr.contains("No such command: needs-restarting") => {
            Err(failed(
                "dnf's needs-restarting plugin is not installed on the host (dnf-plugins-core)"
                    .into(),
            ))
        }
        (PackageManagerKind::Dnf, 1) if stderr.contains("dbus.exceptions.DBusException") => {
            Err(failed(
                "it found processes running replaced code but could not ask systemd (over D-Bus) \
                 which services they belong to"
                    .into(),
            ))
        }
        (_, 0) => match kind {
            PackageManagerKind::Apt => crate::apt::parse_needrestart(command, stdout)
                .map(|parsed| parsed.services)
                .map_err(|error| failed(error.problem.to_string())),
            PackageManagerKind::Dnf => crate::dnf::parse_needs_restarting_services(stdout)
                .map_err(|error| failed(error.problem.to_string())),
        },
        (_, code) => Err(failed(format!("exit code {code}: {}", output_tail("", stderr).trim()))),
    }
}

/// What the rollout restarts of the services the tool named, and what it leaves, with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestartChoice {
    /// In the order named, without duplicates.
    pub restart: Vec<String>,
    /// `(name, why it is not restarted)`.
    pub left: Vec<(String, String)>,
}

/// sshd's unit names: Debian's and Red Hat's.
const SSHD_UNITS: [&str; 2] = ["ssh.service", "sshd.service"];

/// Which of the `named` services to restart under `restarts`. `listed` is the host's `[checks]
/// units` (a name without a suffix is a `.service`). Never restarted, whatever the plan says:
/// what is not a service (needrestart's `systemd-manager` is PID 1, which only a re-execution
/// or a reboot renews), the system bus (every service on it would lose its connection; needrestart
/// itself never restarts it either), a user's manager and the login terminals. sshd only with
/// `restarts.sshd`: it carries patchctl's own connection.
pub fn choose(named: &[String], restarts: ServiceRestarts, listed: &[String]) -> RestartChoice {
    let mut choice = RestartChoice::default();
    if restarts.services == RestartServices::Never {
        return choice;
    }
    let listed: Vec<String> = listed
        .iter()
        .map(|unit| if unit.contains('.') { unit.clone() } else { format!("{unit}.service") })
        .collect();
    for name in named {
        if choice.restart.contains(name) || choice.left.iter().any(|(left, _)| left == name) {
            continue;
        }
        let why: Option<String> = if name == "systemd-manager" {
            Some(
                "systemd itself (PID 1) runs replaced code: only `systemctl daemon-reexec` or a \
                  reboot renews it"
                    .into(),
            )
        } else if !name.ends_with(".service") {
            Some("not a service".into())
        } else if SSHD_UNITS.contains(&name.as_str()) && !restarts.sshd {
            Some(
                "sshd carries patchctl's connection: restarted only with restart_sshd = true"
                    .into(),
            )
        } else if name.starts_with("dbus") {
            Some("the system bus: restarting it cuts every service off it".into())
        } else if name.starts_with("user@")
            || name.starts_with("getty@")
            || name.starts_with("serial-getty@")
        {
            Some("a user's session or a login terminal".into())
        } else if restarts.services == RestartServices::Listed && !listed.contains(name) {
            Some("not among the host's checked units (restart_services = listed)".into())
        } else {
            None
        };
        match why {
            Some(why) => choice.left.push((name.clone(), why)),
            None => choice.restart.push(name.clone()),
        }
    }
    choice
}

/// `systemctl restart -- UNIT…`. Unit names are checked: letters, digits and `:_.@\-`.
pub fn restart_command<S: AsRef<str>>(units: &[S]) -> Result<CommandSpec, InvalidInput> {
    if units.is_empty() {
        return Err(InvalidInput::new("unit list", "", "no units to restart"));
    }
    let mut argv = vec!["systemctl".to_owned(), "restart".to_owned(), "--".to_owned()];
    for unit in units {
        validate::word("unit", unit.as_ref(), b":_.@\\-")?;
        argv.push(unit.as_ref().to_owned());
    }
    Ok(CommandSpec::new(argv))
}

/// The restart's result: `Err` in words when it failed. systemctl restarts every unit it can
/// and names the ones it could not on standard error (`Failed to restart UNIT: …`).
pub fn parse_restart(exit_code: i32, stderr: &str) -> Result<(), String> {
    if exit_code == 0 {
        return Ok(());
    }
    let reasons: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("Failed to restart") || line.starts_with("Job for"))
        .collect();
    Err(if reasons.is_empty() {
        format!("systemctl restart exited {exit_code}: {}", output_tail("", stderr).trim())
    } else {
        format!("systemctl restart exited {exit_code}: {}", reasons.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! captured {
        ($name:literal) => {
            (
                include_str!(concat!("../../test_data/restarts/", $name, ".rc"))
                    .trim()
                    .parse::<i32>()
                    .unwrap(),
                include_str!(concat!("../../test_data/restarts/", $name, ".stdout")),
                include_str!(concat!("../../test_data/restarts/", $name, ".stderr")),
            )
        };
    }

    fn stale(kind: PackageManagerKind, (rc, stdout, stderr): (i32, &str, &str)) -> Vec<String> {
        parse_stale_services(kind, rc, stdout, stderr).unwrap()
    }

    const NEEDRESTART: ServiceRestarts =
        ServiceRestarts { services: RestartServices::Needrestart, sshd: false };

    #[test]
    fn the_commands_are_the_tools_own() {
        assert_eq!(
            stale_services_command(PackageManagerKind::Apt).argv,
            ["needrestart", "-b", "-r", "l"]
        );
        assert_eq!(
            stale_services_command(PackageManagerKind::Dnf).argv,
            ["dnf", "-q", "--disablerepo=*", "needs-restarting", "-s"]
        );
    }

    #[test]
    fn needrestart_names_the_worker_and_then_nothing_after_its_restart() {
        let apt = PackageManagerKind::Apt;
        assert_eq!(stale(apt, captured!("apt-stale-worker")), ["acme-worker.service"]);
        assert!(stale(apt, captured!("apt-after-restart")).is_empty());
        // On overlayfs dnf's plugin sees nothing (CAPTURE.md): not an error, nothing to restart.
        let dnf = PackageManagerKind::Dnf;
        assert!(stale(dnf, captured!("dnf-stale-worker-overlayfs")).is_empty());
    }

    #[test]
    fn a_tool_that_is_missing_or_cannot_tell_is_an_error_in_words() {
        let apt = PackageManagerKind::Apt;
        let missing = parse_stale_services(apt, 127, "", "sh: 1: needrestart: not found\n");
        assert!(missing.unwrap_err().problem.contains("not installed"));
        let garbage = parse_stale_services(apt, 0, "Scanning processes...\n", "");
        assert!(garbage.is_err());
        let dnf = PackageManagerKind::Dnf;
        // Captured in ../dnf (a host without the plugin, a chroot without D-Bus).
        let no_plugin = parse_stale_services(
            dnf,
            1,
            "",
            include_str!("../../test_data/dnf/no-plugins-needs-restarting-s.stderr"),
        );
        assert!(no_plugin.unwrap_err().problem.contains("dnf-plugins-core"));
        let no_dbus = parse_stale_services(
            dnf,
            1,
            "",
            include_str!("../../test_data/dnf/stale-needs-restarting-s.stderr"),
        );
        assert!(no_dbus.unwrap_err().problem.contains("D-Bus"));
    }

    #[test]
    fn never_restarts_nothing_and_listed_only_the_checked_units() {
        let named = stale(PackageManagerKind::Apt, captured!("apt-stale-worker"));
        assert_eq!(choose(&named, ServiceRestarts::default(), &[]), RestartChoice::default());
        assert_eq!(choose(&named, NEEDRESTART, &[]).restart, ["acme-worker.service"]);
        let listed = ServiceRestarts { services: RestartServices::Listed, sshd: false };
        assert_eq!(
            choose(&named, listed, &["acme-worker".into()]).restart,
            ["acme-worker.service"]
        );
        let other = choose(&named, listed, &["acme-web".into()]);
        assert!(other.restart.is_empty());
        assert_eq!(other.left[0].0, "acme-worker.service");
    }

    #[test]
    fn sshd_pid_1_and_the_bus_are_left_unless_sshd_is_asked_for() {
        // What needrestart named in a container after libssl3 was upgraded (../apt/CAPTURE.md).
        let (_, stdout, _) = (0, include_str!("../../test_data/apt/needrestart-ssh.stdout"), "");
        let mut named = crate::apt::parse_needrestart("needrestart", stdout).unwrap().services;
        named.push("dbus.service".into());
        let choice = choose(&named, NEEDRESTART, &[]);
        assert_eq!(choice.restart, ["systemd-journald.service", "systemd-logind.service"]);
        let left: Vec<&str> = choice.left.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(left, ["ssh.service", "systemd-manager", "dbus.service"]);
        assert!(choice.left[0].1.contains("restart_sshd"));
        let with_sshd = choose(&named, ServiceRestarts { sshd: true, ..NEEDRESTART }, &[]);
        assert_eq!(with_sshd.restart[0], "ssh.service");
    }

    #[test]
    fn the_restart_names_each_unit_after_a_double_dash_and_refuses_odd_names() {
        let command = restart_command(&["acme-worker.service"]).unwrap();
        assert_eq!(command.argv, ["systemctl", "restart", "--", "acme-worker.service"]);
        assert!(restart_command(&["--force"]).is_err());
        assert!(restart_command(&["a b.service"]).is_err());
        assert!(restart_command(&["x;reboot"]).is_err());
        assert!(restart_command::<&str>(&[]).is_err());
    }

    #[test]
    fn a_failed_restart_says_which_unit() {
        let (rc, _, stderr) = captured!("systemctl-restart-missing");
        let error = parse_restart(rc, stderr).unwrap_err();
        assert_eq!(
            error,
            "systemctl restart exited 5: Failed to restart no-such-unit.service: Unit \
             no-such-unit.service not found."
        );
        let (rc, _, stderr) = captured!("systemctl-restart");
        assert_eq!(parse_restart(rc, stderr), Ok(()));
    }
}
