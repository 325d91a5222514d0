//! The plan as the action plan a change board reads. The first page answers what will run,
//! when, and approved by whom (the record, `record.rs`); then the packages, the waves,
//! responsibilities, the checks before and after, the rollback and the risks.

use std::collections::BTreeMap;

use crate::dates;
use crate::document::Document;

use super::record::{PlanRecord, RecordInputs, hosts_words, record};
use super::{Plan, PlannedReboot, Scope, WithheldUpdate};

pub fn render_markdown(plan: &Plan, inputs: &RecordInputs<'_>) -> String {
    document(plan, &record(plan, inputs)).to_markdown()
}

pub fn render_html(plan: &Plan, inputs: &RecordInputs<'_>) -> String {
    document(plan, &record(plan, inputs)).to_html()
}

pub fn document(plan: &Plan, record: &PlanRecord) -> Document {
    let mut doc = Document::new(format!("Action plan {}", short_id(&plan.id)));
    summary(plan, record, &mut doc);

    if let Some(emergency) = &plan.emergency {
        doc.heading("Emergency");
        doc.paragraph(format!(
            "Expedited for {} ({}){}: {}. Outside the maintenance windows; each environment after \
             the first waits for its versions to be verified on the one before it, with the soak \
             capped. A postmortem is due after the emergency.",
            emergency.advisories.join(", "),
            if emergency.cves.is_empty() { "no CVE".to_owned() } else { emergency.cves.join(", ") },
            emergency.cvss_score.map(|s| format!(", CVSS {s:.1}")).unwrap_or_default(),
            emergency.reason
        ));
        if !plan.withheld.is_empty() {
            doc.paragraph(
                "STILL EXPOSED: the baselines withhold these fixing packages, so their hosts stay \
                 exposed after this plan runs. Lift the rule in the policy and run the emergency \
                 again to patch them:",
            );
            doc.list(plan.withheld.iter().map(withheld_line).collect());
        }
    }

    doc.heading("Packages");
    let scope = match &plan.options.scope {
        Scope::All => "every pending update".to_string(),
        Scope::SecurityOnly => "security updates only".to_string(),
        Scope::KernelOnly => "kernel updates only".to_string(),
        Scope::Packages(names) => format!("only {}", names.join(", ")),
    };
    let withheld = if plan.withheld.is_empty() {
        ""
    } else {
        ", less those the hosts' baselines withhold (listed after the table)"
    };
    doc.paragraph(format!(
        "Updates: {scope}{withheld}, pinned to the versions below. Reboot policy: {}.",
        plan.options.reboot
    ));
    let mut rows = Vec::new();
    for host in &plan.hosts {
        for change in &host.changes {
            let kind = match change.classification {
                crate::Classification::Unknown => "not classified".to_owned(),
                other => format!("{other:?}").to_lowercase(),
            };
            let kind = match change.severity {
                Some(severity) => format!("{kind}, {}", format!("{severity:?}").to_lowercase()),
                None => kind,
            };
            rows.push(vec![
                host.host.clone(),
                format!("{} ({})", change.name, change.arch),
                change.from.clone().unwrap_or_else(|| "(new)".into()),
                change.to.clone(),
                kind,
                [change.advisories.clone(), change.cves.clone()].concat().join(" "),
            ]);
        }
    }
    doc.table(&["host", "package", "installed", "target", "type", "advisories"], rows);
    if !plan.withheld.is_empty() {
        doc.heading("Withheld by the baselines");
        doc.paragraph(
            "Pending updates in scope that the hosts' baselines do not take now, each with the \
             rule that withholds it:",
        );
        doc.list(plan.withheld.iter().map(withheld_line).collect());
    }

    doc.heading("Waves");
    let strategy = &plan.options.strategy;
    doc.paragraph(format!(
        "Waves run one after the other. A canary wave must pass completely before anything else \
         starts; a wave with more than {} failed hosts halts the rollout, and later waves never \
         start. At most {} hosts of an environment are down at once.",
        strategy.error_budget, strategy.max_unavailable
    ));
    if record.forecast.is_empty() {
        let rows = plan
            .waves
            .iter()
            .enumerate()
            .map(|(i, w)| vec![(i + 1).to_string(), w.name.clone(), w.hosts.join(", ")])
            .collect();
        doc.table(&["#", "wave", "hosts"], rows);
    } else {
        doc.paragraph(
            "Each wave's forecast comes from how long hosts of the same package manager, \
             rebooting or not, took in recent rollouts: the median run, and up to the 90th \
             percentile. A start is refused when the waves, at the upper end, would not end \
             before the window's cutoff.",
        );
        let rows = plan
            .waves
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let forecast = record.forecast.iter().find(|f| f.wave == w.name);
                let words = match forecast.and_then(|f| f.estimate) {
                    Some(e) => format!(
                        "about {}, up to {} ({} past runs)",
                        crate::forecast::words(e.expected_ms),
                        crate::forecast::words(e.high_ms),
                        e.samples
                    ),
                    None => "no past run of its hosts' kind".to_owned(),
                };
                vec![(i + 1).to_string(), w.name.clone(), w.hosts.join(", "), words]
            })
            .collect();
        doc.table(&["#", "wave", "hosts", "forecast"], rows);
    }

    doc.heading("Responsibilities");
    let rows = plan
        .hosts
        .iter()
        .map(|h| {
            vec![
                h.host.clone(),
                h.environment.clone(),
                h.owner.clone().unwrap_or_else(|| "(no owner in the inventory)".into()),
            ]
        })
        .collect();
    doc.table(&["host", "environment", "owner"], rows);

    checks(plan, record, &mut doc);
    // The restarts' column only when some host restarts services: plans without any read as
    // they always did.
    let restarts = plan.hosts.iter().any(|h| !h.restarts.is_never());
    doc.heading(if restarts { "Reboots and service restarts" } else { "Reboots" });
    let rows = plan
        .hosts
        .iter()
        .map(|h| {
            let reboot = match h.reboot {
                PlannedReboot::Yes => "yes",
                PlannedReboot::IfRequired => "if the host asks for one",
                PlannedReboot::No => "no (policy: never)",
            };
            let mut row = vec![h.host.clone(), h.running_kernel.clone(), reboot.to_string()];
            if restarts {
                row.push(h.restarts.describe());
            }
            row
        })
        .collect();
    if restarts {
        doc.table(
            &["host", "running kernel", "reboot", "services restarted when it does not reboot"],
            rows,
        );
    } else {
        doc.table(&["host", "running kernel", "reboot"], rows);
    }

    doc.heading("Rollback");
    doc.paragraph(
        "When a host's postchecks fail, it is downgraded to the versions it has now and checked \
         again; `patchctl rollback ROLLOUT [--host HOST]` does the same by hand.",
    );
    let rows = plan
        .hosts
        .iter()
        .map(|h| {
            let restore: Vec<String> = h
                .changes
                .iter()
                .map(|c| match &c.from {
                    Some(from) => format!("{} {}", c.name, from),
                    None => format!("{} (remove)", c.name),
                })
                .collect();
            vec![h.host.clone(), restore.join(",\n")]
        })
        .collect();
    doc.table(&["host", "restore"], rows);

    doc.heading("Risks");
    doc.list(
        plan.hosts
            .iter()
            .flat_map(|h| h.risks.iter().map(move |r| format!("{}: {r}", h.host)))
            .collect(),
    );

    if !plan.excluded.is_empty() {
        doc.heading("Not in this plan");
        doc.list(plan.excluded.iter().map(|e| format!("{}: {}", e.host, e.reason)).collect());
    }
    doc.heading("Identity");
    doc.paragraph(format!(
        "Plan `{}`, made {} for `{}`. Approving this plan approves exactly this content; any \
         change makes a new id.",
        plan.id,
        dates::utc(record.created_at),
        plan.selectors.join(" ")
    ));
    doc
}

/// The first page: what, when, who, then the milestones and the approvals.
fn summary(plan: &Plan, record: &PlanRecord, doc: &mut Document) {
    let n_changes: usize = plan.hosts.iter().map(|h| h.changes.len()).sum();
    let n_reboots = plan.hosts.iter().filter(|h| h.reboot == PlannedReboot::Yes).count();
    let what = if plan.hosts.is_empty() {
        "Nothing: no selected host has an update in scope.".to_owned()
    } else {
        format!(
            "{} on {} in {}: {}{}.",
            plural(n_changes, "package change"),
            plural(plan.hosts.len(), "host"),
            record.environments.join(" and "),
            packages_line(plan),
            match n_reboots {
                0 => String::new(),
                n => format!("; {} reboot", plural(n, "host")),
            }
        )
    };
    let when: Vec<String> =
        record.windows.iter().map(|w| format!("{}: {}", w.environment, w.words)).collect();
    let who = approval_words(record);
    let goals = if record.goals.is_empty() {
        "none stated (`plan create --goal`, or `goals` in the policy)".to_owned()
    } else {
        record.goals.join("; ")
    };
    doc.lead(format!(
        "Goal: {goals}\nWhat will run: {what}\nWhen: {}\nApproved by: {who}",
        if when.is_empty() { "nothing to run".to_owned() } else { when.join("; ") }
    ));

    doc.heading("Milestones");
    let rows = record
        .milestones
        .iter()
        .map(|m| {
            let what = if m.projected { format!("{} (projected)", m.what) } else { m.what.clone() };
            vec![what, m.when.clone(), m.note.clone()]
        })
        .collect();
    doc.table(&["milestone", "when", "note"], rows);
    if record.milestones.iter().any(|m| m.projected) {
        doc.paragraph(
            "Projected milestones are for the plans that follow this one through the promotion \
             order; they move when this plan runs later than its window.",
        );
    }

    doc.heading("Approval");
    let approval = &record.approval;
    let mut facts = vec![("State".to_owned(), approval.state.clone())];
    match (&approval.requested_by, approval.requested_at) {
        (Some(by), Some(at)) => {
            facts.push(("Requested".into(), format!("by {by}, {}", dates::utc(at))))
        }
        _ => facts.push(("Requested".into(), "not yet (`patchctl change request PLAN`)".into())),
    }
    facts.push(("Ticket".into(), approval.ticket.clone().unwrap_or_else(|| "none".into())));
    for decision in &approval.decisions {
        let verb = match decision.kind {
            crate::change::ChangeKind::Approve => "Approved",
            crate::change::ChangeKind::AutoApprove => "Approved (auto)",
            crate::change::ChangeKind::Reject => "Rejected",
            crate::change::ChangeKind::Request => "Requested",
        };
        let comment = decision.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default();
        facts.push((
            verb.into(),
            format!("by {}, {}{comment}", decision.actor, dates::utc(decision.at)),
        ));
    }
    doc.facts(facts);
    if !approval.rules.is_empty() {
        let rows = approval
            .rules
            .iter()
            .map(|r| {
                vec![
                    r.environment.clone(),
                    r.rule.clone(),
                    if r.approved_by.is_empty() {
                        "nobody yet".into()
                    } else {
                        r.approved_by.join(", ")
                    },
                    if r.missing.is_empty() { "nothing: met".into() } else { r.missing.join("; ") },
                ]
            })
            .collect();
        doc.table(&["environment", "rule (policy)", "approved by", "missing"], rows);
    }
}

/// The checks configured around each host: before the change, and after it.
fn checks(plan: &Plan, record: &PlanRecord, doc: &mut Document) {
    doc.heading("Backup and prechecks");
    if record.prechecks.is_empty()
        && record.postchecks.is_empty()
        && record.hosts_not_in_inventory.is_empty()
    {
        let unknown = "The hosts' checks are read from the inventory when the rollout starts; \
                       this view was made without it.";
        doc.paragraph(unknown);
        doc.heading("Tests after the change");
        doc.paragraph(unknown);
        return;
    }
    doc.paragraph(
        "Before anything changes on a host, as the inventory configures it now (a rollout reads \
         it when it starts). A failing precheck stops that host before any change.",
    );
    let rows = |lines: &[super::record::StepLine]| {
        lines
            .iter()
            .map(|l| vec![l.kind.clone(), l.what.clone(), hosts_words(&l.hosts, plan)])
            .collect()
    };
    doc.table(&["step", "what is checked", "hosts"], rows(&record.prechecks));
    doc.heading("Tests after the change");
    doc.paragraph(
        "After the apply (and the reboot, where planned). A failing check rolls the host back \
         to the versions it has now and checks it again.",
    );
    doc.table(&["check", "what passes", "hosts"], rows(&record.postchecks));
    if !record.hosts_not_in_inventory.is_empty() {
        doc.paragraph(format!(
            "Not in the inventory now, so their checks are unknown: {}.",
            record.hosts_not_in_inventory.join(", ")
        ));
    }
}

fn approval_words(record: &PlanRecord) -> String {
    let approval = &record.approval;
    let ticket = approval.ticket.as_deref().map(|t| format!(", ticket {t}")).unwrap_or_default();
    let requested = approval
        .requested_by
        .as_deref()
        .map(|r| format!("; requested by {r}{ticket}"))
        .unwrap_or_default();
    match approval.state.as_str() {
        "no policy" => "no approval applies (no policy)".to_owned(),
        "approved" => format!("{}{requested}", approval.approvers().join(", ")),
        "rejected" => format!("REJECTED{requested}"),
        state => format!("NOT APPROVED YET ({state}): {}{requested}", approval.missing.join("; ")),
    }
}

/// `acme-tools 1.0-1 → 1.1-1 (deb1, deb2), acme-web …`; a count beyond six distinct changes.
fn packages_line(plan: &Plan) -> String {
    let mut changes: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for host in &plan.hosts {
        for change in &host.changes {
            let from = change.from.clone().unwrap_or_else(|| "(new)".into());
            changes
                .entry((change.name.clone(), from, change.to.clone()))
                .or_default()
                .push(host.host.clone());
        }
    }
    if changes.len() > 6 {
        let names: std::collections::BTreeSet<&str> =
            changes.keys().map(|(name, _, _)| name.as_str()).collect();
        return format!("{} packages, listed under Packages", names.len());
    }
    changes
        .iter()
        .map(|((name, from, to), hosts)| {
            format!("{name} {from} → {to} on {}", hosts_words(hosts, plan))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// `acme-kernel 1.1-1 on deb1: held by baseline "strict" of production (hold = ["acme-kernel"])`.
fn withheld_line(withheld: &WithheldUpdate) -> String {
    format!("{} {} on {}: {}", withheld.name, withheld.version, withheld.host, withheld.reason)
}

/// The first 12 hex digits, enough to name a plan on a command line.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
