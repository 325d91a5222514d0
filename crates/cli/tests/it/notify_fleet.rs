//! The reboot warning on the test fleet: `shutdown -r +1` carries the rollout's id and whom to
//! ask, and `rollout cancel` during the delay calls the reboot off with `shutdown -c` (the host
//! keeps its boot, checked after the minute has passed).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::rollout_fleet::{Run, states};
use crate::support::{PATCHCTL, text};
use crate::test_fleet::{TestFleet, no_policy};

/// PID 1's start time: a container's boot identity.
fn boot(fleet: &TestFleet, host: &str) -> String {
    let (_, stat) = fleet.exec(host, &["cat", "/proc/1/stat"]);
    stat.rsplit(')').next().unwrap().split_whitespace().nth(19).unwrap().to_owned()
}

/// Whether logind holds a scheduled shutdown on `host`.
fn shutdown_scheduled(fleet: &TestFleet, host: &str) -> bool {
    fleet.exec(host, &["test", "-e", "/run/systemd/shutdown/scheduled"]).0 == 0
}

#[test]
fn cancelling_during_the_reboot_delay_runs_shutdown_c_and_the_host_keeps_its_boot() {
    let Some(fleet) = TestFleet::up("rebootcancel", 1, 0) else { return };
    let run = Run::new(&fleet);
    let host = fleet.fleet.hosts[0].name.clone();
    let plan = run.plan(&["--packages", "acme-kernel", "--canary", "0"]);
    let before = boot(&fleet, &host);

    let stem = run.config.file_stem().unwrap().to_string_lossy().into_owned();
    let stderr = fleet.fleet.dir.join(format!("{stem}-start.stderr"));
    let mut driver = Command::new(PATCHCTL)
        .arg("--config")
        .arg(&run.config)
        .arg("--state")
        .arg(fleet.state_of(&run.config))
        .args(no_policy(&run.config))
        .args(["rollout", "start", &plan, "--reboot-delay", "1", "--reboot-timeout", "300"])
        .args(["--unreachable-grace", "15", "--lease-seconds", "5"])
        .env_remove("SUDO_USER")
        .env("USER", "carol")
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();

    // The reboot is scheduled: logind holds it, the minute runs.
    let started = Instant::now();
    while !shutdown_scheduled(&fleet, &host) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no reboot was scheduled: {}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        assert!(
            driver.try_wait().unwrap().is_none(),
            "{}",
            std::fs::read_to_string(&stderr).unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let scheduled_at = Instant::now();
    let rollout = run.latest_rollout();
    let cancel = run.ok(&["rollout", "cancel", &rollout]);
    assert!(text(&cancel.stderr).contains("acts within a second"), "{}", text(&cancel.stderr));
    let status = driver.wait().unwrap();
    let said = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert_eq!(status.code(), Some(3), "{said}");
    assert!(!shutdown_scheduled(&fleet, &host), "the reboot is still scheduled");
    // The countdown was said as it started (a plain line: not a terminal).
    let countdown = format!("{host}: reboots in ");
    assert!(said.lines().any(|l| l.starts_with(&countdown)), "{said}");

    let report = run.report(&rollout);
    assert_eq!(report["phase"], "cancelled", "{report:#}");
    // The journal names who cancelled: the operator who ran `rollout cancel` here (the user
    // who ran sudo, else the login), not the driver's.
    let operator = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown-user".to_owned());
    let asked = report["summary"]["asked"].as_array().expect("what was asked, on record");
    let by = format!("cancelled by {operator} at ");
    assert!(asked.iter().any(|l| l.as_str().unwrap().starts_with(&by)), "{report:#}");
    let (state, detail) = &states(&report)[&host];
    assert_eq!(state, "failed", "{detail}");
    assert_eq!(detail["step"], "reboot", "{detail}");
    assert!(detail["reason"].as_str().unwrap().contains("shutdown -c"), "{detail}");
    let outputs: Vec<&serde_json::Value> = crate::support::host_outputs(&report, &host).collect();
    let argv = |o: &serde_json::Value| -> Vec<String> {
        o["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect()
    };
    let reboot = outputs
        .iter()
        .map(|o| argv(o))
        .find(|a| {
            a.first().map(String::as_str) == Some("shutdown")
                && a.get(1).map(String::as_str) == Some("-r")
        })
        .expect("the reboot on record");
    assert_eq!(reboot[2], "+1");
    assert!(reboot[3].contains(&format!("patchctl rollout {rollout}")), "{reboot:?}");
    assert!(
        reboot[3].ends_with("contact carol"),
        "the operator, the host having no owner: {reboot:?}"
    );
    let cancelled =
        outputs.iter().find(|o| argv(o) == ["shutdown", "-c"]).expect("shutdown -c on record");
    assert_eq!(cancelled["exit_code"], 0, "{cancelled}");

    // Past the minute the reboot was scheduled for, the host is still in the same boot.
    let minute = Duration::from_secs(70);
    if let Some(left) = minute.checked_sub(scheduled_at.elapsed()) {
        std::thread::sleep(left);
    }
    assert_eq!(boot(&fleet, &host), before, "the host rebooted after all");
    assert_eq!(run.installed(&host, "acme-kernel"), "1.1-1", "patched, not rebooted");
}
