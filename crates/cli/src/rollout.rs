//! `patchctl rollout start|status|pause|resume|cancel`, `patchctl rollback` and
//! `patchctl report`: running an approved plan on its hosts, and what came of it.

use std::process::ExitCode;
use std::time::Duration;

use ops::protocol::output::rollout::{
    RolloutActionV1, RolloutListingV1, RolloutReportV1, RolloutStatusV1,
};
use ops::rollout::{self as run, Driven, RunOptions, StartRequest};
use ops::rollout::{Input, RollbackPolicy};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

impl Args {
    /// Whether it writes to the state (`--now` then needs a rehearsal copy).
    pub fn writes(&self) -> bool {
        match &self.command {
            Command::List | Command::Status { .. } => false,
            Command::Start(start) => !start.dry_run,
            _ => true,
        }
    }
}

#[derive(clap::Subcommand)]
enum Command {
    /// Run a plan: waves, prechecks, apply, reboot, postchecks, rollback on failure.
    Start(StartArgs),
    /// Rollouts, newest first.
    List,
    /// Where a rollout is, host by host.
    Status { rollout: String },
    /// Start nothing new; running steps finish.
    Pause { rollout: String },
    /// Continue a paused or interrupted rollout from its journal.
    Resume(ResumeArgs),
    /// Stop: hosts not yet changed are skipped, hosts being changed are seen to the end.
    Cancel { rollout: String },
    /// Look again at hosts lost mid-step (or failed with their apply perhaps still running):
    /// wait for what still runs, repair the package manager, then finish each host (at the
    /// plan's versions: postchecks) or roll it back. Never applies a second time.
    Reconcile(ReconcileArgs),
}

#[derive(clap::Args)]
struct ReconcileArgs {
    rollout: String,
    /// The host (repeat for several; by default every lost host).
    #[arg(long)]
    host: Vec<String>,
    /// Do not run the package manager's repair (`dpkg --configure -a`, `dnf remove
    /// --duplicates`): a host that needs it is then rolled back or failed.
    #[arg(long)]
    no_repair: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
struct StartArgs {
    /// The plan's id or a unique prefix.
    plan: String,
    /// Ask every host what the rollout would meet, changing nothing: the prechecks that only
    /// read, and the package manager's simulation of the apply (`apt-get --simulate`, `dnf
    /// --assumeno`). Exit code 3 when a host would fail or does not answer.
    #[arg(long)]
    dry_run: bool,
    /// How --dry-run reports.
    #[arg(long, default_value = "table", requires = "dry_run")]
    format: crate::dry_run::Format,
    /// Run a plan that has a rollout already (a plan runs once by default). Its hosts must
    /// still be free of unfinished rollouts. Needs --reason; journaled with who ran it.
    #[arg(long, requires = "reason")]
    again: bool,
    /// Start outside the plan's environments' maintenance windows, or in a blackout. Needs
    /// --reason; journaled with who ran it.
    #[arg(long, requires = "reason")]
    override_window: bool,
    /// Why --again or --override-window: kept in the rollout's journal and report.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
struct ResumeArgs {
    rollout: String,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Clone)]
pub(crate) struct RunArgs {
    /// Minutes of warning a reboot gives (`shutdown -r +N`).
    #[arg(long, default_value_t = 5)]
    reboot_delay: u32,
    /// Hosts worked on at once, across the rollout.
    #[arg(long, default_value_t = 50)]
    max_in_flight: usize,
    /// Roll a host back by itself when its postchecks fail.
    #[arg(long, default_value = "automatic")]
    rollback: Rollback,
    /// Seconds a host may not answer before it is given up on.
    #[arg(long, default_value_t = 120)]
    unreachable_grace: u64,
    /// Seconds a host has to come back from a reboot.
    #[arg(long, default_value_t = 900)]
    reboot_timeout: u64,
    /// Longest wait, in milliseconds, between looks at a rebooting host (sooner at first: a
    /// hundredth of the time it has been down, from 10 ms), between tries to reach a host that
    /// stopped answering (100 ms, then twice as long each time) and between looks at a lock held
    /// by someone else. A running apply is watched on the host itself.
    #[arg(long, default_value_t = 250)]
    poll_interval_ms: u64,
    /// Seconds an apply waits for the package manager's lock held by someone else.
    #[arg(long, default_value_t = 120)]
    lock_timeout: u32,
    /// The next wave's hosts are prechecked while the current wave runs; a precheck older than
    /// this many seconds when its wave opens is run again. 0: each wave's prechecks wait for it.
    #[arg(long, default_value_t = run::PRECHECK_MAX_AGE / 1000)]
    precheck_ahead: u64,
    /// Do not fetch a host's packages during its precheck (by default they are, into the
    /// package manager's cache, so that the apply does not wait for the download).
    #[arg(long)]
    no_download_ahead: bool,
    /// Seconds this process's lease on the rollout lasts (renewed every third of it): a
    /// patchctl killed while driving holds the rollout this long at most, and one that stalls
    /// longer loses it to whoever resumes the rollout.
    #[arg(long, default_value_t = run::DEFAULT_LEASE_SECONDS, value_parser = clap::value_parser!(u32).range(3..=3600))]
    lease_seconds: u32,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Rollback {
    Automatic,
    Manual,
}

#[derive(clap::Args)]
pub struct RollbackArgs {
    rollout: String,
    /// Only this host (by default every host that was patched).
    #[arg(long)]
    host: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    rollout: String,
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
        Command::Start(args) => start(args, ctx).await,
        Command::List => list(ctx).await,
        Command::Status { rollout } => status(&rollout, ctx).await,
        Command::Pause { rollout } => request(&rollout, Input::Pause, ctx).await,
        Command::Cancel { rollout } => request(&rollout, Input::Cancel, ctx).await,
        Command::Resume(args) => {
            let driven = run::drive_here(ctx, &args.rollout, &args.run.options(), ctrl_c()).await?;
            Ok(said(&driven))
        }
        Command::Reconcile(args) => {
            let mut options = args.run.options();
            options.repair = !args.no_repair;
            let driven = run::reconcile(ctx, &args.rollout, &args.host, &options, ctrl_c()).await?;
            Ok(said(&driven))
        }
    }
}

async fn start(args: StartArgs, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    if args.reason.is_some() && !args.again && !args.override_window {
        anyhow::bail!("--reason is the reason for --again or --override-window; neither was given");
    }
    let request = StartRequest {
        plan: args.plan,
        again: args.again.then(|| args.reason.clone().unwrap_or_default()),
        override_window: args.override_window.then(|| args.reason.clone().unwrap_or_default()),
        run: args.run.options(),
        actor: None,
    };
    if args.dry_run {
        let (prepared, reports) = run::dry_run_plan(ctx, &request).await?;
        return crate::dry_run::show(&prepared, &reports, args.format);
    }
    let driven = run::start(ctx, &request, ctrl_c()).await?;
    Ok(said(&driven))
}

/// Ctrl-C pauses the rollout driven here: running steps finish, nothing new starts.
async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("patchctl: pausing: running steps finish, nothing new starts");
}

impl RunArgs {
    /// The options of the run, as the application takes them.
    pub(crate) fn options(&self) -> RunOptions {
        RunOptions {
            reboot_delay_minutes: self.reboot_delay,
            max_in_flight: self.max_in_flight.max(1),
            rollback: match self.rollback {
                Rollback::Automatic => RollbackPolicy::Automatic,
                Rollback::Manual => RollbackPolicy::Manual,
            },
            unreachable_grace: Duration::from_secs(self.unreachable_grace),
            reboot_timeout: Duration::from_secs(self.reboot_timeout),
            poll_interval: Duration::from_millis(self.poll_interval_ms.max(50)),
            lock_timeout_seconds: self.lock_timeout,
            precheck_ahead: (self.precheck_ahead > 0)
                .then(|| Duration::from_secs(self.precheck_ahead)),
            download_ahead: !self.no_download_ahead,
            lease_seconds: self.lease_seconds,
            repair: true,
            actor: None,
        }
    }
}

/// Says how a rollout driven here ended, and returns the exit code that says it.
pub(crate) fn said(driven: &Driven) -> ExitCode {
    for line in driven.lines() {
        eprintln!("patchctl: {line}");
    }
    crate::exit::unless(!run::clean(driven))
}

async fn status(rollout: &str, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let loaded = run::status(ctx, rollout).await?;
    print_status(&run::status_output(&loaded));
    Ok(ExitCode::SUCCESS)
}

fn print_status(status: &RolloutStatusV1) {
    println!(
        "rollout {} of plan {}: {}",
        status.rollout,
        model::plan::short_id(&status.plan),
        status.phase
    );
    for host in &status.hosts {
        println!("  {}: {}", host.host, run::HostState::from(host.state.clone()));
    }
}

async fn list(ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let rows = run::list(ctx).await?;
    print_list(&rows.iter().map(run::listing_output).collect::<Vec<_>>());
    Ok(ExitCode::SUCCESS)
}

fn print_list(rollouts: &[RolloutListingV1]) {
    for row in rollouts {
        println!(
            "{}  plan {}  {}  {}",
            row.id,
            model::plan::short_id(&row.plan),
            row.phase,
            row.driven_by.as_ref().map(|o| format!("driven by {o}")).unwrap_or_default()
        );
    }
}

/// `rollout list|status|pause|resume|cancel` against a server, which drives what is resumed.
pub async fn remote(args: Args, client: &crate::remote::Client) -> anyhow::Result<ExitCode> {
    let act = async |rollout: &str, what: &str| {
        let path = format!("/api/rollouts/{}/{what}", segment(rollout));
        let done: RolloutActionV1 = client.post(&path, &()).await?;
        eprintln!("patchctl: {}", done.said);
        anyhow::Ok(ExitCode::SUCCESS)
    };
    match args.command {
        Command::List => {
            print_list(&client.get_all::<RolloutListingV1>("/api/rollouts").await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { rollout } => {
            print_status(&client.get(&format!("/api/rollouts/{}", segment(&rollout))).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Pause { rollout } => act(&rollout, "pause").await,
        Command::Cancel { rollout } => act(&rollout, "cancel").await,
        Command::Resume(args) => act(&args.rollout, "resume").await,
        Command::Start(args) => {
            if args.dry_run {
                anyhow::bail!(
                    "against a server, `rollout start` starts the rollout; --dry-run runs \
                     without --server, where the hosts are reached"
                );
            }
            if args.reason.is_some() && !args.again && !args.override_window {
                anyhow::bail!(
                    "--reason is the reason for --again or --override-window; neither was given"
                );
            }
            let request = ops::protocol::api::StartRolloutV1 {
                plan: args.plan,
                again: args.again.then(|| args.reason.clone().unwrap_or_default()),
                override_window: args.override_window.then(|| args.reason.unwrap_or_default()),
            };
            let started: RolloutActionV1 = client.post("/api/rollouts", &request).await?;
            eprintln!("patchctl: {}", started.said);
            eprintln!(
                "patchctl: its progress: `patchctl --server URL rollout status {}`",
                started.rollout
            );
            println!("{}", started.rollout);
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile(_) => Err(crate::remote::not_remote("rollout reconcile")),
    }
}

/// `report ROLLOUT --format json` against a server.
pub async fn remote_report(
    args: ReportArgs,
    client: &crate::remote::Client,
) -> anyhow::Result<ExitCode> {
    let Format::Json = args.format else {
        anyhow::bail!("against a server, `report` prints --format json (md and html: soon)");
    };
    let report: RolloutReportV1 =
        client.get(&format!("/api/rollouts/{}/report", segment(&args.rollout))).await?;
    println!("{}", ops::protocol::output::pretty_sorted(&report));
    Ok(ExitCode::SUCCESS)
}

/// A rollout's id (or its plan's) as one segment of a URL path.
fn segment(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ':').collect()
}

async fn request(rollout: &str, input: Input, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    // The journal names the local operator, as every command run here does.
    eprintln!("patchctl: {}", run::ask(ctx, rollout, input, &ctx.actor).await?);
    Ok(ExitCode::SUCCESS)
}

/// `patchctl rollback ROLLOUT [--host HOST]`.
pub async fn rollback(args: RollbackArgs, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let driven =
        run::roll_back(ctx, &args.rollout, &args.host, &args.run.options(), ctrl_c()).await?;
    Ok(said(&driven))
}

/// `patchctl report ROLLOUT`.
pub async fn report(args: ReportArgs, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        Format::Md => run::ReportFormat::Markdown,
        Format::Html => run::ReportFormat::Html,
        Format::Json => run::ReportFormat::Json,
    };
    print!("{}", run::report_text(ctx, &args.rollout, format).await?);
    Ok(ExitCode::SUCCESS)
}
