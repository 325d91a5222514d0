//! Shared test plumbing: the integration switch, and running the binary inside a container of
//! the base image with nothing but `--network none`.

use std::process::{Command, Output};

pub const PATCHCTL: &str = env!("CARGO_BIN_EXE_patchctl");

/// The base image to run containers of, or `None` (with a note) when integration tests are off.
pub fn base_image() -> Option<String> {
    if std::env::var("PATCHCTL_INTEGRATION").as_deref() != Ok("1") {
        eprintln!(
            "skipped: set PATCHCTL_INTEGRATION=1 (cargo xtask ci does) to run container tests"
        );
        return None;
    }
    let image = std::env::var("PATCHCTL_BASE_IMAGE")
        .expect("PATCHCTL_BASE_IMAGE is not set: run the integration tests through `cargo xtask ci`, which builds the image");
    Some(image)
}

/// Runs `script` with `sh -c` in a fresh, network-less container of `image`, with the patchctl
/// binary mounted at /usr/local/bin/patchctl. The script is the test's own text, never data.
pub fn in_container(image: &str, script: &str) -> Output {
    let mount = format!("{PATCHCTL}:/usr/local/bin/patchctl:ro");
    let output = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--hostname",
            "testhost",
            "-v",
            &mount,
            image,
            "sh",
            "-c",
            script,
        ])
        .output()
        .expect("running docker");
    assert!(
        output.status.code() != Some(125) && output.status.code() != Some(126),
        "docker could not start the container: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The commands a rollout's report (`report --format json`) lists for `host`, as journaled.
pub fn host_outputs<'r>(
    report: &'r serde_json::Value,
    host: &str,
) -> impl Iterator<Item = &'r serde_json::Value> {
    let outputs = report["outputs"].as_array().expect("the report lists outputs");
    outputs.iter().filter(move |o| o["host"] == host).map(|o| &o["output"])
}

/// How many times a unit whose name holds `step` (`-apply-`) was started on `host`: the unit is
/// started by `sh -c 'mkdir … && "$@" …' UNIT systemd-run …`.
pub fn unit_starts(report: &serde_json::Value, host: &str, step: &str) -> usize {
    host_outputs(report, host)
        .filter(|o| o["argv"].as_array().is_some_and(|a| a.iter().any(|w| w == "systemd-run")))
        .filter(|o| o["note"].as_str().unwrap_or_default().contains(step))
        .count()
}
