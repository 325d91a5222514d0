//! The record: postmortems (list, show, open, close), notification deliveries, and the
//! evidence chains' verdict.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use model::postmortem::{DEFAULT_DUE_AFTER, Subject};
use ops::identity::Identity;
use ops::postmortem::NewPostmortemRequest;
use protocol::api::{ClosePostmortemV1, NewPostmortemV1};
use protocol::output::audit::AuditReportV1;
use protocol::output::notification::DeliveryV1;
use protocol::output::postmortem::PostmortemV1;

use crate::AppState;
use crate::error::ApiError;
use crate::fleet::PageQuery;
use crate::page::{Params, page};

type Shared = State<Arc<AppState>>;

/// Root-cause records after rollbacks and emergencies.
#[utoipa::path(get, path = "/api/postmortems", tag = "records", params(PageQuery),
    responses((status = 200, body = Vec<PostmortemV1>)))]
pub(crate) async fn postmortems(
    State(state): Shared,
    uri: OriginalUri,
    Params(query): Params<PageQuery>,
) -> Result<Response, ApiError> {
    let all =
        ops::postmortem::list(&state.ctx).await.map_err(|e| ApiError::from_query(&state.ctx, e))?;
    let now = state.ctx.clock.now_seconds();
    page(all.iter().map(|p| p.to_output(now)).collect(), query.window(), &uri)
}

/// A postmortem with its record.
#[utoipa::path(get, path = "/api/postmortems/{id}", tag = "records",
    params(("id" = i64, Path, minimum = 1, description = "The postmortem's number")),
    responses((status = 200, body = PostmortemV1)))]
pub(crate) async fn postmortem(
    State(state): Shared,
    Path(id): Path<String>,
) -> Result<Json<PostmortemV1>, ApiError> {
    let number = postmortem_number(&id)?;
    let found = ops::postmortem::show(&state.ctx, number)
        .await
        .map_err(|e| ApiError::from_query(&state.ctx, e))?;
    let Some((postmortem, events)) = found else {
        return Err(ApiError::not_found(format!("no postmortem has the id {number}")));
    };
    let mut document = postmortem.to_output(state.ctx.clock.now_seconds());
    document.record = Some(events.iter().map(ops::postmortem::entry_output).collect());
    Ok(Json(document))
}

/// Every notification delivery attempt on record.
#[utoipa::path(get, path = "/api/notifications", tag = "records", params(PageQuery),
    responses((status = 200, body = Vec<DeliveryV1>)))]
pub(crate) async fn notifications(
    State(state): Shared,
    uri: OriginalUri,
    Params(query): Params<PageQuery>,
) -> Result<Response, ApiError> {
    let all = ops::notify::deliveries(&state.ctx)
        .await
        .map_err(|e| ApiError::from_query(&state.ctx, e))?;
    page(all.iter().map(ops::notify::delivery_output).collect(), query.window(), &uri)
}

/// Every evidence chain checked (rollout journals, change journals, postmortems, deliveries),
/// against the heads exported before to the anchor file; the heads exported again.
#[utoipa::path(get, path = "/api/audit", tag = "records",
    responses((status = 200, body = AuditReportV1)))]
pub(crate) async fn audit(State(state): Shared) -> Result<Json<AuditReportV1>, ApiError> {
    let report = ops::audit::check(&state.ctx, &ops::audit::Scope::All)
        .await
        .map_err(|e| ApiError::from_query(&state.ctx, e))?;
    Ok(Json(AuditReportV1::from(&report)))
}

/// Opens a postmortem by hand, as the caller; one per subject (a subject that has one is a
/// conflict, naming it).
#[utoipa::path(post, path = "/api/postmortems", tag = "records", request_body = NewPostmortemV1,
    responses((status = 201, body = PostmortemV1)))]
pub(crate) async fn open(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Result<(StatusCode, Json<PostmortemV1>), ApiError> {
    let request: NewPostmortemV1 = crate::body::json(&body)?;
    let ctx = &state.ctx;
    let subject = match (request.rollout, request.advisory, request.emergency) {
        (Some(rollout), None, None) => Subject::Rollout(rollout),
        (None, Some(advisory), None) => Subject::Advisory(advisory),
        (None, None, Some(emergency)) => Subject::Emergency(emergency),
        (None, None, None) => Subject::Other(request.title.clone()),
        _ => return Err(ApiError::invalid("name at most one of rollout, advisory, emergency")),
    };
    let due_after = match request.due_hours {
        Some(hours) if (1..=8784).contains(&hours) => chrono_hours(hours),
        Some(_) => return Err(ApiError::invalid("due_hours is from 1 to 8784")),
        None => ctx
            .sources
            .policy()
            .map_err(|e| ApiError::from_source(ctx, e))?
            .map_or(DEFAULT_DUE_AFTER, |p| p.compliance().postmortem_due),
    };
    let new = NewPostmortemRequest {
        subject,
        title: request.title,
        hosts: request.hosts,
        owner: request.owner,
        due_after,
        opened_by: identity.user,
    };
    let (opened, new) =
        ops::postmortem::open(ctx, &new).await.map_err(|e| ApiError::from_postmortem(ctx, e))?;
    let now = ctx.clock.now_seconds();
    if !new {
        let message = format!(
            "postmortem {} is already about {} ({})",
            opened.id,
            opened.subject,
            opened.status(now).as_str()
        );
        return Err(ApiError::new(StatusCode::CONFLICT, "exists", message));
    }
    Ok((StatusCode::CREATED, Json(opened.to_output(now))))
}

/// Closes a postmortem with its root cause, as the caller.
#[utoipa::path(post, path = "/api/postmortems/{id}/close", tag = "records",
    params(("id" = i64, Path, minimum = 1, description = "The postmortem's number")),
    request_body = ClosePostmortemV1,
    responses((status = 200, body = PostmortemV1)))]
pub(crate) async fn close(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<PostmortemV1>, ApiError> {
    let number = postmortem_number(&id)?;
    let request: ClosePostmortemV1 = crate::body::json(&body)?;
    let ctx = &state.ctx;
    let closed =
        ops::postmortem::close(ctx, number, &request.root_cause, &request.actions, &identity.user)
            .await
            .map_err(|e| ApiError::from_postmortem(ctx, e))?;
    Ok(Json(closed.to_output(ctx.clock.now_seconds())))
}

fn chrono_hours(hours: u32) -> chrono::TimeDelta {
    chrono::TimeDelta::hours(i64::from(hours))
}

/// `7`, or `PM-7`.
pub(crate) fn postmortem_number(id: &str) -> Result<i64, ApiError> {
    let number = id.strip_prefix("PM-").unwrap_or(id).parse::<i64>().ok().filter(|n| *n > 0);
    number.ok_or_else(|| {
        ApiError::invalid(format!("{id:?} is not a postmortem id: expected a number"))
    })
}
