//! `patchctl schedule` (what runs next, where, when and why) and `patchctl scheduler` (starts
//! approved rollouts in their windows, and `auto` environments' own plans).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use model::policy::Window;
use ops::protocol::output::schedule::{RunsV1, ScheduleV1, WindowV1};
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
    print_schedule(&ops::scheduler::schedule_output(&policy, now, &outlooks))?;
    Ok(ExitCode::SUCCESS)
}

/// `patchctl --server URL schedule`: the server's schedule, printed the same.
pub async fn remote(
    _args: ScheduleArgs,
    client: &crate::remote::Client,
) -> anyhow::Result<ExitCode> {
    print_schedule(&client.get("/api/schedule").await?)?;
    Ok(ExitCode::SUCCESS)
}

/// Each environment with its windows in its own time zone, and what runs.
fn print_schedule(schedule: &ScheduleV1) -> anyhow::Result<()> {
    let instant = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .with_context(|| format!("{text:?} is not an RFC 3339 time"))
    };
    let window = |w: &WindowV1| -> anyhow::Result<Window> {
        Ok(Window { start: instant(&w.start)?, cutoff: instant(&w.cutoff)?, end: instant(&w.end)? })
    };
    println!("at {}", instant(&schedule.at)?.format("%Y-%m-%d %H:%M:%S UTC"));
    for environment in &schedule.environments {
        let zone: Tz = environment
            .timezone
            .parse()
            .map_err(|_| anyhow::anyhow!("{:?} is not a time zone", environment.timezone))?;
        println!(
            "{} ({:?} in {}, window {}, cutoff {})",
            environment.environment,
            environment.pattern,
            zone.name(),
            environment.window,
            environment.cutoff,
        );
        if let Some(open) = &environment.open_now {
            let start = if open.hosts_may_start { "hosts may start" } else { "past its cutoff" };
            println!("  open now: {} ({start})", describe(&window(&open.window)?, zone));
        }
        match &environment.next {
            Some(next) => println!("  next window: {}", describe(&window(next)?, zone)),
            None => println!("  next window: none (the schedule never matches again)"),
        }
        for skipped in &environment.skipped {
            let why = skipped.reason.as_deref().unwrap_or("no reason given");
            println!(
                "  skipped: {} (blackout {} to {}: {why})",
                local(instant(&skipped.window.start)?, zone),
                skipped.blackout_from,
                skipped.blackout_to
            );
        }
        match &environment.runs {
            RunsV1::Plan { plan } => {
                println!("  runs: plan {} (approved)", model::plan::short_id(plan))
            }
            RunsV1::AssessAndPlan { baseline } => println!(
                "  runs: approval = \"auto\": the scheduler assesses the hosts, plans what baseline {baseline:?} approves, and starts it"
            ),
            RunsV1::Nothing { why } => println!("  runs: nothing: {why}"),
        }
    }
    Ok(())
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
        // The long-running loop said each rollout's end as it came.
        let clean = if args.once {
            crate::rollout::said(&driven) == ExitCode::SUCCESS
        } else {
            ops::rollout::clean(&driven)
        };
        if !clean {
            code = crate::exit::code(crate::exit::SOME_HOSTS);
        }
    }
    Ok(code)
}
