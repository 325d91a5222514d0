//! Version order: properties that hold for any input, captured answers of the real tools, and
//! generated adversarial pairs checked against the real dpkg and rpm.

mod captured;
mod dpkg;
mod generate;
mod properties;
mod rpm;

use std::cmp::Ordering;

use model::version;

/// The seed of the generated pairs: `PATCHCTL_SEED` when set, so that a failure can be
/// replayed, and otherwise a fixed one, so that a run is the same everywhere.
fn seed() -> u64 {
    match std::env::var("PATCHCTL_SEED") {
        Ok(seed) => seed.parse().expect("PATCHCTL_SEED must be a number"),
        Err(_) => 20_240_611,
    }
}

/// Whether tests that need real tools should run: only with `PATCHCTL_INTEGRATION=1`.
/// Otherwise says that `test` was skipped.
fn integration_enabled(test: &str) -> bool {
    if std::env::var_os("PATCHCTL_INTEGRATION").is_some_and(|value| value == "1") {
        return true;
    }
    println!("skipped {test}: it needs real tools; set PATCHCTL_INTEGRATION=1 to run it");
    false
}

/// Fails with the first few disagreements with `tool`, and how to replay them.
fn fail_on_disagreements(tool: &str, seed: u64, disagreements: &[String]) {
    const SHOWN: usize = 20;
    assert!(
        disagreements.is_empty(),
        "{} disagreements with {tool} (replay with PATCHCTL_SEED={seed}); the first {}:\n{}",
        disagreements.len(),
        SHOWN.min(disagreements.len()),
        disagreements[..SHOWN.min(disagreements.len())].join("\n")
    );
}

/// How `pairs` divide between `<`, `=`, `>` and refused under `scheme`: a generator that
/// drifted into producing only errors, say, would show here.
fn mix(scheme: version::Scheme, pairs: &[(String, String)]) -> String {
    let mut counts = [0usize; 4];
    for (a, b) in pairs {
        let slot = match version::compare(scheme, a, b) {
            Ok(Ordering::Less) => 0,
            Ok(Ordering::Equal) => 1,
            Ok(Ordering::Greater) => 2,
            Err(_) => 3,
        };
        counts[slot] += 1;
    }
    let [less, equal, greater, refused] = counts;
    format!("{less} <, {equal} =, {greater} >, {refused} refused")
}

fn symbol(ordering: Ordering) -> &'static str {
    match ordering {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}
