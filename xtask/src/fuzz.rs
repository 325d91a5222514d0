//! `cargo xtask fuzz SECONDS [TARGET...]`: the parsers' fuzz targets (`fuzz/`, cargo-fuzz on
//! the nightly toolchain), each run for SECONDS, one after the other, as one process at the
//! lowest priority (`nice -n 19`), so the machine stays usable. Not part of `cargo xtask ci`.
//! `--cpu` makes SECONDS the CPU time each target gets (read from `/proc`), which on a shared
//! machine is what a budget means; `SECONDS` 0 runs each target on its corpus once and stops,
//! a check of the seeds.
//!
//! Each target's corpus is `fuzz/corpus/TARGET/` (ignored by git): the seeds are copied there
//! from the repository's test data and `../shared/data/external/` first, and libFuzzer adds
//! what it finds. A crash leaves its input in `fuzz/artifacts/TARGET/` and fails the command
//! once every target has run; libFuzzer's output is in `fuzz/logs/TARGET.log`. FUZZING.md
//! records the runs and what they found.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::ci::run_command;

/// Every target, in the order they run: the parsers of files from elsewhere (Ansible
/// inventories, advisory feeds) first, then patchctl's own files, then hosts' outputs.
pub const TARGETS: &[&str] = &[
    "ansible_ini",
    "ansible_yaml",
    "ansible_toml",
    "updateinfo",
    "osv",
    "inventory_toml",
    "policy_toml",
    "apt",
    "dnf",
    "grub_cfg",
    "apply_outputs",
];

/// Longer than this on one input is a finding (a hang, or a quadratic walk), not slowness:
/// every seed parses in milliseconds.
const TIMEOUT_SECONDS: u32 = 25;

pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let usage = || {
        format!(
            "usage: cargo xtask fuzz [--cpu] SECONDS [TARGET...] (targets: {})",
            TARGETS.join(" ")
        )
    };
    let (budget_is_cpu, args) = match args {
        ["--cpu", rest @ ..] => (true, rest),
        _ => (false, args),
    };
    let Some((seconds, names)) = args.split_first() else { bail!(usage()) };
    let seconds: u32 = seconds.parse().with_context(usage)?;
    let targets: Vec<&str> = if names.is_empty() { TARGETS.to_vec() } else { names.to_vec() };
    if let Some(unknown) = targets.iter().find(|t| !TARGETS.contains(t)) {
        bail!("no fuzz target {unknown:?}; {}", usage());
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("xtask has a parent")?;
    let fuzz_dir = root.join("fuzz");
    let nightly = Command::new("cargo").args(["+nightly", "fuzz", "--version"]).output();
    if !nightly.is_ok_and(|o| o.status.success()) {
        bail!(
            "`cargo +nightly fuzz` is not available: install a nightly toolchain and \
             `cargo install cargo-fuzz`"
        );
    }
    // Debug assertions on, so an arithmetic overflow is a crash too.
    run_command(
        Command::new("nice")
            .args(["-n", "19", "cargo", "+nightly", "fuzz", "build", "--debug-assertions"])
            .current_dir(&fuzz_dir),
    )
    .context("building the fuzz targets")?;
    let binaries = fuzz_binaries_dir(&fuzz_dir)?;

    let mut crashes = Vec::new();
    for target in targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        let n_seeds = write_seeds(root, target, &corpus)?;
        let artifacts = fuzz_dir.join("artifacts").join(target);
        fs::create_dir_all(&artifacts)?;
        fs::create_dir_all(fuzz_dir.join("logs"))?;
        let log_path = fuzz_dir.join("logs").join(format!("{target}.log"));
        let log = fs::File::create(&log_path)?;
        eprintln!(
            "xtask: fuzzing {target} for {seconds} {} seconds ({n_seeds} seeds), log in {}",
            if budget_is_cpu { "CPU" } else { "wall-clock" },
            log_path.display()
        );
        // With a CPU budget, libFuzzer's own limit (wall-clock time) is only a backstop: on a
        // busy machine a process at nice 19 may get a tenth of a core.
        let max_total_time = match (seconds, budget_is_cpu) {
            (0, _) => "-runs=0".to_owned(),
            (_, true) => format!("-max_total_time={}", seconds.saturating_mul(20)),
            (_, false) => format!("-max_total_time={seconds}"),
        };
        let started = Instant::now();
        let mut child = Command::new("nice")
            .args(["-n", "19"])
            .arg(binaries.join(target))
            .arg(&corpus)
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg(max_total_time)
            .arg(format!("-timeout={TIMEOUT_SECONDS}"))
            .arg("-print_final_stats=1")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting the fuzz target {target}"))?;
        // `nice` runs the fuzzer in its own process, so the child's CPU time is the fuzzer's.
        let mut cpu_seconds = 0.0;
        let mut interrupted = false;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            cpu_seconds = process_cpu_seconds(child.id()).unwrap_or(cpu_seconds);
            if budget_is_cpu && seconds > 0 && cpu_seconds >= f64::from(seconds) && !interrupted {
                // libFuzzer prints its final statistics when interrupted.
                run_command(Command::new("kill").args(["-INT", &child.id().to_string()]))?;
                interrupted = true;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        let wall = started.elapsed().as_secs_f64();
        let text = fs::read_to_string(&log_path)?;
        let stats = Stats::read(&text);
        let corpus_files = fs::read_dir(&corpus)?.count();
        println!(
            "{target}: {} executions, coverage {} (seeds: {}), {} new inputs, corpus {corpus_files} \
             files, {:.1} CPU-minutes in {:.1} minutes",
            stats.executions.map_or("?".to_owned(), |n| n.to_string()),
            stats.coverage.map_or("?".to_owned(), |n| n.to_string()),
            stats.initial_coverage.map_or("?".to_owned(), |n| n.to_string()),
            stats.new_units.map_or("?".to_owned(), |n| n.to_string()),
            cpu_seconds / 60.0,
            wall / 60.0,
        );
        // libFuzzer exits 72 when interrupted (by the budget, or by someone else); a crash, a
        // leak, a timeout or running out of memory leave an input behind and exit otherwise.
        let interrupted_cleanly = status.code() == Some(72) && stats.artifact.is_none();
        if interrupted_cleanly && !interrupted {
            println!("{target}: interrupted before its budget was spent");
        }
        if !status.success() && !interrupted_cleanly {
            let artifact = stats.artifact.unwrap_or_else(|| artifacts.display().to_string());
            println!(
                "{target}: FAILED ({status}): the input is {artifact}, the log {}",
                log_path.display()
            );
            crashes.push(target);
        }
    }
    if !crashes.is_empty() {
        bail!("fuzz targets found crashes: {}", crashes.join(" "));
    }
    Ok(())
}

/// User and system time of a running process, from `/proc/PID/stat` (in clock ticks, which
/// are hundredths of a second on Linux).
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, field 2, may hold spaces: count the fields after its closing `)`.
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Where cargo-fuzz puts the binaries: `$CARGO_TARGET_DIR` or `fuzz/target`, then the host's
/// triple and the release profile.
fn fuzz_binaries_dir(fuzz_dir: &Path) -> anyhow::Result<PathBuf> {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| fuzz_dir.join("target"));
    let output = Command::new("rustc").args(["+nightly", "-vV"]).output()?;
    let version = String::from_utf8(output.stdout)?;
    let host = version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .context("rustc -vV names no host")?;
    let target_dir = if target_dir.is_absolute() { target_dir } else { fuzz_dir.join(target_dir) };
    Ok(target_dir.join(host).join("release"))
}

/// What libFuzzer said about a run.
#[derive(Default)]
struct Stats {
    executions: Option<u64>,
    new_units: Option<u64>,
    initial_coverage: Option<u64>,
    coverage: Option<u64>,
    artifact: Option<String>,
}

impl Stats {
    fn read(log: &str) -> Stats {
        let mut stats = Stats::default();
        for line in log.lines() {
            let number = |prefix: &str| line.strip_prefix(prefix)?.trim().parse().ok();
            if let Some(n) = number("stat::number_of_executed_units:") {
                stats.executions = Some(n);
            } else if let Some(n) = number("stat::new_units_added:") {
                stats.new_units = Some(n);
            } else if let Some((_, path)) = line.split_once("Test unit written to ") {
                stats.artifact = Some(path.trim().to_owned());
            }
            if let Some((_, rest)) = line.split_once(" cov: ") {
                let coverage = rest.split(' ').next().and_then(|n| n.parse().ok());
                if line.contains("INITED") {
                    stats.initial_coverage = coverage;
                }
                stats.coverage = coverage.or(stats.coverage);
            }
        }
        stats
    }
}

/// Writes `target`'s seeds into `corpus` (again, so that they follow the test data); returns
/// how many there are.
fn write_seeds(root: &Path, target: &str, corpus: &Path) -> anyhow::Result<usize> {
    fs::create_dir_all(corpus)?;
    let seeds = seeds(root, target)?;
    for (name, bytes) in &seeds {
        fs::write(corpus.join(format!("seed-{name}")), bytes)?;
    }
    Ok(seeds.len())
}

/// A seed's name (a path with `/` made `_`) and its bytes.
type Seeds = BTreeMap<String, Vec<u8>>;

fn seeds(root: &Path, target: &str) -> anyhow::Result<Seeds> {
    let model = root.join("crates/model/test_data");
    let pkgmgr = root.join("crates/pkgmgr/test_data");
    let external = root.join("../shared/data/external");
    let mut seeds = Seeds::new();
    let has_extension = |extensions: &'static [&'static str]| {
        move |path: &Path| {
            path.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e))
        }
    };
    let ansible_ini = |path: &Path| {
        !has_extension(&[
            "yml", "yaml", "json", "toml", "md", "tsv", "resolved", "errors", "warnings",
        ])(path)
    };
    match target {
        "policy_toml" => {
            add_files(&mut seeds, root, &model.join("policy"), &has_extension(&["toml"]))?
        }
        "inventory_toml" => {
            add_files(&mut seeds, root, &model.join("inventory"), &has_extension(&["toml"]))?;
            add_files(&mut seeds, root, &external.join("inventories"), &has_extension(&["toml"]))?;
        }
        "ansible_ini" => {
            add_files(&mut seeds, root, &model.join("inventory/ansible"), &ansible_ini)?;
            add_files(&mut seeds, root, &external.join("inventories/files"), &ansible_ini)?;
        }
        "ansible_yaml" => {
            let yaml = has_extension(&["yml", "yaml", "json"]);
            add_files(&mut seeds, root, &model.join("inventory/ansible"), &yaml)?;
            add_files(&mut seeds, root, &external.join("inventories/files"), &yaml)?;
        }
        "ansible_toml" => {
            let toml = has_extension(&["toml"]);
            add_files(&mut seeds, root, &model.join("inventory/ansible"), &toml)?;
            add_files(&mut seeds, root, &external.join("inventories/files"), &toml)?;
        }
        "osv" => {
            add_files(&mut seeds, root, &model.join("advisories"), &has_extension(&["json"]))?;
            add_files(&mut seeds, root, &external.join("osv"), &has_extension(&["json"]))?;
        }
        "updateinfo" => {
            add_files(&mut seeds, root, &model.join("advisories"), &has_extension(&["xml"]))?;
            add_files(&mut seeds, root, &external.join("updateinfo"), &has_extension(&["xml"]))?;
            add_files(&mut seeds, root, &pkgmgr.join("dnf"), &has_extension(&["xml"]))?;
        }
        "grub_cfg" => {
            add_files(&mut seeds, root, &pkgmgr.join("bootloader"), &has_extension(&["stdout"]))?;
            // The grub.cfg inside each probe's output, alone.
            let probes: Vec<(String, Vec<u8>)> = seeds.clone().into_iter().collect();
            for (name, bytes) in probes {
                let text = String::from_utf8_lossy(&bytes);
                if let Some((_, cfg)) = text.split_once("@@patchctl grub.cfg\n") {
                    let cfg = cfg.split("\n@@patchctl").next().unwrap_or(cfg);
                    seeds.insert(format!("{name}-grub.cfg"), cfg.as_bytes().to_vec());
                }
            }
        }
        "apply_outputs" => {
            for name in capture_names(&pkgmgr.join("apply"))? {
                let section = capture(&pkgmgr.join("apply"), &name)?.unwrap_or_default();
                seeds.insert(format!("apply-{name}"), section.into_bytes());
            }
        }
        "apt" => apt_seeds(&pkgmgr.join("apt"), &mut seeds)?,
        "dnf" => dnf_seeds(&pkgmgr.join("dnf"), &mut seeds)?,
        other => bail!("no seeds for {other:?}"),
    }
    Ok(seeds)
}

/// Every file under `dir` that `wanted` accepts.
fn add_files(
    seeds: &mut Seeds,
    root: &Path,
    dir: &Path,
    wanted: &dyn Fn(&Path) -> bool,
) -> anyhow::Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            add_files(seeds, root, &path, wanted)?;
        } else if wanted(&path) {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy();
            let name = relative.trim_start_matches("../").replace('/', "_");
            seeds.insert(name, fs::read(&path)?);
        }
    }
    Ok(())
}

// The seeds of the apt, dnf and apply_outputs targets are several probe outputs in one input:
// sections split at NUL, each a command's stdout, stderr and exit code split at \x01, or a
// file's text (`ABSENT`: no file). `fuzz/src/lib.rs` reads them.

const ABSENT: &str = "\x02";

/// The names `NAME` of the captures `NAME.stdout` in `dir`.
fn capture_names(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let file_name = entry?.file_name();
        if let Some(name) = file_name.to_string_lossy().strip_suffix(".stdout") {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The capture `NAME.stdout`, `.stderr`, `.rc` of `dir` as one section, if there is one.
fn capture(dir: &Path, name: &str) -> anyhow::Result<Option<String>> {
    let read = |extension: &str| fs::read_to_string(dir.join(format!("{name}.{extension}")));
    let Ok(stdout) = read("stdout") else { return Ok(None) };
    let stderr = read("stderr").unwrap_or_default();
    let rc = read("rc").unwrap_or_else(|_| "0".to_owned());
    Ok(Some(format!("{stdout}\x01{stderr}\x01{}", rc.trim())))
}

/// A file of `dir` as a section: its text, or [`ABSENT`].
fn file_section(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_else(|_| ABSENT.to_owned())
}

/// One seed per apt scenario with a dpkg database: its dpkg-query, simulations, dpkg --audit,
/// then needrestart, the reboot files, dpkg's updates directory and the lock probes, in the
/// order of `fuzz_targets/apt.rs`.
fn apt_seeds(dir: &Path, seeds: &mut Seeds) -> anyhow::Result<()> {
    let or_empty =
        |name: &str| -> anyhow::Result<String> { Ok(capture(dir, name)?.unwrap_or_default()) };
    let needrestart = ["needrestart-clean", "needrestart-ssh", "needrestart-after-install"];
    let scenarios: Vec<String> = capture_names(dir)?
        .into_iter()
        .filter_map(|name| name.strip_suffix("-dpkg-query").map(str::to_owned))
        .collect();
    for (i, scenario) in scenarios.iter().enumerate() {
        let reboot = i % 2 == 1;
        let sections = [
            or_empty(&format!("{scenario}-dpkg-query"))?,
            or_empty(&format!("{scenario}-dist-upgrade"))?,
            or_empty(&format!("{scenario}-upgrade"))?,
            or_empty(&format!("{scenario}-dpkg-audit"))?,
            or_empty(needrestart[i % needrestart.len()])?,
            if reboot { file_section(dir, "reboot-required.stdout") } else { ABSENT.to_owned() },
            if reboot {
                file_section(dir, "reboot-required-pkgs.stdout")
            } else {
                ABSENT.to_owned()
            },
            String::new(),
            or_empty(if reboot { "locks-stat-dev" } else { "locks-stat" })?,
            file_section(dir, "locks-proc-locks.stdout"),
        ];
        seeds.insert(format!("apt-{scenario}"), sections.join("\0").into_bytes());
    }
    Ok(())
}

/// One seed per dnf batch captured (with the first probes of the host it ran on), and one per
/// scenario with an rpm database, its dnf commands' outputs under their own keys; in the order
/// of `fuzz_targets/dnf.rs`.
fn dnf_seeds(dir: &Path, seeds: &mut Seeds) -> anyhow::Result<()> {
    let or_empty =
        |name: &str| -> anyhow::Result<String> { Ok(capture(dir, name)?.unwrap_or_default()) };
    let first_probes = |scenario: &str, script: String| -> anyhow::Result<Vec<String>> {
        let rpm_qa = capture(dir, &format!("{scenario}-rpm-qa"))?;
        let rpm_qa = match rpm_qa {
            Some(section) => section,
            None => or_empty("updates-rpm-qa")?,
        };
        let installonly = match capture(dir, &format!("{scenario}-rpm-installonly"))? {
            Some(section) => section,
            None => or_empty("updates-rpm-installonly")?,
        };
        Ok(vec![rpm_qa, installonly, script])
    };
    let conf = |scenario: &str| {
        let plugin = if scenario.starts_with("no-plugins") { "no-plugins" } else { "updates" };
        [
            file_section(dir, "dnf.conf"),
            file_section(dir, &format!("{plugin}-versionlock.conf")),
            file_section(dir, &format!("{plugin}-versionlock.list")),
            if scenario == "locked" {
                file_section(dir, "locked-rpmdb_lock.pid")
            } else {
                ABSENT.to_owned()
            },
            "1\nself\n".to_owned(),
        ]
    };
    let names = capture_names(dir)?;
    for batch in names.iter().filter(|n| n.contains("-dnf-batch")) {
        let scenario = batch.split("-dnf-batch").next().unwrap_or(batch);
        let mut sections = first_probes(scenario, file_section(dir, "usr-bin-dnf"))?;
        sections.push(or_empty(batch)?);
        sections.extend(conf(scenario));
        seeds.insert(format!("dnf-{batch}"), sections.join("\0").into_bytes());
    }
    for scenario in names.iter().filter_map(|n| n.strip_suffix("-rpm-qa")) {
        let mut sections = first_probes(scenario, ABSENT.to_owned())?;
        sections.push(ABSENT.to_owned());
        sections.extend(conf(scenario));
        for command in [
            "check-update",
            "updateinfo-list",
            "updateinfo-list-cves",
            "needs-restarting-r",
            "needs-restarting-s",
            "check",
            "versionlock-list",
        ] {
            let section = capture(dir, &format!("{scenario}-{command}"))?;
            sections.push(match section {
                Some(section) => section,
                None => or_empty(&format!("none-{command}"))?,
            });
        }
        sections.push(if scenario == "updates" { "versionlock.py\n" } else { "" }.to_owned());
        seeds.insert(format!("dnf-{scenario}"), sections.join("\0").into_bytes());
    }
    Ok(())
}
