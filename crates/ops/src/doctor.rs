//! `doctor`: whether this installation can do its job, one check at a time: the configuration
//! parses, the state database is writable, the TLS files are readable, the SSH keys load, and a
//! scheduler runs. Each check ends in a line that says what was found and, for a problem, what
//! to do; a problem is data (`Verdict::Problem`), never an `Err`, so every check runs.
//!
//! The server's configuration belongs to the `server` crate, which depends on this one: the
//! shell parses it and hands over what it found ([`Install`]).

use std::path::{Path, PathBuf};

use crate::Context;

/// The systemd units the .deb ships (`crates/cli/debian/`).
pub const SERVER_UNIT: &str = "patchctl-server.service";
pub const SCHEDULER_TIMER: &str = "patchctl-scheduler.timer";

/// What the shell found in the server's configuration.
#[derive(Debug, Clone)]
pub struct Install {
    pub server_config: PathBuf,
    /// The settings doctor checks, or the parser's message when the file does not parse.
    pub parsed: Result<ServerSettings, String>,
}

#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    /// The certificate and the key, when the server serves TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `[scheduler] enabled`: the scheduler runs inside the server.
    pub scheduler_inside: bool,
    /// `[oidc] client_secret_file`, which the server reads when it starts.
    pub oidc_secret_file: Option<PathBuf>,
}

/// One check: what was looked at, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// A short name: `server config`, `inventory`, `database`, `tls`, `oidc`, `ssh key`,
    /// `scheduler`.
    pub what: &'static str,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok(String),
    /// `found` says what is wrong, `fix` what to do about it.
    Problem {
        found: String,
        fix: String,
    },
}

impl Check {
    pub fn is_problem(&self) -> bool {
        matches!(self.verdict, Verdict::Problem { .. })
    }
}

/// Runs every check, in order. `ctx`'s sources are the ones the server would use.
pub async fn check(ctx: &Context, install: &Install) -> Vec<Check> {
    let mut checks = vec![server_config(install)];
    let inventory = ctx.inventory();
    checks.push(match &inventory {
        Ok(inventory) => ok(
            "inventory",
            format!("{} parses: {} hosts", ctx.sources.config.display(), inventory.hosts().len()),
        ),
        Err(error) => problem(
            "inventory",
            error.to_string(),
            format!(
                "write the inventory at {} (`patchctl init`, or `patchctl hosts import`), or \
                 correct it",
                ctx.sources.config.display()
            ),
        ),
    });
    checks.push(match ctx.sources.policy() {
        Ok(Some(_)) => ok("policy", format!("{} parses", ctx.sources.policy_path().display())),
        Ok(None) => ok(
            "policy",
            format!(
                "none at {}: no approval, window or promotion gate applies",
                ctx.sources.policy_path().display()
            ),
        ),
        Err(error) => problem("policy", error.to_string(), "correct the policy file".into()),
    });
    checks.push(database(ctx).await);
    if let Ok(settings) = &install.parsed {
        checks.push(tls(settings));
        checks.extend(settings.oidc_secret_file.as_deref().map(oidc_secret));
    }
    if let Ok(inventory) = &inventory {
        let mut keys: Vec<PathBuf> =
            inventory.hosts().iter().filter_map(|host| host.ssh_key.clone()).collect();
        keys.sort();
        keys.dedup();
        checks.extend(ssh_keys(&keys, inventory.hosts().is_empty()));
    }
    checks.push(scheduler(install).await);
    checks
}

fn ok(what: &'static str, found: String) -> Check {
    Check { what, verdict: Verdict::Ok(found) }
}

fn problem(what: &'static str, found: String, fix: String) -> Check {
    Check { what, verdict: Verdict::Problem { found, fix } }
}

fn server_config(install: &Install) -> Check {
    let path = install.server_config.display();
    match &install.parsed {
        Ok(_) => ok("server config", format!("{path} parses")),
        Err(message) => problem(
            "server config",
            message.clone(),
            format!("correct {path}; its comments list every key"),
        ),
    }
}

/// The database's folder takes a new file (SQLite writes its journal beside it), the file, if
/// there is one, opens for writing, and it answers a query. A missing database is fine: it is
/// created on first use.
async fn database(ctx: &Context) -> Check {
    if ctx.sources.database_url.is_some() {
        let name = ctx.sources.state_name();
        return match crate::health::ready(ctx).await {
            Ok(()) => ok("database", format!("{name} is migrated and answers")),
            Err(error) => problem(
                "database",
                format!("{name} does not answer: {error}"),
                "check that PostgreSQL runs, the URL, and that its user may connect".into(),
            ),
        };
    }
    let path = ctx.sources.state();
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let fix = format!(
        "make {} writable by the user patchctl runs as (the service's: `patchctl`)",
        dir.display()
    );
    let probe = dir.join(format!(".patchctl-doctor-{}", std::process::id()));
    let created = std::fs::OpenOptions::new().write(true).create_new(true).open(&probe);
    if let Err(error) = created {
        return problem(
            "database",
            format!("cannot create a file in {}: {error}", dir.display()),
            fix,
        );
    }
    let _ = std::fs::remove_file(&probe);
    if !path.exists() {
        return ok(
            "database",
            format!("{} does not exist yet; its folder is writable", path.display()),
        );
    }
    if let Err(error) = std::fs::OpenOptions::new().write(true).open(&path) {
        return problem("database", format!("cannot write {}: {error}", path.display()), fix);
    }
    match crate::health::ready(ctx).await {
        Ok(()) => ok("database", format!("{} is writable and answers", path.display())),
        Err(error) => problem(
            "database",
            format!("{} does not answer: {error}", path.display()),
            "restore the database from a backup, or move it away to start anew".into(),
        ),
    }
}

/// Both files read, each with the PEM block it must hold.
fn tls(settings: &ServerSettings) -> Check {
    let Some((cert, key)) = &settings.tls else {
        return ok("tls", "none: plain HTTP, on a loopback address only".into());
    };
    for (path, block) in [(cert, "CERTIFICATE"), (key, "PRIVATE KEY")] {
        let found = match std::fs::read_to_string(path) {
            Err(error) => format!("cannot read {}: {error}", path.display()),
            Ok(text) if !text.contains("-----BEGIN") || !text.contains(block) => {
                format!("{} holds no PEM {block} block", path.display())
            }
            Ok(_) => continue,
        };
        return problem(
            "tls",
            found,
            "put the PEM certificate chain and key where [tls] says, readable by the user \
             `patchctl` (e.g. `chgrp patchctl KEY; chmod 640 KEY`)"
                .into(),
        );
    }
    ok("tls", format!("{} and {} are readable", cert.display(), key.display()))
}

/// The OIDC client secret's file reads and holds something.
fn oidc_secret(path: &Path) -> Check {
    let found = match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => {
            return ok("oidc", format!("the client secret {} is readable", path.display()));
        }
        Ok(_) => format!("the client secret {} is empty", path.display()),
        Err(error) => format!("cannot read the client secret {}: {error}", path.display()),
    };
    let fix = "put the client secret the provider gave where [oidc] client_secret_file says, \
               readable by the user `patchctl` only (`chown patchctl FILE; chmod 600 FILE`)";
    problem("oidc", found, fix.into())
}

/// Every key file the inventory names loads and is private; without one, an ssh-agent must be
/// there.
fn ssh_keys(keys: &[PathBuf], no_hosts: bool) -> Vec<Check> {
    if keys.is_empty() {
        let agent = std::env::var_os("SSH_AUTH_SOCK").filter(|socket| !socket.is_empty());
        return vec![match agent {
            _ if no_hosts => ok("ssh key", "no hosts in the inventory yet".into()),
            Some(socket) => ok(
                "ssh key",
                format!("no key file named; the ssh-agent at {} is used", socket.to_string_lossy()),
            ),
            None => problem(
                "ssh key",
                "no host names an ssh_key and there is no ssh-agent (SSH_AUTH_SOCK)".into(),
                "set ssh_key in the inventory's [defaults], e.g. /var/lib/patchctl/.ssh/id_ed25519 \
                 (`ssh-keygen -t ed25519 -N ''` as the user patchctl)"
                    .into(),
            ),
        }];
    }
    keys.iter()
        .map(|key| {
            let path = crate::connect::expand_home(key);
            let loaded = crate::files::check_private_key(&path)
                .and_then(|()| transport::check_key_file(&path));
            match loaded {
                Ok(description) => ok("ssh key", format!("{description} loads")),
                Err(found) => problem(
                    "ssh key",
                    found,
                    "use an unencrypted OpenSSH private key, mode 600, owned by the user \
                     patchctl runs as; keys with a passphrase belong in an ssh-agent"
                        .into(),
                ),
            }
        })
        .collect()
}

/// The scheduler runs inside an active server with `[scheduler] enabled`, or from the timer of
/// a CLI-only install; `systemctl is-active` says which units run.
async fn scheduler(install: &Install) -> Check {
    let inside = install.parsed.as_ref().is_ok_and(|settings| settings.scheduler_inside);
    let server = is_active(SERVER_UNIT).await;
    let timer = is_active(SCHEDULER_TIMER).await;
    match (server, timer) {
        (Err(error), _) | (_, Err(error)) => problem(
            "scheduler",
            format!("cannot ask systemd which units run: {error}"),
            format!("run the scheduler as a service: {SERVER_UNIT} or {SCHEDULER_TIMER}"),
        ),
        (Ok(true), Ok(_)) if inside => {
            ok("scheduler", format!("runs inside {SERVER_UNIT}, which is active"))
        }
        (Ok(_), Ok(true)) => ok("scheduler", format!("{SCHEDULER_TIMER} is active")),
        (Ok(server), Ok(false)) => problem(
            "scheduler",
            if server {
                format!(
                    "{SERVER_UNIT} is active with [scheduler] enabled = false, and \
                     {SCHEDULER_TIMER} is not active"
                )
            } else {
                format!("neither {SERVER_UNIT} nor {SCHEDULER_TIMER} is active")
            },
            format!(
                "set [scheduler] enabled = true in {} and `systemctl restart {SERVER_UNIT}`, or, \
                 without the server, `systemctl enable --now {SCHEDULER_TIMER}`",
                install.server_config.display()
            ),
        ),
    }
}

/// `systemctl is-active UNIT`: exit code 0 when active. Anything else it answers (inactive,
/// failed, unknown unit) is "not active"; only failing to run it is an error.
async fn is_active(unit: &str) -> Result<bool, String> {
    let output = tokio::process::Command::new("systemctl")
        .args(["is-active", "--quiet", unit])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|error| format!("running systemctl: {error}"))?;
    Ok(output.status.success())
}
