//! Ansible's TOML inventory, read the way Ansible's `toml` plugin reads it:
//!
//! ```toml
//! [all.vars]
//! ntp_server = "ntp.example.com"
//!
//! [web]
//! children = ["apache", "nginx"]
//! vars = { http_port = 8080 }
//!
//! [web.hosts]
//! host1 = {}
//! host2 = { ansible_port = 222 }
//!
//! [apache.hosts]
//! "tomcat[1:3]" = {}
//! ```
//!
//! Each top-level table is a group of `hosts` (a table of host patterns, each a table of its
//! variables), `children` (a list of group names, each a group of its own) and `vars`. Values
//! that are not strings are kept as text, arrays and tables in JSON. Every key carries its
//! position (the `toml` crate's spans), so every message points at its line and column.

use std::fmt::Write;

use ::toml::Spanned;
use ::toml::de::{DeTable, DeValue};

use super::{Place, Source, Var};

pub(super) fn parse(source: &mut Source<'_>, text: &str) {
    let lines = Lines::new(text);
    let document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(error) => {
            let place = error
                .span()
                .map_or(Place { file: 0, line: 1, column: 1 }, |s| lines.place(s.start));
            let message = error.message().trim_end().replace('\n', " ");
            return source.error(place, format!("invalid TOML: {message}"));
        }
    };
    for (name, body) in in_document_order(document.get_ref()) {
        group(source, &lines, name.get_ref(), lines.place(name.span().start), body);
    }
}

fn group(
    source: &mut Source<'_>,
    lines: &Lines,
    name: &str,
    place: Place,
    body: &Spanned<DeValue>,
) {
    source.group_mut(name, place);
    let Some(entries) = body.get_ref().as_table() else {
        let message = format!("group {name:?}: expected a table with hosts, children or vars");
        return source.error(place, message);
    };
    for (key, value) in in_document_order(entries) {
        let key_place = lines.place(key.span().start);
        let value_place = lines.place(value.span().start);
        match (&**key.get_ref(), value.get_ref()) {
            ("hosts", DeValue::Table(hosts)) => {
                for (pattern, vars) in in_document_order(hosts) {
                    let pattern_place = lines.place(pattern.span().start);
                    let vars: Vec<Var> = match vars.get_ref() {
                        DeValue::Table(vars) => in_document_order(vars)
                            .map(|(name, value)| Var {
                                name: name.get_ref().to_string(),
                                value: text(value.get_ref()),
                                place: lines.place(name.span().start),
                            })
                            .collect(),
                        _ => {
                            let message = format!(
                                "host {:?}: expected a table of variables ({{}} for none)",
                                pattern.get_ref()
                            );
                            source.error(pattern_place, message);
                            continue;
                        }
                    };
                    source.add_hosts(pattern.get_ref(), pattern_place, Some(name), &vars);
                }
            }
            ("children", DeValue::Array(children)) => {
                for child in children.iter() {
                    let child_place = lines.place(child.span().start);
                    let Some(child_name) = child.get_ref().as_str() else {
                        let message = format!(
                            "group {name:?}: children must be group names, found {}",
                            text(child.get_ref())
                        );
                        source.error(child_place, message);
                        continue;
                    };
                    source
                        .group_mut(name, place)
                        .children
                        .push((child_name.to_owned(), child_place));
                    source.group_mut(child_name, child_place);
                }
            }
            ("vars", DeValue::Table(vars)) => {
                for (var, value) in in_document_order(vars) {
                    let var = Var {
                        name: var.get_ref().to_string(),
                        value: text(value.get_ref()),
                        place: lines.place(var.span().start),
                    };
                    source.group_mut(name, place).vars.push(var);
                }
            }
            ("hosts" | "vars", _) => source
                .error(value_place, format!("group {name:?}: {} must be a table", key.get_ref())),
            ("children", _) => source.error(
                value_place,
                format!("group {name:?}: children must be a list of group names"),
            ),
            (other, _) => source.warn(
                key_place,
                format!("group {name:?}"),
                None,
                format!(
                    "skipped unexpected key {other:?}: only hosts, children and vars are \
                     valid{}",
                    super::did_you_mean(other, &["hosts", "children", "vars"])
                ),
            ),
        }
    }
}

/// A table's entries in the order of the text (the `toml` crate sorts them by key).
fn in_document_order<'a, 'i>(
    table: &'a DeTable<'i>,
) -> impl Iterator<Item = (&'a Spanned<std::borrow::Cow<'i, str>>, &'a Spanned<DeValue<'i>>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries.into_iter()
}

/// A value as text: strings as they are, other scalars as TOML writes them, arrays and tables
/// as JSON.
fn text(value: &DeValue) -> String {
    match value {
        DeValue::String(text) => text.to_string(),
        other => {
            let mut out = String::new();
            json(&mut out, other);
            out
        }
    }
}

fn json(out: &mut String, value: &DeValue) {
    match value {
        DeValue::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    c if c.is_control() => {
                        let _ = write!(out, "\\u{:04x}", u32::from(c));
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        DeValue::Integer(integer) => out.push_str(integer.as_str()),
        DeValue::Float(float) => out.push_str(float.as_str()),
        DeValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        DeValue::Datetime(datetime) => {
            let _ = write!(out, "{datetime}");
        }
        DeValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json(out, item.get_ref());
            }
            out.push(']');
        }
        DeValue::Table(entries) => {
            out.push('{');
            for (i, (key, item)) in in_document_order(entries).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json(out, &DeValue::String(key.get_ref().clone()));
                out.push_str(": ");
                json(out, item.get_ref());
            }
            out.push('}');
        }
    }
}

/// Byte offsets to lines and columns (in characters), both 1-based.
struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1));
        Lines { text, starts: starts.collect() }
    }

    fn place(&self, offset: usize) -> Place {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|start| *start <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self.text.get(start..offset).map_or(0, |before| before.chars().count());
        Place { file: 0, line, column: column + 1 }
    }
}
