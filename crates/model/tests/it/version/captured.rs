//! Captured real answers under `test_data/version/`: tricky pairs and what dpkg and rpm said
//! about them. Our order is held against the files on every run, with no tool installed. With
//! `PATCHCTL_INTEGRATION=1` the files are held against the tools; with `UPDATE_EXPECT=1` as
//! well, they are rewritten from the tools' answers (add a pair with the answer `?` to have it
//! filled in).

use std::path::{Path, PathBuf};

use super::{dpkg, rpm};

#[test]
fn captured_deb_answers_match_our_order() {
    check_ours(&data_file("deb.txt"), dpkg::our_verdict);
}

#[test]
fn captured_rpm_answers_match_our_order() {
    check_ours(&data_file("rpm.txt"), |a, b| rpm_symbol(&rpm::our_verdict(a, b)));
}

#[test]
fn captured_deb_answers_are_dpkgs() {
    if !super::integration_enabled("captured_deb_answers_are_dpkgs") {
        return;
    }
    dpkg::require_dpkg();
    let path = data_file("deb.txt");
    let mut file = CaseFile::read(&path);
    let answers: Vec<String> =
        file.cases.iter().map(|case| dpkg::dpkg_verdict(&case.a, &case.b)).collect();
    check_or_update(&path, &mut file, answers, "dpkg");
}

#[test]
fn captured_rpm_answers_are_rpms() {
    if !super::integration_enabled("captured_rpm_answers_are_rpms") {
        return;
    }
    rpm::require_python3_rpm();
    let path = data_file("rpm.txt");
    let mut file = CaseFile::read(&path);
    let pairs: Vec<(String, String)> =
        file.cases.iter().map(|case| (case.a.clone(), case.b.clone())).collect();
    let answers = rpm::ask_rpm(&pairs)
        .iter()
        .map(|line| rpm_symbol(line.split(' ').nth(1).unwrap_or("")))
        .collect();
    check_or_update(&path, &mut file, answers, "rpm");
}

fn check_ours(path: &Path, ours: impl Fn(&str, &str) -> String) {
    let file = CaseFile::read(path);
    let wrong: Vec<String> = file
        .cases
        .iter()
        .filter(|case| ours(&case.a, &case.b) != case.answer)
        .map(|case| {
            format!(
                "{:?} against {:?}: captured {}, we say {}",
                case.a,
                case.b,
                case.answer,
                ours(&case.a, &case.b)
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} disagrees with us on {} pairs:\n{}",
        path.display(),
        wrong.len(),
        wrong.join("\n")
    );
}

fn check_or_update(path: &Path, file: &mut CaseFile, answers: Vec<String>, tool: &str) {
    if std::env::var_os("UPDATE_EXPECT").is_some_and(|value| value == "1") {
        for (case, answer) in file.cases.iter_mut().zip(answers) {
            case.answer = answer;
        }
        file.write(path);
        return;
    }
    let stale: Vec<String> = file
        .cases
        .iter()
        .zip(&answers)
        .filter(|(case, answer)| &case.answer != *answer)
        .map(|(case, answer)| {
            format!(
                "{:?} against {:?}: captured {}, {tool} says {answer}",
                case.a, case.b, case.answer
            )
        })
        .collect();
    assert!(
        stale.is_empty(),
        "{} is stale; rerun with UPDATE_EXPECT=1 to capture {tool}'s answers:\n{}",
        path.display(),
        stale.join("\n")
    );
}

/// rpmverCmp's sign from [`rpm::ask_rpm`] as a captured answer.
fn rpm_symbol(sign: &str) -> String {
    match sign {
        "-1" => "<",
        "0" => "=",
        "1" => ">",
        "E" => "error",
        other => other,
    }
    .to_owned()
}

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/version").join(name)
}

/// A captured file: comment lines (`#`) on top, then one case a line: two versions as Rust
/// string literals (so white space and control characters survive), then the answer.
struct CaseFile {
    header: Vec<String>,
    cases: Vec<Case>,
}

struct Case {
    a: String,
    b: String,
    answer: String,
}

impl CaseFile {
    fn read(path: &Path) -> CaseFile {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
        let mut file = CaseFile { header: Vec::new(), cases: Vec::new() };
        for (index, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                if file.cases.is_empty() {
                    file.header.push(line.to_owned());
                }
                continue;
            }
            let case = parse_case(line)
                .unwrap_or_else(|| panic!("{}:{}: not a case: {line}", path.display(), index + 1));
            file.cases.push(case);
        }
        file
    }

    /// Writes to a temporary file and renames it, so that a test reading the file meanwhile
    /// sees the old or the new contents, never half of them.
    fn write(&self, path: &Path) {
        let mut text = String::new();
        for line in &self.header {
            text += line;
            text.push('\n');
        }
        for case in &self.cases {
            text += &format!("{:?} {:?} {}\n", case.a, case.b, case.answer);
        }
        let temporary = path.with_extension("txt.new");
        std::fs::write(&temporary, text).expect("writing the captured answers");
        std::fs::rename(&temporary, path).expect("replacing the captured answers");
    }
}

fn parse_case(line: &str) -> Option<Case> {
    let (a, rest) = string_literal(line)?;
    let (b, rest) = string_literal(rest.trim_start())?;
    let answer = rest.trim().to_owned();
    (!answer.is_empty()).then_some(Case { a, b, answer })
}

/// Reads a string literal as `{:?}` writes it, returning it and the text after it.
fn string_literal(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices();
    let mut value = String::new();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 2..])),
            '\\' => value.push(match chars.next()?.1 {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                '0' => '\0',
                'u' => {
                    let mut digits = String::new();
                    chars.next().filter(|&(_, c)| c == '{')?;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                        digits.push(c);
                    }
                    char::from_u32(u32::from_str_radix(&digits, 16).ok()?)?
                }
                other => other,
            }),
            c => value.push(c),
        }
    }
    None
}
