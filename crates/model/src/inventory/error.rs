//! Problems in a file patchctl reads (the inventory, the policy), each at a file, line and
//! column, in the shape editors and compilers use (`inventory.toml:12:5: message`), so a
//! terminal or an editor can jump there. The inventory's, the policy's and the server
//! configuration's errors are these.

use std::fmt;
use std::path::PathBuf;

/// One problem in an inventory or policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryError {
    /// The file as the user named it; used only in messages (the model reads no files).
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong and what was expected, e.g. `unknown field "adress", expected one of …`.
    pub message: String,
}

impl InventoryError {
    /// An error at byte `offset` of `text`; an offset past the end points at the end.
    pub fn at(path: &std::path::Path, text: &str, offset: usize, message: String) -> Self {
        let (line, column) = line_column(text, offset);
        InventoryError { path: path.to_path_buf(), line, column, message }
    }
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.path.display(), self.line, self.column, self.message)
    }
}

impl std::error::Error for InventoryError {}

/// An inventory or a policy that cannot be used: every problem found, in the order of the
/// file. Never empty.
///
/// All of them are reported at once, so a user fixes a file in one pass instead of one error per
/// run. A syntax error stops parsing, so it comes alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInventory {
    pub errors: Vec<InventoryError>,
}

impl InvalidInventory {
    pub fn new(mut errors: Vec<InventoryError>) -> Self {
        errors.sort_by_key(|e| (e.line, e.column));
        errors.dedup();
        InvalidInventory { errors }
    }
}

impl fmt::Display for InvalidInventory {
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

impl std::error::Error for InvalidInventory {}

/// The 1-based line and character column of byte `offset` in `text`. Offsets inside a
/// multi-byte character or past the end are clamped, so no input can make this panic.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The lines of a text, for many errors in it: each offset becomes a line and column with a
/// binary search, instead of a pass over the text before it, so thousands of errors in a large
/// file cost no more than reading it.
pub(crate) struct LineIndex {
    /// The byte offset where each line starts.
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let newlines = text.match_indices('\n').map(|(at, _)| at + 1);
        LineIndex { starts: std::iter::once(0).chain(newlines).collect() }
    }

    /// As [`line_column`], which `text` must be the text this index was made from.
    pub(crate) fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|start| *start <= offset);
        let line_start = self.starts[line - 1];
        (line, text[line_start..offset].chars().count() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based_and_count_characters() {
        let text = "a = 1\né = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // "é" is two bytes: the byte after it is the second character.
        assert_eq!(line_column(text, 8), (2, 2));
        // Inside "é", and past the end: clamped, no panic.
        assert_eq!(line_column(text, 7), (2, 1));
        assert_eq!(line_column(text, 1000), (3, 1));
        let index = LineIndex::new(text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(index.line_column(text, offset), line_column(text, offset), "{offset}");
        }
    }
}
