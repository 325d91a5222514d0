//! `cargo xtask ci`: exactly what CI runs. Format, lint, build the images the integration tests
//! need, then every test with the integration tests switched on.

use std::process::Command;

use anyhow::{Context, bail};

use fleet::images;

/// The environment variable that switches on the tests that need real tools, containers or
/// services. `cargo test` alone leaves it unset and stays fast.
pub const INTEGRATION_ENV: &str = "PATCHCTL_INTEGRATION";
/// The base image's tag, handed to the tests that start containers.
pub const BASE_IMAGE_ENV: &str = "PATCHCTL_BASE_IMAGE";

pub fn run() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])
        .context("formatting differs: run `cargo fmt --all`")?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])
        .context("clippy found problems")?;
    let base_image = images::base_image().context("building the base image")?;
    let mut test = Command::new("cargo");
    if has_nextest() {
        test.args(["nextest", "run", "--workspace", "--locked", "--no-fail-fast"]);
    } else {
        eprintln!("xtask: cargo-nextest not found, running cargo test");
        test.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
    }
    test.env(INTEGRATION_ENV, "1").env(BASE_IMAGE_ENV, &base_image);
    // The rollout simulation runs 500 seeds by default; CI runs thousands (a few seconds).
    test.env("PATCHCTL_SIM_SEEDS", "5000");
    run_command(&mut test).context("tests failed")
}

fn has_nextest() -> bool {
    Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success())
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    run_command(Command::new("cargo").args(args))
}

pub fn run_command(command: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: running {command:?}");
    let status = command.status().with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} exited with {status}");
    }
    Ok(())
}
