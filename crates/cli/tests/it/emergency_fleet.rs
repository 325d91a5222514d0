//! The emergency track on the test fleet (deb1 staging, deb2 production, owned by team-web): an
//! advisory for acme-web scored CVSS 9.8 makes `patchctl emergency` plan acme-web for staging at
//! once, outside any window, and tell the owner's webhook; production waits for staging's
//! verification and then only the capped soak (30 minutes, not its 24 hours); an advisory
//! scored 5.3 is left to the normal process; the emergency's postmortem is overdue 24 hours
//! later until closed.

use std::path::PathBuf;
use std::process::Output;

use chrono::{TimeDelta, Utc};
use serde_json::Value;

use crate::compliance_fleet::{rfc3339, staging_then_production, webhook_receiver};
use crate::cves_fleet::{debian_record, debian_record_scored};
use crate::support::text;
use crate::test_fleet::TestFleet;

const RUN_FLAGS: [&str; 6] =
    ["--reboot-delay", "0", "--reboot-timeout", "120", "--unreachable-grace", "15"];

fn policy(webhook: &str) -> String {
    format!(
        r#"
[[environments]]
name = "staging"
schedule = "0 22 * * TUE"
timezone = "UTC"
window = "2h"
approval = "auto"

[[environments]]
name = "production"
schedule = "0 22 * * THU"
timezone = "UTC"
window = "2h"
approval = "auto"
soak = "24h"

[notifications]
timeout_seconds = 5
[notifications.contacts.team-web]
webhooks = ["{webhook}"]
"#
    )
}

struct Run<'a> {
    fleet: &'a TestFleet,
    config: PathBuf,
}

impl Run<'_> {
    fn ok(&self, args: &[&str]) -> Output {
        let output = self.fleet.patchctl(&self.config, args);
        assert!(
            output.status.success(),
            "patchctl {args:?}: {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        output
    }

    /// `patchctl [--now NOW] emergency`: its standard output.
    fn emergency(&self, now: Option<&str>) -> String {
        let mut args: Vec<&str> = now.map(|now| vec!["--now", now]).unwrap_or_default();
        args.extend(["emergency", "--as", "alice"]);
        text(&self.ok(&args).stdout)
    }

    /// The id of the plan an emergency run printed, and that plan.
    fn planned(&self, stdout: &str) -> (String, Value) {
        let id = stdout
            .lines()
            .find_map(|line| line.strip_prefix("plan "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no plan in {stdout}"))
            .to_owned();
        let plan =
            serde_json::from_slice(&self.ok(&["plan", "show", &id, "--format", "json"]).stdout)
                .unwrap();
        (id, plan)
    }

    fn installed(&self, host: &str) -> String {
        let (_, out) = self.fleet.exec(host, &["dpkg-query", "-W", "-f", "${Version}", "acme-web"]);
        out
    }
}

#[test]
fn a_critical_advisory_is_expedited_staging_first_and_its_postmortem_goes_overdue() {
    let Some(fleet) = TestFleet::up("emerg", 2, 0) else { return };
    let config = fleet.edited_inventory("emergency.toml", staging_then_production);
    let (webhook, received) = webhook_receiver();
    std::fs::write(fleet.fleet.dir.join("policy.toml"), policy(&webhook)).unwrap();
    let records = fleet.fleet.dir.join("emergency-advisories");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(
        records.join("DSA-9001-1.json"),
        debian_record("DSA-9001-1", "acme-web", &["CVE-2026-10001"]),
    )
    .unwrap();
    // Moderate: left to the normal process.
    std::fs::write(
        records.join("DSA-9002-1.json"),
        debian_record_scored(
            "DSA-9002-1",
            "acme-tools",
            &["CVE-2026-10009"],
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N",
        ),
    )
    .unwrap();
    // A rehearsal: the soak cap is passed at a virtual time.
    fleet.rehearsal(&fleet.state_of(&config));
    let run = Run { fleet: &fleet, config };
    run.ok(&["advisories", "import", records.to_str().unwrap()]);
    run.ok(&["assess", "all"]);
    let start = Utc::now();

    // Staging at once (its window is next Tuesday); production waits for staging.
    let first = run.emergency(None);
    assert!(first.contains("emergency: DSA-9001-1 (CVSS 9.8)"), "{first}");
    assert!(!first.contains("DSA-9002-1"), "a 5.3 is no emergency: {first}");
    assert!(
        first.contains("waits: acme-web all 1.1-1 on deb2: never applied and verified on staging"),
        "{first}"
    );
    let (plan_id, plan) = run.planned(&first);
    assert_eq!(plan["emergency"]["advisories"], serde_json::json!(["DSA-9001-1"]));
    assert_eq!(plan["emergency"]["cvss_score"], 9.8);
    let hosts: Vec<&str> =
        plan["hosts"].as_array().unwrap().iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["deb1"]);
    let changes: Vec<&str> = plan["hosts"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["acme-web"], "only what fixes the emergency");
    // The owner was told, once, naming the advisory and the plan.
    let told = received.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("emergency")
            && told[0].contains("DSA-9001-1")
            && told[0].contains(&plan_id),
        "{}",
        told[0]
    );

    let mut start_args = vec!["rollout", "start", &plan_id];
    start_args.extend(RUN_FLAGS);
    run.ok(&start_args);
    assert_eq!(run.installed("deb1"), "1.1-1");
    assert_eq!(run.installed("deb2"), "1.0-1");

    // Right after, production still soaks: 30 minutes, not the policy's 24 hours.
    let second = run.emergency(None);
    assert!(second.contains("no host can be planned now"), "{second}");
    assert!(second.contains("the soak of 30m ends at"), "{second}");
    // 31 minutes later (virtual) production gets the same pinned version.
    let later = rfc3339(start + TimeDelta::minutes(31));
    let third = run.emergency(Some(&later));
    let (plan_id, plan) = run.planned(&third);
    let hosts: Vec<&str> =
        plan["hosts"].as_array().unwrap().iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["deb2"]);
    let mut start_args = vec!["--now", &later, "rollout", "start", &plan_id];
    start_args.extend(RUN_FLAGS);
    run.ok(&start_args);
    assert_eq!(run.installed("deb2"), "1.1-1");

    // One postmortem for the emergency, whatever the number of runs; overdue a day later.
    let list = |now: &str| -> Vec<Value> {
        let output = run.ok(&["--now", now, "postmortem", "list", "--format", "json"]);
        let all: Value = serde_json::from_slice(&output.stdout).unwrap();
        all.as_array()
            .unwrap()
            .iter()
            .filter(|p| p.to_string().contains("DSA-9001-1"))
            .cloned()
            .collect()
    };
    let soon = list(&rfc3339(start + TimeDelta::hours(1)));
    assert_eq!(soon.len(), 1, "{soon:?}");
    assert_eq!(soon[0]["status"], "open");
    let overdue = list(&rfc3339(start + TimeDelta::hours(25)));
    assert_eq!(overdue[0]["status"], "overdue", "{overdue:?}");
    let id = overdue[0]["id"].to_string();
    run.ok(&[
        "--now",
        &rfc3339(start + TimeDelta::hours(26)),
        "postmortem",
        "close",
        &id,
        "--root-cause",
        "acme-web 1.0 parsed headers unsafely",
        "--as",
        "alice",
    ]);
    let closed = list(&rfc3339(start + TimeDelta::hours(27)));
    assert_eq!(closed[0]["status"], "closed");
}
