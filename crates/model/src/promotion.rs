//! The promotion gate: production may only receive the exact package versions that were
//! applied and verified on the environment before it, at least its soak time earlier.

use chrono::{DateTime, TimeDelta, Utc};

use crate::plan::{HostPlan, PackageChange, Plan};

/// A package version applied to a host whose postchecks then passed: evidence for promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub environment: String,
    pub host: String,
    pub rollout: String,
    pub name: String,
    pub arch: String,
    pub version: String,
    pub verified_at: DateTime<Utc>,
}

/// A version the gate refuses, and why, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub host: String,
    pub name: String,
    pub arch: String,
    pub version: String,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {} on {}: {}", self.name, self.arch, self.version, self.host, self.reason)
    }
}

/// Every change of `plan` on a host of `environment` that `evidence` from `previous` does not
/// cover: never verified there, or verified less than `soak` before `now`.
pub fn check(
    plan: &Plan,
    environment: &str,
    previous: &str,
    soak: TimeDelta,
    evidence: &[Verified],
    now: DateTime<Utc>,
) -> Vec<Refusal> {
    plan.hosts
        .iter()
        .filter(|h| h.environment == environment)
        .flat_map(|host| check_host(host, previous, soak, evidence, now))
        .collect()
}

/// The changes of one host's plan that `evidence` from `previous` does not cover at `now`.
/// Compliance asks the same question of rollouts after the fact, with `now` their start.
pub fn check_host(
    host: &HostPlan,
    previous: &str,
    soak: TimeDelta,
    evidence: &[Verified],
    now: DateTime<Utc>,
) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for change in &host.changes {
        let verified = earliest_verification(evidence, previous, change).map(|v| v.verified_at);
        let reason = match verified {
            None => format!("never applied and verified on {previous}"),
            Some(at) if now - at < soak => format!(
                "verified on {previous} at {at}, the soak of {} ends at {}",
                if soak.num_minutes() % 60 == 0 {
                    format!("{} hours", soak.num_hours())
                } else {
                    crate::policy::format_duration(soak)
                },
                at + soak
            ),
            Some(_) => continue,
        };
        refusals.push(Refusal {
            host: host.host.clone(),
            name: change.name.clone(),
            arch: change.arch.clone(),
            version: change.to.clone(),
            reason,
        });
    }
    refusals
}

/// The first verification of exactly this change's target version on `environment`: the
/// evidence a promotion rests on.
pub fn earliest_verification<'a>(
    evidence: &'a [Verified],
    environment: &str,
    change: &PackageChange,
) -> Option<&'a Verified> {
    evidence
        .iter()
        .filter(|v| {
            v.environment == environment
                && v.name == change.name
                && v.arch == change.arch
                && v.version == change.to
        })
        .min_by_key(|v| v.verified_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{HostPlan, PackageChange, PlanOptions, PlannedReboot};
    use crate::{Classification, PackageManagerKind};

    fn plan() -> Plan {
        let change = |name: &str, to: &str| PackageChange {
            name: name.into(),
            arch: "all".into(),
            from: Some("1.0-1".into()),
            to: to.into(),
            classification: Classification::Security,
            severity: None,
            kernel: false,
            advisories: vec![],
            cves: vec![],
        };
        let host = |name: &str, environment: &str| HostPlan {
            host: name.into(),
            environment: environment.into(),
            owner: None,
            package_manager: PackageManagerKind::Apt,
            assessed_at_unix: 0,
            running_kernel: String::new(),
            changes: vec![change("acme-web", "1.1-1"), change("acme-tools", "1.1-1")],
            reboot: PlannedReboot::IfRequired,
            services_needing_restart: vec![],
            restarts: Default::default(),
            risks: vec![],
        };
        Plan {
            id: String::new(),
            created_at_unix: 0,
            selectors: vec![],
            options: PlanOptions::default(),
            hosts: vec![host("prod1", "production"), host("dev1", "dev")],
            waves: vec![],
            excluded: vec![],
            withheld: vec![],
            emergency: None,
        }
    }

    fn verified(name: &str, version: &str, environment: &str, hours_ago: i64) -> Verified {
        Verified {
            environment: environment.into(),
            host: "stage1".into(),
            rollout: "r1".into(),
            name: name.into(),
            arch: "all".into(),
            version: version.into(),
            verified_at: now() - TimeDelta::hours(hours_ago),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().to_utc()
    }

    #[test]
    fn only_versions_verified_and_soaked_on_the_previous_environment_pass() {
        let evidence = [
            verified("acme-web", "1.1-1", "staging", 30),
            verified("acme-tools", "1.1-1", "staging", 2),
            verified("acme-tools", "1.1-1", "dev", 100),
        ];
        let refusals =
            check(&plan(), "production", "staging", TimeDelta::hours(24), &evidence, now());
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].name, "acme-tools");
        assert!(refusals[0].reason.contains("soak of 24 hours ends at 2026-11-23 08:00:00 UTC"));
    }

    #[test]
    fn another_version_or_environment_is_no_evidence() {
        let evidence = [
            verified("acme-web", "1.2-1", "staging", 30),
            verified("acme-tools", "1.1-1", "dev", 30),
        ];
        let refusals =
            check(&plan(), "production", "staging", TimeDelta::hours(24), &evidence, now());
        assert_eq!(refusals.len(), 2);
        assert!(refusals.iter().all(|r| r.reason == "never applied and verified on staging"));
        assert_eq!(
            refusals[0].to_string(),
            "acme-web all 1.1-1 on prod1: never applied and verified on staging"
        );
    }
}
