//! `patchctl cve CVE-ID [SELECTOR…]`: which hosts are affected by one CVE, which are fixed, and
//! which it does not concern, from their latest assessments.

use std::process::ExitCode;

use model::advisory::is_cve_id;
use ops::advisories::CveVerdict;

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    /// `CVE-YYYY-NNNN`.
    cve: String,
    /// Hosts: `all` (the default), a host, a group, `env:NAME`, `tag:NAME`.
    selectors: Vec<String>,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let cve = args.cve.trim().to_ascii_uppercase();
    if !is_cve_id(&cve) {
        anyhow::bail!("{:?} is not a CVE id (CVE-YYYY-NNNN)", args.cve);
    }
    let texts =
        if args.selectors.is_empty() { vec!["all".to_owned()] } else { args.selectors.clone() };
    let (advisories, report) = ops::advisories::cve(ctx, &cve, &texts).await?;
    if advisories.is_empty() {
        anyhow::bail!(
            "no imported advisory fixes {cve}: import the distributions' records first \
             (patchctl advisories import)"
        );
    }
    if args.json {
        println!("{}", json(&cve, &advisories, &report));
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<&str> = advisories.iter().map(|a| a.id.as_str()).collect();
    let highest = advisories
        .iter()
        .filter_map(|a| a.highest_cvss())
        .max_by(|a, b| a.score.total_cmp(&b.score));
    println!(
        "{cve}: fixed by {}{}",
        ids.join(", "),
        highest.map(|s| format!("; CVSS {:.1} {}", s.score, s.vector)).unwrap_or_default()
    );
    let mut table =
        Table::new(["HOST", "VERDICT", "PACKAGE", "INSTALLED", "FIXED IN", "UPDATE", "ADVISORY"]);
    let mut counts = [0usize; 6];
    for host in &report {
        counts[host.verdict as usize] += 1;
        let verdict = verdict_word(host.verdict).to_owned();
        if host.findings.is_empty() {
            let note = host.message.clone().unwrap_or_else(|| "-".into());
            table.row([
                host.host.clone(),
                verdict.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                note,
            ]);
        }
        for f in &host.findings {
            table.row([
                host.host.clone(),
                verdict.clone(),
                f.package.clone(),
                f.installed_version.clone(),
                f.fixed_version.clone().unwrap_or_else(|| "not fixed".into()),
                f.update.clone().unwrap_or_else(|| "-".into()),
                f.advisory.clone(),
            ]);
        }
    }
    print!("{}", table.render());
    let verdicts = [
        CveVerdict::Affected,
        CveVerdict::Undecided,
        CveVerdict::Fixed,
        CveVerdict::NotApplicable,
        CveVerdict::NotAssessed,
        CveVerdict::AssessmentFailed,
    ];
    let summary: Vec<String> = verdicts
        .iter()
        .filter(|v| counts[**v as usize] > 0)
        .map(|v| format!("{} {}", counts[*v as usize], verdict_word(*v)))
        .collect();
    println!("{}", summary.join(", "));
    Ok(ExitCode::SUCCESS)
}

fn verdict_word(verdict: CveVerdict) -> &'static str {
    match verdict {
        CveVerdict::Affected => "affected",
        CveVerdict::Undecided => "undecided",
        CveVerdict::Fixed => "fixed",
        CveVerdict::NotApplicable => "not applicable",
        CveVerdict::NotAssessed => "not assessed",
        CveVerdict::AssessmentFailed => "assessment failed",
    }
}

/// The report as JSON: the CVE, the advisories that fix it, each host's verdict.
pub(crate) fn json(
    cve: &str,
    advisories: &[model::advisory::Advisory],
    report: &[ops::advisories::CveHost],
) -> String {
    ops::protocol::output::pretty_sorted(&ops::advisories::cve_output(cve, advisories, report))
}
