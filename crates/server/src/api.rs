//! The handlers outside the API's resources: health, readiness and the login. The others are
//! by resource (`fleet.rs`, `plans.rs`, `rollouts.rs`, `records.rs`, `users.rs`): each parses
//! the request, calls one function of `ops` with the authenticated identity where the use case
//! records an actor, and answers a `protocol` form or an [`ApiError`].

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use protocol::api::{LoginRequestV1, TokenV1};

use crate::AppState;
use crate::error::ApiError;
use crate::peer::Peer;

type Shared = State<Arc<AppState>>;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Up", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// The state database answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "Ready", body = String, content_type = "text/plain")))]
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

/// A login: refused unchecked while the client's address is over the rate limit; a wrong
/// user or password counts against it.
#[utoipa::path(post, path = "/api/login", tag = "identity", request_body = LoginRequestV1,
    responses((status = 200, description = "A token with the user's role", body = TokenV1)))]
pub(crate) async fn login(
    State(state): Shared,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    body: Bytes,
) -> Result<Json<TokenV1>, ApiError> {
    let request: LoginRequestV1 = crate::body::json(&body)?;
    let issued = checked_login(&state, peer.ip(), &request.user, &request.password).await?;
    Ok(Json(TokenV1 {
        token: issued.secret,
        id: issued.id,
        user: issued.user,
        role: issued.role.into(),
        expires_at_unix: issued.expires_at_unix,
    }))
}

/// A login by the API or the dashboard's form: refused unchecked while the client's address
/// is over the rate limit; a wrong user or password counts against it.
pub(crate) async fn checked_login(
    state: &AppState,
    address: std::net::IpAddr,
    user: &str,
    password: &str,
) -> Result<ops::identity::IssuedToken, ApiError> {
    let ctx = &state.ctx;
    if !state.failed_logins.allows(&state.rate_limit, address, ctx.clock.now_unix()) {
        let message = format!("too many failed logins from {address}: wait a minute");
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", message));
    }
    ops::identity::login(ctx, user, password, &state.login).await.map_err(|e| {
        if matches!(e, ops::identity::IdentityError::BadCredentials) {
            state.failed_logins.failed(address, ctx.clock.now_unix());
        }
        ApiError::from_identity(ctx, e)
    })
}
