//! `rollout start --dry-run` on the test fleet: every host asked (its prechecks, its package
//! manager's simulation of the apply), a would-fail told with the package manager's reason, and
//! nothing changed: not a package, not the state (no rollout), and the plan still startable.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::rollout_fleet::{RUN_FLAGS, Run, states};
use crate::support::text;
use crate::test_fleet::TestFleet;

/// Everything dpkg or rpm has installed on `host`, with versions and dpkg's states, and what is
/// held or version-locked.
fn installed(fleet: &TestFleet, host: &str) -> String {
    let script = if host.starts_with("rpm") {
        "rpm -qa --qf '%{NEVRA} %{INSTALLTIME}\\n' | sort; dnf -q -C versionlock list"
    } else {
        "dpkg-query -W -f '${Package}:${Architecture} ${Version} ${Status}\\n'; apt-mark showhold"
    };
    let (code, out) = fleet.exec(host, &["sh", "-c", script]);
    assert_eq!(code, 0, "{host}: {out}");
    out
}

/// Host → its report, from `rollout start --dry-run --format json`, and the exit code.
fn dry_run(run: &Run, plan: &str) -> (Option<i32>, BTreeMap<String, Value>) {
    let output = run.patchctl(&["rollout", "start", plan, "--dry-run", "--format", "json"]);
    let document: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&output.stdout), text(&output.stderr)));
    assert_eq!(document["changed"], false);
    let hosts = document["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["host"].as_str().unwrap().to_owned(), h.clone()))
        .collect();
    (output.status.code(), hosts)
}

/// The names of a simulation's `pinned` (or `unplanned`) changes.
fn names<'a>(host: &'a Value, list: &str) -> Vec<&'a str> {
    host["simulation"][list]
        .as_array()
        .unwrap_or_else(|| panic!("{host:#}"))
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn a_dry_run_asks_every_host_and_changes_nothing() {
    let Some(fleet) = TestFleet::up("dryrun", 1, 1) else { return };
    let run = Run::new(&fleet);
    let packages = ["acme-broken", "acme-tools", "acme-web"];
    let plan = run.plan(&["--packages", &packages.join(",")]);
    // After the plan was made, an administrator holds acme-broken (apt-mark hold, dnf
    // versionlock): the apply of its pinned version would be refused, which only the host knows.
    assert_eq!(fleet.exec("deb1", &["apt-mark", "hold", "acme-broken"]).0, 0);
    assert_eq!(fleet.exec("rpm1", &["dnf", "-q", "versionlock", "add", "acme-broken"]).0, 0);
    let before: Vec<String> = ["deb1", "rpm1"].iter().map(|h| installed(&fleet, h)).collect();

    let (code, hosts) = dry_run(&run, &plan);
    assert_eq!(code, Some(3), "a host would fail: {hosts:#?}");
    for (host, word) in [("deb1", "acme-broken"), ("rpm1", "acme-broken-1.1-1.noarch")] {
        let report = &hosts[host];
        assert_eq!(report["verdict"], "would_fail", "{report:#}");
        assert_eq!(report["precheck_failures"], serde_json::json!([]), "{report:#}");
        let simulation = &report["simulation"];
        assert_eq!(simulation["outcome"], "would_fail", "{report:#}");
        assert_eq!(simulation["reason"], "held", "{report:#}");
        assert_eq!(simulation["items"], serde_json::json!([word]), "{report:#}");
    }
    let deb_said = hosts["deb1"]["simulation"]["output_tail"].as_str().unwrap();
    assert!(deb_said.contains("Held packages were changed"), "{deb_said}");
    let rpm_said = hosts["rpm1"]["simulation"]["output_tail"].as_str().unwrap();
    assert!(rpm_said.contains("filtered out by exclude filtering"), "{rpm_said}");

    // The table says the same to a person.
    let table = run.patchctl(&["rollout", "start", &plan, "--dry-run"]);
    let shown = text(&table.stdout);
    assert_eq!(table.status.code(), Some(3), "{shown}");
    assert_eq!(shown.matches("WOULD FAIL").count(), 2, "{shown}");
    assert!(shown.contains("held: acme-broken"), "{shown}");
    assert!(shown.contains("cannot see maintainer scripts"), "{shown}");

    // Without its lock, the RPM host would apply every pinned version, and nothing else.
    assert_eq!(fleet.exec("rpm1", &["dnf", "-q", "versionlock", "delete", "acme-broken"]).0, 0);
    let before_rpm = installed(&fleet, "rpm1");
    let (code, hosts) = dry_run(&run, &plan);
    assert_eq!(code, Some(3), "deb1 still would fail");
    let rpm = &hosts["rpm1"];
    assert_eq!(rpm["verdict"], "would_apply", "{rpm:#}");
    assert_eq!(names(rpm, "pinned"), packages, "{rpm:#}");
    assert!(names(rpm, "unplanned").is_empty(), "{rpm:#}");
    assert!(
        rpm["simulation"]["pinned"].as_array().unwrap().iter().all(|c| c["version"] == "1.1-1"),
        "{rpm:#}"
    );
    assert_eq!(hosts["deb1"]["verdict"], "would_fail");

    // Nothing changed: the packages, the holds, and the state (no rollout).
    assert_eq!(installed(&fleet, "deb1"), before[0]);
    assert_eq!(installed(&fleet, "rpm1"), before_rpm);
    for package in packages {
        assert_eq!(run.installed("deb1", package), "1.0-1");
        assert_eq!(run.installed("rpm1", package), "1.0-1");
    }
    let list = run.ok(&["rollout", "list"]);
    assert_eq!(text(&list.stdout).trim(), "", "a dry run created a rollout");

    // The plan can still be started for real, and its apply meets what the dry run said.
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    let real = run.patchctl(&args);
    assert_eq!(real.status.code(), Some(3), "{}", text(&real.stderr));
    let report = run.report(&run.latest_rollout());
    let states = states(&report);
    let (state, detail) = &states["deb1"];
    assert_ne!(state, "done", "{detail}");
    assert!(detail.to_string().contains("held: acme-broken"), "{state}: {detail}");
    assert_eq!(run.installed("deb1", "acme-broken"), "1.0-1");

    // A plan runs once: a dry run says a real start would now be refused, and why.
    let again = run.patchctl(&["rollout", "start", &plan, "--dry-run", "--format", "json"]);
    assert_eq!(again.status.code(), Some(3));
    let document: Value = serde_json::from_slice(&again.stdout).unwrap();
    let refusal = document["start_refusals"][0].as_str().unwrap_or_default();
    assert!(refusal.contains("has run already"), "{document:#}");
}
