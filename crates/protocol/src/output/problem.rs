//! What the server answers when a request fails: a problem document (RFC 9457,
//! `application/problem+json`), with our stable `code` as an extension member.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProblemV1 {
    /// `urn:patchctl:problem:` and the code.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, in words.
    pub detail: String,
    /// Stable, for programs: `unauthenticated`, `forbidden`, `not-found`, `locked-out`, …
    pub code: String,
}

impl ProblemV1 {
    pub fn new(status: u16, code: &str, detail: String) -> ProblemV1 {
        ProblemV1 {
            kind: format!("urn:patchctl:problem:{code}"),
            title: title(status).to_owned(),
            status,
            detail,
            code: code.to_owned(),
        }
    }
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ if status >= 500 => "Internal Server Error",
        _ => "Error",
    }
}
