//! Problems in a policy file, each at a file, line and column (`policy.toml:12:5: message`), in
//! the shape the inventory's errors have, so the shell reports both the same way.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::inventory::{InventoryError, edit_distance};

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The file as the user named it; used only in messages (the model reads no files).
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl PolicyError {
    /// An error at byte `offset` of `text`; an offset past the end points at the end.
    pub(crate) fn at(path: &Path, text: &str, offset: usize, message: String) -> Self {
        // The inventory already turns byte offsets into lines and character columns; one
        // implementation of that arithmetic is enough.
        let InventoryError { path, line, column, message } =
            InventoryError::at(path, text, offset, message);
        PolicyError { path, line, column, message }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.path.display(), self.line, self.column, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// A policy that cannot be used: every problem found, in the order of the file. Never empty.
///
/// All are reported at once, so a file is fixed in one pass. A syntax error, or a value of the
/// wrong type, stops deserializing, so it comes alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPolicy {
    pub errors: Vec<PolicyError>,
}

impl InvalidPolicy {
    pub(crate) fn new(mut errors: Vec<PolicyError>) -> Self {
        errors.sort_by_key(|e| (e.line, e.column));
        errors.dedup();
        InvalidPolicy { errors }
    }
}

impl fmt::Display for InvalidPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidPolicy {}

/// Turns toml's error into ours: its byte span becomes line and column, and serde's backquoted
/// message the plain one users read, with a suggestion when an unknown word is a near miss
/// (`unknown field "timezon", expected one of … (did you mean "timezone"?)`).
pub(crate) fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> PolicyError {
    let offset = error.span().map_or(0, |span| span.start);
    PolicyError::at(path, text, offset, plain_message(error.message()))
}

fn plain_message(message: &str) -> String {
    let message = message.trim().replace('\n', "; ");
    let Some((head, expected)) = message.split_once(", expected ") else {
        return message.replacen('`', "\"", 2).replace('`', "");
    };
    // The word in error is the first backquoted one: quote it as a string.
    let mut plain = head.replacen('`', "\"", 2).replace('`', "");
    let alternatives = match expected.replace('`', "").as_str() {
        "i64" | "u32" | "usize" => "an integer".to_owned(),
        other => other.to_owned(),
    };
    plain.push_str(", expected ");
    plain.push_str(&alternatives);
    let unknown = head.split('`').nth(1).unwrap_or("");
    if let Some(word) =
        nearest(unknown, alternatives.trim_start_matches("one of ").split([',', ' ']))
    {
        plain.push_str(&format!(" (did you mean {word:?}?)"));
    }
    plain
}

/// The candidate a near miss of `word` most likely meant: at most two edits away (a swap of
/// neighbours counts as one), fewer edits than the word has characters, or equal ignoring case.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if word.is_empty() {
        return None;
    }
    candidates
        .into_iter()
        .filter(|candidate| !candidate.is_empty() && *candidate != "or")
        .map(|candidate| {
            let distance = if candidate.eq_ignore_ascii_case(word) {
                0
            } else {
                edit_distance(word, candidate)
            };
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= 2 && *distance < word.chars().count())
        .min()
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_plain_ones_with_a_suggestion() {
        assert_eq!(
            plain_message("unknown field `timezon`, expected one of `name`, `timezone`"),
            "unknown field \"timezon\", expected one of name, timezone (did you mean \"timezone\"?)"
        );
        assert_eq!(
            plain_message("invalid type: string \"x\", expected i64"),
            "invalid type: string \"x\", expected an integer"
        );
        assert_eq!(plain_message("missing field `name`"), "missing field \"name\"");
    }

    #[test]
    fn near_misses_ignore_case_and_far_words() {
        let zones = ["Europe/Berlin", "Europe/Paris"];
        assert_eq!(nearest("europe/berlin", zones), Some("Europe/Berlin"));
        assert_eq!(nearest("Europe/Berln", zones), Some("Europe/Berlin"));
        assert_eq!(nearest("Mars/Olympus", zones), None);
    }
}
