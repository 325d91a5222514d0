//! `dnf install` and `dnf remove`'s result: the summary dnf prints at the end (`Upgraded:`,
//! `Installed:`, … and `Complete!`) for what changed, its messages for why it failed.
//!
//! dnf (like rpm under it) exits 0 when a `%post`, `%preun`, `%postun` or `%posttrans`
//! scriptlet fails: the package is then installed, or the old one left behind, with its
//! scriptlet's work undone. Only the output says so (`Error in POSTIN scriptlet in rpm package
//! acme-broken` on standard error, `warning: %post(acme-broken-1.1-1.noarch) scriptlet failed,
//! exit status 1` on standard output), and patchctl counts it as a failed apply.

use crate::dnf::Nevra;

use super::outcome::{
    ChangeKind, FailureReason, OutputError, PackageChange, lock_holder, screen_lines,
};

const COMMAND: &str = "dnf";

/// The pid file of dnf 4's rpmdb lock, which its "already locked" message does not name.
const RPMDB_LOCK_PATH: &str = "/var/lib/dnf/rpmdb_lock.pid";

pub(crate) fn parse(
    exit_code: i32,
    stdout: &str,
    stderr: &str,
) -> Result<(Option<FailureReason>, Vec<PackageChange>), OutputError> {
    let changes = changes(stdout)?;
    let lines: Vec<&str> = screen_lines(stdout).chain(screen_lines(stderr)).collect();
    let failed_scriptlets = scriptlet_failures(&lines);
    if exit_code == 0 {
        let complete = lines.iter().any(|l| *l == "Complete!" || *l == "Nothing to do.");
        if !complete {
            return Err(OutputError {
                command: COMMAND,
                problem: "exit code 0, but the output does not end with \"Complete!\"".into(),
            });
        }
        if !failed_scriptlets.is_empty() {
            return Ok((Some(FailureReason::Scriptlet { packages: failed_scriptlets }), changes));
        }
        return Ok((None, changes));
    }
    Ok((Some(reason(exit_code, &lines, failed_scriptlets)), changes))
}

/// The sections of dnf's closing summary, and what each means.
const SECTIONS: [(&str, ChangeKind); 5] = [
    ("Upgraded:", ChangeKind::Upgraded),
    ("Installed:", ChangeKind::Installed),
    ("Downgraded:", ChangeKind::Downgraded),
    ("Reinstalled:", ChangeKind::Reinstalled),
    ("Removed:", ChangeKind::Removed),
];

/// The NEVRAs under each summary heading, several to a line, up to a blank line.
fn changes(stdout: &str) -> Result<Vec<PackageChange>, OutputError> {
    let mut changes = Vec::new();
    let mut section: Option<ChangeKind> = None;
    for (i, line) in screen_lines(stdout).enumerate() {
        if line.trim().is_empty() || !line.starts_with(' ') {
            section = SECTIONS.iter().find(|(heading, _)| line == *heading).map(|(_, kind)| *kind);
            continue;
        }
        let Some(kind) = section else { continue };
        for word in line.split_whitespace() {
            let nevra = Nevra::parse(word).ok_or_else(|| OutputError {
                command: COMMAND,
                problem: format!(
                    "line {}: expected NAME-VERSION-RELEASE.ARCH, got {word:?}",
                    i + 1
                ),
            })?;
            changes.push(PackageChange {
                name: nevra.name,
                arch: Some(nevra.arch),
                kind,
                version: nevra.evr.to_string(),
                previous_version: None,
            });
        }
    }
    Ok(changes)
}

/// The packages whose scriptlets failed: `Error in POSTIN scriptlet in rpm package NAME` (any
/// phase) and `warning: %post(NEVRA) scriptlet failed, exit status 1`.
fn scriptlet_failures(lines: &[&str]) -> Vec<String> {
    let mut packages: Vec<String> = Vec::new();
    for line in lines {
        let name = if let Some((_, name)) = line.split_once(" scriptlet in rpm package ") {
            line.starts_with("Error in ").then(|| name.trim().to_owned())
        } else if let Some(rest) = line.strip_prefix("warning: %") {
            rest.split_once('(')
                .and_then(|(_, rest)| rest.split_once(") scriptlet failed"))
                .map(|(nevra, _)| Nevra::parse(nevra).map_or_else(|| nevra.to_owned(), |n| n.name))
        } else {
            None
        };
        if let Some(name) = name.filter(|n| !n.is_empty() && !packages.contains(n)) {
            packages.push(name);
        }
    }
    packages
}

fn reason(exit_code: i32, lines: &[&str], failed_scriptlets: Vec<String>) -> FailureReason {
    let any = |needle: &str| lines.iter().any(|l| l.contains(needle));
    let after = |prefix: &str| -> Vec<String> {
        lines
            .iter()
            .filter_map(|l| l.split_once(prefix).map(|(_, item)| item.trim().to_owned()))
            .filter(|item| !item.is_empty())
            .collect()
    };

    // `RPMDB already locked by 163` and, when dnf can tell, `The application with PID 163 is:
    // sleep`; dnf exits 200 for it.
    if exit_code == 200 || any("already locked by ") {
        let pid = after("already locked by ").into_iter().next();
        let command = pid.as_ref().and_then(|pid| {
            after(&format!("The application with PID {pid} is: ")).into_iter().next()
        });
        let holder = pid.and_then(|pid| lock_holder(RPMDB_LOCK_PATH, &pid, command.as_deref()));
        return FailureReason::Locked { holder };
    }
    let filtered = after("All matches were filtered out by exclude filtering for argument: ");
    if !filtered.is_empty() {
        return FailureReason::Held { items: filtered };
    }
    let mut missing = after("No match for argument: ");
    if missing.is_empty() {
        missing = after("Error: Unable to find a match: ");
    }
    if !missing.is_empty() {
        return FailureReason::NotFound { items: missing };
    }
    if any("No space left on device") || any("more space needed on the") || any("more space on the")
    {
        return FailureReason::DiskFull;
    }
    if !failed_scriptlets.is_empty() {
        return FailureReason::Scriptlet { packages: failed_scriptlets };
    }
    if lines.iter().any(|l| l.trim_start().starts_with("Problem"))
        || any("nothing provides ")
        || any("conflicting requests")
    {
        return FailureReason::Dependencies;
    }
    if any("Failed to download metadata")
        || any("Curl error")
        || any("Error downloading packages")
        || any("Cannot download")
    {
        return FailureReason::Download;
    }
    FailureReason::Other
}
