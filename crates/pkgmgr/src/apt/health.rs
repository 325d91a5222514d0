//! Whether dpkg and apt can be used right now: an interrupted dpkg, packages left half-done,
//! and processes holding the locks.

use model::LockHolder;

use crate::error::AssessError;
use crate::system::{self, FileLock};

/// The lock files apt and dpkg take, in the order a frontend takes them.
pub const LOCK_FILES: [&str; 4] = [
    "/var/lib/dpkg/lock-frontend",
    "/var/lib/dpkg/lock",
    "/var/lib/apt/lists/lock",
    "/var/cache/apt/archives/lock",
];

/// dpkg was interrupted when its journal directory holds update files (their names are
/// numbers): apt then refuses to run until `dpkg --configure -a`.
pub fn interrupted(updates_dir: &[String]) -> bool {
    updates_dir.iter().any(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()))
}

/// The paragraphs `dpkg --audit` prints, one line each with their packages: empty when clean.
pub fn parse_audit(stdout: &str) -> Vec<String> {
    stdout.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
}

/// Lock holders, from `stat -c '%D %i %n' LOCK_FILES…` (the file system's device number in hex,
/// the inode, the path) and `/proc/locks`. A lock file that does not exist has no line and no
/// holder. (`%t %T` would be wrong: they are the device numbers a device file points to, and
/// print `0 0` for a regular file.)
pub fn lock_holders(
    stat_stdout: &str,
    proc_locks: &str,
    step: &str,
) -> Result<Vec<LockHolder>, AssessError> {
    let locks = system::parse_proc_locks(proc_locks);
    let mut holders = Vec::new();
    for (index, line) in stat_stdout.lines().enumerate() {
        let mut fields = line.splitn(3, ' ');
        let parsed = (|| {
            let (major, minor) = split_device(u64::from_str_radix(fields.next()?, 16).ok()?);
            let inode: u64 = fields.next()?.parse().ok()?;
            Some((major, minor, inode, fields.next()?))
        })();
        let Some((major, minor, inode, path)) = parsed else {
            return Err(AssessError::garbage(step, index + 1, line, "MAJOR MINOR INODE PATH"));
        };
        let held = locks
            .iter()
            .filter(|l: &&FileLock| l.major == major && l.minor == minor && l.inode == inode);
        for lock in held {
            // An OFD lock has no owning pid; the holder is then unknown but the lock is real.
            holders.push(LockHolder {
                path: path.to_owned(),
                pid: lock.pid.unwrap_or(0),
                command: None,
            });
        }
    }
    holders.dedup();
    Ok(holders)
}

/// Linux's `dev_t` encoding (glibc's `gnu_dev_major` and `gnu_dev_minor`).
fn split_device(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupted_when_journal_has_numbered_files() {
        assert!(!interrupted(&[]));
        assert!(!interrupted(&["tmp.i".to_owned()]));
        assert!(interrupted(&["0001".to_owned()]));
    }

    #[test]
    fn lock_held_by_a_process() {
        let stat = "2d 1234 /var/lib/dpkg/lock-frontend\n2d 1235 /var/lib/dpkg/lock\n";
        let locks = "1: POSIX  ADVISORY  WRITE 4242 00:2d:1234 0 EOF\n";
        let holders = lock_holders(stat, locks, "locks").unwrap();
        assert_eq!(split_device(0x10302), (0x103, 0x02));
        assert_eq!(split_device(0x2d), (0, 0x2d));
        assert_eq!(
            holders,
            [LockHolder { path: "/var/lib/dpkg/lock-frontend".into(), pid: 4242, command: None }]
        );
        assert!(lock_holders(stat, "", "locks").unwrap().is_empty());
        assert!(lock_holders("nonsense\n", "", "locks").is_err());
    }
}
