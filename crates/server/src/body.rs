//! Request bodies, read as JSON by serde so that a body that is not the form (or too big)
//! is a problem document that says where, not the framework's plain text.

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest body any route takes.
pub const MAX_BODY: usize = 64 * 1024;

/// `body` as `T`.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > MAX_BODY {
        return Err(ApiError::invalid(format!("the body is over {MAX_BODY} bytes")));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("the body: {e}")))
}

/// `body` as `T`, or `T`'s default when there is none, or it is `null` (an act with no
/// comment).
pub fn json_or_default<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    Ok(json::<Option<T>>(body)?.unwrap_or_default())
}
