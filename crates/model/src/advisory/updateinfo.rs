//! A dnf repository's `updateinfo.xml` (Rocky, Alma, Red Hat, Amazon Linux, and the test
//! fleet's own): one [`Advisory`] per `<update>`, each package of its `<pkglist>` affected
//! below the version the update ships, as dnf itself applies updateinfo. The caller hands in
//! the XML text; a `.gz` file is decompressed by the shell. A text too large or nested too
//! deep for an updateinfo file is refused before it is parsed (`limits.rs`).

mod limits;

use std::collections::HashSet;

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
    let updates = root.children().filter(|node| node.has_tag_name("update"));
    for (position, update) in updates.enumerate() {
        let record = child_text(update, "id")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("update #{}", position + 1));
        match parse_update(file, &record, update, &mut parsed.warnings) {
            Ok(advisory) => parsed.advisories.push(advisory),
            Err(reason) => parsed.skipped.push(Skipped { file: file.to_owned(), record, reason }),
        }
    }
    parsed
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
        "enhancement" | "newpackage" => Classification::Enhancement,
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
    for package in update.descendants().filter(|node| node.has_tag_name("package")) {
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
    if affected.is_empty() {
        return Err("the <update> lists no package, so no host can be matched".to_owned());
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
