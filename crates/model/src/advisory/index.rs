//! Matching hosts against advisories, built for fleets: advisories are filed by distribution
//! release and package name once, so a host's lookup costs one hash probe per installed package
//! (two when its source package differs), and versions are compared only for the few packages
//! an advisory names.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::ecosystem::{HostRelease, ReleaseKey};
use super::postings::{
    Entry, Filed, FixedVersion, InstalledVersion, Postings, ReleasePostings, Span,
};
use super::range::Placement;
use super::{Advisory, Classification, CvssScore, is_cve_id};
use crate::InstalledPackage;
use crate::version::{self, Scheme};

/// Advisories filed for matching. Holds them; look them up by the position an [`Exposure`]
/// gives.
#[derive(Debug, Default)]
pub struct AdvisoryIndex {
    advisories: Vec<Advisory>,
    by_release: HashMap<ReleaseKey, ReleasePostings>,
}

// The application matches hosts on several threads against one index: it must stay `Sync`
// (plain data, no interior mutability). Checked at compile time.
const _: () = {
    const fn is_sync<T: Sync>() {}
    is_sync::<AdvisoryIndex>();
};

/// Gives each advisory without CVSS the scores of the CVE records it names, by its CVE ids and
/// aliases (`CVE-…`, or a distribution's record of one: `UBUNTU-CVE-…`, `DEBIAN-CVE-…`), that
/// are among `advisories` with scores of their own (Ubuntu's CVE records carry CVSS vectors;
/// its USNs do not). Its severity is then that of the highest of them; with none, it keeps
/// the distribution's rating ([`Advisory::severity`]). Scores are never passed on twice: only
/// a record's own count.
pub fn scored_from_cve_records(advisories: &mut [Advisory]) {
    let is_cve_record = |id: &str| {
        is_cve_id(id)
            || id.split_once("-CVE-").is_some_and(|(_, rest)| is_cve_id(&format!("CVE-{rest}")))
    };
    let scored: HashMap<&str, usize> = advisories
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.cvss.is_empty() && is_cve_record(&a.id))
        .map(|(position, a)| (a.id.as_str(), position))
        .collect();
    let mut inherited = Vec::new();
    for (position, advisory) in advisories.iter().enumerate() {
        if !advisory.cvss.is_empty() {
            continue;
        }
        let mut scores: Vec<CvssScore> = Vec::new();
        for id in advisory.cves.iter().chain(&advisory.aliases) {
            let Some(&record) = scored.get(id.as_str()) else { continue };
            for score in &advisories[record].cvss {
                if !scores.iter().any(|s| s.vector == score.vector) {
                    scores.push(score.clone());
                }
            }
        }
        if !scores.is_empty() {
            inherited.push((position, scores));
        }
    }
    for (position, scores) in inherited {
        advisories[position].cvss = scores;
    }
}

/// An installed package some advisory names.
#[derive(Clone, Copy)]
struct Hit<'a> {
    /// Its position in the host's list.
    position: u32,
    package: &'a InstalledPackage,
    /// Its name as a number of the host: equal for equal names, ordered like them.
    name: u32,
}

/// The installed version of the package hit last, parsed when first needed and once for all
/// its hits (by binary and by source name): its position, and the version (`None` when its
/// package manager's order cannot read it).
type LastParsed<'a> = Option<(u32, Option<InstalledVersion<'a>>)>;

/// A verdict found while matching a host, before any string is built: positions in the index
/// and in the host's list, the fixed version borrowed from the advisory.
struct Found<'index> {
    advisory: u32,
    package: u32,
    /// The package's name as a number of the host: equal for equal names, ordered like them.
    name: u32,
    status: ExposureStatus,
    fixed_version: Option<&'index str>,
    reason: Option<String>,
}

/// What one advisory means for one installed package of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExposureStatus {
    /// The installed version lies in an affected range.
    Affected,
    /// The installed version is at or past the fix.
    Fixed,
    /// A version could not be compared; reported, never guessed.
    Undecided,
}

impl AdvisoryIndex {
    /// Files `advisories`. One without a CVSS score of its own (Debian's DSA and DLA, Ubuntu's
    /// USN) is scored from the CVE records among them that it names ([`scored_from_cve_records`]).
    pub fn new(mut advisories: Vec<Advisory>) -> AdvisoryIndex {
        scored_from_cve_records(&mut advisories);
        let mut filed: HashMap<ReleaseKey, (Scheme, Vec<Filed<'_>>)> = HashMap::new();
        for (advisory_position, advisory) in advisories.iter().enumerate() {
            for (affected_position, affected) in advisory.affected.iter().enumerate() {
                let entry = Entry {
                    advisory: advisory_position as u32,
                    affected: affected_position as u32,
                };
                // Every fixed version was checked on import; one that would not parse here is
                // judged the slow way, never dropped.
                let fixed = simple_fix(&advisories, entry);
                let scheme = affected.ecosystem.distribution.scheme();
                let (_, release) =
                    filed.entry(affected.ecosystem.key()).or_insert((scheme, vec![]));
                for name in std::iter::once(&affected.package).chain(&affected.binaries) {
                    release.push((name, fixed, entry));
                }
            }
        }
        let by_release = filed
            .into_iter()
            .map(|(key, (scheme, entries))| (key, ReleasePostings::new(scheme, entries)))
            .collect();
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
        let names = name_numbers(installed);
        let mut found: Vec<Found<'_>> = Vec::new();
        // The installed packages some advisory names, by position, with their postings.
        let mut hits: Vec<(u32, Span)> = Vec::with_capacity(installed.len());
        for key in &host.keys {
            let Some(release) = self.by_release.get(key) else { continue };
            hits.clear();
            for (position, package) in installed.iter().enumerate() {
                if let Some(span) = release.find(&package.name) {
                    hits.push((position as u32, span));
                }
                if let Some(source) = &package.source
                    && source != &package.name
                    && let Some(span) = release.find(source)
                {
                    hits.push((position as u32, span));
                }
            }
            let name = |position: u32| names[position as usize];
            // When several versions of a package are installed (kernels, which dnf installs
            // beside each other), the newest decides, as dnf decides whether an advisory is
            // installed: the old kernel kept for a rollback does not keep the host exposed.
            // Package managers list packages sorted by name; a generated list may not be. The
            // sort is stable, so the hits of one package stay side by side.
            if !hits.is_sorted_by_key(|(position, _)| name(*position)) {
                hits.sort_by_key(|(position, _)| name(*position));
            }
            let mut parsed: LastParsed<'_> = None;
            for run in hits.chunk_by(|(a, _), (b, _)| name(*a) == name(*b)) {
                // One package hit by its binary and its source name is one version.
                let one_package = run.iter().all(|(position, _)| *position == run[0].0);
                let newest = match run {
                    _ if one_package => installed[run[0].0 as usize].version.as_str(),
                    _ => run
                        .iter()
                        .map(|(position, _)| installed[*position as usize].version.as_str())
                        .max_by(|a, b| {
                            version::compare(host.scheme, a, b).unwrap_or(Ordering::Equal)
                        })
                        .unwrap_or_default(),
                };
                for (position, span) in run {
                    let postings = release.postings(*span);
                    let package = &installed[*position as usize];
                    if !one_package && package.version != newest {
                        continue;
                    }
                    let hit = Hit { position: *position, package, name: name(*position) };
                    self.judge_postings(host, hit, postings, with_fixed, &mut parsed, &mut found);
                }
            }
        }
        // One verdict per advisory and package: a package matched twice (by binary and by
        // source name, or by a release and its Pro stream) is affected when either match says
        // so; a verdict that could not be reached outranks a fixed one.
        // Sorted as two words per verdict, its position last: the order of a stable sort, and
        // the first of each advisory and package is the one kept.
        let mut order: Vec<(u64, u64)> = found
            .iter()
            .enumerate()
            .map(|(at, found)| {
                let package = u64::from(found.advisory) << 32 | u64::from(found.name);
                let preference = u64::from(rank(found.status)) << 33
                    | u64::from(found.fixed_version.is_none()) << 32
                    | at as u64;
                (package, preference)
            })
            .collect();
        order.sort_unstable();
        order.dedup_by_key(|(package, _)| *package);
        // The strings are built only now, for the verdicts kept.
        order
            .into_iter()
            .map(|(_, preference)| {
                let found = &mut found[(preference & u64::from(u32::MAX)) as usize];
                let package = &installed[found.package as usize];
                Exposure {
                    advisory: found.advisory as usize,
                    package: package.name.clone(),
                    installed_version: package.version.clone(),
                    status: found.status,
                    fixed_version: found.fixed_version.map(str::to_owned),
                    reason: found.reason.take(),
                }
            })
            .collect()
    }

    fn judge_postings<'index, 'host>(
        &'index self,
        host: &HostRelease,
        hit: Hit<'host>,
        postings: Postings<'index>,
        with_fixed: bool,
        parsed: &mut LastParsed<'host>,
        found: &mut Vec<Found<'index>>,
    ) {
        let sorted = postings.by_fixed_version;
        let text = compared_version(hit.package);
        // The entries fixed at or before the installed version come first. On a patched host
        // the newest fix is usually installed, and often byte for byte as the advisory writes
        // it: then it is equal (the same bytes are split the same way), with nothing parsed.
        let split = match sorted.last() {
            Some((newest_fix, _)) if newest_fix.text(postings.arena) == text => Some(sorted.len()),
            _ => {
                if parsed.as_ref().is_none_or(|(last, _)| *last != hit.position) {
                    *parsed = Some((hit.position, InstalledVersion::parse(host.scheme, text)));
                }
                parsed.and_then(|(_, version)| version).map(|installed| {
                    let at_or_before = |fixed: &FixedVersion| {
                        fixed.cmp_installed(postings.arena, &installed).is_le()
                    };
                    // One comparison settles them all when the newest fix is installed.
                    match sorted.last() {
                        Some((newest_fix, _)) if at_or_before(newest_fix) => sorted.len(),
                        _ => sorted.partition_point(|(fixed, _)| at_or_before(fixed)),
                    }
                })
            }
        };
        match split {
            Some(split) => {
                // The fix, from the index's own copy of its text, close to its neighbours'.
                let verdict = |(fixed, entry): &(FixedVersion, Entry), status| Found {
                    advisory: entry.advisory,
                    package: hit.position,
                    name: hit.name,
                    status,
                    fixed_version: Some(fixed.text(postings.arena)),
                    reason: None,
                };
                if with_fixed {
                    found.extend(sorted[..split].iter().map(|p| verdict(p, ExposureStatus::Fixed)));
                }
                found.extend(sorted[split..].iter().map(|p| verdict(p, ExposureStatus::Affected)));
            }
            // An installed version its package manager's order cannot read: every entry is
            // judged one by one, and says undecided with the reason.
            None => {
                for (_, entry) in sorted {
                    found.extend(self.judge(host, *entry, hit));
                }
            }
        }
        for entry in postings.other {
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
            name: hit.name,
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

/// For each installed package, a number for its name: equal for equal names, and ordered as
/// the names are, so that verdicts are sorted and merged without comparing strings. Package
/// managers list packages by name, so this is usually one pass.
fn name_numbers(installed: &[InstalledPackage]) -> Vec<u32> {
    let mut numbers = Vec::with_capacity(installed.len());
    let sorted = installed.windows(2).all(|pair| pair[0].name <= pair[1].name);
    if sorted {
        for (position, package) in installed.iter().enumerate() {
            let first_of_name = match numbers.last() {
                Some(&previous) if installed[position - 1].name == package.name => previous,
                _ => position as u32,
            };
            numbers.push(first_of_name);
        }
    } else {
        let mut by_name: Vec<u32> = (0..installed.len() as u32).collect();
        by_name.sort_by(|a, b| installed[*a as usize].name.cmp(&installed[*b as usize].name));
        numbers.resize(installed.len(), 0);
        let mut rank = 0;
        for (at, position) in by_name.iter().enumerate() {
            if at > 0
                && installed[by_name[at - 1] as usize].name != installed[*position as usize].name
            {
                rank = at as u32;
            }
            numbers[*position as usize] = rank;
        }
    }
    numbers
}

/// The fixed version of an entry whose only range runs from the first version to a fix.
fn simple_fix(advisories: &[Advisory], entry: Entry) -> Option<&str> {
    let advisory = &advisories[entry.advisory as usize];
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
