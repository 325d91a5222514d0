//! Which hosts an advisory speaks about: OSV ecosystems (`Debian:12`, `Ubuntu:22.04:LTS`,
//! `Ubuntu:Pro:16.04:LTS`, `AlmaLinux:9`, `Rocky Linux:8`, Red Hat's CPE-like
//! `Red Hat:rhel_eus:9.2::appstream`) and a dnf repository's updateinfo, and which of them a
//! host with a given os-release belongs to.

use crate::version::Scheme;
use crate::{OsRelease, PackageManagerKind};

/// A distribution family whose releases advisories name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Distribution {
    Debian,
    Ubuntu,
    AlmaLinux,
    RockyLinux,
    RedHat,
    /// The updateinfo of a dnf repository: it concerns every RPM host, the way dnf applies it
    /// (an installed package of the same name and architecture, older than the fixed one).
    DnfRepository,
}

impl Distribution {
    /// Whose version order the distribution's versions follow.
    pub fn scheme(self) -> Scheme {
        match self {
            Distribution::Debian | Distribution::Ubuntu => Scheme::Deb,
            Distribution::AlmaLinux
            | Distribution::RockyLinux
            | Distribution::RedHat
            | Distribution::DnfRepository => Scheme::Rpm,
        }
    }
}

/// An ecosystem as a record names it, and the release it means.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ecosystem {
    /// As written in the record (`Ubuntu:Pro:16.04:LTS`), or `updateinfo` for a dnf repository.
    pub name: String,
    pub distribution: Distribution,
    /// `12`, `22.04`, `9`, `9.2`; empty for a dnf repository.
    pub release: String,
}

/// The key advisories are indexed by: a distribution and one of its releases.
pub type ReleaseKey = (Distribution, String);

/// The name given to the ecosystem of updateinfo advisories.
pub const DNF_REPOSITORY: &str = "updateinfo";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsupportedEcosystem {
    #[error("ecosystem {0:?} is not a Linux distribution patchctl manages")]
    Unknown(String),
    #[error("ecosystem {0:?} names no release, so no host can be matched against it")]
    NoRelease(String),
    #[error("ecosystem {name:?} has a release {release:?} that is not a version number")]
    BadRelease { name: String, release: String },
}

impl Ecosystem {
    /// The ecosystem of a dnf repository's updateinfo.
    pub fn dnf_repository() -> Ecosystem {
        Ecosystem {
            name: DNF_REPOSITORY.to_owned(),
            distribution: Distribution::DnfRepository,
            release: String::new(),
        }
    }

    pub fn parse(name: &str) -> Result<Ecosystem, UnsupportedEcosystem> {
        let (family, rest) = match name.split_once(':') {
            Some((family, rest)) => (family, Some(rest)),
            None => (name, None),
        };
        let distribution = match family {
            "Debian" => Distribution::Debian,
            "Ubuntu" => Distribution::Ubuntu,
            "AlmaLinux" => Distribution::AlmaLinux,
            "Rocky Linux" => Distribution::RockyLinux,
            "Red Hat" => Distribution::RedHat,
            _ => return Err(UnsupportedEcosystem::Unknown(name.to_owned())),
        };
        let Some(rest) = rest.filter(|rest| !rest.is_empty()) else {
            return Err(UnsupportedEcosystem::NoRelease(name.to_owned()));
        };
        let release = match distribution {
            // `Ubuntu:22.04:LTS`, `Ubuntu:24.10`, `Ubuntu:Pro:16.04:LTS`, `Ubuntu:Pro:FIPS:…`:
            // the release is the one field that is a version number. Pro releases are the same
            // releases (extended security maintenance), so a host is matched against both.
            Distribution::Ubuntu => rest
                .split(':')
                .find(|field| field.starts_with(|c: char| c.is_ascii_digit()))
                .unwrap_or(rest),
            // `rhel_eus:9.2::appstream`: the product's version is the second field.
            Distribution::RedHat => rest.split(':').nth(1).unwrap_or(""),
            _ => rest,
        };
        if release.is_empty() {
            return Err(UnsupportedEcosystem::NoRelease(name.to_owned()));
        }
        if !is_release_number(release) {
            return Err(UnsupportedEcosystem::BadRelease {
                name: name.to_owned(),
                release: release.to_owned(),
            });
        }
        Ok(Ecosystem { name: name.to_owned(), distribution, release: release.to_owned() })
    }

    pub fn key(&self) -> ReleaseKey {
        (self.distribution, self.release.clone())
    }
}

/// `12`, `22.04`, `9.2`: digits separated by single dots.
fn is_release_number(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// A host's place among the ecosystems: every release key advisories for it are filed under,
/// and the version order of its packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRelease {
    pub keys: Vec<ReleaseKey>,
    pub scheme: Scheme,
}

impl HostRelease {
    /// From the host's os-release and package manager. A distribution patchctl knows no
    /// advisories for gets no OSV keys (only its dnf repositories' updateinfo, on RPM hosts),
    /// so it is never reported exposed by a record about another distribution.
    pub fn of(os: &OsRelease, package_manager: PackageManagerKind) -> HostRelease {
        let major = os.version_id.split('.').next().unwrap_or("").to_owned();
        let mut keys = Vec::new();
        match os.id.as_str() {
            "debian" if !major.is_empty() => keys.push((Distribution::Debian, major)),
            "ubuntu" if !os.version_id.is_empty() => {
                keys.push((Distribution::Ubuntu, os.version_id.clone()))
            }
            "almalinux" if !major.is_empty() => keys.push((Distribution::AlmaLinux, major)),
            "rocky" if !major.is_empty() => keys.push((Distribution::RockyLinux, major)),
            "rhel" if !major.is_empty() => {
                // Red Hat files a fix under the minor release of an extended-support stream
                // (`rhel_eus:9.2`) and under the major release for the main stream.
                if os.version_id != major {
                    keys.push((Distribution::RedHat, os.version_id.clone()));
                }
                keys.push((Distribution::RedHat, major));
            }
            _ => {}
        }
        let scheme = match package_manager {
            PackageManagerKind::Apt => Scheme::Deb,
            PackageManagerKind::Dnf => {
                keys.push((Distribution::DnfRepository, String::new()));
                Scheme::Rpm
            }
        };
        HostRelease { keys, scheme }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(name: &str) -> (Distribution, String) {
        Ecosystem::parse(name).unwrap_or_else(|error| panic!("{error}")).key()
    }

    #[test]
    fn the_ecosystems_of_the_real_records_are_understood() {
        assert_eq!(release("Debian:12"), (Distribution::Debian, "12".into()));
        assert_eq!(release("Debian:7"), (Distribution::Debian, "7".into()));
        assert_eq!(release("Ubuntu:22.04:LTS"), (Distribution::Ubuntu, "22.04".into()));
        assert_eq!(release("Ubuntu:24.10"), (Distribution::Ubuntu, "24.10".into()));
        assert_eq!(release("Ubuntu:Pro:16.04:LTS"), (Distribution::Ubuntu, "16.04".into()));
        assert_eq!(release("AlmaLinux:9"), (Distribution::AlmaLinux, "9".into()));
        assert_eq!(release("Rocky Linux:8"), (Distribution::RockyLinux, "8".into()));
        assert_eq!(
            release("Red Hat:rhel_eus:9.2::appstream"),
            (Distribution::RedHat, "9.2".into())
        );
        assert_eq!(
            release("Red Hat:enterprise_linux:9::baseos"),
            (Distribution::RedHat, "9".into())
        );
    }

    #[test]
    fn other_ecosystems_are_refused_with_a_reason() {
        assert!(matches!(Ecosystem::parse("PyPI"), Err(UnsupportedEcosystem::Unknown(_))));
        assert!(matches!(Ecosystem::parse("Alpine:v3.19"), Err(UnsupportedEcosystem::Unknown(_))));
        assert!(matches!(Ecosystem::parse("Debian"), Err(UnsupportedEcosystem::NoRelease(_))));
        assert!(matches!(Ecosystem::parse("Debian:"), Err(UnsupportedEcosystem::NoRelease(_))));
        assert!(matches!(
            Ecosystem::parse("Debian:bookworm"),
            Err(UnsupportedEcosystem::BadRelease { .. })
        ));
        assert!(matches!(
            Ecosystem::parse("Red Hat:rhel"),
            Err(UnsupportedEcosystem::NoRelease(_))
        ));
    }

    fn os(id: &str, version_id: &str) -> OsRelease {
        OsRelease { id: id.into(), version_id: version_id.into(), ..OsRelease::default() }
    }

    #[test]
    fn hosts_fall_under_their_release() {
        let debian = HostRelease::of(&os("debian", "12"), PackageManagerKind::Apt);
        assert_eq!(debian.keys, vec![(Distribution::Debian, "12".into())]);
        assert_eq!(debian.scheme, Scheme::Deb);
        let rocky = HostRelease::of(&os("rocky", "8.9"), PackageManagerKind::Dnf);
        assert_eq!(
            rocky.keys,
            vec![
                (Distribution::RockyLinux, "8".into()),
                (Distribution::DnfRepository, String::new())
            ]
        );
        let rhel = HostRelease::of(&os("rhel", "9.2"), PackageManagerKind::Dnf);
        assert_eq!(
            rhel.keys[..2],
            [(Distribution::RedHat, "9.2".into()), (Distribution::RedHat, "9".into())]
        );
        // The test fleet's RPM hosts: no OSV ecosystem, only their repository's updateinfo.
        let acme = HostRelease::of(&os("acme-el", "1"), PackageManagerKind::Dnf);
        assert_eq!(acme.keys, vec![(Distribution::DnfRepository, String::new())]);
        assert!(HostRelease::of(&os("arch", ""), PackageManagerKind::Apt).keys.is_empty());
    }
}
