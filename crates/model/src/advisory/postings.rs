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

/// A version parsed in its release's order; within one release all are of one kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum ParsedVersion {
    Deb(version::DebVersion),
    Rpm(version::Evr),
}

impl ParsedVersion {
    pub fn parse(scheme: Scheme, text: &str) -> Option<ParsedVersion> {
        match scheme {
            Scheme::Deb => version::DebVersion::parse(text).ok().map(ParsedVersion::Deb),
            Scheme::Rpm => version::Evr::parse(text).ok().map(ParsedVersion::Rpm),
        }
    }

    /// This version against an installed one, in the order `Ord` gives two parsed versions
    /// (a Debian version is earlier than an RPM one, should a host mix them).
    pub fn cmp_installed(&self, installed: &InstalledVersion<'_>) -> Ordering {
        match (self, installed) {
            (ParsedVersion::Deb(fixed), InstalledVersion::Deb(installed)) => {
                fixed.parts().cmp_dpkg(installed)
            }
            (ParsedVersion::Rpm(fixed), InstalledVersion::Rpm(installed)) => {
                fixed.parts().cmp_rpm(installed)
            }
            (ParsedVersion::Deb(_), InstalledVersion::Rpm(_)) => Ordering::Less,
            (ParsedVersion::Rpm(_), InstalledVersion::Deb(_)) => Ordering::Greater,
        }
    }
}

/// An installed version split in place, borrowing the host's text: parsed for every package an
/// advisory names, so it copies nothing. `None` from [`InstalledVersion::parse`] exactly when
/// [`ParsedVersion::parse`] gives `None`.
#[derive(Debug, Clone, Copy)]
pub(super) enum InstalledVersion<'a> {
    Deb(version::deb::Parts<'a>),
    Rpm(version::rpm::Parts<'a>),
}

impl<'a> InstalledVersion<'a> {
    pub fn parse(scheme: Scheme, text: &'a str) -> Option<InstalledVersion<'a>> {
        match scheme {
            Scheme::Deb => version::deb::Parts::parse(text).ok().map(InstalledVersion::Deb),
            Scheme::Rpm => version::rpm::Parts::parse(text).ok().map(InstalledVersion::Rpm),
        }
    }
}

/// An entry as [`ReleasePostings::new`] takes it: a name it is filed under, its one fix when
/// it has the simple shape, and where it points.
pub(super) type Filed<'a> = (&'a str, Option<ParsedVersion>, Entry);

/// The entries of one name while filing them: the simple ones, then the others.
type NameEntries = (Vec<(ParsedVersion, Entry)>, Vec<Entry>);

/// The entries of one release.
#[derive(Debug, Default)]
pub(super) struct ReleasePostings {
    /// Names of at most [`ShortName::MAX`] bytes (nearly all), held in the table's own slots.
    short_names: FxHashMap<ShortName, Span>,
    long_names: FxHashMap<Box<str>, Span>,
    /// Entries of one range from the first version up to a fix (nearly every real record),
    /// with that fix parsed once; a name's are side by side, sorted by their fixed version, so
    /// one binary search splits them into fixed and affected.
    by_fixed_version: Vec<(ParsedVersion, Entry)>,
    /// Every other shape, judged one by one; a name's side by side.
    other: Vec<Entry>,
}

/// Where the entries of one name lie.
#[derive(Debug, Clone, Copy)]
struct Span {
    by_fixed_version: (u32, u32),
    other: (u32, u32),
}

/// The entries of one name in one release.
#[derive(Clone, Copy)]
pub(super) struct Postings<'index> {
    pub by_fixed_version: &'index [(ParsedVersion, Entry)],
    pub other: &'index [Entry],
}

impl ReleasePostings {
    /// Files the entries given, in their order, under each of their names; `fixed` is the
    /// entry's one fix when it has the simple shape.
    pub fn new<'a>(filed: impl IntoIterator<Item = Filed<'a>>) -> ReleasePostings {
        let mut by_name: FxHashMap<&str, NameEntries> = FxHashMap::default();
        for (name, fixed, entry) in filed {
            let (by_fixed_version, other) = by_name.entry(name).or_default();
            match fixed {
                Some(fixed) => by_fixed_version.push((fixed, entry)),
                None => other.push(entry),
            }
        }
        // Names in order, so that the arrays (and the versions' own bytes, allocated in this
        // order) do not depend on the hash map's.
        let mut names: Vec<_> = by_name.into_iter().collect();
        names.sort_unstable_by_key(|(name, _)| *name);
        let mut postings = ReleasePostings::default();
        for (name, (mut by_fixed_version, other)) in names {
            // Stable: entries with equal fixes keep their order, as they did before.
            by_fixed_version.sort_by(|(a, _), (b, _)| a.cmp(b));
            let span = Span {
                by_fixed_version: (
                    postings.by_fixed_version.len() as u32,
                    by_fixed_version.len() as u32,
                ),
                other: (postings.other.len() as u32, other.len() as u32),
            };
            // Copies, so that the versions' bytes are allocated in the arrays' order, close to
            // each other.
            postings.by_fixed_version.extend(by_fixed_version.iter().cloned());
            postings.other.extend(other);
            match ShortName::new(name) {
                Some(short) => postings.short_names.insert(short, span),
                None => postings.long_names.insert(name.into(), span),
            };
        }
        postings
    }

    /// The entries that name `name`, if any.
    pub fn get(&self, name: &str) -> Option<Postings<'_>> {
        let span = match ShortName::new(name) {
            Some(short) => self.short_names.get(&short),
            None => self.long_names.get(name),
        }?;
        let slice = |(start, len): (u32, u32)| start as usize..(start + len) as usize;
        Some(Postings {
            by_fixed_version: &self.by_fixed_version[slice(span.by_fixed_version)],
            other: &self.other[slice(span.other)],
        })
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
        let fixed = |text| ParsedVersion::parse(Scheme::Deb, text);
        let postings = ReleasePostings::new([
            ("openssl", fixed("3.0.2-1"), entry(0)),
            ("openssl", fixed("3.0.1-1"), entry(1)),
            ("openssl", None, entry(2)),
            (long, fixed("1.0-1"), entry(3)),
            ("", None, entry(4)),
        ]);
        let advisories = |p: Postings<'_>| {
            let by_fix: Vec<u32> = p.by_fixed_version.iter().map(|(_, e)| e.advisory).collect();
            (by_fix, p.other.iter().map(|e| e.advisory).collect::<Vec<u32>>())
        };
        assert_eq!(advisories(postings.get("openssl").unwrap()), (vec![1, 0], vec![2]));
        assert_eq!(advisories(postings.get(long).unwrap()), (vec![3], vec![]));
        assert_eq!(advisories(postings.get("").unwrap()), (vec![], vec![4]));
        assert!(postings.get("openss").is_none());
        assert!(postings.get("openssl\0").is_none());
        assert!(postings.get(&long[..long.len() - 1]).is_none());
    }
}
