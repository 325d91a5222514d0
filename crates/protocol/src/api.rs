//! The bodies the server's API takes and the ones it answers that the CLI does not print:
//! logins, tokens, users, and the acts on a change. What a list or a show answers is the
//! document the CLI prints with `--format json` (`output`), so that `patchctl --server` and
//! the local CLI read the same forms.

use serde::{Deserialize, Serialize};

/// `POST /api/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequestV1 {
    pub user: String,
    pub password: String,
}

/// A token issued: by a login (the user's own role, for the CLI) or by an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenV1 {
    /// Shown this once; stored only as its SHA-256.
    pub token: String,
    pub id: String,
    pub user: String,
    pub role: RoleV1,
    pub expires_at_unix: Option<i64>,
}

/// A role: each holds every right of the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoleV1 {
    Viewer,
    Operator,
    Approver,
    Admin,
}

/// `POST /api/tokens`: a token for `user`, with at most the user's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTokenV1 {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._-]{1,64}$"))]
    pub user: String,
    pub role: RoleV1,
    /// 1 to 8784; never expires when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 8784))]
    pub hours: Option<i64>,
}

/// `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUserV1 {
    /// Letters, digits, `.`, `_`, `-`; at most 64.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._-]{1,64}$"))]
    pub name: String,
    pub role: RoleV1,
}

/// A user created, with the password to give them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserCreatedV1 {
    pub name: String,
    pub role: RoleV1,
    /// Shown this once; stored only as its hash.
    pub one_time_password: String,
}

/// `POST /api/changes/{plan}/request`: the requester is the caller's login.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangeRequestV1 {
    /// The change ticket, when a rule requires one.
    #[serde(default)]
    pub ticket: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /api/changes/{plan}/approve|reject`: the approver is the caller's login.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangeDecisionV1 {
    #[serde(default)]
    pub comment: Option<String>,
}
