//! `patchctl`: fleet patch management. One file per subcommand, each with its `Args` and `run`;
//! this file parses the command line, dispatches, and maps errors to exit codes in one place:
//! 0 success, 1 patchctl could not do its job, 2 bad usage (clap), 3 some hosts failed,
//! 4 not compliant (`patchctl compliance`, for monitoring), 5 an evidence chain is broken
//! (`patchctl audit verify`).

mod advisories;
mod assess;
mod audit;
mod change;
mod clock;
mod compliance;
mod config;
mod cve;
mod cves;
mod dry_run;
mod emergency;
mod exit;
mod history;
mod hosts;
mod init;
mod notifications;
mod plan;
mod postmortem;
mod rehearsal;
mod rollout;
mod rollout_progress;
mod schedule;
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
}

impl Command {
    /// Whether the command writes to the state database (or a record beside it): such a
    /// command takes `--now` only on a rehearsal copy.
    fn writes(&self) -> bool {
        match self {
            Command::Init(_)
            | Command::Assess(_)
            | Command::Scheduler(_)
            | Command::Rollback(_)
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
            | Command::Rehearsal(_) => false,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    clock::init(cli.paths.now);
    // Once, before any TLS connection (DESIGN.md): webhooks and SMTP use rustls.
    ops::notify::install_crypto_provider();
    if let Err(error) = rehearsal::check_clock(&cli.paths, cli.command.writes()) {
        eprintln!("patchctl: {error:#}");
        return exit::code(exit::USAGE);
    }
    let result = match cli.command {
        Command::Init(args) => init::run(args, &cli.paths),
        Command::Hosts(args) => hosts::run(args, &cli.paths),
        Command::Assess(args) => assess::run(args, &cli.paths),
        Command::History(args) => history::run(args, &cli.paths),
        Command::Plan(args) => plan::run(args, &cli.paths),
        Command::Rollout(args) => rollout::run(args, &cli.paths),
        Command::Change(args) => change::run(args, &cli.paths),
        Command::Schedule(args) => schedule::schedule(args, &cli.paths),
        Command::Scheduler(args) => schedule::scheduler(args, &cli.paths),
        Command::Rollback(args) => rollout::rollback(args, &cli.paths),
        Command::Report(args) => rollout::report(args, &cli.paths),
        Command::Audit(args) => audit::run(args, &cli.paths),
        Command::Postmortem(args) => postmortem::run(args, &cli.paths),
        Command::Compliance(args) => compliance::run(args, &cli.paths),
        Command::Emergency(args) => emergency::run(args, &cli.paths),
        Command::Notifications(args) => notifications::run(args, &cli.paths),
        Command::Advisories(args) => advisories::run(args, &cli.paths),
        Command::Cves(args) => cves::run(args, &cli.paths),
        Command::Cve(args) => cve::run(args, &cli.paths),
        Command::Vercmp(args) => vercmp::run(args),
        Command::VerifyIntegrity(args) => verify_integrity::run(args, &cli.paths),
        Command::Rehearsal(args) => rehearsal::run(args, &cli.paths),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("patchctl: {error:#}");
            exit::code(exit::ERROR)
        }
    }
}
