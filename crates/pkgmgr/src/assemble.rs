//! From gathered outputs to an [`Assessment`]: the parts every Linux host shares (OS, kernels,
//! boot id, disk), plus the package state of its apt or dnf backend.

use model::{
    Assessment, Health, InstalledPackage, ListsRefreshed, OsRelease, PackageManagerKind,
    PendingUpdate, RebootStatus,
};

use crate::error::{AssessError, Problem};
use crate::probe::{Gathered, ProbeSpec};
use crate::{apt, dnf, lists, system};

/// What a backend (apt or dnf) contributes to an assessment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageState {
    pub installed: Vec<InstalledPackage>,
    pub updates: Vec<PendingUpdate>,
    /// Packages the full upgrade would remove, as the package manager names them.
    pub removals: Vec<String>,
    pub held: Vec<String>,
    /// The package manager's own verdict on rebooting (reboot-required file, needs-restarting).
    pub reboot: RebootStatus,
    pub services_needing_restart: Option<Vec<String>>,
    pub health: Health,
}

/// How much of a host's state to gather. An assessment is [`Depth::Full`]; a rollout's
/// prechecks and verifications need less, and asking the resolver what could be updated (apt's
/// simulation, dnf's repository metadata) is most of an assessment's cost, several seconds on a
/// dnf host. The lesser depths leave `updates` and `removals` empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Depth {
    /// Everything: pending updates, advisories, held packages, services, health, reboot.
    #[default]
    Full,
    /// Installed packages, the package manager's health (interrupted runs, locks) and its
    /// verdict on rebooting: what a precheck and the check after an apply need.
    Health,
    /// Installed packages and kernels only; on dnf hosts, dnf is not started at all.
    Installed,
}

/// Probes every host gets, whatever its package manager. `os-release` among them decides the
/// backend when the inventory does not.
pub fn system_probes() -> Vec<ProbeSpec> {
    system::probes()
}

/// The probes of one backend, for a full assessment.
pub fn probes_for(kind: PackageManagerKind) -> Vec<ProbeSpec> {
    probes_at(kind, Depth::Full)
}

/// The probes of one backend, for `depth`.
pub fn probes_at(kind: PackageManagerKind, depth: Depth) -> Vec<ProbeSpec> {
    let mut probes = match kind {
        PackageManagerKind::Apt => apt::probes_at(depth),
        PackageManagerKind::Dnf => dnf::probes_at(depth),
    };
    if depth != Depth::Installed {
        probes.push(lists::time_probe(kind));
    }
    probes
}

/// Probes that depend on the answers to [`probes_for`]: gather them after those.
pub fn followup_probes_for(kind: PackageManagerKind, gathered: &Gathered) -> Vec<ProbeSpec> {
    followup_probes_at(kind, Depth::Full, gathered)
}

/// Probes that depend on the answers to [`probes_at`] `depth`.
pub fn followup_probes_at(
    kind: PackageManagerKind,
    depth: Depth,
    gathered: &Gathered,
) -> Vec<ProbeSpec> {
    match kind {
        PackageManagerKind::Apt => apt::followup_probes(gathered),
        PackageManagerKind::Dnf => dnf::followup_probes_at(depth, gathered),
    }
}

/// The follow-up probes most hosts of `kind` need at `depth`, known before the first probes
/// answer. Gathered with those, they save a round trip when they turn out right: a follow-up of
/// [`followup_probes_at`] equal to one of them need not run again. (All are read-only.)
pub fn likely_followups_at(kind: PackageManagerKind, depth: Depth) -> Vec<ProbeSpec> {
    match kind {
        // apt's follow-up (a plain upgrade's simulation) is needed only when the full one
        // installs or removes packages: rarely worth guessing.
        PackageManagerKind::Apt => Vec::new(),
        PackageManagerKind::Dnf => dnf::likely_followups_at(depth),
    }
}

/// The package manager of a host from its os-release, unless `override_kind` says otherwise.
pub fn detect(
    gathered: &Gathered,
    override_kind: Option<PackageManagerKind>,
) -> Result<(OsRelease, PackageManagerKind), AssessError> {
    let os = system::os_release(gathered)?;
    if let Some(kind) = override_kind {
        return Ok((os, kind));
    }
    let kind = os.package_manager().ok_or_else(|| {
        AssessError::new(
            system::OS_RELEASE,
            Problem::UnsupportedOs(format!(
                "os-release says ID={:?} ID_LIKE={:?}; set package_manager for this host if it is apt- or dnf-based",
                os.id,
                os.id_like.join(" ")
            )),
        )
    })?;
    Ok((os, kind))
}

/// Builds the assessment from the outputs of [`system_probes`] and [`probes_for`] `kind`.
pub fn assemble(
    host: &str,
    taken_at_unix: i64,
    os: OsRelease,
    kind: PackageManagerKind,
    gathered: &Gathered,
) -> Result<Assessment, AssessError> {
    assemble_at(host, taken_at_unix, os, kind, Depth::Full, gathered)
}

/// Builds the host's state at `depth` from the outputs of [`system_probes`] and [`probes_at`]
/// `kind` and `depth`.
pub fn assemble_at(
    host: &str,
    taken_at_unix: i64,
    os: OsRelease,
    kind: PackageManagerKind,
    depth: Depth,
    gathered: &Gathered,
) -> Result<Assessment, AssessError> {
    let system = system::parse(gathered, kind)?;
    let state = match kind {
        PackageManagerKind::Apt => apt::assemble_at(gathered, depth)?,
        PackageManagerKind::Dnf => dnf::assemble_at(gathered, depth)?,
    };
    let mut reboot = state.reboot;
    if let Some(reason) = system.kernel_reboot_reason() {
        reboot.required = true;
        reboot.reasons.push(reason);
    }
    Ok(Assessment {
        host: host.to_owned(),
        taken_at_unix,
        os,
        package_manager: kind,
        running_kernel: system.running_kernel,
        installed_kernels: system.installed_kernels,
        boot_id: system.boot_id,
        installed: state.installed,
        updates: state.updates,
        removals: state.removals,
        held: state.held,
        reboot,
        services_needing_restart: state.services_needing_restart,
        disk: system.disk,
        health: state.health,
        lists_refreshed: match depth {
            Depth::Installed => ListsRefreshed::Unknown,
            // A host without `find` (or a capture without the probe) has no lists time.
            _ => match gathered.optional_stdout(lists::LISTS_TIME, &[0, 1])? {
                Some(stdout) => {
                    lists::parse_times(stdout)?.map_or(ListsRefreshed::Never, ListsRefreshed::At)
                }
                None => ListsRefreshed::Unknown,
            },
        },
    })
}
