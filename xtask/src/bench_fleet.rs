//! `cargo xtask bench fleet-assess [RUNS]`: assessing every host of the running fleet (`cargo
//! xtask fleet up --debian 20 --rpm 4` first), patchctl against Ansible, alternating in one loop.
//!
//! The Ansible side is written to be as fast as Ansible can be: `raw` tasks (no Python module is
//! shipped or run), no fact gathering, pipelining on, forks equal to the number of hosts, the
//! `free` strategy (no host waits for another between tasks), and SSH connection reuse
//! (Ansible's default ControlPersist). It gathers installed packages and what a full upgrade
//! would change, which is less than patchctl gathers (patchctl also reads advisories, reboot
//! and service state, held packages and package manager health).

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use fleet::{Family, Fleet};

const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  strategy: free
  tasks:
    - name: installed packages
      raw: "{{ installed_command }}"
      changed_when: false
    - name: upgradable packages
      raw: "{{ upgradable_command }}"
      changed_when: false
"#;

const DEBIAN_VARS: &str = r#"installed_command="LC_ALL=C dpkg-query -W -f '${Package}\t${Architecture}\t${Version}\n'"
upgradable_command="LC_ALL=C apt-get -s -o Debug::NoLocking=true dist-upgrade""#;
const RPM_VARS: &str = r#"installed_command="LC_ALL=C rpm -qa --qf '%{NAME}\t%{ARCH}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n'"
upgradable_command="LC_ALL=C dnf -q check-update; test $? -ne 1""#;

pub fn run(runs: usize) -> anyhow::Result<()> {
    let fleet = Fleet::load("patchctl-fleet", std::path::Path::new("fleet"))
        .context("loading the fleet (cargo xtask fleet up first)")?;
    let dir = std::fs::canonicalize("target")?.join("bench-fleet");
    std::fs::create_dir_all(&dir)?;
    let ansible = ansible_playbook_binary()?;
    write_ansible_files(&fleet, &dir, &dnf_script(&fleet)?)?;
    let patchctl = crate::bench::build_release_patchctl()?;
    let state = dir.join("state.db");

    // Times `patchctl assess SELECTOR` against the fleet's inventory.
    let assess = |selector: &str| -> anyhow::Result<f64> {
        let started = Instant::now();
        let output = Command::new(&patchctl)
            .arg("--config")
            .arg(&fleet.inventory)
            .arg("--state")
            .arg(&state)
            .args(["assess", selector, "--format", "json"])
            .output()?;
        if !output.status.success() {
            bail!("patchctl assess {selector} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(started.elapsed().as_secs_f64())
    };
    // The hosts' own CPU during `patchctl assess all`, from their cgroups: on this machine all
    // hosts share its cores, so the run cannot take less than that CPU over the cores.
    let patchctl_all = || -> anyhow::Result<f64> {
        let before = fleet_cpu_seconds(&fleet)?;
        let own_before = children_cpu_seconds()?;
        let machine_before = machine_cpu_seconds()?;
        let elapsed = assess("all")?;
        let used = fleet_cpu_seconds(&fleet)? - before;
        let own = children_cpu_seconds()? - own_before;
        let machine_after = machine_cpu_seconds()?;
        let (busy, iowait) =
            (machine_after.0 - machine_before.0, machine_after.1 - machine_before.1);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        eprintln!(
            "  patchctl assess all: {elapsed:.2} s; the hosts used {used:.2} s of CPU, patchctl itself {own:.2} s: {:.2} s on {cores} cores; the whole machine was busy {busy:.2} s ({:.0} % of its cores), waiting for I/O {iowait:.2} s",
            (used + own) / cores,
            100.0 * busy / (elapsed * cores)
        );
        Ok(elapsed)
    };
    let ansible_all = |playbook: &str| -> anyhow::Result<f64> {
        let started = Instant::now();
        let output = Command::new(&ansible)
            .arg("-i")
            .arg(dir.join("inventory.ini"))
            .arg(dir.join(playbook))
            .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
            .output()?;
        if !output.status.success() {
            bail!(
                "ansible-playbook failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(started.elapsed().as_secs_f64())
    };
    // Warm both (SSH keys, package caches), then alternate.
    patchctl_all()?;
    ansible_all("playbook.yml")?;
    ansible_all("same-probes.yml")?;
    let (mut ours, mut theirs, mut theirs_same, mut slowest_alone) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..runs {
        ours.push(patchctl_all()?);
        theirs.push(ansible_all("playbook.yml")?);
        theirs_same.push(ansible_all("same-probes.yml")?);
        let mut slowest: f64 = 0.0;
        for host in &fleet.hosts {
            slowest = slowest.max(assess(&host.name)?);
        }
        slowest_alone.push(slowest);
        eprintln!(
            "round {round}: patchctl {:.2} s, ansible (installed + upgradable) {:.2} s, ansible (patchctl's probes) {:.2} s, slowest host alone {slowest:.2} s",
            ours[round], theirs[round], theirs_same[round]
        );
    }
    let median = crate::bench::median;
    let (ours, theirs, theirs_same, slowest) = (
        median(&mut ours),
        median(&mut theirs),
        median(&mut theirs_same),
        median(&mut slowest_alone),
    );
    println!(
        "{} hosts, {runs} rounds (medians): patchctl assess all {ours:.2} s; ansible-playbook installed+upgradable {theirs:.2} s; ansible-playbook running patchctl's probes {theirs_same:.2} s; slowest single host assessed alone {slowest:.2} s",
        fleet.hosts.len()
    );
    println!(
        "ansible (installed+upgradable) / patchctl = {:.2}; ansible (same probes) / patchctl = {:.2}; patchctl all / slowest alone = {:.2}",
        theirs / ours,
        theirs_same / ours,
        ours / slowest
    );
    Ok(())
}

/// `ansible-playbook` from ansible-core in `target/bench-venv`, installed there from PyPI when
/// missing.
pub fn ansible_playbook_binary() -> anyhow::Result<std::path::PathBuf> {
    crate::ci::pip_tool("bench-venv", "ansible-core", "ansible-playbook")
}

/// A playbook whose tasks are exactly the commands `patchctl assess` runs on each kind of host
/// (one `raw` task each, as a shell line), so both sides make the hosts do the same work.
fn same_probes_playbook(dnf_script: &str) -> String {
    // One play, so that no host waits for another group's play to end.
    let mut playbook =
        String::from("- hosts: all\n  gather_facts: false\n  strategy: free\n  tasks:\n");
    for (group, kind) in
        [("debian", model::PackageManagerKind::Apt), ("rpm", model::PackageManagerKind::Dnf)]
    {
        // The follow-up probes too: on dnf hosts the batch that runs every dnf command, made
        // from the hosts' own `/usr/bin/dnf` as patchctl makes it.
        let mut gathered = pkgmgr::Gathered::new();
        gathered.insert(
            pkgmgr::dnf::DNF_SCRIPT,
            pkgmgr::ProbeOutput::File(Some(dnf_script.to_owned())),
        );
        let followups = match kind {
            model::PackageManagerKind::Dnf => pkgmgr::followup_probes_for(kind, &gathered),
            model::PackageManagerKind::Apt => Vec::new(),
        };
        for spec in
            pkgmgr::system_probes().into_iter().chain(pkgmgr::probes_for(kind)).chain(followups)
        {
            let line = match &spec.probe {
                pkgmgr::Probe::Run(command) => format!("LC_ALL=C {}", command.display()),
                pkgmgr::Probe::ReadFile(path) => format!("cat {path}"),
                pkgmgr::Probe::ListDir(path) => format!("ls -1A {path}"),
            };
            let quoted = line.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            playbook.push_str(&format!(
                "    - raw: \"{quoted}\"\n      when: \"'{group}' in group_names\"\n      changed_when: false\n      failed_when: false\n"
            ));
        }
    }
    playbook
}

/// `/usr/bin/dnf` of the fleet's first RPM host (its first line names dnf's interpreter).
fn dnf_script(fleet: &Fleet) -> anyhow::Result<String> {
    let host = fleet.hosts.iter().find(|h| h.family == Family::Rpm).context("no RPM host")?;
    let output = Command::new("docker")
        .args(["exec", &host.container, "cat", pkgmgr::dnf::DNF_SCRIPT])
        .output()?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The CPU time (user and system) of this process's children that have ended, in seconds:
/// `cutime` and `cstime` of `/proc/self/stat`, in clock ticks of 1/100 s.
fn children_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').context("/proc/self/stat")?.1.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields.get(i).context("/proc/self/stat is short")?.parse::<f64>()?)
    };
    // cutime and cstime are fields 16 and 17; the slice starts at field 3.
    Ok((ticks(16 - 3)? + ticks(17 - 3)?) / 100.0)
}

/// The whole machine's busy CPU time (everything but idle and I/O wait) and its I/O wait, in
/// seconds summed over the cores, from `/proc/stat`: it also counts what the hosts' cgroups do
/// not, such as Docker's storage driver (fuse-overlayfs runs outside them).
fn machine_cpu_seconds() -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("/proc/stat is empty")?;
    let ticks: Vec<f64> =
        line.split_whitespace().skip(1).map(|v| v.parse().unwrap_or(0.0)).collect();
    // user nice system idle iowait irq softirq steal (guest time is counted in user already).
    let field = |i: usize| ticks.get(i).copied().unwrap_or(0.0) / 100.0;
    let busy = [0, 1, 2, 5, 6, 7].into_iter().map(field).sum();
    Ok((busy, field(4)))
}

/// The CPU time every host's container has used so far, in seconds (cgroup v1 `cpuacct.usage`
/// or v2 `cpu.stat`).
fn fleet_cpu_seconds(fleet: &Fleet) -> anyhow::Result<f64> {
    let mut total = 0.0;
    for host in &fleet.hosts {
        let output =
            Command::new("docker").args(["inspect", "-f", "{{.Id}}", &host.container]).output()?;
        let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let v1 = format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage");
        let v2 = format!("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat");
        total += if let Ok(text) = std::fs::read_to_string(&v1) {
            text.trim().parse::<f64>().context("cpuacct.usage")? / 1e9
        } else {
            let text = std::fs::read_to_string(&v2)
                .with_context(|| format!("reading the CPU use of {}", host.container))?;
            let usec = text
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .context("cpu.stat has no usage_usec")?;
            usec.trim().parse::<f64>()? / 1e6
        };
    }
    Ok(total)
}

fn write_ansible_files(
    fleet: &Fleet,
    dir: &std::path::Path,
    dnf_script: &str,
) -> anyhow::Result<()> {
    let known_hosts: String =
        fleet.hosts.iter().map(|h| format!("{} {}\n", h.address, h.host_key)).collect();
    std::fs::write(dir.join("known_hosts"), known_hosts)?;
    let mut inventory = String::new();
    for (group, family, vars) in
        [("debian", Family::Debian, DEBIAN_VARS), ("rpm", Family::Rpm, RPM_VARS)]
    {
        inventory.push_str(&format!("[{group}]\n"));
        for host in fleet.hosts.iter().filter(|h| h.family == family) {
            inventory.push_str(&format!("{} ansible_host={}\n", host.name, host.address));
        }
        inventory.push_str(&format!("\n[{group}:vars]\n{vars}\n\n"));
    }
    inventory.push_str(&format!(
        "[all:vars]\nansible_user=root\nansible_ssh_private_key_file={}\nansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n",
        fleet.ssh_key.display(),
        dir.join("known_hosts").display()
    ));
    std::fs::write(dir.join("inventory.ini"), inventory)?;
    std::fs::write(dir.join("playbook.yml"), PLAYBOOK)?;
    std::fs::write(dir.join("same-probes.yml"), same_probes_playbook(dnf_script))?;
    let config = format!(
        "[defaults]\nforks = {}\nhost_key_checking = True\ngathering = explicit\nlocal_tmp = {}\n\n[ssh_connection]\npipelining = True\n",
        fleet.hosts.len(),
        dir.join("ansible-tmp").display()
    );
    std::fs::write(dir.join("ansible.cfg"), config)?;
    Ok(())
}
