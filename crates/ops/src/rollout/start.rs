//! The use cases that run a rollout here, from start to conclusion: `start` (the plan, its
//! approval and windows, the rollout created, driven, and concluded), `resume`, `roll_back`
//! and `reconcile`. What they found is returned, typed; the shell says it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use model::ResolvedHost;
use model::plan::Plan;
use rollout::{Config, Event, HostState, Input, Phase, RollbackPolicy, Rollout};

use super::{
    DriveConfig, DriveOutcome, DryRunConfig, HostDryRun, Lifecycle, RolloutError, SshSteps,
    StartRecord, StepsConfig,
};
use crate::Context;

/// How a rollout is run here: the options of `rollout start|resume`, `rollback`, `reconcile`
/// and the scheduler.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Minutes of warning a reboot gives (`shutdown -r +N`).
    pub reboot_delay_minutes: u32,
    /// Hosts worked on at once, across the rollout.
    pub max_in_flight: usize,
    pub rollback: RollbackPolicy,
    /// How long a host may not answer before it is given up on.
    pub unreachable_grace: Duration,
    /// How long a host has to come back from a reboot (the reboot's warning comes on top).
    pub reboot_timeout: Duration,
    /// Longest wait between looks at a rebooting host, a lost host, a held lock.
    pub poll_interval: Duration,
    /// Seconds an apply waits for the package manager's lock held by someone else.
    pub lock_timeout_seconds: u32,
    /// A next wave's precheck older than this when the wave opens is run again; `None`: each
    /// wave's prechecks wait for it.
    pub precheck_ahead: Option<Duration>,
    /// Fetch a host's packages during its precheck.
    pub download_ahead: bool,
    /// The lease this process holds on the rollout it drives.
    pub lease_seconds: u32,
    /// Run the package manager's repair when reconciling a lost host.
    pub repair: bool,
    /// Who has it driven, for the journal (a paused rollout's resume is theirs): the server's
    /// authenticated caller. `None`: the context's actor (the CLI's user).
    pub actor: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            reboot_delay_minutes: 5,
            max_in_flight: 50,
            rollback: RollbackPolicy::Automatic,
            unreachable_grace: Duration::from_secs(120),
            reboot_timeout: Duration::from_secs(900),
            poll_interval: Duration::from_millis(250),
            lock_timeout_seconds: 120,
            precheck_ahead: Some(Duration::from_millis(rollout::PRECHECK_MAX_AGE)),
            download_ahead: true,
            lease_seconds: super::DEFAULT_LEASE_SECONDS,
            repair: true,
            actor: None,
        }
    }
}

impl RunOptions {
    /// Sets in `config` what these options decide of the machine's own configuration.
    pub fn adjust(&self, config: &mut Config) {
        config.max_in_flight = self.max_in_flight.max(1);
        config.rollback = self.rollback;
        config.timeouts.reboot =
            self.reboot_timeout.as_millis() as u64 + u64::from(self.reboot_delay_minutes) * 60_000;
        config.precheck_ahead = self.precheck_ahead.map(|d| d.as_millis() as u64);
    }

    /// What a dry run takes of them: hosts at once, and how long one may not answer.
    pub fn dry_run_config(&self) -> DryRunConfig {
        DryRunConfig {
            max_in_flight: self.max_in_flight.max(1),
            apply: pkgmgr::apply::ApplyOptions::default(),
            connect: crate::ConnectConfig::default(),
            unreachable_grace: self.unreachable_grace,
            poll_interval: self.poll_interval.max(Duration::from_millis(50)),
        }
    }
}

/// `rollout start PLAN`, as asked.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    /// The plan's id or a unique prefix.
    pub plan: String,
    /// Why a plan that ran already runs again (`--again --reason`).
    pub again: Option<String>,
    /// Why it starts outside its environments' windows (`--override-window --reason`).
    pub override_window: Option<String>,
    pub run: RunOptions,
    /// Who starts it, for its journal; `None`: the context's actor (the CLI's user). The
    /// server names its authenticated caller.
    pub actor: Option<String>,
}

/// A start checked against the plan, its approval and its windows, ready to create.
pub struct Prepared {
    pub plan: Plan,
    pub config: Config,
    pub hosts: Vec<ResolvedHost>,
    pub start: StartRecord,
    /// Why a real start would be refused (a dry run reports them and asks the hosts anyway).
    pub refusals: Vec<String>,
}

/// Checks a start: the plan exists, is intact and has hosts; the policy's change approval
/// and maintenance windows allow it now (or the request overrides the windows). With
/// `collect_refusals` (a dry run) what would refuse it is collected instead of failing.
pub async fn prepare(
    ctx: &Context,
    request: &StartRequest,
    collect_refusals: bool,
) -> Result<Prepared, RolloutError> {
    let inventory = ctx.inventory()?;
    let store = ctx.store().await?;
    let plan = crate::load_plan(store, &request.plan)
        .await
        .map_err(|e| RolloutError::Refused(e.to_string()))?
        .ok_or_else(|| RolloutError::UnknownPlan(request.plan.clone()))?;
    if plan.hosts.is_empty() {
        return Err(RolloutError::Refused(format!("plan {} has no host to patch", plan.id)));
    }
    let hosts = crate::scheduler::plan_hosts(&inventory, &plan);
    let mut config = super::rollout_config(&plan, &hosts).map_err(|reason| {
        RolloutError::Refused(format!("{reason} ({})", ctx.sources.config.display()))
    })?;
    request.run.adjust(&mut config);
    let mut refusals = Vec::new();
    let mut refuse = |why: String| {
        if !collect_refusals {
            return Err(RolloutError::Refused(why));
        }
        refusals.push(why);
        Ok(())
    };
    let mut start = StartRecord {
        actor: request.actor.clone().unwrap_or_else(|| ctx.actor.clone()),
        again: request.again.clone(),
        ..StartRecord::default()
    };
    match ctx.sources.policy_or_none()? {
        Some(policy) => {
            if let Err(refused) = crate::change::require_approved(store, &policy, &plan).await {
                refuse(format!("{refused:#}"))?;
            }
            // The windows, as the scheduler keeps them: an emergency plan runs out of them by
            // design (its mark is in its hash), anything else needs them or an override.
            if plan.emergency.is_none() {
                let environments = plan_environments(&policy, &plan)?;
                match model::scheduling::manual_start(&environments, ctx.clock.now_seconds()) {
                    Ok(cutoff) if request.override_window.is_none() => {
                        config.start_no_host_after =
                            cutoff.map(|c| c.timestamp_millis().max(0) as u64);
                        // Its waves, as past rollouts ran them, must end before the cutoff.
                        if let Some(cutoff) = cutoff {
                            let now = ctx.clock.now();
                            if let Some(why) =
                                crate::forecast::wont_fit(store, &plan, &config, now, cutoff)
                                    .await?
                            {
                                refuse(format!(
                                    "{why}; `--override-window --reason \"...\"` starts it \
                                     anyway, on record"
                                ))?;
                            }
                        }
                    }
                    Ok(_) | Err(_) if request.override_window.is_some() => {}
                    Ok(_) => {}
                    Err(outside) => {
                        let why: Vec<String> = outside
                            .iter()
                            .map(|o| format!("{}: {}", o.environment, o.why))
                            .collect();
                        refuse(format!(
                            "plan {} may not start now, outside its maintenance windows ({}); \
                             `--override-window --reason \"...\"` starts it anyway, on record",
                            model::plan::short_id(&plan.id),
                            why.join("; ")
                        ))?;
                    }
                }
            }
            start.override_window = request.override_window.clone();
        }
        None => {
            ctx.progress.notice(
                "WARNING: no policy (--no-policy): no change approval, maintenance window or \
                 promotion gate applies to this rollout",
            );
            start.no_policy = true;
        }
    }
    if collect_refusals && request.again.is_none() {
        // A plan runs once (`create_rollout` refuses it again without `again`).
        let rows = store.rollouts().await?;
        if let Some(earlier) = rows.iter().find(|r| r.plan_id == plan.id) {
            refusals.push(format!(
                "plan {} has run already (rollout {}, {}); `--again --reason \"...\"` runs it again",
                model::plan::short_id(&plan.id),
                earlier.id,
                earlier.phase
            ));
        }
    }
    Ok(Prepared { plan, config, hosts, start, refusals })
}

/// The policy's environments of the plan's hosts; one the policy does not name is an error.
fn plan_environments<'p>(
    policy: &'p model::policy::Policy,
    plan: &Plan,
) -> Result<Vec<&'p model::policy::Environment>, RolloutError> {
    let mut names: Vec<&str> = plan.hosts.iter().map(|h| h.environment.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            policy.environment(name).ok_or_else(|| {
                RolloutError::Refused(format!(
                    "environment {name} of the plan is not in the policy, which has no window for it"
                ))
            })
        })
        .collect()
}

/// `rollout start PLAN --dry-run`: every host asked what its rollout would meet, changing
/// nothing; with the refusals a real start would meet.
pub async fn dry_run(
    ctx: &Context,
    request: &StartRequest,
) -> Result<(Prepared, Vec<HostDryRun>), RolloutError> {
    let prepared = prepare(ctx, request, true).await?;
    let store = ctx.store().await?;
    let dry = request.run.dry_run_config();
    let reports =
        super::dry_run(store, &prepared.plan, &prepared.config, prepared.hosts.clone(), &dry).await;
    Ok((prepared, reports))
}

/// `rollout start PLAN`: the rollout created (refused as [`prepare`] says) and driven here
/// until it ends or `stop` pauses it, then concluded.
pub async fn start(
    ctx: &Context,
    request: &StartRequest,
    stop: impl Future<Output = ()>,
) -> Result<Driven, RolloutError> {
    let id = begin(ctx, request).await?;
    drive_here(ctx, &id, &request.run, stop).await
}

/// The first half of [`start`]: the rollout checked (refused as [`prepare`] says) and created,
/// its id returned, for a caller that drives it elsewhere (the server, in a task of its own).
pub async fn begin(ctx: &Context, request: &StartRequest) -> Result<String, RolloutError> {
    let mut prepared = prepare(ctx, request, false).await?;
    if let Some(at) = ctx.clock.virtual_start() {
        ctx.progress.notice(&format!(
            "WARNING: rollout started at the virtual time {at} (--now); the journal keeps both times"
        ));
        prepared.start.virtual_now = Some(at.to_rfc3339());
    }
    let id = super::new_rollout_id();
    let store = ctx.store().await?;
    super::create_rollout(
        store,
        &prepared.plan,
        &prepared.config,
        &id,
        ctx.clock.now_unix(),
        &prepared.start,
    )
    .await?;
    ctx.progress
        .notice(&format!("rollout {id} of plan {}", model::plan::short_id(&prepared.plan.id)));
    Ok(id)
}

/// What driving a rollout here came to.
#[derive(Debug)]
pub struct Driven {
    pub rollout: String,
    pub outcome: DriveOutcome,
    /// Hosts that failed (rolled back or not).
    pub n_failed: usize,
    /// Hosts not started before the window's cutoff: they wait for the next window.
    pub n_cut: usize,
    /// Hosts lost mid-step, for `rollout reconcile`.
    pub lost: Vec<String>,
    /// What went wrong after the rollout ended (the re-assessment, notifications, the
    /// postmortem, the anchor): said, never changing how it ended.
    pub problems: Vec<String>,
    /// Hosts assessed again after it ended.
    pub reassessed: usize,
    /// The postmortem opened because hosts failed or were rolled back.
    pub postmortem: Option<model::postmortem::Postmortem>,
}

impl Driven {
    /// How it ended, in lines a person reads: what went wrong after, the re-assessment, the
    /// postmortem, the hosts cut off or lost, and the end with the command that says more.
    pub fn lines(&self) -> Vec<String> {
        let id = &self.rollout;
        let mut lines = self.problems.clone();
        if self.reassessed > 0 {
            lines.push(format!("{} hosts assessed again after the rollout", self.reassessed));
        }
        if let Some(p) = &self.postmortem {
            lines.push(format!(
                "postmortem {} opened for rollout {id}, due at {}: `patchctl postmortem show {}`",
                p.id, p.due_at, p.id
            ));
        }
        if self.n_cut > 0 {
            lines.push(format!(
                "{} hosts were not started before the window's cutoff; they wait for the next window",
                self.n_cut
            ));
        }
        if !self.lost.is_empty() {
            lines.push(format!(
                "lost mid-step: {}; once they answer, `patchctl rollout reconcile {id}` repairs each and finishes it or rolls it back",
                self.lost.join(", ")
            ));
        }
        lines.push(match self.outcome {
            DriveOutcome::Finished(Phase::Completed) if self.n_failed > 0 => format!(
                "rollout {id} completed within its error budget, but {} hosts failed; `patchctl report {id}`",
                self.n_failed
            ),
            DriveOutcome::Finished(Phase::Completed) => {
                format!("rollout {id} completed; `patchctl report {id}` for the record")
            }
            DriveOutcome::Finished(phase) => {
                format!("rollout {id} {}; `patchctl report {id}` says why", super::phase_name(phase))
            }
            DriveOutcome::Paused => {
                format!("rollout {id} paused; `patchctl rollout resume {id}` continues it")
            }
        });
        lines
    }
}

/// `rollout resume`: drives a rollout here until it ends or `stop` pauses it (a driver
/// holding it elsewhere is waited for, until its lease runs out), then concludes it: hosts
/// assessed again, its postmortem and notifications, its journal's head anchored.
pub async fn drive_here(
    ctx: &Context,
    rollout: &str,
    options: &RunOptions,
    stop: impl Future<Output = ()>,
) -> Result<Driven, RolloutError> {
    let inventory = ctx.inventory()?;
    let store = ctx.store().await?;
    let loaded = super::load(store, rollout).await?;
    let hosts = crate::scheduler::plan_hosts(&inventory, &loaded.plan);
    let steps_config = StepsConfig {
        rollout_id: loaded.row.id.clone(),
        apply: pkgmgr::apply::ApplyOptions {
            lock_timeout_seconds: options.lock_timeout_seconds,
            ..pkgmgr::apply::ApplyOptions::default()
        },
        reboot_delay_minutes: options.reboot_delay_minutes,
        reboot_message: "patchctl: rebooting to finish patching".to_owned(),
        reboot_contact: ctx.actor.clone(),
        unreachable_grace: options.unreachable_grace,
        poll_interval: options.poll_interval.max(Duration::from_millis(50)),
        connect: crate::ConnectConfig::default(),
        download_ahead: options.download_ahead,
        repair: options.repair,
    };
    let progress = ctx.progress.clone();
    let waves: Vec<(String, String)> = loaded
        .plan
        .waves
        .iter()
        .flat_map(|wave| wave.hosts.iter().map(|host| (host.clone(), wave.name.clone())))
        .collect();
    progress.rollout_started(&loaded.row.id, &waves);
    let sink = progress.clone();
    let steps = Arc::new(
        SshSteps::new(steps_config, loaded.plan.clone(), hosts, store.clone())
            .with_connector(ctx.connector().await?)
            .with_wait_sink(Arc::new(move |host, waiting| sink.waiting(host, waiting))),
    );
    let drive_config = DriveConfig {
        clock_offset_ms: ctx.clock.offset_ms(),
        lease_seconds: options.lease_seconds,
        wait_for_lease: true,
        actor: Some(options.actor.clone().unwrap_or_else(|| ctx.actor.clone())),
        ..DriveConfig::default()
    };
    // Start, halt, reboot warnings and the summary told as they happen; a failed delivery
    // is reported, never stops the rollout.
    let policy = ctx.sources.policy().ok().flatten();
    let lifecycle = Lifecycle::start(
        store.clone(),
        policy.as_ref().map(|p| p.notifications().clone()).unwrap_or_default(),
        &loaded.row.id,
        loaded.plan.clone(),
        options.reboot_delay_minutes,
        ctx.clock.offset_ms(),
    );
    // A host that reached its end is assessed again beside the rest of the rollout.
    let (ended_tx, ended_rx) = tokio::sync::mpsc::unbounded_channel();
    let ended = super::reassess::Ended(ended_tx);
    let on_event = |event: &Event, machine: &Rollout| {
        progress.rollout_event(event, machine);
        lifecycle.on_event(event, machine);
        ended.on_event(event);
    };
    let driving = async {
        let outcome =
            super::drive(store, &loaded.row.id, steps, &drive_config, stop, &on_event).await;
        ended.drive_over();
        outcome
    };
    let (outcome, mut reassessed) =
        tokio::join!(driving, super::reassess::as_they_end(ctx, &inventory, ended_rx));
    progress.rollout_stopped();
    let mut problems = lifecycle.finish().await;
    let outcome = outcome?;
    let after = super::load(store, &loaded.row.id).await?;
    let mut driven = Driven {
        rollout: loaded.row.id.clone(),
        outcome,
        n_failed: after.machine.hosts().filter(|(_, s)| s.is_failure()).count(),
        n_cut: after
            .machine
            .hosts()
            .filter(|(_, s)| matches!(s, HostState::Skipped { reason } if reason.starts_with(rollout::CUTOFF_REASON)))
            .count(),
        lost: after
            .machine
            .hosts()
            .filter(|(_, s)| matches!(s, HostState::Lost { .. }))
            .map(|(h, _)| h.to_owned())
            .collect(),
        problems: Vec::new(),
        reassessed: 0,
        postmortem: None,
    };
    if let DriveOutcome::Finished(_) = outcome {
        super::reassess::the_rest(ctx, &after, &inventory, &mut reassessed).await;
    }
    driven.reassessed = reassessed.hosts.len();
    driven.problems.append(&mut reassessed.problems);
    if let DriveOutcome::Finished(_) = outcome {
        conclude(ctx, policy.as_ref(), &mut driven).await;
        anchor(ctx, &inventory, &mut driven).await;
    }
    problems.append(&mut driven.problems);
    driven.problems = problems;
    Ok(driven)
}

/// Its postmortem when hosts failed or were rolled back, and the owners told.
async fn conclude(ctx: &Context, policy: Option<&model::policy::Policy>, driven: &mut Driven) {
    let config = super::ConcludeConfig {
        notifications: policy.map(|p| p.notifications()),
        postmortem_due: policy
            .map_or(model::postmortem::DEFAULT_DUE_AFTER, |p| p.compliance().postmortem_due),
    };
    let id = driven.rollout.clone();
    let Ok(store) = ctx.store().await else { return };
    match super::conclude(store, &id, &config, ctx.clock.now_seconds()).await {
        Ok(conclusion) => {
            driven.problems.extend(conclusion.notified.iter().flat_map(|n| n.problems()));
            driven.postmortem = conclusion.postmortem;
        }
        Err(error) => driven.problems.push(format!("after rollout {id}: {error}")),
    }
}

/// The journal's head goes to the anchor file: a later rewrite of the database is found
/// against it. Dated by the real clock, whatever `--now` says.
async fn anchor(ctx: &Context, inventory: &model::Inventory, driven: &mut Driven) {
    let file = ctx.sources.anchor_file(Some(inventory));
    let id = driven.rollout.clone();
    let Ok(store) = ctx.store().await else { return };
    let syslog = inventory.audit().syslog;
    match crate::audit::anchor_rollout(store, &id, &file, syslog, ctx.clock.real_unix()).await {
        Ok(report) if report.is_intact() => {}
        Ok(report) => {
            for chain in report.chains.iter().filter(|c| c.problem.is_some()) {
                driven.problems.push(format!(
                    "the journal of {} is not intact: {}",
                    chain.chain,
                    chain.problem.as_deref().unwrap_or_default()
                ));
            }
        }
        Err(error) => {
            driven.problems.push(format!("exporting the head of rollout {id}'s journal: {error}"))
        }
    }
}

/// `rollback ROLLOUT [--host H]...`: each host named (by default every host done or failed)
/// rolled back to the versions recorded before the rollout, driven here.
pub async fn roll_back(
    ctx: &Context,
    rollout: &str,
    hosts: &[String],
    options: &RunOptions,
    stop: impl Future<Output = ()>,
) -> Result<Driven, RolloutError> {
    let done_or_failed = |s: &HostState| matches!(s, HostState::Done | HostState::Failed { .. });
    let id = ask_each(ctx, rollout, hosts, done_or_failed, "to roll back", |host| {
        Input::RollBack { host }
    })
    .await?;
    drive_here(ctx, &id, options, stop).await
}

/// `rollout reconcile ROLLOUT [--host H]...`: each host named (by default every lost host)
/// looked at again and finished or rolled back, driven here. Never applies a second time.
pub async fn reconcile(
    ctx: &Context,
    rollout: &str,
    hosts: &[String],
    options: &RunOptions,
    stop: impl Future<Output = ()>,
) -> Result<Driven, RolloutError> {
    let lost = |s: &HostState| matches!(s, HostState::Lost { .. });
    let id =
        ask_each(ctx, rollout, hosts, lost, "lost to reconcile", |host| Input::Reconcile { host })
            .await?;
    drive_here(ctx, &id, options, stop).await
}

/// Asks for `input` of each host named (or, when none is, of each host in the state `picked`
/// picks) and returns the rollout's id; no host at all is an error that says `what`.
async fn ask_each(
    ctx: &Context,
    rollout: &str,
    named: &[String],
    picked: impl Fn(&HostState) -> bool,
    what: &str,
    input: impl Fn(String) -> Input,
) -> Result<String, RolloutError> {
    let store = ctx.store().await?;
    let loaded = super::load(store, rollout).await?;
    let hosts: Vec<String> = if named.is_empty() {
        loaded.machine.hosts().filter(|(_, s)| picked(s)).map(|(h, _)| h.to_owned()).collect()
    } else {
        named.to_vec()
    };
    if hosts.is_empty() {
        return Err(RolloutError::Refused(format!("rollout {} has no host {what}", loaded.row.id)));
    }
    for host in hosts {
        let said =
            super::request(store, &loaded.row.id, input(host), &super::process_owner(), &ctx.actor)
                .await?;
        ctx.progress.notice(&said);
    }
    Ok(loaded.row.id)
}

/// Whether a drive's outcome is a success for the shell: completed with no host failed.
pub fn clean(driven: &Driven) -> bool {
    match driven.outcome {
        DriveOutcome::Finished(Phase::Completed) => driven.n_failed == 0,
        DriveOutcome::Finished(_) => false,
        DriveOutcome::Paused => true,
    }
}
