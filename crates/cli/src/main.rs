//! `patchctl`: fleet patch management. One file per subcommand, each with its `Args` and `run`;
//! this file parses the command line, dispatches, and maps errors to exit codes in one place:
//! 0 success, 1 patchctl could not do its job, 2 bad usage (clap), 3 some hosts failed,
//! 4 not compliant (`patchctl compliance`, for monitoring), 5 an evidence chain is broken
//! (`patchctl audit verify`), 6 the installation has a problem (`patchctl doctor`).

mod account;
mod advisories;
mod assess;
mod audit;
mod change;
mod compliance;
mod config;
mod cve;
mod cves;
mod db;
mod doctor;
mod dry_run;
mod emergency;
mod exit;
mod generate_docs;
mod history;
mod hosts;
mod init;
mod login;
mod notifications;
#[cfg(test)]
mod output_tests;
mod plan;
mod postmortem;
mod progress;
mod rehearsal;
mod remote;
mod rollout;
mod rollout_progress;
mod schedule;
mod serve;
mod table;
mod vercmp;
mod verify_integrity;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "patchctl",
    version,
    about = "Fleet patch management: assess, plan, approve, patch in waves, verify, roll back, report."
)]
struct Cli {
    #[command(flatten)]
    paths: config::Paths,
    #[command(flatten)]
    target: remote::Target,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a commented patchctl.toml and create the state database.
    Init(init::Args),
    /// The inventory's hosts; import an Ansible inventory.
    Hosts(hosts::Args),
    /// Show hosts' patch state as their own package managers see it.
    Assess(assess::Args),
    /// A host's assessments over time.
    History(history::Args),
    /// The action plan: pinned versions, waves, rollback, from the latest assessments.
    Plan(plan::Args),
    /// Run a plan on its hosts; its status; pause, resume, cancel.
    Rollout(rollout::Args),
    /// Change approval of a plan: request, approve, reject, show, list.
    Change(change::Args),
    /// What runs next, where, when and why: each environment's next window and plan.
    Schedule(schedule::ScheduleArgs),
    /// The team server: the API with logins and roles, the scheduler inside; `--init-admin`
    /// creates its first admin.
    Serve(serve::Args),
    /// Log in to a team server; `--server URL` then acts as that user.
    Login(login::Args),
    /// Log out of a team server: the stored token revoked there and forgotten here.
    Logout(account::LogoutArgs),
    /// Change your own password on a team server, the old one given.
    Password(account::PasswordArgs),
    /// Long-running: starts approved rollouts in their windows; stops starting hosts at the
    /// cutoff. `--once` looks once and drives what started to its end.
    Scheduler(schedule::SchedulerArgs),
    /// Roll hosts of a rollout back to the versions recorded before it.
    Rollback(rollout::RollbackArgs),
    /// What a rollout did, host by host.
    Report(rollout::ReportArgs),
    /// Check the evidence: the hash chains of journals and change records, against the heads
    /// exported before to the anchor file.
    Audit(audit::Args),
    /// Root-cause records after rollbacks and emergencies: list, show, open, close.
    Postmortem(postmortem::Args),
    /// Delivery attempts of notifications on record; a test notification.
    Notifications(notifications::Args),
    /// Whether hosts are patched as the policy says, with the evidence; exit code 4 if not.
    Compliance(compliance::Args),
    /// The expedited plan for a critical advisory (CVSS >= 9.0, or named): owners told, postmortem due.
    Emergency(emergency::Args),
    /// Security advisories: import OSV records and dnf updateinfo; list; show one.
    Advisories(advisories::Args),
    /// Each host's exposure to known CVEs, with the update that fixes it.
    Cves(cves::Args),
    /// One CVE: which hosts are affected, fixed, or not concerned.
    Cve(cve::Args),
    /// Compare two package versions the way dpkg or rpm does.
    Vercmp(vercmp::Args),
    /// Whether the packages patchctl changed still have the files they installed (`dpkg
    /// --verify`, `rpm -V`); configuration files the administrator changed are reported.
    VerifyIntegrity(verify_integrity::Args),
    /// A copy of the state to rehearse in at a virtual time (`--now`).
    Rehearsal(rehearsal::Args),
    /// Check this installation: configuration, database, TLS files, SSH keys, scheduler; exit
    /// code 6 on a problem.
    Doctor(doctor::Args),
    /// The state database: migrate it; copy an SQLite state into PostgreSQL.
    Db(db::Args),
    /// Write the man pages and shell completions (for packaging).
    #[command(hide = true)]
    GenerateDocs(generate_docs::Args),
}

impl Command {
    /// Whether the command writes to the state database (or a record beside it): such a
    /// command takes `--now` only on a rehearsal copy.
    fn writes(&self) -> bool {
        match self {
            Command::Init(_)
            | Command::Assess(_)
            | Command::Scheduler(_)
            | Command::Serve(_)
            | Command::Login(_)
            | Command::Logout(_)
            | Command::Password(_)
            | Command::Rollback(_)
            | Command::Db(_)
            | Command::Emergency(_) => true,
            Command::Plan(args) => args.writes(),
            Command::Rollout(args) => args.writes(),
            Command::Change(args) => args.writes(),
            Command::Postmortem(args) => args.writes(),
            Command::Notifications(args) => args.writes(),
            Command::Advisories(args) => args.writes(),
            Command::Hosts(_)
            | Command::History(_)
            | Command::Schedule(_)
            | Command::Report(_)
            | Command::Audit(_)
            | Command::Compliance(_)
            | Command::Cves(_)
            | Command::Cve(_)
            | Command::Vercmp(_)
            | Command::VerifyIntegrity(_)
            | Command::Rehearsal(_)
            | Command::Doctor(_)
            | Command::GenerateDocs(_) => false,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Once, before any TLS connection (DESIGN.md): webhooks and SMTP use rustls.
    ops::notify::install_crypto_provider();
    if let Some(server) = cli.target.server {
        let result = config::runtime().and_then(|runtime| {
            runtime.block_on(async { remote_dispatch(cli.command, &server).await })
        });
        return finish(result);
    }
    let result = config::runtime().and_then(|runtime| {
        let ctx = ops::Context::new(cli.paths.sources(), cli.paths.clock(), config::operator())
            .with_progress(std::sync::Arc::new(progress::Printed::default()))
            .with_pool_settings(cli.paths.pool_settings());
        runtime.block_on(async {
            let result = dispatch(cli.command, &ctx).await;
            ctx.close().await;
            result
        })
    });
    finish(result)
}

fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("patchctl: {error:#}");
            exit::code(exit::for_error(&error))
        }
    }
}

/// `--server URL`: the commands that run against a team server, as the logged-in user.
async fn remote_dispatch(command: Command, server: &str) -> anyhow::Result<ExitCode> {
    match command {
        Command::Login(args) => return login::run(args).await,
        Command::Logout(args) => return account::logout(args).await,
        Command::Password(args) => return account::password(args).await,
        _ => {}
    }
    let client = remote::Client::new(server)?;
    match command {
        Command::Change(args) => change::remote(args, &client).await,
        Command::Rollout(args) => rollout::remote(args, &client).await,
        Command::Plan(args) => plan::remote(args, &client).await,
        Command::Hosts(args) => hosts::remote(args, &client).await,
        Command::Report(args) => rollout::remote_report(args, &client).await,
        Command::Postmortem(args) => postmortem::remote(args, &client).await,
        Command::Assess(args) => assess::remote(args, &client).await,
        Command::Schedule(args) => schedule::remote(args, &client).await,
        _ => {
            // The subcommand as typed, to name it.
            let name = std::env::args()
                .skip(1)
                .find(|arg| <Cli as clap::CommandFactory>::command().find_subcommand(arg).is_some())
                .unwrap_or_default();
            Err(remote::not_remote(&name))
        }
    }
}

async fn dispatch(command: Command, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let writes = command.writes();
    ops::rehearsal::check_clock(ctx, writes).await.map_err(exit::usage)?;
    match command {
        Command::Init(args) => init::run(args, ctx).await,
        Command::Hosts(args) => hosts::run(args, ctx).await,
        Command::Assess(args) => assess::run(args, ctx).await,
        Command::History(args) => history::run(args, ctx).await,
        Command::Plan(args) => plan::run(args, ctx).await,
        Command::Rollout(args) => rollout::run(args, ctx).await,
        Command::Change(args) => change::run(args, ctx).await,
        Command::Schedule(args) => schedule::schedule(args, ctx).await,
        Command::Scheduler(args) => schedule::scheduler(args, ctx).await,
        Command::Serve(args) => serve::run(args, ctx).await,
        Command::Login(args) => login::run(args).await,
        Command::Logout(args) => account::logout(args).await,
        Command::Password(args) => account::password(args).await,
        Command::Rollback(args) => rollout::rollback(args, ctx).await,
        Command::Report(args) => rollout::report(args, ctx).await,
        Command::Audit(args) => audit::run(args, ctx).await,
        Command::Postmortem(args) => postmortem::run(args, ctx).await,
        Command::Compliance(args) => compliance::run(args, ctx).await,
        Command::Emergency(args) => emergency::run(args, ctx).await,
        Command::Notifications(args) => notifications::run(args, ctx).await,
        Command::Advisories(args) => advisories::run(args, ctx).await,
        Command::Cves(args) => cves::run(args, ctx).await,
        Command::Cve(args) => cve::run(args, ctx).await,
        Command::Vercmp(args) => vercmp::run(args),
        Command::VerifyIntegrity(args) => verify_integrity::run(args, ctx).await,
        Command::Rehearsal(args) => rehearsal::run(args, ctx).await,
        Command::Doctor(args) => doctor::run(args, ctx).await,
        Command::Db(args) => db::run(args, ctx).await,
        Command::GenerateDocs(args) => {
            generate_docs::run(args, <Cli as clap::CommandFactory>::command())
        }
    }
}
