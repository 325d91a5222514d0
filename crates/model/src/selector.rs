//! Selectors: which hosts of the inventory a command acts on (`patchctl assess web env:dev`).
//!
//! - `all`: every host;
//! - a bare word: the host or the group of that name;
//! - `host:NAME`, `group:NAME`: the same, explicitly;
//! - `env:NAME`: the hosts of an environment; `tag:NAME`: the hosts with a tag.
//!
//! Several selectors select the union, in inventory order. A selector that matches nothing is
//! an error that names it: a typo must never quietly shrink the set of hosts a command acts on.
//! A bare word that names both a host and a group is refused as ambiguous rather than guessed
//! (the message says to write `host:NAME` or `group:NAME`): patching one machine when a group
//! was meant, or a group when one machine was, is worse than a second try.

use std::fmt;
use std::str::FromStr;

use crate::inventory::validate::{check_environment, check_name};
use crate::inventory::{Inventory, ResolvedHost, edit_distance};

/// One selector, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    All,
    /// A host or a group.
    Name(String),
    Host(String),
    Group(String),
    Env(String),
    Tag(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("invalid selector {text:?}: {reason}")]
    Invalid { text: String, reason: String },
    #[error("no selector given: name hosts or groups, or use env:NAME, tag:NAME or all")]
    Empty,
    #[error("selector {selector:?} matches no host: {reason}")]
    NoMatch { selector: String, reason: String },
    #[error(
        "selector {name:?} is ambiguous: it is both a host and a group; write host:{name} or group:{name}"
    )]
    Ambiguous { name: String },
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectError> {
        let invalid = |reason: String| SelectError::Invalid { text: text.to_owned(), reason };
        if text == "all" {
            return Ok(Selector::All);
        }
        let Some((kind, name)) = text.split_once(':') else {
            check_name("host or group", text).map_err(invalid)?;
            return Ok(Selector::Name(text.to_owned()));
        };
        match kind {
            "host" => check_name("host", name).map(|()| Selector::Host(name.to_owned())),
            "group" => check_name("group", name).map(|()| Selector::Group(name.to_owned())),
            "env" => check_environment(name).map(|()| Selector::Env(name.to_owned())),
            "tag" => check_name("tag", name).map(|()| Selector::Tag(name.to_owned())),
            _ => Err(format!("unknown kind {kind:?}: expected host:, group:, env: or tag:")),
        }
        .map_err(invalid)
    }

    fn matches(&self, host: &ResolvedHost) -> bool {
        match self {
            Selector::All => true,
            Selector::Name(name) | Selector::Host(name) if *name == host.name => true,
            Selector::Name(name) | Selector::Group(name) => host.groups.contains(name),
            Selector::Host(_) => false,
            Selector::Env(environment) => host.environment == *environment,
            Selector::Tag(tag) => host.tags.contains(tag),
        }
    }
}

impl FromStr for Selector {
    type Err = SelectError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Selector::parse(text)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::All => f.write_str("all"),
            Selector::Name(name) => f.write_str(name),
            Selector::Host(name) => write!(f, "host:{name}"),
            Selector::Group(name) => write!(f, "group:{name}"),
            Selector::Env(name) => write!(f, "env:{name}"),
            Selector::Tag(name) => write!(f, "tag:{name}"),
        }
    }
}

/// The hosts any of `selectors` matches, each once, in inventory order.
pub fn select<'i>(
    inventory: &'i Inventory,
    selectors: &[Selector],
) -> Result<Vec<&'i ResolvedHost>, SelectError> {
    if selectors.is_empty() {
        return Err(SelectError::Empty);
    }
    for selector in selectors {
        check_matches_something(inventory, selector)?;
    }
    Ok(inventory.hosts().iter().filter(|h| selectors.iter().any(|s| s.matches(h))).collect())
}

fn check_matches_something(inventory: &Inventory, selector: &Selector) -> Result<(), SelectError> {
    if let Selector::Name(name) = selector {
        let is_host = inventory.host(name).is_some();
        let is_group = inventory.group(name).is_some();
        if is_host && is_group {
            return Err(SelectError::Ambiguous { name: name.clone() });
        }
    }
    if inventory.hosts().iter().any(|h| selector.matches(h)) {
        return Ok(());
    }
    let hosts = || inventory.hosts().iter().map(|h| h.name.as_str());
    let groups = || inventory.groups().iter().map(|g| g.name.as_str());
    let reason = match selector {
        Selector::All => "the inventory has no hosts".to_owned(),
        Selector::Name(name) if inventory.group(name).is_some() => {
            format!("group {name:?} has no hosts")
        }
        Selector::Name(name) => format!(
            "no host or group is named {name:?}{}",
            did_you_mean(name, hosts().chain(groups()))
        ),
        Selector::Host(name) => format!("no host is named {name:?}{}", did_you_mean(name, hosts())),
        Selector::Group(name) if inventory.group(name).is_some() => {
            format!("group {name:?} has no hosts")
        }
        Selector::Group(name) => {
            format!("no group is named {name:?}{}", did_you_mean(name, groups()))
        }
        Selector::Env(name) => format!(
            "no host is in environment {name:?} (environments: {})",
            list(&inventory.environments())
        ),
        Selector::Tag(name) => {
            format!("no host has tag {name:?} (tags: {})", list(&inventory.tags()))
        }
    };
    Err(SelectError::NoMatch { selector: selector.to_string(), reason })
}

fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    candidates
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2 && *distance < name.chars().count())
        .min()
        .map(|(_, candidate)| format!(" (did you mean {candidate:?}?)"))
        .unwrap_or_default()
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const INVENTORY: &str = r#"
[defaults]
environment = "production"

[hosts.deb1]
address = "10.0.0.1"
environment = "dev"
groups = ["debian", "web"]
tags = ["held"]

[hosts.rpm1]
address = "10.0.0.2"
groups = ["rpm", "web"]

[hosts.deb2]
address = "10.0.0.3"
groups = ["debian"]

[hosts.db]
address = "10.0.0.4"

[groups.linux]
children = ["debian", "rpm"]

[groups.db]
[groups.empty]
"#;

    fn names(selectors: &[&str]) -> Result<Vec<String>, SelectError> {
        let inventory = Inventory::parse(Path::new("inventory.toml"), INVENTORY).unwrap();
        let selectors: Vec<Selector> =
            selectors.iter().map(|s| s.parse()).collect::<Result<_, _>>()?;
        Ok(select(&inventory, &selectors)?.into_iter().map(|h| h.name.clone()).collect())
    }

    #[test]
    fn each_kind_of_selector() {
        assert_eq!(names(&["all"]).unwrap(), ["deb1", "rpm1", "deb2", "db"]);
        assert_eq!(names(&["deb2"]).unwrap(), ["deb2"]);
        assert_eq!(names(&["web"]).unwrap(), ["deb1", "rpm1"]);
        assert_eq!(names(&["linux"]).unwrap(), ["deb1", "rpm1", "deb2"]);
        assert_eq!(names(&["env:production"]).unwrap(), ["rpm1", "deb2", "db"]);
        assert_eq!(names(&["tag:held"]).unwrap(), ["deb1"]);
        assert_eq!(names(&["host:db"]).unwrap(), ["db"]);
        assert_eq!(names(&["group:debian"]).unwrap(), ["deb1", "deb2"]);
    }

    #[test]
    fn several_selectors_select_the_union_in_inventory_order() {
        assert_eq!(names(&["deb2", "tag:held", "rpm", "deb1"]).unwrap(), ["deb1", "rpm1", "deb2"]);
    }

    #[test]
    fn a_selector_that_matches_nothing_is_an_error_naming_it() {
        let message = |s: &[&str]| names(s).unwrap_err().to_string();
        assert_eq!(
            message(&["web", "wbe"]),
            "selector \"wbe\" matches no host: no host or group is named \"wbe\" (did you mean \"web\"?)"
        );
        assert_eq!(
            message(&["env:prod"]),
            "selector \"env:prod\" matches no host: no host is in environment \"prod\" \
             (environments: dev, production)"
        );
        assert_eq!(
            message(&["tag:frozen"]),
            "selector \"tag:frozen\" matches no host: no host has tag \"frozen\" (tags: held)"
        );
        assert_eq!(
            message(&["empty"]),
            "selector \"empty\" matches no host: group \"empty\" has no hosts"
        );
        assert_eq!(
            message(&["group:deb1"]),
            "selector \"group:deb1\" matches no host: no group is named \"deb1\" (did you mean \"db\"?)"
        );
        assert_eq!(
            message(&["host:zzz"]),
            "selector \"host:zzz\" matches no host: no host is named \"zzz\""
        );
        assert_eq!(names(&[]).unwrap_err(), SelectError::Empty);
    }

    #[test]
    fn a_name_that_is_both_a_host_and_a_group_must_say_which() {
        assert_eq!(names(&["db"]).unwrap_err(), SelectError::Ambiguous { name: "db".to_owned() });
        assert_eq!(
            SelectError::Ambiguous { name: "db".to_owned() }.to_string(),
            "selector \"db\" is ambiguous: it is both a host and a group; write host:db or group:db"
        );
    }

    #[test]
    fn malformed_selectors() {
        for (text, reason) in [
            ("", "host or group name is empty"),
            ("a b", "contains ' '"),
            ("os:debian", "unknown kind \"os\""),
            ("env:Prod", "contains 'P'"),
            ("tag:", "tag name is empty"),
        ] {
            let error = Selector::parse(text).unwrap_err().to_string();
            assert!(error.contains(reason), "{text:?}: {error}");
        }
        for text in ["all", "web", "host:a", "group:b", "env:dev", "tag:held"] {
            assert_eq!(Selector::parse(text).unwrap().to_string(), text);
        }
    }
}
