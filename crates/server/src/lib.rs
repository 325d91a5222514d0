//! `patchctl serve`: the team server. [`run`] serves the HTTP API on a listener it is handed
//! (so a test binds `127.0.0.1:0`), over TLS from the configured certificate and key, or plain
//! HTTP on a loopback address only; it runs the scheduler beside it (`ops::scheduler::serve`,
//! the loop of `patchctl scheduler`), and on `shutdown` stops both: requests in flight finish,
//! running rollouts are paused with their leases released.
//!
//! Files: `config.rs` (server.toml, and `config/oidc.rs`), `tls.rs` (rustls and its
//! listener), `peer.rs` (who is on the other end), `routes.rs` (the route table and the
//! authorization layer); the API's handlers by resource, each calling one `ops` function
//! (`api.rs`: health and login; `oidc.rs`: the OIDC login; `fleet.rs`, `plans.rs`,
//! `rollouts.rs`, `records.rs`, `users.rs`), `page.rs` and `body.rs` (query and body parsing,
//! pages of lists), `openapi.rs` (the OpenAPI document) and `explorer.rs` (its offline
//! explorer), `metrics.rs` (`/metrics`), `drives.rs` (rollouts driven through the API);
//! the dashboard's pages (`web.rs`: login, overview, plans, rollouts; `host_pages.rs`; `compliance.rs`:
//! the trend, recorded every 15 minutes; `cves.rs`: CVE exposure by severity, counted as
//! often; `report_page.rs`: a rollout's report; `record_pages.rs`: postmortems and the audit;
//! `live.rs`: a rollout's event stream; their askama `templates/`); `error.rs` (errors to
//! problem documents, in one place). The server reaches the state only through `ops`.

mod api;
mod body;
mod compliance;
pub mod config;
mod cves;
mod drives;
mod error;
mod explorer;
mod fleet;
mod host_pages;
mod live;
mod metrics;
mod oidc;
pub mod openapi;
mod page;
mod peer;
mod plans;
mod record_pages;
mod records;
mod report_page;
mod rollouts;
pub mod routes;
mod tls;
mod users;
mod web;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};
use model::access::RateLimit;
use ops::identity::LoginSettings;
use ops::scheduler::{SchedulerError, ServeOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::{ServerConfig, TlsFiles};
pub use error::ApiError;

/// The context the server runs in: the configuration's database (a PostgreSQL URL, or an
/// SQLite file), else the command line's (`--database-url`, `--state`, or beside the
/// inventory). Its PostgreSQL pool is `[database]`'s, else the command line's. `patchctl
/// doctor` checks the same.
pub fn context_for(config: &ServerConfig, ctx: &ops::Context) -> ops::Context {
    let (state, database_url) = match (&config.database_url, &config.database) {
        (Some(url), _) => (None, Some(url.clone())),
        (None, Some(path)) => (Some(path.clone()), None),
        (None, None) => (ctx.sources.state.clone(), ctx.sources.database_url.clone()),
    };
    let sources = ops::Sources { state, database_url, ..ctx.sources.clone() };
    ops::Context::new(sources, ctx.clock, ctx.actor.clone())
        .with_progress(ctx.progress.clone())
        .with_pool_settings(config.pool.over(ctx.pool_settings()))
}

/// How the rollouts this server drives run: the defaults, with the configured lease.
fn run_options(config: &ServerConfig) -> ops::rollout::RunOptions {
    ops::rollout::RunOptions { lease_seconds: config.lease_seconds, ..Default::default() }
}

/// Why the server could not start, or stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "refusing to serve plain HTTP on {0}, which is not a loopback address: configure [tls] \
         cert and key in server.toml, or listen on 127.0.0.1 or ::1"
    )]
    PlainHttpNotLoopback(SocketAddr),
    #[error("{doing}: {problem}")]
    Tls { doing: String, problem: String },
    #[error("{doing}: {source}")]
    Io { doing: String, source: std::io::Error },
    #[error("setting up the OIDC login: {0}")]
    Oidc(#[from] ops::oidc::OidcError),
    #[error("the scheduler inside the server stopped: {0}")]
    Scheduler(#[from] SchedulerError),
}

/// What every handler shares.
pub(crate) struct AppState {
    pub ctx: Arc<ops::Context>,
    pub login: LoginSettings,
    pub rate_limit: RateLimit,
    pub failed_logins: peer::FailedLogins,
    /// Rollouts resumed through the API, driven here.
    pub drives: drives::Drives,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Whether it serves TLS: the session cookie is `Secure` then.
    pub tls: bool,
    /// The OIDC provider, when server.toml has one.
    pub oidc: Option<ops::oidc::Provider>,
    /// The fleet's CVE exposure, as `cves::record` last counted it.
    pub cve_exposure: cves::Latest,
    /// How the rollouts this server drives run (their lease, from server.toml).
    pub run: ops::rollout::RunOptions,
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight, pauses the scheduler's rollouts (their leases released) and returns.
pub async fn run(
    listener: TcpListener,
    ctx: Arc<ops::Context>,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let local = listener.local_addr().map_err(|source| ServerError::Io {
        doing: "reading the listener's address".into(),
        source,
    })?;
    let acceptor = match &config.tls {
        Some(files) => Some(tls::acceptor(files)?),
        None if local.ip().is_loopback() => None,
        None => return Err(ServerError::PlainHttpNotLoopback(local)),
    };
    let oidc = match &config.oidc {
        Some(oidc) => {
            let settings = oidc.settings().map_err(|source| ServerError::Io {
                doing: "reading the OIDC client secret's file".into(),
                source,
            })?;
            Some(ops::oidc::Provider::new(settings)?)
        }
        None => None,
    };
    let (stop, stopped) = watch::channel(false);
    let state = Arc::new(AppState {
        ctx: ctx.clone(),
        login: config.login,
        rate_limit: config.rate_limit,
        failed_logins: Default::default(),
        drives: drives::Drives::new(stopped.clone()),
        metrics: metrics::handle(),
        tls: acceptor.is_some(),
        oidc,
        cve_exposure: Default::default(),
        run: run_options(config),
    });
    let app = router(state.clone()).into_make_service_with_connect_info::<peer::Peer>();
    let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let http = async {
        let signal = until_stopped(stopped.clone());
        let served = match acceptor {
            Some(acceptor) => {
                let listener = tls::TlsListener::new(listener, acceptor).map_err(|source| {
                    ServerError::Io { doing: "listening for TLS".into(), source }
                })?;
                axum::serve(listener, app).with_graceful_shutdown(signal).into_future().await
            }
            None => axum::serve(listener, app).with_graceful_shutdown(signal).into_future().await,
        };
        served.map_err(|source| ServerError::Io { doing: format!("serving on {local}"), source })
    };
    let scheduler = async {
        let result = match config.scheduler {
            Some(poll) => {
                let options = ServeOptions { once: false, poll, run: run_options(config) };
                scheduled(&ctx, &options, until_stopped(stopped.clone())).await
            }
            None => Ok(()),
        };
        if result.is_err() {
            let _ = stop.send(true);
        }
        result
    };
    let signal = async {
        tokio::select! {
            () = shutdown => { let _ = stop.send(true); }
            () = until_stopped(stopped.clone()) => {}
        }
    };
    ctx.progress.notice(&format!(
        "serving on {}://{local}",
        if config.tls.is_some() { "https" } else { "http" }
    ));
    let trend = compliance::record(ctx.clone(), stopped.clone());
    let exposure = cves::record(state.clone(), stopped.clone());
    let (served, scheduled, (), (), ()) = tokio::join!(http, scheduler, signal, trend, exposure);
    // Rollouts resumed through the API pause once told to stop: wait for them.
    state.drives.finish().await;
    served?;
    scheduled
}

/// The scheduler's loop, its rollouts' ends told to the log.
async fn scheduled(
    ctx: &ops::Context,
    options: &ServeOptions,
    stopped: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    for (rollout, driven) in ops::scheduler::serve(ctx, options, stopped).await? {
        if let Err(error) = driven {
            ctx.progress.notice(&format!("scheduler: driving rollout {rollout}: {error}"));
        }
    }
    Ok(())
}

/// The routes of [`routes::ROUTES`], each with its handler, behind the authorization layer.
fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/login", get(web::login_form).post(web::login))
        .route("/login/oidc", get(oidc::start))
        .route("/login/oidc/callback", get(oidc::callback))
        .route("/", get(web::overview))
        .route("/compliance", get(compliance::page))
        .route("/hosts", get(host_pages::hosts))
        .route("/hosts/{host}", get(host_pages::host))
        .route("/plans/{plan}", get(web::plan))
        .route("/rollouts/{rollout}", get(web::rollout))
        .route("/rollouts/{rollout}/report", get(report_page::report))
        .route("/postmortems", get(record_pages::postmortems))
        .route("/postmortems/{id}", get(record_pages::postmortem))
        .route("/audit", get(record_pages::audit))
        .route("/cves", get(cves::page))
        .route("/assets/live.js", get(web::live_js))
        .route("/plans/{plan}/approve", post(web::approve))
        .route("/plans/{plan}/reject", post(web::reject))
        .route("/api/login", post(api::login))
        .route("/api/openapi.json", get(openapi::openapi))
        .route("/api/hosts", get(fleet::hosts))
        .route("/api/hosts/{host}/history", get(fleet::history))
        .route("/api/compliance", get(fleet::compliance))
        .route("/api/cves", get(fleet::cves))
        .route("/api/cves/{cve}", get(fleet::cve))
        .route("/api/advisories", get(fleet::advisories))
        .route("/api/advisories/{id}", get(fleet::advisory))
        .route("/api/plans", get(plans::plans))
        .route("/api/plans/{plan}", get(plans::plan))
        .route("/api/changes/{plan}", get(plans::change))
        .route("/api/changes/{plan}/request", post(plans::request))
        .route("/api/changes/{plan}/approve", post(plans::approve))
        .route("/api/changes/{plan}/reject", post(plans::reject))
        .route("/api/rollouts", get(rollouts::rollouts))
        .route("/api/rollouts/{rollout}", get(rollouts::rollout))
        .route("/api/rollouts/{rollout}/report", get(rollouts::report))
        .route("/api/rollouts/{rollout}/events", get(live::events))
        .route("/api/rollouts/{rollout}/pause", post(rollouts::pause))
        .route("/api/rollouts/{rollout}/resume", post(rollouts::resume))
        .route("/api/rollouts/{rollout}/cancel", post(rollouts::cancel))
        .route("/api/postmortems", get(records::postmortems))
        .route("/api/postmortems/{id}", get(records::postmortem))
        .route("/api/notifications", get(records::notifications))
        .route("/api/audit", get(records::audit))
        .route("/api/users", post(users::create_user))
        .route("/api/tokens", post(users::create_token))
        .route("/api/tokens/{id}", delete(users::revoke_token))
        .route("/api/plans", post(plans::create))
        .route("/api/changes", get(plans::changes))
        .route("/api/rollouts", post(rollouts::start))
        .route("/api/assessments", post(fleet::assess))
        .route("/api/postmortems", post(records::open))
        .route("/api/postmortems/{id}/close", post(records::close))
        .route("/api/users/me/password", post(users::change_password))
        .route("/api/logout", post(users::logout))
        .route("/logout", post(users::logout_page))
        .route("/api/docs", get(explorer::page))
        .route("/api/docs/explorer.css", get(explorer::stylesheet))
        .route("/api/schedule", get(plans::schedule))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), routes::authorize))
        .with_state(state)
}
