//! Security advisories (DSA, DLA, USN, RHSA, ALSA, RLSA, and a dnf repository's updateinfo
//! entries) as one plain type, and which hosts they expose.
//!
//! The formats are read by `osv.rs` and `updateinfo.rs`; `ecosystem.rs` says which hosts a
//! record speaks about; `range.rs` decides whether an installed version lies in an affected
//! range, in the order of the host's own package manager; `cvss.rs` scores CVSS vectors;
//! `index.rs` matches many hosts against many advisories at once; and `finding.rs` holds what a
//! host is found exposed to, and `marking.rs` decides it from an assessment.
//!
//! Bad input is never an `Err` of a whole import: a record that cannot be read is a
//! [`Skipped`] with the file, the record and the reason; a part of a record that cannot be used
//! (an unknown ecosystem, an absurd range) is left out with a [`ImportWarning`], and the rest
//! of the record is kept.

pub mod cvss;
pub mod ecosystem;
pub mod finding;
pub mod index;
pub mod marking;
pub mod osv;
mod output;
mod postings;
pub mod range;
mod stored;
pub mod updateinfo;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

pub use cvss::{CvssScore, CvssVersion};
pub use ecosystem::{Ecosystem, HostRelease};
pub use finding::{Finding, FindingSource};
pub use index::{AdvisoryIndex, Exposure, ExposureStatus};
pub use range::AffectedRange;

use crate::{Classification, Severity};

/// Where an advisory was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdvisoryFormat {
    /// An OSV JSON record.
    Osv,
    /// An `<update>` of a dnf repository's `updateinfo.xml`.
    Updateinfo,
}

impl AdvisoryFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            AdvisoryFormat::Osv => "osv",
            AdvisoryFormat::Updateinfo => "updateinfo",
        }
    }

    pub fn parse(text: &str) -> Option<AdvisoryFormat> {
        match text {
            "osv" => Some(AdvisoryFormat::Osv),
            "updateinfo" => Some(AdvisoryFormat::Updateinfo),
            _ => None,
        }
    }
}

/// One advisory: what it fixes (CVEs, scores) and which package versions it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct Advisory {
    /// `DSA-5000-1`, `USN-5614-1`, `UBUNTU-CVE-2021-3782`, `RHSA-2024:4546`, `ALSA-2024:0310`.
    pub id: String,
    pub format: AdvisoryFormat,
    /// Security for every OSV record; updateinfo's `type` (security, bugfix, enhancement).
    pub kind: Classification,
    /// A one-line title, when the record has one.
    pub summary: String,
    /// `CVE-…` ids the advisory fixes, sorted, without duplicates.
    pub cves: Vec<String>,
    /// Other ids of the same advisory or of related ones (`DEBIAN-CVE-…`, `UBUNTU-CVE-…`,
    /// `RHSA-…` behind an `ALSA-…`), sorted, without duplicates.
    pub aliases: Vec<String>,
    /// The distribution's own rating (`Important`, Ubuntu's `medium`), when the record has one.
    pub distribution_severity: Option<Severity>,
    /// Every CVSS vector the record gives, parsed and scored; duplicates are removed.
    pub cvss: Vec<CvssScore>,
    /// RFC 3339 or the format's own date text, as written.
    pub published: Option<String>,
    pub modified: Option<String>,
    pub affected: Vec<AffectedPackage>,
}

/// A package of one distribution release that the advisory concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedPackage {
    pub ecosystem: Ecosystem,
    /// The package as the record names it: a source package for Debian and Ubuntu (matched
    /// against each installed binary package's source), a binary package for the RPM
    /// distributions (their OSV and updateinfo records list every binary package).
    pub package: String,
    /// Binary packages built from `package`, when the record lists them (Ubuntu's
    /// `ecosystem_specific.binaries`). Matched as well, for hosts that do not report sources.
    pub binaries: Vec<String>,
    /// The affected versions. Empty ranges would mean "nothing affected": such an entry is
    /// dropped on import instead.
    pub ranges: Vec<AffectedRange>,
}

/// Why a record was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub file: String,
    /// The record's id when it could be read, else its position (`update #3`).
    pub record: String,
    pub reason: String,
}

/// A part of a record left out, the rest being kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWarning {
    pub file: String,
    pub record: String,
    pub message: String,
}

/// What reading one file gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFile {
    pub advisories: Vec<Advisory>,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<ImportWarning>,
}

impl Advisory {
    /// The highest CVSS base score the record gives, with its vector.
    pub fn highest_cvss(&self) -> Option<&CvssScore> {
        self.cvss.iter().max_by(|a, b| a.score.total_cmp(&b.score))
    }

    /// The severity to show and filter on: from the highest CVSS score when there is one (the
    /// same scale for every distribution), else the distribution's own rating.
    pub fn severity(&self) -> Option<Severity> {
        match self.highest_cvss() {
            Some(score) => Some(score.severity()),
            None => self.distribution_severity,
        }
    }

    /// When the distribution issued the advisory (updateinfo's `issued`, OSV's `published`), as
    /// an instant; `None` when the record gives no date or one that cannot be read.
    pub fn published_at(&self) -> Option<DateTime<Utc>> {
        parse_date(self.published.as_deref()?)
    }

    /// The id and every alias and CVE: what `patchctl cve`/`advisories show` look a record up by.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str())
            .chain(self.cves.iter().map(String::as_str))
            .chain(self.aliases.iter().map(String::as_str))
    }
}

/// An advisory's date as the formats write it: RFC 3339 (OSV), `YYYY-MM-DD HH:MM:SS` or
/// `YYYY-MM-DD` in UTC (updateinfo, as createrepo and Red Hat write it), or Unix seconds (some
/// older updateinfo generators).
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Some(at.and_utc());
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(day.and_time(NaiveTime::MIN).and_utc());
    }
    // Nine digits or more: 1973 on, and never a bare year mistaken for seconds.
    if text.len() >= 9 && text.bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp(text.parse().ok()?, 0);
    }
    None
}

/// Sorts and removes duplicates, the shape of every id list of an [`Advisory`].
pub(crate) fn sorted_unique(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// True for `CVE-YYYY-NNNN…`: the ids that go into [`Advisory::cves`].
pub fn is_cve_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_the_formats_write_them() {
        let utc = |text: &str| Some(DateTime::parse_from_rfc3339(text).unwrap().to_utc());
        let cases = [
            ("2026-12-03T10:15:00Z", utc("2026-12-03T10:15:00Z")),
            ("2026-12-03T10:15:00.123+02:00", utc("2026-12-03T08:15:00.123Z")),
            ("2026-01-10 00:00:00", utc("2026-01-10T00:00:00Z")),
            ("2026-01-10", utc("2026-01-10T00:00:00Z")),
            (" 2026-01-10 ", utc("2026-01-10T00:00:00Z")),
            ("1589284800", utc("2020-05-12T12:00:00Z")),
            ("2026", None),
            ("", None),
            ("yesterday", None),
            ("2026-13-01", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_date(text), expected, "{text:?}");
        }
    }
}
