//! The scheduler's leadership, as `serve` keeps it: of the processes sharing one state
//! (`patchctl serve` replicas on one PostgreSQL), the one holding the leader's lease
//! (`Store::claim_leadership`) runs the passes that start what is due and sends the notices;
//! the others claim it again every third of the lease, and take it over once the leader's
//! lease has run out. A leader whose renewal is refused stops leading at once. The lease is
//! the one the rollouts' drivers hold (`[scheduler] lease_seconds`), on the real clock.

use std::convert::Infallible;
use std::time::Duration;

use store::{LeaderClaim, Leadership, Store};
use tokio::sync::watch;

use crate::Clock;

/// Whether this process leads: `Some` with its leadership while it does. Receivers are told
/// only when that changes (led, lost), not at every renewal.
pub(super) type Leading = watch::Sender<Option<Leadership>>;

/// How often the leadership is renewed, or claimed by a process that does not lead: a third
/// of its lease.
pub(super) fn claim_every(lease_seconds: u32) -> Duration {
    Duration::from_millis(u64::from(lease_seconds) * 1000 / 3).max(Duration::from_millis(500))
}

/// Claims the leadership for `owner` and renews it while it holds, for ever: what it leads is
/// published on `leading`, and what changes is said through `say`. A failed renewal (refused,
/// or a database that does not answer) ends the leadership here at once: another process may
/// hold it by the time the database answers again.
pub(super) async fn keep_leading(
    store: &Store,
    clock: Clock,
    owner: &str,
    lease_seconds: u32,
    leading: &Leading,
    say: &(dyn Fn(String) + Sync),
) -> Infallible {
    let every = claim_every(lease_seconds);
    let mut last_leader: Option<String> = None;
    loop {
        let now = clock.real_unix();
        let current = leading.borrow().clone();
        match current {
            Some(leadership) => match store.renew_leadership(&leadership, now, lease_seconds).await
            {
                Ok(renewed) => {
                    leading.send_if_modified(|held| {
                        *held = Some(renewed);
                        false
                    });
                }
                Err(error) => {
                    leading.send_replace(None);
                    say(format!(
                        "no longer leading: {error}; starting nothing until leading again"
                    ));
                }
            },
            None => match store.claim_leadership(owner, now, lease_seconds).await {
                Ok(LeaderClaim::Leader(leadership)) => {
                    say(format!(
                        "leading: this process starts what is due and sends the notices (token {})",
                        leadership.token
                    ));
                    last_leader = None;
                    leading.send_replace(Some(leadership));
                }
                Ok(LeaderClaim::HeldBy { owner: leader, .. }) if leader == owner => {
                    // Its own lease, whose token a failed renewal lost: claimed again once it
                    // runs out.
                }
                Ok(LeaderClaim::HeldBy { owner: leader, .. }) => {
                    if last_leader.as_deref() != Some(leader.as_str()) {
                        say(format!(
                            "{leader} leads: it starts what is due; this process takes over \
                             the rollouts whose driver died, and leads if {leader} stops"
                        ));
                        last_leader = Some(leader);
                    }
                }
                Err(error) => say(format!("claiming the leadership: {error}")),
            },
        }
        tokio::time::sleep(every).await;
    }
}

/// Gives the leadership up, if held, so that another process leads at once.
pub(super) async fn release(store: &Store, leading: &Leading, say: &(dyn Fn(String) + Sync)) {
    if let Some(leadership) = leading.send_replace(None)
        && let Err(error) = store.release_leadership(&leadership).await
    {
        say(format!("releasing the leadership: {error}"));
    }
}
