//! Matching hosts against advisories, built for fleets: advisories are filed by distribution
//! release and package name once, so a host's lookup costs one hash probe per installed package
//! (two when its source package differs), and versions are compared only for the few packages
//! an advisory names.

use std::cmp::Ordering;
use std::collections::HashMap;

use rustc_hash::FxHashMap;

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
    by_release: HashMap<ReleaseKey, FxHashMap<String, Postings>>,
}

/// The advisory entries that name one package in one release.
#[derive(Debug, Default)]
struct Postings {
    /// Entries of one range from the first version up to a fix (nearly every real record),
    /// sorted by their fixed version, parsed once: one binary search splits them into fixed
    /// and affected, without re-parsing or chasing each advisory in memory.
    by_fixed_version: Vec<(ParsedVersion, Entry)>,
    /// Every other shape, judged one by one.
    other: Vec<Entry>,
}

/// A version parsed in its release's order; within one release all are of one kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum ParsedVersion {
    Deb(version::DebVersion),
    Rpm(version::Evr),
}

impl ParsedVersion {
    fn parse(scheme: version::Scheme, text: &str) -> Option<ParsedVersion> {
        match scheme {
            version::Scheme::Deb => version::DebVersion::parse(text).ok().map(ParsedVersion::Deb),
            version::Scheme::Rpm => version::Evr::parse(text).ok().map(ParsedVersion::Rpm),
        }
    }
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
        let mut by_release: HashMap<ReleaseKey, FxHashMap<String, Postings>> = HashMap::new();
        for (advisory_position, advisory) in advisories.iter().enumerate() {
            for (affected_position, affected) in advisory.affected.iter().enumerate() {
                let entry = Entry {
                    advisory: advisory_position as u32,
                    affected: affected_position as u32,
                };
                let scheme = affected.ecosystem.distribution.scheme();
                // Every fixed version was checked on import; one that would not parse here is
                // judged the slow way, never dropped.
                let fixed =
                    simple_fix(advisory, entry).and_then(|f| ParsedVersion::parse(scheme, f));
                let names = by_release.entry(affected.ecosystem.key()).or_default();
                for name in std::iter::once(&affected.package).chain(&affected.binaries) {
                    let postings = names.entry(name.clone()).or_default();
                    match &fixed {
                        Some(fixed) => postings.by_fixed_version.push((fixed.clone(), entry)),
                        None => postings.other.push(entry),
                    }
                }
            }
        }
        for names in by_release.values_mut() {
            for postings in names.values_mut() {
                postings.by_fixed_version.sort_by(|(a, _), (b, _)| a.cmp(b));
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
        self.matches(host, installed, true)
    }

    /// Like [`AdvisoryIndex::match_host`], without the fixed verdicts: what the host is exposed
    /// to (affected, or undecided). Faster on a patched host, where most verdicts are "fixed".
    pub fn exposures(&self, host: &HostRelease, installed: &[InstalledPackage]) -> Vec<Exposure> {
        self.matches(host, installed, false)
    }

    fn matches(
        &self,
        host: &HostRelease,
        installed: &[InstalledPackage],
        with_fixed: bool,
    ) -> Vec<Exposure> {
        let mut exposures: Vec<Exposure> = Vec::new();
        for key in &host.keys {
            let Some(names) = self.by_release.get(key) else { continue };
            // The installed packages some advisory names, with their postings.
            let mut hits: Vec<(&InstalledPackage, &Postings)> = Vec::new();
            for package in installed {
                if let Some(postings) = names.get(&package.name) {
                    hits.push((package, postings));
                }
                if let Some(source) = &package.source
                    && source != &package.name
                    && let Some(postings) = names.get(source)
                {
                    hits.push((package, postings));
                }
            }
            // When several versions of a package are installed (kernels, which dnf installs
            // beside each other), the newest decides, as dnf decides whether an advisory is
            // installed: the old kernel kept for a rollback does not keep the host exposed.
            // Package managers list packages sorted by name; a generated list may not be.
            if !hits.is_sorted_by(|(a, _), (b, _)| a.name <= b.name) {
                hits.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name));
            }
            for run in hits.chunk_by(|(a, _), (b, _)| a.name == b.name) {
                let newest = run
                    .iter()
                    .map(|(package, _)| package.version.as_str())
                    .max_by(|a, b| version::compare(host.scheme, a, b).unwrap_or(Ordering::Equal))
                    .unwrap_or_default();
                for (package, postings) in run {
                    if package.version == newest {
                        self.judge_postings(host, package, postings, with_fixed, &mut exposures);
                    }
                }
            }
        }
        // One verdict per advisory and package: a package matched twice (by binary and by
        // source name, or by a release and its Pro stream) is affected when either match says
        // so; a verdict that could not be reached outranks a fixed one.
        exposures.sort_by(|a, b| {
            (a.advisory, &a.package, rank(a.status), a.fixed_version.is_none()).cmp(&(
                b.advisory,
                &b.package,
                rank(b.status),
                b.fixed_version.is_none(),
            ))
        });
        exposures.dedup_by(|later, first| {
            later.advisory == first.advisory && later.package == first.package
        });
        exposures
    }

    fn judge_postings(
        &self,
        host: &HostRelease,
        package: &InstalledPackage,
        postings: &Postings,
        with_fixed: bool,
        exposures: &mut Vec<Exposure>,
    ) {
        let sorted = &postings.by_fixed_version;
        let installed = ParsedVersion::parse(host.scheme, compared_version(package));
        match &installed {
            Some(installed) => {
                // The entries fixed at or before the installed version come first. On a patched
                // host the newest fix is usually installed: one comparison settles them all.
                let split = match sorted.last() {
                    Some((newest_fix, _)) if newest_fix <= installed => sorted.len(),
                    _ => sorted.partition_point(|(fixed, _)| fixed <= installed),
                };
                let exposure = |entry: &Entry, status| {
                    let fixed = simple_fix(&self.advisories[entry.advisory as usize], *entry);
                    Exposure {
                        advisory: entry.advisory as usize,
                        package: package.name.clone(),
                        installed_version: package.version.clone(),
                        status,
                        fixed_version: fixed.map(str::to_owned),
                        reason: None,
                    }
                };
                if with_fixed {
                    exposures.extend(
                        sorted[..split].iter().map(|(_, e)| exposure(e, ExposureStatus::Fixed)),
                    );
                }
                exposures.extend(
                    sorted[split..].iter().map(|(_, e)| exposure(e, ExposureStatus::Affected)),
                );
            }
            // An installed version its package manager's order cannot read: every entry is
            // judged one by one, and says undecided with the reason.
            None => {
                for (_, entry) in sorted {
                    exposures.extend(self.judge(host, *entry, package));
                }
            }
        }
        for entry in &postings.other {
            if let Some(exposure) = self.judge(host, *entry, package)
                && (with_fixed || exposure.status != ExposureStatus::Fixed)
            {
                exposures.push(exposure);
            }
        }
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
        let version = compared_version(package);
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

/// Debian and Ubuntu advisories give source versions: a binary rebuilt on its own (`1.2-3+b1`)
/// or versioned apart from its source is compared by its source's version.
fn compared_version(package: &InstalledPackage) -> &str {
    package.source_version.as_deref().unwrap_or(&package.version)
}

/// The fixed version of an entry whose only range runs from the first version to a fix.
fn simple_fix(advisory: &Advisory, entry: Entry) -> Option<&str> {
    match &advisory.affected[entry.affected as usize].ranges[..] {
        [range] if range.introduced.is_none() && range.last_affected.is_none() => {
            range.fixed.as_deref()
        }
        _ => None,
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
