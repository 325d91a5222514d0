//! A dnf repository's `updateinfo.xml` (Rocky, Alma, Red Hat, Amazon Linux, and the test
//! fleet's own): one [`Advisory`] per advisory id, each package of its `<pkglist>` affected
//! below the version the update ships, as dnf itself applies updateinfo. The caller hands in
//! the XML text; a `.gz` file is decompressed by the shell. A text too large or nested too
//! deep for an updateinfo file is refused before it is parsed (`limits.rs`).
//!
//! As in dnf (libsolv reads every `<update>`; `dnf updateinfo` and `dnf upgrade --advisory=ID`
//! take all those of an id together), several `<update>` elements with one id are one advisory:
//! their packages, CVEs and references added up, the most pressing type and the highest
//! severity of them, the earliest issue date and the latest update. `type="newpackage"` stays
//! [`Classification::Newpackage`]. The packages of a `<collection>` that names a `<module>`
//! are left out: dnf applies them only to hosts with that module stream enabled, which
//! patchctl does not know (so an advisory of module packages only is skipped, with the
//! modules named). `test_data/advisories/external-updateinfo/` holds what dnf made of the
//! dnf projects' own updateinfo files, which `tests/it/external/updateinfo.rs` compares.

mod limits;

use std::collections::{HashMap, HashSet};

pub use limits::{MAX_BYTES, MAX_DEPTH, MAX_NODES};

use super::ecosystem::Ecosystem;
use super::{
    Advisory, AdvisoryFormat, AffectedPackage, AffectedRange, ImportWarning, ParsedFile, Skipped,
    is_cve_id, sorted_unique,
};
use crate::version;
use crate::{Classification, Severity};

/// Reads one updateinfo file. A file that cannot be read (not XML, too large, nested deeper
/// than [`MAX_DEPTH`], more than [`MAX_NODES`] nodes) is one [`Skipped`] naming it.
pub fn parse_updateinfo(file: &str, text: &str) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    let options = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES };
    let document = limits::check(text).and_then(|()| {
        roxmltree::Document::parse_with_options(text, options).map_err(|error| match error {
            roxmltree::Error::NodesLimitReached => {
                format!("more than {MAX_NODES} XML nodes: not an updateinfo file")
            }
            error => format!("not well-formed XML: {error}"),
        })
    });
    let document = match document {
        Ok(document) => document,
        Err(reason) => {
            parsed.skipped.push(Skipped {
                file: file.to_owned(),
                record: "(file)".to_owned(),
                reason,
            });
            return parsed;
        }
    };
    let root = document.root_element();
    if root.tag_name().name() != "updates" {
        parsed.skipped.push(Skipped {
            file: file.to_owned(),
            record: "(file)".to_owned(),
            reason: format!("the root element is <{}>, not <updates>", root.tag_name().name()),
        });
        return parsed;
    }
    // Each id's elements in the order of the file, by the position of its first.
    let mut by_id: Vec<(String, Vec<Result<Advisory, String>>)> = Vec::new();
    let mut positions: HashMap<String, usize> = HashMap::new();
    let updates = root.children().filter(|node| node.has_tag_name("update"));
    for (position, update) in updates.enumerate() {
        let record = child_text(update, "id")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("update #{}", position + 1));
        let result = parse_update(file, &record, update, &mut parsed.warnings);
        let index = *positions.entry(record.clone()).or_insert_with(|| {
            by_id.push((record, Vec::new()));
            by_id.len() - 1
        });
        by_id[index].1.push(result);
    }
    for (record, results) in by_id {
        let (advisories, reasons): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        match advisories.into_iter().map(Result::unwrap).reduce(merge) {
            Some(advisory) => parsed.advisories.push(advisory),
            None => {
                let reason = reasons.into_iter().find_map(Result::err).unwrap_or_default();
                parsed.skipped.push(Skipped { file: file.to_owned(), record, reason });
            }
        }
    }
    parsed
}

/// Two `<update>` elements of one id, added up as dnf does.
fn merge(mut first: Advisory, second: Advisory) -> Advisory {
    first.kind = first.kind.min(second.kind);
    first.distribution_severity = first.distribution_severity.max(second.distribution_severity);
    if first.summary.is_empty() {
        first.summary = second.summary;
    }
    first.cves = sorted_unique([first.cves, second.cves].concat());
    first.aliases = sorted_unique([first.aliases, second.aliases].concat());
    // Dates as updateinfo writes them (`2019-01-17 00:00:00`, or seconds since the epoch):
    // compared as numbers when both are, else as text, which orders the first form.
    let earlier = |a: &String, b: &String| match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a <= b,
        _ => a <= b,
    };
    first.published = match (first.published, second.published) {
        (Some(a), Some(b)) => Some(if earlier(&a, &b) { a } else { b }),
        (a, b) => a.or(b),
    };
    first.modified = match (first.modified, second.modified) {
        (Some(a), Some(b)) => Some(if earlier(&a, &b) { b } else { a }),
        (a, b) => a.or(b),
    };
    for package in second.affected {
        if !first.affected.contains(&package) {
            first.affected.push(package);
        }
    }
    first
}

fn parse_update(
    file: &str,
    record: &str,
    update: roxmltree::Node<'_, '_>,
    warnings: &mut Vec<ImportWarning>,
) -> Result<Advisory, String> {
    let id = child_text(update, "id").ok_or("the <update> has no <id>")?.to_owned();
    let kind = match update.attribute("type").unwrap_or("") {
        "security" => Classification::Security,
        "bugfix" => Classification::Bugfix,
        "enhancement" => Classification::Enhancement,
        "newpackage" => Classification::Newpackage,
        _ => Classification::Unknown,
    };
    let mut cves = Vec::new();
    let mut aliases = Vec::new();
    for reference in update.descendants().filter(|node| node.has_tag_name("reference")) {
        let Some(reference_id) = reference.attribute("id").map(str::trim) else { continue };
        if reference.attribute("type") == Some("cve") && is_cve_id(reference_id) {
            cves.push(reference_id.to_owned());
        } else if reference_id != id
            && !reference_id.is_empty()
            && reference.attribute("type") != Some("bugzilla")
        {
            aliases.push(reference_id.to_owned());
        }
    }
    let date = |tag: &str| {
        update
            .children()
            .find(|node| node.has_tag_name(tag))
            .and_then(|node| node.attribute("date"))
            .map(str::to_owned)
    };
    let mut affected: Vec<AffectedPackage> = Vec::new();
    // (name, fixed version) already listed: the same package for several architectures.
    let mut listed: HashSet<(&str, String)> = HashSet::new();
    // `name:stream` of the modules whose packages are left out.
    let mut modules: Vec<String> = Vec::new();
    let in_module = |package: &roxmltree::Node<'_, '_>| {
        package.ancestors().any(|node| {
            node.has_tag_name("collection")
                && node.children().any(|child| child.has_tag_name("module"))
        })
    };
    for collection in update.descendants().filter(|node| node.has_tag_name("collection")) {
        for module in collection.children().filter(|node| node.has_tag_name("module")) {
            let part = |name: &str| module.attribute(name).unwrap_or("?");
            let module = format!("{}:{}", part("name"), part("stream"));
            if !modules.contains(&module) {
                modules.push(module);
            }
        }
    }
    for package in update.descendants().filter(|node| node.has_tag_name("package")) {
        if in_module(&package) {
            continue;
        }
        let attribute = |name: &str| package.attribute(name).map(str::trim).unwrap_or("");
        let (name, version, release) =
            (attribute("name"), attribute("version"), attribute("release"));
        if name.is_empty() || version.is_empty() || name.chars().any(char::is_whitespace) {
            warnings.push(ImportWarning {
                file: file.to_owned(),
                record: record.to_owned(),
                message: format!(
                    "a <package> without a usable name and version ({name:?} {version:?})"
                ),
            });
            continue;
        }
        let mut evr = match attribute("epoch") {
            "" => version.to_owned(),
            epoch => format!("{epoch}:{version}"),
        };
        if !release.is_empty() {
            evr = format!("{evr}-{release}");
        }
        if let Err(error) = version::Evr::parse(&evr) {
            warnings.push(ImportWarning {
                file: file.to_owned(),
                record: record.to_owned(),
                message: error.to_string(),
            });
            continue;
        }
        // The same package for several architectures: one entry, as the fixed version is one.
        if !listed.insert((name, evr.clone())) {
            continue;
        }
        let range = AffectedRange { introduced: None, fixed: Some(evr), last_affected: None };
        affected.push(AffectedPackage {
            ecosystem: Ecosystem::dnf_repository(),
            package: name.to_owned(),
            binaries: Vec::new(),
            ranges: vec![range],
        });
    }
    if affected.is_empty() && !modules.is_empty() {
        return Err(format!(
            "the <update> lists only packages of modules ({}), which dnf applies only to hosts \
             with that module stream enabled; patchctl does not know hosts' module streams",
            modules.join(", ")
        ));
    }
    if affected.is_empty() {
        return Err("the <update> lists no package, so no host can be matched".to_owned());
    }
    if !modules.is_empty() {
        warnings.push(ImportWarning {
            file: file.to_owned(),
            record: record.to_owned(),
            message: format!(
                "the packages of modules ({}) are left out: dnf applies them only to hosts with \
                 that module stream enabled",
                modules.join(", ")
            ),
        });
    }
    Ok(Advisory {
        id,
        format: AdvisoryFormat::Updateinfo,
        kind,
        summary: child_text(update, "title").unwrap_or_default().to_owned(),
        cves: sorted_unique(cves),
        aliases: sorted_unique(aliases),
        distribution_severity: child_text(update, "severity")
            .and_then(Severity::parse)
            .filter(|severity| *severity != Severity::None),
        cvss: Vec::new(),
        published: date("issued"),
        modified: date("updated"),
        affected,
    })
}

fn child_text<'a>(node: roxmltree::Node<'a, '_>, tag: &str) -> Option<&'a str> {
    node.children()
        .find(|child| child.has_tag_name(tag))
        .and_then(|child| child.text())
        .map(str::trim)
        .filter(|text| !text.is_empty())
}
