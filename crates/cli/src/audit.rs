//! `patchctl audit verify [ROLLOUT | --all]`: every evidence chain checked, against itself and
//! against the heads exported before to the anchor file, whose heads it then exports again.
//! Exit code 5 when a chain is broken, was rewritten, lost entries, or vanished.

use std::process::ExitCode;

use ops::audit::{AuditReport, Scope};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Check the chains of one rollout's journal, or of every journal, change record and more.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// A rollout's id or a unique prefix.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    rollout: Option<String>,
    /// Every rollout journal and every plan's change journal.
    #[arg(long)]
    all: bool,
    #[arg(long, default_value = "text")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let Command::Verify(args) = args.command;
    let scope = match args.rollout {
        Some(rollout) => Scope::Rollout(rollout),
        None => Scope::All,
    };
    let report = ops::audit::check(ctx, &scope).await?;
    match args.format {
        Format::Text => print_text(&report),
        Format::Json => println!("{}", json(&report)),
    }
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        crate::exit::code(crate::exit::BROKEN_EVIDENCE)
    })
}

fn print_text(report: &AuditReport) {
    for chain in &report.chains {
        match &chain.problem {
            None if chain.not_covered => println!(
                "--      {}: written before such records were chained, not covered",
                chain.chain
            ),
            None => println!("ok      {} ({} entries)", chain.chain, chain.entries),
            Some(problem) => println!("BROKEN  {}: {problem}", chain.chain),
        }
    }
    for chain in &report.missing {
        println!("MISSING {chain}: its head was exported, but the database no longer has it");
    }
    let n_bad = report.chains.iter().filter(|c| c.problem.is_some()).count() + report.missing.len();
    if n_bad == 0 {
        eprintln!(
            "patchctl: {} chains intact; heads exported to {}",
            report.chains.len(),
            report.anchor_file.display()
        );
    } else {
        eprintln!(
            "patchctl: {n_bad} of {} chains are not intact: the state database was changed outside patchctl",
            report.chains.len() + report.missing.len()
        );
    }
}

/// The report as JSON.
pub(crate) fn json(report: &AuditReport) -> String {
    use ops::protocol::output::{audit::AuditReportV1, pretty};
    pretty(&AuditReportV1::from(report))
}
