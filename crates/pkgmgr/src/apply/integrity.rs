//! Whether an installed package's files are still what the package put there: `dpkg --verify`
//! and `rpm -V`, one package per command, and a verdict on every file they report.
//!
//! - **One package per command**, because neither tool says which package a line of its output
//!   belongs to; a failure must name its package.
//! - **dpkg** (1.21) compares only each file's MD5 digest with the one in its database
//!   (`/var/lib/dpkg/info/PKG.md5sums`, and the conffiles' own digests): a changed mode, owner
//!   or time is invisible to it (`test_data/integrity/dpkg-mode-and-time-changed`), a changed
//!   content or a missing file is not. It takes
//!   `NAME:ARCH` (also `:all`) and no version; a host has one version of each.
//! - **rpm** also compares size, mode, owner, group, link target, device and capabilities. It is
//!   given the exact `NAME-[EPOCH:]VERSION-RELEASE.ARCH`, so that of an installonly package (a
//!   kernel) with several versions installed only the one the plan names is checked.
//!   `--nodeps` (dependencies are not files) and `--noscripts` (a package's own `%verifyscript`
//!   is its code, not a check of its files) keep the output to files.
//! - **Verdicts.** A configuration file (dpkg's conffiles, rpm's `%config`) that differs or is
//!   gone is [`FileVerdict::AdminChanged`]: changing them is what administrators do, so it is
//!   reported, never a failure. Any other file that is missing or differs in anything but its
//!   modification time is a failure ([`FileFinding::is_failure`]). A changed modification time
//!   alone (rpm's `T`: a `touch`, a copy that kept the bytes) is no finding at all. A check the
//!   tool could not do (`?`) on a file that is not configuration is a failure: unverifiable is
//!   not verified. rpm's `%ghost` files (created by the package's scripts, not shipped) give
//!   no finding.
//! - **Exit codes.** dpkg 1.21 exits 0 whether or not files differ (the lines are the
//!   verdict; `test_data/integrity/` shows it), and 1 for a package that is not installed
//!   (`package 'NAME' is not installed` on standard error). rpm exits with the number of
//!   packages that failed verification: 0 or 1 here (1 also when only a time changed), with
//!   `package NEVRA is not installed` on standard output for one that is not. Any other exit code, or a line of another shape, is
//!   an [`OutputError`]: output not understood is never read as "nothing changed".

use model::PackageManagerKind;

use super::install::PinnedPackage;
use super::outcome::OutputError;
use super::validate::InvalidInput;
use crate::probe::CommandSpec;

/// The command that verifies one installed package's files: `dpkg --verify --verify-format=rpm
/// -- NAME:ARCH` or `rpm -V --nodeps --noscripts -- NEVRA`. `package.version` is rpm's only.
pub fn verify_command(
    kind: PackageManagerKind,
    package: &PinnedPackage,
) -> Result<CommandSpec, InvalidInput> {
    // Validates the name, the architecture and the version; for rpm it is the word to pass.
    let nevra = package.spec(kind)?;
    let (program, target): (&[&str], String) = match kind {
        PackageManagerKind::Apt => {
            (&["dpkg", "--verify", "--verify-format=rpm"], package.name_arch())
        }
        PackageManagerKind::Dnf => (&["rpm", "-V", "--nodeps", "--noscripts"], nevra),
    };
    let mut argv: Vec<String> = program.iter().map(|word| (*word).to_owned()).collect();
    argv.push("--".to_owned());
    argv.push(target);
    Ok(CommandSpec::new(argv))
}

/// What one package's verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageIntegrity {
    /// Every file the tool reported, in its order; empty when nothing differs.
    Verified { findings: Vec<FileFinding> },
    /// The package (at that version, for rpm) is not installed.
    NotInstalled,
}

impl PackageIntegrity {
    pub fn findings(&self) -> &[FileFinding] {
        match self {
            PackageIntegrity::Verified { findings } => findings,
            PackageIntegrity::NotInstalled => &[],
        }
    }
}

/// One file that is not as its package installed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFinding {
    pub path: String,
    pub verdict: FileVerdict,
    /// What differs, in words (`content`, `size`, `mode`, `owner`, …); empty for a missing file.
    pub differs: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileVerdict {
    /// A configuration file that differs or was removed: the administrator's to change.
    AdminChanged,
    /// Not there.
    Missing,
    /// There, and different in something besides its modification time, or not checkable.
    Altered,
}

impl FileFinding {
    /// Missing or altered, and not configuration: the package is not what was installed.
    pub fn is_failure(&self) -> bool {
        self.verdict != FileVerdict::AdminChanged
    }

    /// `/usr/bin/x (content, mode)`, `/usr/bin/x (missing)`.
    pub fn describe(&self) -> String {
        match self.verdict {
            FileVerdict::Missing => format!("{} (missing)", self.path),
            FileVerdict::AdminChanged if self.differs.is_empty() => {
                format!("{} (removed)", self.path)
            }
            _ => format!("{} ({})", self.path, self.differs.join(", ")),
        }
    }
}

/// Reads [`verify_command`]'s result for `package`.
pub fn parse_verify_output(
    kind: PackageManagerKind,
    package: &PinnedPackage,
    exit_code: i32,
    stdout: &str,
    stderr: &str,
) -> Result<PackageIntegrity, OutputError> {
    let command = match kind {
        PackageManagerKind::Apt => "dpkg --verify",
        PackageManagerKind::Dnf => "rpm -V",
    };
    let invalid = |problem: String| OutputError { command, problem };
    match kind {
        PackageManagerKind::Apt => {
            let not_installed = format!("package '{}' is not installed", package.name_arch());
            let not_installed_bare = format!("package '{}' is not installed", package.name);
            if exit_code == 1
                && stdout.is_empty()
                && stderr
                    .lines()
                    .any(|l| l.ends_with(&not_installed) || l.ends_with(&not_installed_bare))
            {
                return Ok(PackageIntegrity::NotInstalled);
            }
            if exit_code != 0 {
                return Err(invalid(format!(
                    "exit code {exit_code} for {}: {}",
                    package.name_arch(),
                    stderr.trim()
                )));
            }
        }
        PackageManagerKind::Dnf => {
            let spec = package.spec(kind).map_err(|e| invalid(e.to_string()))?;
            if exit_code == 1 && stdout.trim_end() == format!("package {spec} is not installed") {
                return Ok(PackageIntegrity::NotInstalled);
            }
            if !(exit_code == 0 || exit_code == 1) {
                return Err(invalid(format!(
                    "exit code {exit_code} for {spec}: {}",
                    stderr.trim()
                )));
            }
        }
    }
    let mut findings = Vec::new();
    for line in stdout.lines() {
        if let Some(finding) = parse_line(kind, line).map_err(invalid)? {
            findings.push(finding);
        }
    }
    // rpm's exit code says whether it found anything; a line it counts as a failure may still
    // be no finding here (a changed time alone).
    if kind == PackageManagerKind::Dnf && exit_code == 0 && !findings.is_empty() {
        return Err(invalid("exit code 0 with files reported".to_owned()));
    }
    Ok(PackageIntegrity::Verified { findings })
}

/// One line: nine result columns, the attribute letter (or a space), the path. dpkg writes
/// `??5?????? c /etc/x` and `missing   c /etc/x`; rpm `S.5....T.  c /etc/x` (two spaces after
/// the columns) and `missing   c /etc/x` (as dpkg). `None`: nothing to report.
fn parse_line(kind: PackageManagerKind, line: &str) -> Result<Option<FileFinding>, String> {
    let bad = || format!("a line not understood: {line:?}");
    let (columns, rest) = match line.strip_prefix("missing   ") {
        Some(rest) => ("missing", rest),
        None => {
            let (columns, rest) = line.split_at_checked(9).ok_or_else(bad)?;
            let separator = match kind {
                PackageManagerKind::Apt => " ",
                PackageManagerKind::Dnf => "  ",
            };
            (columns, rest.strip_prefix(separator).ok_or_else(bad)?)
        }
    };
    let mut chars = rest.chars();
    let attribute = chars.next().ok_or_else(bad)?;
    let path = chars.as_str().strip_prefix(' ').ok_or_else(bad)?;
    if !path.starts_with('/') {
        return Err(bad());
    }
    let config = match attribute {
        'c' => true,
        // Documentation, licence, readme, public key: shipped files like any other.
        ' ' | 'd' | 'l' | 'r' | 'P' if kind == PackageManagerKind::Dnf => false,
        ' ' => false,
        // Created by the package's scripts, not shipped: nothing to compare with.
        'g' if kind == PackageManagerKind::Dnf => return Ok(None),
        _ => return Err(bad()),
    };
    if columns == "missing" {
        let verdict = if config { FileVerdict::AdminChanged } else { FileVerdict::Missing };
        return Ok(Some(FileFinding { path: path.to_owned(), verdict, differs: Vec::new() }));
    }
    let differs = differences(kind, columns).ok_or_else(bad)?;
    if differs.is_empty() {
        return Ok(None);
    }
    let verdict = if config { FileVerdict::AdminChanged } else { FileVerdict::Altered };
    Ok(Some(FileFinding { path: path.to_owned(), verdict, differs }))
}

/// What the nine columns say differs, the modification time left out. `None` when they are not
/// the tool's.
fn differences(kind: PackageManagerKind, columns: &str) -> Option<Vec<&'static str>> {
    const RPM: [(char, &str); 9] = [
        ('S', "size"),
        ('M', "mode"),
        ('5', "content"),
        ('D', "device"),
        ('L', "link target"),
        ('U', "owner"),
        ('G', "group"),
        ('T', "modification time"),
        ('P', "capabilities"),
    ];
    let mut differs = Vec::new();
    for (at, (column, (letter, word))) in columns.chars().zip(RPM).enumerate() {
        let checked = match kind {
            // dpkg checks only the digest; the other columns are always `?`.
            PackageManagerKind::Apt if at != 2 => {
                if column != '?' {
                    return None;
                }
                continue;
            }
            _ => column,
        };
        match checked {
            '.' => {}
            c if c == letter && letter == 'T' => {}
            c if c == letter => differs.push(word),
            '?' => {
                let word = if letter == '5' { "content not readable" } else { "not checkable" };
                if !differs.contains(&word) {
                    differs.push(word);
                }
            }
            _ => return None,
        }
    }
    (columns.chars().count() == 9).then_some(differs)
}
