//! A rollout's changed hosts assessed again, so that compliance and the next plan see them as
//! they are: each host as soon as it reaches its end (done, failed, rolled back), beside the
//! rest of the rollout, and at the end whichever were not yet. Skipped, pending and lost hosts
//! are left alone (they were not changed, or do not answer).

use std::collections::BTreeSet;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use model::{Inventory, ResolvedHost};
use rollout::{Event, HostState};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::Loaded;
use crate::Context;

/// Whether a host in this state is assessed again.
fn changed(state: &HostState) -> bool {
    state.is_final()
        && !matches!(state, HostState::Skipped { .. } | HostState::Pending | HostState::Lost { .. })
}

/// Hands the hosts that reach their end to [`as_they_end`]; `None` when the drive is over.
pub(super) struct Ended(pub UnboundedSender<Option<String>>);

impl Ended {
    pub fn on_event(&self, event: &Event) {
        if let Event::HostChanged { host, to, .. } = event
            && changed(to)
        {
            let _ = self.0.send(Some(host.clone()));
        }
    }

    pub fn drive_over(&self) {
        let _ = self.0.send(None);
    }
}

/// What was assessed again, and what went wrong doing it.
#[derive(Debug, Default)]
pub(super) struct Reassessed {
    pub hosts: BTreeSet<String>,
    pub problems: Vec<String>,
}

/// Assesses each host [`Ended`] names, several at once, until the drive is over and the last
/// assessment has ended.
pub(super) async fn as_they_end(
    ctx: &Context,
    inventory: &Inventory,
    mut ended: UnboundedReceiver<Option<String>>,
) -> Reassessed {
    let mut done = Reassessed::default();
    let mut running = FuturesUnordered::new();
    let mut open = true;
    while open || !running.is_empty() {
        tokio::select! {
            message = ended.recv(), if open => match message {
                Some(Some(name)) => {
                    if let Some(host) = inventory.host(&name)
                        && done.hosts.insert(name)
                    {
                        running.push(assess(ctx, vec![host.clone()]));
                    }
                }
                _ => open = false,
            },
            Some(problems) = running.next(), if !running.is_empty() => done.problems.extend(problems),
        }
    }
    done
}

/// After the drive: the changed hosts not assessed again yet.
pub(super) async fn the_rest(
    ctx: &Context,
    after: &Loaded,
    inventory: &Inventory,
    done: &mut Reassessed,
) {
    let hosts: Vec<ResolvedHost> = after
        .machine
        .hosts()
        .filter(|(host, state)| changed(state) && !done.hosts.contains(*host))
        .filter_map(|(host, _)| inventory.host(host).cloned())
        .collect();
    done.hosts.extend(hosts.iter().map(|h| h.name.clone()));
    let problems = assess(ctx, hosts).await;
    done.problems.extend(problems);
}

/// Assesses the hosts and stores what was found; returns what went wrong.
async fn assess(ctx: &Context, hosts: Vec<ResolvedHost>) -> Vec<String> {
    if hosts.is_empty() {
        return Vec::new();
    }
    let store = match ctx.store().await {
        Ok(store) => store,
        Err(error) => return vec![format!("the hosts were not assessed again: {error}")],
    };
    let config = crate::FleetAssessConfig {
        taken_at_unix: ctx.clock.is_virtual().then(|| ctx.clock.now_unix()),
        actor: ctx.actor.clone(),
        ..crate::FleetAssessConfig::default()
    };
    match crate::assess_hosts(&hosts, store, &config, &|_, _, _| {}).await {
        Ok(outcomes) => outcomes
            .into_iter()
            .filter_map(|outcome| match outcome {
                crate::HostOutcome::Failed(failure) => Some(format!(
                    "{} could not be assessed again after the rollout: {} ({})",
                    failure.host, failure.message, failure.kind
                )),
                _ => None,
            })
            .collect(),
        Err(error) => vec![format!("the hosts were not assessed again: {error}")],
    }
}
