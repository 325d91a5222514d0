//! Advisories from the repositories' updateinfo: `dnf updateinfo list --updates` (advisory id,
//! type, severity and package) and the same with `--with-cve` (CVE ids instead of advisory ids),
//! and which of them a pending update fixes.

use std::cmp::Ordering;
use std::collections::HashMap;

use model::{Classification, Severity};

use crate::error::AssessError;
use crate::probe::Gathered;

use super::batch::DnfCommand;
use super::nevra::{Evr, Nevra};

pub const ADVISORIES: &str = "dnf updateinfo list";
pub const CVES: &str = "dnf updateinfo list --with-cve";

/// `--updates`: advisories about newer versions of installed packages that have an update.
/// Both lists are needed: the first has no CVE ids, the second no advisory ids; they are joined
/// on the package. No one dnf 4 command gives both with the packages: `dnf updateinfo info` has
/// advisory and CVE ids, but as free text around the description, and names the packages (by
/// file name, without epoch) only with `-v`.
pub const COMMANDS: [DnfCommand; 2] = [
    DnfCommand {
        key: ADVISORIES,
        args: &["-q", "--setopt=skip_if_unavailable=False", "updateinfo", "list", "--updates"],
    },
    DnfCommand {
        key: CVES,
        args: &[
            "-q",
            "--setopt=skip_if_unavailable=False",
            "updateinfo",
            "list",
            "--updates",
            "--with-cve",
        ],
    },
];

/// One line of `dnf updateinfo list`: an advisory (or, with `--with-cve`, a CVE of it) and a
/// package it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryEntry {
    /// The advisory id (`RHSA-2024:1234`), or the CVE id with `--with-cve`.
    pub id: String,
    pub classification: Classification,
    /// Only security advisories show a severity in this list.
    pub severity: Option<Severity>,
    pub package: Nevra,
}

/// Both lists, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advisories {
    pub advisories: Vec<AdvisoryEntry>,
    pub cves: Vec<AdvisoryEntry>,
}

pub fn advisories(gathered: &Gathered) -> Result<Advisories, AssessError> {
    Ok(Advisories {
        advisories: parse(ADVISORIES, gathered.stdout(ADVISORIES, &[0])?)?,
        cves: parse(CVES, gathered.stdout(CVES, &[0])?)?,
    })
}

/// Parses `ID TYPE NEVRA` lines. dnf pads the first two columns; none of the three has spaces.
pub fn parse(step: &'static str, stdout: &str) -> Result<Vec<AdvisoryEntry>, AssessError> {
    const EXPECTED: &str = "ADVISORY TYPE NAME-[EPOCH:]VERSION-RELEASE.ARCH";
    let mut entries = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with("Last metadata expiration check:") {
            continue;
        }
        let garbage = || AssessError::garbage(step, i + 1, line, EXPECTED);
        let words: Vec<&str> = line.split_whitespace().collect();
        let [id, label, nevra] = words[..] else {
            return Err(garbage());
        };
        let (classification, severity) = parse_label(label).ok_or_else(garbage)?;
        let package = Nevra::parse(nevra).ok_or_else(garbage)?;
        entries.push(AdvisoryEntry { id: id.to_owned(), classification, severity, package });
    }
    Ok(entries)
}

/// dnf's labels: `Critical/Sec.` (and Important, Moderate, Low, or Unknown when the advisory
/// has no severity), `bugfix`, `enhancement`, `newpackage`, `unknown`.
fn parse_label(label: &str) -> Option<(Classification, Option<Severity>)> {
    if let Some(severity) = label.strip_suffix("/Sec.") {
        return match severity {
            "Unknown" => Some((Classification::Security, None)),
            "Critical" | "Important" | "Moderate" | "Low" => {
                Some((Classification::Security, Severity::parse(severity)))
            }
            _ => None,
        };
    }
    match label {
        "security" => Some((Classification::Security, None)),
        "bugfix" => Some((Classification::Bugfix, None)),
        "enhancement" => Some((Classification::Enhancement, None)),
        "newpackage" => Some((Classification::Newpackage, None)),
        "unknown" => Some((Classification::Unknown, None)),
        _ => None,
    }
}

/// What the advisories say about one pending update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// The most pressing type among its advisories: security, then bugfix, then enhancement;
    /// unknown without advisories.
    pub classification: Classification,
    pub severity: Option<Severity>,
    pub advisories: Vec<String>,
    pub cves: Vec<String>,
}

/// The advisory lists by package name, to annotate many updates.
#[derive(Debug, Clone, Default)]
pub struct AdvisoryIndex<'a> {
    advisories: HashMap<&'a str, Vec<&'a AdvisoryEntry>>,
    cves: HashMap<&'a str, Vec<&'a AdvisoryEntry>>,
}

impl<'a> AdvisoryIndex<'a> {
    pub fn new(all: &'a Advisories) -> AdvisoryIndex<'a> {
        let by_name = |entries: &'a [AdvisoryEntry]| {
            let mut map: HashMap<&str, Vec<&AdvisoryEntry>> = HashMap::new();
            for entry in entries {
                map.entry(entry.package.name.as_str()).or_default().push(entry);
            }
            map
        };
        AdvisoryIndex { advisories: by_name(&all.advisories), cves: by_name(&all.cves) }
    }

    /// The advisories an update to `candidate` fixes: those about the same name and arch
    /// whose version is newer than the installed one and not newer than the candidate. An
    /// update from 1.0 to 1.2 thus carries the advisory of 1.1 too; and an advisory already
    /// fixed by an installed kernel is not counted again for a newer kernel (dnf's `--updates`
    /// lists it when an older kernel is installed beside).
    pub fn annotate(
        &self,
        name: &str,
        arch: &str,
        installed: Option<&Evr>,
        candidate: &Evr,
    ) -> Annotation {
        let fixes = |entry: &&&AdvisoryEntry| {
            entry.package.arch == arch
                && entry.package.evr.cmp_rpm(candidate) != Ordering::Greater
                && installed.is_none_or(|v| entry.package.evr.cmp_rpm(v) == Ordering::Greater)
        };
        let mut annotation = Annotation {
            classification: Classification::Unknown,
            severity: None,
            advisories: Vec::new(),
            cves: Vec::new(),
        };
        for entry in self.advisories.get(name).into_iter().flatten().filter(fixes) {
            // Classification's order is from the most to the least pressing.
            annotation.classification = annotation.classification.min(entry.classification);
            annotation.severity = annotation.severity.max(entry.severity);
            if !annotation.advisories.contains(&entry.id) {
                annotation.advisories.push(entry.id.clone());
            }
        }
        for entry in self.cves.get(name).into_iter().flatten().filter(fixes) {
            if !annotation.cves.contains(&entry.id) {
                annotation.cves.push(entry.id.clone());
            }
        }
        annotation
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Problem;

    use super::*;

    fn updates() -> Advisories {
        Advisories {
            advisories: parse(
                ADVISORIES,
                include_str!("../../test_data/dnf/updates-updateinfo-list.stdout"),
            )
            .unwrap(),
            cves: parse(
                CVES,
                include_str!("../../test_data/dnf/updates-updateinfo-list-cves.stdout"),
            )
            .unwrap(),
        }
    }

    #[test]
    fn lists() {
        let all = updates();
        let shown: Vec<String> = all
            .advisories
            .iter()
            .map(|e| {
                format!(
                    "{} {:?} {:?} {}-{}.{}",
                    e.id,
                    e.classification,
                    e.severity,
                    e.package.name,
                    e.package.evr,
                    e.package.arch
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "ACME-2026:0003 Bugfix None acme-agent-plugin-for-the-very-long-enterprise-monitoring-suite-1.0-2.noarch",
                "ACME-2026:0002 Security Some(Important) acme-db-2:3.0-2.x86_64",
                "ACME-2026:0004 Enhancement None acme-lib-1.2-1.i686",
                "ACME-2026:0004 Enhancement None acme-lib-1.2-1.x86_64",
                "ACME-2026:0007 Security Some(Important) acme-pinned-1.1-1.noarch",
                "ACME-2026:0001 Security Some(Critical) acme-web-1.1-1.noarch",
                "ACME-2026:0006 Bugfix None acme-web-1.2-1.noarch",
                "ACME-2026:0005 Security Some(Moderate) kernel-core-6.1.0-2.acme.x86_64",
            ]
        );
        let cves: Vec<&str> = all.cves.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            cves,
            [
                "CVE-2026-20001",
                "CVE-2026-40001",
                "CVE-2026-10001",
                "CVE-2026-10002",
                "CVE-2026-30001"
            ]
        );
        let none = include_str!("../../test_data/dnf/none-updateinfo-list.stdout");
        assert_eq!(parse(ADVISORIES, none).unwrap(), []);
    }

    #[test]
    fn an_update_carries_the_advisories_of_the_versions_it_skips() {
        let all = updates();
        let index = AdvisoryIndex::new(&all);
        let annotate = |name, arch, installed: &str, candidate: &str| {
            let v = |s| Evr::parse(s).unwrap();
            index.annotate(name, arch, Some(&v(installed)), &v(candidate))
        };
        let web = annotate("acme-web", "noarch", "1.0-1", "1.2-1");
        assert_eq!(web.classification, Classification::Security);
        assert_eq!(web.severity, Some(Severity::Critical));
        assert_eq!(web.advisories, ["ACME-2026:0001", "ACME-2026:0006"]);
        assert_eq!(web.cves, ["CVE-2026-10001", "CVE-2026-10002"]);
        // Installed 1.1 already: only the bugfix of 1.2 is left.
        let web = annotate("acme-web", "noarch", "1.1-1", "1.2-1");
        assert_eq!(
            (web.classification, web.severity, web.cves.len()),
            (Classification::Bugfix, None, 0)
        );
        // A candidate older than the advisory's version does not fix it.
        let web = annotate("acme-web", "noarch", "1.0-1", "1.0-5");
        assert_eq!(web.classification, Classification::Unknown);
        let lib = annotate("acme-lib", "i686", "1.0-1", "1.2-1");
        assert_eq!(lib.classification, Classification::Enhancement);
        let other_arch = annotate("acme-lib", "aarch64", "1.0-1", "1.2-1");
        assert!(other_arch.advisories.is_empty());
    }

    #[test]
    fn garbage() {
        for bad in [
            "ACME-1 Critical/Sec. acme-1.0-1.noarch extra\n",
            "ACME-1 Urgent/Sec. acme-1.0-1.noarch\n",
            "ACME-1 hotfix acme-1.0-1.noarch\n",
            "ACME-1 bugfix acme-1.0.noarch\n",
            "ACME-1 bugfix\n",
        ] {
            let err = parse(ADVISORIES, bad).unwrap_err();
            assert!(matches!(err.problem, Problem::Garbage { line_number: 1, .. }), "{bad:?}");
            assert_eq!(err.step, ADVISORIES);
        }
        let unknown = parse(ADVISORIES, "ACME-1 Unknown/Sec. acme-1.0-1.noarch\n").unwrap();
        assert_eq!(
            (unknown[0].classification, unknown[0].severity),
            (Classification::Security, None)
        );
    }
}
