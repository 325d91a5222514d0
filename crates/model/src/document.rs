//! A small document (headings, paragraphs, lists, tables) rendered as Markdown or HTML, so a
//! plan or a report is written once and read by a change board in either form.

use std::fmt::Write;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    Paragraph(String),
    List(Vec<String>),
    Table { head: Vec<String>, rows: Vec<Vec<String>> },
}

impl Document {
    pub fn new(title: impl Into<String>) -> Self {
        Document { title: title.into(), blocks: Vec::new() }
    }

    pub fn heading(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Heading(text.into()));
    }

    pub fn paragraph(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Paragraph(text.into()));
    }

    pub fn list(&mut self, items: Vec<String>) {
        self.blocks.push(Block::List(items));
    }

    pub fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        let head = head.iter().map(|h| h.to_string()).collect();
        self.blocks.push(Block::Table { head, rows });
    }

    /// GitHub-flavoured Markdown. Text is written as given, except that table cells escape `|`
    /// and line breaks, which would otherwise break the table.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n", self.title);
        for block in &self.blocks {
            out.push('\n');
            match block {
                Block::Heading(text) => writeln!(out, "## {text}").unwrap(),
                Block::Paragraph(text) => writeln!(out, "{text}").unwrap(),
                Block::List(items) if items.is_empty() => writeln!(out, "(none)").unwrap(),
                Block::List(items) => {
                    for item in items {
                        writeln!(out, "- {item}").unwrap();
                    }
                }
                Block::Table { head, rows } => {
                    let cells = |row: &[String]| {
                        row.iter().map(|c| markdown_cell(c)).collect::<Vec<_>>().join(" | ")
                    };
                    writeln!(out, "| {} |", cells(head)).unwrap();
                    writeln!(out, "|{}", "---|".repeat(head.len())).unwrap();
                    for row in rows {
                        writeln!(out, "| {} |", cells(row)).unwrap();
                    }
                }
            }
        }
        out
    }

    /// A standalone HTML page; every text is escaped.
    pub fn to_html(&self) -> String {
        let mut out =
            String::from("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        writeln!(out, "<title>{}</title>", escape(&self.title)).unwrap();
        out.push_str(
            "<style>body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}\
             table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;\
             text-align:left;vertical-align:top}</style>\n</head>\n<body>\n",
        );
        writeln!(out, "<h1>{}</h1>", escape(&self.title)).unwrap();
        for block in &self.blocks {
            match block {
                Block::Heading(text) => writeln!(out, "<h2>{}</h2>", escape(text)).unwrap(),
                Block::Paragraph(text) => writeln!(out, "<p>{}</p>", escape(text)).unwrap(),
                Block::List(items) if items.is_empty() => out.push_str("<p>(none)</p>\n"),
                Block::List(items) => {
                    out.push_str("<ul>\n");
                    for item in items {
                        writeln!(out, "<li>{}</li>", escape(item)).unwrap();
                    }
                    out.push_str("</ul>\n");
                }
                Block::Table { head, rows } => {
                    out.push_str("<table>\n<tr>");
                    for cell in head {
                        write!(out, "<th>{}</th>", escape(cell)).unwrap();
                    }
                    out.push_str("</tr>\n");
                    for row in rows {
                        out.push_str("<tr>");
                        for cell in row {
                            write!(out, "<td>{}</td>", escape(cell)).unwrap();
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</table>\n");
                }
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything_a_host_could_report() {
        let mut doc = Document::new("<plan>");
        doc.table(&["package"], vec![vec!["<script>alert('x')</script> & co".into()]]);
        let html = doc.to_html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
    }

    #[test]
    fn markdown_tables_survive_pipes_and_newlines() {
        let mut doc = Document::new("t");
        doc.table(&["a", "b"], vec![vec!["x|y".into(), "line\nbreak".into()]]);
        assert_eq!(doc.to_markdown(), "# t\n\n| a | b |\n|---|---|\n| x\\|y | line break |\n");
    }
}
