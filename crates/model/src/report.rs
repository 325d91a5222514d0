//! The rollout report as a change record. Its first page is a summary a reader unfamiliar with
//! patchctl can act on: what ran, when, who asked and approved, the outcome per environment
//! and per host, what was rolled back, and the postmortems still open. The steps, the raw
//! commands and their output digests follow in an appendix. Pure: the shell gathers the
//! rollout as plain values ([`ReportInputs`]); this decides what the report says.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::change::{ChangeAction, ChangeKind};
use crate::dates;
use crate::document::Document;
use crate::plan::{Plan, short_id};
use crate::postmortem::Postmortem;

/// A rollout as its journal tells it, in plain values.
#[derive(Debug, Clone)]
pub struct ReportInputs<'a> {
    /// When the report is made: postmortems are open or overdue at this instant.
    pub now: DateTime<Utc>,
    pub rollout: &'a str,
    pub plan: &'a Plan,
    pub created_at: DateTime<Utc>,
    /// `running`, `paused`, `completed`, `halted`, `cancelled`…
    pub phase: String,
    /// Why it stopped early, in words (`halted: wave production 1 …`, `cancelled by …`).
    pub stop: Option<String>,
    /// Who started it (the operator's login or `system:scheduler`).
    pub started_by: Option<String>,
    /// What its start overrode, each in a sentence (`--again`, `--override-window`, …).
    pub overrides: Vec<String>,
    /// What people asked of it while it ran (pause, resume, cancel, a rollback), in order.
    pub asked: Vec<AskedRun>,
    pub hosts: Vec<HostRun>,
    pub waves: Vec<WaveRun>,
    /// The plan's change journal, in order.
    pub change: &'a [ChangeAction],
    /// The postmortems about this rollout.
    pub postmortems: Vec<Postmortem>,
    /// The journal's hash chain, in words (`intact, 84 entries`).
    pub journal: String,
}

/// Something a person asked of the rollout, which it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskedRun {
    /// What came of it, in words: `paused`, `cancelled`, `deb2 rolled back`.
    pub what: String,
    /// Who asked: their login, or the server's authenticated caller.
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// One host's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRun {
    pub host: String,
    /// The rollout's name of its state: `done`, `failed`, `rolled_back`, `skipped`, `lost`,
    /// `pending`, `ready`, `running`.
    pub state: String,
    /// The reason of a failure, rollback, skip or loss.
    pub detail: String,
    pub steps: Vec<StepRun>,
    pub commands: Vec<CommandRun>,
    /// What the summary says of the host besides its outcome (a check failing before the
    /// patch), each once, in the order first said.
    pub remarks: Vec<String>,
    /// The services its rollout restarted because they ran replaced code (after its apply or
    /// its rollback, on a host that did not reboot), in order.
    pub restarted: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRun {
    pub step: String,
    /// `ok`, `failed: …`, `running`…
    pub outcome: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A command a step ran on the host, or a remark of the step's own (no argv).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRun {
    pub step: String,
    pub argv: Vec<String>,
    pub exit_code: Option<i32>,
    pub note: String,
    pub output_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveRun {
    pub name: String,
    pub failed: usize,
    pub budget: usize,
}

/// The summary's numbers, also in the JSON report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub started_at: DateTime<Utc>,
    /// The last step's end; `None` while a step runs.
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: String,
    /// Per environment: host counts by outcome.
    pub environments: BTreeMap<String, BTreeMap<String, usize>>,
    pub requested_by: Option<String>,
    pub approved_by: Vec<String>,
    pub ticket: Option<String>,
    pub rolled_back: Vec<String>,
    /// Per host: the services restarted because they ran replaced code.
    pub restarted: BTreeMap<String, Vec<String>>,
    pub open_postmortems: Vec<i64>,
    /// What people asked of it, one line each: `paused by olga at Mon 7 Dec 2026 20:01:02 UTC`.
    pub asked: Vec<String>,
}

/// The outcome of a host in words a reader without patchctl's vocabulary understands.
pub fn outcome_words(state: &str) -> &'static str {
    match state {
        "done" => "patched and verified",
        "failed" => "FAILED",
        "rolled_back" => "ROLLED BACK to its previous versions",
        "skipped" => "skipped, not changed",
        "lost" => "LOST (stopped answering)",
        "pending" | "ready" => "not started",
        "running" => "in progress",
        _ => "unknown",
    }
}

pub fn summary(inputs: &ReportInputs<'_>) -> Summary {
    let mut environments: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for host in &inputs.hosts {
        let environment = environment_of(inputs.plan, &host.host);
        *environments.entry(environment).or_default().entry(host.state.clone()).or_default() += 1;
    }
    let running = inputs.hosts.iter().any(|h| h.steps.iter().any(|s| s.finished_at.is_none()));
    let ended_at = if running {
        None
    } else {
        inputs.hosts.iter().flat_map(|h| h.steps.iter().filter_map(|s| s.finished_at)).max()
    };
    let started_at = inputs
        .hosts
        .iter()
        .flat_map(|h| h.steps.iter().map(|s| s.started_at))
        .min()
        .unwrap_or(inputs.created_at);
    let count = |state: &str| inputs.hosts.iter().filter(|h| h.state == state).count();
    let mut outcome = match inputs.phase.as_str() {
        "completed" if count("done") == inputs.hosts.len() => {
            "completed: every host patched and verified".to_owned()
        }
        "completed" => "completed, with hosts not patched".to_owned(),
        "halted" => {
            let never = inputs
                .hosts
                .iter()
                .filter(|h| matches!(h.state.as_str(), "pending" | "ready" | "skipped"))
                .count();
            match never {
                0 => "HALTED".to_owned(),
                n => format!("HALTED: {} of later waves never started", plural(n, "host")),
            }
        }
        "cancelled" => "CANCELLED by an operator".to_owned(),
        other => format!("{other} (not over)"),
    };
    if let Some(stop) = &inputs.stop {
        outcome.push_str(&format!(" ({})", stop.trim_start_matches("halted: ")));
    }
    let request = inputs.change.iter().find(|a| a.kind == ChangeKind::Request);
    Summary {
        started_at,
        ended_at,
        outcome,
        environments,
        requested_by: request.map(|r| r.actor.clone()),
        approved_by: inputs
            .change
            .iter()
            .filter(|a| matches!(a.kind, ChangeKind::Approve | ChangeKind::AutoApprove))
            .map(|a| format!("{} ({})", a.actor, dates::utc(a.at)))
            .collect(),
        ticket: request.and_then(|r| r.ticket.clone()),
        rolled_back: inputs
            .hosts
            .iter()
            .filter(|h| h.state == "rolled_back")
            .map(|h| h.host.clone())
            .collect(),
        restarted: inputs
            .hosts
            .iter()
            .filter(|h| !h.restarted.is_empty())
            .map(|h| (h.host.clone(), h.restarted.clone()))
            .collect(),
        open_postmortems: inputs
            .postmortems
            .iter()
            .filter(|p| p.closed_at.is_none())
            .map(|p| p.id)
            .collect(),
        asked: inputs
            .asked
            .iter()
            .map(|a| format!("{} by {} at {}", a.what, a.actor, dates::utc_seconds(a.at)))
            .collect(),
    }
}

pub fn document(inputs: &ReportInputs<'_>) -> Document {
    let plan = inputs.plan;
    let summary = summary(inputs);
    let mut doc = Document::new(format!("Patch rollout report {}", inputs.rollout));
    let environments: Vec<&str> = summary.environments.keys().map(String::as_str).collect();
    let when = match summary.ended_at {
        Some(end) => format!(
            "{} to {} ({})",
            dates::utc_seconds(summary.started_at),
            dates::utc_seconds(end),
            dates::elapsed(end - summary.started_at)
        ),
        None => format!("from {}, still running", dates::utc_seconds(summary.started_at)),
    };
    let approved = if summary.approved_by.is_empty() {
        "nobody (no approval on record)".to_owned()
    } else {
        summary.approved_by.join(", ")
    };
    let requested = match (&summary.requested_by, &summary.ticket) {
        (Some(by), Some(ticket)) => format!("; requested by {by}, ticket {ticket}"),
        (Some(by), None) => format!("; requested by {by}"),
        _ => String::new(),
    };
    let goals = if plan.options.goals.is_empty() {
        String::new()
    } else {
        format!("Goal: {}\n", plan.options.goals.join("; "))
    };
    doc.lead(format!(
        "{goals}What ran: plan {} on {} in {}: {}.\nWhen: {when}.\nApproved by: {approved}{requested}.\n\
         Outcome: {}.",
        short_id(&plan.id),
        plural(inputs.hosts.len(), "host"),
        environments.join(", "),
        packages_line(plan),
        summary.outcome
    ));
    let mut facts = Vec::new();
    facts.push((
        "Started by".to_owned(),
        inputs.started_by.clone().unwrap_or_else(|| "not on record".into()),
    ));
    for sentence in &inputs.overrides {
        facts.push(("Note".to_owned(), sentence.clone()));
    }
    if !summary.asked.is_empty() {
        facts.push(("Asked of it".to_owned(), summary.asked.join("; ")));
    }
    facts.push((
        "Rolled back".to_owned(),
        if summary.rolled_back.is_empty() {
            "nothing".to_owned()
        } else {
            summary
                .rolled_back
                .iter()
                .map(|host| format!("{host} (to {})", restore_line(plan, host)))
                .collect::<Vec<_>>()
                .join("; ")
        },
    ));
    // Said when the plan restarts services anywhere, or something was restarted.
    if !summary.restarted.is_empty() || plan.hosts.iter().any(|h| !h.restarts.is_never()) {
        facts.push((
            "Services restarted".to_owned(),
            if summary.restarted.is_empty() {
                "none (no service ran replaced code, or no host got that far)".to_owned()
            } else {
                summary
                    .restarted
                    .iter()
                    .map(|(host, units)| format!("{host}: {}", units.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        ));
    }
    let open: Vec<String> = inputs
        .postmortems
        .iter()
        .filter(|p| p.closed_at.is_none())
        .map(|p| {
            format!(
                "#{} {} ({}, due {}{})",
                p.id,
                p.title,
                p.status(inputs.now).as_str(),
                dates::utc(p.due_at),
                p.owner.as_deref().map(|o| format!(", owner {o}")).unwrap_or_default()
            )
        })
        .collect();
    facts.push((
        "Open postmortems".to_owned(),
        if open.is_empty() { "none".to_owned() } else { open.join("; ") },
    ));
    facts.push(("Report made".to_owned(), dates::utc(inputs.now)));
    doc.facts(facts);

    doc.heading("Outcome per environment");
    let states = ["done", "rolled_back", "failed", "lost", "skipped"];
    let rows = summary
        .environments
        .iter()
        .map(|(environment, counts)| {
            let mut row = vec![environment.clone()];
            row.push(counts.values().sum::<usize>().to_string());
            for state in states {
                row.push(counts.get(state).copied().unwrap_or(0).to_string());
            }
            let other: usize =
                counts.iter().filter(|(s, _)| !states.contains(&s.as_str())).map(|(_, n)| n).sum();
            row.push(other.to_string());
            row
        })
        .collect();
    doc.table(
        &[
            "environment",
            "hosts",
            "patched",
            "rolled back",
            "failed",
            "lost",
            "skipped",
            "not over",
        ],
        rows,
    );

    doc.heading("Outcome per host");
    let rows = inputs
        .hosts
        .iter()
        .map(|host| {
            let changes = plan
                .host(&host.host)
                .map(|p| {
                    p.changes
                        .iter()
                        .map(|c| {
                            format!(
                                "{} {} → {}",
                                c.name,
                                c.from.as_deref().unwrap_or("(new)"),
                                c.to
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(",\n")
                })
                .unwrap_or_default();
            let notes: Vec<&str> = std::iter::once(host.detail.as_str())
                .filter(|detail| !detail.is_empty())
                .chain(host.remarks.iter().map(String::as_str))
                .collect();
            vec![
                host.host.clone(),
                environment_of(plan, &host.host),
                outcome_words(&host.state).to_owned(),
                changes,
                notes.join(";\n"),
            ]
        })
        .collect();
    doc.table(&["host", "environment", "outcome", "packages", "why, and notes"], rows);

    appendix(inputs, &mut doc);
    doc
}

/// The steps, the commands with their digests, the waves and the journal.
fn appendix(inputs: &ReportInputs<'_>, doc: &mut Document) {
    doc.appendix("Appendix: steps and commands, host by host");
    doc.paragraph(format!(
        "Rollout {} of plan `{}`, created {}. Every command's exit code and the SHA-256 of its \
         output (first 12 hex digits) as journaled; the journal's hash chain: {}.",
        inputs.rollout,
        inputs.plan.id,
        dates::utc_seconds(inputs.created_at),
        inputs.journal
    ));
    let rows = inputs
        .waves
        .iter()
        .map(|w| vec![w.name.clone(), w.failed.to_string(), w.budget.to_string()])
        .collect();
    doc.table(&["wave", "failed hosts", "error budget"], rows);
    for host in &inputs.hosts {
        doc.subheading(format!("Host {}", host.host));
        let rows = host
            .steps
            .iter()
            .map(|step| {
                let took = step
                    .finished_at
                    .map(|end| {
                        format!(
                            "{:.1} s",
                            (end - step.started_at).num_milliseconds() as f64 / 1000.0
                        )
                    })
                    .unwrap_or_default();
                vec![
                    step.step.clone(),
                    step.outcome.clone(),
                    dates::utc_seconds(step.started_at),
                    took,
                ]
            })
            .collect();
        doc.table(&["step", "outcome", "started", "took"], rows);
        let commands = host
            .commands
            .iter()
            .map(|c| {
                if c.argv.is_empty() {
                    return format!("{}: {}", c.step, c.note);
                }
                format!(
                    "{}: `{}` → {} ({}) sha256 {}",
                    c.step,
                    c.argv.join(" "),
                    c.exit_code.map_or("no exit code".to_owned(), |code| format!("exit {code}")),
                    c.note,
                    &c.output_sha256[..12.min(c.output_sha256.len())]
                )
            })
            .collect();
        doc.list(commands);
    }
}

fn environment_of(plan: &Plan, host: &str) -> String {
    plan.host(host).map(|h| h.environment.clone()).unwrap_or_else(|| "(not in the plan)".into())
}

/// `acme-web 1.0-1, acme-tools 1.0-1`: what a rollback restores on `host`.
fn restore_line(plan: &Plan, host: &str) -> String {
    plan.host(host)
        .map(|p| {
            p.changes
                .iter()
                .map(|c| match &c.from {
                    Some(from) => format!("{} {from}", c.name),
                    None => format!("{} removed", c.name),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `acme-tools 1.0-1 → 1.1-1 on 2 hosts, …`; a count beyond six distinct changes.
fn packages_line(plan: &Plan) -> String {
    let mut changes: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for host in &plan.hosts {
        for change in &host.changes {
            let from = change.from.clone().unwrap_or_else(|| "(new)".into());
            *changes.entry((change.name.clone(), from, change.to.clone())).or_default() += 1;
        }
    }
    if changes.len() > 6 {
        return format!("{} package changes", changes.values().sum::<usize>());
    }
    changes
        .iter()
        .map(|((name, from, to), n)| format!("{name} {from} → {to} on {}", plural(*n, "host")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

mod output;
#[cfg(test)]
mod tests;
