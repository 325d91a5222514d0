//! `patchctl serve`: the team server. [`run`] serves the HTTP API on a listener it is handed
//! (so a test binds `127.0.0.1:0`), over TLS from the configured certificate and key, or plain
//! HTTP on a loopback address only; it runs the scheduler beside it (`ops::scheduler::serve`,
//! the loop of `patchctl scheduler`), and on `shutdown` stops both: requests in flight finish,
//! running rollouts are paused with their leases released.
//!
//! Files: `config.rs` (server.toml), `tls.rs` (rustls and its listener), `routes.rs` (the
//! route table and the authorization layer), `api.rs` and `users.rs` (the handlers, each
//! calling one `ops` function), `error.rs` (errors to HTTP statuses, in one place). The server reaches the state
//! only through `ops`.

mod api;
pub mod config;
mod error;
mod peer;
pub mod routes;
mod tls;
mod users;

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
    #[error("the scheduler inside the server stopped: {0}")]
    Scheduler(#[from] SchedulerError),
}

/// What every handler shares.
pub(crate) struct AppState {
    pub ctx: Arc<ops::Context>,
    pub login: LoginSettings,
    pub rate_limit: RateLimit,
    pub failed_logins: peer::FailedLogins,
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
    let app = router(Arc::new(AppState {
        ctx: ctx.clone(),
        login: config.login,
        rate_limit: config.rate_limit,
        failed_logins: Default::default(),
    }))
    .into_make_service_with_connect_info::<peer::Peer>();
    let (stop, stopped) = watch::channel(false);
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
                let options = ServeOptions { once: false, poll, run: Default::default() };
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
    let (served, scheduled, ()) = tokio::join!(http, scheduler, signal);
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
        .route("/api/login", post(api::login))
        .route("/api/hosts", get(api::hosts))
        .route("/api/plans", get(api::plans))
        .route("/api/changes/{plan}/approve", post(api::approve))
        .route("/api/users", post(users::create_user))
        .route("/api/tokens", post(users::create_token))
        .route("/api/tokens/{id}", delete(users::revoke_token))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), routes::authorize))
        .with_state(state)
}
