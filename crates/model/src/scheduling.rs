//! The scheduler's decisions: for an environment at an instant, which window is open, whether
//! a rollout starts in it and which, or why nothing will. Pure: the time, the windows already
//! claimed and the plans on record are passed in. `patchctl schedule` shows these answers and
//! `patchctl scheduler` acts on them, so what one says is what the other does.
//!
//! The rules:
//!
//! - Something starts only inside a window, before its cutoff, and at most once per window (the
//!   shell claims the window in the state database before it starts anything; a claimed window
//!   starts nothing more, even after a restart).
//! - An environment with `approval = "auto"` is assessed and planned by the scheduler itself
//!   at its window: it needs no plan in advance.
//! - Otherwise the plan that runs is the newest plan whose hosts are all in that environment,
//!   that was never rolled out, and whose change is approved under the current policy. A plan
//!   spanning several environments is never started by the scheduler (each environment has its
//!   own window); `rollout start` runs it by hand.

use crate::change::{ChangeState, ChangeStatus};
use crate::policy::{Approval, Blackout, Environment, Window};
use chrono::{DateTime, Utc};

/// A saved plan, as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCandidate {
    pub plan_id: String,
    pub created_at: DateTime<Utc>,
    /// The environments of its hosts, each once.
    pub environments: Vec<String>,
    /// It has a rollout already (running or over): it is not started again.
    pub rolled_out: bool,
    pub change: ChangeStatus,
}

/// What to do for an environment now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start this plan's rollout in this window.
    Start { window: Window, plan_id: String },
    /// Assess the environment, plan what its baseline approves, approve it as the system and
    /// start it in this window (`approval = "auto"`).
    AssessAndStart { window: Window },
    /// Nothing starts now.
    Wait(Idle),
}

/// Why nothing starts now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idle {
    /// No window is open (the time is outside them all, or a blackout took this one).
    NoWindowOpen,
    /// A window is open but its cutoff passed: hosts may no longer start.
    CutoffPassed { window: Window },
    /// This window was claimed already: its rollout started (or it had nothing to do).
    AlreadyClaimed { window: Window },
    /// No plan of this environment waits to run.
    NothingPending,
    /// Plans wait, but none is approved: the newest one and what it lacks.
    NotApproved { plan_id: String, missing: Vec<String> },
}

impl Idle {
    /// In words, for `patchctl schedule` and the scheduler's log.
    pub fn describe(&self) -> String {
        match self {
            Idle::NoWindowOpen => "no window is open".to_owned(),
            Idle::CutoffPassed { window } => {
                format!("the window's cutoff passed at {}: no host starts in it", window.cutoff)
            }
            Idle::AlreadyClaimed { window } => {
                format!("the window that opened at {} was handled already", window.start)
            }
            Idle::NothingPending => "no plan for this environment waits to run".to_owned(),
            Idle::NotApproved { plan_id, missing } => format!(
                "plan {} is not approved: {}",
                crate::plan::short_id(plan_id),
                missing.join("; ")
            ),
        }
    }
}

/// The plan that would run in `environment`'s next window, or why none would.
pub fn plan_to_run(
    environment: &Environment,
    candidates: &[PlanCandidate],
) -> Result<String, Idle> {
    let mut waiting: Vec<&PlanCandidate> = candidates
        .iter()
        .filter(|c| !c.rolled_out && c.environments == [environment.name.clone()])
        .filter(|c| c.change.state != ChangeState::Rejected)
        .collect();
    // Newest first; the id breaks ties so the answer never depends on the order given.
    waiting.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.plan_id.cmp(&a.plan_id)));
    if let Some(approved) = waiting.iter().find(|c| c.change.state == ChangeState::Approved) {
        return Ok(approved.plan_id.clone());
    }
    match waiting.first() {
        Some(newest) => Err(Idle::NotApproved {
            plan_id: newest.plan_id.clone(),
            missing: newest.change.missing(),
        }),
        None => Err(Idle::NothingPending),
    }
}

/// What the scheduler does for `environment` at `now`. `claimed(window_start)` says whether
/// that window was claimed already.
pub fn decide(
    environment: &Environment,
    now: DateTime<Utc>,
    claimed: impl Fn(DateTime<Utc>) -> bool,
    candidates: &[PlanCandidate],
) -> Decision {
    let Some(open) = environment.window_at(now) else {
        return Decision::Wait(Idle::NoWindowOpen);
    };
    let window = open.window;
    if claimed(window.start) {
        return Decision::Wait(Idle::AlreadyClaimed { window });
    }
    if !open.hosts_may_start {
        return Decision::Wait(Idle::CutoffPassed { window });
    }
    if environment.approval == Approval::Automatic {
        return Decision::AssessAndStart { window };
    }
    match plan_to_run(environment, candidates) {
        Ok(plan_id) => Decision::Start { window, plan_id },
        Err(idle) => Decision::Wait(idle),
    }
}

/// What `patchctl schedule` says of an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlook {
    pub environment: String,
    /// The window open now, if any, and whether hosts may still start in it.
    pub open_now: Option<(Window, bool)>,
    /// The next window to open after `now`.
    pub next: Option<Window>,
    /// Windows between now and `next` that blackouts take away, with the blackout.
    pub skipped: Vec<(Window, Blackout)>,
    /// What runs in the open window (or else the next one): a plan, the scheduler's own
    /// assessment (`auto`), or why nothing will.
    pub runs: Result<Runs, Idle>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runs {
    Plan(String),
    /// `approval = "auto"`: the scheduler assesses and plans at the window.
    AssessAndPlan,
}

/// The outlook of `environment` at `now`.
pub fn outlook(
    environment: &Environment,
    now: DateTime<Utc>,
    claimed: impl Fn(DateTime<Utc>) -> bool,
    candidates: &[PlanCandidate],
) -> Outlook {
    let open_now = environment.window_at(now).map(|open| (open.window, open.hosts_may_start));
    let next = environment.next_windows(now, 1).into_iter().next();
    let skipped = match next {
        Some(next) => environment
            .schedule
            .skipped_openings(now, next.start, 5)
            .into_iter()
            .map(|(window, blackout)| (window, blackout.clone()))
            .collect(),
        None => Vec::new(),
    };
    let runs = match open_now {
        Some((window, _)) if claimed(window.start) => Err(Idle::AlreadyClaimed { window }),
        _ if environment.approval == Approval::Automatic => Ok(Runs::AssessAndPlan),
        _ => plan_to_run(environment, candidates).map(Runs::Plan),
    };
    Outlook { environment: environment.name.clone(), open_now, next, skipped, runs }
}

/// Why a rollout may not be started by hand now, per environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideWindow {
    pub environment: String,
    pub why: String,
}

/// Whether a rollout of a plan whose hosts are in `environments` may be started by hand at
/// `now`: each of them must have a window open in which hosts may still start (a blackout
/// takes its windows away). `Ok` holds the cutoff the rollout then keeps, the earliest of
/// theirs; `Err` says, for every environment that has none, why. The policy's rules apply to
/// a hand-run start as to the scheduler's; only `rollout start --override-window --reason`
/// (journaled) lifts this one.
pub fn manual_start(
    environments: &[&Environment],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Vec<OutsideWindow>> {
    let mut cutoff: Option<DateTime<Utc>> = None;
    let mut refused = Vec::new();
    for environment in environments {
        let why = match environment.window_at(now) {
            Some(open) if open.hosts_may_start => {
                let window_cutoff = open.window.cutoff;
                cutoff = Some(cutoff.map_or(window_cutoff, |c| c.min(window_cutoff)));
                continue;
            }
            Some(open) => format!(
                "the window that opened at {} is past its cutoff ({}): no host may start in it",
                open.window.start, open.window.cutoff
            ),
            None => match environment.schedule.blackout_at(now) {
                Some(blackout) => format!(
                    "a blackout runs from {} to {}{}",
                    blackout.from,
                    blackout.to,
                    blackout.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                ),
                None => match environment.next_windows(now, 1).first() {
                    Some(next) => format!("no window is open; the next opens at {}", next.start),
                    None => "no window is open, and none will".to_owned(),
                },
            },
        };
        refused.push(OutsideWindow { environment: environment.name.clone(), why });
    }
    if refused.is_empty() { Ok(cutoff) } else { Err(refused) }
}

#[cfg(test)]
mod tests;
