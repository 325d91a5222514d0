//! The Debian side of the scenario: a package tree (files plus `DEBIAN/`) per package version,
//! built with `dpkg-deb`, and an apt repository with two suites built with `apt-ftparchive`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use super::{
    Dependency, InputFile, PackageSpec, REGULAR_LABEL, REGULAR_SUITE, RELEASE_VERSION,
    SECURITY_LABEL, SECURITY_SUITE, Version, payload, substitute,
};
use crate::images::run;

const MAINTAINER: &str = "Acme Test <test@acme.example>";
const ARCHITECTURE: &str = "amd64";
const COMPONENT: &str = "main";
/// Where the work directory keeps one tree per package version, and the release options.
const TREES: &str = "deb";
const RELEASE_OPTIONS: &str = "apt-release-options";

/// `apt/pool/<suite>/main/<letter>/<name>/<name>_<version>_all.deb`, relative to the root.
pub(super) fn pool_path(spec: &PackageSpec, version: Version) -> String {
    let letter = &spec.name[..1];
    format!(
        "apt/pool/{}/{COMPONENT}/{letter}/{name}/{name}_{}_all.deb",
        spec.suite(version),
        version.full(),
        name = spec.name,
    )
}

/// The package tree: payload files, `DEBIAN/control`, and the maintainer scripts it needs.
pub(super) fn render(spec: &PackageSpec, version: Version) -> Vec<InputFile> {
    let tree = tree_dir(spec, version);
    let mut files: Vec<InputFile> = payload(spec, version)
        .into_iter()
        .map(|(path, contents, mode)| InputFile {
            path: tree.join(path.trim_start_matches('/')),
            contents,
            mode,
        })
        .collect();
    files.push(InputFile {
        path: tree.join("DEBIAN/control"),
        contents: control(spec, version),
        mode: 0o644,
    });
    // dpkg-deb marks nothing as a conffile by itself (debhelper does, for files under /etc).
    let conffiles: String = payload(spec, version)
        .into_iter()
        .filter(|(path, _, _)| path.starts_with("/etc/"))
        .map(|(path, _, _)| format!("{path}\n"))
        .collect();
    if !conffiles.is_empty() {
        files.push(InputFile {
            path: tree.join("DEBIAN/conffiles"),
            contents: conffiles,
            mode: 0o644,
        });
    }
    let mut postinst = substitute(spec.postinst.get(version), version);
    if spec.reboot {
        // What Debian's notify-reboot-required does (reboot-notifier, update-notifier-common).
        postinst.push_str(&format!(
            "echo '*** System restart required ***' > /var/run/reboot-required\n\
             echo {} >> /var/run/reboot-required.pkgs\n",
            spec.name
        ));
    }
    if !postinst.is_empty() {
        files.push(script(&tree, "postinst", "configure", &postinst, spec, version));
    }
    if !spec.on_remove.is_empty() {
        let body = substitute(spec.on_remove, version);
        files.push(script(&tree, "prerm", "remove", &body, spec, version));
    }
    files
}

/// The Release fields of each suite, as `apt-ftparchive -o` options, one per line: an input, so
/// that changing them changes the scenario hash.
pub(super) fn render_release_options() -> Vec<InputFile> {
    [(REGULAR_SUITE, REGULAR_LABEL), (SECURITY_SUITE, SECURITY_LABEL)]
        .into_iter()
        .map(|(suite, label)| {
            let fields = [
                ("Origin", "Acme"),
                ("Label", label),
                ("Suite", suite),
                ("Codename", suite),
                ("Version", RELEASE_VERSION),
                ("Architectures", ARCHITECTURE),
                ("Components", COMPONENT),
                ("Description", "patchctl test fleet packages"),
            ];
            let contents: String = fields
                .iter()
                .map(|(field, value)| format!("APT::FTPArchive::Release::{field}={value}\n"))
                .collect();
            InputFile { path: PathBuf::from(RELEASE_OPTIONS).join(suite), contents, mode: 0o644 }
        })
        .collect()
}

/// `dpkg-deb --root-owner-group --build` of every tree, into its pool path under `out`.
pub(super) fn build_packages(work: &Path, out: &Path) -> anyhow::Result<()> {
    for spec in super::published_packages() {
        for version in Version::BOTH {
            let target = out.join(pool_path(spec, version));
            let parent = target.parent().context("pool path has a parent")?;
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
            // The trees' directories were created with the process umask; dpkg-deb wants at
            // most 0775 on DEBIAN/.
            set_dir_modes(&work.join(tree_dir(spec, version)))?;
            run(
                Command::new("dpkg-deb")
                    .args(["--root-owner-group", "-Zxz", "--build"])
                    .arg(work.join(tree_dir(spec, version)))
                    .arg(&target)
                    .env("LC_ALL", "C"),
                &format!("building {}", target.display()),
            )?;
        }
    }
    Ok(())
}

/// `dists/<suite>/main/binary-amd64/Packages(.gz)` and `dists/<suite>/Release` for both suites.
pub(super) fn build_repository(work: &Path, out: &Path) -> anyhow::Result<()> {
    let apt = out.join("apt");
    for suite in [REGULAR_SUITE, SECURITY_SUITE] {
        let binary_dir = apt.join(format!("dists/{suite}/{COMPONENT}/binary-{ARCHITECTURE}"));
        std::fs::create_dir_all(&binary_dir)
            .with_context(|| format!("creating {}", binary_dir.display()))?;
        // Run from the repository root, so that the Filename fields are `pool/…`.
        let packages = output(
            Command::new("apt-ftparchive")
                .args(["packages", &format!("pool/{suite}")])
                .current_dir(&apt)
                .env("LC_ALL", "C"),
            &format!("apt-ftparchive packages for {suite}"),
        )?;
        anyhow::ensure!(!packages.is_empty(), "apt-ftparchive found no packages for {suite}");
        std::fs::write(binary_dir.join("Packages"), &packages)
            .with_context(|| format!("writing {}/Packages", binary_dir.display()))?;
        run(
            Command::new("gzip")
                .args(["-9", "-n", "-k", "-f", "Packages"])
                .current_dir(&binary_dir),
            &format!("compressing the Packages index of {suite}"),
        )?;
        // The Release file lists the hashes of every file below dists/<suite>, so it is written
        // outside that directory first and renamed in: a half-written Release would otherwise be
        // hashed into itself.
        let options_file = work.join(RELEASE_OPTIONS).join(suite);
        let options = std::fs::read_to_string(&options_file)
            .with_context(|| format!("reading {}", options_file.display()))?;
        let mut command = Command::new("apt-ftparchive");
        for option in options.lines() {
            command.arg("-o").arg(option);
        }
        let release = output(
            command
                .args(["release", &format!("dists/{suite}")])
                .current_dir(&apt)
                .env("LC_ALL", "C"),
            &format!("apt-ftparchive release for {suite}"),
        )?;
        let temp = work.join(format!("Release-{suite}"));
        std::fs::write(&temp, &release).with_context(|| format!("writing {}", temp.display()))?;
        let target = apt.join(format!("dists/{suite}/Release"));
        std::fs::rename(&temp, &target)
            .with_context(|| format!("renaming {} to {}", temp.display(), target.display()))?;
    }
    Ok(())
}

fn tree_dir(spec: &PackageSpec, version: Version) -> PathBuf {
    PathBuf::from(TREES).join(format!("{}_{}", spec.name, version.full()))
}

fn control(spec: &PackageSpec, version: Version) -> String {
    let depends: Vec<&str> = spec
        .depends
        .iter()
        .map(|dependency| match dependency {
            Dependency::Scenario(name) => *name,
            Dependency::System { deb, .. } => *deb,
        })
        .collect();
    let mut control = format!(
        "Package: {}\nVersion: {}\nArchitecture: all\nMaintainer: {MAINTAINER}\n\
         Section: {}\nPriority: optional\n",
        spec.name,
        version.full(),
        spec.section,
    );
    if !depends.is_empty() {
        control.push_str(&format!("Depends: {}\n", depends.join(", ")));
    }
    control.push_str(&format!("Description: {}\n {}\n", spec.summary, spec.description));
    control
}

/// A maintainer script that runs `body` only when called with `action` (`configure`, `remove`).
fn script(
    tree: &Path,
    name: &str,
    action: &str,
    body: &str,
    spec: &PackageSpec,
    version: Version,
) -> InputFile {
    let contents = format!(
        "#!/bin/sh\n# {name} of {} {}, rendered from patchctl's fleet scenario table.\nset -e\n\
         if [ \"$1\" = {action} ]; then\n{}fi\n",
        spec.name,
        version.full(),
        indent(body),
    );
    InputFile { path: tree.join("DEBIAN").join(name), contents, mode: 0o755 }
}

fn indent(body: &str) -> String {
    body.lines()
        .map(|line| if line.is_empty() { "\n".to_owned() } else { format!("    {line}\n") })
        .collect()
}

fn set_dir_modes(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("setting the mode of {}", dir.display()))?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            set_dir_modes(&entry.path())?;
        }
    }
    Ok(())
}

/// Runs a command and returns its standard output; fails with its output's tail.
fn output(command: &mut Command, what: &str) -> anyhow::Result<Vec<u8>> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("{what}: starting {:?}", command.get_program()))?;
    anyhow::ensure!(
        output.status.success(),
        "{what}: {:?} failed ({}): {}",
        command.get_program(),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static PackageSpec {
        super::super::published_packages().find(|spec| spec.name == name).unwrap()
    }

    #[test]
    fn files_under_etc_are_conffiles() {
        let files = render(spec("acme-agent"), Version::New);
        assert_eq!(file(&files, "DEBIAN/conffiles").contents, "/etc/acme-agent.conf\n");
        assert!(
            !render(spec("acme-web"), Version::New).iter().any(|f| f.path.ends_with("conffiles"))
        );
    }

    fn file<'a>(files: &'a [InputFile], suffix: &str) -> &'a InputFile {
        files.iter().find(|f| f.path.ends_with(suffix)).unwrap_or_else(|| panic!("{suffix}"))
    }

    #[test]
    fn control_of_a_dependent_package() {
        let files = render(spec("acme-regress"), Version::New);
        assert_eq!(
            file(&files, "DEBIAN/control").contents,
            "Package: acme-regress\nVersion: 1.1-1\nArchitecture: all\n\
             Maintainer: Acme Test <test@acme.example>\nSection: web\nPriority: optional\n\
             Depends: acme-web\n\
             Description: Acme plugin whose update breaks acme-web's health check\n \
             Version 1.1 marks acme-web degraded (GET /health no longer says ok); version 1.0 \
             marks it ok again, so a rollback heals it.\n"
        );
    }

    #[test]
    fn kernel_postinst_asks_for_a_reboot() {
        let files = render(spec("acme-kernel"), Version::New);
        let postinst = file(&files, "DEBIAN/postinst");
        assert_eq!(postinst.mode, 0o755);
        assert!(postinst.contents.contains("if [ \"$1\" = configure ]; then\n"));
        assert!(
            postinst.contents.contains("    echo acme-kernel >> /var/run/reboot-required.pkgs\n")
        );
        assert!(file(&files, "boot/vmlinuz-1.1-acme").contents.contains("1.1-1"));
        assert!(file(&files, "DEBIAN/control").contents.contains("Section: kernel\n"));
    }

    #[test]
    fn plain_package_has_no_scripts() {
        let files = render(spec("acme-tools"), Version::Old);
        let names: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "deb/acme-tools_1.0-1/usr/share/acme-tools/VERSION",
                "deb/acme-tools_1.0-1/DEBIAN/control"
            ]
        );
    }

    #[test]
    fn pool_paths_follow_the_suite() {
        assert_eq!(
            pool_path(spec("acme-kernel"), Version::Old),
            "apt/pool/bookworm/main/a/acme-kernel/acme-kernel_1.0-1_all.deb"
        );
        assert_eq!(
            pool_path(spec("acme-kernel"), Version::New),
            "apt/pool/bookworm-security/main/a/acme-kernel/acme-kernel_1.1-1_all.deb"
        );
        assert_eq!(
            pool_path(spec("acme-held"), Version::New),
            "apt/pool/bookworm/main/a/acme-held/acme-held_1.1-1_all.deb"
        );
    }
}
