//! Evidence for the promotion gate: every package version a host received and then passed its
//! postchecks with. The store keeps it (`verified_versions`), written by the rollout driver in
//! the transaction of the journal entries that prove it; this module computes it from a
//! rollout's state, and fills the store's table once for rollouts journaled before it existed.

use chrono::{DateTime, Utc};
use model::plan::Plan;
use model::promotion::Verified;
use rollout::{HostState, Rollout, Step, StepOutcome};
use store::{Store, VerifiedHost, VerifiedVersion};

use crate::rollout::{Loaded, RolloutError, load};

/// Every version verified on a host by a rollout in the store, read from the store's table.
/// A host counts when it ended `done`; its verification time is when its last postcheck
/// passed. Rollouts journaled before the table existed are replayed once first, and recorded.
pub async fn verified_versions(store: &Store) -> Result<Vec<Verified>, RolloutError> {
    for id in store.rollouts_without_verified().await? {
        record_from_journal(store, &id).await?;
    }
    let rows = store.verified_versions().await?;
    rows.into_iter().map(from_row).collect()
}

/// The versions one rollout verified, host by host, from its state.
pub fn verified_by(loaded: &Loaded) -> Vec<Verified> {
    loaded
        .machine
        .hosts()
        .flat_map(|(host, _)| verified_on(&loaded.row.id, &loaded.plan, &loaded.machine, host))
        .collect()
}

/// The versions rollout `rollout_id` (of `plan`, in state `machine`) verified on `host`: its
/// plan's changes when it is done, none otherwise.
pub fn verified_on(rollout_id: &str, plan: &Plan, machine: &Rollout, host: &str) -> Vec<Verified> {
    if machine.host_state(host) != Some(&HostState::Done) {
        return Vec::new();
    }
    let Some(host_plan) = plan.host(host) else { return Vec::new() };
    let passed = machine
        .host_steps(host)
        .iter()
        .filter(|r| r.step == Step::Postcheck && r.outcome == Some(StepOutcome::Succeeded))
        .filter_map(|r| r.finished_at)
        .max();
    // Whole seconds, like the plans' own times, so that a plan made in the same second as the
    // verification does not see it in the future.
    let seconds = passed.map(|ms| (ms / 1000) as i64);
    let Some(at) = seconds.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0)) else {
        return Vec::new();
    };
    host_plan
        .changes
        .iter()
        .map(|change| Verified {
            environment: host_plan.environment.clone(),
            host: host.to_owned(),
            rollout: rollout_id.to_owned(),
            name: change.name.clone(),
            arch: change.arch.clone(),
            version: change.to.clone(),
            verified_at: at,
        })
        .collect()
}

/// What the store keeps for `hosts` of a rollout in state `machine`: written with the journal
/// entries that moved them.
pub fn verified_hosts<'a>(
    rollout_id: &str,
    plan: &Plan,
    machine: &Rollout,
    hosts: impl IntoIterator<Item = &'a str>,
) -> Vec<VerifiedHost> {
    hosts
        .into_iter()
        .map(|host| VerifiedHost {
            host: host.to_owned(),
            versions: verified_on(rollout_id, plan, machine, host).iter().map(to_row).collect(),
        })
        .collect()
}

/// Replays a rollout's journal and records what it verified. A journal that grows meanwhile
/// (a driver at work) is read again; its driver records its own hosts from then on anyway.
async fn record_from_journal(store: &Store, id: &str) -> Result<(), RolloutError> {
    for _ in 0..3 {
        let loaded = load(store, id).await?;
        let through_seq = match &loaded.journal_check {
            store::JournalCheck::Intact { n_entries, .. } => *n_entries as i64,
            // `load` refuses a broken journal.
            store::JournalCheck::Broken { seq, .. } => *seq,
        };
        let hosts: Vec<&str> = loaded.machine.hosts().map(|(host, _)| host).collect();
        let verified = verified_hosts(&loaded.row.id, &loaded.plan, &loaded.machine, hosts);
        if store.record_verified(&loaded.row.id, through_seq, &verified).await? {
            return Ok(());
        }
    }
    Err(RolloutError::Refused(format!(
        "the journal of rollout {id} kept growing while its verified versions were read from \
         it; try again"
    )))
}

fn to_row(verified: &Verified) -> VerifiedVersion {
    VerifiedVersion {
        rollout_id: verified.rollout.clone(),
        host: verified.host.clone(),
        environment: verified.environment.clone(),
        name: verified.name.clone(),
        arch: verified.arch.clone(),
        version: verified.version.clone(),
        verified_at_unix: verified.verified_at.timestamp(),
    }
}

/// A row of the store's table, as the gate takes it.
fn from_row(row: VerifiedVersion) -> Result<Verified, RolloutError> {
    let Some(verified_at) = DateTime::<Utc>::from_timestamp(row.verified_at_unix, 0) else {
        return Err(RolloutError::Store(store::StoreError::CorruptRow {
            doing: "reading the verified package versions".to_owned(),
            message: format!(
                "{} {} {} on {} (rollout {}) verified at Unix time {}, out of range",
                row.name, row.arch, row.version, row.host, row.rollout_id, row.verified_at_unix
            ),
        }));
    };
    Ok(Verified {
        verified_at,
        environment: row.environment,
        host: row.host,
        rollout: row.rollout_id,
        name: row.name,
        arch: row.arch,
        version: row.version,
    })
}
