//! The integrity check on the test fleet (issue 19, scope item 2): `dpkg --verify` / `rpm -V`
//! of the changed packages after an apply and after a rollback, and `patchctl
//! verify-integrity`.
//!
//! The altered binary is honest: acme-agent 1.1 is an update whose own postinst appends to the
//! program it ships (`crates/fleet/src/scenario/packages.rs`, `EXTRA_PACKAGES`), as a tampered
//! or buggy package would, so its program differs from the package's digests right after the
//! apply, with nothing of the test's in between. The conffile is edited the way an
//! administrator would, before the rollout; and after it, the test alters a program by hand,
//! which only `verify-integrity` can see.

use serde_json::Value;

use crate::rollout_fleet::{RUN_FLAGS, Run, states};
use crate::support::text;
use crate::test_fleet::TestFleet;

const CONFFILE: &str = "/etc/acme-agent.conf";
const PROGRAM: &str = "/usr/bin/acme-agent";

/// acme-agent 1.0 installed from the fleet's repository, its configuration file edited.
fn install_agent(fleet: &TestFleet, host: &str) {
    let install: &[&str] = if host.starts_with("rpm") {
        &["dnf", "-y", "-q", "install", "acme-agent-1.0-1.noarch"]
    } else {
        &["apt-get", "install", "-y", "-q", "acme-agent=1.0-1"]
    };
    let (code, out) = fleet.exec(host, install);
    assert_eq!(code, 0, "{host}: installing acme-agent 1.0: {out}");
    let edit = format!("echo 'interval = 5' >> {CONFFILE}");
    assert_eq!(fleet.exec(host, &["sh", "-c", &edit]).0, 0, "{host}: editing {CONFFILE}");
}

fn notes<'r>(report: &'r Value, host: &str) -> Vec<&'r str> {
    crate::support::host_outputs(report, host).filter_map(|o| o["note"].as_str()).collect()
}

fn verify_integrity(run: &Run) -> (Option<i32>, Value) {
    let output = run.patchctl(&["verify-integrity", "all", "--format", "json"]);
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&output.stdout), text(&output.stderr)));
    (output.status.code(), json)
}

fn host<'v>(json: &'v Value, name: &str) -> &'v Value {
    json["hosts"].as_array().unwrap().iter().find(|h| h["host"] == name).unwrap()
}

#[test]
fn an_altered_binary_fails_the_integrity_postcheck_and_an_edited_conffile_does_not() {
    let Some(fleet) = TestFleet::up("integrity", 1, 1) else { return };
    let hosts = ["deb1", "rpm1"];
    for host in hosts {
        install_agent(&fleet, host);
    }
    let run = Run::new(&fleet);
    let plan = run.plan(&["--packages", "acme-agent", "--error-budget", "100%", "--canary", "0"]);
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    let output = run.patchctl(&args);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    let rollout = run.latest_rollout();
    let report = run.report(&rollout);
    for (host, (state, detail)) in states(&report) {
        // The postcheck after the apply found 1.1's program altered, naming package and file;
        // the host was rolled back to 1.0, whose files the verify after the rollback found
        // intact.
        assert_eq!(state, "rolled_back", "{host}: {detail}");
        let reason = detail["reason"].as_str().unwrap();
        assert!(reason.contains(&format!("integrity: acme-agent: {PROGRAM} (")), "{reason}");
        assert!(!reason.contains(CONFFILE), "the edited conffile is no failure: {reason}");
        assert_eq!(run.installed(&host, "acme-agent"), "1.0-1", "{host} back at 1.0");
        // The administrator's edit survived both and was reported each time, not failed.
        let (_, conf) = fleet.exec(&host, &["cat", CONFFILE]);
        assert!(conf.contains("interval = 5"), "{host}: {conf}");
        let admin_notes: Vec<&str> = notes(&report, &host)
            .into_iter()
            .filter(|n| n.contains("changed by the administrator") && n.contains(CONFFILE))
            .collect();
        assert_eq!(
            admin_notes.len(),
            2,
            "{host}: after the apply and the rollback: {admin_notes:?}"
        );
        let commands = crate::support::host_outputs(&report, &host)
            .filter(|o| o["note"] == "integrity")
            .map(|o| o["argv"].as_array().unwrap().last().unwrap().as_str().unwrap().to_owned())
            .collect::<Vec<_>>();
        let expected = if host.starts_with("rpm") {
            ["acme-agent-1.1-1.noarch", "acme-agent-1.0-1.noarch"]
        } else {
            ["acme-agent:all", "acme-agent:all"]
        };
        assert_eq!(commands, expected, "{host}: verified at the target, then the rollback's");
    }
    let markdown = text(&run.ok(&["report", &rollout]).stdout);
    assert!(markdown.contains("changed by the administrator"), "{markdown}");

    // After the rollback every program is 1.0's again: only the conffiles differ.
    let (code, json) = verify_integrity(&run);
    assert_eq!(code, Some(0), "{json:#}");
    for name in hosts {
        let host = host(&json, name);
        assert_eq!(host["status"], "admin_changed", "{host:#}");
        assert_eq!(host["admin_changed"][0]["path"], CONFFILE, "{host:#}");
        assert_eq!(host["admin_changed"][0]["package"], "acme-agent", "{host:#}");
    }
    // A program altered by hand after the rollout: a failure, exit code 3.
    let (code, _) = fleet.exec("deb1", &["sh", "-c", &format!("echo '# tampered' >> {PROGRAM}")]);
    assert_eq!(code, 0);
    let (code, json) = verify_integrity(&run);
    assert_eq!(code, Some(3), "{json:#}");
    let deb1 = host(&json, "deb1");
    assert_eq!(deb1["status"], "failed", "{deb1:#}");
    assert_eq!(deb1["failures"], serde_json::json!([format!("acme-agent: {PROGRAM} (content)")]));
    assert_eq!(deb1["admin_changed"][0]["path"], CONFFILE, "{deb1:#}");
    assert_eq!(host(&json, "rpm1")["status"], "admin_changed");
    let table = text(&run.patchctl(&["verify-integrity", "all"]).stdout);
    assert!(table.contains("FAILED"), "{table}");
    assert!(table.contains("admin-changed"), "{table}");
    // Every installed package: the hosts' own (Debian's, on deb1) verify too.
    let all = run.patchctl(&["verify-integrity", "rpm1", "--all-packages", "--format", "json"]);
    let all: Value = serde_json::from_slice(&all.stdout).unwrap();
    let packages = host(&all, "rpm1")["packages"].as_array().unwrap().len();
    assert!(packages > 5, "every installed rpm: {all:#}");

    // Without the check, the same update stays: the integrity check is what caught it.
    let unchecked = Run {
        fleet: &fleet,
        config: fleet.edited_inventory("unchecked.toml", |text| {
            crate::rollout_fleet::with_checks(text).replacen(
                "journal_errors = false\n",
                "journal_errors = false\nintegrity = false\n",
                1,
            )
        }),
    };
    let plan =
        unchecked.plan(&["--packages", "acme-agent", "--error-budget", "100%", "--canary", "0"]);
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    unchecked.ok(&args);
    for (host, (state, detail)) in states(&unchecked.report(&unchecked.latest_rollout())) {
        assert_eq!(state, "done", "{host}: {detail}");
        assert_eq!(unchecked.installed(&host, "acme-agent"), "1.1-1", "{host}");
    }
}
