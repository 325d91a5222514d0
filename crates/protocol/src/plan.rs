//! The stored form of an action plan, and how its id is computed.
//!
//! `PlanV1` is the body the `plans` table keeps: member for member the JSON patchctl has
//! written since plans had ids, so every stored body parses and every stored id is reproduced.
//!
//! # Plan id, version 1
//!
//! A plan's id is `sha256:` followed by the 64 lowercase hex digits of the SHA-256 of its
//! canonical bytes. The canonical bytes of a plan are its `PlanV1` JSON written compactly
//! (no whitespace at all) with `id` set to the empty string, where:
//!
//! - object members come in the order the structs below declare them (not sorted);
//! - these members are left out: `Plan.withheld` and `PlanOptions.goals` when empty,
//!   `Plan.emergency`, `PlanOptions.restart_services` and `WithheldUpdate.approved_after_unix`
//!   when absent, `HostPlan.restarts` when it is `{"services":"never"}` (the default), and
//!   `ServiceRestarts.sshd` when false; every other absent value is written as `null`;
//! - unit enum values are strings: snake_case (`if_required`, `security_only`, `no_rule`) except
//!   `RebootPolicyV1` (kebab-case: `if-required`), `RestartServicesV1` and
//!   `PackageManagerKindV1` (lowercase: `needrestart`, `apt`); enum values with data are
//!   one-member objects (`{"count":1}`, `{"percent":25}`, `{"packages":["openssl"]}`);
//! - strings are UTF-8, escaping only `"` and `\` (as `\"`, `\\`) and the characters below
//!   U+0020: `\b \t \n \f \r` in that short form, the others as `\u00XX` with lowercase hex
//!   digits (`/`, U+007F and everything above are written as they are);
//! - integers are written in decimal; the one float (`EmergencyV1.cvss_score`) in the shortest
//!   form that reads back as the same double, with `.0` when integral (`9.8`, `10.0`).
//!
//! This is exactly what `serde_json::to_vec` writes for the types below, which is how
//! [`canonical_bytes`] computes it; another implementation follows the rules above.
//!
//! An id says its version by its prefix: `sha256:` is version 1. A later version gets its own
//! prefix, so an id always says how to recompute it ([`id_version`]).

use serde::{Deserialize, Serialize};

/// The version of the plan id computed by [`plan_id`].
pub const PLAN_ID_VERSION: u32 = 1;

/// The prefix of version 1 ids.
const V1_PREFIX: &str = "sha256:";

/// The canonical bytes of `plan`: its JSON with an empty `id`, as the module documents.
pub fn canonical_bytes(plan: &PlanV1) -> Vec<u8> {
    let unhashed = PlanV1 { id: String::new(), ..plan.clone() };
    // Plain structs, strings and numbers always serialize.
    serde_json::to_vec(&unhashed).expect("a plan serializes")
}

/// The id of `plan`'s content (version 1): `sha256:` and the hex digest of its canonical bytes.
pub fn plan_id(plan: &PlanV1) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(canonical_bytes(plan));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{V1_PREFIX}{hex}")
}

/// The version of the canonical form an id was computed with, by its prefix; `None` for text
/// that is no plan id.
pub fn id_version(id: &str) -> Option<u32> {
    let hex = id.strip_prefix(V1_PREFIX)?;
    let is_hex = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    is_hex.then_some(1)
}

/// An action plan as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanV1 {
    pub id: String,
    pub created_at_unix: i64,
    pub selectors: Vec<String>,
    pub options: PlanOptionsV1,
    pub hosts: Vec<HostPlanV1>,
    pub waves: Vec<WaveV1>,
    pub excluded: Vec<ExcludedHostV1>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<WithheldUpdateV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<EmergencyV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanOptionsV1 {
    pub scope: ScopeV1,
    pub reboot: RebootPolicyV1,
    pub strategy: StrategyV1,
    pub environment_order: Vec<String>,
    /// Bodies written before this member existed kept 2 kernels.
    #[serde(default = "two")]
    pub keep_kernels: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_services: Option<RestartServicesV1>,
}

fn two() -> u64 {
    2
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScopeV1 {
    All,
    SecurityOnly,
    KernelOnly,
    Packages(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RebootPolicyV1 {
    IfRequired,
    Never,
    Always,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RestartServicesV1 {
    #[default]
    Never,
    Listed,
    Needrestart,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceRestartsV1 {
    pub services: RestartServicesV1,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sshd: bool,
}

impl ServiceRestartsV1 {
    fn is_default(&self) -> bool {
        *self == ServiceRestartsV1::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StrategyV1 {
    pub canary: u64,
    pub max_unavailable: LimitV1,
    pub error_budget: LimitV1,
}

/// A number of hosts, absolute or a percentage of a group; also the rollout config's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LimitV1 {
    Count(u64),
    Percent(u8),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostPlanV1 {
    pub host: String,
    pub environment: String,
    pub owner: Option<String>,
    pub package_manager: PackageManagerKindV1,
    pub assessed_at_unix: i64,
    pub running_kernel: String,
    pub changes: Vec<PackageChangeV1>,
    pub reboot: PlannedRebootV1,
    pub services_needing_restart: Vec<String>,
    #[serde(default, skip_serializing_if = "ServiceRestartsV1::is_default")]
    pub restarts: ServiceRestartsV1,
    pub risks: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PackageManagerKindV1 {
    Apt,
    Dnf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageChangeV1 {
    pub name: String,
    pub arch: String,
    pub from: Option<String>,
    pub to: String,
    pub classification: ClassificationV1,
    pub severity: Option<SeverityV1>,
    pub kernel: bool,
    pub advisories: Vec<String>,
    pub cves: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClassificationV1 {
    Security,
    Bugfix,
    Enhancement,
    Newpackage,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SeverityV1 {
    None,
    Low,
    Moderate,
    Important,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlannedRebootV1 {
    Yes,
    IfRequired,
    No,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaveV1 {
    pub name: String,
    pub environment: String,
    pub canary: bool,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExcludedHostV1 {
    pub host: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WithheldUpdateV1 {
    pub host: String,
    pub name: String,
    pub arch: String,
    pub version: String,
    pub rule: WithheldByV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_after_unix: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WithheldByV1 {
    Excluded,
    Rejected,
    Held,
    NoRule,
    NotYet,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmergencyV1 {
    pub advisories: Vec<String>,
    pub cves: Vec<String>,
    pub cvss_score: Option<f64>,
    pub reason: String,
}
