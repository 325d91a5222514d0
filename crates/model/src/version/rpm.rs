//! RPM version order: `[epoch:]version[-release]`, split like rpm's `rpmverParse` and compared
//! like its `rpmverCmp` and `rpmvercmp` (rpm 4.18).
//!
//! rpm refuses almost nothing: any non-empty string splits into an epoch, a version and a
//! release, and any two compare. Two rules surprise: the epoch is only the leading run of ASCII
//! digits, and only when a colon follows it directly (`a:1` is a version with no epoch), and a
//! missing release sorts before every release, the empty one included (`1.0` < `1.0-1`), as in
//! `rpm.labelCompare`. That last rule is rpm's order; matching a dependency like `foo = 1.0`
//! against `1.0-5`, where a missing release matches any, is `rpmdsCompare`'s business, not an
//! order.

use std::cmp::Ordering;
use std::fmt;

use super::VersionError;

/// An RPM epoch, version and release. Equality is rpm's: `1.0` equals `1_0`, and no epoch
/// equals epoch `0`. Any field contents compare, as `rpm.labelCompare` compares any strings;
/// [`Evr::parse`] fills them as rpm would.
#[derive(Debug, Clone)]
pub struct Evr {
    /// The digits before the colon, as written (`01` stays `01`); `None` when there is no
    /// epoch. A colon with no digits before it gives `"0"`, as in rpm.
    pub epoch: Option<String>,
    /// Everything between the epoch's colon and the last hyphen; may be empty (`1:`, `-1`).
    pub version: String,
    /// Everything after the last hyphen; `None` when there is no hyphen, `Some("")` for `1-`.
    pub release: Option<String>,
}

impl Evr {
    /// Splits `evr` as rpm's `rpmverParse` does. Like rpm, it refuses only an empty string, and
    /// reads `evr` as a C string, which ends at its first NUL byte (python3-rpm's `rpm.ver`
    /// takes `"1\0x"` as `1`).
    pub fn parse(evr: &str) -> Result<Evr, VersionError> {
        let parts = Parts::parse(evr).map_err(|problem| error(evr, problem))?;
        Ok(Evr {
            epoch: parts.epoch.map(str::to_owned),
            version: parts.version.to_owned(),
            release: parts.release.map(str::to_owned),
        })
    }

    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts {
            epoch: self.epoch.as_deref(),
            version: &self.version,
            release: self.release.as_deref(),
        }
    }
}

/// Compares two `[epoch:]version[-release]` strings as rpm does: split by `rpmverParse`,
/// ordered by `rpmverCmp`. Errors only for what [`Evr::parse`] refuses.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a_parts = Parts::parse(a).map_err(|problem| error(a, problem))?;
    let b_parts = Parts::parse(b).map_err(|problem| error(b, problem))?;
    Ok(a_parts.cmp_rpm(&b_parts))
}

/// What rpm cannot take as a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RpmProblem {
    /// rpm's `rpmverParse` gives no version for an empty string (or one that starts with NUL).
    #[error("version string is empty")]
    Empty,
}

/// rpm's `rpmvercmp`: compares one version or release string segment by segment. Works on
/// bytes; only ASCII letters and digits form segments, `~` sorts before everything and `^`
/// after the base version but before any other addition. Like the C function it reads its
/// arguments as C strings, which end at their first NUL byte.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut one, mut two) = (until_nul(a.as_bytes()), until_nul(b.as_bytes()));
    let skip = |s: &[u8]| -> usize {
        s.iter().take_while(|&&c| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^').count()
    };
    loop {
        one = &one[skip(one)..];
        two = &two[skip(two)..];
        if one.is_empty() && two.is_empty() {
            break;
        }
        if one.first() == Some(&b'~') || two.first() == Some(&b'~') {
            if one.first() != Some(&b'~') {
                return Ordering::Greater;
            }
            if two.first() != Some(&b'~') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        // A caret is like a tilde, except that the end of the other string (the base
        // version) sorts before it.
        if one.first() == Some(&b'^') || two.first() == Some(&b'^') {
            if one.is_empty() {
                return Ordering::Less;
            }
            if two.is_empty() {
                return Ordering::Greater;
            }
            if one.first() != Some(&b'^') {
                return Ordering::Greater;
            }
            if two.first() != Some(&b'^') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if one.is_empty() || two.is_empty() {
            break;
        }
        // The first string's segment decides its kind; the second string contributes its
        // run of that same kind, which may be empty.
        let is_num = one[0].is_ascii_digit();
        let class = |c: &u8| {
            if is_num { c.is_ascii_digit() } else { c.is_ascii_alphabetic() }
        };
        let len1 = one.iter().take_while(|c| class(c)).count();
        let len2 = two.iter().take_while(|c| class(c)).count();
        let (seg1, seg2) = (&one[..len1], &two[..len2]);
        if seg2.is_empty() {
            // Different kinds of segment: numeric is newer than alphabetic.
            return if is_num { Ordering::Greater } else { Ordering::Less };
        }
        let ordering = if is_num {
            // Numbers of any length: without leading zeros, the longer is the larger.
            let (n1, n2) = (trim_leading_zeros(seg1), trim_leading_zeros(seg2));
            n1.len().cmp(&n2.len()).then_with(|| n1.cmp(n2))
        } else {
            seg1.cmp(seg2)
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
        one = &one[len1..];
        two = &two[len2..];
    }
    // Every segment compared equal; whichever string has something left is newer.
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

impl PartialEq for Evr {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Evr {}

impl PartialOrd for Evr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Evr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp_rpm(&other.parts())
    }
}

impl fmt::Display for Evr {
    /// Writes the version back as rpm's `rpmverEVR` does; parsing the result gives the same
    /// fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(epoch) = &self.epoch {
            write!(f, "{epoch}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(release) = &self.release {
            write!(f, "-{release}")?;
        }
        Ok(())
    }
}

/// A version split into its parts without copying, so that [`compare`] allocates nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    pub(crate) epoch: Option<&'a str>,
    pub(crate) version: &'a str,
    pub(crate) release: Option<&'a str>,
}

impl<'a> Parts<'a> {
    /// rpm's `parseEVR`: the epoch is the leading run of digits when a colon follows it, the
    /// release what follows the last hyphen after that run. Digits, `:` and `-` are ASCII, so
    /// every slice falls on a character boundary.
    pub(crate) fn parse(evr: &'a str) -> Result<Parts<'a>, RpmProblem> {
        // NUL is ASCII, so the C string ends on a character boundary.
        let evr = &evr[..until_nul(evr.as_bytes()).len()];
        if evr.is_empty() {
            return Err(RpmProblem::Empty);
        }
        let digits = evr.bytes().take_while(u8::is_ascii_digit).count();
        // rpm looks for the hyphen from the end of the digits, so a hyphen can never fall
        // inside the epoch.
        let hyphen = evr[digits..].rfind('-').map(|at| digits + at);
        let (epoch, version_start) = if evr[digits..].starts_with(':') {
            let epoch = if digits == 0 { "0" } else { &evr[..digits] };
            (Some(epoch), digits + 1)
        } else {
            (None, 0)
        };
        let (version, release) = match hyphen {
            Some(hyphen) => (&evr[version_start..hyphen], Some(&evr[hyphen + 1..])),
            None => (&evr[version_start..], None),
        };
        Ok(Parts { epoch, version, release })
    }

    /// rpm's `rpmverCmp`: a missing epoch is `0`; a missing release sorts before any release.
    pub(crate) fn cmp_rpm(&self, other: &Parts<'_>) -> Ordering {
        rpmvercmp(self.epoch.unwrap_or("0"), other.epoch.unwrap_or("0"))
            .then_with(|| rpmvercmp(self.version, other.version))
            .then_with(|| match (self.release, other.release) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => rpmvercmp(a, b),
            })
    }
}

fn error(evr: &str, problem: RpmProblem) -> VersionError {
    VersionError::Rpm { version: evr.to_owned(), problem }
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&byte| byte == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&byte| byte == b'0').count();
    &bytes[zeros..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expected: Ordering) {
        assert_eq!(compare(a, b), Ok(expected), "{a:?} against {b:?}");
        assert_eq!(compare(b, a), Ok(expected.reverse()), "{b:?} against {a:?}");
    }

    fn fields(evr: &str) -> (Option<String>, String, Option<String>) {
        let parsed = Evr::parse(evr).unwrap();
        (parsed.epoch, parsed.version, parsed.release)
    }

    #[test]
    fn rpmvercmp_segments() {
        let cases = [
            ("1.0", "1.0", Ordering::Equal),
            ("1.0", "2.0", Ordering::Less),
            ("1.0", "1.0.1", Ordering::Less),
            ("1.0a", "1.0", Ordering::Greater),
            ("1.0a", "1.0.1", Ordering::Less),
            ("1a", "1.a", Ordering::Equal),
            ("1_0", "1.0", Ordering::Equal),
            ("1.1", "1a", Ordering::Greater),
            ("2.0", "2b", Ordering::Greater),
            ("010", "10", Ordering::Equal),
            ("a", "B", Ordering::Greater),
            ("99999999999999999999999", "99999999999999999999998", Ordering::Greater),
            ("1.0~rc1", "1.0", Ordering::Less),
            ("1.0~rc1", "1.0~rc2", Ordering::Less),
            ("1.0~~", "1.0~", Ordering::Less),
            ("1.0^", "1.0", Ordering::Greater),
            ("1.0^git1", "1.0.1", Ordering::Less),
            ("1.0^git1", "1.0~rc1", Ordering::Greater),
            ("1.0^", "1.0^^", Ordering::Less),
            ("", "~", Ordering::Greater),
            ("", "^", Ordering::Less),
            ("", ".", Ordering::Equal),
            ("1é", "1", Ordering::Equal),
            ("1\u{0}2", "1", Ordering::Equal),
        ];
        for (a, b, expected) in cases {
            assert_eq!(rpmvercmp(a, b), expected, "{a:?} against {b:?}");
            assert_eq!(rpmvercmp(b, a), expected.reverse(), "{b:?} against {a:?}");
        }
    }

    #[test]
    fn parse_splits_like_rpm() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(fields("1:2-3"), (some("1"), "2".into(), some("3")));
        assert_eq!(fields("a:1"), (None, "a:1".into(), None));
        assert_eq!(fields(":1"), (some("0"), "1".into(), None));
        assert_eq!(fields("1:"), (some("1"), "".into(), None));
        assert_eq!(fields("-1"), (None, "".into(), some("1")));
        assert_eq!(fields("1-"), (None, "1".into(), some("")));
        assert_eq!(fields("1-2:3"), (None, "1".into(), some("2:3")));
        assert_eq!(fields("1:2:3-4-5"), (some("1"), "2:3-4".into(), some("5")));
        assert_eq!(fields("01:1"), (some("01"), "1".into(), None));
        assert_eq!(
            Evr::parse("").unwrap_err().to_string(),
            "RPM version \"\" has bad syntax: version string is empty"
        );
        assert_eq!(fields("1\u{0}2-3"), (None, "1".into(), None));
        assert!(Evr::parse("\u{0}1").is_err());
    }

    #[test]
    fn epoch_version_release() {
        check("1:1.0", "2.0", Ordering::Greater);
        check("0:1.0", "1.0", Ordering::Equal);
        check(":1.0", "1.0", Ordering::Equal);
        check("001:1.0", "1:1.0", Ordering::Equal);
        check("1.0", "1.0-1", Ordering::Less);
        check("1.0", "1.0-", Ordering::Less);
        check("1.0-", "1.0-0", Ordering::Less);
        check("1.0-1", "1.0-1.el9", Ordering::Less);
        check("a:1", "0:a:1", Ordering::Equal);
    }

    #[test]
    fn display_round_trips() {
        for evr in ["1:2-3", "a:1", "0:1", "1:", "-1", "1-", "1:2:3-4-5", "01:1"] {
            assert_eq!(Evr::parse(evr).unwrap().to_string(), evr);
        }
        assert_eq!(Evr::parse(":1").unwrap().to_string(), "0:1");
    }
}
