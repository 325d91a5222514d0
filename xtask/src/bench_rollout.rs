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
//! - **the floor**: the package managers' and the reboots' own time on the critical path. The
//!   harness runs each wave's pinned install (`docker exec`, the same argv) and reboot on the
//!   wave's hosts at once, takes each host's time from the start of its install until its sshd
//!   answers after the new boot, and adds the slowest host of each wave. What `docker exec`
//!   itself costs is measured and taken off.
//!
//! Orchestration overhead = (patchctl's wall time - floor) / patchctl's wall time. The order of
//! patchctl and Ansible alternates between rounds; medians are reported.

use std::io::Read as _;
use std::net::TcpStream;
use std::path::PathBuf;
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

pub fn run(rounds: usize) -> anyhow::Result<()> {
    let dir = std::fs::canonicalize("target")?.join("bench-rollout");
    std::fs::create_dir_all(&dir)?;
    let ansible = crate::bench_fleet::ansible_playbook_binary()?;
    let patchctl = crate::bench::build_release_patchctl()?;
    let bench = Bench { dir, patchctl, ansible, runtime: tokio::runtime::Runtime::new()? };

    let (mut ours, mut theirs, mut raw, mut floors) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // patchctl goes first, then last, then first…; Ansible's two playbooks swap places too.
        let mut sides = [0, 1, 2, 3];
        if round % 2 == 1 {
            sides.reverse();
        }
        for side in sides {
            let fleet = bench.fresh_fleet()?;
            let plan = bench.plan(&fleet)?;
            match side {
                0 => ours.push(bench.patchctl_rollout(&fleet, &plan)?),
                1 => theirs.push(bench.ansible_rollout(&fleet, &plan, Playbook::Modules)?),
                2 => raw.push(bench.ansible_rollout(&fleet, &plan, Playbook::Raw)?),
                _ => floors.push(bench.floor(&fleet, &plan)?),
            }
        }
        eprintln!(
            "round {round}: patchctl {:.2} s, ansible-playbook {:.2} s (raw: {:.2} s), floor {:.2} s",
            ours[round], theirs[round], raw[round], floors[round]
        );
    }
    bench.runtime.block_on(fleet::down(FLEET))?;
    let median = crate::bench::median;
    let (ours, theirs, raw, floor) =
        (median(&mut ours), median(&mut theirs), median(&mut raw), median(&mut floors));
    println!(
        "{rounds} rounds (medians): patchctl rollout {ours:.2} s; ansible-playbook {theirs:.2} s, with raw installs {raw:.2} s; package managers and reboots alone {floor:.2} s"
    );
    println!(
        "ansible / patchctl = {:.2} (raw: {:.2}); orchestration overhead = {:.1} % of patchctl's wall time ({:.2} s)",
        theirs / ours,
        raw / ours,
        100.0 * (ours - floor) / ours,
        ours - floor
    );
    Ok(())
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

    fn patchctl_rollout(&self, fleet: &Fleet, plan: &Plan) -> anyhow::Result<f64> {
        let started = Instant::now();
        self.patchctl(&["rollout", "start", &plan.id, "--reboot-delay", "0"])?;
        let elapsed = started.elapsed().as_secs_f64();
        check_patched(fleet, plan)?;
        // Kept for a look at where the time went (the journal has every step's times).
        std::fs::copy(
            self.dir.join("state.db"),
            self.dir.join(format!("patchctl-{}.db", &plan.id[7..19])),
        )?;
        Ok(elapsed)
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

    /// The package managers' and reboots' own time on the critical path (see the top).
    fn floor(&self, fleet: &Fleet, plan: &Plan) -> anyhow::Result<f64> {
        let exec_cost = docker_exec_cost(&fleet.hosts[0].container)?;
        let mut total = 0.0;
        for wave in &plan.waves {
            let times = std::thread::scope(|scope| {
                let handles: Vec<_> = wave
                    .iter()
                    .map(|name| scope.spawn(move || install_and_reboot(fleet, plan, name)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("no panic"))
                    .collect::<anyhow::Result<Vec<f64>>>()
            })?;
            // Two `docker exec`s are on each host's path: the install and the reboot.
            total += times.into_iter().fold(0.0, f64::max) - 2.0 * exec_cost;
        }
        check_patched(fleet, plan)?;
        Ok(total)
    }
}

/// `env K=V… ARGV…`: the command with its environment, for Ansible's `raw`.
fn shell_line(command: &pkgmgr::CommandSpec) -> String {
    let env: String = command.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    format!("env LC_ALL=C {env}{}", command.display())
}

/// One host's install and reboot, timed from the start of the install until its sshd answers
/// after the new boot.
fn install_and_reboot(fleet: &Fleet, plan: &Plan, name: &str) -> anyhow::Result<f64> {
    let host = fleet.host(name)?;
    let command = plan.install_command(name)?;
    let started = Instant::now();
    let mut exec = Command::new("docker");
    exec.arg("exec");
    for (key, value) in &command.env {
        exec.arg("-e").arg(format!("{key}={value}"));
    }
    let output = exec.arg(&host.container).args(&command.argv).output()?;
    if !output.status.success() {
        bail!("the install on {name} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let boot = started_at(&host.container)?;
    let reboot = pkgmgr::apply::reboot_command(0, "floor")?;
    // The exec may end with an error as the container stops under it.
    let _ = Command::new("docker").arg("exec").arg(&host.container).args(&reboot.argv).output();
    let deadline = Instant::now() + Duration::from_secs(120);
    while started_at(&host.container)? == boot {
        if Instant::now() > deadline {
            bail!("{name} did not reboot");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    while !sshd_answers(&host.address) {
        if Instant::now() > deadline {
            bail!("{name}'s sshd did not come back");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(started.elapsed().as_secs_f64())
}

/// When Docker last started the container: a reboot from inside makes it start again.
fn started_at(container: &str) -> anyhow::Result<String> {
    let output = Command::new("docker")
        .args(["inspect", "-f", "{{.State.StartedAt}}", container])
        .output()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// sshd accepts a connection and sends its banner.
fn sshd_answers(address: &str) -> bool {
    let Ok(addr) = format!("{address}:22").parse() else { return false };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut banner = [0u8; 4];
    stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-"
}

/// The median time of `docker exec CONTAINER true`.
fn docker_exec_cost(container: &str) -> anyhow::Result<f64> {
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        Command::new("docker").args(["exec", container, "true"]).output()?;
        times.push(started.elapsed().as_secs_f64());
    }
    Ok(crate::bench::median(&mut times))
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
