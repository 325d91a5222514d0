//! The dnf backend: what to run on an RPM host (dnf 4 and rpm) and how its outputs become a
//! [`PackageState`].
//!
//! Decisions every caller should know:
//! - dnf is started once per host: its commands run together in one Python process (`batch.rs`),
//!   asked for after the first probes ([`followup_probes`]), because the interpreter is the one
//!   `/usr/bin/dnf` names. The version locks are read from the plugin's files when its
//!   configuration is the usual one, with no dnf command at all.
//! - Versions are `[epoch:]version-release`, the epoch written only when it is not 0, as dnf
//!   prints them; installed, installed-before-update and candidate versions alike (an explicit
//!   `Epoch: 0` and no epoch print the same, as rpm compares them the same).
//! - An update's origin is its repository id: `Origin { label: Some(repo id), suite: "" }`.
//! - Installonly packages are those that provide `installonlypkg(kernel)`, `installonlypkg(
//!   kernel-module)` or `multiversion(kernel)` (asked of rpm), plus the names `kernel`,
//!   `kernel-core` and `kernel-modules*`. dnf installs new versions beside the installed ones,
//!   so their updates are `UpdateAction::NewInstall`, with `installed_version` the newest one
//!   installed. They are all `kernel` updates except `*-devel*` (Fedora's `kernel-devel`
//!   provides `installonlypkg(kernel)` but is never booted).
//! - A package that obsoletes an installed one is a `NewInstall` with no installed version, and
//!   the installed one is in `removals`.
//! - A version-locked package is in `held`; dnf does not list its update, so neither do we.
//! - A repository that cannot be read fails the assessment rather than hiding its updates.

use std::collections::{BTreeSet, HashMap};

use model::{InstalledPackage, Origin, PendingUpdate, UpdateAction};

use crate::{AssessError, Depth, Gathered, PackageState, Probe, ProbeOutput, ProbeSpec};

/// A captured output under `test_data/dnf/`: `NAME.rc`, `NAME.stdout` and `NAME.stderr`.
#[cfg(test)]
macro_rules! captured {
    ($name:literal) => {
        $crate::ProbeOutput::Ran {
            exit_code: include_str!(concat!("../../test_data/dnf/", $name, ".rc"))
                .trim()
                .parse()
                .unwrap(),
            stdout: include_str!(concat!("../../test_data/dnf/", $name, ".stdout")).to_owned(),
            stderr: include_str!(concat!("../../test_data/dnf/", $name, ".stderr")).to_owned(),
        }
    };
}

mod batch;
mod check_update;
mod config;
mod health;
mod needs_restarting;
mod nevra;
mod rpm_query;
mod updateinfo;
mod versionlock;

pub use batch::DnfCommand;
pub use check_update::{Available, CheckUpdate};
pub use nevra::{Evr, Nevra};
pub(crate) use nevra::{is_name, split_name_arch};
pub use rpm_query::InstalledRpm;
pub use updateinfo::{Advisories, AdvisoryEntry, AdvisoryIndex, Annotation};

pub(crate) use needs_restarting::{
    SERVICES_COMMAND, parse_services as parse_needs_restarting_services,
};

/// The probe keys, which are also the step names in errors.
pub const RPM_QA: &str = rpm_query::INSTALLED;
pub const RPM_INSTALLONLY: &str = rpm_query::INSTALLONLY;
pub const CHECK_UPDATE: &str = check_update::CHECK_UPDATE;
pub const UPDATEINFO: &str = updateinfo::ADVISORIES;
pub const UPDATEINFO_CVES: &str = updateinfo::CVES;
pub const VERSIONLOCK: &str = versionlock::VERSIONLOCK;
pub const DNF_CONF: &str = versionlock::DNF_CONF;
pub const VERSIONLOCK_CONF: &str = versionlock::PLUGIN_CONF;
pub const VERSIONLOCK_LIST: &str = versionlock::LOCK_LIST;
pub const DNF_SCRIPT: &str = batch::DNF_SCRIPT;
pub const BATCH: &str = batch::BATCH;
pub const BATCH_PROGRAM: &str = batch::PROGRAM;
pub const PLUGIN_FILES: &str = batch::PLUGIN_FILES;
pub const NEEDS_RESTARTING_REBOOT: &str = needs_restarting::REBOOT;
pub const NEEDS_RESTARTING_SERVICES: &str = needs_restarting::SERVICES;
pub const CHECK: &str = health::CHECK;
pub const RPMDB_LOCK: &str = health::RPMDB_LOCK;
pub const PROCESSES: &str = health::PROCESSES;

/// The first probes: rpm, and the files that decide the dnf batch ([`followup_probes`]).
pub fn probes() -> Vec<ProbeSpec> {
    probes_at(Depth::Full)
}

/// The first probes for `depth`: rpm's database always; dnf (its batch, its lock, and for a
/// full assessment its versionlock files) from [`Depth::Health`] on.
pub fn probes_at(depth: Depth) -> Vec<ProbeSpec> {
    let mut probes = rpm_query::probes();
    if depth != Depth::Installed {
        probes.extend(batch::probes());
        probes.extend(health::probes());
    }
    if depth == Depth::Full {
        probes.extend(versionlock::probes());
    }
    probes
}

/// The dnf batch: every dnf command of the assessment, in one probe.
pub fn followup_probes(gathered: &Gathered) -> Vec<ProbeSpec> {
    followup_probes_at(Depth::Full, gathered)
}

/// The dnf batch for `depth`; none at [`Depth::Installed`].
pub fn followup_probes_at(depth: Depth, gathered: &Gathered) -> Vec<ProbeSpec> {
    let commands = dnf_commands_at(depth, gathered);
    if commands.is_empty() { Vec::new() } else { batch::followup_probes(gathered, &commands) }
}

/// The dnf batch most hosts need at `depth`, before their first probes answer: dnf's script
/// run by `/usr/bin/python3` (Fedora, RHEL 9, Debian), no versionlock to ask dnf about. Read-only
/// like every batch; when a host's first probes say otherwise, [`followup_probes_at`] gives a
/// different batch, which runs after.
pub fn likely_followups_at(depth: Depth) -> Vec<ProbeSpec> {
    let commands = match depth {
        Depth::Installed => return Vec::new(),
        Depth::Health => dnf_commands_at(depth, &Gathered::new()),
        Depth::Full => full_commands(),
    };
    let python = batch::Interpreter { program: "/usr/bin/python3".to_owned(), argument: None };
    vec![ProbeSpec { key: BATCH, probe: Probe::Run(batch::command(&python, &commands)) }]
}

/// The dnf commands the batch runs for a host whose first probes gave `gathered`. They run at
/// the same time, so their order does not matter.
pub fn dnf_commands(gathered: &Gathered) -> Vec<DnfCommand> {
    dnf_commands_at(Depth::Full, gathered)
}

/// The dnf commands for `depth`: at [`Depth::Health`] only `dnf check` and `needs-restarting
/// -r`, which load no repository.
pub fn dnf_commands_at(depth: Depth, gathered: &Gathered) -> Vec<DnfCommand> {
    match depth {
        Depth::Installed => Vec::new(),
        Depth::Health => vec![needs_restarting::REBOOT_COMMAND, health::COMMAND],
        Depth::Full => {
            let mut commands = full_commands();
            if versionlock::asks_dnf(gathered) {
                commands.push(versionlock::COMMAND);
            }
            commands
        }
    }
}

/// A full assessment's dnf commands, but for `dnf versionlock list`, which only some hosts need.
fn full_commands() -> Vec<DnfCommand> {
    let mut commands = vec![check_update::COMMAND];
    commands.extend(updateinfo::COMMANDS);
    commands.extend(needs_restarting::COMMANDS);
    commands.push(health::COMMAND);
    commands
}

/// Builds the package state from the outputs of [`probes`] and [`followup_probes`]. (Given
/// each dnf command's output under its own key instead of the batch's, it uses those: the
/// batch's outputs are the commands' own.)
pub fn assemble(gathered: &Gathered) -> Result<PackageState, AssessError> {
    assemble_at(gathered, Depth::Full)
}

/// The package state from the outputs of [`probes_at`] and [`followup_probes_at`] `depth`.
pub fn assemble_at(gathered: &Gathered, depth: Depth) -> Result<PackageState, AssessError> {
    let gathered = &batch::expand(gathered, &dnf_commands_at(depth, gathered))?;
    let installed = rpm_query::installed(gathered)?;
    if depth != Depth::Full {
        let (reboot, health) = match depth {
            Depth::Health => (needs_restarting::reboot(gathered)?, health::health(gathered)?),
            _ => Default::default(),
        };
        return Ok(PackageState {
            installed: installed_packages(&installed),
            reboot,
            health,
            ..PackageState::default()
        });
    }
    let kernels = rpm_query::installonly_kernels(gathered)?;
    let listed = check_update::check_update(gathered)?;
    let advisories = updateinfo::advisories(gathered)?;
    Ok(PackageState {
        updates: pending_updates(&installed, &kernels, &listed, &advisories),
        removals: removals(&listed),
        installed: installed_packages(&installed),
        held: versionlock::held(gathered)?,
        reboot: needs_restarting::reboot(gathered)?,
        services_needing_restart: needs_restarting::services(gathered)?,
        health: health::health(gathered)?,
    })
}

/// Sorted by name, arch and version order.
fn installed_packages(installed: &[InstalledRpm]) -> Vec<InstalledPackage> {
    let mut sorted: Vec<&InstalledRpm> = installed.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.name, &a.arch).cmp(&(&b.name, &b.arch)).then_with(|| a.evr.cmp_rpm(&b.evr))
    });
    sorted
        .into_iter()
        .map(|p| InstalledPackage {
            name: p.name.clone(),
            arch: p.arch.clone(),
            version: p.evr.to_string(),
            source: None,
            source_version: None,
        })
        .collect()
}

/// Joins what check-update listed with what is installed and what the advisories say, sorted
/// by name and arch.
pub fn pending_updates(
    installed: &[InstalledRpm],
    installonly_kernels: &BTreeSet<String>,
    listed: &CheckUpdate,
    advisories: &Advisories,
) -> Vec<PendingUpdate> {
    let mut installed_by_name: HashMap<&str, Vec<&InstalledRpm>> = HashMap::new();
    for package in installed {
        installed_by_name.entry(package.name.as_str()).or_default().push(package);
    }
    let index = AdvisoryIndex::new(advisories);
    let mut updates: Vec<PendingUpdate> = Vec::new();
    for available in &listed.upgrades {
        let same_name = installed_by_name.get(available.name.as_str()).map_or(&[][..], |v| v);
        // The same arch, or (an arch change, e.g. noarch to x86_64) the same name.
        let newest = newest(same_name.iter().filter(|p| p.arch == available.arch))
            .or_else(|| newest(same_name.iter()));
        let installonly = is_installonly(&available.name, installonly_kernels);
        let kernel = installonly && is_booted(&available.name);
        let action = if installonly || newest.is_none() {
            UpdateAction::NewInstall
        } else {
            UpdateAction::Upgrade
        };
        updates.push(pending(available, newest, kernel, action, &index));
    }
    for (new, _replaced) in &listed.obsoletes {
        let already = updates.iter().any(|u| u.name == new.name && u.arch == new.arch);
        if !already {
            let kernel = is_installonly(&new.name, installonly_kernels) && is_booted(&new.name);
            updates.push(pending(new, None, kernel, UpdateAction::NewInstall, &index));
        }
    }
    updates.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
    updates
}

/// The installed packages that obsoleting packages replace, by name, sorted.
fn removals(listed: &CheckUpdate) -> Vec<String> {
    let mut names: Vec<String> = listed.obsoletes.iter().map(|(_, old)| old.name.clone()).collect();
    names.sort();
    names.dedup();
    names
}

fn pending(
    available: &Available,
    installed: Option<&Evr>,
    kernel: bool,
    action: UpdateAction,
    advisories: &AdvisoryIndex<'_>,
) -> PendingUpdate {
    let annotation =
        advisories.annotate(&available.name, &available.arch, installed, &available.evr);
    PendingUpdate {
        name: available.name.clone(),
        arch: available.arch.clone(),
        installed_version: installed.map(Evr::to_string),
        candidate_version: available.evr.to_string(),
        origins: vec![Origin { label: Some(available.repo.clone()), suite: String::new() }],
        action,
        classification: annotation.classification,
        severity: annotation.severity,
        kernel,
        advisories: annotation.advisories,
        cves: annotation.cves,
        kept_back: false,
    }
}

fn newest<'a>(packages: impl Iterator<Item = &'a &'a InstalledRpm>) -> Option<&'a Evr> {
    packages.map(|p| &p.evr).max_by(|a, b| a.cmp_rpm(b))
}

fn is_installonly(name: &str, installonly_kernels: &BTreeSet<String>) -> bool {
    installonly_kernels.contains(name)
        || matches!(name, "kernel" | "kernel-core")
        || name.starts_with("kernel-modules")
}

/// Not a kernel's build files (`kernel-devel`, `kernel-devel-matched`, `kernel-rt-devel`).
fn is_booted(name: &str) -> bool {
    !name.contains("-devel")
}

/// dnf without the plugin that provides `command` says `No such command: COMMAND.` on
/// standard error and exits 1.
fn plugin_missing(gathered: &Gathered, key: &'static str, command: &str) -> bool {
    matches!(
        gathered.get(key),
        Some(ProbeOutput::Ran { exit_code: 1, stderr, .. })
            if stderr.contains(&format!("No such command: {command}."))
    )
}

#[cfg(test)]
mod tests {
    use model::{Classification, Health, Severity};

    use super::*;
    use crate::Problem;

    /// The outputs of every probe in one captured state (`none`, `updates`), no dnf lock.
    fn state(outputs: [(&'static str, ProbeOutput); 9]) -> Gathered {
        let mut gathered = Gathered::new();
        for (key, output) in outputs {
            gathered.insert(key, output);
        }
        gathered.insert(health::RPMDB_LOCK, ProbeOutput::File(None));
        gathered.insert(health::PROCESSES, ProbeOutput::Dir(Some(vec!["1".into()])));
        gathered
    }

    fn updates_state() -> Gathered {
        state([
            (rpm_query::INSTALLED, captured!("updates-rpm-qa")),
            (rpm_query::INSTALLONLY, captured!("updates-rpm-installonly")),
            (check_update::CHECK_UPDATE, captured!("updates-check-update")),
            (updateinfo::ADVISORIES, captured!("updates-updateinfo-list")),
            (updateinfo::CVES, captured!("updates-updateinfo-list-cves")),
            (versionlock::VERSIONLOCK, captured!("updates-versionlock-list")),
            (needs_restarting::REBOOT, captured!("updates-needs-restarting-r")),
            (needs_restarting::SERVICES, captured!("updates-needs-restarting-s")),
            (health::CHECK, captured!("updates-check")),
        ])
    }

    fn none_state() -> Gathered {
        state([
            (rpm_query::INSTALLED, captured!("none-rpm-qa")),
            (rpm_query::INSTALLONLY, captured!("none-rpm-installonly")),
            (check_update::CHECK_UPDATE, captured!("none-check-update")),
            (updateinfo::ADVISORIES, captured!("none-updateinfo-list")),
            (updateinfo::CVES, captured!("none-updateinfo-list-cves")),
            (versionlock::VERSIONLOCK, captured!("none-versionlock-list")),
            (needs_restarting::REBOOT, captured!("none-needs-restarting-r")),
            (needs_restarting::SERVICES, captured!("none-needs-restarting-s")),
            (health::CHECK, captured!("none-check")),
        ])
    }

    /// The lesser depths run only the dnf commands that load no repository (or none at all) and
    /// read the same packages, reboot verdict and health from them.
    #[test]
    fn lesser_depths_skip_the_repositories() {
        let full_gathered = updates_state();
        let full = assemble(&full_gathered).unwrap();
        assert_eq!(
            dnf_commands_at(Depth::Health, &full_gathered),
            [needs_restarting::REBOOT_COMMAND, health::COMMAND]
        );
        assert!(dnf_commands_at(Depth::Installed, &full_gathered).is_empty());
        let keys: Vec<&str> = probes_at(Depth::Installed).iter().map(|p| p.key).collect();
        assert!(!keys.contains(&batch::DNF_SCRIPT), "dnf is not started");

        let only = |keys: &[&'static str]| {
            let mut gathered = Gathered::new();
            for key in keys {
                gathered.insert(key, full_gathered.get(key).unwrap().clone());
            }
            gathered
        };
        let health = assemble_at(
            &only(&[
                rpm_query::INSTALLED,
                needs_restarting::REBOOT,
                health::CHECK,
                health::RPMDB_LOCK,
                health::PROCESSES,
            ]),
            Depth::Health,
        )
        .unwrap();
        assert_eq!(health.installed, full.installed);
        assert_eq!(health.reboot, full.reboot);
        assert_eq!(health.health, full.health);
        assert!(health.updates.is_empty() && health.services_needing_restart.is_none());

        let installed = assemble_at(&only(&[rpm_query::INSTALLED]), Depth::Installed).unwrap();
        assert_eq!(installed.installed, full.installed);
        assert_eq!(installed.health, Health::default());
    }

    /// One line per update: name.arch installed -> candidate, action, classification,
    /// severity, kernel, advisories, CVEs, origin.
    fn show(updates: &[PendingUpdate]) -> String {
        updates
            .iter()
            .map(|u| {
                format!(
                    "{}.{} {} -> {} {:?} {:?} {} {}{} [{}] [{}] {}\n",
                    u.name,
                    u.arch,
                    u.installed_version.as_deref().unwrap_or("-"),
                    u.candidate_version,
                    u.action,
                    u.classification,
                    u.severity.map_or("-".to_owned(), |s| format!("{s:?}")),
                    if u.kernel { "kernel" } else { "-" },
                    if u.kept_back { " kept-back" } else { "" },
                    u.advisories.join(" "),
                    u.cves.join(" "),
                    u.origins
                        .iter()
                        .map(|o| o.label.as_deref().unwrap_or("?"))
                        .collect::<Vec<_>>()
                        .join(","),
                )
            })
            .collect()
    }

    #[test]
    fn probe_keys_are_unique_and_commands_are_argv() {
        let probes = probes();
        let keys: BTreeSet<&str> = probes.iter().map(|p| p.key).collect();
        assert_eq!(keys.len(), probes.len());
        let crate::Probe::Run(command) = &probes[0].probe else { panic!("rpm -qa is a command") };
        assert_eq!(
            command.display(),
            r"rpm --query --all --queryformat '%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n'"
        );
    }

    #[test]
    fn with_updates() {
        let state = assemble(&updates_state()).unwrap();
        assert_eq!(
            show(&state.updates),
            "\
acme-agent-plugin-for-the-very-long-enterprise-monitoring-suite.noarch 1.0-1 -> 1.0-2 Upgrade Bugfix - - [ACME-2026:0003] [] acme-updates
acme-daemon.x86_64 1.0-1 -> 1.1-1 Upgrade Unknown - - [] [] acme-updates
acme-db.x86_64 2:3.0-1 -> 2:3.0-2 Upgrade Security Important - [ACME-2026:0002] [CVE-2026-20001] acme-updates
acme-lib.i686 1.0-1 -> 1.2-1 Upgrade Enhancement - - [ACME-2026:0004] [] acme-updates
acme-lib.x86_64 1.0-1 -> 1.2-1 Upgrade Enhancement - - [ACME-2026:0004] [] acme-updates
acme-new.noarch - -> 2.0-1 NewInstall Unknown - - [] [] acme-updates
acme-tools.x86_64 1.0-1 -> 1.1-0.20260115git0123456789abcdef.acme1 Upgrade Unknown - - [] [] acme-updates
acme-web.noarch 1.0-1 -> 1.2-1 Upgrade Security Critical - [ACME-2026:0001 ACME-2026:0006] [CVE-2026-10001 CVE-2026-10002] acme-updates
kernel-core.x86_64 6.1.0-1.acme -> 6.1.0-2.acme NewInstall Security Moderate kernel [ACME-2026:0005] [CVE-2026-30001] acme-updates
"
        );
        // The locked package: held, and its advisory (which updateinfo lists all the same)
        // attached to nothing.
        assert_eq!(state.held, ["acme-pinned"]);
        assert_eq!(state.removals, ["acme-old"]);
        assert!(!state.updates.iter().any(|u| u.name == "acme-pinned"));
        assert!(state.reboot.required);
        assert_eq!(state.reboot.packages, ["acme-db"]);
        assert_eq!(state.services_needing_restart, Some(vec![]));
        assert_eq!(state.health, Health::default());
        let kernels: Vec<&str> = state
            .installed
            .iter()
            .filter(|p| p.name == "kernel-core")
            .map(|p| p.version.as_str())
            .collect();
        assert_eq!(kernels, ["6.0.9-1.acme", "6.1.0-1.acme"]);
        assert_eq!(state.installed.len(), 12);
        assert!(!state.installed.iter().any(|p| p.name == "gpg-pubkey"));
        let db = state.installed.iter().find(|p| p.name == "acme-db").unwrap();
        assert_eq!(db.version, "2:3.0-1");
        let summary_security =
            state.updates.iter().filter(|u| u.classification == Classification::Security).count();
        assert_eq!(summary_security, 3);
        assert_eq!(state.updates.iter().filter_map(|u| u.severity).max(), Some(Severity::Critical));
    }

    #[test]
    fn without_updates() {
        let state = assemble(&none_state()).unwrap();
        assert!(state.updates.is_empty());
        assert!(state.held.is_empty());
        assert!(!state.reboot.required);
        assert_eq!(state.installed.len(), 12);
    }

    #[test]
    fn without_plugins() {
        let mut gathered = updates_state();
        gathered.insert(versionlock::VERSIONLOCK, captured!("no-plugins-versionlock-list"));
        gathered.insert(needs_restarting::REBOOT, captured!("no-plugins-needs-restarting-r"));
        gathered.insert(needs_restarting::SERVICES, captured!("no-plugins-needs-restarting-s"));
        let state = assemble(&gathered).unwrap();
        assert!(state.held.is_empty());
        assert!(!state.reboot.required);
        assert_eq!(state.services_needing_restart, None);
        assert_eq!(state.updates.len(), 9);
    }

    #[test]
    fn errors_name_the_step() {
        let cases = [
            (check_update::CHECK_UPDATE, captured!("broken-repo-check-update")),
            (check_update::CHECK_UPDATE, captured!("bad-config-check-update")),
            (updateinfo::ADVISORIES, captured!("broken-repo-updateinfo-list")),
            (rpm_query::INSTALLED, captured!("bad-rpmdb-rpm-qa")),
            (rpm_query::INSTALLED, captured!("no-rpmdb-rpm-qa")),
            (rpm_query::INSTALLED, ProbeOutput::NotFound),
            (check_update::CHECK_UPDATE, ProbeOutput::NotFound),
            (health::CHECK, captured!("locked-install")),
        ];
        for (key, output) in cases {
            let mut gathered = updates_state();
            gathered.insert(key, output);
            let err = assemble(&gathered).unwrap_err();
            assert_eq!(err.step, key, "{err}");
        }
        let mut gathered = updates_state();
        gathered.insert(check_update::CHECK_UPDATE, captured!("broken-repo-check-update"));
        let err = assemble(&gathered).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dnf check-update: exited with code 1: Error: Failed to download metadata for repo \
             'acme-updates': Cannot download repomd.xml: Cannot download repodata/repomd.xml: \
             All mirrors were tried"
        );
        let mut gathered = updates_state();
        gathered.insert(rpm_query::INSTALLED, ProbeOutput::NotFound);
        assert_eq!(assemble(&gathered).unwrap_err().problem, Problem::ToolMissing);
    }

    #[test]
    fn exit_code_and_listing_must_agree() {
        let mut gathered = updates_state();
        gathered.insert(
            check_update::CHECK_UPDATE,
            ProbeOutput::Ran { exit_code: 100, stdout: "\n".into(), stderr: String::new() },
        );
        assert!(matches!(assemble(&gathered).unwrap_err().problem, Problem::Invalid(_)));
        // Debian's default skip_if_unavailable=True: exit code 0, no word of the broken repo.
        // patchctl overrides it; this is what it would otherwise get.
        let skipped = captured!("broken-repo-check-update-skip");
        let ProbeOutput::Ran { exit_code, stdout, stderr } = &skipped else { unreachable!() };
        assert_eq!((*exit_code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    }

    #[test]
    fn kernel_build_files_are_installonly_but_not_booted() {
        let installed = rpm_query::parse_installed(
            "kernel-devel\t(none)\t6.1.0\t1\tx86_64\nkernel-core\t(none)\t6.1.0\t1\tx86_64\n",
        )
        .unwrap();
        let listed =
            check_update::parse("\nkernel-core.x86_64 6.1.0-2 r\nkernel-devel.x86_64 6.1.0-2 r\n")
                .unwrap();
        let kernels = BTreeSet::from(["kernel-devel".to_owned()]);
        let updates = pending_updates(&installed, &kernels, &listed, &Advisories::default());
        let shown: Vec<(&str, bool, UpdateAction)> =
            updates.iter().map(|u| (u.name.as_str(), u.kernel, u.action)).collect();
        assert_eq!(
            shown,
            [
                ("kernel-core", true, UpdateAction::NewInstall),
                ("kernel-devel", false, UpdateAction::NewInstall)
            ]
        );
    }

    #[test]
    fn a_new_kernel_installed_but_not_running() {
        let mut gathered = updates_state();
        gathered.insert(rpm_query::INSTALLED, captured!("kernel-rpm-qa"));
        gathered.insert(check_update::CHECK_UPDATE, captured!("kernel-check-update"));
        gathered.insert(updateinfo::ADVISORIES, captured!("kernel-updateinfo-list"));
        let state = assemble(&gathered).unwrap();
        assert!(!state.updates.iter().any(|u| u.kernel));
        let kernels: Vec<&str> = state
            .installed
            .iter()
            .filter(|p| p.name == "kernel-core")
            .map(|p| p.version.as_str())
            .collect();
        assert_eq!(kernels, ["6.0.9-1.acme", "6.1.0-1.acme", "6.1.0-2.acme"]);
    }

    #[test]
    fn an_interrupted_transaction() {
        let mut gathered = updates_state();
        gathered.insert(rpm_query::INSTALLED, captured!("duplicate-rpm-qa"));
        gathered.insert(health::CHECK, captured!("duplicate-check"));
        let state = assemble(&gathered).unwrap();
        assert!(state.health.interrupted);
        // The update is measured from the newest of the two installed versions.
        let web = state.updates.iter().find(|u| u.name == "acme-web").unwrap();
        assert_eq!(web.installed_version.as_deref(), Some("1.1-1"));
        assert_eq!(web.advisories, ["ACME-2026:0006"]);
    }

    #[test]
    fn no_panic_on_any_truncation() {
        let full = updates_state();
        for key in [
            rpm_query::INSTALLED,
            check_update::CHECK_UPDATE,
            updateinfo::ADVISORIES,
            needs_restarting::REBOOT,
        ] {
            let Some(ProbeOutput::Ran { exit_code, stdout, stderr }) = full.get(key).cloned()
            else {
                unreachable!()
            };
            for cut in 0..stdout.len() {
                let mut gathered = updates_state();
                gathered.insert(
                    key,
                    ProbeOutput::Ran {
                        exit_code,
                        stdout: stdout[..cut].to_owned(),
                        stderr: stderr.clone(),
                    },
                );
                let _ = assemble(&gathered);
            }
        }
    }
}
