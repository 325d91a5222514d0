//! The action plan: from the latest assessments and the operator's options, exactly what will be
//! done to every host, in which order, and how to undo it. Pure; content-hashed.
//!
//! A plan pins versions: a rollout installs the candidate versions the assessment saw, not
//! whatever is newest when the window opens, so what the change board approved is what runs.

mod baselines;
mod build;
mod options;
mod output;
mod record;
mod render;
mod stored;
mod waves;

use crate::{Classification, PackageManagerKind, Severity};

pub use baselines::{PlanBaselines, Track};
pub use build::{PlanError, PlanHost, build_plan};
pub use options::{
    Limit, PlanOptions, RebootPolicy, RestartServices, Scope, ServiceRestarts, Strategy,
};
pub use record::{
    ApprovalRecord, Milestone, PlanRecord, PlannedWindow, RecordInputs, StepLine, WindowTimes,
    record,
};
pub use render::{document, render_html, render_markdown, short_id};

/// An action plan. Its `id` is the SHA-256 of everything else, so an approval of an id is an
/// approval of exactly this content. It is stored, and hashed, as `protocol::plan::PlanV1`
/// (`stored.rs` converts): renaming a field here changes no stored body and no id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `sha256:` and 64 hex digits over the plan's canonical form without this field
    /// (version 1 of `protocol::plan`).
    pub id: String,
    pub created_at_unix: i64,
    /// What the operator asked for, as typed (`all`, `env:staging`, a host…).
    pub selectors: Vec<String>,
    pub options: PlanOptions,
    /// The hosts that will change, sorted by name.
    pub hosts: Vec<HostPlan>,
    /// The order of execution: every host of `hosts` is in exactly one wave.
    pub waves: Vec<Wave>,
    /// Selected hosts left out, with the reason (nothing to do, no assessment, …).
    pub excluded: Vec<ExcludedHost>,
    /// Pending updates in scope that the hosts' baselines withhold, each with its rule, sorted
    /// by host, package and architecture. Left out of the stored form when empty, so the ids of
    /// plans made without a policy (or before baselines applied to plans) do not change.
    pub withheld: Vec<WithheldUpdate>,
    /// Set on the emergency track's plans: the advisories they answer. Left out of the stored
    /// form when absent, so the ids of other plans do not change.
    pub emergency: Option<crate::emergency::Emergency>,
}

/// What the plan does to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    pub host: String,
    pub environment: String,
    pub owner: Option<String>,
    pub package_manager: PackageManagerKind,
    /// When the assessment the plan was made from was taken.
    pub assessed_at_unix: i64,
    pub running_kernel: String,
    /// The packages to change, sorted by name and architecture. `from` is the rollback plan.
    pub changes: Vec<PackageChange>,
    pub reboot: PlannedReboot,
    /// Services the assessment already found running outdated code.
    pub services_needing_restart: Vec<String>,
    /// Which services the rollout restarts after the change when the host does not reboot.
    /// Left out of the stored form when nothing is, so the ids of plans made before it do not
    /// change.
    pub restarts: ServiceRestarts,
    /// What could go wrong, in words a change board reads.
    pub risks: Vec<String>,
}

/// One package's pinned change, and its way back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageChange {
    pub name: String,
    pub arch: String,
    /// The installed version, which a rollback restores. `None`: the update installs it new.
    pub from: Option<String>,
    /// The exact version to install.
    pub to: String,
    pub classification: Classification,
    pub severity: Option<Severity>,
    pub kernel: bool,
    pub advisories: Vec<String>,
    pub cves: Vec<String>,
}

/// Whether the host reboots after the packages are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedReboot {
    /// A kernel changes, or the policy is `always`.
    Yes,
    /// Only when the host says so after the apply (`/run/reboot-required`, `needs-restarting -r`).
    IfRequired,
    /// The policy is `never`: a pending reboot is reported, not done.
    No,
}

/// A batch of hosts patched together; the next wave starts only when this one is over and the
/// error budget holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    pub name: String,
    pub environment: String,
    /// A canary wave must pass completely before anything else starts.
    pub canary: bool,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcludedHost {
    pub host: String,
    pub reason: String,
}

/// A pending update in the plan's scope that its host's baseline withholds, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithheldUpdate {
    pub host: String,
    pub name: String,
    pub arch: String,
    /// The version the plan would otherwise install.
    pub version: String,
    pub rule: WithheldBy,
    /// For `not_yet`: when the baseline's age rule approves it (Unix seconds), when known.
    pub approved_after_unix: Option<i64>,
    /// The rule in words: which list or rule of which baseline, for which environment.
    pub reason: String,
}

/// Which kind of baseline rule withholds an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithheldBy {
    /// An `exclude` pattern: not patchctl's to patch.
    Excluded,
    /// A `reject` pattern.
    Rejected,
    /// A `hold` pattern.
    Held,
    /// No rule of the baseline approves its classification and severity.
    NoRule,
    /// A rule approves it once `auto_approve_after_days` have passed since its release.
    NotYet,
}

impl Plan {
    pub fn host(&self, name: &str) -> Option<&HostPlan> {
        self.hosts.iter().find(|h| h.host == name)
    }

    /// The hash a plan with this content has; `id` must equal it. Computed over the plan's
    /// stored form (`protocol::plan::plan_id`, whose documentation gives the canonical form
    /// and its version), never over this type's own serialization.
    pub fn content_hash(&self) -> String {
        protocol::plan::plan_id(&protocol::plan::PlanV1::from(self))
    }

    /// True when the content is what the id says: nothing was changed after hashing.
    pub fn is_intact(&self) -> bool {
        self.id == self.content_hash()
    }
}

#[cfg(test)]
mod tests;
