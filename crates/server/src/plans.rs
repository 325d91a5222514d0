//! Plans and their changes: list, show, create, and the acts on a change (request, approve, reject),
//! each as the authenticated caller, through the same use case as `patchctl change`, whose
//! rules refuse the requester's own approval whatever role they hold.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use model::change::ChangeKind;
use model::plan::{PlanOptions, Scope};
use ops::change::Act;
use ops::identity::Identity;
use protocol::api::{ChangeDecisionV1, ChangeRequestV1, NewPlanV1, PlanScopeV1};
use protocol::output::change::{ChangeListingV1, ChangeShowV1};
use protocol::output::plan::{PlanListingV1, PlanRecordV1, PlanShowV1};
use protocol::output::schedule::ScheduleV1;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::fleet::PageQuery;
use crate::page::{Params, Window, page};

type Shared = State<Arc<AppState>>;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PlanQuery {
    /// Only plans in this state: `draft`, `approved`, `rejected` or `run`.
    #[param(pattern = "^(draft|approved|rejected|run)$")]
    status: Option<String>,
    /// At most this many (1 to 1000; 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Skip this many.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<usize>,
}

/// The saved plans, newest first.
#[utoipa::path(get, path = "/api/plans", tag = "plans", params(PlanQuery),
    responses((status = 200, body = Vec<PlanListingV1>)))]
pub(crate) async fn plans(
    State(state): Shared,
    uri: OriginalUri,
    Params(query): Params<PlanQuery>,
) -> Result<Response, ApiError> {
    let wanted = match query.status.as_deref() {
        None => None,
        Some(text) => Some(
            [ops::PlanState::Draft, ops::PlanState::Approved]
                .into_iter()
                .chain([ops::PlanState::Rejected, ops::PlanState::Run])
                .find(|s| s.as_str() == text)
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "status={text}: expected draft, approved, rejected or run"
                    ))
                })?,
        ),
    };
    let (listings, _policy) =
        ops::plan::list(&state.ctx).await.map_err(|e| ApiError::from_change(&state.ctx, e))?;
    let plans = listings
        .iter()
        .filter(|plan| wanted.is_none_or(|state| plan.state == state))
        .map(PlanListingV1::from)
        .collect();
    page(plans, Window { limit: query.limit, offset: query.offset }, &uri)
}

/// A plan: its stored form and its record (goal, windows, milestones, approvals, checks).
#[utoipa::path(get, path = "/api/plans/{plan}", tag = "plans",
    params(("plan" = String, Path, description = "A plan's id or a prefix of it")),
    responses((status = 200, body = PlanShowV1)))]
pub(crate) async fn plan(
    State(state): Shared,
    Path(plan): Path<String>,
) -> Result<Json<PlanShowV1>, ApiError> {
    let ctx = &state.ctx;
    let plan = ops::plan::show(ctx, &plan).await.map_err(|e| ApiError::from_plan(ctx, e))?;
    let policy = ctx.sources.policy().map_err(|e| ApiError::from_source(ctx, e))?;
    let record = ops::plan::record(ctx, &plan, policy.as_ref())
        .await
        .map_err(|e| ApiError::from_change(ctx, e))?;
    Ok(Json(PlanShowV1 { plan: (&plan).into(), record: PlanRecordV1::from(&record) }))
}

/// A plan's change: each environment's rule, who approved, what is missing, the journal.
#[utoipa::path(get, path = "/api/changes/{plan}", tag = "plans",
    params(("plan" = String, Path, description = "A plan's id or a prefix of it")),
    responses((status = 200, body = ChangeShowV1)))]
pub(crate) async fn change(
    State(state): Shared,
    Path(plan): Path<String>,
) -> Result<Json<ChangeShowV1>, ApiError> {
    let change = ops::change::show(&state.ctx, &plan)
        .await
        .map_err(|e| ApiError::from_change(&state.ctx, e))?;
    Ok(Json(change.output()))
}

/// Asks for the plan to be approved, as the caller.
#[utoipa::path(post, path = "/api/changes/{plan}/request", tag = "plans",
    params(("plan" = String, Path, description = "A plan's id or a prefix of it")),
    request_body(content = Option<ChangeRequestV1>, content_type = "application/json"),
    responses((status = 200, body = ChangeShowV1)))]
pub(crate) async fn request(
    state: Shared,
    identity: Extension<Identity>,
    plan: Path<String>,
    body: Bytes,
) -> Result<Json<ChangeShowV1>, ApiError> {
    let request: ChangeRequestV1 = crate::body::json_or_default(&body)?;
    act(state, identity, plan, ChangeKind::Request, request).await
}

/// Approves the plan as the caller, by the policy's rules: never the requester's own.
#[utoipa::path(post, path = "/api/changes/{plan}/approve", tag = "plans",
    params(("plan" = String, Path, description = "A plan's id or a prefix of it")),
    request_body(content = Option<ChangeDecisionV1>, content_type = "application/json"),
    responses((status = 200, body = ChangeShowV1)))]
pub(crate) async fn approve(
    state: Shared,
    identity: Extension<Identity>,
    plan: Path<String>,
    body: Bytes,
) -> Result<Json<ChangeShowV1>, ApiError> {
    let decision: ChangeDecisionV1 = crate::body::json_or_default(&body)?;
    act(state, identity, plan, ChangeKind::Approve, decided(decision)).await
}

/// Rejects the plan as the caller: final for this plan.
#[utoipa::path(post, path = "/api/changes/{plan}/reject", tag = "plans",
    params(("plan" = String, Path, description = "A plan's id or a prefix of it")),
    request_body(content = Option<ChangeDecisionV1>, content_type = "application/json"),
    responses((status = 200, body = ChangeShowV1)))]
pub(crate) async fn reject(
    state: Shared,
    identity: Extension<Identity>,
    plan: Path<String>,
    body: Bytes,
) -> Result<Json<ChangeShowV1>, ApiError> {
    let decision: ChangeDecisionV1 = crate::body::json_or_default(&body)?;
    act(state, identity, plan, ChangeKind::Reject, decided(decision)).await
}

fn decided(decision: ChangeDecisionV1) -> ChangeRequestV1 {
    ChangeRequestV1 { ticket: None, comment: decision.comment }
}

/// One act on a change, recorded with the authenticated user as its actor.
async fn act(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Path(plan): Path<String>,
    kind: ChangeKind,
    request: ChangeRequestV1,
) -> Result<Json<ChangeShowV1>, ApiError> {
    let act = Act { kind, actor: identity.user, ticket: request.ticket, comment: request.comment };
    let change = ops::change::record(&state.ctx, &plan, act)
        .await
        .map_err(|e| ApiError::from_change(&state.ctx, e))?;
    for problem in change.notified.iter().flat_map(|n| n.problems()) {
        state.ctx.progress.notice(&format!("server: {problem}"));
    }
    Ok(Json(change.output()))
}

/// Plans the pending updates of the selected hosts, from their latest assessments: what
/// `patchctl plan create` does, saved the same way.
#[utoipa::path(post, path = "/api/plans", tag = "plans", request_body = NewPlanV1,
    responses((status = 201, description = "The plan saved, with its record", body = PlanShowV1)))]
pub(crate) async fn create(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Result<(StatusCode, Json<PlanShowV1>), ApiError> {
    let request: NewPlanV1 = crate::body::json(&body)?;
    let options = plan_options(&request)?;
    let ctx = &state.ctx;
    let (plan, policy) = ops::plan::create(ctx, &request.selectors, options, &request.goals)
        .await
        .map_err(|e| ApiError::from_plan_create(ctx, e))?;
    ctx.progress.notice(&format!("server: {} created plan {}", identity.user, plan.id));
    let record = ops::plan::record(ctx, &plan, policy.as_ref())
        .await
        .map_err(|e| ApiError::from_change(ctx, e))?;
    let shown = PlanShowV1 { plan: (&plan).into(), record: PlanRecordV1::from(&record) };
    Ok((StatusCode::CREATED, Json(shown)))
}

/// `plan create`'s options from the body, each with the command's default.
fn plan_options(request: &NewPlanV1) -> Result<PlanOptions, ApiError> {
    if request.selectors.is_empty() {
        return Err(ApiError::invalid("selectors: name at least one (`all` for every host)"));
    }
    let scope = match request.scope.unwrap_or(PlanScopeV1::All) {
        PlanScopeV1::All if request.packages.is_empty() => Scope::All,
        PlanScopeV1::Packages if !request.packages.is_empty() => {
            Scope::Packages(request.packages.clone())
        }
        PlanScopeV1::SecurityOnly if request.packages.is_empty() => Scope::SecurityOnly,
        PlanScopeV1::KernelOnly if request.packages.is_empty() => Scope::KernelOnly,
        _ => {
            return Err(ApiError::invalid(
                "packages go with scope = packages, and scope = packages needs packages",
            ));
        }
    };
    fn parsed<T: std::str::FromStr>(name: &str, text: Option<&str>) -> Result<Option<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        text.map(|text| {
            text.parse::<T>().map_err(|e| ApiError::invalid(format!("{name} {text:?}: {e}")))
        })
        .transpose()
    }
    if request.canary.is_some_and(|n| n > 1000) || request.keep_kernels.is_some_and(|n| n > 100) {
        return Err(ApiError::invalid("canary is at most 1000, keep_kernels at most 100"));
    }
    let mut options = PlanOptions { scope, ..PlanOptions::default() };
    if let Some(reboot) = parsed("reboot", request.reboot.as_deref())? {
        options.reboot = reboot;
    }
    options.strategy.canary = request.canary.map_or(1, |n| n as usize);
    options.strategy.max_unavailable =
        parsed("max_unavailable", Some(request.max_unavailable.as_deref().unwrap_or("25%")))?
            .expect("given");
    options.strategy.error_budget =
        parsed("error_budget", Some(request.error_budget.as_deref().unwrap_or("0")))?
            .expect("given");
    options.keep_kernels = request.keep_kernels.map_or(2, |n| n as usize);
    options.restart_services = parsed("restart_services", request.restart_services.as_deref())?;
    Ok(options)
}

/// Every plan with hosts, with its change's state, newest first (`patchctl change list`).
#[utoipa::path(get, path = "/api/changes", tag = "plans", params(PageQuery),
    responses((status = 200, body = Vec<ChangeListingV1>)))]
pub(crate) async fn changes(
    State(state): Shared,
    uri: OriginalUri,
    Params(query): Params<PageQuery>,
) -> Result<Response, ApiError> {
    let candidates =
        ops::change::list(&state.ctx).await.map_err(|e| ApiError::from_scheduler(&state.ctx, e))?;
    page(candidates.iter().map(ops::change::listing_output).collect(), query.window(), &uri)
}

/// What runs next, where, when and why: each environment of the policy with its open and next
/// windows, the windows blackouts take away, and the plan it runs (`patchctl schedule`).
#[utoipa::path(get, path = "/api/schedule", tag = "plans",
    responses((status = 200, body = ScheduleV1)))]
pub(crate) async fn schedule(State(state): Shared) -> Result<Json<ScheduleV1>, ApiError> {
    let (policy, now, outlooks) = ops::scheduler::schedule(&state.ctx)
        .await
        .map_err(|e| ApiError::from_scheduler(&state.ctx, e))?;
    Ok(Json(ops::scheduler::schedule_output(&policy, now, &outlooks)))
}
