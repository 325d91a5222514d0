//! Rolling a host back to the versions recorded before the rollout: downgrade what was upgraded,
//! remove what the update newly installed, and keep a kernel the host may be running.
//!
//! Both package managers downgrade to a version only while a repository still offers it; a
//! version that is gone fails as
//! [`FailureReason::NotFound`](super::FailureReason::NotFound), and the report must say so.

use model::{PackageManagerKind, PendingUpdate, UpdateAction};

use super::install::{self, ApplyOptions, AptMode, PinnedPackage};
use super::outcome::{ChangeKind, PackageChange};
use super::validate::InvalidInput;
use crate::probe::CommandSpec;

/// One package the rollout changed, with what it was before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackItem {
    pub name: String,
    pub arch: String,
    /// The version the rollout installed.
    pub updated_version: String,
    /// The version before the rollout; `None` when the rollout installed the package newly
    /// (including a new version of an installonly kernel beside the old ones).
    pub previous_version: Option<String>,
    /// A kernel package (`PendingUpdate::kernel`).
    pub kernel: bool,
}

impl RollbackItem {
    /// What rolling back `update` means, once it was applied. An installonly kernel (dnf's
    /// `NewInstall` with the newest installed version as `installed_version`) left the old
    /// kernels in place, so its rollback is the removal of the new one.
    pub fn from_update(update: &PendingUpdate) -> RollbackItem {
        RollbackItem {
            name: update.name.clone(),
            arch: update.arch.clone(),
            updated_version: update.candidate_version.clone(),
            previous_version: match update.action {
                UpdateAction::Upgrade => update.installed_version.clone(),
                UpdateAction::NewInstall => None,
            },
            kernel: update.kernel,
        }
    }
}

/// A package the rollback leaves as the rollout made it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPackage {
    pub package: PinnedPackage,
    pub reason: String,
}

/// What a rollback does, before it is done: for the report ("could not be rolled back") and for
/// [`verify_rollback`](super::verify_rollback) afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollbackPlan {
    /// Packages to return to these (older) versions.
    pub downgrade: Vec<PinnedPackage>,
    /// Packages to remove, at the version the rollout installed.
    pub remove: Vec<PinnedPackage>,
    pub kept: Vec<KeptPackage>,
}

impl RollbackPlan {
    pub fn is_empty(&self) -> bool {
        self.downgrade.is_empty() && self.remove.is_empty()
    }
}

/// Decides the rollback of `items`. A newly installed kernel package is removed unless the host
/// may be running it: its release is `running_kernel` (`uname -r`; on Debian the release is in
/// the package name, `linux-image-6.1.0-26-amd64`, on RPM hosts it is `version-release.arch`),
/// or `running_kernel` is unknown (empty). Removing the kernel a host runs would leave it
/// without its modules and, after the next reboot, without that kernel; the previous one stays
/// installed anyway. The driver then makes the previous kernel the boot default where it can
/// ([`super::bootloader`]); otherwise the host boots the kept kernel again.
pub fn plan_rollback(
    kind: PackageManagerKind,
    items: &[RollbackItem],
    running_kernel: &str,
) -> RollbackPlan {
    let mut plan = RollbackPlan::default();
    for item in items {
        match &item.previous_version {
            Some(previous) => {
                plan.downgrade.push(PinnedPackage::new(&item.name, &item.arch, previous));
            }
            None => {
                let package = PinnedPackage::new(&item.name, &item.arch, &item.updated_version);
                if item.kernel && may_be_running(kind, &package, running_kernel) {
                    let why = if running_kernel.is_empty() {
                        "a kernel, and the running kernel is not known".to_owned()
                    } else {
                        format!("the host may be running this kernel ({running_kernel})")
                    };
                    let reason = format!(
                        "{why}; it stays installed, and the previous kernel is made the boot \
                         default where the bootloader allows it"
                    );
                    plan.kept.push(KeptPackage { package, reason });
                } else {
                    plan.remove.push(package);
                }
            }
        }
    }
    plan
}

/// The commands that carry out `plan`, to run in order, stopping at the first that fails; none
/// when there is nothing to do.
///
/// apt does it in one transaction: `apt-get install --allow-downgrades name:arch=old… name:arch-…`
/// (the trailing `-` removes; removal keeps conffiles, as `remove` does, not `purge`). dnf
/// cannot mix in one command line, so: `dnf install NEVRA…` (which downgrades to an exact
/// NEVRA on dnf 4), then `dnf --noautoremove remove NEVRA…`. Beware that `dnf remove` also
/// removes whatever requires a removed package; [`verify_rollback`](super::verify_rollback)
/// afterwards shows it.
pub fn rollback_commands(
    kind: PackageManagerKind,
    plan: &RollbackPlan,
    options: &ApplyOptions,
) -> Result<Vec<CommandSpec>, InvalidInput> {
    let mut all: Vec<PinnedPackage> = plan.downgrade.clone();
    all.extend(plan.remove.iter().cloned());
    if all.is_empty() {
        return Ok(Vec::new());
    }
    // Validates everything and refuses a package that would be both downgraded and removed.
    install::specs(kind, &all)?;
    let specs = |packages: &[PinnedPackage]| install::specs(kind, packages);
    Ok(match kind {
        PackageManagerKind::Apt => {
            let mut words =
                if plan.downgrade.is_empty() { Vec::new() } else { specs(&plan.downgrade)? };
            words.extend(plan.remove.iter().map(|p| format!("{}-", p.name_arch())));
            vec![install::apt_get(AptMode::Rollback, options, words)]
        }
        PackageManagerKind::Dnf => {
            let mut commands = Vec::new();
            if !plan.downgrade.is_empty() {
                commands.push(install::dnf("install", specs(&plan.downgrade)?));
            }
            if !plan.remove.is_empty() {
                commands.push(install::dnf("remove", specs(&plan.remove)?));
            }
            commands
        }
    })
}

/// The packages a rollback removed that its plan did not name: apt and dnf, told `-y`, also
/// remove whatever depends on a package they remove. For the report, and for a person.
pub fn unexpected_removals<'a>(
    plan: &RollbackPlan,
    changes: &'a [PackageChange],
) -> Vec<&'a PackageChange> {
    changes
        .iter()
        .filter(|change| change.kind == ChangeKind::Removed)
        .filter(|change| {
            !plan.remove.iter().any(|p| {
                p.name == change.name && change.arch.as_ref().is_none_or(|arch| *arch == p.arch)
            })
        })
        .collect()
}

/// Whether `package`, a kernel package, may belong to the running kernel.
fn may_be_running(kind: PackageManagerKind, package: &PinnedPackage, running: &str) -> bool {
    running.is_empty() || is_kernel_of(kind, package, running)
}

/// Whether `package`, a kernel package, belongs to the kernel `release` (`uname -r`'s form).
pub(super) fn is_kernel_of(
    kind: PackageManagerKind,
    package: &PinnedPackage,
    release: &str,
) -> bool {
    match kind {
        // `linux-image-R`, `linux-image-R-unsigned`, `linux-modules-R`, …: R between a dash
        // and a dash or the end.
        PackageManagerKind::Apt => package.name.match_indices(release).any(|(at, _)| {
            let after = &package.name[at + release.len()..];
            package.name[..at].ends_with('-') && (after.is_empty() || after.starts_with('-'))
        }),
        // `uname -r` is `version-release.arch`, with `+debug` and the like for other flavours.
        PackageManagerKind::Dnf => {
            let evr = package.version.split_once(':').map_or(&*package.version, |(_, vr)| vr);
            let full = format!("{evr}.{}", package.arch);
            release == full || release.starts_with(&format!("{full}+"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PackageManagerKind::{Apt, Dnf};

    fn item(
        name: &str,
        arch: &str,
        updated: &str,
        previous: Option<&str>,
        kernel: bool,
    ) -> RollbackItem {
        RollbackItem {
            name: name.into(),
            arch: arch.into(),
            updated_version: updated.into(),
            previous_version: previous.map(Into::into),
            kernel,
        }
    }

    #[test]
    fn apt_downgrades_removes_and_keeps_the_running_kernel() {
        let items = [
            item("acme-web", "all", "1.1-1", Some("1.0-1"), false),
            item("acme-tools", "all", "1.1-1", None, false),
            item("linux-image-6.1.0-27-amd64", "amd64", "6.1.115-1", None, true),
            item("linux-image-6.1.0-28-amd64", "amd64", "6.1.119-1", None, true),
            item("linux-image-amd64", "amd64", "6.1.119-1", Some("6.1.112-1"), true),
        ];
        let plan = plan_rollback(Apt, &items, "6.1.0-27-amd64");
        assert_eq!(plan.downgrade.len(), 2);
        let removed: Vec<&str> = plan.remove.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(removed, ["acme-tools", "linux-image-6.1.0-28-amd64"]);
        assert_eq!(plan.kept[0].package.name, "linux-image-6.1.0-27-amd64");
        let reason = &plan.kept[0].reason;
        assert!(reason.starts_with("the host may be running this kernel (6.1.0-27-amd64)"));
        assert!(reason.contains("it stays installed"), "{reason}");
        let commands = rollback_commands(Apt, &plan, &ApplyOptions::default()).unwrap();
        assert_eq!(commands.len(), 1);
        let argv = &commands[0].argv;
        assert!(argv.contains(&"--allow-downgrades".to_owned()));
        let after_dashes: Vec<&str> =
            argv.iter().skip_while(|w| *w != "--").skip(1).map(String::as_str).collect();
        assert_eq!(
            after_dashes,
            [
                "acme-web:all=1.0-1",
                "linux-image-amd64:amd64=6.1.112-1",
                "acme-tools:all-",
                "linux-image-6.1.0-28-amd64:amd64-"
            ]
        );
    }

    #[test]
    fn unknown_running_kernel_keeps_every_new_kernel() {
        let items = [item("kernel-core", "x86_64", "6.1.0-2.acme", None, true)];
        let plan = plan_rollback(Dnf, &items, "");
        assert!(plan.is_empty());
        assert_eq!(plan.kept.len(), 1);
    }

    #[test]
    fn dnf_installonly_kernel_is_removed_unless_running() {
        let items = [
            item("acme-web", "noarch", "1.1-1", Some("1.0-1"), false),
            item("kernel-core", "x86_64", "6.1.0-2.acme", None, true),
        ];
        let plan = plan_rollback(Dnf, &items, "6.1.0-1.acme.x86_64");
        assert_eq!(plan.remove[0].name, "kernel-core");
        let commands = rollback_commands(Dnf, &plan, &ApplyOptions::default()).unwrap();
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0].argv.last().unwrap(), "acme-web-1.0-1.noarch");
        assert!(commands[1].argv.contains(&"remove".to_owned()));
        assert_eq!(commands[1].argv.last().unwrap(), "kernel-core-6.1.0-2.acme.x86_64");

        let running = plan_rollback(Dnf, &items, "6.1.0-2.acme.x86_64");
        assert!(running.remove.is_empty());
        let debug = plan_rollback(Dnf, &items, "6.1.0-2.acme.x86_64+debug");
        assert!(debug.remove.is_empty());
    }

    #[test]
    fn from_update_and_nothing_to_do() {
        let plan = RollbackPlan::default();
        assert_eq!(rollback_commands(Apt, &plan, &ApplyOptions::default()), Ok(Vec::new()));
        let both = RollbackPlan {
            downgrade: vec![PinnedPackage::new("a", "all", "1.0")],
            remove: vec![PinnedPackage::new("a", "all", "1.1")],
            kept: Vec::new(),
        };
        assert!(rollback_commands(Apt, &both, &ApplyOptions::default()).is_err());
        let hostile = RollbackPlan {
            downgrade: vec![PinnedPackage::new("a", "all", "1.0;reboot")],
            ..RollbackPlan::default()
        };
        assert!(rollback_commands(Dnf, &hostile, &ApplyOptions::default()).is_err());
    }
}
