//! The dpkg database as `dpkg-query -W` prints it with our format string.

use crate::error::AssessError;

pub const STEP: &str = "dpkg-query";

/// One tab-separated line per package; the format is one argv word, never shell-interpreted.
pub const FORMAT: &str = "${Package}\\t${Architecture}\\t${Version}\\t${db:Status-Want} ${db:Status-Status} ${db:Status-Eflag}\\t${Section}\\t${source:Package}\\t${source:Version}\\n";

/// A package as dpkg records it, in any state. Borrows from dpkg-query's output: a large host
/// has thousands of packages, and copying each field would cost more than parsing them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgPackage<'a> {
    pub name: &'a str,
    pub arch: &'a str,
    pub version: &'a str,
    pub want: Want,
    pub status: Status,
    /// `reinstreq`: dpkg marked the package as needing a reinstall.
    pub reinstall_required: bool,
    pub section: &'a str,
    pub source: &'a str,
    pub source_version: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Unknown,
    Install,
    Hold,
    Deinstall,
    Purge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotInstalled,
    ConfigFiles,
    HalfInstalled,
    Unpacked,
    HalfConfigured,
    TriggersAwaited,
    TriggersPending,
    Installed,
}

impl Status {
    /// The package's files are on disk and configured: triggers still pending are normal.
    pub fn is_installed(self) -> bool {
        matches!(self, Status::Installed | Status::TriggersAwaited | Status::TriggersPending)
    }

    /// dpkg stopped half-way through installing or configuring it.
    pub fn is_broken(self) -> bool {
        matches!(self, Status::HalfInstalled | Status::Unpacked | Status::HalfConfigured)
    }
}

impl DpkgPackage<'_> {
    /// The name apt prints: `libc6:i386` for a foreign architecture, the bare name otherwise.
    pub fn qualified_name(&self, native_arch: &str) -> String {
        if self.arch == native_arch || self.arch == "all" {
            self.name.to_owned()
        } else {
            format!("{}:{}", self.name, self.arch)
        }
    }
}

/// Parses the output of `dpkg-query -W -f FORMAT`. Every line must have the eight fields and a
/// valid package name: dpkg enforces names, so an invalid one means the output is not dpkg's.
pub fn parse(stdout: &str) -> Result<Vec<DpkgPackage<'_>>, AssessError> {
    let mut packages = Vec::new();
    for (index, line) in stdout.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let expected =
            "PACKAGE\\tARCH\\tVERSION\\tWANT STATUS EFLAG\\tSECTION\\tSOURCE\\tSOURCE-VERSION";
        let garbage = || AssessError::garbage(STEP, index + 1, line, expected);
        let mut fields = line.split('\t');
        let mut field = || fields.next().ok_or_else(garbage);
        let (name, arch, version, state) = (field()?, field()?, field()?, field()?);
        let (section, source, source_version) = (field()?, field()?, field()?);
        if fields.next().is_some() {
            return Err(garbage());
        }
        let mut state = state.split(' ');
        let (Some(want), Some(status), Some(eflag), None) =
            (state.next(), state.next(), state.next(), state.next())
        else {
            return Err(garbage());
        };
        let want = match want {
            "unknown" => Want::Unknown,
            "install" => Want::Install,
            "hold" => Want::Hold,
            "deinstall" => Want::Deinstall,
            "purge" => Want::Purge,
            _ => return Err(garbage()),
        };
        let status = match status {
            "not-installed" => Status::NotInstalled,
            "config-files" => Status::ConfigFiles,
            "half-installed" => Status::HalfInstalled,
            "unpacked" => Status::Unpacked,
            "half-configured" => Status::HalfConfigured,
            "triggers-awaited" => Status::TriggersAwaited,
            "triggers-pending" => Status::TriggersPending,
            "installed" => Status::Installed,
            _ => return Err(garbage()),
        };
        let reinstall_required = match eflag {
            "ok" => false,
            "reinstreq" => true,
            _ => return Err(garbage()),
        };
        if !is_package_name(name)
            || !is_word(arch)
            || (status != Status::NotInstalled && !is_word(version))
        {
            return Err(garbage());
        }
        packages.push(DpkgPackage {
            name,
            arch,
            version,
            want,
            status,
            reinstall_required,
            section,
            source,
            source_version,
        });
    }
    Ok(packages)
}

/// A Debian package name as dpkg accepts it: starts with a letter or digit, then letters,
/// digits, `+`, `-`, `.` (and the deprecated `_`).
pub fn is_package_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-._".contains(&b))
}

/// A version or architecture: printable ASCII with no white space. dpkg refuses the rest.
pub(super) fn is_word(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_fields() {
        let text = "libc6\tamd64\t2.36-9+deb12u8\tinstall installed ok\tlibs\tglibc\t2.36-9+deb12u8\n\
                    libc6\ti386\t2.36-9+deb12u8\thold installed ok\tlibs\tglibc\t2.36-9+deb12u8\n\
                    old\tamd64\t1.0\tdeinstall config-files ok\tmisc\told\t1.0\n\
                    acme-broken\tall\t1.1-1\tinstall half-configured reinstreq\tmisc\tacme-broken\t1.1-1\n";
        let packages = parse(text).unwrap();
        assert_eq!(packages.len(), 4);
        assert_eq!(packages[1].want, Want::Hold);
        assert_eq!(packages[1].qualified_name("amd64"), "libc6:i386");
        assert!(!packages[2].status.is_installed());
        assert!(packages[3].status.is_broken() && packages[3].reinstall_required);
    }

    #[test]
    fn garbage_names_the_line() {
        let error = parse("ok\tamd64\t1\tinstall installed ok\tx\tok\t1\nnope\n").unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
        assert!(parse("bad;rm -rf /\tamd64\t1\tinstall installed ok\tx\tx\t1\n").is_err());
        assert!(parse("a\tamd64\t1\tinstall weird ok\tx\tx\t1\n").is_err());
        assert!(parse("a\tamd64\t1\tinstall installed ok\tx\tx\n").is_err());
        assert!(parse("").unwrap().is_empty());
    }
}
