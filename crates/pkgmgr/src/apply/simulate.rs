//! A dry run of an apply: the package manager's own simulation of installing the pinned
//! versions, which changes nothing on the host, and what it says the apply would do.
//!
//! The simulation is the apply's command with the one option that makes it a simulation, so
//! that it answers as the apply would (a held package refused, a downgrade or a removal
//! refused, a version no repository offers):
//! - apt: `apt-get install --simulate` with the apply's `-y`, `--no-remove` and the rest, and
//!   `Debug::NoLocking` (a simulation needs no lock, and must not wait for one). It prints the
//!   `Inst`/`Remv` lines `apt::simulate` already reads.
//! - dnf: `dnf --assumeno` instead of `-y`, with `--cacheonly`: the transaction is resolved
//!   against the metadata the host has (as apt's lists), never refreshed or downloaded, and
//!   then declined. dnf then prints its transaction table and exits **1** with `Operation
//!   aborted.`, which is its answer "I would do this"; any other exit 1 is a failure.
//!
//! What no simulation sees: maintainer scripts and rpm scriptlets (they run only at the apply),
//! the download, and dpkg's or rpm's own checks at unpack time (file conflicts, space).

use std::cmp::Ordering;

use model::PackageManagerKind;
use model::version::deb;

use super::install::{ApplyOptions, PinnedPackage, apply_command};
use super::outcome::{
    ChangeKind, FailureReason, OutputError, PackageChange, output_tail, screen_lines,
};
use super::validate::InvalidInput;
use super::{outcome_apt, outcome_dnf};
use crate::dnf::{Evr, split_name_arch};
use crate::probe::CommandSpec;

/// What the package manager says the apply of the pinned versions would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimulatedApply {
    /// It would run this transaction (or, when every list is empty, none: nothing to do).
    Would {
        /// The pinned packages it would install or upgrade, at their pinned versions.
        pinned: Vec<PackageChange>,
        /// Pinned packages it would leave as they are: at their pinned version already, as
        /// the package manager says.
        unchanged: Vec<PinnedPackage>,
        /// Every change the plan does not name: a dependency it would install or upgrade, a
        /// package it would remove, a pinned package at another version or downgraded.
        unplanned: Vec<PackageChange>,
    },
    /// The apply would fail before changing anything, for this reason.
    WouldFail {
        reason: FailureReason,
        exit_code: i32,
        /// The end of the output, capped ([`output_tail`]).
        output_tail: String,
    },
}

impl SimulatedApply {
    /// Removals among the unplanned changes: what a dry run must never leave unsaid.
    pub fn removals(&self) -> impl Iterator<Item = &PackageChange> {
        let unplanned = match self {
            SimulatedApply::Would { unplanned, .. } => unplanned.as_slice(),
            SimulatedApply::WouldFail { .. } => &[],
        };
        unplanned.iter().filter(|c| c.kind == ChangeKind::Removed)
    }
}

/// The command that simulates [`apply_command`] of `packages` and changes nothing: see the
/// module documentation for the options.
pub fn simulate_command(
    kind: PackageManagerKind,
    packages: &[PinnedPackage],
    options: &ApplyOptions,
) -> Result<CommandSpec, InvalidInput> {
    let options = ApplyOptions { lock_timeout_seconds: 0, ..*options };
    let mut command = apply_command(kind, packages, &options)?;
    let argv = &mut command.argv;
    match kind {
        PackageManagerKind::Apt => {
            let at = argv.iter().position(|w| w == "--no-remove").map_or(2, |i| i + 1);
            argv.insert(at, "--simulate".to_owned());
            let end = argv.iter().position(|w| w == "--").unwrap_or(argv.len());
            argv.splice(end..end, ["-o".to_owned(), "Debug::NoLocking=1".to_owned()]);
        }
        PackageManagerKind::Dnf => {
            let yes = argv.iter().position(|w| w == "-y").unwrap_or(1);
            argv.splice(yes..=yes, ["--assumeno".to_owned(), "--cacheonly".to_owned()]);
        }
    }
    Ok(command)
}

/// Reads the result of [`simulate_command`] of `pinned` from its exit code and outputs. `Err`
/// when the output is not the package manager's (cut short, an unknown shape).
pub fn parse_simulation(
    kind: PackageManagerKind,
    pinned: &[PinnedPackage],
    exit_code: i32,
    stdout: &str,
    stderr: &str,
) -> Result<SimulatedApply, OutputError> {
    let changes = match kind {
        PackageManagerKind::Apt if exit_code == 0 => apt_changes(stdout)?,
        PackageManagerKind::Dnf if dnf_declined(exit_code, stdout, stderr) => dnf_changes(stdout)?,
        PackageManagerKind::Dnf if exit_code == 0 => {
            // `Nothing to do.`: every pinned package is installed already.
            if !screen_lines(stdout).any(|l| l == "Nothing to do.") {
                return Err(OutputError {
                    command: DNF,
                    problem: "exit code 0 without \"Nothing to do.\": dnf ran a transaction \
                              with --assumeno?"
                        .into(),
                });
            }
            Vec::new()
        }
        _ => {
            let reason = match kind {
                PackageManagerKind::Apt => outcome_apt::parse(exit_code, stdout, stderr)?.0,
                PackageManagerKind::Dnf => outcome_dnf::parse(exit_code, stdout, stderr)?.0,
            };
            return Ok(SimulatedApply::WouldFail {
                reason: reason.unwrap_or(FailureReason::Other),
                exit_code,
                output_tail: output_tail(stdout, stderr),
            });
        }
    };
    Ok(compare(kind, pinned, changes))
}

/// Sorts `changes` into the pinned ones, at their pinned versions, and the rest.
fn compare(
    kind: PackageManagerKind,
    pinned: &[PinnedPackage],
    changes: Vec<PackageChange>,
) -> SimulatedApply {
    let same_version = |a: &str, b: &str| match kind {
        PackageManagerKind::Apt => deb::compare(a, b).is_ok_and(|o| o == Ordering::Equal),
        PackageManagerKind::Dnf => match (Evr::parse(a), Evr::parse(b)) {
            (Some(a), Some(b)) => a.cmp_rpm(&b) == Ordering::Equal,
            _ => a == b,
        },
    };
    let pin_of = |change: &PackageChange| {
        pinned.iter().find(|p| {
            p.name == change.name && change.arch.as_deref().is_none_or(|arch| arch == p.arch)
        })
    };
    let (mut as_pinned, mut unplanned) = (Vec::new(), Vec::new());
    for change in changes {
        let matches = pin_of(&change).is_some_and(|pin| {
            matches!(change.kind, ChangeKind::Installed | ChangeKind::Upgraded)
                && same_version(&change.version, &pin.version)
        });
        if matches { as_pinned.push(change) } else { unplanned.push(change) }
    }
    let touched = |pin: &PinnedPackage| {
        as_pinned.iter().chain(&unplanned).any(|c| {
            c.name == pin.name
                && c.arch.as_deref().is_none_or(|arch| arch == pin.arch)
                && c.kind != ChangeKind::Removed
        })
    };
    let unchanged = pinned.iter().filter(|p| !touched(p)).cloned().collect();
    SimulatedApply::Would { pinned: as_pinned, unchanged, unplanned }
}

const APT: &str = "apt-get install --simulate";
const DNF: &str = "dnf install --assumeno";

/// The changes of apt's simulation: `Inst` lines (a new install, an upgrade, a downgrade or a
/// reinstall, by the versions) and `Remv` lines, checked against apt's summary line.
fn apt_changes(stdout: &str) -> Result<Vec<PackageChange>, OutputError> {
    let simulation = crate::apt::parse_simulation(APT, stdout)
        .map_err(|error| OutputError { command: APT, problem: error.problem.to_string() })?;
    let mut changes = Vec::new();
    for install in &simulation.installs {
        let name = install.name.split_once(':').map_or(install.name, |(name, _)| name);
        let kind = match install.installed_version {
            None => ChangeKind::Installed,
            Some(old) => match deb::compare(install.candidate_version, old) {
                Ok(Ordering::Greater) => ChangeKind::Upgraded,
                Ok(Ordering::Less) => ChangeKind::Downgraded,
                Ok(Ordering::Equal) => ChangeKind::Reinstalled,
                Err(_) => {
                    return Err(OutputError {
                        command: APT,
                        problem: format!("{}: {old:?} is not a Debian version", install.name),
                    });
                }
            },
        };
        changes.push(PackageChange {
            name: name.to_owned(),
            arch: Some(install.arch.to_owned()),
            kind,
            version: install.candidate_version.to_owned(),
            previous_version: install.installed_version.map(str::to_owned),
        });
    }
    for removed in &simulation.removals {
        let (name, arch) = match removed.split_once(':') {
            Some((name, arch)) => (name, Some(arch.to_owned())),
            None => (*removed, None),
        };
        changes.push(PackageChange {
            name: name.to_owned(),
            arch,
            kind: ChangeKind::Removed,
            version: removed_version(stdout, removed).unwrap_or_default(),
            previous_version: None,
        });
    }
    Ok(changes)
}

/// The version of `Remv NAME [VERSION]`, which apt prints when it knows it.
fn removed_version(stdout: &str, name: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let rest = line.strip_prefix("Remv ").or_else(|| line.strip_prefix("Purg "))?;
        let rest = rest.strip_prefix(name)?.strip_prefix(" [")?;
        let (version, _) = rest.split_once(']')?;
        super::validate::version(PackageManagerKind::Apt, version).ok()?;
        Some(version.to_owned())
    })
}

/// dnf resolved a transaction and `--assumeno` declined it: exit code 1, `Operation aborted.`
/// on standard error, and no error of its own.
fn dnf_declined(exit_code: i32, stdout: &str, stderr: &str) -> bool {
    exit_code == 1
        && screen_lines(stderr).any(|l| l.trim() == "Operation aborted.")
        && !screen_lines(stdout).chain(screen_lines(stderr)).any(|l| l.starts_with("Error"))
}

/// The sections of dnf's transaction table and what each does to its packages.
const DNF_SECTIONS: [(&str, ChangeKind); 10] = [
    ("Installing:", ChangeKind::Installed),
    ("Upgrading:", ChangeKind::Upgraded),
    ("Reinstalling:", ChangeKind::Reinstalled),
    ("Downgrading:", ChangeKind::Downgraded),
    ("Removing:", ChangeKind::Removed),
    ("Installing dependencies:", ChangeKind::Installed),
    ("Installing weak dependencies:", ChangeKind::Installed),
    ("Installing group/module packages:", ChangeKind::Installed),
    ("Removing dependent packages:", ChangeKind::Removed),
    ("Removing unused dependencies:", ChangeKind::Removed),
];

/// The transaction table dnf prints before it asks (and `--assumeno` answers no):
///
/// ```text
/// Upgrading:
///  acme-broken           noarch           1.1-1              acme           6.2 k
/// Installing dependencies:
///  acme-web              noarch           1.1-1              acme           7.0 k
/// ```
///
/// An entry is a line of name, arch, `[epoch:]version-release`, repository and size (a number
/// and, but for bytes, a unit); an obsoleted package follows the one that replaces it as
/// `     replacing  NAME.ARCH EVR`. Without a terminal dnf never wraps an entry (it sizes the
/// columns to the longest field). A section this parser does not know (`Skipping packages with
/// broken dependencies:`, modules) is an error, never skipped, and so is an entry that does
/// not read; the counts of the `Transaction Summary` must match the entries.
fn dnf_changes(stdout: &str) -> Result<Vec<PackageChange>, OutputError> {
    let garbage = |n: usize, line: &str, expected: &str| OutputError {
        command: DNF,
        problem: format!("line {n}: expected {expected}, got {line:?}"),
    };
    let mut changes = Vec::new();
    let mut section: Option<ChangeKind> = None;
    let mut in_table = false;
    let mut announced: Option<usize> = None;
    let mut n_entries = 0;
    for (i, line) in screen_lines(stdout).enumerate() {
        let n = i + 1;
        if line.starts_with("=====") {
            in_table = true;
            continue;
        }
        if line == "Transaction Summary" {
            in_table = false;
            section = None;
            announced = Some(0);
            continue;
        }
        if let Some(count) = announced.as_mut() {
            if let Some(more) = summary_count(line) {
                *count += more;
            }
            continue;
        }
        if !in_table || line.trim().is_empty() {
            section = None;
            continue;
        }
        if !line.starts_with(' ') {
            let known = DNF_SECTIONS.iter().find(|(heading, _)| line == *heading);
            section = Some(known.map(|(_, kind)| *kind).ok_or_else(|| {
                garbage(n, line, "a section of the transaction table this parser knows")
            })?);
            continue;
        }
        let Some(kind) = section else {
            // The header line (` Package   Architecture   Version   Repository   Size`).
            continue;
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["replacing", name_arch, evr] = words[..] {
            let change = dnf_change(name_arch, None, evr, ChangeKind::Removed)
                .ok_or_else(|| garbage(n, line, "replacing NAME.ARCH EVR"))?;
            changes.push(change);
            continue;
        }
        let change = match words[..] {
            [name, arch, evr, _repo, size] | [name, arch, evr, _repo, size, _] if is_size(size) => {
                dnf_change(name, Some(arch), evr, kind)
            }
            _ => None,
        };
        changes.push(change.ok_or_else(|| garbage(n, line, "NAME ARCH VERSION REPOSITORY SIZE"))?);
        n_entries += 1;
    }
    match announced {
        Some(count) if count == n_entries => Ok(changes),
        Some(count) => Err(OutputError {
            command: DNF,
            problem: format!(
                "the output is truncated: the summary counts {count} packages, the table lists {n_entries}"
            ),
        }),
        None => Err(OutputError {
            command: DNF,
            problem: "the output is truncated: no \"Transaction Summary\"".into(),
        }),
    }
}

/// One package of the table, from `name` and `arch` (or `name.arch` with `arch` `None`).
fn dnf_change(
    name: &str,
    arch: Option<&str>,
    evr: &str,
    kind: ChangeKind,
) -> Option<PackageChange> {
    let (name, arch) = match arch {
        Some(arch) => (name, arch),
        None => split_name_arch(name)?,
    };
    if !crate::dnf::is_name(name) || !crate::dnf::is_name(arch) {
        return None;
    }
    Some(PackageChange {
        name: name.to_owned(),
        arch: Some(arch.to_owned()),
        kind,
        version: Evr::parse(evr)?.to_string(),
        previous_version: None,
    })
}

/// A size as dnf prints it: `6.2`, `0`, `123`.
fn is_size(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// `Install  2 Packages`, `Upgrade  1 Package`, … of the transaction summary.
fn summary_count(line: &str) -> Option<usize> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words[..] {
        [verb, count, "Package" | "Packages"]
            if ["Install", "Upgrade", "Remove", "Downgrade", "Reinstall"].contains(&verb) =>
        {
            count.parse().ok()
        }
        _ => None,
    }
}
