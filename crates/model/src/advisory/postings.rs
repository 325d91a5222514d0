//! The advisory entries of one distribution release, filed by package name for
//! [`super::AdvisoryIndex`]: one hash probe per name, and the entries of a name side by side in
//! one array shared by every name of the release, so matching a host walks few cache lines.

use std::cmp::Ordering;

use rustc_hash::FxHashMap;

use crate::version::{self, Scheme};

/// Where an entry of the index points: an advisory and one of its `affected` entries.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub advisory: u32,
    pub affected: u32,
}

/// A fixed version of the simple shape, split once when filed: its text in the release's
/// arena ([`ReleasePostings`]), and where its parts lie in that text, so comparing it parses
/// nothing and follows no pointer of its own.
#[derive(Debug, Clone, Copy)]
pub(super) struct FixedVersion {
    /// Where its text starts in the arena, and its length.
    start: u32,
    len: u32,
    /// Debian: the epoch. RPM: unused.
    deb_epoch: u32,
    /// Where its parts start and end in its text. Debian: unused, upstream, revision. RPM:
    /// epoch, version, release.
    parts: [(u32, u32); 3],
    /// RPM: which parts it has ([`HAS_EPOCH`], [`HAS_RELEASE`]), and whether its epoch is the
    /// `0` rpm gives a colon with no digits before it ([`IMPLICIT_EPOCH`]).
    rpm_flags: u8,
    is_rpm: bool,
}

const HAS_EPOCH: u8 = 1;
const HAS_RELEASE: u8 = 2;
const IMPLICIT_EPOCH: u8 = 4;

impl FixedVersion {
    /// Splits `text`, which lies at `start` in `arena`, as its scheme does; `None` when the
    /// scheme refuses it.
    fn split(scheme: Scheme, arena: &str, start: usize) -> Option<FixedVersion> {
        let text = &arena[start..];
        // Where a part lies in `text`: every part the parsers return is a slice of it.
        let span = |part: &str| {
            // An empty part may be a constant of the parser's, not a slice of `text`.
            if part.is_empty() {
                return (0, 0);
            }
            let from = (part.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
            (from as u32, (from + part.len()) as u32)
        };
        let within = |part: &str| {
            let address = part.as_ptr() as usize;
            let base = text.as_ptr() as usize;
            address >= base && address + part.len() <= base + text.len()
        };
        let mut fixed = FixedVersion {
            start: start as u32,
            len: text.len() as u32,
            deb_epoch: 0,
            parts: [(0, 0); 3],
            rpm_flags: 0,
            is_rpm: scheme == Scheme::Rpm,
        };
        match scheme {
            Scheme::Deb => {
                let parts = version::deb::Parts::parse(text).ok()?;
                fixed.deb_epoch = parts.epoch;
                fixed.parts[1] = span(parts.upstream);
                fixed.parts[2] = span(parts.revision);
            }
            Scheme::Rpm => {
                let parts = version::rpm::Parts::parse(text).ok()?;
                if let Some(epoch) = parts.epoch {
                    fixed.rpm_flags |= HAS_EPOCH;
                    if within(epoch) {
                        fixed.parts[0] = span(epoch);
                    } else {
                        fixed.rpm_flags |= IMPLICIT_EPOCH;
                    }
                }
                fixed.parts[1] = span(parts.version);
                if let Some(release) = parts.release {
                    fixed.rpm_flags |= HAS_RELEASE;
                    fixed.parts[2] = span(release);
                }
            }
        }
        Some(fixed)
    }

    /// Its text, as the advisory gives it.
    pub fn text<'arena>(&self, arena: &'arena str) -> &'arena str {
        &arena[self.start as usize..(self.start + self.len) as usize]
    }

    /// This version against an installed one, in the order of their scheme. A Debian version
    /// is earlier than an RPM one, should a host mix them (as the parsed versions compared
    /// before).
    pub fn cmp_installed(&self, arena: &str, installed: &InstalledVersion<'_>) -> Ordering {
        let text = self.text(arena);
        let part = |(from, to): (u32, u32)| &text[from as usize..to as usize];
        match installed {
            InstalledVersion::Deb(_) if self.is_rpm => Ordering::Greater,
            InstalledVersion::Rpm(_) if !self.is_rpm => Ordering::Less,
            InstalledVersion::Deb(installed) => {
                let fixed = version::deb::Parts {
                    epoch: self.deb_epoch,
                    upstream: part(self.parts[1]),
                    revision: part(self.parts[2]),
                };
                fixed.cmp_dpkg(installed)
            }
            InstalledVersion::Rpm(installed) => {
                let epoch = match self.rpm_flags {
                    flags if flags & IMPLICIT_EPOCH != 0 => Some("0"),
                    flags if flags & HAS_EPOCH != 0 => Some(part(self.parts[0])),
                    _ => None,
                };
                let release = (self.rpm_flags & HAS_RELEASE != 0).then(|| part(self.parts[2]));
                let fixed = version::rpm::Parts { epoch, version: part(self.parts[1]), release };
                fixed.cmp_rpm(installed)
            }
        }
    }
}

/// An installed version split in place, borrowing the host's text: parsed for every package an
/// advisory names, so it copies nothing.
#[derive(Debug, Clone, Copy)]
pub(super) enum InstalledVersion<'a> {
    Deb(version::deb::Parts<'a>),
    Rpm(version::rpm::Parts<'a>),
}

impl<'a> InstalledVersion<'a> {
    /// Two versions of one scheme in its order (a Debian version is earlier than an RPM one).
    fn cmp_same_scheme(&self, other: &InstalledVersion<'_>) -> Ordering {
        match (self, other) {
            (InstalledVersion::Deb(a), InstalledVersion::Deb(b)) => a.cmp_dpkg(b),
            (InstalledVersion::Rpm(a), InstalledVersion::Rpm(b)) => a.cmp_rpm(b),
            (InstalledVersion::Deb(_), InstalledVersion::Rpm(_)) => Ordering::Less,
            (InstalledVersion::Rpm(_), InstalledVersion::Deb(_)) => Ordering::Greater,
        }
    }

    /// `None` when the scheme refuses `text`.
    pub fn parse(scheme: Scheme, text: &'a str) -> Option<InstalledVersion<'a>> {
        match scheme {
            Scheme::Deb => version::deb::Parts::parse(text).ok().map(InstalledVersion::Deb),
            Scheme::Rpm => version::rpm::Parts::parse(text).ok().map(InstalledVersion::Rpm),
        }
    }
}

/// An entry as [`ReleasePostings::new`] takes it: a name it is filed under, its one fix when
/// it has the simple shape (from the first version up to a fix), and where it points.
pub(super) type Filed<'a> = (&'a str, Option<&'a str>, Entry);

/// The entries of one name while filing them: the simple ones with their fix, then the others.
type NameEntries<'a> = (Vec<(&'a str, Entry)>, Vec<Entry>);

/// The entries of one release.
#[derive(Debug, Default)]
pub(super) struct ReleasePostings {
    /// Names of at most [`ShortName::MAX`] bytes (nearly all), held in the table's own slots.
    short_names: FxHashMap<ShortName, Span>,
    long_names: FxHashMap<Box<str>, Span>,
    /// The texts of the fixed versions, one after the other in the order of
    /// `by_fixed_version`.
    arena: String,
    /// Entries of the simple shape (nearly every real record), with their fix split once; a
    /// name's side by side, sorted by their fixed version, so one binary search splits them
    /// into fixed and affected.
    by_fixed_version: Vec<(FixedVersion, Entry)>,
    /// Every other shape (and a fix its scheme cannot read, never dropped), judged one by
    /// one; a name's side by side.
    other: Vec<Entry>,
}

/// Where the entries of one name lie: small, so a host's hits are cheap to collect.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    by_fixed_version: (u32, u32),
    other: (u32, u32),
}

/// The entries of one name in one release.
#[derive(Clone, Copy)]
pub(super) struct Postings<'index> {
    /// What the fixed versions' positions point into.
    pub arena: &'index str,
    pub by_fixed_version: &'index [(FixedVersion, Entry)],
    pub other: &'index [Entry],
}

impl ReleasePostings {
    /// Files the entries given, in their order, under each of their names; versions follow
    /// `scheme`.
    pub fn new<'a>(scheme: Scheme, filed: impl IntoIterator<Item = Filed<'a>>) -> ReleasePostings {
        let mut by_name: FxHashMap<&str, NameEntries<'a>> = FxHashMap::default();
        for (name, fixed, entry) in filed {
            let (by_fixed_version, other) = by_name.entry(name).or_default();
            match fixed.filter(|text| FixedVersion::split(scheme, text, 0).is_some()) {
                Some(fixed) => by_fixed_version.push((fixed, entry)),
                None => other.push(entry),
            }
        }
        // Names in order, so that the arrays do not depend on the hash map's order.
        let mut names: Vec<_> = by_name.into_iter().collect();
        names.sort_unstable_by_key(|(name, _)| *name);
        let mut postings = ReleasePostings::default();
        for (name, (mut by_fixed_version, other)) in names {
            // Stable: entries with equal fixes keep their order. Every fix was split above.
            by_fixed_version.sort_by(|(a, _), (b, _)| {
                match (InstalledVersion::parse(scheme, a), InstalledVersion::parse(scheme, b)) {
                    (Some(a), Some(b)) => a.cmp_same_scheme(&b),
                    _ => Ordering::Equal,
                }
            });
            let span = Span {
                by_fixed_version: (
                    postings.by_fixed_version.len() as u32,
                    by_fixed_version.len() as u32,
                ),
                other: (postings.other.len() as u32, other.len() as u32),
            };
            for (text, entry) in by_fixed_version {
                let start = postings.arena.len();
                postings.arena.push_str(text);
                if let Some(fixed) = FixedVersion::split(scheme, &postings.arena, start) {
                    postings.by_fixed_version.push((fixed, entry));
                }
            }
            postings.other.extend(other);
            match ShortName::new(name) {
                Some(short) => postings.short_names.insert(short, span),
                None => postings.long_names.insert(name.into(), span),
            };
        }
        postings
    }

    /// Where the entries that name `name` lie, if there are any.
    pub fn find(&self, name: &str) -> Option<Span> {
        match ShortName::new(name) {
            Some(short) => self.short_names.get(&short),
            None => self.long_names.get(name),
        }
        .copied()
    }

    /// The entries that name `name`, if any.
    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<Postings<'_>> {
        self.find(name).map(|span| self.postings(span))
    }

    /// The entries [`ReleasePostings::find`] found.
    pub fn postings(&self, span: Span) -> Postings<'_> {
        let slice = |(start, len): (u32, u32)| start as usize..(start + len) as usize;
        Postings {
            arena: &self.arena,
            by_fixed_version: &self.by_fixed_version[slice(span.by_fixed_version)],
            other: &self.other[slice(span.other)],
        }
    }
}

/// A name of at most [`ShortName::MAX`] bytes, zero-padded, its length in the last byte: a key
/// compared and hashed as three words, with no pointer to follow to its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ShortName([u64; 3]);

impl ShortName {
    const MAX: usize = 23;

    fn new(name: &str) -> Option<ShortName> {
        let bytes = name.as_bytes();
        if bytes.len() > ShortName::MAX {
            return None;
        }
        let mut padded = [0u8; 24];
        padded[..bytes.len()].copy_from_slice(bytes);
        padded[ShortName::MAX] = bytes.len() as u8;
        let word =
            |at: usize| u64::from_le_bytes(padded[at..at + 8].try_into().unwrap_or_default());
        Some(ShortName([word(0), word(8), word(16)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_names_are_found_and_only_they() {
        let entry = |advisory| Entry { advisory, affected: 0 };
        let long = "a-package-name-longer-than-the-slot";
        let fixed = Some;
        let postings = ReleasePostings::new(
            Scheme::Deb,
            [
                ("openssl", fixed("3.0.2-1"), entry(0)),
                ("openssl", fixed("3.0.1-1"), entry(1)),
                ("openssl", None, entry(2)),
                (long, fixed("1.0-1"), entry(3)),
                ("", None, entry(4)),
                ("openssl", fixed("1:"), entry(5)),
            ],
        );
        let advisories = |p: Postings<'_>| {
            let by_fix: Vec<u32> = p.by_fixed_version.iter().map(|(_, e)| e.advisory).collect();
            (by_fix, p.other.iter().map(|e| e.advisory).collect::<Vec<u32>>())
        };
        assert_eq!(advisories(postings.get("openssl").unwrap()), (vec![1, 0], vec![2, 5]));
        assert_eq!(advisories(postings.get(long).unwrap()), (vec![3], vec![]));
        assert_eq!(advisories(postings.get("").unwrap()), (vec![], vec![4]));
        assert!(postings.get("openss").is_none());
        assert!(postings.get("openssl\0").is_none());
        assert!(postings.get(&long[..long.len() - 1]).is_none());
    }
}
