//! The handlers for users and tokens: the admin's (users, tokens), and every caller's own
//! (password, logout); each calls one function of `ops::identity` with the authenticated caller
//! as the actor on the identity record.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use model::access::Role;
use ops::identity::Identity;
use protocol::api::{NewTokenV1, NewUserV1, PasswordChangeV1, TokenV1, UserCreatedV1};

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

/// Changes the caller's own password, the old one given (a wrong one counts toward the
/// lockout like a failed login). Tokens already issued stay valid.
#[utoipa::path(post, path = "/api/users/me/password", tag = "identity",
    request_body = PasswordChangeV1,
    responses((status = 204, description = "Changed")))]
pub(crate) async fn change_password(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let request: PasswordChangeV1 = crate::body::json(&body)?;
    ops::identity::change_password(
        &state.ctx,
        &identity.user,
        &request.old_password,
        &request.new_password,
        &state.login,
    )
    .await
    .map_err(|e| ApiError::from_identity(&state.ctx, e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes the token the caller used: it is refused from now on.
#[utoipa::path(post, path = "/api/logout", tag = "identity",
    responses((status = 204, description = "The token is revoked")))]
pub(crate) async fn logout(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
) -> Result<StatusCode, ApiError> {
    revoke_own(&state, &identity).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The dashboard's logout: the session's token revoked, its cookie cleared, the login page next.
pub(crate) async fn logout_page(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
) -> Result<Response, ApiError> {
    revoke_own(&state, &identity).await?;
    let secure = if state.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
        crate::routes::SESSION_COOKIE
    );
    let mut response = Redirect::to("/login").into_response();
    let value = HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(&state.ctx, &e))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

async fn revoke_own(state: &AppState, identity: &Identity) -> Result<(), ApiError> {
    ops::identity::revoke_token(&state.ctx, &identity.user, &identity.token_id)
        .await
        .map_err(|e| ApiError::from_identity(&state.ctx, e))?;
    Ok(())
}
