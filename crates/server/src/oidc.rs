//! The dashboard's OIDC login, when server.toml has an `[oidc]` table: `GET /login/oidc` sends
//! the browser to the provider (`ops::oidc::start`), with the login's state also in a
//! short-lived cookie (HttpOnly, SameSite=Lax so that it comes back with the provider's
//! redirect) that ties the answer to this browser; `GET /login/oidc/callback` finishes it
//! (`ops::oidc::finish`) and sets the same session cookie as the password login. Without
//! `[oidc]`, both answer 404.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use ops::oidc::{Callback, OidcError};

use crate::AppState;
use crate::error::ApiError;
use crate::web::login_page;

/// The cookie holding a pending login's state, for the callback to compare.
const STATE_COOKIE: &str = "patchctl_oidc_state";

/// `GET /login/oidc`: on to the provider's login.
pub(crate) async fn start(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(provider) = &state.oidc else {
        return not_configured(&state);
    };
    let redirect_url = match &provider.settings().redirect_url {
        Some(url) => url.clone(),
        None => match derived_redirect_url(&headers, state.tls) {
            Some(url) => url,
            None => {
                let problem = "the request names no usable Host: set redirect_url in [oidc]";
                return login_page(&state, StatusCode::BAD_REQUEST, Some(problem.into()));
            }
        },
    };
    let started = match ops::oidc::start(&state.ctx, provider, &redirect_url).await {
        Ok(started) => started,
        Err(error) => {
            let (status, message) = status(&state, error);
            return login_page(&state, status, Some(message));
        }
    };
    let cookie = format!(
        "{STATE_COOKIE}={}; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age={}{}",
        started.state,
        ops::oidc::PENDING_SECONDS,
        if state.tls { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(&started.authorize_url).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(serde::Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /login/oidc/callback`: the provider's answer; the session cookie, and on to the fleet.
pub(crate) async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(provider) = &state.oidc else {
        return not_configured(&state);
    };
    let query = serde_urlencoded::from_str::<CallbackQuery>(uri.query().unwrap_or(""));
    let Ok(query) = query else {
        let problem = "the provider's answer cannot be read: log in again";
        return login_page(&state, StatusCode::BAD_REQUEST, Some(problem.into()));
    };
    let callback = Callback {
        state: query.state,
        code: query.code,
        error: query.error,
        error_description: query.error_description,
        browser_state: crate::routes::cookie(&headers, STATE_COOKIE),
    };
    let mut response = match ops::oidc::finish(&state.ctx, provider, &callback, &state.login).await
    {
        Ok(issued) => match crate::web::session_cookie(&state, &issued) {
            // A page that goes on to the fleet rather than a redirect: after the provider's
            // redirect, a browser would not send the SameSite=Strict session cookie with one.
            Some(cookie) => {
                let mut response = Html(SIGNED_IN).into_response();
                response.headers_mut().insert(header::SET_COOKIE, cookie);
                response
            }
            None => {
                let problem = "no session could be made";
                login_page(&state, StatusCode::INTERNAL_SERVER_ERROR, Some(problem.into()))
            }
        },
        Err(error) => {
            let (status, message) = status(&state, error);
            login_page(&state, status, Some(message))
        }
    };
    let expired = format!("{STATE_COOKIE}=; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

const SIGNED_IN: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
    <meta http-equiv=\"refresh\" content=\"0; url=/\"><title>Logged in · patchctl</title></head>\
    <body><p>Logged in. <a href=\"/\">On to the fleet</a>.</p></body></html>\n";

fn not_configured(state: &AppState) -> Response {
    let problem = "this server has no OIDC provider: log in with your password";
    login_page(state, StatusCode::NOT_FOUND, Some(problem.into()))
}

/// The callback's URL on the host the browser asked for.
fn derived_redirect_url(headers: &HeaderMap, tls: bool) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let url = format!("{}://{host}/login/oidc/callback", if tls { "https" } else { "http" });
    // A Host with a path, a user or a query in it is not a host.
    let parsed = url::Url::parse(&url).ok()?;
    (parsed.path() == "/login/oidc/callback" && parsed.query().is_none() && parsed.username() == "")
        .then_some(url)
}

/// How a failed login is answered, and what the page says.
fn status(state: &AppState, error: OidcError) -> (StatusCode, String) {
    let status = match error {
        OidcError::Identity(error) => {
            let error = ApiError::from_identity(&state.ctx, error);
            return (error.status, error.message);
        }
        OidcError::UnknownState | OidcError::OtherBrowser => StatusCode::BAD_REQUEST,
        OidcError::Refused(_) | OidcError::InvalidIdToken(_) => StatusCode::UNAUTHORIZED,
        OidcError::NoUserName(_) | OidcError::NoRole { .. } => StatusCode::FORBIDDEN,
        OidcError::Provider { .. } => {
            state.ctx.progress.notice(&format!("server: OIDC login: {error}"));
            StatusCode::BAD_GATEWAY
        }
    };
    (status, error.to_string())
}
