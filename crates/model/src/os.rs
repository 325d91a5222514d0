//! The operating system of a host as `/etc/os-release` describes it, and which package manager
//! family that implies.

use serde::Deserialize;

/// The package manager family patchctl drives on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManagerKind {
    /// apt over dpkg: Debian, Ubuntu and their derivatives.
    Apt,
    /// dnf over rpm: RHEL, Rocky, Alma, Fedora, Amazon Linux 2023.
    Dnf,
}

impl PackageManagerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageManagerKind::Apt => "apt",
            PackageManagerKind::Dnf => "dnf",
        }
    }
}

impl std::fmt::Display for PackageManagerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PackageManagerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "apt" => Ok(PackageManagerKind::Apt),
            "dnf" => Ok(PackageManagerKind::Dnf),
            other => Err(format!("unknown package manager {other:?}: expected \"apt\" or \"dnf\"")),
        }
    }
}

/// The fields of os-release(5) that patchctl uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    /// `ID`, e.g. `debian`, `ubuntu`, `rocky`.
    pub id: String,
    /// `ID_LIKE`, split on white space, e.g. `["rhel", "fedora"]`.
    pub id_like: Vec<String>,
    /// `VERSION_ID`, e.g. `12`, `22.04`, `9.4`; empty on rolling distributions.
    pub version_id: String,
    /// `VERSION_CODENAME`, e.g. `bookworm`; empty when absent.
    pub version_codename: String,
    /// `PRETTY_NAME`, for people.
    pub pretty_name: String,
}

impl OsRelease {
    /// Parses the contents of `/etc/os-release`. Lines that are not `KEY=value` are ignored, as
    /// os-release(5) allows comments and blank lines; values may be quoted with `"` or `'`.
    pub fn parse(text: &str) -> OsRelease {
        let mut os = OsRelease::default();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((key, raw)) = line.split_once('=') else {
                continue;
            };
            let value = unquote(raw.trim());
            match key.trim() {
                "ID" => os.id = value,
                "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_owned).collect(),
                "VERSION_ID" => os.version_id = value,
                "VERSION_CODENAME" => os.version_codename = value,
                "PRETTY_NAME" => os.pretty_name = value,
                _ => {}
            }
        }
        os
    }

    /// The package manager family this OS uses, from `ID` and then `ID_LIKE`; `None` when
    /// neither names a family patchctl knows.
    pub fn package_manager(&self) -> Option<PackageManagerKind> {
        std::iter::once(self.id.as_str())
            .chain(self.id_like.iter().map(String::as_str))
            .find_map(family_of)
    }
}

fn family_of(id: &str) -> Option<PackageManagerKind> {
    match id {
        "debian" | "ubuntu" | "raspbian" | "linuxmint" | "pop" | "kali" | "devuan" => {
            Some(PackageManagerKind::Apt)
        }
        "rhel" | "fedora" | "centos" | "rocky" | "almalinux" | "ol" | "amzn" => {
            Some(PackageManagerKind::Dnf)
        }
        _ => None,
    }
}

fn unquote(value: &str) -> String {
    let bytes = value.as_bytes();
    let quoted = bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0];
    let inner = if quoted { &value[1..value.len() - 1] } else { value };
    // os-release allows shell-style backslash escapes inside double quotes.
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_bookworm() {
        let os = OsRelease::parse(include_str!("../test_data/os-release/debian-12"));
        assert_eq!(os.id, "debian");
        assert_eq!(os.version_id, "12");
        assert_eq!(os.version_codename, "bookworm");
        assert_eq!(os.package_manager(), Some(PackageManagerKind::Apt));
    }

    #[test]
    fn id_like_decides_for_derivatives() {
        let os = OsRelease::parse("ID=acme\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"1\"\n");
        assert_eq!(os.id_like, vec!["rhel", "fedora"]);
        assert_eq!(os.package_manager(), Some(PackageManagerKind::Dnf));
    }

    #[test]
    fn unknown_family() {
        let os = OsRelease::parse("ID=alpine\nVERSION_ID=3.20.0\n");
        assert_eq!(os.package_manager(), None);
    }
}
