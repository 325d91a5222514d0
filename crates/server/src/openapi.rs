//! The API described: an OpenAPI 3.1 document built by utoipa from the handlers' own
//! annotations and the `protocol` forms' schemas, served at `/api/openapi.json`. Every
//! operation gets the bearer scheme and a `default` answer, the problem document, which is
//! what every error is (`error.rs`). A test holds it equal to the route table.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::{api, explorer, fleet, live, metrics, plans, records, rollouts, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "patchctl",
        description = "Fleet patch management: the team server's API. Lists answer a page at a \
            time (`limit`, `offset`; the total in `X-Total-Count`, the next page in `Link`). \
            Errors are problem documents (RFC 9457) with a stable `code`."
    ),
    paths(
        api::healthz, api::readyz, api::login, metrics::metrics,
        fleet::hosts, fleet::history, fleet::compliance, fleet::cves, fleet::cve,
        fleet::advisories, fleet::advisory,
        plans::plans, plans::plan, plans::change, plans::request, plans::approve, plans::reject,
        rollouts::rollouts, rollouts::rollout, rollouts::report, rollouts::pause,
        rollouts::resume, rollouts::cancel, live::events,
        records::postmortems, records::postmortem, records::notifications, records::audit,
        users::create_user, users::create_token, users::revoke_token,
        plans::create, plans::changes, rollouts::start, fleet::assess, records::open,
        records::close, users::change_password, users::logout,
        explorer::page, explorer::stylesheet, plans::schedule,
        openapi,
    ),
    modifiers(&Conventions)
)]
pub(crate) struct Api;

/// What every operation has in common: the bearer token (but the login's) and the problem
/// document as its answer to anything not listed.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let problem = ResponseBuilder::new()
            .description("What went wrong: a problem document with a stable `code`")
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ProblemV1"))))
                    .build(),
            )
            .build();
        let bearer =
            utoipa::openapi::security::SecurityRequirement::new::<_, _, &str>("bearer", []);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations =
                [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                operation.responses.responses.insert("default".into(), problem.clone().into());
                if (path.starts_with("/api/") && path != "/api/login") || path == "/metrics" {
                    operation.security = Some(vec![bearer.clone()]);
                }
            }
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "api",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

/// The document, with every form it names.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = Api::openapi();
    let components = document.components.get_or_insert_with(Default::default);
    let mut schemas = Vec::new();
    <protocol::output::problem::ProblemV1 as utoipa::ToSchema>::schemas(&mut schemas);
    // Not an answer's body but each event's data in the live rollout's stream.
    <protocol::output::rollout::RolloutLiveV1 as utoipa::ToSchema>::schemas(&mut schemas);
    schemas.push((
        "RolloutLiveV1".to_owned(),
        <protocol::output::rollout::RolloutLiveV1 as utoipa::PartialSchema>::schema(),
    ));
    schemas.push((
        "ProblemV1".to_owned(),
        <protocol::output::problem::ProblemV1 as utoipa::PartialSchema>::schema(),
    ));
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    document
}
