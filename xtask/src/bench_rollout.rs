//! `cargo xtask bench rollout [ROUNDS]`: a rolling patch of a fresh fleet (6 Debian + 2 RPM
//! hosts) three ways, each on a fleet of its own started just before it:
//!
//! - **patchctl**: `patchctl rollout start` of a plan updating acme-web, acme-tools and
//!   acme-kernel (which makes every host reboot), in the plan's waves (a canary, then batches of
//!   at most 2, per environment), with its prechecks, postchecks (acme-web's unit and its health
//!   endpoint) and old-kernel cleanup.
//! - **Ansible**: the playbook the issue describes: `serial` batches of the plan's wave sizes
//!   over the hosts in the plan's order, the same pinned versions with the `apt` and `dnf`
//!   modules, and the `reboot` module. Pipelining on, no fact gathering, forks = hosts, SSH
//!   connection reuse. It checks less than patchctl does.
//! - **Ansible, raw**: the same with the package-manager command line patchctl runs as a `raw`
//!   task instead of the modules: the fastest way Ansible has to run it (the modules ship and
//!   start Python first), reported beside it.
//! - **the floor**: the package managers' and the reboots' own time on the critical path of
//!   patchctl's run itself, by the hosts' own clocks (the containers share the kernel's clock
//!   with the harness): per host, how long its apply unit ran (systemd's record of the unit's
//!   start and exit, which patchctl journals) and its reboot, from the moment patchctl's
//!   `shutdown -r now` returned (journaled) until the new boot's sshd was ready (systemd's
//!   `ActiveEnterTimestamp` of the ssh service), and in the last wave its old-kernel cleanup
//!   unit (the others run beside the next wave). A wave can end no sooner than its slowest
//!   host's sum; the floor adds up those of every wave.
//!
//! Orchestration overhead = (patchctl's wall time - floor) / patchctl's wall time. The time
//! after the rollout's last journal entry (the changed hosts assessed again, the anchor) is
//! part of the wall time and is also printed on its own. The order of
//! patchctl and the playbooks alternates between rounds; medians are reported. Each side runs
//! on a fleet of its own, started fresh just before it, and the machine is left to settle
//! (`sync`, a pause) before the clock starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleet::{Family, Fleet, FleetSpec};
use model::PackageManagerKind;
use pkgmgr::apply::{ApplyOptions, PinnedPackage};
use serde_json::Value;

const FLEET: &str = "bench-rollout";
const PACKAGES: &str = "acme-web,acme-tools,acme-kernel";
const MAX_UNAVAILABLE: &str = "2";

/// The checks every host gets in patchctl's run, as in the rollout fleet tests.
const CHECKS: &str = "[defaults.checks]\nunits = [\"acme-web\"]\n\
    http = [{ url = \"http://{address}:8080/health\", body = \"ok\" }]\n\
    journal_errors = false\n\n[defaults]\n";

pub fn run(rounds: usize, patchctl_only: bool) -> anyhow::Result<()> {
    let dir = std::fs::canonicalize("target")?.join("bench-rollout");
    std::fs::create_dir_all(&dir)?;
    let ansible =
        if patchctl_only { PathBuf::new() } else { crate::bench_fleet::ansible_playbook_binary()? };
    let patchctl = crate::bench::build_release_patchctl()?;
    let bench = Bench { dir, patchctl, ansible, runtime: tokio::runtime::Runtime::new()? };

    let (mut ours, mut theirs, mut raw, mut floors, mut afters) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // patchctl goes first, then last, then first…; Ansible's two playbooks swap places too.
        let sides = match (patchctl_only, round % 2) {
            (true, _) => vec![0],
            (false, 0) => vec![0, 1, 2],
            (false, _) => vec![2, 1, 0],
        };
        for side in sides {
            let fleet = bench.fresh_fleet()?;
            let plan = bench.plan(&fleet)?;
            settle();
            match side {
                0 => {
                    let (wall, floor, after) = bench.patchctl_rollout(&fleet, &plan)?;
                    ours.push(wall);
                    floors.push(floor);
                    afters.push(after);
                }
                1 => theirs.push(bench.ansible_rollout(&fleet, &plan, Playbook::Modules)?),
                _ => raw.push(bench.ansible_rollout(&fleet, &plan, Playbook::Raw)?),
            }
        }
        let ours_line = format!(
            "patchctl {:.2} s (floor {:.2} s, overhead {:.1} %; {:.2} s after the last wave)",
            ours[round],
            floors[round],
            100.0 * (ours[round] - floors[round]) / ours[round],
            afters[round]
        );
        match (theirs.get(round), raw.get(round)) {
            (Some(theirs), Some(raw)) => eprintln!(
                "round {round}: {ours_line}, ansible-playbook {theirs:.2} s (raw: {raw:.2} s): ansible / patchctl = {:.2}",
                theirs / ours[round],
            ),
            _ => eprintln!("round {round}: {ours_line}"),
        }
    }
    bench.runtime.block_on(fleet::down(FLEET))?;
    let median = crate::bench::median;
    let mut overheads: Vec<f64> =
        ours.iter().zip(&floors).map(|(wall, floor)| (wall - floor) / wall).collect();
    let overhead = median(&mut overheads);
    if patchctl_only {
        let (ours, floor, after) = (median(&mut ours), median(&mut floors), median(&mut afters));
        println!(
            "{rounds} rounds (medians): patchctl rollout {ours:.2} s ({after:.2} s of it after the last wave), its package managers and reboots {floor:.2} s; orchestration overhead = {:.1} %",
            100.0 * overhead
        );
        return Ok(());
    }
    let mut ratios: Vec<f64> = theirs.iter().zip(&ours).map(|(t, o)| t / o).collect();
    let ratio = median(&mut ratios);
    let after = median(&mut afters);
    let (ours, theirs, raw, floor) =
        (median(&mut ours), median(&mut theirs), median(&mut raw), median(&mut floors));
    println!(
        "{rounds} rounds (medians): patchctl rollout {ours:.2} s ({after:.2} s of it after the last wave), its package managers and reboots {floor:.2} s; ansible-playbook {theirs:.2} s, with raw installs {raw:.2} s"
    );
    println!(
        "orchestration overhead = {:.1} % of patchctl's wall time (median of the rounds); ansible / patchctl = {ratio:.2} (median of the rounds' ratios; raw: {:.2})",
        100.0 * overhead,
        raw / ours
    );
    Ok(())
}

/// Lets the writes of starting a fleet reach the disk before anything is timed: the VM's disk
/// is shared, and a flush in the middle of a run slows every package manager in it.
fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(Duration::from_secs(3));
}

/// How the Ansible playbook installs the pinned versions.
#[derive(Clone, Copy, PartialEq)]
enum Playbook {
    /// The `apt` and `dnf` modules.
    Modules,
    /// patchctl's own command line as a `raw` task.
    Raw,
}

struct Bench {
    dir: PathBuf,
    patchctl: PathBuf,
    ansible: PathBuf,
    runtime: tokio::runtime::Runtime,
}

/// What the three sides share: the plan patchctl made for the fleet.
struct Plan {
    id: String,
    /// Host names per wave, in order.
    waves: Vec<Vec<String>>,
    /// Per host: its package manager and the pinned versions.
    hosts: Vec<(String, PackageManagerKind, Vec<PinnedPackage>)>,
}

impl Plan {
    fn host(
        &self,
        name: &str,
    ) -> anyhow::Result<&(String, PackageManagerKind, Vec<PinnedPackage>)> {
        self.hosts.iter().find(|h| h.0 == name).with_context(|| format!("{name} is not planned"))
    }

    /// The package manager's own command line for `host`, as patchctl's apply runs it.
    fn install_command(&self, host: &str) -> anyhow::Result<pkgmgr::CommandSpec> {
        let (_, kind, targets) = self.host(host)?;
        Ok(pkgmgr::apply::apply_command(*kind, targets, &ApplyOptions::default())?)
    }
}

impl Bench {
    fn fresh_fleet(&self) -> anyhow::Result<Fleet> {
        let spec = FleetSpec {
            name: FLEET.to_owned(),
            dir: self.dir.join("fleet"),
            n_debian: 6,
            n_rpm: 2,
        };
        let inputs = crate::fleet_cmd::build_inputs()?;
        self.runtime.block_on(fleet::up(&spec, &inputs))
    }

    fn patchctl(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        let output = Command::new(&self.patchctl)
            .arg("--config")
            .arg(self.dir.join("inventory.toml"))
            .arg("--state")
            .arg(self.dir.join("state.db"))
            // The benchmark's fleet has no policy: no approval or window applies.
            .arg("--no-policy")
            .args(args)
            .env_remove("SSH_AUTH_SOCK")
            .output()?;
        if !output.status.success() {
            bail!(
                "patchctl {args:?} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(output)
    }

    /// A new state database, the fleet's inventory with the checks, an assessment of every host
    /// and the plan (none of it timed).
    fn plan(&self, fleet: &Fleet) -> anyhow::Result<Plan> {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(self.dir.join(format!("state.db{suffix}")));
        }
        let inventory =
            std::fs::read_to_string(&fleet.inventory)?.replacen("[defaults]\n", CHECKS, 1);
        std::fs::write(self.dir.join("inventory.toml"), inventory)?;
        self.patchctl(&["assess", "all"])?;
        let output = self.patchctl(&[
            "plan",
            "create",
            "all",
            "--packages",
            PACKAGES,
            "--max-unavailable",
            MAX_UNAVAILABLE,
            "--format",
            "json",
        ])?;
        let plan: Value = serde_json::from_slice(&output.stdout).context("reading the plan")?;
        let strings = |value: &Value| -> Vec<String> {
            value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let waves = plan["waves"]
            .as_array()
            .context("the plan has no waves")?
            .iter()
            .map(|w| strings(&w["hosts"]))
            .collect();
        let mut hosts = Vec::new();
        for host in plan["hosts"].as_array().context("the plan has no hosts")? {
            let kind = match host["package_manager"].as_str() {
                Some("apt") => PackageManagerKind::Apt,
                Some("dnf") => PackageManagerKind::Dnf,
                other => bail!("unexpected package manager {other:?}"),
            };
            let targets = host["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    PinnedPackage::new(
                        c["name"].as_str().unwrap_or_default(),
                        c["arch"].as_str().unwrap_or_default(),
                        c["to"].as_str().unwrap_or_default(),
                    )
                })
                .collect();
            hosts.push((host["host"].as_str().unwrap_or_default().to_owned(), kind, targets));
        }
        let id = plan["id"].as_str().context("the plan has no id")?.to_owned();
        Ok(Plan { id, waves, hosts })
    }

    /// patchctl's wall time, the floor of its run (see the top), and the time from its journal's
    /// last entry to the command's end.
    fn patchctl_rollout(&self, fleet: &Fleet, plan: &Plan) -> anyhow::Result<(f64, f64, f64)> {
        let started = Instant::now();
        self.patchctl(&["rollout", "start", &plan.id, "--reboot-delay", "0"])?;
        let elapsed = started.elapsed().as_secs_f64();
        let ended_ms =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
        check_patched(fleet, plan)?;
        // Kept for a look at where the time went (the journal has every step's times).
        let kept = self.dir.join(format!("patchctl-{}.db", &plan.id[7..19]));
        std::fs::copy(self.dir.join("state.db"), &kept)?;
        // What patchctl wrote last may still be in the write-ahead log, which SQLite reads
        // back when it opens the copy.
        let wal = self.dir.join("state.db-wal");
        let kept_wal = kept.with_extension("db-wal");
        let _ = std::fs::remove_file(&kept_wal);
        if wal.exists() {
            std::fs::copy(wal, kept_wal)?;
        }
        let (floor, last_ms) = self.floor(fleet, plan, &kept)?;
        Ok((elapsed, floor, (ended_ms as f64 - last_ms as f64) / 1000.0))
    }

    fn ansible_rollout(&self, fleet: &Fleet, plan: &Plan, book: Playbook) -> anyhow::Result<f64> {
        self.write_ansible_files(fleet, plan, book)?;
        let started = Instant::now();
        let output = Command::new(&self.ansible)
            .arg("-i")
            .arg(self.dir.join("inventory.json"))
            .arg(self.dir.join("playbook.yml"))
            .env("ANSIBLE_CONFIG", self.dir.join("ansible.cfg"))
            .output()?;
        let elapsed = started.elapsed().as_secs_f64();
        if !output.status.success() {
            bail!(
                "ansible-playbook failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        check_patched(fleet, plan)?;
        Ok(elapsed)
    }

    fn write_ansible_files(
        &self,
        fleet: &Fleet,
        plan: &Plan,
        book: Playbook,
    ) -> anyhow::Result<()> {
        let known_hosts: String =
            fleet.hosts.iter().map(|h| format!("{} {}\n", h.address, h.host_key)).collect();
        std::fs::write(self.dir.join("known_hosts"), known_hosts)?;
        // JSON is YAML: the hosts in the plan's wave order, each with its install command.
        let mut hosts = serde_json::Map::new();
        for name in plan.waves.iter().flatten() {
            let host = fleet.host(name)?;
            let command = plan.install_command(name)?;
            let (_, kind, targets) = plan.host(name)?;
            // What the modules are given: `name=version` for apt, `name-version.arch` for dnf.
            let (manager, packages): (&str, Vec<String>) = match kind {
                PackageManagerKind::Apt => {
                    ("apt", targets.iter().map(|t| format!("{}={}", t.name, t.version)).collect())
                }
                PackageManagerKind::Dnf => (
                    "dnf",
                    targets
                        .iter()
                        .map(|t| format!("{}-{}.{}", t.name, t.version, t.arch))
                        .collect(),
                ),
            };
            hosts.insert(
                name.clone(),
                serde_json::json!({
                    "ansible_host": host.address,
                    "install_command": shell_line(&command),
                    "manager": manager,
                    "packages": packages,
                }),
            );
        }
        let inventory = serde_json::json!({ "all": {
            "hosts": hosts,
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": fleet.ssh_key,
                "ansible_ssh_common_args": format!(
                    "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
                    self.dir.join("known_hosts").display()
                ),
            },
        }});
        std::fs::write(self.dir.join("inventory.json"), serde_json::to_string_pretty(&inventory)?)?;
        let sizes: Vec<String> = plan.waves.iter().map(|w| w.len().to_string()).collect();
        let install = match book {
            Playbook::Raw => {
                "    - name: install the pinned versions\n      raw: \"{{ install_command }}\"\n"
            }
            // The modules keep old conffiles as patchctl does (apt's default dpkg_options).
            Playbook::Modules => {
                "    - name: install the pinned versions (apt)\n      apt:\n        name: \"{{ packages }}\"\n        state: present\n      when: manager == 'apt'\n    - name: install the pinned versions (dnf)\n      dnf:\n        name: \"{{ packages }}\"\n        state: present\n        use_backend: dnf4\n      when: manager == 'dnf'\n"
            }
        };
        let playbook = format!(
            "- hosts: all\n  gather_facts: false\n  order: inventory\n  serial: [{}]\n  any_errors_fatal: true\n  tasks:\n{install}    - name: reboot\n      reboot:\n        reboot_timeout: 300\n        boot_time_command: \"cut -d ' ' -f 22 /proc/1/stat\"\n",
            sizes.join(", ")
        );
        std::fs::write(self.dir.join("playbook.yml"), playbook)?;
        let config = format!(
            "[defaults]\nforks = {}\nhost_key_checking = True\ngathering = explicit\nlocal_tmp = {}\ninterpreter_python = /usr/bin/python3\n\n[ssh_connection]\npipelining = True\n",
            fleet.hosts.len(),
            self.dir.join("ansible-tmp").display()
        );
        std::fs::write(self.dir.join("ansible.cfg"), config)?;
        Ok(())
    }

    /// The package managers' and reboots' own time on the critical path of the rollout
    /// journaled in `db` (see the top), in seconds; each wave's figures are printed.
    /// The floor, and when the journal's last entry was written (Unix ms).
    fn floor(&self, fleet: &Fleet, plan: &Plan, db: &Path) -> anyhow::Result<(f64, i64)> {
        let entries = self.runtime.block_on(async {
            let store = store::Store::open(db).await?;
            let rollouts = store.rollouts().await?;
            let [rollout] = &rollouts[..] else { bail!("{} rollouts in {db:?}", rollouts.len()) };
            Ok(store.journal(&rollout.id).await?)
        })?;
        let mut hosts: BTreeMap<&str, HostTimes> = BTreeMap::new();
        let mut waves = Vec::new();
        for entry in &entries {
            let body: Value = serde_json::from_str(&entry.body_json)?;
            match (entry.kind.as_str(), entry.host.as_deref()) {
                ("event", _) if body["event"] == "wave_started" => waves.push((entry.at_ms, 0)),
                ("event", _) if body["event"] == "wave_finished" => {
                    waves.last_mut().context("a wave finished before it started")?.1 = entry.at_ms;
                }
                ("output", Some(host)) => {
                    let times = hosts.entry(plan.host(host)?.0.as_str()).or_default();
                    let ran = body["host_ms"].as_i64().unwrap_or(0);
                    match body["step"].as_str() {
                        Some("apply") => times.apply_ms += ran,
                        Some("cleanup") => times.cleanup_ms += ran,
                        Some("reboot") if body["argv"][0] == "shutdown" => {
                            times.reboot_sent_ms = Some(entry.at_ms);
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        if waves.len() != plan.waves.len() {
            bail!("{} waves journaled, {} planned", waves.len(), plan.waves.len());
        }
        let mut total = 0;
        for (index, (wave, (started, finished))) in plan.waves.iter().zip(waves).enumerate() {
            let mut slowest = (0, String::new());
            for name in wave {
                let times =
                    hosts.get(name.as_str()).with_context(|| format!("{name}: no record"))?;
                if times.apply_ms == 0 {
                    bail!("{name}: no apply time journaled");
                }
                let sent = times.reboot_sent_ms.with_context(|| format!("{name}: no reboot"))?;
                let reboot_ms = sshd_ready_ms(fleet, name)? - sent;
                // A wave's cleanups run beside the next wave; the last one's are waited for.
                let last = index + 1 == plan.waves.len();
                let sum = times.apply_ms + reboot_ms + if last { times.cleanup_ms } else { 0 };
                if sum > slowest.0 {
                    slowest = (
                        sum,
                        format!(
                            "{name}: apply {} ms, reboot {reboot_ms} ms, cleanup {} ms",
                            times.apply_ms, times.cleanup_ms
                        ),
                    );
                }
            }
            eprintln!(
                "  wave {index}: {} ms, floor {} ms ({})",
                finished - started,
                slowest.0,
                slowest.1
            );
            total += slowest.0;
        }
        let last_ms = entries.last().map_or(0, |entry| entry.at_ms);
        Ok((total as f64 / 1000.0, last_ms))
    }
}

/// One host's share of the floor, from patchctl's journal.
#[derive(Default)]
struct HostTimes {
    /// How long the apply and cleanup units ran, by the host's clock.
    apply_ms: i64,
    cleanup_ms: i64,
    /// When patchctl's `shutdown -r now` had returned.
    reboot_sent_ms: Option<i64>,
}

/// When the host's ssh service last became ready, by its systemd, in Unix milliseconds.
fn sshd_ready_ms(fleet: &Fleet, name: &str) -> anyhow::Result<i64> {
    let host = fleet.host(name)?;
    let unit = match host.family {
        Family::Debian => "ssh_2eservice",
        Family::Rpm => "sshd_2eservice",
    };
    let output = Command::new("docker")
        .args(["exec", &host.container, "busctl", "get-property", "org.freedesktop.systemd1"])
        .arg(format!("/org/freedesktop/systemd1/unit/{unit}"))
        .args(["org.freedesktop.systemd1.Unit", "ActiveEnterTimestamp"])
        .output()?;
    // `t 1764690000123456`: microseconds since the epoch.
    let text = String::from_utf8_lossy(&output.stdout);
    let micros: i64 = text
        .trim()
        .strip_prefix("t ")
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .with_context(|| format!("{name}: sshd's start: {text:?} {:?}", output.stderr))?;
    Ok(micros / 1000)
}

/// `env K=V… ARGV…`: the command with its environment, for Ansible's `raw`.
fn shell_line(command: &pkgmgr::CommandSpec) -> String {
    let env: String = command.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    format!("env LC_ALL=C {env}{}", command.display())
}

/// Every planned package is at its target version on every host.
fn check_patched(fleet: &Fleet, plan: &Plan) -> anyhow::Result<()> {
    for (name, _, targets) in &plan.hosts {
        let host = fleet.host(name)?;
        for target in targets {
            let argv: Vec<&str> = match host.family {
                Family::Debian => vec!["dpkg-query", "-W", "-f", "${Version}", &target.name],
                Family::Rpm => vec!["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}\\n", &target.name],
            };
            let output =
                Command::new("docker").arg("exec").arg(&host.container).args(&argv).output()?;
            let versions = String::from_utf8_lossy(&output.stdout);
            if !versions.lines().any(|v| v.trim() == target.version) {
                bail!("{name}: {} is at {versions:?}, not {}", target.name, target.version);
            }
        }
    }
    Ok(())
}
