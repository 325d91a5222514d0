//! Making a plan from the hosts' latest assessments.

use std::collections::BTreeSet;

use crate::{Assessment, PendingUpdate, ResolvedHost, UpdateAction};

use super::baselines::PlanBaselines;
use super::waves::waves;
use super::{
    ExcludedHost, HostPlan, PackageChange, Plan, PlanOptions, PlannedReboot, RebootPolicy, Scope,
    ServiceRestarts,
};

/// What the plan needs to know of an inventory host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanHost {
    pub name: String,
    pub environment: String,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    /// What its rollout restarts: its environment's policy, or the operator's override. The
    /// shell resolves it; none by default.
    pub restarts: ServiceRestarts,
}

impl From<&ResolvedHost> for PlanHost {
    fn from(host: &ResolvedHost) -> Self {
        PlanHost {
            name: host.name.clone(),
            environment: host.environment.clone(),
            owner: host.owner.clone(),
            tags: host.tags.clone(),
            restarts: ServiceRestarts::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("--packages names no package")]
    NoPackagesNamed,
    #[error(
        "no selected host has a pending update of {}: check the spelling, or assess again",
        .0.join(", ")
    )]
    PackagesNotPending(Vec<String>),
    #[error("host `{0}` is selected twice")]
    DuplicateHost(String),
}

/// Free space below which a precheck would likely fail, so the plan warns about it ahead.
const LOW_SPACE_BYTES: u64 = 500 * 1024 * 1024;
/// An assessment older than this may no longer be what the host has.
const STALE_AFTER_SECONDS: i64 = 24 * 3600;

/// Makes the plan for `hosts` from their latest successful `assessments` (any order; hosts
/// without one are excluded with the reason). `now_unix` is the creation time. With
/// `baselines`, each host takes only the updates in scope its baseline approves at that time;
/// the others are listed in [`Plan::withheld`] with their rule (`baselines.rs`).
pub fn build_plan(
    hosts: &[PlanHost],
    assessments: &[Assessment],
    selectors: &[String],
    options: &PlanOptions,
    baselines: Option<&PlanBaselines<'_>>,
    now_unix: i64,
) -> Result<Plan, PlanError> {
    if let Scope::Packages(names) = &options.scope {
        if names.is_empty() {
            return Err(PlanError::NoPackagesNamed);
        }
        let pending: BTreeSet<&str> = assessments
            .iter()
            .filter(|a| hosts.iter().any(|h| h.name == a.host))
            .flat_map(|a| a.updates.iter().map(|u| u.name.as_str()))
            .collect();
        let missing: Vec<String> =
            names.iter().filter(|n| !pending.contains(n.as_str())).cloned().collect();
        if !missing.is_empty() {
            return Err(PlanError::PackagesNotPending(missing));
        }
    }
    let mut seen = BTreeSet::new();
    let mut planned = Vec::new();
    let mut excluded = Vec::new();
    let mut withheld = Vec::new();
    let now = chrono::DateTime::from_timestamp(now_unix, 0).unwrap_or_default();
    for host in hosts {
        if !seen.insert(host.name.as_str()) {
            return Err(PlanError::DuplicateHost(host.name.clone()));
        }
        let Some(assessment) = assessments.iter().find(|a| a.host == host.name) else {
            excluded.push(ExcludedHost {
                host: host.name.clone(),
                reason: "no successful assessment: run `patchctl assess` first".into(),
            });
            continue;
        };
        let mut updates: Vec<&PendingUpdate> = Vec::new();
        let mut n_withheld = 0;
        for update in assessment.updates.iter().filter(|u| in_scope(&options.scope, u)) {
            match baselines.and_then(|b| b.withheld(host, update, now)) {
                None => updates.push(update),
                Some(update) => {
                    withheld.push(update);
                    n_withheld += 1;
                }
            }
        }
        let all_withheld = updates.is_empty() && n_withheld > 0;
        let host_plan = plan_host(host, assessment, &updates, options, now_unix);
        if host_plan.changes.is_empty() && host_plan.reboot != PlannedReboot::Yes {
            let reason = if all_withheld {
                "nothing to do: its baseline withholds every pending update in scope (listed \
                 with their rules)"
            } else {
                "nothing to do: no pending update in scope"
            };
            excluded.push(ExcludedHost { host: host.name.clone(), reason: reason.into() });
        } else {
            planned.push(host_plan);
        }
    }
    planned.sort_by(|a, b| a.host.cmp(&b.host));
    excluded.sort_by(|a, b| a.host.cmp(&b.host));
    withheld.sort_by(|a, b| (&a.host, &a.name, &a.arch).cmp(&(&b.host, &b.name, &b.arch)));
    let waves = waves(hosts, &planned, options);
    let mut plan = Plan {
        id: String::new(),
        created_at_unix: now_unix,
        selectors: selectors.to_vec(),
        options: options.clone(),
        hosts: planned,
        waves,
        excluded,
        withheld,
        emergency: None,
    };
    plan.id = plan.content_hash();
    Ok(plan)
}

fn in_scope(scope: &Scope, update: &crate::PendingUpdate) -> bool {
    match scope {
        Scope::All => true,
        Scope::SecurityOnly => update.classification == crate::Classification::Security,
        Scope::KernelOnly => update.kernel,
        Scope::Packages(names) => names.contains(&update.name),
    }
}

/// The host's part of the plan: `updates` are the pending updates it takes.
fn plan_host(
    host: &PlanHost,
    assessment: &Assessment,
    updates: &[&PendingUpdate],
    options: &PlanOptions,
    now_unix: i64,
) -> HostPlan {
    let mut changes: Vec<PackageChange> = updates
        .iter()
        .map(|u| PackageChange {
            name: u.name.clone(),
            arch: u.arch.clone(),
            from: match u.action {
                UpdateAction::Upgrade => u.installed_version.clone(),
                UpdateAction::NewInstall => None,
            },
            to: u.candidate_version.clone(),
            classification: u.classification,
            severity: u.severity,
            kernel: u.kernel,
            advisories: u.advisories.clone(),
            cves: u.cves.clone(),
        })
        .collect();
    changes.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
    let kernel_change = changes.iter().any(|c| c.kernel);
    let reboot = match options.reboot {
        RebootPolicy::Always => PlannedReboot::Yes,
        RebootPolicy::Never => PlannedReboot::No,
        RebootPolicy::IfRequired if kernel_change || assessment.reboot.required => {
            PlannedReboot::Yes
        }
        RebootPolicy::IfRequired => PlannedReboot::IfRequired,
    };
    let risks = risks(assessment, &changes, reboot, now_unix);
    HostPlan {
        host: host.name.clone(),
        environment: host.environment.clone(),
        owner: host.owner.clone(),
        package_manager: assessment.package_manager,
        assessed_at_unix: assessment.taken_at_unix,
        running_kernel: assessment.running_kernel.clone(),
        changes,
        reboot,
        services_needing_restart: assessment.services_needing_restart.clone().unwrap_or_default(),
        restarts: host.restarts,
        risks,
    }
}

fn risks(
    assessment: &Assessment,
    changes: &[PackageChange],
    reboot: PlannedReboot,
    now_unix: i64,
) -> Vec<String> {
    let mut risks = Vec::new();
    for change in changes.iter().filter(|c| c.kernel) {
        risks.push(match reboot {
            PlannedReboot::No => format!(
                "kernel package {} {} is installed but, by the reboot policy `never`, runs only \
                 after a reboot someone else does",
                change.name, change.to
            ),
            _ => format!("kernel package {} {}: the host reboots", change.name, change.to),
        });
    }
    if assessment.reboot.required {
        risks.push(format!(
            "a reboot was already pending before this plan ({})",
            assessment.reboot.packages.join(", ")
        ));
    }
    for change in changes.iter().filter(|c| c.from.is_none()) {
        risks.push(format!(
            "{} {} is installed new; a rollback removes it unless it is the running kernel",
            change.name, change.to
        ));
    }
    if !assessment.removals.is_empty() {
        risks.push(format!(
            "a full upgrade would remove {}; the plan installs pinned versions only",
            assessment.removals.join(", ")
        ));
    }
    let restarting = assessment.services_needing_restart.as_deref().unwrap_or_default();
    if !restarting.is_empty() {
        risks.push(format!("services run outdated code already: {}", restarting.join(", ")));
    }
    if assessment.health.interrupted || !assessment.health.audit.is_empty() {
        risks.push("the package manager was interrupted: the precheck fails unless `dpkg --configure -a` recovery is allowed".into());
    }
    for lock in &assessment.health.locks {
        risks.push(format!(
            "{} was held by pid {} ({}) when assessed",
            lock.path,
            lock.pid,
            lock.command.as_deref().unwrap_or("unknown command")
        ));
    }
    for disk in assessment.disk.iter().filter(|d| d.available_bytes < LOW_SPACE_BYTES) {
        risks.push(format!(
            "only {} MiB free on {} when assessed",
            disk.available_bytes / (1024 * 1024),
            disk.path
        ));
    }
    let age = now_unix - assessment.taken_at_unix;
    if age > STALE_AFTER_SECONDS {
        risks.push(format!("the assessment is {} hours old: assess again", age / 3600));
    }
    risks
}
