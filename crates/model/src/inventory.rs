//! The inventory: the hosts patchctl manages, how to reach them and how they are grouped, parsed
//! from the text of `inventory.toml` (the shell reads the file; this module does no I/O).
//!
//! Parse, then resolve: [`Inventory::parse`] deserializes strictly (an unknown key is an error,
//! so a typo is never ignored), checks every value, and resolves each host (defaults, then its
//! groups, then its own settings) into a [`ResolvedHost`], so that nothing downstream meets a
//! half-valid host. Every problem is reported with its file, line and column.
//!
//! The format:
//!
//! ```toml
//! [defaults]                  # optional; a host's own value wins
//! user = "root"               # default "root"
//! port = 22                   # default 22
//! ssh_key = "/path/id_ed25519"
//! sudo = false                # default: true exactly when user is not root
//! package_manager = "apt"     # apt | dnf; default: detected from os-release
//! environment = "production"  # also: transport, owner, vars, checks, hooks
//!
//! [hosts.deb1]
//! address = "172.29.5.11"     # required unless transport = "local"
//! environment = "dev"         # required here or in [defaults]
//! groups = ["debian", "web"]
//! tags = ["held"]
//! owner = "team-web"
//! host_key = "ssh-ed25519 AAAA…"
//! transport = "ssh"           # ssh (default) | local
//! [hosts.deb1.vars]           # free-form strings, for hooks
//!
//! [groups.linux]              # optional: a group needs no table to exist
//! owner = "team-ops"
//! children = ["debian"]       # hosts of `debian` are members of `linux` too
//! ```
//!
//! `checks` and `hooks` tables are accepted at the top, in `[defaults]`, in hosts and in groups,
//! and kept as raw TOML until a later issue gives them types.
//!
//! Precedence, as in Ansible: `[defaults]`, then groups from the most general to the most
//! specific (by depth below their top-level ancestor, then by name), then the host. It decides
//! `vars` (merged key by key) and `owner` (the first found from the host back).

mod error;
mod file;
mod group_graph;
mod host_key;
mod resolve;
pub(crate) mod validate;

pub mod ansible;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::PackageManagerKind;
use crate::checks::{Checks, Hooks};

pub use error::{InvalidInventory, InventoryError};
pub use host_key::{HostKey, KNOWN_HOST_KEY_TYPES};
pub(crate) use resolve::edit_distance;

/// A parsed, checked and resolved inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    hosts: Vec<ResolvedHost>,
    groups: Vec<Group>,
    checks: Option<Checks>,
    hooks: Option<Hooks>,
    audit: AuditSettings,
}

/// `[audit]` of the inventory file: where the heads of the evidence chains go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSettings {
    /// As written; `None`: beside the state database.
    pub anchor_file: Option<std::path::PathBuf>,
    /// Also to the system log.
    pub syslog: bool,
}

/// A host with every setting decided: defaults, groups and its own values applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedHost {
    pub name: String,
    /// An IP address or DNS name; `localhost` for the local transport when none is given.
    pub address: String,
    pub port: u16,
    pub user: String,
    /// As written: the shell expands a leading `~`.
    pub ssh_key: Option<PathBuf>,
    /// Run package commands through `sudo -n`.
    pub sudo: bool,
    pub environment: String,
    /// Every group the host is a member of, directly or through `children`, sorted.
    pub groups: Vec<String>,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    /// An override of os-release detection.
    pub package_manager: Option<PackageManagerKind>,
    /// The pinned host key in canonical `TYPE BASE64` form (checked by [`HostKey::parse`]).
    pub host_key: Option<String>,
    pub transport: TransportKind,
    pub vars: BTreeMap<String, String>,
    /// The host's own tables, else `[defaults]`'s, as written (variables not yet substituted:
    /// `checks::host_checks` does that).
    pub checks: Option<Checks>,
    pub hooks: Option<Hooks>,
}

/// How patchctl reaches a host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Agentless, over SSH: the default.
    #[default]
    Ssh,
    /// Processes on the machine patchctl runs on.
    Local,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Ssh => "ssh",
            TransportKind::Local => "local",
        }
    }
}

/// A group: declared with a `[groups.NAME]` table, named in a host's `groups`, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub owner: Option<String>,
    /// Groups whose hosts are members of this one too.
    pub children: Vec<String>,
    pub vars: BTreeMap<String, String>,
    /// Every member, directly or through children, in inventory order.
    pub hosts: Vec<String>,
    pub checks: Option<Checks>,
    pub hooks: Option<Hooks>,
}

impl Inventory {
    /// Parses the text of an inventory file. `path` is used only in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Inventory, InvalidInventory> {
        resolve::parse(path, text)
    }

    /// The `[audit]` settings.
    pub fn audit(&self) -> &AuditSettings {
        &self.audit
    }

    /// Every host, in the order of the file.
    pub fn hosts(&self) -> &[ResolvedHost] {
        &self.hosts
    }

    pub fn host(&self, name: &str) -> Option<&ResolvedHost> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Every group, sorted by name.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.binary_search_by(|g| g.name.as_str().cmp(name)).ok().map(|i| &self.groups[i])
    }

    /// The environments hosts are in, sorted.
    pub fn environments(&self) -> Vec<&str> {
        let mut environments: Vec<&str> =
            self.hosts.iter().map(|h| h.environment.as_str()).collect();
        environments.sort_unstable();
        environments.dedup();
        environments
    }

    /// The tags hosts carry, sorted.
    pub fn tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> =
            self.hosts.iter().flat_map(|h| h.tags.iter().map(String::as_str)).collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }

    /// The top-level `checks` table, raw.
    pub fn checks(&self) -> Option<&Checks> {
        self.checks.as_ref()
    }

    /// The top-level `hooks` table, raw.
    pub fn hooks(&self) -> Option<&Hooks> {
        self.hooks.as_ref()
    }
}

/// A host as the server lists it: what it is and where, none of how patchctl logs in.
impl From<&ResolvedHost> for protocol::output::host::HostV1 {
    fn from(host: &ResolvedHost) -> protocol::output::host::HostV1 {
        protocol::output::host::HostV1 {
            name: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            environment: host.environment.clone(),
            groups: host.groups.clone(),
            tags: host.tags.clone(),
            owner: host.owner.clone(),
            package_manager: host.package_manager.map(|kind| kind.to_string()),
            transport: host.transport.as_str().to_owned(),
        }
    }
}
