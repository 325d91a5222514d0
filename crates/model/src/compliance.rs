//! Compliance: whether each host, and each environment, is patched the way the policy says,
//! with the evidence. Pure: [`evaluate`] takes what the store holds (assessments over time,
//! rollouts, promotion evidence, postmortems) and the time to judge at, and returns findings.
//!
//! The checks, per host (the SOP's "Verification" list):
//! - `sla`: no security update pending longer than its environment's `sla_days` for its
//!   severity, counted from the first assessment that saw it pending (of an unbroken run of
//!   assessments that all saw it);
//! - `promotion`: every version a rollout gave the host was verified on the environment before
//!   it, at least its soak before that rollout's plan was made (the promotion gate, checked
//!   again after the fact), with the evidence for each;
//! - `healthy`: the host's last rollout ended with its postchecks passing (done, or rolled back
//!   and verified again), and the latest assessment finds its package manager healthy;
//! - `kernels`: no more kernels installed than the policy's `keep_kernels`, else what the last
//!   rollout kept, else 2;
//! - `rollback_plan`: the last rollout recorded the versions to go back to;
//! - `assessment_age`: the last successful assessment is younger than `max_assessment_age`;
//! - `postmortems`: no overdue postmortem about the host.
//!
//! Each is `pass`, `fail`, or `not_applicable` (no rollout yet, an environment the policy
//! does not declare). A host is compliant when nothing fails; the fleet when every host is and
//! no postmortem about the fleet as a whole is overdue.

mod checks;
mod output;
pub mod patch_age;
mod render;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use crate::Assessment;
use crate::plan::HostPlan;
use crate::policy::Policy;
use crate::postmortem::Postmortem;
use crate::promotion::Verified;

pub use render::{to_csv, to_document};

/// What [`evaluate`] is given.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub now: DateTime<Utc>,
    /// `None`: no policy file; SLAs and the promotion gate are then not applicable.
    pub policy: Option<&'a Policy>,
    pub hosts: Vec<HostInputs>,
    /// Every version verified by a rollout on record (`ops::promotion::verified_versions`).
    pub evidence: Vec<Verified>,
    pub postmortems: Vec<Postmortem>,
}

/// One host's record.
#[derive(Debug, Clone)]
pub struct HostInputs {
    pub host: String,
    pub environment: String,
    /// Its successful assessments, oldest first.
    pub assessments: Vec<Assessment>,
    /// When the latest attempt failed, its time (Unix seconds) and reason.
    pub latest_failure: Option<(i64, String)>,
    /// The rollouts that worked on the host (not those that skipped it), oldest first.
    pub rollouts: Vec<HostRollout>,
}

/// What one rollout did to one host.
#[derive(Debug, Clone)]
pub struct HostRollout {
    pub rollout: String,
    pub started_at: DateTime<Utc>,
    /// When its plan was made: the promotion gate judged the plan then, and so does
    /// compliance (a plan made under a virtual clock is judged on that clock).
    pub planned_at: DateTime<Utc>,
    pub outcome: RolloutOutcome,
    /// The outcome in words (the failed step and its reason).
    pub detail: String,
    /// The host's part of the plan: its changes, and the versions a rollback restores.
    pub plan: HostPlan,
    /// The kernels the rollout kept (`--keep-kernels`); 0: all.
    pub keep_kernels: usize,
}

/// How a rollout left a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutOutcome {
    /// Applied, and its postchecks passed.
    Done,
    /// Rolled back to the recorded versions and verified again.
    RolledBack,
    Failed,
    Lost,
    /// Still running or paused.
    Unfinished,
}

/// The checks, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    Sla,
    Promotion,
    Healthy,
    Kernels,
    RollbackPlan,
    AssessmentAge,
    Postmortems,
}

impl Check {
    pub const ALL: [Check; 7] = [
        Check::Sla,
        Check::Promotion,
        Check::Healthy,
        Check::Kernels,
        Check::RollbackPlan,
        Check::AssessmentAge,
        Check::Postmortems,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Check::Sla => "sla",
            Check::Promotion => "promotion",
            Check::Healthy => "healthy",
            Check::Kernels => "kernels",
            Check::RollbackPlan => "rollback_plan",
            Check::AssessmentAge => "assessment_age",
            Check::Postmortems => "postmortems",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    NotApplicable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotApplicable => "n/a",
        }
    }
}

/// One check of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub status: Status,
    /// One line.
    pub summary: String,
    /// The evidence, or what is wrong, one item a line.
    pub details: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCompliance {
    pub host: String,
    pub environment: String,
    pub compliant: bool,
    /// One per [`Check::ALL`], in that order.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentCompliance {
    pub environment: String,
    pub compliant: bool,
    pub n_hosts: usize,
    pub n_compliant: usize,
    /// The checks some host fails, with how many hosts fail each.
    pub failing: Vec<(Check, usize)>,
    /// How long its hosts' security updates wait.
    pub patch_age: patch_age::PatchAge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub evaluated_at: DateTime<Utc>,
    pub compliant: bool,
    pub hosts: Vec<HostCompliance>,
    /// In promotion order when there is a policy, else by name.
    pub environments: Vec<EnvironmentCompliance>,
    /// Overdue postmortems that name no host: the fleet's.
    pub fleet_findings: Vec<Finding>,
}

/// Judges every host at `inputs.now`.
pub fn evaluate(inputs: &Inputs) -> Report {
    let hosts: Vec<HostCompliance> = inputs
        .hosts
        .iter()
        .map(|host| {
            let findings = checks::host_findings(inputs, host);
            HostCompliance {
                host: host.host.clone(),
                environment: host.environment.clone(),
                compliant: findings.iter().all(|f| f.status != Status::Fail),
                findings,
            }
        })
        .collect();
    let mut names: Vec<String> = hosts.iter().map(|h| h.environment.clone()).collect();
    names.sort();
    names.dedup();
    if let Some(policy) = inputs.policy {
        let order = policy.environment_order();
        names.sort_by_key(|name| order.iter().position(|o| o == name).unwrap_or(usize::MAX));
    }
    let environments = names
        .into_iter()
        .map(|environment| {
            let members: Vec<&HostCompliance> =
                hosts.iter().filter(|h| h.environment == environment).collect();
            let failing = Check::ALL
                .iter()
                .map(|check| {
                    let n = members
                        .iter()
                        .filter(|h| {
                            h.findings.iter().any(|f| f.check == *check && f.status == Status::Fail)
                        })
                        .count();
                    (*check, n)
                })
                .filter(|(_, n)| *n > 0)
                .collect();
            let n_compliant = members.iter().filter(|h| h.compliant).count();
            let mut patch_age = patch_age::PatchAge::default();
            for host in inputs.hosts.iter().filter(|h| h.environment == environment) {
                patch_age.add(&patch_age::of_host(&host.assessments, inputs.now.timestamp()));
            }
            EnvironmentCompliance {
                patch_age,
                compliant: n_compliant == members.len(),
                n_hosts: members.len(),
                n_compliant,
                failing,
                environment,
            }
        })
        .collect();
    let fleet_findings = checks::fleet_findings(inputs);
    Report {
        evaluated_at: inputs.now,
        compliant: hosts.iter().all(|h| h.compliant)
            && fleet_findings.iter().all(|f| f.status != Status::Fail),
        hosts,
        environments,
        fleet_findings,
    }
}
