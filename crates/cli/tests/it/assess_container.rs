//! `patchctl assess` inside a real Debian bookworm container: debootstrapped from the main suite
//! with the security suite then enabled, so that it has real pending security updates.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::{base_image, in_container, text};

/// What apt says, read independently of patchctl's parsers: `apt-get -s dist-upgrade` for the
/// packages and candidate versions, `apt-cache policy` for the archives each candidate is in.
struct AptTruth {
    /// (name as apt prints it, candidate version)
    changes: BTreeSet<(String, String)>,
    security: BTreeSet<String>,
}

fn apt_truth(image: &str) -> AptTruth {
    let output = in_container(image, "LC_ALL=C apt-get -s dist-upgrade");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut changes = BTreeSet::new();
    for line in text(&output.stdout).lines().filter(|l| l.starts_with("Inst ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let candidate =
            words.iter().find(|w| w.starts_with('(')).expect("a candidate").trim_start_matches('(');
        changes.insert((words[1].to_owned(), candidate.to_owned()));
    }
    let names: Vec<&str> = changes.iter().map(|(name, _)| name.as_str()).collect();
    let policy = in_container(image, &format!("LC_ALL=C apt-cache policy {}", names.join(" ")));
    assert!(policy.status.success(), "{}", text(&policy.stderr));
    AptTruth { security: candidates_in_security_archives(&text(&policy.stdout)), changes }
}

/// From `apt-cache policy` output: the packages whose candidate version is published in an
/// archive whose suite ends in `-security`.
fn candidates_in_security_archives(policy: &str) -> BTreeSet<String> {
    let mut security = BTreeSet::new();
    let (mut package, mut candidate, mut in_candidate_block) =
        (String::new(), String::new(), false);
    for line in policy.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            package = line.trim_end_matches(':').to_owned();
            in_candidate_block = false;
        } else if let Some(version) = line.trim().strip_prefix("Candidate: ") {
            candidate = version.to_owned();
        } else if line.starts_with("     ") && !line.starts_with("        ")
            || line.starts_with(" *** ")
        {
            let version = line.trim_start_matches(" *** ").split_whitespace().next().unwrap_or("");
            in_candidate_block = version == candidate;
        } else if in_candidate_block && line.starts_with("        ") {
            // "        500 URI SUITE/COMPONENT ARCH Packages"
            let suite =
                line.split_whitespace().nth(2).and_then(|s| s.split('/').next()).unwrap_or("");
            if suite.ends_with("-security") {
                security.insert(package.clone());
            }
        }
    }
    security
}

#[test]
fn assess_lists_exactly_what_apt_would_change() {
    let Some(image) = base_image() else { return };
    let output = in_container(&image, "patchctl assess --format json");
    assert!(output.status.success(), "patchctl failed: {}", text(&output.stderr));
    let document: Value = serde_json::from_slice(&output.stdout).expect("patchctl prints JSON");
    let assessment = &document["assessments"][0];
    assert_eq!(assessment["host"], "testhost");
    assert_eq!(assessment["package_manager"], "apt");
    assert_eq!(assessment["os"]["version_codename"], "bookworm");

    let mut ours = BTreeSet::new();
    let mut ours_security = BTreeSet::new();
    let mut native = BTreeMap::new();
    for update in assessment["updates"].as_array().unwrap() {
        let name = update["name"].as_str().unwrap().to_owned();
        let arch = update["arch"].as_str().unwrap();
        native.insert(name.clone(), arch.to_owned());
        let candidate = update["candidate_version"].as_str().unwrap().to_owned();
        ours.insert((name.clone(), candidate));
        if update["classification"] == "security" {
            ours_security.insert(name);
        }
    }
    let truth = apt_truth(&image);
    assert!(!truth.changes.is_empty(), "the image should have pending updates");
    assert!(!truth.security.is_empty(), "the image should have pending security updates");
    assert_eq!(ours, truth.changes, "patchctl's updates differ from apt-get -s dist-upgrade");
    assert_eq!(
        ours_security, truth.security,
        "security flags differ from the archives apt-cache policy shows"
    );

    let summary = &assessment["summary"];
    assert_eq!(summary["n_updates"].as_u64().unwrap() as usize, truth.changes.len());
    assert_eq!(summary["n_security"].as_u64().unwrap() as usize, truth.security.len());
}

#[test]
fn table_output_ends_with_the_summary() {
    let Some(image) = base_image() else { return };
    let output = in_container(&image, "patchctl assess");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("testhost: ") && last.contains(" security, "), "{stdout}");
    assert!(stdout.contains("security"), "{stdout}");
}

/// Runs patchctl after `setup` and expects it to fail with a message containing every needle.
fn assert_fails_with(image: &str, setup: &str, needles: &[&str]) {
    let output = in_container(image, &format!("{setup}\npatchctl assess"));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stdout: {}\nstderr: {stderr}", text(&output.stdout));
    for needle in needles {
        assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_host_that_is_neither_apt_nor_dnf() {
    let Some(image) = base_image() else { return };
    assert_fails_with(
        &image,
        "rm /etc/os-release; printf 'ID=alpine\\nVERSION_ID=3.20\\n' > /etc/os-release",
        &["host testhost", "os-release", "neither apt nor dnf", "alpine"],
    );
}

#[test]
fn a_missing_tool() {
    let Some(image) = base_image() else { return };
    assert_fails_with(
        &image,
        "rm /usr/bin/apt-get",
        &["host testhost", "apt-get -s", "not installed"],
    );
}

#[test]
fn a_corrupt_dpkg_status() {
    let Some(image) = base_image() else { return };
    // Cut the status file in the middle of a stanza, as a full disk or a crash would.
    assert_fails_with(
        &image,
        "head -c 30000 /var/lib/dpkg/status > /tmp/s && printf 'Package: half\\nStatus: ins' >> /tmp/s && cp /tmp/s /var/lib/dpkg/status",
        &["host testhost", "exited with code"],
    );
}

#[test]
fn a_tool_that_prints_garbage() {
    let Some(image) = base_image() else { return };
    assert_fails_with(
        &image,
        "printf '#!/bin/sh\\necho \"libc6 amd64 \\$(reboot)\"\\n' > /usr/local/bin/dpkg-query && chmod +x /usr/local/bin/dpkg-query",
        &["host testhost", "dpkg-query", "unexpected output at line 1"],
    );
}

#[test]
fn truncated_simulation_output() {
    let Some(image) = base_image() else { return };
    // A wrapper that stops apt's output after its second Inst line, as a dropped connection would.
    let script = r#"printf '#!/bin/sh\n/usr/bin/apt-get "$@" | awk "/^Inst/{n++} n<3"\n' > /usr/local/bin/apt-get && chmod +x /usr/local/bin/apt-get"#;
    assert_fails_with(&image, script, &["host testhost", "apt-get -s", "truncated"]);
}
