//! The plan as a change record: what it is for, when it will run (the window it runs in, the
//! milestones of the promotion that follows), who asked and who approved, and the checks
//! configured around each host, from the plan, the policy, the change journal and the
//! inventory's checks at an instant passed in. Pure; [`super::render`] writes it.
//!
//! The milestones follow the policy's rules: each environment of the plan runs in its next
//! window (or the one open now, before its cutoff); the environments after it in promotion
//! order may receive the same versions once they ran verified there for their soak, so their
//! earliest window is the first one after the previous window's end plus that soak. Those are
//! projections for plans still to be made, and are labelled so.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::change::{self, ChangeAction, ChangeKind, EnvironmentApproval};
use crate::checks::{Checks, Hooks};
use crate::dates;
use crate::forecast::WaveForecast;
use crate::policy::{Environment, Policy, Window};

use super::{Plan, RestartServices, ServiceRestarts};

/// What a plan's record is computed from, besides the plan.
pub struct RecordInputs<'a> {
    pub now: DateTime<Utc>,
    pub policy: Option<&'a Policy>,
    /// The plan's change journal, in order.
    pub change: &'a [ChangeAction],
    /// Each host's checks and hooks as the inventory configures them now (a rollout reads
    /// them when it starts). `None`: not known to the caller.
    pub steps: Option<&'a BTreeMap<String, (Checks, Hooks)>>,
    /// Each wave's duration forecast from past rollouts (`crate::forecast`); empty when not
    /// worked out.
    pub forecast: &'a [WaveForecast],
}

impl RecordInputs<'_> {
    /// The plan alone: no policy, no change, no inventory.
    pub fn plan_only(now: DateTime<Utc>) -> RecordInputs<'static> {
        RecordInputs { now, policy: None, change: &[], steps: None, forecast: &[] }
    }
}

/// Everything the first page of a plan says, and the dates behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    pub goals: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The oldest and newest assessment the plan was made from.
    pub assessed: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The environments of the plan's hosts, in promotion order.
    pub environments: Vec<String>,
    /// When each environment of the plan runs.
    pub windows: Vec<PlannedWindow>,
    pub milestones: Vec<Milestone>,
    pub approval: ApprovalRecord,
    /// Before anything changes on a host: backup, snapshot, space, lock.
    pub prechecks: Vec<StepLine>,
    /// After the change: what proves the host healthy.
    pub postchecks: Vec<StepLine>,
    /// Hosts of the plan the inventory no longer has: their checks are unknown.
    pub hosts_not_in_inventory: Vec<String>,
    /// Each wave's duration forecast, in the plan's order; empty when no past rollout ran a
    /// host of any of its kinds.
    pub forecast: Vec<WaveForecast>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWindow {
    pub environment: String,
    /// The IANA zone the window is written in.
    pub timezone: Option<String>,
    pub window: Option<WindowTimes>,
    /// The window is open now and hosts may still start in it.
    pub open_now: bool,
    /// In words, with dates in the environment's zone and UTC.
    pub words: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowTimes {
    pub start: DateTime<Utc>,
    pub cutoff: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub what: String,
    pub at: Option<DateTime<Utc>>,
    /// `at` in words (local and UTC), or why there is no date.
    pub when: String,
    pub note: String,
    /// A projection for a later plan, not something this plan does.
    pub projected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    /// `approved`, `pending`, `not requested`, `rejected`, or `no policy`.
    pub state: String,
    pub requested_by: Option<String>,
    pub requested_at: Option<DateTime<Utc>>,
    pub ticket: Option<String>,
    /// Approvals and rejections, in order.
    pub decisions: Vec<ChangeAction>,
    /// Each environment's rule and who met it.
    pub rules: Vec<EnvironmentApproval>,
    pub missing: Vec<String>,
}

impl ApprovalRecord {
    /// `carol at Tue 8 Dec 2026 10:00 UTC`, each approver; empty when nobody approved.
    pub fn approvers(&self) -> Vec<String> {
        self.decisions
            .iter()
            .filter(|a| matches!(a.kind, ChangeKind::Approve | ChangeKind::AutoApprove))
            .map(|a| format!("{} ({})", a.actor, dates::utc(a.at)))
            .collect()
    }
}

/// One configured check, and the hosts it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLine {
    pub kind: String,
    pub what: String,
    pub hosts: Vec<String>,
}

/// The record of `plan` at `inputs.now`.
pub fn record(plan: &Plan, inputs: &RecordInputs<'_>) -> PlanRecord {
    let environments = plan_environments(plan, inputs.policy);
    let approval = approval(plan, &environments, inputs);
    let windows: Vec<PlannedWindow> =
        environments.iter().map(|name| planned_window(plan, name, inputs)).collect();
    let milestones = milestones(plan, &environments, &windows, &approval, inputs);
    let (prechecks, postchecks, hosts_not_in_inventory) = match inputs.steps {
        Some(steps) => configured_steps(plan, steps),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let assessed = plan.hosts.iter().map(|h| dates::from_unix(h.assessed_at_unix)).fold(
        None,
        |span: Option<(DateTime<Utc>, DateTime<Utc>)>, at| match span {
            None => Some((at, at)),
            Some((low, high)) => Some((low.min(at), high.max(at))),
        },
    );
    PlanRecord {
        goals: plan.options.goals.clone(),
        created_at: dates::from_unix(plan.created_at_unix),
        assessed,
        environments,
        windows,
        milestones,
        approval,
        prechecks,
        postchecks,
        hosts_not_in_inventory,
        forecast: if inputs.forecast.iter().any(|w| w.estimate.is_some()) {
            inputs.forecast.to_vec()
        } else {
            Vec::new()
        },
    }
}

/// The environments of the plan's hosts, each once, in the policy's promotion order (the
/// plan's own order without one).
fn plan_environments(plan: &Plan, policy: Option<&Policy>) -> Vec<String> {
    let order = match policy {
        Some(policy) => policy.environment_order(),
        None => plan.options.environment_order.clone(),
    };
    let mut names: Vec<String> = plan.hosts.iter().map(|h| h.environment.clone()).collect();
    names.sort_by_key(|n| (order.iter().position(|o| o == n).unwrap_or(usize::MAX), n.clone()));
    names.dedup();
    names
}

fn approval(plan: &Plan, environments: &[String], inputs: &RecordInputs<'_>) -> ApprovalRecord {
    let request = inputs.change.iter().find(|a| a.kind == ChangeKind::Request);
    let decisions: Vec<ChangeAction> =
        inputs.change.iter().filter(|a| a.kind != ChangeKind::Request).cloned().collect();
    let mut record = ApprovalRecord {
        state: "no policy".to_owned(),
        requested_by: request.map(|r| r.actor.clone()),
        requested_at: request.map(|r| r.at),
        ticket: request.and_then(|r| r.ticket.clone()),
        decisions,
        rules: Vec::new(),
        missing: Vec::new(),
    };
    if let Some(policy) = inputs.policy {
        let status = change::evaluate(policy, environments, inputs.change);
        record.state = status.state.as_str().to_owned();
        record.missing = status.missing();
        record.rules = status.environments;
    }
    if plan.hosts.is_empty() {
        record.missing.clear();
    }
    record
}

fn planned_window(plan: &Plan, name: &str, inputs: &RecordInputs<'_>) -> PlannedWindow {
    let mut planned = PlannedWindow {
        environment: name.to_owned(),
        timezone: None,
        window: None,
        open_now: false,
        words: String::new(),
    };
    if plan.emergency.is_some() {
        planned.words = "outside the maintenance windows (emergency track): as soon as it is \
                         approved and started"
            .to_owned();
        return planned;
    }
    let Some(policy) = inputs.policy else {
        planned.words =
            "no policy: no maintenance window applies; it runs when started by hand".to_owned();
        return planned;
    };
    let Some(environment) = policy.environment(name) else {
        planned.words = "the policy has no such environment: no window applies".to_owned();
        return planned;
    };
    let timezone = environment.schedule.timezone();
    planned.timezone = Some(timezone.name().to_owned());
    let (window, open_now) = match environment.window_at(inputs.now) {
        Some(open) if open.hosts_may_start => (Some(open.window), true),
        _ => (environment.next_windows(inputs.now, 1).into_iter().next(), false),
    };
    let Some(window) = window else {
        planned.words = "no window opens: the schedule never matches again".to_owned();
        return planned;
    };
    planned.window =
        Some(WindowTimes { start: window.start, cutoff: window.cutoff, end: window.end });
    planned.open_now = open_now;
    planned.words = window_words(&window, timezone, open_now);
    planned
}

/// `Tue 8 Dec 2026 22:00 to Wed 9 Dec 00:00 CET (21:00 to 23:00 UTC); hosts start until 22:30`.
fn window_words(window: &Window, timezone: Tz, open_now: bool) -> String {
    let mut words = dates::local_span(window.start, window.end, timezone);
    if window.cutoff < window.end {
        let cutoff = window.cutoff.with_timezone(&timezone).format("%H:%M %Z");
        words.push_str(&format!("; no host starts after {cutoff}"));
    }
    if open_now {
        words.push_str(" (open now)");
    }
    words
}

fn milestones(
    plan: &Plan,
    environments: &[String],
    windows: &[PlannedWindow],
    approval: &ApprovalRecord,
    inputs: &RecordInputs<'_>,
) -> Vec<Milestone> {
    let mut milestones = Vec::new();
    let dated = |what: String, at: DateTime<Utc>, when: String, note: String| Milestone {
        what,
        at: Some(at),
        when,
        note,
        projected: false,
    };
    if let Some(newest) = plan.hosts.iter().map(|h| h.assessed_at_unix).max() {
        let oldest = plan.hosts.iter().map(|h| h.assessed_at_unix).min().unwrap_or(newest);
        let note = if oldest == newest {
            "the versions below are what the hosts' package managers offered then".to_owned()
        } else {
            format!("hosts assessed from {} on", dates::utc(dates::from_unix(oldest)))
        };
        let at = dates::from_unix(newest);
        milestones.push(dated("Assessment".into(), at, dates::utc(at), note));
    }
    let created = dates::from_unix(plan.created_at_unix);
    milestones.push(dated(
        "Plan made".into(),
        created,
        dates::utc(created),
        "its content is fixed: a change makes a new plan id".into(),
    ));
    let approved_at = approval
        .decisions
        .iter()
        .filter(|a| matches!(a.kind, ChangeKind::Approve | ChangeKind::AutoApprove))
        .map(|a| a.at)
        .max();
    match (approval.state.as_str(), approved_at) {
        ("approved", Some(at)) => milestones.push(dated(
            "Approved".into(),
            at,
            dates::utc(at),
            format!("by {}", approval.approvers().join(", ")),
        )),
        ("no policy", _) => {}
        (state, _) => milestones.push(Milestone {
            what: "Approval".into(),
            at: None,
            when: format!("not yet ({state})"),
            note: approval.missing.join("; "),
            projected: false,
        }),
    }
    for planned in windows {
        let what = format!("Patching {}", planned.environment);
        match planned.window {
            Some(window) => {
                let timezone = planned.timezone.as_deref().and_then(|t| t.parse::<Tz>().ok());
                let timezone = timezone.unwrap_or(Tz::UTC);
                let when = dates::local(window.start, timezone);
                let local = |at: DateTime<Utc>| at.with_timezone(&timezone).format("%H:%M %Z");
                let which = if planned.open_now { "open now" } else { "its next window" };
                let note = format!(
                    "{which}, until {}; no host starts after {}",
                    local(window.end),
                    local(window.cutoff)
                );
                milestones.push(dated(what, window.start, when, note))
            }
            None => milestones.push(Milestone {
                what,
                at: None,
                when: planned.words.clone(),
                note: String::new(),
                projected: false,
            }),
        }
    }
    if let (None, Some(policy), Some(last)) = (&plan.emergency, inputs.policy, environments.last())
    {
        let previous_end =
            windows.iter().rev().find_map(|w| w.window.map(|w| w.end)).unwrap_or(inputs.now);
        projections(policy, last, previous_end, &mut milestones);
    }
    milestones
}

/// The environments after `last` in promotion order: when the soak on the one before ends,
/// and the first window after that.
fn projections(
    policy: &Policy,
    last: &str,
    mut previous_end: DateTime<Utc>,
    milestones: &mut Vec<Milestone>,
) {
    let mut previous = last.to_owned();
    let later: Vec<&Environment> =
        policy.environments().iter().skip_while(|e| e.name != last).skip(1).collect();
    for environment in later {
        let soak_end = previous_end + environment.soak;
        let timezone = environment.schedule.timezone();
        milestones.push(Milestone {
            what: format!("Soak on {previous} ends"),
            at: Some(soak_end),
            when: dates::local(soak_end, timezone),
            note: format!(
                "{} may receive these versions once they ran verified on {previous} for {} \
                 (the promotion gate)",
                environment.name,
                duration_words(environment.soak)
            ),
            projected: true,
        });
        let window = match environment.window_at(soak_end) {
            Some(open) if open.hosts_may_start => Some(open.window),
            _ => environment.next_windows(soak_end, 1).into_iter().next(),
        };
        let Some(window) = window else { break };
        milestones.push(Milestone {
            what: format!("Earliest patching of {}", environment.name),
            at: Some(window.start),
            when: dates::local(window.start, timezone),
            note: format!(
                "its first window after the soak, {}; in a plan of its own, approved {}",
                window_words(&window, timezone, false),
                match &environment.approval {
                    crate::policy::Approval::Automatic => "automatically".to_owned(),
                    crate::policy::Approval::Required { approvers, role, .. } => format!(
                        "by {approvers}{}",
                        role.as_deref().map(|r| format!(" of role {r}")).unwrap_or_default()
                    ),
                }
            ),
            projected: true,
        });
        previous_end = window.end;
        previous = environment.name.clone();
    }
}

/// The checks around each host as configured, each line with the hosts it applies to, in the
/// order a rollout runs them.
fn configured_steps(
    plan: &Plan,
    steps: &BTreeMap<String, (Checks, Hooks)>,
) -> (Vec<StepLine>, Vec<StepLine>, Vec<String>) {
    let mut before: Vec<StepLine> = Vec::new();
    let mut after: Vec<StepLine> = Vec::new();
    let mut missing = Vec::new();
    let add = |lines: &mut Vec<StepLine>, kind: &str, what: String, host: &str| match lines
        .iter_mut()
        .find(|l| l.kind == kind && l.what == what)
    {
        Some(line) => line.hosts.push(host.to_owned()),
        None => lines.push(StepLine { kind: kind.to_owned(), what, hosts: vec![host.to_owned()] }),
    };
    for host in &plan.hosts {
        let name = host.host.as_str();
        let Some((checks, hooks)) = steps.get(name) else {
            missing.push(name.to_owned());
            continue;
        };
        match (&hooks.backup_command, &hooks.backup_path) {
            (Some(command), _) => {
                add(&mut before, "backup", format!("{} exits 0", code(command)), name)
            }
            (None, Some(path)) => add(
                &mut before,
                "backup",
                format!("`{path}` is newer than {} hours", hooks.backup_max_age_hours),
                name,
            ),
            (None, None) => add(
                &mut before,
                "backup",
                "none configured: no backup is checked before the change".to_owned(),
                name,
            ),
        }
        match &hooks.snapshot {
            Some(command) => {
                add(&mut before, "snapshot", format!("{} exits 0", code(command)), name)
            }
            None => add(&mut before, "snapshot", "none configured".to_owned(), name),
        }
        let space: Vec<String> =
            hooks.min_free_mb.iter().map(|(path, mb)| format!("{mb} MiB on {path}")).collect();
        if !space.is_empty() {
            add(&mut before, "free space", format!("at least {}", space.join(", ")), name);
        }
        add(
            &mut before,
            "package manager",
            format!(
                "healthy, its lock free (waits up to {} s, naming the holder), nothing changed \
                 since the assessment",
                hooks.lock_wait_seconds
            ),
            name,
        );
        if hooks.dpkg_recovery {
            add(
                &mut before,
                "package manager",
                "`dpkg --configure -a` when dpkg was interrupted".into(),
                name,
            );
        }
        if let Some(what) = restart_words(host.restarts, checks) {
            add(&mut after, "restart", what, name);
        }
        add(&mut after, "versions", "every package at the plan's target version".into(), name);
        for unit in &checks.units {
            add(&mut after, "service", format!("`{unit}` active (systemd)"), name);
        }
        for http in &checks.http {
            let body =
                http.body.as_deref().map(|b| format!(", body contains {b:?}")).unwrap_or_default();
            add(
                &mut after,
                "HTTP",
                format!("GET `{}` answers {}{body}", http.url, http.status),
                name,
            );
        }
        for command in &checks.commands {
            add(&mut after, "command", format!("{} exits 0", code(command)), name);
        }
        if checks.units.is_empty() && checks.http.is_empty() && checks.commands.is_empty() {
            add(
                &mut after,
                "service",
                "no units, HTTP checks or commands configured for this host".into(),
                name,
            );
        }
        if checks.journal_errors {
            let ignoring = if checks.journal_ignore.is_empty() {
                String::new()
            } else {
                format!(", ignoring lines containing {}", quoted(&checks.journal_ignore))
            };
            add(
                &mut after,
                "journal",
                format!("no new errors in `journalctl -p err -b`{ignoring}"),
                name,
            );
        }
        if checks.kernel {
            add(&mut after, "kernel", "the running kernel is the newest installed".into(), name);
        }
        if checks.integrity {
            add(
                &mut after,
                "integrity",
                "the changed packages' files as installed (`dpkg --verify`, `rpm -V`); \
                 configuration files the administrator changed are reported"
                    .into(),
                name,
            );
        }
    }
    (before, after, missing)
}

/// What the rollout restarts on the host after its apply (or rollback) when it does not reboot;
/// `None` when nothing.
fn restart_words(restarts: ServiceRestarts, checks: &Checks) -> Option<String> {
    let sshd = if restarts.sshd { "sshd included" } else { "never sshd" };
    match restarts.services {
        RestartServices::Never => None,
        RestartServices::Listed if checks.units.is_empty() => {
            Some("none: `restart_services = listed` and the host's checks list no units".to_owned())
        }
        RestartServices::Listed => Some(format!(
            "{} restarted when it runs replaced code after the change and the host does not \
             reboot ({sshd})",
            checks.units.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
        )),
        RestartServices::Needrestart => Some(format!(
            "every service running replaced code after the change (needrestart, dnf \
             needs-restarting) restarted when the host does not reboot ({sshd})"
        )),
    }
}

fn code(argv: &[String]) -> String {
    format!("`{}`", argv.join(" "))
}

fn quoted(texts: &[String]) -> String {
    texts.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ")
}

/// `both hosts`, `all 5 hosts` when `hosts` are all of the plan's, else their names.
pub(super) fn hosts_words(hosts: &[String], plan: &Plan) -> String {
    let all: BTreeSet<&str> = plan.hosts.iter().map(|h| h.host.as_str()).collect();
    let these: BTreeSet<&str> = hosts.iter().map(String::as_str).collect();
    match all.len() {
        2 if these == all => "both hosts".to_owned(),
        n if n > 2 && these == all => format!("all {n} hosts"),
        _ => hosts.join(", "),
    }
}

/// `24 hours`, `2 days`, `30 minutes`, `1 h 30 min`: a policy's duration in words.
fn duration_words(duration: chrono::TimeDelta) -> String {
    let minutes = duration.num_minutes();
    let plural =
        |n: i64, word: &str| if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") };
    if minutes % 60 != 0 {
        return if minutes < 60 {
            plural(minutes, "minute")
        } else {
            format!("{} h {} min", minutes / 60, minutes % 60)
        };
    }
    let hours = minutes / 60;
    if hours % 24 == 0 && hours > 48 { plural(hours / 24, "day") } else { plural(hours, "hour") }
}

#[cfg(test)]
mod tests;
