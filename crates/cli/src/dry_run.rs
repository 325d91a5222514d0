//! `patchctl rollout start PLAN --dry-run`: every host of the plan asked what its rollout would
//! meet (`ops::rollout::dry_run`), shown by wave; nothing changes, nothing is recorded.

use std::process::ExitCode;

use ops::protocol::output::dry_run::{
    DryRunChangeV1, DryRunCommandV1, DryRunHostV1, DryRunV1, SimulationV1, UnchangedV1,
};
use ops::rollout::{self as run, DryRunSimulation, DryRunVerdict, HostDryRun};
use ops::rollout::{ChangeKind, FailureReason, PackageChange, SimulatedApply};

#[derive(Clone, Copy, Default, clap::ValueEnum)]
pub(crate) enum Format {
    #[default]
    Table,
    Json,
}

/// Prints what the hosts said, with why a real start would be refused (no approval, outside
/// the windows), found before any host was asked.
pub(crate) fn show(
    prepared: &ops::rollout::Prepared,
    reports: &[HostDryRun],
    format: Format,
) -> anyhow::Result<ExitCode> {
    let (plan, config, refusals) = (&prepared.plan, &prepared.config, &prepared.refusals);
    match format {
        Format::Table => print!("{}", table(plan, config, reports, refusals)),
        Format::Json => println!("{}", document(&plan.id, reports, refusals)),
    }
    let failing = reports.iter().filter(|r| is_failure(r.verdict())).count();
    if failing > 0 || !refusals.is_empty() {
        eprintln!(
            "patchctl: dry run: {failing} of {} hosts would fail or do not answer{}; nothing was changed",
            reports.len(),
            if refusals.is_empty() { "" } else { ", and the start would be refused" }
        );
        return Ok(crate::exit::code(crate::exit::SOME_HOSTS));
    }
    eprintln!("patchctl: dry run: every host would apply; nothing was changed");
    Ok(ExitCode::SUCCESS)
}

fn is_failure(verdict: DryRunVerdict) -> bool {
    matches!(verdict, DryRunVerdict::WouldFail | DryRunVerdict::Unreachable)
}

fn table(
    plan: &model::plan::Plan,
    config: &run::Config,
    reports: &[HostDryRun],
    refusals: &[String],
) -> String {
    let mut out = format!("dry run of plan {}\n", model::plan::short_id(&plan.id));
    for refusal in refusals {
        out.push_str(&format!("a real start would be refused: {refusal}\n"));
    }
    for (index, wave) in config.waves.iter().enumerate() {
        let kind = if wave.canary { " (canary: no failure tolerated)" } else { "" };
        out.push_str(&format!("\nwave {} {}{kind}\n", index + 1, wave.name));
        let mut table = crate::table::Table::new(["HOST", "VERDICT", "PRECHECK", "THEN", "APPLY"]);
        let mut details = Vec::new();
        for report in reports.iter().filter(|r| r.wave == wave.name) {
            table.row([
                report.host.clone(),
                verdict_words(report.verdict()).to_owned(),
                precheck_words(report),
                wave.hosts
                    .iter()
                    .find(|h| h.name == report.host)
                    .map_or_else(String::new, then_words),
                apply_words(report),
            ]);
            details.extend(detail_lines(report));
        }
        for line in table.render().lines() {
            out.push_str(&format!("  {line}\n"));
        }
        for line in details {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out.push_str(&format!("\nnothing was changed; {}\n", run::CANNOT_SEE));
    out
}

/// The steps around the apply the rollout would run for the host, which the dry run does not.
fn then_words(host: &run::HostConfig) -> String {
    let reboot = match host.reboot {
        run::RebootPlan::Always => "reboot",
        run::RebootPlan::IfRequired => "reboot if required",
        run::RebootPlan::Never => "no reboot",
    };
    let snapshot = if host.snapshot { "snapshot, " } else { "" };
    format!("{snapshot}{reboot}, postchecks")
}

fn verdict_words(verdict: DryRunVerdict) -> &'static str {
    match verdict {
        DryRunVerdict::AsPlanned => "would apply",
        DryRunVerdict::WithUnplanned => "would apply, with changes the plan does not name",
        DryRunVerdict::WouldFail => "WOULD FAIL",
        DryRunVerdict::Unreachable => "UNREACHABLE",
    }
}

fn precheck_words(report: &HostDryRun) -> String {
    if report.unreachable.is_some() {
        return "-".to_owned();
    }
    match report.precheck_failures.len() {
        0 => "pass".to_owned(),
        n => format!("{n} would fail"),
    }
}

/// The apply's column: what would be installed, or why it would not.
fn apply_words(report: &HostDryRun) -> String {
    match &report.simulation {
        DryRunSimulation::Ran(SimulatedApply::Would { pinned, unchanged, unplanned }) => {
            let mut words: Vec<String> = pinned.iter().map(change_words).collect();
            if !unchanged.is_empty() {
                words.push(format!("{} already at their version", unchanged.len()));
            }
            if !unplanned.is_empty() {
                words.push(format!("{} more (see below)", unplanned.len()));
            }
            if words.is_empty() { "nothing to do".to_owned() } else { words.join(", ") }
        }
        DryRunSimulation::Ran(SimulatedApply::WouldFail { reason, .. }) => {
            format!("would fail: {}", reason_words(reason))
        }
        DryRunSimulation::NotRun(why) => format!("not simulated: {why}"),
        DryRunSimulation::Unreadable(why) => format!("simulation unreadable: {why}"),
    }
}

/// The lines under the table for one host: every precheck failure, unplanned change, the
/// package manager's own words for a failure, and the notes.
fn detail_lines(report: &HostDryRun) -> Vec<String> {
    let host = &report.host;
    let mut lines = Vec::new();
    if let Some(reason) = &report.unreachable {
        lines.push(format!("{host}: does not answer: {reason}"));
    }
    for failure in &report.precheck_failures {
        lines.push(format!("{host}: precheck would fail: {failure}"));
    }
    match &report.simulation {
        DryRunSimulation::Ran(SimulatedApply::Would { unplanned, .. }) => {
            for change in unplanned {
                let also = if change.kind == ChangeKind::Removed { "WOULD REMOVE" } else { "also" };
                lines.push(format!("{host}: {also}: {} (not in the plan)", change_words(change)));
            }
        }
        DryRunSimulation::Ran(SimulatedApply::WouldFail { exit_code, output_tail, .. }) => {
            let said = output_tail.lines().rfind(|l| !l.starts_with("--- "));
            lines.push(format!(
                "{host}: the package manager exited {exit_code}: {}",
                said.unwrap_or("(no output)")
            ));
        }
        _ => {}
    }
    for note in &report.notes {
        lines.push(format!("{host}: note: {note}"));
    }
    lines
}

fn change_words(change: &PackageChange) -> String {
    let verb = match change.kind {
        ChangeKind::Installed => "install",
        ChangeKind::Upgraded => "upgrade",
        ChangeKind::Downgraded => "downgrade",
        ChangeKind::Reinstalled => "reinstall",
        ChangeKind::Removed => "remove",
    };
    match &change.previous_version {
        Some(from) => format!("{verb} {} {from} -> {}", change.name, change.version),
        None => format!("{verb} {} {}", change.name, change.version),
    }
}

fn reason_words(reason: &FailureReason) -> String {
    run::failure_words(reason)
}

/// The dry run as printed JSON: its own form, `protocol::output::dry_run`, built here from the
/// reports.
pub(crate) fn document(plan_id: &str, reports: &[HostDryRun], refusals: &[String]) -> String {
    ops::protocol::output::pretty_sorted(&DryRunV1 {
        plan: plan_id.to_owned(),
        dry_run: true,
        changed: false,
        start_refusals: refusals.to_vec(),
        cannot_see: run::CANNOT_SEE.to_owned(),
        hosts: reports.iter().map(host_document).collect(),
    })
}

fn host_document(report: &HostDryRun) -> DryRunHostV1 {
    let changes = |list: &[PackageChange]| -> Vec<DryRunChangeV1> {
        list.iter().map(change_document).collect()
    };
    let simulation = match &report.simulation {
        DryRunSimulation::Ran(SimulatedApply::Would { pinned, unchanged, unplanned }) => {
            SimulationV1::WouldApply {
                pinned: changes(pinned),
                unchanged: unchanged
                    .iter()
                    .map(|p| UnchangedV1 {
                        name: p.name.clone(),
                        arch: p.arch.clone(),
                        version: p.version.clone(),
                    })
                    .collect(),
                unplanned: changes(unplanned),
            }
        }
        DryRunSimulation::Ran(SimulatedApply::WouldFail { reason, exit_code, output_tail }) => {
            SimulationV1::WouldFail {
                reason: reason_code(reason).to_owned(),
                reason_text: reason_words(reason),
                items: reason_items(reason),
                exit_code: *exit_code,
                output_tail: output_tail.clone(),
            }
        }
        DryRunSimulation::NotRun(why) => SimulationV1::NotRun { why: why.clone() },
        DryRunSimulation::Unreadable(why) => SimulationV1::Unreadable { why: why.clone() },
    };
    DryRunHostV1 {
        host: report.host.clone(),
        wave: report.wave.clone(),
        package_manager: report.package_manager.to_string(),
        verdict: report.verdict().as_str().to_owned(),
        unreachable: report.unreachable.clone(),
        precheck_failures: report.precheck_failures.clone(),
        notes: report.notes.clone(),
        simulation,
        commands: report
            .commands
            .iter()
            .map(|c| DryRunCommandV1 {
                argv: c.argv.clone(),
                exit_code: c.exit_code,
                note: c.note.clone(),
                stdout_tail: c.stdout_tail.clone(),
                stderr_tail: c.stderr_tail.clone(),
            })
            .collect(),
    }
}

fn change_document(change: &PackageChange) -> DryRunChangeV1 {
    DryRunChangeV1 {
        name: change.name.clone(),
        arch: change.arch.clone(),
        change: format!("{:?}", change.kind).to_lowercase(),
        version: change.version.clone(),
        previous_version: change.previous_version.clone(),
    }
}

fn reason_code(reason: &FailureReason) -> &'static str {
    match reason {
        FailureReason::Scriptlet { .. } => "scriptlet",
        FailureReason::Locked { .. } => "locked",
        FailureReason::NotFound { .. } => "not_found",
        FailureReason::Held { .. } => "held",
        FailureReason::WouldDowngrade => "would_downgrade",
        FailureReason::WouldRemove => "would_remove",
        FailureReason::Dependencies => "dependencies",
        FailureReason::DiskFull => "disk_full",
        FailureReason::Interrupted => "interrupted",
        FailureReason::Download => "download",
        FailureReason::Other => "other",
    }
}

fn reason_items(reason: &FailureReason) -> Vec<String> {
    match reason {
        FailureReason::Scriptlet { packages } => packages.clone(),
        FailureReason::NotFound { items } | FailureReason::Held { items } => items.clone(),
        _ => Vec::new(),
    }
}
