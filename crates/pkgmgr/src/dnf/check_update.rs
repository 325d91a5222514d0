//! The newer packages dnf would install: `dnf check-update`, including its "Obsoleting
//! Packages" section and the entries it wraps over several lines.

use crate::error::{AssessError, Problem};
use crate::probe::{Gathered, ProbeOutput};

use super::batch::DnfCommand;
use super::nevra::{Evr, split_name_arch};

pub const CHECK_UPDATE: &str = "dnf check-update";

/// `-q` drops the "Last metadata expiration check" line and the download progress lines.
/// `skip_if_unavailable=False` makes a repository that cannot be read an error (exit code 1):
/// Debian's dnf.conf sets it to True, and then dnf, being quiet, says nothing at all and exits
/// 0 as if there were no updates.
pub const COMMAND: DnfCommand = DnfCommand {
    key: CHECK_UPDATE,
    args: &["-q", "--setopt=skip_if_unavailable=False", "check-update"],
};

/// A package from a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    pub name: String,
    pub arch: String,
    pub evr: Evr,
    /// The repository id; for an installed package `@` and the repository it came from.
    pub repo: String,
}

/// What `dnf check-update` listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckUpdate {
    /// Newer versions of installed packages (of an installonly package, a version to install
    /// beside the others).
    pub upgrades: Vec<Available>,
    /// New packages that replace installed ones: (the new package, the installed one).
    pub obsoletes: Vec<(Available, Available)>,
}

/// Exit code 100 means updates, 0 none, anything else an error.
pub fn check_update(gathered: &Gathered) -> Result<CheckUpdate, AssessError> {
    let stdout = gathered.stdout(CHECK_UPDATE, &[0, 100])?;
    let listed = parse(stdout)?;
    let says_updates =
        matches!(gathered.get(CHECK_UPDATE), Some(ProbeOutput::Ran { exit_code: 100, .. }));
    let has_updates = !listed.upgrades.is_empty() || !listed.obsoletes.is_empty();
    if says_updates != has_updates {
        return Err(AssessError::new(
            CHECK_UPDATE,
            Problem::Invalid(if says_updates {
                "exit code 100 (updates available) but no update listed: the output was cut?".into()
            } else {
                "exit code 0 (no updates) but updates listed".into()
            }),
        ));
    }
    Ok(listed)
}

const ENTRY: &str = "NAME.ARCH VERSION REPOSITORY";

/// Parses the listing. Each entry is three fields without spaces: `name.arch`, `[epoch:]version-
/// release` and the repository. dnf pads them into columns, and on a terminal too narrow for a
/// field it ends the line after that field and goes on with the next field on the next line,
/// indented; so the fields are read as a stream of words, three to an entry, and no entry may
/// leave a line with a field of the next one. Lines ending in CR LF (a pty) are accepted.
pub fn parse(stdout: &str) -> Result<CheckUpdate, AssessError> {
    let mut listed = CheckUpdate::default();
    let mut in_obsoletes = false;
    let mut pending_obsoleter: Option<Available> = None;
    // The words of an entry so far, and the line it started on.
    let mut words: Vec<&str> = Vec::new();
    let mut entry_line = (0, "");
    for (i, raw_line) in stdout.lines().enumerate() {
        let line = raw_line.trim_end();
        let line_number = i + 1;
        if words.is_empty() {
            if line.is_empty()
                || line.starts_with("Last metadata expiration check:")
                || line.starts_with("Security: ")
            {
                // The last two: without -q; after the list, when a newer installed kernel
                // than the running one has a security advisory.
                continue;
            }
            if line == "Obsoleting Packages" {
                in_obsoletes = true;
                continue;
            }
            entry_line = (line_number, line);
        } else if line.is_empty() {
            return Err(AssessError::garbage(
                CHECK_UPDATE,
                line_number,
                line,
                "the rest of a wrapped entry",
            ));
        }
        words.extend(line.split_whitespace());
        if words.len() > 3 {
            return Err(AssessError::garbage(CHECK_UPDATE, line_number, line, ENTRY));
        }
        if words.len() < 3 {
            continue;
        }
        let entry = entry(&words)
            .ok_or_else(|| AssessError::garbage(CHECK_UPDATE, entry_line.0, entry_line.1, ENTRY))?;
        words.clear();
        let installed = entry.repo.starts_with('@');
        if !in_obsoletes {
            if installed {
                return Err(AssessError::garbage(
                    CHECK_UPDATE,
                    entry_line.0,
                    entry_line.1,
                    "a package from a repository, not an installed one",
                ));
            }
            listed.upgrades.push(entry);
        } else if let Some(new) = pending_obsoleter.take() {
            if !installed {
                return Err(AssessError::garbage(
                    CHECK_UPDATE,
                    entry_line.0,
                    entry_line.1,
                    "the installed package (repository @…) that the one above obsoletes",
                ));
            }
            listed.obsoletes.push((new, entry));
        } else if installed {
            return Err(AssessError::garbage(
                CHECK_UPDATE,
                entry_line.0,
                entry_line.1,
                "an obsoleting package from a repository",
            ));
        } else {
            pending_obsoleter = Some(entry);
        }
    }
    if !words.is_empty() {
        return Err(AssessError::garbage(
            CHECK_UPDATE,
            entry_line.0,
            entry_line.1,
            "a complete entry (the output stops inside one)",
        ));
    }
    if let Some(new) = pending_obsoleter {
        return Err(AssessError::new(
            CHECK_UPDATE,
            Problem::Invalid(format!(
                "the output stops before the package that {}.{} obsoletes",
                new.name, new.arch
            )),
        ));
    }
    Ok(listed)
}

fn entry(words: &[&str]) -> Option<Available> {
    let [name_arch, evr, repo] = words else {
        return None;
    };
    let (name, arch) = split_name_arch(name_arch)?;
    Some(Available {
        name: name.to_owned(),
        arch: arch.to_owned(),
        evr: Evr::parse(evr)?,
        repo: (*repo).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(listed: &CheckUpdate) -> String {
        let mut out = String::new();
        for a in &listed.upgrades {
            out += &format!("{}.{} {} {}\n", a.name, a.arch, a.evr, a.repo);
        }
        for (new, old) in &listed.obsoletes {
            out += &format!(
                "{}.{} {} {} obsoletes {}.{} {} {}\n",
                new.name, new.arch, new.evr, new.repo, old.name, old.arch, old.evr, old.repo
            );
        }
        out
    }

    const UPDATES: &str = "\
acme-agent-plugin-for-the-very-long-enterprise-monitoring-suite.noarch 1.0-2 acme-updates
acme-daemon.x86_64 1.1-1 acme-updates
acme-db.x86_64 2:3.0-2 acme-updates
acme-lib.i686 1.2-1 acme-updates
acme-lib.x86_64 1.2-1 acme-updates
acme-tools.x86_64 1.1-0.20260115git0123456789abcdef.acme1 acme-updates
acme-web.noarch 1.2-1 acme-updates
kernel-core.x86_64 6.1.0-2.acme acme-updates
acme-new.noarch 2.0-1 acme-updates obsoletes acme-old.noarch 1.0-1 @acme
";

    #[test]
    fn updates_and_obsoletes() {
        let text = include_str!("../../test_data/dnf/updates-check-update.stdout");
        assert_eq!(show(&parse(text).unwrap()), UPDATES);
    }

    #[test]
    fn wrapped_on_a_narrow_terminal_with_crlf() {
        let text = include_str!("../../test_data/dnf/updates-check-update-tty80.stdout");
        assert!(text.contains(".noarch\r\n                            1.0-2"));
        assert_eq!(show(&parse(text).unwrap()), UPDATES);
    }

    #[test]
    fn the_metadata_line_without_q() {
        let text = include_str!("../../test_data/dnf/updates-check-update-verbose-cached.stdout");
        assert!(text.starts_with("Last metadata expiration check:"));
        assert_eq!(show(&parse(text).unwrap()), UPDATES);
    }

    #[test]
    fn download_progress_lines_are_not_entries() {
        // Without -q and with expired metadata dnf prints progress lines on standard output;
        // patchctl always passes -q, so they are an error rather than guessed at.
        let text = include_str!("../../test_data/dnf/updates-check-update-verbose.stdout");
        let err = parse(text).unwrap_err();
        assert!(matches!(err.problem, Problem::Garbage { line_number: 1, .. }));
        assert!(err.to_string().contains("NAME.ARCH VERSION REPOSITORY"), "{err}");
    }

    #[test]
    fn security_lines_about_the_running_kernel() {
        let text = include_str!("../../test_data/dnf/kernel-check-update.stdout");
        let listed = parse(text).unwrap();
        assert!(!show(&listed).contains("kernel-core"));
        assert_eq!(listed.upgrades.len(), 7);
    }

    #[test]
    fn nothing() {
        let text = include_str!("../../test_data/dnf/none-check-update.stdout");
        assert_eq!(parse(text).unwrap(), CheckUpdate::default());
        assert_eq!(parse("\n\n").unwrap(), CheckUpdate::default());
    }

    #[test]
    fn wrapped_in_every_way() {
        let text = "\nvery-long.noarch\n     1:2.0-1\n                 repo\n\
                    short.x86_64    3.0-1.el9_3.a.very.long.release\n                 repo2\n";
        assert_eq!(
            show(&parse(text).unwrap()),
            "very-long.noarch 1:2.0-1 repo\nshort.x86_64 3.0-1.el9_3.a.very.long.release repo2\n"
        );
    }

    #[test]
    fn garbage_names_its_line() {
        let cases: [(&str, usize); 9] = [
            ("a.noarch 1.0-1 repo extra\n", 1),
            ("\na.noarch 1.0-1\nrepo b.noarch\n", 3),
            ("a.noarch 1.0 repo\n", 1),
            ("anoarch 1.0-1 repo\n", 1),
            ("Error: something\n", 1),
            ("a.noarch\n\n1.0-1 repo\n", 2),
            ("a.noarch 1.0-1 @System\n", 1),
            ("Obsoleting Packages\nnew.noarch 2-1 r\nold.noarch 1-1 r\n", 3),
            ("Obsoleting Packages\nold.noarch 1-1 @r\n", 2),
        ];
        for (text, line) in cases {
            match parse(text).map_err(|e| e.problem) {
                Err(Problem::Garbage { line_number, .. }) => {
                    assert_eq!(line_number, line, "{text:?}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn truncated() {
        let full = include_str!("../../test_data/dnf/updates-check-update-tty80.stdout");
        // Cut at every byte: never a panic, and never more entries than the whole output.
        for cut in 0..full.len() {
            if let Ok(listed) = parse(&full[..cut]) {
                assert!(listed.upgrades.len() <= 8);
            }
        }
        let cut = "\nacme-agent-plugin.noarch\n";
        assert!(matches!(parse(cut).unwrap_err().problem, Problem::Garbage { line_number: 2, .. }));
        let obsoleter_only = "Obsoleting Packages\nnew.noarch 2-1 r\n";
        assert!(matches!(parse(obsoleter_only).unwrap_err().problem, Problem::Invalid(_)));
    }
}
