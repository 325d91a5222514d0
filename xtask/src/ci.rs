//! `cargo xtask ci`: exactly what CI runs. Format, lint, build the images the integration tests
//! need and the .deb, then every test with the integration tests switched on.

use std::process::Command;

use anyhow::{Context, bail};

use fleet::images;

use crate::deb;

/// The environment variable that switches on the tests that need real tools, containers or
/// services. `cargo test` alone leaves it unset and stays fast.
pub const INTEGRATION_ENV: &str = "PATCHCTL_INTEGRATION";
/// The base image's tag, handed to the tests that start containers.
pub const BASE_IMAGE_ENV: &str = "PATCHCTL_BASE_IMAGE";
/// The schemathesis program, handed to the test that fuzzes the server's API with it.
pub const SCHEMATHESIS_ENV: &str = "PATCHCTL_SCHEMATHESIS";
/// The oidc-provider-mock program, the OIDC provider the server's login tests start.
pub const OIDC_PROVIDER_ENV: &str = "PATCHCTL_OIDC_PROVIDER";

pub fn run() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])
        .context("formatting differs: run `cargo fmt --all`")?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])
        .context("clippy found problems")?;
    let base_image = images::base_image().context("building the base image")?;
    let nextest = has_nextest();
    if !nextest {
        eprintln!("xtask: cargo-nextest not found, running cargo test");
    }
    let test_command = |extra: &[&str]| {
        let mut test = Command::new("cargo");
        match nextest {
            true => test.args(["nextest", "run"]),
            false => test.arg("test"),
        };
        test.args(["--workspace", "--locked"]).args(extra);
        test
    };
    // The tests' build makes the dev binary, which the .deb packages (stripped): no second,
    // release compile. The install test (`deb_install.rs`) installs that .deb.
    run_command(&mut test_command(&["--no-run"])).context("building the tests")?;
    let deb = deb::build("dev", false).context("building the .deb")?;
    let mut test = test_command(&["--no-fail-fast"]);
    test.env(INTEGRATION_ENV, "1").env(BASE_IMAGE_ENV, &base_image).env(deb::DEB_ENV, &deb);
    // The API fuzzed against its OpenAPI document (`server/tests/it/schema.rs`).
    let schemathesis = pip_tool("ci-venv", "schemathesis", "schemathesis")?;
    test.env(SCHEMATHESIS_ENV, &schemathesis);
    // A real OIDC provider for the OIDC login (`server/tests/it/oidc.rs`, `browser.rs`); its
    // authorization form is what the tests fill in, so the minor version is held.
    let provider = pip_tool("ci-venv", "oidc-provider-mock>=0.3,<0.4", "oidc-provider-mock")?;
    test.env(OIDC_PROVIDER_ENV, &provider);
    // The rollout simulation runs 500 seeds by default; CI runs thousands (a few seconds).
    test.env("PATCHCTL_SIM_SEEDS", "5000");
    // Kill-and-failover trials of the real driver (`ops/tests/it/failover_sim.rs`): 100 by
    // default, 1,000 on each database in CI (about 7 minutes on PostgreSQL, where a process
    // frozen inside a transaction holds the next one up for the 15 s PostgreSQL takes to end it).
    test.env("PATCHCTL_FAILOVER_TRIALS", "1000");
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

/// `binary` of the PyPI package `package`, installed in `target/VENV` when missing.
pub fn pip_tool(venv: &str, package: &str, binary: &str) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all("target")?;
    let venv = std::fs::canonicalize("target")?.join(venv);
    let program = venv.join("bin").join(binary);
    if !program.exists() {
        if !venv.join("bin/pip").exists() {
            run_command(Command::new("python3").arg("-m").arg("venv").arg(&venv))
                .context("making a Python venv (python3-venv)")?;
        }
        run_command(Command::new(venv.join("bin/pip")).args(["install", "--quiet", package]))
            .with_context(|| format!("installing {package} from PyPI"))?;
    }
    Ok(program)
}
