//! `patchctl notifications list|show|test`: every delivery attempt on record (the failed ones
//! with their reason), the channels the policy's `[notifications]` configure, and a test event
//! to prove they reach people.
//!
//! A webhook is shown by its redacted URL (`https://hooks.example.com/…`) and its key id, the
//! same in the three, so that a delivery on record is matched with the webhook it went to
//! without its token ever being printed.

use std::process::ExitCode;

use anyhow::Context;
use model::notification::{Event, EventKind, SmtpSecurity, Webhook, WebhookSecret, secrets};

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
    /// Every delivery, oldest first.
    List {
        /// Only the deliveries that failed (webhooks whose retries ran out are dead letters,
        /// with the whole event on record).
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

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::List { failed } => list(failed, ctx).await,
        Command::Show => show(ctx).await,
        Command::Test { owner } => test(owner, ctx).await,
    }
}

async fn list(failed: bool, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let records = ops::notify::deliveries(ctx).await?;
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

async fn show(ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let policy =
        ctx.sources.policy()?.context("no policy file: notifications are set in policy.toml")?;
    let settings = policy.notifications();
    let mut table = Table::new(["CHANNEL", "TO", "KEY", "FORMAT", "SIGNED", "TOLD OF"]);
    let mut hook = |webhook: &Webhook, told_of: &str| {
        // The secret itself never: where it comes from, and the variable's state here.
        let signed = match &webhook.secret {
            None => "no".to_owned(),
            Some(WebhookSecret::Inline(_)) => "yes (secret in the policy)".to_owned(),
            Some(WebhookSecret::Env(variable)) => {
                let set = if std::env::var_os(variable).is_some() { "set" } else { "NOT SET" };
                format!("yes (${variable}, {set} here)")
            }
        };
        table.row([
            "webhook".to_owned(),
            secrets::redact_url(&webhook.url),
            secrets::key_id(&webhook.url),
            webhook.format.as_str().to_owned(),
            signed,
            match &webhook.events {
                None => told_of.to_owned(),
                Some(kinds) => {
                    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                    format!("{told_of}: only {}", kinds.join(", "))
                }
            },
        ]);
    };
    let mut emails: Vec<[String; 6]> = Vec::new();
    let mut email = |address: &str, told_of: &str| {
        emails.push([
            "email".to_owned(),
            address.to_owned(),
            "-".to_owned(),
            "text+html".to_owned(),
            "-".to_owned(),
            told_of.to_owned(),
        ]);
    };
    for webhook in &settings.webhooks {
        hook(webhook, "every event");
    }
    for address in &settings.email {
        email(address, "every event");
    }
    for (owner, contact) in &settings.contacts {
        let told_of = format!("events about {owner}");
        for webhook in &contact.webhooks {
            hook(webhook, &told_of);
        }
        for address in &contact.email {
            email(address, &told_of);
        }
    }
    for (index, level) in settings.escalation.iter().enumerate() {
        let told_of = format!(
            "escalation level {} ({}), after {}",
            index + 1,
            level.name,
            model::policy::format_duration(settings.escalate_after * (index as i32 + 1))
        );
        for webhook in &level.webhooks {
            hook(webhook, &told_of);
        }
        for address in &level.email {
            email(address, &told_of);
        }
    }
    for row in emails {
        table.row(row);
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
    println!(
        "timeout {} s per attempt; {} retries from {} s, doubling; windows announced {} ahead",
        settings.timeout_seconds,
        settings.retries,
        settings.retry_backoff_ms / 1000,
        model::policy::format_duration(settings.announce_before)
    );
    if let Some(dir) = &settings.templates {
        println!("e-mail templates from {} (the built-in ones where it has none)", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

async fn test(owners: Vec<String>, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let policy =
        ctx.sources.policy()?.context("no policy file: notifications are set in policy.toml")?;
    let event = Event {
        owners,
        ..Event::new(
            EventKind::Test,
            "patchctl: test notification",
            "A test of patchctl's notifications: if you read this, they reach you.",
            ctx.clock.now_seconds(),
        )
    };
    let report = ops::notify::send(ctx, policy.notifications(), &event).await?;
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
    Ok(crate::exit::unless(!report.problems().is_empty()))
}
