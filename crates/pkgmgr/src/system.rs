//! What every Linux host shares: os-release, the running and installed kernels, the boot id,
//! free disk space, and which processes hold a file lock.

use model::{DiskSpace, InstalledKernel, OsRelease, PackageManagerKind, version};

use crate::error::{AssessError, Problem};
use crate::probe::{Gathered, ProbeSpec};

pub const OS_RELEASE: &str = "os-release";
const OS_RELEASE_USR: &str = "os-release (/usr/lib)";
const KERNEL_RELEASE: &str = "kernel release";
const BOOT_ID: &str = "boot id";
const BOOT_DIR: &str = "/boot";
const DF: &str = "df";

/// The paths whose free space matters during an upgrade.
const DISK_PATHS: [&str; 2] = ["/", "/boot"];

pub fn probes() -> Vec<ProbeSpec> {
    let mut df = vec!["df", "--output=avail,size,target", "-B1", "--"];
    df.extend(DISK_PATHS);
    vec![
        ProbeSpec::read_file(OS_RELEASE, "/etc/os-release"),
        ProbeSpec::read_file(OS_RELEASE_USR, "/usr/lib/os-release"),
        ProbeSpec::read_file(KERNEL_RELEASE, "/proc/sys/kernel/osrelease"),
        ProbeSpec::read_file(BOOT_ID, "/proc/sys/kernel/random/boot_id"),
        ProbeSpec::list_dir(BOOT_DIR, "/boot"),
        ProbeSpec::run(DF, df),
    ]
}

/// `/etc/os-release`, or `/usr/lib/os-release` where the former is missing (os-release(5)).
pub fn os_release(gathered: &Gathered) -> Result<OsRelease, AssessError> {
    let text = match gathered.file(OS_RELEASE)? {
        Some(text) => text,
        None => gathered.file(OS_RELEASE_USR)?.ok_or_else(|| {
            AssessError::new(
                OS_RELEASE,
                Problem::UnsupportedOs(
                    "neither /etc/os-release nor /usr/lib/os-release exists".into(),
                ),
            )
        })?,
    };
    let os = OsRelease::parse(text);
    if os.id.is_empty() {
        return Err(AssessError::new(OS_RELEASE, Problem::Invalid("os-release has no ID=".into())));
    }
    Ok(os)
}

/// The parts of an assessment that do not depend on the package manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemState {
    pub running_kernel: String,
    /// Oldest first, by the package manager's version order.
    pub installed_kernels: Vec<InstalledKernel>,
    pub boot_id: String,
    pub disk: Vec<DiskSpace>,
}

impl SystemState {
    /// Why a reboot is needed for the kernel: the running kernel is installed under /boot, but
    /// a newer one is too. A running kernel with no boot image here (a container, a kernel
    /// booted from elsewhere) gives no verdict.
    pub fn kernel_reboot_reason(&self) -> Option<String> {
        let newest = self.installed_kernels.last()?;
        let running_is_installed =
            self.installed_kernels.iter().any(|k| k.release == self.running_kernel);
        (running_is_installed && newest.release != self.running_kernel).then(|| {
            format!(
                "running kernel {} is not the newest installed ({})",
                self.running_kernel, newest.release
            )
        })
    }
}

pub fn parse(gathered: &Gathered, _kind: PackageManagerKind) -> Result<SystemState, AssessError> {
    let running_kernel = single_line(gathered, KERNEL_RELEASE)?;
    let boot_id = single_line(gathered, BOOT_ID)?;
    let installed_kernels = kernels_in_boot(gathered.dir(BOOT_DIR)?.unwrap_or_default());
    let disk = parse_df(gathered.stdout(DF, &[0, 1])?)?;
    Ok(SystemState { running_kernel, installed_kernels, boot_id, disk })
}

fn single_line(gathered: &Gathered, key: &'static str) -> Result<String, AssessError> {
    let text = gathered
        .file(key)?
        .ok_or_else(|| AssessError::new(key, Problem::Invalid("the file does not exist".into())))?;
    let line = text.trim();
    if line.is_empty() || line.contains('\n') || line.len() > 256 {
        return Err(AssessError::garbage(key, 1, line, "one short line"));
    }
    Ok(line.to_owned())
}

/// Kernels from the names of boot images in /boot (`vmlinuz-RELEASE`), oldest first. Kernel
/// releases are ordered segment by segment (rpm's `rpmvercmp`), which orders Debian's
/// `6.1.0-9-amd64` before `6.1.0-26-amd64` and RHEL's `5.14.0-427.el9` releases alike.
pub fn kernels_in_boot(names: &[String]) -> Vec<InstalledKernel> {
    let mut kernels: Vec<InstalledKernel> = names
        .iter()
        .filter_map(|name| name.strip_prefix("vmlinuz-"))
        .filter(|release| !release.is_empty() && !release.contains("rescue"))
        .map(|release| InstalledKernel { release: release.to_owned(), package: None })
        .collect();
    kernels.sort_by(|a, b| version::rpm::rpmvercmp(&a.release, &b.release));
    kernels
}

/// `df --output=avail,size,target -B1 -- / /boot`. A path that does not exist makes df exit 1
/// and print no line for it; that path is then left out.
pub fn parse_df(stdout: &str) -> Result<Vec<DiskSpace>, AssessError> {
    let mut lines = stdout.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.split_whitespace().next() == Some("Avail") => {}
        Some((i, header)) => {
            return Err(AssessError::garbage(DF, i + 1, header, "df's header line"));
        }
        None => return Err(AssessError::new(DF, Problem::Invalid("no output".into()))),
    }
    let mut disk = Vec::new();
    for ((i, line), path) in lines.zip(DISK_PATHS) {
        let garbage = || AssessError::garbage(DF, i + 1, line, "AVAIL SIZE MOUNTPOINT");
        let (avail, rest) = next_word(line).ok_or_else(garbage)?;
        let (size, mount) = next_word(rest).ok_or_else(garbage)?;
        let (Ok(available_bytes), Ok(total_bytes)) = (avail.parse::<u64>(), size.parse::<u64>())
        else {
            return Err(garbage());
        };
        let mount = mount.trim_start();
        if mount.is_empty() {
            return Err(garbage());
        }
        disk.push(DiskSpace {
            path: path.to_owned(),
            mount: mount.to_owned(),
            available_bytes,
            total_bytes,
        });
    }
    Ok(disk)
}

/// The first white-space-separated word of `text`, and the rest after it.
fn next_word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    let end = text.find(char::is_whitespace)?;
    Some((&text[..end], &text[end..]))
}

/// A POSIX or OFD lock from `/proc/locks`: the holder's pid (`None` for OFD locks, which belong
/// to an open file rather than a process), and the locked file's device and inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLock {
    pub pid: Option<u32>,
    pub major: u32,
    pub minor: u32,
    pub inode: u64,
}

/// Parses `/proc/locks` (see proc(5)): `1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`.
/// Lines of a shape we do not know (blocked waiters start with `->`) are skipped: this file only
/// informs a message, it never decides anything.
pub fn parse_proc_locks(text: &str) -> Vec<FileLock> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(1) == Some(&"->") || fields.len() < 6 {
                return None;
            }
            let pid = fields[4].parse::<i64>().ok()?;
            let mut id = fields[5].split(':');
            let major = u32::from_str_radix(id.next()?, 16).ok()?;
            let minor = u32::from_str_radix(id.next()?, 16).ok()?;
            let inode = id.next()?.parse().ok()?;
            Some(FileLock { pid: u32::try_from(pid).ok().filter(|p| *p > 0), major, minor, inode })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_with_separate_boot_and_with_missing_boot() {
        let both = "   Avail      1B-blocks Mounted on\n85899345920 270582939648 /\n  400000000    500000000 /boot\n";
        let disk = parse_df(both).unwrap();
        assert_eq!(disk[1].mount, "/boot");
        assert_eq!(disk[0].available_bytes, 85899345920);
        let only_root = "   Avail      1B-blocks Mounted on\n85899345920 270582939648 /\n";
        assert_eq!(parse_df(only_root).unwrap().len(), 1);
        assert!(parse_df("garbage\n").is_err());
        assert!(parse_df("   Avail      1B-blocks Mounted on\nx y /\n").is_err());
    }

    #[test]
    fn mount_points_with_spaces() {
        let text = "Avail 1B-blocks Mounted on\n10 20 /mnt/my disk\n";
        assert_eq!(parse_df(text).unwrap()[0].mount, "/mnt/my disk");
    }

    #[test]
    fn kernels_oldest_first() {
        let names: Vec<String> = [
            "config-6.1.0-9-amd64",
            "vmlinuz-6.1.0-26-amd64",
            "vmlinuz-6.1.0-9-amd64",
            "initrd.img-6.1.0-9-amd64",
            "vmlinuz-0-rescue-abc",
        ]
        .map(String::from)
        .to_vec();
        let releases: Vec<String> =
            kernels_in_boot(&names).into_iter().map(|k| k.release).collect();
        assert_eq!(releases, ["6.1.0-9-amd64", "6.1.0-26-amd64"]);
    }

    #[test]
    fn proc_locks() {
        let text = "1: POSIX  ADVISORY  WRITE 4242 00:2d:1234567 0 EOF\n1: -> POSIX  ADVISORY  WRITE 99 00:2d:1234567 0 EOF\n2: OFDLCK ADVISORY  READ  -1 fd:01:42 0 EOF\n3: FLOCK  ADVISORY  WRITE 77 08:10:9 0 EOF\n";
        let locks = parse_proc_locks(text);
        assert_eq!(locks.len(), 3);
        assert_eq!(locks[0], FileLock { pid: Some(4242), major: 0, minor: 0x2d, inode: 1234567 });
        assert_eq!(locks[1].pid, None);
        assert_eq!(locks[1].major, 0xfd);
    }
}
