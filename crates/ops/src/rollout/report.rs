//! The rollout report: what was done, host by host, for the change record.

use model::document::Document;
use rollout::{HostState, StepOutcome};

use super::control::Loaded;
use super::driver::phase_name;

pub fn report(loaded: &Loaded) -> Document {
    let machine = &loaded.machine;
    let mut doc = Document::new(format!("Rollout {}", loaded.row.id));
    doc.paragraph(format!(
        "Plan `{}`. Phase: {}.{}",
        loaded.plan.id,
        phase_name(machine.phase()),
        match machine.stop_reason() {
            Some(rollout::StopReason::Halted(why)) => format!(" Halted: {why}."),
            Some(rollout::StopReason::Cancelled) => " Cancelled by an operator.".to_owned(),
            None => String::new(),
        }
    ));
    if let Some(start) = &loaded.start {
        let mut started = format!("Started by {}.", start.actor);
        if let Some(reason) = &start.again {
            started.push_str(&format!(" The plan had run before; run again because: {reason}."));
        }
        if let Some(reason) = &start.override_window {
            started
                .push_str(&format!(" Started outside its maintenance windows because: {reason}."));
        }
        if start.no_policy {
            started.push_str(" Without a policy: no approval, window or promotion gate applied.");
        }
        if let Some(at) = &start.virtual_now {
            started.push_str(&format!(" With the virtual clock set to {at}."));
        }
        doc.paragraph(started);
    }
    doc.heading("Hosts");
    let rows = machine
        .hosts()
        .map(|(host, state)| {
            let detail = match state {
                HostState::Failed { step, reason } => format!("{} failed: {reason}", step.as_str()),
                HostState::RolledBack { reason } => format!("rolled back: {reason}"),
                HostState::Skipped { reason } => reason.clone(),
                HostState::Lost { step, reason } => {
                    format!("lost during {}: {reason}", step.as_str())
                }
                _ => String::new(),
            };
            vec![host.to_owned(), state.name().to_owned(), detail]
        })
        .collect();
    doc.table(&["host", "state", "detail"], rows);
    doc.heading("Waves");
    let rows = machine
        .wave_failures()
        .into_iter()
        .map(|(name, failures, budget)| vec![name, failures.to_string(), budget.to_string()])
        .collect();
    doc.table(&["wave", "failed hosts", "error budget"], rows);
    for (host, _) in machine.hosts() {
        doc.heading(format!("Host {host}"));
        if let Some(plan) = loaded.plan.host(host) {
            doc.list(
                plan.changes
                    .iter()
                    .map(|c| {
                        format!("{} {} → {}", c.name, c.from.as_deref().unwrap_or("(new)"), c.to)
                    })
                    .collect(),
            );
        }
        let rows = machine
            .host_steps(host)
            .iter()
            .map(|record| {
                let outcome = match &record.outcome {
                    Some(StepOutcome::Succeeded) => "ok".to_owned(),
                    Some(StepOutcome::Failed { reason }) => format!("failed: {reason}"),
                    Some(StepOutcome::Unreachable { reason }) => format!("unreachable: {reason}"),
                    Some(StepOutcome::TimedOut) => "timed out".to_owned(),
                    Some(StepOutcome::Interrupted) => "interrupted, checked again".to_owned(),
                    None => "running".to_owned(),
                };
                let took = record
                    .finished_at
                    .map(|end| format!("{:.1} s", (end - record.started_at) as f64 / 1000.0))
                    .unwrap_or_default();
                vec![record.step.as_str().to_owned(), outcome, took]
            })
            .collect();
        doc.table(&["step", "outcome", "took"], rows);
        let commands: Vec<String> = loaded
            .outputs
            .iter()
            .filter(|(h, o)| h.as_deref() == Some(host) && o.facts.is_empty())
            .map(|(_, o)| {
                if o.argv.is_empty() {
                    // A remark of the step's own: what a rollback kept, a host coming back.
                    return format!("{}: {}", o.step.as_str(), o.note);
                }
                format!(
                    "{}: `{}` → {} ({}) sha256 {}",
                    o.step.as_str(),
                    o.argv.join(" "),
                    o.exit_code.map_or("no exit code".to_owned(), |c| format!("exit {c}")),
                    o.note,
                    &o.output_sha256[..12.min(o.output_sha256.len())]
                )
            })
            .collect();
        doc.list(commands);
    }
    doc
}
