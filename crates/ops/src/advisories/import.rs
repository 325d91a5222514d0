//! `patchctl advisories import FILE|DIR...`: OSV JSON (`.json`) and dnf updateinfo (`.xml`,
//! `.xml.gz`), directories walked recursively, every record imported or skipped with a reason
//! that names its file and record, in transactions of at most 1,000 records
//! (`Store::import_advisories`).

use std::io::Read;
use std::path::{Path, PathBuf};

use model::advisory::{
    ImportWarning, ParsedFile, Skipped, osv::parse_osv, updateinfo::parse_updateinfo,
};
use store::{AdvisoryImportCounts, NewAdvisory, Store};

/// The largest file read, and the largest an updateinfo may grow to once decompressed. Real
/// updateinfo of a whole distribution is tens of megabytes; beyond this is not an advisory
/// file, or a decompression bomb.
const MAX_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct ImportReport {
    pub n_files: usize,
    /// Files in the directories given that are not advisory files (README, SOURCES.md), and
    /// entries that are not regular files or directories (a link to a directory, a FIFO): left
    /// alone. A file named on the command line is never ignored, it is skipped with a reason.
    pub ignored_files: Vec<PathBuf>,
    pub n_advisories: usize,
    pub counts: AdvisoryImportCounts,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<ImportWarning>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Path { path: PathBuf, source: std::io::Error },
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Source(#[from] crate::SourceError),
}

/// Reads every file, then imports every advisory read. A store error mid-way leaves the
/// batches before it imported; importing the same paths again completes the import.
pub async fn import_advisories(
    store: &Store,
    paths: &[PathBuf],
    now_unix: i64,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path)
            .map_err(|source| ImportError::Path { path: path.clone(), source })?;
        if metadata.is_dir() {
            walk(path, &mut files, &mut report.ignored_files)
                .map_err(|source| ImportError::Path { path: path.clone(), source })?;
        } else {
            files.push(path.clone());
        }
    }
    let mut parsed_files: Vec<(String, ParsedFile)> = Vec::new();
    for file in &files {
        let name = file.display().to_string();
        let parsed = read_file(file, &name);
        report.skipped.extend(parsed.skipped.iter().cloned());
        report.warnings.extend(parsed.warnings.iter().cloned());
        report.n_advisories += parsed.advisories.len();
        parsed_files.push((name, parsed));
    }
    report.n_files = files.len();
    let new: Vec<NewAdvisory<'_>> = parsed_files
        .iter()
        .flat_map(|(name, parsed)| {
            parsed
                .advisories
                .iter()
                .map(move |advisory| NewAdvisory { advisory, source_file: name })
        })
        .collect();
    report.counts = store.import_advisories(&new, now_unix).await?;
    Ok(report)
}

/// The advisory files under `directory`, sorted, recursively.
///
/// A directory of records may come from a mirror that is not ours, so only real directories
/// are entered: a symbolic link to a directory is ignored, so that a link to itself, to a
/// parent or to `/` can neither loop nor walk the whole machine. A link to a file is followed.
/// Only regular files are read: a FIFO or a device named `x.json` would block the import or
/// never end.
fn walk(
    directory: &Path,
    files: &mut Vec<PathBuf>,
    ignored: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(directory)?
        .map(|entry| entry.and_then(|e| Ok((e.path(), e.file_type()?))))
        .collect::<Result<_, _>>()?;
    entries.sort_by(|(a, _), (b, _)| a.cmp(b));
    for (entry, file_type) in entries {
        // `file_type` is the entry's own: a symbolic link is not a directory here.
        if file_type.is_dir() {
            walk(&entry, files, ignored)?;
            continue;
        }
        let regular = if file_type.is_symlink() {
            std::fs::metadata(&entry).is_ok_and(|target| target.is_file())
        } else {
            file_type.is_file()
        };
        if regular && kind_of(&entry).is_some() {
            files.push(entry);
        } else {
            ignored.push(entry);
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum FileKind {
    Osv,
    Updateinfo,
    UpdateinfoGz,
}

fn kind_of(path: &Path) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    if name.ends_with(".json") {
        Some(FileKind::Osv)
    } else if name.ends_with(".xml") {
        Some(FileKind::Updateinfo)
    } else if name.ends_with(".xml.gz") {
        Some(FileKind::UpdateinfoGz)
    } else {
        None
    }
}

/// A file that cannot be read is skipped with the reason, like a record that cannot be.
fn read_file(path: &Path, name: &str) -> ParsedFile {
    let skip = |reason: String| ParsedFile {
        skipped: vec![Skipped { file: name.to_owned(), record: "(file)".to_owned(), reason }],
        ..ParsedFile::default()
    };
    let Some(kind) = kind_of(path) else {
        return skip(
            "not an advisory file: expected OSV .json, or updateinfo .xml or .xml.gz".into(),
        );
    };
    let bytes = match read_capped(std::fs::File::open(path).map(|f| f.take(MAX_BYTES + 1))) {
        Ok(bytes) => bytes,
        Err(reason) => return skip(reason),
    };
    match kind {
        FileKind::Osv => parse_osv(name, &bytes),
        FileKind::Updateinfo => match String::from_utf8(bytes) {
            Ok(text) => parse_updateinfo(name, &text),
            Err(error) => skip(format!("not UTF-8 text: {error}")),
        },
        FileKind::UpdateinfoGz => {
            let decoder = flate2::read::GzDecoder::new(&bytes[..]).take(MAX_BYTES + 1);
            match read_capped(Ok(decoder)).map(String::from_utf8) {
                Ok(Ok(text)) => parse_updateinfo(name, &text),
                Ok(Err(error)) => skip(format!("not UTF-8 text once decompressed: {error}")),
                Err(reason) => skip(format!("cannot be decompressed: {reason}")),
            }
        }
    }
}

fn read_capped(reader: std::io::Result<impl Read>) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader.and_then(|mut r| r.read_to_end(&mut bytes)).map_err(|error| error.to_string())?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("larger than {} MiB", MAX_BYTES / 1024 / 1024));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// A mirror's directory with links to itself, to its parent and to `/`, a link to a file,
    /// a dangling one and one to a device: the walk ends, takes the real records and the
    /// linked file, and leaves the rest.
    #[test]
    fn the_walk_enters_no_linked_directory_and_reads_only_regular_files() {
        let root = tempfile::tempdir().unwrap();
        let mirror = root.path().join("mirror");
        std::fs::create_dir_all(mirror.join("rocky")).unwrap();
        std::fs::write(mirror.join("DSA-1.json"), "{}").unwrap();
        std::fs::write(mirror.join("rocky/updateinfo.xml"), "<updates/>").unwrap();
        std::fs::write(root.path().join("outside.json"), "{}").unwrap();
        symlink(&mirror, mirror.join("itself")).unwrap();
        symlink("..", mirror.join("rocky/parent")).unwrap();
        symlink("/", mirror.join("root")).unwrap();
        symlink("../outside.json", mirror.join("linked.json")).unwrap();
        symlink("nowhere.json", mirror.join("dangling.json")).unwrap();
        symlink("/dev/zero", mirror.join("zero.json")).unwrap();

        let (mut files, mut ignored) = (Vec::new(), Vec::new());
        walk(&mirror, &mut files, &mut ignored).unwrap();
        let names = |paths: &[PathBuf]| -> Vec<String> {
            paths.iter().map(|p| p.strip_prefix(&mirror).unwrap().display().to_string()).collect()
        };
        assert_eq!(names(&files), ["DSA-1.json", "linked.json", "rocky/updateinfo.xml"]);
        assert_eq!(
            names(&ignored),
            ["dangling.json", "itself", "rocky/parent", "root", "zero.json"]
        );
    }

    /// The external corpus's `.xml.xz` updateinfo (createrepo_c's test data; dnf reads xz):
    /// refused with the formats patchctl reads, and its gzip sibling of the corpus is read.
    #[test]
    fn an_xz_updateinfo_is_refused_naming_the_formats_read() {
        let corpus =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external/updateinfo");
        let xz = corpus.join("createrepo_c--updateinfo_02.xml.xz");
        assert!(xz.is_file(), "the external corpus is expected at {}", corpus.display());
        let parsed = read_file(&xz, "createrepo_c--updateinfo_02.xml.xz");
        let [skipped] = &parsed.skipped[..] else { panic!("{parsed:?}") };
        assert!(skipped.reason.contains(".xml or .xml.gz"), "{}", skipped.reason);
        assert!(parsed.advisories.is_empty());
        let gz = corpus.join("createrepo_c--repo_with_additional_metadata-updateinfo_01.xml.gz");
        let parsed = read_file(&gz, "updateinfo_01.xml.gz");
        assert_eq!(parsed.advisories.len(), 1, "{parsed:?}");
    }
}
