//! Whole fleets, started and stopped through the same code `cargo xtask fleet` uses: pending
//! updates as each host's own package manager reports them, SSH with pinned host keys, and every
//! fault with its heal.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fleet::docker::Engine;
use fleet::{Family, Fault, Fleet, FleetSpec};

use crate::support::integration_enabled;

/// The scenario repositories and host images, built once (they are cached).
fn scenario_and_images() -> fleet::FleetInputs {
    let scenario = fleet::scenario::build(&fleet::cache_dir()).expect("scenario repositories");
    let images = fleet::images::fleet_images(&scenario).expect("fleet images");
    fleet::FleetInputs {
        debian_image: images.debian,
        rpm_image: images.rpm,
        repo_root: scenario.root,
    }
}

/// A fleet that is taken down when the test ends, whether it passed or not.
struct TestFleet {
    fleet: Fleet,
    runtime: tokio::runtime::Runtime,
}

impl TestFleet {
    fn up(stem: &str, n_debian: usize, n_rpm: usize) -> TestFleet {
        let inputs = scenario_and_images();
        let name = format!("t{}-{stem}", std::process::id());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fleets").join(&name);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let spec = FleetSpec { name, dir, n_debian, n_rpm };
        let fleet = runtime.block_on(fleet::up(&spec, &inputs)).expect("fleet up");
        TestFleet { fleet, runtime }
    }

    fn exec(&self, host: &str, argv: &[&str]) -> fleet::docker::ExecOutput {
        let container = &self.fleet.host(host).unwrap().container;
        self.runtime
            .block_on(async { Engine::connect().await?.exec(container, argv).await })
            .unwrap()
    }

    fn sh(&self, host: &str, script: &str) -> fleet::docker::ExecOutput {
        self.exec(host, &["sh", "-c", script])
    }

    fn inject(&self, host: &str, fault: Fault) {
        self.runtime.block_on(fleet::inject(&self.fleet, host, fault)).unwrap();
    }

    fn heal(&self, host: &str) {
        self.runtime.block_on(fleet::heal(&self.fleet, host)).unwrap();
    }

    /// Logs in over SSH with the fleet's key, trusting only the host key the inventory pinned.
    fn ssh(&self, host: &str, command: &str) -> std::process::Output {
        let host = self.fleet.host(host).unwrap();
        let known_hosts = self.fleet.dir.join(format!("known_hosts-{}", host.name));
        std::fs::write(&known_hosts, format!("{} {}\n", host.address, host.host_key)).unwrap();
        Command::new("ssh")
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "ConnectTimeout=3",
            ])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
            .arg("-i")
            .arg(&self.fleet.ssh_key)
            .arg(format!("root@{}", host.address))
            .arg(command)
            .output()
            .unwrap()
    }

    fn sshd_answers(&self, host: &str) -> bool {
        let address = self.fleet.host(host).unwrap().address.clone();
        std::net::TcpStream::connect_timeout(
            &format!("{address}:22").parse().unwrap(),
            Duration::from_secs(2),
        )
        .is_ok()
    }
}

impl Drop for TestFleet {
    fn drop(&mut self) {
        let name = self.fleet.name.clone();
        let removed = self.runtime.block_on(fleet::down(&name));
        let left =
            self.runtime.block_on(async { Engine::connect().await?.fleet_objects(&name).await });
        if !std::thread::panicking() {
            removed.expect("fleet down");
            assert_eq!(left.unwrap(), Vec::<String>::new(), "fleet down left objects behind");
        }
    }
}

/// `(name, candidate version)` of every upgrade apt would make, read from its simulation.
fn apt_upgrades(simulation: &str) -> Vec<(String, String)> {
    let mut upgrades: Vec<(String, String)> = simulation
        .lines()
        .filter_map(|line| line.strip_prefix("Inst "))
        .map(|rest| {
            let name = rest.split(' ').next().unwrap().to_owned();
            let candidate = rest.split('(').nth(1).unwrap().split(' ').next().unwrap().to_owned();
            (name, candidate)
        })
        .collect();
    upgrades.sort();
    upgrades
}

#[test]
fn every_host_shows_the_scenario_updates_and_answers_over_ssh() {
    if !integration_enabled("every_host_shows_the_scenario_updates_and_answers_over_ssh") {
        return;
    }
    let fleet = TestFleet::up("updates", 2, 1);
    for host in &fleet.fleet.hosts {
        let login = fleet.ssh(&host.name, "hostname");
        assert!(
            login.status.success(),
            "ssh {}: {}",
            host.name,
            String::from_utf8_lossy(&login.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&login.stdout).trim(), host.name);
        match host.family {
            Family::Debian => {
                let simulation = fleet
                    .exec(&host.name, &["apt-get", "-s", "dist-upgrade"])
                    .check("apt-get -s")
                    .unwrap();
                let mut expected: Vec<(String, String)> = [
                    "acme-broken",
                    "acme-held",
                    "acme-kernel",
                    "acme-regress",
                    "acme-tools",
                    "acme-web",
                ]
                .iter()
                .filter(|name| !(host.held && **name == "acme-held"))
                .map(|name| (name.to_string(), "1.1-1".to_owned()))
                .collect();
                expected.sort();
                assert_eq!(
                    apt_upgrades(&simulation.stdout),
                    expected,
                    "{}: {}",
                    host.name,
                    simulation.stdout
                );
                let web =
                    simulation.stdout.lines().find(|l| l.starts_with("Inst acme-web ")).unwrap();
                assert!(web.contains("Acme-Security:12/bookworm-security"), "{web}");
            }
            Family::Rpm => {
                let advisories = fleet
                    .exec(&host.name, &["dnf", "-q", "updateinfo", "list", "--updates"])
                    .check("dnf updateinfo")
                    .unwrap();
                let web = advisories
                    .stdout
                    .lines()
                    .find(|l| l.contains("acme-web-1.1-1"))
                    .unwrap_or_else(|| panic!("{}", advisories.stdout));
                assert!(web.contains("Critical/Sec."), "{web}");
            }
        }
        let health =
            fleet.exec(&host.name, &["busybox", "wget", "-qO-", "http://127.0.0.1:8080/health"]);
        assert_eq!(health.stdout.trim(), "ok", "{}: acme-web health {:?}", host.name, health);
    }
}

#[test]
fn faults_do_what_they_say_and_heal_undoes_them() {
    if !integration_enabled("faults_do_what_they_say_and_heal_undoes_them") {
        return;
    }
    let fleet = TestFleet::up("faults", 1, 1);

    // Reboot: /run is cleared, services start again, the host answers with a new boot identity.
    let boot_identity =
        |f: &TestFleet| f.exec("deb1", &["cut", "-d", " ", "-f", "22", "/proc/1/stat"]).stdout;
    let before = boot_identity(&fleet);
    fleet.sh("deb1", "touch /run/patchctl-marker").check("marker").unwrap();
    fleet.inject("deb1", Fault::Reboot);
    assert_ne!(boot_identity(&fleet), before, "PID 1 should have started again");
    assert_ne!(
        fleet.exec("deb1", &["test", "-e", "/run/patchctl-marker"]).exit_code,
        0,
        "/run kept its files"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while fleet.exec("deb1", &["systemctl", "is-active", "acme-web"]).stdout.trim() != "active" {
        assert!(Instant::now() < deadline, "acme-web did not come back after the reboot");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(fleet.ssh("deb1", "true").status.success());

    // Kill: nothing answers until healed.
    fleet.inject("rpm1", Fault::Kill);
    assert!(!fleet.sshd_answers("rpm1"));
    fleet.heal("rpm1");
    assert!(fleet.ssh("rpm1", "true").status.success());

    // Partition: the host runs but cannot be reached; healed, it is back at the same address.
    fleet.inject("deb1", Fault::Partition);
    assert!(!fleet.sshd_answers("deb1"));
    fleet.heal("deb1");
    assert!(fleet.ssh("deb1", "true").status.success());

    // Fill the disk: the package cache has no room left, and apt cannot download.
    for host in ["deb1", "rpm1"] {
        fleet.inject(host, Fault::FillDisk);
        let cache = if host == "deb1" { "/var/cache/apt/archives" } else { "/var/cache/dnf" };
        let avail = fleet.exec(host, &["df", "--output=avail", "-B1", cache]).stdout;
        assert_eq!(avail.lines().nth(1).unwrap().trim(), "0", "{host}: {avail}");
        fleet.heal(host);
        let avail = fleet.exec(host, &["df", "--output=avail", "-B1", cache]).stdout;
        assert_ne!(avail.lines().nth(1).unwrap().trim(), "0", "{host} after heal: {avail}");
    }
    let download =
        fleet.exec("deb1", &["apt-get", "-y", "--download-only", "install", "acme-tools"]);
    assert_eq!(download.exit_code, 0, "after heal apt downloads again: {download:?}");

    // Hold the lock: apt cannot take it, and says who holds it.
    fleet.inject("deb1", Fault::HoldLock);
    let blocked = fleet.exec(
        "deb1",
        &["apt-get", "-y", "-o", "DPkg::Lock::Timeout=0", "install", "acme-tools=1.0-1"],
    );
    assert_ne!(blocked.exit_code, 0);
    assert!(
        blocked.stderr.contains("Could not get lock /var/lib/dpkg/lock-frontend"),
        "{blocked:?}"
    );
    assert!(blocked.stderr.contains("perl"), "apt names the holder: {blocked:?}");
    fleet.heal("deb1");
    fleet
        .exec("deb1", &["apt-get", "-y", "install", "acme-tools=1.0-1"])
        .check("apt after heal")
        .unwrap();

    fleet.inject("rpm1", Fault::HoldLock);
    fleet
        .sh("rpm1", "kill -0 \"$(cat /var/lib/dnf/rpmdb_lock.pid)\"")
        .check("dnf lock holder alive")
        .unwrap();
    fleet.heal("rpm1");
    assert_ne!(
        fleet
            .sh("rpm1", "kill -0 \"$(cat /var/lib/dnf/rpmdb_lock.pid 2>/dev/null)\" 2>/dev/null")
            .exit_code,
        0
    );

    // Interrupt dpkg: apt refuses until dpkg is repaired; heal repairs it.
    fleet.inject("deb1", Fault::InterruptDpkg);
    let refused = fleet.exec("deb1", &["apt-get", "-y", "install", "acme-tools=1.0-1"]);
    assert!(refused.stderr.contains("dpkg was interrupted"), "{refused:?}");
    fleet.heal("deb1");
    fleet
        .exec("deb1", &["apt-get", "-y", "install", "acme-tools=1.0-1"])
        .check("apt after heal")
        .unwrap();
    assert_eq!(fleet.exec("deb1", &["dpkg", "--audit"]).stdout, "");
}
