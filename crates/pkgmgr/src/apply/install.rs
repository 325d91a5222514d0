//! Applying a plan on one host: the exact versions it pinned, in one package-manager
//! transaction, non-interactive.

use std::collections::HashSet;

use model::{PackageManagerKind, PendingUpdate};

use super::validate::{self, InvalidInput};
use crate::probe::CommandSpec;

/// One package at the exact version a rollout installs (or, rolling back, returns to).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PinnedPackage {
    pub name: String,
    /// As the assessment gives it: dpkg's `amd64`, `all`, …; rpm's `x86_64`, `noarch`, …
    pub arch: String,
    /// The full version as the package manager writes it: `[epoch:]upstream[-revision]` for
    /// dpkg, `[epoch:]version-release` (the epoch only when not 0) for rpm.
    pub version: String,
}

impl PinnedPackage {
    pub fn new(name: &str, arch: &str, version: &str) -> PinnedPackage {
        PinnedPackage { name: name.to_owned(), arch: arch.to_owned(), version: version.to_owned() }
    }

    /// The package at the version the assessment found for it.
    pub fn from_update(update: &PendingUpdate) -> PinnedPackage {
        PinnedPackage::new(&update.name, &update.arch, &update.candidate_version)
    }

    pub fn validate(&self, kind: PackageManagerKind) -> Result<(), InvalidInput> {
        validate::package_name(&self.name)?;
        validate::arch(&self.arch)?;
        validate::version(kind, &self.version)
    }

    /// The word that names exactly this package and version to the package manager: apt's
    /// `name:arch=version` (apt takes `:all` and the native arch as well as foreign ones, so
    /// the arch is always written), dnf's NEVRA `name-[epoch:]version-release.arch`.
    pub fn spec(&self, kind: PackageManagerKind) -> Result<String, InvalidInput> {
        self.validate(kind)?;
        Ok(match kind {
            PackageManagerKind::Apt => format!("{}:{}={}", self.name, self.arch, self.version),
            PackageManagerKind::Dnf => format!("{}-{}.{}", self.name, self.version, self.arch),
        })
    }

    /// `name:arch`, for messages and apt's removal syntax.
    pub(crate) fn name_arch(&self) -> String {
        format!("{}:{}", self.name, self.arch)
    }
}

/// What to do with a configuration file the administrator changed when the package ships a
/// new one. Debian only: rpm never asks, it keeps a changed `%config(noreplace)` file and puts
/// the new one beside it as `.rpmnew`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConffilePolicy {
    /// dpkg's default answer where it has one, else the old file (`--force-confdef
    /// --force-confold`): the administrator's changes survive, the new file lands as
    /// `.dpkg-dist`.
    #[default]
    KeepOld,
    /// Always the package's new file (`--force-confnew` alone: with `--force-confdef` dpkg
    /// would still keep a changed file, whose default answer is "keep").
    TakeNew,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOptions {
    /// How long apt waits for another apt or dpkg to let go of the lock. dnf cannot wait a
    /// bounded time (see the module documentation): the driver retries instead.
    pub lock_timeout_seconds: u32,
    pub conffiles: ConffilePolicy,
}

impl Default for ApplyOptions {
    fn default() -> ApplyOptions {
        ApplyOptions { lock_timeout_seconds: 120, conffiles: ConffilePolicy::KeepOld }
    }
}

/// The command that installs exactly `packages`, upgrading or newly installing each.
///
/// apt: `apt-get install -y --no-install-recommends` with dpkg's conffile options and
/// `DPkg::Lock::Timeout`, `name:arch=version` for each. Why not the other options:
/// - `--no-install-recommends`: the plan lists every package the full upgrade would install, so
///   nothing else may come in; hard dependencies still do, as they must.
/// - no `--only-upgrade`: plans contain new packages (a new kernel ABI package), which it
///   refuses.
/// - `--no-remove`: an apply never removes a package; one that would (a conflict) fails
///   ([`FailureReason::WouldRemove`](super::FailureReason::WouldRemove)) for a person to decide.
/// - no `--allow-downgrades`: a host already newer than the plan fails
///   ([`FailureReason::WouldDowngrade`](super::FailureReason::WouldDowngrade)) instead of being
///   silently downgraded; only rollback downgrades.
/// - no `--allow-change-held-packages`: a held package fails the apply
///   ([`FailureReason::Held`](super::FailureReason::Held)); plans leave held packages out.
///
/// Named packages become "manually installed" in apt's eyes; for new dependencies that only
/// means `apt autoremove` will not remove them.
///
/// dnf: `dnf -y install NEVRA…`. On dnf 4 `install` of an exact NEVRA upgrades, downgrades
/// (also on apply: check the host is not newer first) or, for an installonly package such as
/// the kernel, installs beside the others. The options: `exit_on_lock=True` (fail at once
/// rather than wait for ever), `strict=True` (a missing package fails the transaction, whatever
/// the host's dnf.conf says), `install_weak_deps=False` (as `--no-install-recommends`),
/// `skip_if_unavailable=False` (as the assessment: an unreadable repository is an error, not a
/// quietly different resolution).
pub fn apply_command(
    kind: PackageManagerKind,
    packages: &[PinnedPackage],
    options: &ApplyOptions,
) -> Result<CommandSpec, InvalidInput> {
    let specs = specs(kind, packages)?;
    Ok(match kind {
        PackageManagerKind::Apt => apt_get(AptMode::Apply, options, specs),
        PackageManagerKind::Dnf => dnf("install", specs),
    })
}

/// The command that downloads what [`apply_command`] would install, into the package manager's
/// cache, and installs nothing: `apt-get install --download-only` with the apply's options, or
/// `dnf --downloadonly install`. Run while an earlier wave is patched, it takes the download
/// out of the apply, which finds the packages in the cache (apt checks them against the
/// repository's hashes, dnf says `Already downloaded`). It never waits for a lock another
/// process holds (`DPkg::Lock::Timeout=0`; dnf's `exit_on_lock`): the apply waits, this gives
/// up.
pub fn download_command(
    kind: PackageManagerKind,
    packages: &[PinnedPackage],
    options: &ApplyOptions,
) -> Result<CommandSpec, InvalidInput> {
    let options = ApplyOptions { lock_timeout_seconds: 0, ..*options };
    let mut command = apply_command(kind, packages, &options)?;
    // The apply's words, with the download option where each tool documents it.
    let (after, option) = match kind {
        PackageManagerKind::Apt => ("--no-remove", "--download-only"),
        PackageManagerKind::Dnf => ("--setopt=skip_if_unavailable=False", "--downloadonly"),
    };
    let at = command.argv.iter().position(|word| word == after).map_or(1, |i| i + 1);
    command.argv.insert(at, option.to_owned());
    Ok(command)
}

/// The package-manager words for `packages`, refusing an empty list and the same package
/// twice (a plan pins one version of each).
pub(crate) fn specs(
    kind: PackageManagerKind,
    packages: &[PinnedPackage],
) -> Result<Vec<String>, InvalidInput> {
    if packages.is_empty() {
        return Err(InvalidInput::new("package list", "", "nothing to install"));
    }
    let mut seen = HashSet::new();
    packages
        .iter()
        .map(|package| {
            if !seen.insert((&package.name, &package.arch)) {
                return Err(InvalidInput::new(
                    "package list",
                    &package.name_arch(),
                    "the same package is listed twice",
                ));
            }
            package.spec(kind)
        })
        .collect()
}

/// What an `apt-get` command is for, which decides its verb and what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AptMode {
    /// `install --no-remove`: upgrade and install only.
    Apply,
    /// `install --allow-downgrades`: downgrade, and remove what is named with a trailing `-`.
    Rollback,
    /// `purge`: remove packages and their configuration.
    Purge,
}

/// `apt-get` with patchctl's options for `mode`, and `words` (already validated) after `--`.
pub(crate) fn apt_get(mode: AptMode, options: &ApplyOptions, words: Vec<String>) -> CommandSpec {
    let verb = if mode == AptMode::Purge { "purge" } else { "install" };
    let mut argv: Vec<String> =
        ["apt-get", verb, "-y", "--no-install-recommends"].map(String::from).to_vec();
    match mode {
        AptMode::Apply => argv.push("--no-remove".to_owned()),
        AptMode::Rollback => argv.push("--allow-downgrades".to_owned()),
        AptMode::Purge => {}
    }
    let dpkg_options: &[&str] = match options.conffiles {
        ConffilePolicy::KeepOld => &["--force-confdef", "--force-confold"],
        ConffilePolicy::TakeNew => &["--force-confnew"],
    };
    for option in dpkg_options {
        argv.push("-o".to_owned());
        argv.push(format!("Dpkg::Options::={option}"));
    }
    argv.push("-o".to_owned());
    argv.push(format!("DPkg::Lock::Timeout={}", options.lock_timeout_seconds));
    argv.push("--".to_owned());
    argv.extend(words);
    let ucf = match options.conffiles {
        ConffilePolicy::KeepOld => "UCF_FORCE_CONFFOLD",
        ConffilePolicy::TakeNew => "UCF_FORCE_CONFFNEW",
    };
    // debconf asks nothing; needrestart, where installed, lists instead of restarting (the
    // rollout decides restarts); apt-listchanges shows no news; ucf-managed files (not
    // conffiles to dpkg) follow the same policy.
    CommandSpec::new(argv)
        .with_env("DEBIAN_FRONTEND", "noninteractive")
        .with_env("NEEDRESTART_MODE", "l")
        .with_env("APT_LISTCHANGES_FRONTEND", "none")
        .with_env(ucf, "1")
}

/// `dnf -y` with patchctl's options, `verb`, then `words` (already validated) after `--`.
pub(crate) fn dnf(verb: &str, words: Vec<String>) -> CommandSpec {
    let mut argv: Vec<String> = [
        "dnf",
        "-y",
        "--setopt=exit_on_lock=True",
        "--setopt=strict=True",
        "--setopt=install_weak_deps=False",
        "--setopt=skip_if_unavailable=False",
    ]
    .map(String::from)
    .to_vec();
    if verb == "remove" {
        // Remove what is named and nothing else: not the dependencies it leaves unused.
        argv.push("--noautoremove".to_owned());
    }
    argv.push(verb.to_owned());
    argv.push("--".to_owned());
    argv.extend(words);
    CommandSpec::new(argv)
}
