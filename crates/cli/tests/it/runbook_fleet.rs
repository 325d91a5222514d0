//! The runbook's steps around a rollout, end to end on the test fleet: package lists refreshed
//! and their age shown, a mirror that cannot be reached failing closed, and the host's own
//! trace of what was done to it.

use serde_json::Value;

use crate::rollout_fleet::{RUN_FLAGS, Run, states};
use crate::support::{host_outputs, text};
use crate::test_fleet::TestFleet;

/// Host → seconds between its lists' refresh and its assessment, from `assess --format json`.
fn lists_ages(output: &[u8]) -> Vec<(String, i64)> {
    let document: Value = serde_json::from_slice(output).unwrap();
    document["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let at = a["lists_refreshed"]["at"].as_i64().unwrap_or_else(|| panic!("{a:#}"));
            (a["host"].as_str().unwrap().to_owned(), a["taken_at_unix"].as_i64().unwrap() - at)
        })
        .collect()
}

fn refreshes(report: &Value, host: &str) -> usize {
    host_outputs(report, host).filter(|o| o["note"] == "refreshing the package lists").count()
}

#[test]
fn package_lists_are_refreshed_and_a_mirror_down_fails_closed() {
    let Some(fleet) = TestFleet::up("lists", 1, 1) else { return };
    let run = Run::new(&fleet);
    // Lists three days old, on both package managers.
    for (host, paths) in [
        ("deb1", "/var/lib/apt/lists /var/lib/apt/lists/*"),
        ("rpm1", "/var/cache/dnf/*/repodata/*primary*"),
    ] {
        let touch = format!("touch -d '3 days ago' {paths}");
        assert_eq!(fleet.exec(host, &["sh", "-c", &touch]).0, 0, "{host}");
    }
    let stale = run.ok(&["assess", "all", "--format", "json"]);
    for (host, age) in lists_ages(&stale.stdout) {
        assert!((3 * 86400 - 60..3 * 86400 + 600).contains(&age), "{host}: {age} s");
    }
    let table = text(&run.ok(&["assess", "all"]).stdout);
    assert!(table.contains("LISTS") && table.contains("3d"), "{table}");

    let fresh = run.ok(&["assess", "all", "--refresh", "--format", "json"]);
    for (host, age) in lists_ages(&fresh.stdout) {
        assert!(age < 120, "{host}: refreshed {age} s before its assessment");
    }
    let plan = run.plan(&["--packages", "acme-tools", "--canary", "0"]);

    // The mirror goes down: no host is assessed on the lists it has, and none is patched.
    fleet.mirror(false);
    let down = run.patchctl(&["assess", "all", "--refresh"]);
    let table = text(&down.stdout);
    assert_eq!(down.status.code(), Some(3), "{table}\n{}", text(&down.stderr));
    assert_eq!(table.matches("refresh_failed").count(), 2, "{table}");
    let compliance = text(&run.patchctl(&["compliance", "all"]).stdout);
    assert!(compliance.contains("patch state unknown"), "{compliance}");

    let always = Run::with_hooks(&fleet, "always.toml", "refresh = \"always\"");
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    // The plan lives in the first run's state: start it there, with the hooks of `always`.
    std::fs::copy(fleet.state_of(&run.config), fleet.state_of(&always.config)).unwrap();
    let refused = always.patchctl(&args);
    assert!(!refused.status.success(), "{}", text(&refused.stdout));
    let rollout = always.latest_rollout();
    let report = always.report(&rollout);
    // The first host's precheck fails; the wave halts before the other (error budget 0).
    let mut failed = 0;
    for (host, (state, detail)) in states(&report) {
        if state == "skipped" {
            continue;
        }
        assert_eq!(state, "failed", "{host}: {detail:#}");
        let reason = detail.to_string();
        assert!(reason.contains("refreshing the package lists"), "{host}: {reason}");
        assert!(reason.contains("nothing was installed"), "{host}: {reason}");
        failed += 1;
    }
    assert!(failed >= 1, "{report:#}");
    assert_eq!(always.installed("deb1", "acme-tools"), "1.0-1");
    assert_eq!(always.installed("rpm1", "acme-tools"), "1.0-1");

    // Back up, lists three days old again: the default hook refreshes them before the apply.
    fleet.mirror(true);
    let touch =
        "touch -d '3 days ago' /var/lib/apt/lists /var/lib/apt/lists/* /var/lib/apt/periodic/*";
    assert_eq!(fleet.exec("deb1", &["sh", "-c", touch]).0, 0);
    // patchctl's unit outputs from an old rollout, and a recent one.
    let old_outputs = "mkdir -p /var/lib/patchctl/units && cd /var/lib/patchctl/units && \
        touch -d '40 days ago' patchctl-old-deb1-apply-0.stdout && touch patchctl-new-deb1-apply-0.stdout";
    assert_eq!(fleet.exec("deb1", &["sh", "-c", old_outputs]).0, 0);
    let plan = run.plan(&["--packages", "acme-tools", "--canary", "0"]);
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    run.ok(&args);
    let rollout = run.latest_rollout();
    let report = run.report(&rollout);
    assert_eq!(refreshes(&report, "deb1"), 1, "stale lists are refreshed");
    assert_eq!(refreshes(&report, "rpm1"), 0, "lists refreshed minutes ago are not");
    assert_eq!(run.installed("deb1", "acme-tools"), "1.1-1");

    // Each host's own trace: its journal and /var/log/patchctl.log name the rollout, the plan,
    // the packages and the result.
    for (host, version) in [("deb1", "1.1-1"), ("rpm1", "1.1-1")] {
        let expected = format!(
            "rollout={rollout} plan={plan} step=apply result=succeeded packages=acme-tools={version}"
        );
        let (_, journal) = fleet.exec(host, &["journalctl", "-t", "patchctl", "-o", "cat"]);
        assert!(journal.lines().any(|l| l == expected), "{host} journal:\n{journal}");
        let (_, file) = fleet.exec(host, &["cat", "/var/log/patchctl.log"]);
        assert!(file.lines().any(|l| l.ends_with(&format!("Z {expected}"))), "{host}:\n{file}");
    }
    // Assessed again at the rollout's end: a new plan, made without `assess`, sees acme-tools
    // already updated on both hosts.
    let again =
        run.patchctl(&["plan", "create", "all", "--packages", "acme-tools", "--format", "json"]);
    let planned: Value = serde_json::from_slice(&again.stdout).unwrap_or(Value::Null);
    let hosts = planned["hosts"].as_array().map_or(0, Vec::len);
    assert_eq!(hosts, 0, "{}\n{}", text(&again.stdout), text(&again.stderr));

    // The plan is listed as run, and its rollout is found by the plan's id.
    let listed = text(&run.ok(&["plan", "list", "--status", "run"]).stdout);
    let short = &plan["sha256:".len().."sha256:".len() + 12];
    assert!(listed.lines().any(|l| l.starts_with(short) && l.contains(&rollout)), "{listed}");
    let drafts = text(&run.ok(&["plan", "list", "--status", "draft"]).stdout);
    assert!(!drafts.contains(short), "{drafts}");
    let status = text(&run.ok(&["rollout", "status", short]).stdout);
    assert!(status.starts_with(&format!("rollout {rollout} of plan")), "{status}");

    let (_, units) = fleet.exec("deb1", &["ls", "/var/lib/patchctl/units"]);
    assert!(!units.contains("patchctl-old-"), "40 days old: removed\n{units}");
    assert!(units.contains("patchctl-new-"), "recent: kept\n{units}");
}

/// A check that fails before anything changes (the host's smoke test has been failing for a
/// while) is reported as "failing before the patch" and not blamed on it; with `failing_before
/// = "fail"` it fails the host, which is rolled back.
#[test]
fn a_check_failing_before_the_patch_is_reported_as_such() {
    let Some(fleet) = TestFleet::up("baseline", 1, 1) else { return };
    let smoke = "commands = [[\"test\", \"-e\", \"/etc/acme-smoke-ok\"]]\n";
    let inventory = |name: &str, rule: &'static str| {
        let config = fleet.edited_inventory(name, |text| {
            crate::rollout_fleet::with_checks(text).replacen(
                "journal_errors = false\n",
                &format!("journal_errors = false\n{smoke}{rule}"),
                1,
            )
        });
        Run { fleet: &fleet, config }
    };
    let run = inventory("report.toml", "");
    let plan = run.plan(&["--packages", "acme-tools", "--canary", "0"]);
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    run.ok(&args);
    let rollout = run.latest_rollout();
    let report = run.report(&rollout);
    for (host, (state, detail)) in states(&report) {
        assert_eq!(state, "done", "{host}: {detail:#}");
        let remarks: Vec<&str> = host_outputs(&report, &host)
            .filter(|o| o["remark"] == true)
            .filter_map(|o| o["note"].as_str())
            .collect();
        assert!(
            remarks.iter().any(|r| r
                .starts_with("failing before the patch: `test -e /etc/acme-smoke-ok` exited 1")),
            "{host}: {remarks:?}"
        );
        assert!(
            remarks.iter().any(|r| r.starts_with("failing before the patch, not blamed on it:")),
            "{host}: {remarks:?}"
        );
        assert_eq!(run.installed(&host, "acme-tools"), "1.1-1", "{host}");
    }
    let markdown = text(&run.ok(&["report", &rollout]).stdout);
    let (first_page, _) = markdown.split_once("## Appendix").unwrap();
    assert!(
        first_page.contains(
            "| patched and verified | acme-tools 1.0-1 → 1.1-1 | failing before the patch"
        ),
        "{first_page}"
    );

    // The same check, held against the patch: the hosts are rolled back (and the rollback,
    // which puts the host back as it was, failing check included, is not failed for it).
    let strict = inventory("strict.toml", "failing_before = \"fail\"\n");
    std::fs::copy(fleet.state_of(&run.config), fleet.state_of(&strict.config)).unwrap();
    let plan = strict.plan(&["--packages", "acme-web", "--canary", "0", "--error-budget", "100%"]);
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    let failed = strict.patchctl(&args);
    assert!(!failed.status.success(), "{}", text(&failed.stdout));
    let report = strict.report(&strict.latest_rollout());
    for (host, (state, detail)) in states(&report) {
        assert_eq!(state, "rolled_back", "{host}: {detail:#}");
        let reason = detail.to_string();
        assert!(reason.contains("(failing before the patch too)"), "{host}: {reason}");
        assert_eq!(strict.installed(&host, "acme-web"), "1.0-1", "{host}");
    }
}
