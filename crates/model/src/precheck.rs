//! The precheck's verdicts on a host, from what was read from it: decided here, without I/O,
//! so that the rollout's precheck and the dry run decide alike (the shell, `ops::rollout::
//! prechecks`, reads the host and acts on the verdict). Each returns the problem in the words
//! the report shows, or `None` when the host passes.

use std::collections::BTreeMap;

use crate::plan::PackageChange;
use crate::{DiskSpace, InstalledPackage};

/// Free space below `min_free_mb` (MiB per path) on one of the paths asked about. A path the
/// host did not report is not held against it.
pub fn disk_space_problem(
    min_free_mb: &BTreeMap<String, u64>,
    disks: &[DiskSpace],
) -> Option<String> {
    min_free_mb.iter().find_map(|(path, min_mb)| {
        let disk = disks.iter().find(|d| &d.path == path)?;
        (disk.available_bytes < min_mb * 1024 * 1024).then(|| {
            format!(
                "{} MiB free on {path}, {min_mb} MiB needed",
                disk.available_bytes / (1024 * 1024)
            )
        })
    })
}

/// The first planned change whose package is neither at its recorded version nor already at
/// its target (from an earlier attempt): the host changed since it was assessed, and the plan
/// no longer says what the apply would do. Kernels are installed beside the running one, so
/// their other versions do not matter.
pub fn not_as_planned(changes: &[PackageChange], installed: &[InstalledPackage]) -> Option<String> {
    changes.iter().find_map(|change| {
        let version = installed
            .iter()
            .find(|p| p.name == change.name && p.arch == change.arch)
            .map(|p| p.version.as_str());
        let as_planned = version == change.from.as_deref() || version == Some(change.to.as_str());
        (!as_planned && !change.kernel).then(|| {
            format!(
                "{} is at {} on the host, the plan expected {}: assess and plan again",
                change.name,
                version.unwrap_or("(not installed)"),
                change.from.as_deref().unwrap_or("(not installed)")
            )
        })
    })
}

/// The backup file's age against the most allowed: `modified_unix` is its mtime, `None` when
/// it does not exist.
pub fn backup_age_problem(
    path: &str,
    modified_unix: Option<i64>,
    now_unix: i64,
    max_age_hours: u32,
) -> Option<String> {
    let Some(modified) = modified_unix else {
        return Some(format!("the backup {path} does not exist"));
    };
    let age_hours = (now_unix - modified) / 3600;
    (age_hours > i64::from(max_age_hours)).then(|| {
        format!("the backup {path} is {age_hours} hours old, at most {max_age_hours} allowed")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Classification;

    fn disk(path: &str, mib: u64) -> DiskSpace {
        DiskSpace {
            path: path.into(),
            mount: path.into(),
            available_bytes: mib * 1024 * 1024,
            total_bytes: 10 * mib * 1024 * 1024,
        }
    }

    #[test]
    fn disk_space() {
        let needed: BTreeMap<String, u64> = [("/".into(), 300), ("/boot".into(), 50)].into();
        let cases: &[(&[DiskSpace], Option<&str>)] = &[
            (&[disk("/", 300), disk("/boot", 50)], None),
            (&[disk("/", 299), disk("/boot", 50)], Some("299 MiB free on /, 300 MiB needed")),
            (&[disk("/", 900), disk("/boot", 10)], Some("10 MiB free on /boot, 50 MiB needed")),
            // /boot not reported (no separate mount asked about): not held against the host.
            (&[disk("/", 900)], None),
            (&[], None),
        ];
        for (disks, expected) in cases {
            assert_eq!(disk_space_problem(&needed, disks).as_deref(), *expected, "{disks:?}");
        }
    }

    fn change(name: &str, from: Option<&str>, to: &str, kernel: bool) -> PackageChange {
        PackageChange {
            name: name.into(),
            arch: "amd64".into(),
            from: from.map(Into::into),
            to: to.into(),
            classification: Classification::Security,
            severity: None,
            kernel,
            advisories: vec![],
            cves: vec![],
        }
    }

    fn installed(name: &str, version: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            arch: "amd64".into(),
            version: version.into(),
            source: None,
            source_version: None,
        }
    }

    #[test]
    fn as_planned() {
        let web = change("acme-web", Some("1.0-1"), "1.1-1", false);
        let new = change("acme-new", None, "1.0-1", false);
        let kernel = change("linux-image-amd64", Some("6.1.0-9"), "6.1.0-26", true);
        let cases: &[(&PackageChange, &[InstalledPackage], Option<&str>)] = &[
            (&web, &[installed("acme-web", "1.0-1")], None),
            // Already at the target: an earlier attempt got that far.
            (&web, &[installed("acme-web", "1.1-1")], None),
            (
                &web,
                &[installed("acme-web", "1.0-2")],
                Some(
                    "acme-web is at 1.0-2 on the host, the plan expected 1.0-1: assess and plan again",
                ),
            ),
            (
                &web,
                &[],
                Some(
                    "acme-web is at (not installed) on the host, the plan expected 1.0-1: assess and plan again",
                ),
            ),
            (&new, &[], None),
            (
                &new,
                &[installed("acme-new", "0.9-1")],
                Some(
                    "acme-new is at 0.9-1 on the host, the plan expected (not installed): assess and plan again",
                ),
            ),
            (&kernel, &[installed("linux-image-amd64", "6.1.0-12")], None),
        ];
        for (change, host, expected) in cases {
            let found = not_as_planned(std::slice::from_ref(*change), host);
            assert_eq!(found.as_deref(), *expected, "{} on {host:?}", change.name);
        }
    }

    #[test]
    fn backup_age() {
        let now = 1_800_000_000;
        let hours = |h: i64| Some(now - h * 3600);
        let cases = [
            (hours(0), None),
            (hours(26), None),
            (hours(27), Some("the backup /b is 27 hours old, at most 26 allowed")),
            (None, Some("the backup /b does not exist")),
        ];
        for (modified, expected) in cases {
            assert_eq!(
                backup_age_problem("/b", modified, now, 26).as_deref(),
                expected,
                "{modified:?}"
            );
        }
    }
}
