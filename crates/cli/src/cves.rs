//! `patchctl cves [SELECTOR…] [--min-cvss 7.0] [--format table|json|csv]`: what each host is
//! exposed to, from its latest assessment, with the update that fixes it.

use std::process::ExitCode;

use ops::advisories::{Finding, HostExposure, HostExposureState};

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    /// Hosts: `all` (the default), a host, a group, `env:NAME`, `tag:NAME`.
    selectors: Vec<String>,
    /// Only advisories whose highest CVSS base score is at least this (those without a score
    /// are left out).
    #[arg(long, value_name = "SCORE")]
    min_cvss: Option<f64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    if let Some(min) = args.min_cvss
        && !(0.0..=10.0).contains(&min)
    {
        anyhow::bail!("--min-cvss {min}: a CVSS score is between 0.0 and 10.0");
    }
    let texts =
        if args.selectors.is_empty() { vec!["all".to_owned()] } else { args.selectors.clone() };
    let mut exposures = ops::advisories::host_exposures(ctx, &texts).await?;
    if let Some(min) = args.min_cvss {
        for host in &mut exposures {
            if let HostExposureState::Assessed { findings } = &mut host.state {
                findings.retain(|f| f.cvss_score.is_some_and(|score| score >= min));
            }
        }
    }
    match args.format {
        Format::Json => println!("{}", json(&exposures)),
        Format::Csv => print!("{}", csv(&exposures)),
        Format::Table => print!("{}", table(&exposures)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The exposures as JSON.
pub(crate) fn json(exposures: &[HostExposure]) -> String {
    use ops::protocol::output::{advisory::HostExposureV1, pretty};
    pretty(&exposures.iter().map(HostExposureV1::from).collect::<Vec<_>>())
}

/// One row per host and CVE (an advisory without CVE id gives one row under its own id).
fn rows(finding: &Finding) -> Vec<String> {
    if finding.cves.is_empty() { vec![finding.advisory.clone()] } else { finding.cves.clone() }
}

fn table(exposures: &[HostExposure]) -> String {
    let mut table = Table::new([
        "HOST",
        "CVE",
        "ADVISORY",
        "SEVERITY",
        "CVSS",
        "PACKAGE",
        "INSTALLED",
        "FIXED IN",
        "UPDATE",
        "STATUS",
    ]);
    let mut n_exposed = 0;
    for host in exposures {
        match &host.state {
            HostExposureState::NotAssessed => {
                table.row(cells(&host.host, "-", None, "not assessed"))
            }
            HostExposureState::AssessmentFailed { message } => table.row(cells(
                &host.host,
                "-",
                None,
                &format!("latest assessment failed: {message}"),
            )),
            HostExposureState::Assessed { findings } => {
                if !findings.is_empty() {
                    n_exposed += 1;
                }
                for finding in findings {
                    for cve in rows(finding) {
                        table.row(cells(&host.host, &cve, Some(finding), ""));
                    }
                }
            }
        }
    }
    format!("{}{n_exposed} of {} hosts exposed\n", table.render(), exposures.len())
}

fn cells(host: &str, cve: &str, finding: Option<&Finding>, status: &str) -> [String; 10] {
    let dash = || "-".to_owned();
    let Some(f) = finding else {
        return [
            host.into(),
            cve.into(),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
            status.into(),
        ];
    };
    let status = match &f.reason {
        Some(reason) => format!("undecided: {reason}"),
        None => format!("{:?}", f.status).to_lowercase(),
    };
    [
        host.into(),
        cve.into(),
        f.advisory.clone(),
        f.severity.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_else(dash),
        f.cvss_score.map(|s| format!("{s:.1}")).unwrap_or_else(dash),
        f.package.clone(),
        f.installed_version.clone(),
        f.fixed_version.clone().unwrap_or_else(|| "not fixed".into()),
        f.update.clone().unwrap_or_else(dash),
        status,
    ]
}

fn csv(exposures: &[HostExposure]) -> String {
    let mut out = String::from(
        "host,cve,advisory,severity,cvss,package,installed_version,fixed_version,update,status\n",
    );
    for host in exposures {
        match &host.state {
            HostExposureState::Assessed { findings } => {
                for finding in findings {
                    for cve in rows(finding) {
                        let mut fields = cells(&host.host, &cve, Some(finding), "").to_vec();
                        for field in &mut fields {
                            if field == "-" {
                                field.clear();
                            }
                        }
                        out.push_str(&crate::assess::csv_line(&fields));
                    }
                }
            }
            HostExposureState::NotAssessed => {
                let mut fields = vec![String::new(); 10];
                fields[0] = host.host.clone();
                fields[9] = "not assessed".into();
                out.push_str(&crate::assess::csv_line(&fields));
            }
            HostExposureState::AssessmentFailed { message } => {
                let mut fields = vec![String::new(); 10];
                fields[0] = host.host.clone();
                fields[9] = format!("latest assessment failed: {message}");
                out.push_str(&crate::assess::csv_line(&fields));
            }
        }
    }
    out
}
