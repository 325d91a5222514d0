//! Lists answered a page at a time: `?limit=` (1 to 1000, 100 by default) and `?offset=`,
//! with the list's whole length in `X-Total-Count` and the next page in a `Link` header
//! (RFC 8288, `rel="next"`), so that the body stays the list the CLI prints with `--format json`.
//! Filters are query parameters of their own, parsed here too so that a bad one is a problem
//! document (400) like every other error, not the framework's plain text.

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
/// The OpenAPI document's bound on `offset` (an `int32`'s).
pub const MAX_OFFSET: usize = i32::MAX as usize;

/// A request's query parameters, as `T` (unknown ones refused, so that a misspelt filter is not
/// silently ignored).
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(Params)
            .map_err(|e| ApiError::invalid(format!("the query {query:?}: {e}")))
    }
}

/// Which part of a list to answer.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Window {
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

impl Window {
    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.unwrap_or(DEFAULT_LIMIT) {
            0 => Err(ApiError::invalid("limit must be at least 1")),
            n if n > MAX_LIMIT => Err(ApiError::invalid(format!("limit is at most {MAX_LIMIT}"))),
            n => Ok(n),
        }
    }

    fn offset(&self) -> Result<usize, ApiError> {
        match self.offset.unwrap_or(0) {
            n if n > MAX_OFFSET => {
                Err(ApiError::invalid(format!("offset is at most {MAX_OFFSET}")))
            }
            n => Ok(n),
        }
    }
}

/// `items`, the part `window` asks for, with the headers that tell the rest; `uri` is the
/// request's, whose other parameters the next page keeps.
pub fn page<T: Serialize>(
    items: Vec<T>,
    window: Window,
    uri: &OriginalUri,
) -> Result<Response, ApiError> {
    page_of(items, |item| item, window, uri)
}

/// [`page`] of what `output` makes of each item in the window, the others left as they are.
pub fn page_of<T, U: Serialize>(
    items: Vec<T>,
    output: impl FnMut(T) -> U,
    window: Window,
    uri: &OriginalUri,
) -> Result<Response, ApiError> {
    let limit = window.limit()?;
    let offset = window.offset()?;
    let total = items.len();
    let next = (offset.saturating_add(limit) < total).then(|| offset + limit);
    let part: Vec<U> = items.into_iter().skip(offset).take(limit).map(output).collect();
    let mut response = Json(part).into_response();
    let headers = response.headers_mut();
    headers.insert("x-total-count", HeaderValue::from(total));
    if let Some(next) = next {
        let kept: Vec<(String, String)> =
            serde_urlencoded::from_str::<Vec<(String, String)>>(uri.query().unwrap_or(""))
                .unwrap_or_default()
                .into_iter()
                .filter(|(key, _)| key != "offset" && key != "limit")
                .chain([
                    ("limit".to_owned(), limit.to_string()),
                    ("offset".into(), next.to_string()),
                ])
                .collect();
        let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
        let link = format!("<{}?{query}>; rel=\"next\"", uri.path());
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// Selectors given as `?select=env:production group:web` (separated by spaces); every host
/// (`all`) when there are none.
pub fn selectors(select: Option<&str>) -> Vec<String> {
    let selectors: Vec<String> =
        select.unwrap_or("").split_whitespace().map(str::to_owned).collect();
    if selectors.is_empty() { vec!["all".to_owned()] } else { selectors }
}
