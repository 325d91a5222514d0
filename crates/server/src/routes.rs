//! Every route the server answers, with who may call it: the table the router is built
//! beside and the authorization layer reads. A route missing from the table is refused (500),
//! so it cannot be served without a rule; the tests walk the table to prove that every route
//! but the public ones wants credentials, and that a viewer changes nothing.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
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
];

/// How a caller proves who they are. Bearer tokens now; session cookies (with CSRF checks)
/// and OIDC logins become other variants, checked by the same layer.
enum Credentials {
    Bearer(String),
}

fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| Credentials::Bearer(token.trim().to_owned()))
}

/// The authorization layer: looks the matched route up in [`ROUTES`], lets public ones by,
/// and otherwise wants credentials (401) whose role allows the route's use case (403). The
/// handler finds the [`ops::identity::Identity`] in the request's extensions.
pub(crate) async fn authorize(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let Some(path) = path else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such route"));
    };
    let route = ROUTES.iter().find(|r| r.path == path && r.method == method);
    let Some(route) = route else {
        if ROUTES.iter().any(|r| r.path == path) {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                format!("{method} is not served on {path}"),
            ));
        }
        return Err(ApiError::internal(&state.ctx, &format!("{path} is not in the route table")));
    };
    let Access::Needs(use_case) = route.access else {
        return Ok(next.run(request).await);
    };
    let Some(Credentials::Bearer(token)) = credentials(request.headers()) else {
        return Err(ApiError::unauthenticated("log in first: no bearer token was sent"));
    };
    let identity = ops::identity::authenticate(&state.ctx, &token)
        .await
        .map_err(|e| ApiError::from_identity(&state.ctx, e))?;
    if !use_case.allowed(identity.role) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} {} needs the role {} or higher; {} has {}",
                route.method,
                route.path,
                use_case.minimum_role(),
                identity.user,
                identity.role
            ),
        ));
    }
    request.extensions_mut().insert(identity);
    Ok(next.run(request).await)
}
