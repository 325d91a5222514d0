//! The driver's host steps as leased rows of the store's host-step queue (`store::HostSteps`):
//! each step the machine asks for is enqueued under the rollout's lease and claimed by the
//! driver for itself, under a step lease it renews with the rollout's and a fencing token of
//! its own; its result completes the row before it is journaled. The rows say, to anyone
//! looking, which host steps are in flight, by whom, until when; a driver taking a rollout over
//! gives up the steps its predecessor left unfinished (the machine runs each again, resuming).

use std::collections::HashMap;

use rollout::{Step, StepResult};
use store::{Lease, NewHostStep, StepClaim, StepLease, StepScope, Store, StoreError};

use super::RolloutError;
use super::driver::{lost, now_unix};

/// The steps this driver works on, by the machine's token.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    leases: HashMap<u64, StepLease>,
}

impl Ledger {
    /// Gives up the steps of `lease`'s rollout that a previous driver left unfinished.
    pub(super) async fn take_over(store: &Store, lease: &Lease) -> Result<Ledger, RolloutError> {
        let left = store.unfinished_steps(&lease.rollout_id).await?;
        let tokens: Vec<i64> = left.iter().map(|step| step.token).collect();
        store.abandon_steps(lease, &tokens, now_unix()).await.map_err(lost)?;
        Ok(Ledger::default())
    }

    /// Enqueues `runs` (token, host, step, resume) under the rollout's lease and claims each
    /// for `owner`, before any of them starts.
    pub(super) async fn start(
        &mut self,
        store: &Store,
        lease: &Lease,
        owner: &str,
        lease_seconds: u32,
        runs: &[(u64, &str, Step, bool)],
    ) -> Result<(), RolloutError> {
        let steps: Vec<NewHostStep> = runs
            .iter()
            .map(|(token, host, step, resume)| NewHostStep {
                token: stored_token(*token),
                host: (*host).to_owned(),
                step: step.as_str().to_owned(),
                resume: *resume,
            })
            .collect();
        store.enqueue_steps(lease, &steps, now_unix()).await.map_err(lost)?;
        for step in &steps {
            let claim = StepClaim {
                owner: owner.to_owned(),
                limit: 1,
                scope: StepScope::Step { rollout_id: lease.rollout_id.clone(), token: step.token },
                lease_seconds,
            };
            let claimed = match store.claim_steps(&claim, now_unix()).await {
                Ok(claimed) => claimed,
                Err(error) => return Err(lost_step(store, &lease.rollout_id, error).await),
            };
            let Some(claimed) = claimed.into_iter().next() else {
                // Only the rollout's driver enqueues, claims and abandons its steps: a step
                // another took or gave up means the rollout was taken over.
                return Err(taken_over(store, &lease.rollout_id).await);
            };
            self.leases.insert(step.token as u64, claimed.lease);
        }
        Ok(())
    }

    /// Completes step `token` with its result, under its lease.
    pub(super) async fn finish(
        &mut self,
        store: &Store,
        token: u64,
        result: &StepResult,
    ) -> Result<(), RolloutError> {
        let Some(lease) = self.leases.remove(&token) else { return Ok(()) };
        let json = serde_json::to_string(&protocol::journal::StepResultV1::from(result))
            .map_err(|e| RolloutError::Refused(format!("writing a step's result: {e}")))?;
        match store.complete_step(&lease, now_unix(), &json).await {
            Ok(()) => Ok(()),
            Err(error) => Err(lost_step(store, &lease.rollout_id, error).await),
        }
    }

    /// Gives up step `token` (the machine abandoned it).
    pub(super) async fn abandon(
        &mut self,
        store: &Store,
        lease: &Lease,
        token: u64,
    ) -> Result<(), RolloutError> {
        if self.leases.remove(&token).is_some() {
            store.abandon_steps(lease, &[stored_token(token)], now_unix()).await.map_err(lost)?;
        }
        Ok(())
    }

    /// Renews the leases of the steps in flight, with the rollout's.
    pub(super) async fn renew(
        &mut self,
        store: &Store,
        lease_seconds: u32,
    ) -> Result<(), RolloutError> {
        let leases: Vec<StepLease> = self.leases.values().cloned().collect();
        for renewed in store.renew_step_leases(&leases, now_unix(), lease_seconds).await? {
            match renewed {
                Ok(renewed) => self.leases.insert(renewed.token as u64, renewed),
                Err(error) => {
                    let rollout = leases.first().map_or("", |l| l.rollout_id.as_str());
                    return Err(lost_step(store, rollout, error).await);
                }
            };
        }
        Ok(())
    }
}

/// The machine's tokens count from 1 in a rollout; the store keeps them as `BIGINT`.
fn stored_token(token: u64) -> i64 {
    i64::try_from(token).unwrap_or(i64::MAX)
}

/// A step lost to another process means the rollout was taken over: the driver stops.
async fn lost_step(store: &Store, rollout_id: &str, error: StoreError) -> RolloutError {
    match error {
        StoreError::StepLost { .. } => taken_over(store, rollout_id).await,
        error => lost(error),
    }
}

/// The rollout was taken over: by whom, as its row says now.
async fn taken_over(store: &Store, rollout_id: &str) -> RolloutError {
    let holder = match store.rollout(rollout_id).await {
        Ok(Some(row)) => row.owner,
        _ => None,
    };
    RolloutError::LeaseLost { rollout: rollout_id.to_owned(), holder }
}
