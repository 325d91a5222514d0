//! Plain-text tables: columns padded to their widest cell, the last one left ragged.

pub struct Table<const N: usize> {
    header: [String; N],
    rows: Vec<[String; N]>,
}

impl<const N: usize> Table<N> {
    pub fn new(header: [&str; N]) -> Table<N> {
        Table { header: header.map(str::to_owned), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: [String; N]) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        self.render_rows(std::iter::once(&self.header).chain(&self.rows))
    }

    pub fn render_without_header(&self) -> String {
        self.render_rows(self.rows.iter())
    }

    fn render_rows<'a>(&'a self, rows: impl Iterator<Item = &'a [String; N]> + Clone) -> String {
        let mut widths = [0usize; N];
        for row in rows.clone() {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == N {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', widths[i] - cell.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
