//! `patchctl change request|approve|reject|show|list`: change approval of a plan's hash, by
//! the rules of the policy's environments.

use std::process::ExitCode;

use anyhow::Context;
use model::change::{ChangeKind, ChangeState};
use ops::change::Act;
use ops::protocol::output::change::{ChangeListingV1, ChangeShowV1};

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

/// The same, against a server: the actor is the login, and `--as` is refused.
pub async fn remote(args: Args, client: &crate::remote::Client) -> anyhow::Result<ExitCode> {
    use ops::protocol::api::{ChangeDecisionV1, ChangeRequestV1};
    let (plan, act, who, ticket) = match args.command {
        Command::Request { plan, ticket, who } => (plan, "request", who, ticket),
        Command::Approve { plan, who } => (plan, "approve", who, None),
        Command::Reject { plan, who } => (plan, "reject", who, None),
        Command::Show { plan, format } => {
            let change: ChangeShowV1 =
                client.get(&format!("/api/changes/{}", encode(&plan))).await?;
            match format {
                Format::Json => println!("{}", ops::protocol::output::pretty_sorted(&change)),
                Format::Text => print_text(&change),
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::List => {
            let listed: Vec<ChangeListingV1> = client.get_all("/api/changes").await?;
            print_list(&listed);
            return Ok(ExitCode::SUCCESS);
        }
    };
    crate::remote::refuse_as(&who.actor)?;
    let path = format!("/api/changes/{}/{act}", encode(&plan));
    let change: ChangeShowV1 = if act == "request" {
        client.post(&path, &ChangeRequestV1 { ticket, comment: who.comment }).await?
    } else {
        client.post(&path, &ChangeDecisionV1 { comment: who.comment }).await?
    };
    print_text(&change);
    Ok(ExitCode::SUCCESS)
}

/// A plan id or prefix as one segment of a URL path (`sha256:…` keeps its colon, which a
/// path segment may hold).
fn encode(plan: &str) -> String {
    plan.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ':').collect()
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let act = async |plan: String, kind: ChangeKind, who: Who, ticket: Option<String>| {
        let actor = match who.actor {
            Some(actor) => actor,
            None => std::env::var("USER").context("--as USER is needed: $USER is not set")?,
        };
        let act = Act { kind, actor, ticket, comment: who.comment };
        let change = ops::change::record(ctx, &plan, act).await?;
        print_text(&change.output());
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
                Format::Text => print_text(&change.output()),
                Format::Json => {
                    println!("{}", show_json(&change.plan.id, &change.status, &change.actions))
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            let candidates = ops::change::list(ctx).await?;
            print_list(&candidates.iter().map(ops::change::listing_output).collect::<Vec<_>>());
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

/// `change list`: a line per plan with hosts, newest first.
fn print_list(listed: &[ChangeListingV1]) {
    if listed.is_empty() {
        eprintln!("patchctl: no plan with hosts on record: `patchctl plan create` makes one");
    }
    for change in listed {
        let ran = if change.rolled_out { ", rolled out" } else { "" };
        // RFC 3339 in UTC, shown to the minute: `2026-12-07 17:20`.
        let made = change.created_at.get(..16).unwrap_or(&change.created_at).replace('T', " ");
        println!(
            "{}  {made}  {}  {}{ran}",
            model::plan::short_id(&change.plan),
            change.environments.join(","),
            state(&change.state).as_str(),
        );
    }
}

fn state(state: &ops::protocol::output::change::ChangeStateV1) -> ChangeState {
    use ops::protocol::output::change::ChangeStateV1;
    match state {
        ChangeStateV1::NotRequested => ChangeState::NotRequested,
        ChangeStateV1::Pending => ChangeState::Pending,
        ChangeStateV1::Approved => ChangeState::Approved,
        ChangeStateV1::Rejected => ChangeState::Rejected,
    }
}

fn print_text(change: &ChangeShowV1) {
    use ops::protocol::output::change::ChangeKindV1;
    let status = &change.status;
    let state = state(&status.state);
    println!("change of plan {}: {}", model::plan::short_id(&change.plan), state.as_str());
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
    if !change.journal.is_empty() {
        println!("  journal:");
    }
    for action in &change.journal {
        let comment = action.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default();
        let kind = match action.kind {
            ChangeKindV1::Request => ChangeKind::Request,
            ChangeKindV1::Approve => ChangeKind::Approve,
            ChangeKindV1::Reject => ChangeKind::Reject,
            ChangeKindV1::AutoApprove => ChangeKind::AutoApprove,
        };
        println!("    {} {} {}{comment}", action.at, action.actor, kind.as_str());
    }
    if state == ChangeState::Approved {
        println!("  may run: `patchctl rollout start {}`", model::plan::short_id(&change.plan));
    }
}
