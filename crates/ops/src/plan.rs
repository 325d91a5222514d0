//! Making an action plan from the hosts' latest assessments, and keeping it.

use model::plan::{Plan, PlanError, PlanHost, PlanOptions, build_plan};
use model::policy::Policy;
use model::promotion::{Refusal, check};
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
}

/// Makes the plan for `hosts` from their latest assessments and saves it. A host whose latest
/// attempt failed is left out with that failure as the reason: a plan is never made from an
/// older state than the last one seen. With a `policy`, the promotion gate applies: a host of
/// an environment may only receive versions verified on the environment before it, at least
/// its soak earlier; otherwise the plan is refused and not saved.
pub async fn create_plan(
    store: &Store,
    hosts: &[ResolvedHost],
    selectors: &[String],
    options: &PlanOptions,
    policy: Option<&Policy>,
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
    let plan_hosts: Vec<PlanHost> = hosts.iter().map(PlanHost::from).collect();
    let mut plan = build_plan(&plan_hosts, &assessments, selectors, options, now_unix)?;
    for (host, message) in failed {
        if let Some(excluded) = plan.excluded.iter_mut().find(|e| e.host == host) {
            excluded.reason = format!("its latest assessment failed: {message}");
        }
    }
    if let Some(policy) = policy {
        let refusals = gate(store, &plan, policy, now_unix).await?;
        if !refusals.is_empty() {
            return Err(PlanCreateError::Gate(refusals));
        }
    }
    plan.id = plan.content_hash();
    let body = serde_json::to_string(&plan).expect("a plan serializes");
    store.save_plan(&plan.id, plan.created_at_unix, &body).await?;
    Ok(plan)
}

/// A saved plan by id or unique prefix, checked to be intact.
pub async fn load_plan(store: &Store, id: &str) -> Result<Option<Plan>, LoadPlanError> {
    let Some(stored) = store.plan(id).await? else { return Ok(None) };
    let plan: Plan = serde_json::from_str(&stored.body_json)
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
}

async fn gate(
    store: &Store,
    plan: &Plan,
    policy: &Policy,
    now_unix: i64,
) -> Result<Vec<Refusal>, PlanCreateError> {
    let now = chrono::DateTime::from_timestamp(now_unix, 0).unwrap_or_default();
    let mut environments: Vec<&str> = plan.hosts.iter().map(|h| h.environment.as_str()).collect();
    environments.sort();
    environments.dedup();
    let mut evidence = None;
    let mut refusals = Vec::new();
    for environment in environments {
        let (Some(this), Some(previous)) =
            (policy.environment(environment), policy.previous_environment(environment))
        else {
            continue;
        };
        if evidence.is_none() {
            evidence = Some(crate::promotion::verified_versions(store).await?);
        }
        let evidence = evidence.as_deref().unwrap_or_default();
        refusals.extend(check(plan, environment, &previous.name, this.soak, evidence, now));
    }
    Ok(refusals)
}
