//! The API explorer at `/api/docs`: every operation of the OpenAPI document with its
//! parameters, body and answers, and every schema, as one server-rendered page (askama,
//! `templates/explorer.html`) with its one stylesheet embedded in the binary
//! (`assets/explorer.css`). No script and nothing fetched from elsewhere: the
//! Content-Security-Policy allows the page's own stylesheet and nothing else.
//!
//! Not Swagger UI: the Swagger UI that PyPI's `swagger-ui-bundle` carries (4.15) does not read
//! OpenAPI 3.1, the version of our document; a page drawn from the document itself stays in
//! step with it and needs no vendored JavaScript.

use std::sync::LazyLock;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

/// The stylesheet, from the binary.
const CSS: &[u8] = include_bytes!("../assets/explorer.css");

/// What the page and its stylesheet may load: the stylesheet, nothing else.
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
                      form-action 'none'; frame-ancestors 'none'";

#[derive(Template)]
#[template(path = "explorer.html")]
struct Explorer {
    title: String,
    description: String,
    version: String,
    openapi: String,
    operations: Vec<Operation>,
    schemas: Vec<Schema>,
}

struct Operation {
    anchor: String,
    method: String,
    method_class: String,
    path: String,
    summary: String,
    parameters: Vec<Parameter>,
    body: Option<Body>,
    responses: Vec<Answer>,
}

struct Parameter {
    name: String,
    location: String,
    required: bool,
    schema: String,
    description: String,
}

struct Body {
    content_type: String,
    required: bool,
    schema_name: Option<String>,
    schema: String,
}

struct Answer {
    status: String,
    content: String,
    schema_name: Option<String>,
    list: bool,
    description: String,
}

struct Schema {
    name: String,
    json: String,
}

/// The page, drawn once from the document (which does not change while the server runs).
static PAGE: LazyLock<Result<String, String>> = LazyLock::new(|| {
    let document = serde_json::to_value(crate::openapi::document()).map_err(|e| e.to_string())?;
    explorer(&document).render().map_err(|e| e.to_string())
});

/// The API explorer: every operation and schema of the OpenAPI document.
#[utoipa::path(get, path = "/api/docs", tag = "api",
    responses((status = 200, description = "The API explorer: a page", body = String, content_type = "text/html")))]
pub(crate) async fn page() -> Response {
    match &*PAGE {
        Ok(html) => {
            let mut response = Html(html.clone()).into_response();
            secure(&mut response, "no-cache");
            response
        }
        Err(problem) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("the explorer: {problem}")).into_response()
        }
    }
}

/// The explorer's stylesheet, cached for a year (its address changes with the version).
#[utoipa::path(get, path = "/api/docs/explorer.css", tag = "api",
    responses((status = 200, description = "The explorer's stylesheet", body = String, content_type = "text/css")))]
pub(crate) async fn stylesheet() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response();
    secure(&mut response, "private, max-age=31536000, immutable");
    response
}

fn secure(response: &mut Response, cache: &'static str) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

fn explorer(document: &Value) -> Explorer {
    let text = |value: &Value| value.as_str().unwrap_or("").to_owned();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let parameters = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| Parameter {
                    name: text(&p["name"]),
                    location: text(&p["in"]),
                    required: p["required"].as_bool().unwrap_or(false),
                    schema: compact(&p["schema"]),
                    description: text(&p["description"]),
                })
                .collect();
            let body = operation["requestBody"].as_object().and_then(|body| {
                let (content_type, media) = body.get("content")?.as_object()?.iter().next()?;
                let (schema_name, _) = schema_name(&media["schema"]).unzip();
                Some(Body {
                    content_type: content_type.clone(),
                    required: body.get("required").and_then(Value::as_bool).unwrap_or(false),
                    schema_name,
                    schema: compact(&media["schema"]),
                })
            });
            let responses = operation["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, answer)| {
                    let media = answer["content"].as_object().and_then(|c| c.iter().next());
                    let (content, schema) = match media {
                        Some((content_type, media)) => (content_type.clone(), &media["schema"]),
                        None => ("(none)".to_owned(), &Value::Null),
                    };
                    let (schema_name, list) = schema_name(schema).unzip();
                    Answer {
                        status: status.clone(),
                        content,
                        schema_name,
                        list: list.unwrap_or(false),
                        description: text(&answer["description"]),
                    }
                })
                .collect();
            let summary = [text(&operation["summary"]), text(&operation["description"])]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            operations.push(Operation {
                anchor: format!("{method}-{}", anchor(path)),
                method: method.to_uppercase(),
                method_class: method.clone(),
                path: path.clone(),
                summary,
                parameters,
                body,
                responses,
            });
        }
    }
    operations.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    let schemas = document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, schema)| Schema {
            name: name.clone(),
            json: serde_json::to_string_pretty(schema).unwrap_or_default(),
        })
        .collect();
    Explorer {
        title: text(&document["info"]["title"]),
        description: text(&document["info"]["description"]),
        version: text(&document["info"]["version"]),
        openapi: text(&document["openapi"]),
        operations,
        schemas,
    }
}

/// The component a schema names, directly, as a list's items, or as one of its alternatives
/// (an optional body), and whether it is a list.
fn schema_name(schema: &Value) -> Option<(String, bool)> {
    let named = |value: &Value| {
        value["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .map(str::to_owned)
    };
    if let Some(name) = named(schema) {
        return Some((name, false));
    }
    if let Some(name) = named(&schema["items"]) {
        return Some((name, true));
    }
    ["oneOf", "anyOf", "allOf"]
        .iter()
        .flat_map(|key| schema[key].as_array().into_iter().flatten())
        .find_map(schema_name)
}

fn compact(schema: &Value) -> String {
    if schema.is_null() { String::new() } else { schema.to_string() }
}

/// A path as an HTML id: letters, digits and `-`.
fn anchor(path: &str) -> String {
    path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}
