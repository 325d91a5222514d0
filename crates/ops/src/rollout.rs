//! Rollouts: starting one from an approved plan, driving it over SSH with every transition
//! journaled, and resuming it from the journal after patchctl was stopped or killed.
//!
//! The decisions are `rollout::Rollout`'s; this module is the loop around it. Every input the
//! machine accepts is written to the journal in one transaction with the events it caused and
//! the outputs that produced it, before any action it asked for runs. After a crash the journal's
//! inputs rebuild the machine (`Rollout::replay`) and `Input::Recover` re-issues the steps that
//! were in flight as resumes, which the steps answer by checking the host, never by repeating.

mod conclude;
mod control;
mod driver;
mod http;
mod journal;
mod prechecks;
mod reboot_checks;
mod report;
mod steps;
mod units;

use model::plan::Plan;
use rollout::Config;
use store::{NewRollout, Store};

pub use conclude::{ConcludeConfig, ConcludeError, Conclusion, conclude};
pub use control::{Loaded, load, request};
pub use driver::{DriveConfig, DriveOutcome, drive, phase_name};
pub use journal::{JournalRecord, OutputRecord};
pub use report::report;
pub use steps::{SshSteps, StepReport, StepRunner, StepsConfig};

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error("no rollout matches `{0}`")]
    UnknownRollout(String),
    #[error("no plan matches `{0}`")]
    UnknownPlan(String),
    #[error("plan {0} was changed after it was made: its content no longer has its id")]
    PlanTampered(String),
    #[error(
        "rollout {rollout} is being driven by {owner} (lease until {until_unix}); wait, or stop that process"
    )]
    Busy { rollout: String, owner: String, until_unix: i64 },
    #[error("the journal of rollout {rollout} is unreadable at entry {seq}: {problem}")]
    Journal { rollout: String, seq: i64, problem: String },
    #[error("{0}")]
    Refused(String),
}

/// Records a new rollout of `plan` and returns its id. Nothing runs until it is driven.
pub async fn create_rollout(
    store: &Store,
    plan: &Plan,
    config: &Config,
    rollout_id: &str,
    now_unix: i64,
) -> Result<(), RolloutError> {
    if !plan.is_intact() {
        return Err(RolloutError::PlanTampered(plan.id.clone()));
    }
    let config_json = serde_json::to_string(config).expect("a rollout config serializes");
    store
        .create_rollout(&NewRollout {
            id: rollout_id.to_owned(),
            plan_id: plan.id.clone(),
            created_at_unix: now_unix,
            config_json,
        })
        .await?;
    Ok(())
}
