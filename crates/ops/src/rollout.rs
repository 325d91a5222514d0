//! Rollouts: starting one from an approved plan, driving it over SSH with every transition
//! journaled, and resuming it from the journal after patchctl was stopped or killed.
//!
//! The decisions are `rollout::Rollout`'s; this module is the loop around it. Every input the
//! machine accepts is written to the journal in one transaction with the events it caused and
//! the outputs that produced it, before any action it asked for runs. After a crash the journal's
//! inputs rebuild the machine (`Rollout::replay`) and `Input::Recover` re-issues the steps that
//! were in flight as resumes, which the steps answer by checking the host, never by repeating.

mod boot_default;
mod conclude;
mod control;
mod driver;
mod dry_run;
mod http;
mod integrity;
mod journal;
mod ledger;
mod lifecycle;
mod live;
mod prechecks;
mod queries;
mod reassess;
mod reboot_checks;
mod report;
mod restarts;
mod service_checks;
mod start;
mod steps;
mod units;
mod waiting;

use model::plan::Plan;
use store::{NewRollout, Store};

/// The rollout machine's types (`rollout`, the core), as the use cases here take and return
/// them: the shells see the core through `ops`.
pub use ::rollout::{
    Config, Event, HostConfig, HostState, Input, PRECHECK_MAX_AGE, Phase, RebootPlan,
    RollbackPolicy, Rollout, Step,
};
pub use conclude::{ConcludeConfig, ConcludeError, Conclusion, conclude};
pub use control::{Loaded, find, load, request};
pub use driver::{
    DEFAULT_LEASE_SECONDS, DriveConfig, DriveOutcome, drive, phase_name, process_owner,
};
pub use dry_run::{
    CANNOT_SEE, DryRunConfig, HostDryRun, Simulation as DryRunSimulation, Verdict as DryRunVerdict,
    dry_run, failure_words,
};
pub use journal::{Asked, JournalRecord, OutputRecord, StartRecord};
pub use lifecycle::Lifecycle;
pub use live::{Follower, event_line, follow};
/// What a package manager's simulated apply says, as a dry run returns it.
pub use pkgmgr::apply::{ChangeKind, FailureReason, PackageChange, PinnedPackage, SimulatedApply};
pub use queries::{
    ReportFormat, ask, list, listing_output, orphaned, report_for, report_json, report_output,
    report_text, status, status_output,
};
pub use report::{ReportContext, ReportError, report, report_context, report_summary};
pub use start::{
    Driven, Prepared, RunOptions, StartRequest, begin, clean, drive_here, dry_run as dry_run_plan,
    prepare, reconcile, roll_back, start,
};
pub use steps::{SshSteps, StepReport, StepRunner, StepsConfig};
pub use waiting::{WaitSink, Waiting};

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Source(#[from] crate::SourceError),
    #[error("no rollout matches `{0}`, and no plan that has a rollout")]
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
    /// The journal's hash chain does not verify: it is evidence no longer, and nothing is
    /// decided from it.
    #[error(
        "the journal of rollout {rollout} is broken at entry {seq} ({reason}): it was changed \
         outside patchctl, and patchctl will not act on it or report from it; `patchctl audit \
         verify {rollout}` says more"
    )]
    BrokenJournal { rollout: String, seq: i64, reason: String },
    /// Another process took the rollout over after this one's lease ran out (it stalled, or
    /// its machine did): this process stopped, and wrote nothing more.
    #[error(
        "lost the lease on rollout {rollout} ({}): another patchctl took it over after this \
         one stalled past its lease; this process stopped without writing anything more",
        match holder { Some(h) => format!("now held by {h}"), None => "since released".to_owned() }
    )]
    LeaseLost { rollout: String, holder: Option<String> },
    #[error("{0}")]
    Refused(String),
}

impl RolloutError {
    /// Whether the id names no rollout (none, several, or not an id): the caller's mistake.
    pub fn names_no_rollout(&self) -> bool {
        use store::StoreError::{AmbiguousId, InvalidId};
        matches!(
            self,
            RolloutError::UnknownRollout(_)
                | RolloutError::UnknownPlan(_)
                | RolloutError::Store(InvalidId { .. } | AmbiguousId { .. })
        )
    }
}

/// The rollout configuration of `plan`: its waves, with the snapshot hook for the hosts of
/// `hosts` (their inventory entries) that have one. An error names a host whose checks or
/// hooks cannot be read, or one the inventory no longer has.
pub fn rollout_config(plan: &Plan, hosts: &[model::ResolvedHost]) -> Result<Config, String> {
    let mut snapshots = Vec::new();
    for host in &plan.hosts {
        let resolved = hosts.iter().find(|h| h.name == host.host).ok_or_else(|| {
            format!("host {} of the plan is no longer in the inventory", host.host)
        })?;
        let (_, hooks) = model::checks::host_checks(resolved)?;
        if hooks.snapshot.is_some() {
            snapshots.push(host.host.clone());
        }
    }
    Ok(Config::from_plan(plan, |host| snapshots.iter().any(|h| h == host)))
}

/// 16 hex digits from the clock and the process: unique enough for one state database, and
/// letters and digits only, as unit names on the hosts need.
pub fn new_rollout_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(crate::clock::now_nanos());
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// Records a new rollout of `plan`, with `start` (who, and what they overrode) as its first
/// journal entry. Nothing runs until it is driven. Refused when the plan ran already (unless
/// `start.again` gives the reason it runs again) and when one of its hosts is claimed by
/// another unfinished rollout: both checked in the transaction that creates it.
pub async fn create_rollout(
    store: &Store,
    plan: &Plan,
    config: &Config,
    rollout_id: &str,
    now_unix: i64,
    start: &StartRecord,
) -> Result<(), RolloutError> {
    if !plan.is_intact() {
        return Err(RolloutError::PlanTampered(plan.id.clone()));
    }
    let config_json = journal::config_json(config);
    let first = JournalRecord::Start(start.clone()).to_entry(now_unix.max(0) as u64 * 1000, None);
    store
        .create_rollout(&NewRollout {
            id: rollout_id.to_owned(),
            plan_id: plan.id.clone(),
            created_at_unix: now_unix,
            config_json,
            hosts: config
                .waves
                .iter()
                .flat_map(|w| w.hosts.iter().map(|h| h.name.clone()))
                .collect(),
            again: start.again.is_some(),
            first_entries: vec![first],
        })
        .await?;
    Ok(())
}
