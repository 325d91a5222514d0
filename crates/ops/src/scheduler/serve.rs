//! `scheduler::serve`: the scheduler's loop, the same in `patchctl scheduler` and (next) in
//! the server. Each pass starts what is due (`run_pass`), sends the notices due, and drives
//! every rollout it started, side by side, in this task; a shutdown pauses them (their leases
//! released, resumable) and returns.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::{Pass, Passed, SchedulerError, run_pass, unfinished_rollouts};
use crate::Context;
use crate::rollout::{Driven, RolloutError, RunOptions, drive_here};

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Look once at every environment, drive what started to its end, and return.
    pub once: bool,
    /// Time between looks when nothing opens sooner (new approvals are seen then).
    pub poll: Duration,
    /// How its rollouts run.
    pub run: RunOptions,
}

/// How often the scheduler looks for rollouts whose driver died, to take them over: their
/// lease plus this at most after the driver's last renewal.
pub const TAKEOVER_EVERY: Duration = Duration::from_secs(2);

/// A rollout the scheduler drove, and how that ended.
pub type DriveResult = (String, Result<Driven, RolloutError>);

type Drive<'a> = Pin<Box<dyn Future<Output = DriveResult> + Send + 'a>>;

/// Runs the scheduler until `shutdown` (or, with `once`, until one pass's rollouts end).
/// What it does is told to `ctx.progress` as notices, each rollout's end as it comes (with
/// `once`, the caller says them). Returns the rollouts it drove to their end or pause.
pub async fn serve(
    ctx: &Context,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<DriveResult>, SchedulerError> {
    let policy = ctx.sources.policy()?.ok_or(SchedulerError::NoPolicy)?;
    let inventory = ctx.inventory()?;
    let store = ctx.store().await?;
    let owner = crate::rollout::DriveConfig::default().owner;
    let say = |text: String| ctx.progress.notice(&format!("scheduler: {text}"));
    let (stop_all, stopped) = tokio::sync::watch::channel(false);
    let drive = |rollout: String| -> Drive<'_> {
        let mut stopped = stopped.clone();
        Box::pin(async move {
            let stop = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let result = drive_here(ctx, &rollout, &options.run, stop).await;
            (rollout, result)
        })
    };
    let mut drives: FuturesUnordered<Drive<'_>> = FuturesUnordered::new();
    let mut done = Vec::new();
    // Rollouts a previous scheduler started and did not see to the end: continued from their
    // journals, never started again.
    // The rollouts driven here, so that a takeover does not drive one twice.
    let mut driving = std::collections::HashSet::new();
    for rollout in unfinished_rollouts(store).await? {
        say(format!("continuing rollout {rollout}, started before a restart"));
        driving.insert(rollout.clone());
        drives.push(drive(rollout));
    }
    let mut takeover = tokio::time::interval(TAKEOVER_EVERY);
    takeover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let adjust = |config: &mut rollout::Config| options.run.adjust(config);
    let mut last_said: std::collections::HashMap<String, String> = Default::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let now = ctx.clock.now();
        let pass = Pass {
            store,
            policy: &policy,
            inventory: &inventory,
            owner: owner.clone(),
            assess: crate::FleetAssessConfig { actor: owner.clone(), ..Default::default() },
            adjust: &adjust,
        };
        let results = run_pass(&pass, now).await?;
        // Announcements, postmortem reminders, escalations: each sent once. A notification
        // never stops the scheduler.
        match crate::notices::send_due_notices(store, &policy, &inventory, &owner, now).await {
            Ok(sent) => {
                for notice in sent {
                    say(format!("notified: {}", notice.notice.key()));
                    for problem in notice.report.problems() {
                        say(problem);
                    }
                }
            }
            Err(error) => say(format!("sending the notices due: {error}")),
        }
        for result in results {
            let environment = &result.environment;
            match result.what {
                Passed::Started { window, plan_id, rollout_id } => {
                    say(format!(
                        "{environment}: window opened at {}, rollout {rollout_id} of plan {} started; no host starts after {}",
                        window.start,
                        model::plan::short_id(&plan_id),
                        window.cutoff
                    ));
                    driving.insert(rollout_id.clone());
                    drives.push(drive(rollout_id));
                }
                Passed::NothingToStart { window, reason } => {
                    say(format!("{environment}: window opened at {}: {reason}", window.start));
                }
                Passed::Waiting(idle) => {
                    // In the long-running loop, only what changed since the last look.
                    let line = idle.describe();
                    if last_said.insert(environment.clone(), line.clone()).as_ref() != Some(&line) {
                        say(format!("{environment}: {line}"));
                    }
                }
            }
        }
        if options.once {
            while let Some(result) = drives.next().await {
                done.push(result);
            }
            return Ok(done);
        }
        let next = policy
            .environments()
            .iter()
            .filter_map(|e| e.next_windows(now, 1).into_iter().next())
            .map(|w| (w.start - now).to_std().unwrap_or_default())
            .min();
        let nap =
            next.map_or(options.poll, |n| n.min(options.poll)).max(Duration::from_millis(200));
        let sleep = tokio::time::sleep(nap);
        tokio::pin!(sleep);
        // Until the next look, the rollouts run; one that ends is said at once.
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                _ = takeover.tick(), if !options.once => {
                    // A driver that died (a replica killed, a patchctl killed) leaves its
                    // rollout running under a lease that runs out: continued here, from its
                    // journal, as `resume` does. Of several replicas, the lease lets one.
                    let orphans = match crate::rollout::orphaned(ctx).await {
                        Ok(orphans) => orphans,
                        Err(error) => {
                            say(format!("looking for rollouts whose driver died: {error}"));
                            Vec::new()
                        }
                    };
                    for rollout in orphans {
                        if driving.insert(rollout.clone()) {
                            say(format!("taking over rollout {rollout}: its driver's lease ran out"));
                            drives.push(drive(rollout));
                        }
                    }
                }
                Some((rollout, result)) = drives.next(), if !drives.is_empty() => {
                    driving.remove(&rollout);
                    match &result {
                        Ok(driven) => driven.lines().into_iter().for_each(&say),
                        Err(error) => say(format!("driving rollout {rollout}: {error}")),
                    }
                    say(format!("rollout {rollout} is over"));
                    done.push((rollout, result));
                }
                _ = &mut shutdown => {
                    say("shutting down: running steps finish, rollouts pause".to_owned());
                    let _ = stop_all.send(true);
                    while let Some((rollout, result)) = drives.next().await {
                        if let Ok(driven) = &result {
                            driven.lines().into_iter().for_each(&say);
                        }
                        done.push((rollout, result));
                    }
                    return Ok(done);
                }
            }
        }
    }
}
