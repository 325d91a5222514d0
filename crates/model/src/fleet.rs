//! The fleet at a glance, per environment: how many hosts, how many assessed (and when the
//! oldest was), how many failed their last assessment or were never assessed, how many have
//! updates pending, security updates pending, a reboot required. What the dashboard's
//! overview and the server's `/metrics` both show, computed once here from each host's
//! latest attempt.

use std::collections::BTreeMap;

use crate::assessment::Summary;

/// A host of the inventory and its latest assessment attempt, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLatest {
    pub host: String,
    pub environment: String,
    pub latest: Option<Latest>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    pub taken_at_unix: i64,
    /// `None`: the attempt failed.
    pub summary: Option<Summary>,
}

/// One environment's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvironmentOverview {
    pub environment: String,
    pub hosts: u64,
    /// Whose latest attempt assessed them.
    pub assessed: u64,
    /// Whose latest attempt failed.
    pub failed: u64,
    pub never_assessed: u64,
    pub with_updates: u64,
    pub with_security_updates: u64,
    pub reboot_required: u64,
    /// Security updates pending, over the environment's hosts.
    pub security_updates: u64,
    /// The oldest latest attempt: how stale the environment's picture is.
    pub oldest_assessed_unix: Option<i64>,
}

/// Every environment (by name) of `hosts`.
pub fn overview(hosts: &[HostLatest]) -> Vec<EnvironmentOverview> {
    let mut environments: BTreeMap<&str, EnvironmentOverview> = BTreeMap::new();
    for host in hosts {
        let entry = environments.entry(&host.environment).or_insert_with(|| EnvironmentOverview {
            environment: host.environment.clone(),
            ..Default::default()
        });
        entry.hosts += 1;
        let Some(latest) = &host.latest else {
            entry.never_assessed += 1;
            continue;
        };
        entry.oldest_assessed_unix = Some(
            entry
                .oldest_assessed_unix
                .map_or(latest.taken_at_unix, |o| o.min(latest.taken_at_unix)),
        );
        let Some(summary) = &latest.summary else {
            entry.failed += 1;
            continue;
        };
        entry.assessed += 1;
        entry.with_updates += u64::from(summary.n_updates > 0);
        entry.with_security_updates += u64::from(summary.n_security > 0);
        entry.reboot_required += u64::from(summary.reboot_required);
        entry.security_updates += summary.n_security as u64;
    }
    environments.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(
        name: &str,
        environment: &str,
        latest: Option<(i64, Option<(usize, bool)>)>,
    ) -> HostLatest {
        HostLatest {
            host: name.into(),
            environment: environment.into(),
            latest: latest.map(|(at, summary)| Latest {
                taken_at_unix: at,
                summary: summary.map(|(n_security, reboot_required)| Summary {
                    n_updates: n_security + 1,
                    n_security,
                    n_kernel: 0,
                    reboot_required,
                }),
            }),
        }
    }

    #[test]
    fn each_host_counts_once_in_its_environment_by_its_latest_attempt() {
        let hosts = [
            host("web1", "production", Some((100, Some((2, true))))),
            host("web2", "production", Some((50, Some((0, false))))),
            host("web3", "production", Some((70, None))),
            host("web4", "production", None),
            host("stg1", "staging", Some((10, Some((1, false))))),
        ];
        let overview = overview(&hosts);
        assert_eq!(overview.len(), 2);
        let production = &overview[0];
        assert_eq!(production.environment, "production");
        assert_eq!(
            (production.hosts, production.assessed, production.failed, production.never_assessed),
            (4, 2, 1, 1)
        );
        assert_eq!((production.with_updates, production.with_security_updates), (2, 1));
        assert_eq!((production.reboot_required, production.security_updates), (1, 2));
        assert_eq!(production.oldest_assessed_unix, Some(50));
        assert_eq!(overview[1].environment, "staging");
        assert_eq!(overview[1].security_updates, 1);
        assert!(super::overview(&[]).is_empty());
    }
}
