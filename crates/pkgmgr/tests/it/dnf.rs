//! The dnf backend through the public API: the probes it declares, answered with captured real
//! outputs (`test_data/dnf/`, see its CAPTURE.md), and with hostile text.

use model::{Classification, Severity, UpdateAction};
use pkgmgr::{Gathered, Probe, ProbeOutput, dnf};
use proptest::prelude::*;

fn ran(exit_code: &str, stdout: &str, stderr: &str) -> ProbeOutput {
    ProbeOutput::Ran {
        exit_code: exit_code.trim().parse().unwrap(),
        stdout: stdout.to_owned(),
        stderr: stderr.to_owned(),
    }
}

/// `NAME.rc`, `NAME.stdout` and `NAME.stderr` of one capture, as a probe output.
macro_rules! captured {
    ($name:literal) => {
        ran(
            include_str!(concat!("../../test_data/dnf/", $name, ".rc")),
            include_str!(concat!("../../test_data/dnf/", $name, ".stdout")),
            include_str!(concat!("../../test_data/dnf/", $name, ".stderr")),
        )
    };
}

/// The host of CAPTURE.md with its updates, a version lock and a package asking for a reboot,
/// gathered under the keys `dnf::probes()` declares.
fn host_with_updates() -> Gathered {
    let mut gathered = Gathered::new();
    for spec in dnf::probes() {
        let output = match spec.key {
            dnf::RPM_QA => captured!("updates-rpm-qa"),
            dnf::RPM_INSTALLONLY => captured!("updates-rpm-installonly"),
            dnf::CHECK_UPDATE => captured!("updates-check-update"),
            dnf::UPDATEINFO => captured!("updates-updateinfo-list"),
            dnf::UPDATEINFO_CVES => captured!("updates-updateinfo-list-cves"),
            dnf::VERSIONLOCK => captured!("updates-versionlock-list"),
            dnf::NEEDS_RESTARTING_REBOOT => captured!("updates-needs-restarting-r"),
            dnf::NEEDS_RESTARTING_SERVICES => captured!("updates-needs-restarting-s"),
            dnf::CHECK => captured!("updates-check"),
            dnf::RPMDB_LOCK => ProbeOutput::File(None),
            dnf::PROCESSES => ProbeOutput::Dir(Some(vec!["1".into(), "self".into()])),
            other => panic!("a probe this test does not know: {other}"),
        };
        gathered.insert(spec.key, output);
    }
    gathered
}

#[test]
fn every_probe_is_an_argv_with_lc_all_c() {
    for spec in dnf::probes() {
        if let Probe::Run(command) = &spec.probe {
            assert!(["rpm", "dnf"].contains(&command.argv[0].as_str()), "{}", spec.key);
            assert!(command.env.contains(&("LC_ALL".to_owned(), "C".to_owned())));
        }
    }
}

#[test]
fn a_host_with_updates() {
    let state = dnf::assemble(&host_with_updates()).unwrap();
    assert_eq!(state.updates.len(), 9);
    let web = state.updates.iter().find(|u| u.name == "acme-web").unwrap();
    assert_eq!(
        (web.installed_version.as_deref(), web.candidate_version.as_str()),
        (Some("1.0-1"), "1.2-1")
    );
    assert_eq!(
        (web.classification, web.severity),
        (Classification::Security, Some(Severity::Critical))
    );
    assert_eq!(web.cves, ["CVE-2026-10001", "CVE-2026-10002"]);
    assert_eq!(web.origins[0].label.as_deref(), Some("acme-updates"));
    let kernel = state.updates.iter().find(|u| u.kernel).unwrap();
    assert_eq!((kernel.name.as_str(), kernel.action), ("kernel-core", UpdateAction::NewInstall));
    let long = state.updates.iter().find(|u| u.name.len() > 60).unwrap();
    assert_eq!(long.classification, Classification::Bugfix);
    assert_eq!(state.held, ["acme-pinned"]);
    assert_eq!(state.removals, ["acme-old"]);
    assert_eq!(state.reboot.packages, ["acme-db"]);
}

#[test]
fn a_broken_repository_fails_the_step_that_read_it() {
    let mut gathered = host_with_updates();
    gathered.insert(dnf::CHECK_UPDATE, captured!("broken-repo-check-update"));
    let err = dnf::assemble(&gathered).unwrap_err();
    assert_eq!(err.step, dnf::CHECK_UPDATE);
    assert!(err.to_string().contains("Failed to download metadata for repo 'acme-updates'"));
}

/// Text made of the pieces dnf's and rpm's outputs are made of, in any order, plus arbitrary
/// characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just(" ".to_owned()),
        Just("    ".to_owned()),
        Just("\t".to_owned()),
        Just(":".to_owned()),
        Just("-".to_owned()),
        Just(".noarch".to_owned()),
        Just(".x86_64".to_owned()),
        Just("(none)".to_owned()),
        Just("@System".to_owned()),
        Just("Obsoleting Packages\n".to_owned()),
        Just(
            "Last metadata expiration check: 0:00:02 ago on Sat Nov 21 23:09:29 2026.\n".to_owned()
        ),
        Just("Security: ".to_owned()),
        Just("Critical/Sec.".to_owned()),
        Just("Unknown/Sec.".to_owned()),
        Just("bugfix".to_owned()),
        Just("no package provides installonlypkg(kernel)\n".to_owned()),
        Just("Core libraries or services have been updated since boot-up:\n".to_owned()),
        Just("  * ".to_owned()),
        Just("!".to_owned()),
        "[a-z0-9.+~^_-]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn dnf_assemble_never_panics(
        rpm_qa in hostile_text(),
        check_update in hostile_text(),
        updateinfo in hostile_text(),
        other in hostile_text(),
        exit_code in prop_oneof![Just(0), Just(1), Just(2), Just(100)],
    ) {
        let mut gathered = host_with_updates();
        for spec in dnf::probes() {
            let output = match spec.probe {
                Probe::Run(_) => ProbeOutput::Ran { exit_code, stdout: other.clone(), stderr: other.clone() },
                Probe::ReadFile(_) => ProbeOutput::File(Some(other.clone())),
                Probe::ListDir(_) => ProbeOutput::Dir(Some(vec![other.clone()])),
            };
            gathered.insert(spec.key, output);
        }
        let ran = |stdout: &str| ProbeOutput::Ran { exit_code, stdout: stdout.to_owned(), stderr: String::new() };
        gathered.insert(dnf::RPM_QA, ran(&format!("acme\t(none)\t1.0\t1\tnoarch\n{rpm_qa}")));
        gathered.insert(dnf::CHECK_UPDATE, ran(&check_update));
        gathered.insert(dnf::UPDATEINFO, ran(&updateinfo));
        let _ = dnf::assemble(&gathered);
    }

    #[test]
    fn dnf_parsers_never_panic(text in hostile_text()) {
        let _ = dnf::Evr::parse(&text);
        let _ = dnf::Nevra::parse(&text);
    }
}
