//! Advisory import and matching: the project's own small records (`test_data/advisories`,
//! written in the formats and shapes of the real ones), and every real record in
//! `../shared/data/advisories`, read in place.

mod own_records;
mod real_records;

use std::path::{Path, PathBuf};

use model::advisory::{ParsedFile, osv::parse_osv, updateinfo::parse_updateinfo};
use model::{InstalledPackage, OsRelease};

fn own(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/advisories").join(name)
}

/// Reads an OSV or updateinfo file (`.gz` decompressed) as `patchctl advisories import` does.
pub(crate) fn parse_file(path: &Path) -> ParsedFile {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if name.ends_with(".json") {
        parse_osv(&name, &bytes)
    } else if name.ends_with(".xml.gz") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        parse_updateinfo(&name, &text)
    } else {
        parse_updateinfo(&name, std::str::from_utf8(&bytes).unwrap())
    }
}

fn os(id: &str, version_id: &str) -> OsRelease {
    OsRelease { id: id.into(), version_id: version_id.into(), ..OsRelease::default() }
}

fn deb(name: &str, version: &str, source: &str, source_version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        arch: "amd64".into(),
        version: version.into(),
        source: Some(source.into()),
        source_version: Some(source_version.into()),
    }
}

fn rpm(name: &str, version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        arch: "x86_64".into(),
        version: version.into(),
        source: None,
        source_version: None,
    }
}
