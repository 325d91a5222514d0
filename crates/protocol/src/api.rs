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

/// `POST /api/plans`: what `patchctl plan create` takes. Every member but `selectors` has the
/// command's default when absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPlanV1 {
    /// `all`, a host, a group, `env:NAME` or `tag:NAME`; at least one.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub selectors: Vec<String>,
    /// Which updates: `all` (the default), `security_only`, `kernel_only`, or `packages` (then
    /// `packages` names them).
    #[serde(default)]
    pub scope: Option<PlanScopeV1>,
    /// With `scope = packages`: only these packages.
    #[serde(default)]
    pub packages: Vec<String>,
    /// What the plan is for; default: the policy's goals of the selected hosts' environments.
    #[serde(default)]
    pub goals: Vec<String>,
    /// `never`, `if-required` (the default) or `always`.
    #[serde(default)]
    pub reboot: Option<String>,
    /// Canary hosts per environment (1).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000))]
    pub canary: Option<u32>,
    /// The largest batch: hosts, or a percentage of the environment (`25%`).
    #[serde(default)]
    pub max_unavailable: Option<String>,
    /// Failed hosts tolerated per wave, a number or a percentage (`0`).
    #[serde(default)]
    pub error_budget: Option<String>,
    /// Kernels kept on each host (2); 0 keeps all.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub keep_kernels: Option<u32>,
    /// `never`, `listed` or `needrestart`; default: the policy's.
    #[serde(default)]
    pub restart_services: Option<String>,
}

/// A plan's scope, as `plan create`'s flags choose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlanScopeV1 {
    All,
    SecurityOnly,
    KernelOnly,
    Packages,
}

/// `POST /api/rollouts`: `patchctl rollout start PLAN`, the starter being the caller's login.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartRolloutV1 {
    /// The plan's id or a unique prefix of it.
    pub plan: String,
    /// Why a plan that ran already runs again (`--again --reason`).
    #[serde(default)]
    pub again: Option<String>,
    /// Why it starts outside its environments' windows (`--override-window --reason`).
    #[serde(default)]
    pub override_window: Option<String>,
}

/// `POST /api/assessments`: `patchctl assess SELECTOR…` over the server's inventory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssessRequestV1 {
    /// Which hosts; every one (`all`) when empty.
    #[serde(default)]
    pub selectors: Vec<String>,
    /// Refresh the package lists first (`--refresh`).
    #[serde(default)]
    pub refresh: bool,
}

/// `POST /api/postmortems`: `patchctl postmortem open`, opened by the caller's login. At most
/// one of `rollout`, `advisory`, `emergency` names its subject; none: the title does.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPostmortemV1 {
    pub title: String,
    #[serde(default)]
    pub rollout: Option<String>,
    #[serde(default)]
    pub advisory: Option<String>,
    #[serde(default)]
    pub emergency: Option<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub owner: Option<String>,
    /// Hours until it is due; default the policy's `postmortem_due`, else 24.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 8784))]
    pub due_hours: Option<u32>,
}

/// `POST /api/postmortems/{id}/close`: closed by the caller's login.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClosePostmortemV1 {
    pub root_cause: String,
    /// Follow-up actions.
    #[serde(default)]
    pub actions: Vec<String>,
}

/// `POST /api/users/me/password`: the caller's own password, the old one given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeV1 {
    pub old_password: String,
    /// At least 12 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 12, max_length = 1024))]
    pub new_password: String,
}
