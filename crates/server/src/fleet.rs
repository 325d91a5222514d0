//! The fleet's handlers: hosts, a host's history, assessing, compliance, CVE exposure, advisories. Each
//! parses its query, calls one function of `ops`, and answers the JSON form the CLI prints.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, OriginalUri, Path, State};
use axum::response::Response;
use ops::identity::Identity;
use protocol::api::AssessRequestV1;
use protocol::output::advisory::{AdvisoryRecordV1, CveReportV1, HostExposureV1};
use protocol::output::assess::AssessOutputV1;
use protocol::output::compliance::ComplianceReportV1;
use protocol::output::host::{HistoryEntryV1, HostV1};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::page::{Params, Window, page, page_of, selectors};

type Shared = State<Arc<AppState>>;

/// A list of hosts: which (selectors), and which page.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HostQuery {
    /// Selectors as the CLI takes them, separated by spaces: `env:production group:web`.
    select: Option<String>,
    /// At most this many (1 to 1000; 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Skip this many.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<usize>,
}

impl HostQuery {
    fn window(&self) -> Window {
        Window { limit: self.limit, offset: self.offset }
    }
}

/// The inventory's hosts.
#[utoipa::path(get, path = "/api/hosts", tag = "fleet", params(HostQuery),
    responses((status = 200, description = "The hosts, by name", body = Vec<HostV1>)))]
pub(crate) async fn hosts(
    State(state): Shared,
    uri: OriginalUri,
    Params(query): Params<HostQuery>,
) -> Result<Response, ApiError> {
    let selectors = selectors(query.select.as_deref());
    let window = query.window();
    state
        .ctx
        .with_hosts(&selectors, |hosts| page_of(hosts, HostV1::from, window, &uri))
        .map_err(|e| ApiError::from_source(&state.ctx, e))?
}

/// A page of a list that has no filter.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// At most this many (1 to 1000; 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Skip this many.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<usize>,
}

impl PageQuery {
    pub(crate) fn window(&self) -> Window {
        Window { limit: self.limit, offset: self.offset }
    }
}

/// A host's assessments, failed attempts too, newest first.
#[utoipa::path(get, path = "/api/hosts/{host}/history", tag = "fleet",
    params(("host" = String, Path, description = "The host's name"), PageQuery),
    responses((status = 200, body = Vec<HistoryEntryV1>)))]
pub(crate) async fn history(
    State(state): Shared,
    Path(host): Path<String>,
    uri: OriginalUri,
    Params(query): Params<PageQuery>,
) -> Result<Response, ApiError> {
    let window = query.window();
    // The store answers newest first, up to what the page needs.
    let needed = window.offset.unwrap_or(0).saturating_add(window.limit.unwrap_or(1000) + 1);
    let rows = ops::history::history(&state.ctx, &host, needed.min(u32::MAX as usize) as u32)
        .await
        .map_err(|e| ApiError::from_query(&state.ctx, e))?;
    if rows.is_empty()
        && state.ctx.hosts(&["all".to_owned()]).is_ok_and(|h| h.iter().all(|h| h.name != host))
    {
        return Err(ApiError::not_found(format!("no host {host} in the inventory or on record")));
    }
    page(rows.iter().map(ops::history::entry_output).collect(), window, &uri)
}

/// Which hosts a report covers.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SelectQuery {
    /// Selectors as the CLI takes them, separated by spaces; every host when absent.
    select: Option<String>,
}

/// Whether hosts are patched as the policy says, with the evidence.
#[utoipa::path(get, path = "/api/compliance", tag = "fleet", params(SelectQuery),
    responses((status = 200, body = ComplianceReportV1)))]
pub(crate) async fn compliance(
    State(state): Shared,
    Params(query): Params<SelectQuery>,
) -> Result<Json<ComplianceReportV1>, ApiError> {
    let selectors = selectors(query.select.as_deref());
    let report = ops::compliance::report(&state.ctx, &selectors)
        .await
        .map_err(|e| ApiError::from_query(&state.ctx, e))?;
    Ok(Json(ComplianceReportV1::from(&report)))
}

/// Each host's exposure to known CVEs, with the update that fixes it.
#[utoipa::path(get, path = "/api/cves", tag = "fleet", params(HostQuery),
    responses((status = 200, body = Vec<HostExposureV1>)))]
pub(crate) async fn cves(
    State(state): Shared,
    uri: OriginalUri,
    Params(query): Params<HostQuery>,
) -> Result<Response, ApiError> {
    let selectors = selectors(query.select.as_deref());
    let exposures = ops::advisories::host_exposures(&state.ctx, &selectors)
        .await
        .map_err(|e| ApiError::from_query(&state.ctx, e))?;
    page(exposures.iter().map(HostExposureV1::from).collect(), query.window(), &uri)
}

/// One CVE: the advisories naming it, and which hosts are affected, fixed, or not concerned.
#[utoipa::path(get, path = "/api/cves/{cve}", tag = "fleet",
    params(("cve" = String, Path, description = "A CVE id"), SelectQuery),
    responses((status = 200, body = CveReportV1)))]
pub(crate) async fn cve(
    State(state): Shared,
    Path(cve): Path<String>,
    Params(query): Params<SelectQuery>,
) -> Result<Json<CveReportV1>, ApiError> {
    let selectors = selectors(query.select.as_deref());
    let (advisories, hosts) = ops::advisories::cve(&state.ctx, &cve, &selectors)
        .await
        .map_err(|e| ApiError::from_query(&state.ctx, e))?;
    if advisories.is_empty() {
        return Err(ApiError::not_found(format!("no advisory on record names {cve}")));
    }
    Ok(Json(ops::advisories::cve_output(&cve, &advisories, &hosts)))
}

/// The advisories on record.
#[utoipa::path(get, path = "/api/advisories", tag = "fleet", params(PageQuery),
    responses((status = 200, body = Vec<AdvisoryRecordV1>)))]
pub(crate) async fn advisories(
    State(state): Shared,
    uri: OriginalUri,
    Params(query): Params<PageQuery>,
) -> Result<Response, ApiError> {
    let stored =
        ops::advisories::list(&state.ctx).await.map_err(|e| ApiError::from_query(&state.ctx, e))?;
    page(stored.iter().map(ops::advisories::record_output).collect(), query.window(), &uri)
}

/// The advisories with this id, or that fix it (a CVE).
#[utoipa::path(get, path = "/api/advisories/{id}", tag = "fleet",
    params(("id" = String, Path, description = "An advisory's id (DSA-…, RHSA-…) or a CVE")),
    responses((status = 200, body = Vec<AdvisoryRecordV1>)))]
pub(crate) async fn advisory(
    State(state): Shared,
    Path(id): Path<String>,
) -> Result<Json<Vec<AdvisoryRecordV1>>, ApiError> {
    let stored = ops::advisories::find(&state.ctx, &id)
        .await
        .map_err(|e| ApiError::from_query(&state.ctx, e))?;
    if stored.is_empty() {
        return Err(ApiError::not_found(format!("no advisory on record is or fixes {id}")));
    }
    Ok(Json(stored.iter().map(ops::advisories::record_output).collect()))
}

/// Assesses the selected hosts of the server's inventory now, over SSH with the pinned host
/// keys (an unknown key refused): every attempt recorded; the hosts that could not be assessed
/// said with their reason. Answers when the last host is done.
#[utoipa::path(post, path = "/api/assessments", tag = "fleet",
    request_body(content = Option<AssessRequestV1>, content_type = "application/json"),
    responses((status = 200, description = "Each host's assessment with its summary, and the failures", body = AssessOutputV1)))]
pub(crate) async fn assess(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    body: Bytes,
) -> Result<Json<AssessOutputV1>, ApiError> {
    let request: AssessRequestV1 = crate::body::json_or_default(&body)?;
    let ctx = &state.ctx;
    let hosts = ctx
        .hosts(&selectors(Some(&request.selectors.join(" "))))
        .map_err(|e| ApiError::from_source(ctx, e))?;
    let config = ops::FleetAssessConfig {
        actor: identity.user.clone(),
        refresh: request.refresh,
        ..ops::FleetAssessConfig::default()
    };
    ctx.progress.notice(&format!("server: {} assesses {} hosts", identity.user, hosts.len()));
    let outcomes = ops::assess_fleet(ctx, &hosts, config, &|_, _, _| {})
        .await
        .map_err(|e| ApiError::from_query(ctx, e))?;
    Ok(Json(ops::assess_output(&outcomes)))
}
