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

// The application matches hosts on several threads against one index: it must stay `Sync`
// (plain data, no interior mutability). Checked at compile time.
const _: () = {
    const fn is_sync<T: Sync>() {}
    is_sync::<AdvisoryIndex>();
};

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

/// An installed package some advisory names, with its version parsed once for all its hits.
#[derive(Clone, Copy)]
struct Hit<'a> {
    /// Its position in the host's list.
    position: u32,
    package: &'a InstalledPackage,
    /// `None` when its package manager's order cannot read it.
    version: Option<&'a ParsedVersion>,
}

/// A verdict found while matching a host, before any string is built: positions in the index
/// and in the host's list, the fixed version borrowed from the advisory.
struct Found<'index> {
    advisory: u32,
    package: u32,
    status: ExposureStatus,
    fixed_version: Option<&'index str>,
    reason: Option<String>,
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
        let mut found: Vec<Found<'_>> = Vec::new();
        // The installed packages some advisory names, by position, with their postings.
        let mut hits: Vec<(u32, &Postings)> = Vec::new();
        for key in &host.keys {
            let Some(names) = self.by_release.get(key) else { continue };
            hits.clear();
            for (position, package) in installed.iter().enumerate() {
                if let Some(postings) = names.get(&package.name) {
                    hits.push((position as u32, postings));
                }
                if let Some(source) = &package.source
                    && source != &package.name
                    && let Some(postings) = names.get(source)
                {
                    hits.push((position as u32, postings));
                }
            }
            let name = |position: u32| installed[position as usize].name.as_str();
            // When several versions of a package are installed (kernels, which dnf installs
            // beside each other), the newest decides, as dnf decides whether an advisory is
            // installed: the old kernel kept for a rollback does not keep the host exposed.
            // Package managers list packages sorted by name; a generated list may not be. The
            // sort is stable, so the hits of one package stay side by side.
            if !hits.is_sorted_by(|(a, _), (b, _)| name(*a) <= name(*b)) {
                hits.sort_by(|(a, _), (b, _)| name(*a).cmp(name(*b)));
            }
            // The installed version of the package hit last, parsed once for all its hits (by
            // binary and by source name) instead of once per hit.
            let mut parsed: Option<(u32, Option<ParsedVersion>)> = None;
            for run in hits.chunk_by(|(a, _), (b, _)| name(*a) == name(*b)) {
                let newest = match run {
                    [(only, _)] => installed[*only as usize].version.as_str(),
                    _ => run
                        .iter()
                        .map(|(position, _)| installed[*position as usize].version.as_str())
                        .max_by(|a, b| {
                            version::compare(host.scheme, a, b).unwrap_or(Ordering::Equal)
                        })
                        .unwrap_or_default(),
                };
                for (position, postings) in run {
                    let package = &installed[*position as usize];
                    if package.version != newest {
                        continue;
                    }
                    if parsed.as_ref().is_none_or(|(last, _)| last != position) {
                        let version = ParsedVersion::parse(host.scheme, compared_version(package));
                        parsed = Some((*position, version));
                    }
                    let version = parsed.as_ref().and_then(|(_, version)| version.as_ref());
                    let hit = Hit { position: *position, package, version };
                    self.judge_postings(host, hit, postings, with_fixed, &mut found);
                }
            }
        }
        // One verdict per advisory and package: a package matched twice (by binary and by
        // source name, or by a release and its Pro stream) is affected when either match says
        // so; a verdict that could not be reached outranks a fixed one.
        let name = |found: &Found<'_>| installed[found.package as usize].name.as_str();
        found.sort_by(|a, b| {
            (a.advisory, name(a), rank(a.status), a.fixed_version.is_none()).cmp(&(
                b.advisory,
                name(b),
                rank(b.status),
                b.fixed_version.is_none(),
            ))
        });
        found.dedup_by(|later, first| {
            later.advisory == first.advisory && name(later) == name(first)
        });
        // The strings are built only now, for the verdicts kept.
        found
            .into_iter()
            .map(|found| {
                let package = &installed[found.package as usize];
                Exposure {
                    advisory: found.advisory as usize,
                    package: package.name.clone(),
                    installed_version: package.version.clone(),
                    status: found.status,
                    fixed_version: found.fixed_version.map(str::to_owned),
                    reason: found.reason,
                }
            })
            .collect()
    }

    fn judge_postings<'index>(
        &'index self,
        host: &HostRelease,
        hit: Hit<'_>,
        postings: &Postings,
        with_fixed: bool,
        found: &mut Vec<Found<'index>>,
    ) {
        let sorted = &postings.by_fixed_version;
        match hit.version {
            Some(installed) => {
                // The entries fixed at or before the installed version come first. On a patched
                // host the newest fix is usually installed: one comparison settles them all.
                let split = match sorted.last() {
                    Some((newest_fix, _)) if newest_fix <= installed => sorted.len(),
                    _ => sorted.partition_point(|(fixed, _)| fixed <= installed),
                };
                let verdict = |entry: &Entry, status| Found {
                    advisory: entry.advisory,
                    package: hit.position,
                    status,
                    fixed_version: simple_fix(&self.advisories[entry.advisory as usize], *entry),
                    reason: None,
                };
                if with_fixed {
                    found.extend(
                        sorted[..split].iter().map(|(_, e)| verdict(e, ExposureStatus::Fixed)),
                    );
                }
                found.extend(
                    sorted[split..].iter().map(|(_, e)| verdict(e, ExposureStatus::Affected)),
                );
            }
            // An installed version its package manager's order cannot read: every entry is
            // judged one by one, and says undecided with the reason.
            None => {
                for (_, entry) in sorted {
                    found.extend(self.judge(host, *entry, hit));
                }
            }
        }
        for entry in &postings.other {
            if let Some(verdict) = self.judge(host, *entry, hit)
                && (with_fixed || verdict.status != ExposureStatus::Fixed)
            {
                found.push(verdict);
            }
        }
    }

    fn judge(&self, host: &HostRelease, entry: Entry, hit: Hit<'_>) -> Option<Found<'_>> {
        let advisory = &self.advisories[entry.advisory as usize];
        let affected = &advisory.affected[entry.affected as usize];
        let mut inside_fix: Option<Option<&str>> = None;
        let mut after_fix = false;
        let mut undecided = None;
        let version = compared_version(hit.package);
        for range in &affected.ranges {
            match range.place(host.scheme, version) {
                Ok(Placement::Inside) => {
                    let fix = range.fixed.as_deref();
                    if inside_fix.is_none_or(|known| known.is_none()) {
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
                .find_map(|r| r.fixed.as_deref().or(r.last_affected.as_deref()));
            (ExposureStatus::Fixed, fix, None)
        } else {
            return None;
        };
        Some(Found {
            advisory: entry.advisory,
            package: hit.position,
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
