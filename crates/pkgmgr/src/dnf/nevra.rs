//! RPM package identities as rpm and dnf print them: `[epoch:]version-release` (EVR) and
//! `name-[epoch:]version-release.arch` (NEVRA), and the order of EVRs.

use std::cmp::Ordering;
use std::fmt;

use model::version::rpm::rpmvercmp;

/// An RPM version: epoch, version and release. A missing epoch (`(none)` in rpm's query
/// format) is epoch 0, as rpm and dnf compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evr {
    pub epoch: u64,
    pub version: String,
    pub release: String,
}

impl Evr {
    /// Parses `[epoch:]version-release`, the form `dnf check-update` prints. `None` when the
    /// text is not of that shape.
    pub fn parse(text: &str) -> Option<Evr> {
        let (epoch, rest) = match text.split_once(':') {
            Some((epoch, rest)) => (parse_epoch(epoch)?, rest),
            None => (0, text),
        };
        let (version, release) = rest.rsplit_once('-')?;
        Evr::from_fields(epoch, version, release)
    }

    /// From the separate fields of rpm's query format; `epoch` is digits or `(none)`.
    pub fn from_rpm_fields(epoch: &str, version: &str, release: &str) -> Option<Evr> {
        let epoch = if epoch == "(none)" { 0 } else { parse_epoch(epoch)? };
        Evr::from_fields(epoch, version, release)
    }

    fn from_fields(epoch: u64, version: &str, release: &str) -> Option<Evr> {
        (is_version_field(version) && is_version_field(release)).then(|| Evr {
            epoch,
            version: version.to_owned(),
            release: release.to_owned(),
        })
    }

    /// rpm's order: epoch as a number, then version, then release, each by `rpmvercmp`.
    pub fn cmp_rpm(&self, other: &Evr) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

/// `[epoch:]version-release` with the epoch written only when it is not 0, as dnf writes it
/// (`2:3.0-2`, `1.1-1`). patchctl's version strings for rpm hosts use this form everywhere.
impl fmt::Display for Evr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}:", self.epoch)?;
        }
        write!(f, "{}-{}", self.version, self.release)
    }
}

/// A package as `dnf updateinfo list` names it: `name-[epoch:]version-release.arch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nevra {
    pub name: String,
    pub evr: Evr,
    pub arch: String,
}

impl Nevra {
    /// Parses `name-[epoch:]version-release.arch`. The arch is after the last dot, the release
    /// after the last dash before it and the version after the dash before that: names may
    /// contain dashes, versions and releases may not.
    pub fn parse(text: &str) -> Option<Nevra> {
        let (rest, arch) = text.rsplit_once('.')?;
        let (rest, release) = rest.rsplit_once('-')?;
        let (name, epoch_version) = rest.rsplit_once('-')?;
        let (epoch, version) = match epoch_version.split_once(':') {
            Some((epoch, version)) => (parse_epoch(epoch)?, version),
            None => (0, epoch_version),
        };
        if !is_name(name) || !is_name(arch) {
            return None;
        }
        Some(Nevra {
            name: name.to_owned(),
            evr: Evr::from_fields(epoch, version, release)?,
            arch: arch.to_owned(),
        })
    }
}

/// Splits `name.arch` at the last dot.
pub fn split_name_arch(text: &str) -> Option<(&str, &str)> {
    let (name, arch) = text.rsplit_once('.')?;
    (is_name(name) && is_name(arch)).then_some((name, arch))
}

/// A package name or arch: not empty, no white space, no control characters, and not
/// beginning with `-` (rpm builds no such name, and on a command line it would read as an
/// option; found by fuzzing, `fuzz/open-findings/dnf-installed-name-like-an-option`).
pub fn is_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A version or release: a name without dashes or colons (rpmbuild refuses both).
fn is_version_field(text: &str) -> bool {
    is_name(text) && !text.contains(['-', ':'])
}

fn parse_epoch(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evr_forms() {
        let evr = Evr::parse("2:3.0-2").unwrap();
        assert_eq!((evr.epoch, &*evr.version, &*evr.release), (2, "3.0", "2"));
        assert_eq!(evr.to_string(), "2:3.0-2");
        assert_eq!(Evr::parse("0:1.0-1").unwrap().to_string(), "1.0-1");
        let long = Evr::parse("1.1-0.20260115git0123456789abcdef.acme1").unwrap();
        assert_eq!(long.release, "0.20260115git0123456789abcdef.acme1");
        for bad in ["", "1.0", "-1", "1.0-", "x:1.0-1", "+1:1.0-1", ":1.0-1", "1 0-1", "1-0-1:"] {
            assert_eq!(Evr::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            Evr::from_rpm_fields("(none)", "6.1.0", "1.acme").unwrap().to_string(),
            "6.1.0-1.acme"
        );
        assert_eq!(Evr::from_rpm_fields("", "1", "1"), None);
    }

    #[test]
    fn evr_order() {
        let v = |s| Evr::parse(s).unwrap();
        assert_eq!(v("1:1.0-1").cmp_rpm(&v("9.9-9")), Ordering::Greater);
        assert_eq!(v("6.1.0-2.acme").cmp_rpm(&v("6.1.0-10.acme")), Ordering::Less);
        assert_eq!(v("1.0-1").cmp_rpm(&v("0:1.0-1")), Ordering::Equal);
        assert_eq!(v("1.1~rc1-1").cmp_rpm(&v("1.1-1")), Ordering::Less);
    }

    #[test]
    fn nevra_forms() {
        let n = Nevra::parse("kernel-core-6.1.0-2.acme.x86_64").unwrap();
        assert_eq!((&*n.name, &*n.arch), ("kernel-core", "x86_64"));
        assert_eq!(n.evr.to_string(), "6.1.0-2.acme");
        let n = Nevra::parse("acme-db-2:3.0-2.x86_64").unwrap();
        assert_eq!((&*n.name, n.evr.epoch), ("acme-db", 2));
        for bad in ["acme", "acme.noarch", "acme-1.0.noarch", "-1.0-1.noarch", "a-1.0-1."] {
            assert_eq!(Nevra::parse(bad), None, "{bad:?}");
        }
        assert_eq!(split_name_arch("acme-lib.i686"), Some(("acme-lib", "i686")));
        assert_eq!(split_name_arch("acme-lib"), None);
        assert_eq!(split_name_arch(".x86_64"), None);
    }
}
