//! The package lists a host's package manager resolves against: how old they are, and how to
//! refresh them (`apt-get update`, `dnf makecache`).
//!
//! Their time is when they were last refreshed successfully, as the package manager itself
//! records it where it does:
//!
//! - apt: the newest of `/var/lib/apt/periodic/update-success-stamp` (touched by
//!   apt.systemd.daily, by Ubuntu's apt hook, and by patchctl after a refresh that worked) and of
//!   the lists directory and its files (a refresh that brought new lists renames them into it;
//!   the files carry the mirror's own dates). `partial/` is left out: a failed refresh touches it.
//! - dnf: its cached primary metadata, whose time dnf resets each time it checks the repository
//!   (what `dnf check-update` reports as "Last metadata expiration check"); a failed check
//!   leaves it alone.
//!
//! A refresh fails closed: a mirror that cannot be reached,
//! an index that cannot be fetched, a Release file that expired or a bad signature make the
//! refresh fail, and the caller reports the host unknown and installs nothing, rather than
//! resolving against lists it knows to be stale.

use model::PackageManagerKind;

use crate::error::{AssessError, Problem};
use crate::probe::{CommandSpec, ProbeSpec};

/// The key the lists' times are filed under.
pub const LISTS_TIME: &str = "package lists' times";
/// The step a refresh is reported as.
pub const REFRESH: &str = "refreshing the package lists";

/// How long a refresh may take before it is stopped (`timeout`, then SIGKILL 10 s later):
/// less than a command's own time limit (300 s by default), so that the reason is this one.
pub const REFRESH_TIMEOUT_SECONDS: u32 = 240;

const APT_LISTS: &str = "/var/lib/apt/lists";
/// Debian's record of the last successful `apt-get update` (APT::Periodic's).
const APT_STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";
const DNF_CACHE: &str = "/var/cache/dnf";

/// The probe that lists the modification times the lists' age is read from.
pub fn time_probe(kind: PackageManagerKind) -> ProbeSpec {
    match kind {
        // find exits 1 when the stamp is missing, having printed the rest.
        PackageManagerKind::Apt => ProbeSpec::run(
            LISTS_TIME,
            [
                "find",
                APT_LISTS,
                APT_STAMP,
                "-maxdepth",
                "1",
                "!",
                "-name",
                "partial",
                "!",
                "-name",
                "lock",
                "-printf",
                "%T@\\n",
            ],
        ),
        PackageManagerKind::Dnf => ProbeSpec::run(
            LISTS_TIME,
            ["find", DNF_CACHE, "-maxdepth", "3", "-name", "*primary.xml*", "-printf", "%T@\\n"],
        ),
    }
}

/// The newest time `find -printf '%T@\n'` printed, in whole seconds since the epoch; `None`
/// when it printed none (no lists: never refreshed) or the directory is missing (`find` exits
/// 1 then). Lines that are not times are an error: something else answered.
pub fn parse_times(stdout: &str) -> Result<Option<i64>, AssessError> {
    let mut newest: Option<i64> = None;
    for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let whole = line.split_once('.').map_or(line, |(whole, _)| whole);
        let seconds: i64 = whole.parse().map_err(|_| {
            AssessError::new(
                LISTS_TIME,
                Problem::Invalid(format!("expected a time in seconds, got {line:?}")),
            )
        })?;
        newest = Some(newest.map_or(seconds, |n| n.max(seconds)));
    }
    Ok(newest)
}

/// The command that refreshes the lists, stopped after [`REFRESH_TIMEOUT_SECONDS`].
///
/// apt: `APT::Update::Error-Mode=any` makes apt (2.1.16 and later) fail on any index it could
/// not fetch instead of warning and keeping the old one; older apt ignores the option, and its
/// `W:`/`E:` lines are read instead ([`check_refresh`]). dnf: every repository must refresh
/// (`skip_if_unavailable=False`), whatever dnf.conf says.
pub fn refresh_command(kind: PackageManagerKind) -> CommandSpec {
    let timeout = REFRESH_TIMEOUT_SECONDS.to_string();
    let mut argv: Vec<String> =
        ["timeout", "--kill-after=10", timeout.as_str()].map(str::to_owned).to_vec();
    match kind {
        PackageManagerKind::Apt => argv.extend(
            ["apt-get", "update", "-q", "-o", "APT::Update::Error-Mode=any"].map(str::to_owned),
        ),
        PackageManagerKind::Dnf => argv.extend(
            ["dnf", "-q", "makecache", "--refresh", "--setopt=*.skip_if_unavailable=False"]
                .map(str::to_owned),
        ),
    }
    let command = CommandSpec::new(argv);
    match kind {
        PackageManagerKind::Apt => command.with_env("DEBIAN_FRONTEND", "noninteractive"),
        PackageManagerKind::Dnf => command,
    }
}

/// What to run after a refresh that worked: apt does not record one itself, so patchctl touches
/// Debian's stamp as apt.systemd.daily does.
pub fn after_refresh(kind: PackageManagerKind) -> Option<CommandSpec> {
    match kind {
        PackageManagerKind::Apt => Some(CommandSpec::new(["touch", "--", APT_STAMP])),
        PackageManagerKind::Dnf => None,
    }
}

/// Whether a refresh worked, from its exit code and output. A failure names what the package
/// manager said, first the lines that say what went wrong.
pub fn check_refresh(exit_code: i32, stdout: &str, stderr: &str) -> Result<(), AssessError> {
    let complaints: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .map(str::trim)
        .filter(|l| l.starts_with("E:") || l.starts_with("W:") || l.starts_with("Error"))
        .collect();
    let fail = |what: String| Err(AssessError::new(REFRESH, Problem::Invalid(what)));
    match exit_code {
        0 if complaints.is_empty() => Ok(()),
        // timeout(1): 124 after SIGTERM, 137 after SIGKILL.
        124 | 137 => fail(format!("stopped after {REFRESH_TIMEOUT_SECONDS} s")),
        code => {
            let said = if complaints.is_empty() {
                stderr.lines().map(str::trim).filter(|l| !l.is_empty()).take(5).collect()
            } else {
                complaints.into_iter().take(5).collect::<Vec<_>>()
            };
            fail(format!("exited {code}: {}", said.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> String {
        let path = format!("{}/test_data/lists/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_newest_time_is_the_lists_time() {
        assert_eq!(parse_times(&data("apt-find.stdout")).unwrap(), Some(1_796_599_610));
        assert_eq!(parse_times(&data("dnf-find.stdout")).unwrap(), Some(1_796_599_627));
        assert_eq!(parse_times("").unwrap(), None);
        assert!(parse_times("find: paths must precede expression\n").is_err());
    }

    #[test]
    fn a_refresh_that_worked() {
        check_refresh(0, &data("apt-update-ok.stdout"), "").unwrap();
        check_refresh(0, "", "").unwrap();
    }

    #[test]
    fn a_mirror_down_fails_the_refresh_with_what_apt_said() {
        let error =
            check_refresh(100, &data("apt-update-down.stdout"), &data("apt-update-down.stderr"))
                .unwrap_err()
                .to_string();
        assert!(error.contains("exited 100"), "{error}");
        assert!(error.contains("Failed to fetch"), "{error}");
    }

    #[test]
    fn a_dnf_repository_down_fails_the_refresh() {
        let error = check_refresh(1, "", &data("dnf-makecache-down.stderr")).unwrap_err();
        assert!(error.to_string().contains("exited 1"), "{error}");
    }

    #[test]
    fn a_refresh_stopped_by_its_timeout() {
        let error = check_refresh(124, "", "").unwrap_err().to_string();
        assert!(error.contains("stopped after 240 s"), "{error}");
    }
}
