//! `patchctl change request|approve|reject|show|list`: change approval of a plan's hash, by
//! the rules of the policy's environments.

use std::process::ExitCode;

use anyhow::Context;
use model::change::{ChangeKind, ChangeState};
use ops::change::{Act, Change};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

impl Args {
    /// Whether it writes to the state (`--now` then needs a rehearsal copy).
    pub fn writes(&self) -> bool {
        matches!(
            self.command,
            Command::Request { .. } | Command::Approve { .. } | Command::Reject { .. }
        )
    }
}

#[derive(clap::Subcommand)]
enum Command {
    /// Ask for a plan to be approved (with the change ticket, when a rule requires one).
    Request {
        plan: String,
        #[arg(long)]
        ticket: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Approve a plan someone else requested.
    Approve {
        plan: String,
        #[command(flatten)]
        who: Who,
    },
    /// Reject a plan: final for this plan; a new plan can be requested again.
    Reject {
        plan: String,
        #[command(flatten)]
        who: Who,
    },
    /// A change: each environment's rule, who approved, what is missing, the journal.
    Show {
        plan: String,
        #[arg(long, default_value = "text")]
        format: Format,
    },
    /// Every plan with its change's state, newest first.
    List,
}

#[derive(clap::Args)]
struct Who {
    /// Who acts (default: $USER). patchctl trusts this name: it has no login of its own, so
    /// the state database's file permissions decide who may act at all.
    #[arg(long = "as")]
    actor: Option<String>,
    #[arg(long)]
    comment: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let act = async |plan: String, kind: ChangeKind, who: Who, ticket: Option<String>| {
        let actor = match who.actor {
            Some(actor) => actor,
            None => std::env::var("USER").context("--as USER is needed: $USER is not set")?,
        };
        let act = Act { kind, actor, ticket, comment: who.comment };
        let change = ops::change::record(ctx, &plan, act).await?;
        print_text(&change);
        // The action is on record whatever became of its notification.
        for problem in change.notified.iter().flat_map(|n| n.problems()) {
            eprintln!("patchctl: {problem}");
        }
        anyhow::Ok(ExitCode::SUCCESS)
    };
    match args.command {
        Command::Request { plan, ticket, who } => act(plan, ChangeKind::Request, who, ticket).await,
        Command::Approve { plan, who } => act(plan, ChangeKind::Approve, who, None).await,
        Command::Reject { plan, who } => act(plan, ChangeKind::Reject, who, None).await,
        Command::Show { plan, format } => {
            let change = ops::change::show(ctx, &plan).await?;
            match format {
                Format::Text => print_text(&change),
                Format::Json => {
                    println!("{}", show_json(&change.plan.id, &change.status, &change.actions))
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            let candidates = ops::change::list(ctx).await?;
            if candidates.is_empty() {
                eprintln!(
                    "patchctl: no plan with hosts on record: `patchctl plan create` makes one"
                );
            }
            for candidate in candidates {
                let ran = if candidate.rolled_out { ", rolled out" } else { "" };
                println!(
                    "{}  {}  {}  {}{ran}",
                    model::plan::short_id(&candidate.plan_id),
                    candidate.created_at.format("%Y-%m-%d %H:%M"),
                    candidate.environments.join(","),
                    candidate.change.state.as_str(),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `change show`'s change as JSON.
pub(crate) fn show_json(
    plan_id: &str,
    status: &model::change::ChangeStatus,
    actions: &[model::change::ChangeAction],
) -> String {
    ops::protocol::output::pretty_sorted(&ops::change::output(plan_id, status, actions))
}

fn print_text(change: &Change) {
    let status = &change.status;
    println!(
        "change of plan {}: {}",
        model::plan::short_id(&change.plan.id),
        status.state.as_str()
    );
    if let Some(requester) = &status.requested_by {
        let ticket = status.ticket.as_deref().map(|t| format!(", ticket {t}")).unwrap_or_default();
        println!("  requested by {requester}{ticket}");
    }
    for environment in &status.environments {
        let by = if environment.approved_by.is_empty() {
            String::new()
        } else {
            format!("; approved by {}", environment.approved_by.join(", "))
        };
        println!("  {}: {}{by}", environment.environment, environment.rule);
        for missing in &environment.missing {
            println!("    missing: {missing}");
        }
    }
    if !change.actions.is_empty() {
        println!("  journal:");
    }
    for action in &change.actions {
        let comment = action.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default();
        println!(
            "    {} {} {}{comment}",
            action.at.format("%Y-%m-%dT%H:%M:%SZ"),
            action.actor,
            action.kind.as_str()
        );
    }
    if status.state == ChangeState::Approved {
        println!("  may run: `patchctl rollout start {}`", model::plan::short_id(&change.plan.id));
    }
}
