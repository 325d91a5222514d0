//! Services still running replaced code after a rollout that does not reboot (issue 19): the
//! scenario's acme-worker, whose update replaces the executable its service runs and does not
//! restart it, is restarted by a plan with `restart_services = "needrestart"`, and not by one
//! without; sshd, running a replaced executable too, is left and noted. A host whose tool cannot
//! tell is not changed, and a rollback restarts what it leaves on replaced code.

use serde_json::Value;

use crate::rollout_fleet::{RUN_FLAGS, Run};
use crate::support::{host_outputs, text};
use crate::test_fleet::TestFleet;

const WORKER: &str = "acme-worker.service";

/// acme-web's and acme-worker's units checked after the change; no journal check (a container
/// logs errors a real host does not).
fn with_worker_checks(inventory: String) -> String {
    inventory.replacen(
        "[defaults]\n",
        "[defaults.checks]\nunits = [\"acme-web\", \"acme-worker\"]\njournal_errors = false\n\n\
         [defaults]\n",
        1,
    )
}

fn main_pid(fleet: &TestFleet, host: &str, unit: &str) -> String {
    let (code, pid) = fleet.exec(host, &["systemctl", "show", "-p", "MainPID", "--value", unit]);
    assert_eq!(code, 0, "{host} {unit}");
    let pid = pid.trim().to_owned();
    assert!(pid != "0" && !pid.is_empty(), "{host}: {unit} is not running");
    pid
}

/// The services needrestart names on `host` now.
fn stale(fleet: &TestFleet, host: &str) -> Vec<String> {
    let (code, out) = fleet.exec(host, &["needrestart", "-b", "-r", "l"]);
    assert_eq!(code, 0, "{out}");
    out.lines().filter_map(|l| l.strip_prefix("NEEDRESTART-SVC: ")).map(str::to_owned).collect()
}

/// acme-worker at 1.0, its service started afresh: nothing runs replaced code.
fn worker_at_1_0(fleet: &TestFleet) {
    let install = "DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l apt-get install -y -q \
                   --allow-downgrades acme-worker=1.0-1 && systemctl restart acme-worker";
    let (code, out) = fleet.exec("deb1", &["sh", "-c", install]);
    assert_eq!(code, 0, "{out}");
    let install = "dnf -q -y install acme-worker-1.0-1 || dnf -q -y downgrade acme-worker-1.0-1; \
                   systemctl restart acme-worker";
    let (code, out) = fleet.exec("rpm1", &["sh", "-c", install]);
    assert_eq!(code, 0, "{out}");
}

fn roll(run: &Run, extra: &[&str]) -> (String, Value) {
    let mut args = vec!["--packages", "acme-worker", "--canary", "0"];
    args.extend_from_slice(extra);
    let plan = run.plan(&args);
    let mut start = vec!["rollout", "start", &plan[..]];
    start.extend(RUN_FLAGS);
    run.ok(&start);
    let rollout = run.latest_rollout();
    let report = run.report(&rollout);
    (rollout, report)
}

#[test]
fn a_service_on_replaced_code_is_restarted_with_needrestart_and_not_otherwise() {
    let Some(fleet) = TestFleet::up("restarts", 1, 1) else { return };
    let config = fleet.edited_inventory("restarts.toml", with_worker_checks);
    let run = Run { fleet: &fleet, config };
    worker_at_1_0(&fleet);
    // sshd runs a replaced executable too, as after an openssh-server update.
    let replace = "cp -p /usr/sbin/sshd /usr/sbin/sshd.new && mv /usr/sbin/sshd.new /usr/sbin/sshd";
    assert_eq!(fleet.exec("deb1", &["sh", "-c", replace]).0, 0);
    assert_eq!(stale(&fleet, "deb1"), ["ssh.service"]);
    let sshd = main_pid(&fleet, "deb1", "ssh.service");

    // The policy's `restart_services` is what a plan carries for the hosts of its environment.
    let with_policy = fleet.fleet.dir.join("with-policy");
    std::fs::create_dir_all(&with_policy).unwrap();
    let config = with_policy.join("restarts-policy.toml");
    std::fs::copy(&run.config, &config).unwrap();
    std::fs::write(
        with_policy.join("policy.toml"),
        "[[environments]]\nname = \"dev\"\nschedule = \"@daily\"\ntimezone = \"UTC\"\n\
         window = \"2h\"\napproval = \"auto\"\nrestart_services = \"needrestart\"\n",
    )
    .unwrap();
    let policy_run = Run { fleet: &fleet, config };
    policy_run.ok(&["assess", "all"]);
    let planned =
        policy_run.ok(&["plan", "create", "all", "--packages", "acme-worker", "--format", "json"]);
    let planned: Value = serde_json::from_slice(&planned.stdout).unwrap();
    for host in planned["hosts"].as_array().unwrap() {
        assert_eq!(host["restarts"]["services"], "needrestart", "{host:#}");
    }
    let shown = text(&policy_run.ok(&["plan", "show", planned["id"].as_str().unwrap()]).stdout);
    assert!(shown.contains("services restarted when it does not reboot"), "{shown}");

    // Without restart_services (never, the default): the update leaves the old worker running.
    let worker = main_pid(&fleet, "deb1", WORKER);
    let (rollout, report) = roll(&run, &[]);
    assert_eq!(report["phase"], "completed", "{report:#}");
    assert_eq!(run.installed("deb1", "acme-worker"), "1.1-1");
    assert_eq!(main_pid(&fleet, "deb1", WORKER), worker, "not restarted under `never`");
    assert_eq!(stale(&fleet, "deb1"), ["acme-worker.service", "ssh.service"]);
    assert_eq!(report["summary"]["restarted"], serde_json::json!({}), "{rollout}");
    assert!(
        !host_outputs(&report, "deb1").any(|o| o["argv"][0] == "needrestart"),
        "nothing is asked under `never`"
    );

    // With restart_services = needrestart: the worker is restarted, sshd is left and noted, and
    // the postchecks (acme-worker active among them) pass after it.
    worker_at_1_0(&fleet);
    let worker = main_pid(&fleet, "deb1", WORKER);
    let rpm_worker = main_pid(&fleet, "rpm1", WORKER);
    let (rollout, report) = roll(&run, &["--restart-services", "needrestart"]);
    assert_eq!(report["phase"], "completed", "{report:#}");
    assert_eq!(run.installed("deb1", "acme-worker"), "1.1-1");
    assert_ne!(main_pid(&fleet, "deb1", WORKER), worker, "restarted under `needrestart`");
    assert_eq!(stale(&fleet, "deb1"), ["ssh.service"]);
    assert_eq!(main_pid(&fleet, "deb1", "ssh.service"), sshd, "sshd is never restarted unasked");
    assert_eq!(
        report["summary"]["restarted"],
        serde_json::json!({"deb1": [WORKER]}),
        "{rollout}: {:#}",
        report["summary"]
    );
    let notes: Vec<&str> =
        host_outputs(&report, "deb1").filter_map(|o| o["note"].as_str()).collect();
    assert!(
        notes.contains(&"already running replaced code before the change: ssh.service"),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("ssh.service runs replaced code and is not restarted")),
        "{notes:#?}"
    );
    let restart = host_outputs(&report, "deb1")
        .find(|o| o["argv"][1] == "restart")
        .unwrap_or_else(|| panic!("no restart: {notes:#?}"));
    assert_eq!(restart["argv"], serde_json::json!(["systemctl", "restart", "--", WORKER]));
    let postcheck = host_outputs(&report, "deb1")
        .position(|o| o["step"] == "postcheck")
        .expect("postchecks ran");
    let restarted_at =
        host_outputs(&report, "deb1").position(|o| o["argv"][1] == "restart").unwrap();
    assert!(restarted_at < postcheck, "the postchecks run after the restart");
    let markdown = text(&run.ok(&["report", &rollout]).stdout);
    assert!(markdown.contains(&format!("**Services restarted:** deb1: {WORKER}")), "{markdown}");

    // dnf's needs-restarting was asked on the RPM host; in a container on overlayfs it sees no
    // file of a package (crates/pkgmgr/test_data/restarts/CAPTURE.md), so nothing restarts.
    let asked = host_outputs(&report, "rpm1")
        .any(|o| o["argv"].as_array().is_some_and(|a| a.iter().any(|w| w == "needs-restarting")));
    assert!(asked, "{report:#}");
    assert_eq!(run.installed("rpm1", "acme-worker"), "1.1-1");
    assert_eq!(main_pid(&fleet, "rpm1", WORKER), rpm_worker);

    // A host that cannot tell which services run replaced code is not changed: its precheck
    // fails, and the wave halts.
    worker_at_1_0(&fleet);
    let away = "mv /usr/sbin/needrestart /usr/sbin/needrestart.away";
    assert_eq!(fleet.exec("deb1", &["sh", "-c", away]).0, 0);
    let refused = start_restarting(&run, "acme-worker");
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
    let report = run.report(&run.latest_rollout());
    let (state, detail) = &crate::rollout_fleet::states(&report)["deb1"];
    assert_eq!(state, "failed", "{detail:#}");
    let reason = detail.to_string();
    assert!(reason.contains("needrestart is not installed"), "{reason}");
    assert!(reason.contains("nothing was installed"), "{reason}");
    assert_eq!(run.installed("deb1", "acme-worker"), "1.0-1");

    // A rollback leaves services on replaced code too: acme-broken's failed postinst fails the
    // apply, the rollback takes acme-worker back to 1.0, and the worker is restarted after it.
    let back = "mv /usr/sbin/needrestart.away /usr/sbin/needrestart";
    assert_eq!(fleet.exec("deb1", &["sh", "-c", back]).0, 0);
    let worker = main_pid(&fleet, "deb1", WORKER);
    let broken = start_restarting(&run, "acme-worker,acme-broken");
    assert_eq!(broken.status.code(), Some(3), "{}", text(&broken.stderr));
    let report = run.report(&run.latest_rollout());
    let (state, detail) = &crate::rollout_fleet::states(&report)["deb1"];
    assert_eq!(state, "rolled_back", "{detail:#}");
    assert_eq!(run.installed("deb1", "acme-worker"), "1.0-1");
    assert_ne!(main_pid(&fleet, "deb1", WORKER), worker, "restarted after the rollback");
    assert_eq!(stale(&fleet, "deb1"), ["ssh.service"]);
    assert_eq!(report["summary"]["restarted"], serde_json::json!({"deb1": [WORKER]}));
    let restarted_in = host_outputs(&report, "deb1")
        .find(|o| o["argv"][1] == "restart")
        .map(|o| o["step"].clone());
    assert_eq!(restarted_in, Some(serde_json::json!("rollback")), "{report:#}");
}

/// Plans `packages` with `--restart-services needrestart` and starts the rollout.
fn start_restarting(run: &Run, packages: &str) -> std::process::Output {
    let plan =
        run.plan(&["--packages", packages, "--canary", "0", "--restart-services", "needrestart"]);
    let mut start = vec!["rollout", "start", &plan[..]];
    start.extend(RUN_FLAGS);
    run.patchctl(&start)
}
