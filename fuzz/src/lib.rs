//! What the fuzz targets share: the way one input stands for the outputs of several probes.
//!
//! An input is split into sections at NUL bytes (`\0`), and each section into up to three
//! fields at `\x01`: a command's standard output, its standard error and its exit code (as
//! decimal text; missing or unreadable means 0). A file is its section's text, and the section
//! `\x02` alone means the file does not exist; a directory is its section's lines. `cargo xtask
//! fuzz` writes the seed corpora of the apt and dnf targets in this shape, from the captures in
//! `crates/pkgmgr/test_data/`.

use pkgmgr::{Gathered, ProbeOutput};

/// The section that stands for a missing file or directory.
pub const ABSENT: &str = "\x02";

/// A section as a command's output.
pub fn ran(section: &str) -> ProbeOutput {
    let mut fields = section.splitn(3, '\x01');
    let stdout = fields.next().unwrap_or("").to_owned();
    let stderr = fields.next().unwrap_or("").to_owned();
    let exit_code = fields.next().and_then(|rc| rc.trim().parse().ok()).unwrap_or(0);
    ProbeOutput::Ran { exit_code, stdout, stderr }
}

/// A section as a file read from the host.
pub fn file(section: &str) -> ProbeOutput {
    ProbeOutput::File((section != ABSENT).then(|| section.to_owned()))
}

/// A section as a directory listing.
pub fn dir(section: &str) -> ProbeOutput {
    ProbeOutput::Dir((section != ABSENT).then(|| section.lines().map(str::to_owned).collect()))
}

/// How a probe's section is read.
#[derive(Clone, Copy)]
pub enum Kind {
    Run,
    /// A command's output, or nothing gathered at all when the section is [`ABSENT`].
    RunIfGathered,
    File,
    /// A file, or nothing gathered at all when the section is [`ABSENT`].
    FileIfGathered,
    Dir,
}

/// The probes `keys`, in order, answered by the sections of `input`; a probe without a section
/// answers like a quiet host (an empty output, exit code 0, no file, no directory).
pub fn gathered(input: &str, keys: &[(&'static str, Kind)]) -> Gathered {
    let mut sections = input.split('\0');
    let mut gathered = Gathered::new();
    for &(key, kind) in keys {
        let section = sections.next();
        let output = match (kind, section) {
            (Kind::Run, section) => ran(section.unwrap_or("")),
            (Kind::RunIfGathered | Kind::FileIfGathered, None | Some(ABSENT)) => continue,
            (Kind::RunIfGathered, Some(section)) => ran(section),
            (Kind::FileIfGathered, Some(section)) => file(section),
            (Kind::File, section) => file(section.unwrap_or(ABSENT)),
            (Kind::Dir, section) => dir(section.unwrap_or(ABSENT)),
        };
        gathered.insert(key, output);
    }
    gathered
}

/// The 1-based line and column of an error point inside `text` (or just past its end).
pub fn assert_within(text: &str, line: usize, column: usize, message: &str) {
    let n_lines = text.split('\n').count();
    assert!(
        line >= 1 && line <= n_lines && column >= 1,
        "error at {line}:{column}, outside the text's {n_lines} lines: {message}"
    );
    let line_text = text.split('\n').nth(line - 1).unwrap_or("");
    assert!(
        column <= line_text.chars().count() + 1,
        "error at {line}:{column}, past the end of its line ({} characters): {message}",
        line_text.chars().count()
    );
}

/// A name the parsers let through to become an argv element on a host later: not empty, no
/// white space or control character, and not an option.
pub fn assert_safe_word(word: &str, what: &str) {
    assert_word(word, what);
    assert!(!word.starts_with('-'), "the parsers let through {what} {word:?}, an option");
}

/// A version the parsers let through: not empty, no white space or control character. It
/// reaches an argv only after its package's name (`NAME=VERSION`, `NAME-VERSION`), so a
/// leading `-` is no option (and dpkg itself only warns about a version not starting with a
/// digit).
pub fn assert_word(word: &str, what: &str) {
    assert!(
        !word.is_empty() && !word.chars().any(|c| c.is_whitespace() || c.is_control()),
        "the parsers let through {what} {word:?}"
    );
}

/// Indexes `advisories` and matches them against a Debian, an Ubuntu and a Rocky host that have
/// every package the advisories name installed at each version the ranges mention, as
/// `patchctl cves` does. Every verdict must name an advisory of the index.
pub fn match_advisories(advisories: Vec<model::advisory::Advisory>) {
    use model::advisory::{AdvisoryIndex, HostRelease};
    use model::{InstalledPackage, OsRelease, PackageManagerKind};

    let mut installed = Vec::new();
    for advisory in &advisories {
        for affected in advisory.affected.iter().take(8) {
            let versions = affected.ranges.iter().take(4).flat_map(|range| {
                [&range.introduced, &range.fixed, &range.last_affected].into_iter().flatten()
            });
            for version in versions.chain([&"1:0".to_owned()]) {
                let name = affected.binaries.first().unwrap_or(&affected.package).clone();
                installed.push(InstalledPackage {
                    name,
                    arch: "amd64".to_owned(),
                    version: version.clone(),
                    source: Some(affected.package.clone()),
                    source_version: Some(version.clone()),
                });
            }
        }
    }
    let index = AdvisoryIndex::new(advisories);
    for (os_release, kind) in [
        ("ID=debian\nVERSION_ID=\"12\"\n", PackageManagerKind::Apt),
        ("ID=ubuntu\nVERSION_ID=\"22.04\"\n", PackageManagerKind::Apt),
        ("ID=rocky\nVERSION_ID=\"9.3\"\n", PackageManagerKind::Dnf),
    ] {
        let host = HostRelease::of(&OsRelease::parse(os_release), kind);
        for exposure in index.match_host(&host, &installed) {
            assert!(exposure.advisory < index.len(), "a verdict on no advisory: {exposure:?}");
        }
    }
}

/// How the Ansible importer begins its message when what it wrote does not parse. Other
/// messages may quote the input, which may hold these words.
const IMPORTER_BUG: &str = "the imported inventory would not be valid (a patchctl bug)";

/// The Ansible import of `text` in `format`: every error and warning points at a line and
/// column inside the source, and none is the importer's own "would not be valid" (what it
/// writes must always parse as an inventory).
pub fn check_ansible_import(format: model::inventory::ansible::AnsibleFormat, text: &str) {
    use model::inventory::ansible::{ImportConfig, import_as};
    let config = ImportConfig { environment: "production".to_owned() };
    match import_as(format, std::path::Path::new("hosts"), text, &[], &config) {
        Ok(imported) => {
            for warning in &imported.warnings {
                assert_within(text, warning.line, warning.column, &warning.message);
            }
        }
        Err(invalid) => {
            assert!(!invalid.errors.is_empty(), "an invalid inventory without an error");
            for error in &invalid.errors {
                assert!(!error.message.starts_with(IMPORTER_BUG), "{}", error.message);
                assert_within(text, error.line, error.column, &error.message);
            }
        }
    }
}
