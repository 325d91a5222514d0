//! `patchctl advisories import FILE|DIR... | list | show ID`: the advisories patchctl matches
//! hosts against (OSV JSON, dnf updateinfo.xml and .xml.gz).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use model::advisory::Advisory;

use crate::table::Table;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

impl Args {
    /// Whether it writes to the state (`--now` then needs a rehearsal copy).
    pub fn writes(&self) -> bool {
        matches!(self.command, Command::Import { .. })
    }
}

#[derive(clap::Subcommand)]
enum Command {
    /// Import OSV records (.json) and dnf updateinfo (.xml, .xml.gz); directories recursively.
    /// Importing again updates what changed and never duplicates.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print every warning, not only their count and the first few.
        #[arg(long)]
        verbose: bool,
    },
    /// Every advisory known, with its CVEs and score.
    List,
    /// One advisory (by its id, or a CVE it fixes) with its affected packages per release.
    Show { id: String },
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Import { paths: files, verbose } => import(&files, verbose, ctx).await,
        Command::List => list(ctx).await,
        Command::Show { id } => show(&id, ctx).await,
    }
}

/// Skipped records and warnings shown in full up to this many, then counted.
const SHOWN: usize = 20;

async fn import(files: &[PathBuf], verbose: bool, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let report = ops::advisories::import(ctx, files).await.context("importing advisories")?;
    let limit = if verbose { usize::MAX } else { SHOWN };
    for skipped in report.skipped.iter().take(limit) {
        eprintln!("skipped {} in {}: {}", skipped.record, skipped.file, skipped.reason);
    }
    for warning in report.warnings.iter().take(limit) {
        eprintln!("warning: {} in {}: {}", warning.record, warning.file, warning.message);
    }
    let hidden =
        report.skipped.len().saturating_sub(limit) + report.warnings.len().saturating_sub(limit);
    if hidden > 0 {
        eprintln!("… and {hidden} more (--verbose shows them all)");
    }
    let counts = report.counts;
    println!(
        "{} files: {} advisories read ({} new, {} updated, {} unchanged), {} records skipped, {} warnings{}",
        report.n_files,
        report.n_advisories,
        counts.inserted,
        counts.updated,
        counts.unchanged,
        report.skipped.len(),
        report.warnings.len(),
        if report.ignored_files.is_empty() {
            String::new()
        } else {
            format!(", {} other files ignored", report.ignored_files.len())
        }
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let advisories = ops::advisories::list(ctx).await?;
    let mut table =
        Table::new(["ID", "FORMAT", "TYPE", "SEVERITY", "CVSS", "PACKAGES", "CVES", "SUMMARY"]);
    for stored in &advisories {
        let a = &stored.advisory;
        let mut packages: Vec<&str> = a.affected.iter().map(|p| p.package.as_str()).collect();
        packages.sort();
        packages.dedup();
        table.row([
            a.id.clone(),
            a.format.as_str().into(),
            format!("{:?}", a.kind).to_lowercase(),
            severity(a),
            a.highest_cvss().map(|s| format!("{:.1}", s.score)).unwrap_or_else(|| "-".into()),
            abbreviate(&packages),
            abbreviate(&a.cves.iter().map(String::as_str).collect::<Vec<_>>()),
            a.summary.clone(),
        ]);
    }
    print!("{}", table.render());
    println!("{} advisories", advisories.len());
    Ok(ExitCode::SUCCESS)
}

async fn show(id: &str, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let found = ops::advisories::find(ctx, id).await?;
    if found.is_empty() {
        anyhow::bail!("no advisory {id:?} (nor one fixing it) in {}", ctx.sources.state_name());
    }
    for stored in found {
        let a = &stored.advisory;
        println!("{} ({})", a.id, a.format.as_str());
        println!("  summary:   {}", a.summary);
        println!("  type:      {}", format!("{:?}", a.kind).to_lowercase());
        println!("  severity:  {}", severity(a));
        for score in &a.cvss {
            println!("  cvss:      {:.1} {}", score.score, score.vector);
        }
        println!("  cves:      {}", if a.cves.is_empty() { "-".into() } else { a.cves.join(" ") });
        if !a.aliases.is_empty() {
            println!("  aliases:   {}", a.aliases.join(" "));
        }
        println!("  published: {}", a.published.as_deref().unwrap_or("-"));
        println!(
            "  imported:  from {} at {} UTC",
            stored.source_file,
            crate::history::format_utc(stored.imported_at_unix)
        );
        let mut table = Table::new(["RELEASE", "PACKAGE", "AFFECTED", "FIXED IN"]);
        for affected in &a.affected {
            for range in &affected.ranges {
                let from =
                    range.introduced.as_deref().map_or("all".to_owned(), |v| format!(">= {v}"));
                let to = match (&range.fixed, &range.last_affected) {
                    (_, Some(last)) => format!("{from}, <= {last}"),
                    (Some(fixed), None) => format!("{from}, < {fixed}"),
                    (None, None) => from,
                };
                let mut package = affected.package.clone();
                if !affected.binaries.is_empty() {
                    package = format!("{package} ({})", affected.binaries.join(", "));
                }
                table.row([
                    affected.ecosystem.name.clone(),
                    package,
                    to,
                    range.fixed.clone().unwrap_or_else(|| "not fixed".into()),
                ]);
            }
        }
        for line in table.render().lines() {
            println!("  {line}");
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

fn severity(advisory: &Advisory) -> String {
    advisory.severity().map(|s| format!("{s:?}").to_lowercase()).unwrap_or_else(|| "-".into())
}

/// The first three, then a count.
fn abbreviate(items: &[&str]) -> String {
    match items.len() {
        0 => "-".into(),
        1..=3 => items.join(" "),
        n => format!("{} (+{} more)", items[..3].join(" "), n - 3),
    }
}
