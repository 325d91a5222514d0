//! The checks themselves, one function each, from a host's record to a [`Finding`].

use chrono::{DateTime, TimeDelta, Utc};

use super::{Check, Finding, HostInputs, HostRollout, Inputs, RolloutOutcome, Status};
use crate::policy::format_duration;
use crate::promotion::{check_host, earliest_verification};
use crate::released::pending_since;
use crate::{Classification, Severity};

/// Kernels kept when neither the policy nor a rollout says: the plan's default.
const DEFAULT_KEEP_KERNELS: usize = 2;

pub(super) fn host_findings(inputs: &Inputs, host: &HostInputs) -> Vec<Finding> {
    Check::ALL
        .iter()
        .map(|check| match check {
            Check::Sla => sla(inputs, host),
            Check::Promotion => promotion(inputs, host),
            Check::Healthy => healthy(host),
            Check::Kernels => kernels(inputs, host),
            Check::RollbackPlan => rollback_plan(host),
            Check::AssessmentAge => assessment_age(inputs, host),
            Check::Postmortems => postmortems(inputs, |p| p.concerns(&host.host)),
        })
        .collect()
}

pub(super) fn fleet_findings(inputs: &Inputs) -> Vec<Finding> {
    let finding = postmortems(inputs, |p| p.hosts.is_empty());
    if finding.status == Status::NotApplicable { Vec::new() } else { vec![finding] }
}

fn finding(
    check: Check,
    status: Status,
    summary: impl Into<String>,
    details: Vec<String>,
) -> Finding {
    Finding { check, status, summary: summary.into(), details }
}

fn time(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

fn severity_word(severity: Option<Severity>) -> &'static str {
    match severity {
        None => "unrated",
        Some(Severity::None) => "none",
        Some(Severity::Low) => "low",
        Some(Severity::Moderate) => "moderate",
        Some(Severity::Important) => "important",
        Some(Severity::Critical) => "critical",
    }
}

/// Security updates pending beyond their SLA.
fn sla(inputs: &Inputs, host: &HostInputs) -> Finding {
    let Some(latest) = host.assessments.last() else {
        return finding(
            Check::Sla,
            Status::Fail,
            "never assessed: its patch state is unknown",
            vec![],
        );
    };
    let Some(environment) = inputs.policy.and_then(|p| p.environment(&host.environment)) else {
        return finding(
            Check::Sla,
            Status::NotApplicable,
            format!("no policy for environment {}", host.environment),
            vec![],
        );
    };
    let first_seen =
        pending_since(&host.assessments, |u| u.classification == Classification::Security);
    let mut late = Vec::new();
    let mut pending = Vec::new();
    for update in latest.updates.iter().filter(|u| u.classification == Classification::Security) {
        let seen = first_seen.get(&(update.name.as_str(), update.arch.as_str())).copied();
        let seen = seen.unwrap_or(latest.taken_at_unix);
        let line = |deadline: Option<DateTime<Utc>>| {
            format!(
                "{} {} {} ({}) pending since {}{}",
                update.name,
                update.arch,
                update.candidate_version,
                severity_word(update.severity),
                time(seen),
                deadline.map(|d| format!(", due by {d}")).unwrap_or_else(|| ", no SLA".to_owned())
            )
        };
        let deadline = environment.sla_deadline(time(seen), update.severity);
        match deadline {
            Some(deadline) if inputs.now > deadline => late.push(line(Some(deadline))),
            _ => pending.push(line(deadline)),
        }
    }
    if late.is_empty() {
        let summary = if pending.is_empty() {
            "no security update pending".to_owned()
        } else {
            format!("{} security updates pending, within their SLA", pending.len())
        };
        finding(Check::Sla, Status::Pass, summary, pending)
    } else {
        let summary = format!("{} security updates pending beyond their SLA", late.len());
        late.extend(pending);
        finding(Check::Sla, Status::Fail, summary, late)
    }
}

/// Every version each rollout gave the host was verified on the previous environment, at
/// least its soak before the rollout's plan was made.
fn promotion(inputs: &Inputs, host: &HostInputs) -> Finding {
    let Some(policy) = inputs.policy else {
        return finding(Check::Promotion, Status::NotApplicable, "no policy", vec![]);
    };
    let (Some(environment), Some(previous)) =
        (policy.environment(&host.environment), policy.previous_environment(&host.environment))
    else {
        return finding(
            Check::Promotion,
            Status::NotApplicable,
            format!("{} is first in promotion order, or not in the policy", host.environment),
            vec![],
        );
    };
    let rollouts: Vec<&HostRollout> =
        host.rollouts.iter().filter(|r| !r.plan.changes.is_empty()).collect();
    if rollouts.is_empty() {
        return finding(Check::Promotion, Status::NotApplicable, "no rollout on record", vec![]);
    }
    let mut details = Vec::new();
    let mut n_refused = 0;
    for rollout in &rollouts {
        let refusals = check_host(
            &rollout.plan,
            &previous.name,
            environment.soak,
            &inputs.evidence,
            rollout.planned_at,
        );
        n_refused += refusals.len();
        for change in &rollout.plan.changes {
            let refusal = refusals.iter().find(|r| r.name == change.name && r.arch == change.arch);
            details.push(
                match (refusal, earliest_verification(&inputs.evidence, &previous.name, change)) {
                    (Some(refusal), _) => format!(
                        "rollout {} ({}): {} {} {}: NOT verified first: {}",
                        rollout.rollout,
                        rollout.started_at,
                        change.name,
                        change.arch,
                        change.to,
                        refusal.reason
                    ),
                    (None, Some(v)) => format!(
                        "rollout {} ({}): {} {} {} verified on {} {} by rollout {} at {}",
                        rollout.rollout,
                        rollout.started_at,
                        change.name,
                        change.arch,
                        change.to,
                        previous.name,
                        v.host,
                        v.rollout,
                        v.verified_at
                    ),
                    (None, None) => format!(
                        "rollout {}: {} {} {}: no evidence found",
                        rollout.rollout, change.name, change.arch, change.to
                    ),
                },
            );
        }
    }
    if n_refused > 0 {
        finding(
            Check::Promotion,
            Status::Fail,
            format!(
                "{n_refused} versions reached {} without being verified on {} first",
                host.environment, previous.name
            ),
            details,
        )
    } else {
        finding(
            Check::Promotion,
            Status::Pass,
            format!(
                "{} rollouts, every version verified on {} at least {} before",
                rollouts.len(),
                previous.name,
                format_duration(environment.soak)
            ),
            details,
        )
    }
}

/// The last rollout's postchecks, and the package manager's health in the latest assessment.
fn healthy(host: &HostInputs) -> Finding {
    let mut problems = Vec::new();
    let mut details = Vec::new();
    if let Some(latest) = host.assessments.last() {
        if latest.health.interrupted {
            problems.push(format!(
                "the assessment at {} found an interrupted package operation",
                time(latest.taken_at_unix)
            ));
        }
        problems.extend(latest.health.audit.iter().map(|a| format!("package manager audit: {a}")));
    }
    match host.rollouts.last() {
        None => details.push("no rollout on record; judged from the latest assessment".to_owned()),
        Some(last) => {
            let line =
                format!("last rollout {} ({}): {}", last.rollout, last.started_at, last.detail);
            match last.outcome {
                RolloutOutcome::Done | RolloutOutcome::RolledBack => details.push(line),
                RolloutOutcome::Unfinished => details.push(line),
                RolloutOutcome::Failed | RolloutOutcome::Lost => problems.push(line),
            }
        }
    }
    if host.assessments.is_empty() && host.rollouts.is_empty() {
        return finding(
            Check::Healthy,
            Status::Fail,
            "never assessed, never rolled out: health unknown",
            vec![],
        );
    }
    if problems.is_empty() {
        let summary = match host.rollouts.last().map(|r| r.outcome) {
            Some(RolloutOutcome::Done) => "postchecks passed after the last rollout",
            Some(RolloutOutcome::RolledBack) => "rolled back and verified healthy again",
            Some(RolloutOutcome::Unfinished) => "last rollout unfinished; package manager healthy",
            _ => "package manager healthy",
        };
        finding(Check::Healthy, Status::Pass, summary, details)
    } else {
        problems.extend(details);
        finding(Check::Healthy, Status::Fail, "not healthy after its last change", problems)
    }
}

fn kernels(inputs: &Inputs, host: &HostInputs) -> Finding {
    let Some(latest) = host.assessments.last() else {
        return finding(Check::Kernels, Status::NotApplicable, "never assessed", vec![]);
    };
    let keep = inputs
        .policy
        .and_then(|p| p.compliance().keep_kernels)
        .map(|n| n as usize)
        .or_else(|| host.rollouts.last().map(|r| r.keep_kernels))
        .unwrap_or(DEFAULT_KEEP_KERNELS);
    let installed: Vec<String> =
        latest.installed_kernels.iter().map(|k| k.release.clone()).collect();
    if keep == 0 {
        return finding(
            Check::Kernels,
            Status::NotApplicable,
            "the last rollout kept every kernel",
            installed,
        );
    }
    let summary = format!("{} kernels installed, at most {keep}", installed.len());
    let status = if installed.len() > keep { Status::Fail } else { Status::Pass };
    finding(Check::Kernels, status, summary, installed)
}

fn rollback_plan(host: &HostInputs) -> Finding {
    let Some(last) = host.rollouts.last() else {
        return finding(Check::RollbackPlan, Status::NotApplicable, "no rollout on record", vec![]);
    };
    let details: Vec<String> = last
        .plan
        .changes
        .iter()
        .map(|c| match &c.from {
            Some(from) => format!("{} {} {} → back to {from}", c.name, c.arch, c.to),
            None => format!("{} {} {} → removed (installed new)", c.name, c.arch, c.to),
        })
        .collect();
    if details.is_empty() {
        return finding(
            Check::RollbackPlan,
            Status::Fail,
            format!("rollout {} recorded no change to undo", last.rollout),
            vec![],
        );
    }
    finding(
        Check::RollbackPlan,
        Status::Pass,
        format!("rollout {} recorded the versions to go back to", last.rollout),
        details,
    )
}

fn assessment_age(inputs: &Inputs, host: &HostInputs) -> Finding {
    let max_age = inputs
        .policy
        .map(|p| p.compliance().max_assessment_age)
        .unwrap_or_else(|| TimeDelta::days(7));
    let mut details = Vec::new();
    if let Some((at, reason)) = &host.latest_failure {
        details.push(format!("the latest attempt, at {}, failed: {reason}", time(*at)));
    }
    let Some(latest) = host.assessments.last() else {
        return finding(Check::AssessmentAge, Status::Fail, "never assessed successfully", details);
    };
    let taken = time(latest.taken_at_unix);
    let age = inputs.now - taken;
    let summary = format!(
        "last successful assessment at {taken}, {} old (at most {})",
        format_duration(age.max(TimeDelta::zero())),
        format_duration(max_age)
    );
    // A host whose latest attempt failed (unreachable, its lists could not be refreshed…) is
    // in a state nobody knows now, however recent its last success.
    if let Some((at, _)) = &host.latest_failure {
        let summary =
            format!("patch state unknown: the latest assessment, at {}, failed", time(*at));
        return finding(Check::AssessmentAge, Status::Fail, summary, details);
    }
    let status = if age > max_age { Status::Fail } else { Status::Pass };
    finding(Check::AssessmentAge, status, summary, details)
}

fn postmortems(
    inputs: &Inputs,
    concerns: impl Fn(&crate::postmortem::Postmortem) -> bool,
) -> Finding {
    let mine: Vec<_> = inputs.postmortems.iter().filter(|p| concerns(p)).collect();
    let overdue: Vec<String> = mine
        .iter()
        .filter(|p| p.is_overdue(inputs.now))
        .map(|p| {
            format!("postmortem {} ({}) was due at {}: {}", p.id, p.subject, p.due_at, p.title)
        })
        .collect();
    let open: Vec<String> = mine
        .iter()
        .filter(|p| p.status(inputs.now) == crate::postmortem::PostmortemStatus::Open)
        .map(|p| format!("postmortem {} ({}) open, due at {}", p.id, p.subject, p.due_at))
        .collect();
    if !overdue.is_empty() {
        let summary = format!("{} postmortems overdue", overdue.len());
        finding(
            Check::Postmortems,
            Status::Fail,
            summary,
            overdue.into_iter().chain(open).collect(),
        )
    } else if mine.is_empty() {
        finding(Check::Postmortems, Status::NotApplicable, "no postmortem", vec![])
    } else {
        finding(Check::Postmortems, Status::Pass, "no postmortem overdue", open)
    }
}
