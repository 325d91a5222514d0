//! `patchctl notifications list|show|test`: every delivery attempt on record (the failed ones
//! with their reason), the channels the policy's `[notifications]` configure, and a test event
//! to prove they reach people.
//!
//! A webhook is shown by its redacted URL (`https://hooks.example.com/…`) and its key id, the
//! same in the three, so that a delivery on record is matched with the webhook it went to
//! without its token ever being printed.

use std::process::ExitCode;

use anyhow::Context;
use model::notification::{Event, EventKind, SmtpSecurity, secrets};

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
    /// The policy's channels: each webhook (redacted, with its key id), address and contact,
    /// and the SMTP relay.
    Show,
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
        Command::Show => show(paths),
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
    let mut table = Table::new(["AT (UTC)", "KIND", "CHANNEL", "TO", "KEY", "RESULT", "SUBJECT"]);
    for n in records.iter().filter(|n| !failed || n.record.error.is_some()) {
        let r = &n.record;
        let at = chrono::DateTime::from_timestamp(r.at_unix, 0).unwrap_or_default();
        table.row([
            at.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.kind.clone(),
            r.channel.clone(),
            r.target.clone(),
            r.key_id.clone().unwrap_or_else(|| "-".to_owned()),
            r.error.as_ref().map_or("delivered".to_owned(), |e| format!("FAILED: {e}")),
            r.subject.clone(),
        ]);
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}

fn show(paths: &Paths) -> anyhow::Result<ExitCode> {
    let policy = paths.policy()?.context("no policy file: notifications are set in policy.toml")?;
    let settings = policy.notifications();
    let mut table = Table::new(["CHANNEL", "TO", "KEY", "TOLD OF"]);
    let mut add = |channel: &str, to: &str, told_of: &str| {
        let (shown, key) = match channel {
            "webhook" => (secrets::redact_url(to), secrets::key_id(to)),
            _ => (to.to_owned(), "-".to_owned()),
        };
        table.row([channel.to_owned(), shown, key, told_of.to_owned()]);
    };
    for url in &settings.webhooks {
        add("webhook", url, "every event");
    }
    for address in &settings.email {
        add("email", address, "every event");
    }
    for (owner, contact) in &settings.contacts {
        let told_of = format!("events about owner {owner}");
        for url in &contact.webhooks {
            add("webhook", url, &told_of);
        }
        for address in &contact.email {
            add("email", address, &told_of);
        }
    }
    print!("{}", table.render());
    match &settings.smtp {
        None => println!("no SMTP relay: e-mail cannot be sent"),
        Some(smtp) => {
            let security = match smtp.security {
                SmtpSecurity::None => "none",
                SmtpSecurity::Starttls => "starttls",
                SmtpSecurity::Tls => "tls",
            };
            let mut line =
                format!("SMTP relay {}:{} ({security}), from {}", smtp.relay, smtp.port, smtp.from);
            if let Some(username) = &smtp.username {
                line.push_str(&format!(", user {username}"));
            }
            // The variable's name, and whether it is set here: never its value.
            if let Some(variable) = &smtp.password_env {
                let set = if std::env::var_os(variable).is_some() { "set" } else { "NOT SET" };
                line.push_str(&format!(", password from ${variable} ({set} here)"));
            }
            println!("{line}");
        }
    }
    println!("timeout {} s per delivery", settings.timeout_seconds);
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
            None => println!("delivered  {} {}", delivery.channel, delivery.shown_target()),
            Some(error) => {
                println!("FAILED     {} {}: {error}", delivery.channel, delivery.shown_target())
            }
        }
    }
    for problem in &report.unrecorded {
        eprintln!("patchctl: {problem}");
    }
    Ok(if report.problems().is_empty() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}
