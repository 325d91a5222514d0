//! The plan as the action plan a change board reads: scope, timeline, responsibilities, backup,
//! testing, rollback, risks.

use crate::document::Document;

use super::{Plan, PlannedReboot, Scope, WithheldUpdate};

pub fn render_markdown(plan: &Plan) -> String {
    document(plan).to_markdown()
}

pub fn render_html(plan: &Plan) -> String {
    document(plan).to_html()
}

fn document(plan: &Plan) -> Document {
    let mut doc = Document::new(format!("Action plan {}", short_id(&plan.id)));
    let n_changes: usize = plan.hosts.iter().map(|h| h.changes.len()).sum();
    let n_reboots = plan.hosts.iter().filter(|h| h.reboot == PlannedReboot::Yes).count();
    doc.paragraph(format!(
        "Plan `{}`, made at {} (Unix time) for {}: {} hosts, {} package changes, {} planned reboots, \
         {} waves. Approving this plan approves exactly this content; any change makes a new id.",
        plan.id,
        plan.created_at_unix,
        plan.selectors.join(" "),
        plan.hosts.len(),
        n_changes,
        n_reboots,
        plan.waves.len()
    ));

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

    doc.heading("Scope");
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
            rows.push(vec![
                host.host.clone(),
                change.name.clone(),
                change.arch.clone(),
                change.from.clone().unwrap_or_else(|| "(new)".into()),
                change.to.clone(),
                format!("{:?}", change.classification).to_lowercase(),
                change.severity.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default(),
                [change.advisories.clone(), change.cves.clone()].concat().join(" "),
            ]);
        }
    }
    doc.table(
        &["host", "package", "arch", "installed", "target", "type", "severity", "advisories"],
        rows,
    );
    if !plan.withheld.is_empty() {
        doc.heading("Withheld by the baselines");
        doc.paragraph(
            "Pending updates in scope that the hosts' baselines do not take now, each with the \
             rule that withholds it:",
        );
        doc.list(plan.withheld.iter().map(withheld_line).collect());
    }

    doc.heading("Timeline");
    let strategy = &plan.options.strategy;
    doc.paragraph(format!(
        "Waves run one after the other. A canary wave must pass completely before anything else \
         starts; a wave with more than {} failed hosts halts the rollout, and later waves never \
         start. At most {} hosts of an environment are down at once.",
        strategy.error_budget, strategy.max_unavailable
    ));
    let rows = plan
        .waves
        .iter()
        .enumerate()
        .map(|(i, w)| vec![(i + 1).to_string(), w.name.clone(), w.hosts.join(", ")])
        .collect();
    doc.table(&["#", "wave", "hosts"], rows);

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

    doc.heading("Backup");
    doc.paragraph(
        "Before anything changes on a host, its prechecks run: reachable, package manager \
         healthy and its lock free, enough space on / and /boot, the backup fresh enough and the \
         snapshot hook done where the inventory configures them. A failing precheck stops that \
         host before any change.",
    );

    doc.heading("Testing");
    doc.paragraph(
        "After the apply (and the reboot, where planned) each host's postchecks run: the installed \
         versions equal the targets, the host's systemd units are active, its HTTP checks pass, \
         `journalctl -p err -b` shows no new errors, the running kernel is the newest installed, \
         and its custom commands succeed.",
    );
    let rows = plan
        .hosts
        .iter()
        .map(|h| {
            let reboot = match h.reboot {
                PlannedReboot::Yes => "yes",
                PlannedReboot::IfRequired => "if the host asks for one",
                PlannedReboot::No => "no (policy: never)",
            };
            vec![h.host.clone(), h.running_kernel.clone(), reboot.to_string()]
        })
        .collect();
    doc.table(&["host", "running kernel", "reboot"], rows);

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
            vec![h.host.clone(), restore.join(", ")]
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
    doc
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
