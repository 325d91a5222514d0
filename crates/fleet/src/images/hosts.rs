//! The two fleet host images, derived from the base image offline: `patchctl/fleet-debian` (apt)
//! and `patchctl/fleet-rpm` (Debian's dnf and rpm, dressed as an RPM distribution). Both boot
//! systemd, run sshd (root by key only) and acme-web, have busybox, and have version 1.0 of
//! every scenario package of `scenario::PACKAGES` installed, with their package
//! sources pointing at `http://repo/`.
//!
//! How they are derived: the base image's file system is copied out (`docker create` + `docker
//! export`, the container never started), changed in a chroot with the same guarded mounts as
//! the base build, and `docker import`ed. Not `docker build FROM base`: its `RUN` steps would need
//! the default bridge network to reach Debian's mirror and a copy of the scenario repository in
//! a layer, and every step would add a layer. One exception: `docker import` refuses
//! `STOPSIGNAL`, so a last `docker build` with that single instruction (no `RUN`, no container
//! started, no network) sets it. systemd halts on `SIGRTMIN+3`; on Docker's default `SIGTERM` it
//! would re-execute itself and `docker stop` would wait 10 s and kill it.
//!
//! The images are tagged by a hash of the base tag, the scenario hash and this recipe, so an
//! unchanged recipe is never rebuilt.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;
use model::PackageManagerKind;
use sha2::{Digest as _, Sha256};

use super::chroot::{BuildLock, ChrootMounts, Scratch, chroot_command, run};
use super::{docker_import, image_exists, read_dir, remove_if_present, scrub, write};
use crate::scenario::{self, BASE_PROVIDES_PACKAGE, PACKAGES, Scenario, Version};

/// Bump when the build steps change in a way the constants below do not show.
const RECIPE_VERSION: &str = "hosts-1";
const DEBIAN_REPOSITORY: &str = "patchctl/fleet-debian";
const RPM_REPOSITORY: &str = "patchctl/fleet-rpm";
/// Installed from Debian's mirror into both images. python3 because Ansible's modules need it
/// (`cargo xtask bench rollout` runs Ansible against the fleet), as almost every server has it.
const COMMON_PACKAGES: [&str; 2] = ["busybox", "python3"];
/// Installed from Debian's mirror into the Debian image: Ansible's `apt` module needs python3-apt;
/// grub2-common brings GRUB's tools (`grub-set-default`, `grub-editenv`, `update-grub`), as a
/// server booted by GRUB has them. A container boots no bootloader: a host has no
/// `/boot/grub/grub.cfg`, and so no bootloader as patchctl sees it, unless a test makes one.
/// needrestart names the services running replaced code (`restart_services`); its apt hook only
/// lists them under patchctl, which sets `NEEDRESTART_MODE=l`.
const APT_TOOLS: [&str; 3] = ["python3-apt", "grub2-common", "needrestart"];
/// Installed from Debian's mirror into the RPM image.
const RPM_TOOLS: [&str; 3] = ["dnf", "dnf-plugins-core", "rpm"];
/// Where the scenario root is bind-mounted (read-only) in the chroot during the build.
const SCENARIO_MOUNT: &str = "tmp/patchctl-scenario";
pub(super) const STOP_SIGNAL: &str = "SIGRTMIN+3";
/// Dockerfile instructions given to `docker import`.
pub(super) const IMPORT_CHANGES: [&str; 2] = ["ENV container=docker", r#"CMD ["/sbin/init"]"#];
/// Timers that would start apt or dnf by themselves, at a random time, and take the package
/// manager's lock in the middle of a test: masked, so that a fleet host's lock is only ever held
/// by what a test runs (`hold-lock` among them).
const MASKED_UNITS: [&str; 3] =
    ["apt-daily.timer", "apt-daily-upgrade.timer", "dnf-makecache.timer"];
/// Debian's sshd_config includes `sshd_config.d/*.conf` first, and the first value wins.
const SSHD_DROP_IN: &str = "\
# patchctl test fleet: root logs in with a key, never with a password.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
";
const APT_SOURCES: &str = "\
deb [trusted=yes] http://repo/apt bookworm main
deb [trusted=yes] http://repo/apt bookworm-security main
";
const RPM_REPO_FILE: &str = "\
[acme]
name=Acme packages (patchctl test fleet)
baseurl=http://repo/rpm
enabled=1
gpgcheck=0
metadata_expire=0
skip_if_unavailable=False
";
const OS_RELEASE: &str = "\
NAME=\"Acme Enterprise Linux\"
VERSION=\"1 (patchctl test fleet)\"
ID=acme-el
ID_LIKE=\"rhel fedora\"
VERSION_ID=1
PRETTY_NAME=\"Acme Enterprise Linux 1 (patchctl test fleet)\"
ANSI_COLOR=\"0;31\"
HOME_URL=\"https://acme.example/\"
";
/// dnf reads the release version from here (else: "Unable to detect release version").
const RELEASEVER: &str = "1\n";
/// Debian's rpm keeps its database in `~/.rpmdb` unless told otherwise.
const RPM_DBPATH_MACRO: &str = "%_dbpath /var/lib/rpm\n";

/// The tags of the two host images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetImages {
    /// `patchctl/fleet-debian:<hash>`: apt sources list only the scenario repository.
    pub debian: String,
    /// `patchctl/fleet-rpm:<hash>`: dnf's only repository is the scenario repository.
    pub rpm: String,
}

impl FleetImages {
    pub fn tag(&self, kind: PackageManagerKind) -> &str {
        match kind {
            PackageManagerKind::Apt => &self.debian,
            PackageManagerKind::Dnf => &self.rpm,
        }
    }
}

/// Builds the base image and the two host images unless they exist; returns the host tags.
///
/// Start a host as `docker run -d --tmpfs /run --tmpfs /run/lock -v
/// /sys/fs/cgroup:/sys/fs/cgroup:ro IMAGE` on the fleet network: the image's command is
/// `/sbin/init`, and it sets `container=docker` and the stop signal itself. systemd has booted,
/// sshd is active and acme-web answers about 1.5 s later on an idle machine.
pub fn fleet_images(scenario: &Scenario) -> anyhow::Result<FleetImages> {
    // Images are per machine, so is the lock; not named like a scratch dir, so never cleaned.
    let _lock = BuildLock::acquire(&std::env::temp_dir().join("patchctl-fleet-images.lock"))?;
    let base = super::base_image().context("building the base image")?;
    let hash = hosts_hash(&base, &scenario.hash);
    let images = FleetImages {
        debian: format!("{DEBIAN_REPOSITORY}:{hash}"),
        rpm: format!("{RPM_REPOSITORY}:{hash}"),
    };
    for kind in [PackageManagerKind::Apt, PackageManagerKind::Dnf] {
        let tag = images.tag(kind);
        if !image_exists(tag)? {
            build_host_image(kind, &base, scenario, tag)
                .with_context(|| format!("building the host image {tag}"))?;
        }
    }
    Ok(images)
}

fn hosts_hash(base_tag: &str, scenario_hash: &str) -> String {
    let inputs = [
        RECIPE_VERSION,
        base_tag,
        scenario_hash,
        &COMMON_PACKAGES.join(","),
        &RPM_TOOLS.join(","),
        &APT_TOOLS.join(","),
        SSHD_DROP_IN,
        APT_SOURCES,
        RPM_REPO_FILE,
        OS_RELEASE,
        RELEASEVER,
        RPM_DBPATH_MACRO,
        STOP_SIGNAL,
        &IMPORT_CHANGES.join("\n"),
        &MASKED_UNITS.join(","),
    ];
    let mut hasher = Sha256::new();
    for input in inputs {
        hasher.update(format!("{}\n{input}\n", input.len()));
    }
    let hex: String = hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
    hex[..16].to_owned()
}

fn build_host_image(
    kind: PackageManagerKind,
    base: &str,
    scenario: &Scenario,
    tag: &str,
) -> anyhow::Result<()> {
    eprintln!("building {tag} from {base} (~1 min)");
    let started = Instant::now();
    let scratch = Scratch::create()?;
    let rootfs = scratch.path().join("rootfs");
    export_image(base, &rootfs)?;
    remove_if_present(&rootfs.join(".dockerenv"))?;
    let resolv_conf = std::fs::read("/etc/resolv.conf").context("reading /etc/resolv.conf")?;
    remove_if_present(&rootfs.join("etc/resolv.conf"))?;
    std::fs::write(rootfs.join("etc/resolv.conf"), resolv_conf)
        .context("writing resolv.conf into the root filesystem")?;
    {
        let mut mounts = ChrootMounts::mount(&rootfs)?;
        mounts.bind_read_only(&scenario.root, &rootfs.join(SCENARIO_MOUNT))?;
        let mut packages: Vec<&str> = COMMON_PACKAGES.to_vec();
        match kind {
            PackageManagerKind::Apt => packages.extend(APT_TOOLS),
            PackageManagerKind::Dnf => packages.extend(RPM_TOOLS),
        }
        run(chroot_command(&rootfs, "apt-get").args(["-q", "update"]), "apt-get update")?;
        run(
            chroot_command(&rootfs, "apt-get")
                .args(["-q", "-y", "--no-install-recommends", "install"])
                .args(&packages),
            "installing Debian's packages",
        )?;
        eprintln!("  {} installed after {:.0?}", packages.join(", "), started.elapsed());
        match kind {
            PackageManagerKind::Apt => install_debs(&rootfs, scenario)?,
            PackageManagerKind::Dnf => install_rpms(&rootfs)?,
        }
        eprintln!("  scenario packages installed after {:.0?}", started.elapsed());
    }
    std::fs::remove_dir(rootfs.join(SCENARIO_MOUNT))
        .context("removing the scenario mount point")?;
    configure_sources(kind, &rootfs)?;
    write(&rootfs.join("etc/ssh/sshd_config.d/patchctl.conf"), SSHD_DROP_IN)?;
    for unit in MASKED_UNITS {
        let path = rootfs.join("etc/systemd/system").join(unit);
        remove_if_present(&path)?;
        std::os::unix::fs::symlink("/dev/null", &path)
            .with_context(|| format!("masking {unit} in the root filesystem"))?;
    }
    scrub(&rootfs)?;
    remove_caches(&rootfs)?;
    let partial = format!("{tag}-partial");
    docker_import(&rootfs, &partial, &IMPORT_CHANGES)?;
    drop(scratch);
    let built = set_stop_signal(&partial, tag);
    remove_tag(&partial);
    built?;
    eprintln!("built {tag} in {:.0?}", started.elapsed());
    Ok(())
}

/// The image's file system, extracted into `rootfs` from a container that is created, exported
/// and removed without ever running.
pub(super) fn export_image(image: &str, rootfs: &Path) -> anyhow::Result<()> {
    std::fs::create_dir(rootfs).with_context(|| format!("creating {}", rootfs.display()))?;
    let create = Command::new("docker")
        .args(["create", "--network", "none", image])
        .stdin(Stdio::null())
        .output()
        .context("running docker create")?;
    anyhow::ensure!(
        create.status.success(),
        "docker create {image} failed: {}",
        String::from_utf8_lossy(&create.stderr).trim()
    );
    let container = CreatedContainer(String::from_utf8_lossy(&create.stdout).trim().to_owned());
    let mut export = Command::new("docker")
        .args(["export", &container.0])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting docker export")?;
    let export_stdout = export.stdout.take().context("docker export's stdout")?;
    // --numeric-owner: the image's users are not this machine's.
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(rootfs)
        .args(["--numeric-owner", "-p", "-f", "-"])
        .stdin(export_stdout)
        .output();
    let export_status = export.wait().context("waiting for docker export")?;
    let tar = tar.context("running tar -x")?;
    anyhow::ensure!(export_status.success(), "docker export failed ({export_status})");
    anyhow::ensure!(
        tar.status.success(),
        "extracting the exported file system failed ({}): {}",
        tar.status,
        String::from_utf8_lossy(&tar.stderr).trim()
    );
    Ok(())
}

/// A created (never started) container, removed on drop.
struct CreatedContainer(String);

impl Drop for CreatedContainer {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Version 1.0 of every scenario package in the images, from the pool files: apt orders them by dependency.
fn install_debs(rootfs: &Path, scenario: &Scenario) -> anyhow::Result<()> {
    let mut command = chroot_command(rootfs, "apt-get");
    command.args(["-q", "-y", "--no-install-recommends", "install"]);
    for spec in PACKAGES.iter() {
        let artifact = scenario
            .artifact(PackageManagerKind::Apt, spec.name, Version::Old)
            .with_context(|| format!("no .deb of {} 1.0", spec.name))?;
        command.arg(format!("/{SCENARIO_MOUNT}/{}", artifact.relative_path));
    }
    run(&mut command, "installing the scenario's .debs (1.0)")
}

/// rpm and dnf set up as the notes prescribe, then version 1.0 of every scenario package from the
/// repository at its build-time path.
fn install_rpms(rootfs: &Path) -> anyhow::Result<()> {
    write(&rootfs.join("etc/rpm/macros.dbpath"), RPM_DBPATH_MACRO)?;
    run(chroot_command(rootfs, "rpm").arg("--initdb"), "rpm --initdb")?;
    write(&rootfs.join("etc/dnf/vars/releasever"), RELEASEVER)?;
    disable_dnf_local_plugin(rootfs)?;
    let build_repo =
        RPM_REPO_FILE.replace(scenario::RPM_URL, &format!("file:///{SCENARIO_MOUNT}/rpm"));
    write(&rootfs.join("etc/yum.repos.d/acme.repo"), &build_repo)?;
    let mut command = chroot_command(rootfs, "dnf");
    command.args(["-q", "-y", "install", BASE_PROVIDES_PACKAGE]);
    for spec in PACKAGES.iter() {
        command.arg(format!("{}-{}", spec.name, Version::Old.full()));
    }
    run(&mut command, "installing the scenario's RPMs (1.0)")
}

/// dnf-plugins-core's `local` plugin adds a `_dnf_local` repository with gpgcheck=1, on which
/// every install fails.
fn disable_dnf_local_plugin(rootfs: &Path) -> anyhow::Result<()> {
    let path = rootfs.join("etc/dnf/plugins/local.conf");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut found = false;
    let rewritten: String = text
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("enabled") {
                found = true;
                "enabled = false\n".to_owned()
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    anyhow::ensure!(found, "{} has no `enabled` line", path.display());
    write(&path, &rewritten)
}

/// Package sources as the hosts use them: the scenario repository over HTTP, nothing of Debian's.
fn configure_sources(kind: PackageManagerKind, rootfs: &Path) -> anyhow::Result<()> {
    remove_if_present(&rootfs.join("etc/apt/sources.list.d/debian.sources"))?;
    remove_if_present(&rootfs.join("etc/apt/sources.list"))?;
    match kind {
        PackageManagerKind::Apt => {
            write(&rootfs.join("etc/apt/sources.list.d/acme.list"), APT_SOURCES)
        }
        PackageManagerKind::Dnf => {
            write(&rootfs.join("etc/yum.repos.d/acme.repo"), RPM_REPO_FILE)?;
            // A symlink to ../usr/lib/os-release: replaced, not written through.
            remove_if_present(&rootfs.join("etc/os-release"))?;
            write(&rootfs.join("etc/os-release"), OS_RELEASE)
        }
    }
}

/// apt's lists (of sources the image no longer has), dnf's metadata cache, and the reboot flag
/// the kernel-like package's postinst raised in the chroot.
fn remove_caches(rootfs: &Path) -> anyhow::Result<()> {
    for entry in read_dir(&rootfs.join("var/lib/apt/lists"))? {
        let name = entry.file_name();
        if name != "lock" && entry.file_type().is_ok_and(|kind| kind.is_file()) {
            remove_if_present(&entry.path())?;
        }
    }
    let dnf_cache = rootfs.join("var/cache/dnf");
    for entry in read_dir(&dnf_cache)? {
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("removing {}", path.display()))?;
    }
    for flag in ["run/reboot-required", "run/reboot-required.pkgs"] {
        remove_if_present(&rootfs.join(flag))?;
    }
    Ok(())
}

/// `FROM partial` + `STOPSIGNAL`, tagged `tag`: a metadata-only step of the legacy builder.
pub(super) fn set_stop_signal(partial: &str, tag: &str) -> anyhow::Result<()> {
    let mut build = Command::new("docker")
        .args(["build", "-q", "-t", tag, "-"])
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting docker build")?;
    let dockerfile = format!("FROM {partial}\nSTOPSIGNAL {STOP_SIGNAL}\n");
    build
        .stdin
        .take()
        .context("docker build's stdin")?
        .write_all(dockerfile.as_bytes())
        .context("writing the Dockerfile to docker build")?;
    let output = build.wait_with_output().context("waiting for docker build")?;
    anyhow::ensure!(
        output.status.success(),
        "docker build (STOPSIGNAL) failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// Removes a tag; the image stays when another image is built on it.
pub(super) fn remove_tag(tag: &str) {
    let removed = Command::new("docker")
        .args(["rmi", tag])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !removed {
        eprintln!("warning: could not remove the tag {tag}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_base_and_scenario() {
        let hash = hosts_hash("patchctl/bookworm-base:a", "s1");
        assert_eq!(hash.len(), 16);
        assert_eq!(hash, hosts_hash("patchctl/bookworm-base:a", "s1"));
        assert_ne!(hash, hosts_hash("patchctl/bookworm-base:b", "s1"));
        assert_ne!(hash, hosts_hash("patchctl/bookworm-base:a", "s2"));
    }

    #[test]
    fn apt_sources_name_the_scenario_suites() {
        for suite in [scenario::REGULAR_SUITE, scenario::SECURITY_SUITE] {
            let line = format!("deb [trusted=yes] {} {suite} main\n", scenario::APT_URL);
            assert!(APT_SOURCES.contains(&line), "{line}");
        }
        assert!(RPM_REPO_FILE.contains(&format!("[{}]\n", scenario::RPM_REPO_ID)));
        assert!(RPM_REPO_FILE.contains(&format!("baseurl={}\n", scenario::RPM_URL)));
    }
}
