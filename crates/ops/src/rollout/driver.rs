//! The loop that drives a rollout: feed inputs, journal them, run the actions, wait.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use model::plan::Plan;
use rollout::{Action, Config, Event, HostState, Input, Millis, Phase, Rollout};
use store::{Claim, Lease, PhaseUpdate, RolloutPhase, RolloutRow, Store, StoreError, VerifiedHost};
use tokio::task::{AbortHandle, JoinSet};

use super::RolloutError;
use super::journal::{self, JournalRecord};
use super::ledger::Ledger;
use super::steps::{StepReport, StepRunner};

#[derive(Debug, Clone)]
pub struct DriveConfig {
    /// Who drives, for the lease: `patchctl@machine:pid:nonce`, unique to this process (a
    /// PID alone is reused, and means nothing across PID namespaces).
    pub owner: String,
    /// How long the lease lasts without renewal; another process may take over after it. It
    /// is renewed every third of it.
    pub lease_seconds: u32,
    /// When another process holds the lease: wait until it runs out, and take it over unless
    /// the holder renewed it meanwhile (it is alive). Otherwise refuse at once.
    pub wait_for_lease: bool,
    /// How often requests from other processes (pause, cancel) are looked for; on PostgreSQL
    /// also at once when one is journaled (`Store::wake_ups`).
    pub request_poll: Duration,
    /// Milliseconds added to this machine's clock for the rollout's own time (its steps'
    /// times, its cutoff): zero, except when a test or a rehearsal runs patchctl at a virtual
    /// time (`PATCHCTL_NOW`). Leases keep the real clock: they are about live processes.
    pub clock_offset_ms: i64,
    /// Who has this process drive the rollout: a paused rollout's resume is journaled as
    /// theirs. `None`: nobody in particular (a test's driver).
    pub actor: Option<String>,
}

impl Default for DriveConfig {
    fn default() -> Self {
        DriveConfig {
            owner: process_owner(),
            lease_seconds: DEFAULT_LEASE_SECONDS,
            wait_for_lease: false,
            request_poll: Duration::from_secs(1),
            clock_offset_ms: 0,
            actor: None,
        }
    }
}

/// How long a driver's lease lasts by default: a driver killed with `kill -9` holds its
/// rollout this long at most.
pub const DEFAULT_LEASE_SECONDS: u32 = 30;

/// This process, as lease owners name it: the machine, the PID and a random nonce.
pub fn process_owner() -> String {
    static OWNER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OWNER
        .get_or_init(|| {
            format!(
                "patchctl@{}:{}:{}",
                this_machine(),
                std::process::id(),
                &super::new_rollout_id()[..8]
            )
        })
        .clone()
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
    let lease = take_lease(store, &id, config).await?;
    runner.lease(&lease);
    let released = lease.clone();
    let result = drive_claimed(store, lease, &row, runner, config, stop, on_event).await;
    // A lease left behind expires by itself; releasing it is a courtesy to the next process.
    // A lease lost meanwhile is not released: the token moved on, and this changes nothing.
    // After a store error (the database down, failing over) the lease is left to run out: the
    // rollout is then one whose driver died, and a scheduler (this process's, another
    // replica's) continues it once the database answers.
    if !matches!(result, Err(RolloutError::Store(_))) {
        let _ = store.release_rollout(&released).await;
    }
    result
}

/// Claims the rollout's lease; when another process holds it and `wait_for_lease`, waits for
/// it to run out and takes it over, unless the holder renews it meanwhile (it is alive).
pub(crate) async fn take_lease(
    store: &Store,
    id: &str,
    config: &DriveConfig,
) -> Result<Lease, RolloutError> {
    let mut seen: Option<(String, i64)> = None;
    loop {
        match store.claim_rollout(id, &config.owner, now_unix(), config.lease_seconds).await? {
            Claim::Claimed(lease) => return Ok(lease),
            Claim::HeldBy { owner, until_unix } => {
                let renewed = seen.as_ref().is_some_and(|(o, u)| *o == owner && *u < until_unix);
                let other = seen.as_ref().is_some_and(|(o, _)| *o != owner);
                if !config.wait_for_lease || renewed || other {
                    return Err(RolloutError::Busy { rollout: id.to_owned(), owner, until_unix });
                }
                let wait = (until_unix - now_unix()).clamp(0, i64::from(config.lease_seconds));
                eprintln!(
                    "patchctl: rollout {id} is leased by {owner} for {wait} s more; waiting for it to run out (it is taken over unless renewed)"
                );
                tokio::time::sleep(Duration::from_millis(wait as u64 * 1000 + 200)).await;
                seen = Some((owner, until_unix));
            }
        }
    }
}

async fn drive_claimed(
    store: &Store,
    lease: Lease,
    row: &RolloutRow,
    runner: Arc<dyn StepRunner>,
    drive_config: &DriveConfig,
    stop: impl Future<Output = ()>,
    on_event: &(dyn Fn(&Event, &Rollout) + Send + Sync),
) -> Result<DriveOutcome, RolloutError> {
    let id = lease.rollout_id.clone();
    let id = id.as_str();
    let config: Config = journal::read_config(id, &row.config_json)?;
    super::control::require_intact(store, id).await?;
    // For the versions its hosts verify, which are recorded with the entries that prove them.
    let plan = crate::load_plan(store, &row.plan_id)
        .await
        .map_err(|e| RolloutError::Refused(e.to_string()))?
        .ok_or_else(|| RolloutError::UnknownPlan(row.plan_id.clone()))?;
    let entries = store.journal(id).await?;
    let mut last_seq = entries.last().map_or(0, |e| e.seq);
    let inputs = journal::inputs(id, &entries)?;
    // Requests journaled for a driver that was gone by then (killed while its lease ran): they
    // came after the last input any driver took, and are this one's to decide on.
    let last_input = entries.iter().rposition(|e| e.kind == journal::INPUT);
    let mut pending = Vec::new();
    for entry in &entries[last_input.map_or(0, |i| i + 1)..] {
        if let JournalRecord::Request { input, actor } = JournalRecord::from_entry(id, entry)? {
            pending.push((input, actor));
        }
    }
    let mut machine = Rollout::replay(config, &inputs);
    if machine.stop_reason() == Some(&rollout::StopReason::Cancelled) {
        // Cancelled while no driver ran: a reboot scheduled by the one that died is called off.
        runner.rollout_cancelled();
    }
    let offset = drive_config.clock_offset_ms;
    let mut driver = Driver {
        store,
        lease,
        plan: &plan,
        machine: &mut machine,
        on_event,
        offset,
        runner: runner.clone(),
    };

    // Steps a previous driver left unfinished are given up: the recovery runs each again.
    let mut ledger = Ledger::take_over(store, &driver.lease).await?;
    if !driver.machine.is_quiet() {
        driver.feed(Input::Recover, Vec::new(), None).await?;
    }
    match driver.machine.phase() {
        Phase::NotStarted => driver.feed(Input::Start, Vec::new(), None).await?,
        Phase::Paused => driver.feed_asked(Input::Resume, drive_config.actor.clone()).await?,
        _ => {}
    }
    for (input, actor) in pending {
        driver.feed_asked(input, actor).await?;
    }

    let mut tasks: JoinSet<(u64, String, StepReport)> = JoinSet::new();
    let mut running: HashMap<u64, AbortHandle> = HashMap::new();
    let mut stop = std::pin::pin!(stop);
    let mut stop_requested = false;
    let mut requests = tokio::time::interval(drive_config.request_poll);
    // On PostgreSQL, a request journaled by any process wakes this loop at once; the polling
    // stays, for SQLite and for a wake-up missed.
    let mut wake_ups = store.wake_ups();
    let mut renewals = tokio::time::interval(Duration::from_secs(
        (u64::from(drive_config.lease_seconds) / 3).max(1),
    ));
    loop {
        let actions: Vec<Action> = std::iter::from_fn(|| driver.machine.poll_action()).collect();
        // Every step asked for is on record as the driver's, leased, before any of them starts.
        let runs: Vec<_> = actions
            .iter()
            .filter_map(|action| match action {
                Action::Run { host, step, token, resume, .. } => {
                    Some((*token, host.as_str(), *step, *resume))
                }
                Action::Abandon { .. } => None,
            })
            .collect();
        if !runs.is_empty() {
            let lease_seconds = drive_config.lease_seconds;
            ledger.start(store, &driver.lease, &drive_config.owner, lease_seconds, &runs).await?;
        }
        for action in actions {
            match action {
                Action::Run { host, step, token, resume, .. } => {
                    let runner = runner.clone();
                    let handle = tasks.spawn(async move {
                        let started = std::time::Instant::now();
                        let report = runner.run(&host, step, resume).await;
                        crate::metrics::step_finished(step, &report.result, started.elapsed());
                        (token, host, report)
                    });
                    running.insert(token, handle);
                }
                Action::Abandon { token, .. } => {
                    if let Some(handle) = running.remove(&token) {
                        handle.abort();
                    }
                    ledger.abandon(store, &driver.lease, token).await?;
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
                ledger.finish(store, token, &report.result).await?;
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
            () = async {
                tokio::select! {
                    _ = requests.tick() => {}
                    () = wake_ups.woken() => {}
                }
            } => {
                for entry in store.journal_since(id, last_seq).await? {
                    last_seq = last_seq.max(entry.seq);
                    let record = JournalRecord::from_entry(id, &entry)?;
                    if let JournalRecord::Request { input, actor } = record {
                        driver.feed_asked(input, actor).await?;
                    }
                }
            }
            _ = renewals.tick() => {
                let renewed = store
                    .renew_rollout_lease(&driver.lease, now_unix(), drive_config.lease_seconds)
                    .await
                    .map_err(lost)?;
                runner.lease(&renewed);
                driver.lease = renewed;
                ledger.renew(store, drive_config.lease_seconds).await?;
            }
        }
    }
}

struct Driver<'a> {
    store: &'a Store,
    /// Every write is made under it; one refused means another process took the rollout over.
    lease: Lease,
    plan: &'a Plan,
    machine: &'a mut Rollout,
    on_event: &'a (dyn Fn(&Event, &Rollout) + Send + Sync),
    /// See [`DriveConfig::clock_offset_ms`].
    offset: i64,
    /// Told when the rollout is cancelled.
    runner: Arc<dyn StepRunner>,
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
        self.feed_as(input, None, before, host).await
    }

    /// [`Driver::feed`] for an input a person asked for: the journal names `actor`.
    async fn feed_asked(
        &mut self,
        input: Input,
        actor: Option<String>,
    ) -> Result<(), RolloutError> {
        self.feed_as(input, actor, Vec::new(), None).await
    }

    async fn feed_as(
        &mut self,
        input: Input,
        actor: Option<String>,
        before: Vec<JournalRecord>,
        host: Option<&str>,
    ) -> Result<(), RolloutError> {
        let now = shifted(now_ms(), self.offset);
        let accepted = self.machine.handle(now, input.clone()).is_ok();
        let mut entries: Vec<_> = before.iter().map(|r| r.to_entry(now, host)).collect();
        if accepted {
            entries.push(JournalRecord::Input { input, actor }.to_entry(now, host));
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
        let phase = PhaseUpdate { phase: stored_phase(self.machine), at_unix: (now / 1000) as i64 };
        let verified =
            changed_hosts_verified(&self.lease.rollout_id, self.plan, self.machine, &events);
        self.store
            .append_journal_verified(&self.lease, &entries, Some(&phase), &verified)
            .await
            .map_err(lost)?;
        for event in &events {
            if *event == Event::Cancelled {
                self.runner.rollout_cancelled();
            }
            (self.on_event)(event, self.machine);
        }
        Ok(())
    }
}

/// The verified versions of the hosts `events` moved, to record with the entries that moved
/// them: a host that became done verified its plan's versions, one that left done (a rollback
/// by hand) verifies none any more.
pub(crate) fn changed_hosts_verified(
    rollout_id: &str,
    plan: &Plan,
    machine: &Rollout,
    events: &[Event],
) -> Vec<VerifiedHost> {
    let mut hosts: Vec<&str> = Vec::new();
    for event in events {
        // Only a move into or out of done changes what a host verified.
        let Event::HostChanged { host, from, to } = event else { continue };
        let done = HostState::Done.name();
        if (*to == HostState::Done || from == done) && !hosts.contains(&host.as_str()) {
            hosts.push(host);
        }
    }
    crate::promotion::verified_hosts(rollout_id, plan, machine, hosts)
}

/// This machine's name, for lease owners (`patchctl@NAME:PID`).
fn this_machine() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// A store error, with a lost lease told apart: the process must stop, having written nothing.
pub(crate) fn lost(error: StoreError) -> RolloutError {
    match error {
        StoreError::LeaseLost { rollout_id, holder, .. } => {
            RolloutError::LeaseLost { rollout: rollout_id, holder }
        }
        error => RolloutError::Store(error),
    }
}

/// The phase the store keeps, which decides whether the rollout claims its hosts: a finished
/// rollout that a rollback or a reconcile by hand reopened is running again until its hosts
/// are final.
pub(crate) fn stored_phase(machine: &Rollout) -> RolloutPhase {
    if machine.phase().is_final() && !machine.is_settled() {
        store_phase(Phase::Running)
    } else {
        store_phase(machine.phase())
    }
}

/// A phase as the store keeps it; its text is [`phase_name`]'s (a test below checks).
fn store_phase(phase: Phase) -> RolloutPhase {
    match phase {
        Phase::NotStarted => RolloutPhase::NotStarted,
        Phase::Running => RolloutPhase::Running,
        Phase::Paused => RolloutPhase::Paused,
        Phase::Stopping => RolloutPhase::Stopping,
        Phase::Completed => RolloutPhase::Completed,
        Phase::Halted => RolloutPhase::Halted,
        Phase::Cancelled => RolloutPhase::Cancelled,
    }
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
    crate::clock::now_ms()
}

pub(crate) fn now_unix() -> i64 {
    (now_ms() / 1000) as i64
}

#[cfg(test)]
mod tests {
    use rollout::Phase;

    use super::{phase_name, store_phase};

    /// The store keeps the text databases have always held, and the phases it counts as
    /// finished (claiming no host) are the final ones.
    #[test]
    fn stored_phases_keep_their_names() {
        let phases = [
            Phase::NotStarted,
            Phase::Running,
            Phase::Paused,
            Phase::Stopping,
            Phase::Completed,
            Phase::Halted,
            Phase::Cancelled,
        ];
        for phase in phases {
            assert_eq!(store_phase(phase).as_str(), phase_name(phase));
            assert_eq!(store_phase(phase).is_finished(), phase.is_final(), "{phase:?}");
        }
    }
}
