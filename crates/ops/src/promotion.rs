//! Evidence for the promotion gate, read from the rollouts on record: every package version a
//! host received and then passed its postchecks with.

use chrono::{DateTime, Utc};
use model::promotion::Verified;
use rollout::{HostState, Step, StepOutcome};
use store::Store;

use crate::rollout::{Loaded, RolloutError, load};

/// Every version verified on a host by a rollout in the store. A host counts when it ended
/// `done`; its verification time is when its last postcheck passed.
pub async fn verified_versions(store: &Store) -> Result<Vec<Verified>, RolloutError> {
    let mut evidence = Vec::new();
    for row in store.rollouts().await? {
        evidence.extend(verified_by(&load(store, &row.id).await?));
    }
    Ok(evidence)
}

/// The versions one rollout verified, host by host.
pub fn verified_by(loaded: &Loaded) -> Vec<Verified> {
    let mut evidence = Vec::new();
    for (host, state) in loaded.machine.hosts() {
        if *state != HostState::Done {
            continue;
        }
        let Some(plan) = loaded.plan.host(host) else { continue };
        let passed = loaded
            .machine
            .host_steps(host)
            .iter()
            .filter(|r| r.step == Step::Postcheck && r.outcome == Some(StepOutcome::Succeeded))
            .filter_map(|r| r.finished_at)
            .max();
        // Whole seconds, like the plans' own times, so that a plan made in the same second
        // as the verification does not see it in the future.
        let seconds = passed.map(|ms| (ms / 1000) as i64);
        let Some(at) = seconds.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0)) else {
            continue;
        };
        evidence.extend(plan.changes.iter().map(|change| Verified {
            environment: plan.environment.clone(),
            host: host.to_owned(),
            rollout: loaded.row.id.clone(),
            name: change.name.clone(),
            arch: change.arch.clone(),
            version: change.to.clone(),
            verified_at: at,
        }));
    }
    evidence
}
