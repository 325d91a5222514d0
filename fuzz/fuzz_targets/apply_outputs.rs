//! The outputs a rollout reads back from a host: the apply and the rollback (apt and dnf), the
//! repair, systemd-run and the unit's status, journalctl's cursor and errors, systemctl
//! is-active, a custom check, the boot identity, `dpkg --verify` and `rpm -V`. The input is one section (stdout, stderr,
//! exit code; see `src/lib.rs`) that every parser reads.

#![no_main]

use libfuzzer_sys::fuzz_target;
use model::PackageManagerKind;
use patchctl_fuzz::ran;
use pkgmgr::apply;
use pkgmgr::{Gathered, ProbeOutput};

fuzz_target!(|input: &str| {
    let ProbeOutput::Ran { exit_code, stdout, stderr } = ran(input) else { unreachable!() };
    for kind in [PackageManagerKind::Apt, PackageManagerKind::Dnf] {
        let _ = apply::parse_apply_output(kind, exit_code, &stdout, &stderr);
    }
    let _ = apply::parse_repair_output(exit_code, &stdout, &stderr);
    let _ = apply::parse_unit_start(exit_code, &stdout, &stderr);
    let (_, status) = apply::parse_start_and_wait(exit_code, &stdout, &stderr);
    if let Some(status) = status {
        let _ = apply::parse_unit_status(status);
    }
    let _ = apply::parse_unit_status(&stdout);
    let _ = apply::parse_unit_run_time(&stdout);
    let _ = apply::parse_journal_mark(exit_code, &stdout);
    if let Ok(entries) = apply::parse_journal_errors(exit_code, &stdout) {
        let _ = apply::new_journal_errors(&entries[..entries.len() / 2], &entries);
    }
    let units: Vec<&str> = stderr.lines().collect();
    let _ = apply::parse_is_active(&units, exit_code, &stdout);
    let _ = apply::parse_custom_check(exit_code, &stdout, &stderr);
    for (kind, arch) in [(PackageManagerKind::Apt, "all"), (PackageManagerKind::Dnf, "noarch")] {
        let package = apply::PinnedPackage::new("acme-agent", arch, "1.0-1");
        if let Ok(verified) =
            apply::parse_verify_output(kind, &package, exit_code, &stdout, &stderr)
        {
            // Every file reported is an absolute path from one of the tool's lines.
            for finding in verified.findings() {
                assert!(finding.path.starts_with('/'), "{finding:?}");
                assert!(stdout.lines().any(|l| l.ends_with(&finding.path)), "{finding:?}");
            }
        }
    }

    let mut gathered = Gathered::new();
    gathered.insert(apply::BOOT_ID, ProbeOutput::File(Some(stdout.clone())));
    gathered.insert(apply::INIT_STAT, ProbeOutput::File(Some(stderr.clone())));
    if let Ok(identity) = apply::boot_identity(&gathered) {
        assert!(apply::rebooted(
            &identity,
            &apply::BootIdentity {
                init_start_ticks: identity.init_start_ticks.wrapping_add(1),
                ..identity.clone()
            }
        ));
    }
});
