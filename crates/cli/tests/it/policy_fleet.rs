//! The policy on the test fleet (issue 6): dev patched by the scheduler in its window, staging
//! waiting for an approval by a second person, production refused until staging is verified and
//! soaked, then run by the scheduler in its window and stopped at its cutoff. Times are virtual
//! (`PATCHCTL_NOW`): Tuesday 2026-12-08, whatever day the test runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{PATCHCTL, text};
use crate::test_fleet::TestFleet;

/// dev at 09:00 UTC daily, by itself; staging at 12:00 UTC with one approver; production on
/// Tuesdays at 22:00 in Berlin (21:00 UTC in December) with a change-board approver and a
/// ticket, and a cutoff one minute into its window.
const POLICY: &str = r#"
[roles]
cab = ["carol", "dan"]

[[environments]]
name = "dev"
schedule = "0 9 * * *"
timezone = "UTC"
window = "2h"
approval = "auto"
baseline = "tools"

[[environments]]
name = "staging"
schedule = "0 12 * * *"
timezone = "UTC"
window = "2h"
approval = { approvers = 1 }
soak = "1h"

[[environments]]
name = "production"
schedule = "0 22 * * TUE"
timezone = "Europe/Berlin"
window = "2h"
cutoff = "1m"
approval = { approvers = 1, role = "cab", ticket = true }
soak = "4h"

[baselines.tools]
approve = ["acme-tools"]
"#;

const RUN_FLAGS: [&str; 6] =
    ["--reboot-delay", "0", "--reboot-timeout", "120", "--unreachable-grace", "15"];

struct Run<'a> {
    fleet: &'a TestFleet,
    config: PathBuf,
}

impl Run<'_> {
    /// patchctl at the virtual instant `now`.
    fn at(&self, now: &str, args: &[&str]) -> Output {
        let database = self.fleet.fleet.dir.join("policy.db");
        Command::new(PATCHCTL)
            .arg("--config")
            .arg(&self.config)
            .arg("--state")
            .arg(database)
            .args(args)
            .env("PATCHCTL_NOW", now)
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .unwrap()
    }

    fn ok(&self, now: &str, args: &[&str]) -> String {
        let output = self.at(now, args);
        assert!(
            output.status.success(),
            "patchctl {args:?} at {now}: {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        format!("{}{}", text(&output.stdout), text(&output.stderr))
    }

    /// Refused: not a success, and stderr says `why`.
    fn refused(&self, now: &str, args: &[&str], why: &str) -> String {
        let output = self.at(now, args);
        let message = text(&output.stderr);
        assert!(!output.status.success(), "patchctl {args:?} was accepted: {message}");
        assert!(message.contains(why), "patchctl {args:?}: expected {why:?} in:\n{message}");
        message
    }

    fn plan(&self, now: &str, environment: &str, extra: &[&str]) -> String {
        let selector = format!("env:{environment}");
        let mut args =
            vec!["plan", "create", &selector, "--packages", "acme-tools", "--format", "json"];
        args.extend_from_slice(extra);
        let output = self.at(now, &args);
        assert!(output.status.success(), "plan {environment}: {}", text(&output.stderr));
        let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
        plan["id"].as_str().unwrap().to_owned()
    }

    fn spawn(&self, now: &str, args: &[&str]) -> std::process::Child {
        Command::new(PATCHCTL)
            .arg("--config")
            .arg(&self.config)
            .arg("--state")
            .arg(self.fleet.fleet.dir.join("policy.db"))
            .args(args)
            .env("PATCHCTL_NOW", now)
            .env_remove("SSH_AUTH_SOCK")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn installed(&self, host: &str) -> String {
        let (_, out) =
            self.fleet.exec(host, &["dpkg-query", "-W", "-f", "${Version}\\n", "acme-tools"]);
        out.lines().last().unwrap_or_default().to_owned()
    }

    fn rollouts(&self) -> Vec<(String, String)> {
        let list = self.ok("2026-12-08T00:00:00Z", &["rollout", "list"]);
        list.lines()
            .filter(|l| l.contains(" plan "))
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                (words[0].to_owned(), words[2].to_owned())
            })
            .collect()
    }

    fn report(&self, rollout: &str) -> Value {
        let output = self.at("2026-12-08T00:00:00Z", &["report", rollout, "--format", "json"]);
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

/// How often the apply unit of `host` was started, from the commands journaled.
fn apply_starts(report: &Value, host: &str) -> usize {
    crate::support::unit_starts(report, host, "-apply-")
}

fn host_state<'r>(report: &'r Value, host: &str) -> &'r Value {
    let hosts = report["hosts"].as_array().unwrap();
    hosts.iter().find(|h| h["host"] == host).unwrap_or_else(|| panic!("{host} in {report:#}"))
}

/// The inventory with `host` moved to `environment`, a snapshot hook that takes a few
/// seconds (so a host is still running when a cutoff falls), and `[defaults]` kept.
fn inventory(fleet: &TestFleet, host: &str, environment: &str) -> PathBuf {
    fleet.edited_inventory("policy.toml.inventory", |text| {
        let section = format!("[hosts.{host}]\n");
        let start = text.find(&section).unwrap();
        let line = text[start..].find("environment = ").unwrap() + start;
        let end = text[line..].find('\n').unwrap() + line;
        let mut text = format!("{}environment = {environment:?}{}", &text[..line], &text[end..]);
        text = text.replacen(
            "[defaults]\n",
            "[defaults.hooks]\nsnapshot = [\"/bin/sleep\", \"8\"]\n\n[defaults]\n",
            1,
        );
        text
    })
}

#[test]
fn environments_follow_their_windows_approvals_and_the_promotion_gate() {
    // deb1, deb2 dev; deb3 staging; deb4 production: deb2 moves to production.
    let Some(fleet) = TestFleet::up("policy", 4, 0) else { return };
    let config = inventory(&fleet, "deb2", "production");
    std::fs::write(config.parent().unwrap().join("policy.toml"), POLICY).unwrap();
    // A rehearsal: the test runs the scheduler and approvals at virtual times.
    fleet.rehearsal(&fleet.fleet.dir.join("policy.db"));
    let run = Run { fleet: &fleet, config };
    run.ok("2026-12-08T08:00:00Z", &["assess", "all"]);

    // Production before anything was verified on staging: refused, naming the version.
    run.refused(
        "2026-12-08T08:00:00Z",
        &["plan", "create", "env:production", "--packages", "acme-tools"],
        "acme-tools all 1.1-1 on deb2: never applied and verified on staging",
    );

    // Dev: the scheduler, inside dev's window, assesses, plans what the baseline approves
    // (acme-tools, not acme-web), approves as the system and rolls out.
    let schedule = run.ok("2026-12-08T08:30:00Z", &["schedule"]);
    assert!(schedule.contains("runs: approval = \"auto\""), "{schedule}");
    assert!(schedule.contains("next window: 2026-12-08 09:00 UTC"), "{schedule}");
    let mut scheduler = vec!["scheduler", "--once"];
    scheduler.extend(RUN_FLAGS);
    // Killed (-9) once its rollout runs, then restarted: the rollout is continued from its
    // journal, and neither the window nor the apply starts a second time.
    let mut first = run.spawn("2026-12-08T09:05:00Z", &scheduler);
    let deadline = Instant::now() + Duration::from_secs(120);
    while run.rollouts().is_empty() {
        assert!(Instant::now() < deadline, "the scheduler started no rollout");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1500));
    first.kill().unwrap();
    first.wait().unwrap();
    let restarted = run.ok("2026-12-08T09:06:00Z", &scheduler);
    assert!(restarted.contains("continuing rollout"), "{restarted}");
    assert!(restarted.contains("was handled already"), "{restarted}");
    assert_eq!(run.installed("deb1"), "1.1-1");
    let (_, web) = fleet.exec("deb1", &["dpkg-query", "-W", "-f", "${Version}\\n", "acme-web"]);
    assert_eq!(web.trim(), "1.0-1", "the baseline approves acme-tools only");
    assert_eq!(run.installed("deb3"), "1.0-1", "staging is not dev");
    let rollouts = run.rollouts();
    assert_eq!(rollouts.len(), 1, "{rollouts:?}");
    // The plan the scheduler made lists what the baseline left out, with its rule.
    let shown = run.ok("2026-12-08T09:06:00Z", &["plan", "show", &rollouts[0].1]);
    assert!(
        shown.contains(
            "acme-web 1.1-1 on deb1: not approved by baseline \"tools\" of dev: no rule of the \
             baseline approves"
        ),
        "{shown}"
    );
    let report = run.report(&rollouts[0].0);
    assert_eq!(host_state(&report, "deb1")["state"]["state"], "done", "{report:#}");
    // At most one start on record: see `a_killed_patchctl_resumes_from_its_journal`.
    assert!(apply_starts(&report, "deb1") <= 1, "deb1 applied once");
    let dev_change = run.ok("2026-12-08T09:06:00Z", &["change", "show", &rollouts[0].1]);
    assert!(dev_change.contains("system:scheduler auto_approve"), "{dev_change}");
    // A restarted scheduler in the same window starts nothing again.
    let again = run.ok("2026-12-08T09:10:00Z", &scheduler);
    assert!(
        again
            .contains("dev: the window that opened at 2026-12-08 09:00:00 UTC was handled already"),
        "{again}"
    );
    assert_eq!(run.rollouts().len(), 1);

    // Staging waits for one approval by someone other than the requester.
    let noon = "2026-12-08T12:05:00Z";
    let staging = run.plan(noon, "staging", &[]);
    let mut start = vec!["rollout", "start", &staging[..]];
    start.extend(RUN_FLAGS);
    run.refused(noon, &start, "no change request");
    run.ok(noon, &["change", "request", &staging, "--as", "erin"]);
    run.refused(noon, &start, "1 more approval");
    run.refused(
        noon,
        &["change", "approve", &staging, "--as", "erin"],
        "erin requested this change and cannot approve it",
    );
    run.ok(noon, &["change", "approve", &staging, "--as", "frank", "--comment", "dev looks fine"]);
    // Approval is of that plan's hash: a plan made again (another hash) has none.
    let other = run.plan("2026-12-08T12:06:00Z", "staging", &[]);
    assert_ne!(other, staging);
    let shown = run.ok("2026-12-08T12:06:00Z", &["change", "show", &other]);
    assert!(shown.contains(": not requested"), "{shown}");
    run.refused("2026-12-08T12:06:00Z", &["rollout", "start", &other], "no change request");
    run.ok("2026-12-08T12:10:00Z", &start);
    assert_eq!(run.installed("deb3"), "1.1-1");

    // Production: within staging's soak, refused with the time it ends.
    run.refused(
        "2026-12-08T13:00:00Z",
        &["plan", "create", "env:production", "--packages", "acme-tools"],
        "the soak of 4 hours ends at 2026-12-08 16:1",
    );
    // After it: planned, one host per wave, requested with a ticket, approved by the board.
    let evening = "2026-12-08T20:30:00Z";
    let production = run.plan(evening, "production", &["--canary", "1", "--max-unavailable", "1"]);
    run.refused(
        evening,
        &["change", "request", &production, "--as", "erin"],
        "requires a change ticket",
    );
    run.ok(evening, &["change", "request", &production, "--as", "erin", "--ticket", "CHG123"]);
    run.refused(
        evening,
        &["change", "approve", &production, "--as", "frank"],
        "holds none of the roles",
    );
    run.ok(evening, &["change", "approve", &production, "--as", "carol"]);
    let schedule = run.ok(evening, &["schedule"]);
    let short = &production["sha256:".len().."sha256:".len() + 12];
    assert!(schedule.contains(&format!("runs: plan {short} (approved)")), "{schedule}");
    assert!(schedule.contains("next window: 2026-12-08 22:00 CET (21:00 UTC)"), "{schedule}");

    // Its window opens at 21:00 UTC and its cutoff falls at 21:01. The snapshot hook now takes
    // 45 s, where the rollouts before took 8 s: the forecast (a wave each of about 9 s) says
    // the plan fits the 30 s left, and the scheduler starts it at 21:00:30. The first host
    // starts, the cutoff passes while it runs (the forecast was wrong), and the second host
    // never starts.
    let text = std::fs::read_to_string(&run.config).unwrap();
    let slower =
        text.replace("snapshot = [\"/bin/sleep\", \"8\"]", "snapshot = [\"/bin/sleep\", \"45\"]");
    assert_ne!(slower, text);
    std::fs::write(&run.config, slower).unwrap();
    let output = run.ok("2026-12-08T21:00:30Z", &scheduler);
    assert!(output.contains("CUTOFF"), "{output}");
    let rollout =
        run.rollouts().into_iter().find(|(_, plan)| production.contains(plan.as_str())).unwrap().0;
    let report = run.report(&rollout);
    let cutoff_ms = chrono::DateTime::parse_from_rfc3339("2026-12-08T21:01:00Z")
        .unwrap()
        .timestamp_millis() as u64;
    let (mut done, mut skipped) = (Vec::new(), Vec::new());
    for host in ["deb2", "deb4"] {
        let entry = host_state(&report, host);
        match entry["state"]["state"].as_str().unwrap() {
            "done" => {
                let first = entry["steps"][0]["started_at"].as_u64().unwrap();
                assert!(first < cutoff_ms, "{host} started at {first}, after the cutoff");
                assert_eq!(run.installed(host), "1.1-1");
                done.push(host);
            }
            "skipped" => {
                let reason = entry["state"]["reason"].as_str().unwrap();
                assert!(
                    reason.starts_with("cutoff: the maintenance window's cutoff passed"),
                    "{reason}"
                );
                // At most its precheck ran, ahead of its wave, which changes nothing.
                let steps = entry["steps"].as_array().unwrap();
                assert!(
                    steps.iter().all(|s| s["step"] == "precheck"),
                    "{host} never started: {steps:?}"
                );
                assert_eq!(run.installed(host), "1.0-1", "{host} untouched");
                skipped.push(host);
            }
            other => panic!("{host} ended {other}: {report:#}"),
        }
    }
    assert_eq!((done.len(), skipped.len()), (1, 1), "{report:#}");
    assert_eq!(report["journal"]["intact"], true);
    // Restarted in the same window: nothing starts twice.
    run.ok("2026-12-08T21:00:58Z", &scheduler);
    let production_rollouts =
        run.rollouts().into_iter().filter(|(_, plan)| production.contains(plan.as_str())).count();
    assert_eq!(production_rollouts, 1);
}

/// A policy with mistakes is refused at file, line and column, before anything runs.
#[test]
fn a_policy_with_mistakes_is_refused_with_its_positions() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bad-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("patchctl.toml"),
        "[hosts.web1]\naddress = \"192.0.2.1\"\nenvironment = \"production\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.toml"),
        "[roles]\ncab = [\"alice\"]\n\n[[environments]]\nname = \"production\"\nschedule = \"0 22 * * *\"\ntimezone = \"UTC\"\nwindow = \"2h\"\ncutoff = \"3h\"\napproval = { approvers = 1, role = \"cba\" }\n\n[[blackouts]]\nfrom = \"2026-12-20\"\nto = \"2027-01-03\"\nenvironments = [\"prodution\"]\n",
    )
    .unwrap();
    let output = Command::new(PATCHCTL)
        .arg("--config")
        .arg(dir.join("patchctl.toml"))
        .args(["schedule"])
        .output()
        .unwrap();
    let message = text(&output.stderr);
    assert!(!output.status.success());
    let policy = Path::new(&dir).join("policy.toml");
    let at = |position: &str| format!("{}:{position}", policy.display());
    assert!(
        message.contains(&at("9:10: ")) && message.contains("cutoff"),
        "impossible window: {message}"
    );
    assert!(message.contains(&at("10:36: unknown role \"cba\"")), "{message}");
    assert!(message.contains("(did you mean \"cab\"?)"), "{message}");
    assert!(message.contains(&at("15:17: unknown environment \"prodution\"")), "{message}");
}
