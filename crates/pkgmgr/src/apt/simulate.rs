//! What apt's own resolver would do: the `Inst`, `Remv` and `Conf` lines of `apt-get -s`.
//!
//! apt documents these simulation lines (apt-get(8), `-s`) and they have kept their shape for
//! two decades, unlike `apt list`, whose output apt declares unstable for scripts:
//!
//! ```text
//! Inst libssl3 [3.0.20-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64])
//! Inst linux-image-6.1.0-28-amd64 (6.1.119-1 Debian:12.8/stable [amd64]) []
//! Remv acme-old [1.0-1]
//! ```

use model::Origin;

use crate::error::AssessError;

/// One package the simulation installs or upgrades, borrowed from apt's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedInstall<'a> {
    /// As apt prints it: `libc6` or, for a foreign architecture, `libc6:i386`.
    pub name: &'a str,
    pub installed_version: Option<&'a str>,
    pub candidate_version: &'a str,
    /// The archives, as apt prints them: `Label:Version/Suite, …`; see [`SimulatedInstall::origins`].
    pub described_origins: &'a str,
    pub arch: &'a str,
}

impl SimulatedInstall<'_> {
    /// The archives the candidate is published in. A version in no archive (only in dpkg's
    /// status) prints none: `(1.0-1  [all])`.
    pub fn origins(&self) -> Vec<Origin> {
        self.described_origins.split(", ").filter(|o| !o.is_empty()).map(parse_origin).collect()
    }
}

/// The actions of one simulation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simulation<'a> {
    pub installs: Vec<SimulatedInstall<'a>>,
    /// Names (as apt prints them) of packages the simulation removes.
    pub removals: Vec<&'a str>,
}

/// Parses the standard output of `apt-get -s dist-upgrade` or `apt-get -s upgrade`. Lines that
/// are not actions (progress, the human summary) are skipped; an action line that does not
/// parse is an error, never skipped.
pub fn parse<'a>(step: &str, stdout: &'a str) -> Result<Simulation<'a>, AssessError> {
    let mut simulation = Simulation::default();
    let mut summary = None;
    for (index, line) in stdout.lines().enumerate() {
        let garbage = |expected: &str| AssessError::garbage(step, index + 1, line, expected);
        if let Some(rest) = line.strip_prefix("Inst ") {
            let install = parse_install(rest)
                .ok_or_else(|| garbage("Inst NAME [OLD-VERSION] (NEW-VERSION ORIGINS [ARCH])"))?;
            simulation.installs.push(install);
        } else if let Some(rest) = line.strip_prefix("Remv ").or_else(|| line.strip_prefix("Purg "))
        {
            let name = rest
                .split(' ')
                .next()
                .filter(|n| is_apt_name(n))
                .ok_or_else(|| garbage("Remv NAME [VERSION]"))?;
            simulation.removals.push(name);
        } else if line.contains(" upgraded, ") && line.contains(" newly installed") {
            summary = Some(parse_summary(line).ok_or_else(|| {
                garbage("N upgraded, N newly installed, N to remove and N not upgraded.")
            })?);
        }
    }
    // apt prints its summary ("N upgraded, M newly installed, …") before the actions. Output
    // without it, or with fewer actions than it announced, was cut short, and a partial list of
    // updates would be silently wrong.
    let truncated = |detail: String| {
        AssessError::new(
            step,
            crate::Problem::Invalid(format!("the output is truncated: {detail}")),
        )
    };
    let Some(summary) = summary else {
        return Err(truncated("apt's summary line is missing".into()));
    };
    if simulation.installs.len() != summary.installs
        || simulation.removals.len() != summary.removals
    {
        return Err(truncated(format!(
            "apt announced {} installs and {} removals but listed {} and {}",
            summary.installs,
            summary.removals,
            simulation.installs.len(),
            simulation.removals.len()
        )));
    }
    Ok(simulation)
}

/// The counts of apt's summary line.
struct Summary {
    /// Upgraded, newly installed, reinstalled and downgraded: each is one `Inst` line.
    installs: usize,
    removals: usize,
}

/// `12 upgraded, 1 newly installed, 0 to remove and 3 not upgraded.`, with `N reinstalled` and
/// `N downgraded` when there are any.
fn parse_summary(line: &str) -> Option<Summary> {
    let mut summary = Summary { installs: 0, removals: 0 };
    for part in line.trim_end_matches('.').split(", ").flat_map(|p| p.split(" and ")) {
        let (count, what) = part.trim().split_once(' ')?;
        let count: usize = count.parse().ok()?;
        match what {
            "upgraded" | "newly installed" | "reinstalled" | "downgraded" => {
                summary.installs += count
            }
            "to remove" => summary.removals += count,
            "not upgraded" => {}
            _ => return None,
        }
    }
    Some(summary)
}

/// `NAME [OLD] (NEW ORIGIN, ORIGIN [ARCH])` with an optional trailing `[]` or other note.
fn parse_install(rest: &str) -> Option<SimulatedInstall<'_>> {
    let (name, rest) = rest.split_once(' ')?;
    if !is_apt_name(name) {
        return None;
    }
    let (installed_version, rest) = match rest.strip_prefix('[') {
        Some(after) => {
            let (old, rest) = after.split_once("] ")?;
            (Some(old), rest)
        }
        None => (None, rest),
    };
    let inner = rest.strip_prefix('(')?;
    let close = inner.find(')')?;
    let inner = &inner[..close];
    let (candidate_version, described) = inner.split_once(' ')?;
    // The architecture is the last bracketed word; origins come before it, ", "-separated.
    let arch_start = described.rfind(" [")?;
    let arch = described[arch_start + 2..].strip_suffix(']')?;
    // A version goes into an argv later (`NAME=VERSION`): printable ASCII only, as dpkg
    // requires, never a control character (found by fuzzing: `3.11\x0e2-6+deb12u9`).
    let is_word = super::dpkg_query::is_word;
    if !is_word(candidate_version) || !is_word(arch) || !installed_version.is_none_or(is_word) {
        return None;
    }
    Some(SimulatedInstall {
        name,
        installed_version,
        candidate_version,
        described_origins: &described[..arch_start],
        arch,
    })
}

/// apt's `RelStr`: `[Label:][Version/]Suite`, or the site when the archive has no suite.
fn parse_origin(text: &str) -> Origin {
    let (label, rest) = match text.split_once(':') {
        Some((label, rest)) => (Some(label.to_owned()), rest),
        None => (None, text),
    };
    let suite = match rest.split_once('/') {
        Some((_version, suite)) => suite,
        None => rest,
    };
    Origin { label, suite: suite.to_owned() }
}

/// A package name as apt prints it, with an optional `:arch`.
fn is_apt_name(name: &str) -> bool {
    let (package, arch) = match name.split_once(':') {
        Some((package, arch)) => (package, Some(arch)),
        None => (name, None),
    };
    super::dpkg_query::is_package_name(package)
        && arch.is_none_or(|a| {
            !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = "1 upgraded, 1 newly installed, 1 to remove and 0 not upgraded.\n";
    const ONE: &str = "1 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n";

    #[test]
    fn upgrade_new_install_removal() {
        let text = format!(
            "Inst libssl3 [3.0.20-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64])\n\
             Inst linux-image-6.1.0-28-amd64 (6.1.119-1 Debian:12.8/stable [amd64]) []\n\
             Remv acme-old [1.0-1]\n\
             Conf libssl3 (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64])\n{SUMMARY}"
        );
        let simulation = parse("sim", &text).unwrap();
        assert_eq!(simulation.installs.len(), 2);
        let ssl = &simulation.installs[0];
        assert_eq!(ssl.installed_version, Some("3.0.20-1~deb12u2"));
        assert_eq!(ssl.candidate_version, "3.0.22-1~deb12u2");
        assert_eq!(
            ssl.origins(),
            [Origin { label: Some("Debian-Security".into()), suite: "oldstable-security".into() }]
        );
        assert!(ssl.origins()[0].is_security_suite());
        assert_eq!(simulation.installs[1].installed_version, None);
        assert_eq!(simulation.removals, ["acme-old"]);
    }

    #[test]
    fn origins_with_spaces_and_several_archives() {
        let text = format!(
            "{ONE}Inst foo:i386 [1] (2 Debian:12.15/oldstable, Debian Backports:12-backports/bookworm-backports, Debian-Security:12/oldstable-security [i386])\n"
        );
        let install = &parse("sim", &text).unwrap().installs[0];
        assert_eq!(install.name, "foo:i386");
        assert_eq!(install.arch, "i386");
        let origins = install.origins();
        let suites: Vec<&str> = origins.iter().map(|o| o.suite.as_str()).collect();
        assert_eq!(suites, ["oldstable", "bookworm-backports", "oldstable-security"]);
        assert_eq!(origins[1].label.as_deref(), Some("Debian Backports"));
    }

    #[test]
    fn a_version_in_no_archive() {
        let text = format!("{ONE}Inst foo [0.9-1] (1.0-1  [all])\n");
        let install = &parse("sim", &text).unwrap().installs[0];
        assert!(install.origins().is_empty());
        assert_eq!(install.arch, "all");
    }

    #[test]
    fn origins_without_label_or_version() {
        assert_eq!(
            parse_origin("12/bookworm-security"),
            Origin { label: None, suite: "bookworm-security".into() }
        );
        assert_eq!(parse_origin("Acme-Security:bookworm-security").suite, "bookworm-security");
        assert_eq!(parse_origin("Acme-Security:localhost").suite, "localhost");
    }

    #[test]
    fn bad_action_lines_and_truncation_are_errors() {
        assert!(parse("sim", &format!("{ONE}Inst foo [1.0]\n")).is_err());
        assert!(parse("sim", &format!("{ONE}Inst $(reboot) [1] (2 x:1/y [all])\n")).is_err());
        let no_summary = parse("sim", "Inst foo [1] (2 Debian:12/stable [amd64])\n").unwrap_err();
        assert!(no_summary.to_string().contains("truncated"), "{no_summary}");
        let cut = parse("sim", SUMMARY).unwrap_err();
        assert!(
            cut.to_string().contains("announced 2 installs and 1 removals but listed 0 and 0"),
            "{cut}"
        );
        let empty = "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n";
        assert!(parse("sim", empty).unwrap().installs.is_empty());
        // Found by fuzzing (the apt target): a candidate version with a control character.
        let found =
            include_str!("../../test_data/apt/fuzz-candidate-version-control-character.stdout");
        let error = parse("sim", found).unwrap_err().to_string();
        assert!(error.contains("python3.11-minimal"), "{error}");
        let unknown_count =
            "1 upgraded, 0 newly installed, 1 vanished, 0 to remove and 0 not upgraded.\n";
        assert!(parse("sim", unknown_count).is_err());
    }
}
