//! `cargo xtask fleet …`: the test fleet from the command line.
//!
//!     cargo xtask fleet up [--debian N] [--rpm N] [--name NAME]
//!     cargo xtask fleet status | down [--name NAME]
//!     cargo xtask fleet kill|partition|heal|reboot|fill-disk|hold-lock|interrupt-dpkg HOST [--name NAME]
//!
//! The default fleet is `patchctl-fleet`, kept in `fleet/` (its SSH key and `inventory.toml`);
//! another name is kept in `fleet/NAME/`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use fleet::{Fault, Fleet, FleetSpec};

const DEFAULT_NAME: &str = "patchctl-fleet";

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let mut name = DEFAULT_NAME.to_owned();
    let (mut n_debian, mut n_rpm) = (6, 2);
    let mut words = Vec::new();
    let mut iter = args.iter();
    while let Some(&arg) = iter.next() {
        let mut value = || iter.next().copied().with_context(|| format!("{arg} needs a value"));
        match arg {
            "--name" => name = value()?.to_owned(),
            "--debian" => n_debian = value()?.parse().context("--debian takes a number")?,
            "--rpm" => n_rpm = value()?.parse().context("--rpm takes a number")?,
            _ if arg.starts_with("--") => bail!("unknown option {arg}"),
            _ => words.push(arg),
        }
    }
    let dir = fleet_dir(&name);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match words.as_slice() {
        ["up"] => {
            let inputs = build_inputs()?;
            let spec = FleetSpec { name: name.clone(), dir, n_debian, n_rpm };
            let fleet = runtime.block_on(fleet::up(&spec, &inputs))?;
            for host in &fleet.hosts {
                println!(
                    "{:6} {:15} {:10} {}",
                    host.name, host.address, host.environment, host.container
                );
            }
            println!("inventory: {}", fleet.inventory.display());
            println!("ssh: ssh -i {} root@ADDRESS", fleet.ssh_key.display());
            Ok(())
        }
        ["down"] => {
            let removed = runtime.block_on(fleet::down(&name))?;
            println!("fleet {name}: removed {removed} containers and networks");
            Ok(())
        }
        ["status"] => {
            let fleet = Fleet::load(&name, &dir)?;
            for host in runtime.block_on(fleet::status(&fleet))? {
                let state = match host.running {
                    None => "missing",
                    Some(false) => "stopped",
                    Some(true) if !host.connected => "cut off",
                    Some(true) if !host.sshd_answers => "no sshd",
                    Some(true) => "up",
                };
                println!("{:6} {:15} {:10} {state}", host.name, host.address, host.environment);
            }
            Ok(())
        }
        ["heal", host] => runtime.block_on(fleet::heal(&Fleet::load(&name, &dir)?, host)),
        [fault, host] => {
            let fault: Fault = fault.parse()?;
            runtime.block_on(fleet::inject(&Fleet::load(&name, &dir)?, host, fault))
        }
        _ => bail!(
            "usage: cargo xtask fleet up [--debian N] [--rpm N] | status | down | kill|partition|heal|reboot|fill-disk|hold-lock|interrupt-dpkg HOST  [--name NAME]"
        ),
    }
}

fn fleet_dir(name: &str) -> PathBuf {
    let root = PathBuf::from("fleet");
    if name == DEFAULT_NAME { root } else { root.join(name) }
}

/// The scenario repositories and the host images built from them; cached, so this is quick
/// once they exist.
pub fn build_inputs() -> anyhow::Result<fleet::FleetInputs> {
    let scenario = fleet::scenario::build(&fleet::cache_dir())
        .context("building the scenario repositories")?;
    let images = fleet::images::fleet_images(&scenario).context("building the fleet images")?;
    Ok(fleet::FleetInputs {
        debian_image: images.debian,
        rpm_image: images.rpm,
        repo_root: scenario.root,
    })
}
