//! A host's checks and hooks, typed from the inventory's `[checks]` and `[hooks]` tables.
//!
//! ```toml
//! [defaults.checks]
//! units = ["acme-web"]                                    # systemctl is-active
//! http = [{ url = "http://{address}:8080/health", status = 200, body = "ok" }]
//! commands = [["/usr/local/bin/smoke-test", "--quick"]]   # exit 0 passes
//! journal_errors = true                                   # no new `journalctl -p err -b` lines
//! journal_ignore = ["Failed unmounting"]                  # …except those containing these
//! kernel = true                                           # running kernel is the newest installed
//! failing_before = "report"                               # or "fail": see `FailingBefore`
//! integrity = true                                        # dpkg --verify / rpm -V of the changes
//! [defaults.hooks]
//! snapshot = ["/usr/local/sbin/snapshot", "{host}"]       # before the apply; exit 0 passes
//! backup_command = ["/usr/local/bin/backup-is-fresh"]     # a precheck; exit 0 passes
//! backup_path = "/var/backups/latest.tar"                 # or: this file's age
//! backup_max_age_hours = 26
//! min_free_mb = { "/" = 500, "/boot" = 50 }
//! dpkg_recovery = false                                   # run `dpkg --configure -a` if interrupted
//! lock_wait_seconds = 120
//! refresh = "if-older-than:6h"                            # or "always", "never": the lists
//! host_log = "/var/log/patchctl.log"                      # each change, also in the journal
//! unit_output_days = 30                                   # then patchctl's unit outputs go
//! ```
//!
//! Words may use `{host}`, `{address}` and `{var.NAME}` (the host's variables); they are
//! substituted word by word, never given to a shell.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ResolvedHost;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Checks {
    pub units: Vec<String>,
    pub http: Vec<HttpCheck>,
    pub commands: Vec<Vec<String>>,
    pub journal_errors: bool,
    /// Journal errors containing one of these texts are not held against the host.
    pub journal_ignore: Vec<String>,
    pub kernel: bool,
    /// After an apply and after a rollback, the changed packages' files are verified against
    /// the package database (`dpkg --verify`, `rpm -V`): a missing or altered file fails the
    /// postcheck, a configuration file the administrator changed is reported.
    pub integrity: bool,
    /// What a check that already failed before the patch counts for afterwards.
    pub failing_before: FailingBefore,
}

/// What a postcheck that already failed at the precheck, before anything changed, counts for.
/// Only the checks of the service (units, HTTP, commands) are looked at before the patch: new
/// journal errors have their own baseline, and the running kernel is the patch's own business.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailingBefore {
    /// Reported as "failing before the patch", not blamed on it: the host is not failed, and
    /// not rolled back, for it.
    #[default]
    Report,
    /// Failed like any other check: the patch must leave the host healthy, whatever it was.
    Fail,
}

/// A check of the service that failed: which one (a key the precheck and the postcheck share)
/// and what was wrong, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub check: String,
    pub problem: String,
}

/// The failures of a postcheck, split by whether the precheck saw the same check fail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blame {
    /// Failures the patch is answerable for.
    pub new: Vec<CheckFailure>,
    /// Checks that failed before the patch too, which `FailingBefore::Report` does not hold
    /// against it.
    pub before: Vec<CheckFailure>,
}

/// Splits `failures` by `failing_before`, the keys of the checks that failed at the precheck.
/// With `FailingBefore::Fail` every failure is the patch's.
pub fn blame(failures: Vec<CheckFailure>, failing_before: &[String], rule: FailingBefore) -> Blame {
    let (before, new) = failures
        .into_iter()
        .partition(|f| rule == FailingBefore::Report && failing_before.contains(&f.check));
    Blame { new, before }
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            units: vec![],
            http: vec![],
            commands: vec![],
            journal_errors: true,
            journal_ignore: vec![],
            kernel: true,
            failing_before: FailingBefore::default(),
            integrity: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    pub url: String,
    #[serde(default = "ok_status")]
    pub status: u16,
    /// The body must contain this text.
    #[serde(default)]
    pub body: Option<String>,
}

fn ok_status() -> u16 {
    200
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hooks {
    pub snapshot: Option<Vec<String>>,
    pub backup_command: Option<Vec<String>>,
    pub backup_path: Option<String>,
    pub backup_max_age_hours: u32,
    /// Free space needed per path before the apply, in MiB.
    pub min_free_mb: BTreeMap<String, u64>,
    pub dpkg_recovery: bool,
    pub lock_wait_seconds: u32,
    /// When the precheck refreshes the package lists first.
    pub refresh: Refresh,
    /// The file on the host each change is also logged to (besides its journal); empty: the
    /// journal only.
    pub host_log: String,
    /// patchctl's unit outputs on the host (`/var/lib/patchctl/units`) older than this many
    /// days are removed at the next precheck; 0 keeps them.
    pub unit_output_days: u32,
}

/// When a rollout's precheck refreshes a host's package lists (`apt-get update`, `dnf
/// makecache`) before it checks the host. A refresh that fails fails the precheck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Refresh {
    Always,
    /// When the lists are older than this, or their age is unknown.
    IfOlderThan(chrono::TimeDelta),
    Never,
}

impl Refresh {
    /// Whether lists refreshed at `refreshed_unix` (`None`: never, or unknown) need a refresh
    /// at `now_unix`.
    pub fn is_due(self, refreshed_unix: Option<i64>, now_unix: i64) -> bool {
        match self {
            Refresh::Always => true,
            Refresh::Never => false,
            Refresh::IfOlderThan(age) => {
                refreshed_unix.is_none_or(|at| now_unix - at > age.num_seconds())
            }
        }
    }
}

impl Default for Refresh {
    fn default() -> Self {
        Refresh::IfOlderThan(chrono::TimeDelta::hours(6))
    }
}

impl TryFrom<String> for Refresh {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "always" => Ok(Refresh::Always),
            "never" => Ok(Refresh::Never),
            other => match other.strip_prefix("if-older-than:") {
                Some(age) => crate::policy::parse_duration(age).map(Refresh::IfOlderThan),
                None => Err(format!(
                    "refresh = {other:?}: expected \"always\", \"never\" or \"if-older-than:DURATION\" (such as \"if-older-than:6h\")"
                )),
            },
        }
    }
}

impl From<Refresh> for String {
    fn from(refresh: Refresh) -> String {
        match refresh {
            Refresh::Always => "always".to_owned(),
            Refresh::Never => "never".to_owned(),
            Refresh::IfOlderThan(age) => {
                format!("if-older-than:{}", crate::policy::format_duration(age))
            }
        }
    }
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            snapshot: None,
            backup_command: None,
            backup_path: None,
            backup_max_age_hours: 26,
            min_free_mb: [("/".to_string(), 300), ("/boot".to_string(), 50)].into(),
            dpkg_recovery: false,
            lock_wait_seconds: 120,
            refresh: Refresh::default(),
            host_log: "/var/log/patchctl.log".to_owned(),
            unit_output_days: 30,
        }
    }
}

/// The host's checks and hooks, with its variables substituted.
pub fn host_checks(host: &ResolvedHost) -> Result<(Checks, Hooks), String> {
    let checks = host.checks.clone().unwrap_or_default();
    let hooks = host.hooks.clone().unwrap_or_default();
    let fill = |word: &String| substitute(word, host);
    let checks = Checks {
        units: checks.units.iter().map(fill).collect::<Result<_, _>>()?,
        http: checks
            .http
            .iter()
            .map(|h| Ok(HttpCheck { url: fill(&h.url)?, ..h.clone() }))
            .collect::<Result<_, String>>()?,
        commands: checks
            .commands
            .iter()
            .map(|argv| argv.iter().map(fill).collect::<Result<Vec<_>, _>>())
            .collect::<Result<_, _>>()?,
        ..checks
    };
    let hooks = Hooks {
        snapshot: hooks.snapshot.as_ref().map(|a| a.iter().map(fill).collect()).transpose()?,
        backup_command: hooks
            .backup_command
            .as_ref()
            .map(|a| a.iter().map(fill).collect())
            .transpose()?,
        ..hooks
    };
    for argv in checks.commands.iter().chain(&hooks.snapshot).chain(&hooks.backup_command) {
        if argv.is_empty() {
            return Err(format!("host {}: a command in [checks] or [hooks] is empty", host.name));
        }
    }
    Ok((checks, hooks))
}

/// Replaces `{host}`, `{address}` and `{var.NAME}` in one word.
fn substitute(word: &str, host: &ResolvedHost) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = word;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("host {}: `{word}`: an unclosed `{{`", host.name))?;
        let key = &rest[start + 1..start + end];
        let value = match key {
            "host" => host.name.clone(),
            "address" => host.address.clone(),
            _ => match key.strip_prefix("var.").and_then(|name| host.vars.get(name)) {
                Some(value) => value.clone(),
                None => {
                    return Err(format!(
                        "host {}: `{word}`: unknown `{{{key}}}` (use host, address or var.NAME)",
                        host.name
                    ));
                }
            },
        };
        out.push_str(&value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Inventory;

    fn host(text: &str) -> ResolvedHost {
        let inventory = Inventory::parse(std::path::Path::new("inventory.toml"), text).unwrap();
        inventory.hosts()[0].clone()
    }

    /// The host, or the inventory's first error, in words: a mistake in `checks` or `hooks`
    /// is the file's, found when it is loaded.
    fn parsed(text: &str) -> Result<ResolvedHost, String> {
        Inventory::parse(std::path::Path::new("inventory.toml"), text)
            .map(|inventory| inventory.hosts()[0].clone())
            .map_err(|error| error.to_string())
    }

    #[test]
    fn checks_are_typed_and_templated() {
        let host = host(
            r#"
[hosts.web1]
address = "10.0.0.5"
environment = "dev"
vars = { site = "shop" }
[hosts.web1.checks]
units = ["acme-web"]
http = [{ url = "http://{address}:8080/{var.site}", body = "ok" }]
[hosts.web1.hooks]
snapshot = ["snap", "{host}"]
"#,
        );
        let (checks, hooks) = host_checks(&host).unwrap();
        assert_eq!(checks.http[0].url, "http://10.0.0.5:8080/shop");
        assert_eq!(checks.http[0].status, 200);
        assert!(checks.journal_errors && checks.kernel && checks.integrity);
        assert_eq!(hooks.snapshot, Some(vec!["snap".into(), "web1".into()]));
    }

    #[test]
    fn mistakes_are_named() {
        let typo = parsed(
            "[hosts.a]\naddress = \"x\"\nenvironment = \"dev\"\n[hosts.a.checks]\nunit = [\"x\"]\n",
        );
        let error = typo.unwrap_err();
        assert!(error.starts_with("inventory.toml:5:1: unknown field \"unit\""), "{error}");
        assert!(error.ends_with("(did you mean \"units\"?)"), "{error}");
        let integrity = |value: &str| {
            let host = parsed(&format!(
                "[hosts.a]\naddress = \"x\"\nenvironment = \"dev\"\n[hosts.a.checks]\n{value}\n"
            ))?;
            host_checks(&host).map(|(checks, _)| checks.integrity)
        };
        assert_eq!(integrity("integrity = false"), Ok(false));
        assert!(integrity("integrity = \"no\"").unwrap_err().contains("expected a boolean"));
        assert!(integrity("integrty = false").unwrap_err().contains("unknown field \"integrty\""));
        let unknown = host(
            "[hosts.a]\naddress = \"x\"\nenvironment = \"dev\"\n[hosts.a.hooks]\nsnapshot = [\"{nope}\"]\n",
        );
        assert!(host_checks(&unknown).unwrap_err().contains("unknown `{nope}`"));
    }

    #[test]
    fn a_check_failing_before_the_patch_is_not_blamed_on_it_unless_the_rule_says_so() {
        let failure = |check: &str| CheckFailure { check: check.into(), problem: "down".into() };
        let found = vec![failure("unit acme-web"), failure("GET http://x/health")];
        let before = ["unit acme-web".to_owned(), "unit cron".to_owned()];
        let report = blame(found.clone(), &before, FailingBefore::Report);
        assert_eq!(report.before, [failure("unit acme-web")]);
        assert_eq!(report.new, [failure("GET http://x/health")]);
        let strict = blame(found.clone(), &before, FailingBefore::Fail);
        assert_eq!((strict.new, strict.before), (found, vec![]));

        let with = |value: &str| {
            let host = parsed(&format!(
                "[hosts.a]\naddress = \"x\"\nenvironment = \"dev\"\n[hosts.a.checks]\nfailing_before = {value}\n"
            ))?;
            host_checks(&host).map(|(checks, _)| checks.failing_before)
        };
        assert_eq!(with("\"fail\""), Ok(FailingBefore::Fail));
        assert!(with("\"ignore\"").unwrap_err().contains("unknown variant \"ignore\""));
    }

    #[test]
    fn refresh_is_typed_and_due_by_age() {
        let with = |value: &str| {
            let host = parsed(&format!(
                "[hosts.a]\naddress = \"x\"\nenvironment = \"dev\"\n[hosts.a.hooks]\nrefresh = {value}\n"
            ))?;
            host_checks(&host).map(|(_, hooks)| hooks.refresh)
        };
        assert_eq!(with("\"always\""), Ok(Refresh::Always));
        assert_eq!(
            with("\"if-older-than:1h30m\""),
            Ok(Refresh::IfOlderThan(chrono::TimeDelta::minutes(90)))
        );
        let error = with("\"sometimes\"").unwrap_err();
        assert!(
            error.contains("expected \"always\", \"never\" or \"if-older-than:DURATION\""),
            "{error}"
        );
        assert!(with("\"if-older-than:6x\"").unwrap_err().contains("has the unit 'x'"));

        let six_hours = Refresh::default();
        assert_eq!(String::from(six_hours), "if-older-than:6h");
        assert!(six_hours.is_due(None, 100_000), "unknown age: refresh");
        assert!(six_hours.is_due(Some(100_000 - 6 * 3600 - 1), 100_000));
        assert!(!six_hours.is_due(Some(100_000 - 6 * 3600), 100_000));
        assert!(Refresh::Always.is_due(Some(100_000), 100_000));
        assert!(!Refresh::Never.is_due(None, 100_000));
    }
}
