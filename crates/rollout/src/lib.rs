//! The rollout state machine: which host does which step when, and when to stop. Sans-IO.
//!
//! The shell (`ops`) runs the loop: it feeds every [`Input`] through [`Rollout::handle`] with
//! the current time, executes what [`Rollout::poll_action`] returns, journals what
//! [`Rollout::poll_event`] returns, and calls `handle(now, Input::Tick)` at
//! [`Rollout::poll_timeout`]. Nothing here reads a clock, a socket or a file, so a whole fleet
//! can be simulated with a virtual clock (see `tests/it/simulation.rs`).
//!
//! Inputs are the journal: replaying the same inputs into [`Rollout::new`] rebuilds the same
//! state ([`Rollout::replay`]), and [`Input::Recover`] then re-issues the steps that were in
//! flight when the previous process died, marked `resume`, so the shell checks on them instead
//! of starting them again.
//!
//! The journal and the rollout's row keep these words in their stored forms
//! (`protocol::journal`, `protocol::rollout`); `stored.rs` converts, by hand.

mod config;
mod history;
mod machine;
mod state;
mod stored;

pub use config::{
    Config, HostConfig, PRECHECK_MAX_AGE, RebootPlan, RollbackPolicy, Timeouts, WaveConfig,
};
pub use machine::{CUTOFF_REASON, Rollout};
pub use state::{
    Action, Event, HostState, Input, Millis, Phase, Step, StepOutcome, StepRecord, StepResult,
    StopReason,
};
