//! `patchctl schedule` (what runs next, where, when and why) and `patchctl scheduler` (starts
//! approved rollouts in their windows, and `auto` environments' own plans).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use model::policy::{Policy, Window};
use model::scheduling::Runs;
use ops::scheduler::{Pass, Passed};

use crate::config::{Paths, runtime};
use crate::rollout::{RunArgs, apply_run_args, drive};

#[derive(clap::Args)]
pub struct ScheduleArgs {}

#[derive(clap::Args)]
pub struct SchedulerArgs {
    /// Look once at every environment, drive what started to its end, and exit.
    #[arg(long)]
    once: bool,
    /// Seconds between looks when nothing opens sooner (new approvals are seen then).
    #[arg(long, default_value_t = 30)]
    poll_seconds: u64,
    #[command(flatten)]
    run: RunArgs,
}

fn policy(paths: &Paths) -> anyhow::Result<Policy> {
    paths.policy()?.context(
        "the schedule comes from the policy's environments, and there is no policy.toml beside \
         the inventory (or --policy)",
    )
}

/// `patchctl schedule`.
pub fn schedule(_args: ScheduleArgs, paths: &Paths) -> anyhow::Result<ExitCode> {
    let policy = policy(paths)?;
    let now = crate::clock::now();
    let outlooks = paths.with_store(async |store| {
        let outlooks = ops::scheduler::outlooks(store, &policy, now).await;
        anyhow::Ok(outlooks?)
    })?;
    println!("at {}", now.format("%Y-%m-%d %H:%M:%S UTC"));
    for (environment, outlook) in policy.environments().iter().zip(outlooks) {
        let zone = environment.schedule.timezone();
        println!(
            "{} ({:?} in {}, window {}, cutoff {})",
            environment.name,
            environment.schedule.pattern(),
            zone.name(),
            model::policy::format_duration(environment.schedule.duration()),
            model::policy::format_duration(environment.schedule.cutoff()),
        );
        if let Some((window, hosts_may_start)) = outlook.open_now {
            let start = if hosts_may_start { "hosts may start" } else { "past its cutoff" };
            println!("  open now: {} ({start})", describe(&window, zone));
        }
        match outlook.next {
            Some(window) => println!("  next window: {}", describe(&window, zone)),
            None => println!("  next window: none (the schedule never matches again)"),
        }
        for (window, blackout) in &outlook.skipped {
            let why = blackout.reason.as_deref().unwrap_or("no reason given");
            println!(
                "  skipped: {} (blackout {} to {}: {why})",
                local(window.start, zone),
                blackout.from,
                blackout.to
            );
        }
        match outlook.runs {
            Ok(Runs::Plan(plan)) => {
                println!("  runs: plan {} (approved)", model::plan::short_id(&plan))
            }
            Ok(Runs::AssessAndPlan) => println!(
                "  runs: approval = \"auto\": the scheduler assesses the hosts, plans what baseline {:?} approves, and starts it",
                environment.baseline.name
            ),
            Err(idle) => println!("  runs: nothing: {}", idle.describe()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn local(instant: DateTime<Utc>, zone: Tz) -> String {
    format!(
        "{} ({})",
        instant.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z"),
        instant.format("%H:%M UTC")
    )
}

fn describe(window: &Window, zone: Tz) -> String {
    format!(
        "{}, no host starts after {}, ends {}",
        local(window.start, zone),
        window.cutoff.with_timezone(&zone).format("%H:%M %Z"),
        window.end.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z")
    )
}

/// A rollout being driven by a thread of the scheduler.
type Driver = (String, std::thread::JoinHandle<anyhow::Result<ExitCode>>);

/// `patchctl scheduler`.
pub fn scheduler(args: SchedulerArgs, paths: &Paths) -> anyhow::Result<ExitCode> {
    let policy = policy(paths)?;
    let inventory = paths.inventory()?;
    let owner = ops::rollout::DriveConfig::default().owner;
    let adjust = |config: &mut rollout::Config| apply_run_args(config, &args.run);
    let mut drivers: Vec<Driver> = Vec::new();
    let spawn = |drivers: &mut Vec<Driver>, rollout: String| {
        let (paths, run) = (paths.clone(), args.run.clone());
        let id = rollout.clone();
        // One thread per rollout, each with its own runtime and store connection, as
        // `rollout resume` would: environments' windows overlap, rollouts run side by side.
        let handle = std::thread::spawn(move || drive(&id, &run, &paths));
        drivers.push((rollout, handle));
    };
    // Rollouts a previous scheduler started and did not see to the end: continued from their
    // journals, never started again.
    let unfinished = paths.with_store(async |store| {
        let unfinished = ops::scheduler::unfinished_rollouts(store).await;
        anyhow::Ok(unfinished?)
    })?;
    for rollout in unfinished {
        eprintln!("scheduler: continuing rollout {rollout}, started before a restart");
        spawn(&mut drivers, rollout);
    }
    let mut last_said: std::collections::HashMap<String, String> = Default::default();
    loop {
        let now = crate::clock::now();
        let results = runtime()?.block_on(async {
            let store = paths.store().await?;
            let pass = Pass {
                store: &store,
                policy: &policy,
                inventory: &inventory,
                owner: owner.clone(),
                assess: ops::FleetAssessConfig { actor: owner.clone(), ..Default::default() },
                adjust: &adjust,
            };
            let results = ops::scheduler::run_pass(&pass, now).await;
            // Announcements, postmortem reminders, escalations: each sent once.
            let notices =
                ops::notices::send_due_notices(&store, &policy, &inventory, &owner, now).await;
            store.close().await;
            match notices {
                Ok(sent) => {
                    for notice in sent {
                        eprintln!("scheduler: notified: {}", notice.notice.key());
                        for problem in notice.report.problems() {
                            eprintln!("scheduler: {problem}");
                        }
                    }
                }
                // A notification never stops the scheduler.
                Err(error) => eprintln!("scheduler: sending the notices due: {error}"),
            }
            anyhow::Ok(results?)
        })?;
        for result in results {
            let environment = &result.environment;
            match result.what {
                Passed::Started { window, plan_id, rollout_id } => {
                    eprintln!(
                        "scheduler: {environment}: window opened at {}, rollout {rollout_id} of plan {} started; no host starts after {}",
                        window.start,
                        model::plan::short_id(&plan_id),
                        window.cutoff
                    );
                    spawn(&mut drivers, rollout_id);
                }
                Passed::NothingToStart { window, reason } => {
                    eprintln!(
                        "scheduler: {environment}: window opened at {}: {reason}",
                        window.start
                    );
                }
                Passed::Waiting(idle) => {
                    // In the long-running loop, only what changed since the last look.
                    let line = idle.describe();
                    if last_said.insert(environment.clone(), line.clone()).as_ref() != Some(&line) {
                        eprintln!("scheduler: {environment}: {line}");
                    }
                }
            }
        }
        if args.once {
            let mut code = ExitCode::SUCCESS;
            for (rollout, handle) in drivers {
                let outcome = handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("driving rollout {rollout} panicked"))?;
                let outcome = outcome.with_context(|| format!("driving rollout {rollout}"))?;
                if outcome != ExitCode::SUCCESS {
                    code = outcome;
                }
            }
            return Ok(code);
        }
        drivers.retain(|(rollout, handle)| {
            if !handle.is_finished() {
                return true;
            }
            eprintln!("scheduler: rollout {rollout} is over");
            false
        });
        let next = policy
            .environments()
            .iter()
            .filter_map(|e| e.next_windows(now, 1).into_iter().next())
            .map(|w| (w.start - now).to_std().unwrap_or_default())
            .min();
        let poll = Duration::from_secs(args.poll_seconds.max(1));
        std::thread::sleep(next.map_or(poll, |n| n.min(poll)).max(Duration::from_millis(200)));
    }
}
