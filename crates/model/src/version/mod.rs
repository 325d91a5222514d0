//! Version order of Debian and RPM packages, identical to dpkg's and rpm's own.
//!
//! `deb` mirrors dpkg 1.21 (`parseversion`, `dpkg_version_compare` and what
//! `dpkg --compare-versions` does with bad syntax); `rpm` mirrors rpm 4.18 (`rpmvercmp`,
//! `rpmverParse`, `rpmverCmp`). Both work on bytes and never panic, whatever the input. The
//! integration tests in `tests/it/version` hold both against the real tools.

pub mod deb;
pub mod rpm;

use std::cmp::Ordering;

pub use deb::{DebProblem, DebVersion};
pub use rpm::{Evr, RpmProblem};

/// Whose version order to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// dpkg's: Debian, Ubuntu and their derivatives.
    Deb,
    /// rpm's: RHEL, Rocky, Alma, Fedora, Amazon Linux.
    Rpm,
}

/// Compares two version strings in the order of `scheme`; see [`deb::compare`] and
/// [`rpm::compare`] for what each accepts.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match scheme {
        Scheme::Deb => deb::compare(a, b),
        Scheme::Rpm => rpm::compare(a, b),
    }
}

/// A version string the package manager itself would refuse. The message names the version
/// (quoted and escaped, so white space and control characters stay visible) and says what is
/// wrong, in the package manager's own words where it has some.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("Debian version {version:?} has bad syntax: {problem}")]
    Deb { version: String, problem: DebProblem },
    #[error("RPM version {version:?} has bad syntax: {problem}")]
    Rpm { version: String, problem: RpmProblem },
}
