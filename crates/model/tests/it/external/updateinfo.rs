//! Every updateinfo file of `../shared/data/external/updateinfo/` read as
//! `patchctl advisories import` reads it, and compared with what dnf made of it:
//! `test_data/advisories/external-updateinfo/dnf.jsonl`, captured from dnf 4's own library
//! (hawkey) by `capture.py` beside it (its docstring says how). Per advisory id: the same
//! packages and fixed versions, the most pressing of dnf's types, the highest of its
//! severities, and its CVE references that are CVE ids (dnf also keeps `2222` or `CVE-2999`
//! as written; patchctl keeps well-formed ids only). An advisory dnf does not apply (the
//! packages of a module collection, on a host without that module stream) must be skipped
//! with a reason or, when the advisory has other packages, left out of it.
//!
//! The `.xml.xz` file is not read here: the import refuses that compression with a message
//! naming the supported ones (`ops::advisories::import`, tested there).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use model::advisory::{Advisory, is_cve_id};
use model::{Classification, Severity};

use super::corpus;
use crate::advisory::parse_file;

#[derive(serde::Deserialize)]
struct Captured {
    file: String,
    advisories: Vec<DnfAdvisory>,
}

#[derive(serde::Deserialize)]
struct DnfAdvisory {
    id: String,
    types: Vec<String>,
    severities: Vec<String>,
    cves: Vec<String>,
    /// `NAME EVR ARCH`, the epoch only when not 0.
    packages: Vec<String>,
}

/// What one advisory id amounts to, in terms both sides share.
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    kind: Classification,
    severity: Option<Severity>,
    cves: BTreeSet<String>,
    /// (name, fixed version) with a zero epoch left out, as dnf prints versions.
    packages: BTreeSet<(String, String)>,
}

fn dnf_kind(word: &str) -> Classification {
    match word {
        "security" => Classification::Security,
        "bugfix" => Classification::Bugfix,
        "enhancement" => Classification::Enhancement,
        "newpackage" => Classification::Newpackage,
        "unknown" => Classification::Unknown,
        other => panic!("dnf.jsonl: type {other:?}"),
    }
}

fn theirs(advisory: &DnfAdvisory) -> Summary {
    Summary {
        kind: advisory.types.iter().map(|t| dnf_kind(t)).min().unwrap(),
        severity: advisory
            .severities
            .iter()
            .filter_map(|s| Severity::parse(s))
            .filter(|s| *s != Severity::None)
            .max(),
        cves: advisory.cves.iter().filter(|c| is_cve_id(c)).cloned().collect(),
        packages: advisory
            .packages
            .iter()
            .map(|p| {
                let words: Vec<&str> = p.split(' ').collect();
                (words[0].to_owned(), words[1].to_owned())
            })
            .collect(),
    }
}

fn ours(advisory: &Advisory) -> Summary {
    Summary {
        kind: advisory.kind,
        severity: advisory.distribution_severity,
        cves: advisory.cves.iter().cloned().collect(),
        packages: advisory
            .affected
            .iter()
            .flat_map(|package| {
                package.ranges.iter().map(|range| {
                    let fixed = range.fixed.clone().unwrap_or_default();
                    let fixed = fixed.strip_prefix("0:").map(str::to_owned).unwrap_or(fixed);
                    (package.package.clone(), fixed)
                })
            })
            .collect(),
    }
}

#[test]
fn every_updateinfo_file_reads_as_dnf_reads_it() {
    let captured = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/advisories/external-updateinfo/dnf.jsonl");
    let captured = std::fs::read_to_string(captured).unwrap();
    let mut problems = String::new();
    let mut files = 0;
    let mut merged_ids = 0;
    for line in captured.lines() {
        let captured: Captured = serde_json::from_str(line).unwrap();
        files += 1;
        let parsed = parse_file(&corpus("updateinfo").join(&captured.file));
        let dnf: BTreeMap<&str, Summary> =
            captured.advisories.iter().map(|a| (a.id.as_str(), theirs(a))).collect();
        let ours: BTreeMap<&str, Summary> =
            parsed.advisories.iter().map(|a| (a.id.as_str(), ours(a))).collect();
        for (id, theirs) in &dnf {
            match ours.get(id) {
                Some(ours) if ours == theirs => {}
                Some(ours) => problems.push_str(&format!(
                    "{}: {id}: ours {ours:?}, dnf's {theirs:?}\n",
                    captured.file
                )),
                None => problems.push_str(&format!("{}: {id}: missing\n", captured.file)),
            }
        }
        for id in ours.keys().filter(|id| !dnf.contains_key(*id)) {
            problems.push_str(&format!("{}: {id}: dnf applies no such advisory\n", captured.file));
        }
        // Every id dnf does not apply is skipped with the modules named, or was never there.
        for skipped in &parsed.skipped {
            if dnf.contains_key(skipped.record.as_str()) || !skipped.reason.contains("module") {
                problems.push_str(&format!(
                    "{}: {} skipped: {}\n",
                    captured.file, skipped.record, skipped.reason
                ));
            }
        }
        let elements = std::fs::read(corpus("updateinfo").join(&captured.file))
            .map_or(0, |b| b.windows(b"<update ".len()).filter(|w| *w == b"<update ").count());
        merged_ids += elements.saturating_sub(captured.advisories.len() + parsed.skipped.len());
    }
    assert!(problems.is_empty(), "disagreements with dnf:\n{problems}");
    assert_eq!(files, 32, "every file but the .xml.xz one");
    // The duplicates of ci-dnf-stack's security-upgrade fixtures and dnf-ci-security were met.
    assert!(merged_ids >= 3, "{merged_ids}");
}
