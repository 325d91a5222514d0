//! The admin's handlers for users and tokens: each calls one function of `ops::identity` with
//! the authenticated admin as the actor on the identity record.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use model::access::Role;
use ops::identity::Identity;
use protocol::api::{NewTokenV1, NewUserV1, TokenV1, UserCreatedV1};

use crate::AppState;
use crate::error::ApiError;

type Shared = State<Arc<AppState>>;

/// A user, with a one-time password to give them.
#[utoipa::path(post, path = "/api/users", tag = "identity", request_body = NewUserV1,
    responses((status = 201, body = UserCreatedV1)))]
pub(crate) async fn create_user(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Result<(StatusCode, Json<UserCreatedV1>), ApiError> {
    let request: NewUserV1 = crate::body::json(&body)?;
    let role = Role::from(request.role);
    let password = ops::identity::create_user(&state.ctx, &identity.user, &request.name, role)
        .await
        .map_err(|e| ApiError::from_identity(&state.ctx, e))?;
    let created =
        UserCreatedV1 { name: request.name, role: role.into(), one_time_password: password };
    Ok((StatusCode::CREATED, Json(created)))
}

/// A token for a user, with at most the user's role.
#[utoipa::path(post, path = "/api/tokens", tag = "identity", request_body = NewTokenV1,
    responses((status = 201, body = TokenV1)))]
pub(crate) async fn create_token(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Result<(StatusCode, Json<TokenV1>), ApiError> {
    let request: NewTokenV1 = crate::body::json(&body)?;
    let role = Role::from(request.role);
    if request.hours.is_some_and(|hours| !(1..=24 * 366).contains(&hours)) {
        let message = "hours must be from 1 to 8784, or absent for a token that never expires";
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid", message));
    }
    let seconds = request.hours.map(|hours| hours * 3600);
    let issued =
        ops::identity::create_token(&state.ctx, &identity.user, &request.user, role, seconds)
            .await
            .map_err(|e| ApiError::from_identity(&state.ctx, e))?;
    let created = TokenV1 {
        token: issued.secret,
        id: issued.id,
        user: issued.user,
        role: issued.role.into(),
        expires_at_unix: issued.expires_at_unix,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a token: refused from now on.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "identity",
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked")))]
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
