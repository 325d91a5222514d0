//! The dnf backend from a host's outputs: rpm's queries, dnf's batch (or each dnf command's
//! output under its own key when the batch and dnf's script were not gathered), the versionlock files,
//! the rpmdb lock and /proc: `pkgmgr::dnf::assemble_at` at every depth. The sections of an
//! input are those of `KEYS`, in order (see `src/lib.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use patchctl_fuzz::{Kind, assert_safe_word, assert_word, gathered};
use pkgmgr::{Depth, dnf};

const KEYS: &[(&str, Kind)] = &[
    (dnf::RPM_QA, Kind::Run),
    (dnf::RPM_INSTALLONLY, Kind::Run),
    (dnf::DNF_SCRIPT, Kind::FileIfGathered),
    (dnf::BATCH, Kind::RunIfGathered),
    (dnf::DNF_CONF, Kind::File),
    (dnf::VERSIONLOCK_CONF, Kind::File),
    (dnf::VERSIONLOCK_LIST, Kind::File),
    (dnf::RPMDB_LOCK, Kind::File),
    (dnf::PROCESSES, Kind::Dir),
    (dnf::CHECK_UPDATE, Kind::RunIfGathered),
    (dnf::UPDATEINFO, Kind::RunIfGathered),
    (dnf::UPDATEINFO_CVES, Kind::RunIfGathered),
    (dnf::NEEDS_RESTARTING_REBOOT, Kind::RunIfGathered),
    (dnf::NEEDS_RESTARTING_SERVICES, Kind::RunIfGathered),
    (dnf::CHECK, Kind::RunIfGathered),
    (dnf::VERSIONLOCK, Kind::RunIfGathered),
    // Without the batch, which lists them, the plugins dnf has.
    (dnf::PLUGIN_FILES, Kind::Dir),
];

fuzz_target!(|input: &str| {
    let gathered = gathered(input, KEYS);
    let _ = dnf::followup_probes(&gathered);
    for depth in [Depth::Full, Depth::Health, Depth::Installed] {
        let Ok(state) = dnf::assemble_at(&gathered, depth) else { continue };
        // Names and versions from a host end up in argv vectors (`dnf install NAME-VERSION`).
        for package in &state.installed {
            assert_safe_word(&package.name, "an installed package name");
            assert_word(&package.version, "an installed version");
        }
        for update in &state.updates {
            assert_safe_word(&update.name, "an update's name");
            assert_word(&update.candidate_version, "a candidate version");
        }
    }
});
