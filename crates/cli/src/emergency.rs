//! `patchctl emergency [ADVISORY|CVE...]`: the expedited plan for advisories scored at or above
//! the policy's threshold (9.0 by default), or named here; the owners told, a postmortem due.

use std::process::ExitCode;

use anyhow::Context;
use model::plan::Scope;

use crate::config::Paths;
use crate::plan::{StrategyArgs, short};

#[derive(clap::Args)]
pub struct Args {
    /// Advisory ids or CVE ids to expedite whatever their score; none: every imported advisory
    /// scored at or above `[emergency] cvss_threshold`.
    ids: Vec<String>,
    /// The hosts to consider: `all`, a host, a group, `env:NAME` or `tag:NAME`.
    #[arg(long = "hosts", default_value = "all")]
    selectors: Vec<String>,
    /// Use the hosts' latest assessments as they are, instead of assessing them first.
    #[arg(long)]
    no_assess: bool,
    /// Who asks (recorded as the postmortem's opener).
    #[arg(long = "as", env = "USER", default_value = "unknown")]
    actor: String,
    #[command(flatten)]
    strategy: StrategyArgs,
}

pub fn run(args: Args, paths: &Paths) -> anyhow::Result<ExitCode> {
    let inventory = paths.inventory()?;
    let hosts = crate::config::select_hosts(&inventory, &args.selectors)?;
    let policy = paths.policy_or_none()?;
    let request = ops::emergency::EmergencyRequest {
        named: &args.ids,
        hosts: &hosts,
        options: args.strategy.options(Scope::All, policy.as_ref()),
        policy: policy.as_ref(),
        actor: &args.actor,
        now: paths.now(),
    };
    let outcome = paths.with_store(async |store| {
        // An emergency acts on what the hosts run now, not on what they ran at the last look.
        if !args.no_assess {
            let config = ops::FleetAssessConfig {
                actor: args.actor.clone(),
                taken_at_unix: paths.virtual_clock().then(|| paths.now().timestamp()),
                ..ops::FleetAssessConfig::default()
            };
            let on_done = |host: &str, outcome: &ops::HostOutcome, _: usize| {
                if let ops::HostOutcome::Failed(failure) = outcome {
                    eprintln!(
                        "patchctl: {host} could not be assessed, so it is not planned: {} ({})",
                        failure.message, failure.kind
                    );
                }
            };
            ops::assess_hosts(&hosts, store, &config, &on_done)
                .await
                .context("assessing the hosts")?;
        }
        let outcome = ops::emergency::emergency(store, &request)
            .await
            .context("running the emergency track")?;
        anyhow::Ok(outcome)
    })?;
    if outcome.advisories.is_empty() {
        println!("no host is exposed to an advisory that calls for the emergency track");
        return Ok(ExitCode::SUCCESS);
    }
    for (id, score) in &outcome.advisories {
        let score = score.map_or("unscored".to_owned(), |s| format!("CVSS {s:.1}"));
        println!("emergency: {id} ({score})");
    }
    match &outcome.plan {
        Some(plan) => {
            let hosts: Vec<&str> = plan.hosts.iter().map(|h| h.host.as_str()).collect();
            println!("plan {} for {}", plan.id, hosts.join(", "));
            println!("  start it with `patchctl rollout start {}`", short(&plan.id));
        }
        None => println!("no host can be planned now"),
    }
    for refusal in &outcome.deferred {
        println!("waits: {refusal}");
    }
    for (host, why) in &outcome.unfixable {
        println!("no fix yet on {host}: {why}");
    }
    for withheld in &outcome.withheld {
        println!("{}", ops::emergency::still_exposed(withheld));
    }
    if !outcome.withheld.is_empty() {
        let hosts: std::collections::BTreeSet<&str> =
            outcome.withheld.iter().map(|w| w.host.as_str()).collect();
        eprintln!(
            "patchctl: warning: {} stay exposed: the policy's baselines withhold their fixing \
             packages (see STILL EXPOSED above)",
            hosts.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(postmortem) = &outcome.postmortem {
        println!("postmortem {} due at {}", postmortem.id, postmortem.due_at);
    }
    if let Some(report) = &outcome.notified {
        for problem in report.problems() {
            eprintln!("patchctl: notification not delivered: {problem}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
