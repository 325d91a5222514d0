//! `patchctl compliance [SELECTOR...]`: whether hosts and environments are patched as the
//! policy says, with the evidence. Exit code 4 when anything is not compliant, for monitoring.

use std::process::ExitCode;

use anyhow::Context;
use model::compliance::{Check, Report, Status, to_csv, to_document};

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    /// `all` (the default), a host, a group, `env:NAME` or `tag:NAME`.
    selectors: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Md,
    Html,
    Csv,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let texts = if args.selectors.is_empty() { vec!["all".to_owned()] } else { args.selectors };
    let report = ops::compliance::report(ctx, &texts).await.context("evaluating compliance")?;
    match args.format {
        Format::Table => print!("{}", table(&report)),
        Format::Json => println!("{}", json(&report)),
        Format::Md => print!("{}", to_document(&report).to_markdown()),
        Format::Html => print!("{}", to_document(&report).to_html()),
        Format::Csv => print!("{}", to_csv(&report)),
    }
    if report.compliant {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("patchctl: not compliant (exit code {})", crate::exit::NOT_COMPLIANT);
        Ok(crate::exit::code(crate::exit::NOT_COMPLIANT))
    }
}

/// The report as JSON.
pub(crate) fn json(report: &Report) -> String {
    use ops::protocol::output::{compliance::ComplianceReportV1, pretty};
    pretty(&ComplianceReportV1::from(report))
}

/// A line per host with each check's status, then what fails, with its summary.
fn table(report: &Report) -> String {
    let mut table = Table::new([
        "HOST",
        "ENVIRONMENT",
        "SLA",
        "PROMOTION",
        "HEALTHY",
        "KERNELS",
        "ROLLBACK",
        "ASSESSED",
        "POSTMORTEMS",
    ]);
    for host in &report.hosts {
        let cell = |check: Check| {
            let status = host.findings.iter().find(|f| f.check == check).map(|f| f.status);
            match status {
                Some(Status::Pass) => "ok",
                Some(Status::Fail) => "FAIL",
                _ => "-",
            }
            .to_owned()
        };
        table.row([
            host.host.clone(),
            host.environment.clone(),
            cell(Check::Sla),
            cell(Check::Promotion),
            cell(Check::Healthy),
            cell(Check::Kernels),
            cell(Check::RollbackPlan),
            cell(Check::AssessmentAge),
            cell(Check::Postmortems),
        ]);
    }
    let mut out = table.render();
    for host in &report.hosts {
        for finding in host.findings.iter().filter(|f| f.status == Status::Fail) {
            out.push_str(&format!(
                "{} {}: {}\n",
                host.host,
                finding.check.as_str(),
                finding.summary
            ));
            for detail in &finding.details {
                out.push_str(&format!("    {detail}\n"));
            }
        }
    }
    for finding in report.fleet_findings.iter().filter(|f| f.status == Status::Fail) {
        out.push_str(&format!("fleet {}: {}\n", finding.check.as_str(), finding.summary));
        for detail in &finding.details {
            out.push_str(&format!("    {detail}\n"));
        }
    }
    out.push_str(&format!(
        "{} at {}\n",
        if report.compliant { "compliant" } else { "NOT compliant" },
        report.evaluated_at
    ));
    out
}
