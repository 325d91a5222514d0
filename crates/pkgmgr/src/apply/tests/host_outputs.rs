//! Units, postchecks, the journal and reboots on the fleet's Debian host.

use super::{captured, captured_argv};
use crate::apply::*;
use crate::{Gathered, ProbeOutput};

fn show(stdout: &str) -> UnitState {
    parse_unit_status(stdout).unwrap()
}

#[test]
fn unit_states() {
    let name = UnitName::new("capture", "deb1-apply").unwrap();
    let status = unit_status_command(&name).argv;
    assert_eq!(
        status,
        [
            "systemctl",
            "show",
            "patchctl-capture-deb1-apply.service",
            "--property=ActiveState,SubState,Result,ExecMainStatus,ExecMainCode,LoadState,\
             ExecMainStartTimestampMonotonic,ExecMainExitTimestampMonotonic"
        ]
    );
    assert_eq!(show(captured!("unit-show-running").stdout), UnitState::Running);
    let exited = show(captured!("unit-show-exited-0").stdout);
    assert_eq!(exited, UnitState::Exited { code: 0 });
    let failed = show(captured!("unit-show-exited-100").stdout);
    assert_eq!(failed, UnitState::Exited { code: 100 });
    assert_eq!(
        show(captured!("unit-show-killed").stdout),
        UnitState::Killed { signal: 9, core_dumped: false }
    );
    assert_eq!(show(captured!("unit-show-not-found").stdout), UnitState::NotFound);

    // Waiting for its end on the host prints the same status; the name is an argument ($0),
    // never part of the script, and the wait is bounded.
    let wait = unit_wait_command(&name, 5).argv;
    assert_eq!(wait[..2], ["sh", "-c"]);
    assert_eq!(wait[3], "patchctl-capture-deb1-apply.service");
    assert!(!wait[2].contains("patchctl-capture"), "{}", wait[2]);
    assert!(wait[2].contains("-lt 250 ]") && wait[2].contains(&status[3]), "{}", wait[2]);
    assert!(wait[2].contains("timeout --foreground 5 tail --pid="), "{}", wait[2]);
    assert!(unit_wait_command(&name, 3600).argv[2].contains("-lt 3000 ]"));

    // Released the way the capture released them.
    assert_eq!(
        release_unit_command(&name, &exited).unwrap().argv,
        ["systemctl", "stop", "patchctl-capture-deb1-apply.service"]
    );
    assert_eq!(captured!("systemctl-stop").rc, 0);
    let broken = UnitName::new("capture", "deb1-broken").unwrap();
    assert_eq!(
        release_unit_command(&broken, &failed).unwrap().argv,
        ["systemctl", "reset-failed", "patchctl-capture-deb1-broken.service"]
    );
    assert_eq!(captured!("systemctl-reset-failed").rc, 0);
    assert_eq!(release_unit_command(&name, &UnitState::Running), None);

    assert!(parse_unit_status("LoadState=loaded\n").is_err());
    assert!(parse_unit_status("garbage").is_err());
}

#[test]
fn unit_run_time() {
    let running = captured!("unit-show-timed-running").stdout;
    assert_eq!(show(running), UnitState::Running);
    assert_eq!(parse_unit_run_time(running), None, "no exit yet");
    let exited = captured!("unit-show-timed-exited").stdout;
    assert_eq!(show(exited), UnitState::Exited { code: 0 });
    // `sleep 1.5`, by the host's clock.
    let ran = parse_unit_run_time(exited);
    assert_eq!(ran, Some(std::time::Duration::from_micros(1_515_512)));
    // Without the timestamps (systemd did not say), or with an exit before the start (a host
    // that lies), there is no run time; the state is read as before.
    assert_eq!(parse_unit_run_time(captured!("unit-show-exited-0").stdout), None);
    let backwards = exited.replace(
        "ExecMainStartTimestampMonotonic=1547137920",
        "ExecMainStartTimestampMonotonic=1648653432",
    );
    assert_eq!(parse_unit_run_time(&backwards), None);
    assert_eq!(show(&backwards), UnitState::Exited { code: 0 });
}

#[test]
fn unit_start() {
    let start = |c: super::Captured| parse_unit_start(c.rc, c.stdout, c.stderr);
    assert_eq!(start(captured!("systemd-run-started")), UnitStart::Started);
    assert_eq!(start(captured!("systemd-run-already-loaded")), UnitStart::AlreadyExists);
    assert_eq!(
        start(captured!("systemd-run-no-program")),
        UnitStart::Failed {
            message: "Failed to find executable /usr/bin/patchctl-no-such-program: No such file or directory".into()
        }
    );
    let name = UnitName::new("capture", "deb1-apply").unwrap();
    let probes = unit_output_probes(&name);
    assert_eq!(
        probes[0].probe,
        crate::Probe::ReadFile("/var/lib/patchctl/units/patchctl-capture-deb1-apply.stdout".into())
    );
}

#[test]
fn unit_start_and_wait() {
    // The directory is made, the unit started and watched to its end in one round trip; the
    // unit's name and the argv are arguments of the script, never part of its text.
    let name = UnitName::new("capture", "deb1-quick").unwrap();
    let start = run_as_unit(&name, &crate::CommandSpec::new(["/bin/sleep", "0.3"])).unwrap();
    let command = start_and_wait_command(&name, start.clone(), 5, Rerun::Allow);
    assert_eq!(command.argv, captured_argv!("start-and-wait-ok"));
    assert_eq!(command.argv[3], "patchctl-capture-deb1-quick.service");
    assert_eq!(command.argv[4..], start.argv);
    assert!(!command.argv[2].contains("patchctl-capture"), "{}", command.argv[2]);
    assert!(command.argv[2].ends_with(&unit_wait_command(&name, 5).argv[2]));

    // Started once: the same script behind a check of the unit's output file, named from `$0`.
    let once = start_and_wait_command(&name, start.clone(), 5, Rerun::Refuse);
    assert_eq!(once.argv[3..], command.argv[3..]);
    assert!(!once.argv[2].contains("patchctl-capture"), "{}", once.argv[2]);
    assert!(once.argv[2].contains("/var/lib/patchctl/units/${0%.service}.stdout"));
    assert!(once.argv[2].ends_with(&command.argv[2][command.argv[2].find(" \"$@\"").unwrap()..]));
    // (What the host answers when it refuses is read from a real host by the fleet test
    // `replicas_fleet::a_stopped_replica_that_wakes_after_losing_its_lease_writes_nothing`.)
    assert_eq!(
        parse_start_and_wait(0, "patchctl: ran before, not started again\n", ""),
        (UnitStart::RanBefore, None)
    );

    let parse = |c: super::Captured| parse_start_and_wait(c.rc, c.stdout, c.stderr);
    // Started and ended within the wait: the status the watch ended with.
    let (started, status) = parse(captured!("start-and-wait-ok"));
    assert_eq!(started, UnitStart::Started);
    let status = status.unwrap();
    assert_eq!(show(status), UnitState::Exited { code: 0 });
    let ran = parse_unit_run_time(status).unwrap();
    assert!(ran >= std::time::Duration::from_millis(300), "{ran:?}");
    // Still running when the wait ran out: the status says so.
    let (started, status) = parse(captured!("start-and-wait-running"));
    assert_eq!(started, UnitStart::Started);
    assert_eq!(show(status.unwrap()), UnitState::Running);
    // Not started: systemd-run's own word.
    assert_eq!(parse(captured!("start-and-wait-already-loaded")), (UnitStart::AlreadyExists, None));
    assert_eq!(
        parse(captured!("start-and-wait-no-program")),
        (
            UnitStart::Failed {
                message: "Failed to find executable /usr/bin/patchctl-no-such-program: No such file or directory".into()
            },
            None
        )
    );
    // Started, but the status could not be read: ask again.
    let ok = captured!("start-and-wait-ok");
    assert_eq!(parse_start_and_wait(1, ok.stdout, ""), (UnitStart::Started, None));
    // A host that claims success without a word of the start is not believed.
    let (lied, status) = parse_start_and_wait(0, "ActiveState=active\n", "");
    assert!(matches!(lied, UnitStart::Failed { .. }) && status.is_none(), "{lied:?}");
}

#[test]
fn is_active() {
    let all = ["acme-web.service", "ssh.service"];
    assert_eq!(
        is_active_command(&all).unwrap().argv,
        ["systemctl", "is-active", "--", "acme-web.service", "ssh.service"]
    );
    let c = captured!("systemctl-is-active-all");
    let states = parse_is_active(&all, c.rc, c.stdout).unwrap();
    assert!(states.iter().all(|(_, s)| *s == UnitActivity::Active));

    let mixed = ["acme-web.service", "acme-nope.service", "patchctl-capture-deb1-false.service"];
    let c = captured!("systemctl-is-active-mixed");
    // Exit code 0: at least one is active.
    assert_eq!(c.rc, 0);
    let states: Vec<UnitActivity> =
        parse_is_active(&mixed, c.rc, c.stdout).unwrap().into_iter().map(|(_, s)| s).collect();
    assert_eq!(states, [UnitActivity::Active, UnitActivity::Inactive, UnitActivity::Failed]);
    assert!(parse_is_active(&mixed[..2], c.rc, c.stdout).is_err());
    assert!(parse_is_active(&mixed, 3, c.stdout).is_err());
}

#[test]
fn journal_errors_since_the_mark() {
    assert_eq!(
        journal_mark_command().argv,
        ["journalctl", "--no-pager", "-q", "-n", "0", "--show-cursor"]
    );
    let c = captured!("journal-mark");
    let mark = parse_journal_mark(c.rc, c.stdout).unwrap();
    let cursor = mark.cursor.clone().unwrap();
    assert!(cursor.starts_with("s=") && cursor.contains(";i=42;"));

    let since = JournalSince::from_mark(&mark);
    let argv = journal_errors_command(&since).unwrap().argv;
    assert_eq!(argv.last().unwrap(), &format!("--cursor={cursor}"));
    assert_eq!(
        journal_errors_command(&JournalSince::ThisBoot).unwrap().argv.join(" "),
        "journalctl --no-pager -q -p err -o json \
         --output-fields=MESSAGE,SYSLOG_IDENTIFIER,_COMM,_PID,_UID,_TRANSPORT,_SYSTEMD_UNIT \
         -n 1000 -b"
    );

    let errors = |c: super::Captured| parse_journal_errors(c.rc, c.stdout).unwrap();
    let baseline = errors(captured!("journal-errors-boot"));
    assert_eq!(baseline.len(), 1);
    let sshd = &baseline[0];
    assert_eq!(
        (sshd.identifier.as_str(), sshd.pid, sshd.uid, sshd.unit.as_deref()),
        ("sshd", Some(36), Some(0), Some("ssh.service"))
    );
    assert_eq!(sshd.realtime_usec, Some(1_796_589_353_870_922));
    assert_eq!(
        sshd.message,
        "error: kex_exchange_identification: Connection closed by remote host"
    );
    assert!(sshd.is_from_the_system());

    // Root, nobody and a login user (uid 1000) each logged an error with `logger -p user.err`:
    // all three are new, and only root's is the system's.
    let after = errors(captured!("journal-errors-after"));
    let new = new_journal_errors(&baseline, &after);
    let who: Vec<(&str, Option<u32>, bool)> =
        new.iter().map(|e| (e.identifier.as_str(), e.uid, e.is_from_the_system())).collect();
    assert_eq!(
        who,
        [
            ("acme-capture", Some(0), true),
            ("acme-nobody", Some(65534), false),
            ("acme-alice", Some(1000), false)
        ]
    );
    assert_eq!(new[0].message, "patchctl capture: an error logged by root");
    assert_eq!(new[0].transport, "syslog");

    // Across the reboot: the logged errors, and the `Failed unmounting …` errors systemd (PID 1,
    // init.scope) logs at every container shutdown.
    let after_reboot = errors(captured!("journal-errors-after-reboot"));
    assert_eq!(after_reboot.len(), 8);
    let new = new_journal_errors(&baseline, &after_reboot);
    let systemd: Vec<_> = new.iter().filter(|e| e.identifier == "systemd").collect();
    assert_eq!(systemd.len(), 5);
    assert!(systemd.iter().all(|e| e.message.starts_with("Failed unmounting ")
        && e.uid == Some(0)
        && e.unit.as_deref() == Some("init.scope")
        && e.is_from_the_system()));

    // Why --cursor: systemd 252's --after-cursor with -p err skips the first error after the mark.
    let skipped = errors(captured!("journal-errors-after-cursor-bug"));
    assert_eq!(skipped.len(), 7);
    assert!(skipped.iter().all(|e| e.identifier != "acme-capture"));
    assert_eq!(errors(captured!("journal-errors-boot-after-reboot")).len(), 9);
}

#[test]
fn journal_entries_name_who_logged_them() {
    // A kernel message has no _UID; a system service may run under a dynamic UID; a user's
    // own units run inside user@UID.service; bytes that are not UTF-8 come as an array.
    let text = concat!(
        r#"{"_TRANSPORT":"kernel","MESSAGE":"oops","SYSLOG_IDENTIFIER":"kernel"}"#,
        "\n",
        r#"{"_TRANSPORT":"stdout","_UID":"61234","_SYSTEMD_UNIT":"app.service","MESSAGE":"x","_COMM":"app"}"#,
        "\n",
        r#"{"_TRANSPORT":"stdout","_UID":"1000","_SYSTEMD_UNIT":"user@1000.service","MESSAGE":"y"}"#,
        "\n",
        r#"{"_TRANSPORT":"syslog","_UID":"1000","_SYSTEMD_UNIT":"session-3.scope","MESSAGE":[104,105,255]}"#,
        "\n",
    );
    let entries = parse_journal_errors(0, text).unwrap();
    let system: Vec<bool> = entries.iter().map(JournalEntry::is_from_the_system).collect();
    assert_eq!(system, [true, true, false, false]);
    assert_eq!(entries[1].identifier, "app");
    assert_eq!(entries[3].message, "hi\u{fffd}");
    assert!(parse_journal_errors(0, "not json\n").is_err());
    assert!(parse_journal_errors(0, r#"{"_UID":"root"}"#).is_err());
    assert!(parse_journal_errors(1, "").is_err());
}

#[test]
fn journal_marks_are_strict() {
    assert!(parse_journal_mark(0, "-- cursor: s=1;x=2\n-- cursor: s=3\n").is_err());
    assert_eq!(parse_journal_mark(0, "").unwrap().cursor, None);
}

fn identity(boot_id: &'static str, stat: &'static str) -> BootIdentity {
    let mut gathered = Gathered::new();
    gathered.insert(BOOT_ID, ProbeOutput::File(Some(boot_id.to_owned())));
    gathered.insert(INIT_STAT, ProbeOutput::File(Some(stat.to_owned())));
    boot_identity(&gathered).unwrap()
}

#[test]
fn reboot_in_a_container() {
    let before = identity(captured!("boot-id-before").stdout, captured!("init-stat-before").stdout);
    let after = identity(captured!("boot-id-after").stdout, captured!("init-stat-after").stdout);
    // The kernel's boot id is the Docker host's and stays; PID 1 started again.
    assert_eq!(before.boot_id, after.boot_id);
    assert_eq!((before.init_start_ticks, after.init_start_ticks), (113626, 122018));
    assert!(rebooted(&before, &after));
    assert!(!rebooted(&before, &before));
    let real_machine = BootIdentity { boot_id: "another".into(), ..before.clone() };
    assert!(rebooted(&before, &real_machine));

    assert_eq!(
        reboot_command(0, "patchctl: rebooting after patching").unwrap().argv,
        ["shutdown", "-r", "now", "patchctl: rebooting after patching"]
    );
    assert_eq!(captured!("shutdown-now").rc, 0);
    assert_eq!(
        reboot_command(5, "patchctl: rebooting after patching").unwrap().argv,
        ["shutdown", "-r", "+5", "patchctl: rebooting after patching"]
    );
    let scheduled = captured!("shutdown-scheduled");
    assert_eq!(scheduled.rc, 0);
    assert!(scheduled.stderr.starts_with("Reboot scheduled for "));
    assert_eq!(cancel_reboot_command().argv, ["shutdown", "-c"]);
    assert_eq!(captured!("shutdown-cancel").rc, 0);
}

#[test]
fn boot_identity_refuses_garbage() {
    let parse = |boot_id: &str, stat: &str| {
        let mut gathered = Gathered::new();
        gathered.insert(BOOT_ID, ProbeOutput::File(Some(boot_id.to_owned())));
        gathered.insert(INIT_STAT, ProbeOutput::File(Some(stat.to_owned())));
        boot_identity(&gathered)
    };
    let stat = captured!("init-stat-before").stdout;
    assert!(parse("", stat).is_err());
    assert!(parse("a b", stat).is_err());
    assert!(parse("x", "2 (init) S 0").is_err());
    assert!(parse("x", "1 (sys) temd) S 0 1").is_err());
    // A command name with spaces and parentheses.
    let odd = stat.replacen("(systemd)", "(my (odd) init)", 1);
    assert_eq!(parse("x", &odd).unwrap().init_start_ticks, 113626);
}

/// sshd refusing one of patchctl's own sessions beyond MaxSessions (captured on a fleet host
/// after a rollout whose verify it failed): patchctl's doing, not the patch's.
#[test]
fn sshd_refusing_patchctls_own_sessions_is_told_apart() {
    let c = captured!("journal-errors-no-more-sessions");
    let entries = parse_journal_errors(c.rc, c.stdout).unwrap();
    let own: Vec<&str> = entries
        .iter()
        .filter(|e| e.is_from_patchctls_connection())
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(own, ["error: no more sessions"]);
    assert_eq!(entries.len(), 4, "the other sshd errors still count");
}
