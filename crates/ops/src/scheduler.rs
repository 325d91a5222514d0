//! The scheduler's side effects: reading the plans and claims on record for
//! `model::scheduling` to decide on, claiming a window before anything starts, and creating the
//! rollout with the window's cutoff. Driving the rollout is the caller's (`rollout::drive`).
//!
//! Starting nothing twice: a window is claimed (`Store::claim_window`, one conditional INSERT)
//! before its plan is made or its rollout created. A scheduler that dies after the claim leaves
//! that window unused rather than risking a second start; one that dies while the rollout runs
//! leaves a rollout that the next scheduler (or `rollout resume`) continues from its journal.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use model::change::{ChangeState, ChangeStatus, EnvironmentApproval};
use model::plan::{PlanOptions, Scope, Track, WithheldUpdate};
use model::policy::{Environment, Policy, Window};
use model::scheduling::{Decision, Idle, Outlook, PlanCandidate, decide, outlook};
use model::{Inventory, ResolvedHost};
use rollout::Config;
use store::Store;

use crate::assess_fleet::{FleetAssessConfig, assess_hosts};
use crate::change::{ChangeError, auto_approve, change, plan_environments, require_approved};
use crate::plan::{LoadPlanError, PlanCreateError, gate_and_save, load_plan, make_plan};
use crate::rollout::{RolloutError, StartRecord, create_rollout, rollout_config};

mod leader;
mod serve;
pub use serve::{DriveResult, ServeOptions, serve};

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Plan(#[from] LoadPlanError),
    #[error(transparent)]
    PlanCreate(#[from] PlanCreateError),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    #[error(transparent)]
    Postmortem(#[from] crate::postmortem::PostmortemError),
    #[error(transparent)]
    Source(#[from] crate::SourceError),
    #[error(
        "the schedule comes from the policy's environments, and there is no policy.toml beside \
         the inventory (or --policy)"
    )]
    NoPolicy,
}

/// Every saved plan, as the scheduler sees it: its environments, whether it ran, its change.
pub async fn candidates(
    store: &Store,
    policy: &Policy,
) -> Result<Vec<PlanCandidate>, SchedulerError> {
    let rolled_out: BTreeSet<String> =
        store.rollouts().await?.into_iter().map(|row| row.plan_id).collect();
    let mut candidates = Vec::new();
    for summary in store.plans().await? {
        let Some(plan) = load_plan(store, &summary.id).await? else { continue };
        if plan.hosts.is_empty() {
            continue;
        }
        let environments = plan_environments(&plan, policy);
        let status = match change(store, policy, plan).await {
            Ok(change) => change.status,
            // One plan's broken journal makes that plan unapprovable, not the scheduler stop.
            Err(error @ (ChangeError::Tampered { .. } | ChangeError::Unreadable { .. })) => {
                broken(&environments, &error.to_string())
            }
            Err(error) => return Err(error.into()),
        };
        candidates.push(PlanCandidate {
            plan_id: summary.id.clone(),
            created_at: DateTime::from_timestamp(summary.created_at_unix, 0).unwrap_or_default(),
            environments,
            rolled_out: rolled_out.contains(&summary.id),
            change: status,
        });
    }
    Ok(candidates)
}

/// The status of a change whose journal cannot be trusted: never approved, saying why.
fn broken(environments: &[String], why: &str) -> ChangeStatus {
    ChangeStatus {
        state: ChangeState::NotRequested,
        requested_by: None,
        ticket: None,
        environments: environments
            .iter()
            .map(|name| EnvironmentApproval {
                environment: name.clone(),
                rule: "unknown".to_owned(),
                approved_by: Vec::new(),
                missing: vec![why.to_owned()],
            })
            .collect(),
    }
}

/// The windows claimed so far, as (environment, opening).
async fn claimed(store: &Store) -> Result<BTreeSet<(String, i64)>, SchedulerError> {
    Ok(store
        .window_claims()
        .await?
        .into_iter()
        .map(|claim| (claim.environment, claim.window_start_unix))
        .collect())
}

/// What `patchctl schedule` shows: each environment's outlook at `now`.
pub async fn outlooks(
    store: &Store,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<Outlook>, SchedulerError> {
    let candidates = candidates(store, policy).await?;
    let claimed = claimed(store).await?;
    Ok(policy
        .environments()
        .iter()
        .map(|environment| {
            let taken = |start: DateTime<Utc>| {
                claimed.contains(&(environment.name.clone(), start.timestamp()))
            };
            outlook(environment, now, taken, &candidates)
        })
        .collect())
}

/// What one pass of the scheduler did for an environment.
#[derive(Debug, Clone)]
pub struct PassResult {
    pub environment: String,
    pub what: Passed,
}

#[derive(Debug, Clone)]
pub enum Passed {
    /// A rollout was created in `window`, to be driven now.
    Started {
        window: Window,
        plan_id: String,
        rollout_id: String,
    },
    /// The window was claimed and nothing needed to start (an `auto` environment with nothing
    /// its baseline approves, hosts that could not be assessed…), for this reason.
    NothingToStart {
        window: Window,
        reason: String,
    },
    Waiting(Idle),
}

/// The settings of a pass: how rollouts are configured and who claims.
pub struct Pass<'a> {
    pub store: &'a Store,
    pub policy: &'a Policy,
    pub inventory: &'a Inventory,
    /// The scheduler process, for the claims (`patchctl@machine:pid`).
    pub owner: String,
    /// How hosts of `auto` environments are assessed.
    pub assess: FleetAssessConfig,
    /// The operator's run settings (timeouts, rollback policy) applied to each rollout.
    pub adjust: &'a (dyn Fn(&mut Config) + Sync),
}

/// One look at every environment at `now`: starts what is due, returns what it did.
pub async fn run_pass(
    pass: &Pass<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<PassResult>, SchedulerError> {
    let candidates = candidates(pass.store, pass.policy).await?;
    let claimed = claimed(pass.store).await?;
    let mut results = Vec::new();
    for environment in pass.policy.environments() {
        let taken =
            |start: DateTime<Utc>| claimed.contains(&(environment.name.clone(), start.timestamp()));
        let what = match decide(environment, now, taken, &candidates) {
            Decision::Wait(idle) => Passed::Waiting(idle),
            Decision::Start { window, plan_id } => {
                if !claim(pass, environment, &window, now).await? {
                    Passed::Waiting(Idle::AlreadyClaimed { window })
                } else {
                    start_plan(pass, environment, window, &plan_id, now).await?
                }
            }
            Decision::AssessAndStart { window } => {
                if !claim(pass, environment, &window, now).await? {
                    Passed::Waiting(Idle::AlreadyClaimed { window })
                } else {
                    assess_and_start(pass, environment, window, now).await?
                }
            }
        };
        results.push(PassResult { environment: environment.name.clone(), what });
    }
    Ok(results)
}

async fn claim(
    pass: &Pass<'_>,
    environment: &Environment,
    window: &Window,
    now: DateTime<Utc>,
) -> Result<bool, SchedulerError> {
    Ok(pass
        .store
        .claim_window(&environment.name, window.start.timestamp(), &pass.owner, now.timestamp())
        .await?)
}

/// Creates the rollout of an approved plan in a claimed window, with its cutoff.
async fn start_plan(
    pass: &Pass<'_>,
    environment: &Environment,
    window: Window,
    plan_id: &str,
    now: DateTime<Utc>,
) -> Result<Passed, SchedulerError> {
    let store = pass.store;
    let Some(plan) = load_plan(store, plan_id).await? else {
        return nothing(pass, environment, window, None, format!("plan {plan_id} vanished")).await;
    };
    // Checked again after the claim: an approval withdrawn by a policy change in between
    // must not slip through.
    match require_approved(store, pass.policy, &plan).await {
        Ok(_) => {}
        Err(ChangeError::NotApproved { missing, .. }) => {
            let reason = format!("not approved: {}", missing.join("; "));
            return nothing(pass, environment, window, Some(&plan.id), reason).await;
        }
        Err(error @ (ChangeError::Tampered { .. } | ChangeError::Unreadable { .. })) => {
            let reason = format!("not started: {error}");
            return nothing(pass, environment, window, Some(&plan.id), reason).await;
        }
        Err(error) => return Err(error.into()),
    }
    let hosts: Vec<ResolvedHost> =
        plan.hosts.iter().filter_map(|h| pass.inventory.host(&h.host).cloned()).collect();
    let mut config = match rollout_config(&plan, &hosts) {
        Ok(config) => config,
        Err(reason) => return nothing(pass, environment, window, Some(&plan.id), reason).await,
    };
    (pass.adjust)(&mut config);
    config.start_no_host_after = Some(window.cutoff.timestamp_millis().max(0) as u64);
    // The same check as a start by hand: its waves, as past rollouts ran them, must end before
    // the cutoff; otherwise the window passes with nothing started, saying why.
    if let Some(why) = crate::forecast::wont_fit(store, &plan, &config, now, window.cutoff).await? {
        return nothing(pass, environment, window, Some(&plan.id), why).await;
    }
    let rollout_id = crate::rollout::new_rollout_id();
    let start =
        StartRecord { actor: model::change::SYSTEM_ACTOR.to_owned(), ..StartRecord::default() };
    // The plan-runs-once rule and the hosts' claims are checked again here, under the window's
    // claim and in the transaction that creates the rollout: a plan started by hand since the
    // decision, or hosts another rollout took, leave the window with nothing started.
    match create_rollout(store, &plan, &config, &rollout_id, now.timestamp(), &start).await {
        Ok(()) => {}
        Err(RolloutError::Store(
            error @ (store::StoreError::PlanAlreadyRun { .. }
            | store::StoreError::HostsClaimed { .. }),
        )) => {
            let reason = format!("not started: {error}");
            return nothing(pass, environment, window, Some(&plan.id), reason).await;
        }
        Err(error) => return Err(error.into()),
    }
    let outcome = format!("rollout {rollout_id} started");
    store
        .record_window(
            &environment.name,
            window.start.timestamp(),
            Some(&plan.id),
            Some(&rollout_id),
            &outcome,
        )
        .await?;
    Ok(Passed::Started { window, plan_id: plan.id, rollout_id })
}

/// For `approval = "auto"`: assess the environment's hosts, plan what its baseline approves
/// now (each update judged by `model::plan::PlanBaselines`, its age counted from its release
/// date), approve it as the system, and start it.
async fn assess_and_start(
    pass: &Pass<'_>,
    environment: &Environment,
    window: Window,
    now: DateTime<Utc>,
) -> Result<Passed, SchedulerError> {
    let hosts: Vec<ResolvedHost> = pass
        .inventory
        .hosts()
        .iter()
        .filter(|h| h.environment == environment.name)
        .cloned()
        .collect();
    if hosts.is_empty() {
        let reason = "the inventory has no host in this environment".to_owned();
        return nothing(pass, environment, window, None, reason).await;
    }
    assess_hosts(&hosts, pass.store, &pass.assess, &|_, _, _| {}).await?;
    let options = PlanOptions {
        scope: Scope::All,
        reboot: environment.reboot,
        strategy: environment.strategy,
        environment_order: pass.policy.environment_order(),
        goals: environment.goals.clone(),
        ..PlanOptions::default()
    };
    let selectors = vec![format!("env:{}", environment.name)];
    let baselines = Some((pass.policy, Track::Regular));
    let plan =
        make_plan(pass.store, &hosts, &selectors, &options, baselines, now.timestamp()).await?;
    if plan.hosts.is_empty() {
        let reason = if plan.withheld.is_empty() {
            "nothing pending on the hosts that could be assessed".to_owned()
        } else {
            nothing_approved(environment, &plan.withheld)
        };
        return nothing(pass, environment, window, None, reason).await;
    }
    let plan = gate_and_save(pass.store, plan, Some(pass.policy), now.timestamp()).await?;
    auto_approve(pass.store, pass.policy, &plan, now).await?;
    let plan_id = plan.id.clone();
    start_plan(pass, environment, window, &plan_id, now).await
}

/// Why an `auto` window starts nothing although updates are pending: the baseline's rules
/// for the first few, and how many more.
fn nothing_approved(environment: &Environment, withheld: &[WithheldUpdate]) -> String {
    const SHOWN: usize = 3;
    let mut reason = format!(
        "baseline {:?} approves none of the {} pending updates: {}",
        environment.baseline.name,
        withheld.len(),
        withheld
            .iter()
            .take(SHOWN)
            .map(|w| format!("{} {} on {}: {}", w.name, w.version, w.host, w.reason))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if withheld.len() > SHOWN {
        reason.push_str(&format!("; and {} more", withheld.len() - SHOWN));
    }
    reason
}

async fn nothing(
    pass: &Pass<'_>,
    environment: &Environment,
    window: Window,
    plan_id: Option<&str>,
    reason: String,
) -> Result<Passed, SchedulerError> {
    pass.store
        .record_window(&environment.name, window.start.timestamp(), plan_id, None, &reason)
        .await?;
    Ok(Passed::NothingToStart { window, reason })
}

/// Rollouts the scheduler started that are not over: after a restart, they are driven on
/// (from their journals) instead of being started again.
pub async fn unfinished_rollouts(store: &Store) -> Result<Vec<String>, SchedulerError> {
    let mut unfinished = Vec::new();
    for claim in store.window_claims().await? {
        let Some(id) = claim.rollout_id else { continue };
        if let Some(row) = store.rollout(&id).await?
            && !row.phase.is_finished()
        {
            unfinished.push(row.id);
        }
    }
    Ok(unfinished)
}

/// The hosts of `inventory` a plan names, for driving its rollout.
pub fn plan_hosts(inventory: &Inventory, plan: &model::plan::Plan) -> Vec<ResolvedHost> {
    plan.hosts.iter().filter_map(|h| inventory.host(&h.host).cloned()).collect()
}

/// `schedule`: each environment of the policy with its outlook, at the clock's now.
pub async fn schedule(
    ctx: &crate::Context,
) -> Result<(Policy, DateTime<Utc>, Vec<Outlook>), SchedulerError> {
    let policy = ctx.sources.policy()?.ok_or(SchedulerError::NoPolicy)?;
    let now = ctx.clock.now();
    let outlooks = outlooks(ctx.store().await?, &policy, now).await?;
    Ok((policy, now, outlooks))
}

/// `schedule`'s document: each environment of `policy` with its outlook at `now`.
pub fn schedule_output(
    policy: &Policy,
    now: DateTime<Utc>,
    outlooks: &[Outlook],
) -> protocol::output::schedule::ScheduleV1 {
    use model::dates::rfc3339;
    use model::scheduling::Runs;
    use protocol::output::schedule::{
        EnvironmentOutlookV1, OpenWindowV1, RunsV1, ScheduleV1, SkippedWindowV1, WindowV1,
    };
    let window = |w: &model::policy::Window| WindowV1 {
        start: rfc3339(w.start),
        cutoff: rfc3339(w.cutoff),
        end: rfc3339(w.end),
    };
    let environments = policy
        .environments()
        .iter()
        .zip(outlooks)
        .map(|(environment, outlook)| EnvironmentOutlookV1 {
            environment: environment.name.clone(),
            pattern: environment.schedule.pattern().to_owned(),
            timezone: environment.schedule.timezone().name().to_owned(),
            window: model::policy::format_duration(environment.schedule.duration()),
            cutoff: model::policy::format_duration(environment.schedule.cutoff()),
            open_now: outlook.open_now.as_ref().map(|(w, hosts_may_start)| OpenWindowV1 {
                window: window(w),
                hosts_may_start: *hosts_may_start,
            }),
            next: outlook.next.as_ref().map(window),
            skipped: outlook
                .skipped
                .iter()
                .map(|(w, blackout)| SkippedWindowV1 {
                    window: window(w),
                    blackout_from: blackout.from.to_string(),
                    blackout_to: blackout.to.to_string(),
                    reason: blackout.reason.clone(),
                })
                .collect(),
            runs: match &outlook.runs {
                Ok(Runs::Plan(plan)) => RunsV1::Plan { plan: plan.clone() },
                Ok(Runs::AssessAndPlan) => {
                    RunsV1::AssessAndPlan { baseline: environment.baseline.name.clone() }
                }
                Err(idle) => RunsV1::Nothing { why: idle.describe() },
            },
        })
        .collect();
    ScheduleV1 { at: rfc3339(now), environments }
}
