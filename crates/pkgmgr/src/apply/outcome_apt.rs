//! `apt-get install`'s result: dpkg's progress lines (`Unpacking acme-web (1.1-1) over (1.0-1)
//! ...`) for what changed, apt's `E:` lines and dpkg's error summary for why it failed.
//!
//! apt runs dpkg on a pseudo-terminal, so dpkg's lines (and the maintainer scripts' output) come
//! on apt's standard output with CR LF ends; apt's own errors come on standard error.

use std::cmp::Ordering;

use model::version::deb;

use crate::apt::is_package_name;

use super::outcome::{
    ChangeKind, FailureReason, OutputError, PackageChange, lock_holder, screen_lines,
};

const COMMAND: &str = "apt-get install";

pub(crate) fn parse(
    exit_code: i32,
    stdout: &str,
    stderr: &str,
) -> Result<(Option<FailureReason>, Vec<PackageChange>), OutputError> {
    let changes = changes(stdout);
    if exit_code == 0 {
        // apt prints its summary before it changes anything; output without it was cut short.
        if !screen_lines(stdout).any(is_summary) {
            return Err(OutputError {
                command: COMMAND,
                problem: "exit code 0, but the output has no summary line (\"N upgraded, N newly installed, …\")".into(),
            });
        }
        return Ok((None, changes));
    }
    Ok((Some(reason(stdout, stderr)), changes))
}

/// `2 upgraded, 0 newly installed, 0 to remove and 4 not upgraded.` (with `N downgraded, `
/// after the new installs when there are downgrades).
fn is_summary(line: &str) -> bool {
    line.split_once(" upgraded, ").is_some_and(|(n, rest)| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && rest.contains(" newly installed, ")
    })
}

/// What dpkg did, from its `Unpacking` and `Removing` lines. Maintainer scripts write to the
/// same stream, and dpkg itself says `Removing obsolete conffile /etc/x ...`, so a line that
/// does not have the exact shape of a package line is someone else's and is passed over; the
/// summary line is what proves the output complete.
fn changes(stdout: &str) -> Vec<PackageChange> {
    screen_lines(stdout)
        .filter_map(|line| {
            if let Some(rest) = line.strip_prefix("Unpacking ") {
                parse_change(rest, false)
            } else {
                parse_change(line.strip_prefix("Removing ")?, true)
            }
        })
        .collect()
}

/// `acme-web (1.1-1) over (1.0-1) ...`, `acme-tools (1.1-1) ...`, `libc6:i386 (2.36-9) ...`.
fn parse_change(rest: &str, removing: bool) -> Option<PackageChange> {
    let rest = rest.strip_suffix(" ...")?;
    let (qualified, rest) = rest.split_once(" (")?;
    let (version, rest) = rest.split_once(')')?;
    let previous = match rest {
        "" => None,
        over => Some(over.strip_prefix(" over (")?.strip_suffix(')')?),
    };
    let (name, arch) = match qualified.split_once(':') {
        Some((name, arch)) => (name, Some(arch.to_owned())),
        None => (qualified, None),
    };
    let arch_ok = arch
        .as_deref()
        .is_none_or(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !is_package_name(name) || !arch_ok || version.is_empty() || version.contains(' ') {
        return None;
    }
    let kind = match (removing, previous) {
        (true, None) => ChangeKind::Removed,
        (true, Some(_)) => return None,
        (false, None) => ChangeKind::Installed,
        (false, Some(previous)) => match deb::compare(version, previous) {
            Ok(Ordering::Greater) => ChangeKind::Upgraded,
            Ok(Ordering::Less) => ChangeKind::Downgraded,
            Ok(Ordering::Equal) => ChangeKind::Reinstalled,
            Err(_) => return None,
        },
    };
    Some(PackageChange {
        name: name.to_owned(),
        arch,
        kind,
        version: version.to_owned(),
        previous_version: previous.map(str::to_owned),
    })
}

/// Why apt failed. The checks go from what stops apt before it changes anything (the lock, an
/// interrupted dpkg, the request itself) to what happens while dpkg runs.
fn reason(stdout: &str, stderr: &str) -> FailureReason {
    let lines: Vec<&str> = screen_lines(stdout).chain(screen_lines(stderr)).collect();
    let any = |needle: &str| lines.iter().any(|l| l.contains(needle));

    if any("Could not get lock ")
        || any("Unable to acquire the dpkg frontend lock")
        || any("Unable to lock ")
    {
        return FailureReason::Locked { holder: lines.iter().rev().find_map(|l| holder(l)) };
    }
    if any("dpkg was interrupted") {
        return FailureReason::Interrupted;
    }
    let not_found: Vec<String> = lines.iter().filter_map(|l| not_found(l)).collect();
    if !not_found.is_empty() {
        return FailureReason::NotFound { items: not_found };
    }
    if any("Held packages were changed and -y was used without --allow-change-held-packages") {
        return FailureReason::Held {
            items: listed_after(&lines, "The following held packages will be changed:"),
        };
    }
    if any("Packages were downgraded and -y was used without --allow-downgrades") {
        return FailureReason::WouldDowngrade;
    }
    if any("Packages need to be removed but remove is disabled") {
        return FailureReason::WouldRemove;
    }
    if any("The following packages have unmet dependencies")
        || any("Unable to correct problems")
        || any("E: Broken packages")
    {
        return FailureReason::Dependencies;
    }
    if any("You don't have enough free space") || any("No space left on device") {
        return FailureReason::DiskFull;
    }
    if any("E: Failed to fetch ") || any("E: Unable to fetch some archives") {
        return FailureReason::Download;
    }
    if any("script subprocess returned error exit status") {
        let mut packages: Vec<String> =
            listed_after(&lines, "Errors were encountered while processing:")
                .into_iter()
                .filter(|item| !item.contains('/'))
                .collect();
        packages.dedup();
        return FailureReason::Scriptlet { packages };
    }
    FailureReason::Other
}

/// `Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 222 (perl)`, as apt
/// prints it waiting (`Waiting for cache lock: …...`) and giving up (`E: …`).
fn holder(line: &str) -> Option<model::LockHolder> {
    let (_, rest) = line.split_once("Could not get lock ")?;
    let (path, rest) = rest.split_once(". It is held by process ")?;
    let (pid, rest) = rest.split_once(' ').unwrap_or((rest.trim_end_matches('.'), ""));
    let command = rest.strip_prefix('(').and_then(|r| r.split_once(')')).map(|(c, _)| c);
    lock_holder(path, pid, command)
}

/// `E: Unable to locate package acme-nope:all`, `E: Version '9.9-1' for 'acme-web' was not
/// found` (as `acme-web=9.9-1`), `E: Couldn't find any package by glob 'x'`.
fn not_found(line: &str) -> Option<String> {
    let line = line.strip_prefix("E: ")?;
    if let Some(name) = line.strip_prefix("Unable to locate package ") {
        return Some(name.trim().to_owned());
    }
    if let Some(rest) = line.strip_prefix("Version '") {
        let (version, rest) = rest.split_once("' for '")?;
        let name = rest.strip_suffix("' was not found")?;
        return Some(format!("{name}={version}"));
    }
    if let Some(rest) = line.strip_prefix("Release '") {
        let (release, rest) = rest.split_once("' for '")?;
        let name = rest.strip_suffix("' was not found")?;
        return Some(format!("{name}/{release}"));
    }
    let rest = line
        .strip_prefix("Couldn't find any package by glob '")
        .or_else(|| line.strip_prefix("Couldn't find any package by regex '"))?;
    Some(rest.trim_end_matches('\'').to_owned())
}

/// The indented words listed under `heading` (`Errors were encountered while processing:` then
/// ` acme-broken` one a line; `The following held packages will be changed:` then `  a b`).
fn listed_after(lines: &[&str], heading: &str) -> Vec<String> {
    let Some(start) = lines.iter().position(|l| l.trim_end() == heading) else {
        return Vec::new();
    };
    lines[start + 1..]
        .iter()
        .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
        .flat_map(|l| l.split_whitespace())
        .map(str::to_owned)
        .collect()
}
