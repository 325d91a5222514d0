//! Packages held at a version by dnf's versionlock plugin (dnf-plugins-core, which a host may
//! lack): read from the plugin's lock file, as `dnf versionlock list` prints it, without
//! starting dnf; or, when the configuration is not the plain one, from `dnf versionlock list`.

use crate::error::AssessError;
use crate::probe::{Gathered, ProbeSpec};

use super::batch::{DnfCommand, PLUGIN_FILES};
use super::config::{self, Value};
use super::nevra::{Nevra, is_name};
use super::plugin_missing;

pub const VERSIONLOCK: &str = "dnf versionlock list";
/// dnf's main configuration: whether plugins are loaded at all, and from where.
pub const DNF_CONF: &str = "/etc/dnf/dnf.conf";
/// The plugin's configuration in dnf's default `pluginconfpath`.
pub const PLUGIN_CONF: &str = "/etc/dnf/plugins/versionlock.conf";
/// The lock file the plugin's configuration names on every distribution that ships it.
pub const LOCK_LIST: &str = "/etc/dnf/plugins/versionlock.list";

/// The fallback: the list is the plugin's lock file, so no repository is needed to print it.
pub const COMMAND: DnfCommand =
    DnfCommand { key: VERSIONLOCK, args: &["-q", "--disablerepo=*", "versionlock", "list"] };

pub fn probes() -> Vec<ProbeSpec> {
    vec![
        ProbeSpec::read_file(DNF_CONF, DNF_CONF),
        ProbeSpec::read_file(PLUGIN_CONF, PLUGIN_CONF),
        ProbeSpec::read_file(LOCK_LIST, LOCK_LIST),
    ]
}

/// Whether the files cannot tell, so that `dnf versionlock list` must run (in the batch).
pub fn asks_dnf(gathered: &Gathered) -> bool {
    source(gathered) == Source::AskDnf
}

/// Where the locks come from, following what dnf does (`dnf/plugin.py`, and
/// `dnf-plugins/versionlock.py` of dnf-plugins-core 4.3):
/// - `plugins=0` in dnf.conf: no plugin is loaded, nothing is locked.
/// - dnf.conf moves the plugins or their configuration (`pluginpath`, `pluginconfpath`): ask dnf.
/// - No versionlock.conf: nothing is locked. Either the plugin is not installed (rpm removes an
///   unchanged configuration file with its package, and renames a changed one to `.rpmsave`), or
///   it is and cannot work: with no `locklist` every dnf command that resolves fails ("Locklist
///   not set"), check-update included, and the assessment with it.
/// - `enabled=0` in it: the plugin is not loaded, nothing is locked.
/// - `locklist` is the usual file: its lines; else (unset, or another file): ask dnf.
/// - Any file patchctl could not read, or reads but is not sure of: ask dnf.
///
/// Whether the plugin itself is installed is known from the batch ([`PLUGIN_FILES`]), and
/// checked by [`held`]: a Debian host that removed dnf-plugins-core without purging it keeps
/// both files, and dnf then applies no lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source<'a> {
    Nothing,
    /// The usual lock file: `None` when it does not exist.
    LockList(Option<&'a str>),
    AskDnf,
}

fn source(gathered: &Gathered) -> Source<'_> {
    let (Ok(dnf_conf), Ok(plugin_conf), Ok(lock_list)) =
        (gathered.file(DNF_CONF), gathered.file(PLUGIN_CONF), gathered.file(LOCK_LIST))
    else {
        return Source::AskDnf;
    };
    if let Some(text) = dnf_conf {
        let Some(main) = config::main_options(text) else { return Source::AskDnf };
        match main.get_bool("plugins", true) {
            None => return Source::AskDnf,
            Some(false) => return Source::Nothing,
            Some(true) => {}
        }
        if main.get("pluginpath") != Value::Unset || main.get("pluginconfpath") != Value::Unset {
            return Source::AskDnf;
        }
    }
    let Some(text) = plugin_conf else { return Source::Nothing };
    let Some(main) = config::main_options(text) else { return Source::AskDnf };
    match main.get_bool("enabled", true) {
        None => Source::AskDnf,
        Some(false) => Source::Nothing,
        Some(true) => match main.get("locklist") {
            Value::Set(LOCK_LIST) => Source::LockList(lock_list),
            Value::Set(_) | Value::Unset | Value::Unclear => Source::AskDnf,
        },
    }
}

/// The names of the locked packages, sorted.
pub fn held(gathered: &Gathered) -> Result<Vec<String>, AssessError> {
    match source(gathered) {
        Source::Nothing => Ok(Vec::new()),
        Source::LockList(text) => {
            let installed = gathered
                .dir(PLUGIN_FILES)?
                .is_some_and(|files| files.iter().any(|f| f == "versionlock.py"));
            match text {
                Some(text) if installed => parse(LOCK_LIST, text),
                _ => Ok(Vec::new()),
            }
        }
        // Without the plugin (`No such command: versionlock.`, exit code 1) nothing is locked:
        // dnf applies no lock it cannot read.
        Source::AskDnf if plugin_missing(gathered, VERSIONLOCK, "versionlock") => Ok(Vec::new()),
        Source::AskDnf => parse(VERSIONLOCK, gathered.stdout(VERSIONLOCK, &[0])?),
    }
}

/// One spec a line, as the lock file has it and `dnf versionlock list` prints it (the file's
/// lines without comments and blank lines, trimmed). `dnf versionlock add` writes
/// `name-epoch:version-release.*`, and the name is taken from that; any other spec (a bare
/// name, a glob, a spec without epoch, which cannot be split unambiguously) is kept whole.
/// `!spec` lines exclude one version rather than hold the package, and are left out.
pub fn parse(step: &'static str, text: &str) -> Result<Vec<String>, AssessError> {
    let mut held = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let spec = line.trim();
        if spec.is_empty() || spec.starts_with('#') || spec.starts_with('!') {
            continue;
        }
        if !is_name(spec) {
            return Err(AssessError::garbage(
                step,
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

    const DNF_CONF_TEXT: &str = include_str!("../../test_data/dnf/dnf.conf");
    const PLUGIN_CONF_TEXT: &str = include_str!("../../test_data/dnf/updates-versionlock.conf");
    const LOCK_LIST_TEXT: &str = include_str!("../../test_data/dnf/updates-versionlock.list");

    /// The three files, and the plugin files the batch saw.
    fn files(
        dnf_conf: Option<&str>,
        plugin_conf: Option<&str>,
        lock_list: Option<&str>,
        plugin_files: &[&str],
    ) -> Gathered {
        let mut gathered = Gathered::new();
        let file = |text: Option<&str>| ProbeOutput::File(text.map(str::to_owned));
        gathered.insert(DNF_CONF, file(dnf_conf));
        gathered.insert(PLUGIN_CONF, file(plugin_conf));
        gathered.insert(LOCK_LIST, file(lock_list));
        gathered.insert(
            PLUGIN_FILES,
            ProbeOutput::Dir(Some(plugin_files.iter().map(|f| f.to_string()).collect())),
        );
        gathered
    }

    const PLUGINS: &[&str] = &["needs_restarting.py", "versionlock.py"];

    #[test]
    fn from_the_lock_file() {
        let host =
            files(Some(DNF_CONF_TEXT), Some(PLUGIN_CONF_TEXT), Some(LOCK_LIST_TEXT), PLUGINS);
        assert!(!asks_dnf(&host));
        assert_eq!(held(&host).unwrap(), ["acme-pinned"]);
        // `dnf versionlock list` printed the same in the same state.
        let list = include_str!("../../test_data/dnf/updates-versionlock-list.stdout");
        assert_eq!(parse(VERSIONLOCK, list).unwrap(), ["acme-pinned"]);
        let empty = include_str!("../../test_data/dnf/none-versionlock-list.stdout");
        assert_eq!(parse(VERSIONLOCK, empty).unwrap(), Vec::<String>::new());
        // No lock file, no dnf.conf: nothing locked, dnf's defaults.
        assert!(held(&files(None, Some(PLUGIN_CONF_TEXT), None, PLUGINS)).unwrap().is_empty());
    }

    #[test]
    fn plugin_not_installed_disabled_or_plugins_off() {
        // dpkg -r dnf-plugins-core: the configuration files stay, the plugin is gone.
        let removed = files(
            Some(DNF_CONF_TEXT),
            Some(include_str!("../../test_data/dnf/no-plugins-versionlock.conf")),
            Some(include_str!("../../test_data/dnf/no-plugins-versionlock.list")),
            &[],
        );
        assert!(!asks_dnf(&removed));
        assert!(held(&removed).unwrap().is_empty());
        let no_conf = files(Some(DNF_CONF_TEXT), None, Some(LOCK_LIST_TEXT), PLUGINS);
        assert!(held(&no_conf).unwrap().is_empty());
        let disabled = "[main]\nenabled = 0\nlocklist = /etc/dnf/plugins/versionlock.list\n";
        let host = files(Some(DNF_CONF_TEXT), Some(disabled), Some(LOCK_LIST_TEXT), PLUGINS);
        assert!(held(&host).unwrap().is_empty());
        let plugins_off = format!("{DNF_CONF_TEXT}plugins=False\n");
        let host = files(Some(&plugins_off), Some(PLUGIN_CONF_TEXT), Some(LOCK_LIST_TEXT), PLUGINS);
        assert!(!asks_dnf(&host));
        assert!(held(&host).unwrap().is_empty());
    }

    #[test]
    fn unusual_configurations_ask_dnf() {
        let moved = format!("{DNF_CONF_TEXT}pluginconfpath=/opt/dnf/plugins\n");
        let elsewhere = "[main]\nenabled = 1\nlocklist = /srv/locks.list\n";
        let unset = "[main]\nenabled = 1\n";
        for (dnf_conf, plugin_conf) in [
            (moved.as_str(), PLUGIN_CONF_TEXT),
            (DNF_CONF_TEXT, elsewhere),
            (DNF_CONF_TEXT, unset),
            (DNF_CONF_TEXT, "[main]\nenabled = sometimes\n"),
            ("[main]\n  plugins=0\n", PLUGIN_CONF_TEXT),
        ] {
            let host = files(Some(dnf_conf), Some(plugin_conf), Some(LOCK_LIST_TEXT), PLUGINS);
            assert!(asks_dnf(&host), "{dnf_conf:?} {plugin_conf:?}");
        }
        // A file that could not be read.
        let mut host =
            files(Some(DNF_CONF_TEXT), Some(PLUGIN_CONF_TEXT), Some(LOCK_LIST_TEXT), PLUGINS);
        host.insert(LOCK_LIST, ProbeOutput::Failed("permission denied".into()));
        assert!(asks_dnf(&host));
        // Then dnf's answer counts, and a missing plugin means nothing locked.
        host.insert(VERSIONLOCK, captured!("updates-versionlock-list"));
        assert_eq!(held(&host).unwrap(), ["acme-pinned"]);
        host.insert(VERSIONLOCK, captured!("no-plugins-versionlock-list"));
        assert!(held(&host).unwrap().is_empty());
        host.insert(
            VERSIONLOCK,
            ProbeOutput::Ran {
                exit_code: 1,
                stdout: String::new(),
                stderr: "Error: Unable to read version lock configuration: [Errno 13]\n".into(),
            },
        );
        assert!(matches!(held(&host).unwrap_err().problem, Problem::Failed { exit_code: 1, .. }));
    }

    #[test]
    fn specs() {
        let text = "kernel-core-0:6.1.0-1.acme.*\n!acme-web-0:1.1-1.*\nacme-*\nacme-web-1.0\n\
                    kernel-core-0:6.1.0-1.acme.*\nacme-db-2:3.0-1.x86_64\n  # indented\n";
        assert_eq!(
            parse(LOCK_LIST, text).unwrap(),
            ["acme-*", "acme-db", "acme-web-1.0", "kernel-core"]
        );
        let err = parse(LOCK_LIST, "acme web\n").unwrap_err();
        assert!(matches!(err.problem, Problem::Garbage { line_number: 1, .. }));
        assert_eq!(err.step, LOCK_LIST);
    }
}
