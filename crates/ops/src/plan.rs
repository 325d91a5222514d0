//! Making an action plan from the hosts' latest assessments, and keeping it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use model::advisory::AdvisoryIndex;
use model::emergency::EmergencySettings;
use model::plan::{
    Plan, PlanBaselines, PlanError, PlanHost, PlanOptions, ServiceRestarts, Track, build_plan,
};
use model::policy::Policy;
use model::promotion::{Refusal, check};
use model::released::{self, ReleaseDates, UpdateKey};
use model::{Assessment, ResolvedHost};
use store::{AssessmentOutcome, Store, SummaryOutcome};

#[derive(Debug, thiserror::Error)]
pub enum PlanCreateError {
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("reading the rollouts on record: {0}")]
    Evidence(#[from] crate::rollout::RolloutError),
    #[error(
        "the promotion gate refuses this plan:\n{}",
        .0.iter().map(|r| format!("  {r}")).collect::<Vec<_>>().join("\n")
    )]
    Gate(Vec<Refusal>),
    #[error(transparent)]
    Source(#[from] crate::SourceError),
    #[error("{0}")]
    Invalid(String),
}

/// Makes the plan for `hosts` from their latest assessments and saves it. A host whose latest
/// attempt failed is left out with that failure as the reason: a plan is never made from an
/// older state than the last one seen. With a `policy`, each host takes only the updates its
/// environment's baseline approves now (the others are listed in the plan with their rule,
/// `model::plan::PlanBaselines`), and the promotion gate applies: a host of an environment
/// may only receive versions verified on the environment before it, at least its soak
/// earlier; otherwise the plan is refused and not saved.
pub async fn create_plan(
    store: &Store,
    hosts: &[ResolvedHost],
    selectors: &[String],
    options: &PlanOptions,
    policy: Option<&Policy>,
    now_unix: i64,
) -> Result<Plan, PlanCreateError> {
    let baselines = policy.map(|policy| (policy, Track::Regular));
    let plan = make_plan(store, hosts, selectors, options, baselines, now_unix).await?;
    gate_and_save(store, plan, policy, now_unix).await
}

/// Saves `plan` unless the promotion gate of `policy` refuses it.
pub(crate) async fn gate_and_save(
    store: &Store,
    plan: Plan,
    policy: Option<&Policy>,
    now_unix: i64,
) -> Result<Plan, PlanCreateError> {
    if let Some(policy) = policy {
        let refusals = gate(store, &plan, policy, None, now_unix).await?;
        if !refusals.is_empty() {
            return Err(PlanCreateError::Gate(refusals));
        }
    }
    save_plan(store, plan).await
}

/// The plan for `hosts` from their latest assessments, not gated and not saved. With
/// `baselines`, the policy's baselines decide which updates each host takes, on that track.
pub(crate) async fn make_plan(
    store: &Store,
    hosts: &[ResolvedHost],
    selectors: &[String],
    options: &PlanOptions,
    baselines: Option<(&Policy, Track)>,
    now_unix: i64,
) -> Result<Plan, PlanCreateError> {
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let mut assessments: Vec<Assessment> = Vec::new();
    let mut failed = Vec::new();
    for row in store.latest_assessments(Some(&names)).await? {
        match row.outcome {
            SummaryOutcome::Assessed(_) => {
                if let Some(stored) = store.assessment(&row.id).await?
                    && let AssessmentOutcome::Assessed(assessment) = stored.record.outcome
                {
                    assessments.push(*assessment);
                }
            }
            SummaryOutcome::Failed(failure) => failed.push((row.host, failure.message)),
        }
    }
    // The advisories known now, not only those known when each host was assessed.
    let index = crate::advisories::load_index(store).await?;
    for assessment in &mut assessments {
        crate::advisories::annotate_assessment(&index, assessment);
    }
    let environments = || hosts.iter().map(|h| h.environment.as_str());
    let release_dates = match baselines {
        Some((policy, track))
            if PlanBaselines::need_release_dates(policy, track, environments()) =>
        {
            release_dates(store, &index).await?
        }
        _ => ReleaseDates::default(),
    };
    let baselines = baselines.map(|(policy, track)| PlanBaselines {
        policy,
        track,
        release_dates: &release_dates,
    });
    let policy = baselines.as_ref().map(|b| b.policy);
    let plan_hosts: Vec<PlanHost> = hosts
        .iter()
        .map(|host| PlanHost {
            restarts: ServiceRestarts::resolve(
                policy.and_then(|p| p.environment(&host.environment)).map(|e| e.restarts),
                options.restart_services,
            ),
            ..PlanHost::from(host)
        })
        .collect();
    let mut plan =
        build_plan(&plan_hosts, &assessments, selectors, options, baselines.as_ref(), now_unix)?;
    for (host, message) in failed {
        if let Some(excluded) = plan.excluded.iter_mut().find(|e| e.host == host) {
            excluded.reason = format!("its latest assessment failed: {message}");
        }
    }
    Ok(plan)
}

/// What release dates are known from: the date of every advisory on record that gives one,
/// and the first time each version was seen pending on any host the store knows (its whole
/// assessment history, which is why this is read only when a baseline counts days).
async fn release_dates(
    store: &Store,
    index: &AdvisoryIndex,
) -> Result<ReleaseDates, store::StoreError> {
    let mut advisories: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for advisory in index.advisories() {
        let Some(at) = advisory.published_at() else { continue };
        advisories
            .entry(advisory.id.clone())
            .and_modify(|earliest| *earliest = (*earliest).min(at))
            .or_insert(at);
    }
    let mut first_seen: BTreeMap<UpdateKey, i64> = BTreeMap::new();
    for host in store.hosts().await? {
        let history = crate::history::assessment_history(store, &host.name).await?;
        for (key, seen) in released::first_seen(&history) {
            first_seen.entry(key).and_modify(|s| *s = (*s).min(seen)).or_insert(seen);
        }
    }
    Ok(ReleaseDates::new(advisories, first_seen))
}

/// Gives `plan` its id (the hash of its content) and saves it.
pub(crate) async fn save_plan(store: &Store, mut plan: Plan) -> Result<Plan, PlanCreateError> {
    plan.id = plan.content_hash();
    let body =
        serde_json::to_string(&protocol::plan::PlanV1::from(&plan)).expect("a plan serializes");
    store.save_plan(&plan.id, plan.created_at_unix, &body).await?;
    Ok(plan)
}

/// A saved plan by id or unique prefix, checked to be intact.
pub async fn load_plan(store: &Store, id: &str) -> Result<Option<Plan>, LoadPlanError> {
    let Some(stored) = store.plan(id).await? else { return Ok(None) };
    let plan: Plan = serde_json::from_str::<protocol::plan::PlanV1>(&stored.body_json)
        .map(Plan::from)
        .map_err(|e| LoadPlanError::Unreadable(stored.id.clone(), e.to_string()))?;
    if plan.id != stored.id || !plan.is_intact() {
        return Err(LoadPlanError::Tampered(stored.id));
    }
    Ok(Some(plan))
}

#[derive(Debug, thiserror::Error)]
pub enum LoadPlanError {
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error("plan {0} cannot be read: {1}")]
    Unreadable(String, String),
    #[error("plan {0} was changed after it was made: its content no longer has its id")]
    Tampered(String),
    #[error(transparent)]
    Source(#[from] crate::SourceError),
    #[error("no plan matches `{0}`")]
    Unknown(String),
}

impl LoadPlanError {
    /// Whether the id names no plan (none, several, or not an id): the caller's mistake.
    pub fn names_no_plan(&self) -> bool {
        use store::StoreError::{AmbiguousId, InvalidId};
        matches!(
            self,
            LoadPlanError::Unknown(_) | LoadPlanError::Store(InvalidId { .. } | AmbiguousId { .. })
        )
    }
}

/// What the promotion gate refuses in `plan`. An emergency plan (`emergency`) waits at most the
/// emergency's soak cap, and its first environment with hosts waits for none before it.
pub(crate) async fn gate(
    store: &Store,
    plan: &Plan,
    policy: &Policy,
    emergency: Option<&EmergencySettings>,
    now_unix: i64,
) -> Result<Vec<Refusal>, PlanCreateError> {
    let now = chrono::DateTime::from_timestamp(now_unix, 0).unwrap_or_default();
    let mut environments: Vec<&str> = plan.hosts.iter().map(|h| h.environment.as_str()).collect();
    environments.sort();
    environments.dedup();
    // Replaying every rollout's journal is the costly part: only when something is gated.
    let gated = environments.iter().any(|e| policy.previous_environment(e).is_some());
    if !gated {
        return Ok(Vec::new());
    }
    let evidence = crate::promotion::verified_versions(store).await?;
    // The emergency starts where the exposure starts: its earliest environment waits for none
    // before it, unless the one before it has verified some of its versions already (an
    // earlier run of the emergency patched it).
    let first =
        policy.environment_order().into_iter().find(|name| environments.contains(&name.as_str()));
    if emergency.is_some()
        && let Some(first) = first
        && !previous_verified_some(plan, policy, &first, &evidence)
    {
        environments.retain(|e| *e != first);
    }
    let mut refusals = Vec::new();
    for environment in environments {
        let (Some(this), Some(previous)) =
            (policy.environment(environment), policy.previous_environment(environment))
        else {
            continue;
        };
        let evidence = &evidence;
        let soak = emergency.map_or(this.soak, |settings| settings.capped_soak(this.soak));
        refusals.extend(check(plan, environment, &previous.name, soak, evidence, now));
    }
    Ok(refusals)
}

/// Whether the environment before `environment` verified any version `plan` gives its hosts.
fn previous_verified_some(
    plan: &Plan,
    policy: &Policy,
    environment: &str,
    evidence: &[model::promotion::Verified],
) -> bool {
    let Some(previous) = policy.previous_environment(environment) else { return false };
    plan.hosts.iter().filter(|h| h.environment == environment).flat_map(|h| &h.changes).any(
        |change| {
            evidence.iter().any(|v| {
                v.environment == previous.name
                    && v.name == change.name
                    && v.arch == change.arch
                    && v.version == change.to
            })
        },
    )
}

/// Where a saved plan stands, for `plan list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanState {
    /// Not approved yet (not requested, or some rule not met), or no policy to approve it.
    Draft,
    Approved,
    Rejected,
    /// It has a rollout (finished or not).
    Run,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Draft => "draft",
            PlanState::Approved => "approved",
            PlanState::Rejected => "rejected",
            PlanState::Run => "run",
        }
    }
}

/// One saved plan in `plan list`.
#[derive(Debug, Clone)]
pub struct PlanListing {
    pub id: String,
    pub created_at_unix: i64,
    pub state: PlanState,
    /// The plan's newest rollout and its phase, when it has one.
    pub rollout: Option<(String, String)>,
    pub hosts: usize,
    pub changes: usize,
    pub selectors: Vec<String>,
    pub goals: Vec<String>,
}

impl From<&PlanListing> for protocol::output::plan::PlanListingV1 {
    fn from(listing: &PlanListing) -> Self {
        protocol::output::plan::PlanListingV1 {
            id: listing.id.clone(),
            created_at_unix: listing.created_at_unix,
            state: listing.state.as_str().to_owned(),
            rollout: listing.rollout.clone(),
            hosts: listing.hosts as u64,
            changes: listing.changes as u64,
            selectors: listing.selectors.clone(),
            goals: listing.goals.clone(),
        }
    }
}

/// Every saved plan, newest first, with where it stands under `policy` (without one, a plan
/// that has not run is a draft: nothing approves it).
pub async fn list_plans(
    store: &Store,
    policy: Option<&model::policy::Policy>,
) -> Result<Vec<PlanListing>, crate::change::ChangeError> {
    let rollouts = store.rollouts().await?;
    let mut listings = Vec::new();
    let mut summaries = store.plans().await?;
    summaries.sort_by(|a, b| b.created_at_unix.cmp(&a.created_at_unix).then(a.id.cmp(&b.id)));
    for summary in summaries {
        let plan = load_plan(store, &summary.id)
            .await
            .map_err(|e| crate::change::ChangeError::Refused(e.to_string()))?
            .ok_or_else(|| {
                crate::change::ChangeError::Refused(format!("plan {} vanished", summary.id))
            })?;
        // Newest first: the first is the latest rollout.
        let rollout = rollouts
            .iter()
            .find(|row| row.plan_id == plan.id)
            .map(|row| (row.id.clone(), row.phase.to_string()));
        let state = match (&rollout, policy) {
            (Some(_), _) => PlanState::Run,
            (None, None) => PlanState::Draft,
            (None, Some(policy)) => {
                match crate::change::change(store, policy, plan.clone()).await?.status.state {
                    model::change::ChangeState::Approved => PlanState::Approved,
                    model::change::ChangeState::Rejected => PlanState::Rejected,
                    _ => PlanState::Draft,
                }
            }
        };
        listings.push(PlanListing {
            id: plan.id.clone(),
            created_at_unix: plan.created_at_unix,
            state,
            rollout,
            hosts: plan.hosts.len(),
            changes: plan.hosts.iter().map(|h| h.changes.len()).sum(),
            selectors: plan.selectors.clone(),
            goals: plan.options.goals.clone(),
        });
    }
    Ok(listings)
}

/// `plan create SELECTOR...`: the plan for the selected hosts with `options` (the policy sets
/// the environments' order and, when none are typed, the goals), gated and saved, at the
/// clock's now.
pub async fn create(
    ctx: &crate::Context,
    selectors: &[String],
    mut options: PlanOptions,
    goals: &[String],
) -> Result<(Plan, Option<Policy>), PlanCreateError> {
    let hosts = ctx.hosts(selectors)?;
    let policy = ctx.sources.policy_or_none()?;
    if let Some(policy) = &policy {
        options.environment_order = policy.environment_order();
    }
    options.goals = plan_goals(goals, policy.as_ref(), &hosts).map_err(PlanCreateError::Invalid)?;
    let store = ctx.store().await?;
    let now = ctx.clock.now_unix();
    let plan = create_plan(store, &hosts, selectors, &options, policy.as_ref(), now).await?;
    Ok((plan, policy))
}

/// The goals typed (each checked), else the policy's for the environments of `hosts`.
fn plan_goals(
    typed: &[String],
    policy: Option<&Policy>,
    hosts: &[ResolvedHost],
) -> Result<Vec<String>, String> {
    if !typed.is_empty() {
        return typed
            .iter()
            .map(|goal| {
                model::policy::check_goal(goal).map_err(|why| format!("--goal {goal:?}: {why}"))
            })
            .collect();
    }
    let Some(policy) = policy else { return Ok(Vec::new()) };
    let mut goals: Vec<String> = Vec::new();
    for environment in policy.environments() {
        if hosts.iter().any(|h| h.environment == environment.name) {
            for goal in &environment.goals {
                if !goals.contains(goal) {
                    goals.push(goal.clone());
                }
            }
        }
    }
    Ok(goals)
}

/// `plan show PLAN`: a saved plan by id or unique prefix.
pub async fn show(ctx: &crate::Context, plan: &str) -> Result<Plan, LoadPlanError> {
    load_plan(ctx.store().await?, plan)
        .await?
        .ok_or_else(|| LoadPlanError::Unknown(plan.to_owned()))
}

/// `plan list`: every saved plan with where it stands under the policy (if any).
pub async fn list(
    ctx: &crate::Context,
) -> Result<(Vec<PlanListing>, Option<Policy>), crate::change::ChangeError> {
    let policy = ctx.sources.policy()?;
    let listings = list_plans(ctx.store().await?, policy.as_ref()).await?;
    Ok((listings, policy))
}

/// A plan's record, as `plan show` prints it: its change journal, each host's checks and
/// hooks from the inventory (when there is one), at the clock's now.
pub async fn record(
    ctx: &crate::Context,
    plan: &Plan,
    policy: Option<&Policy>,
) -> Result<model::plan::PlanRecord, crate::change::ChangeError> {
    let change = crate::change::change_actions(ctx.store().await?, &plan.id).await?;
    let steps = match ctx.inventory() {
        Ok(inventory) => {
            let mut steps = BTreeMap::new();
            for host in &plan.hosts {
                if let Some(resolved) = inventory.host(&host.host) {
                    let configured = model::checks::host_checks(resolved)
                        .map_err(crate::change::ChangeError::Refused)?;
                    steps.insert(host.host.clone(), configured);
                }
            }
            Some(steps)
        }
        Err(_) => None,
    };
    // As `rollout start` would run it with its default options.
    let mut config = rollout::Config::from_plan(plan, |_| false);
    crate::rollout::RunOptions::default().adjust(&mut config);
    let forecast = crate::forecast::plan_forecast(
        ctx.store().await?,
        plan,
        &crate::forecast::forecast_config(&config),
    )
    .await
    .map_err(|e| crate::change::ChangeError::Refused(format!("forecasting the waves: {e}")))?;
    let inputs = model::plan::RecordInputs {
        now: ctx.clock.now_seconds(),
        policy,
        change: &change,
        steps: steps.as_ref(),
        forecast: &forecast,
    };
    Ok(model::plan::record(plan, &inputs))
}
