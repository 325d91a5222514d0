//! `patchctl postmortem list|show|open|close`: root-cause records after rollbacks, failed
//! rollouts and emergencies; overdue until closed.

use std::process::ExitCode;

use anyhow::Context;
use model::postmortem::{DEFAULT_DUE_AFTER, Postmortem, Subject};
use ops::postmortem::NewPostmortemRequest;

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

impl Args {
    /// Whether it writes to the state (`--now` then needs a rehearsal copy).
    pub fn writes(&self) -> bool {
        matches!(self.command, Command::Open(_) | Command::Close(_))
    }
}

#[derive(clap::Subcommand)]
enum Command {
    /// Every postmortem with its status now: open, overdue or closed.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One postmortem, and who did what to it when.
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Open one by hand.
    Open(OpenArgs),
    /// Close one with its root cause.
    Close(CloseArgs),
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(clap::Args)]
struct OpenArgs {
    /// What it is about, in one line.
    title: String,
    /// The rollout it is about.
    #[arg(long, conflicts_with_all = ["advisory", "emergency"])]
    rollout: Option<String>,
    /// The advisory or CVE it is about.
    #[arg(long, conflicts_with = "emergency")]
    advisory: Option<String>,
    /// The emergency patch (its advisory or CVE) it is about.
    #[arg(long)]
    emergency: Option<String>,
    /// Hosts concerned.
    #[arg(long)]
    host: Vec<String>,
    #[arg(long)]
    owner: Option<String>,
    /// Hours until it is due; default the policy's `postmortem_due`, else 24.
    #[arg(long)]
    due_hours: Option<u32>,
    /// Who opens it (needed without --server; refused with it, where the login opens it).
    #[arg(long = "as", value_name = "USER")]
    actor: Option<String>,
}

#[derive(clap::Args)]
struct CloseArgs {
    id: String,
    #[arg(long)]
    root_cause: String,
    /// A follow-up action; repeat for several.
    #[arg(long)]
    action: Vec<String>,
    /// Who closes it (needed without --server; refused with it, where the login closes it).
    #[arg(long = "as", value_name = "USER")]
    actor: Option<String>,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let now = ctx.clock.now_seconds();
    match args.command {
        Command::List { format } => {
            let all = ops::postmortem::list(ctx).await?;
            match format {
                Format::Json => {
                    println!("{}", list_json(&all, now))
                }
                Format::Table => {
                    let mut table =
                        Table::new(["ID", "STATUS", "DUE (UTC)", "SUBJECT", "HOSTS", "TITLE"]);
                    for p in &all {
                        table.row([
                            p.id.to_string(),
                            p.status(now).as_str().to_owned(),
                            p.due_at.format("%Y-%m-%d %H:%M").to_string(),
                            p.subject.to_string(),
                            p.hosts.join(","),
                            p.title.clone(),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { id, format } => {
            let id = parse_id(&id)?;
            let (p, events) = ops::postmortem::show(ctx, id)
                .await?
                .with_context(|| format!("no postmortem has the id {id}"))?;
            match format {
                Format::Json => {
                    let mut document = p.to_output(now);
                    document.record =
                        Some(events.iter().map(ops::postmortem::entry_output).collect());
                    println!("{}", ops::protocol::output::pretty_sorted(&document));
                }
                Format::Table => {
                    println!("postmortem {}: {}", p.id, p.title);
                    println!("  about:      {}", p.subject);
                    println!("  status:     {}", p.status(now).as_str());
                    println!(
                        "  hosts:      {}",
                        if p.hosts.is_empty() {
                            "(the fleet)".to_owned()
                        } else {
                            p.hosts.join(", ")
                        }
                    );
                    println!("  owner:      {}", p.owner.as_deref().unwrap_or("-"));
                    println!("  opened:     {} by {}", p.opened_at, p.opened_by);
                    println!("  due:        {}", p.due_at);
                    if let (Some(at), Some(by)) = (p.closed_at, &p.closed_by) {
                        println!("  closed:     {at} by {by}");
                    }
                    println!(
                        "  root cause: {}",
                        p.root_cause.as_deref().unwrap_or("(not yet found)")
                    );
                    for action in &p.actions {
                        println!("  action:     {action}");
                    }
                    println!("record:");
                    for e in &events {
                        let at = chrono::DateTime::from_timestamp(e.at_unix, 0).unwrap_or_default();
                        println!("  {at}  {}  {}  {}", e.actor, e.action, e.body_json);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Open(args) => {
            let subject = match (args.rollout, args.advisory, args.emergency) {
                (Some(r), _, _) => Subject::Rollout(r),
                (_, Some(a), _) => Subject::Advisory(a),
                (_, _, Some(e)) => Subject::Emergency(e),
                _ => Subject::Other(args.title.clone()),
            };
            let due_after = match args.due_hours {
                Some(hours) => chrono::TimeDelta::hours(i64::from(hours)),
                None => ctx
                    .sources
                    .policy()?
                    .map_or(DEFAULT_DUE_AFTER, |p| p.compliance().postmortem_due),
            };
            let request = NewPostmortemRequest {
                subject,
                title: args.title,
                hosts: args.host,
                owner: args.owner,
                due_after,
                opened_by: actor(args.actor)?,
            };
            let (p, new) = ops::postmortem::open(ctx, &request).await?;
            if new {
                eprintln!("patchctl: postmortem {} opened, due at {}", p.id, p.due_at);
                println!("{}", p.id);
                Ok(ExitCode::SUCCESS)
            } else {
                anyhow::bail!(
                    "postmortem {} is already about {} ({})",
                    p.id,
                    p.subject,
                    p.status(now).as_str()
                )
            }
        }
        Command::Close(args) => {
            let id = parse_id(&args.id)?;
            let by = actor(args.actor)?;
            let p = ops::postmortem::close(ctx, id, &args.root_cause, &args.action, &by).await?;
            eprintln!("patchctl: postmortem {} closed by {by} at {now}", p.id);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `--as USER`, which the local state needs: it has no login of its own.
fn actor(actor: Option<String>) -> anyhow::Result<String> {
    actor.ok_or_else(|| crate::exit::usage("--as USER is needed: who does it"))
}

/// `open` and `close` against a server, as the login (`--as` refused); the lists and shows
/// are read there with `--format json` too.
pub async fn remote(args: Args, client: &crate::remote::Client) -> anyhow::Result<ExitCode> {
    use ops::protocol::api::{ClosePostmortemV1, NewPostmortemV1};
    use ops::protocol::output::postmortem::PostmortemV1;
    match args.command {
        Command::Open(args) => {
            crate::remote::refuse_as(&args.actor)?;
            let request = NewPostmortemV1 {
                title: args.title,
                rollout: args.rollout,
                advisory: args.advisory,
                emergency: args.emergency,
                hosts: args.host,
                owner: args.owner,
                due_hours: args.due_hours,
            };
            let opened: PostmortemV1 = client.post("/api/postmortems", &request).await?;
            eprintln!("patchctl: postmortem {} opened, due at {}", opened.id, opened.due_at);
            println!("{}", opened.id);
        }
        Command::Close(args) => {
            crate::remote::refuse_as(&args.actor)?;
            let id = parse_id(&args.id)?;
            let request = ClosePostmortemV1 { root_cause: args.root_cause, actions: args.action };
            let closed: PostmortemV1 =
                client.post(&format!("/api/postmortems/{id}/close"), &request).await?;
            let by = closed.closed_by.unwrap_or_default();
            let at = closed.closed_at.unwrap_or_default();
            eprintln!("patchctl: postmortem {} closed by {by} at {at}", closed.id);
        }
        Command::List { format: Format::Json } => {
            let all: Vec<PostmortemV1> = client.get_all("/api/postmortems").await?;
            println!("{}", ops::protocol::output::pretty_sorted(&all));
        }
        Command::Show { id, format: Format::Json } => {
            let id = parse_id(&id)?;
            let shown: PostmortemV1 = client.get(&format!("/api/postmortems/{id}")).await?;
            println!("{}", ops::protocol::output::pretty_sorted(&shown));
        }
        Command::List { .. } | Command::Show { .. } => {
            anyhow::bail!(
                "against a server, `postmortem list|show` print --format json (tables: soon)"
            )
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `7`, or `PM-7` as messages write it.
fn parse_id(text: &str) -> anyhow::Result<i64> {
    let digits = text.strip_prefix("PM-").or_else(|| text.strip_prefix("pm-")).unwrap_or(text);
    digits
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .with_context(|| format!("{text:?} is not a postmortem id: expected a number such as 7"))
}

/// `postmortem list`'s postmortems as JSON.
pub(crate) fn list_json(all: &[Postmortem], now: chrono::DateTime<chrono::Utc>) -> String {
    let documents: Vec<_> = all.iter().map(|p| p.to_output(now)).collect();
    ops::protocol::output::pretty_sorted(&documents)
}
