//! What an apply or rollback did, read from its exit code, standard output and standard error:
//! succeeded with the changes, or failed with a reason a rollout can act on and the end of the
//! output for the report.

use model::{LockHolder, PackageManagerKind};

use super::{outcome_apt, outcome_dnf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    Succeeded {
        changes: Vec<PackageChange>,
    },
    Failed {
        reason: FailureReason,
        exit_code: i32,
        /// What the package manager did before it failed: a failed apply can leave packages
        /// upgraded, or unpacked and not configured.
        changes: Vec<PackageChange>,
        /// The end of the output, capped ([`output_tail`]).
        output_tail: String,
    },
}

impl ApplyOutcome {
    pub fn succeeded(&self) -> bool {
        matches!(self, ApplyOutcome::Succeeded { .. })
    }

    pub fn changes(&self) -> &[PackageChange] {
        match self {
            ApplyOutcome::Succeeded { changes } | ApplyOutcome::Failed { changes, .. } => changes,
        }
    }
}

/// Why an apply failed, as far as the output says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// A maintainer script (dpkg's postinst, prerm, …) or an rpm scriptlet (`%post`, `%pre`, …)
    /// failed. The packages it names; dpkg leaves them unpacked or half-configured, rpm leaves
    /// them installed.
    Scriptlet { packages: Vec<String> },
    /// Another process holds the package manager's lock (after apt's lock timeout; at once for
    /// dnf, which the driver retries). The holder when the output names it.
    Locked { holder: Option<LockHolder> },
    /// A package or exact version that no repository offers, as the package manager wrote it.
    NotFound { items: Vec<String> },
    /// A held (apt-mark hold) or excluded/version-locked (dnf) package was asked for.
    Held { items: Vec<String> },
    /// apt: the host has a newer version than the plan, and apply does not downgrade.
    WouldDowngrade,
    /// apt: the request needs a package removed, and apply does not remove.
    WouldRemove,
    /// The package manager cannot resolve the dependencies of the request.
    Dependencies,
    /// No space left (the download cache, `/`, `/boot`).
    DiskFull,
    /// dpkg was interrupted earlier; `dpkg --configure -a` must run first.
    Interrupted,
    /// A package or repository metadata could not be downloaded.
    Download,
    /// Anything else: the output tail says what.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Installed,
    Upgraded,
    Downgraded,
    Reinstalled,
    Removed,
}

/// One package the package manager changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageChange {
    pub name: String,
    /// dnf always names it; dpkg only for a package of a foreign architecture (`libc6:i386`).
    pub arch: Option<String>,
    pub kind: ChangeKind,
    /// The version installed now, or the one removed.
    pub version: String,
    /// The version it replaced, where the output says it (dpkg does, dnf's summary does not).
    pub previous_version: Option<String>,
}

/// Output that does not read as the package manager's: cut short, or of an unknown shape. Not
/// a failed apply, which is [`ApplyOutcome::Failed`]: patchctl cannot tell what happened, and
/// the host must be assessed again to find out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{command}: {problem}")]
pub struct OutputError {
    pub command: &'static str,
    pub problem: String,
}

/// Reads the result of [`apply_command`](super::apply_command) or
/// [`rollback_commands`](super::rollback_commands) from its exit code and outputs (run
/// directly, or as a unit whose exit code came from [`UnitState`](super::UnitState)).
pub fn parse_apply_output(
    kind: PackageManagerKind,
    exit_code: i32,
    stdout: &str,
    stderr: &str,
) -> Result<ApplyOutcome, OutputError> {
    let (reason, changes) = match kind {
        PackageManagerKind::Apt => outcome_apt::parse(exit_code, stdout, stderr)?,
        PackageManagerKind::Dnf => outcome_dnf::parse(exit_code, stdout, stderr)?,
    };
    Ok(match reason {
        None => ApplyOutcome::Succeeded { changes },
        Some(reason) => ApplyOutcome::Failed {
            reason,
            exit_code,
            changes,
            output_tail: output_tail(stdout, stderr),
        },
    })
}

/// How many lines, and bytes, of each stream [`output_tail`] keeps.
const TAIL_LINES: usize = 30;
const TAIL_BYTES: usize = 4000;

/// The last lines of standard output, then of standard error after a `--- stderr ---` line
/// when it has any; each at most 30 lines and 4000 bytes, lines as a terminal would show them
/// (progress overwritten with carriage returns is dropped).
pub fn output_tail(stdout: &str, stderr: &str) -> String {
    let mut tail = tail_of(stdout);
    let err = tail_of(stderr);
    if !err.is_empty() {
        if !tail.is_empty() {
            tail.push('\n');
        }
        tail.push_str("--- stderr ---\n");
        tail.push_str(&err);
    }
    tail
}

fn tail_of(text: &str) -> String {
    let lines: Vec<&str> = screen_lines(text).filter(|l| !l.trim().is_empty()).collect();
    let joined = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    if joined.len() <= TAIL_BYTES {
        return joined;
    }
    let mut start = joined.len() - TAIL_BYTES;
    while !joined.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &joined[start..])
}

/// The lines of `text` as a terminal shows them: a line ending in CR LF (dpkg writes to a pty)
/// loses the CR, and of a line that returns the carriage in between (`(Reading database ...
/// 5%\r(Reading database ... 10%`), only the text after the last CR is left.
pub(crate) fn screen_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|line| {
        let line = line.trim_end_matches('\r');
        line.rsplit('\r').next().unwrap_or(line)
    })
}

/// A lock holder from what the output says: the lock file, the pid as printed, and the
/// holder's command name when printed.
pub(crate) fn lock_holder(path: &str, pid: &str, command: Option<&str>) -> Option<LockHolder> {
    let pid = pid.parse::<u32>().ok().filter(|pid| *pid > 0)?;
    Some(LockHolder {
        path: path.to_owned(),
        pid,
        command: command.filter(|c| !c.is_empty()).map(str::to_owned),
    })
}
