//! `patchctl assess` on the test fleet's Debian and RPM hosts, compared with what each host's own
//! package manager says: apt's simulation, and dnf's check-update and updateinfo.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::{PATCHCTL, text};

struct TestFleet {
    fleet: fleet::Fleet,
    runtime: tokio::runtime::Runtime,
}

impl TestFleet {
    fn up() -> Option<TestFleet> {
        if std::env::var("PATCHCTL_INTEGRATION").as_deref() != Ok("1") {
            eprintln!("skipped: set PATCHCTL_INTEGRATION=1 to run fleet tests");
            return None;
        }
        let scenario = fleet::scenario::build(&fleet::cache_dir()).unwrap();
        let images = fleet::images::fleet_images(&scenario).unwrap();
        let inputs = fleet::FleetInputs {
            debian_image: images.debian,
            rpm_image: images.rpm,
            repo_root: scenario.root,
        };
        let name = format!("t{}-assess", std::process::id());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fleets").join(&name);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let fleet = runtime
            .block_on(fleet::up(&fleet::FleetSpec { name, dir, n_debian: 1, n_rpm: 1 }, &inputs))
            .unwrap();
        for host in &fleet.hosts {
            let copied = Command::new("docker")
                .args(["cp", PATCHCTL])
                .arg(format!("{}:/usr/local/bin/patchctl", host.container))
                .status()
                .unwrap();
            assert!(copied.success());
        }
        Some(TestFleet { fleet, runtime })
    }

    fn run(&self, host: &str, argv: &[&str]) -> (i32, String, String) {
        let container = &self.fleet.host(host).unwrap().container;
        let output = Command::new("docker")
            .args(["exec", "-e", "LC_ALL=C", container])
            .args(argv)
            .output()
            .unwrap();
        (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
    }

    /// name -> (candidate, classification, severity, advisories) from `patchctl assess`.
    fn assessed(&self, host: &str) -> BTreeMap<String, (String, String, Value, Value)> {
        let (code, stdout, stderr) = self.run(host, &["patchctl", "assess", "--format", "json"]);
        assert_eq!(code, 0, "{stderr}");
        let document: Value = serde_json::from_str(&stdout).unwrap();
        document["assessments"][0]["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                let field = |k: &str| u[k].as_str().unwrap().to_owned();
                (
                    field("name"),
                    (
                        field("candidate_version"),
                        field("classification"),
                        u["severity"].clone(),
                        u["advisories"].clone(),
                    ),
                )
            })
            .collect()
    }
}

impl Drop for TestFleet {
    fn drop(&mut self) {
        let removed = self.runtime.block_on(fleet::down(&self.fleet.name));
        if !std::thread::panicking() {
            removed.unwrap();
        }
    }
}

#[test]
fn assess_agrees_with_each_hosts_package_manager() {
    let Some(fleet) = TestFleet::up() else { return };

    // Debian: the same packages and candidates as apt's own simulation.
    let ours = fleet.assessed("deb1");
    let (_, simulation, _) = fleet.run("deb1", &["apt-get", "-s", "dist-upgrade"]);
    let apt: BTreeMap<String, String> = simulation
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .map(|rest| {
            (
                rest.split(' ').next().unwrap().to_owned(),
                rest.split('(').nth(1).unwrap().split(' ').next().unwrap().to_owned(),
            )
        })
        .collect();
    let ours_candidates: BTreeMap<String, String> =
        ours.iter().map(|(n, (c, ..))| (n.clone(), c.clone())).collect();
    assert_eq!(ours_candidates, apt);
    assert_eq!(ours["acme-web"].1, "security");
    assert_eq!(ours["acme-tools"].1, "unknown");

    // RPM: the same packages and candidates as `dnf check-update`, and the advisories' types and
    // severities as `dnf updateinfo list` shows them.
    let ours = fleet.assessed("rpm1");
    let (code, check_update, stderr) = fleet.run("rpm1", &["dnf", "-q", "check-update"]);
    assert_eq!(code, 100, "{stderr}");
    let dnf: BTreeMap<String, String> = check_update
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words[0].rsplit_once('.').unwrap().0.to_owned(), words[1].to_owned())
        })
        .collect();
    let ours_candidates: BTreeMap<String, String> =
        ours.iter().map(|(n, (c, ..))| (n.clone(), c.clone())).collect();
    assert_eq!(ours_candidates, dnf);
    let (_, updateinfo, _) = fleet.run("rpm1", &["dnf", "-q", "updateinfo", "list", "--updates"]);
    for line in updateinfo.lines().filter(|l| !l.trim().is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (advisory, kind, nevra) = (words[0], words[1], words[2]);
        let name = nevra.rsplitn(3, '-').nth(2).unwrap();
        let (_, classification, severity, advisories) = &ours[name];
        assert!(
            advisories.as_array().unwrap().iter().any(|a| a == advisory),
            "{name}: {advisories}"
        );
        match kind.split_once('/') {
            Some((rating, "Sec.")) => {
                assert_eq!(classification, "security");
                assert_eq!(severity.as_str().unwrap(), rating.to_lowercase());
            }
            _ => assert_eq!(classification, kind),
        }
    }
}
