//! Container images built with no registry: a debootstrap root filesystem, `docker import`ed and
//! tagged by a hash of its recipe so that an unchanged recipe is never rebuilt.
//!
//! The base image is Debian bookworm (minbase plus sshd and systemd) that carries its apt lists
//! for the release, `-updates` and `-security` suites, so `apt-get -s dist-upgrade` inside it shows
//! real pending security updates without any network. The mirror is this machine's, read at run
//! time; it is part of the hash, so a machine with another mirror gets its own tag.

mod chroot;
mod hosts;
mod install;
pub mod mirror;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

use chroot::{ChrootMounts, Scratch, chroot_command};
use mirror::DebianMirrors;

pub(crate) use chroot::{BuildLock, run};
pub use hosts::{FleetImages, fleet_images};
pub use install::install_test_image;

/// Bump when the build steps change in a way the other inputs do not show, to force a rebuild.
const RECIPE_VERSION: &str = "base-1";
const REPOSITORY: &str = "patchctl/bookworm-base";
const CODENAME: &str = "bookworm";
/// The suites the image's apt sources list. Only the first is used by debootstrap.
const SUITES: [&str; 3] = ["bookworm", "bookworm-updates", "bookworm-security"];
const INCLUDE: [&str; 7] =
    ["openssh-server", "systemd", "systemd-sysv", "dbus", "iproute2", "procps", "ca-certificates"];
const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// Debian's ssh.service refuses to start without host keys, and the image has none (each
/// container must get its own), so they are generated on the container's first start.
const SSH_HOST_KEYS_DROP_IN: &str = "\
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
";

/// Builds the base image unless an image with the same recipe hash exists; returns its tag.
pub fn base_image() -> anyhow::Result<String> {
    let mirrors = mirror::debian_mirrors(CODENAME)?;
    let tag = base_image_tag(&mirrors);
    if image_exists(&tag)? {
        return Ok(tag);
    }
    require_debootstrap()?;
    eprintln!("building {tag} (debootstrap, ~1 min)");
    let started = Instant::now();
    let scratch = Scratch::create()?;
    let rootfs = scratch.path().join("rootfs");
    debootstrap(&rootfs, &mirrors)?;
    eprintln!("  debootstrap done after {:.0?}; apt-get update in the chroot", started.elapsed());
    write_apt_sources(&rootfs, &mirrors)?;
    update_apt_lists(&rootfs)?;
    scrub(&rootfs)?;
    eprintln!("  docker import after {:.0?}", started.elapsed());
    docker_import(&rootfs, &tag, &[r#"CMD ["/bin/bash"]"#])?;
    drop(scratch);
    eprintln!("built {tag} in {:.0?}", started.elapsed());
    Ok(tag)
}

/// `patchctl/bookworm-base:<first 16 hex digits of the sha256 of the recipe's inputs>`.
pub fn base_image_tag(mirrors: &DebianMirrors) -> String {
    let inputs = format!(
        "recipe={RECIPE_VERSION}\ninclude={}\nsuites={}\nmain={}\nsecurity={}\n",
        INCLUDE.join(","),
        SUITES.join(","),
        mirrors.main,
        mirrors.security,
    );
    let digest = Sha256::digest(inputs.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{REPOSITORY}:{}", &hex[..16])
}

fn image_exists(tag: &str) -> anyhow::Result<bool> {
    let status = Command::new("docker")
        .args(["image", "inspect", tag])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running `docker image inspect` (is Docker installed?)")?;
    Ok(status.success())
}

fn require_debootstrap() -> anyhow::Result<()> {
    match Command::new("debootstrap").arg("--version").stdout(Stdio::null()).status() {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!(
                "debootstrap is not installed; install it with `apt-get install -y debootstrap`"
            )
        }
        Err(error) => Err(error).context("running `debootstrap --version`"),
    }
}

/// The release suite only: `-updates` and `-security` come in later as apt lists, so that their
/// updates stay pending inside the image.
fn debootstrap(rootfs: &Path, mirrors: &DebianMirrors) -> anyhow::Result<()> {
    run(
        Command::new("debootstrap")
            .arg("--variant=minbase")
            .arg(format!("--include={}", INCLUDE.join(",")))
            .arg(SUITES[0])
            .arg(rootfs)
            .arg(&mirrors.main)
            .env("LC_ALL", "C"),
        "debootstrap",
    )
}

fn write_apt_sources(rootfs: &Path, mirrors: &DebianMirrors) -> anyhow::Result<()> {
    let (security, regular): (Vec<&str>, Vec<&str>) =
        SUITES.iter().partition(|suite| suite.ends_with("-security"));
    let stanza = |uri: &str, suites: &[&str]| {
        format!(
            "Types: deb\nURIs: {uri}\nSuites: {}\nComponents: main\nSigned-By: {DEBIAN_KEYRING}\n",
            suites.join(" ")
        )
    };
    let sources =
        format!("{}\n{}", stanza(&mirrors.main, &regular), stanza(&mirrors.security, &security));
    // debootstrap's one-line sources.list would duplicate the release suite.
    remove_if_present(&rootfs.join("etc/apt/sources.list"))?;
    write(&rootfs.join("etc/apt/sources.list.d/debian.sources"), &sources)
}

/// `apt-get update` inside the chroot, with the bind mounts and the host's resolv.conf it needs.
fn update_apt_lists(rootfs: &Path) -> anyhow::Result<()> {
    let resolv_conf = std::fs::read("/etc/resolv.conf").context("reading /etc/resolv.conf")?;
    let target = rootfs.join("etc/resolv.conf");
    remove_if_present(&target)?;
    std::fs::write(&target, resolv_conf)
        .with_context(|| format!("writing {}", target.display()))?;
    let _mounts = ChrootMounts::mount(rootfs)?;
    run(chroot_command(rootfs, "apt-get").arg("update"), "apt-get update in the chroot")
}

/// Removes what must not be shared by every container (SSH host keys, machine-id) or leaks from
/// the build machine (hostname, resolv.conf, hosts), and the downloaded .debs.
fn scrub(rootfs: &Path) -> anyhow::Result<()> {
    for dir in
        ["var/cache/apt/archives", "var/cache/apt/archives/partial", "var/lib/apt/lists/partial"]
    {
        for entry in read_dir(&rootfs.join(dir))? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".deb") || (dir.ends_with("partial") && entry.path().is_file()) {
                remove_if_present(&entry.path())?;
            }
        }
    }
    // apt's binary caches are rebuilt on first use (a fraction of a second) and are 40+ MB.
    for entry in read_dir(&rootfs.join("var/cache/apt"))? {
        if entry.file_name().to_string_lossy().ends_with(".bin") {
            remove_if_present(&entry.path())?;
        }
    }
    for entry in read_dir(&rootfs.join("etc/ssh"))? {
        if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
            remove_if_present(&entry.path())?;
        }
    }
    write(&rootfs.join("etc/systemd/system/ssh.service.d/host-keys.conf"), SSH_HOST_KEYS_DROP_IN)?;
    // An empty machine-id makes systemd generate one at boot; dbus's copy must then not exist as a
    // separate file (a symlink to /etc/machine-id is fine).
    write(&rootfs.join("etc/machine-id"), "")?;
    let dbus_machine_id = rootfs.join("var/lib/dbus/machine-id");
    if dbus_machine_id.symlink_metadata().is_ok_and(|m| m.is_file()) {
        remove_if_present(&dbus_machine_id)?;
    }
    write(&rootfs.join("etc/hostname"), "localhost\n")?;
    remove_if_present(&rootfs.join("etc/resolv.conf"))?;
    write(&rootfs.join("etc/resolv.conf"), "")?;
    write(
        &rootfs.join("etc/hosts"),
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    )
}

/// `tar -C rootfs -c . | docker import --change … - TAG`, with the two processes joined by a
/// pipe. `changes` are Dockerfile instructions (`CMD`, `ENV`; import refuses `STOPSIGNAL`).
fn docker_import(rootfs: &Path, tag: &str, changes: &[&str]) -> anyhow::Result<()> {
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(rootfs)
        .args(["--numeric-owner", "-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting tar")?;
    let tar_stdout = tar.stdout.take().context("tar's stdout")?;
    let mut import = Command::new("docker");
    import.arg("import");
    for change in changes {
        import.args(["--change", change]);
    }
    let import = import.args(["-", tag]).stdin(tar_stdout).stdout(Stdio::null()).output();
    let tar_status = tar.wait().context("waiting for tar")?;
    let import = import.context("running docker import")?;
    anyhow::ensure!(tar_status.success(), "tar of the root filesystem failed ({tar_status})");
    anyhow::ensure!(
        import.status.success(),
        "docker import failed ({}): {}",
        import.status,
        String::from_utf8_lossy(&import.stderr).trim()
    );
    Ok(())
}

fn read_dir(dir: &Path) -> anyhow::Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("listing {}", dir.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(error).with_context(|| format!("listing {}", dir.display())),
    }
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Removes a file or symlink (never following it out of the root filesystem).
fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_depends_on_the_mirrors() {
        let a = DebianMirrors {
            main: "http://a.example/debian".into(),
            security: "http://a.example/debian-security".into(),
        };
        let b = DebianMirrors { main: "http://b.example/debian".into(), ..a.clone() };
        let tag = base_image_tag(&a);
        assert!(tag.starts_with("patchctl/bookworm-base:"), "{tag}");
        assert_eq!(tag.len(), "patchctl/bookworm-base:".len() + 16);
        assert_eq!(tag, base_image_tag(&a.clone()));
        assert_ne!(tag, base_image_tag(&b));
    }
}
