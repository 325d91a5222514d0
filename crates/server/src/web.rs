//! The dashboard: server-rendered pages (askama templates in `templates/`, styles inline, no
//! script, nothing fetched from elsewhere), logged in by a form that sets a session cookie
//! (HttpOnly, SameSite=Strict, Secure over TLS) holding a token like the API's. Each page
//! calls the same `ops` functions as the API; a form posts with the session's form token,
//! which the authorization layer checks. The Approve and Reject buttons show only to someone
//! who may decide; the server refuses anyone else whatever they post.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use model::access::Role;
use model::change::ChangeKind;
use ops::change::Act;
use ops::identity::Identity;
use protocol::output::change::{ChangeActionV1, ChangeStateV1, EnvironmentApprovalV1};

use crate::AppState;
use crate::error::ApiError;
use crate::peer::Peer;
use crate::routes::{SESSION_COOKIE, Session};

type Shared = State<Arc<AppState>>;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    problem: Option<String>,
    /// The OIDC provider's name, for its link, when there is one.
    oidc: Option<String>,
}

/// The login form, with `problem` said above it, and the OIDC provider's link if it has one.
pub(crate) fn login_page(
    state: &AppState,
    status: StatusCode,
    problem: Option<String>,
) -> Response {
    let oidc = state.oidc.as_ref().map(|provider| provider.settings().name.clone());
    match (LoginPage { problem, oidc }).render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "the login page failed to render").into_response()
        }
    }
}

/// `GET /login`.
pub(crate) async fn login_form(State(state): Shared) -> Response {
    login_page(&state, StatusCode::OK, None)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

/// `POST /login`: the session cookie, and on to the fleet; or the form again with what was
/// wrong.
pub(crate) async fn login(
    State(state): Shared,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        let problem = "user and password, please";
        return login_page(&state, StatusCode::BAD_REQUEST, Some(problem.into()));
    };
    let issued =
        match crate::api::checked_login(&state, peer.ip(), &form.user, &form.password).await {
            Ok(issued) => issued,
            Err(error) => return login_page(&state, error.status, Some(error.message)),
        };
    let mut response = Redirect::to("/").into_response();
    match session_cookie(&state, &issued) {
        Some(cookie) => {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        None => {
            let problem = "no session could be made";
            login_page(&state, StatusCode::INTERNAL_SERVER_ERROR, Some(problem.into()))
        }
    }
}

/// The session cookie of a login's token (HttpOnly, SameSite=Strict, Secure over TLS), for
/// as long as the token lives.
pub(crate) fn session_cookie(
    state: &AppState,
    issued: &ops::identity::IssuedToken,
) -> Option<HeaderValue> {
    let max_age = issued
        .expires_at_unix
        .map(|at| format!("; Max-Age={}", (at - state.ctx.clock.now_unix()).max(0)))
        .unwrap_or_default();
    let secure = if state.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}{max_age}",
        issued.secret
    );
    HeaderValue::from_str(&cookie).ok()
}

struct EnvironmentRow {
    environment: String,
    hosts: u64,
    assessed: u64,
    failed: u64,
    never_assessed: u64,
    with_updates: u64,
    with_security_updates: u64,
    security_updates: u64,
    reboot_required: u64,
    oldest: String,
    compliance: String,
}

struct PlanRow {
    id: String,
    short: String,
    made: String,
    state: String,
    hosts: u64,
    purpose: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    user: String,
    role: Role,
    environments: Vec<EnvironmentRow>,
    plans: Vec<PlanRow>,
    rollouts: Vec<RolloutRow>,
}

struct RolloutRow {
    listing: protocol::output::rollout::RolloutListingV1,
    plan_short: String,
}

/// The overview lists this many of the newest rollouts.
const OVERVIEW_ROLLOUTS: usize = 20;

/// `GET /`: hosts by environment and state, compliance, the plans.
pub(crate) async fn overview(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let overview = ops::fleet::overview(ctx).await.map_err(|e| ApiError::from_query(ctx, e))?;
    // The latest evaluation the server recorded: evaluating every host here would cost a
    // large fleet seconds a page.
    let compliance =
        ops::compliance::trend(ctx, 1).await.map_err(|e| ApiError::from_query(ctx, e))?;
    let environments = overview
        .into_iter()
        .map(|e| {
            let compliance = compliance
                .iter()
                .find(|c| c.environment == e.environment)
                .map(|c| format!("{} of {} hosts", c.compliant, c.hosts))
                .unwrap_or_else(|| "not evaluated yet".to_owned());
            EnvironmentRow {
                oldest: e
                    .oldest_assessed_unix
                    .map(model::dates::rfc3339_unix)
                    .unwrap_or_else(|| "never".into()),
                environment: e.environment,
                hosts: e.hosts,
                assessed: e.assessed,
                failed: e.failed,
                never_assessed: e.never_assessed,
                with_updates: e.with_updates,
                with_security_updates: e.with_security_updates,
                security_updates: e.security_updates,
                reboot_required: e.reboot_required,
                compliance,
            }
        })
        .collect();
    let (listings, _policy) =
        ops::plan::list(ctx).await.map_err(|e| ApiError::from_change(ctx, e))?;
    let plans = listings
        .iter()
        .map(|p| PlanRow {
            id: p.id.clone(),
            short: model::plan::short_id(&p.id).to_owned(),
            made: model::dates::rfc3339_unix(p.created_at_unix),
            state: p.state.as_str().to_owned(),
            hosts: p.hosts as u64,
            purpose: p.goals.first().cloned().unwrap_or_else(|| p.selectors.join(" ")),
        })
        .collect();
    let rollouts = ops::rollout::list(ctx).await.map_err(|e| ApiError::from_rollout(ctx, e))?;
    let rollouts = rollouts.iter().take(OVERVIEW_ROLLOUTS).map(|row| RolloutRow {
        listing: ops::rollout::listing_output(row),
        plan_short: model::plan::short_id(&row.plan_id).to_owned(),
    });
    let rollouts = rollouts.collect();
    let page =
        OverviewPage { user: identity.user, role: identity.role, environments, plans, rollouts };
    render(page, ctx)
}

struct ActionRow {
    at: String,
    actor: String,
    kind: String,
    comment: String,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    user: String,
    role: Role,
    id: String,
    short: String,
    state: &'static str,
    requested_by: Option<String>,
    ticket: Option<String>,
    environments: Vec<EnvironmentApprovalV1>,
    journal: Vec<ActionRow>,
    may_decide: bool,
    csrf: String,
}

/// `GET /plans/{plan}`: its change, with Approve and Reject for someone who may decide.
pub(crate) async fn plan(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    session: Option<Extension<Session>>,
    Path(plan): Path<String>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let change =
        ops::change::show(ctx, &plan).await.map_err(|e| ApiError::from_change(ctx, e))?.output();
    let state_words = match change.status.state {
        ChangeStateV1::NotRequested => "not requested",
        ChangeStateV1::Pending => "pending",
        ChangeStateV1::Approved => "approved",
        ChangeStateV1::Rejected => "rejected",
    };
    // The server decides again on every post; this only spares a button that would be refused.
    let may_decide = session.is_some()
        && identity.role.includes(Role::Approver)
        && change.status.state == ChangeStateV1::Pending
        && change.status.requested_by.as_deref() != Some(identity.user.as_str());
    let journal = change.journal.iter().map(action_row).collect();
    let page = PlanPage {
        user: identity.user,
        role: identity.role,
        short: model::plan::short_id(&change.plan).to_owned(),
        id: change.plan.clone(),
        state: state_words,
        requested_by: change.status.requested_by.clone(),
        ticket: change.status.ticket.clone(),
        environments: change.status.environments.clone(),
        journal,
        may_decide,
        csrf: session.map(|Extension(s)| s.csrf).unwrap_or_default(),
    };
    render(page, ctx)
}

fn action_row(action: &ChangeActionV1) -> ActionRow {
    use protocol::output::change::ChangeKindV1;
    let kind = match action.kind {
        ChangeKindV1::Request => ChangeKind::Request,
        ChangeKindV1::Approve => ChangeKind::Approve,
        ChangeKindV1::Reject => ChangeKind::Reject,
        ChangeKindV1::AutoApprove => ChangeKind::AutoApprove,
    };
    ActionRow {
        at: action.at.clone(),
        actor: action.actor.clone(),
        kind: kind.as_str().to_owned(),
        comment: action.comment.clone().unwrap_or_default(),
    }
}

/// `POST /plans/{plan}/approve`, from the plan's page.
pub(crate) async fn approve(
    state: Shared,
    identity: Extension<Identity>,
    plan: Path<String>,
) -> Result<Response, ApiError> {
    decide(state, identity, plan, ChangeKind::Approve).await
}

/// `POST /plans/{plan}/reject`, from the plan's page.
pub(crate) async fn reject(
    state: Shared,
    identity: Extension<Identity>,
    plan: Path<String>,
) -> Result<Response, ApiError> {
    decide(state, identity, plan, ChangeKind::Reject).await
}

async fn decide(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Path(plan): Path<String>,
    kind: ChangeKind,
) -> Result<Response, ApiError> {
    let ctx = &state.ctx;
    let user = identity.user.clone();
    let act = Act { kind, actor: identity.user, ticket: None, comment: None };
    let change = match ops::change::record(ctx, &plan, act).await {
        Ok(change) => change,
        Err(error) => {
            let error = ApiError::from_change(ctx, error);
            if error.status == StatusCode::FORBIDDEN {
                let subject = format!("{} of plan {plan}: {}", kind.as_str(), error.message);
                if let Err(e) = ops::identity::refused(ctx, &user, &subject).await {
                    ctx.progress.notice(&format!("server: recording a refusal: {e}"));
                }
            }
            return Err(error);
        }
    };
    Ok(Redirect::to(&format!("/plans/{}", change.plan.id)).into_response())
}

pub(crate) fn render(page: impl Template, ctx: &ops::Context) -> Result<Html<String>, ApiError> {
    page.render().map(Html).map_err(|e| ApiError::internal(ctx, &format!("rendering a page: {e}")))
}

#[derive(Template)]
#[template(path = "rollout.html")]
struct RolloutPage {
    user: String,
    role: Role,
    id: String,
    short: String,
    plan: String,
    plan_short: String,
    phase: String,
    over: bool,
    hosts: Vec<protocol::output::rollout::LiveHostV1>,
    lines: Vec<LineRow>,
}

struct LineRow {
    at: String,
    text: String,
    alarm: bool,
}

/// `GET /rollouts/{rollout}`: its hosts and what happened, kept live by `assets/live.js`
/// from the event stream while it runs.
pub(crate) async fn rollout(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Path(rollout): Path<String>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let error = |e| ApiError::from_rollout(ctx, e);
    let (_, live) = ops::rollout::follow(ctx, &rollout).await.map_err(error)?;
    let lines = live
        .lines
        .into_iter()
        .map(|l| LineRow {
            at: model::dates::rfc3339_unix((l.at_ms / 1000) as i64),
            text: l.text,
            alarm: l.alarm,
        })
        .collect();
    let page = RolloutPage {
        user: identity.user,
        role: identity.role,
        short: model::plan::short_id(&live.rollout).to_owned(),
        id: live.rollout,
        plan_short: model::plan::short_id(&live.plan).to_owned(),
        plan: live.plan,
        phase: live.phase,
        over: live.over,
        hosts: live.hosts,
        lines,
    };
    render(page, ctx)
}

/// `GET /assets/live.js`: the rollout page's script, compiled into the binary.
pub(crate) async fn live_js() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, "private, max-age=3600"),
    ];
    (headers, include_str!("../assets/live.js")).into_response()
}
