//! OSV JSON records (schema 1.x) as Debian, Ubuntu, AlmaLinux, Rocky Linux and Red Hat publish
//! them, read into [`Advisory`].
//!
//! Our own serde types rather than the `osv` crate's: its `Ecosystem` is a closed enum and its
//! fields are strict, so one record with an ecosystem it does not know, or a field a feed
//! writes its own way, fails the whole file. Here every `affected` entry is read on its own, so
//! an unknown ecosystem or an absurd range drops that entry with a warning and keeps the rest.
//!
//! Where the distributions put things:
//! - CVE ids: `aliases` (Debian DSA), `upstream` (Debian DLA, Ubuntu; also as `DEBIAN-CVE-…`
//!   and `UBUNTU-CVE-…`), `related` (AlmaLinux, Rocky, Red Hat, Ubuntu USN), and the id itself
//!   (`UBUNTU-CVE-2024-51988`).
//! - Severity: `severity[]` CVSS vectors and Ubuntu's own rating; AlmaLinux and Rocky only in the
//!   summary (`Moderate: openssl security update`).
//! - Binary packages: Ubuntu's `ecosystem_specific.binaries[].binary_name`.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::cvss::CvssScore;
use super::ecosystem::Ecosystem;
use super::range::{RangeEvent, intervals_from_events};
use super::{
    Advisory, AdvisoryFormat, AffectedPackage, AffectedRange, ImportWarning, ParsedFile, Skipped,
    is_cve_id, sorted_unique,
};
use crate::{Classification, Severity};

#[derive(Deserialize)]
struct RawRecord {
    id: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    upstream: Option<Vec<String>>,
    #[serde(default)]
    related: Option<Vec<String>>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    affected: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Option<Vec<RawRange>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    events: Vec<serde_json::Map<String, Value>>,
}

/// Reads one OSV file: a single record, or an array of records (as some feeds bundle them).
pub fn parse_osv(file: &str, text: &[u8]) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    let value: Value = match serde_json::from_slice(text) {
        Ok(value) => value,
        Err(error) => {
            parsed.skipped.push(Skipped {
                file: file.to_owned(),
                record: "(file)".to_owned(),
                reason: format!("not valid JSON: {error}"),
            });
            return parsed;
        }
    };
    let records = match value {
        Value::Array(records) => records,
        record => vec![record],
    };
    for (position, record) in records.into_iter().enumerate() {
        let fallback = format!("record #{}", position + 1);
        match parse_record(file, &fallback, record, &mut parsed.warnings) {
            Ok(advisory) => parsed.advisories.push(advisory),
            Err(skipped) => parsed.skipped.push(skipped),
        }
    }
    parsed
}

fn parse_record(
    file: &str,
    fallback: &str,
    record: Value,
    warnings: &mut Vec<ImportWarning>,
) -> Result<Advisory, Skipped> {
    let id_hint = record.get("id").and_then(Value::as_str).unwrap_or(fallback).to_owned();
    let skip = |reason: String| Skipped { file: file.to_owned(), record: id_hint.clone(), reason };
    let raw: RawRecord = serde_json::from_value(record)
        .map_err(|error| skip(format!("not an OSV record: {error}")))?;
    let id = raw
        .id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| skip("the record has no \"id\"".into()))?;
    if let Some(withdrawn) = raw.withdrawn {
        return Err(skip(format!("withdrawn on {withdrawn}")));
    }
    // Problems with parts of the record, reported with its id once it is read.
    let mut problems: Vec<String> = Vec::new();

    let mut cves = Vec::new();
    let mut aliases = Vec::new();
    let named = raw.aliases.iter().chain(&raw.upstream).chain(&raw.related).flatten();
    for other in std::iter::once(&id).chain(named) {
        if let Some(cve) = cve_of(other) {
            cves.push(cve);
        }
        if other != &id && !is_cve_id(other) {
            aliases.push(other.clone());
        }
    }

    let mut scores = Scores::default();
    scores.read(raw.severity.as_deref().unwrap_or_default(), &mut problems);

    let summary = raw.summary.unwrap_or_default();
    // AlmaLinux and Rocky: "Important: kernel security update".
    if scores.distribution_severity.is_none()
        && let Some((word, _)) = summary.split_once(':')
    {
        scores.distribution_severity = Severity::parse(word).filter(|s| *s != Severity::None);
    }

    let Some(entries) = raw.affected.filter(|entries| !entries.is_empty()) else {
        return Err(skip("the record names no affected package, so no host can be matched".into()));
    };
    let mut affected = Vec::new();
    for (position, entry) in entries.into_iter().enumerate() {
        let raw_entry: RawAffected = match serde_json::from_value(entry) {
            Ok(raw_entry) => raw_entry,
            Err(error) => {
                problems.push(format!(
                    "affected #{}: not an OSV affected entry: {error}",
                    position + 1
                ));
                continue;
            }
        };
        if let Some(entries) = &raw_entry.severity {
            scores.read(entries, &mut problems);
        }
        match affected_package(raw_entry) {
            Ok(package) => affected.push(package),
            Err(problem) => problems.push(format!("affected #{}: {problem}", position + 1)),
        }
    }
    warnings.extend(problems.into_iter().map(|message| ImportWarning {
        file: file.to_owned(),
        record: id.clone(),
        message,
    }));
    if affected.is_empty() {
        return Err(skip(
            "no affected entry could be used (see the warnings for each): nothing to match".into(),
        ));
    }
    let Scores { cvss, distribution_severity, .. } = scores;
    Ok(Advisory {
        id,
        format: AdvisoryFormat::Osv,
        kind: Classification::Security,
        summary,
        cves: sorted_unique(cves),
        aliases: sorted_unique(aliases),
        distribution_severity,
        cvss,
        published: raw.published,
        modified: raw.modified,
        affected,
    })
}

/// The CVSS vectors of a record, each scored once, and the distribution's own rating.
#[derive(Default)]
struct Scores {
    cvss: Vec<CvssScore>,
    /// The vectors in `cvss`, so that a record repeating one (in every `affected` entry, as
    /// some feeds do) costs one lookup per vector, not a pass over those already kept.
    vectors: HashSet<String>,
    distribution_severity: Option<Severity>,
}

impl Scores {
    fn read(&mut self, entries: &[RawSeverity], problems: &mut Vec<String>) {
        for entry in entries {
            match entry.kind.as_str() {
                "CVSS_V3" | "CVSS_V4" => match CvssScore::parse(&entry.score) {
                    Ok(score) => {
                        if self.vectors.insert(score.vector.clone()) {
                            self.cvss.push(score);
                        }
                    }
                    Err(error) => problems.push(error.to_string()),
                },
                // Ubuntu's priority: negligible, low, medium, high, critical.
                "Ubuntu" => {
                    self.distribution_severity =
                        self.distribution_severity.max(Severity::parse(&entry.score))
                }
                // CVSS v2 is not scored: the records that have one have a v3 vector as well.
                _ => {}
            }
        }
    }
}

/// `CVE-2021-3782`, and the distributions' own names for it (`UBUNTU-CVE-2021-3782`,
/// `DEBIAN-CVE-2022-1664`), as the CVE id.
fn cve_of(id: &str) -> Option<String> {
    let bare = id.strip_prefix("UBUNTU-").or_else(|| id.strip_prefix("DEBIAN-")).unwrap_or(id);
    is_cve_id(bare).then(|| bare.to_owned())
}

fn affected_package(raw: RawAffected) -> Result<AffectedPackage, String> {
    let package = raw.package.ok_or("no \"package\"")?;
    if package.name.trim().is_empty() || package.name.chars().any(char::is_whitespace) {
        return Err(format!("package name {:?} is not a package name", package.name));
    }
    let ecosystem = Ecosystem::parse(&package.ecosystem).map_err(|error| error.to_string())?;
    let scheme = ecosystem.distribution.scheme();
    let mut ranges: Vec<AffectedRange> = Vec::new();
    for range in raw.ranges.unwrap_or_default() {
        if range.kind != "ECOSYSTEM" {
            return Err(format!(
                "{} {}: range of type {:?}, not ECOSYSTEM",
                package.ecosystem, package.name, range.kind
            ));
        }
        let mut events = Vec::new();
        for event in range.events {
            let mut fields = event.into_iter();
            let (Some((kind, Value::String(version))), None) = (fields.next(), fields.next())
            else {
                return Err(format!(
                    "{} {}: a range event is not one \"kind\": \"version\" pair",
                    package.ecosystem, package.name
                ));
            };
            events.push(match kind.as_str() {
                "introduced" => RangeEvent::Introduced(version),
                "fixed" => RangeEvent::Fixed(version),
                "last_affected" => RangeEvent::LastAffected(version),
                "limit" => RangeEvent::Limit(version),
                other => {
                    return Err(format!(
                        "{} {}: unknown range event {other:?}",
                        package.ecosystem, package.name
                    ));
                }
            });
        }
        let intervals = intervals_from_events(scheme, &events)
            .map_err(|problem| format!("{} {}: {problem}", package.ecosystem, package.name))?;
        ranges.extend(intervals);
    }
    if ranges.is_empty() {
        // No range: the listed versions are the affected ones, each exactly.
        for version in raw.versions.unwrap_or_default() {
            let events =
                [RangeEvent::Introduced(version.clone()), RangeEvent::LastAffected(version)];
            let interval = intervals_from_events(scheme, &events)
                .map_err(|problem| format!("{} {}: {problem}", package.ecosystem, package.name))?;
            ranges.extend(interval);
        }
    }
    if ranges.is_empty() {
        return Err(format!(
            "{} {}: neither ranges nor versions: no version is affected",
            package.ecosystem, package.name
        ));
    }
    let binaries = raw
        .ecosystem_specific
        .as_ref()
        .and_then(|specific| specific.get("binaries"))
        .and_then(Value::as_array)
        .map(|binaries| {
            binaries
                .iter()
                .filter_map(|binary| binary.get("binary_name").and_then(Value::as_str))
                .filter(|name| *name != package.name)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(sorted_unique)
        .unwrap_or_default();
    Ok(AffectedPackage { ecosystem, package: package.name, binaries, ranges })
}
