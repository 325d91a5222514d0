//! `cargo xtask bench …`: the benchmarks BENCHMARKS.md reports.
//!
//! - `parse`: criterion, parsing a large host's dpkg database and apt simulation.
//! - `assess [RUNS]`: `patchctl assess` against `apt-get -s dist-upgrade` alone, the floor it
//!   cannot beat, alternating runs in one loop so both see the same machine; on this machine and
//!   in a container of the base image.
//! - `fleet-assess [RUNS]`: `patchctl assess all` on the running fleet against Ansible doing the
//!   same work (`bench_fleet.rs`).
//! - `rollout [ROUNDS]`: a rolling patch with reboots of a fresh fleet, patchctl against an
//!   Ansible playbook and against the package managers' and reboots' own time
//!   (`bench_rollout.rs`). `--patchctl-only` skips the playbooks, to look at patchctl's own
//!   run (its waves against their floors) without their time.
//! - `advisories`: 10,000 generated hosts of 2,000 packages matched against 100,000 generated
//!   advisories, with the peak memory of the process (`crates/model/benches/advisories.rs`, built
//!   with the release profile).
//! - `dashboard [HOSTS…]`: the dashboard's pages and the API's host list under wrk, for
//!   generated fleets of 10,000 and 100,000 hosts, with the server's memory
//!   (`bench_dashboard.rs`).
//! - `import-contention`: a 100,000-record advisory import on one pool while another appends
//!   to a rollout's journal every 20 ms, as a driver does: how long those appends wait
//!   (`crates/store/examples/import_contention.rs`).
//! - `steps [throughput | takeover | xmin [SECONDS]]`: the host-step queue on PostgreSQL (and
//!   SQLite for comparison): claim/complete throughput with 1, 2 and 4 workers, a lease's
//!   take-over time, and throughput while a transaction holds back the xmin horizon for
//!   SECONDS, 600 by default (`crates/store/examples/step_queue.rs`).

use std::process::Command;

use anyhow::{Context, bail};

use fleet::images;

use crate::ci::run_command;

/// Times `apt-get -s dist-upgrade` and `patchctl assess` alternately, `$1` times, with the
/// patchctl binary at `$2`; prints one line of nanoseconds per round. One warm-up round first.
const TIMING_LOOP: &str = r#"
runs=$1; patchctl=$2
export LC_ALL=C
apt-get -s -o Debug::NoLocking=true dist-upgrade >/dev/null; "$patchctl" assess --format json >/dev/null
i=0
while [ "$i" -lt "$runs" ]; do
  t0=$(date +%s%N)
  apt-get -s -o Debug::NoLocking=true dist-upgrade >/dev/null || exit 1
  t1=$(date +%s%N)
  "$patchctl" assess --format json >/dev/null || exit 1
  t2=$(date +%s%N)
  echo "$((t1 - t0)) $((t2 - t1))"
  i=$((i + 1))
done
"#;

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    match args {
        ["parse"] => {
            run_command(Command::new("cargo").args(["bench", "-p", "pkgmgr", "--bench", "parse"]))
        }
        ["assess"] => assess(20),
        ["assess", runs] => assess(runs.parse().context("RUNS must be a number")?),
        ["advisories"] => run_command(Command::new("cargo").args([
            "bench",
            "-p",
            "model",
            "--bench",
            "advisories",
        ])),
        ["import-contention"] => run_command(Command::new("cargo").args([
            "run",
            "--release",
            "-p",
            "store",
            "--example",
            "import_contention",
        ])),
        ["steps", rest @ ..] => run_command(
            Command::new("cargo")
                .args(["run", "--release", "-p", "store", "--example", "step_queue", "--"])
                .args(rest),
        ),
        ["fleet-assess"] => crate::bench_fleet::run(5),
        ["fleet-assess", runs] => {
            crate::bench_fleet::run(runs.parse().context("RUNS must be a number")?)
        }
        ["rollout"] => crate::bench_rollout::run(3, false),
        ["rollout", rounds] => {
            crate::bench_rollout::run(rounds.parse().context("ROUNDS must be a number")?, false)
        }
        ["rollout", rounds, "--patchctl-only"] => {
            crate::bench_rollout::run(rounds.parse().context("ROUNDS must be a number")?, true)
        }
        ["dashboard"] => crate::bench_dashboard::run(&[10_000, 100_000]),
        ["dashboard", sizes @ ..] => {
            let sizes: Result<Vec<usize>, _> = sizes.iter().map(|s| s.parse()).collect();
            crate::bench_dashboard::run(&sizes.context("HOSTS must be numbers")?)
        }
        _ => bail!(
            "usage: cargo xtask bench parse | assess [RUNS] | fleet-assess [RUNS] | rollout [ROUNDS] [--patchctl-only] | advisories | import-contention | steps [throughput | takeover | xmin [SECONDS]] | dashboard [HOSTS...]"
        ),
    }
}

fn assess(runs: usize) -> anyhow::Result<()> {
    let patchctl = build_release_patchctl()?;
    let patchctl = patchctl.to_str().context("the binary's path is not UTF-8")?;
    let runs_text = runs.to_string();

    let local =
        Command::new("sh").args(["-c", TIMING_LOOP, "sh", &runs_text, patchctl]).output()?;
    report("this machine", &local)?;

    let image = images::base_image()?;
    let mount = format!("{patchctl}:/usr/local/bin/patchctl:ro");
    let container = Command::new("docker")
        .args(["run", "--rm", "--network", "none", "-v", &mount, &image])
        .args(["sh", "-c", TIMING_LOOP, "sh", &runs_text, "/usr/local/bin/patchctl"])
        .output()?;
    report(&format!("container {image}"), &container)
}

fn report(place: &str, output: &std::process::Output) -> anyhow::Result<()> {
    if !output.status.success() {
        bail!("the timing loop failed on {place}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let mut apt = Vec::new();
    let mut ours = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut fields = line.split(' ').map(|f| f.parse::<u64>());
        let (Some(Ok(a)), Some(Ok(p))) = (fields.next(), fields.next()) else {
            bail!("unexpected timing line {line:?}");
        };
        apt.push(a as f64 / 1e6);
        ours.push(p as f64 / 1e6);
    }
    let (apt_median, ours_median) = (median(&mut apt), median(&mut ours));
    println!(
        "{place}: {} runs; apt-get -s dist-upgrade median {apt_median:.0} ms (min {:.0}); patchctl assess median {ours_median:.0} ms (min {:.0}); ratio of medians {:.2}",
        apt.len(),
        apt[0],
        ours[0],
        ours_median / apt_median
    );
    Ok(())
}

/// Builds the release binary the benchmarks time and returns its absolute path.
pub fn build_release_patchctl() -> anyhow::Result<std::path::PathBuf> {
    run_command(Command::new("cargo").args([
        "build",
        "--release",
        "--locked",
        "--bin",
        "patchctl",
    ]))?;
    std::fs::canonicalize("target/release/patchctl").context("finding the release binary")
}

/// Sorts `values` and returns their median.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}
