//! One host's patch state at one time, exactly as its own package manager sees it.

use serde::Deserialize;

use crate::{OsRelease, PackageManagerKind};

mod stored;

/// A host's state at one time. Built by `pkgmgr` from the outputs of the host's own tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub host: String,
    /// Seconds since the Unix epoch when gathering started; the shell reads the clock.
    pub taken_at_unix: i64,
    pub os: OsRelease,
    pub package_manager: PackageManagerKind,
    /// `uname -r`.
    pub running_kernel: String,
    /// Kernels with a boot image under `/boot`, oldest first.
    pub installed_kernels: Vec<InstalledKernel>,
    /// `/proc/sys/kernel/random/boot_id`: changes with every boot.
    pub boot_id: String,
    pub installed: Vec<InstalledPackage>,
    pub updates: Vec<PendingUpdate>,
    /// Packages a full upgrade would remove (apt's `Remv` lines), as the package manager names
    /// them. Nobody wants to learn this during the window.
    pub removals: Vec<String>,
    /// Packages held back by the administrator (`apt-mark hold`, dnf versionlock).
    pub held: Vec<String>,
    pub reboot: RebootStatus,
    /// Services that run outdated code. `None` when no tool to tell is installed
    /// (needrestart, `dnf needs-restarting`).
    pub services_needing_restart: Option<Vec<String>>,
    pub disk: Vec<DiskSpace>,
    pub health: Health,
    /// When the package lists were last refreshed successfully, as the host records it
    /// (`pkgmgr::lists`).
    pub lists_refreshed: ListsRefreshed,
}

/// An installed binary package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InstalledPackage {
    pub name: String,
    pub arch: String,
    /// The full version as the package manager writes it: `[epoch:]version[-revision]` for
    /// dpkg, `[epoch:]version-release` for rpm.
    pub version: String,
    /// The source package it was built from and that source's version, when the host reports
    /// them (dpkg does). Debian and Ubuntu advisories name source packages and their versions.
    /// RPM advisories name every binary package, so RPM hosts leave these empty.
    pub source: Option<String>,
    pub source_version: Option<String>,
}

/// A kernel the host can boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledKernel {
    /// The kernel release as `uname -r` would print it once booted, e.g. `6.1.0-26-amd64`.
    pub release: String,
    /// The package that owns it, when known.
    pub package: Option<String>,
}

/// One package the package manager would change on a full upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpdate {
    pub name: String,
    pub arch: String,
    /// `None` when the package is newly installed (a new kernel ABI package, a new dependency).
    pub installed_version: Option<String>,
    pub candidate_version: String,
    /// Where the candidate comes from: apt's archives or dnf's repositories.
    pub origins: Vec<Origin>,
    pub action: UpdateAction,
    pub classification: Classification,
    pub severity: Option<Severity>,
    pub kernel: bool,
    /// Advisory ids (RHSA-…, ALSA-…, DSA-…) where the package manager knows them.
    pub advisories: Vec<String>,
    /// CVE ids where the package manager knows them.
    pub cves: Vec<String>,
    /// A plain `apt-get upgrade` would not apply it (it needs new packages or removals).
    pub kept_back: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateAction {
    Upgrade,
    NewInstall,
}

/// An archive (apt) or repository (dnf) a candidate version is available from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// apt: the Release file's `Label` (e.g. `Debian-Security`); dnf: the repository id.
    pub label: Option<String>,
    /// apt: the archive's suite (e.g. `bookworm-security`, `oldstable-security`); dnf: empty.
    pub suite: String,
}

impl Origin {
    /// True when the archive is a security archive: its suite ends in `-security`, the rule
    /// Debian and Ubuntu share.
    pub fn is_security_suite(&self) -> bool {
        self.suite.ends_with("-security")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Security,
    Bugfix,
    Enhancement,
    /// A package new to the repository (`type="newpackage"` in updateinfo), which dnf keeps as
    /// a class of its own.
    Newpackage,
    Unknown,
}

/// Severity as the distribution rates it. Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    None,
    Low,
    Moderate,
    Important,
    Critical,
}

impl Severity {
    /// Parses the severities dnf and updateinfo.xml write (`Low`, `Moderate`, `Important`,
    /// `Critical`, `None`), case-insensitively, plus the common synonyms `medium` and `high`.
    pub fn parse(text: &str) -> Option<Severity> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Severity::None),
            "low" | "negligible" => Some(Severity::Low),
            "moderate" | "medium" => Some(Severity::Moderate),
            "important" | "high" => Some(Severity::Important),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// Whether the host must reboot to run what is installed, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebootStatus {
    pub required: bool,
    /// Packages that asked for it (`/var/run/reboot-required.pkgs`, `dnf needs-restarting -r`).
    pub packages: Vec<String>,
    /// Human-readable reasons, e.g. "running kernel 6.1.0-25-amd64 is not the newest installed
    /// (6.1.0-26-amd64)".
    pub reasons: Vec<String>,
}

/// Free space on a file system patchctl writes to during an upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpace {
    /// The path asked about: `/` or `/boot`.
    pub path: String,
    /// The mount point it lives on.
    pub mount: String,
    pub available_bytes: u64,
    pub total_bytes: u64,
}

/// When a host's package lists were last refreshed successfully.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListsRefreshed {
    /// Not asked (a lesser depth, an older record, a host without `find`).
    #[default]
    Unknown,
    /// The host has no record of a refresh: no lists at all.
    Never,
    /// Seconds since the Unix epoch.
    At(i64),
}

impl ListsRefreshed {
    pub fn is_unknown(&self) -> bool {
        *self == ListsRefreshed::Unknown
    }

    /// The time, when there is one.
    pub fn at(self) -> Option<i64> {
        match self {
            ListsRefreshed::At(at) => Some(at),
            _ => None,
        }
    }
}

/// Whether the package manager can be used right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// dpkg was interrupted (`dpkg --configure -a` needed) or left packages half-installed.
    pub interrupted: bool,
    /// What the package manager's own audit said (`dpkg --audit`), trimmed; empty when clean.
    pub audit: Vec<String>,
    /// Processes holding the package manager's locks.
    pub locks: Vec<LockHolder>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub path: String,
    pub pid: u32,
    /// The holder's command name (`/proc/PID/comm`), when it could be read.
    pub command: Option<String>,
}

/// The one-line summary of an assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub n_updates: usize,
    pub n_security: usize,
    pub n_kernel: usize,
    pub reboot_required: bool,
}

impl Assessment {
    /// How old the package lists were when the assessment was taken, in words: `"3d2h"`,
    /// `"never refreshed"`, or `"unknown"` when the host was not asked (older records).
    pub fn lists_age(&self) -> String {
        match self.lists_refreshed {
            ListsRefreshed::At(at) => {
                let age = chrono::TimeDelta::seconds((self.taken_at_unix - at).max(0));
                if age < chrono::TimeDelta::minutes(1) {
                    "<1m".to_owned()
                } else {
                    crate::policy::format_duration(age)
                }
            }
            ListsRefreshed::Never => "never refreshed".to_owned(),
            ListsRefreshed::Unknown => "unknown".to_owned(),
        }
    }

    pub fn summary(&self) -> Summary {
        Summary {
            n_updates: self.updates.len(),
            n_security: self
                .updates
                .iter()
                .filter(|u| u.classification == Classification::Security)
                .count(),
            n_kernel: self.updates.iter().filter(|u| u.kernel).count(),
            reboot_required: self.reboot.required,
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} updates, {} security, {} kernel, {}",
            self.n_updates,
            self.n_security,
            self.n_kernel,
            if self.reboot_required { "reboot required" } else { "no reboot required" }
        )
    }
}
