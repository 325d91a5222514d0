//! `patchctl`: fleet patch management. One file per subcommand, each with its `Args` and `run`;
//! this file parses the command line, dispatches, and maps errors to exit codes in one place.

mod assess;
mod table;
mod vercmp;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "patchctl",
    version,
    about = "Fleet patch management: assess, plan, approve, patch in waves, verify, roll back, report."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a host's patch state as its own package manager sees it.
    Assess(assess::Args),
    /// Compare two package versions the way dpkg or rpm does.
    Vercmp(vercmp::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Assess(args) => assess::run(args),
        Command::Vercmp(args) => vercmp::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("patchctl: {error:#}");
            ExitCode::FAILURE
        }
    }
}
