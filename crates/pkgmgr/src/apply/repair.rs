//! The package manager's own repair of a change that was cut short (a host killed or cut off
//! mid-apply): `dpkg --configure -a`, which finishes configuring what dpkg unpacked, and dnf's
//! `remove --duplicates`, which removes the older of two versions an interrupted rpm
//! transaction left in its database. Both do nothing on a healthy host. Whether the repair
//! worked is judged by the host's state read afterwards, not by the command's words.

use model::PackageManagerKind;

use super::install::{ApplyOptions, ConffilePolicy, dnf};
use super::outcome::{ApplyOutcome, FailureReason, output_tail};
use crate::probe::CommandSpec;

/// The repair command for `kind`, with the apply's conffile policy (dpkg asks nothing).
pub fn repair_command(kind: PackageManagerKind, options: &ApplyOptions) -> CommandSpec {
    match kind {
        PackageManagerKind::Apt => {
            let conffiles: &[&str] = match options.conffiles {
                ConffilePolicy::KeepOld => &["--force-confdef", "--force-confold"],
                ConffilePolicy::TakeNew => &["--force-confnew"],
            };
            let mut argv = vec!["dpkg".to_owned()];
            argv.extend(conffiles.iter().map(|o| (*o).to_owned()));
            argv.extend(["--configure".to_owned(), "-a".to_owned()]);
            CommandSpec::new(argv).with_env("DEBIAN_FRONTEND", "noninteractive")
        }
        PackageManagerKind::Dnf => {
            // `remove --duplicates` takes no package names: the `--` dnf() ends with is dropped.
            let mut command = dnf("remove", Vec::new());
            command.argv.pop();
            command.argv.push("--duplicates".to_owned());
            command
        }
    }
}

/// The repair's outcome by its exit code alone: dpkg and dnf say little that is worth parsing
/// here, and the host's state read after it is the verdict.
pub fn parse_repair_output(exit_code: i32, stdout: &str, stderr: &str) -> ApplyOutcome {
    if exit_code == 0 {
        ApplyOutcome::Succeeded { changes: Vec::new() }
    } else {
        ApplyOutcome::Failed {
            reason: FailureReason::Other,
            exit_code,
            changes: Vec::new(),
            output_tail: output_tail(stdout, stderr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_are_the_package_managers_own() {
        let options = ApplyOptions::default();
        let apt = repair_command(PackageManagerKind::Apt, &options);
        assert_eq!(apt.argv.join(" "), "dpkg --force-confdef --force-confold --configure -a");
        assert!(apt.env.iter().any(|(k, v)| k == "DEBIAN_FRONTEND" && v == "noninteractive"));
        let dnf = repair_command(PackageManagerKind::Dnf, &options);
        assert_eq!(
            dnf.argv.join(" "),
            "dnf -y --setopt=exit_on_lock=True --setopt=strict=True \
             --setopt=install_weak_deps=False --setopt=skip_if_unavailable=False --noautoremove \
             remove --duplicates"
        );
        assert!(matches!(parse_repair_output(0, "", ""), ApplyOutcome::Succeeded { .. }));
        assert!(matches!(
            parse_repair_output(2, "", "dpkg: error: dpkg frontend lock was locked"),
            ApplyOutcome::Failed { exit_code: 2, .. }
        ));
    }
}
