//! The one place where what went wrong becomes an HTTP status: each error of `ops` a
//! handler can meet, mapped to a status and a stable code, answered as JSON
//! (`{"code": …, "message": …}`). Internal failures are told to the server's log, not to the
//! caller.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ops::change::ChangeError;
use ops::identity::IdentityError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, for programs: `unauthenticated`, `forbidden`, `locked-out`, …
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// A failure of the server itself: `detail` goes to the log, the caller learns only that.
    pub fn internal(ctx: &ops::Context, detail: &dyn std::fmt::Display) -> ApiError {
        ctx.progress.notice(&format!("server: {detail}"));
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed; its log says why",
        )
    }

    pub fn from_identity(ctx: &ops::Context, error: IdentityError) -> ApiError {
        use IdentityError::*;
        match error {
            BadCredentials | UnknownToken | TokenExpired(_) | TokenRevoked(_) => {
                ApiError::unauthenticated(error.to_string())
            }
            LockedOut { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "locked-out", error.to_string())
            }
            InvalidName(_) | RoleTooHigh { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid", error.to_string())
            }
            UserExists(_) => ApiError::new(StatusCode::CONFLICT, "exists", error.to_string()),
            UnknownUser(_) => ApiError::new(StatusCode::NOT_FOUND, "not-found", error.to_string()),
            Source(_) | Store(_) | Crypto { .. } | CorruptRole(_) => {
                ApiError::internal(ctx, &error)
            }
        }
    }

    pub fn from_change(ctx: &ops::Context, error: ChangeError) -> ApiError {
        use ChangeError::*;
        match error {
            _ if error.names_no_plan() => {
                ApiError::new(StatusCode::NOT_FOUND, "not-found", error.to_string())
            }
            Refused(_) => ApiError::new(StatusCode::FORBIDDEN, "refused", error.to_string()),
            NoPolicy => ApiError::new(StatusCode::CONFLICT, "no-policy", error.to_string()),
            NotApproved { .. } => {
                ApiError::new(StatusCode::CONFLICT, "not-approved", error.to_string())
            }
            _ => ApiError::internal(ctx, &error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
