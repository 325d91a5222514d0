//! Our Debian order against the real `dpkg --compare-versions`, on generated pairs: the same
//! order, the same refusals, and the same warnings, word for word.

use std::cmp::Ordering;
use std::process::{Command, Stdio};
use std::time::Instant;

use model::version::{DebVersion, Scheme, VersionError, deb};

use super::generate::{self, Flavour};

/// Pairs per run. Each costs one dpkg process, about 1.5 ms of wall time with two threads.
const N_PAIRS: usize = 20_000;
const N_THREADS: usize = 2;

#[test]
fn dpkg_agrees_on_generated_pairs() {
    if !super::integration_enabled("dpkg_agrees_on_generated_pairs") {
        return;
    }
    require_dpkg();
    let seed = super::seed();
    let pairs = generate::pairs(Flavour::Deb, seed, N_PAIRS);
    let started = Instant::now();
    let disagreements: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = pairs
            .chunks(pairs.len().div_ceil(N_THREADS))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk.iter().filter_map(|(a, b)| check_pair(a, b).err()).collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a dpkg worker panicked"))
            .collect()
    });
    println!(
        "dpkg: {} pairs (seed {seed}; {}) in {:.1?}, {} disagreements",
        pairs.len(),
        super::mix(Scheme::Deb, &pairs),
        started.elapsed(),
        disagreements.len()
    );
    super::fail_on_disagreements("dpkg", seed, &disagreements);
}

/// What dpkg answers about `a` against `b`: `<`, `=`, `>`, or `error: ` and its reason.
pub fn dpkg_verdict(a: &str, b: &str) -> String {
    for (relation, symbol) in [("lt", "<"), ("eq", "="), ("gt", ">")] {
        let run = run_dpkg(a, relation, b);
        match run.code {
            Some(0) => return symbol.to_owned(),
            Some(1) => continue,
            Some(2) => {
                let reason = run.stderr.rsplit("has bad syntax: ").next().unwrap_or("");
                return format!("error: {}", reason.trim_end());
            }
            _ => return format!("dpkg failed: {run:?}"),
        }
    }
    "neither <, = nor >".to_owned()
}

/// Our answer in the form of [`dpkg_verdict`].
pub fn our_verdict(a: &str, b: &str) -> String {
    match deb::compare(a, b) {
        Ok(ordering) => super::symbol(ordering).to_owned(),
        Err(VersionError::Deb { problem, .. }) => format!("error: {problem}"),
        Err(other) => format!("a non-Debian error: {other}"),
    }
}

pub fn require_dpkg() {
    let found = Command::new("dpkg").arg("--version").stdout(Stdio::null()).status();
    if !found.is_ok_and(|status| status.success()) {
        panic!("these tests need dpkg: install the Debian package `dpkg`");
    }
}

/// Checks one pair with one dpkg run, the expensive part. dpkg is asked whether the relation
/// we predict holds (`lt`, `eq` or `gt`): a yes pins its answer to ours exactly, since the
/// three are exclusive. Its standard error must be exactly the warnings and the error we
/// predict, in dpkg's words. Only a disagreement costs more runs, to report dpkg's answer.
fn check_pair(a: &str, b: &str) -> Result<(), String> {
    let predicted = deb::compare(a, b);
    let relation = match predicted {
        Ok(Ordering::Less) | Err(_) => "lt",
        Ok(Ordering::Equal) => "eq",
        Ok(Ordering::Greater) => "gt",
    };
    let run = run_dpkg(a, relation, b);
    let expected_code = if predicted.is_ok() { 0 } else { 2 };
    let expected_stderr = expected_stderr(a, b);
    if run.code == Some(expected_code) && run.stderr == expected_stderr {
        return Ok(());
    }
    Err(format!(
        "dpkg --compare-versions -- {a:?} ? {b:?}\n    dpkg says {}, we say {}\n    dpkg's \
         stderr:     {:?}\n    expected stderr: {expected_stderr:?}",
        dpkg_verdict(a, b),
        our_verdict(a, b),
        run.stderr,
    ))
}

/// What dpkg writes to standard error when comparing `a` with `b`: a warning per version it
/// only warns about, and an error for the first it refuses, after which it stops. It parses
/// neither the empty string nor `<unknown>`.
fn expected_stderr(a: &str, b: &str) -> String {
    let mut stderr = String::new();
    for version in [a, b] {
        if version.is_empty() || version == "<unknown>" {
            continue;
        }
        match DebVersion::parse_strict(version) {
            Ok(_) => {}
            Err(VersionError::Deb { problem, .. }) if problem.is_warning() => {
                stderr +=
                    &format!("dpkg: warning: version '{version}' has bad syntax: {problem}\n");
            }
            Err(VersionError::Deb { problem, .. }) => {
                stderr += &format!("dpkg: error: version '{version}' has bad syntax: {problem}\n");
                break;
            }
            Err(other) => stderr += &format!("(a non-Debian error: {other})"),
        }
    }
    stderr
}

#[derive(Debug)]
struct DpkgRun {
    code: Option<i32>,
    stderr: String,
}

/// Runs `dpkg --compare-versions -- a relation b`. The `--` keeps a version that starts with
/// a hyphen from being read as an option; the C locale and no colours keep the messages
/// plain English.
fn run_dpkg(a: &str, relation: &str, b: &str) -> DpkgRun {
    let output = Command::new("dpkg")
        .args(["--compare-versions", "--", a, relation, b])
        .env("LC_ALL", "C")
        .env("DPKG_COLORS", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("running dpkg --compare-versions");
    DpkgRun {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
