//! `patchctl verify-integrity SELECTOR…`: whether the packages patchctl changed on each host
//! (or, with `--all-packages`, every installed package) still have the files they installed:
//! `dpkg --verify` / `rpm -V`. Exit code 3 when a host has a missing or altered file or could
//! not be checked.

use std::process::ExitCode;
use std::time::Duration;

use ops::integrity::{HostIntegrity, HostIntegrityOutcome, IntegrityConfig};
use ops::protocol::output::integrity::{AdminChangedV1, HostIntegrityV1, IntegrityReportV1};

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    /// Hosts to check: `all`, a host, a group, `env:NAME`, `tag:NAME`.
    #[arg(required = true)]
    selectors: Vec<String>,
    /// Every installed package, not only those the rollouts on record changed.
    #[arg(long)]
    all_packages: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Hosts checked at the same time.
    #[arg(long, default_value_t = 20)]
    concurrency: usize,
    /// Seconds to wait for a host to accept the connection.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let config = IntegrityConfig {
        all_packages: args.all_packages,
        concurrency: args.concurrency,
        connect: ops::ConnectConfig {
            connect_timeout: Duration::from_secs(args.connect_timeout),
            ..IntegrityConfig::default().connect
        },
        ..IntegrityConfig::default()
    };
    let results = ops::integrity::verify(ctx, &args.selectors, &config).await?;
    match args.format {
        Format::Json => println!("{}", document(&results)),
        Format::Table => print!("{}", table(&results)),
    }
    let failed =
        results.iter().any(|r| status(r) == Status::Failed || status(r) == Status::Unchecked);
    Ok(crate::exit::unless(failed))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Every file as installed.
    Ok,
    /// Only configuration files differ.
    AdminChanged,
    Failed,
    Unchecked,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::AdminChanged => "admin-changed",
            Status::Failed => "FAILED",
            Status::Unchecked => "unchecked",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::AdminChanged => "admin_changed",
            Status::Failed => "failed",
            Status::Unchecked => "unchecked",
        }
    }
}

fn status(result: &HostIntegrity) -> Status {
    match &result.outcome {
        HostIntegrityOutcome::Unchecked { .. } => Status::Unchecked,
        HostIntegrityOutcome::Checked { .. } if !result.failures().is_empty() => Status::Failed,
        HostIntegrityOutcome::Checked { .. } if !result.admin_changed().is_empty() => {
            Status::AdminChanged
        }
        HostIntegrityOutcome::Checked { .. } => Status::Ok,
    }
}

fn table(results: &[HostIntegrity]) -> String {
    let mut table = Table::new(["HOST", "STATUS", "PACKAGES", "DETAILS"]);
    for result in results {
        let (checked, details) = match &result.outcome {
            HostIntegrityOutcome::Unchecked { reason } => (String::new(), reason.clone()),
            HostIntegrityOutcome::Checked { packages, not_installed } => {
                let mut details: Vec<String> = result.failures();
                details.extend(result.admin_changed().into_iter().map(|(package, file)| {
                    format!("{package}: {} changed by the administrator", file.describe())
                }));
                if !not_installed.is_empty() {
                    details.push(format!("no longer installed: {}", not_installed.join(", ")));
                }
                if packages.is_empty() && not_installed.is_empty() {
                    details.push("no package changed by a rollout on record".to_owned());
                }
                (packages.len().to_string(), details.join("; "))
            }
        };
        table.row([result.host.clone(), status(result).word().to_owned(), checked, details]);
    }
    table.render()
}

/// The results as printed JSON (`protocol::output::integrity`), one object per host: `host`,
/// `status` (`ok`, `admin_changed`, `failed`, `unchecked`), `packages` (`name version arch` of
/// each verified), `failures`, `admin_changed` (package, path, what differs), `not_installed`,
/// and `unchecked` (why) when it was not checked.
pub(crate) fn document(results: &[HostIntegrity]) -> String {
    let hosts = results
        .iter()
        .map(|result| {
            let (packages, not_installed, unchecked) = match &result.outcome {
                HostIntegrityOutcome::Checked { packages, not_installed } => (
                    packages
                        .iter()
                        .map(|p| {
                            format!("{} {} {}", p.package.name, p.package.version, p.package.arch)
                        })
                        .collect(),
                    not_installed.clone(),
                    None,
                ),
                HostIntegrityOutcome::Unchecked { reason } => {
                    (Vec::new(), Vec::new(), Some(reason.clone()))
                }
            };
            HostIntegrityV1 {
                host: result.host.clone(),
                status: status(result).key().to_owned(),
                packages,
                failures: result.failures(),
                admin_changed: result
                    .admin_changed()
                    .into_iter()
                    .map(|(package, file)| AdminChangedV1 {
                        package: package.to_owned(),
                        path: file.path.clone(),
                        differs: file.differs.iter().map(|d| (*d).to_owned()).collect(),
                    })
                    .collect(),
                not_installed,
                unchecked,
            }
        })
        .collect();
    ops::protocol::output::pretty_sorted(&IntegrityReportV1 { hosts })
}
