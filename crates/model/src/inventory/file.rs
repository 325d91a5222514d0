//! The inventory file as written: the TOML shape, deserialized strictly (an unknown key is an
//! error, so a typo is never ignored), with the position of every value kept for messages.
//!
//! These types are the file format only; `resolve` turns them into the domain's `Inventory`.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use toml::Spanned;

use super::TransportKind;
use crate::PackageManagerKind;
use crate::checks::{Checks, Hooks};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InventoryFile {
    #[serde(default)]
    pub defaults: Option<DefaultsFile>,
    #[serde(default)]
    pub hosts: Entries<HostFile>,
    #[serde(default)]
    pub groups: Entries<GroupFile>,
    /// Typed as they are read, so a mistake in them is an error of the file at its line and
    /// column; variables are substituted per host (`checks::host_checks`).
    #[serde(default)]
    pub checks: Option<Checks>,
    #[serde(default)]
    pub hooks: Option<Hooks>,
    #[serde(default)]
    pub audit: Option<AuditFile>,
}

/// `[audit]`: where the heads of the evidence chains are exported, outside the database.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditFile {
    /// An append-only file of chain heads; relative paths are from the inventory's folder.
    pub anchor_file: Option<String>,
    /// Also send each head to the system log (`logger -t patchctl-audit`).
    #[serde(default)]
    pub syslog: bool,
}

/// Settings every host gets unless it sets its own (or, for `owner` and `vars`, a group does).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DefaultsFile {
    pub user: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
    pub ssh_key: Option<Spanned<String>>,
    pub sudo: Option<bool>,
    pub package_manager: Option<PackageManagerKind>,
    pub environment: Option<Spanned<String>>,
    pub transport: Option<TransportKind>,
    pub owner: Option<Spanned<String>>,
    #[serde(default)]
    pub vars: Entries<String>,
    #[serde(default)]
    pub checks: Option<Checks>,
    #[serde(default)]
    pub hooks: Option<Hooks>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostFile {
    pub address: Option<Spanned<String>>,
    pub environment: Option<Spanned<String>>,
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    pub owner: Option<Spanned<String>>,
    pub package_manager: Option<PackageManagerKind>,
    pub host_key: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    /// Signed and wide, so that `port = 0` or `port = 70000` gets our message ("1 to 65535")
    /// instead of serde's "expected u16".
    pub port: Option<Spanned<i64>>,
    pub ssh_key: Option<Spanned<String>>,
    pub sudo: Option<bool>,
    pub transport: Option<TransportKind>,
    #[serde(default)]
    pub vars: Entries<String>,
    #[serde(default)]
    pub checks: Option<Checks>,
    #[serde(default)]
    pub hooks: Option<Hooks>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupFile {
    pub owner: Option<Spanned<String>>,
    /// Groups whose hosts are also members of this one, as Ansible's `[group:children]`.
    #[serde(default)]
    pub children: Vec<Spanned<String>>,
    #[serde(default)]
    pub vars: Entries<String>,
    #[serde(default)]
    pub checks: Option<Checks>,
    #[serde(default)]
    pub hooks: Option<Hooks>,
}

/// A TOML table's entries in the order of the file, each key with its position.
///
/// Document order is what users expect when hosts are listed, and `toml` alone would sort the
/// keys; the key spans give the order back whatever map the deserializer uses.
#[derive(Debug)]
pub(crate) struct Entries<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<V> Entries<V> {
    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<String>, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Entries<String> {
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0.iter().map(|(k, v)| (k.get_ref().clone(), v.clone())).collect()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<Spanned<String>, V>()? {
                    entries.push((key, value));
                }
                entries.sort_by_key(|(key, _): &(Spanned<String>, V)| key.span().start);
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}
