//! The loop that drives a rollout: feed inputs, journal them, run the actions, wait.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rollout::{Action, Config, Event, Input, Millis, Phase, Rollout};
use store::{Claim, Store};
use tokio::task::{AbortHandle, JoinSet};

use super::RolloutError;
use super::journal::{self, JournalRecord};
use super::steps::{StepReport, StepRunner};

#[derive(Debug, Clone)]
pub struct DriveConfig {
    /// Who drives, for the lease (`user@machine:pid`).
    pub owner: String,
    /// How long the lease lasts without renewal; another process may take over after it.
    pub lease_seconds: u32,
    /// How often requests from other processes (pause, cancel) are looked for.
    pub request_poll: Duration,
    /// Milliseconds added to this machine's clock for the rollout's own time (its steps'
    /// times, its cutoff): zero, except when a test or a rehearsal runs patchctl at a virtual
    /// time (`PATCHCTL_NOW`). Leases keep the real clock: they are about live processes.
    pub clock_offset_ms: i64,
}

impl Default for DriveConfig {
    fn default() -> Self {
        DriveConfig {
            owner: format!("patchctl@{}:{}", this_machine(), std::process::id()),
            lease_seconds: 60,
            request_poll: Duration::from_secs(1),
            clock_offset_ms: 0,
        }
    }
}

/// How a drive ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveOutcome {
    /// The rollout is over (completed, halted, cancelled).
    Finished(Phase),
    /// It was paused and nothing runs any more: `rollout resume` continues it.
    Paused,
}

/// Drives rollout `rollout_id` until it is over or paused. `stop` (Ctrl-C) pauses it: running
/// steps finish, nothing new starts, and the function returns. `on_event` sees every event.
pub async fn drive(
    store: &Store,
    rollout_id: &str,
    runner: Arc<dyn StepRunner>,
    config: &DriveConfig,
    stop: impl Future<Output = ()>,
    on_event: &(dyn Fn(&Event, &Rollout) + Send + Sync),
) -> Result<DriveOutcome, RolloutError> {
    let row = store
        .rollout(rollout_id)
        .await?
        .ok_or_else(|| RolloutError::UnknownRollout(rollout_id.to_owned()))?;
    let id = row.id.clone();
    let mut claim =
        store.claim_rollout(&id, &config.owner, now_unix(), config.lease_seconds).await?;
    if let Claim::HeldBy { owner, .. } = &claim
        && is_dead_here(owner)
    {
        // The process that held it ran on this machine and is gone (killed, crashed): its
        // lease would only make the operator wait for nothing.
        store.release_rollout(&id, owner).await?;
        claim = store.claim_rollout(&id, &config.owner, now_unix(), config.lease_seconds).await?;
    }
    if let Claim::HeldBy { owner, until_unix } = claim {
        return Err(RolloutError::Busy { rollout: id, owner, until_unix });
    }
    let result = drive_claimed(store, &id, &row.config_json, runner, config, stop, on_event).await;
    // A lease left behind expires by itself; releasing it is a courtesy to the next process.
    let _ = store.release_rollout(&id, &config.owner).await;
    result
}

async fn drive_claimed(
    store: &Store,
    id: &str,
    config_json: &str,
    runner: Arc<dyn StepRunner>,
    drive_config: &DriveConfig,
    stop: impl Future<Output = ()>,
    on_event: &(dyn Fn(&Event, &Rollout) + Send + Sync),
) -> Result<DriveOutcome, RolloutError> {
    let config: Config = serde_json::from_str(config_json).map_err(|error| {
        RolloutError::Journal { rollout: id.to_owned(), seq: 0, problem: error.to_string() }
    })?;
    let entries = store.journal(id).await?;
    let mut last_seq = entries.last().map_or(0, |e| e.seq);
    let inputs = journal::inputs(id, &entries)?;
    let mut machine = Rollout::replay(config, &inputs);
    let offset = drive_config.clock_offset_ms;
    let mut driver = Driver { store, id, machine: &mut machine, on_event, offset };

    if !driver.machine.is_quiet() {
        driver.feed(Input::Recover, Vec::new(), None).await?;
    }
    match driver.machine.phase() {
        Phase::NotStarted => driver.feed(Input::Start, Vec::new(), None).await?,
        Phase::Paused => driver.feed(Input::Resume, Vec::new(), None).await?,
        _ => {}
    }

    let mut tasks: JoinSet<(u64, String, StepReport)> = JoinSet::new();
    let mut running: HashMap<u64, AbortHandle> = HashMap::new();
    let mut stop = std::pin::pin!(stop);
    let mut stop_requested = false;
    let mut requests = tokio::time::interval(drive_config.request_poll);
    let mut renewals = tokio::time::interval(Duration::from_secs(
        (u64::from(drive_config.lease_seconds) / 3).max(1),
    ));
    loop {
        while let Some(action) = driver.machine.poll_action() {
            match action {
                Action::Run { host, step, token, resume, .. } => {
                    let runner = runner.clone();
                    let handle = tasks.spawn(async move {
                        let report = runner.run(&host, step, resume).await;
                        (token, host, report)
                    });
                    running.insert(token, handle);
                }
                Action::Abandon { token, .. } => {
                    if let Some(handle) = running.remove(&token) {
                        handle.abort();
                    }
                }
            }
        }
        if driver.machine.is_settled() {
            return Ok(DriveOutcome::Finished(driver.machine.phase()));
        }
        if driver.machine.phase() == Phase::Paused && driver.machine.is_quiet() {
            return Ok(DriveOutcome::Paused);
        }
        let deadline = driver.machine.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => {
                    let now = shifted(now_ms(), offset);
                    tokio::time::sleep(Duration::from_millis(at.saturating_sub(now))).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                // A task aborted on `Abandon` was already given up on; a panic in a step is a bug
                // in patchctl, and the step's deadline takes care of the host.
                let Ok((token, host, report)) = joined else { continue };
                running.remove(&token);
                let input = Input::StepFinished { token, result: report.result };
                let outputs = report.outputs.into_iter().map(JournalRecord::Output).collect();
                driver.feed(input, outputs, Some(&host)).await?;
            }
            () = sleep => driver.feed(Input::Tick, Vec::new(), None).await?,
            () = &mut stop, if !stop_requested => {
                stop_requested = true;
                if driver.machine.phase() == Phase::Running {
                    driver.feed(Input::Pause, Vec::new(), None).await?;
                }
            }
            _ = requests.tick() => {
                for entry in store.journal_since(id, last_seq).await? {
                    last_seq = last_seq.max(entry.seq);
                    if let JournalRecord::Request(input) = JournalRecord::from_entry(id, &entry)? {
                        driver.feed(input, Vec::new(), None).await?;
                    }
                }
            }
            _ = renewals.tick() => {
                if let Claim::HeldBy { owner, until_unix } = store
                    .claim_rollout(id, &drive_config.owner, now_unix(), drive_config.lease_seconds)
                    .await?
                {
                    return Err(RolloutError::Busy { rollout: id.to_owned(), owner, until_unix });
                }
            }
        }
    }
}

struct Driver<'a> {
    store: &'a Store,
    id: &'a str,
    machine: &'a mut Rollout,
    on_event: &'a (dyn Fn(&Event, &Rollout) + Send + Sync),
    /// See [`DriveConfig::clock_offset_ms`].
    offset: i64,
}

impl Driver<'_> {
    /// Hands `input` to the machine and journals it, with `before` (the outputs that produced
    /// it) and the events it caused, in one transaction, before any action it asked for runs.
    /// An input the machine refuses is journaled as nothing.
    async fn feed(
        &mut self,
        input: Input,
        before: Vec<JournalRecord>,
        host: Option<&str>,
    ) -> Result<(), RolloutError> {
        let now = shifted(now_ms(), self.offset);
        let accepted = self.machine.handle(now, input.clone()).is_ok();
        let mut entries: Vec<_> = before.iter().map(|r| r.to_entry(now, host)).collect();
        if accepted {
            entries.push(JournalRecord::Input(input).to_entry(now, host));
        }
        let mut events = Vec::new();
        while let Some(event) = self.machine.poll_event() {
            let event_host = match &event {
                Event::HostChanged { host, .. } => Some(host.clone()),
                _ => None,
            };
            entries.push(JournalRecord::Event(event.clone()).to_entry(now, event_host.as_deref()));
            events.push(event);
        }
        if !entries.is_empty() {
            self.store.append_journal(self.id, &entries).await?;
        }
        let phase = self.machine.phase();
        self.store.set_rollout_phase(self.id, phase_name(phase), (now / 1000) as i64).await?;
        for event in &events {
            (self.on_event)(event, self.machine);
        }
        Ok(())
    }
}

/// This machine's name, for lease owners (`patchctl@NAME:PID`).
fn this_machine() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// True when `owner` is a patchctl process of this machine that no longer runs.
fn is_dead_here(owner: &str) -> bool {
    let Some((machine, pid)) = owner.strip_prefix("patchctl@").and_then(|o| o.rsplit_once(':'))
    else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else { return false };
    machine == this_machine()
        && pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::NotStarted => "not_started",
        Phase::Running => "running",
        Phase::Paused => "paused",
        Phase::Stopping => "stopping",
        Phase::Completed => "completed",
        Phase::Halted => "halted",
        Phase::Cancelled => "cancelled",
    }
}

/// `now` moved by `offset_ms`, saturating at the ends of the range.
fn shifted(now: Millis, offset_ms: i64) -> Millis {
    now.saturating_add_signed(offset_ms)
}

pub(crate) fn now_ms() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0)
}

fn now_unix() -> i64 {
    (now_ms() / 1000) as i64
}
