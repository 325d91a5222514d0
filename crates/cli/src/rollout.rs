//! `patchctl rollout start|status|pause|resume|cancel`, `patchctl rollback` and
//! `patchctl report`: running an approved plan on its hosts, and what came of it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ops::rollout::{self as run, DriveConfig, DriveOutcome, SshSteps, StepsConfig};
use rollout::{Config, Event, Input, Phase, RollbackPolicy, Rollout};

use crate::config::{Paths, runtime};

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
    #[arg(long, default_value_t = rollout::PRECHECK_MAX_AGE / 1000)]
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
    /// Set by `rollout reconcile --no-repair`.
    #[arg(skip)]
    no_repair: bool,
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

pub fn run(args: Args, paths: &Paths) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Start(args) => start(args, paths),
        Command::List => list(paths),
        Command::Status { rollout } => status(&rollout, paths),
        Command::Pause { rollout } => request(&rollout, Input::Pause, paths),
        Command::Cancel { rollout } => request(&rollout, Input::Cancel, paths),
        Command::Resume(args) => drive(&args.rollout, &args.run, paths),
        Command::Reconcile(args) => reconcile(args, paths),
    }
}

fn start(args: StartArgs, paths: &Paths) -> anyhow::Result<ExitCode> {
    let inventory = paths.inventory()?;
    let rt = runtime()?;
    let plan = rt.block_on(async {
        let store = paths.store().await?;
        let plan = ops::load_plan(&store, &args.plan).await?;
        store.close().await;
        anyhow::Ok(plan)
    })?;
    let plan = plan.with_context(|| format!("no plan matches `{}`", args.plan))?;
    if plan.hosts.is_empty() {
        anyhow::bail!("plan {} has no host to patch", plan.id);
    }
    let hosts = ops::scheduler::plan_hosts(&inventory, &plan);
    // Why a real start would be refused: a dry run says it and asks the hosts all the same.
    let mut refusals = Vec::new();
    let mut config = run::rollout_config(&plan, &hosts)
        .map_err(|reason| anyhow::anyhow!("{reason} ({})", paths.config.display()))?;
    apply_run_args(&mut config, &args.run);
    if args.reason.is_some() && !args.again && !args.override_window {
        anyhow::bail!("--reason is the reason for --again or --override-window; neither was given");
    }
    let mut start = run::StartRecord {
        actor: crate::config::operator(),
        again: args.again.then(|| args.reason.clone().unwrap_or_default()),
        ..run::StartRecord::default()
    };
    match paths.policy_or_none()? {
        Some(policy) => {
            // The change approval the policy asks for each environment of the plan.
            let approved = rt.block_on(async {
                let store = paths.store().await?;
                let approved = ops::change::require_approved(&store, &policy, &plan).await;
                store.close().await;
                anyhow::Ok(approved)
            })?;
            match approved {
                Err(refused) if args.dry_run => refusals.push(format!("{refused:#}")),
                approved => {
                    approved?;
                }
            }
            // The windows, as the scheduler keeps them: an emergency plan runs out of them by
            // design (its mark is in its hash), anything else needs them or an override.
            if plan.emergency.is_none() {
                let environments = plan_environments(&policy, &plan)?;
                match model::scheduling::manual_start(&environments, paths.now()) {
                    Ok(cutoff) if !args.override_window => {
                        config.start_no_host_after =
                            cutoff.map(|c| c.timestamp_millis().max(0) as u64);
                    }
                    Ok(_) => {}
                    Err(_) if args.override_window => {}
                    Err(outside) => {
                        let why: Vec<String> = outside
                            .iter()
                            .map(|o| format!("{}: {}", o.environment, o.why))
                            .collect();
                        if args.dry_run {
                            refusals.push(format!(
                                "outside the plan's maintenance windows ({})",
                                why.join("; ")
                            ));
                        } else {
                            anyhow::bail!(
                                "plan {} may not start now, outside its maintenance windows ({}); \
                             `--override-window --reason \"...\"` starts it anyway, on record",
                                model::plan::short_id(&plan.id),
                                why.join("; ")
                            );
                        }
                    }
                }
            }
            if args.override_window {
                start.override_window = args.reason.clone();
            }
        }
        None => {
            eprintln!(
                "patchctl: WARNING: no policy (--no-policy): no change approval, maintenance window or promotion gate applies to this rollout"
            );
            start.no_policy = true;
        }
    }
    if let Some(at) = paths.now.filter(|_| !args.dry_run) {
        eprintln!(
            "patchctl: WARNING: rollout started at the virtual time {at} (--now); the journal keeps both times"
        );
        start.virtual_now = Some(at.to_rfc3339());
    }
    if args.dry_run {
        // A plan runs once (`create_rollout` refuses it again without --again).
        let rows = rt.block_on(async {
            let store = paths.store().await?;
            let rows = store.rollouts().await;
            store.close().await;
            anyhow::Ok(rows?)
        })?;
        if let Some(earlier) = rows.iter().find(|r| r.plan_id == plan.id).filter(|_| !args.again) {
            refusals.push(format!(
                "plan {} has run already (rollout {}, {}); `--again --reason \"...\"` runs it again",
                model::plan::short_id(&plan.id),
                earlier.id,
                earlier.phase
            ));
        }
        drop(rt);
        let dry = args.run.dry_run_config();
        return crate::dry_run::run(&plan, &config, hosts, &dry, args.format, refusals, paths);
    }
    let id = run::new_rollout_id();
    rt.block_on(async {
        let store = paths.store().await?;
        run::create_rollout(&store, &plan, &config, &id, crate::clock::now_unix(), &start).await?;
        store.close().await;
        anyhow::Ok(())
    })?;
    eprintln!("patchctl: rollout {id} of plan {}", model::plan::short_id(&plan.id));
    drop(rt);
    drive(&id, &args.run, paths)
}

/// The policy's environments of the plan's hosts; one the policy does not name is an error.
fn plan_environments<'p>(
    policy: &'p model::policy::Policy,
    plan: &model::plan::Plan,
) -> anyhow::Result<Vec<&'p model::policy::Environment>> {
    let mut names: Vec<&str> = plan.hosts.iter().map(|h| h.environment.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            policy.environment(name).with_context(|| {
                format!("environment {name} of the plan is not in the policy, which has no window for it")
            })
        })
        .collect()
}

impl RunArgs {
    /// What a dry run takes of the run's options: hosts at once, and how long one may not
    /// answer.
    fn dry_run_config(&self) -> ops::rollout::DryRunConfig {
        ops::rollout::DryRunConfig {
            max_in_flight: self.max_in_flight.max(1),
            apply: pkgmgr::apply::ApplyOptions::default(),
            connect: ops::ConnectConfig::default(),
            unreachable_grace: Duration::from_secs(self.unreachable_grace),
            poll_interval: Duration::from_millis(self.poll_interval_ms.max(50)),
        }
    }
}

pub(crate) fn apply_run_args(config: &mut Config, args: &RunArgs) {
    config.max_in_flight = args.max_in_flight.max(1);
    config.rollback = match args.rollback {
        Rollback::Automatic => RollbackPolicy::Automatic,
        Rollback::Manual => RollbackPolicy::Manual,
    };
    config.timeouts.reboot = args.reboot_timeout * 1000 + u64::from(args.reboot_delay) * 60_000;
    config.precheck_ahead = (args.precheck_ahead > 0).then(|| args.precheck_ahead * 1000);
}

/// Drives a rollout in this process until it ends or is paused (Ctrl-C pauses it).
pub(crate) fn drive(rollout: &str, args: &RunArgs, paths: &Paths) -> anyhow::Result<ExitCode> {
    let inventory = paths.inventory()?;
    let outcome = paths.with_store(async |store| {
        let loaded = run::load(store, rollout).await?;
        let hosts =
            loaded.plan.hosts.iter().filter_map(|h| inventory.host(&h.host).cloned()).collect();
        let steps_config = StepsConfig {
            rollout_id: loaded.row.id.clone(),
            apply: pkgmgr::apply::ApplyOptions {
                lock_timeout_seconds: args.lock_timeout,
                ..pkgmgr::apply::ApplyOptions::default()
            },
            reboot_delay_minutes: args.reboot_delay,
            reboot_message: "patchctl: rebooting to finish patching".to_owned(),
            reboot_contact: crate::config::operator(),
            unreachable_grace: Duration::from_secs(args.unreachable_grace),
            poll_interval: Duration::from_millis(args.poll_interval_ms.max(50)),
            connect: ops::ConnectConfig::default(),
            download_ahead: !args.no_download_ahead,
            repair: !args.no_repair,
        };
        let waves = loaded
            .plan
            .waves
            .iter()
            .flat_map(|wave| wave.hosts.iter().map(|host| (host.clone(), wave.name.clone())))
            .collect();
        let progress = crate::rollout_progress::RolloutProgress::new(waves);
        let sink = progress.clone();
        let steps = Arc::new(
            SshSteps::new(steps_config, loaded.plan.clone(), hosts, store.clone())
                .with_wait_sink(Arc::new(move |host, waiting| sink.waiting(host, waiting))),
        );
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("patchctl: pausing: running steps finish, nothing new starts");
        };
        let drive_config = DriveConfig {
            clock_offset_ms: crate::clock::offset_ms(),
            lease_seconds: args.lease_seconds,
            wait_for_lease: true,
            ..DriveConfig::default()
        };
        // Start, halt, reboot warnings and the summary told as they happen (see
        // `ops::rollout::Lifecycle`); a failed delivery is printed, never stops the rollout.
        let settings = paths.policy().ok().flatten().map(|p| p.notifications().clone());
        let lifecycle = run::Lifecycle::start(
            store.clone(),
            settings.unwrap_or_default(),
            &loaded.row.id,
            loaded.plan.clone(),
            args.reboot_delay,
            crate::clock::offset_ms(),
        );
        let on_event = |event: &Event, machine: &Rollout| {
            progress.event(event, machine);
            lifecycle.on_event(event, machine);
        };
        let outcome =
            run::drive(store, &loaded.row.id, steps, &drive_config, stop, &on_event).await;
        progress.finish();
        for problem in lifecycle.finish().await {
            eprintln!("patchctl: {problem}");
        }
        let outcome = outcome?;
        let after = run::load(store, &loaded.row.id).await?;
        let n_failed = after.machine.hosts().filter(|(_, s)| s.is_failure()).count();
        let n_cut = after
            .machine
            .hosts()
            .filter(|(_, s)| {
                matches!(s, rollout::HostState::Skipped { reason } if reason.starts_with(rollout::CUTOFF_REASON))
            })
            .count();
        if n_cut > 0 {
            eprintln!(
                "patchctl: {n_cut} hosts were not started before the window's cutoff; they wait for the next window"
            );
        }
        let lost: Vec<&str> = after
            .machine
            .hosts()
            .filter(|(_, s)| matches!(s, rollout::HostState::Lost { .. }))
            .map(|(h, _)| h)
            .collect();
        if !lost.is_empty() {
            eprintln!(
                "patchctl: lost mid-step: {}; once they answer, `patchctl rollout reconcile {}` repairs each and finishes it or rolls it back",
                lost.join(", "),
                loaded.row.id
            );
        }
        if let DriveOutcome::Finished(_) = outcome {
            reassess(store, &after, &inventory, paths).await;
            conclude(store, &loaded.row.id, paths).await;
            anchor(store, &loaded.row.id, &inventory, paths).await;
        }
        anyhow::Ok((loaded.row.id, outcome, n_failed))
    })?;
    let (id, outcome, n_failed) = outcome;
    match outcome {
        DriveOutcome::Finished(Phase::Completed) if n_failed > 0 => {
            eprintln!(
                "patchctl: rollout {id} completed within its error budget, but {n_failed} hosts failed; `patchctl report {id}`"
            );
            Ok(crate::exit::code(crate::exit::SOME_HOSTS))
        }
        DriveOutcome::Finished(Phase::Completed) => {
            eprintln!("patchctl: rollout {id} completed; `patchctl report {id}` for the record");
            Ok(ExitCode::SUCCESS)
        }
        DriveOutcome::Finished(phase) => {
            eprintln!(
                "patchctl: rollout {id} {}; `patchctl report {id}` says why",
                run::phase_name(phase)
            );
            Ok(crate::exit::code(crate::exit::SOME_HOSTS))
        }
        DriveOutcome::Paused => {
            eprintln!("patchctl: rollout {id} paused; `patchctl rollout resume {id}` continues it");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// After a rollout ends, every host it may have changed (all but those skipped, and those
/// lost, which do not answer) is assessed again, so that compliance and the next plan see it
/// as it is now. What goes wrong is printed; it never changes how the rollout ended.
async fn reassess(
    store: &store::Store,
    after: &run::Loaded,
    inventory: &model::Inventory,
    paths: &Paths,
) {
    let hosts: Vec<model::ResolvedHost> = after
        .machine
        .hosts()
        .filter(|(_, state)| {
            !matches!(
                state,
                rollout::HostState::Skipped { .. }
                    | rollout::HostState::Pending
                    | rollout::HostState::Lost { .. }
            )
        })
        .filter_map(|(host, _)| inventory.host(host).cloned())
        .collect();
    if hosts.is_empty() {
        return;
    }
    let config = ops::FleetAssessConfig {
        taken_at_unix: paths.virtual_clock().then(|| paths.now().timestamp()),
        actor: std::env::var("USER").unwrap_or_else(|_| "patchctl".into()),
        ..ops::FleetAssessConfig::default()
    };
    match ops::assess_hosts(&hosts, store, &config, &|_, _, _| {}).await {
        Ok(outcomes) => {
            for outcome in outcomes {
                if let ops::HostOutcome::Failed(failure) = outcome {
                    eprintln!(
                        "patchctl: {} could not be assessed again after the rollout: {} ({})",
                        failure.host, failure.message, failure.kind
                    );
                }
            }
            eprintln!("patchctl: {} hosts assessed again after the rollout", hosts.len());
        }
        Err(error) => eprintln!("patchctl: the hosts were not assessed again: {error}"),
    }
}

/// After a rollout ends: its postmortem when hosts failed or were rolled back, and the owners
/// told. What goes wrong here is reported; it never changes how the rollout ended.
async fn conclude(store: &store::Store, id: &str, paths: &Paths) {
    let policy = match paths.policy() {
        Ok(policy) => policy,
        Err(error) => {
            eprintln!("patchctl: no notification, no postmortem: {error:#}");
            return;
        }
    };
    let config = run::ConcludeConfig {
        notifications: policy.as_ref().map(|p| p.notifications()),
        postmortem_due: policy
            .as_ref()
            .map_or(model::postmortem::DEFAULT_DUE_AFTER, |p| p.compliance().postmortem_due),
    };
    match run::conclude(store, id, &config, paths.now()).await {
        Ok(conclusion) => {
            if let Some(p) = &conclusion.postmortem {
                eprintln!(
                    "patchctl: postmortem {} opened for rollout {id}, due at {}: `patchctl postmortem show {}`",
                    p.id, p.due_at, p.id
                );
            }
            for problem in conclusion.notified.iter().flat_map(|n| n.problems()) {
                eprintln!("patchctl: {problem}");
            }
        }
        Err(error) => eprintln!("patchctl: after rollout {id}: {error}"),
    }
}

/// At a rollout's end, its journal's head goes to the anchor file: a later rewrite of the
/// database is found against it. A failure is reported; it changes nothing of the rollout.
async fn anchor(store: &store::Store, id: &str, inventory: &model::Inventory, paths: &Paths) {
    let file = paths.anchor_file(Some(inventory));
    let syslog = inventory.audit().syslog;
    match ops::audit::anchor_rollout(store, id, &file, syslog, crate::clock::real_now_unix()).await
    {
        Ok(report) if report.is_intact() => {}
        Ok(report) => {
            for chain in report.chains.iter().filter(|c| c.problem.is_some()) {
                eprintln!(
                    "patchctl: the journal of {} is not intact: {}",
                    chain.chain,
                    chain.problem.as_deref().unwrap_or_default()
                );
            }
        }
        Err(error) => eprintln!("patchctl: exporting the head of rollout {id}'s journal: {error}"),
    }
}

fn status(rollout: &str, paths: &Paths) -> anyhow::Result<ExitCode> {
    let loaded = paths.with_store(async |store| {
        let loaded = run::load(store, rollout).await?;
        anyhow::Ok(loaded)
    })?;
    println!(
        "rollout {} of plan {}: {}",
        loaded.row.id,
        model::plan::short_id(&loaded.plan.id),
        run::phase_name(loaded.machine.phase())
    );
    for (host, state) in loaded.machine.hosts() {
        println!("  {host}: {state}");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(paths: &Paths) -> anyhow::Result<ExitCode> {
    let rows = paths.with_store(async |store| {
        let rows = store.rollouts().await?;
        anyhow::Ok(rows)
    })?;
    for row in rows {
        println!(
            "{}  plan {}  {}  {}",
            row.id,
            model::plan::short_id(&row.plan_id),
            row.phase,
            row.owner.map(|o| format!("driven by {o}")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn request(rollout: &str, input: Input, paths: &Paths) -> anyhow::Result<ExitCode> {
    let message = paths.with_store(async |store| {
        let message = run::request(store, rollout, input, &run::process_owner()).await?;
        anyhow::Ok(message)
    })?;
    eprintln!("patchctl: {message}");
    Ok(ExitCode::SUCCESS)
}

/// `patchctl rollback ROLLOUT [--host HOST]`.
pub fn rollback(args: RollbackArgs, paths: &Paths) -> anyhow::Result<ExitCode> {
    let done_or_failed = |s: &rollout::HostState| {
        matches!(s, rollout::HostState::Done | rollout::HostState::Failed { .. })
    };
    let id = ask_each(&args.rollout, &args.host, done_or_failed, "to roll back", paths, |host| {
        Input::RollBack { host }
    })?;
    drive(&id, &args.run, paths)
}

/// `patchctl rollout reconcile ROLLOUT [--host HOST]`.
fn reconcile(mut args: ReconcileArgs, paths: &Paths) -> anyhow::Result<ExitCode> {
    let lost = |s: &rollout::HostState| matches!(s, rollout::HostState::Lost { .. });
    let id = ask_each(&args.rollout, &args.host, lost, "lost to reconcile", paths, |host| {
        Input::Reconcile { host }
    })?;
    args.run.no_repair = args.no_repair;
    drive(&id, &args.run, paths)
}

/// Asks for `input` of each host named (or, when none is, of each host in the state `picked`
/// picks) and returns the rollout's id; no host at all is an error that says `what`.
fn ask_each(
    rollout: &str,
    named: &[String],
    picked: impl Fn(&rollout::HostState) -> bool,
    what: &str,
    paths: &Paths,
    input: impl Fn(String) -> Input,
) -> anyhow::Result<String> {
    let loaded = paths.with_store(async |store| {
        let loaded = run::load(store, rollout).await?;
        anyhow::Ok(loaded)
    })?;
    let hosts: Vec<String> = if named.is_empty() {
        loaded.machine.hosts().filter(|(_, s)| picked(s)).map(|(h, _)| h.to_owned()).collect()
    } else {
        named.to_vec()
    };
    if hosts.is_empty() {
        anyhow::bail!("rollout {} has no host {what}", loaded.row.id);
    }
    for host in hosts {
        request(&loaded.row.id, input(host), paths)?;
    }
    Ok(loaded.row.id)
}

/// `patchctl report ROLLOUT`.
pub fn report(args: ReportArgs, paths: &Paths) -> anyhow::Result<ExitCode> {
    let (loaded, context) = paths.with_store(async |store| {
        let loaded = run::load(store, &args.rollout).await?;
        let context = run::report_context(store, &loaded).await?;
        anyhow::Ok((loaded, context))
    })?;
    let now = paths.now();
    match args.format {
        Format::Md => print!("{}", run::report(&loaded, &context, now).to_markdown()),
        Format::Html => print!("{}", run::report(&loaded, &context, now).to_html()),
        Format::Json => {
            let hosts: Vec<_> = loaded.machine.hosts().map(|(h, s)| serde_json::json!({"host": h, "state": s, "steps": loaded.machine.host_steps(h)})).collect();
            let outputs: Vec<_> = loaded
                .outputs
                .iter()
                .map(|(h, o)| serde_json::json!({"host": h, "output": ops::protocol::journal::OutputV1::from(o)}))
                .collect();
            let json = serde_json::json!({
                "rollout": loaded.row.id,
                "plan": loaded.plan.id,
                "phase": run::phase_name(loaded.machine.phase()),
                "summary": run::report_summary(&loaded, &context, now),
                "hosts": hosts,
                "outputs": outputs,
                "journal": match &loaded.journal_check {
                    store::JournalCheck::Intact { n_entries, .. } => serde_json::json!({"intact": true, "entries": n_entries}),
                    store::JournalCheck::Broken { seq, reason } => serde_json::json!({"intact": false, "seq": seq, "reason": format!("{reason:?}")}),
                },
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
