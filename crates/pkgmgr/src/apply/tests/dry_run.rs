//! Dry runs on the fleet (`test_data/dry_run/`, how: its CAPTURE.md): the simulation pkgmgr
//! builds is the one that ran, and its outputs read as what the apply would do.

use model::PackageManagerKind::{self, Apt, Dnf};

use super::Captured;
use crate::apply::*;

macro_rules! captured {
    ($name:literal) => {
        Captured {
            rc: include_str!(concat!("../../../test_data/dry_run/", $name, ".rc"))
                .trim()
                .parse()
                .unwrap(),
            stdout: include_str!(concat!("../../../test_data/dry_run/", $name, ".stdout")),
            stderr: include_str!(concat!("../../../test_data/dry_run/", $name, ".stderr")),
        }
    };
}

macro_rules! captured_argv {
    ($name:literal) => {
        include_str!(concat!("../../../test_data/dry_run/", $name, ".argv"))
            .lines()
            .map(str::to_owned)
            .collect::<Vec<String>>()
    };
}

fn pins(kind: PackageManagerKind, names: &[(&str, &str)]) -> Vec<PinnedPackage> {
    let arch = if kind == Apt { "all" } else { "noarch" };
    names.iter().map(|(name, version)| PinnedPackage::new(name, arch, version)).collect()
}

fn simulate(kind: PackageManagerKind, pinned: &[PinnedPackage], c: &Captured) -> SimulatedApply {
    parse_simulation(kind, pinned, c.rc, c.stdout, c.stderr).unwrap()
}

/// `KIND NAME VERSION` of each change.
fn listed(changes: &[PackageChange]) -> Vec<String> {
    changes.iter().map(|c| format!("{:?} {} {}", c.kind, c.name, c.version)).collect()
}

/// The pinned, unchanged and unplanned lists of a simulation that would run.
fn would(simulated: SimulatedApply) -> (Vec<String>, Vec<String>, Vec<String>) {
    match simulated {
        SimulatedApply::Would { pinned, unchanged, unplanned } => {
            (listed(&pinned), unchanged.into_iter().map(|p| p.name).collect(), listed(&unplanned))
        }
        other => panic!("expected a transaction, got {other:?}"),
    }
}

fn failure(simulated: SimulatedApply, rc: i32) -> FailureReason {
    match simulated {
        SimulatedApply::WouldFail { reason, exit_code, output_tail } => {
            assert_eq!(exit_code, rc);
            assert!(!output_tail.is_empty());
            reason
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn the_simulation_is_the_argv_that_ran() {
    let web_broken = [("acme-web", "1.1-1"), ("acme-broken", "1.1-1")];
    let options = ApplyOptions::default();
    let apt = simulate_command(Apt, &pins(Apt, &web_broken), &options).unwrap();
    assert_eq!(apt.argv, captured_argv!("apt-sim-ok"));
    let dnf = simulate_command(Dnf, &pins(Dnf, &web_broken), &options).unwrap();
    assert_eq!(dnf.argv, captured_argv!("dnf-sim-ok"));
    // Everything but the simulation's own words is the apply's (which waits for no lock).
    let no_wait = ApplyOptions { lock_timeout_seconds: 0, ..options };
    let apply = apply_command(Apt, &pins(Apt, &web_broken), &no_wait).unwrap();
    let mut stripped = apt.argv.clone();
    stripped.retain(|w| w != "--simulate");
    let at = stripped.iter().position(|w| w == "Debug::NoLocking=1").unwrap();
    stripped.drain(at - 1..=at);
    assert_eq!(stripped, apply.argv);
    assert_eq!(apt.env, apply.env);
    let apply = apply_command(Dnf, &pins(Dnf, &web_broken), &no_wait).unwrap();
    let mut stripped = dnf.argv.clone();
    stripped.retain(|w| w != "--cacheonly");
    stripped[1] = "-y".to_owned();
    assert_eq!(stripped, apply.argv);
    assert_eq!(captured_argv!("apt-sim-held"), captured_argv!("apt-sim-ok"));
}

#[test]
fn apt_would_upgrade_exactly_the_pins() {
    let pinned = pins(Apt, &[("acme-web", "1.1-1"), ("acme-broken", "1.1-1")]);
    let simulated = simulate(Apt, &pinned, &captured!("apt-sim-ok"));
    let (as_pinned, unchanged, unplanned) = would(simulated);
    assert_eq!(as_pinned, ["Upgraded acme-broken 1.1-1", "Upgraded acme-web 1.1-1"]);
    assert!(unchanged.is_empty() && unplanned.is_empty());
    // A lock held by someone else stops no simulation.
    let pinned = pins(Apt, &[("acme-web", "1.1-1")]);
    let (as_pinned, _, _) = would(simulate(Apt, &pinned, &captured!("apt-sim-locked")));
    assert_eq!(as_pinned, ["Upgraded acme-web 1.1-1"]);
}

#[test]
fn apt_names_what_the_plan_does_not() {
    let pinned = pins(Apt, &[("acme-regress", "1.1-1")]);
    let simulated = simulate(Apt, &pinned, &captured!("apt-sim-extra-install"));
    let (as_pinned, _, unplanned) = would(simulated);
    assert_eq!(as_pinned, ["Installed acme-regress 1.1-1"]);
    assert_eq!(unplanned, ["Installed acme-web 1.1-1"]);

    let pinned = pins(Apt, &[("acme-tools", "1.1-1"), ("acme-web", "1.1-1")]);
    let (as_pinned, unchanged, unplanned) =
        would(simulate(Apt, &pinned, &captured!("apt-sim-partly-done")));
    assert_eq!(as_pinned, ["Upgraded acme-web 1.1-1"]);
    assert_eq!(unchanged, ["acme-tools"]);
    assert!(unplanned.is_empty());
}

#[test]
fn apt_would_fail_with_the_apply_reason() {
    let pinned = pins(Apt, &[("acme-web", "1.1-1"), ("acme-broken", "1.1-1")]);
    let held = captured!("apt-sim-held");
    assert_eq!(
        failure(simulate(Apt, &pinned, &held), 100),
        FailureReason::Held { items: vec!["acme-broken".into()] }
    );
    let missing = captured!("apt-sim-version-not-found");
    assert_eq!(
        failure(simulate(Apt, &pins(Apt, &[("acme-web", "9.9-1")]), &missing), 100),
        FailureReason::NotFound { items: vec!["acme-web=9.9-1".into()] }
    );
    let unknown = captured!("apt-sim-package-not-found");
    assert_eq!(
        failure(simulate(Apt, &pins(Apt, &[("acme-nope", "1.0-1")]), &unknown), 100),
        FailureReason::NotFound { items: vec!["acme-nope:all".into()] }
    );
    let older = captured!("apt-sim-would-downgrade");
    assert_eq!(
        failure(simulate(Apt, &pins(Apt, &[("acme-tools", "1.0-1")]), &older), 100),
        FailureReason::WouldDowngrade
    );
}

#[test]
fn dnf_declined_transaction_is_what_it_would_do() {
    let pinned = pins(Dnf, &[("acme-web", "1.1-1"), ("acme-broken", "1.1-1")]);
    let ok = captured!("dnf-sim-ok");
    assert_eq!(ok.rc, 1, "dnf exits 1 when --assumeno declines");
    let (as_pinned, unchanged, unplanned) = would(simulate(Dnf, &pinned, &ok));
    assert_eq!(as_pinned, ["Upgraded acme-broken 1.1-1", "Upgraded acme-web 1.1-1"]);
    assert!(unchanged.is_empty() && unplanned.is_empty());

    let pinned = pins(Dnf, &[("acme-regress", "1.1-1"), ("acme-tools", "1.1-1")]);
    let (as_pinned, _, unplanned) =
        would(simulate(Dnf, &pinned, &captured!("dnf-sim-extra-install")));
    assert_eq!(as_pinned, ["Installed acme-regress 1.1-1", "Upgraded acme-tools 1.1-1"]);
    assert_eq!(unplanned, ["Installed acme-web 1.1-1"]);

    let pinned = pins(Dnf, &[("acme-web", "1.0-1")]);
    let (as_pinned, unchanged, _) =
        would(simulate(Dnf, &pinned, &captured!("dnf-sim-nothing-to-do")));
    assert!(as_pinned.is_empty());
    assert_eq!(unchanged, ["acme-web"]);

    // A downgrade is never what a plan pins.
    let pinned = pins(Dnf, &[("acme-tools", "1.0-1")]);
    let (as_pinned, unchanged, unplanned) =
        would(simulate(Dnf, &pinned, &captured!("dnf-sim-downgrade")));
    assert!(as_pinned.is_empty() && unchanged.is_empty());
    assert_eq!(unplanned, ["Downgraded acme-tools 1.0-1"]);

    let pinned = pins(Dnf, &[("acme-web", "1.1-1")]);
    let (as_pinned, _, _) = would(simulate(Dnf, &pinned, &captured!("dnf-sim-locked")));
    assert_eq!(as_pinned, ["Upgraded acme-web 1.1-1"]);
}

#[test]
fn dnf_would_fail_with_the_apply_reason() {
    let pinned = pins(Dnf, &[("acme-web", "1.1-1"), ("acme-broken", "1.1-1")]);
    assert_eq!(
        failure(simulate(Dnf, &pinned, &captured!("dnf-sim-held")), 1),
        FailureReason::Held { items: vec!["acme-broken-1.1-1.noarch".into()] }
    );
    let pinned = pins(Dnf, &[("acme-web", "9.9-1")]);
    assert_eq!(
        failure(simulate(Dnf, &pinned, &captured!("dnf-sim-not-found")), 1),
        FailureReason::NotFound { items: vec!["acme-web-9.9-1.noarch".into()] }
    );
    let pinned = pins(Dnf, &[("acme-web", "1.1-1")]);
    match simulate(Dnf, &pinned, &captured!("dnf-sim-no-cache")) {
        SimulatedApply::WouldFail { output_tail, .. } => {
            assert!(output_tail.contains("Cache-only enabled but no cache for 'acme'"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cut_or_strange_outputs_are_errors() {
    let pinned = pins(Dnf, &[("acme-web", "1.1-1"), ("acme-broken", "1.1-1")]);
    let ok = captured!("dnf-sim-ok");
    let parse = |stdout: &str| parse_simulation(Dnf, &pinned, 1, stdout, ok.stderr);
    // Cut before the summary, or with an entry missing.
    let cut = &ok.stdout[..ok.stdout.find("Transaction Summary").unwrap()];
    assert!(parse(cut).unwrap_err().problem.contains("truncated"));
    let one_less = ok.stdout.replace(" acme-web              noarch", "");
    assert!(parse(&one_less).is_err());
    let counted = ok.stdout.replace("Upgrade  2 Packages", "Upgrade  3 Packages");
    assert!(parse(&counted).unwrap_err().problem.contains("counts 3"));
    // Names no package has, and sections this parser does not know.
    for (from, to) in [
        (" acme-web ", " -oAPT::x "),
        ("acme-web              noarch           1.1-1", "acme-web noarch 1.1"),
        ("Upgrading:", "Skipping packages with broken dependencies:"),
        ("6.2 k", "lots"),
    ] {
        let changed = ok.stdout.replacen(from, to, 1);
        assert_ne!(changed, ok.stdout, "{from:?}");
        assert!(parse(&changed).is_err(), "{to:?}");
    }
    // `--assumeno` never lets dnf run a transaction: exit 0 means nothing to do, or a lie.
    assert!(parse_simulation(Dnf, &pinned, 0, ok.stdout, "").is_err());

    let pinned = pins(Apt, &[("acme-web", "1.1-1")]);
    let apt = captured!("apt-sim-ok");
    let hostile = apt.stdout.replace("Inst acme-web", "Inst $(reboot)");
    assert!(parse_simulation(Apt, &pinned, 0, &hostile, "").is_err());
    let cut = &apt.stdout[..apt.stdout.find("Inst acme-web").unwrap()];
    assert!(parse_simulation(Apt, &pinned, 0, cut, "").is_err());
}
