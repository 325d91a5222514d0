//! Old kernels: which kernel packages to remove so that the newest N kernels stay, and never the
//! one the host runs.
//!
//! A kernel is a release (`uname -r`) and the packages that carry it:
//! - Debian and Ubuntu: `linux-image-R` (or `linux-image-unsigned-R`, `linux-image-R-unsigned`),
//!   with `linux-modules-R`, `linux-modules-extra-R`, `linux-headers-R` and `-dbg` packages of
//!   the same R. Metapackages (`linux-image-amd64`) and shared headers
//!   (`linux-headers-6.1.0-26-common`) carry no release and are never removed here; apt's
//!   autoremove takes the latter once unused. Kernels are ordered by the image package's
//!   version.
//! - RPM: the installonly packages `kernel`, `kernel-core`, `kernel-modules`,
//!   `kernel-modules-core`, `kernel-modules-extra` and `kernel-devel`, whose release is
//!   `version-release.arch`. Other flavours (`kernel-rt`, `kernel-debug`, UEK) are left alone.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use model::version::{deb, rpm};
use model::{InstalledPackage, PackageManagerKind};

use super::install::{self, ApplyOptions, AptMode, PinnedPackage};
use super::validate::InvalidInput;
use crate::probe::CommandSpec;

/// What a cleanup keeps and removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelCleanup {
    /// The releases kept, newest first: the newest `keep`, and the running one wherever it is.
    pub kept: Vec<String>,
    /// The releases removed, newest first.
    pub removed: Vec<String>,
    /// Every package of the removed releases.
    pub remove: Vec<InstalledPackage>,
}

const DEB_PREFIXES: [&str; 5] = [
    "linux-image-unsigned-",
    "linux-image-",
    "linux-modules-extra-",
    "linux-modules-",
    "linux-headers-",
];
const DEB_SUFFIXES: [&str; 2] = ["-unsigned", "-dbg"];
const RPM_PARTS: [&str; 6] = [
    "kernel",
    "kernel-core",
    "kernel-modules",
    "kernel-modules-core",
    "kernel-modules-extra",
    "kernel-devel",
];

/// Decides the cleanup from the installed packages (as the assessment lists them) and the
/// running kernel (`uname -r`). `keep` must be at least 1.
pub fn kernel_cleanup(
    kind: PackageManagerKind,
    installed: &[InstalledPackage],
    running_kernel: &str,
    keep: usize,
) -> Result<KernelCleanup, InvalidInput> {
    if keep == 0 {
        return Err(InvalidInput::new("kernels to keep", "0", "keep at least one kernel"));
    }
    // Release → (the version that orders it, its packages).
    let mut kernels: BTreeMap<String, (String, Vec<InstalledPackage>)> = BTreeMap::new();
    match kind {
        PackageManagerKind::Apt => {
            for package in installed {
                if let Some(release) = deb_image_release(&package.name) {
                    kernels.entry(release.to_owned()).or_default().0 = package.version.clone();
                }
            }
            for package in installed {
                if let Some(kernel) =
                    deb_release_of(&package.name, &kernels).and_then(|r| kernels.get_mut(&r))
                {
                    kernel.1.push(package.clone());
                }
            }
        }
        PackageManagerKind::Dnf => {
            for package in installed.iter().filter(|p| RPM_PARTS.contains(&p.name.as_str())) {
                let evr = package.version.split_once(':').map_or(&*package.version, |(_, vr)| vr);
                let entry = kernels.entry(format!("{evr}.{}", package.arch)).or_default();
                entry.0 = package.version.clone();
                entry.1.push(package.clone());
            }
        }
    }
    let mut releases: Vec<(&String, &String)> =
        kernels.iter().map(|(release, (version, _))| (release, version)).collect();
    releases.sort_by(|a, b| newest_first(kind, a, b));
    let mut cleanup = KernelCleanup::default();
    for (i, (release, _)) in releases.iter().enumerate() {
        if i < keep || release.as_str() == running_kernel {
            cleanup.kept.push((*release).clone());
        } else {
            cleanup.removed.push((*release).clone());
            cleanup.remove.extend(kernels[*release].1.iter().cloned());
        }
    }
    Ok(cleanup)
}

/// The command that removes `cleanup.remove`, `None` when there is nothing to remove: `apt-get
/// purge` (the kernel's leftovers in `/lib/modules` go with its configuration) or `dnf remove`
/// of the exact NEVRAs. apt removes what depends on a purged package too: only a metapackage
/// that still depends on an old kernel would, and it never does once it was upgraded.
pub fn kernel_cleanup_command(
    kind: PackageManagerKind,
    cleanup: &KernelCleanup,
    options: &ApplyOptions,
) -> Result<Option<CommandSpec>, InvalidInput> {
    if cleanup.remove.is_empty() {
        return Ok(None);
    }
    let packages: Vec<PinnedPackage> =
        cleanup.remove.iter().map(|p| PinnedPackage::new(&p.name, &p.arch, &p.version)).collect();
    let specs = install::specs(kind, &packages)?;
    Ok(Some(match kind {
        PackageManagerKind::Apt => {
            let names = packages.iter().map(PinnedPackage::name_arch).collect();
            install::apt_get(AptMode::Purge, options, names)
        }
        PackageManagerKind::Dnf => install::dnf("remove", specs),
    }))
}

/// R of `linux-image-R` and `linux-image-unsigned-R`, where R starts with a digit and is not a
/// debug package.
fn deb_image_release(name: &str) -> Option<&str> {
    let release =
        name.strip_prefix("linux-image-unsigned-").or_else(|| name.strip_prefix("linux-image-"))?;
    let release = release.strip_suffix("-unsigned").unwrap_or(release);
    (release.starts_with(|c: char| c.is_ascii_digit()) && !release.ends_with("-dbg"))
        .then_some(release)
}

/// The release of a known kernel that `name` carries: `PREFIX R` or `PREFIX R SUFFIX`.
fn deb_release_of<T>(name: &str, kernels: &BTreeMap<String, T>) -> Option<String> {
    let rest = DEB_PREFIXES.iter().find_map(|prefix| name.strip_prefix(prefix))?;
    let rest = DEB_SUFFIXES.iter().find_map(|suffix| rest.strip_suffix(suffix)).unwrap_or(rest);
    kernels.contains_key(rest).then(|| rest.to_owned())
}

fn newest_first(
    kind: PackageManagerKind,
    a: &(&String, &String),
    b: &(&String, &String),
) -> Ordering {
    let by_version = match kind {
        PackageManagerKind::Apt => deb::compare(b.1, a.1).unwrap_or(Ordering::Equal),
        PackageManagerKind::Dnf => rpm::compare(b.1, a.1).unwrap_or(Ordering::Equal),
    };
    by_version.then_with(|| rpm::rpmvercmp(b.0, a.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use PackageManagerKind::{Apt, Dnf};

    fn p(name: &str, arch: &str, version: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            arch: arch.into(),
            version: version.into(),
            source: None,
            source_version: None,
        }
    }

    #[test]
    fn debian_keeps_two_newest_and_the_running_one() {
        let installed = [
            p("linux-image-6.1.0-9-amd64", "amd64", "6.1.27-1"),
            p("linux-image-6.1.0-18-amd64", "amd64", "6.1.76-1"),
            p("linux-image-6.1.0-25-amd64", "amd64", "6.1.106-3"),
            p("linux-image-6.1.0-26-amd64", "amd64", "6.1.112-1"),
            p("linux-image-6.1.0-26-amd64-dbg", "amd64", "6.1.112-1"),
            p("linux-headers-6.1.0-18-amd64", "amd64", "6.1.76-1"),
            p("linux-headers-6.1.0-18-common", "all", "6.1.76-1"),
            p("linux-image-amd64", "amd64", "6.1.112-1"),
            p("linux-base", "all", "4.9"),
        ];
        let cleanup = kernel_cleanup(Apt, &installed, "6.1.0-9-amd64", 2).unwrap();
        assert_eq!(cleanup.kept, ["6.1.0-26-amd64", "6.1.0-25-amd64", "6.1.0-9-amd64"]);
        assert_eq!(cleanup.removed, ["6.1.0-18-amd64"]);
        let names: Vec<&str> = cleanup.remove.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["linux-image-6.1.0-18-amd64", "linux-headers-6.1.0-18-amd64"]);
        let command =
            kernel_cleanup_command(Apt, &cleanup, &ApplyOptions::default()).unwrap().unwrap();
        assert_eq!(&command.argv[..2], ["apt-get", "purge"]);
        assert_eq!(
            command.argv[command.argv.len() - 2..],
            ["linux-image-6.1.0-18-amd64:amd64", "linux-headers-6.1.0-18-amd64:amd64"]
        );

        let one = kernel_cleanup(Apt, &installed, "6.1.0-26-amd64", 1).unwrap();
        assert_eq!(one.kept, ["6.1.0-26-amd64"]);
        assert_eq!(one.removed.len(), 3);
        assert!(kernel_cleanup(Apt, &installed, "", 0).is_err());
    }

    #[test]
    fn rpm_groups_installonly_parts_by_release() {
        let installed = [
            p("kernel", "x86_64", "5.14.0-362.el9"),
            p("kernel-core", "x86_64", "5.14.0-362.el9"),
            p("kernel-modules", "x86_64", "5.14.0-362.el9"),
            p("kernel-core", "x86_64", "5.14.0-427.el9"),
            p("kernel-modules", "x86_64", "5.14.0-427.el9"),
            p("kernel-core", "x86_64", "5.14.0-503.el9"),
            p("kernel-tools", "x86_64", "5.14.0-503.el9"),
        ];
        let cleanup = kernel_cleanup(Dnf, &installed, "5.14.0-503.el9.x86_64", 2).unwrap();
        assert_eq!(cleanup.removed, ["5.14.0-362.el9.x86_64"]);
        assert_eq!(cleanup.remove.len(), 3);
        let command =
            kernel_cleanup_command(Dnf, &cleanup, &ApplyOptions::default()).unwrap().unwrap();
        assert!(command.argv.contains(&"kernel-core-5.14.0-362.el9.x86_64".to_owned()));
        assert!(command.argv.contains(&"--noautoremove".to_owned()));

        let none = kernel_cleanup(Dnf, &installed, "5.14.0-362.el9.x86_64", 3).unwrap();
        assert_eq!(kernel_cleanup_command(Dnf, &none, &ApplyOptions::default()), Ok(None));
    }
}
