//! The patch scenario: the `acme-*` packages every fleet host runs, declared once as data
//! ([`PACKAGES`]), built into a `.deb` and an `.rpm` per version, and published as an apt
//! repository (a regular and a `-security` suite) and a dnf repository with updateinfo advisories.
//!
//! Each package has a version 1.0 that the host images have installed and a version 1.1 that is
//! the pending update; each 1.1 belongs to one advisory that says whether it is a security fix
//! (then it goes to the apt `-security` suite), a bug fix or an enhancement. [`build`] writes
//! everything under one directory, served over HTTP in the fleet network:
//!
//! ```text
//! <root>/apt/pool/<suite>/main/a/<name>/<name>_<version>_all.deb   served as http://repo/apt
//! <root>/apt/dists/<suite>/Release                                   (<suite>: bookworm and
//! <root>/apt/dists/<suite>/main/binary-amd64/Packages(.gz)           bookworm-security)
//! <root>/rpm/noarch/<name>-<version>.noarch.rpm                      served as http://repo/rpm
//! <root>/rpm/repodata/{repomd.xml, …-updateinfo.xml.gz, …}           (dnf repo id acme)
//! ```
//!
//! The root is `<cache dir>/scenario-<hash>`, the hash taken over every rendered input file (so
//! over the table and the renderers) and [`RECIPE_VERSION`]. A build happens in a temporary
//! directory renamed into place at the end, so a directory with that name is always complete and
//! a second call returns at once.

mod deb;
mod packages;
mod rpm;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use model::{Classification, Origin, PackageManagerKind, Severity};
use sha2::{Digest as _, Sha256};

pub use packages::{EXTRA_PACKAGES, PACKAGES};

/// Every package the repositories publish: [`PACKAGES`], which the images install at 1.0, then
/// [`EXTRA_PACKAGES`], which they do not.
pub fn published_packages() -> impl Iterator<Item = &'static PackageSpec> {
    PACKAGES.iter().chain(EXTRA_PACKAGES)
}

/// Bump when the build steps change in a way the rendered files do not show.
pub const RECIPE_VERSION: &str = "scenario-1";
/// The network alias of the container that serves the scenario root over HTTP on port 80.
pub const REPO_HOST: &str = "repo";
/// The apt repository's URL inside the fleet network.
pub const APT_URL: &str = "http://repo/apt";
/// The dnf repository's URL inside the fleet network.
pub const RPM_URL: &str = "http://repo/rpm";
/// The dnf repository id on RPM hosts (`/etc/yum.repos.d/acme.repo`).
pub const RPM_REPO_ID: &str = "acme";
/// The apt suite that the 1.0 versions and the non-security 1.1 versions are in.
pub const REGULAR_SUITE: &str = "bookworm";
/// The apt suite that the security 1.1 versions are in.
pub const SECURITY_SUITE: &str = "bookworm-security";
/// The Release files' `Label`s, which apt prints before the suite:
/// `Acme-Security:12/bookworm-security`.
pub const REGULAR_LABEL: &str = "Acme";
pub const SECURITY_LABEL: &str = "Acme-Security";
/// The Release files' `Version`.
pub const RELEASE_VERSION: &str = "12";
/// The package every RPM host has so that rpm knows about the files dpkg owns (`/bin/sh`, …).
pub const BASE_PROVIDES_PACKAGE: &str = "fleet-base-provides";

/// The two upstream versions of every package, and their (shared) revision/release.
pub const OLD_VERSION: &str = "1.0";
pub const NEW_VERSION: &str = "1.1";
pub const REVISION: &str = "1";

/// One scenario package, from which its Debian control files and its RPM spec are rendered.
#[derive(Debug)]
pub struct PackageSpec {
    pub name: &'static str,
    pub summary: &'static str,
    /// The long description, one paragraph.
    pub description: &'static str,
    /// The Debian section (`kernel` makes it kernel-like to apt-based tools).
    pub section: &'static str,
    pub depends: &'static [Dependency],
    /// Files besides `/usr/share/<name>/VERSION`, which every package that is not kernel-like
    /// gets.
    pub files: &'static [FileSpec],
    /// Shell run after install or upgrade (`postinst configure`, RPM `%post`), per version. Runs
    /// under `set -e`, also in a chroot with no systemd running (at image build time).
    pub postinst: PerVersion<&'static str>,
    /// Shell run before the package is removed for good (`prerm remove`, RPM `%preun` with 0).
    pub on_remove: &'static str,
    /// Kernel-like: installing it asks for a reboot. Debian: the postinst writes
    /// `/var/run/reboot-required` and appends to `.pkgs`. RPM: `installonlypkg(kernel)` (installed
    /// side by side) and a `needs-restarting.d` file naming it, so `dnf needs-restarting -r`
    /// reports a reboot once it is newer than the boot.
    pub reboot: bool,
    /// The advisory that version 1.1 belongs to.
    pub update: Advisory,
}

/// A value for version 1.0 and one for version 1.1.
#[derive(Debug, Clone, Copy)]
pub struct PerVersion<T> {
    pub old: T,
    pub new: T,
}

impl<T: Copy> PerVersion<T> {
    pub const fn same(value: T) -> PerVersion<T> {
        PerVersion { old: value, new: value }
    }

    pub fn get(&self, version: Version) -> T {
        match version {
            Version::Old => self.old,
            Version::New => self.new,
        }
    }
}

/// Which of the two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// 1.0-1, installed on every host.
    Old,
    /// 1.1-1, the pending update.
    New,
}

impl Version {
    pub const BOTH: [Version; 2] = [Version::Old, Version::New];

    /// `1.0` or `1.1`.
    pub fn upstream(self) -> &'static str {
        match self {
            Version::Old => OLD_VERSION,
            Version::New => NEW_VERSION,
        }
    }

    /// `1.0-1` or `1.1-1`: the Debian version and the RPM version-release.
    pub fn full(self) -> String {
        format!("{}-{REVISION}", self.upstream())
    }
}

/// A dependency, named the way each package manager knows it.
#[derive(Debug, Clone, Copy)]
pub enum Dependency {
    /// Another scenario package: the same name on both families.
    Scenario(&'static str),
    /// Something the base system has. On RPM hosts dpkg owns it, so the RPM requires a file that
    /// `fleet-base-provides` provides.
    System { deb: &'static str, rpm_file: &'static str },
}

/// A file a package ships. `@VERSION@` (`1.1-1`) and `@UPSTREAM@` (`1.1`) in the path or the
/// contents are replaced by the package's version.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    pub path: &'static str,
    pub contents: &'static str,
    pub mode: u32,
}

/// What version 1.1 of a package fixes, as dnf's updateinfo says it. apt has no advisories: there
/// only the suite tells security updates apart.
#[derive(Debug, PartialEq, Eq)]
pub struct Advisory {
    /// `ACME-2026:0001`.
    pub id: &'static str,
    /// Security, Bugfix or Enhancement (updateinfo `type`).
    pub kind: Classification,
    /// Security advisories only.
    pub severity: Option<Severity>,
    pub cves: &'static [&'static str],
    pub title: &'static str,
    pub description: &'static str,
    /// `YYYY-MM-DD`.
    pub issued: &'static str,
}

impl PackageSpec {
    /// The apt suite version 1.1 is published in.
    pub fn update_suite(&self) -> &'static str {
        match self.update.kind {
            Classification::Security => SECURITY_SUITE,
            _ => REGULAR_SUITE,
        }
    }

    /// The apt suite a version is published in (1.0 is always in the regular suite).
    pub fn suite(&self, version: Version) -> &'static str {
        match version {
            Version::Old => REGULAR_SUITE,
            Version::New => self.update_suite(),
        }
    }
}

/// A built scenario: where it is, and what is in it.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Serve this directory at `http://repo/` (`apt/` and `rpm/` below it).
    pub root: PathBuf,
    /// 16 hex digits identifying the scenario's contents; part of the host image tags.
    pub hash: String,
    /// Every built package file, .debs and .rpms, both versions.
    pub artifacts: Vec<Artifact>,
}

/// One built `.deb` or `.rpm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub package: &'static str,
    pub kind: PackageManagerKind,
    /// `1.0-1` or `1.1-1`.
    pub version: String,
    /// The file, under the scenario root.
    pub path: PathBuf,
    /// The path relative to the root, i.e. also the URL path below `http://repo/`.
    pub relative_path: String,
}

/// One update a host of a family must see right after it starts (everything at 1.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedUpdate {
    pub name: &'static str,
    /// `all` (apt) or `noarch` (dnf).
    pub arch: &'static str,
    pub installed_version: String,
    pub candidate_version: String,
    /// apt: the Release file's Label and the suite; dnf: the repository id as label, no suite.
    pub origin: Origin,
    /// What it fixes. apt knows only the suite; dnf knows the whole advisory.
    pub advisory: &'static Advisory,
    /// Installing it makes the host ask for a reboot.
    pub reboot: bool,
}

impl Scenario {
    /// The artifact of one package version, `None` for an unknown package.
    pub fn artifact(
        &self,
        kind: PackageManagerKind,
        package: &str,
        version: Version,
    ) -> Option<&Artifact> {
        let full = version.full();
        self.artifacts.iter().find(|a| a.kind == kind && a.package == package && a.version == full)
    }

    /// Every scenario update a freshly started host of this family must list, in table order: those
    /// of the packages the images have installed.
    pub fn expected_updates(&self, kind: PackageManagerKind) -> Vec<ExpectedUpdate> {
        expected_updates(kind)
    }
}

/// The updates a fresh host of this family sees; see [`Scenario::expected_updates`].
pub fn expected_updates(kind: PackageManagerKind) -> Vec<ExpectedUpdate> {
    PACKAGES
        .iter()
        .map(|spec| {
            let (arch, origin) = match kind {
                PackageManagerKind::Apt => {
                    let suite = spec.update_suite();
                    let label =
                        if suite == SECURITY_SUITE { SECURITY_LABEL } else { REGULAR_LABEL };
                    ("all", Origin { label: Some(label.to_owned()), suite: suite.to_owned() })
                }
                PackageManagerKind::Dnf => {
                    ("noarch", Origin { label: Some(RPM_REPO_ID.to_owned()), suite: String::new() })
                }
            };
            ExpectedUpdate {
                name: spec.name,
                arch,
                installed_version: Version::Old.full(),
                candidate_version: Version::New.full(),
                origin,
                advisory: &spec.update,
                reboot: spec.reboot,
            }
        })
        .collect()
}

/// Builds the scenario's packages and repositories under `cache_dir/scenario-<hash>`, unless they
/// are there already.
pub fn build(cache_dir: &Path) -> anyhow::Result<Scenario> {
    let inputs = render_inputs();
    let hash = inputs_hash(&inputs);
    let root = cache_dir.join(format!("scenario-{hash}"));
    let scenario = Scenario { artifacts: artifacts(&root), root, hash };
    if scenario.root.is_dir() {
        return Ok(scenario);
    }
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("creating {}", cache_dir.display()))?;
    // Two builds of the same scenario (tests side by side) wait for each other, and the second
    // finds the first one's result.
    let _lock = crate::images::BuildLock::acquire(&cache_dir.join(".scenario.lock"))?;
    if scenario.root.is_dir() {
        return Ok(scenario);
    }
    require_tools()?;
    let started = Instant::now();
    eprintln!(
        "building scenario {} (dpkg-deb, rpmbuild, apt-ftparchive, createrepo_c)",
        scenario.hash
    );
    let temp = TempDir::create(cache_dir, &scenario.hash)?;
    let work = temp.path.join("work");
    let out = temp.path.join("out");
    for file in &inputs {
        write_file(&work.join(&file.path), &file.contents, file.mode)?;
    }
    deb::build_packages(&work, &out)?;
    deb::build_repository(&work, &out)?;
    rpm::build_packages(&work, &out)?;
    rpm::build_repository(&work, &out)?;
    for artifact in &scenario.artifacts {
        let built = out.join(&artifact.relative_path);
        anyhow::ensure!(built.is_file(), "the build did not produce {}", built.display());
    }
    std::fs::rename(&out, &scenario.root)
        .with_context(|| format!("renaming {} to {}", out.display(), scenario.root.display()))?;
    drop(temp);
    eprintln!("built scenario {} in {:.1?}", scenario.root.display(), started.elapsed());
    Ok(scenario)
}

/// A file the build writes before it runs any tool: Debian package trees, RPM specs and
/// payloads, updateinfo.xml. Paths are relative to the work directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InputFile {
    path: PathBuf,
    contents: String,
    mode: u32,
}

fn render_inputs() -> Vec<InputFile> {
    let mut inputs = Vec::new();
    for spec in published_packages() {
        for version in Version::BOTH {
            inputs.extend(deb::render(spec, version));
            inputs.extend(rpm::render(spec, version));
        }
    }
    inputs.extend(rpm::render_base_provides());
    inputs.push(rpm::render_updateinfo(PACKAGES));
    inputs.extend(deb::render_release_options());
    inputs
}

fn inputs_hash(inputs: &[InputFile]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("recipe={RECIPE_VERSION}\n"));
    for file in inputs {
        hasher.update(format!(
            "{}\n{:o}\n{}\n{}\n",
            file.path.display(),
            file.mode,
            file.contents.len(),
            file.contents
        ));
    }
    let hex: String = hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
    hex[..16].to_owned()
}

fn artifacts(root: &Path) -> Vec<Artifact> {
    let mut artifacts = Vec::new();
    for spec in published_packages() {
        for version in Version::BOTH {
            for (kind, relative_path) in [
                (PackageManagerKind::Apt, deb::pool_path(spec, version)),
                (PackageManagerKind::Dnf, rpm::package_path(spec.name, version)),
            ] {
                artifacts.push(Artifact {
                    package: spec.name,
                    kind,
                    version: version.full(),
                    path: root.join(&relative_path),
                    relative_path,
                });
            }
        }
    }
    let relative_path = rpm::package_path(BASE_PROVIDES_PACKAGE, Version::Old);
    artifacts.push(Artifact {
        package: BASE_PROVIDES_PACKAGE,
        kind: PackageManagerKind::Dnf,
        version: Version::Old.full(),
        path: root.join(&relative_path),
        relative_path,
    });
    artifacts
}

/// Replaces `@VERSION@` and `@UPSTREAM@`.
fn substitute(text: &str, version: Version) -> String {
    text.replace("@VERSION@", &version.full()).replace("@UPSTREAM@", version.upstream())
}

/// The files of a package version as (absolute path, contents, mode), the implicit VERSION file
/// first. Kernel-like packages have none: dnf installs their versions side by side, so every
/// file they own must be either the same in each version or named by the version.
fn payload(spec: &PackageSpec, version: Version) -> Vec<(String, String, u32)> {
    let mut files = Vec::new();
    if !spec.reboot {
        files.push((
            format!("/usr/share/{}/VERSION", spec.name),
            format!("{}\n", version.full()),
            0o644,
        ));
    }
    for file in spec.files {
        files.push((substitute(file.path, version), substitute(file.contents, version), file.mode));
    }
    files
}

fn require_tools() -> anyhow::Result<()> {
    let tools = [
        ("dpkg-deb", "dpkg"),
        ("apt-ftparchive", "apt-utils"),
        ("gzip", "gzip"),
        ("rpmbuild", "rpm"),
        ("createrepo_c", "createrepo-c"),
        ("modifyrepo_c", "createrepo-c"),
    ];
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(tool, _)| !program_exists(tool))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut packages = missing;
    packages.dedup();
    anyhow::bail!(
        "building the scenario repositories needs tools that are not installed; install them with \
         `apt-get install -y {}`",
        packages.join(" ")
    )
}

fn program_exists(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

fn write_file(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// `cache_dir/.scenario-<hash>.tmp-<pid>`, removed on drop; one left by a killed build (its
/// process is gone) is removed by the next build.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn create(cache_dir: &Path, hash: &str) -> anyhow::Result<TempDir> {
        let prefix = format!(".scenario-{hash}.tmp-");
        for entry in std::fs::read_dir(cache_dir)
            .with_context(|| format!("listing {}", cache_dir.display()))?
            .flatten()
        {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|name| name.strip_prefix(&prefix)) else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let path = cache_dir.join(format!("{prefix}{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing {}", path.display()))?;
        }
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.path) {
            eprintln!("warning: could not remove {}: {error}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_packages_have_unique_names_and_advisory_ids() {
        assert_eq!(PACKAGES.len(), 6);
        let mut names: Vec<&str> = published_packages().map(|spec| spec.name).collect();
        let mut ids: Vec<&str> = published_packages().map(|spec| spec.update.id).collect();
        names.sort();
        names.dedup();
        ids.sort();
        ids.dedup();
        assert_eq!(names.len(), PACKAGES.len() + EXTRA_PACKAGES.len());
        assert_eq!(ids.len(), names.len());
        for spec in published_packages() {
            let security = spec.update.kind == Classification::Security;
            assert_eq!(security, spec.update.severity.is_some(), "{}", spec.name);
            assert_eq!(security, !spec.update.cves.is_empty(), "{}", spec.name);
        }
    }

    #[test]
    fn security_updates_go_to_the_security_suite() {
        let apt = expected_updates(PackageManagerKind::Apt);
        let security: Vec<&str> = apt
            .iter()
            .filter(|update| update.origin.suite == SECURITY_SUITE)
            .map(|update| update.name)
            .collect();
        assert_eq!(security, ["acme-web", "acme-kernel"]);
        assert!(
            apt.iter().all(|u| u.installed_version == "1.0-1" && u.candidate_version == "1.1-1")
        );
        let dnf = expected_updates(PackageManagerKind::Dnf);
        assert!(dnf.iter().all(|u| u.origin.label.as_deref() == Some(RPM_REPO_ID)));
    }

    #[test]
    fn hash_is_stable_and_follows_the_inputs() {
        let inputs = render_inputs();
        let hash = inputs_hash(&inputs);
        assert_eq!(hash.len(), 16);
        assert_eq!(hash, inputs_hash(&render_inputs()));
        let mut changed = inputs.clone();
        changed[0].contents.push(' ');
        assert_ne!(hash, inputs_hash(&changed));
    }

    #[test]
    fn every_package_version_has_a_deb_and_an_rpm() {
        let artifacts = artifacts(Path::new("/cache/scenario-x"));
        assert_eq!(artifacts.len(), published_packages().count() * 4 + 1);
        let web = artifacts
            .iter()
            .find(|a| {
                a.package == "acme-web" && a.version == "1.1-1" && a.kind == PackageManagerKind::Apt
            })
            .unwrap();
        assert_eq!(
            web.relative_path,
            "apt/pool/bookworm-security/main/a/acme-web/acme-web_1.1-1_all.deb"
        );
        assert_eq!(web.path, Path::new("/cache/scenario-x").join(&web.relative_path));
    }
}
