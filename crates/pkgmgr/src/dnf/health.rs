//! Whether dnf can be used right now: `dnf check` (duplicates an interrupted transaction left,
//! broken dependencies) and dnf's rpmdb lock, a file holding the pid of the dnf that runs a
//! transaction.

use model::{Health, LockHolder};

use crate::error::AssessError;
use crate::probe::{Gathered, ProbeOutput, ProbeSpec};

use super::batch::DnfCommand;

pub const CHECK: &str = "dnf check";
pub const RPMDB_LOCK: &str = "dnf rpmdb lock";
pub const PROCESSES: &str = "processes";

/// dnf 4 (`dnf/lock.py`) writes its pid here for the length of a transaction and removes the
/// file after; it locks the file only while writing it, so `/proc/locks` shows nothing.
pub const RPMDB_LOCK_PATH: &str = "/var/lib/dnf/rpmdb_lock.pid";

/// `dnf check` stays: rpm's own dependency check (`rpm -Va --nofiles`) finds the same broken
/// dependencies and obsoleted packages, but took 13.7 s of CPU against dnf check's 0.4 s on a
/// database of 1,500 packages (it checks each package against the whole database in turn).
pub const COMMAND: DnfCommand =
    DnfCommand { key: CHECK, args: &["-q", "--disablerepo=*", "check"] };

pub fn probes() -> Vec<ProbeSpec> {
    vec![
        ProbeSpec::read_file(RPMDB_LOCK, RPMDB_LOCK_PATH),
        // Whether the pid in the lock file is alive, as dnf itself decides it.
        ProbeSpec::list_dir(PROCESSES, "/proc"),
    ]
}

pub fn health(gathered: &Gathered) -> Result<Health, AssessError> {
    let mut audit = check(gathered)?;
    let interrupted = audit.iter().any(|line| line.contains(" is a duplicate with "));
    let mut locks = Vec::new();
    if let Some(text) = gathered.file(RPMDB_LOCK)? {
        match parse_lock_pid(text) {
            LockFile::Free => {}
            LockFile::Pid(pid) => {
                // Without the process list, assume the holder is alive.
                let alive = match gathered.dir(PROCESSES) {
                    Ok(Some(names)) => names.iter().any(|name| *name == pid.to_string()),
                    Ok(None) | Err(_) => true,
                };
                if alive {
                    locks.push(LockHolder { path: RPMDB_LOCK_PATH.to_owned(), pid, command: None });
                }
            }
            LockFile::Malformed => audit.push(format!(
                "{RPMDB_LOCK_PATH} does not hold a pid: dnf refuses to run until it is removed"
            )),
        }
    }
    Ok(Health { interrupted, audit, locks })
}

/// `dnf check` prints one problem a line (`acme-web-1.0-1.noarch is a duplicate with
/// acme-web-1.1-1.noarch`, `… has missing requires of …`) and exits 1 with `Error: Check
/// discovered N problem(s)`; exit code 1 with any other message is a failure.
fn check(gathered: &Gathered) -> Result<Vec<String>, AssessError> {
    let stdout = match gathered.get(CHECK) {
        Some(ProbeOutput::Ran { exit_code: 1, stdout, stderr })
            if stderr.contains("Check discovered") =>
        {
            stdout
        }
        _ => gathered.stdout(CHECK, &[0])?,
    };
    Ok(stdout.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect())
}

#[derive(Debug, PartialEq, Eq)]
enum LockFile {
    /// Empty: dnf takes such a file over.
    Free,
    Pid(u32),
    Malformed,
}

fn parse_lock_pid(text: &str) -> LockFile {
    let text = text.trim();
    if text.is_empty() {
        return LockFile::Free;
    }
    match text.parse::<u32>() {
        Ok(pid) if pid > 0 && text.bytes().all(|b| b.is_ascii_digit()) => LockFile::Pid(pid),
        _ => LockFile::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gathered(check: (i32, &str, &str), lock: Option<&str>, procs: Option<&[&str]>) -> Gathered {
        let mut gathered = Gathered::new();
        gathered.insert(
            CHECK,
            ProbeOutput::Ran {
                exit_code: check.0,
                stdout: check.1.to_owned(),
                stderr: check.2.to_owned(),
            },
        );
        gathered.insert(RPMDB_LOCK, ProbeOutput::File(lock.map(str::to_owned)));
        gathered.insert(
            PROCESSES,
            ProbeOutput::Dir(procs.map(|p| p.iter().map(|s| s.to_string()).collect())),
        );
        gathered
    }

    #[test]
    fn clean() {
        let check = (0, include_str!("../../test_data/dnf/updates-check.stdout"), "");
        assert_eq!(health(&gathered(check, None, Some(&["1"]))).unwrap(), Health::default());
    }

    #[test]
    fn duplicates_from_an_interrupted_transaction() {
        let check = (
            1,
            include_str!("../../test_data/dnf/duplicate-check.stdout"),
            include_str!("../../test_data/dnf/duplicate-check.stderr"),
        );
        let health = health(&gathered(check, None, None)).unwrap();
        assert!(health.interrupted);
        assert_eq!(
            health.audit,
            ["acme-web-1.0-1.noarch is a duplicate with acme-web-1.1-1.noarch"]
        );
        let failed = (1, "", "Error: rpmdb open failed\n");
        assert!(super::health(&gathered(failed, None, None)).is_err());
    }

    #[test]
    fn lock_held_by_a_live_process_only() {
        let pid = include_str!("../../test_data/dnf/locked-rpmdb_lock.pid");
        let check = (0, "", "");
        let live = health(&gathered(check, Some(pid), Some(&["1", pid, "self"]))).unwrap();
        assert_eq!(live.locks.len(), 1);
        assert_eq!(live.locks[0].pid.to_string(), pid);
        assert_eq!(live.locks[0].path, RPMDB_LOCK_PATH);
        let stale = health(&gathered(check, Some(pid), Some(&["1", "self"]))).unwrap();
        assert!(stale.locks.is_empty());
        let unknown = health(&gathered(check, Some(pid), None)).unwrap();
        assert_eq!(unknown.locks.len(), 1);
        let empty = health(&gathered(check, Some(""), Some(&["1"]))).unwrap();
        assert!(empty.locks.is_empty());
        let garbage = health(&gathered(check, Some("12ab\n"), Some(&["1"]))).unwrap();
        assert!(garbage.locks.is_empty());
        assert_eq!(garbage.audit.len(), 1);
        assert_eq!(parse_lock_pid("+5"), LockFile::Malformed);
        assert_eq!(parse_lock_pid("99999999999"), LockFile::Malformed);
        assert_eq!(parse_lock_pid("42\n"), LockFile::Pid(42));
    }
}
