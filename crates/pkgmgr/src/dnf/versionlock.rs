//! Packages held at a version: `dnf versionlock list`, from the versionlock plugin of
//! dnf-plugins-core, which a host may lack.

use crate::error::AssessError;
use crate::probe::{Gathered, ProbeSpec};

use super::nevra::{Nevra, is_name};
use super::plugin_missing;

pub const VERSIONLOCK: &str = "dnf versionlock list";

/// The list is the plugin's lock file; no repository is needed to print it.
pub fn probes() -> Vec<ProbeSpec> {
    vec![ProbeSpec::run(VERSIONLOCK, ["dnf", "-q", "--disablerepo=*", "versionlock", "list"])]
}

/// The names of the locked packages, sorted. Without the plugin (`No such command:
/// versionlock.`, exit code 1) nothing is locked: dnf applies no lock it cannot read.
pub fn held(gathered: &Gathered) -> Result<Vec<String>, AssessError> {
    if plugin_missing(gathered, VERSIONLOCK, "versionlock") {
        return Ok(Vec::new());
    }
    parse(gathered.stdout(VERSIONLOCK, &[0])?)
}

/// One spec a line, as the lock file has it. `dnf versionlock add` writes
/// `name-epoch:version-release.*`, and the name is taken from that; any other spec (a bare
/// name, a glob, a spec without epoch, which cannot be split unambiguously) is kept whole.
/// `!spec` lines exclude one version rather than hold the package, and are left out.
pub fn parse(stdout: &str) -> Result<Vec<String>, AssessError> {
    let mut held = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        let spec = line.trim();
        if spec.is_empty() || spec.starts_with('#') || spec.starts_with('!') {
            continue;
        }
        if !is_name(spec) {
            return Err(AssessError::garbage(
                VERSIONLOCK,
                i + 1,
                line,
                "a package spec (NAME-EPOCH:VERSION-RELEASE.*)",
            ));
        }
        let name = match Nevra::parse(spec) {
            Some(nevra) if spec.contains(':') => nevra.name,
            _ => spec.to_owned(),
        };
        held.push(name);
    }
    held.sort();
    held.dedup();
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Problem;
    use crate::probe::ProbeOutput;

    #[test]
    fn captured() {
        let list = include_str!("../../test_data/dnf/updates-versionlock-list.stdout");
        assert_eq!(parse(list).unwrap(), ["acme-pinned"]);
        let empty = include_str!("../../test_data/dnf/none-versionlock-list.stdout");
        assert_eq!(parse(empty).unwrap(), Vec::<String>::new());
        // The lock file itself, comments and all, reads the same.
        let file = include_str!("../../test_data/dnf/updates-versionlock.list");
        assert_eq!(parse(file).unwrap(), ["acme-pinned"]);
    }

    #[test]
    fn plugin_missing_means_nothing_held() {
        let mut gathered = Gathered::new();
        gathered.insert(
            VERSIONLOCK,
            ProbeOutput::Ran {
                exit_code: 1,
                stdout: include_str!("../../test_data/dnf/no-plugins-versionlock-list.stdout")
                    .into(),
                stderr: include_str!("../../test_data/dnf/no-plugins-versionlock-list.stderr")
                    .into(),
            },
        );
        assert_eq!(held(&gathered).unwrap(), Vec::<String>::new());
        gathered.insert(
            VERSIONLOCK,
            ProbeOutput::Ran {
                exit_code: 1,
                stdout: String::new(),
                stderr: "Error: Unable to read version lock configuration: [Errno 13]\n".into(),
            },
        );
        assert!(matches!(
            held(&gathered).unwrap_err().problem,
            Problem::Failed { exit_code: 1, .. }
        ));
    }

    #[test]
    fn specs() {
        let text = "kernel-core-0:6.1.0-1.acme.*\n!acme-web-0:1.1-1.*\nacme-*\nacme-web-1.0\n\
                    kernel-core-0:6.1.0-1.acme.*\nacme-db-2:3.0-1.x86_64\n";
        assert_eq!(parse(text).unwrap(), ["acme-*", "acme-db", "acme-web-1.0", "kernel-core"]);
        assert!(matches!(
            parse("acme web\n").unwrap_err().problem,
            Problem::Garbage { line_number: 1, .. }
        ));
    }
}
