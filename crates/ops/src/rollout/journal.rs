//! What a rollout's journal holds, and how it is read back.
//!
//! Kinds: `input` (a `rollout::Input` the machine accepted; replaying them rebuilds it),
//! `event` (a `rollout::Event` it emitted), `output` (a command a step ran on a host: argv, exit
//! code, the tail of its output and a digest of all of it), `request` (a pause, resume, cancel or
//! rollback asked by another patchctl process, for the one driving the rollout to pick up),
//! `start` (the first entry: who created the rollout, and what they overrode to do so).

use std::collections::BTreeMap;

use rollout::{Event, Input, Millis, Step};
use serde::{Deserialize, Serialize};
use store::{JournalEntry, NewJournalEntry};

use super::RolloutError;

pub const INPUT: &str = "input";
pub const EVENT: &str = "event";
pub const OUTPUT: &str = "output";
pub const REQUEST: &str = "request";
pub const START: &str = "start";

/// Who created a rollout, and why it was allowed to: the journal's first entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRecord {
    /// The operator (the login running patchctl) or `system:scheduler`.
    pub actor: String,
    /// `--again --reason`: why a plan that ran already runs again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub again: Option<String>,
    /// `--override-window --reason`: why it starts outside its environments' windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_window: Option<String>,
    /// Started with no policy (`--no-policy`): no approval, window or gate applied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_policy: bool,
    /// Started with a virtual clock (`--now`): the instant it was set to, RFC 3339. The
    /// entry's own time is the machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_now: Option<String>,
}

/// One command run by a step, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub step: Step,
    pub argv: Vec<String>,
    /// `None` when the command could not be run or finished (the connection dropped).
    pub exit_code: Option<i32>,
    /// The last bytes of standard output and error, lossily decoded.
    pub stdout_tail: String,
    pub stderr_tail: String,
    /// SHA-256 of the full standard output followed by the full standard error.
    pub output_sha256: String,
    /// What patchctl made of it, in words (`lock held by apt-get (pid 812)`, `unit still running`).
    pub note: String,
    /// What later steps need to know (the boot before a reboot, the journal's position).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
    /// For a command run as a unit: how long its main process ran, in milliseconds, by the
    /// host's own clock (systemd's record of its start and exit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ms: Option<u64>,
    /// A note the report's summary shows with the host's outcome (a check failing before the
    /// patch), not only in its appendix.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remark: bool,
    /// For a `systemctl restart` that succeeded: the services it restarted because they ran
    /// replaced code (`restarts.rs`), which the report lists per host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restarted: Vec<String>,
}

/// A journal entry, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalRecord {
    Input(Input),
    Event(Event),
    Output(OutputRecord),
    Request(Input),
    Start(StartRecord),
}

impl JournalRecord {
    pub fn kind(&self) -> &'static str {
        match self {
            JournalRecord::Input(_) => INPUT,
            JournalRecord::Event(_) => EVENT,
            JournalRecord::Output(_) => OUTPUT,
            JournalRecord::Request(_) => REQUEST,
            JournalRecord::Start(_) => START,
        }
    }

    pub fn to_entry(&self, at_ms: Millis, host: Option<&str>) -> NewJournalEntry {
        let body_json = match self {
            JournalRecord::Input(input) | JournalRecord::Request(input) => {
                serde_json::to_string(input)
            }
            JournalRecord::Event(event) => serde_json::to_string(event),
            JournalRecord::Output(output) => serde_json::to_string(output),
            JournalRecord::Start(start) => serde_json::to_string(start),
        }
        .expect("journal records serialize");
        NewJournalEntry {
            at_ms: at_ms as i64,
            kind: self.kind().to_owned(),
            host: host.map(str::to_owned),
            body_json,
        }
    }

    pub fn from_entry(rollout: &str, entry: &JournalEntry) -> Result<JournalRecord, RolloutError> {
        let bad = |problem: String| RolloutError::Journal {
            rollout: rollout.to_owned(),
            seq: entry.seq,
            problem,
        };
        let body = entry.body_json.as_str();
        let record = match entry.kind.as_str() {
            INPUT => serde_json::from_str(body).map(JournalRecord::Input),
            EVENT => serde_json::from_str(body).map(JournalRecord::Event),
            OUTPUT => serde_json::from_str(body).map(JournalRecord::Output),
            REQUEST => serde_json::from_str(body).map(JournalRecord::Request),
            START => serde_json::from_str(body).map(JournalRecord::Start),
            other => return Err(bad(format!("unknown kind `{other}`"))),
        };
        record.map_err(|error| bad(error.to_string()))
    }
}

/// The inputs of a journal, in order, for `Rollout::replay`.
pub fn inputs(
    rollout: &str,
    entries: &[JournalEntry],
) -> Result<Vec<(Millis, Input)>, RolloutError> {
    let mut inputs = Vec::new();
    for entry in entries.iter().filter(|e| e.kind == INPUT) {
        if let JournalRecord::Input(input) = JournalRecord::from_entry(rollout, entry)? {
            inputs.push((entry.at_ms.max(0) as Millis, input));
        }
    }
    Ok(inputs)
}
