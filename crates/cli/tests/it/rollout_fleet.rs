//! `patchctl plan` and `patchctl rollout` on the test fleet: the issue's acceptance, end to end
//! over SSH against real apt and dnf, real systemd units and real (container) reboots.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{PATCHCTL, text};
use crate::test_fleet::TestFleet;

/// Checks every host of the fleet gets: acme-web's unit and its health endpoint. The journal
/// check is off: every container reboot logs unmount errors a real host does not.
pub(crate) fn with_checks(inventory: String) -> String {
    inventory.replacen(
        "[defaults]\n",
        "[defaults.checks]\nunits = [\"acme-web\"]\n\
         http = [{ url = \"http://{address}:8080/health\", body = \"ok\" }]\n\
         journal_errors = false\n\n[defaults]\n",
        1,
    )
}

pub(crate) struct Run<'a> {
    pub(crate) fleet: &'a TestFleet,
    pub(crate) config: PathBuf,
}

impl Run<'_> {
    pub(crate) fn new(fleet: &TestFleet) -> Run<'_> {
        let config = fleet.edited_inventory("rollout.toml", with_checks);
        Run { fleet, config }
    }

    /// With the hooks table `hooks` for every host, in its own inventory and state database.
    pub(crate) fn with_hooks<'a>(fleet: &'a TestFleet, name: &str, hooks: &str) -> Run<'a> {
        let config = fleet.edited_inventory(name, |text| {
            with_checks(text).replacen(
                "[defaults]\n",
                &format!("[defaults.hooks]\n{hooks}\n\n[defaults]\n"),
                1,
            )
        });
        Run { fleet, config }
    }

    pub(crate) fn patchctl(&self, args: &[&str]) -> Output {
        self.fleet.patchctl(&self.config, args)
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Output {
        let output = self.patchctl(args);
        assert!(
            output.status.success(),
            "patchctl {args:?}: {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        output
    }

    /// Assesses everything and plans `args`; the plan's id.
    pub(crate) fn plan(&self, args: &[&str]) -> String {
        self.ok(&["assess", "all"]);
        let mut all = vec!["plan", "create", "all", "--format", "json"];
        all.extend_from_slice(args);
        let plan: Value = serde_json::from_slice(&self.ok(&all).stdout).unwrap();
        plan["id"].as_str().unwrap().to_owned()
    }

    pub(crate) fn report(&self, rollout: &str) -> Value {
        serde_json::from_slice(&self.ok(&["report", rollout, "--format", "json"]).stdout).unwrap()
    }

    pub(crate) fn latest_rollout(&self) -> String {
        let list = text(&self.ok(&["rollout", "list"]).stdout);
        list.split_whitespace().next().expect("a rollout").to_owned()
    }

    pub(crate) fn installed(&self, host: &str, package: &str) -> String {
        let is_rpm = host.starts_with("rpm");
        let argv: Vec<&str> = if is_rpm {
            vec!["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}\\n", package]
        } else {
            vec!["dpkg-query", "-W", "-f", "${Version}\\n", package]
        };
        let (_, out) = self.fleet.exec(host, &argv);
        out.lines().last().unwrap_or_default().to_owned()
    }

    /// PID 1's start time: a container's boot identity.
    fn boot(&self, host: &str) -> String {
        let (_, stat) = self.fleet.exec(host, &["cat", "/proc/1/stat"]);
        stat.rsplit(')').next().unwrap().split_whitespace().nth(19).unwrap().to_owned()
    }
}

/// Host name → (state, detail) from a report.
pub(crate) fn states(report: &Value) -> BTreeMap<String, (String, Value)> {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_owned(),
                (h["state"]["state"].as_str().unwrap().to_owned(), h["state"].clone()),
            )
        })
        .collect()
}

/// The records of `host`'s apply commands, from a report: (the output record, its note).
fn apply_outputs<'r>(report: &'r Value, host: &str) -> Vec<(&'r Value, &'r str)> {
    crate::support::host_outputs(report, host)
        .map(|o| (o, o["note"].as_str().unwrap_or_default()))
        .filter(|(_, note)| note.contains("-apply-"))
        .collect()
}

/// How many times `host`'s apply unit was started, from the journal.
pub(crate) fn apply_starts(report: &Value, host: &str) -> usize {
    crate::support::unit_starts(report, host, "-apply-")
}

/// How many times the journal says `host`'s apply unit was about to be started: written before
/// the start, so a patchctl killed right after it started the unit still left it on record.
fn apply_intents(report: &Value, host: &str) -> usize {
    apply_outputs(report, host).iter().filter(|(_, n)| n.starts_with("about to start ")).count()
}

/// How long `host`'s apply ran by the host's own clock (systemd's record of the unit), in ms.
fn apply_host_ms(report: &Value, host: &str) -> Vec<u64> {
    apply_outputs(report, host)
        .iter()
        .filter(|(_, note)| note.starts_with("ran as "))
        .map(|(o, _)| o["host_ms"].as_u64().unwrap_or(0))
        .collect()
}

/// A short lease: a killed patchctl's rollout is resumable after 5 s, not 30.
pub(crate) const RUN_FLAGS: [&str; 8] = [
    "--reboot-delay",
    "0",
    "--reboot-timeout",
    "120",
    "--unreachable-grace",
    "15",
    "--lease-seconds",
    "5",
];

#[test]
fn a_rollout_patches_reboots_and_verifies_every_host() {
    let Some(fleet) = TestFleet::up("roll", 6, 2) else { return };
    let run = Run::new(&fleet);
    let plan =
        run.plan(&["--packages", "acme-web,acme-tools,acme-kernel", "--max-unavailable", "50%"]);
    let hosts: Vec<String> = fleet.fleet.hosts.iter().map(|h| h.name.clone()).collect();
    let boots: BTreeMap<&str, String> = hosts.iter().map(|h| (h.as_str(), run.boot(h))).collect();
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    run.ok(&args);
    let rollout = run.latest_rollout();
    let report = run.report(&rollout);
    assert_eq!(report["phase"], "completed", "{report:#}");
    assert_eq!(report["journal"]["intact"], true);
    for (host, (state, detail)) in states(&report) {
        assert_eq!(state, "done", "{host}: {detail}");
        for package in ["acme-web", "acme-tools", "acme-kernel"] {
            assert_eq!(run.installed(&host, package), "1.1-1", "{host} {package}");
        }
        assert_ne!(run.boot(&host), boots[host.as_str()], "{host} was rebooted for its kernel");
        assert_eq!(apply_starts(&report, &host), 1, "{host} applied once");
        assert_eq!(apply_intents(&report, &host), 1, "{host}: the start on record before it");
        let ran = apply_host_ms(&report, &host);
        assert!(
            matches!(ran[..], [ms] if ms > 0 && ms < 120_000),
            "{host}: the apply's run time by the host's clock: {ran:?}"
        );
        // The packages were fetched during the precheck, and the apply found them there.
        let downloads: Vec<&Value> = crate::support::host_outputs(&report, &host)
            .filter(|o| o["note"].as_str().unwrap_or_default().contains("downloading"))
            .collect();
        assert!(!downloads.is_empty(), "{host}: no download ahead");
        assert!(downloads.iter().all(|o| o["exit_code"] == 0), "{host}: {downloads:?}");
        let applied = apply_outputs(&report, &host)
            .into_iter()
            .find(|(_, note)| note.starts_with("ran as "))
            .map(|(o, _)| o["stdout_tail"].as_str().unwrap_or_default())
            .unwrap_or_default();
        if host.starts_with("deb") {
            assert!(!applied.contains("Get:"), "{host}: apt fetched again: {applied}");
        } else {
            assert!(applied.contains("Already downloaded"), "{host}: {applied}");
        }
    }
    let markdown = text(&run.ok(&["report", &rollout]).stdout);
    assert!(markdown.contains("| deb1 | dev | patched and verified |"), "{markdown}");
    assert!(markdown.contains("s on the host)"), "{markdown}");
}

#[test]
fn a_broken_update_is_rolled_back_on_the_canary_and_halts_the_rollout() {
    let Some(fleet) = TestFleet::up("broken", 3, 1) else { return };
    let run = Run::new(&fleet);
    let plan = run.plan(&["--packages", "acme-broken", "--canary", "1"]);
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    let output = run.patchctl(&args);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    let rollout = run.latest_rollout();
    let report = run.report(&rollout);
    assert_eq!(report["phase"], "halted", "{report:#}");
    let states = states(&report);
    let canaries: Vec<_> = states.iter().filter(|(_, (s, _))| s != "skipped").collect();
    assert_eq!(canaries.len(), 1, "only the canary ran: {states:?}");
    // Its postinst failed and left the package half-configured: the canary was brought back
    // to the recorded version and verified, and its package manager is healthy again.
    let (host, (state, detail)) = canaries[0];
    assert_eq!(state, "rolled_back", "{host}: {detail}");
    let reason = detail["reason"].as_str().unwrap();
    assert!(reason.starts_with("apply failed:"), "{reason}");
    assert!(reason.contains("failed on purpose"), "the postinst's own words: {reason}");
    assert_eq!(run.installed(host, "acme-broken"), "1.0-1", "{host} back at 1.0");
    if host.starts_with("deb") {
        let (_, audit) = fleet.exec(host, &["dpkg", "--audit"]);
        assert_eq!(audit.trim(), "", "{host}: dpkg has nothing half-configured");
    }
    let markdown = text(&run.ok(&["report", &rollout]).stdout);
    assert!(markdown.contains("| ROLLED BACK to its previous versions |"), "{markdown}");
    assert!(markdown.contains("apply failed:"), "{markdown}");
    for (other, (state, _)) in &states {
        if other != host {
            assert_eq!(state, "skipped", "{other}");
            assert_eq!(run.installed(other, "acme-broken"), "1.0-1", "{other} untouched");
        }
    }
}

#[test]
fn a_regression_is_rolled_back_by_itself() {
    let Some(fleet) = TestFleet::up("regress", 1, 1) else { return };
    let run = Run::new(&fleet);
    let plan = run.plan(&["--packages", "acme-regress", "--error-budget", "100%", "--canary", "0"]);
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    run.patchctl(&args);
    let report = run.report(&run.latest_rollout());
    for (host, (state, detail)) in states(&report) {
        assert_eq!(state, "rolled_back", "{host}: {detail}");
        assert!(detail["reason"].as_str().unwrap().contains("degraded"), "{detail}");
        assert_eq!(run.installed(&host, "acme-regress"), "1.0-1", "{host} back at 1.0");
        let address = &fleet.fleet.host(&host).unwrap().address;
        let (_, health) =
            fleet.exec(&host, &["busybox", "wget", "-qO-", "http://127.0.0.1:8080/health"]);
        assert_eq!(health.trim(), "ok", "{host} ({address}) is healthy again");
    }
}

/// The id path `saved_entry` takes for the kernel `release`'s own entry in deb1's grub.cfg
/// (`submenu>entry`), as `update-grub` wrote it.
fn grub_entry(fleet: &TestFleet, release: &str) -> String {
    let (_, ids) = fleet.exec("deb1", &["grep", "-o", "gnulinux-[^']*", "/boot/grub/grub.cfg"]);
    let id = |prefix: &str| {
        let found = ids.lines().find(|id| id.starts_with(prefix));
        found.unwrap_or_else(|| panic!("no {prefix}* in grub.cfg: {ids}")).to_owned()
    };
    format!("{}>{}", id("gnulinux-advanced-"), id(&format!("gnulinux-{release}-advanced-")))
}

/// GRUB on deb1 with `GRUB_DEFAULT=grub_default` (`fleet::grub`).
fn set_up_grub(fleet: &TestFleet, grub_default: &str) {
    let (code, out) = fleet.exec("deb1", &["sh", "-c", &fleet::grub::setup_script(grub_default)]);
    assert_eq!(code, 0, "setting up GRUB: {out}");
}

fn saved_entry(fleet: &TestFleet) -> String {
    let (_, listed) = fleet.exec("deb1", &["grub-editenv", "/boot/grub/grubenv", "list"]);
    listed.lines().find_map(|l| l.strip_prefix("saved_entry=")).unwrap_or_default().to_owned()
}

/// The fleet's hosts patched to acme-kernel 1.1 (`between` runs then), then rolled back by
/// command: the rollout's id and its report.
fn kernel_rollout_rolled_back(
    run: &Run,
    plan_args: &[&str],
    between: impl FnOnce(),
) -> (String, Value) {
    let mut args = vec!["--packages", "acme-kernel", "--canary", "0", "--max-unavailable", "100%"];
    args.extend_from_slice(plan_args);
    let plan = run.plan(&args);
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    run.ok(&args);
    let rollout = run.latest_rollout();
    between();
    let mut args = vec!["rollback", &rollout[..]];
    args.extend(RUN_FLAGS);
    let output = run.patchctl(&args);
    assert_eq!(output.status.code(), Some(3), "rolled back hosts count as failed: {output:?}");
    let report = run.report(&rollout);
    for (host, (state, detail)) in states(&report) {
        assert_eq!(state, "rolled_back", "{host}: {detail}");
        assert_eq!(run.installed(&host, "acme-kernel"), "1.0-1", "{host}");
    }
    (rollout, report)
}

/// The notes about the boot default in `host`'s records.
fn boot_default_notes(report: &Value, host: &str) -> Vec<String> {
    crate::support::host_outputs(report, host)
        .filter_map(|o| o["note"].as_str())
        .filter(|note| note.contains("boot default"))
        .map(str::to_owned)
        .collect()
}

/// The kernel the rollback recorded as the boot default, for the verify after it.
fn boot_kernel_fact(report: &Value, host: &str) -> Option<String> {
    crate::support::host_outputs(report, host)
        .filter_map(|o| o["facts"]["boot_kernel"].as_str())
        .last()
        .map(str::to_owned)
}

/// Scope item 8: a rollback of the kernel makes the previous kernel the boot default where a
/// bootloader lets it (deb1, given GRUB with `GRUB_DEFAULT=saved`), and says why not where none
/// is (rpm1). The apply before it made the new kernel the default, although the old one was
/// pinned (as an earlier rollback leaves it).
#[test]
fn a_kernel_rollback_makes_the_previous_kernel_the_boot_default() {
    let Some(fleet) = TestFleet::up("bootdef", 1, 1) else { return };
    set_up_grub(&fleet, "saved");
    let before = grub_entry(&fleet, "1.0-acme");
    let (code, out) = fleet.exec("deb1", &["grub-set-default", &before]);
    assert_eq!(code, 0, "{out}");
    let run = Run::new(&fleet);
    let mut booted = String::new();
    let (rollout, report) = kernel_rollout_rolled_back(&run, &[], || {
        // acme-kernel's hooks regenerated grub.cfg, and the apply saved its new entry.
        assert_eq!(saved_entry(&fleet), grub_entry(&fleet, "1.1-acme"), "deb1 boots 1.1-acme");
        booted = run.boot("deb1");
    });
    assert_eq!(saved_entry(&fleet), before, "deb1 boots 1.0-acme's own entry");
    // The downgrade asked for a reboot; the rollback's reboot was told from the rollout's.
    assert_ne!(run.boot("deb1"), booted, "deb1 rebooted after its rollback");
    let reboots = crate::support::host_outputs(&report, "deb1")
        .filter(|o| o["note"] == "the host is back with a new boot")
        .count();
    assert_eq!(reboots, 2, "the rollout's reboot and the rollback's");
    let deb = boot_default_notes(&report, "deb1");
    for which in ["the newest kernel, 1.1-acme", "the previous kernel, 1.0-acme"] {
        let done = format!("boot default is now {which}: GRUB's saved_entry is");
        assert!(deb.iter().any(|n| n.starts_with(&done)), "{done}: {deb:?}");
    }
    let rpm = boot_default_notes(&report, "rpm1");
    assert!(
        rpm.iter()
            .any(|n| n.starts_with("boot default not changed") && n.contains("no bootloader")),
        "{rpm:?}"
    );
    assert_eq!(boot_kernel_fact(&report, "deb1").as_deref(), Some("1.0-acme"));
    assert_eq!(boot_kernel_fact(&report, "rpm1"), None, "rpm1 has no bootloader");
    let markdown = text(&run.ok(&["report", &rollout]).stdout);
    assert!(markdown.contains("boot default is now the previous kernel, 1.0-acme"), "{markdown}");
}

/// With `--reboot never`, the default is set all the same, but the verify does not expect the
/// host to run the previous kernel: it will only at the next reboot, which is not patchctl's.
#[test]
fn a_kernel_rollback_without_reboots_sets_the_default_for_later() {
    let Some(fleet) = TestFleet::up("bootlater", 1, 0) else { return };
    set_up_grub(&fleet, "saved");
    let run = Run::new(&fleet);
    let booted = run.boot("deb1");
    let (_, report) = kernel_rollout_rolled_back(&run, &["--reboot", "never"], || {});
    assert_eq!(run.boot("deb1"), booted, "never rebooted");
    assert_eq!(saved_entry(&fleet), grub_entry(&fleet, "1.0-acme"));
    assert_eq!(boot_kernel_fact(&report, "deb1"), None, "not running it yet");
}

/// With Debian's own `GRUB_DEFAULT=0`, GRUB boots its first entry, and which one that is belongs
/// to /etc/default/grub: the rollback leaves grubenv alone and says why.
#[test]
fn a_kernel_rollback_leaves_a_fixed_grub_default_alone() {
    let Some(fleet) = TestFleet::up("bootfixed", 1, 0) else { return };
    set_up_grub(&fleet, "0");
    let run = Run::new(&fleet);
    let (_, report) = kernel_rollout_rolled_back(&run, &[], || {
        assert_eq!(saved_entry(&fleet), "", "the apply left grubenv alone");
    });
    assert_eq!(saved_entry(&fleet), "", "so did the rollback");
    assert_eq!(boot_kernel_fact(&report, "deb1"), None, "the verify expects no boot default");
    let notes = boot_default_notes(&report, "deb1");
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("boot default not changed (the previous kernel is 1.0-acme)")
                && n.contains(r#"GRUB_DEFAULT is "0", not "saved""#)),
        "{notes:?}"
    );
}

#[test]
fn a_killed_host_is_lost_and_a_healed_one_is_patched_once() {
    let Some(fleet) = TestFleet::up("faults", 3, 0) else { return };
    let run = Run::new(&fleet);
    let plan = run.plan(&[
        "--packages",
        "acme-tools",
        "--canary",
        "0",
        "--max-unavailable",
        "100%",
        "--error-budget",
        "100%",
    ]);
    let mut child = spawn(&run, &["rollout", "start", &plan]);
    // deb1 dies; deb2 is cut off and comes back within the grace.
    fleet.inject("deb1", fleet::Fault::Kill);
    fleet.inject("deb2", fleet::Fault::Partition);
    std::thread::sleep(Duration::from_secs(5));
    fleet.runtime.block_on(fleet::heal(&fleet.fleet, "deb2")).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "a lost host makes the exit code 3");
    let report = run.report(&run.latest_rollout());
    let states = states(&report);
    assert_eq!(states["deb1"].0, "lost", "{:?}", states["deb1"]);
    assert_eq!(states["deb2"].0, "done", "{:?}", states["deb2"]);
    assert_eq!(states["deb3"].0, "done", "{:?}", states["deb3"]);
    assert!(apply_starts(&report, "deb2") <= 1, "deb2 patched at most once");
    assert_eq!(run.installed("deb2", "acme-tools"), "1.1-1");
}

#[test]
fn a_killed_patchctl_resumes_from_its_journal() {
    let Some(fleet) = TestFleet::up("resume", 2, 1) else { return };
    let run = Run::new(&fleet);
    let plan = run.plan(&[
        "--packages",
        "acme-web,acme-tools,acme-kernel",
        "--canary",
        "0",
        "--max-unavailable",
        "100%",
    ]);
    let mut child = spawn(&run, &["rollout", "start", &plan]);
    // Wait until some host is applying or rebooting, then kill -9 patchctl: the resumed run
    // must find the unit or the new boot instead of applying or rebooting again.
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(120), "no step ever ran");
        let list = text(&run.patchctl(&["rollout", "list"]).stdout);
        if let Some(id) = list.split_whitespace().next() {
            let status = text(&run.patchctl(&["rollout", "status", id]).stdout);
            if status.contains("running apply") || status.contains("running reboot") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let rollout = run.latest_rollout();
    let mut args = vec!["rollout", "resume", &rollout[..]];
    args.extend(RUN_FLAGS);
    run.ok(&args);
    let report = run.report(&rollout);
    assert_eq!(report["phase"], "completed", "{report:#}");
    assert_eq!(report["journal"]["intact"], true);
    for (host, (state, detail)) in states(&report) {
        assert_eq!(state, "done", "{host}: {detail}");
        // The `systemd-run` command is journaled once it returns: a kill in between loses that
        // one record (the resumed run finds the unit and does not start it). The resumed run's
        // records are all there, so two would mean a second start; the version proves one.
        assert!(apply_starts(&report, &host) <= 1, "{host}: one apply, never repeated");
        // The journal is complete: the start was recorded before it happened (twice when the
        // kill came between the record and the start, and the resumed run started it).
        let intents = apply_intents(&report, &host);
        assert!((1..=2).contains(&intents), "{host}: {intents} records of the apply's start");
        assert_eq!(run.installed(&host, "acme-web"), "1.1-1");
    }
}

#[test]
fn a_held_lock_is_waited_for_and_named_when_it_stays() {
    let Some(fleet) = TestFleet::up("lock", 1, 1) else { return };
    let plan_args = ["--packages", "acme-tools", "--canary", "0", "--error-budget", "100%"];
    for host in ["deb1", "rpm1"] {
        fleet.inject(host, fleet::Fault::HoldLock);
    }
    // Held for longer than the hosts wait: the precheck fails and names the holder.
    let impatient = Run::with_hooks(&fleet, "impatient.toml", "lock_wait_seconds = 3");
    let plan = impatient.plan(&plan_args);
    let mut args = vec!["rollout", "start", &plan[..]];
    args.extend(RUN_FLAGS);
    let said = text(&impatient.patchctl(&args).stderr);
    let report = impatient.report(&impatient.latest_rollout());
    for (host, (state, detail)) in states(&report) {
        assert_eq!(state, "failed", "{host}: {detail}");
        assert_eq!(detail["step"], "precheck", "{host}: {detail}");
        assert!(detail["reason"].as_str().unwrap().contains("held by pid"), "{detail}");
        assert_eq!(impatient.installed(&host, "acme-tools"), "1.0-1", "{host} untouched");
        // What the host waits for is said as the wait starts (a plain line: not a terminal).
        let waiting = format!("{host}: waiting 0 s for ");
        assert!(
            said.lines().any(|l| l.starts_with(&waiting) && l.contains(", held by pid ")),
            "{said}"
        );
    }
    // Released while the hosts wait: they go on.
    let patient = Run::with_hooks(&fleet, "patient.toml", "lock_wait_seconds = 120");
    let plan = patient.plan(&plan_args);
    let mut child = spawn(&patient, &["rollout", "start", &plan]);
    std::thread::sleep(Duration::from_secs(4));
    for host in ["deb1", "rpm1"] {
        fleet.runtime.block_on(fleet::heal(&fleet.fleet, host)).unwrap();
    }
    assert!(child.wait().unwrap().success());
    let report = patient.report(&patient.latest_rollout());
    for (host, (state, detail)) in states(&report) {
        assert_eq!(state, "done", "{host}: {detail}");
        assert_eq!(patient.installed(&host, "acme-tools"), "1.1-1");
    }
}

const POLICY: &str = r#"
[[environments]]
name = "dev"
schedule = "@daily"
timezone = "UTC"
window = "2h"
approval = "auto"

[[environments]]
name = "staging"
schedule = "@daily"
timezone = "UTC"
window = "2h"
approval = "auto"
soak = "0m"

[[environments]]
name = "production"
schedule = "@daily"
timezone = "UTC"
window = "2h"
approval = "auto"
soak = "24h"
"#;

#[test]
fn production_only_gets_versions_verified_on_staging() {
    let Some(fleet) = TestFleet::up("gate", 3, 0) else { return };
    let run = Run::new(&fleet);
    std::fs::write(fleet.fleet.dir.join("policy.toml"), POLICY).unwrap();
    let hosts: BTreeMap<String, String> =
        fleet.fleet.hosts.iter().map(|h| (h.environment.to_string(), h.name.clone())).collect();
    run.ok(&["assess", "all"]);
    // Nothing verified anywhere yet: staging and production are refused, naming each version.
    for environment in ["staging", "production"] {
        let selector = format!("env:{environment}");
        let output = run.patchctl(&["plan", "create", &selector, "--packages", "acme-tools"]);
        assert!(!output.status.success(), "{environment} plan accepted");
        let message = text(&output.stderr);
        assert!(message.contains("the promotion gate refuses this plan"), "{message}");
        assert!(message.contains("acme-tools all 1.1-1"), "{message}");
    }
    // Dev first, then staging is allowed; production still waits for its 24 hours of soak.
    for environment in ["dev", "staging"] {
        let selector = format!("env:{environment}");
        let output =
            run.ok(&["plan", "create", &selector, "--packages", "acme-tools", "--format", "json"]);
        let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut args = vec!["rollout", "start", plan["id"].as_str().unwrap()];
        args.extend(RUN_FLAGS);
        // The windows are at midnight; the test runs whenever it runs.
        args.extend(["--override-window", "--reason", "test of the promotion gate"]);
        run.ok(&args);
        assert_eq!(run.installed(&hosts[environment], "acme-tools"), "1.1-1");
    }
    let output = run.patchctl(&["plan", "create", "env:production", "--packages", "acme-tools"]);
    let message = text(&output.stderr);
    assert!(
        !output.status.success() && message.contains("the soak of 24 hours ends at"),
        "{message}"
    );
}

pub(crate) fn spawn(run: &Run, args: &[&str]) -> std::process::Child {
    let stem = run.config.file_stem().unwrap().to_string_lossy().into_owned();
    let database = run.fleet.fleet.dir.join(format!("{stem}.db"));
    Command::new(PATCHCTL)
        .arg("--config")
        .arg(&run.config)
        .arg("--state")
        .arg(database)
        .args(crate::test_fleet::no_policy(&run.config))
        .args(args)
        .args(RUN_FLAGS)
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}
