//! Tests of the policy, on files in `test_data/policy/` and on a virtual clock: every time is a
//! fixed `DateTime<Utc>` written in the test or its data file. `PATCHCTL_BLESS=1 cargo test -p
//! model` rewrites the expected files after a deliberate change; review them with `git diff`.

mod baselines;
mod files;
mod properties;
mod windows;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

fn test_data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/policy").join(relative)
}

/// Compares `actual` with the file `expected`, or writes it when blessing.
fn expect_file(expected: &Path, actual: &str) {
    if std::env::var_os("PATCHCTL_BLESS").is_some() {
        std::fs::write(expected, actual).unwrap();
        return;
    }
    let wanted = std::fs::read_to_string(expected)
        .unwrap_or_else(|_| panic!("{} is missing: run with PATCHCTL_BLESS=1", expected.display()));
    assert!(
        wanted == actual,
        "{} differs (PATCHCTL_BLESS=1 rewrites it):\n--- expected\n{wanted}\n--- actual\n{actual}",
        expected.display()
    );
}

/// The `.toml` files of a folder, sorted.
fn cases(folder: &str) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(test_data(folder))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {folder}");
    cases
}

/// An instant written as RFC 3339, e.g. `2026-03-29T01:00:00Z`.
fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .with_timezone(&Utc)
}

/// A policy from text that must be valid.
fn policy(text: &str) -> super::Policy {
    super::Policy::parse(Path::new("policy.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}
