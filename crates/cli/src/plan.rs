//! `patchctl plan create|show`: the action plan, from the latest assessments.

use std::process::ExitCode;

use anyhow::Context;
use model::plan::{Limit, Plan, PlanOptions, RebootPolicy, RestartServices, Scope};
use model::policy::Policy;
use ops::protocol::output::plan::PlanListingV1;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

impl Args {
    /// Whether it writes to the state (`--now` then needs a rehearsal copy).
    pub fn writes(&self) -> bool {
        matches!(self.command, Command::Create(_))
    }
}

#[derive(clap::Subcommand)]
enum Command {
    /// Plan the pending updates of the selected hosts: pinned versions, waves, rollback.
    Create(CreateArgs),
    /// Show a plan as a change board reads it.
    Show(ShowArgs),
    /// Saved plans, newest first, with where each stands: draft, approved, rejected, run.
    List(ListArgs),
}

#[derive(clap::Args)]
struct ListArgs {
    /// Only plans in this state. (`--status`, not `--state`: that one names the state
    /// database, for every command.)
    #[arg(long, value_enum)]
    status: Option<ListState>,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ListState {
    Draft,
    Approved,
    Rejected,
    Run,
}

impl ListState {
    /// As `ops::PlanState::as_str` and the server's `?status=` say it.
    fn name(self) -> &'static str {
        match self {
            ListState::Draft => "draft",
            ListState::Approved => "approved",
            ListState::Rejected => "rejected",
            ListState::Run => "run",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

#[derive(clap::Args)]
struct CreateArgs {
    /// `all`, a host, a group, `env:NAME` or `tag:NAME`.
    #[arg(required = true)]
    selectors: Vec<String>,
    #[arg(long, conflicts_with_all = ["kernel_only", "packages"])]
    security_only: bool,
    #[arg(long, conflicts_with = "packages")]
    kernel_only: bool,
    /// Only these packages (comma-separated).
    #[arg(long, value_delimiter = ',')]
    packages: Vec<String>,
    /// What the plan is for, in words (repeatable); default: the `goals` of the policy's
    /// environments of the selected hosts. Part of what is approved.
    #[arg(long = "goal", value_name = "TEXT")]
    goals: Vec<String>,
    #[command(flatten)]
    strategy: StrategyArgs,
    #[arg(long, default_value = "md")]
    format: Format,
}

/// How a plan's hosts are patched: shared by `plan create` and `emergency`.
#[derive(clap::Args)]
pub(crate) struct StrategyArgs {
    #[arg(long, default_value = "if-required")]
    reboot: RebootPolicy,
    /// Canary hosts per environment, patched first.
    #[arg(long, default_value_t = 1)]
    canary: usize,
    /// The largest batch: a number of hosts or a percentage of the environment.
    #[arg(long, default_value = "25%")]
    max_unavailable: Limit,
    /// Failed hosts tolerated per wave before the rollout halts.
    #[arg(long, default_value = "0")]
    error_budget: Limit,
    /// Kernels kept on each host after it is patched (the running one always); 0 keeps all.
    #[arg(long, default_value_t = 2)]
    keep_kernels: usize,
    /// Which services running replaced code a host that does not reboot has restarted after
    /// its change: never, listed (those of its checks' units) or needrestart (every one the
    /// host's needrestart or dnf needs-restarting names; sshd only with the policy's
    /// restart_sshd). Default: the policy's restart_services of the host's environment, else
    /// never.
    #[arg(long, value_name = "never|listed|needrestart")]
    restart_services: Option<RestartServices>,
}

impl StrategyArgs {
    /// The plan options for `scope` (the application sets the policy's environment order).
    pub(crate) fn options(&self, scope: Scope) -> PlanOptions {
        let mut options = PlanOptions { scope, reboot: self.reboot, ..PlanOptions::default() };
        options.strategy.canary = self.canary;
        options.strategy.max_unavailable = self.max_unavailable;
        options.strategy.error_budget = self.error_budget;
        options.keep_kernels = self.keep_kernels;
        options.restart_services = self.restart_services;
        options
    }
}

#[derive(clap::Args)]
struct ShowArgs {
    /// The plan's id, or a unique prefix of it (6 hex digits or more).
    plan: String,
    #[arg(long, default_value = "md")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Md,
    Html,
    Json,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Create(args) => create(args, ctx).await,
        Command::Show(args) => show(args, ctx).await,
        Command::List(args) => list(args, ctx).await,
    }
}

async fn list(args: ListArgs, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    // Without a policy nothing approves a plan: every plan not run is a draft.
    let (plans, policy) = ops::plan::list(ctx).await?;
    let wanted = |state: ops::PlanState| args.status.is_none_or(|s| s.name() == state.as_str());
    let plans: Vec<&ops::PlanListing> = plans.iter().filter(|p| wanted(p.state)).collect();
    if args.format == ListFormat::Json {
        println!("{}", list_json(&plans));
        return Ok(ExitCode::SUCCESS);
    }
    let plans: Vec<PlanListingV1> = plans.into_iter().map(PlanListingV1::from).collect();
    print!("{}", list_table(&plans));
    if policy.is_none() {
        println!("(no policy: approvals do not apply, so a plan not run is a draft)");
    }
    Ok(ExitCode::SUCCESS)
}

fn list_table(plans: &[PlanListingV1]) -> String {
    let mut table =
        crate::table::Table::new(["PLAN", "MADE", "STATE", "HOSTS", "CHANGES", "FOR", "ROLLOUT"]);
    for plan in plans {
        let purpose = plan.goals.first().cloned().unwrap_or_else(|| plan.selectors.join(" "));
        table.row([
            model::plan::short_id(&plan.id).to_owned(),
            model::dates::utc(model::dates::from_unix(plan.created_at_unix)),
            plan.state.clone(),
            plan.hosts.to_string(),
            plan.changes.to_string(),
            purpose,
            plan.rollout.as_ref().map(|(id, phase)| format!("{id} ({phase})")).unwrap_or_default(),
        ]);
    }
    table.render()
}

/// `plan list` and `plan show --format json` against a server.
pub async fn remote(args: Args, client: &crate::remote::Client) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::List(args) => {
            let query = args.status.map(|s| format!("?status={}", s.name())).unwrap_or_default();
            let plans: Vec<PlanListingV1> = client.get_all(&format!("/api/plans{query}")).await?;
            match args.format {
                ListFormat::Json => println!("{}", ops::protocol::output::pretty(&plans)),
                ListFormat::Table => print!("{}", list_table(&plans)),
            }
        }
        Command::Show(ShowArgs { plan, format: Format::Json }) => {
            let id: String =
                plan.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ':').collect();
            let shown: ops::protocol::output::plan::PlanShowV1 =
                client.get(&format!("/api/plans/{id}")).await?;
            println!("{}", ops::protocol::output::pretty_sorted(&shown));
        }
        Command::Show(_) => {
            anyhow::bail!("against a server, `plan show` prints --format json (md and html: soon)")
        }
        Command::Create(args) => {
            let Format::Json = args.format else {
                anyhow::bail!(
                    "against a server, `plan create` prints --format json (md and html: soon)"
                )
            };
            let created: ops::protocol::output::plan::PlanShowV1 =
                client.post("/api/plans", &args.request()).await?;
            println!("{}", ops::protocol::output::pretty_sorted(&created));
            if created.plan.hosts.is_empty() {
                eprintln!(
                    "patchctl: nothing to do: no selected host has a pending update in scope"
                );
            } else {
                eprintln!(
                    "patchctl: plan {} saved; start it with `patchctl --server URL rollout start {}`",
                    created.plan.id,
                    short(&created.plan.id)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl CreateArgs {
    /// The body of `POST /api/plans`: the same inputs.
    fn request(&self) -> ops::protocol::api::NewPlanV1 {
        use ops::protocol::api::{NewPlanV1, PlanScopeV1};
        let scope = if self.security_only {
            PlanScopeV1::SecurityOnly
        } else if self.kernel_only {
            PlanScopeV1::KernelOnly
        } else if !self.packages.is_empty() {
            PlanScopeV1::Packages
        } else {
            PlanScopeV1::All
        };
        let strategy = &self.strategy;
        NewPlanV1 {
            selectors: self.selectors.clone(),
            scope: Some(scope),
            packages: self.packages.clone(),
            goals: self.goals.clone(),
            reboot: Some(strategy.reboot.to_string()),
            canary: Some(strategy.canary.try_into().unwrap_or(u32::MAX)),
            max_unavailable: Some(strategy.max_unavailable.to_string()),
            error_budget: Some(strategy.error_budget.to_string()),
            keep_kernels: Some(strategy.keep_kernels.try_into().unwrap_or(u32::MAX)),
            restart_services: strategy.restart_services.map(|r| r.to_string()),
        }
    }
}

async fn create(args: CreateArgs, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let scope = if args.security_only {
        Scope::SecurityOnly
    } else if args.kernel_only {
        Scope::KernelOnly
    } else if !args.packages.is_empty() {
        Scope::Packages(args.packages.clone())
    } else {
        Scope::All
    };
    let options = args.strategy.options(scope);
    let (plan, policy) = ops::plan::create(ctx, &args.selectors, options, &args.goals)
        .await
        .context("making the plan")?;
    print_shown(&plan, args.format, policy.as_ref(), ctx).await?;
    if !plan.withheld.is_empty() {
        eprintln!(
            "patchctl: the baselines withhold {} pending updates in scope, listed in the plan \
             with their rules",
            plan.withheld.len()
        );
    }
    if plan.hosts.is_empty() && !plan.withheld.is_empty() {
        eprintln!("patchctl: nothing to do: the baselines withhold every pending update in scope");
    } else if plan.hosts.is_empty() {
        eprintln!("patchctl: nothing to do: no selected host has a pending update in scope");
    } else {
        eprintln!(
            "patchctl: plan {} saved; start it with `patchctl rollout start {}`",
            plan.id,
            short(&plan.id)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(args: ShowArgs, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let plan = ops::plan::show(ctx, &args.plan).await?;
    let policy = ctx.sources.policy()?;
    print_shown(&plan, args.format, policy.as_ref(), ctx).await?;
    Ok(ExitCode::SUCCESS)
}

/// Prints `plan` with its record: the change journal from the state, each host's checks from
/// the inventory (when there is one), at the binary's clock.
async fn print_shown(
    plan: &Plan,
    format: Format,
    policy: Option<&Policy>,
    ctx: &ops::Context,
) -> anyhow::Result<()> {
    let record = ops::plan::record(ctx, plan, policy).await?;
    match format {
        Format::Md => print!("{}", model::plan::document(plan, &record).to_markdown()),
        Format::Html => print!("{}", model::plan::document(plan, &record).to_html()),
        Format::Json => println!("{}", show_json(plan, &record)),
    }
    Ok(())
}

/// `plan show`'s plan as JSON: its stored form and its record.
pub(crate) fn show_json(plan: &Plan, record: &model::plan::PlanRecord) -> String {
    use ops::protocol::output::plan::{PlanRecordV1, PlanShowV1};
    use ops::protocol::plan::PlanV1;
    let document = PlanShowV1 { plan: PlanV1::from(plan), record: PlanRecordV1::from(record) };
    ops::protocol::output::pretty_sorted(&document)
}

/// `plan list`'s plans as JSON.
pub(crate) fn list_json(plans: &[&ops::PlanListing]) -> String {
    use ops::protocol::output::pretty;
    pretty(&plans.iter().map(|p| PlanListingV1::from(*p)).collect::<Vec<_>>())
}

pub(crate) fn short(id: &str) -> &str {
    model::plan::short_id(id)
}
