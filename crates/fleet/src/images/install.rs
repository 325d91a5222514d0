//! `patchctl/install-test`: the image the .deb is installed into (`crates/cli/tests/it/
//! deb_install.rs`). The base image (systemd, debootstrapped) plus what a person checking an
//! install uses: man-db for `man patchctl`, bash-completion, and curl for `/readyz`. Derived
//! offline as the host images are (`hosts.rs`): the base's file system exported, changed in a
//! chroot, imported, tagged by a hash of the base tag and this recipe.
//!
//! Start it with systemd as PID 1 and CAP_SYS_ADMIN for the units' sandboxing (mount
//! namespaces): `docker run -d --cap-add SYS_ADMIN --tmpfs /run --tmpfs /run/lock -v
//! /sys/fs/cgroup:/sys/fs/cgroup:ro --network PRIVATE IMAGE`.

use std::time::Instant;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

use super::chroot::{BuildLock, ChrootMounts, Scratch, chroot_command, run};
use super::hosts::{IMPORT_CHANGES, STOP_SIGNAL, export_image, remove_tag, set_stop_signal};
use super::{docker_import, image_exists, remove_if_present, scrub};

/// Bump when the build steps change in a way the constants below do not show.
const RECIPE_VERSION: &str = "install-1";
const REPOSITORY: &str = "patchctl/install-test";
/// From Debian's mirror, in the chroot.
const PACKAGES: [&str; 3] = ["man-db", "bash-completion", "curl"];

/// Builds the install-test image unless it exists; returns its tag.
pub fn install_test_image() -> anyhow::Result<String> {
    let _lock = BuildLock::acquire(&std::env::temp_dir().join("patchctl-fleet-images.lock"))?;
    let base = super::base_image().context("building the base image")?;
    let inputs = format!(
        "{RECIPE_VERSION}\n{base}\n{}\n{STOP_SIGNAL}\n{}\n",
        PACKAGES.join(","),
        IMPORT_CHANGES.join("\n")
    );
    let hex: String =
        Sha256::digest(inputs.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect();
    let tag = format!("{REPOSITORY}:{}", &hex[..16]);
    if !image_exists(&tag)? {
        build(&base, &tag).with_context(|| format!("building the image {tag}"))?;
    }
    Ok(tag)
}

fn build(base: &str, tag: &str) -> anyhow::Result<()> {
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
        let _mounts = ChrootMounts::mount(&rootfs)?;
        run(chroot_command(&rootfs, "apt-get").args(["-q", "update"]), "apt-get update")?;
        run(
            chroot_command(&rootfs, "apt-get")
                .args(["-q", "-y", "--no-install-recommends", "install"])
                .args(PACKAGES),
            "installing man-db, bash-completion and curl",
        )?;
    }
    scrub(&rootfs)?;
    let partial = format!("{tag}-partial");
    docker_import(&rootfs, &partial, &IMPORT_CHANGES)?;
    drop(scratch);
    let built = set_stop_signal(&partial, tag);
    remove_tag(&partial);
    built?;
    eprintln!("built {tag} in {:.0?}", started.elapsed());
    Ok(())
}
