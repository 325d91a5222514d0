//! `patchctl emergency [ADVISORY|CVE...]`: the expedited plan for advisories scored at or above
//! the policy's threshold (9.0 by default), or named here; the owners told, a postmortem due.

use std::process::ExitCode;

use anyhow::Context;
use model::plan::Scope;

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

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let ask = ops::emergency::EmergencyAsk {
        named: &args.ids,
        selectors: &args.selectors,
        options: args.strategy.options(Scope::All),
        actor: &args.actor,
        assess_first: !args.no_assess,
    };
    let outcome =
        ops::emergency::declare(ctx, &ask).await.context("running the emergency track")?;
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
