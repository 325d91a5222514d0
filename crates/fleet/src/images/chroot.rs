//! A scratch directory for a root filesystem and the bind mounts a chroot needs, both undone on
//! drop, a runner for the commands that build it, and a lock that serializes builds.
//!
//! The order of cleanup matters: removing a root filesystem while the host's `/dev` is still
//! bind-mounted inside it would delete the host's device nodes. So [`Scratch`] unmounts whatever is
//! still mounted under it first, and refuses to delete anything if an unmount fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;

const SCRATCH_PREFIX: &str = "patchctl-image-";

/// A directory under the system's temp dir, deleted (after unmounting anything below it) on drop.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates a fresh scratch dir. Also cleans up scratch dirs that an earlier, killed run of this
    /// program left behind (their process is gone), mounts included.
    pub fn create() -> anyhow::Result<Scratch> {
        remove_stale_scratch_dirs();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("{SCRATCH_PREFIX}{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Scratch { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        remove_scratch_dir(&self.path);
    }
}

/// `/proc`, `/sys`, `/dev` and `/dev/pts` bind-mounted into a root filesystem, unmounted (in
/// reverse order) on drop, also when the build fails half-way.
pub struct ChrootMounts {
    mounted: Vec<PathBuf>,
}

impl ChrootMounts {
    pub fn mount(rootfs: &Path) -> anyhow::Result<ChrootMounts> {
        let mut mounts = ChrootMounts { mounted: Vec::new() };
        // Without /dev/pts, apt prints `E: Can not write log (Is /dev/pts mounted?)`.
        for host_dir in ["/proc", "/sys", "/dev", "/dev/pts"] {
            let target = rootfs.join(host_dir.trim_start_matches('/'));
            std::fs::create_dir_all(&target)
                .with_context(|| format!("creating {}", target.display()))?;
            run(
                Command::new("mount").arg("--bind").arg(host_dir).arg(&target),
                &format!("bind-mounting {host_dir} into the root filesystem"),
            )?;
            // Pushed only once mounted, so that drop never unmounts something it did not mount.
            mounts.mounted.push(target);
        }
        Ok(mounts)
    }

    /// Bind-mounts `source` read-only at `target` (created if missing) inside the root
    /// filesystem; unmounted with the others on drop, before them.
    pub fn bind_read_only(&mut self, source: &Path, target: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(target)
            .with_context(|| format!("creating {}", target.display()))?;
        run(
            Command::new("mount").arg("--bind").arg(source).arg(target),
            &format!("bind-mounting {} into the root filesystem", source.display()),
        )?;
        self.mounted.push(target.to_owned());
        run(
            Command::new("mount").args(["-o", "remount,bind,ro"]).arg(target),
            &format!("making the bind mount of {} read-only", source.display()),
        )
    }
}

/// `chroot ROOTFS PROGRAM` with a clean environment (what a root login shell would have, plus
/// `LC_ALL=C` and a non-interactive debconf), ready for arguments.
pub fn chroot_command(rootfs: &Path, program: &str) -> Command {
    let mut command = Command::new("chroot");
    command
        .arg(rootfs)
        .arg(program)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .env("HOME", "/root")
        .env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// An exclusive lock on a file (created if missing), held until drop: builds of the same thing
/// in two processes or threads (tests side by side) wait for each other instead of racing.
pub struct BuildLock {
    _file: std::fs::File,
}

impl BuildLock {
    pub fn acquire(path: &Path) -> anyhow::Result<BuildLock> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        if file.try_lock().is_err() {
            eprintln!("waiting for another build holding {}", path.display());
            file.lock().with_context(|| format!("locking {}", path.display()))?;
        }
        Ok(BuildLock { _file: file })
    }
}

impl Drop for ChrootMounts {
    fn drop(&mut self) {
        while let Some(target) = self.mounted.pop() {
            unmount(&target);
        }
    }
}

/// Runs a command to completion with its output captured; on failure the error carries `what`,
/// the exit status and the last lines of its output.
pub fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{what}: starting {:?}", command.get_program()))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    anyhow::bail!("{what}: {:?} failed ({}):\n{tail}", command.get_program(), output.status)
}

fn unmount(target: &Path) {
    let quiet = |args: &[&str]| {
        Command::new("umount")
            .args(args)
            .arg(target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    // A process that still has a file open under the mount point makes a plain unmount fail; the
    // lazy one detaches it anyway, which is enough to make deleting the scratch dir safe.
    if !quiet(&[]) && !quiet(&["--lazy"]) {
        eprintln!("warning: could not unmount {}", target.display());
    }
}

/// Mount points at or below `dir`, deepest first, from /proc/self/mountinfo.
fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|escaped| PathBuf::from(escaped.replace("\\040", " ")))
        .filter(|mount_point| mount_point.starts_with(dir))
        .collect();
    found.sort_by_key(|path| std::cmp::Reverse(path.components().count()));
    found.dedup();
    found
}

fn remove_scratch_dir(path: &Path) {
    for mount_point in mounts_below(path) {
        unmount(&mount_point);
    }
    if !mounts_below(path).is_empty() {
        eprintln!("warning: left {} in place: something is still mounted below it", path.display());
        return;
    }
    if let Err(error) = std::fs::remove_dir_all(path) {
        eprintln!("warning: could not remove {}: {error}", path.display());
    }
}

fn remove_stale_scratch_dirs() {
    let Ok(read_dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in read_dir.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next() else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            eprintln!("removing {} left by an earlier run", entry.path().display());
            remove_scratch_dir(&entry.path());
        }
    }
}
