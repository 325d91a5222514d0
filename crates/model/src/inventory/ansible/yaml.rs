//! Ansible's YAML inventory, read the way Ansible's `yaml` plugin reads it:
//!
//! ```yaml
//! all:
//!   hosts:
//!     mail.example.com:
//!   children:
//!     webservers:
//!       hosts:
//!         web[01:03].example.com:
//!           ansible_port: 2222
//!       vars:
//!         http_port: 80
//! ```
//!
//! Each group is a mapping of `hosts`, `children` (groups, recursively) and `vars`; a group may
//! appear under several parents and is merged. Values that are not strings (numbers, booleans,
//! lists, mappings) are kept as text, lists and mappings in JSON.
//!
//! yaml_serde gives no positions for values, only for syntax errors, so a warning's line is that
//! of its key found by following the key's path through the text (the path is unambiguous in
//! block style, which inventories use; in flow style it falls back to an enclosing key). The
//! lines that can start each key are indexed once, so finding a key is a lookup, not a search
//! through the text (20,000 hosts in flow style, two a line, took minutes in a debug build
//! when each key that starts no line was searched for through all the lines below).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;

use yaml_serde::Value;

use super::{Place, Source, Var};

/// The place at `line` and `column`, or the end of `text` when they are past it: the YAML
/// scanner reports an error at the end of a text without a final line break on the line after
/// the last one.
fn within(text: &str, line: usize, column: usize) -> Place {
    let lines: Vec<&str> = text.split('\n').collect();
    match lines.get(line.saturating_sub(1)) {
        Some(found) => Place { file: 0, line, column: column.clamp(1, found.chars().count() + 1) },
        None => Place {
            file: 0,
            line: lines.len(),
            column: lines.last().map_or(0, |last| last.chars().count()) + 1,
        },
    }
}

pub(super) fn parse(source: &mut Source<'_>, text: &str) {
    let mut document: Value = match yaml_serde::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            let place = error.location().map_or(Place { file: 0, line: 1, column: 1 }, |l| {
                within(text, l.line(), l.column())
            });
            return source
                .error(place, format!("invalid YAML: {}", without_location(&error.to_string())));
        }
    };
    if let Err(error) = document.apply_merge() {
        return source
            .error(Place { file: 0, line: 1, column: 1 }, format!("invalid YAML: {error}"));
    }
    let reader = Reader::new(text, 0);
    match &document {
        Value::Null => {}
        Value::Mapping(groups) => {
            for (key, body) in groups {
                let Some(name) = reader.key(source, &[], key) else { continue };
                if !matches!(key, Value::String(_)) {
                    source.error(reader.locate(&[]), not_a_string("group name", &name));
                    continue;
                }
                reader.group(source, std::slice::from_ref(&name), &name, body);
            }
        }
        _ => source.error(
            Place { file: 0, line: 1, column: 1 },
            "expected a mapping of groups at the top (all: …)".to_owned(),
        ),
    }
}

/// Ansible refuses a host or group named by a number or a boolean (`1234:`), which YAML does
/// not read as text.
pub(super) fn not_a_string(what: &str, name: &str) -> String {
    format!(
        "{what} {name} must be a string, as Ansible requires: enclose integers, floats and \
         booleans in quotation marks (\"{name}\")"
    )
}

/// A 0-based line index and character column.
type LineColumn = (usize, usize);

/// The variables of a `group_vars/` or `host_vars/` file, the `file`-th: a mapping of names to
/// values (or nothing); `None` after an error.
pub(super) fn parse_vars(source: &mut Source<'_>, text: &str, file: usize) -> Option<Vec<Var>> {
    let at = |line, column| Place { file, line, column };
    let mut document: Value = match yaml_serde::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            let place = error
                .location()
                .map_or(at(1, 1), |l| Place { file, ..within(text, l.line(), l.column()) });
            let message = format!("invalid YAML: {}", without_location(&error.to_string()));
            source.error(place, message);
            return None;
        }
    };
    if let Err(error) = document.apply_merge() {
        source.error(at(1, 1), format!("invalid YAML: {error}"));
        return None;
    }
    match &document {
        Value::Null => Some(Vec::new()),
        Value::Mapping(vars) => Some(Reader::new(text, file).vars(source, &[], vars)),
        _ => {
            source.error(at(1, 1), "expected a mapping of variable names to values".to_owned());
            None
        }
    }
}

struct Reader<'t> {
    /// The file read: 0 for the inventory, n for the n-th variables file.
    file: usize,
    /// Each text a line starts with as a key (`key:`, `- key:`, `"key":`), with the lines and
    /// columns where it does, in the order of the text.
    keys: HashMap<&'t str, Vec<LineColumn>>,
    /// Where each path's key was found (line index, column), or its parent's when it was not.
    found: RefCell<HashMap<Vec<String>, Option<LineColumn>>>,
    /// For each parent path, the line after the last child found: the next child is below it.
    cursors: RefCell<HashMap<Vec<String>, usize>>,
}

impl<'t> Reader<'t> {
    fn new(text: &'t str, file: usize) -> Self {
        Reader {
            file,
            keys: key_index(text),
            found: RefCell::default(),
            cursors: RefCell::default(),
        }
    }

    fn group(&self, source: &mut Source<'_>, path: &[String], name: &str, body: &Value) {
        let place = self.locate(path);
        source.group_mut(name, place);
        let entries = match body {
            Value::Null => return,
            Value::Mapping(entries) => entries,
            _ => {
                return source.error(
                    place,
                    format!("group {name:?}: expected a mapping with hosts, children or vars"),
                );
            }
        };
        for (key, value) in entries {
            let Some(section) = self.key(source, path, key) else { continue };
            let section_path = [path, std::slice::from_ref(&section)].concat();
            let section_place = self.locate(&section_path);
            let Some(items) = self.mapping(source, section_place, name, &section, value) else {
                continue;
            };
            for (item_key, item_value) in items {
                let Some(item) = self.key(source, &section_path, item_key) else { continue };
                if section != "vars" && !matches!(item_key, Value::String(_)) {
                    let what = if section == "hosts" { "host pattern" } else { "group name" };
                    source.error(self.locate(&section_path), not_a_string(what, &item));
                    continue;
                }
                let item_path = [section_path.as_slice(), std::slice::from_ref(&item)].concat();
                let item_place = self.locate(&item_path);
                match section.as_str() {
                    "hosts" => {
                        let vars = match item_value {
                            Value::Null => Vec::new(),
                            Value::Mapping(vars) => self.vars(source, &item_path, vars),
                            _ => {
                                source.error(
                                    item_place,
                                    format!("host {item:?}: expected a mapping of variables"),
                                );
                                continue;
                            }
                        };
                        source.add_hosts(&item, item_place, Some(name), &vars);
                    }
                    "children" => {
                        source.group_mut(name, place).children.push((item.clone(), item_place));
                        self.group(source, &item_path, &item, item_value);
                    }
                    _ => {
                        let value = text(item_value);
                        source.group_mut(name, place).vars.push(Var {
                            name: item,
                            value,
                            place: item_place,
                        });
                    }
                }
            }
        }
    }

    /// The entries of `hosts`, `children` or `vars`; `None` (after a warning or an error) when
    /// there are none to read.
    fn mapping<'v>(
        &self,
        source: &mut Source<'_>,
        place: Place,
        group: &str,
        section: &str,
        value: &'v Value,
    ) -> Option<&'v yaml_serde::Mapping> {
        if !matches!(section, "hosts" | "children" | "vars") {
            // Ansible skips these with a warning too.
            source.warn(
                place,
                format!("group {group:?}"),
                None,
                format!(
                    "skipped unexpected key {section:?}: only hosts, children and vars are \
                     valid{}",
                    super::did_you_mean(section, &["hosts", "children", "vars"])
                ),
            );
            return None;
        }
        match value {
            Value::Null => None,
            Value::Mapping(items) => Some(items),
            _ => {
                source.error(place, format!("group {group:?}: {section} must be a mapping"));
                None
            }
        }
    }

    fn vars(
        &self,
        source: &mut Source<'_>,
        path: &[String],
        vars: &yaml_serde::Mapping,
    ) -> Vec<Var> {
        let mut out = Vec::new();
        for (key, value) in vars {
            if let Some(name) = self.key(source, path, key) {
                let place = self.locate(&[path, std::slice::from_ref(&name)].concat());
                out.push(Var { name, value: text(value), place });
            }
        }
        out
    }

    /// A mapping key as text: names are strings, but YAML reads `1` or `true` as others.
    fn key(&self, source: &mut Source<'_>, path: &[String], key: &Value) -> Option<String> {
        match key {
            Value::String(key) => Some(key.clone()),
            Value::Number(_) | Value::Bool(_) => Some(text(key)),
            _ => {
                source.error(self.locate(path), format!("expected a name, found {}", text(key)));
                None
            }
        }
    }

    /// The position of the key at the end of `path`, searched for below its parent's line, from
    /// where the previous sibling was found: mappings are read in document order, so each line
    /// is scanned about once per level. A key not found gets its parent's position.
    fn locate(&self, path: &[String]) -> Place {
        match self.locate_line(path) {
            Some((index, column)) => Place { file: self.file, line: index + 1, column: column + 1 },
            None => Place { file: self.file, line: 1, column: 1 },
        }
    }

    fn locate_line(&self, path: &[String]) -> Option<LineColumn> {
        let (key, parent) = path.split_last()?;
        if let Some(found) = self.found.borrow().get(path) {
            return *found;
        }
        let parent_found = self.locate_line(parent);
        let below_parent = parent_found.map_or(0, |(index, _)| index + 1);
        let cursor = self.cursors.borrow().get(parent).copied().unwrap_or(below_parent);
        let lines = self.keys.get(key.as_str()).map_or(&[][..], Vec::as_slice);
        let search = |from: usize| {
            let first = lines.partition_point(|(index, _)| *index < from);
            lines.get(first).copied()
        };
        // Out of document order (a merge key, a repeated group): search the whole block again.
        let found = search(cursor).or_else(|| search(below_parent));
        if let Some((index, _)) = found {
            self.cursors.borrow_mut().insert(parent.to_vec(), index + 1);
        }
        let found = found.or(parent_found);
        self.found.borrow_mut().insert(path.to_vec(), found);
        found
    }
}

/// Every key a line starts with, for the whole text at once, with where: the lines of each
/// key in the order of the text.
fn key_index(text: &str) -> HashMap<&str, Vec<LineColumn>> {
    let mut keys: HashMap<&str, Vec<LineColumn>> = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let (column, line_keys) = line_keys(line);
        for key in line_keys.into_iter().flatten() {
            keys.entry(key).or_default().push((index, column));
        }
    }
    keys
}

/// The key a line starts with, as block style writes one, and its column (0-based, in
/// characters): `key:`, `- key:`, `"key":` or `'key':`, the colon followed by a space or the
/// end of the line (a plain key may hold other colons: `fe80::1:`). A quoted key is given both
/// with and without its quotes. At most two per line, so the index stays the size of the text's
/// lines whatever the lines hold.
fn line_keys(line: &str) -> (usize, [Option<&str>; 2]) {
    let trimmed = line.trim_start();
    let indent = line.chars().count() - trimmed.chars().count();
    let (dash, trimmed) = match trimmed.strip_prefix("- ") {
        Some(rest) => (2, rest.trim_start()),
        None => (0, trimmed),
    };
    let plain = trimmed
        .match_indices(':')
        .map(|(at, _)| at)
        .find(|at| trimmed[at + 1..].chars().next().is_none_or(char::is_whitespace))
        .map(|at| trimmed[..at].trim_end());
    let quoted = ['"', '\''].into_iter().find_map(|quote| {
        let inside = trimmed.strip_prefix(quote)?;
        let end = inside.find(quote)?;
        inside[end + 1..].trim_start().starts_with(':').then(|| &inside[..end])
    });
    (indent + dash, [plain, quoted])
}

/// A value as text: strings as they are, other scalars as YAML writes them, sequences and
/// mappings as JSON, a tag before its value.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => {
            let mut out = String::new();
            json(&mut out, other);
            out
        }
    }
}

fn json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => json_string(out, s),
        Value::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json(out, item);
            }
            out.push(']');
        }
        Value::Mapping(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_string(out, &text(key));
                out.push_str(": ");
                json(out, item);
            }
            out.push('}');
        }
        Value::Tagged(tagged) => {
            let _ = write!(out, "{} ", tagged.tag);
            out.push_str(&text(&tagged.value));
        }
    }
}

fn json_string(out: &mut String, s: &str) {
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

/// yaml_serde's messages carry positions (" at line L column C"), which are reported apart.
fn without_location(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(index) = rest.find(" at line ") {
        out.push_str(&rest[..index]);
        let after = &rest[index + " at line ".len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let line_digits = digits(after);
        let position = after[line_digits..]
            .strip_prefix(" column ")
            .filter(|_| line_digits > 0)
            .map(|column| (column, digits(column)))
            .filter(|(_, column_digits)| *column_digits > 0);
        match position {
            Some((column, column_digits)) => rest = &column[column_digits..],
            None => {
                out.push_str(" at line ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line with the keys it starts with and their column.
    #[test]
    fn the_key_a_line_starts_with() {
        let cases: &[(&str, usize, [Option<&str>; 2])] = &[
            ("all:", 0, [Some("all"), None]),
            ("  hosts:  # comment", 2, [Some("hosts"), None]),
            ("    - item: 1", 6, [Some("item"), None]),
            ("    \"quoted\" : x", 4, [Some("\"quoted\""), Some("quoted")]),
            ("    'single':", 4, [Some("'single'"), Some("single")]),
            ("    \"a\":1", 4, [None, Some("a")]),
            ("    fe80::1: y", 4, [Some("fe80::1"), None]),
            ("    url: http://a:80", 4, [Some("url"), None]),
            ("    é: 3", 4, [Some("é"), None]),
            ("    {a: 1, b: 2}", 4, [Some("{a"), None]),
            ("    plain :x", 4, [None, None]),
            ("", 0, [None, None]),
        ];
        for (line, column, keys) in cases {
            assert_eq!(line_keys(line), (*column, *keys), "{line:?}");
        }
        let index = key_index("all:\n  hosts:\n    web1:\n  children:\n    web1:\n");
        assert_eq!(index["web1"], [(2, 4), (4, 4)]);
    }
}
