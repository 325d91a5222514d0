//! CSV as every report writes it: RFC 4180 (a field with a comma, quote or line break quoted,
//! its quotes doubled, by the `csv` crate), and a field a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-` or `@`) prefixed with `'`: package names and messages come
//! from hosts, which are not trusted.

/// One line, with its line break.
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut writer =
        csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let cells = fields.iter().map(|field| {
        let field = field.as_ref();
        if field.starts_with(['=', '+', '-', '@']) { format!("'{field}") } else { field.to_owned() }
    });
    writer.write_record(cells).expect("writing to memory cannot fail");
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the fields were UTF-8")
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn quoted_when_needed_and_formulas_defused() {
        let cases: &[(&[&str], &str)] = &[
            (&["deb1", "acme-web", "1.1-1"], "deb1,acme-web,1.1-1\n"),
            (&["a,b", "say \"hi\"", "two\nlines"], "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\n"),
            (
                &["=cmd|' /C calc'!A0", "-1", "+x", "@SUM(A1)"],
                "'=cmd|' /C calc'!A0,'-1,'+x,'@SUM(A1)\n",
            ),
            (&["=a,b"], "\"'=a,b\"\n"),
            (&["", "x"], ",x\n"),
        ];
        for (fields, expected) in cases {
            assert_eq!(line(fields), *expected, "{fields:?}");
        }
    }
}
