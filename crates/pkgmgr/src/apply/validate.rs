//! Strict checks of everything patchctl puts into a command it runs as root: package names,
//! architectures, versions, unit names, journal cursors. Commands are argv vectors, so no shell
//! reads them; these checks are for the programs themselves, which take a word that starts with
//! `-` as an option, and for the plan, which should never carry a word no package manager wrote.

use model::PackageManagerKind;

/// A value that cannot go into a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct InvalidInput {
    /// What the value is: `package name`, `version`, `unit name`, …
    pub what: &'static str,
    pub value: String,
    pub reason: &'static str,
}

impl InvalidInput {
    pub(crate) fn new(what: &'static str, value: &str, reason: &'static str) -> InvalidInput {
        let mut shown: String = value.chars().take(120).collect();
        if shown.len() < value.len() {
            shown.push('…');
        }
        InvalidInput { what, value: shown, reason }
    }
}

/// A package name: Debian policy's alphabet (`[a-z0-9][a-z0-9+.-]+`, with upper case and `_`
/// as dpkg and rpm also accept them), starting with a letter or digit.
pub(crate) fn package_name(name: &str) -> Result<(), InvalidInput> {
    let first_ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if !first_ok {
        return Err(InvalidInput::new("package name", name, "must start with a letter or digit"));
    }
    if name.len() > 200 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-._".contains(&b))
    {
        return Err(InvalidInput::new(
            "package name",
            name,
            "only letters, digits and + - . _ are allowed, at most 200",
        ));
    }
    Ok(())
}

/// An architecture: `amd64`, `all`, `x86_64`, `noarch`, `i686`…
pub(crate) fn arch(arch: &str) -> Result<(), InvalidInput> {
    let ok = !arch.is_empty()
        && arch.len() <= 32
        && arch.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && arch.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new("architecture", arch, "only letters, digits, _ and -"))
    }
}

/// A version as the package manager writes it: dpkg's `[epoch:]upstream[-revision]` (policy's
/// alphabet, upstream starting with a digit) or dnf's `[epoch:]version-release`.
pub(crate) fn version(kind: PackageManagerKind, version: &str) -> Result<(), InvalidInput> {
    let invalid = |reason| Err(InvalidInput::new("version", version, reason));
    if version.is_empty() || version.len() > 200 {
        return invalid("empty, or longer than 200");
    }
    if !version.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return invalid("must start with a digit (or an epoch)");
    }
    match kind {
        PackageManagerKind::Apt => {
            if !version.bytes().all(|b| b.is_ascii_alphanumeric() || b".+~:-".contains(&b)) {
                return invalid("only letters, digits and . + ~ : - are allowed in a dpkg version");
            }
            if model::version::DebVersion::parse_strict(version).is_err() {
                return invalid("dpkg would not accept it");
            }
        }
        PackageManagerKind::Dnf => {
            if !version.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+~^:-".contains(&b)) {
                return invalid(
                    "only letters, digits and . _ + ~ ^ : - are allowed in an rpm version",
                );
            }
            // `[epoch:]version-release`: one dash, at most one colon, epoch all digits.
            let rest = match version.split_once(':') {
                Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => rest,
                Some(_) => return invalid("the epoch must be digits"),
                None => version,
            };
            match rest.split_once('-') {
                Some((v, r))
                    if !v.is_empty()
                        && !r.is_empty()
                        && !v.contains(':')
                        && !r.contains(['-', ':']) => {}
                _ => return invalid("expected [epoch:]version-release"),
            }
        }
    }
    Ok(())
}

/// A word for a command that is not a package: a systemd unit, a journal cursor. Printable
/// ASCII from a small alphabet, never starting with `-`.
pub(crate) fn word(what: &'static str, value: &str, extra: &[u8]) -> Result<(), InvalidInput> {
    if value.is_empty() || value.len() > 256 {
        return Err(InvalidInput::new(what, value, "empty, or longer than 256"));
    }
    if value.starts_with('-') {
        return Err(InvalidInput::new(what, value, "must not start with -"));
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b)) {
        return Err(InvalidInput::new(what, value, "contains a character that is not allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use PackageManagerKind::{Apt, Dnf};

    #[test]
    fn names_and_arches() {
        for good in ["acme-web", "libstdc++6", "python3.11", "0ad", "kernel-core", "Foo_Bar"] {
            assert_eq!(package_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-acme",
            ".acme",
            "+x",
            "acme web",
            "acme;rm",
            "acme$(id)",
            "a`b`",
            "a\nb",
            "a/b",
            "a=1",
            "a:amd64",
            "a*",
            "ä",
        ] {
            assert!(package_name(bad).is_err(), "{bad:?}");
        }
        for good in ["amd64", "all", "x86_64", "noarch", "i686", "armhf", "musl-linux-amd64"] {
            assert_eq!(arch(good), Ok(()), "{good}");
        }
        for bad in ["", "-x", "x y", "amd64;", "x.y", "x:y"] {
            assert!(arch(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn versions() {
        for good in ["1.1-1", "2:1.0-1", "1.0~rc1+dfsg-3", "6.1.112-1", "20230311"] {
            assert_eq!(version(Apt, good), Ok(()), "{good}");
        }
        for bad in ["", "-1", "a1.0", "1.0 1", "1.0;id", "1.0$x", "1.0\n", "x:1.0", "1.0_1"] {
            assert!(version(Apt, bad).is_err(), "apt {bad:?}");
        }
        for good in
            ["1.1-1", "2:3.0-2", "1.1-0.20260115git0123456789abcdef.acme1", "5.14.0-427.el9"]
        {
            assert_eq!(version(Dnf, good), Ok(()), "{good}");
        }
        for bad in ["", "1.1", "1-1-1", "-1", "x:1-1", "1:2:3-1", "1.1-", "1.1-1 ", "1.1-1;x"] {
            assert!(version(Dnf, bad).is_err(), "dnf {bad:?}");
        }
    }
}
