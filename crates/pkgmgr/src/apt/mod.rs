//! The apt/dpkg backend: what to run on a Debian or Ubuntu host, and how its answers become the
//! host's package state.
//!
//! Pending updates come from apt's own resolver (`apt-get -s dist-upgrade`), so they are exactly
//! what a full upgrade would do. A plain `apt-get upgrade` keeps back an upgrade only when it
//! would install a new package or remove one (apt-get(8)), so `apt-get -s upgrade` is asked
//! afterwards, and only when the full upgrade does either: on most hosts, most days, apt's
//! resolver then runs once. Both run with `Debug::NoLocking`, so assessing never waits for, or
//! blocks, a running apt.

mod dpkg_query;
mod health;
mod reboot;
mod simulate;

use std::collections::{HashMap, HashSet};

use model::{Classification, Health, InstalledPackage, PendingUpdate, UpdateAction};

pub use dpkg_query::{DpkgPackage, Status, Want, is_package_name};
pub(crate) use simulate::parse as parse_simulation;
pub use simulate::{SimulatedInstall, Simulation};

pub(crate) use reboot::parse_needrestart;

use crate::error::AssessError;
use crate::probe::{Gathered, ProbeSpec};
use crate::{Depth, PackageState};

pub const DPKG_QUERY: &str = dpkg_query::STEP;
pub const DIST_UPGRADE: &str = "apt-get -s dist-upgrade";
pub const UPGRADE: &str = "apt-get -s upgrade";
pub const AUDIT: &str = "dpkg --audit";
pub const UPDATES_DIR: &str = "/var/lib/dpkg/updates";
pub const REBOOT_FLAG: &str = "/var/run/reboot-required";
pub const REBOOT_PKGS: &str = "/var/run/reboot-required.pkgs";
pub const LOCK_STAT: &str = "stat lock files";
pub const PROC_LOCKS: &str = "/proc/locks";
pub const NEEDRESTART: &str = "needrestart -b";

pub fn probes() -> Vec<ProbeSpec> {
    probes_at(Depth::Full)
}

/// The probes for `depth`: dpkg's database and the reboot flag files always (both cheap), the
/// health probes from [`Depth::Health`] on, apt's resolver and needrestart only when full.
pub fn probes_at(depth: Depth) -> Vec<ProbeSpec> {
    let mut probes = vec![
        ProbeSpec::run(DPKG_QUERY, ["dpkg-query", "-W", "-f", dpkg_query::FORMAT]),
        ProbeSpec::read_file(REBOOT_FLAG, REBOOT_FLAG),
        ProbeSpec::read_file(REBOOT_PKGS, REBOOT_PKGS),
    ];
    if depth != Depth::Installed {
        let mut stat = vec!["stat", "-c", "%D %i %n", "--"];
        stat.extend(health::LOCK_FILES);
        probes.extend([
            ProbeSpec::run(AUDIT, ["dpkg", "--audit"]),
            ProbeSpec::list_dir(UPDATES_DIR, UPDATES_DIR),
            ProbeSpec::run(LOCK_STAT, stat),
            ProbeSpec::read_file(PROC_LOCKS, PROC_LOCKS),
        ]);
    }
    if depth == Depth::Full {
        probes.extend([
            ProbeSpec::run(
                DIST_UPGRADE,
                ["apt-get", "-s", "-o", "Debug::NoLocking=true", "dist-upgrade"],
            ),
            ProbeSpec::run(NEEDRESTART, ["needrestart", "-b", "-r", "l"]),
        ]);
    }
    probes
}

/// What to ask once the first probes are in: `apt-get -s upgrade`, when the full upgrade
/// installs or removes packages and so a plain upgrade may keep some back.
pub fn followup_probes(gathered: &Gathered) -> Vec<ProbeSpec> {
    let needs_plain = gathered
        .stdout(DIST_UPGRADE, &[0])
        .ok()
        .and_then(|stdout| simulate::parse(DIST_UPGRADE, stdout).ok())
        .is_some_and(|full| may_keep_back(&full));
    if needs_plain { vec![plain_upgrade_probe()] } else { Vec::new() }
}

fn plain_upgrade_probe() -> ProbeSpec {
    ProbeSpec::run(UPGRADE, ["apt-get", "-s", "-o", "Debug::NoLocking=true", "upgrade"])
}

/// A plain upgrade differs from the full one only when the full one installs or removes.
fn may_keep_back(full: &Simulation) -> bool {
    !full.removals.is_empty() || full.installs.iter().any(|i| i.installed_version.is_none())
}

pub fn assemble(gathered: &Gathered) -> Result<PackageState, AssessError> {
    assemble_at(gathered, Depth::Full)
}

/// The package state from the outputs of [`probes_at`] `depth`: below [`Depth::Full`] without
/// updates, removals or services; at [`Depth::Installed`], health is only what dpkg's database
/// shows (half-installed packages).
pub fn assemble_at(gathered: &Gathered, depth: Depth) -> Result<PackageState, AssessError> {
    let packages = dpkg_query::parse(gathered.stdout(DPKG_QUERY, &[0])?)?;
    let native_arch = packages
        .iter()
        .find(|p| p.name == "dpkg" && p.status.is_installed())
        .map(|p| p.arch)
        .ok_or_else(|| {
            AssessError::new(
                DPKG_QUERY,
                crate::Problem::Invalid(
                    "dpkg itself is not installed: the dpkg database is damaged".into(),
                ),
            )
        })?;
    let by_name: HashMap<(&str, &str), &DpkgPackage> =
        packages.iter().map(|p| ((p.name, p.arch), p)).collect();
    // apt names a package of the native architecture or `all` bare, and any other `name:arch`.
    let lookup = |apt_name: &str| match apt_name.split_once(':') {
        Some((name, arch)) => by_name.get(&(name, arch)).copied(),
        None => by_name
            .get(&(apt_name, native_arch))
            .or_else(|| by_name.get(&(apt_name, "all")))
            .copied(),
    };

    let (updates, removals) = if depth == Depth::Full {
        let full = simulate::parse(DIST_UPGRADE, gathered.stdout(DIST_UPGRADE, &[0])?)?;
        let plain_upgrade_output;
        let plain_names: Option<HashSet<&str>> = if may_keep_back(&full) {
            plain_upgrade_output = gathered.stdout(UPGRADE, &[0])?;
            let plain = simulate::parse(UPGRADE, plain_upgrade_output)?;
            Some(plain.installs.iter().map(|i| i.name).collect())
        } else {
            None
        };
        let updates = full
            .installs
            .iter()
            .map(|install| {
                let dpkg = lookup(install.name);
                let in_plain_upgrade =
                    plain_names.as_ref().is_none_or(|p| p.contains(install.name));
                pending_update(install, dpkg, in_plain_upgrade)
            })
            .collect();
        (updates, full.removals.into_iter().map(str::to_owned).collect())
    } else {
        (Vec::new(), Vec::new())
    };

    let installed = packages
        .iter()
        .filter(|p| p.status.is_installed())
        .map(|p| InstalledPackage {
            name: p.name.to_owned(),
            arch: p.arch.to_owned(),
            version: p.version.to_owned(),
            // dpkg-query prints the binary's own name and version when they are the source's.
            source: Some(p.source.to_owned()).filter(|source| !source.is_empty()),
            source_version: Some(p.source_version.to_owned()).filter(|version| !version.is_empty()),
        })
        .collect();
    let held = packages
        .iter()
        .filter(|p| p.want == Want::Hold && p.status != Status::NotInstalled)
        .map(|p| p.qualified_name(native_arch))
        .collect();

    let mut reboot =
        reboot::from_flag_files(gathered.file(REBOOT_FLAG)?, gathered.file(REBOOT_PKGS)?);
    let services_needing_restart = match gathered.optional_stdout(NEEDRESTART, &[0])? {
        Some(stdout) => {
            let needrestart = reboot::parse_needrestart(NEEDRESTART, stdout)?;
            if let Some(reason) = needrestart.kernel_reason() {
                reboot.required = true;
                reboot.reasons.push(reason);
            }
            Some(needrestart.services)
        }
        None => None,
    };

    let broken: Vec<String> = packages
        .iter()
        .filter(|p| p.status.is_broken() || p.reinstall_required)
        .map(|p| p.qualified_name(native_arch))
        .collect();
    let interrupted_by_packages = !broken.is_empty();
    let health = if depth == Depth::Installed {
        Health { interrupted: interrupted_by_packages, ..Health::default() }
    } else {
        Health {
            interrupted: health::interrupted(gathered.dir(UPDATES_DIR)?.unwrap_or_default())
                || interrupted_by_packages,
            audit: health::parse_audit(gathered.stdout(AUDIT, &[0, 1])?),
            locks: health::lock_holders(
                gathered.stdout(LOCK_STAT, &[0, 1])?,
                gathered.file(PROC_LOCKS)?.unwrap_or_default(),
                LOCK_STAT,
            )?,
        }
    };

    Ok(PackageState {
        installed,
        updates,
        removals,
        held,
        reboot,
        services_needing_restart,
        health,
    })
}

fn pending_update(
    install: &SimulatedInstall,
    dpkg: Option<&DpkgPackage>,
    in_plain_upgrade: bool,
) -> PendingUpdate {
    let name = install.name.split(':').next().unwrap_or(install.name).to_owned();
    let origins = install.origins();
    let security = origins
        .iter()
        .any(|o| o.is_security_suite() || o.label.as_deref() == Some("Debian-Security"));
    let installed_version = install.installed_version.map(str::to_owned);
    PendingUpdate {
        kernel: is_kernel(&name, dpkg.map(|p| p.section)),
        action: if installed_version.is_some() {
            UpdateAction::Upgrade
        } else {
            UpdateAction::NewInstall
        },
        kept_back: installed_version.is_some() && !in_plain_upgrade,
        name,
        arch: install.arch.to_owned(),
        installed_version,
        candidate_version: install.candidate_version.to_owned(),
        origins,
        classification: if security { Classification::Security } else { Classification::Unknown },
        severity: None,
        advisories: Vec::new(),
        cves: Vec::new(),
    }
}

/// A package that carries a bootable kernel: Debian's and Ubuntu's `linux-image-*` (the
/// versioned images and their metapackages), and whatever else dpkg files in the `kernel`
/// section, apart from headers and build tools, which never need a reboot.
pub fn is_kernel(name: &str, section: Option<&str>) -> bool {
    const NOT_BOOTED: [&str; 4] =
        ["linux-headers-", "linux-kbuild-", "linux-source", "linux-libc-dev"];
    if NOT_BOOTED.iter().any(|prefix| name.starts_with(prefix)) {
        return false;
    }
    name.starts_with("linux-image-")
        || name.starts_with("linux-modules-")
        || section.is_some_and(|s| s == "kernel" || s.ends_with("/kernel"))
}
