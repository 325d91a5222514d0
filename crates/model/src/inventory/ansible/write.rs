//! Writes an imported inventory as our TOML, laid out as a person would write it: `[defaults]`,
//! then each host, then each group, every string escaped by `toml` itself.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::map::{Document, Fields};

pub(super) fn document(document: &Document) -> String {
    let mut out = String::new();
    // Control characters in a path would end the comment early.
    let source: String =
        document.source.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    let _ = writeln!(out, "# Imported from the Ansible inventory {source} by patchctl.");
    out.push_str(
        "# Ansible variables patchctl does not act on are kept under `vars`; the import listed\n\
         # each of them as a warning.\n",
    );
    out.push_str("\n[defaults]\n");
    let _ = writeln!(out, "environment = {}", string(&document.environment));
    fields(&mut out, &Fields { address: None, transport: None, ..document.defaults.clone() });
    vars(&mut out, "defaults", &document.default_vars);
    for host in &document.hosts {
        let table = format!("hosts.{}", key(&host.name));
        let _ = writeln!(out, "\n[{table}]");
        if let Some(address) = &host.fields.address {
            let _ = writeln!(out, "address = {}", string(address));
        }
        if !host.groups.is_empty() {
            let _ = writeln!(out, "groups = {}", list(&host.groups));
        }
        fields(&mut out, &Fields { address: None, ..host.fields.clone() });
        vars(&mut out, &table, &host.vars);
    }
    for group in &document.groups {
        let table = format!("groups.{}", key(&group.name));
        let _ = writeln!(out, "\n[{table}]");
        if !group.children.is_empty() {
            let _ = writeln!(out, "children = {}", list(&group.children));
        }
        vars(&mut out, &table, &group.vars);
    }
    out
}

fn fields(out: &mut String, fields: &Fields) {
    if let Some(address) = &fields.address {
        let _ = writeln!(out, "address = {}", string(address));
    }
    if let Some(user) = &fields.user {
        let _ = writeln!(out, "user = {}", string(user));
    }
    if let Some(port) = fields.port {
        let _ = writeln!(out, "port = {port}");
    }
    if let Some(ssh_key) = &fields.ssh_key {
        let _ = writeln!(out, "ssh_key = {}", string(ssh_key));
    }
    if let Some(sudo) = fields.sudo {
        let _ = writeln!(out, "sudo = {sudo}");
    }
    if let Some(transport) = fields.transport {
        let _ = writeln!(out, "transport = {}", string(transport.as_str()));
    }
}

fn vars(out: &mut String, table: &str, vars: &BTreeMap<String, String>) {
    if vars.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n[{table}.vars]");
    for (name, value) in vars {
        let _ = writeln!(out, "{} = {}", key(name), string(value));
    }
}

/// A TOML key: bare when TOML allows it, quoted otherwise (`"web01.example.com"`). Always a
/// basic string: `toml` writes a value holding both kinds of quote as a multi-line literal
/// string, which TOML does not allow as a key.
pub(super) fn key(name: &str) -> String {
    let bare =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        return name.to_owned();
    }
    let mut quoted = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn string(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

fn list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| string(i)).collect();
    format!("[{}]", items.join(", "))
}
