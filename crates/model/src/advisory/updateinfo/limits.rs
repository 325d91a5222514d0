//! The limits an updateinfo text must keep before roxmltree reads it. roxmltree descends into
//! each element by recursion, so nesting deep enough overflows the stack (a 1.4 KB gzip of
//! `<a>` repeated does), and it keeps every node in memory: a hostile mirror must get a clear
//! refusal instead.

/// The deepest element nesting read. updateinfo is six deep (`updates`, `update`, `pkglist`,
/// `collection`, `package`, `filename`); this leaves room for any extension a distribution
/// adds, and keeps roxmltree's recursion far from the end of even a 2 MiB thread stack.
pub const MAX_DEPTH: usize = 64;

/// The largest updateinfo text read. A whole distribution's is tens of megabytes.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;

/// The most XML nodes (elements, texts, comments) roxmltree builds, about 70 bytes each.
/// Real updateinfo has one node per 40 to 50 bytes, so a file within [`MAX_BYTES`] stays
/// below this unless it is made of little else than tags.
pub const MAX_NODES: u32 = 10_000_000;

/// Checks the size and the nesting depth of `text` in one pass that allocates nothing.
///
/// The scan follows the markup as roxmltree does (comments, CDATA sections, processing
/// instructions, quoted attribute values, empty-element tags), so on any text roxmltree would
/// read, the depth counted is the depth it would reach. Text that is not well-formed is left
/// for roxmltree to refuse: it stops at the first error, no deeper than the scan has checked.
pub(super) fn check(text: &str) -> Result<(), String> {
    if text.len() > MAX_BYTES {
        return Err(format!(
            "{} bytes, more than the {} MiB an updateinfo file may have",
            text.len(),
            MAX_BYTES / 1024 / 1024
        ));
    }
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(found) = text[at..].find('<') {
        let start = at + found;
        let markup = &text[start..];
        let skip_to = |end: &str| markup.find(end).map(|offset| start + offset + end.len());
        let next = if markup.starts_with("<!--") {
            skip_to("-->")
        } else if markup.starts_with("<![CDATA[") {
            skip_to("]]>")
        } else if markup.starts_with("<?") {
            skip_to("?>")
        } else if markup.starts_with("<!") {
            // A document type declaration, which roxmltree refuses (`allow_dtd` is off), or
            // markup it does not know: either ends the parse there.
            Some(start + 2)
        } else if markup.starts_with("</") {
            depth = depth.saturating_sub(1);
            Some(start + 2)
        } else {
            let end = start_tag_end(markup).map(|offset| start + offset);
            if let Some(end) = end
                && text.as_bytes()[end - 2] != b'/'
            {
                depth += 1;
                if depth > MAX_DEPTH {
                    let line = text[..start].bytes().filter(|b| *b == b'\n').count() + 1;
                    return Err(format!(
                        "elements nested more than {MAX_DEPTH} deep at line {line} \
                         (updateinfo nests 6): not an updateinfo file"
                    ));
                }
            }
            end
        };
        // An unterminated comment, tag or the like is roxmltree's to report.
        let Some(next) = next else { return Ok(()) };
        at = next;
    }
    Ok(())
}

/// The offset just past the `>` that ends the start tag at the beginning of `markup`, skipping
/// quoted attribute values, in which `>` may appear.
fn start_tag_end(markup: &str) -> Option<usize> {
    let bytes = markup.as_bytes();
    let mut index = 1;
    while index < bytes.len() {
        match bytes[index] {
            b'>' => return Some(index + 1),
            quote @ (b'"' | b'\'') => {
                let close = markup[index + 1..].find(quote as char)?;
                index += close + 2;
            }
            _ => index += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    /// Each text with what the check says: `ok`, or the start of its refusal.
    #[test]
    fn depth_is_counted_as_roxmltree_would_descend() {
        let cases: Vec<(String, &str)> = vec![
            (nested(MAX_DEPTH), "ok"),
            (nested(MAX_DEPTH + 1), "elements nested more than 64 deep at line 1"),
            (
                format!("<?xml version='1.0'?>\n<r>\n{}", nested(MAX_DEPTH)),
                "elements nested more than 64 deep at line 3",
            ),
            // Empty-element tags, closing tags, comments, CDATA and processing instructions
            // open nothing.
            ("<a/>".repeat(1_000), "ok"),
            (format!("<r>{}</r>", "<a x=\"/>\" />".repeat(1_000)), "ok"),
            (format!("<!--{}-->", "<a>".repeat(1_000)), "ok"),
            (format!("<r><![CDATA[{}]]></r>", "<a>".repeat(1_000)), "ok"),
            (format!("<r><?pi {} ?></r>", "<a>".repeat(1_000)), "ok"),
            // A closing tag inside a comment closes nothing.
            (
                format!("<!--{}-->{}", "</a>".repeat(100), "<a>".repeat(65)),
                "elements nested more than 64",
            ),
            // A `>` in a quoted value does not end the tag.
            ("<a x='>' y=\">\">".repeat(65), "elements nested more than 64"),
            (format!("<a x='{}'/>", "<b>".repeat(100)), "ok"),
            (format!("<r>{}</r>", "> a > b ".repeat(100)), "ok"),
            // Unterminated markup is left to roxmltree.
            ("<a><!-- <b><b>".to_owned(), "ok"),
            ("<a x='".to_owned(), "ok"),
        ];
        for (text, expected) in cases {
            let actual = match check(&text) {
                Ok(()) => "ok".to_owned(),
                Err(message) => message,
            };
            assert!(actual.starts_with(expected), "{text:.80}: {actual}");
        }
    }
}
