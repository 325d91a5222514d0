//! What rpm says is installed (`rpm -qa` with a tab-separated query format), and which
//! installed packages are installonly kernels (`rpm -q --whatprovides installonlypkg(kernel)`).

use std::collections::BTreeSet;

use crate::error::{AssessError, Problem};
use crate::probe::{Gathered, ProbeOutput, ProbeSpec};

use super::nevra::{Evr, is_name};

pub const INSTALLED: &str = "rpm -qa";
pub const INSTALLONLY: &str = "rpm -q --whatprovides";

/// One line per package: name, epoch (`(none)` when unset), version, release, arch. Fields are
/// separated by tabs, which no field can contain, so long names cannot shift columns.
pub const QUERY_FORMAT: &str = r"%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n";

/// The capabilities that make a package an installonly kernel: Fedora's and RHEL's `kernel`,
/// `kernel-core`, `kernel-modules*` and `kernel-devel` provide one of them, and dnf installs
/// such packages side by side (its default `installonlypkgs`).
pub const KERNEL_CAPABILITIES: [&str; 3] =
    ["installonlypkg(kernel)", "installonlypkg(kernel-module)", "multiversion(kernel)"];

pub fn probes() -> Vec<ProbeSpec> {
    let mut installonly = vec!["rpm", "--query", "--queryformat", r"%{NAME}\n", "--whatprovides"];
    installonly.extend(KERNEL_CAPABILITIES);
    vec![
        ProbeSpec::run(INSTALLED, ["rpm", "--query", "--all", "--queryformat", QUERY_FORMAT]),
        ProbeSpec::run(INSTALLONLY, installonly),
    ]
}

/// An installed package as rpm lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledRpm {
    pub name: String,
    pub arch: String,
    pub evr: Evr,
}

/// The installed packages, in rpm's order. `gpg-pubkey` entries are left out: they are the
/// repository signing keys rpm stores as pseudo packages, never updated by dnf.
pub fn installed(gathered: &Gathered) -> Result<Vec<InstalledRpm>, AssessError> {
    parse_installed(gathered.stdout(INSTALLED, &[0])?)
}

pub fn parse_installed(stdout: &str) -> Result<Vec<InstalledRpm>, AssessError> {
    const EXPECTED: &str = "NAME<tab>EPOCH<tab>VERSION<tab>RELEASE<tab>ARCH";
    if stdout.is_empty() {
        // Debian's rpm keeps its database in ~/.rpmdb unless %_dbpath says otherwise, so an
        // empty answer usually means rpm looked in the wrong place, not that nothing is there.
        return Err(AssessError::new(
            INSTALLED,
            Problem::Invalid(
                "rpm lists no installed package: its database is missing or empty (check %_dbpath)"
                    .into(),
            ),
        ));
    }
    let mut packages = Vec::new();
    let n_lines = stdout.lines().count();
    for (i, line) in stdout.lines().enumerate() {
        if i + 1 == n_lines && !stdout.ends_with('\n') {
            return Err(AssessError::garbage(
                INSTALLED,
                i + 1,
                line,
                "a complete line (the output stops mid-line)",
            ));
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, epoch, version, release, arch] = fields[..] else {
            return Err(AssessError::garbage(INSTALLED, i + 1, line, EXPECTED));
        };
        if name == "gpg-pubkey" {
            continue;
        }
        let evr = Evr::from_rpm_fields(epoch, version, release);
        let (Some(evr), true, true) = (evr, is_name(name), is_name(arch)) else {
            return Err(AssessError::garbage(INSTALLED, i + 1, line, EXPECTED));
        };
        packages.push(InstalledRpm { name: name.to_owned(), arch: arch.to_owned(), evr });
    }
    Ok(packages)
}

/// Names of the installed packages that provide one of [`KERNEL_CAPABILITIES`].
pub fn installonly_kernels(gathered: &Gathered) -> Result<BTreeSet<String>, AssessError> {
    // rpm exits with the number of capabilities nothing provides.
    let ok_codes: Vec<i32> = (0..=KERNEL_CAPABILITIES.len() as i32).collect();
    let stdout = gathered.stdout(INSTALLONLY, &ok_codes)?;
    let exit_code = match gathered.get(INSTALLONLY) {
        Some(ProbeOutput::Ran { exit_code, .. }) => *exit_code,
        _ => 0,
    };
    parse_installonly(stdout, exit_code)
}

/// Parses the names, one a line, and the `no package provides CAPABILITY` lines. Their number
/// must be the exit code: a database error also exits 1, with nothing on standard output.
pub fn parse_installonly(stdout: &str, exit_code: i32) -> Result<BTreeSet<String>, AssessError> {
    let mut names = BTreeSet::new();
    let mut n_unprovided = 0;
    for (i, line) in stdout.lines().enumerate() {
        if let Some(capability) = line.strip_prefix("no package provides ") {
            if !KERNEL_CAPABILITIES.contains(&capability) {
                return Err(AssessError::garbage(
                    INSTALLONLY,
                    i + 1,
                    line,
                    "one of the capabilities asked about",
                ));
            }
            n_unprovided += 1;
        } else if is_name(line) {
            names.insert(line.to_owned());
        } else {
            return Err(AssessError::garbage(
                INSTALLONLY,
                i + 1,
                line,
                "a package name or \"no package provides CAPABILITY\"",
            ));
        }
    }
    if n_unprovided != exit_code {
        return Err(AssessError::new(
            INSTALLONLY,
            Problem::Invalid(format!(
                "rpm exited with code {exit_code} but said {n_unprovided} capabilities are not provided"
            )),
        ));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_with_epochs_multiarch_and_keys() {
        let packages =
            parse_installed(include_str!("../../test_data/dnf/updates-rpm-qa.stdout")).unwrap();
        let shown: Vec<String> =
            packages.iter().map(|p| format!("{}.{} {}", p.name, p.arch, p.evr)).collect();
        assert_eq!(
            shown,
            [
                "fleet-base-provides.noarch 1.0-1",
                "acme-agent-plugin-for-the-very-long-enterprise-monitoring-suite.noarch 1.0-1",
                "acme-daemon.x86_64 1.0-1",
                "acme-db.x86_64 2:3.0-1",
                "acme-lib.i686 1.0-1",
                "acme-lib.x86_64 1.0-1",
                "acme-old.noarch 1.0-1",
                "acme-pinned.noarch 1.0-1",
                "acme-tools.x86_64 1.0-1",
                "acme-web.noarch 1.0-1",
                "kernel-core.x86_64 6.1.0-1.acme",
                "kernel-core.x86_64 6.0.9-1.acme",
            ]
        );
        // Epoch 0 set explicitly and no epoch at all print alike.
        assert_eq!(packages[8].evr.epoch, 0);
    }

    #[test]
    fn installed_refuses_empty_truncated_and_garbage() {
        let empty = include_str!("../../test_data/dnf/no-rpmdb-rpm-qa.stdout");
        assert!(matches!(parse_installed(empty).unwrap_err().problem, Problem::Invalid(_)));
        let cut = "acme\t(none)\t1.0\t1\tnoarch\nacme-web\t(none)\t1.";
        let Problem::Garbage { line_number, .. } = parse_installed(cut).unwrap_err().problem else {
            panic!()
        };
        assert_eq!(line_number, 2);
        for bad in [
            "acme (none) 1.0 1 noarch\n",
            "acme\t(none)\t1.0\t1\n",
            "acme\tx\t1.0\t1\tnoarch\n",
            "acme\t(none)\t1-0\t1\tnoarch\n",
            "\t(none)\t1.0\t1\tnoarch\n",
            "acme\t(none)\t1.0\t1\tnoarch\textra\n",
        ] {
            assert!(
                matches!(
                    parse_installed(bad).unwrap_err().problem,
                    Problem::Garbage { line_number: 1, .. }
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_name_that_reads_as_an_option_is_refused() {
        assert!(parse_installed("-ctomaeols\t(none)\t1.0\t1\tnoarch\n").is_err());
        assert!(parse_installed("acme\t(none)\t1.0\t1\t-noarch\n").is_err());
        assert!(parse_installed("acme-web\t(none)\t1.0\t1\tnoarch\n").is_ok());
        // Found by fuzzing (the dnf target): the whole query output, refused at its ninth line.
        let found = include_str!("../../test_data/dnf/fuzz-installed-name-like-an-option.stdout");
        let Problem::Garbage { line_number, .. } = parse_installed(found).unwrap_err().problem
        else {
            panic!("not refused as a bad line")
        };
        assert_eq!(line_number, 9);
    }

    #[test]
    fn very_long_names() {
        let name = "n".repeat(5000);
        let text = format!("{name}\t(none)\t1.0\t1\tnoarch\n");
        assert_eq!(parse_installed(&text).unwrap()[0].name, name);
        let err = parse_installed(&format!("{name} broken\n")).unwrap_err();
        let Problem::Garbage { line, .. } = err.problem else { panic!() };
        assert!(line.len() < 200, "the error shows a readable part of the line");
    }

    #[test]
    fn installonly_kernels() {
        let names = parse_installonly(
            include_str!("../../test_data/dnf/updates-rpm-installonly.stdout"),
            2,
        )
        .unwrap();
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["kernel-core"]);
        let none = include_str!("../../test_data/dnf/no-kernel-rpm-installonly.stdout");
        assert!(parse_installonly(none, 3).unwrap().is_empty());
        // A database error exits 1 with nothing on standard output.
        assert!(parse_installonly("", 1).is_err());
        assert!(parse_installonly("two words\n", 0).is_err());
        assert!(parse_installonly("no package provides foo\n", 1).is_err());
    }
}
