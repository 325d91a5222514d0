//! `scheduler::serve`: the scheduler's loop, the same in `patchctl scheduler` and in the
//! server. The process that leads (`leader.rs`) starts what is due on each pass (`run_pass`)
//! and sends the notices due; every process drives the rollouts it started or took over (those
//! whose driver's lease ran out), side by side, in this task; a shutdown pauses them (their
//! leases released, resumable), gives the leadership up, and returns.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use model::Inventory;
use model::policy::Policy;

use super::leader::{self, Leading};
use super::{Pass, PassResult, Passed, SchedulerError, run_pass, unfinished_rollouts};
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
///
/// Only the process leading the scheduler passes (`leader.rs`). With `once`, it waits for the
/// leadership at most as long as a leader that died would keep it, and passes nothing when
/// another process still leads then; it gives the leadership up once its pass is done.
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
    let lease_seconds = options.run.lease_seconds;
    let (leading, _) = tokio::sync::watch::channel(None);
    let keeper = leader::keep_leading(store, ctx.clock, &owner, lease_seconds, &leading, &say);
    let mut keeper = std::pin::pin!(keeper);
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
    let adjust = |config: &mut rollout::Config| options.run.adjust(config);
    let mut last_said: std::collections::HashMap<String, String> = Default::default();
    let pass_at = |now: DateTime<Utc>| {
        let pass = Pass {
            store,
            policy: &policy,
            inventory: &inventory,
            owner: owner.clone(),
            assess: crate::FleetAssessConfig { actor: owner.clone(), ..Default::default() },
            adjust: &adjust,
        };
        (pass, now)
    };
    let lead = |now| lead_pass(pass_at(now), &policy, &inventory, &leading, &say);
    if options.once {
        // A leader that died keeps the leadership this long at most; one alive renews it.
        let wait = leader::claim_every(lease_seconds) * 4 + Duration::from_secs(2);
        let mut led = leading.subscribe();
        let passed = tokio::select! {
            passed = async {
                if tokio::time::timeout(wait, led.wait_for(Option::is_some)).await.is_err() {
                    say("another process leads: this pass starts nothing".to_owned());
                    return Ok(None);
                }
                lead(ctx.clock.now()).await
            } => passed,
            never = &mut keeper => match never {},
        };
        leader::release(store, &leading, &say).await;
        for result in passed?.unwrap_or_default() {
            if let Some(rollout) = said(result, &mut last_said, &say) {
                driving.insert(rollout.clone());
                drives.push(drive(rollout));
            }
        }
        while let Some(result) = drives.next().await {
            done.push(result);
        }
        return Ok(done);
    }
    let mut takeover = tokio::time::interval(TAKEOVER_EVERY);
    takeover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut became_leader = leading.subscribe();
    // On PostgreSQL, a rollout created or asked something anywhere looks at once.
    let mut wake_ups = store.wake_ups();
    let mut shutdown = std::pin::pin!(shutdown);
    let served = async {
        loop {
            let now = ctx.clock.now();
            // A pass that fails (the database down or failing over) is said and tried again at
            // the next look: the scheduler never stops on it.
            let passed = lead(now).await.unwrap_or_else(|error| {
                say(format!("a pass failed; trying again at the next look: {error}"));
                None
            });
            for result in passed.unwrap_or_default() {
                if let Some(rollout) = said(result, &mut last_said, &say) {
                    driving.insert(rollout.clone());
                    drives.push(drive(rollout));
                }
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
                    // Leading now (the leader stopped, or this process claimed first): a pass
                    // at once, not at the next look.
                    Ok(()) = became_leader.changed() => {
                        if became_leader.borrow_and_update().is_some() {
                            break;
                        }
                    }
                    () = async {
                        tokio::select! {
                            _ = takeover.tick() => {}
                            () = wake_ups.woken() => {}
                        }
                    } => {
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
                            Ok(driven) => {
                                driven.lines().into_iter().for_each(&say);
                                say(format!("rollout {rollout} is over"));
                            }
                            // After a store error its lease runs out, and the look for
                            // rollouts whose driver died (this process's too) continues it.
                            Err(error @ RolloutError::Store(_)) => say(format!(
                                "driving rollout {rollout} stopped: {error}; it is taken over \
                                 once its lease runs out and the database answers"
                            )),
                            Err(error) => say(format!("driving rollout {rollout} stopped: {error}")),
                        }
                        done.push((rollout, result));
                    }
                    _ = &mut shutdown => {
                        say("shutting down: running steps finish, rollouts pause".to_owned());
                        return Ok::<(), SchedulerError>(());
                    }
                }
            }
        }
    };
    let served = tokio::select! {
        served = served => served,
        never = &mut keeper => match never {},
    };
    leader::release(store, &leading, &say).await;
    let _ = stop_all.send(true);
    while let Some((rollout, result)) = drives.next().await {
        if let Ok(driven) = &result {
            driven.lines().into_iter().for_each(&say);
        }
        done.push((rollout, result));
    }
    served.map(|()| done)
}

/// One pass and the notices due at its time, while this process leads: `None` when it does
/// not, or stopped leading before the pass ended (what the pass did until then stands, as if
/// this process had died there: a claimed window is left unused, never started twice).
async fn lead_pass(
    (pass, now): (Pass<'_>, DateTime<Utc>),
    policy: &Policy,
    inventory: &Inventory,
    leading: &Leading,
    say: &(dyn Fn(String) + Sync),
) -> Result<Option<Vec<PassResult>>, SchedulerError> {
    let mut lost = leading.subscribe();
    if lost.borrow_and_update().is_none() {
        return Ok(None);
    }
    let work = async {
        let results = run_pass(&pass, now).await?;
        // Announcements, postmortem reminders, escalations: each sent once. A notification
        // never stops the scheduler.
        match crate::notices::send_due_notices(pass.store, policy, inventory, &pass.owner, now)
            .await
        {
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
        Ok::<_, SchedulerError>(results)
    };
    tokio::select! {
        results = work => results.map(Some),
        _ = lost.wait_for(Option::is_none) => {
            say("stopped leading in the middle of a pass: it starts nothing more".to_owned());
            Ok(None)
        }
    }
}

/// Says what a pass did for an environment (in the long-running loop, a wait only when it
/// changed); returns the rollout it started, to be driven.
fn said(
    result: PassResult,
    last_said: &mut std::collections::HashMap<String, String>,
    say: &(dyn Fn(String) + Sync),
) -> Option<String> {
    let environment = &result.environment;
    match result.what {
        Passed::Started { window, plan_id, rollout_id } => {
            say(format!(
                "{environment}: window opened at {}, rollout {rollout_id} of plan {} started; no host starts after {}",
                window.start,
                model::plan::short_id(&plan_id),
                window.cutoff
            ));
            Some(rollout_id)
        }
        Passed::NothingToStart { window, reason } => {
            say(format!("{environment}: window opened at {}: {reason}", window.start));
            None
        }
        Passed::Waiting(idle) => {
            let line = idle.describe();
            if last_said.insert(environment.clone(), line.clone()).as_ref() != Some(&line) {
                say(format!("{environment}: {line}"));
            }
            None
        }
    }
}
