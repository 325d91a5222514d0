//! Matching hosts against advisories, built for fleets: advisories are filed by distribution
//! release and package name once, so a host's lookup costs one hash probe per installed package
//! (two when its source package differs), and versions are compared only for the few packages
//! an advisory names.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ecosystem::{HostRelease, ReleaseKey};
use super::range::Placement;
use super::{Advisory, Classification};
use crate::InstalledPackage;
use crate::version;

/// Advisories filed for matching. Holds them; look them up by the position an [`Exposure`]
/// gives.
#[derive(Debug, Default)]
pub struct AdvisoryIndex {
    advisories: Vec<Advisory>,
    by_release: HashMap<ReleaseKey, HashMap<String, Vec<Entry>>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    advisory: u32,
    affected: u32,
}

/// What one advisory means for one installed package of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    /// The advisory's position in the index ([`AdvisoryIndex::advisory`]).
    pub advisory: usize,
    /// The installed binary package.
    pub package: String,
    pub installed_version: String,
    pub status: ExposureStatus,
    /// The version that fixes it, when the advisory knows one (none: no fix published yet).
    pub fixed_version: Option<String>,
    /// Why no verdict could be reached ([`ExposureStatus::Undecided`]).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExposureStatus {
    /// The installed version lies in an affected range.
    Affected,
    /// The installed version is at or past the fix.
    Fixed,
    /// A version could not be compared; reported, never guessed.
    Undecided,
}

impl AdvisoryIndex {
    pub fn new(advisories: Vec<Advisory>) -> AdvisoryIndex {
        let mut by_release: HashMap<ReleaseKey, HashMap<String, Vec<Entry>>> = HashMap::new();
        for (advisory_position, advisory) in advisories.iter().enumerate() {
            for (affected_position, affected) in advisory.affected.iter().enumerate() {
                let entry = Entry {
                    advisory: advisory_position as u32,
                    affected: affected_position as u32,
                };
                let names = by_release.entry(affected.ecosystem.key()).or_default();
                for name in std::iter::once(&affected.package).chain(&affected.binaries) {
                    names.entry(name.clone()).or_default().push(entry);
                }
            }
        }
        AdvisoryIndex { advisories, by_release }
    }

    pub fn advisories(&self) -> &[Advisory] {
        &self.advisories
    }

    pub fn advisory(&self, position: usize) -> &Advisory {
        &self.advisories[position]
    }

    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// Every advisory that speaks about an installed package of the host, with its verdict:
    /// affected, fixed or undecided. Packages an advisory does not name, or whose installed
    /// version is older than the one that introduced the flaw, are not listed (not applicable).
    /// Sorted by advisory position, then package.
    pub fn match_host(&self, host: &HostRelease, installed: &[InstalledPackage]) -> Vec<Exposure> {
        let mut exposures: Vec<Exposure> = Vec::new();
        for key in &host.keys {
            let Some(names) = self.by_release.get(key) else { continue };
            for package in installed {
                let by_binary = names.get(&package.name).map(Vec::as_slice).unwrap_or_default();
                let by_source = match &package.source {
                    Some(source) if source != &package.name => {
                        names.get(source).map(Vec::as_slice).unwrap_or_default()
                    }
                    _ => &[],
                };
                for entry in by_binary.iter().chain(by_source) {
                    exposures.extend(self.judge(host, *entry, package));
                }
            }
        }
        // One verdict per advisory and package. When several versions of a package are
        // installed (kernels, which dnf installs beside each other), the newest decides, as dnf
        // decides whether an advisory is installed: the old kernel kept for a rollback does not
        // keep the host exposed. A package matched twice (by binary and by source name, or by a
        // release and its Pro stream) is affected when either match says so; a verdict that
        // could not be reached outranks a fixed one.
        exposures.sort_by(|a, b| {
            (a.advisory, &a.package)
                .cmp(&(b.advisory, &b.package))
                .then_with(|| {
                    version::compare(host.scheme, &b.installed_version, &a.installed_version)
                        .unwrap_or(Ordering::Equal)
                })
                .then_with(|| {
                    (rank(a.status), a.fixed_version.is_none())
                        .cmp(&(rank(b.status), b.fixed_version.is_none()))
                })
        });
        exposures.dedup_by(|later, first| {
            later.advisory == first.advisory && later.package == first.package
        });
        exposures
    }

    fn judge(
        &self,
        host: &HostRelease,
        entry: Entry,
        package: &InstalledPackage,
    ) -> Option<Exposure> {
        let advisory = &self.advisories[entry.advisory as usize];
        let affected = &advisory.affected[entry.affected as usize];
        let mut inside_fix: Option<Option<String>> = None;
        let mut after_fix = false;
        let mut undecided = None;
        // Debian and Ubuntu advisories give source versions: a binary rebuilt on its own
        // (`1.2-3+b1`) or versioned apart from its source is compared by its source's version.
        let version = package.source_version.as_deref().unwrap_or(&package.version);
        for range in &affected.ranges {
            match range.place(host.scheme, version) {
                Ok(Placement::Inside) => {
                    let fix = range.fixed.clone();
                    if inside_fix.as_ref().is_none_or(|known| known.is_none()) {
                        inside_fix = Some(fix);
                    }
                }
                Ok(Placement::After) => after_fix = true,
                Ok(Placement::Before) => {}
                Err(error) => undecided = Some(error.to_string()),
            }
        }
        let (status, fixed_version, reason) = if let Some(reason) = undecided {
            (ExposureStatus::Undecided, None, Some(reason))
        } else if let Some(fix) = inside_fix {
            (ExposureStatus::Affected, fix, None)
        } else if after_fix {
            let fix = affected
                .ranges
                .iter()
                .filter_map(|r| r.fixed.clone().or(r.last_affected.clone()))
                .next();
            (ExposureStatus::Fixed, fix, None)
        } else {
            return None;
        };
        Some(Exposure {
            advisory: entry.advisory as usize,
            package: package.name.clone(),
            installed_version: package.version.clone(),
            status,
            fixed_version,
            reason,
        })
    }

    /// True when the advisory at `position` is a security advisory (every OSV record, and
    /// updateinfo entries of type `security`).
    pub fn is_security(&self, position: usize) -> bool {
        self.advisories[position].kind == Classification::Security
    }
}

/// Which of two verdicts on the same advisory and package is kept: the lower.
fn rank(status: ExposureStatus) -> u8 {
    match status {
        ExposureStatus::Affected => 0,
        ExposureStatus::Undecided => 1,
        ExposureStatus::Fixed => 2,
    }
}
