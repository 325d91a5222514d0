//! The record on the dashboard, the pages of `records.rs`'s API: `GET /postmortems` and `GET
//! /postmortems/{id}` (`ops::postmortem::{list, show}`), and `GET /audit`, every evidence
//! chain checked as `patchctl audit verify` does (`ops::audit::check`), its verdict first.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Extension, Path, State};
use axum::response::Html;
use model::access::Role;
use ops::identity::Identity;
use protocol::output::postmortem::{PostmortemEntryV1, PostmortemV1};

use crate::AppState;
use crate::error::ApiError;

type Shared = State<Arc<AppState>>;

#[derive(Template)]
#[template(path = "postmortems.html")]
struct PostmortemsPage {
    user: String,
    role: Role,
    postmortems: Vec<PostmortemV1>,
}

/// `GET /postmortems`: every postmortem, as `GET /api/postmortems` lists them.
pub(crate) async fn postmortems(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let all = ops::postmortem::list(ctx).await.map_err(|e| ApiError::from_query(ctx, e))?;
    let now = ctx.clock.now_seconds();
    let postmortems = all.iter().map(|p| p.to_output(now)).collect();
    crate::web::render(
        PostmortemsPage { user: identity.user, role: identity.role, postmortems },
        ctx,
    )
}

struct EntryRow {
    at: String,
    actor: String,
    action: String,
    details: String,
}

#[derive(Template)]
#[template(path = "postmortem.html")]
struct PostmortemPage {
    user: String,
    role: Role,
    postmortem: PostmortemV1,
    record: Vec<EntryRow>,
}

/// `GET /postmortems/{id}` (`7` or `PM-7`): one postmortem with its record.
pub(crate) async fn postmortem(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let number = crate::records::postmortem_number(&id)?;
    let found =
        ops::postmortem::show(ctx, number).await.map_err(|e| ApiError::from_query(ctx, e))?;
    let Some((postmortem, events)) = found else {
        return Err(ApiError::not_found(format!("no postmortem has the id {number}")));
    };
    let record = events.iter().map(ops::postmortem::entry_output).map(entry_row).collect();
    let postmortem = postmortem.to_output(ctx.clock.now_seconds());
    let page = PostmortemPage { user: identity.user, role: identity.role, postmortem, record };
    crate::web::render(page, ctx)
}

fn entry_row(entry: PostmortemEntryV1) -> EntryRow {
    EntryRow {
        at: entry.at.unwrap_or_else(|| "(out of range)".to_owned()),
        actor: entry.actor,
        action: entry.action,
        details: match entry.details {
            serde_json::Value::Null => String::new(),
            details => details.to_string(),
        },
    }
}

struct ChainRow {
    chain: String,
    /// The chain's page, when it has one.
    link: Option<String>,
    entries: u64,
    problem: Option<String>,
    first_bad_seq: Option<i64>,
    not_covered: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    user: String,
    role: Role,
    intact: bool,
    broken: usize,
    not_covered: usize,
    chains: Vec<ChainRow>,
    missing: Vec<String>,
    anchor_file: String,
}

/// `GET /audit`: every evidence chain checked against itself and the anchors exported before,
/// the intact ones' heads exported again, as `GET /api/audit` and `patchctl audit verify` do.
pub(crate) async fn audit(
    State(state): Shared,
    Extension(identity): Extension<Identity>,
) -> Result<Html<String>, ApiError> {
    let ctx = &state.ctx;
    let report = ops::audit::check(ctx, &ops::audit::Scope::All)
        .await
        .map_err(|e| ApiError::from_query(ctx, e))?;
    let chains: Vec<ChainRow> = report
        .chains
        .iter()
        .map(|c| ChainRow {
            link: chain_link(&c.chain),
            chain: c.chain.clone(),
            entries: c.entries,
            problem: c.problem.clone(),
            first_bad_seq: c.first_bad_seq,
            not_covered: c.not_covered,
        })
        .collect();
    let page = AuditPage {
        user: identity.user,
        role: identity.role,
        intact: report.is_intact(),
        broken: chains.iter().filter(|c| c.problem.is_some()).count(),
        not_covered: chains.iter().filter(|c| c.not_covered).count(),
        chains,
        missing: report.missing.clone(),
        anchor_file: report.anchor_file.to_string_lossy().into_owned(),
    };
    crate::web::render(page, ctx)
}

/// `rollout:ID` → its report, `change:PLAN` → the plan, `postmortem:N` → the postmortem.
fn chain_link(chain: &str) -> Option<String> {
    let (kind, id) = chain.split_once(':')?;
    match kind {
        "rollout" => Some(format!("/rollouts/{id}/report")),
        "change" => Some(format!("/plans/{id}")),
        "postmortem" => Some(format!("/postmortems/{id}")),
        _ => None,
    }
}
