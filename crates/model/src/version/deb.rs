//! Debian version order: `[epoch:]upstream[-revision]`, parsed like dpkg's `parseversion` and
//! compared like its `dpkg_version_compare`, byte for byte.
//!
//! What dpkg 1.21 does with bad syntax decides what we do with it. `dpkg --compare-versions`
//! refuses (exit 2) a version whose string is empty after trimming blanks, has embedded blanks,
//! has an epoch that is empty, not a number, negative or above `INT_MAX`, has nothing after the
//! colon, or has an empty upstream version or revision. It only warns, and still compares, when
//! the upstream version does not start with a digit or either part holds a character outside its
//! alphabet. It treats the empty string and `<unknown>` as "no version", earlier than any other.
//! [`compare`] follows all of that; [`DebVersion::parse`] refuses what dpkg refuses, and
//! [`DebVersion::parse_strict`] also what dpkg only warns about.

use std::cmp::Ordering;
use std::ffi::c_char;
use std::fmt;

use super::VersionError;

/// A Debian package version. Equality is dpkg's: `1.0` equals `1.00`, and `1` equals `1-0`.
#[derive(Debug, Clone)]
pub struct DebVersion {
    /// The number before the first colon; 0 when there is none. dpkg caps it at `INT_MAX`.
    pub epoch: u32,
    /// Everything between the epoch's colon and the last hyphen. Never empty once parsed.
    pub upstream: String,
    /// Everything after the last hyphen; empty when there is no hyphen.
    pub revision: String,
}

impl DebVersion {
    /// Parses `version` as dpkg does, refusing exactly what `dpkg --compare-versions` refuses
    /// and accepting, like it, what dpkg only warns about. Blanks around the version are
    /// dropped, as dpkg drops them.
    pub fn parse(version: &str) -> Result<DebVersion, VersionError> {
        let parts = Parts::parse(version).map_err(|problem| error(version, problem))?;
        Ok(DebVersion {
            epoch: parts.epoch,
            upstream: parts.upstream.to_owned(),
            revision: parts.revision.to_owned(),
        })
    }

    /// Like [`DebVersion::parse`], but also refuses what dpkg only warns about: an upstream
    /// version that does not start with a digit, or a character outside the alphabet of its
    /// part. This is the syntax Debian policy allows.
    pub fn parse_strict(version: &str) -> Result<DebVersion, VersionError> {
        let parsed = DebVersion::parse(version)?;
        match syntax_warning(&parsed.upstream, &parsed.revision) {
            Some(problem) => Err(error(version, problem)),
            None => Ok(parsed),
        }
    }

    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts { epoch: self.epoch, upstream: &self.upstream, revision: &self.revision }
    }
}

/// Compares two version strings the way `dpkg --compare-versions` does: an error where dpkg
/// exits with a syntax error (for the first of `a`, `b` that has one, as dpkg reports it), an
/// order where dpkg gives one, including for versions dpkg only warns about. The empty string
/// and `<unknown>` mean "no version", which sorts before every version and equals itself.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a_parts = parse_operand(a)?;
    let b_parts = parse_operand(b)?;
    Ok(match (a_parts, b_parts) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a_parts), Some(b_parts)) => a_parts.cmp_dpkg(&b_parts),
    })
}

/// What is wrong with a Debian version. The messages are dpkg's own, word for word, except
/// for [`DebProblem::NulByte`], which dpkg can never be handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DebProblem {
    #[error("version string is empty")]
    Empty,
    #[error("version string has embedded spaces")]
    EmbeddedSpaces,
    #[error("epoch in version is empty")]
    EpochEmpty,
    #[error("epoch in version is not number")]
    EpochNotNumber,
    #[error("epoch in version is negative")]
    EpochNegative,
    #[error("epoch in version is too big")]
    EpochTooBig,
    #[error("nothing after colon in version number")]
    NothingAfterColon,
    #[error("revision number is empty")]
    RevisionEmpty,
    #[error("version number is empty")]
    UpstreamEmpty,
    #[error("version number does not start with digit")]
    UpstreamNotStartingWithDigit,
    #[error("invalid character in version number")]
    InvalidCharInUpstream,
    #[error("invalid character in revision number")]
    InvalidCharInRevision,
    #[error("version contains a NUL byte")]
    NulByte,
}

impl DebProblem {
    /// Whether dpkg only warns about this problem and still compares the version.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            DebProblem::UpstreamNotStartingWithDigit
                | DebProblem::InvalidCharInUpstream
                | DebProblem::InvalidCharInRevision
        )
    }
}

impl PartialEq for DebVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DebVersion {}

impl PartialOrd for DebVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DebVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp_dpkg(&other.parts())
    }
}

impl fmt::Display for DebVersion {
    /// Writes the version as dpkg does when it must stay unambiguous: the epoch when it is not
    /// 0 or when a colon elsewhere would otherwise be read as one, the revision when there is
    /// one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 || self.upstream.contains(':') || self.revision.contains(':') {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.upstream)?;
        if !self.revision.is_empty() {
            write!(f, "-{}", self.revision)?;
        }
        Ok(())
    }
}

/// A version split into its parts without copying, so that [`compare`] allocates nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    pub(crate) epoch: u32,
    pub(crate) upstream: &'a str,
    pub(crate) revision: &'a str,
}

impl<'a> Parts<'a> {
    /// dpkg's `parseversion`, step by step and in its order, so that a version with several
    /// problems is refused for the same one. Every byte it looks for (blanks, `:`, `-`) is
    /// ASCII, so every slice below falls on a character boundary.
    pub(crate) fn parse(version: &'a str) -> Result<Parts<'a>, DebProblem> {
        // A C string ends at its first NUL, so dpkg can never see one; refusing it beats
        // silently comparing a prefix.
        if version.as_bytes().contains(&0) {
            return Err(DebProblem::NulByte);
        }
        let leading_blanks = version.bytes().take_while(|&byte| is_blank(byte)).count();
        let trimmed = &version[leading_blanks..];
        if trimmed.is_empty() {
            return Err(DebProblem::Empty);
        }
        let end = trimmed.bytes().position(is_blank).unwrap_or(trimmed.len());
        if trimmed[end..].bytes().any(|byte| !is_blank(byte)) {
            return Err(DebProblem::EmbeddedSpaces);
        }
        let mut epoch = 0;
        let mut body = &trimmed[..end];
        // Only blanks follow `end`, so the first colon, if any, lies inside the body.
        if let Some(colon) = trimmed.find(':') {
            epoch = parse_epoch(trimmed.as_bytes(), colon)?;
            // dpkg tests for the end of the whole string here, not of the trimmed body: "1: "
            // gets past this check and fails below as an empty version number.
            if colon + 1 == trimmed.len() {
                return Err(DebProblem::NothingAfterColon);
            }
            body = &trimmed[colon + 1..end];
        }
        let (upstream, revision) = match body.rfind('-') {
            Some(hyphen) => {
                let revision = &body[hyphen + 1..];
                if revision.is_empty() {
                    return Err(DebProblem::RevisionEmpty);
                }
                (&body[..hyphen], revision)
            }
            None => (body, ""),
        };
        if upstream.is_empty() {
            return Err(DebProblem::UpstreamEmpty);
        }
        Ok(Parts { epoch, upstream, revision })
    }

    /// dpkg's `dpkg_version_compare`.
    pub(crate) fn cmp_dpkg(&self, other: &Parts<'_>) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

/// Parses one operand of `dpkg --compare-versions`, where the empty string and `<unknown>`
/// stand for "no version" (`None`) instead of being parsed.
fn parse_operand(version: &str) -> Result<Option<Parts<'_>>, VersionError> {
    if version.is_empty() || version == "<unknown>" {
        return Ok(None);
    }
    Parts::parse(version).map(Some).map_err(|problem| error(version, problem))
}

fn error(version: &str, problem: DebProblem) -> VersionError {
    VersionError::Deb { version: version.to_owned(), problem }
}

/// dpkg trims and splits on `c_isblank`: space and tab, nothing else.
fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Reads the epoch as dpkg does, with C's `strtol(text, &end, 10)`, and checks it the way dpkg
/// checks that call's result. `strtol` skips leading white space (blanks are already trimmed,
/// but a newline or carriage return is not) and takes a sign, so `+1:2` and `-0:2` have a valid
/// epoch while `-1:2` has a negative one. Its value saturates: a huge number is "too big", a
/// huge negative one "negative", and never an overflow here.
fn parse_epoch(text: &[u8], colon: usize) -> Result<u32, DebProblem> {
    let mut at = text
        .iter()
        .take_while(|&&byte| matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let negative = match text.get(at) {
        Some(b'-') => {
            at += 1;
            true
        }
        Some(b'+') => {
            at += 1;
            false
        }
        _ => false,
    };
    let digits =
        text.get(at..).unwrap_or_default().iter().take_while(|byte| byte.is_ascii_digit()).count();
    // With no digits, `strtol` leaves its end pointer at the very start of the string.
    if digits == 0 {
        return Err(DebProblem::EpochEmpty);
    }
    if at + digits != colon {
        return Err(DebProblem::EpochNotNumber);
    }
    let value = text[at..colon].iter().fold(0u64, |value, digit| {
        value.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
    });
    if negative && value != 0 {
        return Err(DebProblem::EpochNegative);
    }
    match u32::try_from(value) {
        Ok(epoch) if epoch <= i32::MAX.unsigned_abs() => Ok(epoch),
        _ => Err(DebProblem::EpochTooBig),
    }
}

/// The first thing dpkg would warn about in a version that parsed, in dpkg's order.
fn syntax_warning(upstream: &str, revision: &str) -> Option<DebProblem> {
    let mut upstream = upstream.bytes();
    if upstream.next().is_some_and(|first| !first.is_ascii_digit()) {
        return Some(DebProblem::UpstreamNotStartingWithDigit);
    }
    if upstream.any(|byte| !byte.is_ascii_alphanumeric() && !b".-+~:".contains(&byte)) {
        return Some(DebProblem::InvalidCharInUpstream);
    }
    if revision.bytes().any(|byte| !byte.is_ascii_alphanumeric() && !b".+~".contains(&byte)) {
        return Some(DebProblem::InvalidCharInRevision);
    }
    None
}

/// dpkg's `verrevcmp`: alternately compares a run of non-digits, character by character in
/// [`order`], and a run of digits, as a number of any length.
fn verrevcmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    // Not in dpkg, and the same answer: identical bytes compare equal step by step. Matching a
    // patched host compares its installed version with the fix it installed, often this one.
    if a == b {
        return Ordering::Equal;
    }
    while !a.is_empty() || !b.is_empty() {
        loop {
            let a_non_digit = a.first().is_some_and(|byte| !byte.is_ascii_digit());
            let b_non_digit = b.first().is_some_and(|byte| !byte.is_ascii_digit());
            if !a_non_digit && !b_non_digit {
                break;
            }
            let (a_order, b_order) = (order(a.first()), order(b.first()));
            if a_order != b_order {
                return a_order.cmp(&b_order);
            }
            // Equal orders of which one belongs to a non-digit mean the same byte on both
            // sides (`order` tells all non-digits apart), so neither side is at its end.
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        a = trim_leading_zeros(a);
        b = trim_leading_zeros(b);
        let a_digits = a.iter().take_while(|byte| byte.is_ascii_digit()).count();
        let b_digits = b.iter().take_while(|byte| byte.is_ascii_digit()).count();
        // Without leading zeros the longer number is the larger; at equal length the first
        // differing digit decides, as in dpkg's digit-by-digit loop. No integer can overflow.
        let numbers = a_digits.cmp(&b_digits).then_with(|| a[..a_digits].cmp(&b[..b_digits]));
        if numbers != Ordering::Equal {
            return numbers;
        }
        a = &a[a_digits..];
        b = &b[b_digits..];
    }
    Ordering::Equal
}

fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&byte| byte == b'0').count();
    &bytes[zeros..]
}

/// dpkg's `order`: `~` before the end of the string, the end (and a digit) before letters,
/// letters before everything else. dpkg computes "everything else" as `c + 256` from a plain C
/// `char`, which is signed on x86-64: there, a byte above 0x7f lands at 128..=255, after the
/// letters but before ASCII punctuation (`1é` is earlier than `1.`). Converting through
/// [`c_char`] reproduces dpkg built for the same target, on either kind of `char`.
fn order(byte: Option<&u8>) -> i32 {
    match byte {
        None => 0,
        Some(byte) if byte.is_ascii_digit() => 0,
        Some(byte) if byte.is_ascii_alphabetic() => i32::from(*byte),
        Some(b'~') => -1,
        Some(&byte) => i32::from(byte as c_char) + 256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expected: Ordering) {
        assert_eq!(compare(a, b), Ok(expected), "{a:?} against {b:?}");
        assert_eq!(compare(b, a), Ok(expected.reverse()), "{b:?} against {a:?}");
    }

    fn problem(version: &str) -> DebProblem {
        match DebVersion::parse(version) {
            Err(VersionError::Deb { problem, .. }) => problem,
            other => panic!("{version:?} parsed as {other:?}"),
        }
    }

    fn strict_problem(version: &str) -> Option<DebProblem> {
        match DebVersion::parse_strict(version) {
            Ok(_) => None,
            Err(VersionError::Deb { problem, .. }) => Some(problem),
            Err(other) => panic!("{version:?}: {other}"),
        }
    }

    #[test]
    fn tilde_sorts_before_the_end_and_letters_before_punctuation() {
        check("1.0~rc1", "1.0", Ordering::Less);
        check("1.0~~", "1.0~", Ordering::Less);
        check("1.0~~a", "1.0~", Ordering::Less);
        check("1.0", "1.0a", Ordering::Less);
        check("1.0a", "1.0+", Ordering::Less);
        check("1.0+", "1.0.", Ordering::Less);
        check("1.0", "1.0.0", Ordering::Less);
        check("1.0Z", "1.0a", Ordering::Less);
    }

    #[test]
    fn digit_runs_are_numbers_of_any_length() {
        check("1.10", "1.9", Ordering::Greater);
        check("1.010", "1.10", Ordering::Equal);
        check("1.0", "1.00", Ordering::Equal);
        check("1a0", "1a", Ordering::Equal);
        // A zero run still ends a run of non-digits, and the end of a run sorts first.
        check("1a0b", "1ab", Ordering::Less);
        check(
            "1.000000000000000000000000000000000018446744073709551616",
            "1.18446744073709551615",
            Ordering::Greater,
        );
        check("1.99999999999999999999999", "1.99999999999999999999998", Ordering::Greater);
    }

    #[test]
    fn epoch_then_upstream_then_revision() {
        check("1:0.1", "9.9", Ordering::Greater);
        check("0:1.0", "1.0", Ordering::Equal);
        check("1.0-1", "1.0-0.1", Ordering::Greater);
        check("1.0", "1.0-0", Ordering::Equal);
        check("1.0-1", "1.0+1", Ordering::Less);
        check("2:1-2-3", "2:1-2-3", Ordering::Equal);
        check("1:2:3", "1:2.3", Ordering::Greater);
        check("00001:1", "1:1", Ordering::Equal);
    }

    #[test]
    fn no_version_sorts_first() {
        check("", "~", Ordering::Less);
        check("<unknown>", "0", Ordering::Less);
        check("", "<unknown>", Ordering::Equal);
        assert_eq!(problem(""), DebProblem::Empty);
        assert_eq!(strict_problem("<unknown>"), Some(DebProblem::UpstreamNotStartingWithDigit));
    }

    #[test]
    fn bytes_above_ascii_sort_like_signed_char() {
        if c_char::MIN == 0 {
            check("1é", "1.", Ordering::Greater);
        } else {
            check("1é", "1.", Ordering::Less);
        }
        check("1é", "1z", Ordering::Greater);
        check("1é", "1~", Ordering::Greater);
    }

    #[test]
    fn errors_are_dpkgs() {
        assert_eq!(problem(" "), DebProblem::Empty);
        assert_eq!(problem("1 2"), DebProblem::EmbeddedSpaces);
        assert_eq!(problem("1\t2"), DebProblem::EmbeddedSpaces);
        assert_eq!(problem(":1"), DebProblem::EpochEmpty);
        assert_eq!(problem("a:1"), DebProblem::EpochEmpty);
        assert_eq!(problem("+:1"), DebProblem::EpochEmpty);
        assert_eq!(problem("1a:1"), DebProblem::EpochNotNumber);
        assert_eq!(problem("1.0-1:2"), DebProblem::EpochNotNumber);
        assert_eq!(problem("-1:2"), DebProblem::EpochNegative);
        assert_eq!(problem("-99999999999999999999:2"), DebProblem::EpochNegative);
        assert_eq!(problem("2147483648:1"), DebProblem::EpochTooBig);
        assert_eq!(problem("99999999999999999999:1"), DebProblem::EpochTooBig);
        assert_eq!(problem("1:"), DebProblem::NothingAfterColon);
        assert_eq!(problem("1: "), DebProblem::UpstreamEmpty);
        assert_eq!(problem("1-"), DebProblem::RevisionEmpty);
        assert_eq!(problem("-"), DebProblem::RevisionEmpty);
        assert_eq!(problem("-1"), DebProblem::UpstreamEmpty);
        assert_eq!(problem("1\0"), DebProblem::NulByte);
    }

    #[test]
    fn what_dpkg_accepts_despite_appearances() {
        let parsed = DebVersion::parse(" \t1:2.0-3 \t").unwrap();
        assert_eq!((parsed.epoch, &*parsed.upstream, &*parsed.revision), (1, "2.0", "3"));
        assert_eq!(DebVersion::parse("\n7:1").unwrap().epoch, 7);
        assert_eq!(DebVersion::parse("+7:1").unwrap().epoch, 7);
        assert_eq!(DebVersion::parse("-0:1").unwrap().epoch, 0);
        assert_eq!(DebVersion::parse("2147483647:1").unwrap().epoch, 2147483647);
        let parsed = DebVersion::parse("1:2-3:4").unwrap();
        assert_eq!((&*parsed.upstream, &*parsed.revision), ("2", "3:4"));
    }

    #[test]
    fn warnings_are_dpkgs_and_only_warnings() {
        assert_eq!(strict_problem("1.0-1"), None);
        assert_eq!(strict_problem("1:2:3-4.5+6~7"), None);
        assert_eq!(strict_problem("a1"), Some(DebProblem::UpstreamNotStartingWithDigit));
        assert_eq!(strict_problem("~"), Some(DebProblem::UpstreamNotStartingWithDigit));
        assert_eq!(strict_problem("1_2"), Some(DebProblem::InvalidCharInUpstream));
        assert_eq!(strict_problem("1\n"), Some(DebProblem::InvalidCharInUpstream));
        assert_eq!(
            strict_problem("1-2:3"),
            Some(DebProblem::EpochNotNumber),
            "a colon needs an epoch"
        );
        assert_eq!(strict_problem("0:1-2:3"), Some(DebProblem::InvalidCharInRevision));
        assert_eq!(strict_problem("1-a_b"), Some(DebProblem::InvalidCharInRevision));
        assert!(strict_problem("1-a_b").unwrap().is_warning());
        check("a", "b", Ordering::Less);
    }

    #[test]
    fn display_is_unambiguous() {
        for version in ["1.0", "1:1.0-1", "0:1:2", "0:1-2:3", "1.0-1-2"] {
            let parsed = DebVersion::parse(version).unwrap();
            assert_eq!(parsed.to_string(), version);
        }
        assert_eq!(DebVersion::parse("0:1.0-0").unwrap().to_string(), "1.0-0");
    }

    #[test]
    fn error_names_the_version() {
        let message = compare("1.0", "1:").unwrap_err().to_string();
        assert_eq!(
            message,
            "Debian version \"1:\" has bad syntax: nothing after colon in version number"
        );
    }
}
