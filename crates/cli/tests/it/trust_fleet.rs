//! Trust, end to end on the test fleet: a plan runs once, one rollout at a time changes a host,
//! a process that lost its lease writes nothing, a window is kept unless overridden on record,
//! and an error any local user can log does not roll a host back.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::rollout_fleet::{RUN_FLAGS, Run, apply_starts, states, with_checks};
use crate::support::{PATCHCTL, text};
use crate::test_fleet::{TestFleet, no_policy};

/// `patchctl ARGS RUN_FLAGS` in the background, its standard error kept in a file.
fn spawn(run: &Run, name: &str, args: &[&str]) -> (Child, std::path::PathBuf) {
    let stem = run.config.file_stem().unwrap().to_string_lossy().into_owned();
    let database = run.fleet.fleet.dir.join(format!("{stem}.db"));
    let stderr = run.fleet.fleet.dir.join(format!("{stem}-{name}.stderr"));
    let child = Command::new(PATCHCTL)
        .arg("--config")
        .arg(&run.config)
        .arg("--state")
        .arg(database)
        .args(no_policy(&run.config))
        .args(args)
        .args(RUN_FLAGS)
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    (child, stderr)
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits until `rollout status` of the latest rollout says `what`.
fn wait_for_status(run: &Run, what: &str) -> String {
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(120), "never saw {what:?}");
        let list = text(&run.patchctl(&["rollout", "list"]).stdout);
        if let Some(id) = list.split_whitespace().next() {
            let status = text(&run.patchctl(&["rollout", "status", id]).stdout);
            if status.contains(what) {
                return id.to_owned();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_plan_runs_once_and_a_host_is_changed_by_one_rollout_at_a_time() {
    let Some(fleet) = TestFleet::up("once", 2, 0) else { return };
    let run = Run::new(&fleet);
    let plan = run.plan(&["--packages", "acme-tools", "--canary", "0"]);

    // Two operators start the same plan at the same moment: exactly one rollout runs.
    let (mut a, a_err) = spawn(&run, "a", &["rollout", "start", &plan]);
    let (mut b, b_err) = spawn(&run, "b", &["rollout", "start", &plan]);
    let (a_ok, b_ok) = (a.wait().unwrap().success(), b.wait().unwrap().success());
    assert!(a_ok != b_ok, "exactly one start runs:\n{}\n{}", read(&a_err), read(&b_err));
    let refused = if a_ok { read(&b_err) } else { read(&a_err) };
    assert!(refused.contains("a plan runs once"), "{refused}");
    let list = text(&run.ok(&["rollout", "list"]).stdout);
    assert_eq!(list.lines().count(), 1, "{list}");
    let first = run.latest_rollout();
    let report = run.report(&first);
    for host in ["deb1", "deb2"] {
        assert_eq!(apply_starts(&report, host), 1, "{host} patched once");
        assert_eq!(run.installed(host, "acme-tools"), "1.1-1");
    }

    // Completed, it is refused again, naming the rollout that ran it.
    let mut start = vec!["rollout", "start", &plan[..]];
    start.extend(RUN_FLAGS);
    let output = run.patchctl(&start);
    assert!(!output.status.success());
    let message = text(&output.stderr);
    assert!(
        message.contains(&format!("was run already by rollout {first} (completed)")),
        "{message}"
    );

    // Another plan on deb1, whose driver is killed: its rollout stays unfinished and keeps
    // deb1 claimed, so even `--again` of the first plan is refused, naming it.
    let kernel = run.plan(&["--packages", "acme-kernel", "--canary", "0"]);
    let (mut killed, _) = spawn(&run, "killed", &["rollout", "start", &kernel]);
    let holder = wait_for_status(&run, "running");
    killed.kill().unwrap();
    killed.wait().unwrap();
    let mut again = start.clone();
    again.extend(["--again", "--reason", "deb1 was reinstalled"]);
    let output = run.patchctl(&again);
    assert!(!output.status.success(), "{}", text(&output.stderr));
    let message = text(&output.stderr);
    assert!(message.contains(&format!("by rollout {holder} (")), "{message}");
    assert!(message.contains("a host is changed by one rollout at a time"), "{message}");

    // Once that rollout is resumed to its end, the first plan runs again, on record (its
    // prechecks then find the hosts changed since the plan, which is theirs to say).
    let mut resume = vec!["rollout", "resume", &holder[..]];
    resume.extend(RUN_FLAGS);
    run.ok(&resume);
    run.patchctl(&again);
    let rerun = run.latest_rollout();
    assert_ne!(rerun, first);
    let markdown = text(&run.ok(&["report", &rerun]).stdout);
    assert!(markdown.contains("run again because: deb1 was reinstalled"), "{markdown}");
}

#[test]
fn a_driver_that_stalls_past_its_lease_writes_nothing_more() {
    let Some(fleet) = TestFleet::up("stall", 2, 0) else { return };
    let run = Run::new(&fleet);
    let plan = run.plan(&["--packages", "acme-web,acme-kernel", "--canary", "0"]);
    let (mut stalled, stalled_err) = spawn(&run, "stalled", &["rollout", "start", &plan]);
    let id = wait_for_status(&run, "running apply");
    // Frozen past its lease (RUN_FLAGS: 5 s), as a process on an overloaded machine would be.
    let pid = stalled.id().to_string();
    freeze_outside_a_write(&pid);
    std::thread::sleep(Duration::from_secs(6));
    // Another process takes the rollout over and finishes it.
    let mut resume = vec!["rollout", "resume", &id[..]];
    resume.extend(RUN_FLAGS);
    run.ok(&resume);
    let entries = |run: &Run| run.report(&id)["journal"]["entries"].as_u64().unwrap();
    let finished = entries(&run);
    // Woken up, the stalled one finds its lease gone, writes nothing and says so.
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    let status = stalled.wait().unwrap();
    assert!(!status.success());
    let said = read(&stalled_err);
    assert!(said.contains("lost the lease on rollout"), "{said}");
    assert_eq!(entries(&run), finished, "not one entry more");
    let report = run.report(&id);
    assert_eq!(report["phase"], "completed", "{report:#}");
    for (host, (state, detail)) in states(&report) {
        assert_eq!(state, "done", "{host}: {detail}");
        assert!(apply_starts(&report, &host) <= 1, "{host} patched once");
        assert_eq!(run.installed(&host, "acme-web"), "1.1-1");
    }
    let audit = run.ok(&["audit", "verify", &id]);
    assert!(text(&audit.stdout).starts_with("ok "), "{}", text(&audit.stdout));
}

/// Stops the process at a moment it holds none of SQLite's write locks. Frozen inside a write
/// transaction, it would block every other process on the file until it wakes (SQLite's own
/// limit, not the lease's: the taker waits the busy timeout, then says "database is locked").
fn freeze_outside_a_write(pid: &str) {
    let writing = || {
        let locks = std::fs::read_to_string("/proc/locks").unwrap();
        locks.lines().any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&"POSIX")
                && fields.get(3) == Some(&"WRITE")
                && fields.get(4) == Some(&pid)
        })
    };
    for _ in 0..200 {
        assert!(Command::new("kill").args(["-STOP", pid]).status().unwrap().success());
        // The signal is delivered asynchronously: look at the locks once every thread is stopped.
        while !stopped(pid) {
            std::thread::sleep(Duration::from_millis(1));
        }
        if !writing() {
            return;
        }
        assert!(Command::new("kill").args(["-CONT", pid]).status().unwrap().success());
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("process {pid} held an SQLite write lock at every one of 200 tries");
}

/// Whether every thread of the process is in the stopped state (`T` in /proc/PID/task/*/stat).
fn stopped(pid: &str) -> bool {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks.flatten().all(|task| {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses.
        stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
    })
}

const BLACKOUT_POLICY: &str = r#"
[[environments]]
name = "dev"
schedule = "* * * * *"
timezone = "UTC"
window = "1m"
approval = "auto"
blackouts = [{ from = "2000-01-01", to = "2099-12-31", reason = "year-end freeze" }]
"#;

#[test]
fn a_start_by_hand_keeps_to_the_windows_unless_overridden_on_record() {
    let Some(fleet) = TestFleet::up("window", 1, 0) else { return };
    std::fs::write(fleet.fleet.dir.join("policy.toml"), BLACKOUT_POLICY).unwrap();
    let run = Run::new(&fleet);
    let plan = run.plan(&["--packages", "acme-tools", "--canary", "0"]);
    let mut start = vec!["rollout", "start", &plan[..]];
    start.extend(RUN_FLAGS);
    let output = run.patchctl(&start);
    assert!(!output.status.success());
    let message = text(&output.stderr);
    assert!(message.contains("may not start now, outside its maintenance windows"), "{message}");
    assert!(
        message.contains("dev: a blackout runs from 2000-01-01 to 2099-12-31 (year-end freeze)"),
        "{message}"
    );
    assert!(text(&run.ok(&["rollout", "list"]).stdout).is_empty(), "nothing was created");
    assert_eq!(run.installed("deb1", "acme-tools"), "1.0-1");
    // --override-window needs a reason, and the reason is kept.
    let mut overridden = start.clone();
    overridden.push("--override-window");
    assert!(!run.patchctl(&overridden).status.success());
    overridden.extend(["--reason", "CVE fix approved by the CAB on the phone"]);
    run.ok(&overridden);
    assert_eq!(run.installed("deb1", "acme-tools"), "1.1-1");
    let markdown = text(&run.ok(&["report", &run.latest_rollout()]).stdout);
    assert!(
        markdown.contains("Started outside its maintenance windows because: CVE fix approved by the CAB on the phone"),
        "{markdown}"
    );
}

#[test]
fn an_error_any_user_can_log_does_not_roll_a_host_back() {
    let Some(fleet) = TestFleet::up("logger", 2, 0) else { return };
    // The journal postcheck on, acme-web's checks as usual.
    let config = fleet.edited_inventory("logger.toml", |inventory| {
        with_checks(inventory).replace("journal_errors = false", "journal_errors = true")
    });
    let run = Run { fleet: &fleet, config };
    let plan = run.plan(&["--packages", "acme-tools", "--canary", "0", "--error-budget", "100%"]);
    // Throughout the rollout, a login user on deb1 and root on deb2 log errors.
    let logging = |host: &str, user: &str| {
        let script = format!(
            "id alice >/dev/null 2>&1 || useradd -m -u 1000 alice; \
             for i in $(seq 300); do runuser -u {user} -- logger -p user.err -t spoof \"fake failure $i\"; sleep 0.1; done"
        );
        let container = &fleet.fleet.host(host).unwrap().container;
        assert!(
            Command::new("docker")
                .args(["exec", "-d", container, "sh", "-c", &script])
                .status()
                .unwrap()
                .success()
        );
    };
    logging("deb1", "alice");
    logging("deb2", "root");
    std::thread::sleep(Duration::from_secs(1));
    let mut start = vec!["rollout", "start", &plan[..]];
    start.extend(RUN_FLAGS);
    run.patchctl(&start);
    let report = run.report(&run.latest_rollout());
    let states = states(&report);
    // alice's errors are not the system's: deb1 is patched.
    assert_eq!(states["deb1"].0, "done", "{:?}", states["deb1"]);
    assert_eq!(run.installed("deb1", "acme-tools"), "1.1-1");
    let notes: Vec<String> = crate::support::host_outputs(&report, "deb1")
        .filter_map(|o| o["note"].as_str().map(str::to_owned))
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("errors logged by users' own processes were not counted")),
        "{notes:?}"
    );
    // root's count: the check itself still works, and deb2 was rolled back (and, root logging
    // on, its verify after the rollback fails too).
    let (state, detail) = &states["deb2"];
    assert!(state == "rolled_back" || state == "failed", "{state}: {detail}");
    let reason = detail["reason"].as_str().unwrap();
    assert!(reason.contains("new errors in the journal: spoof: fake failure"), "{reason}");
}

#[test]
fn the_evidence_of_a_rollout_is_anchored_outside_the_database() {
    use std::os::unix::fs::MetadataExt as _;
    let Some(fleet) = TestFleet::up("audit", 1, 0) else { return };
    let run = Run::new(&fleet);
    let plan = run.plan(&["--packages", "acme-tools", "--canary", "0"]);
    let mut start = vec!["rollout", "start", &plan[..]];
    start.extend(RUN_FLAGS);
    run.ok(&start);
    let id = run.latest_rollout();
    // The rollout's end exported its journal's head; the database is 0600.
    let database = fleet.fleet.dir.join("rollout.db");
    let anchors = fleet.fleet.dir.join("rollout.db.anchors");
    assert_eq!(std::fs::metadata(&database).unwrap().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&anchors).unwrap().mode() & 0o777, 0o600);
    let exported = std::fs::read_to_string(&anchors).unwrap();
    assert!(exported.contains(&format!("\"chain\":\"rollout:{id}\"")), "{exported}");
    let output = run.ok(&["audit", "verify", "--all"]);
    assert!(
        text(&output.stdout).contains(&format!("ok      rollout:{id}")),
        "{}",
        text(&output.stdout)
    );
    // An inventory anyone may write is refused.
    let mut permissions = std::fs::metadata(&run.config).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o666);
    std::fs::set_permissions(&run.config, permissions).unwrap();
    let output = run.patchctl(&["hosts", "list"]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("can be written by anyone (mode 0666)"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_host_killed_mid_apply_is_reconciled_never_patched_twice() {
    let Some(fleet) = TestFleet::up("reconcile", 1, 1) else { return };
    let run = Run::new(&fleet);
    let plan = run.plan(&[
        "--packages",
        "acme-web,acme-tools",
        "--canary",
        "0",
        "--max-unavailable",
        "100%",
        "--error-budget",
        "100%",
    ]);
    let (mut child, stderr) = spawn(&run, "killed-hosts", &["rollout", "start", &plan]);
    let id = wait_for_status(&run, "running apply");
    for host in ["deb1", "rpm1"] {
        fleet.inject(host, fleet::Fault::Kill);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{}", read(&stderr));
    for host in ["deb1", "rpm1"] {
        fleet.runtime.block_on(fleet::heal(&fleet.fleet, host)).unwrap();
    }
    let report = run.report(&id);
    let lost: Vec<String> =
        states(&report).into_iter().filter(|(_, (s, _))| s == "lost").map(|(h, _)| h).collect();
    assert!(!lost.is_empty(), "a killed host is lost: {:?}", states(&report));
    // A host that was not lost cannot be reconciled.
    let mut reconcile = vec!["rollout", "reconcile", &id[..]];
    reconcile.extend(RUN_FLAGS);
    let output = run.patchctl(&reconcile);
    assert!(
        output.status.code() == Some(0) || output.status.code() == Some(3),
        "{}",
        text(&output.stderr)
    );
    let report = run.report(&id);
    for (host, (state, detail)) in states(&report) {
        let expected = match state.as_str() {
            "done" => "1.1-1",
            "rolled_back" => "1.0-1",
            other => panic!("{host} ended {other}: {detail}"),
        };
        for package in ["acme-web", "acme-tools"] {
            assert_eq!(run.installed(&host, package), expected, "{host} {package} ({state})");
        }
        assert!(apply_starts(&report, &host) <= 1, "{host}: the apply never started twice");
        if host.starts_with("deb") {
            let (_, audit) = fleet.exec(&host, &["dpkg", "--audit"]);
            assert_eq!(audit.trim(), "", "{host}: dpkg healthy");
        } else {
            let (_, versions) = fleet.exec(&host, &["rpm", "-q", "acme-web", "acme-tools"]);
            assert_eq!(
                versions.lines().count(),
                2,
                "{host}: no duplicate in rpm's database: {versions}"
            );
        }
        if lost.contains(&host) {
            let notes: Vec<String> = crate::support::host_outputs(&report, &host)
                .filter_map(|o| o["step"].as_str().map(|s| s.to_owned()))
                .collect();
            assert!(notes.iter().any(|s| s == "reconcile"), "{host} was reconciled: {notes:?}");
        }
    }
}
