//! A small document (headings, paragraphs, lists, tables, a summary box, facts, an appendix)
//! rendered as Markdown or HTML, so a plan or a report is written once and read by a change
//! board in either form.
//!
//! The HTML is one standalone page that fits any width: long words (digests, argv, URLs) wrap
//! instead of scrolling sideways, and a print stylesheet puts the appendix on a page of its own.
//! Text between backticks is shown as code.

use std::fmt::Write;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    /// A heading below [`Block::Heading`], e.g. one host in an appendix.
    Subheading(String),
    /// The summary a reader sees first, set apart from the rest.
    Lead(String),
    /// Labelled facts: `what`, `when`, `approved by`…
    Facts(Vec<(String, String)>),
    /// The start of an appendix: detail a reader may skip; printed from a new page.
    Appendix(String),
    Paragraph(String),
    List(Vec<String>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

impl Document {
    pub fn new(title: impl Into<String>) -> Self {
        Document { title: title.into(), blocks: Vec::new() }
    }

    pub fn heading(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Heading(text.into()));
    }

    pub fn subheading(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Subheading(text.into()));
    }

    pub fn lead(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Lead(text.into()));
    }

    pub fn facts(&mut self, facts: Vec<(String, String)>) {
        self.blocks.push(Block::Facts(facts));
    }

    pub fn appendix(&mut self, title: impl Into<String>) {
        self.blocks.push(Block::Appendix(title.into()));
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
    /// and write their line breaks as spaces, which would otherwise break the table. (In HTML,
    /// a cell's lines are lines.)
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n", self.title);
        for block in &self.blocks {
            out.push('\n');
            match block {
                Block::Heading(text) => writeln!(out, "## {text}").unwrap(),
                Block::Subheading(text) => writeln!(out, "### {text}").unwrap(),
                Block::Lead(text) => writeln!(out, "> {}", text.replace('\n', "\n> ")).unwrap(),
                Block::Facts(facts) => {
                    for (label, value) in facts {
                        writeln!(out, "- **{label}:** {value}").unwrap();
                    }
                }
                Block::Appendix(text) => writeln!(out, "---\n\n## {text}").unwrap(),
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
        let mut out = String::from(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        );
        writeln!(out, "<title>{}</title>", escape(&self.title)).unwrap();
        writeln!(out, "<style>\n{STYLE}</style>\n</head>\n<body>").unwrap();
        writeln!(out, "<h1>{}</h1>", inline(&self.title)).unwrap();
        for block in &self.blocks {
            match block {
                Block::Heading(text) => writeln!(out, "<h2>{}</h2>", inline(text)).unwrap(),
                Block::Subheading(text) => writeln!(out, "<h3>{}</h3>", inline(text)).unwrap(),
                Block::Lead(text) => {
                    out.push_str("<div class=\"lead\">\n");
                    for line in text.split('\n') {
                        writeln!(out, "<p>{}</p>", inline(line)).unwrap();
                    }
                    out.push_str("</div>\n");
                }
                Block::Facts(facts) => {
                    out.push_str("<dl class=\"facts\">\n");
                    for (label, value) in facts {
                        writeln!(out, "<dt>{}</dt><dd>{}</dd>", inline(label), inline(value))
                            .unwrap();
                    }
                    out.push_str("</dl>\n");
                }
                Block::Appendix(text) => {
                    writeln!(out, "<h2 class=\"appendix\">{}</h2>", inline(text)).unwrap()
                }
                Block::Paragraph(text) => writeln!(out, "<p>{}</p>", inline(text)).unwrap(),
                Block::List(items) if items.is_empty() => out.push_str("<p>(none)</p>\n"),
                Block::List(items) => {
                    out.push_str("<ul>\n");
                    for item in items {
                        writeln!(out, "<li>{}</li>", inline(item)).unwrap();
                    }
                    out.push_str("</ul>\n");
                }
                Block::Table { head, rows } => {
                    out.push_str("<table>\n<thead><tr>");
                    for cell in head {
                        write!(out, "<th>{}</th>", inline(cell)).unwrap();
                    }
                    out.push_str("</tr></thead>\n<tbody>\n");
                    for row in rows {
                        out.push_str("<tr>");
                        for cell in row {
                            write!(out, "<td>{}</td>", cell_lines(cell)).unwrap();
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</tbody>\n</table>\n");
                }
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// The page's style. Every cell, item and code span may break anywhere, so a digest, an argv or
/// a URL never widens the page past the screen or the paper; tables take the page's width.
const STYLE: &str = "\
body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:15px;line-height:1.4;color:#111;\
max-width:64em;margin:1.5em auto;padding:0 1em}
h1{font-size:1.6em;margin:.2em 0 .6em}
h2{font-size:1.25em;border-bottom:1px solid #bbb;margin:1.4em 0 .4em;padding-bottom:.1em}
h3{font-size:1.05em;margin:1.2em 0 .3em}
p,li,dd,h1,h2,h3{overflow-wrap:anywhere}
td,th{overflow-wrap:break-word}
td .line{white-space:nowrap}
code{font-family:'DejaVu Sans Mono',monospace;font-size:.88em;background:#f1f1f1;\
padding:0 .15em;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.4em 0 .8em}
th,td{border:1px solid #aaa;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#e8e8e8}
.lead{border:2px solid #444;border-radius:4px;background:#f6f6f6;padding:.2em 1em;margin:.6em 0}
dl.facts{display:grid;grid-template-columns:minmax(7em,max-content) 1fr;gap:.3em 1em;margin:.6em 0}
dl.facts dt{font-weight:bold}
dl.facts dd{margin:0}
h2.appendix{margin-top:2.5em;border-top:3px double #888;padding-top:.5em}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:9.5pt}\
h2.appendix{break-before:page;border-top:none;margin-top:0}\
h2,h3{break-after:avoid}tr,li,dl.facts{break-inside:avoid}\
th,.lead,code{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
";

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Escaped text, with each pair of backticks made a `<code>` span (an unpaired one stays), and
/// break opportunities in long words.
fn inline(text: &str) -> String {
    let escaped = breakable(text);
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len() < 3 {
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len() + 16);
    let n_pairs = (parts.len() - 1) / 2;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            let closing = i % 2 == 0;
            if i > 2 * n_pairs {
                out.push('`');
            } else {
                out.push_str(if closing { "</code>" } else { "<code>" });
            }
        }
        out.push_str(part);
    }
    out
}

/// A table cell: its lines separated by `<br>`. In a cell of several lines (packages, one a
/// line), each line of 32 characters or fewer (`acme-web 1.0-1 → 1.1-1,`) is kept whole, so a
/// version does not break at its hyphen; longer ones wrap like any text.
fn cell_lines(cell: &str) -> String {
    if !cell.contains('\n') {
        return inline(cell);
    }
    cell.split('\n')
        .map(|line| {
            if line.chars().count() <= 32 {
                format!("<span class=\"line\">{}</span>", inline(line))
            } else {
                inline(line)
            }
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Words longer than 24 characters (URLs, digests, argv) escaped with `<wbr>` after their
/// punctuation and every 16 characters without any, so the browser may break them there and
/// nowhere else: a table column of short names is never squeezed to split them.
fn breakable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.chars().count() <= 24 {
            out.push_str(&escape(word));
            continue;
        }
        let mut run = 0;
        for c in word.chars() {
            out.push_str(&escape(c.encode_utf8(&mut [0; 4])));
            run += 1;
            if matches!(c, '/' | '.' | '-' | '_' | ':' | '=' | ',' | ';' | '?' | '&' | '|' | ')')
                || run >= 16
            {
                out.push_str("<wbr>");
                run = 0;
            }
        }
    }
    out
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
    fn long_words_may_break_at_their_punctuation_and_short_ones_never() {
        assert_eq!(breakable("deb1 ok"), "deb1 ok");
        assert_eq!(
            breakable("http://172.29.1.12:8080/health"),
            "http:<wbr>/<wbr>/<wbr>172.<wbr>29.<wbr>1.<wbr>12:<wbr>8080/<wbr>health"
        );
        assert_eq!(
            breakable("0123456789abcdef0123456789abcdef"),
            "0123456789abcdef<wbr>0123456789abcdef<wbr>"
        );
        assert_eq!(
            breakable("<aaaaaaaaaaaaaaaaaaaaaaaaaaaa>"),
            "&lt;aaaaaaaaaaaaaaa<wbr>aaaaaaaaaaaaa&gt;"
        );
    }

    #[test]
    fn html_escapes_everything_a_host_could_report() {
        let mut doc = Document::new("<plan>");
        doc.table(&["package"], vec![vec!["<script>alert('x')</script> & co".into()]]);
        let html = doc.to_html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains(
                "&lt;script&gt;alert(&#39;x<wbr>&#39;)<wbr>&lt;/<wbr>script&gt; &amp; co"
            ),
            "{html}"
        );
    }

    #[test]
    fn backticks_become_code_and_an_unpaired_one_stays() {
        assert_eq!(
            inline("run `a <b>` then `c`"),
            "run <code>a &lt;b&gt;</code> then <code>c</code>"
        );
        assert_eq!(inline("one ` alone"), "one ` alone");
        assert_eq!(inline("`a` and ` b"), "<code>a</code> and ` b");
    }

    #[test]
    fn the_page_wraps_long_words_and_prints_the_appendix_on_its_own_page() {
        let mut doc = Document::new("r");
        doc.lead("what\nwhen");
        doc.facts(vec![("Approved by".into(), "carol".into())]);
        doc.appendix("Appendix A");
        let html = doc.to_html();
        assert!(html.contains("overflow-wrap:anywhere"), "{html}");
        assert!(html.contains("@media print") && html.contains("break-before:page"), "{html}");
        assert!(html.contains("<div class=\"lead\">\n<p>what</p>\n<p>when</p>\n</div>"), "{html}");
        assert!(html.contains("<dt>Approved by</dt><dd>carol</dd>"), "{html}");
        assert_eq!(
            doc.to_markdown(),
            "# r\n\n> what\n> when\n\n- **Approved by:** carol\n\n---\n\n## Appendix A\n"
        );
    }

    #[test]
    fn markdown_tables_survive_pipes_and_newlines() {
        let mut doc = Document::new("t");
        doc.table(&["a", "b"], vec![vec!["x|y".into(), "line\nbreak".into()]]);
        assert_eq!(doc.to_markdown(), "# t\n\n| a | b |\n|---|---|\n| x\\|y | line break |\n");
    }
}
