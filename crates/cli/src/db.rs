//! `patchctl db migrate`: brings the state database (the SQLite file, or PostgreSQL with
//! `--database-url` / `PATCHCTL_DATABASE_URL`) to this version's schema, as every command
//! does on first use; run it on its own before starting the servers of a new version.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create the state database if needed and apply the migrations it lacks.
    Migrate,
}

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Migrate => {
            ctx.create_state().await?;
            println!("the state database {} is migrated", ctx.sources.state_name());
        }
    }
    Ok(ExitCode::SUCCESS)
}
