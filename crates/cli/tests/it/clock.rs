//! `--now`: a virtual clock dates nothing in real state. Read-only commands take it; a command
//! that writes takes it only on a rehearsal copy, and says so.

use std::process::Command;

use crate::support::{PATCHCTL, text};

fn patchctl(dir: &std::path::Path, state: &str, args: &[&str]) -> std::process::Output {
    Command::new(PATCHCTL)
        .arg("--config")
        .arg(dir.join("patchctl.toml"))
        .arg("--state")
        .arg(dir.join(state))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_virtual_clock_writes_only_in_a_rehearsal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("patchctl.toml"),
        "[hosts.web1]\naddress = \"192.0.2.10\"\nenvironment = \"dev\"\n",
    )
    .unwrap();
    let at = ["--now", "2030-01-01T00:00:00Z"];
    // Read-only: allowed on real state.
    let output =
        patchctl(dir.path(), "real.db", &[&at[..], &["compliance", "--format", "json"]].concat());
    assert_ne!(output.status.code(), Some(2), "{}", text(&output.stderr));
    // Writing: refused on real state, before anything is done.
    for command in [&["assess", "web1"][..], &["postmortem", "open", "x", "--as", "alice"][..]] {
        let output = patchctl(dir.path(), "real.db", &[&at[..], command].concat());
        assert_eq!(output.status.code(), Some(2), "{command:?}: {}", text(&output.stderr));
        let message = text(&output.stderr);
        assert!(
            message.contains("a virtual clock may date nothing in the real state"),
            "{message}"
        );
    }
    // A rehearsal copy takes it, and says it is one.
    let output = patchctl(dir.path(), "real.db", &["rehearsal", "create", "--empty"]);
    assert!(!output.status.success(), "a rehearsal needs its path");
    let copy = dir.path().join("rehearsal.db");
    let output = patchctl(
        dir.path(),
        "real.db",
        &["rehearsal", "create", "--empty", copy.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = patchctl(
        dir.path(),
        "rehearsal.db",
        &[&at[..], &["postmortem", "open", "rehearsed", "--as", "alice"]].concat(),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("REHEARSAL at the virtual time 2030-01-01"),
        "{}",
        text(&output.stderr)
    );
    // A copy of real state is a rehearsal too; the real state is not touched.
    let output = patchctl(
        dir.path(),
        "rehearsal.db",
        &["rehearsal", "create", dir.path().join("again.db").to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = patchctl(dir.path(), "again.db", &["rehearsal", "show"]);
    assert!(text(&output.stdout).starts_with("a rehearsal copy of "), "{}", text(&output.stdout));
    let output = patchctl(dir.path(), "real.db", &["rehearsal", "show"]);
    assert_eq!(text(&output.stdout).trim(), "real state: not a rehearsal");
}
