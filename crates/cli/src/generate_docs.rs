//! `patchctl generate-docs DIR` (hidden): the man pages (clap_mangen) and the bash, zsh and
//! fish completions (clap_complete), generated from the command line's own definition so they
//! never drift from it. `cargo xtask deb` runs it and packages `DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap_complete::Shell;

#[derive(clap::Args)]
pub struct Args {
    /// Where to write `man/` (`patchctl.1`, `patchctl-serve.1`, …) and `completions/`.
    dir: PathBuf,
}

pub fn run(args: Args, command: clap::Command) -> anyhow::Result<ExitCode> {
    let man = args.dir.join("man");
    let completions = args.dir.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    clap_mangen::generate_to(command.clone(), &man)
        .with_context(|| format!("writing the man pages to {}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut command = command.clone();
        clap_complete::generate_to(shell, &mut command, "patchctl", completions.clone())
            .with_context(|| {
                format!("writing the {shell} completion to {}", completions.display())
            })?;
    }
    Ok(ExitCode::SUCCESS)
}
