//! Rollouts: list, status, report, start, and pause, resume, cancel. Pause and cancel are asked of
//! whoever drives the rollout, through its journal (`ops::rollout::ask`); resume has this
//! server drive it (`ops::rollout::drive_here` in a task of [`crate::drives::Drives`]), until it
//! ends or the server stops, which pauses it with its lease released.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ops::identity::Identity;
use ops::rollout::Input;
use protocol::api::StartRolloutV1;
use protocol::output::rollout::{
    RolloutActionV1, RolloutListingV1, RolloutReportV1, RolloutStatusV1,
};

use crate::AppState;
use crate::error::ApiError;
use crate::fleet::PageQuery;
use crate::page::{Params, page};

type Shared = State<Arc<AppState>>;

/// The rollouts on record, newest first.
#[utoipa::path(get, path = "/api/rollouts", tag = "rollouts", params(PageQuery),
    responses((status = 200, body = Vec<RolloutListingV1>)))]
pub(crate) async fn rollouts(
    State(state): Shared,
    uri: OriginalUri,
    Params(query): Params<PageQuery>,
) -> Result<Response, ApiError> {
    let rows =
        ops::rollout::list(&state.ctx).await.map_err(|e| ApiError::from_rollout(&state.ctx, e))?;
    page(rows.iter().map(ops::rollout::listing_output).collect(), query.window(), &uri)
}

/// Where a rollout is, host by host.
#[utoipa::path(get, path = "/api/rollouts/{rollout}", tag = "rollouts",
    params(("rollout" = String, Path, description = "A rollout's id, or its plan's (prefixes too)")),
    responses((status = 200, body = RolloutStatusV1)))]
pub(crate) async fn rollout(
    State(state): Shared,
    Path(rollout): Path<String>,
) -> Result<Json<RolloutStatusV1>, ApiError> {
    let loaded = ops::rollout::status(&state.ctx, &rollout)
        .await
        .map_err(|e| ApiError::from_rollout(&state.ctx, e))?;
    Ok(Json(ops::rollout::status_output(&loaded)))
}

/// What a rollout did: its summary, each host's steps, every command's output, whether its
/// journal is intact.
#[utoipa::path(get, path = "/api/rollouts/{rollout}/report", tag = "rollouts",
    params(("rollout" = String, Path, description = "A rollout's id, or its plan's (prefixes too)")),
    responses((status = 200, body = RolloutReportV1)))]
pub(crate) async fn report(
    State(state): Shared,
    Path(rollout): Path<String>,
) -> Result<Json<RolloutReportV1>, ApiError> {
    let report = ops::rollout::report_for(&state.ctx, &rollout)
        .await
        .map_err(|e| ApiError::from_rollout(&state.ctx, e))?;
    Ok(Json(report))
}

/// Starts nothing new; running steps finish.
#[utoipa::path(post, path = "/api/rollouts/{rollout}/pause", tag = "rollouts",
    params(("rollout" = String, Path, description = "A rollout's id, or its plan's (prefixes too)")),
    responses((status = 200, body = RolloutActionV1)))]
pub(crate) async fn pause(
    state: Shared,
    identity: Extension<Identity>,
    rollout: Path<String>,
) -> Result<Json<RolloutActionV1>, ApiError> {
    ask(state, identity, rollout, Input::Pause).await
}

/// Stops: hosts not yet changed are skipped, hosts being changed are seen to the end.
#[utoipa::path(post, path = "/api/rollouts/{rollout}/cancel", tag = "rollouts",
    params(("rollout" = String, Path, description = "A rollout's id, or its plan's (prefixes too)")),
    responses((status = 200, body = RolloutActionV1)))]
pub(crate) async fn cancel(
    state: Shared,
    identity: Extension<Identity>,
    rollout: Path<String>,
) -> Result<Json<RolloutActionV1>, ApiError> {
    ask(state, identity, rollout, Input::Cancel).await
}

async fn ask(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Path(rollout): Path<String>,
    input: Input,
) -> Result<Json<RolloutActionV1>, ApiError> {
    let what = format!("{input:?}").to_lowercase();
    // The journal names the login, never a name the request carries (it carries none).
    let said = ops::rollout::ask(&state.ctx, &rollout, input, &identity.user)
        .await
        .map_err(|e| ApiError::from_rollout(&state.ctx, e))?;
    state
        .ctx
        .progress
        .notice(&format!("server: {} asked {what} of {rollout}: {said}", identity.user));
    Ok(Json(RolloutActionV1 { rollout, said }))
}

/// Continues a paused or interrupted rollout from its journal, driven by this server.
#[utoipa::path(post, path = "/api/rollouts/{rollout}/resume", tag = "rollouts",
    params(("rollout" = String, Path, description = "A rollout's id, or its plan's (prefixes too)")),
    responses((status = 202, description = "The server drives it from now", body = RolloutActionV1)))]
pub(crate) async fn resume(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Path(rollout): Path<String>,
) -> Result<(StatusCode, Json<RolloutActionV1>), ApiError> {
    let loaded = ops::rollout::status(&state.ctx, &rollout)
        .await
        .map_err(|e| ApiError::from_rollout(&state.ctx, e))?;
    let id = loaded.row.id.clone();
    if loaded.machine.phase().is_final() {
        let phase = ops::rollout::phase_name(loaded.machine.phase());
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "finished",
            format!("rollout {id} is {phase}: there is nothing to resume"),
        ));
    }
    // Driven already, here or by another patchctl: a second drive would only wait for the
    // lease and give up while the first goes on.
    let leased = loaded.row.lease_expires_unix.filter(|until| *until > state.ctx.clock.real_unix());
    if let (Some(owner), Some(until)) = (&loaded.row.owner, leased) {
        let until = model::dates::rfc3339_unix(until);
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "driven",
            format!(
                "rollout {id} is driven by {owner} (its lease runs to {until}): it needs no resume"
            ),
        ));
    }
    state.ctx.progress.notice(&format!("server: {} resumed rollout {id}", identity.user));
    state.drives.spawn(state.ctx.clone(), id.clone(), identity.user.clone(), &state.run);
    let said = format!("rollout {id} is driven by this server from now");
    Ok((StatusCode::ACCEPTED, Json(RolloutActionV1 { rollout: id, said })))
}

/// Starts a plan's rollout as the caller (its journal names them), checked as `patchctl
/// rollout start` checks it (approval, windows, the forecast), then driven by this server
/// until it ends or the server stops, which pauses it with its lease released.
#[utoipa::path(post, path = "/api/rollouts", tag = "rollouts", request_body = StartRolloutV1,
    responses((status = 202, description = "Created; the server drives it from now", body = RolloutActionV1)))]
pub(crate) async fn start(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Result<(StatusCode, Json<RolloutActionV1>), ApiError> {
    let request: StartRolloutV1 = crate::body::json(&body)?;
    let request = ops::rollout::StartRequest {
        plan: request.plan,
        again: request.again,
        override_window: request.override_window,
        run: state.run.clone(),
        actor: Some(identity.user.clone()),
    };
    let id = ops::rollout::begin(&state.ctx, &request)
        .await
        .map_err(|e| ApiError::from_rollout(&state.ctx, e))?;
    state.ctx.progress.notice(&format!("server: {} started rollout {id}", identity.user));
    state.drives.spawn(state.ctx.clone(), id.clone(), identity.user.clone(), &state.run);
    let said = format!("rollout {id} started; this server drives it");
    Ok((StatusCode::ACCEPTED, Json(RolloutActionV1 { rollout: id, said })))
}
