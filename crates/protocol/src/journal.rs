//! The stored forms of a rollout's journal entries, by the entry's kind: `input` and `request`
//! ([`InputEntryV1`], an [`InputV1`] and who asked for it), `event` ([`EventV1`]), `output` ([`OutputV1`]) and `start` ([`StartV1`]).
//! Member for member the JSON journals have held since they were written; each entry's body is
//! covered by the journal's hash chain, so these bytes never change once written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rollout::MillisV1;

pub const INPUT: &str = "input";
pub const EVENT: &str = "event";
pub const OUTPUT: &str = "output";
pub const REQUEST: &str = "request";
pub const START: &str = "start";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepV1 {
    Precheck,
    Snapshot,
    Apply,
    Reboot,
    Postcheck,
    Rollback,
    Verify,
    Cleanup,
    Reconcile,
}

/// The body of an `input` or `request` entry: the input, and who asked for it when a person
/// did (a pause, resume, cancel, rollback or reconcile): the login of the patchctl that asked,
/// or the server's authenticated caller. Entries written before `actor` have none, and an input
/// the machine's own loop feeds it (a step's end, a tick) never has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InputEntryV1 {
    #[serde(flatten)]
    pub input: InputV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// An input the rollout's machine accepted (`input`), or one asked of it by another process
/// (`request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "input")]
pub enum InputV1 {
    Start,
    StepFinished { token: u64, result: StepResultV1 },
    Tick,
    Pause,
    Resume,
    Cancel,
    Recover,
    RollBack { host: String },
    Reconcile { host: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum StepResultV1 {
    Succeeded { reboot_required: bool },
    Failed { reason: String },
    Unreachable { reason: String },
}

/// What the machine emitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum EventV1 {
    WaveStarted { wave: u64, name: String },
    WaveFinished { wave: u64, name: String, failures: u64, budget: u64 },
    HostChanged { host: String, from: String, to: HostStateV1 },
    Halted { reason: String, in_flight: u64 },
    CutoffPassed { cutoff: MillisV1, skipped: u64 },
    Paused,
    Resumed,
    Cancelled,
    Finished { phase: PhaseV1 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum HostStateV1 {
    Pending,
    Ready { next: StepV1 },
    Running { step: StepV1, token: u64, deadline: MillisV1, resume: bool },
    Done,
    Failed { step: StepV1, reason: String },
    RolledBack { reason: String },
    Skipped { reason: String },
    Lost { step: StepV1, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhaseV1 {
    NotStarted,
    Running,
    Paused,
    Stopping,
    Completed,
    Halted,
    Cancelled,
}

/// One command a step ran on a host (`output`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutputV1 {
    pub step: StepV1,
    pub argv: Vec<String>,
    pub exit_code: Option<i32>,
    pub stdout_tail: String,
    pub stderr_tail: String,
    pub output_sha256: String,
    pub note: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remark: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restarted: Vec<String>,
}

/// Who created a rollout, and what they overrode to (`start`, the first entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartV1 {
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub again: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_window: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_policy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_now: Option<String>,
}
