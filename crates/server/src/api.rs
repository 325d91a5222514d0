//! The handlers: each parses the request, calls one function of `ops` with the authenticated
//! identity where the use case records an actor, and maps the result to JSON (wire types of
//! their own, converted by hand) or an [`ApiError`].

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Path, State};
use axum::http::StatusCode;
use model::change::ChangeKind;
use ops::change::Act;
use ops::identity::Identity;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::peer::Peer;

type Shared = State<Arc<AppState>>;

/// The process is up.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// The state database answers.
pub(crate) async fn readyz(State(state): Shared) -> Result<&'static str, ApiError> {
    ops::health::ready(&state.ctx).await.map_err(|e| {
        state.ctx.progress.notice(&format!("server: not ready: {e}"));
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "the state database does not answer",
        )
    })?;
    Ok("ready\n")
}

#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    user: String,
    password: String,
}

#[derive(Serialize)]
pub(crate) struct TokenResponse {
    token: String,
    id: String,
    user: String,
    role: String,
    expires_at_unix: Option<i64>,
}

/// A login: refused unchecked while the client's address is over the rate limit; a wrong
/// user or password counts against it.
pub(crate) async fn login(
    State(state): Shared,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Json(request): Json<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let ctx = &state.ctx;
    if !state.failed_logins.allows(&state.rate_limit, peer.ip(), ctx.clock.now_unix()) {
        let message = format!("too many failed logins from {}: wait a minute", peer.ip());
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", message));
    }
    let issued = ops::identity::login(ctx, &request.user, &request.password, &state.login)
        .await
        .map_err(|e| {
            if matches!(e, ops::identity::IdentityError::BadCredentials) {
                state.failed_logins.failed(peer.ip(), ctx.clock.now_unix());
            }
            ApiError::from_identity(ctx, e)
        })?;
    Ok(Json(TokenResponse {
        token: issued.secret,
        id: issued.id,
        user: issued.user,
        role: issued.role.to_string(),
        expires_at_unix: issued.expires_at_unix,
    }))
}

#[derive(Serialize)]
pub(crate) struct HostJson {
    name: String,
    address: String,
    port: u16,
    environment: String,
    groups: Vec<String>,
    tags: Vec<String>,
    owner: Option<String>,
    /// `apt`, `dnf`, or `None` when detected at assessment.
    package_manager: Option<String>,
    transport: String,
}

pub(crate) async fn hosts(State(state): Shared) -> Result<Json<Vec<HostJson>>, ApiError> {
    let inventory =
        state.ctx.sources.inventory().map_err(|e| ApiError::internal(&state.ctx, &e))?;
    let hosts = inventory
        .hosts()
        .iter()
        .map(|host| HostJson {
            name: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            environment: host.environment.clone(),
            groups: host.groups.clone(),
            tags: host.tags.clone(),
            owner: host.owner.clone(),
            package_manager: host.package_manager.map(|kind| kind.to_string()),
            transport: host.transport.as_str().to_owned(),
        })
        .collect();
    Ok(Json(hosts))
}

#[derive(Serialize)]
pub(crate) struct PlanJson {
    id: String,
    created_at_unix: i64,
    /// `draft`, `approved`, `rejected` or `run`.
    state: String,
    rollout: Option<String>,
    hosts: usize,
    changes: usize,
    selectors: Vec<String>,
    goals: Vec<String>,
}

pub(crate) async fn plans(State(state): Shared) -> Result<Json<Vec<PlanJson>>, ApiError> {
    let (listings, _policy) =
        ops::plan::list(&state.ctx).await.map_err(|e| ApiError::from_change(&state.ctx, e))?;
    let plans = listings
        .into_iter()
        .map(|plan| PlanJson {
            id: plan.id,
            created_at_unix: plan.created_at_unix,
            state: plan.state.as_str().to_owned(),
            rollout: plan.rollout.map(|(id, _phase)| id),
            hosts: plan.hosts,
            changes: plan.changes,
            selectors: plan.selectors,
            goals: plan.goals,
        })
        .collect();
    Ok(Json(plans))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveRequest {
    comment: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct ChangeJson {
    plan: String,
    /// `draft`, `requested`, `approved`, `rejected`.
    state: String,
    requested_by: Option<String>,
    /// What is still missing before the plan may run, per environment.
    missing: Vec<String>,
}

/// Approves the change of `plan` as the authenticated user, through the same use case as
/// `patchctl change approve`, whose rules refuse the requester's own approval.
pub(crate) async fn approve(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Path(plan): Path<String>,
    body: Bytes,
) -> Result<Json<ChangeJson>, ApiError> {
    let request: ApproveRequest = if body.is_empty() {
        ApproveRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string()))?
    };
    let act = Act {
        kind: ChangeKind::Approve,
        actor: identity.user,
        ticket: None,
        comment: request.comment,
    };
    let change = ops::change::record(&state.ctx, &plan, act)
        .await
        .map_err(|e| ApiError::from_change(&state.ctx, e))?;
    Ok(Json(ChangeJson {
        plan: change.plan.id,
        state: change.status.state.as_str().to_owned(),
        requested_by: change.status.requested_by.clone(),
        missing: change.status.missing(),
    }))
}
