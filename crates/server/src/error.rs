//! The one place where what went wrong becomes an HTTP status: each error of `ops` a
//! handler can meet, mapped to a status and a stable code, answered as a problem document
//! (RFC 9457, `application/problem+json`: `type`, `title`, `status`, `detail`, and our `code`).
//! Internal failures are told to the server's log, not to the caller.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ops::change::ChangeError;
use ops::identity::IdentityError;
use ops::plan::LoadPlanError;
use ops::rollout::RolloutError;
use ops::{QueryError, SourceError};
use protocol::output::problem::ProblemV1;

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
            WrongPassword => {
                ApiError::new(StatusCode::FORBIDDEN, "wrong-password", error.to_string())
            }
            InvalidName(_) | RoleTooHigh { .. } | WeakPassword(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid", error.to_string())
            }
            UserExists(_) => ApiError::new(StatusCode::CONFLICT, "exists", error.to_string()),
            NotOidcUser(_) => ApiError::new(StatusCode::FORBIDDEN, "refused", error.to_string()),
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

    /// A request the server cannot read: a body, a query or a path parameter.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// A use case that only reads: its sources (the inventory, the policy) or the state. A
    /// selection the caller got wrong is theirs (400); anything else is the server's.
    pub fn from_query(ctx: &ops::Context, error: impl Into<QueryFailure>) -> ApiError {
        match error.into() {
            QueryFailure::Source(error) => ApiError::from_source(ctx, error),
            QueryFailure::Other(detail) => ApiError::internal(ctx, &detail),
        }
    }

    pub fn from_source(ctx: &ops::Context, error: SourceError) -> ApiError {
        match error {
            SourceError::Selection(_) => ApiError::invalid(error.to_string()),
            _ => ApiError::internal(ctx, &error),
        }
    }

    pub fn from_plan(ctx: &ops::Context, error: LoadPlanError) -> ApiError {
        match error {
            _ if error.names_no_plan() => ApiError::not_found(error.to_string()),
            LoadPlanError::Tampered(_) => {
                ApiError::new(StatusCode::CONFLICT, "tampered", error.to_string())
            }
            _ => ApiError::internal(ctx, &error),
        }
    }

    pub fn from_rollout(ctx: &ops::Context, error: RolloutError) -> ApiError {
        use RolloutError::*;
        match error {
            _ if error.names_no_rollout() => ApiError::not_found(error.to_string()),
            Busy { .. } => ApiError::new(StatusCode::CONFLICT, "busy", error.to_string()),
            Refused(_) => ApiError::new(StatusCode::CONFLICT, "refused", error.to_string()),
            BrokenJournal { .. } | PlanTampered(_) => {
                ApiError::new(StatusCode::CONFLICT, "tampered", error.to_string())
            }
            _ => ApiError::internal(ctx, &error),
        }
    }
}

impl ApiError {
    /// `plan create`: a selection or option the caller got wrong (400), a plan the promotion
    /// gate refuses (409), or the server's own failure.
    pub fn from_plan_create(ctx: &ops::Context, error: ops::plan::PlanCreateError) -> ApiError {
        use ops::plan::PlanCreateError::*;
        match error {
            Source(source) => ApiError::from_source(ctx, source),
            Plan(_) | Invalid(_) => ApiError::invalid(error.to_string()),
            Gate(_) => ApiError::new(StatusCode::CONFLICT, "refused", error.to_string()),
            Store(_) | Evidence(_) => ApiError::internal(ctx, &error),
        }
    }

    /// `change list`: needs the policy (409 without one).
    pub fn from_scheduler(ctx: &ops::Context, error: ops::scheduler::SchedulerError) -> ApiError {
        use ops::scheduler::SchedulerError::*;
        match error {
            NoPolicy => ApiError::new(StatusCode::CONFLICT, "no-policy", error.to_string()),
            Source(source) => ApiError::from_source(ctx, source),
            Change(change) => ApiError::from_change(ctx, change),
            _ => ApiError::internal(ctx, &error),
        }
    }

    /// `postmortem open|close`: what the caller wrote is refused (400), or the server failed.
    pub fn from_postmortem(
        ctx: &ops::Context,
        error: ops::postmortem::PostmortemError,
    ) -> ApiError {
        use ops::postmortem::PostmortemError::*;
        match error {
            Invalid(_) => ApiError::invalid(error.to_string()),
            Source(source) => ApiError::from_source(ctx, source),
            _ if error.names_no_postmortem() => ApiError::not_found(error.to_string()),
            _ if error.already_closed() => {
                ApiError::new(StatusCode::CONFLICT, "closed", error.to_string())
            }
            Store(_) => ApiError::internal(ctx, &error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ProblemV1::new(self.status.as_u16(), self.code, self.message);
        let mut response = (self.status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What a reading use case failed at: its sources (which may be the caller's selection), or
/// anything else (the server's).
pub enum QueryFailure {
    Source(SourceError),
    Other(String),
}

impl From<QueryError> for QueryFailure {
    fn from(error: QueryError) -> QueryFailure {
        match error {
            QueryError::Source(source) => QueryFailure::Source(source),
            other => QueryFailure::Other(other.to_string()),
        }
    }
}

impl From<ops::compliance::ComplianceError> for QueryFailure {
    fn from(error: ops::compliance::ComplianceError) -> QueryFailure {
        match error {
            ops::compliance::ComplianceError::Source(source) => QueryFailure::Source(source),
            other => QueryFailure::Other(other.to_string()),
        }
    }
}

impl From<ops::postmortem::PostmortemError> for QueryFailure {
    fn from(error: ops::postmortem::PostmortemError) -> QueryFailure {
        QueryFailure::Other(error.to_string())
    }
}

impl From<ops::audit::AuditError> for QueryFailure {
    fn from(error: ops::audit::AuditError) -> QueryFailure {
        QueryFailure::Other(error.to_string())
    }
}
