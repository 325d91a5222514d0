//! Every route the server answers, with who may call it: the table the router is built
//! beside and the authorization layer reads. A route missing from the table is refused (500),
//! so it cannot be served without a rule; the tests walk the table to prove that every route
//! but the public ones wants credentials, and that a viewer changes nothing.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use model::access::UseCase;

use crate::AppState;
use crate::error::ApiError;

/// One route: its method, its path as the router writes it, and who may call it.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health checks and the login itself.
    Public,
    /// An authenticated caller whose role allows the use case.
    Needs(UseCase),
}

impl Route {
    /// Whether it is a page of the dashboard (HTML), not a part of the API the OpenAPI
    /// document describes.
    pub fn is_page(&self) -> bool {
        !(self.path.starts_with("/api/")
            || ["/healthz", "/readyz", "/metrics"].contains(&self.path))
    }

    /// Whether calling it may change state (anything but GET and HEAD).
    pub fn mutating(&self) -> bool {
        !matches!(self.method, "GET" | "HEAD")
    }
}

/// Every route of the server.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/healthz", access: Access::Public },
    Route { method: "GET", path: "/readyz", access: Access::Public },
    Route { method: "POST", path: "/api/login", access: Access::Public },
    Route { method: "GET", path: "/login", access: Access::Public },
    Route { method: "POST", path: "/login", access: Access::Public },
    Route { method: "GET", path: "/login/oidc", access: Access::Public },
    Route { method: "GET", path: "/login/oidc/callback", access: Access::Public },
    Route { method: "GET", path: "/", access: Access::Needs(UseCase::ListHosts) },
    Route { method: "GET", path: "/compliance", access: Access::Needs(UseCase::Compliance) },
    Route { method: "GET", path: "/hosts", access: Access::Needs(UseCase::ListHosts) },
    Route { method: "GET", path: "/hosts/{host}", access: Access::Needs(UseCase::HostHistory) },
    Route { method: "GET", path: "/plans/{plan}", access: Access::Needs(UseCase::ShowPlan) },
    Route { method: "GET", path: "/rollouts/{rollout}", access: Access::Needs(UseCase::ShowRollout) },
    Route { method: "GET", path: "/rollouts/{rollout}/report", access: Access::Needs(UseCase::ReportRollout) },
    Route { method: "GET", path: "/postmortems", access: Access::Needs(UseCase::ListPostmortems) },
    Route { method: "GET", path: "/postmortems/{id}", access: Access::Needs(UseCase::ShowPostmortem) },
    Route { method: "GET", path: "/audit", access: Access::Needs(UseCase::VerifyAudit) },
    Route { method: "GET", path: "/cves", access: Access::Needs(UseCase::HostExposures) },
    Route { method: "GET", path: "/assets/live.js", access: Access::Needs(UseCase::ShowRollout) },
    Route { method: "POST", path: "/plans/{plan}/approve", access: Access::Needs(UseCase::ApproveChange) },
    Route { method: "POST", path: "/plans/{plan}/reject", access: Access::Needs(UseCase::RejectChange) },
    Route { method: "GET", path: "/metrics", access: Access::Needs(UseCase::ReadMetrics) },
    Route { method: "GET", path: "/api/openapi.json", access: Access::Needs(UseCase::ReadApiDocs) },
    Route { method: "GET", path: "/api/hosts", access: Access::Needs(UseCase::ListHosts) },
    Route { method: "GET", path: "/api/hosts/{host}/history", access: Access::Needs(UseCase::HostHistory) },
    Route { method: "GET", path: "/api/compliance", access: Access::Needs(UseCase::Compliance) },
    Route { method: "GET", path: "/api/cves", access: Access::Needs(UseCase::HostExposures) },
    Route { method: "GET", path: "/api/cves/{cve}", access: Access::Needs(UseCase::ShowCve) },
    Route { method: "GET", path: "/api/advisories", access: Access::Needs(UseCase::ListAdvisories) },
    Route { method: "GET", path: "/api/advisories/{id}", access: Access::Needs(UseCase::ShowAdvisory) },
    Route { method: "GET", path: "/api/plans", access: Access::Needs(UseCase::ListPlans) },
    Route { method: "GET", path: "/api/plans/{plan}", access: Access::Needs(UseCase::ShowPlan) },
    Route { method: "GET", path: "/api/changes/{plan}", access: Access::Needs(UseCase::ShowChange) },
    Route { method: "POST", path: "/api/changes/{plan}/request", access: Access::Needs(UseCase::RequestChange) },
    Route { method: "POST", path: "/api/changes/{plan}/approve", access: Access::Needs(UseCase::ApproveChange) },
    Route { method: "POST", path: "/api/changes/{plan}/reject", access: Access::Needs(UseCase::RejectChange) },
    Route { method: "GET", path: "/api/rollouts", access: Access::Needs(UseCase::ListRollouts) },
    Route { method: "GET", path: "/api/rollouts/{rollout}", access: Access::Needs(UseCase::ShowRollout) },
    Route { method: "GET", path: "/api/rollouts/{rollout}/report", access: Access::Needs(UseCase::ReportRollout) },
    Route { method: "GET", path: "/api/rollouts/{rollout}/events", access: Access::Needs(UseCase::ShowRollout) },
    Route { method: "POST", path: "/api/rollouts/{rollout}/pause", access: Access::Needs(UseCase::PauseRollout) },
    Route { method: "POST", path: "/api/rollouts/{rollout}/resume", access: Access::Needs(UseCase::ResumeRollout) },
    Route { method: "POST", path: "/api/rollouts/{rollout}/cancel", access: Access::Needs(UseCase::CancelRollout) },
    Route { method: "GET", path: "/api/postmortems", access: Access::Needs(UseCase::ListPostmortems) },
    Route { method: "GET", path: "/api/postmortems/{id}", access: Access::Needs(UseCase::ShowPostmortem) },
    Route { method: "GET", path: "/api/notifications", access: Access::Needs(UseCase::ListNotifications) },
    Route { method: "GET", path: "/api/audit", access: Access::Needs(UseCase::VerifyAudit) },
    Route { method: "POST", path: "/api/users", access: Access::Needs(UseCase::CreateUser) },
    Route { method: "POST", path: "/api/tokens", access: Access::Needs(UseCase::CreateToken) },
    Route { method: "DELETE", path: "/api/tokens/{id}", access: Access::Needs(UseCase::RevokeToken) },
    Route { method: "POST", path: "/api/plans", access: Access::Needs(UseCase::CreatePlan) },
    Route { method: "GET", path: "/api/changes", access: Access::Needs(UseCase::ListChanges) },
    Route { method: "POST", path: "/api/rollouts", access: Access::Needs(UseCase::StartRollout) },
    Route { method: "POST", path: "/api/assessments", access: Access::Needs(UseCase::Assess) },
    Route { method: "POST", path: "/api/postmortems", access: Access::Needs(UseCase::OpenPostmortem) },
    Route { method: "POST", path: "/api/postmortems/{id}/close", access: Access::Needs(UseCase::ClosePostmortem) },
    Route { method: "POST", path: "/api/users/me/password", access: Access::Needs(UseCase::ChangeOwnPassword) },
    Route { method: "POST", path: "/api/logout", access: Access::Needs(UseCase::Logout) },
    Route { method: "POST", path: "/logout", access: Access::Needs(UseCase::Logout) },
    Route { method: "GET", path: "/api/docs", access: Access::Needs(UseCase::ReadApiDocs) },
    Route { method: "GET", path: "/api/docs/explorer.css", access: Access::Needs(UseCase::ReadApiDocs) },
    Route { method: "GET", path: "/api/schedule", access: Access::Needs(UseCase::ShowSchedule) },
];

/// How a caller proves who they are: a bearer token (the CLI, scripts), or the dashboard's
/// session cookie, which holds a token too and, for anything but a read, wants the form token
/// that goes with it ([`ops::identity::csrf_token`]).
enum Credentials {
    Bearer(String),
    Cookie(String),
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "patchctl_session";

fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| Credentials::Bearer(token.trim().to_owned()));
    }
    session_cookie(headers).map(Credentials::Cookie)
}

/// The session cookie's value, if the request has one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie `wanted`, if the request has one.
pub(crate) fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

/// A session's form token, for the pages to put in their forms.
#[derive(Clone)]
pub(crate) struct Session {
    pub csrf: String,
}

/// Whether a request is for the API (JSON answers) rather than a page.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// The authorization layer: looks the matched route up in [`ROUTES`], lets public ones by,
/// and otherwise wants credentials (401; a page answers with the login form) whose role
/// allows the route's use case (403), and, for a session's post, its form token (403). Every
/// refusal of an authenticated caller goes on the identity record. The handler finds the
/// [`ops::identity::Identity`] (and a session's [`Session`]) in the request's extensions.
pub(crate) async fn authorize(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Result<Response, Response> {
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let Some(path) = path else {
        return Err(ApiError::not_found("no such route").into_response());
    };
    let route = ROUTES.iter().find(|r| r.path == path && r.method == method);
    let Some(route) = route else {
        if ROUTES.iter().any(|r| r.path == path) {
            let message = format!("{method} is not served on {path}");
            let error =
                ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", message);
            return Err(error.into_response());
        }
        let detail = format!("{path} is not in the route table");
        return Err(ApiError::internal(&state.ctx, &detail).into_response());
    };
    let Access::Needs(use_case) = route.access else {
        return Ok(next.run(request).await);
    };
    let unauthenticated = |message: &str| {
        if is_api(&path) {
            ApiError::unauthenticated(message).into_response()
        } else {
            crate::web::login_page(&state, StatusCode::UNAUTHORIZED, None)
        }
    };
    let Some(credentials) = credentials(request.headers()) else {
        return Err(unauthenticated("log in first: no bearer token was sent"));
    };
    let (Credentials::Bearer(secret) | Credentials::Cookie(secret)) = &credentials;
    let identity = match ops::identity::authenticate(&state.ctx, secret).await {
        Ok(identity) => identity,
        Err(error) if !is_api(&path) => {
            let page =
                crate::web::login_page(&state, StatusCode::UNAUTHORIZED, Some(error.to_string()));
            return Err(page);
        }
        Err(error) => return Err(ApiError::from_identity(&state.ctx, error).into_response()),
    };
    let asked = request.uri().path().to_owned();
    let refuse = async |code: &'static str, message: String| {
        let subject = format!("{} {asked}: {message}", route.method);
        if let Err(error) = ops::identity::refused(&state.ctx, &identity.user, &subject).await {
            state.ctx.progress.notice(&format!("server: recording a refusal: {error}"));
        }
        ApiError::new(StatusCode::FORBIDDEN, code, message).into_response()
    };
    if !use_case.allowed(identity.role) {
        let message = format!(
            "{} {} needs the role {} or higher; {} has {}",
            route.method,
            route.path,
            use_case.minimum_role(),
            identity.user,
            identity.role
        );
        return Err(refuse("forbidden", message).await);
    }
    if let Credentials::Cookie(secret) = &credentials {
        let csrf = ops::identity::csrf_token(secret);
        if route.mutating() {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, crate::body::MAX_BODY)
                .await
                .map_err(|_| ApiError::invalid("the body is too big").into_response())?;
            let given = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or_else(|| {
                    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                        .ok()?
                        .into_iter()
                        .find_map(|(name, value)| (name == "csrf").then_some(value))
                });
            request = Request::from_parts(parts, axum::body::Body::from(bytes));
            if given.as_deref() != Some(csrf.as_str()) {
                let message = "the form token is missing or wrong: reload the page and try again";
                return Err(refuse("csrf", message.to_owned()).await);
            }
        }
        request.extensions_mut().insert(Session { csrf });
    }
    request.extensions_mut().insert(identity);
    Ok(next.run(request).await)
}
