//! The fleet's `inventory.toml`: the hosts, how to reach them, and their pinned host keys, in the
//! inventory format `patchctl` reads.

use std::path::Path;

use anyhow::Context;

use crate::fleet::{Family, Host};

pub fn write(path: &Path, fleet: &str, ssh_key: &Path, hosts: &[Host]) -> anyhow::Result<()> {
    let mut text = format!(
        "# The patchctl test fleet {fleet:?}, written by `cargo xtask fleet up`.\n\
         # Host keys are pinned below: nobody needs StrictHostKeyChecking=no.\n\n\
         [defaults]\nuser = \"root\"\nport = 22\nssh_key = {}\n",
        toml_string(&ssh_key.display().to_string())
    );
    for host in hosts {
        let (package_manager, family_group) = match host.family {
            Family::Debian => ("apt", "debian"),
            Family::Rpm => ("dnf", "rpm"),
        };
        let tags = if host.held { "[\"held\"]" } else { "[]" };
        text.push_str(&format!(
            "\n[hosts.{name}]\naddress = {address}\nenvironment = {environment}\ngroups = [{family_group:?}, \"web\"]\ntags = {tags}\npackage_manager = {package_manager:?}\nhost_key = {host_key}\n",
            name = host.name,
            address = toml_string(&host.address),
            environment = toml_string(host.environment),
            host_key = toml_string(&host.host_key),
        ));
    }
    // Proves the text is TOML before anyone reads it.
    text.parse::<toml::Table>().context("the fleet inventory is not valid TOML (a bug)")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

#[derive(serde::Deserialize)]
struct InventoryFile {
    defaults: Defaults,
    hosts: std::collections::BTreeMap<String, HostEntry>,
}

#[derive(serde::Deserialize)]
struct Defaults {
    ssh_key: std::path::PathBuf,
}

#[derive(serde::Deserialize)]
struct HostEntry {
    address: String,
    environment: String,
    tags: Vec<String>,
    package_manager: String,
    host_key: String,
}

/// Reads back an inventory this module wrote: the hosts and the SSH key.
pub fn read(path: &Path, fleet: &str) -> anyhow::Result<(std::path::PathBuf, Vec<Host>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (is the fleet up?)", path.display()))?;
    let file: InventoryFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut hosts = Vec::new();
    for (name, entry) in file.hosts {
        let family = match entry.package_manager.as_str() {
            "apt" => Family::Debian,
            "dnf" => Family::Rpm,
            other => {
                anyhow::bail!("{}: host {name}: unknown package_manager {other:?}", path.display())
            }
        };
        let environment = match entry.environment.as_str() {
            "dev" => "dev",
            "staging" => "staging",
            _ => "production",
        };
        hosts.push(Host {
            container: crate::fleet::container_name(fleet, &name),
            name,
            address: entry.address,
            family,
            environment,
            held: entry.tags.iter().any(|t| t == "held"),
            host_key: entry.host_key,
        });
    }
    Ok((file.defaults.ssh_key, hosts))
}
