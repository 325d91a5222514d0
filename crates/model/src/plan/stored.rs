//! The plan's stored form, `protocol::plan::PlanV1`, and the conversions to and from it: what
//! the state database keeps and what the id hashes, so that the fields of [`Plan`] can change
//! without changing a stored body or an id.

use protocol::plan::{
    EmergencyV1, ExcludedHostV1, HostPlanV1, LimitV1, PackageChangeV1, PlanOptionsV1, PlanV1,
    PlannedRebootV1, RebootPolicyV1, RestartServicesV1, ScopeV1, ServiceRestartsV1, SeverityV1,
    StrategyV1, WaveV1, WithheldByV1, WithheldUpdateV1,
};

use super::{
    ExcludedHost, HostPlan, Limit, PackageChange, Plan, PlanOptions, PlannedReboot, RebootPolicy,
    RestartServices, Scope, ServiceRestarts, Strategy, Wave, WithheldBy, WithheldUpdate,
};
use crate::Severity;
use crate::emergency::Emergency;

/// A count stored as a u64: every usize fits where patchctl runs (64 bits); a larger one read
/// on a 32-bit machine is taken as the largest.
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl From<&Plan> for PlanV1 {
    fn from(plan: &Plan) -> PlanV1 {
        PlanV1 {
            id: plan.id.clone(),
            created_at_unix: plan.created_at_unix,
            selectors: plan.selectors.clone(),
            options: (&plan.options).into(),
            hosts: plan.hosts.iter().map(HostPlanV1::from).collect(),
            waves: plan.waves.iter().map(WaveV1::from).collect(),
            excluded: plan
                .excluded
                .iter()
                .map(|e| ExcludedHostV1 { host: e.host.clone(), reason: e.reason.clone() })
                .collect(),
            withheld: plan.withheld.iter().map(WithheldUpdateV1::from).collect(),
            emergency: plan.emergency.as_ref().map(EmergencyV1::from),
        }
    }
}

impl From<PlanV1> for Plan {
    fn from(plan: PlanV1) -> Plan {
        Plan {
            id: plan.id,
            created_at_unix: plan.created_at_unix,
            selectors: plan.selectors,
            options: plan.options.into(),
            hosts: plan.hosts.into_iter().map(HostPlan::from).collect(),
            waves: plan.waves.into_iter().map(Wave::from).collect(),
            excluded: plan
                .excluded
                .into_iter()
                .map(|e| ExcludedHost { host: e.host, reason: e.reason })
                .collect(),
            withheld: plan.withheld.into_iter().map(WithheldUpdate::from).collect(),
            emergency: plan.emergency.map(Emergency::from),
        }
    }
}

impl From<&PlanOptions> for PlanOptionsV1 {
    fn from(options: &PlanOptions) -> PlanOptionsV1 {
        PlanOptionsV1 {
            scope: match &options.scope {
                Scope::All => ScopeV1::All,
                Scope::SecurityOnly => ScopeV1::SecurityOnly,
                Scope::KernelOnly => ScopeV1::KernelOnly,
                Scope::Packages(names) => ScopeV1::Packages(names.clone()),
            },
            reboot: match options.reboot {
                RebootPolicy::IfRequired => RebootPolicyV1::IfRequired,
                RebootPolicy::Never => RebootPolicyV1::Never,
                RebootPolicy::Always => RebootPolicyV1::Always,
            },
            strategy: StrategyV1 {
                canary: options.strategy.canary as u64,
                max_unavailable: options.strategy.max_unavailable.into(),
                error_budget: options.strategy.error_budget.into(),
            },
            environment_order: options.environment_order.clone(),
            keep_kernels: options.keep_kernels as u64,
            goals: options.goals.clone(),
            restart_services: options.restart_services.map(RestartServicesV1::from),
        }
    }
}

impl From<PlanOptionsV1> for PlanOptions {
    fn from(options: PlanOptionsV1) -> PlanOptions {
        PlanOptions {
            scope: match options.scope {
                ScopeV1::All => Scope::All,
                ScopeV1::SecurityOnly => Scope::SecurityOnly,
                ScopeV1::KernelOnly => Scope::KernelOnly,
                ScopeV1::Packages(names) => Scope::Packages(names),
            },
            reboot: match options.reboot {
                RebootPolicyV1::IfRequired => RebootPolicy::IfRequired,
                RebootPolicyV1::Never => RebootPolicy::Never,
                RebootPolicyV1::Always => RebootPolicy::Always,
            },
            strategy: Strategy {
                canary: count(options.strategy.canary),
                max_unavailable: options.strategy.max_unavailable.into(),
                error_budget: options.strategy.error_budget.into(),
            },
            environment_order: options.environment_order,
            keep_kernels: count(options.keep_kernels),
            goals: options.goals,
            restart_services: options.restart_services.map(RestartServices::from),
        }
    }
}

impl From<Limit> for LimitV1 {
    fn from(limit: Limit) -> LimitV1 {
        match limit {
            Limit::Count(n) => LimitV1::Count(n as u64),
            Limit::Percent(p) => LimitV1::Percent(p),
        }
    }
}

impl From<LimitV1> for Limit {
    fn from(limit: LimitV1) -> Limit {
        match limit {
            LimitV1::Count(n) => Limit::Count(count(n)),
            LimitV1::Percent(p) => Limit::Percent(p),
        }
    }
}

impl From<RestartServices> for RestartServicesV1 {
    fn from(services: RestartServices) -> RestartServicesV1 {
        match services {
            RestartServices::Never => RestartServicesV1::Never,
            RestartServices::Listed => RestartServicesV1::Listed,
            RestartServices::Needrestart => RestartServicesV1::Needrestart,
        }
    }
}

impl From<RestartServicesV1> for RestartServices {
    fn from(services: RestartServicesV1) -> RestartServices {
        match services {
            RestartServicesV1::Never => RestartServices::Never,
            RestartServicesV1::Listed => RestartServices::Listed,
            RestartServicesV1::Needrestart => RestartServices::Needrestart,
        }
    }
}

impl From<&HostPlan> for HostPlanV1 {
    fn from(host: &HostPlan) -> HostPlanV1 {
        HostPlanV1 {
            host: host.host.clone(),
            environment: host.environment.clone(),
            owner: host.owner.clone(),
            package_manager: host.package_manager.into(),
            assessed_at_unix: host.assessed_at_unix,
            running_kernel: host.running_kernel.clone(),
            changes: host.changes.iter().map(PackageChangeV1::from).collect(),
            reboot: match host.reboot {
                PlannedReboot::Yes => PlannedRebootV1::Yes,
                PlannedReboot::IfRequired => PlannedRebootV1::IfRequired,
                PlannedReboot::No => PlannedRebootV1::No,
            },
            services_needing_restart: host.services_needing_restart.clone(),
            restarts: ServiceRestartsV1 {
                services: host.restarts.services.into(),
                sshd: host.restarts.sshd,
            },
            risks: host.risks.clone(),
        }
    }
}

impl From<HostPlanV1> for HostPlan {
    fn from(host: HostPlanV1) -> HostPlan {
        HostPlan {
            host: host.host,
            environment: host.environment,
            owner: host.owner,
            package_manager: host.package_manager.into(),
            assessed_at_unix: host.assessed_at_unix,
            running_kernel: host.running_kernel,
            changes: host.changes.into_iter().map(PackageChange::from).collect(),
            reboot: match host.reboot {
                PlannedRebootV1::Yes => PlannedReboot::Yes,
                PlannedRebootV1::IfRequired => PlannedReboot::IfRequired,
                PlannedRebootV1::No => PlannedReboot::No,
            },
            services_needing_restart: host.services_needing_restart,
            restarts: ServiceRestarts {
                services: host.restarts.services.into(),
                sshd: host.restarts.sshd,
            },
            risks: host.risks,
        }
    }
}

impl From<&PackageChange> for PackageChangeV1 {
    fn from(change: &PackageChange) -> PackageChangeV1 {
        PackageChangeV1 {
            name: change.name.clone(),
            arch: change.arch.clone(),
            from: change.from.clone(),
            to: change.to.clone(),
            classification: change.classification.into(),
            severity: change.severity.map(SeverityV1::from),
            kernel: change.kernel,
            advisories: change.advisories.clone(),
            cves: change.cves.clone(),
        }
    }
}

impl From<PackageChangeV1> for PackageChange {
    fn from(change: PackageChangeV1) -> PackageChange {
        PackageChange {
            name: change.name,
            arch: change.arch,
            from: change.from,
            to: change.to,
            classification: change.classification.into(),
            severity: change.severity.map(Severity::from),
            kernel: change.kernel,
            advisories: change.advisories,
            cves: change.cves,
        }
    }
}

impl From<&Wave> for WaveV1 {
    fn from(wave: &Wave) -> WaveV1 {
        WaveV1 {
            name: wave.name.clone(),
            environment: wave.environment.clone(),
            canary: wave.canary,
            hosts: wave.hosts.clone(),
        }
    }
}

impl From<WaveV1> for Wave {
    fn from(wave: WaveV1) -> Wave {
        Wave {
            name: wave.name,
            environment: wave.environment,
            canary: wave.canary,
            hosts: wave.hosts,
        }
    }
}

impl From<&WithheldUpdate> for WithheldUpdateV1 {
    fn from(update: &WithheldUpdate) -> WithheldUpdateV1 {
        WithheldUpdateV1 {
            host: update.host.clone(),
            name: update.name.clone(),
            arch: update.arch.clone(),
            version: update.version.clone(),
            rule: match update.rule {
                WithheldBy::Excluded => WithheldByV1::Excluded,
                WithheldBy::Rejected => WithheldByV1::Rejected,
                WithheldBy::Held => WithheldByV1::Held,
                WithheldBy::NoRule => WithheldByV1::NoRule,
                WithheldBy::NotYet => WithheldByV1::NotYet,
            },
            approved_after_unix: update.approved_after_unix,
            reason: update.reason.clone(),
        }
    }
}

impl From<WithheldUpdateV1> for WithheldUpdate {
    fn from(update: WithheldUpdateV1) -> WithheldUpdate {
        WithheldUpdate {
            host: update.host,
            name: update.name,
            arch: update.arch,
            version: update.version,
            rule: match update.rule {
                WithheldByV1::Excluded => WithheldBy::Excluded,
                WithheldByV1::Rejected => WithheldBy::Rejected,
                WithheldByV1::Held => WithheldBy::Held,
                WithheldByV1::NoRule => WithheldBy::NoRule,
                WithheldByV1::NotYet => WithheldBy::NotYet,
            },
            approved_after_unix: update.approved_after_unix,
            reason: update.reason,
        }
    }
}

impl From<&Emergency> for EmergencyV1 {
    fn from(emergency: &Emergency) -> EmergencyV1 {
        EmergencyV1 {
            advisories: emergency.advisories.clone(),
            cves: emergency.cves.clone(),
            cvss_score: emergency.cvss_score,
            reason: emergency.reason.clone(),
        }
    }
}

impl From<EmergencyV1> for Emergency {
    fn from(emergency: EmergencyV1) -> Emergency {
        Emergency {
            advisories: emergency.advisories,
            cves: emergency.cves,
            cvss_score: emergency.cvss_score,
            reason: emergency.reason,
        }
    }
}
