//! The apt backend from a host's outputs (dpkg-query, apt-get's simulations, dpkg --audit,
//! needrestart, the lock probes, the reboot files): `pkgmgr::apt::assemble_at` at every depth.
//! The sections of an input are those of `KEYS`, in order (see `src/lib.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use patchctl_fuzz::{Kind, assert_word, gathered};
use pkgmgr::{Depth, apt};

const KEYS: &[(&str, Kind)] = &[
    (apt::DPKG_QUERY, Kind::Run),
    (apt::DIST_UPGRADE, Kind::Run),
    (apt::UPGRADE, Kind::Run),
    (apt::AUDIT, Kind::Run),
    (apt::NEEDRESTART, Kind::Run),
    (apt::REBOOT_FLAG, Kind::File),
    (apt::REBOOT_PKGS, Kind::File),
    (apt::UPDATES_DIR, Kind::Dir),
    (apt::LOCK_STAT, Kind::Run),
    (apt::PROC_LOCKS, Kind::File),
];

fuzz_target!(|input: &str| {
    let gathered = gathered(input, KEYS);
    for depth in [Depth::Full, Depth::Health, Depth::Installed] {
        let Ok(state) = apt::assemble_at(&gathered, depth) else { continue };
        // Names and versions from a host end up in argv vectors: the parsers must have
        // refused anything dpkg itself would not accept.
        for package in &state.installed {
            assert!(apt::is_package_name(&package.name), "installed {:?}", package.name);
            assert_word(&package.version, "an installed version");
        }
        for update in &state.updates {
            let name = update.name.split_once(':').map_or(&*update.name, |(name, _)| name);
            assert!(apt::is_package_name(name), "update {:?}", update.name);
            assert_word(&update.candidate_version, "a candidate version");
        }
    }
});
