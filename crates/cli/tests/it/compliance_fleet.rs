//! `patchctl compliance` and postmortems on the test fleet: after real assessments and
//! rollouts (staging patched and verified, one production host patched after the soak, a
//! rollback on staging, a production host left unpatched with an old assessment), compliance
//! says host by host what happened; the rollback opened a postmortem, told the owner's webhook,
//! and shows overdue 25 hours later (`--now`) until it is closed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::support::text;
use crate::test_fleet::TestFleet;

const RUN_FLAGS: [&str; 6] =
    ["--reboot-delay", "0", "--reboot-timeout", "120", "--unreachable-grace", "15"];

/// An HTTP receiver on 127.0.0.1 for the webhook: records each request body, answers 204.
pub(crate) fn webhook_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/patching", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                seen.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ =
                reader.get_mut().write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

fn policy(webhook: &str) -> String {
    format!(
        r#"
[[environments]]
name = "staging"
schedule = "@daily"
timezone = "UTC"
window = "2h"
approval = "auto"
sla_days = {{ unrated = 2 }}

[[environments]]
name = "production"
schedule = "@daily"
timezone = "UTC"
window = "2h"
approval = "auto"
soak = "1h"
sla_days = {{ unrated = 2 }}

[notifications]
timeout_seconds = 5
[notifications.contacts.team-web]
webhooks = ["{webhook}"]

[compliance]
max_assessment_age = "2d"
"#
    )
}

struct Run<'a> {
    fleet: &'a TestFleet,
    config: PathBuf,
}

impl Run<'_> {
    fn patchctl(&self, args: &[&str]) -> Output {
        self.fleet.patchctl(&self.config, args)
    }

    fn ok(&self, args: &[&str]) -> Output {
        let output = self.patchctl(args);
        assert!(
            output.status.success(),
            "patchctl {args:?}: {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        output
    }

    /// Plans `args` (with `--now` when given) and rolls the plan out; the rollout's exit code.
    fn plan_and_roll_out(&self, now: Option<&str>, args: &[&str]) -> Option<i32> {
        let mut all: Vec<&str> = now.map(|now| vec!["--now", now]).unwrap_or_default();
        all.extend(["plan", "create", "--format", "json"]);
        all.extend_from_slice(args);
        let plan: Value = serde_json::from_slice(&self.ok(&all).stdout).unwrap();
        let mut start = vec!["rollout", "start", plan["id"].as_str().unwrap()];
        start.extend(RUN_FLAGS);
        // The windows are at midnight; the test runs whenever it runs.
        start.extend(["--override-window", "--reason", "compliance test"]);
        self.patchctl(&start).status.code()
    }

    /// `patchctl compliance all --format json` at `now`: the report and the exit code.
    fn compliance(&self, now: Option<&str>) -> (Value, Option<i32>) {
        let mut args: Vec<&str> = now.map(|now| vec!["--now", now]).unwrap_or_default();
        args.extend(["compliance", "all", "--format", "json"]);
        let output = self.patchctl(&args);
        let report = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&output.stdout), text(&output.stderr)));
        (report, output.status.code())
    }
}

/// Host → check → status.
fn statuses(report: &Value) -> Vec<(String, Vec<(String, String)>)> {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let checks = h["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["check"].as_str().unwrap().to_owned(),
                        f["status"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (h["host"].as_str().unwrap().to_owned(), checks)
        })
        .collect()
}

fn expect(report: &Value, host: &str, wanted: [&str; 7]) {
    let all = statuses(report);
    let (_, checks) = all.iter().find(|(h, _)| h == host).unwrap();
    let names = [
        "sla",
        "promotion",
        "healthy",
        "kernels",
        "rollback_plan",
        "assessment_age",
        "postmortems",
    ];
    let expected: Vec<(String, String)> =
        names.iter().zip(wanted).map(|(c, s)| (c.to_string(), s.to_string())).collect();
    assert_eq!(*checks, expected, "{host}: {}", serde_json::to_string_pretty(report).unwrap());
}

fn finding<'a>(report: &'a Value, host: &str, check: &str) -> &'a Value {
    let host = report["hosts"].as_array().unwrap().iter().find(|h| h["host"] == host).unwrap();
    host["findings"].as_array().unwrap().iter().find(|f| f["check"] == check).unwrap()
}

pub(crate) fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The fleet's inventory moved one environment up (dev hosts to staging, staging hosts to
/// production), every host owned by team-web, with acme-web's unit and health endpoint as
/// postchecks.
pub(crate) fn staging_then_production(inventory: String) -> String {
    inventory
        .replace("environment = \"staging\"", "environment = \"production\"")
        .replace("environment = \"dev\"", "environment = \"staging\"")
        .replacen(
            "[defaults]\n",
            "[defaults.checks]\nunits = [\"acme-web\"]\n\
             http = [{ url = \"http://{address}:8080/health\", body = \"ok\" }]\n\
             journal_errors = false\n\n[defaults]\nowner = \"team-web\"\n",
            1,
        )
}

#[test]
fn compliance_matches_what_happened_and_a_rollback_postmortem_goes_overdue() {
    let Some(fleet) = TestFleet::up("comply", 3, 0) else { return };
    // deb1 staging, deb2 and deb3 production, all owned by team-web.
    let config = fleet.edited_inventory("comply.toml", staging_then_production);
    let (webhook, received) = webhook_receiver();
    std::fs::write(fleet.fleet.dir.join("policy.toml"), policy(&webhook)).unwrap();
    // A rehearsal: assessments and postmortems are dated at virtual times.
    fleet.rehearsal(&fleet.state_of(&config));
    let run = Run { fleet: &fleet, config };
    let start = Utc::now();

    // deb3 was last assessed three days ago (a virtual clock), and never since.
    run.ok(&["--now", &rfc3339(start - TimeDelta::days(3)), "assess", "deb3"]);
    run.ok(&["assess", "deb1", "deb2"]);
    // Staging first: acme-web applied and verified on deb1.
    assert_eq!(run.plan_and_roll_out(None, &["deb1", "--packages", "acme-web"]), Some(0));
    // Production before the soak is refused; two hours later (virtual) deb2 gets it.
    let refused = run.patchctl(&["plan", "create", "deb2", "--packages", "acme-web"]);
    assert!(
        text(&refused.stderr).contains("the soak of 1 hours ends at"),
        "{}",
        text(&refused.stderr)
    );
    let later = rfc3339(start + TimeDelta::hours(2));
    assert_eq!(run.plan_and_roll_out(Some(&later), &["deb2", "--packages", "acme-web"]), Some(0));
    // acme-regress breaks deb1's health check: rolled back, verified, postmortem opened.
    assert_eq!(run.plan_and_roll_out(None, &["deb1", "--packages", "acme-regress"]), Some(3));
    run.ok(&["assess", "deb1", "deb2"]);

    let (report, code) = run.compliance(None);
    assert_eq!(code, Some(4), "deb3 is not compliant");
    expect(&report, "deb1", ["pass", "not_applicable", "pass", "pass", "pass", "pass", "pass"]);
    expect(&report, "deb2", ["pass", "pass", "pass", "pass", "pass", "pass", "not_applicable"]);
    expect(
        &report,
        "deb3",
        ["fail", "not_applicable", "pass", "pass", "not_applicable", "fail", "not_applicable"],
    );
    assert_eq!(
        finding(&report, "deb1", "healthy")["summary"],
        "rolled back and verified healthy again"
    );
    let evidence = finding(&report, "deb2", "promotion")["details"].to_string();
    assert!(
        evidence.contains("acme-web all 1.1-1 verified on staging deb1 by rollout"),
        "{evidence}"
    );
    let late = finding(&report, "deb3", "sla")["details"].to_string();
    assert!(late.contains("acme-web all 1.1-1 (unrated) pending since"), "{late}");
    let environments: Vec<(String, bool)> = report["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["environment"].as_str().unwrap().to_owned(), e["compliant"].as_bool().unwrap()))
        .collect();
    assert_eq!(environments, [("staging".to_owned(), true), ("production".to_owned(), false)]);

    // The owner's webhook was told of the rollback, once, beside the rollouts' lifecycle.
    let bodies = received.lock().unwrap().clone();
    let events: Vec<Value> = bodies.iter().map(|b| serde_json::from_str(b).unwrap()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for lifecycle in ["rollout_started", "wave_halted", "rollout_finished"] {
        assert!(kinds.contains(&lifecycle), "{kinds:?}");
    }
    // The halted rollout's postmortem, with what failed.
    let failures: Vec<&Value> = events.iter().filter(|e| e["kind"] == "rollout_halted").collect();
    assert_eq!(failures.len(), 1, "{kinds:?}");
    let event = failures[0];
    assert_eq!(event["hosts"], serde_json::json!(["deb1"]));
    assert_eq!(event["owners"], serde_json::json!(["team-web"]));
    assert!(event["body"].as_str().unwrap().contains("deb1: rolled back"), "{event}");

    // 25 hours later the postmortem is overdue, on deb1, until someone closes it.
    let day_later = rfc3339(Utc::now() + TimeDelta::hours(25));
    let (report, code) = run.compliance(Some(&day_later));
    assert_eq!(code, Some(4));
    expect(&report, "deb1", ["pass", "not_applicable", "pass", "pass", "pass", "pass", "fail"]);
    expect(&report, "deb2", ["pass", "pass", "pass", "pass", "pass", "pass", "not_applicable"]);
    let listed: Value = serde_json::from_slice(
        &run.ok(&["--now", &day_later, "postmortem", "list", "--format", "json"]).stdout,
    )
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["status"], "overdue");
    assert_eq!(listed[0]["subject"]["kind"], "rollout");
    let id = listed[0]["id"].to_string();
    run.ok(&[
        "postmortem",
        "close",
        &id,
        "--root-cause",
        "acme-regress 1.1 marks acme-web degraded",
        "--as",
        "alice",
    ]);
    let (report, _) = run.compliance(Some(&day_later));
    expect(&report, "deb1", ["pass", "not_applicable", "pass", "pass", "pass", "pass", "pass"]);
    let shown: Value =
        serde_json::from_slice(&run.ok(&["postmortem", "show", &id, "--format", "json"]).stdout)
            .unwrap();
    let record: Vec<(&str, &str)> = shown["record"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(record, [("patchctl", "opened"), ("alice", "closed")]);
}
