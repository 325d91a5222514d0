//! `patchctl rehearsal create COPY [--empty] | show`: a copy of the state to rehearse in at a
//! virtual time (`--now`). A virtual clock dates nothing in real state: every command that
//! writes refuses `--now` unless its state database is a rehearsal copy, so no approval, gate,
//! assessment or journal time of the real record is ever taken from it.

use std::path::PathBuf;
use std::process::ExitCode;

use ops::Context;
use ops::rehearsal::StateKind;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Copy the state database (--state) to COPY, marked a rehearsal; then run commands with
    /// `--state COPY --now …`. The copy is never evidence.
    Create {
        copy: PathBuf,
        /// A new, empty rehearsal state instead of a copy.
        #[arg(long)]
        empty: bool,
    },
    /// Whether the state database is a rehearsal copy, and of what.
    Show,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Create { copy, empty } => {
            ops::rehearsal::create(ctx, &copy, empty).await?;
            eprintln!(
                "patchctl: rehearsal state {}; run commands with `--state {} --now TIME`",
                copy.display(),
                copy.display()
            );
        }
        Command::Show => match ops::rehearsal::kind(ctx).await? {
            StateKind::EmptyRehearsal => println!("an empty rehearsal state"),
            StateKind::CopyOf(from) => println!("a rehearsal copy of {from}"),
            StateKind::Real => println!("real state: not a rehearsal"),
        },
    }
    Ok(ExitCode::SUCCESS)
}
