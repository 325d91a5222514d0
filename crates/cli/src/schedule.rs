//! `patchctl schedule` (what runs next, where, when and why) and `patchctl scheduler` (starts
//! approved rollouts in their windows, and `auto` environments' own plans).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use model::policy::Window;
use model::scheduling::Runs;
use ops::scheduler::ServeOptions;

use crate::rollout::RunArgs;

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

/// `patchctl schedule`.
pub async fn schedule(_args: ScheduleArgs, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let (policy, now, outlooks) = ops::scheduler::schedule(ctx).await?;
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

/// `patchctl scheduler`: the scheduler's loop (`ops::scheduler::serve`) until Ctrl-C, which
/// pauses the rollouts it drives; with `--once`, one look and its rollouts to their end.
pub async fn scheduler(args: SchedulerArgs, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let options = ServeOptions {
        once: args.once,
        poll: Duration::from_secs(args.poll_seconds.max(1)),
        run: args.run.options(),
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let mut code = ExitCode::SUCCESS;
    for (rollout, driven) in ops::scheduler::serve(ctx, &options, shutdown).await? {
        let driven = driven.with_context(|| format!("driving rollout {rollout}"))?;
        if crate::rollout::said(&driven) != ExitCode::SUCCESS {
            code = crate::exit::code(crate::exit::SOME_HOSTS);
        }
    }
    Ok(code)
}
