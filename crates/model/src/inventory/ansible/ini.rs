//! Ansible's INI inventory, read the way Ansible's `ini` plugin reads it:
//!
//! ```ini
//! mail.example.com                 # before any section: in no group
//! [webservers]
//! web[01:03].example.com ansible_user=admin http_port=80
//! [webservers:vars]
//! ntp_server=ntp.atlanta.example.com
//! [southeast:children]
//! webservers
//! ```
//!
//! Host lines are split like a POSIX shell (quotes, backslashes, `#` comments), as Ansible's
//! `shlex_split` does; `[group:vars]` lines are `key=value` with the value taken whole (an
//! Ansible quirk kept: a `#` there is part of the value). A `[group:vars]` section or a
//! child must name a group that some `[group]` or `[group:children]` section defines, as
//! Ansible requires, so that a typo is an error rather than a new empty group.

use std::collections::HashSet;

use super::{Place, Source, Var, is_implicit};

enum Section {
    Hosts(String),
    Vars(String),
    Children(String),
}

pub(super) fn parse(source: &mut Source<'_>, text: &str) {
    // Hosts before any section are in `ungrouped`, as in Ansible.
    let mut section = Section::Hosts("ungrouped".to_owned());
    let mut defined: HashSet<String> = HashSet::from(["all".to_owned(), "ungrouped".to_owned()]);
    // Groups used by `[g:vars]` or as children, with where, to check once all are defined.
    let mut used: Vec<(String, Place, String)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        let place = Place { file: 0, line: index + 1, column: indent + 1 };
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        // As in Ansible, a line is a section header when it reads as one or ends with `]`;
        // `[::1]:2222` and `[a:c]-web` are host lines.
        let header = line.starts_with('[').then(|| header(line));
        if let Some(header) = header.filter(|h| h.is_ok() || line.ends_with(']')) {
            match header {
                Ok(next) => {
                    match &next {
                        Section::Hosts(name) | Section::Children(name) => {
                            source.group_mut(name, place);
                            defined.insert(name.clone());
                        }
                        Section::Vars(name) => used.push((
                            name.clone(),
                            place,
                            format!("section [{name}:vars] is for group {name:?}, which no [{name}] or [{name}:children] section defines"),
                        )),
                    }
                    section = next;
                }
                Err(message) => source.error(place, message),
            }
            continue;
        }
        match &section {
            Section::Hosts(group) => host_line(source, line, place, group),
            Section::Vars(group) => match line.split_once('=') {
                Some((name, value)) => {
                    let var =
                        Var { name: name.trim().to_owned(), value: unquote(value.trim()), place };
                    source.group_mut(group, place).vars.push(var);
                }
                None => source
                    .error(place, format!("expected key=value in [{group}:vars], found {line:?}")),
            },
            Section::Children(group) => match words(line) {
                Ok(words) if words.len() == 1 => {
                    let child = words[0].1.clone();
                    used.push((
                        child.clone(),
                        place,
                        format!("[{group}:children] lists {child:?}, which no [{child}] or [{child}:children] section defines"),
                    ));
                    if !is_implicit(&child) {
                        source.group_mut(group, place).children.push((child, place));
                    }
                }
                Ok(_) => source.error(
                    place,
                    format!(
                        "expected one group name per line in [{group}:children], found {line:?}"
                    ),
                ),
                Err(message) => source.error(place, message),
            },
        }
    }
    for (name, place, message) in used {
        if !defined.contains(&name) {
            source.error(place, message);
        }
    }
}

/// `[name]`, `[name:vars]` or `[name:children]`, optionally followed by a comment.
fn header(line: &str) -> Result<Section, String> {
    let invalid = || {
        format!(
            "invalid section header {line:?}: expected [group], [group:vars] or [group:children]"
        )
    };
    let close = line.find(']').ok_or_else(invalid)?;
    let after = line[close + 1..].trim();
    if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
        return Err(invalid());
    }
    let inside = &line[1..close];
    let (name, kind) = match inside.split_once(':') {
        Some((name, kind)) => (name, Some(kind)),
        None => (inside, None),
    };
    if name.is_empty() || name.contains(char::is_whitespace) || name.contains('[') {
        return Err(invalid());
    }
    let name = name.to_owned();
    match kind {
        None => Ok(Section::Hosts(name)),
        Some("vars") => Ok(Section::Vars(name)),
        Some("children") => Ok(Section::Children(name)),
        Some(other) => Err(format!(
            "invalid section [{inside}]: {other:?} is not a section kind, expected [{name}:vars] or [{name}:children]"
        )),
    }
}

/// `PATTERN [key=value ...]`.
fn host_line(source: &mut Source<'_>, line: &str, place: Place, group: &str) {
    let words = match words(line) {
        Ok(words) => words,
        Err(message) => return source.error(place, message),
    };
    let Some(((_, pattern), assignments)) = words.split_first() else { return };
    if pattern.ends_with(':') {
        // Ansible's INI plugin refuses these too (`1234::` would be a valid IPv6 address).
        return source.error(
            place,
            format!(
                "invalid host pattern {pattern:?}: ending in ':' is not allowed, this character \
                 separates a port (write an IPv6 address ending in ':' as [ADDRESS] or set \
                 ansible_host)"
            ),
        );
    }
    let mut vars = Vec::new();
    for (column, word) in assignments {
        let var_place = Place { file: 0, line: place.line, column: place.column + column };
        match word.split_once('=') {
            Some((name, value)) if !name.is_empty() => {
                vars.push(Var { name: name.to_owned(), value: value.to_owned(), place: var_place });
            }
            _ => {
                return source
                    .error(var_place, format!("expected key=value host variable, found {word:?}"));
            }
        }
    }
    source.add_hosts(pattern, place, Some(group), &vars);
}

/// Splits a line into words as POSIX `shlex` with comments does, each with the column (0-based,
/// in characters, from the start of `line`) where it starts.
fn words(line: &str) -> Result<Vec<(usize, String)>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().enumerate().peekable();
    let mut current: Option<(usize, String)> = None;
    while let Some((column, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                words.extend(current.take());
            }
            '#' => break,
            '\'' | '"' => {
                let word = &mut current.get_or_insert_with(|| (column, String::new())).1;
                loop {
                    match chars.next() {
                        None => return Err(format!("unterminated {c} quote in {line:?}")),
                        Some((_, end)) if end == c => break,
                        Some((_, '\\')) if c == '"' => match chars.next() {
                            Some((_, escaped @ ('"' | '\\' | '$' | '`'))) => word.push(escaped),
                            Some((_, other)) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err(format!("unterminated {c} quote in {line:?}")),
                        },
                        Some((_, inner)) => word.push(inner),
                    }
                }
            }
            '\\' => {
                let word = &mut current.get_or_insert_with(|| (column, String::new())).1;
                if let Some((_, escaped)) = chars.next() {
                    word.push(escaped);
                }
            }
            c => current.get_or_insert_with(|| (column, String::new())).1.push(c),
        }
    }
    words.extend(current);
    Ok(words)
}

/// `"value"` or `'value'` → `value`, as Ansible's literal evaluation of a quoted string.
fn unquote(value: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)) {
            return inner.to_owned();
        }
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_shlex() {
        let split = |line: &str| -> Vec<String> {
            words(line).unwrap().into_iter().map(|(_, w)| w).collect()
        };
        assert_eq!(
            split("h a=1 b='two words' c=\"x\\\"y\""),
            ["h", "a=1", "b=two words", "c=x\"y"]
        );
        assert_eq!(split("h a=1 # comment"), ["h", "a=1"]);
        assert_eq!(split("h pass=abc#123"), ["h", "pass=abc"]);
        assert_eq!(words("h  b=2").unwrap()[1].0, 3);
        assert!(words("h a='open").is_err());
    }

    #[test]
    fn headers() {
        assert!(matches!(header("[web]"), Ok(Section::Hosts(n)) if n == "web"));
        assert!(matches!(header("[web:vars] # x"), Ok(Section::Vars(n)) if n == "web"));
        assert!(matches!(header("[web:children]"), Ok(Section::Children(n)) if n == "web"));
        for bad in ["[web", "[web:kids]", "[]", "[a b]", "[web] x"] {
            assert!(header(bad).is_err(), "{bad}");
        }
    }
}
