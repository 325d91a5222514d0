//! The words of a rollout: steps, host states, inputs, actions and events.

/// Milliseconds on the shell's clock (the Unix epoch in production, virtual in simulations).
pub type Millis = u64;

/// One step of a host's run, in the order they can happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Precheck,
    Snapshot,
    Apply,
    Reboot,
    Postcheck,
    /// Downgrade to the recorded versions.
    Rollback,
    /// The postchecks again, after a rollback.
    Verify,
    /// Old kernels removed, keeping the newest few; its failure does not fail the host.
    Cleanup,
    /// A host lost mid-step, back again: its package manager repaired and its packages
    /// compared with the plan's (`rollout reconcile`). At the plan's versions, its postchecks
    /// follow; otherwise it is rolled back.
    Reconcile,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Precheck => "precheck",
            Step::Snapshot => "snapshot",
            Step::Apply => "apply",
            Step::Reboot => "reboot",
            Step::Postcheck => "postcheck",
            Step::Rollback => "rollback",
            Step::Verify => "verify",
            Step::Cleanup => "cleanup",
            Step::Reconcile => "reconcile",
        }
    }

    /// Steps that change the host: repeating one is patching twice.
    pub fn changes_host(self) -> bool {
        matches!(self, Step::Apply | Step::Rollback | Step::Reboot | Step::Reconcile)
    }
}

/// Where a host is. The last five are final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostState {
    Pending,
    /// Between steps: `next` starts when the rollout is not paused and has room.
    Ready {
        next: Step,
    },
    Running {
        step: Step,
        token: u64,
        deadline: Millis,
        resume: bool,
    },
    Done,
    Failed {
        step: Step,
        reason: String,
    },
    /// Its postchecks failed, it was downgraded to the recorded versions and verified.
    RolledBack {
        reason: String,
    },
    Skipped {
        reason: String,
    },
    /// It stopped answering (or never came back from a reboot) during `step`.
    Lost {
        step: Step,
        reason: String,
    },
}

impl HostState {
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            HostState::Done
                | HostState::Failed { .. }
                | HostState::RolledBack { .. }
                | HostState::Skipped { .. }
                | HostState::Lost { .. }
        )
    }

    /// Counts against the error budget.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            HostState::Failed { .. } | HostState::RolledBack { .. } | HostState::Lost { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            HostState::Pending => "pending",
            HostState::Ready { .. } => "ready",
            HostState::Running { .. } => "running",
            HostState::Done => "done",
            HostState::Failed { .. } => "failed",
            HostState::RolledBack { .. } => "rolled_back",
            HostState::Skipped { .. } => "skipped",
            HostState::Lost { .. } => "lost",
        }
    }
}

/// The state in words for people: the step it failed, ran or was lost in, and the reason.
impl std::fmt::Display for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostState::Failed { step, reason } => {
                write!(f, "FAILED at {}: {reason}", step.as_str())
            }
            HostState::Lost { step, reason } => {
                write!(f, "LOST during {}: {reason}", step.as_str())
            }
            HostState::RolledBack { reason } => write!(f, "rolled back ({reason})"),
            HostState::Skipped { reason } => write!(f, "skipped: {reason}"),
            HostState::Running { step, .. } => write!(f, "running {}", step.as_str()),
            HostState::Ready { next } => write!(f, "next: {}", next.as_str()),
            other => f.write_str(other.name()),
        }
    }
}

/// What the shell reports when a step it ran is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// `reboot_required`: after an apply or a rollback, the host asks for a reboot.
    Succeeded { reboot_required: bool },
    /// The host answered and the step failed; `reason` carries what the host said.
    Failed { reason: String },
    /// The host could not be reached for long enough to give up on it.
    Unreachable { reason: String },
}

/// Everything that moves a rollout. The journal of a rollout is the list of its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Start,
    StepFinished {
        token: u64,
        result: StepResult,
    },
    /// Time passed: deadlines are checked.
    Tick,
    /// No new step starts; running steps finish.
    Pause,
    Resume,
    /// Hosts that have not changed are skipped; hosts already changing are seen to the end.
    Cancel,
    /// After the process that drove the rollout died: steps in flight are issued again with
    /// `resume`, for the shell to find out what became of them.
    Recover,
    /// Roll a host back by hand (after its run, or when it failed).
    RollBack {
        host: String,
    },
    /// Look again at a host lost mid-step (or whose apply may still have been running): repair,
    /// then finish it or roll it back.
    Reconcile {
        host: String,
    },
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run `step` on `host`, report with `token`. With `resume`, the step may already have been
    /// started by an earlier process: check on it first, never start it a second time.
    Run { host: String, step: Step, token: u64, resume: bool, deadline: Millis },
    /// The step's deadline passed; stop waiting for it, its result will be ignored.
    Abandon { host: String, step: Step, token: u64 },
}

/// What happened, for the journal and the progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    WaveStarted {
        wave: usize,
        name: String,
    },
    WaveFinished {
        wave: usize,
        name: String,
        failures: usize,
        budget: usize,
    },
    HostChanged {
        host: String,
        from: String,
        to: HostState,
    },
    /// `in_flight`: hosts of the wave still changing, which are seen to the end.
    Halted {
        reason: String,
        in_flight: usize,
    },
    /// The window's cutoff passed with `skipped` hosts not started: they are skipped.
    CutoffPassed {
        cutoff: Millis,
        skipped: usize,
    },
    Paused,
    Resumed,
    Cancelled,
    Finished {
        phase: Phase,
    },
}

/// The rollout as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    NotStarted,
    Running,
    Paused,
    /// Stopping (halted or cancelled), waiting for the hosts already changing.
    Stopping,
    Completed,
    Halted,
    Cancelled,
}

impl Phase {
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Completed | Phase::Halted | Phase::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Halted(String),
    Cancelled,
}

/// One step as it happened on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    pub step: Step,
    pub started_at: Millis,
    pub finished_at: Option<Millis>,
    pub outcome: Option<StepOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Succeeded,
    Failed {
        reason: String,
    },
    Unreachable {
        reason: String,
    },
    TimedOut,
    /// The rollout's process died while it ran; it was checked on again.
    Interrupted,
}
