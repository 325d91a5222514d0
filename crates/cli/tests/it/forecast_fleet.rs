//! The wave duration forecast on the test fleet (issue 21, item 5): after two rollouts, the
//! third plan's forecast of each wave is within 30 % of what its rollout then takes; and a
//! plan whose waves would not end before the window's cutoff is refused, naming the wave.
//!
//! The packages are patched first without a reboot, which teaches the forecast nothing about
//! rebooting hosts; then every rollout reboots both hosts without changing a package
//! (`--kernel-only --reboot always`, the kernel patched already), so the three do the same
//! work; one host per wave.

use std::process::{Command, Output};

use serde_json::Value;

use crate::rollout_fleet::{RUN_FLAGS, Run, with_checks};
use crate::support::{PATCHCTL, text};
use crate::test_fleet::TestFleet;

const PLAN_ARGS: [&str; 5] = ["--kernel-only", "--reboot", "always", "--max-unavailable", "1"];

/// A window from 09:00 UTC with its cutoff at 10:00, for both environments of the fleet.
const POLICY: &str = r#"
[[environments]]
name = "dev"
schedule = "0 9 * * *"
timezone = "UTC"
window = "2h"
cutoff = "1h"
approval = { approvers = 1 }

[[environments]]
name = "staging"
schedule = "0 9 * * *"
timezone = "UTC"
window = "2h"
cutoff = "1h"
approval = { approvers = 1 }
"#;

/// Each wave's (name, expected, high) forecast in milliseconds, from `plan show`.
fn forecast(run: &Run, plan: &str) -> Vec<(String, u64, u64)> {
    let shown: Value =
        serde_json::from_slice(&run.ok(&["plan", "show", plan, "--format", "json"]).stdout)
            .unwrap();
    let waves = shown["record"]["forecast"].as_array().cloned().unwrap_or_default();
    waves
        .iter()
        .map(|w| {
            let ms = |key: &str| w[key].as_u64().unwrap_or_else(|| panic!("{key} in {w}"));
            (w["wave"].as_str().unwrap().to_owned(), ms("expected_ms"), ms("high_ms"))
        })
        .collect()
}

/// How long each wave of `plan` took in `report`, by its hosts' steps: the first opens with
/// its first step, each closes when its hosts have nothing left but the old kernels' cleanup
/// (the last, when they have nothing left at all), and the next opens then.
fn took(plan: &Value, report: &Value) -> Vec<(String, u64)> {
    let steps = |host: &str| -> Vec<Value> {
        let hosts = report["hosts"].as_array().unwrap();
        let entry = hosts.iter().find(|h| h["host"] == host).unwrap();
        entry["steps"].as_array().unwrap().clone()
    };
    let waves = plan["waves"].as_array().unwrap();
    let mut opened = None;
    let mut took = Vec::new();
    for (index, wave) in waves.iter().enumerate() {
        let last = index + 1 == waves.len();
        let hosts: Vec<&str> =
            wave["hosts"].as_array().unwrap().iter().flat_map(|h| h.as_str()).collect();
        let all: Vec<Value> = hosts.iter().flat_map(|h| steps(h)).collect();
        let start = opened.unwrap_or_else(|| {
            all.iter().map(|s| s["started_at"].as_u64().unwrap()).min().unwrap()
        });
        let end = all
            .iter()
            .filter(|s| last || s["step"] != "cleanup")
            .map(|s| s["finished_at"].as_u64().unwrap())
            .max()
            .unwrap();
        took.push((wave["name"].as_str().unwrap().to_owned(), end - start));
        opened = Some(end);
    }
    took
}

#[test]
fn the_third_plans_forecast_holds_and_a_plan_past_the_cutoff_is_refused() {
    let Some(fleet) = TestFleet::up("forecast", 2, 0) else { return };
    let run = Run { fleet: &fleet, config: fleet.edited_inventory("forecast.toml", with_checks) };
    let start = |plan: &str| {
        let mut args = vec!["rollout", "start", plan];
        args.extend(RUN_FLAGS);
        run.ok(&args);
        let report = run.report(&run.latest_rollout());
        assert_eq!(report["phase"], "completed", "{report:#}");
        report
    };

    start(&run.plan(&[
        "--packages",
        "acme-web,acme-tools,acme-kernel",
        "--reboot",
        "never",
        "--max-unavailable",
        "1",
    ]));
    // No history of rebooting hosts yet: no forecast.
    let first = run.plan(&PLAN_ARGS);
    assert_eq!(forecast(&run, &first), []);
    let markdown = text(&run.ok(&["plan", "show", &first]).stdout);
    assert!(!markdown.contains("| forecast |"), "{markdown}");
    start(&first);
    start(&run.plan(&PLAN_ARGS));

    let third = run.plan(&PLAN_ARGS);
    let forecasts = forecast(&run, &third);
    let markdown = text(&run.ok(&["plan", "show", &third]).stdout);
    assert!(markdown.contains("| forecast |") && markdown.contains("(4 past runs)"), "{markdown}");
    let report = start(&third);
    let shown: Value =
        serde_json::from_slice(&run.ok(&["plan", "show", &third, "--format", "json"]).stdout)
            .unwrap();
    let actual = took(&shown, &report);
    // Each host's steps as (step, start, ms), for the message of a miss.
    let steps: Vec<String> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let steps = h["steps"].as_array().unwrap().iter().map(|s| {
                let (start, end) =
                    (s["started_at"].as_u64().unwrap(), s["finished_at"].as_u64().unwrap());
                format!("{} @{} {}ms", s["step"].as_str().unwrap(), start % 100_000, end - start)
            });
            format!("{}: {}", h["host"], steps.collect::<Vec<_>>().join(", "))
        })
        .collect();
    eprintln!("{}", steps.join("\n"));
    assert_eq!(forecasts.len(), actual.len(), "{forecasts:?} {actual:?}");
    for ((wave, expected, high), (name, took)) in forecasts.iter().zip(&actual) {
        assert_eq!(wave, name);
        assert!(expected <= high, "{wave}: {expected} > {high}");
        let off = expected.abs_diff(*took) as f64 / *took as f64;
        eprintln!("{wave}: forecast {expected} ms (up to {high}), took {took} ms, off {off:.2}");
        assert!(
            off <= 0.3,
            "{wave}: forecast {expected} ms, took {took} ms: {:.0} % off\n{}",
            off * 100.0,
            steps.join("\n")
        );
    }

    // A window whose cutoff leaves time for the first wave (at the upper end of its forecast)
    // and half the second: refused, naming the second. In a rehearsal copy of the state, at
    // virtual times, under a policy; the history is the copy's.
    let windowed = fleet.fleet.dir.join("windowed");
    std::fs::create_dir_all(&windowed).unwrap();
    let config = windowed.join("forecast.toml");
    std::fs::copy(&run.config, &config).unwrap();
    std::fs::write(windowed.join("policy.toml"), POLICY).unwrap();
    let rehearsal = fleet.fleet.dir.join("rehearsal.db");
    run.ok(&["rehearsal", "create", rehearsal.to_str().unwrap()]);
    let at = |now: &str, args: &[&str]| -> Output {
        Command::new(PATCHCTL)
            .arg("--config")
            .arg(&config)
            .arg("--state")
            .arg(&rehearsal)
            .args(args)
            .env("PATCHCTL_NOW", now)
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .unwrap()
    };
    let ok = |now: &str, args: &[&str]| -> Output {
        let output = at(now, args);
        assert!(output.status.success(), "{args:?}: {}", text(&output.stderr));
        output
    };
    let morning = "2026-12-08T09:00:00Z";
    ok(morning, &["assess", "all"]);
    let mut args = vec!["plan", "create", "all", "--format", "json"];
    args.extend(PLAN_ARGS);
    let plan: Value = serde_json::from_slice(&ok(morning, &args).stdout).unwrap();
    let plan = plan["id"].as_str().unwrap().to_owned();
    ok(morning, &["change", "request", &plan, "--as", "erin"]);
    ok(morning, &["change", "approve", &plan, "--as", "frank"]);
    let shown: Value =
        serde_json::from_slice(&ok(morning, &["plan", "show", &plan, "--format", "json"]).stdout)
            .unwrap();
    let high = |i: usize| shown["record"]["forecast"][i]["high_ms"].as_u64().unwrap();
    let left_ms = high(0) + high(1) / 2;
    let at_ms = |left_ms: u64| {
        let since_nine = 3_600_000 - left_ms;
        let (minutes, ms) = (since_nine / 60_000, since_nine % 60_000);
        format!("2026-12-08T09:{minutes:02}:{:02}.{:03}Z", ms / 1000, ms % 1000)
    };
    let now = at_ms(left_ms);
    let mut args = vec!["rollout", "start", &plan];
    args.extend(RUN_FLAGS);
    let refused = at(&now, &args);
    let message = text(&refused.stderr);
    assert!(!refused.status.success(), "started: {message}");
    let wave = shown["waves"][1]["name"].as_str().unwrap();
    assert!(
        message.contains(&format!("wave 2 ({wave}) would not end before the window's cutoff")),
        "{message}"
    );
    assert!(message.contains("--override-window"), "{message}");

    // The scheduler makes the same check: a plan of dev alone, approved, whose one wave would
    // not end before the cutoff, is not started, and the window says why.
    let mut args = vec!["plan", "create", "env:dev", "--format", "json"];
    args.extend(PLAN_ARGS);
    let dev: Value = serde_json::from_slice(&ok(morning, &args).stdout).unwrap();
    let dev = dev["id"].as_str().unwrap().to_owned();
    ok(morning, &["change", "request", &dev, "--as", "erin"]);
    ok(morning, &["change", "approve", &dev, "--as", "frank"]);
    let shown: Value =
        serde_json::from_slice(&ok(morning, &["plan", "show", &dev, "--format", "json"]).stdout)
            .unwrap();
    let high = shown["record"]["forecast"][0]["high_ms"].as_u64().unwrap();
    let mut args = vec!["scheduler", "--once"];
    args.extend(&RUN_FLAGS[..6]);
    let output = ok(&at_ms(high / 2), &args);
    let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(
        said.contains("dev: window opened at")
            && said.contains("wave 1 (dev batch 1) would not end before the window's cutoff"),
        "{said}"
    );
    assert!(!said.contains("started"), "{said}");
}
