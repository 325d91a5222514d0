//! Applies and rollbacks on the fleet: the argv pkgmgr builds is the one that ran, and its
//! outputs read as what happened.

use model::{LockHolder, PackageManagerKind};

use super::{Captured, captured, captured_argv};
use crate::apply::*;

use PackageManagerKind::{Apt, Dnf};

fn outcome(kind: PackageManagerKind, c: &Captured) -> ApplyOutcome {
    parse_apply_output(kind, c.rc, c.stdout, c.stderr).unwrap()
}

fn reason(kind: PackageManagerKind, c: &Captured) -> FailureReason {
    match outcome(kind, c) {
        ApplyOutcome::Failed { reason, exit_code, output_tail, .. } => {
            assert_eq!(exit_code, c.rc);
            assert!(!output_tail.is_empty());
            reason
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// `(kind, name, version, previous)` of each change.
fn changes(outcome: &ApplyOutcome) -> Vec<(ChangeKind, &str, &str, Option<&str>)> {
    outcome
        .changes()
        .iter()
        .map(|c| (c.kind, c.name.as_str(), c.version.as_str(), c.previous_version.as_deref()))
        .collect()
}

fn pin(name: &str, arch: &str, version: &str) -> PinnedPackage {
    PinnedPackage::new(name, arch, version)
}

fn in_unit(rollout_step: &str, command: &crate::CommandSpec) -> Vec<String> {
    let (rollout, step) = rollout_step.split_once('-').unwrap();
    run_as_unit(&UnitName::new(rollout, step).unwrap(), command).unwrap().argv
}

fn apply(kind: PackageManagerKind, packages: &[PinnedPackage]) -> crate::CommandSpec {
    apply_command(kind, packages, &ApplyOptions::default()).unwrap()
}

#[test]
fn apt_apply_ok() {
    let command = apply(Apt, &[pin("acme-web", "all", "1.1-1"), pin("acme-tools", "all", "1.1-1")]);
    assert_eq!(in_unit("capture-deb1-apply", &command), captured_argv!("apt-apply-ok"));
    let done = outcome(Apt, &captured!("apt-apply-ok"));
    assert!(done.succeeded());
    assert_eq!(
        changes(&done),
        [
            (ChangeKind::Installed, "acme-tools", "1.1-1", None),
            (ChangeKind::Upgraded, "acme-web", "1.1-1", Some("1.0-1")),
        ]
    );
}

#[test]
fn apt_postinst_failed() {
    let command =
        apply(Apt, &[pin("acme-broken", "all", "1.1-1"), pin("acme-kernel", "all", "1.1-1")]);
    assert_eq!(
        in_unit("capture-deb1-broken", &command),
        captured_argv!("apt-apply-postinst-failed")
    );
    let failed = outcome(Apt, &captured!("apt-apply-postinst-failed"));
    let ApplyOutcome::Failed { reason, exit_code, output_tail, .. } = &failed else {
        panic!("{failed:?}")
    };
    assert_eq!(*reason, FailureReason::Scriptlet { packages: vec!["acme-broken".into()] });
    assert_eq!(*exit_code, 100);
    assert!(output_tail.contains("acme-broken: postinst of 1.1-1 failed on purpose"));
    assert!(output_tail.ends_with("E: Sub-process /usr/bin/dpkg returned an error code (1)"));
    // Both were unpacked; acme-kernel was also set up.
    assert_eq!(changes(&failed).len(), 2);
}

#[test]
fn apt_rollback_downgrades_and_removes() {
    let items = [
        RollbackItem {
            name: "acme-web".into(),
            arch: "all".into(),
            updated_version: "1.1-1".into(),
            previous_version: Some("1.0-1".into()),
            kernel: false,
        },
        RollbackItem {
            name: "acme-broken".into(),
            arch: "all".into(),
            updated_version: "1.1-1".into(),
            previous_version: Some("1.0-1".into()),
            kernel: false,
        },
        RollbackItem {
            name: "acme-kernel".into(),
            arch: "all".into(),
            updated_version: "1.1-1".into(),
            previous_version: Some("1.0-1".into()),
            kernel: true,
        },
        RollbackItem {
            name: "acme-tools".into(),
            arch: "all".into(),
            updated_version: "1.1-1".into(),
            previous_version: None,
            kernel: false,
        },
    ];
    let plan = plan_rollback(Apt, &items, "6.18.44-fc-v445");
    let commands = rollback_commands(Apt, &plan, &ApplyOptions::default()).unwrap();
    assert_eq!(in_unit("capture-deb1-rollback", &commands[0]), captured_argv!("apt-rollback"));
    let done = outcome(Apt, &captured!("apt-rollback"));
    assert_eq!(
        changes(&done),
        [
            (ChangeKind::Downgraded, "acme-broken", "1.0-1", Some("1.1-1")),
            (ChangeKind::Removed, "acme-tools", "1.1-1", None),
            (ChangeKind::Downgraded, "acme-kernel", "1.0-1", Some("1.1-1")),
            (ChangeKind::Downgraded, "acme-web", "1.0-1", Some("1.1-1")),
        ]
    );
}

#[test]
fn apt_failures() {
    let direct = |packages: &[PinnedPackage], lock: u32| {
        let options = ApplyOptions { lock_timeout_seconds: lock, ..ApplyOptions::default() };
        apply_command(Apt, packages, &options).unwrap().argv
    };
    let regress = [pin("acme-regress", "all", "1.1-1")];
    assert_eq!(
        direct(&[pin("acme-web", "all", "1.0-1")], 120),
        captured_argv!("apt-apply-would-downgrade")
    );
    assert_eq!(reason(Apt, &captured!("apt-apply-would-downgrade")), FailureReason::WouldDowngrade);

    assert_eq!(
        direct(&[pin("acme-web", "all", "9.9-1")], 120),
        captured_argv!("apt-apply-version-not-found")
    );
    assert_eq!(
        reason(Apt, &captured!("apt-apply-version-not-found")),
        FailureReason::NotFound { items: vec!["acme-web=9.9-1".into()] }
    );
    assert_eq!(
        direct(&[pin("acme-nope", "all", "1.0-1")], 120),
        captured_argv!("apt-apply-package-not-found")
    );
    assert_eq!(
        reason(Apt, &captured!("apt-apply-package-not-found")),
        FailureReason::NotFound { items: vec!["acme-nope:all".into()] }
    );

    assert_eq!(direct(&[pin("acme-held", "all", "1.1-1")], 120), captured_argv!("apt-apply-held"));
    assert_eq!(
        reason(Apt, &captured!("apt-apply-held")),
        FailureReason::Held { items: vec!["acme-held".into()] }
    );
    assert_eq!(reason(Apt, &captured!("apt-apply-would-remove")), FailureReason::WouldRemove);

    assert_eq!(direct(&regress, 3), captured_argv!("apt-apply-locked"));
    let holder = LockHolder {
        path: "/var/lib/dpkg/lock-frontend".into(),
        pid: 527,
        command: Some("perl".into()),
    };
    assert_eq!(
        reason(Apt, &captured!("apt-apply-locked")),
        FailureReason::Locked { holder: Some(holder) }
    );

    for (name, c, argv, expected) in [
        (
            "disk full",
            captured!("apt-apply-disk-full"),
            captured_argv!("apt-apply-disk-full"),
            FailureReason::DiskFull,
        ),
        (
            "interrupted",
            captured!("apt-apply-interrupted"),
            captured_argv!("apt-apply-interrupted"),
            FailureReason::Interrupted,
        ),
        (
            "download",
            captured!("apt-apply-download-failed"),
            captured_argv!("apt-apply-download-failed"),
            FailureReason::Download,
        ),
        (
            "dependencies",
            captured!("apt-apply-unmet-dependencies"),
            captured_argv!("apt-apply-unmet-dependencies"),
            FailureReason::Dependencies,
        ),
    ] {
        assert_eq!(direct(&regress, 120), argv, "{name}");
        assert_eq!(reason(Apt, &c), expected, "{name}");
    }
}

#[test]
fn dnf_apply_ok() {
    let command =
        apply(Dnf, &[pin("acme-web", "noarch", "1.1-1"), pin("acme-tools", "noarch", "1.1-1")]);
    assert_eq!(in_unit("capture-rpm1-apply", &command), captured_argv!("dnf-apply-ok"));
    let done = outcome(Dnf, &captured!("dnf-apply-ok"));
    assert!(done.succeeded());
    assert_eq!(
        changes(&done),
        [
            (ChangeKind::Upgraded, "acme-web", "1.1-1", None),
            (ChangeKind::Installed, "acme-tools", "1.1-1", None),
        ]
    );
    assert_eq!(done.changes()[0].arch.as_deref(), Some("noarch"));
}

/// dnf exits 0 and says `Upgraded: acme-broken-1.1-1.noarch`, `Complete!`: only the scriptlet
/// error tells.
#[test]
fn dnf_scriptlet_failed_with_exit_code_0() {
    let command = apply(Dnf, &[pin("acme-broken", "noarch", "1.1-1")]);
    assert_eq!(
        in_unit("capture-rpm1-broken", &command),
        captured_argv!("dnf-apply-scriptlet-failed")
    );
    let c = captured!("dnf-apply-scriptlet-failed");
    assert_eq!(c.rc, 0);
    let failed = outcome(Dnf, &c);
    let ApplyOutcome::Failed { reason, output_tail, .. } = &failed else { panic!("{failed:?}") };
    assert_eq!(*reason, FailureReason::Scriptlet { packages: vec!["acme-broken".into()] });
    assert!(output_tail.contains("Error in POSTIN scriptlet in rpm package acme-broken"));
    assert_eq!(changes(&failed), [(ChangeKind::Upgraded, "acme-broken", "1.1-1", None)]);
}

#[test]
fn dnf_rollback_downgrades_then_removes() {
    let items = [
        RollbackItem {
            name: "acme-web".into(),
            arch: "noarch".into(),
            updated_version: "1.1-1".into(),
            previous_version: Some("1.0-1".into()),
            kernel: false,
        },
        RollbackItem {
            name: "acme-broken".into(),
            arch: "noarch".into(),
            updated_version: "1.1-1".into(),
            previous_version: Some("1.0-1".into()),
            kernel: false,
        },
        RollbackItem {
            name: "acme-tools".into(),
            arch: "noarch".into(),
            updated_version: "1.1-1".into(),
            previous_version: None,
            kernel: false,
        },
    ];
    let plan = plan_rollback(Dnf, &items, "6.18.44-fc-v445");
    let commands = rollback_commands(Dnf, &plan, &ApplyOptions::default()).unwrap();
    assert_eq!(in_unit("capture-rpm1-rollback", &commands[0]), captured_argv!("dnf-rollback"));
    assert_eq!(
        in_unit("capture-rpm1-rollback-remove", &commands[1]),
        captured_argv!("dnf-rollback-remove")
    );
    let downgraded = outcome(Dnf, &captured!("dnf-rollback"));
    assert_eq!(
        changes(&downgraded),
        [
            (ChangeKind::Downgraded, "acme-broken", "1.0-1", None),
            (ChangeKind::Downgraded, "acme-web", "1.0-1", None),
        ]
    );
    let removed = outcome(Dnf, &captured!("dnf-rollback-remove"));
    assert_eq!(changes(&removed), [(ChangeKind::Removed, "acme-tools", "1.1-1", None)]);
    assert!(unexpected_removals(&plan, removed.changes()).is_empty());
}

#[test]
fn dnf_failures() {
    let direct = |name: &str, version: &str| apply(Dnf, &[pin(name, "noarch", version)]).argv;
    assert_eq!(direct("acme-web", "9.9-1"), captured_argv!("dnf-apply-not-found"));
    assert_eq!(
        reason(Dnf, &captured!("dnf-apply-not-found")),
        FailureReason::NotFound { items: vec!["acme-web-9.9-1.noarch".into()] }
    );
    assert_eq!(direct("acme-held", "1.1-1"), captured_argv!("dnf-apply-held"));
    assert_eq!(
        reason(Dnf, &captured!("dnf-apply-held")),
        FailureReason::Held { items: vec!["acme-held-1.1-1.noarch".into()] }
    );
    let regress = direct("acme-regress", "1.1-1");
    assert_eq!(regress, captured_argv!("dnf-apply-locked"));
    let holder = LockHolder {
        path: "/var/lib/dnf/rpmdb_lock.pid".into(),
        pid: 356,
        command: Some("sleep".into()),
    };
    assert_eq!(
        reason(Dnf, &captured!("dnf-apply-locked")),
        FailureReason::Locked { holder: Some(holder) }
    );
    assert_eq!(regress, captured_argv!("dnf-apply-disk-full"));
    assert_eq!(reason(Dnf, &captured!("dnf-apply-disk-full")), FailureReason::DiskFull);
    assert_eq!(regress, captured_argv!("dnf-apply-download-failed"));
    assert_eq!(reason(Dnf, &captured!("dnf-apply-download-failed")), FailureReason::Download);
    assert_eq!(regress, captured_argv!("dnf-apply-dependencies"));
    assert_eq!(reason(Dnf, &captured!("dnf-apply-dependencies")), FailureReason::Dependencies);
}

/// Output cut before apt's summary or dnf's `Complete!` is not a success.
#[test]
fn cut_output_is_an_error() {
    let ok = captured!("apt-apply-ok");
    assert!(parse_apply_output(Apt, 0, &ok.stdout[..120], "").is_err());
    let ok = captured!("dnf-apply-ok");
    let cut = &ok.stdout[..ok.stdout.find("Complete!").unwrap()];
    assert!(parse_apply_output(Dnf, 0, cut, "").is_err());
    // dpkg's and maintainer scripts' other lines that start like a package line are passed over.
    let noisy = "Removing obsolete conffile /etc/acme.conf ...\r\nUnpacking the frobnicator (step 1) ...\nRemoving acme-old:i386 (1.0-1) ...\n1 upgraded, 0 newly installed, 1 to remove and 0 not upgraded.\n";
    let done = parse_apply_output(Apt, 0, noisy, "").unwrap();
    assert_eq!(changes(&done), [(ChangeKind::Removed, "acme-old", "1.0-1", None)]);
    assert_eq!(done.changes()[0].arch.as_deref(), Some("i386"));
}

#[test]
fn the_download_ahead_is_the_apply_without_the_install_or_the_wait() {
    let options = ApplyOptions::default();
    let apt = download_command(Apt, &[pin("acme-regress", "all", "1.1-1")], &options).unwrap();
    assert_eq!(apt.argv, captured_argv!("apt-download-ok"));
    assert_eq!(apt.argv, captured_argv!("apt-download-locked"));
    let apply = apply(Apt, &[pin("acme-regress", "all", "1.1-1")]);
    assert_eq!(apt.env, apply.env);
    // Fetched into the cache (the capture script checked that nothing was installed); with the
    // lock held, given up at once instead of waiting like the apply.
    let fetched = captured!("apt-download-ok");
    assert_eq!(fetched.rc, 0);
    assert!(fetched.stdout.contains("Download complete and in download only mode"));
    let locked = captured!("apt-download-locked");
    assert_eq!(locked.rc, 100);
    assert!(
        locked.stderr.contains("Unable to acquire the dpkg frontend lock"),
        "{}",
        locked.stderr
    );

    let dnf = download_command(Dnf, &[pin("acme-regress", "noarch", "1.1-1")], &options).unwrap();
    assert_eq!(dnf.argv, captured_argv!("dnf-download-ok"));
    // dnf takes rpm's lock for a transaction only: it downloads while the lock is held, and the
    // second time finds the package in its cache.
    assert_eq!(captured!("dnf-download-locked").rc, 0);
    let again = captured!("dnf-download-ok");
    assert!(again.stdout.contains("acme-regress-1.1-1.noarch.rpm: Already downloaded"));
}
