//! A rollout followed as its journal grows, for the dashboard's live page. The journal is the
//! one place every driver writes (this server, its scheduler, a `patchctl rollout start` on
//! the same state), so following it sees them all: [`follow`] replays it once, then
//! [`Follower::next`] reads only the entries after the last one seen and says which hosts
//! changed and what happened to the rollout, in the words the CLI prints.

use std::collections::HashMap;

use protocol::output::rollout::{LiveHostV1, LiveLineV1, RolloutLiveV1};
use rollout::{Event, HostState, Millis, Rollout};
use store::JournalEntry;

use super::journal::{self, JournalRecord};
use super::{RolloutError, phase_name};
use crate::Context;

/// A rollout being followed: its machine as of entry `seq`, and each host's wave.
pub struct Follower {
    rollout: String,
    plan: String,
    machine: Rollout,
    seq: i64,
    waves: HashMap<String, String>,
}

/// Starts following `rollout` (an id, or its plan's): the whole rollout as it stands, and the
/// follower for what comes next.
pub async fn follow(
    ctx: &Context,
    rollout: &str,
) -> Result<(Follower, RolloutLiveV1), RolloutError> {
    let store = ctx.store().await?;
    let row = super::find(store, rollout).await?;
    super::control::require_intact(store, &row.id).await?;
    let config = journal::read_config(&row.id, &row.config_json)?;
    let waves = config
        .waves
        .iter()
        .flat_map(|w| w.hosts.iter().map(|h| (h.name.clone(), w.name.clone())))
        .collect();
    let mut follower = Follower {
        rollout: row.id.clone(),
        plan: row.plan_id.clone(),
        machine: Rollout::new(config),
        seq: 0,
        waves,
    };
    let entries = store.journal(&row.id).await?;
    let mut first = follower.apply(&entries)?;
    let at = entries.last().map_or(0, |e| e.at_ms as Millis);
    first.hosts =
        follower.machine.hosts().map(|(host, state)| follower.host(host, state, at)).collect();
    Ok((follower, first))
}

impl Follower {
    /// What the journal's entries since the last call changed; `None` when there are none.
    pub async fn next(&mut self, ctx: &Context) -> Result<Option<RolloutLiveV1>, RolloutError> {
        let entries = ctx.store().await?.journal_since(&self.rollout, self.seq).await?;
        if entries.is_empty() {
            return Ok(None);
        }
        self.apply(&entries).map(Some)
    }

    /// Feeds `entries` to the machine: the hosts whose state they changed, and the lines of
    /// the rollout's own events.
    fn apply(&mut self, entries: &[JournalEntry]) -> Result<RolloutLiveV1, RolloutError> {
        let before: HashMap<String, HostState> =
            self.machine.hosts().map(|(h, s)| (h.to_owned(), s.clone())).collect();
        let mut seen = before.clone();
        let mut changed_at: HashMap<String, Millis> = HashMap::new();
        let mut lines = Vec::new();
        // Who asked for the input whose events follow it, to name them in its lines.
        let mut asker: Option<String> = None;
        for entry in entries {
            let at = entry.at_ms as Millis;
            match JournalRecord::from_entry(&self.rollout, entry)? {
                JournalRecord::Input { input, actor } => {
                    asker = actor;
                    // Refused once, refused again: the driver journaled it all the same.
                    let _ = self.machine.handle(at, input);
                    // The events it causes are in the journal too, after it.
                    while self.machine.poll_event().is_some() {}
                    while self.machine.poll_action().is_some() {}
                    for (host, state) in self.machine.hosts() {
                        if seen.get(host) != Some(state) {
                            changed_at.insert(host.to_owned(), at);
                            seen.insert(host.to_owned(), state.clone());
                        }
                    }
                }
                JournalRecord::Event(event) => {
                    if let Some(mut text) = event_line(&event) {
                        let asked =
                            matches!(event, Event::Paused | Event::Resumed | Event::Cancelled);
                        if let Some(who) = asker.as_ref().filter(|_| asked) {
                            text = format!("{text} by {who}");
                        }
                        let alarm = matches!(
                            event,
                            Event::Halted { .. } | Event::CutoffPassed { .. } | Event::Cancelled
                        );
                        lines.push(LiveLineV1 { at_ms: at, text, alarm });
                    }
                }
                JournalRecord::Output(_)
                | JournalRecord::Request { .. }
                | JournalRecord::Start(_) => {}
            }
            self.seq = entry.seq;
        }
        let hosts = self
            .machine
            .hosts()
            .filter(|(host, state)| before.get(*host) != Some(*state))
            .map(|(host, state)| self.host(host, state, changed_at.get(host).copied().unwrap_or(0)))
            .collect();
        let phase = self.machine.phase();
        Ok(RolloutLiveV1 {
            rollout: self.rollout.clone(),
            plan: self.plan.clone(),
            seq: self.seq,
            phase: phase_name(phase).to_owned(),
            over: self.machine.is_settled(),
            hosts,
            lines,
        })
    }

    fn host(&self, host: &str, state: &HostState, changed_ms: Millis) -> LiveHostV1 {
        let step_started_ms = match state {
            HostState::Running { .. } => {
                self.machine.host_steps(host).last().map(|step| step.started_at)
            }
            _ => None,
        };
        LiveHostV1 {
            host: host.to_owned(),
            wave: self.waves.get(host).cloned().unwrap_or_default(),
            state: state.name().to_owned(),
            words: state.to_string(),
            step_started_ms,
            changed_ms,
        }
    }
}

/// The line a rollout's event other than a host's change is told in, on the terminal and on
/// the dashboard.
pub fn event_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::WaveStarted { name, .. } => format!("wave {name}: started"),
        Event::WaveFinished { name, failures, budget, .. } => {
            format!("wave {name}: finished, {failures} failed (budget {budget})")
        }
        Event::Halted { reason, .. } => format!("HALTED: {reason}"),
        Event::CutoffPassed { skipped, .. } => format!(
            "CUTOFF: the maintenance window's cutoff passed; {skipped} hosts not started are skipped"
        ),
        Event::Paused => "paused".to_owned(),
        Event::Resumed => "resumed".to_owned(),
        Event::Cancelled => "cancelled".to_owned(),
        Event::Finished { phase } => format!("finished: {}", phase_name(*phase)),
        Event::HostChanged { .. } => return None,
    })
}
