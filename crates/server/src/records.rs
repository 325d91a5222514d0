//! The record: postmortems, notification deliveries, and the evidence chains' verdict.

use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
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
    let number = id.strip_prefix("PM-").unwrap_or(&id).parse::<i64>().ok().filter(|n| *n > 0);
    let Some(number) = number else {
        return Err(ApiError::invalid(format!("{id:?} is not a postmortem id: expected a number")));
    };
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
