//! `patchctl init`: a commented patchctl.toml and the state database.

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::config::{Paths, runtime};

#[derive(clap::Args)]
pub struct Args {}

const TEMPLATE: &str = r#"# patchctl inventory and settings.
#
# Every host needs an environment; groups, tags and an owner are optional. Host keys are pinned:
# put the key here (host_key = "ssh-ed25519 AAAA…"), or let `patchctl assess --accept-new-host-keys`
# pin the key a host presents the first time, in the state database.

[defaults]
user = "root"
port = 22
# ssh_key = "~/.ssh/id_ed25519"    # otherwise the keys of your ssh-agent
environment = "production"

# This machine, without SSH.
[hosts.localhost]
transport = "local"
environment = "dev"

# [hosts.web1]
# address = "192.0.2.10"
# environment = "staging"
# groups = ["web"]
# tags = ["frontend"]
# owner = "team-web"
# user = "admin"          # not root: commands run through `sudo -n`
# host_key = "ssh-ed25519 AAAA…"

# [groups.web]
# owner = "team-web"
"#;

pub fn run(args: Args, paths: &Paths) -> anyhow::Result<ExitCode> {
    let Args {} = args;
    if paths.config.exists() {
        bail!("{} exists already; patchctl init never overwrites it", paths.config.display());
    }
    std::fs::write(&paths.config, TEMPLATE)
        .with_context(|| format!("writing {}", paths.config.display()))?;
    let state = paths.state();
    runtime()?.block_on(async {
        paths.store().await?.close().await;
        anyhow::Ok(())
    })?;
    println!("wrote {} and created the state database {}", paths.config.display(), state.display());
    println!("next: add your hosts to {}, then `patchctl assess all`", paths.config.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_template_is_a_valid_inventory() {
        let inventory =
            model::Inventory::parse(std::path::Path::new("patchctl.toml"), super::TEMPLATE)
                .unwrap();
        assert_eq!(inventory.hosts().len(), 1);
    }
}
