//! The dashboard's hosts: `GET /hosts` lists them a page at a time (each with its latest
//! attempt), filtered by environment; `GET /hosts/{host}` shows one host's assessment history.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Extension, Path, State};
use axum::response::Html;
use model::access::Role;
use ops::identity::Identity;
use protocol::output::host::HistoryEntryV1;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::page::Params;

/// Hosts a page of `/hosts` lists.
const PAGE: usize = 100;
/// Attempts `/hosts/{host}` shows.
const HISTORY: u32 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostsQuery {
    environment: Option<String>,
    offset: Option<usize>,
}

struct HostRow {
    name: String,
    environment: String,
    /// RFC 3339, or `never`.
    latest: String,
    failed: bool,
    updates: String,
    security: String,
    reboot: bool,
}

#[derive(Template)]
#[template(path = "hosts.html")]
struct HostsPage {
    user: String,
    role: Role,
    environment: String,
    hosts: Vec<HostRow>,
    total: usize,
    first: usize,
    previous: Option<usize>,
    next: Option<usize>,
}

/// `GET /hosts?environment=&offset=`.
pub(crate) async fn hosts(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Params(query): Params<HostsQuery>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let all = ops::fleet::hosts_latest(ctx).await.map_err(|e| ApiError::from_query(ctx, e))?;
    let environment = query.environment.unwrap_or_default();
    let chosen: Vec<_> =
        all.iter().filter(|h| environment.is_empty() || h.environment == environment).collect();
    let total = chosen.len();
    let first = query.offset.unwrap_or(0).min(total);
    let hosts = chosen
        .into_iter()
        .skip(first)
        .take(PAGE)
        .map(|h| {
            let summary = h.latest.as_ref().and_then(|l| l.summary.as_ref());
            HostRow {
                latest: h.latest.as_ref().map_or_else(
                    || "never".to_owned(),
                    |l| model::dates::rfc3339_unix(l.taken_at_unix),
                ),
                failed: h.latest.as_ref().is_some_and(|l| l.summary.is_none()),
                updates: summary.map(|s| s.n_updates.to_string()).unwrap_or_default(),
                security: summary.map(|s| s.n_security.to_string()).unwrap_or_default(),
                reboot: summary.is_some_and(|s| s.reboot_required),
                name: h.host.clone(),
                environment: h.environment.clone(),
            }
        })
        .collect();
    let page = HostsPage {
        user: identity.user,
        role: identity.role,
        environment,
        hosts,
        total,
        first,
        previous: (first > 0).then(|| first.saturating_sub(PAGE)),
        next: (first + PAGE < total).then_some(first + PAGE),
    };
    crate::web::render(page, ctx)
}

#[derive(Template)]
#[template(path = "host.html")]
struct HostPage {
    user: String,
    role: Role,
    host: String,
    history: Vec<HistoryEntryV1>,
}

/// `GET /hosts/{host}`: its latest attempts, newest first.
pub(crate) async fn host(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path(host): Path<String>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let inventory = ctx.inventory().map_err(|e| ApiError::from_source(ctx, e))?;
    if inventory.host(&host).is_none() {
        return Err(ApiError::not_found(format!("no host {host} in the inventory")));
    }
    let rows = ops::history::history(ctx, &host, HISTORY)
        .await
        .map_err(|e| ApiError::from_query(ctx, e))?;
    let history = rows.iter().map(ops::history::entry_output).collect();
    crate::web::render(HostPage { user: identity.user, role: identity.role, host, history }, ctx)
}
