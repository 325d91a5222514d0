//! `patchctl rehearsal create COPY [--empty] | show`: a copy of the state to rehearse in at a
//! virtual time (`--now`). A virtual clock dates nothing in real state: every command that
//! writes refuses `--now` unless its state database is a rehearsal copy, so no approval, gate,
//! assessment or journal time of the real record is ever taken from it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::{Paths, runtime};

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

pub fn run(args: Args, paths: &Paths) -> anyhow::Result<ExitCode> {
    let now = crate::clock::real_now_unix();
    match args.command {
        Command::Create { copy, empty } => {
            runtime()?.block_on(async {
                if empty {
                    let store = store::Store::create_empty_rehearsal(&copy, now).await?;
                    store.close().await;
                } else {
                    let from = paths.state();
                    anyhow::ensure!(
                        from.exists(),
                        "{} does not exist: nothing to copy (--empty makes an empty rehearsal)",
                        from.display()
                    );
                    let store = paths.store().await?;
                    store
                        .copy_for_rehearsal(&copy, &from.display().to_string(), now)
                        .await
                        .with_context(|| {
                            format!("copying {} to {}", from.display(), copy.display())
                        })?;
                    store.close().await;
                }
                anyhow::Ok(())
            })?;
            eprintln!(
                "patchctl: rehearsal state {}; run commands with `--state {} --now TIME`",
                copy.display(),
                copy.display()
            );
        }
        Command::Show => {
            let rehearsal = paths.with_store(async |store| {
                let rehearsal = store.rehearsal().await;
                anyhow::Ok(rehearsal?)
            })?;
            match rehearsal {
                Some((from, _)) if from.is_empty() => println!("an empty rehearsal state"),
                Some((from, _)) => println!("a rehearsal copy of {from}"),
                None => println!("real state: not a rehearsal"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses a virtual clock for a command that writes, unless the state is a rehearsal copy;
/// says loudly that it is one when it is.
pub fn check_clock(paths: &Paths, writes: bool) -> anyhow::Result<()> {
    let Some(at) = paths.now else { return Ok(()) };
    if !writes {
        return Ok(());
    }
    let state = paths.state();
    let rehearsal = if state.exists() {
        paths.with_store(async |store| {
            let rehearsal = store.rehearsal().await;
            anyhow::Ok(rehearsal?)
        })?
    } else {
        None
    };
    match rehearsal {
        Some(_) => {
            eprintln!(
                "patchctl: REHEARSAL at the virtual time {at}: {} is a rehearsal copy, not evidence",
                state.display()
            );
            Ok(())
        }
        None => anyhow::bail!(
            "--now {at}: a virtual clock may date nothing in the real state ({}); it is for \
             read-only commands, or for a rehearsal copy: `patchctl rehearsal create COPY`, then \
             `--state COPY --now …`",
            state.display()
        ),
    }
}
