//! `patchctl notifications list|test`: every delivery attempt on record (the failed ones with
//! their reason), and a test event to prove the policy's `[notifications]` reach people.

use std::process::ExitCode;

use anyhow::Context;
use model::notification::{Event, EventKind};

use crate::config::{Paths, runtime};
use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

impl Args {
    /// Whether it writes to the state (`--now` then needs a rehearsal copy).
    pub fn writes(&self) -> bool {
        matches!(self.command, Command::Test { .. })
    }
}

#[derive(clap::Subcommand)]
enum Command {
    /// Every delivery attempt, oldest first.
    List {
        /// Only the deliveries that failed.
        #[arg(long)]
        failed: bool,
    },
    /// Send a test event to everyone the policy names (and these owners' contacts); exit 3
    /// when a delivery failed.
    Test {
        /// An owner (as the inventory writes it) whose contact is told too; repeat for several.
        #[arg(long)]
        owner: Vec<String>,
    },
}

pub fn run(args: Args, paths: &Paths) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::List { failed } => list(failed, paths),
        Command::Test { owner } => test(owner, paths),
    }
}

fn list(failed: bool, paths: &Paths) -> anyhow::Result<ExitCode> {
    let records = runtime()?.block_on(async {
        let store = paths.store().await?;
        let records = store.notifications().await?;
        store.close().await;
        anyhow::Ok(records)
    })?;
    let mut table = Table::new(["AT (UTC)", "KIND", "CHANNEL", "TO", "RESULT", "SUBJECT"]);
    for n in records.iter().filter(|n| !failed || n.record.error.is_some()) {
        let r = &n.record;
        let at = chrono::DateTime::from_timestamp(r.at_unix, 0).unwrap_or_default();
        table.row([
            at.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.kind.clone(),
            r.channel.clone(),
            r.target.clone(),
            r.error.as_ref().map_or("delivered".to_owned(), |e| format!("FAILED: {e}")),
            r.subject.clone(),
        ]);
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}

fn test(owners: Vec<String>, paths: &Paths) -> anyhow::Result<ExitCode> {
    let policy = paths.policy()?.context("no policy file: notifications are set in policy.toml")?;
    let event = Event {
        kind: EventKind::Test,
        subject: "patchctl: test notification".to_owned(),
        body: "A test of patchctl's notifications: if you read this, they reach you.".to_owned(),
        hosts: Vec::new(),
        owners,
        at: paths.now(),
    };
    let report = runtime()?.block_on(async {
        let store = paths.store().await?;
        let report = ops::notify::notify(&store, policy.notifications(), &event).await;
        store.close().await;
        anyhow::Ok(report)
    })?;
    if report.deliveries.is_empty() {
        anyhow::bail!("the policy names nobody to notify: add a [notifications] table");
    }
    for delivery in &report.deliveries {
        match &delivery.error {
            None => println!("delivered  {} {}", delivery.channel, delivery.target),
            Some(error) => println!("FAILED     {} {}: {error}", delivery.channel, delivery.target),
        }
    }
    for problem in &report.unrecorded {
        eprintln!("patchctl: {problem}");
    }
    Ok(if report.problems().is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}
