//! Whether a host has what the plan (or the rollback) says, from a fresh assessment's installed
//! packages: the proof an apply did its job, whatever its output said.

use std::cmp::Ordering;

use model::version::{self, Scheme};
use model::{InstalledPackage, PackageManagerKind};

use super::install::PinnedPackage;
use super::rollback::RollbackPlan;

/// A package that is not as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub name: String,
    pub arch: String,
    /// The version that should be installed; `None` when the package should be gone.
    pub expected: Option<String>,
    /// The versions installed now (several for an installonly kernel); empty when none is.
    pub installed: Vec<String>,
}

/// The `targets` that are not installed at their exact version. Versions are compared in the
/// package manager's order, so `0:1.0-1` and `1.0-1` are the same version. A package with
/// several versions installed (an installonly kernel) matches when one of them is the target.
pub fn verify_installed(
    kind: PackageManagerKind,
    installed: &[InstalledPackage],
    targets: &[PinnedPackage],
) -> Vec<Mismatch> {
    targets
        .iter()
        .filter_map(|target| {
            let versions = installed_versions(installed, &target.name, &target.arch);
            let found = versions.iter().any(|v| same_version(kind, v, &target.version));
            (!found).then(|| Mismatch {
                name: target.name.clone(),
                arch: target.arch.clone(),
                expected: Some(target.version.clone()),
                installed: versions,
            })
        })
        .collect()
}

/// What a rollback left undone: packages not back at their recorded version, and removed
/// packages still installed at the version the rollout put there. (A removed package still
/// installed at another version, such as the other installonly kernels, is as it should be.)
pub fn verify_rollback(
    kind: PackageManagerKind,
    installed: &[InstalledPackage],
    plan: &RollbackPlan,
) -> Vec<Mismatch> {
    let mut mismatches = verify_installed(kind, installed, &plan.downgrade);
    for removed in &plan.remove {
        let versions = installed_versions(installed, &removed.name, &removed.arch);
        if versions.iter().any(|v| same_version(kind, v, &removed.version)) {
            mismatches.push(Mismatch {
                name: removed.name.clone(),
                arch: removed.arch.clone(),
                expected: None,
                installed: versions,
            });
        }
    }
    mismatches
}

fn installed_versions(installed: &[InstalledPackage], name: &str, arch: &str) -> Vec<String> {
    installed
        .iter()
        .filter(|p| p.name == name && p.arch == arch)
        .map(|p| p.version.clone())
        .collect()
}

/// Equal in the package manager's order; a version it cannot parse equals only itself.
fn same_version(kind: PackageManagerKind, a: &str, b: &str) -> bool {
    let scheme = match kind {
        PackageManagerKind::Apt => Scheme::Deb,
        PackageManagerKind::Dnf => Scheme::Rpm,
    };
    match version::compare(scheme, a, b) {
        Ok(order) => order == Ordering::Equal,
        Err(_) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PackageManagerKind::{Apt, Dnf};

    fn installed(name: &str, arch: &str, version: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            arch: arch.into(),
            version: version.into(),
            source: None,
            source_version: None,
        }
    }

    #[test]
    fn mismatches_are_wrong_version_or_missing() {
        let host = [
            installed("acme-web", "all", "1.1-1"),
            installed("acme-tools", "all", "1.0-1"),
            installed("libfoo", "amd64", "1:2.0-1"),
        ];
        let targets = [
            PinnedPackage::new("acme-web", "all", "1.1-1"),
            PinnedPackage::new("acme-tools", "all", "1.1-1"),
            PinnedPackage::new("acme-kernel", "all", "1.1-1"),
            PinnedPackage::new("libfoo", "amd64", "1:2.0-1"),
            PinnedPackage::new("libfoo", "i386", "1:2.0-1"),
        ];
        let found = verify_installed(Apt, &host, &targets);
        let names: Vec<(&str, &str, usize)> =
            found.iter().map(|m| (m.name.as_str(), m.arch.as_str(), m.installed.len())).collect();
        assert_eq!(
            names,
            [("acme-tools", "all", 1), ("acme-kernel", "all", 0), ("libfoo", "i386", 0)]
        );
    }

    #[test]
    fn rpm_epoch_zero_and_installonly() {
        let host = [
            installed("acme-tools", "noarch", "0:1.1-1"),
            installed("kernel-core", "x86_64", "6.1.0-1.acme"),
            installed("kernel-core", "x86_64", "6.1.0-2.acme"),
        ];
        let targets = [
            PinnedPackage::new("acme-tools", "noarch", "1.1-1"),
            PinnedPackage::new("kernel-core", "x86_64", "6.1.0-2.acme"),
        ];
        assert!(verify_installed(Dnf, &host, &targets).is_empty());

        let plan = RollbackPlan {
            downgrade: vec![PinnedPackage::new("acme-tools", "noarch", "1.0-1")],
            remove: vec![PinnedPackage::new("kernel-core", "x86_64", "6.1.0-2.acme")],
            kept: Vec::new(),
        };
        let left = verify_rollback(Dnf, &host, &plan);
        assert_eq!(left.len(), 2);
        assert_eq!(left[1].expected, None);
        let rolled_back = [
            installed("acme-tools", "noarch", "1.0-1"),
            installed("kernel-core", "x86_64", "6.1.0-1.acme"),
        ];
        assert!(verify_rollback(Dnf, &rolled_back, &plan).is_empty());
    }
}
