//! Waves: environments in promotion order; in each, canary hosts first, then batches no larger
//! than the strategy's max-unavailable.

use super::build::PlanHost;
use super::{HostPlan, PlanOptions, Wave};

/// The tag that marks a host as a preferred canary.
pub const CANARY_TAG: &str = "canary";

pub(super) fn waves(hosts: &[PlanHost], planned: &[HostPlan], options: &PlanOptions) -> Vec<Wave> {
    let mut environments: Vec<&str> = planned.iter().map(|h| h.environment.as_str()).collect();
    environments.sort_by_key(|env| {
        let rank = options.environment_order.iter().position(|e| e == env);
        (rank.unwrap_or(usize::MAX), *env)
    });
    environments.dedup();
    let is_tagged_canary =
        |name: &str| hosts.iter().any(|h| h.name == name && h.tags.iter().any(|t| t == CANARY_TAG));
    let mut waves = Vec::new();
    for environment in environments {
        // `planned` is sorted by name; tagged canaries move to the front, keeping that order.
        let mut names: Vec<&str> = planned
            .iter()
            .filter(|h| h.environment == environment)
            .map(|h| h.host.as_str())
            .collect();
        names.sort_by_key(|name| !is_tagged_canary(name));
        let n_canary = options.strategy.canary;
        let rest = if n_canary > 0 && names.len() > n_canary {
            waves.push(Wave {
                name: format!("{environment} canary"),
                environment: environment.to_string(),
                canary: true,
                hosts: names[..n_canary].iter().map(|n| n.to_string()).collect(),
            });
            &names[n_canary..]
        } else {
            &names[..]
        };
        let batch = options.strategy.max_unavailable.batch_of(names.len());
        for (index, chunk) in rest.chunks(batch).enumerate() {
            waves.push(Wave {
                name: format!("{environment} batch {}", index + 1),
                environment: environment.to_string(),
                canary: false,
                hosts: chunk.iter().map(|n| n.to_string()).collect(),
            });
        }
    }
    waves
}
