//! Our RPM order against rpm's own C code, through python3-rpm, on generated pairs.
//!
//! One Python process answers every pair three ways. `rpm.ver(a)` is rpm's own parser
//! (`rpmverParse`), and comparing two of them is rpm's `rpmverCmp`: that checks our split and
//! our order in one go. `rpm.labelCompare((e, v, r), (e, v, r))` is the classic entry point; it
//! gets the triples from a Python port of rpm's `parseEVR` (epoch only from leading digits
//! followed by a colon, an empty epoch as `"0"`, release after the last hyphen, `None` for what
//! is missing). In rpm 4.18 it builds versions with `rpmverNew` and compares them with
//! `rpmverCmp`, a missing release before any release, so it must agree too, except that it
//! refuses an empty version part and a NUL byte. The fields rpm's parser found in `a` are compared with ours
//! as well.

use std::cmp::Ordering;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use model::version::{Evr, Scheme, rpm};

use super::generate::{self, Flavour};

/// Pairs per run: python3-rpm answers about 100,000 a second, so be generous.
const N_PAIRS: usize = 100_000;

/// Debian's python3-rpm lives in the system interpreter; a `python3` earlier on PATH (pyenv,
/// a virtualenv) usually lacks the module.
const PYTHON: &str = "/usr/bin/python3";

const ORACLE: &str = r#"
import sys, rpm

def parse_evr(evr):
    digits = 0
    while digits < len(evr) and evr[digits] in "0123456789":
        digits += 1
    hyphen = evr.rfind("-", digits)
    if evr[digits:digits + 1] == ":":
        epoch, start = (evr[:digits] or "0"), digits + 1
    else:
        epoch, start = None, 0
    if hyphen >= 0:
        return (epoch, evr[start:hyphen], evr[hyphen + 1:])
    return (epoch, evr[start:], None)

def sign(n):
    return str((n > 0) - (n < 0))

def field(value):
    return "-" if value is None else "x" + value.encode().hex()

def parsed(text):
    try:
        return rpm.ver(text)
    except (ValueError, TypeError):
        return None

def answer(a, b):
    try:
        label = sign(rpm.labelCompare(parse_evr(a), parse_evr(b)))
    except (ValueError, TypeError):
        label = "E"
    va, vb = parsed(a), parsed(b)
    if va is None or vb is None:
        ver = "E"
    else:
        ver = sign((va > vb) - (va < vb))
        if (va == vb) != (ver == "0"):
            ver = "inconsistent"
    fields = "E E E" if va is None else " ".join(field(f) for f in (va.e, va.v, va.r))
    return f"{label} {ver} {fields}\n"

out = sys.stdout
for line in sys.stdin:
    hex_a, hex_b = line.rstrip("\n").split(",")
    a = bytes.fromhex(hex_a).decode()
    b = bytes.fromhex(hex_b).decode()
    out.write(answer(a, b))
out.flush()
"#;

#[test]
fn rpm_agrees_on_generated_pairs() {
    if !super::integration_enabled("rpm_agrees_on_generated_pairs") {
        return;
    }
    require_python3_rpm();
    let seed = super::seed();
    let pairs = generate::pairs(Flavour::Rpm, seed, N_PAIRS);
    let started = Instant::now();
    let answers = ask_rpm(&pairs);
    let disagreements: Vec<String> = pairs
        .iter()
        .zip(&answers)
        .filter_map(|((a, b), answer)| check_pair(a, b, answer).err())
        .collect();
    println!(
        "rpm: {} pairs (seed {seed}; {}) in {:.1?}, {} disagreements",
        pairs.len(),
        super::mix(Scheme::Rpm, &pairs),
        started.elapsed(),
        disagreements.len()
    );
    super::fail_on_disagreements("rpm", seed, &disagreements);
}

/// rpm's answers about `pairs`, one line each: labelCompare's sign, rpmverCmp's sign, and the
/// fields of `a` as rpm parsed it (`E` for a version rpm refused).
pub fn ask_rpm(pairs: &[(String, String)]) -> Vec<String> {
    let mut python = Command::new(PYTHON)
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting /usr/bin/python3");
    let mut stdin = python.stdin.take().expect("python's stdin is piped");
    let stdout = python.stdout.take().expect("python's stdout is piped");
    // Feed from another thread so that neither pipe fills while the other waits.
    let answers = std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut input = std::io::BufWriter::new(&mut stdin);
            for (a, b) in pairs {
                writeln!(input, "{},{}", hex(a), hex(b)).expect("writing pairs to python");
            }
            input.flush().expect("writing pairs to python");
        });
        BufReader::new(stdout)
            .lines()
            .collect::<Result<Vec<_>, _>>()
            .expect("reading rpm's answers")
    });
    let status = python.wait().expect("waiting for python");
    assert!(status.success(), "the rpm oracle failed: {status}");
    assert_eq!(answers.len(), pairs.len(), "the rpm oracle skipped pairs");
    answers
}

/// Our answer to `a` against `b` in the form of rpmverCmp's column of [`ask_rpm`].
pub fn our_verdict(a: &str, b: &str) -> String {
    match rpm::compare(a, b) {
        Ok(ordering) => sign(ordering).to_owned(),
        Err(_) => "E".to_owned(),
    }
}

pub fn require_python3_rpm() {
    let imported = Command::new(PYTHON).args(["-c", "import rpm"]).stderr(Stdio::null()).status();
    match imported {
        Ok(status) if status.success() => {}
        Ok(_) => panic!("{PYTHON} cannot import rpm: install the Debian package `python3-rpm`"),
        Err(_) => panic!("{PYTHON} is missing: install the Debian package `python3-rpm`"),
    }
}

fn check_pair(a: &str, b: &str, answer: &str) -> Result<(), String> {
    let mut columns = answer.split(' ');
    let (label, ver) = (columns.next().unwrap_or(""), columns.next().unwrap_or(""));
    let rpm_fields: Vec<&str> = columns.collect();
    let ours = our_verdict(a, b);
    let our_fields = match Evr::parse(a) {
        Ok(evr) => vec![
            field(evr.epoch.as_deref()),
            field(Some(&evr.version)),
            field(evr.release.as_deref()),
        ],
        Err(_) => vec!["E".to_owned(); 3],
    };
    // labelCompare builds its versions with rpmverNew, which refuses an empty version part
    // that rpmverParse takes (`1:`, `-1`), and Python refuses to pass it a string with a NUL,
    // where rpm.ver lets C cut the string short; everywhere else it must agree.
    let label_refuses = |text: &str| {
        text.contains('\0') || Evr::parse(text).is_ok_and(|evr| evr.version.is_empty())
    };
    let label_agrees =
        label == ours || (label == "E" && (ours == "E" || label_refuses(a) || label_refuses(b)));
    if ver == ours && label_agrees && rpm_fields == our_fields {
        return Ok(());
    }
    Err(format!(
        "{a:?} against {b:?}\n    rpmverCmp says {ver}, labelCompare says {label}, we say \
         {ours}\n    rpm splits a into {rpm_fields:?}, we into {our_fields:?}"
    ))
}

fn sign(ordering: Ordering) -> &'static str {
    match ordering {
        Ordering::Less => "-1",
        Ordering::Equal => "0",
        Ordering::Greater => "1",
    }
}

fn field(value: Option<&str>) -> String {
    match value {
        None => "-".to_owned(),
        Some(text) => format!("x{}", hex(text)),
    }
}

fn hex(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}
