//! Problems in a policy file, each at a file, line and column (`policy.toml:12:5: message`), in
//! the shape the inventory's errors have, so the shell reports both the same way.

use std::path::Path;

use crate::inventory::{InventoryError, edit_distance};

/// One problem in a policy file: the inventory's kind of error, at a file, line and column.
pub type PolicyError = InventoryError;

/// A policy that cannot be used: every problem found, in the order of the file. Never empty.
/// A syntax error, or a value of the wrong type, stops deserializing, so it comes alone.
pub type InvalidPolicy = crate::inventory::InvalidInventory;

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
