//! The policy file as written: the TOML shape, deserialized strictly (an unknown key is an
//! error, so a typo is never ignored), with the position of every value kept for messages.
//!
//! These types are the file format only; `resolve` checks them and builds the domain's
//! `Policy`, so the format can change without the evaluation noticing.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use toml::Spanned;

use crate::Classification;
use crate::plan::{RebootPolicy, RestartServices};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    /// In promotion order: the order of the `[[environments]]` tables.
    #[serde(default)]
    pub environments: Vec<EnvironmentFile>,
    /// Blackouts of every environment, or of those listed.
    #[serde(default)]
    pub blackouts: Vec<BlackoutFile>,
    #[serde(default)]
    pub baselines: BTreeMap<Spanned<String>, BaselineFile>,
    /// Who holds each role an approval rule may name: role → user names.
    #[serde(default)]
    pub roles: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    /// Who is told of halted rollouts, rollbacks, emergencies (`settings.rs`).
    pub notifications: Option<super::settings::NotificationsFile>,
    /// Compliance thresholds (`settings.rs`).
    pub compliance: Option<super::settings::ComplianceFile>,
    /// The emergency track's threshold and soak cap (`settings.rs`).
    pub emergency: Option<super::settings::EmergencyFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvironmentFile {
    pub name: Spanned<String>,
    pub schedule: Spanned<String>,
    /// Required: a window in the wrong zone patches production at noon.
    pub timezone: Spanned<String>,
    pub window: Spanned<String>,
    /// Default: the whole window.
    pub cutoff: Option<Spanned<String>>,
    /// Required: which environments need a change board is not something to default.
    pub approval: Spanned<ApprovalFile>,
    #[serde(default)]
    pub blackouts: Vec<BlackoutFile>,
    #[serde(default)]
    pub sla_days: SlaFile,
    /// Default: none.
    pub soak: Option<Spanned<String>>,
    #[serde(default)]
    pub strategy: StrategyFile,
    pub reboot: Option<RebootPolicy>,
    /// Which services a rollout restarts on a host that does not reboot. Default: never.
    pub restart_services: Option<RestartServices>,
    /// Whether sshd may be among them. Default: false.
    pub restart_sshd: Option<Spanned<bool>>,
    /// Default: the baseline named `default`, else one approving every update at once.
    pub baseline: Option<Spanned<String>>,
    /// What patching this environment is for, in words: a plan without `--goal` states these.
    #[serde(default)]
    pub goals: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BlackoutFile {
    /// A date, quoted (`"2026-12-20"`) or as a TOML local date (`2026-12-20`).
    pub from: Spanned<toml::Value>,
    pub to: Spanned<toml::Value>,
    pub reason: Option<Spanned<String>>,
    /// Only in the top-level `[[blackouts]]`: the environments it applies to; default all.
    pub environments: Option<Vec<Spanned<String>>>,
}

/// `"auto"`, or a table saying who must approve.
#[derive(Debug)]
pub(crate) enum ApprovalFile {
    Auto,
    Required(RequiredApprovalFile),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequiredApprovalFile {
    pub approvers: Spanned<i64>,
    pub role: Option<Spanned<String>>,
    #[serde(default)]
    pub ticket: bool,
}

/// Days to patch, by severity; a severity left out has no deadline.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SlaFile {
    pub critical: Option<Spanned<i64>>,
    pub important: Option<Spanned<i64>>,
    pub moderate: Option<Spanned<i64>>,
    pub low: Option<Spanned<i64>>,
    pub none: Option<Spanned<i64>>,
    /// Updates the distribution did not rate, as Debian's security updates.
    pub unrated: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StrategyFile {
    pub canary: Option<Spanned<i64>>,
    pub max_unavailable: Option<Spanned<LimitFile>>,
    pub error_budget: Option<Spanned<LimitFile>>,
}

/// A number of hosts (`3`) or a percentage (`"25%"`), kept as text for `Limit::from_str`.
#[derive(Debug)]
pub(crate) struct LimitFile(pub String);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BaselineFile {
    #[serde(default)]
    pub rules: Vec<RuleFile>,
    #[serde(default)]
    pub approve: Vec<Spanned<String>>,
    #[serde(default)]
    pub reject: Vec<Spanned<String>>,
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    #[serde(default)]
    pub hold: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleFile {
    /// Left out: every classification. Spanned to refuse an empty list, which would match
    /// nothing and is surely not what was meant.
    pub classifications: Option<Spanned<Vec<Classification>>>,
    pub severities: Option<Spanned<Vec<SeverityFile>>>,
    pub auto_approve_after_days: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SeverityFile {
    None,
    Low,
    Moderate,
    Important,
    Critical,
    Unrated,
}

impl<'de> Deserialize<'de> for ApprovalFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ApprovalVisitor;

        impl<'de> Visitor<'de> for ApprovalVisitor {
            type Value = ApprovalFile;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "\"auto\" or a table such as { approvers = 2, role = \"cab\", ticket = true }",
                )
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ApprovalFile, E> {
                if text == "auto" {
                    Ok(ApprovalFile::Auto)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(text), &self))
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ApprovalFile, A::Error> {
                // Through the derived, strict deserializer: unknown keys are refused there too.
                RequiredApprovalFile::deserialize(MapAccessDeserializer::new(map))
                    .map(ApprovalFile::Required)
            }
        }

        deserializer.deserialize_any(ApprovalVisitor)
    }
}

impl<'de> Deserialize<'de> for LimitFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LimitVisitor;

        impl Visitor<'_> for LimitVisitor {
            type Value = LimitFile;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of hosts such as 3 or a percentage such as \"25%\"")
            }

            fn visit_i64<E: serde::de::Error>(self, count: i64) -> Result<LimitFile, E> {
                Ok(LimitFile(count.to_string()))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<LimitFile, E> {
                Ok(LimitFile(text.to_owned()))
            }
        }

        deserializer.deserialize_any(LimitVisitor)
    }
}
