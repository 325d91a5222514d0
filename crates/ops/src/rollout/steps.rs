//! The steps of a host's run, carried out over SSH: prechecks, snapshot, apply, reboot,
//! postchecks, rollback. Each answers with a `StepResult` and the commands it ran.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use model::checks::{Checks, Hooks, host_checks};
use model::plan::{HostPlan, Plan};
use model::{Assessment, ResolvedHost};
use pkgmgr::apply::{ApplyOptions, PinnedPackage};
use pkgmgr::{CommandSpec, Depth};
use rollout::{Step, StepResult};
use store::Store;
use tokio::sync::Mutex;
use transport::Output;

use super::journal::{self, OutputRecord};
use super::waiting::{WaitSink, Waiting};
use crate::assess::{AssessConfig, assess_host};
use crate::connect::ConnectConfig;
use crate::session::{Connector, HostSession, SshConnector};

/// What a step reports: its result, and every command it ran, for the journal.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub result: StepResult,
    pub outputs: Vec<OutputRecord>,
}

/// Runs one step on one host. With `resume`, the step may have been started by a process that
/// died: check on it, never start it a second time.
#[async_trait::async_trait]
pub trait StepRunner: Send + Sync {
    async fn run(&self, host: &str, step: Step, resume: bool) -> StepReport;

    /// The lease the driver holds now (claimed or renewed): a runner that journals on its own
    /// (what a step ran so far, before it ends) writes under it.
    fn lease(&self, _lease: &store::Lease) {}

    /// The rollout was cancelled: a reboot waiting out its delay is called off (`shutdown -c`)
    /// and none starts any more; the hosts stay patched, and are failed at their reboot.
    fn rollout_cancelled(&self) {}
}

#[derive(Debug, Clone)]
pub struct StepsConfig {
    pub rollout_id: String,
    pub apply: ApplyOptions,
    /// `shutdown -r +N`: minutes of warning before a reboot (0 in tests).
    pub reboot_delay_minutes: u32,
    pub reboot_message: String,
    /// Whom logged-in users are told to ask in the reboot's warning when the host's inventory
    /// names no `owner`: the operator who started the rollout.
    pub reboot_contact: String,
    /// How long a host may not answer before it is given up on as unreachable.
    pub unreachable_grace: Duration,
    /// The longest wait between looks at a rebooting host, tries to reach a host that stopped
    /// answering, and looks at a lock held by someone else (a running unit is watched on the
    /// host itself).
    pub poll_interval: Duration,
    pub connect: ConnectConfig,
    /// Fetch each host's pinned packages during its precheck, ahead of its apply.
    pub download_ahead: bool,
    /// A reconcile may run the package manager's own repair (`dpkg --configure -a`, `dnf
    /// remove --duplicates`).
    pub repair: bool,
}

/// The driver's lease was taken over: nothing more may change on the host.
#[derive(Debug, Clone, Copy)]
pub(super) struct LostLease;

impl LostLease {
    /// The step's result: failed, having changed nothing more. The driver cannot journal it
    /// (its lease is gone) and stops; the process that took over checks on the host.
    pub(super) fn result(self) -> StepResult {
        StepResult::Failed {
            reason: "lost the lease on the rollout to another patchctl: nothing more was started"
                .to_owned(),
        }
    }
}

/// A host's connection, when it has one, behind the lock taken to make it.
type ConnectionSlot = Arc<Mutex<Option<Arc<dyn HostSession>>>>;

/// Steps over SSH for the hosts of one plan.
pub struct SshSteps {
    pub(super) config: StepsConfig,
    pub(super) plan: Plan,
    hosts: HashMap<String, ResolvedHost>,
    store: Store,
    /// Opens a host's session: over SSH unless given another (`with_connector`).
    connector: Arc<dyn Connector>,
    /// Each host's connection, behind a lock of its own: a host being connected to (slowly,
    /// while it reboots) never holds up the steps of another.
    connections: std::sync::Mutex<HashMap<String, ConnectionSlot>>,
    /// Each host's latest precheck facts, as journaled: read from the journal once per host
    /// after a restart, kept here as steps record them.
    facts: std::sync::Mutex<HashMap<String, BTreeMap<String, String>>>,
    /// The driver's lease, which `flush` writes under.
    lease: std::sync::Mutex<Option<store::Lease>>,
    /// Set when the rollout is cancelled: reboots waiting out their delay are called off.
    pub(super) cancelled: tokio::sync::watch::Sender<bool>,
    /// Told what a host's step waits for (a lock, a host that does not answer, a reboot).
    wait_sink: Option<WaitSink>,
}

impl SshSteps {
    pub fn new(config: StepsConfig, plan: Plan, hosts: Vec<ResolvedHost>, store: Store) -> Self {
        let hosts = hosts.into_iter().map(|h| (h.name.clone(), h)).collect();
        SshSteps {
            config,
            plan,
            hosts,
            connector: Arc::new(SshConnector { store: store.clone() }),
            store,
            connections: std::sync::Mutex::new(HashMap::new()),
            facts: std::sync::Mutex::new(HashMap::new()),
            lease: std::sync::Mutex::new(None),
            cancelled: tokio::sync::watch::Sender::new(false),
            wait_sink: None,
        }
    }

    /// Opens hosts' sessions with `connector` instead of over SSH (an agent's, a test's).
    pub fn with_connector(mut self, connector: Arc<dyn Connector>) -> Self {
        self.connector = connector;
        self
    }

    /// Tells `sink` what hosts' steps wait for, as they start and stop waiting.
    pub fn with_wait_sink(mut self, sink: WaitSink) -> Self {
        self.wait_sink = Some(sink);
        self
    }

    /// Keeps the facts of the latest of `outputs` that recorded any, as the journal will.
    fn remember_facts(&self, host: &str, outputs: &[OutputRecord]) {
        if let Some(record) = outputs.iter().rev().find(|o| !o.facts.is_empty()) {
            let mut known = self.facts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            known.insert(host.to_owned(), record.facts.clone());
        }
    }
}

impl SshSteps {
    /// Journals what the step ran so far, at once: a command that changes the host (starting
    /// the apply, the reboot) must be on record even if patchctl dies before the step ends.
    /// `Err` when the lease was lost (another process took the rollout over): the step must
    /// change nothing more on the host.
    pub(super) async fn flush(&self, host: &str, log: &mut Log) -> Result<(), LostLease> {
        let now = super::driver::now_ms();
        let entries: Vec<_> = log
            .outputs
            .iter()
            .map(|o| journal::JournalRecord::Output(o.clone()).to_entry(now, Some(host)))
            .collect();
        // A failed write (a lost lease too) leaves the records in the log, journaled with the
        // step's result by the driver, under its lease, or never.
        let lease = self.lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(lease) = lease else { return Ok(()) };
        match self.store.append_journal(&lease, &entries, None).await {
            Ok(_) => {
                self.remember_facts(host, &log.outputs);
                log.outputs.clear();
                Ok(())
            }
            Err(store::StoreError::LeaseLost { .. }) => Err(LostLease),
            // Another failure (a database busy past its timeout) keeps the records for the
            // driver's write with the step's result; the step goes on, as it always did.
            Err(_) => Ok(()),
        }
    }

    /// The facts the host's latest step that recorded any wrote (the precheck; a rollback
    /// writes them again with its own boot identity and boot kernel): kept in memory as steps
    /// record them, and read from the journal the first time after a restart of patchctl, so
    /// that they survive it. (Reading the whole journal at every step would cost a large
    /// fleet's rollout time that grows with every entry.)
    pub(super) async fn facts(&self, host: &str) -> BTreeMap<String, String> {
        let known = self.facts.lock().unwrap_or_else(|p| p.into_inner()).get(host).cloned();
        if let Some(facts) = known {
            return facts;
        }
        let facts = self.journaled_facts(host).await;
        if !facts.is_empty() {
            let mut known = self.facts.lock().unwrap_or_else(|p| p.into_inner());
            known.entry(host.to_owned()).or_insert_with(|| facts.clone());
        }
        facts
    }

    async fn journaled_facts(&self, host: &str) -> BTreeMap<String, String> {
        let Ok(entries) = self.store.journal(&self.config.rollout_id).await else {
            return BTreeMap::new();
        };
        let mut facts = BTreeMap::new();
        for entry in
            entries.iter().filter(|e| e.kind == journal::OUTPUT && e.host.as_deref() == Some(host))
        {
            if let Ok(record) =
                serde_json::from_str::<protocol::journal::OutputV1>(&entry.body_json)
                && !record.facts.is_empty()
            {
                facts = record.facts;
            }
        }
        facts
    }
}

/// The commands a step ran, and how to fail it with the last one's words.
pub(super) struct Log {
    step: Step,
    outputs: Vec<OutputRecord>,
}

impl Log {
    /// An empty log for `step`, which the caller keeps (a dry run journals nothing).
    pub(super) fn new(step: Step) -> Log {
        Log { step, outputs: Vec::new() }
    }

    /// The commands recorded, in order.
    pub(super) fn into_outputs(self) -> Vec<OutputRecord> {
        self.outputs
    }

    pub(super) fn record(
        &mut self,
        command: &CommandSpec,
        output: &Result<Output, String>,
        note: &str,
    ) {
        let (exit_code, stdout, stderr) = match output {
            Ok(output) => (Some(output.exit_code), &output.stdout[..], &output.stderr[..]),
            Err(error) => (None, &b""[..], error.as_bytes()),
        };
        let digest = <sha2::Sha256 as sha2::Digest>::digest([stdout, stderr].concat());
        self.outputs.push(OutputRecord {
            step: self.step,
            argv: command.argv.clone(),
            exit_code,
            stdout_tail: tail(stdout),
            stderr_tail: tail(stderr),
            output_sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
            note: note.to_owned(),
            facts: BTreeMap::new(),
            host_ms: None,
            remark: false,
            restarted: Vec::new(),
        });
    }

    /// The output of a command that ran as a unit, read back from its files, and how long it
    /// ran by the host's clock when systemd said.
    pub(super) fn record_unit(
        &mut self,
        command: &CommandSpec,
        code: i32,
        stdout: &str,
        stderr: &str,
        unit: &str,
        ran_for: Option<std::time::Duration>,
    ) {
        let output = Ok(Output {
            exit_code: code,
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        });
        let note = match ran_for {
            Some(ran) => format!("ran as {unit} for {:.2} s on the host", ran.as_secs_f64()),
            None => format!("ran as {unit}"),
        };
        self.record(command, &output, &note);
        if let Some(last) = self.outputs.last_mut() {
            last.host_ms = ran_for.map(|d| d.as_millis() as u64);
        }
    }

    /// A remark with no command, for the report.
    pub(super) fn note(&mut self, note: &str) {
        self.record(
            &CommandSpec { argv: Vec::new(), env: Vec::new() },
            &Ok(Output { exit_code: 0, stdout: Vec::new(), stderr: Vec::new() }),
            note,
        );
    }

    /// A note the report's summary shows with the host's outcome.
    pub(super) fn remark(&mut self, note: &str) {
        self.note(note);
        if let Some(last) = self.outputs.last_mut() {
            last.remark = true;
        }
    }

    /// Facts later steps need, journaled with this step.
    pub(super) fn facts(&mut self, facts: BTreeMap<String, String>) {
        self.note("facts for later steps");
        if let Some(last) = self.outputs.last_mut() {
            last.facts = facts;
        }
    }

    /// The step whose commands this log records.
    pub(super) fn step(&self) -> Step {
        self.step
    }

    /// The last command restarted `units`: said so in the journal, for the report.
    pub(super) fn restarted(&mut self, units: &[String]) {
        if let Some(last) = self.outputs.last_mut() {
            last.restarted = units.to_vec();
        }
    }

    /// An empty log for the same step, for a check that runs beside others.
    pub(super) fn sibling(&self) -> Log {
        Log { step: self.step, outputs: Vec::new() }
    }

    /// What a sibling recorded, after this log's own records.
    pub(super) fn absorb(&mut self, sibling: Log) {
        self.outputs.extend(sibling.outputs);
    }

    fn done(self, result: StepResult) -> StepReport {
        StepReport { result, outputs: self.outputs }
    }
}

fn tail(bytes: &[u8]) -> String {
    const KEEP: usize = 4000;
    let text = String::from_utf8_lossy(bytes);
    let start = text.len().saturating_sub(KEEP);
    let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    text[start..].to_owned()
}

pub(super) fn failed(reason: impl Into<String>) -> StepResult {
    StepResult::Failed { reason: reason.into() }
}

pub(super) fn unreachable(reason: impl Into<String>) -> StepResult {
    StepResult::Unreachable { reason: reason.into() }
}

pub(super) const OK: StepResult = StepResult::Succeeded { reboot_required: false };

#[async_trait::async_trait]
impl StepRunner for SshSteps {
    async fn run(&self, host: &str, step: Step, resume: bool) -> StepReport {
        let mut log = Log { step, outputs: Vec::new() };
        let (Some(inventory_host), Some(plan)) = (self.hosts.get(host), self.plan.host(host))
        else {
            return log.done(failed(format!("{host} is not in the plan and the inventory")));
        };
        let (checks, hooks) = match host_checks(inventory_host) {
            Ok(typed) => typed,
            Err(problem) => return log.done(failed(problem)),
        };
        let context = HostContext { steps: self, host: inventory_host, plan, checks, hooks };
        let result = match step {
            Step::Precheck => context.precheck(&mut log).await,
            Step::Snapshot => context.snapshot(&mut log).await,
            Step::Apply => context.apply(&mut log, resume).await,
            Step::Reboot => context.reboot(&mut log, resume).await,
            Step::Postcheck => context.postcheck(&mut log, false).await,
            Step::Verify => context.postcheck(&mut log, true).await,
            Step::Rollback => context.rollback(&mut log, resume).await,
            Step::Cleanup => context.cleanup(&mut log, resume).await,
            Step::Reconcile => context.reconcile(&mut log, resume).await,
        };
        context.trace(&mut log, step, &result).await;
        self.remember_facts(host, &log.outputs);
        log.done(result)
    }

    fn lease(&self, lease: &store::Lease) {
        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = Some(lease.clone());
    }

    fn rollout_cancelled(&self) {
        self.cancelled.send_replace(true);
    }
}

pub(super) struct HostContext<'a> {
    pub(super) steps: &'a SshSteps,
    pub(super) host: &'a ResolvedHost,
    pub(super) plan: &'a HostPlan,
    pub(super) checks: Checks,
    pub(super) hooks: Hooks,
}

impl HostContext<'_> {
    /// The host's connection, made again when it dropped, trying until the grace runs out.
    pub(super) async fn transport(&self) -> Result<Arc<dyn HostSession>, String> {
        let started = tokio::time::Instant::now();
        let since = crate::clock::now();
        let mut backoff = Backoff::new(self.steps.config.poll_interval);
        let mut waited = false;
        loop {
            let found = self.transport_once().await;
            if waited && !matches!(&found, Err(failure) if failure.retryable()) {
                self.waiting(None);
            }
            match found {
                Ok(ssh) => return Ok(ssh),
                Err(failure) if failure.retryable() => {
                    if started.elapsed() > self.steps.config.unreachable_grace {
                        return Err(failure.to_string());
                    }
                    if !waited {
                        waited = true;
                        let problem = failure.to_string();
                        self.waiting(Some(Waiting::Unreachable { problem, since }));
                    }
                    backoff.wait().await;
                }
                Err(failure) => return Err(failure.to_string()),
            }
        }
    }

    /// Tells the rollout's watcher what this host's step waits for now (`None`: nothing).
    pub(super) fn waiting(&self, waiting: Option<Waiting>) {
        if let Some(sink) = &self.steps.wait_sink {
            sink(&self.host.name, waiting.as_ref());
        }
    }

    /// The host's connection, or one attempt at making it again.
    pub(super) async fn transport_once(
        &self,
    ) -> Result<Arc<dyn HostSession>, crate::connect::ConnectFailure> {
        self.transport_once_with(&self.steps.config.connect).await
    }

    /// [`Self::transport_once`] with `config` for a new connection.
    pub(super) async fn transport_once_with(
        &self,
        config: &ConnectConfig,
    ) -> Result<Arc<dyn HostSession>, crate::connect::ConnectFailure> {
        let slot = self.connection_slot();
        let mut slot = slot.lock().await;
        if let Some(ssh) = slot.as_ref()
            && !ssh.is_closed()
        {
            return Ok(ssh.clone());
        }
        let ssh = self.steps.connector.connect(self.host, config).await?;
        *slot = Some(ssh.clone());
        Ok(ssh)
    }

    pub(super) async fn forget_connection(&self) {
        *self.connection_slot().lock().await = None;
    }

    fn connection_slot(&self) -> ConnectionSlot {
        let mut slots = self.steps.connections.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(self.host.name.clone()).or_default().clone()
    }

    /// Writes the host's own trace of a step that changed it (`pkgmgr::apply::trace_command`):
    /// its journal and its log file. A trace that cannot be written is noted, and changes
    /// nothing of the step's result.
    async fn trace(&self, log: &mut Log, step: Step, result: &StepResult) {
        let (step_word, packages): (&str, Vec<String>) = match step {
            Step::Apply if !self.plan.changes.is_empty() => (
                "apply",
                self.plan.changes.iter().map(|c| format!("{}={}", c.name, c.to)).collect(),
            ),
            Step::Rollback => (
                "rollback",
                self.plan
                    .changes
                    .iter()
                    .map(|c| format!("{}={}", c.name, c.from.as_deref().unwrap_or("absent")))
                    .collect(),
            ),
            Step::Reboot => ("reboot", Vec::new()),
            Step::Reconcile => ("reconcile", Vec::new()),
            _ => return,
        };
        let (result_word, reason) = match result {
            StepResult::Succeeded { .. } => ("succeeded", None),
            StepResult::Failed { reason } => ("failed", Some(reason.as_str())),
            // Nobody to tell: the host does not answer.
            StepResult::Unreachable { .. } => return,
        };
        let line = pkgmgr::apply::TraceLine {
            rollout: &self.steps.config.rollout_id,
            plan: &self.steps.plan.id,
            step: step_word,
            result: result_word,
            packages,
            reason,
        }
        .render();
        let log_file = Some(self.hooks.host_log.as_str()).filter(|path| !path.is_empty());
        let command = match pkgmgr::apply::trace_command(&line, log_file) {
            Ok(command) => command,
            Err(error) => return log.note(&format!("the host's trace was not written: {error}")),
        };
        match self.run(log, &command, "the host's trace").await {
            Ok(output) if output.exit_code == 0 => {}
            Ok(output) => log.note(&format!(
                "the host's trace was not written in full: exited {}: {}",
                output.exit_code,
                lossy(&output.stderr).trim()
            )),
            Err(error) => log.note(&format!("the host's trace was not written: {error}")),
        }
    }

    /// Runs a command, recording it. `Err` is a transport failure, in words.
    pub(super) async fn run(
        &self,
        log: &mut Log,
        command: &CommandSpec,
        note: &str,
    ) -> Result<Output, String> {
        let ssh = self.transport().await?;
        let command = transport::Command { argv: command.argv.clone(), env: command.env.clone() };
        let output = ssh.run(&command).await.map_err(|e| e.to_string());
        log.record(
            &CommandSpec { argv: command.argv.clone(), env: command.env.clone() },
            &output,
            note,
        );
        if output.is_err() {
            self.forget_connection().await;
        }
        output
    }

    /// The host's packages and, from [`Depth::Health`] on, its health and reboot verdict: never
    /// its pending updates, which no step needs and which cost most of an assessment.
    pub(super) async fn state(&self, depth: Depth) -> Result<Assessment, StepResult> {
        let ssh = self.transport().await.map_err(unreachable)?;
        let config = AssessConfig {
            package_manager: self.host.package_manager,
            depth,
            expected: Some(self.plan.package_manager),
            refresh: false,
        };
        assess_host(&self.host.name, ssh.as_ref(), &config).await.map_err(|failure| match &failure
            .error
            .problem
        {
            pkgmgr::Problem::Transport(message) => unreachable(message.clone()),
            _ => failed(format!("reading the host's packages: {failure}")),
        })
    }

    pub(super) fn targets(&self) -> Vec<PinnedPackage> {
        self.plan.changes.iter().map(|c| PinnedPackage::new(&c.name, &c.arch, &c.to)).collect()
    }
}

/// Waits between tries to reach a host that stopped answering: 100 ms at first, doubling up to
/// the poll interval, so that a short outage is seen to end at once and a long one is not tried
/// more often than the interval allows. (A rebooting host has its own pace, `reboot_checks.rs`.)
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);

    fn new(max: Duration) -> Backoff {
        Backoff { next: Backoff::FIRST.min(max), max }
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
    }
}

pub(super) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(super) fn now_unix() -> i64 {
    (super::driver::now_ms() / 1000) as i64
}
