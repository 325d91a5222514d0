//! The admin's handlers for users and tokens: each calls one function of `ops::identity` with
//! the authenticated admin as the actor on the identity record.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use model::access::Role;
use ops::identity::Identity;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;

type Shared = State<Arc<AppState>>;

fn role(text: &str) -> Result<Role, ApiError> {
    text.parse().map_err(|e: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid", e))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserRequest {
    name: String,
    role: String,
}

#[derive(Serialize)]
pub(crate) struct NewUserResponse {
    name: String,
    role: String,
    /// Shown this once; stored only as its hash.
    one_time_password: String,
}

pub(crate) async fn create_user(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Json(request): Json<NewUserRequest>,
) -> Result<(StatusCode, Json<NewUserResponse>), ApiError> {
    let role = role(&request.role)?;
    let password = ops::identity::create_user(&state.ctx, &identity.user, &request.name, role)
        .await
        .map_err(|e| ApiError::from_identity(&state.ctx, e))?;
    let created =
        NewUserResponse { name: request.name, role: role.to_string(), one_time_password: password };
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTokenRequest {
    user: String,
    role: String,
    /// Never expires when absent.
    hours: Option<i64>,
}

#[derive(Serialize)]
pub(crate) struct NewTokenResponse {
    /// Shown this once; stored only as its SHA-256.
    token: String,
    id: String,
    user: String,
    role: String,
    expires_at_unix: Option<i64>,
}

pub(crate) async fn create_token(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Json(request): Json<NewTokenRequest>,
) -> Result<(StatusCode, Json<NewTokenResponse>), ApiError> {
    let role = role(&request.role)?;
    if request.hours.is_some_and(|hours| !(1..=24 * 366).contains(&hours)) {
        let message = "hours must be from 1 to 8784, or absent for a token that never expires";
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid", message));
    }
    let seconds = request.hours.map(|hours| hours * 3600);
    let issued =
        ops::identity::create_token(&state.ctx, &identity.user, &request.user, role, seconds)
            .await
            .map_err(|e| ApiError::from_identity(&state.ctx, e))?;
    let created = NewTokenResponse {
        token: issued.secret,
        id: issued.id,
        user: issued.user,
        role: issued.role.to_string(),
        expires_at_unix: issued.expires_at_unix,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

pub(crate) async fn revoke_token(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let revoked = ops::identity::revoke_token(&state.ctx, &identity.user, &id)
        .await
        .map_err(|e| ApiError::from_identity(&state.ctx, e))?;
    if !revoked {
        let message = format!("no unrevoked token has the id {id}");
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not-found", message));
    }
    Ok(StatusCode::NO_CONTENT)
}
