//! What a rollout's journal holds, and how it is read back.
//!
//! Kinds: `input` (a `rollout::Input` the machine accepted; replaying them rebuilds it; with
//! who asked for it when a person did),
//! `event` (a `rollout::Event` it emitted), `output` (a command a step ran on a host: argv, exit
//! code, the tail of its output and a digest of all of it), `request` (a pause, resume, cancel or
//! rollback asked by another patchctl process, for the one driving the rollout to pick up; with
//! who asked),
//! `start` (the first entry: who created the rollout, and what they overrode to do so).
//!
//! Bodies are written and read in their stored forms, `protocol::journal` (version 1), never as
//! the serde of the records below; so is the rollout's configuration
//! (`protocol::rollout`, [`config_json`]). An entry's bytes are in the journal's hash chain, and the
//! domain types must be free to change without touching them.

use std::collections::BTreeMap;

use protocol::journal::{EventV1, InputEntryV1, InputV1, OutputV1, StartV1};
use protocol::rollout::ConfigV1;
use rollout::{Config, Event, Input, Millis, Step};
use store::{JournalEntry, NewJournalEntry};

use super::RolloutError;

pub use protocol::journal::{EVENT, INPUT, OUTPUT, REQUEST, START};

/// Who created a rollout, and why it was allowed to: the journal's first entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartRecord {
    /// The operator (the login running patchctl) or `system:scheduler`.
    pub actor: String,
    /// `--again --reason`: why a plan that ran already runs again.
    pub again: Option<String>,
    /// `--override-window --reason`: why it starts outside its environments' windows.
    pub override_window: Option<String>,
    /// Started with no policy (`--no-policy`): no approval, window or gate applied.
    pub no_policy: bool,
    /// Started with a virtual clock (`--now`): the instant it was set to, RFC 3339. The
    /// entry's own time is the machine's.
    pub virtual_now: Option<String>,
}

/// One command run by a step, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub facts: BTreeMap<String, String>,
    /// For a command run as a unit: how long its main process ran, in milliseconds, by the
    /// host's own clock (systemd's record of its start and exit).
    pub host_ms: Option<u64>,
    /// A note the report's summary shows with the host's outcome (a check failing before the
    /// patch), not only in its appendix.
    pub remark: bool,
    /// For a `systemctl restart` that succeeded: the services it restarted because they ran
    /// replaced code (`restarts.rs`), which the report lists per host.
    pub restarted: Vec<String>,
}

/// A journal entry, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalRecord {
    /// `actor`: who asked for it, when a person did (see [`Asked`]).
    Input {
        input: Input,
        actor: Option<String>,
    },
    Event(Event),
    Output(OutputRecord),
    Request {
        input: Input,
        actor: Option<String>,
    },
    Start(StartRecord),
}

/// An input a person asked for (a pause, resume, cancel, rollback), as the journal tells it:
/// when the machine took it, and who asked: the login of the patchctl that asked, or the
/// server's authenticated caller, never a name the request itself carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub at_ms: Millis,
    pub input: Input,
    pub actor: String,
}

impl JournalRecord {
    /// An input no person asked for: the machine's own loop (a step's end, a tick).
    pub fn input(input: Input) -> JournalRecord {
        JournalRecord::Input { input, actor: None }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            JournalRecord::Input { .. } => INPUT,
            JournalRecord::Event(_) => EVENT,
            JournalRecord::Output(_) => OUTPUT,
            JournalRecord::Request { .. } => REQUEST,
            JournalRecord::Start(_) => START,
        }
    }

    pub fn to_entry(&self, at_ms: Millis, host: Option<&str>) -> NewJournalEntry {
        let body_json = match self {
            JournalRecord::Input { input, actor } | JournalRecord::Request { input, actor } => {
                serde_json::to_string(&InputEntryV1 {
                    input: InputV1::from(input),
                    actor: actor.clone(),
                })
            }
            JournalRecord::Event(event) => serde_json::to_string(&EventV1::from(event)),
            JournalRecord::Output(output) => serde_json::to_string(&OutputV1::from(output)),
            JournalRecord::Start(start) => serde_json::to_string(&StartV1::from(start)),
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
            INPUT => serde_json::from_str::<InputEntryV1>(body)
                .map(|i| JournalRecord::Input { input: i.input.into(), actor: i.actor }),
            EVENT => serde_json::from_str::<EventV1>(body).map(|e| JournalRecord::Event(e.into())),
            OUTPUT => {
                serde_json::from_str::<OutputV1>(body).map(|o| JournalRecord::Output(o.into()))
            }
            REQUEST => serde_json::from_str::<InputEntryV1>(body)
                .map(|i| JournalRecord::Request { input: i.input.into(), actor: i.actor }),
            START => serde_json::from_str::<StartV1>(body).map(|s| JournalRecord::Start(s.into())),
            other => return Err(bad(format!("unknown kind `{other}`"))),
        };
        record.map_err(|error| bad(error.to_string()))
    }
}

/// A rollout's configuration as its row keeps it: `protocol::rollout::ConfigV1`.
pub fn config_json(config: &Config) -> String {
    serde_json::to_string(&ConfigV1::from(config)).expect("a rollout config serializes")
}

/// The configuration of rollout `rollout` from its row's `config_json`.
pub fn read_config(rollout: &str, config_json: &str) -> Result<Config, RolloutError> {
    serde_json::from_str::<ConfigV1>(config_json).map(Config::from).map_err(|error| {
        RolloutError::Journal { rollout: rollout.to_owned(), seq: 0, problem: error.to_string() }
    })
}

/// The inputs of a journal, in order, for `Rollout::replay`.
pub fn inputs(
    rollout: &str,
    entries: &[JournalEntry],
) -> Result<Vec<(Millis, Input)>, RolloutError> {
    let mut inputs = Vec::new();
    for entry in entries.iter().filter(|e| e.kind == INPUT) {
        if let JournalRecord::Input { input, .. } = JournalRecord::from_entry(rollout, entry)? {
            inputs.push((entry.at_ms.max(0) as Millis, input));
        }
    }
    Ok(inputs)
}

impl From<&StartRecord> for StartV1 {
    fn from(start: &StartRecord) -> StartV1 {
        StartV1 {
            actor: start.actor.clone(),
            again: start.again.clone(),
            override_window: start.override_window.clone(),
            no_policy: start.no_policy,
            virtual_now: start.virtual_now.clone(),
        }
    }
}

impl From<StartV1> for StartRecord {
    fn from(start: StartV1) -> StartRecord {
        StartRecord {
            actor: start.actor,
            again: start.again,
            override_window: start.override_window,
            no_policy: start.no_policy,
            virtual_now: start.virtual_now,
        }
    }
}

impl From<&OutputRecord> for OutputV1 {
    fn from(output: &OutputRecord) -> OutputV1 {
        OutputV1 {
            step: output.step.into(),
            argv: output.argv.clone(),
            exit_code: output.exit_code,
            stdout_tail: output.stdout_tail.clone(),
            stderr_tail: output.stderr_tail.clone(),
            output_sha256: output.output_sha256.clone(),
            note: output.note.clone(),
            facts: output.facts.clone(),
            host_ms: output.host_ms,
            remark: output.remark,
            restarted: output.restarted.clone(),
        }
    }
}

impl From<OutputV1> for OutputRecord {
    fn from(output: OutputV1) -> OutputRecord {
        OutputRecord {
            step: output.step.into(),
            argv: output.argv,
            exit_code: output.exit_code,
            stdout_tail: output.stdout_tail,
            stderr_tail: output.stderr_tail,
            output_sha256: output.output_sha256,
            note: output.note,
            facts: output.facts,
            host_ms: output.host_ms,
            remark: output.remark,
            restarted: output.restarted,
        }
    }
}
